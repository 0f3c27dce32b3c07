// check/workloads.ts: checkers for Jepsen-style workloads whose correctness is a property of the final state, not
// of an order of operations: cheaper than a linearizability search and able to judge histories far too concurrent
// for one. An op's status decides what it may account for: 'ok' must be visible, 'unknown' may or may not be, and
// 'fail' definitely is not.
import { type CheckResult, firstFew, type Operation } from './history.js';

/** Culprits named in a summary; the full lists are in `details`. */
const SUMMARY_ITEMS = 5;

function result(checker: string, problems: string[], okSummary: string, details: unknown): CheckResult {
  const valid = problems.length === 0;
  return { valid, checker, summary: valid ? okSummary : problems.join('; '), details };
}

/** Counts the occurrences of each value. */
function tally(values: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

/** "N what: a, b, c" when there is anything to list; nothing otherwise. */
function listed<T>(items: readonly T[], what: string, show: (t: T) => string = String): string[] {
  return items.length === 0 ? [] : [`${items.length} ${what}: ${firstFew(items, SUMMARY_ITEMS, show)}`];
}

/**
 * A grow-only set (e.g. children of one znode): every acknowledged add is in every final read (one per server,
 * after the run), and no final read holds an element that was never attempted (or whose add definitely failed).
 */
export function checkSet(adds: Operation<{ value: string }>[], finalReads: string[][]): CheckResult {
  if (finalReads.length === 0) {
    return { valid: false, unknown: true, checker: 'set', summary: 'no final read to check against' };
  }
  const acked = new Set(adds.filter((a) => a.status === 'ok').map((a) => a.input.value));
  const attempted = new Set(adds.filter((a) => a.status !== 'fail').map((a) => a.input.value));
  const readSets = finalReads.map((r) => new Set(r));
  const lost = [...acked].filter((v) => readSets.some((r) => !r.has(v))).sort();
  const lostIn = Object.fromEntries(lost.map((v) => [v, readSets.flatMap((r, i) => (r.has(v) ? [] : [i]))]));
  const unexpected = [...new Set(finalReads.flat())].filter((v) => !attempted.has(v)).sort();
  // Not a failure: a read taken without sync may lag. Reported so a suite can tell lag from loss.
  const divergent = [...new Set(finalReads.flat())].filter((v) => readSets.some((r) => !r.has(v))).sort();
  const recovered = [...attempted].filter((v) => !acked.has(v) && readSets.some((r) => r.has(v))).length;
  const problems = [...listed(lost, 'acknowledged add(s) lost'), ...listed(unexpected, 'unexpected element(s)')];
  const summary = `${acked.size} acknowledged adds in all ${finalReads.length} final reads`;
  return result('set', problems, summary, { acked: acked.size, lost, lostIn, unexpected, divergent, recovered });
}

/** Sequential-node creates: no id (the created path) is handed out twice. */
export function checkUniqueIds(ops: Operation<unknown, string>[]): CheckResult {
  const holders = new Map<string, number[]>();
  ops.forEach((op, i) => {
    if (op.status !== 'ok' || op.output === undefined) return;
    holders.set(op.output, [...(holders.get(op.output) ?? []), i]);
  });
  const duplicates = [...holders].filter(([, who]) => who.length > 1).map(([id, who]) => ({ id, ops: who }));
  const show = (d: { id: string; ops: number[] }): string => `${d.id} (ops ${d.ops.join(',')})`;
  const problems = listed(duplicates, 'id(s) returned twice', show);
  return result('unique-ids', problems, `${holders.size} ids, all distinct`, { ids: holders.size, duplicates });
}

/**
 * A counter of increments: the final value lies between the acknowledged sum and that sum plus every increment
 * whose outcome is unknown. (Negative deltas widen the lower bound the same way, so the check holds for them too.)
 */
export function checkCounter(increments: Operation<{ delta: number }>[], finalValue: number, initial = 0): CheckResult {
  let acked = initial;
  let unknownUp = 0;
  let unknownDown = 0;
  for (const op of increments) {
    const d = op.input.delta;
    if (op.status === 'ok') acked += d;
    else if (op.status === 'unknown' && d > 0) unknownUp += d;
    else if (op.status === 'unknown') unknownDown += d;
  }
  const lower = acked + unknownDown;
  const upper = acked + unknownUp;
  const problems: string[] = [];
  // NaN (an unparsable or missing final read) compares false both ways: it must not pass by saying nothing.
  if (Number.isNaN(finalValue)) problems.push('final value is not a number');
  if (finalValue < lower) problems.push(`final value ${finalValue} < ${lower}: acknowledged increments lost`);
  if (finalValue > upper) problems.push(`final value ${finalValue} > ${upper}: more than was ever attempted`);
  const summary = `final value ${finalValue} within [${lower}, ${upper}]`;
  return result('counter', problems, summary, { lower, upper, finalValue });
}

/**
 * A queue: nothing dequeued twice (an element both dequeued and still remaining counts as twice), nothing dequeued
 * that was never enqueued, and every acknowledged enqueue either dequeued or remaining. A dequeue with an unknown
 * outcome may have taken an element without anyone seeing it, so that many missing elements are forgiven (and
 * reported as `unaccounted`). Dequeue outputs are the values taken (null when the queue was empty).
 */
export function checkQueue(
  enqueues: Operation<{ value: string }>[],
  dequeues: Operation<unknown, string | null>[],
  finalRemaining: string[],
): CheckResult {
  const attempted = tally(enqueues.filter((e) => e.status !== 'fail').map((e) => e.input.value));
  const acked = tally(enqueues.filter((e) => e.status === 'ok').map((e) => e.input.value));
  const taken = dequeues.flatMap((d) => (d.status === 'ok' && typeof d.output === 'string' ? [d.output] : []));
  const seen = tally([...taken, ...finalRemaining]);
  const unexpected = [...seen.keys()].filter((v) => !attempted.has(v)).sort();
  const duplicated = [...seen].filter(([v, n]) => attempted.has(v) && n > (attempted.get(v) ?? 0)).map(([v]) => v);
  // One entry per missing copy: a value enqueued twice and seen once is one missing element.
  const missing = [...acked].flatMap(([v, n]) => Array<string>(Math.max(0, n - (seen.get(v) ?? 0))).fill(v)).sort();
  const unknownDequeues = dequeues.filter((d) => d.status === 'unknown').length;
  const lost = missing.length > unknownDequeues ? missing : [];
  const unaccounted = lost.length === 0 ? missing : [];
  const problems = [
    ...listed(duplicated.sort(), 'element(s) delivered twice'),
    ...listed(unexpected, 'element(s) never enqueued'),
    ...listed(lost, `acknowledged enqueue(s) lost (${unknownDequeues} unknown dequeues)`),
  ];
  const summary =
    `${taken.length} dequeued, ${finalRemaining.length} remaining, ` +
    `${unaccounted.length} taken by unknown dequeues`;
  return result('queue', problems, summary, { dequeued: taken.length, duplicated, unexpected, lost, unaccounted });
}

export interface Hold {
  client: number;
  acquired: number;
  /** Infinity when never released (the client was killed holding it). */
  released: number;
}

/**
 * Mutual exclusion: no two holds overlap. Times are one shared monotonic clock (the recorder's). A hold released at
 * t and another acquired at t do not overlap: with a coarse clock both may fall in the same tick.
 */
export function checkLock(holds: Hold[]): CheckResult {
  holds.forEach((h, i) => {
    // `!(>=)` also catches NaN: a recorder bug, not a verdict.
    if (!(h.released >= h.acquired)) throw new RangeError(`hold #${i}: released ${h.released}, acquired ${h.acquired}`);
  });
  const order = holds.map((_, i) => i).sort((a, b) => holds[a].acquired - holds[b].acquired);
  const overlaps: { first: number; second: number }[] = [];
  // Sweep in acquire order against the hold that is released last so far: any hold it overlaps is a violation.
  let longest = -1;
  for (const i of order) {
    if (longest >= 0 && holds[i].acquired < holds[longest].released) overlaps.push({ first: longest, second: i });
    if (longest < 0 || holds[i].released > holds[longest].released) longest = i;
  }
  const show = (o: { first: number; second: number }): string => {
    const [a, b] = [holds[o.first], holds[o.second]];
    return `c${a.client} [${a.acquired}, ${a.released}] and c${b.client} [${b.acquired}, ${b.released}]`;
  };
  const problems = listed(overlaps, 'overlapping hold(s)', show);
  return result('lock', problems, `${holds.length} holds, none overlapping`, { holds: holds.length, overlaps });
}
