// check/history.ts: the vocabulary shared by the history recorder (the fault suite, the simulator) and the checkers.
// Pure data: a history is a list of operations with their real-time windows; nothing here reads a clock.

/** One client operation: invoked at `call`, completed at `ret` (ms or logical ticks; any monotonic unit). */
export interface Operation<I = unknown, O = unknown> {
  /** The process/session that issued it (operations of one client never overlap). */
  client: number;
  input: I;
  /** undefined when the outcome is unknown (timeout, connection loss). */
  output: O | undefined;
  call: number;
  /** Infinity when the outcome is unknown: it may take effect any time after call. */
  ret: number;
  /** fail = definitely did not happen (e.g. BADVERSION on a CAS, NONODE). */
  status: 'ok' | 'fail' | 'unknown';
}

export interface CheckResult {
  valid: boolean;
  checker: string;
  /** human-readable, short */
  summary: string;
  details?: unknown;
  /**
   * Set (with valid: false) when the checker could not decide, e.g. its search bound was hit: neither a proof of
   * correctness nor a violation. A suite should report it apart from failures.
   */
  unknown?: true;
}

/**
 * Throws on a history no recorder should produce (a window that ends before it starts, a NaN time): that is a bug
 * in the recorder, not a finding about the system, so it must not come back as a verdict.
 */
export function assertWellFormed(ops: readonly Operation[]): void {
  ops.forEach((op, i) => {
    if (Number.isNaN(op.call) || Number.isNaN(op.ret) || op.call === Infinity) {
      throw new RangeError(`operation #${i}: bad times call=${op.call} ret=${op.ret}`);
    }
    if (op.ret < op.call) throw new RangeError(`operation #${i}: ret ${op.ret} before call ${op.call}`);
  });
}

/** The effective return time: an op with an unknown outcome may take effect at any time after its call. */
export function effectiveRet(op: Operation): number {
  return op.status === 'unknown' ? Infinity : op.ret;
}

/** A short, single-line rendering of a value for summaries (JSON, cut to `max` characters). */
export function brief(value: unknown, max = BRIEF_MAX_CHARS): string {
  const s = value === undefined ? '?' : JSON.stringify(value);
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** How much of one value a summary shows: summaries are one line in a test report. */
const BRIEF_MAX_CHARS = 60;

/** `count` items of a list, with "(+N more)" when cut: a report names a few culprits, not thousands. */
export function firstFew<T>(items: readonly T[], count: number, show: (t: T) => string = String): string {
  const head = items.slice(0, count).map(show).join(', ');
  return items.length > count ? `${head} (+${items.length - count} more)` : head;
}
