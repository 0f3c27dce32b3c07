// Builders for register histories, a generator of histories that are linearizable by construction, and a
// brute-force linearizability oracle for small histories (the definition, enumerated) to judge the checker by.
import type { Operation } from '../../src/check/history.js';
import type { Model } from '../../src/check/linearizability.js';
import {
  type KeyedRegisterInput,
  type RegisterInput,
  type RegisterOutput,
  type RegisterState,
  registerStep,
} from '../../src/check/models.js';

export type RegOp = Operation<RegisterInput, RegisterOutput>;
export type KeyedOp = Operation<KeyedRegisterInput, RegisterOutput>;

const ok = <I>(client: number, input: I, output: RegisterOutput, call: number, ret: number) =>
  ({ client, input, output, call, ret, status: 'ok' }) as Operation<I, RegisterOutput>;

/** An acknowledged read of `value`@`version` in the window [call, ret]. */
export const read = (client: number, call: number, ret: number, value: string | null, version: number): RegOp =>
  ok(client, { f: 'read' }, { value, version }, call, ret);
/** An acknowledged write of `value` that the server answered with `version`. */
export const write = (client: number, call: number, ret: number, value: string, version: number): RegOp =>
  ok(client, { f: 'write', value }, { version }, call, ret);
/** An acknowledged CAS from `expected` to `value`, answered with `version`. */
export const cas = (c: number, call: number, ret: number, value: string, expected: number, version: number): RegOp =>
  ok(c, { f: 'cas', value, expectedVersion: expected }, { version }, call, ret);
/** An op whose outcome never came back (timeout): it may take effect any time after `call`, or never. */
export const unknown = (client: number, call: number, input: RegisterInput): RegOp => ({
  client,
  input,
  output: undefined,
  call,
  ret: Infinity,
  status: 'unknown',
});
/** An op the server definitely refused (BADVERSION, NONODE). */
export const failed = (client: number, call: number, ret: number, input: RegisterInput): RegOp => ({
  client,
  input,
  output: undefined,
  call,
  ret,
  status: 'fail',
});
/** The same op on the znode at `key`. */
export const at = (key: string, op: RegOp): KeyedOp => ({ ...op, input: { ...op.input, key } });

/** A small seeded PRNG (mulberry32): the perf history must be the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One planned op: who, what, its window and where in it it takes effect, and how its outcome is recorded. */
export interface Plan {
  client: number;
  key: string;
  kind: 'read' | 'write' | 'cas';
  value: string;
  /** For a CAS: 0 expects the version current at the linearization point (applies); otherwise a wrong one. */
  versionSkew: number;
  /** Idle time before the call, time from call to effect, effect to return. */
  gap: number;
  lead: number;
  lag: number;
  /** 'applied': took effect but the client never heard; 'lost': never took effect and the client never heard. */
  outcome: 'ok' | 'applied' | 'lost';
}

/**
 * Runs the plans as a real system would: each client's ops one after another in time, each taking effect at one
 * instant inside its window, in the order of those instants. The history is linearizable by construction.
 */
export function execute(plans: Plan[]): KeyedOp[] {
  const clock = new Map<number, number>();
  const timed = plans.map((p, i) => {
    const call = (clock.get(p.client) ?? 0) + p.gap;
    const lin = call + p.lead;
    const ret = lin + p.lag;
    clock.set(p.client, ret);
    return { p, i, call, lin, ret };
  });
  const state = new Map<string, RegisterState>();
  const ops: KeyedOp[] = new Array<KeyedOp>(plans.length);
  for (const t of [...timed].sort((a, b) => a.lin - b.lin || a.i - b.i)) {
    ops[t.i] = effect(state, t.p, t.call, t.ret);
  }
  return ops;
}

/** Applies one planned op at its linearization point and records what its client saw. */
function effect(state: Map<string, RegisterState>, p: Plan, call: number, ret: number): KeyedOp {
  const cur = state.get(p.key) ?? { value: null, version: -1 };
  const input = planInput(p, cur);
  const base = { client: p.client, input, call };
  if (p.outcome === 'lost') return { ...base, output: undefined, ret: Infinity, status: 'unknown' };
  const [next] = registerStep(cur, input, undefined);
  const refused = next === cur && p.kind !== 'read';
  if (!refused) state.set(p.key, next);
  if (p.outcome === 'applied') return { ...base, output: undefined, ret: Infinity, status: 'unknown' };
  if (refused) return { ...base, output: undefined, ret, status: 'fail' };
  const output = p.kind === 'read' ? { value: cur.value, version: cur.version } : { version: next.version };
  return { ...base, output, ret, status: 'ok' };
}

function planInput(p: Plan, cur: RegisterState): KeyedRegisterInput {
  if (p.kind === 'read') return { key: p.key, f: 'read' };
  if (p.kind === 'write') return { key: p.key, f: 'write', value: p.value };
  // ZooKeeper's -1 means "any version"; a skew that lands on it would apply, so skip past it.
  const wrong = cur.version + p.versionSkew === -1 ? cur.version + p.versionSkew - 1 : cur.version + p.versionSkew;
  return { key: p.key, f: 'cas', value: p.value, expectedVersion: p.versionSkew === 0 ? cur.version : wrong };
}

/** The same model without its partition key: one search over the whole history. */
export function unpartitioned<S, I, O>(model: Model<S, I, O>): Model<S, I, O> {
  return { ...model, partitionKey: undefined };
}

/**
 * Linearizability by its definition: some order of all 'ok' ops and any subset of 'unknown' ones, respecting real
 * time (a before b when a returned strictly before b was called), that the model accepts. Exponential: small only.
 */
export function bruteForce<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[]): boolean {
  const live = ops.filter((o) => o.status !== 'fail');
  const retOf = (o: Operation<I, O>): number => (o.status === 'unknown' ? Infinity : o.ret);
  const go = (state: S, left: Operation<I, O>[]): boolean => {
    if (left.every((o) => o.status !== 'ok')) return true;
    return left.some((o, i) => {
      if (left.some((p) => retOf(p) < o.call)) return false;
      const output = o.status === 'ok' ? o.output : undefined;
      const rest = left.filter((_, j) => j !== i);
      return model.step(state, o.input, output).some((next) => go(next, rest));
    });
  };
  return go(model.init(), live);
}
