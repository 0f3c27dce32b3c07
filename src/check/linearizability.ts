// check/linearizability.ts: is a concurrent history linearizable against a sequential model?
//
// The search is Wing & Gong's, with Lowe's memoisation (as in porcupine and Knossos's "wgl"): the history is a
// time-ordered list of call and return events. From a configuration (ops linearized so far, model state), the ops
// that may come next are those called before the first pending return; try each (the model must accept its output
// from the current state) and go on from there; when none works, that first pending return can never be passed
// from here, so undo the latest choice. A configuration seen before is never explored twice: the search from it
// already failed. Events live in a doubly linked list so that linearizing an op unlinks its two events and undoing
// relinks them in O(1).
//
// Choices this checker makes, and why:
// - A 'fail' op is removed before the search: it definitely had no effect, so it constrains nothing. (A BADVERSION
//   does say "the version differed at some point"; dropping that can only hide an anomaly, never invent one.)
// - An 'unknown' op has no output and no return: it may be linearized anywhere after its call, with whatever
//   output the model allows (Model.step gets `undefined` and returns every state some output leads to), or never.
//   "Never" is how the search ends: it succeeds once every 'ok' op is linearized, whatever unknown ops remain.
// - Equal timestamps count as concurrent (calls sort before returns at the same time): with millisecond clocks an
//   op returning at t and another called at t may have run in either order, and a checker must not invent an order.
// - Model.step returns the list of possible next states, not an {ok, state}: [] says "this output is impossible
//   here", and a list is what an unknown output needs (a CAS that may have applied or not) and what any
//   nondeterministic model needs. The search carries the set of states the history so far may have reached (the
//   powerset construction), so it branches once per op, not once per state.
// - Order of trial: 'ok' candidates before unknown ones, and an unknown op that would leave the state unchanged is
//   not linearized at all (leaving it out keeps strictly more options). Neither changes the verdict, only how soon
//   a valid history is found: fault histories have many timed-out ops and most of them explain nothing.
// - P-compositionality: when the model gives each input a partition key (a register per znode), each partition is
//   checked alone; a history is linearizable iff every partition is. This turns one exponential search into many
//   small ones.
import { assertWellFormed, brief, type CheckResult, effectiveRet, firstFew, type Operation } from './history.js';

export interface Model<S, I, O> {
  name: string;
  init(): S;
  /**
   * The states `input` may lead to from `state` when it returned `output`; [] when that output is impossible
   * there. `output` is undefined when the outcome is unknown: return every state that some output leads to
   * (for a conditional write, both "applied" and "refused" if both are possible). States are not mutated.
   */
  step(state: S, input: I, output: O | undefined): readonly S[];
  /** Equal keys mean equal states: the search memoises on it. */
  key(state: S): string;
  /** Inputs with different keys touch independent state (e.g. the znode path): each key is checked alone. */
  partitionKey?(input: I): string;
  /** True when the op never changes the state (a read): with an unknown outcome it says nothing and is dropped. */
  readOnly?(input: I): boolean;
  /** A short rendering of an op for failure reports. */
  describe?(input: I, output: O | undefined): string;
}

export interface LinearizabilityOptions {
  /** Search steps allowed per partition before the answer is "unknown". */
  maxSteps?: number;
}

/**
 * Steps per partition (a step is one try of one op): about a second with the register models. A partition that
 * needs more is too concurrent to decide in the time a test run has; the answer is then "unknown", not a guess.
 */
export const DEFAULT_MAX_STEPS = 1_000_000;
/** Ops named in a failure summary: enough to see the anomaly, short enough to read. */
const SUMMARY_OPS = 4;

/** What the search reports when a partition is not linearizable (indices are into the caller's `ops`). */
export interface LinearizabilityFailure {
  partition: string | undefined;
  /** The op whose return no linearization could reach: the end of the shortest non-linearizable prefix. */
  op: number;
  /** The ops called before that return: the shortest prefix of the history that is already not linearizable. */
  prefix: number[];
  /** The ops whose windows overlap the failing op's: the usual suspects. */
  concurrent: number[];
  /** The deepest partial linearization reached before the failing return, in order. */
  linearized: number[];
  /** The model state(s) after that partial linearization (model keys). */
  states: string[];
}

export function checkLinearizable<S, I, O>(
  model: Model<S, I, O>,
  ops: Operation<I, O>[],
  opts: LinearizabilityOptions = {},
): CheckResult {
  assertWellFormed(ops);
  const maxSteps = opts.maxSteps ?? DEFAULT_MAX_STEPS;
  const { parts, dropped } = partition(model, ops);
  let steps = 0;
  const limited: string[] = [];
  for (const [key, part] of parts) {
    const outcome = search(model, part, maxSteps);
    steps += outcome.steps;
    if (outcome.verdict === 'limit') limited.push(key ?? '');
    if (outcome.verdict !== 'fail') continue;
    // One counterexample is enough: searching the remaining partitions would only spend time.
    const failure = explain(key, part, outcome.frontier);
    return {
      valid: false,
      checker: `linearizable(${model.name})`,
      summary: failureSummary(model, ops, failure),
      details: { failure, partitions: parts.size, steps, dropped },
    };
  }
  const checked = ops.length - dropped.fail - dropped.unknownReadOnly;
  const details = { partitions: parts.size, ops: checked, steps, dropped, limited };
  if (limited.length > 0) {
    const keys = firstFew(limited, SUMMARY_OPS, (k) => JSON.stringify(k));
    const where = model.partitionKey === undefined ? '' : ` in ${keys}`;
    return {
      valid: false,
      unknown: true,
      checker: `linearizable(${model.name})`,
      summary: `search limit reached (${maxSteps} steps per partition)${where}`,
      details,
    };
  }
  return {
    valid: true,
    checker: `linearizable(${model.name})`,
    summary: `linearizable: ${checked} ops in ${parts.size} partition(s), ${steps} steps`,
    details,
  };
}

/** One op as the search sees it: its index in the caller's list and the output to check (undefined: any). */
interface SearchOp<I, O> {
  index: number;
  input: I;
  output: O | undefined;
  /** 'ok' ops must all be linearized; unknown ones may be left out. */
  required: boolean;
  call: number;
  ret: number;
}

/** Drops what cannot constrain the search and groups the rest by partition key, in history order. */
function partition<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[]) {
  const parts = new Map<string | undefined, SearchOp<I, O>[]>();
  const dropped = { fail: 0, unknownReadOnly: 0 };
  ops.forEach((op, index) => {
    if (op.status === 'fail') return void dropped.fail++;
    const required = op.status === 'ok';
    if (!required && model.readOnly?.(op.input) === true) return void dropped.unknownReadOnly++;
    const key = model.partitionKey?.(op.input);
    const output = required ? op.output : undefined;
    const list = parts.get(key) ?? [];
    list.push({ index, input: op.input, output, required, call: op.call, ret: effectiveRet(op) });
    parts.set(key, list);
  });
  return { parts, dropped };
}

/** A call or return event in the linked list; `pos` is its place in time order, `op` its op's place in the part. */
interface Event {
  op: number;
  isCall: boolean;
  time: number;
  pos: number;
  /** The call's return event (null on returns). */
  match: Event | null;
  prev: Event | null;
  next: Event | null;
}

/** Builds the time-ordered event list behind a sentinel head. */
function eventList(ops: readonly SearchOp<unknown, unknown>[]): Event {
  const events: Event[] = [];
  ops.forEach((o, op) => {
    const ret: Event = { op, isCall: false, time: o.ret, pos: 0, match: null, prev: null, next: null };
    events.push({ op, isCall: true, time: o.call, pos: 0, match: ret, prev: null, next: null }, ret);
  });
  // Calls before returns at equal times: such ops are concurrent (see the header).
  events.sort((a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall));
  const head: Event = { op: -1, isCall: false, time: -Infinity, pos: -1, match: null, prev: null, next: null };
  let last = head;
  events.forEach((e, pos) => {
    e.pos = pos;
    e.prev = last;
    last.next = e;
    last = e;
  });
  return head;
}

/** Unlinks a call and its return: the op is linearized. */
function lift(call: Event): void {
  for (const e of [call, call.match as Event]) {
    (e.prev as Event).next = e.next;
    if (e.next) e.next.prev = e.prev;
  }
}

/** Relinks what lift unlinked (in reverse order: the list's pointers in the events are still valid). */
function unlift(call: Event): void {
  for (const e of [call.match as Event, call]) {
    (e.prev as Event).next = e;
    if (e.next) e.next.prev = e;
  }
}

/** The set of states the linearized prefix may have reached, with one key for the whole set. */
interface StateSet<S> {
  states: readonly S[];
  key: string;
}

function stepAll<S, I, O>(model: Model<S, I, O>, from: StateSet<S>, op: SearchOp<I, O>): StateSet<S> | null {
  const next = new Map<string, S>();
  for (const s of from.states) {
    for (const n of model.step(s, op.input, op.output)) next.set(model.key(n), n);
  }
  if (next.size === 0) return null;
  const keys = [...next.keys()];
  // A set's key must not depend on the order its states were found in.
  const key = keys.length === 1 ? keys[0] : keys.sort().join('\u0001');
  return { states: [...next.values()], key };
}

/** The deepest point the search reached: the return it could not get past, and how it got there. */
interface Frontier {
  pos: number;
  op: number;
  linearized: number[];
  states: string[];
}

interface SearchOutcome {
  verdict: 'ok' | 'fail' | 'limit';
  steps: number;
  frontier: Frontier;
}

/**
 * One configuration on the search path: the states reached, the ops that may be linearized next (every call
 * before the first pending return, which is the `blocker`: an op that must be linearized before anything later),
 * and how far through them the search is.
 */
interface Frame<S> {
  states: StateSet<S>;
  candidates: Event[];
  next: number;
  blocker: Event | null;
  /** The call lifted to reach this frame (null at the root). */
  via: Event | null;
}

function frame<S, I, O>(head: Event, ops: SearchOp<I, O>[], states: StateSet<S>, via: Event | null): Frame<S> {
  const required: Event[] = [];
  const optional: Event[] = [];
  let e = head.next;
  for (; e !== null && e.isCall; e = e.next) (ops[e.op].required ? required : optional).push(e);
  // Unknown ops last: a valid history is usually explained with them late or never, so try that first.
  return { states, candidates: required.concat(optional), next: 0, blocker: e, via };
}

function search<S, I, O>(model: Model<S, I, O>, ops: SearchOp<I, O>[], maxSteps: number): SearchOutcome {
  const head = eventList(ops);
  const bits = new Uint16Array(Math.ceil(ops.length / 16));
  const seen = new Set<string>();
  const init = model.init();
  const stack: Frame<S>[] = [];
  let top = frame(head, ops, { states: [init], key: model.key(init) }, null);
  let required = ops.filter((o) => o.required).length;
  let frontier: Frontier = { pos: -1, op: -1, linearized: [], states: [] };
  let steps = 0;
  while (required > 0) {
    if (++steps > maxSteps) return { verdict: 'limit', steps, frontier };
    if (top.next < top.candidates.length) {
      const call = top.candidates[top.next++];
      const op = ops[call.op];
      const next = stepAll(model, top.states, op);
      if (next === null) continue;
      // An unknown op that changes nothing now is better left for later or never: that keeps every option.
      if (!op.required && next.key === top.states.key) continue;
      if (!remember(seen, bits, call.op, next.key)) continue;
      lift(call);
      if (op.required) required--;
      stack.push(top);
      top = frame(head, ops, next, call);
      continue;
    }
    // Nothing left to try here: the blocker's op cannot be linearized from this configuration.
    if (top.blocker !== null && top.blocker.pos > frontier.pos) frontier = frontierAt(model, top, stack);
    const parent = stack.pop();
    if (parent === undefined || top.via === null) return { verdict: 'fail', steps, frontier };
    unlift(top.via);
    clearBit(bits, top.via.op);
    if (ops[top.via.op].required) required++;
    top = parent;
  }
  return { verdict: 'ok', steps, frontier };
}

function frontierAt<S, I, O>(model: Model<S, I, O>, top: Frame<S>, stack: Frame<S>[]): Frontier {
  const blocker = top.blocker as Event;
  const linearized = [...stack, top].flatMap((f) => (f.via === null ? [] : [f.via.op]));
  return { pos: blocker.pos, op: blocker.op, linearized, states: top.states.states.map((s) => model.key(s)) };
}

/** Marks `op` linearized; true if (linearized set, states) is new. On false the bit is left cleared. */
function remember(seen: Set<string>, bits: Uint16Array, op: number, stateKey: string): boolean {
  bits[op >>> 4] |= 1 << (op & 15);
  // bitsKey has a fixed length, so the pair cannot be confused with another whatever the state key holds.
  const key = bitsKey(bits) + stateKey;
  if (seen.has(key)) {
    clearBit(bits, op);
    return false;
  }
  seen.add(key);
  return true;
}

function clearBit(bits: Uint16Array, op: number): void {
  bits[op >>> 4] &= ~(1 << (op & 15));
}

/** Arguments per String.fromCharCode call: well under every engine's limit on arguments. */
const CHARS_PER_CALL = 4096;

/**
 * The bit set as a string, one UTF-16 unit per 16 ops: exact (lone surrogates are kept, unlike a TextDecoder) and
 * about five times shorter than decimal words, which matters because building this string is most of the search.
 */
function bitsKey(bits: Uint16Array): string {
  // apply, not spread: spreading a typed array goes through its iterator, several times slower here.
  const chars = (chunk: Uint16Array): string => String.fromCharCode.apply(null, chunk as unknown as number[]);
  if (bits.length <= CHARS_PER_CALL) return chars(bits);
  let s = '';
  for (let i = 0; i < bits.length; i += CHARS_PER_CALL) s += chars(bits.subarray(i, i + CHARS_PER_CALL));
  return s;
}

function explain<I, O>(key: string | undefined, part: SearchOp<I, O>[], frontier: Frontier): LinearizabilityFailure {
  const failing = part[frontier.op];
  // The failing return's time: events at it sort calls first, so ops called at that instant are in the prefix.
  const prefix = part.filter((o) => o.call <= failing.ret).map((o) => o.index);
  const concurrent = part
    .filter((o) => o !== failing && o.call <= failing.ret && o.ret >= failing.call)
    .map((o) => o.index);
  const linearized = frontier.linearized.map((i) => part[i].index);
  return { partition: key, op: failing.index, prefix, concurrent, linearized, states: frontier.states };
}

function failureSummary<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[], f: LinearizabilityFailure): string {
  const show = (i: number): string => describeOp(model, ops[i], i);
  const where = f.partition === undefined ? '' : ` at ${JSON.stringify(f.partition)}`;
  const lastLinearized = f.linearized.slice(-SUMMARY_OPS);
  const after = lastLinearized.length === 0 ? 'from the initial state' : `after ${lastLinearized.map(show).join('; ')}`;
  return (
    `not linearizable${where}: ${show(f.op)} cannot be linearized ${after} ` +
    `(state ${firstFew(f.states, SUMMARY_OPS)}); shortest non-linearizable prefix: ${f.prefix.length} ops; ` +
    `concurrent: ${f.concurrent.length === 0 ? 'none' : firstFew(f.concurrent, SUMMARY_OPS, show)}`
  );
}

/** `#index c<client> <op> [call, ret]`, with the model's rendering of the op when it has one. */
export function describeOp<S, I, O>(model: Model<S, I, O>, op: Operation<I, O>, index: number): string {
  const output = op.status === 'ok' ? op.output : undefined;
  const what = model.describe?.(op.input, output) ?? `${brief(op.input)} -> ${brief(output)}`;
  const ret = op.status === 'unknown' ? '?' : String(op.ret);
  return `#${index} c${op.client} ${what} [${op.call}, ${ret}]`;
}
