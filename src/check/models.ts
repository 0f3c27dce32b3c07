// check/models.ts: sequential models for checkLinearizable.
//
// The register is one znode as ZooKeeper serves it: a value and the Stat version. Absent is version -1, so that
// creating it (version 0) and every setData (version + 1) are the same rule. Inputs and outputs are what the
// client saw:
//   { f: 'read' }                               -> { value, version }   (NONODE: record { value: null, version: -1 })
//   { f: 'write', value }                       -> { version }          setData(-1), or create when absent
//   { f: 'cas', value, expectedVersion }        -> { version }          setData(expectedVersion); -1 = any version
// A CAS answered BADVERSION or NONODE is recorded with status 'fail' and never reaches the model.
import { brief } from './history.js';
import type { Model } from './linearizability.js';

export interface RegisterState {
  readonly value: string | null;
  readonly version: number;
}
export type RegisterInput =
  | { f: 'read' }
  | { f: 'write'; value: string }
  | { f: 'cas'; value: string; expectedVersion: number };
export interface ReadOutput {
  value: string | null;
  version: number;
}
export interface WriteOutput {
  version: number;
}
export type RegisterOutput = ReadOutput | WriteOutput;

/** The znode does not exist yet. */
export const ABSENT: RegisterState = Object.freeze({ value: null, version: -1 });
/** ZooKeeper's "any version" for setData. */
const ANY_VERSION = -1;

/** The states a register op may lead to (see Model.step). */
export function registerStep(
  s: RegisterState,
  input: RegisterInput,
  output: RegisterOutput | undefined,
): RegisterState[] {
  if (input.f === 'read') return output === undefined || readMatches(s, output) ? [s] : [];
  const exists = s.version >= 0;
  const applies =
    input.f === 'write' || (exists && (input.expectedVersion === ANY_VERSION || input.expectedVersion === s.version));
  if (!applies) {
    // A refused CAS had no effect: possible only when its outcome is unknown (an acknowledged one was applied).
    return output === undefined ? [s] : [];
  }
  const next: RegisterState = { value: input.value, version: s.version + 1 };
  return output === undefined || output.version === next.version ? [next] : [];
}

function readMatches(s: RegisterState, output: RegisterOutput): boolean {
  return 'value' in output && output.value === s.value && output.version === s.version;
}

function registerKey(s: RegisterState): string {
  return `${s.version}:${JSON.stringify(s.value)}`;
}

function describeRegisterOp(input: RegisterInput, output: RegisterOutput | undefined): string {
  const version = output === undefined ? '?' : `v${output.version}`;
  if (input.f === 'read') {
    const value = output === undefined || !('value' in output) ? '?' : brief(output.value);
    return `read -> ${value}@${version}`;
  }
  if (input.f === 'write') return `write(${brief(input.value)}) -> ${version}`;
  return `cas(${brief(input.value)} if v${input.expectedVersion}) -> ${version}`;
}

/** One znode as a register; `init` is its state before the history (absent unless the suite created it first). */
export function registerModel(init: RegisterState = ABSENT): Model<RegisterState, RegisterInput, RegisterOutput> {
  return {
    name: 'register',
    init: () => init,
    step: registerStep,
    key: registerKey,
    readOnly: (input) => input.f === 'read',
    describe: describeRegisterOp,
  };
}

/** A register op on the znode at `key` (the path). */
export type KeyedRegisterInput = RegisterInput & { key: string };
export type KeyedRegisterState = ReadonlyMap<string, RegisterState>;

/**
 * Many znodes, each an independent register: partitioned by path, so each path is searched alone. The state is
 * still a full map so the model stays correct if a caller checks it unpartitioned.
 */
export function keyedRegisterModel(
  init: RegisterState = ABSENT,
): Model<KeyedRegisterState, KeyedRegisterInput, RegisterOutput> {
  return {
    name: 'keyed-register',
    init: () => new Map(),
    step(state, input, output) {
      const current = state.get(input.key) ?? init;
      const next = registerStep(current, input, output);
      return next.map((r) => (r === current ? state : new Map(state).set(input.key, r)));
    },
    key: (state) =>
      [...state.keys()]
        .sort()
        .map((k) => `${JSON.stringify(k)}=${registerKey(state.get(k) as RegisterState)}`)
        .join(','),
    partitionKey: (input) => input.key,
    readOnly: (input) => input.f === 'read',
    describe: (input, output) => `${input.key} ${describeRegisterOp(input, output)}`,
  };
}
