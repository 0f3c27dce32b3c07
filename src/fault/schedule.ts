// The nemesis schedule: which fault is injected when, on which nodes, healed when. A pure function of the seed
// (no clock, no ensemble), so the same seed replays the same schedule and the schedule can be unit-tested. What
// only the running ensemble knows (who leads right now) stays symbolic here ({ leader: true }) and is resolved
// when the fault is injected.
import { Rng } from '../util/rng.js';

export const FAULTS = [
  'none', 'kill9-one', 'kill9-all', 'pause', 'partition-majority-minority', 'partition-isolate-leader',
  'partition-bridge', 'corrupt-restart', 'mixed',
] as const;
export type FaultName = (typeof FAULTS)[number];

export function isFault(s: string): s is FaultName {
  return (FAULTS as readonly string[]).includes(s);
}

/** A node named by id, or whoever leads when the fault is injected. */
export type Target = { id: number } | { leader: true };

/** Damage done to a killed node's data dir before its restart (see corrupt.ts). */
export type Corruption =
  /** Cut `bytes` off the end of the newest log's data (a torn last write). */
  | { kind: 'log-tail'; bytes: number }
  /** XOR `mask` into the byte at fraction `at` (in [0.5, 1)) of the newest snapshot. */
  | { kind: 'snapshot-flip'; at: number; mask: number }
  /** XOR `mask` into the payload of the record at fraction `at` of the newest log (mid-log damage). */
  | { kind: 'log-flip'; at: number; mask: number };

/** One fault as injected ('mixed' draws one of the others per step, so it never appears here). */
export type FaultStep =
  | { fault: 'none' }
  | { fault: 'kill9-one' | 'pause' | 'partition-isolate-leader'; target: Target }
  | { fault: 'kill9-all' }
  | { fault: 'partition-majority-minority'; minority: number[]; majority: number[] }
  | { fault: 'partition-bridge'; left: number[]; bridge: number; right: number[] }
  | { fault: 'corrupt-restart'; target: { id: number }; corruption: Corruption };

export interface ScheduledFault {
  /** ms after the workload started */
  startMs: number;
  /** ms after the workload started; the fault is healed (nodes restarted, links healed, SIGCONT) then */
  healMs: number;
  step: FaultStep;
}

export interface ScheduleOptions {
  fault: FaultName;
  seed: number;
  durationMs: number;
  /** Node ids of the ensemble (all voters). */
  nodes: number[];
  /** Quiet time between faults and fault length, each uniform in [min, max] ms (default 1000-3000, the issue's). */
  gapMs?: [number, number];
  holdMs?: [number, number];
}

const DEFAULT_GAP_MS: [number, number] = [1000, 3000];
const DEFAULT_HOLD_MS: [number, number] = [1000, 3000];
/** A bridge needs two halves of at least two nodes that share one node: five nodes. */
export const BRIDGE_NODES = 5;
/** Largest log-tail cut: a few records' worth, so the cut lands inside the last records rather than the header. */
const MAX_TAIL_CUT_BYTES = 300;

/** The faults of a run, in order, none overlapping; every fault starts before durationMs and heals by then. */
export function nemesisSchedule(o: ScheduleOptions): ScheduledFault[] {
  if (o.fault === 'partition-bridge' && o.nodes.length < BRIDGE_NODES) {
    throw new Error(`partition-bridge needs ${BRIDGE_NODES} nodes, the ensemble has ${o.nodes.length}`);
  }
  if (o.fault === 'none') return [];
  const rng = new Rng(o.seed).fork(0x4e454d); // 'NEM': independent of the workers' streams
  const gap = o.gapMs ?? DEFAULT_GAP_MS;
  const hold = o.holdMs ?? DEFAULT_HOLD_MS;
  const out: ScheduledFault[] = [];
  for (let t = rng.int(gap[0], gap[1]); t < o.durationMs; ) {
    const healMs = Math.min(t + rng.int(hold[0], hold[1]), o.durationMs);
    out.push({ startMs: t, healMs, step: stepFor(o.fault, rng, o.nodes) });
    t = healMs + rng.int(gap[0], gap[1]);
  }
  return out;
}

/** What 'mixed' draws from: every real fault the ensemble's size allows. */
function mixable(nodes: number[]): Exclude<FaultName, 'none' | 'mixed'>[] {
  return FAULTS.filter((f): f is Exclude<FaultName, 'none' | 'mixed'> =>
    f !== 'none' && f !== 'mixed' && (f !== 'partition-bridge' || nodes.length >= BRIDGE_NODES));
}

function stepFor(fault: Exclude<FaultName, 'none'>, rng: Rng, nodes: number[]): FaultStep {
  switch (fault) {
    case 'mixed':
      return stepFor(rng.pick(mixable(nodes)), rng, nodes);
    case 'kill9-one':
    case 'pause':
      // A third of the time the leader: a random pick hits it only 1/n of the time, and it is the interesting one.
      return { fault, target: rng.next() < 1 / 3 ? { leader: true } : { id: rng.pick(nodes) } };
    case 'partition-isolate-leader':
      return { fault, target: { leader: true } };
    case 'kill9-all':
      return { fault };
    case 'partition-majority-minority': {
      const order = rng.shuffle(nodes);
      const minority = order.slice(0, Math.floor((nodes.length - 1) / 2)).sort(byId);
      return { fault, minority, majority: order.slice(minority.length).sort(byId) };
    }
    case 'partition-bridge': {
      const order = rng.shuffle(nodes);
      const half = Math.floor((order.length - 1) / 2);
      return { fault, left: order.slice(0, half).sort(byId), bridge: order[half], right: order.slice(half + 1).sort(byId) };
    }
    case 'corrupt-restart':
      return { fault, target: { id: rng.pick(nodes) }, corruption: corruptionFor(rng) };
  }
}

/** Torn tails and snapshot flips twice as often as mid-log damage (which only tests the refusal path). */
function corruptionFor(rng: Rng): Corruption {
  const kind = rng.pick(['log-tail', 'log-tail', 'snapshot-flip', 'snapshot-flip', 'log-flip'] as const);
  const mask = 1 << rng.int(0, 7);
  if (kind === 'log-tail') return { kind, bytes: rng.int(1, MAX_TAIL_CUT_BYTES) };
  if (kind === 'snapshot-flip') return { kind, at: 0.5 + rng.next() / 2, mask };
  return { kind, at: rng.next(), mask };
}

/** One line per fault, for logs and the history file. */
export function describeStep(s: FaultStep): string {
  const target = (t: Target): string => ('leader' in t ? 'the leader' : `node ${t.id}`);
  switch (s.fault) {
    case 'none':
    case 'kill9-all':
      return s.fault;
    case 'kill9-one':
    case 'pause':
    case 'partition-isolate-leader':
      return `${s.fault} ${target(s.target)}`;
    case 'partition-majority-minority':
      return `${s.fault} [${s.minority.join(',')}] | [${s.majority.join(',')}]`;
    case 'partition-bridge':
      return `${s.fault} [${s.left.join(',')}] - ${s.bridge} - [${s.right.join(',')}]`;
    case 'corrupt-restart':
      return `${s.fault} node ${s.target.id} ${JSON.stringify(s.corruption)}`;
  }
}

const byId = (a: number, b: number): number => a - b;
