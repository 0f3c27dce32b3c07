// The recording side of the fault suite: a History (operations and lock holds on one clock) and the Workers that
// fill it. A worker is one client of the workload: one ZooKeeperClient session at a time (a new one when the old
// expired), on the whole ensemble or pinned to one server. Every operation is recorded with its call and return
// time and an outcome: ok, fail (definitely did not happen: the server said so) or unknown (connection loss,
// timeout, expiry: it may still take effect). After an unknown write the worker takes a new process number, as in
// Jepsen: its next operation must not look ordered after one that may still be in flight.
import { clock, timeoutSignal } from '../util/sys.js';
import type { CheckResult, Operation } from '../check/history.js';
import type { Hold } from '../check/workloads.js';
import { Code, ZkError, ZooKeeperClient } from '../client/index.js';
import { silentLogger } from '../util/log.js';
import type { Rng } from '../util/rng.js';

/** Bound on one operation: past it the outcome is unknown (a paused server may never answer). */
export const OP_TIMEOUT_MS = 5000;
/** Bound on establishing a session; a worker pinned to a dead server keeps trying after a pause. */
const CONNECT_TIMEOUT_MS = 2000;
/** How long a step waits for a suspended session to come back before trying again later. */
const RECONNECT_WAIT_MS = 1000;

/** Errors after which the request definitely was not applied: the server judged it and said no. */
const DEFINITE = new Set<number>([
  Code.BADVERSION, Code.NODEEXISTS, Code.NONODE, Code.NOTEMPTY, Code.NOTREADONLY, Code.BADARGUMENTS, Code.NOAUTH,
  Code.NOCHILDRENFOREPHEMERALS,
]);

export type Status = Operation['status'];

export interface Outcome<O> {
  status: Status;
  output?: O;
  /** The error's code name (or message) when not ok. */
  error?: string;
}

/** Operations and holds of one run, timed by the run's clock (ms since the run started, performance.now()). */
export class History {
  readonly ops: Operation[] = [];
  /** The session (worker.session-number) of each op, parallel to `ops`; undefined for the final reads. */
  readonly sessions: (string | undefined)[] = [];
  readonly holds: Hold[] = [];
  private processes = 0;
  private t0 = clock.monotonic();

  /** ms since start() (since construction before it): one monotonic clock for every record of the run. */
  readonly clock = (): number => clock.monotonic() - this.t0;

  /** Starts the run's clock: the workload and the nemesis schedule count from here. */
  start(): void {
    this.t0 = clock.monotonic();
  }

  push(op: Operation, session?: string): void {
    this.ops.push(op);
    this.sessions.push(session);
  }

  newProcess(): number {
    return this.processes++;
  }
}

/** Thrown by a multi-request step that gave up before its first state-changing request: nothing happened. */
export class NothingDone extends Error {
  constructor(readonly reason: unknown) {
    super(`nothing done: ${errorName(reason)}`);
    this.name = 'NothingDone';
  }
}

function errorName(e: unknown): string {
  if (ZkError.is(e)) return e.codeName;
  return (e as Error).name === 'AbortError' ? 'TIMEOUT' : String((e as Error).message ?? e);
}

export function outcomeOf(e: unknown, write: boolean): Outcome<never> {
  if (e instanceof NothingDone) return { status: 'fail', error: e.message };
  const error = errorName(e);
  // A read that did not return had no effect, whatever the reason: it constrains nothing.
  if (!write) return { status: 'fail', error };
  return { status: ZkError.is(e) && DEFINITE.has(e.code) ? 'fail' : 'unknown', error };
}

export interface WorkerOptions {
  index: number;
  /** Connect string: the whole ensemble (in a preferred order) or one server. */
  connect: string;
  pinned: boolean;
  sessionTimeoutMs: number;
  history: History;
  rng: Rng;
  /** Pause between steps, uniform in [min, max] ms. */
  thinkMs: [number, number];
}

export class Worker {
  readonly index: number;
  readonly rng: Rng;
  readonly history: History;
  /** Per-worker memory of a workload (e.g. the last version seen per key). */
  readonly memo = new Map<string, unknown>();
  private client: ZooKeeperClient | undefined;
  private process: number;
  sessions = 0;

  constructor(readonly opts: WorkerOptions) {
    this.index = opts.index;
    this.rng = opts.rng;
    this.history = opts.history;
    this.process = opts.history.newProcess();
  }

  /** The pause before the next step. */
  think(): number {
    return this.rng.int(this.opts.thinkMs[0], this.opts.thinkMs[1]);
  }

  get clock(): () => number {
    return this.history.clock;
  }

  /** A connected session, or undefined when none could be had within a bounded wait (the caller pauses). */
  async session(): Promise<ZooKeeperClient | undefined> {
    const c = this.client;
    if (c && (c.state === 'expired' || c.state === 'closed' || c.state === 'authFailed')) {
      this.client = undefined;
      await c.close();
    }
    if (!this.client) return this.open();
    return (await connectedWithin(this.client, RECONNECT_WAIT_MS)) ? this.client : undefined;
  }

  private async open(): Promise<ZooKeeperClient | undefined> {
    const c = new ZooKeeperClient(this.opts.connect, {
      logger: silentLogger, sessionTimeoutMs: this.opts.sessionTimeoutMs, connectTimeoutMs: 1000, reconnectDelayMs: 100,
    });
    try {
      await c.connect(CONNECT_TIMEOUT_MS);
    } catch {
      await c.close();
      return undefined;
    }
    this.client = c;
    this.sessions++;
    return c;
  }

  /** Runs and records one operation; `write` says whether it may change state (decides fail vs unknown). */
  async op<I, O>(input: I, write: boolean, run: (signal: AbortSignal) => Promise<O>): Promise<Outcome<O>> {
    const call = this.clock();
    const process = this.process;
    let out: Outcome<O>;
    try {
      out = { status: 'ok', output: await run(timeoutSignal(OP_TIMEOUT_MS)) };
    } catch (e) {
      out = outcomeOf(e, write);
    }
    const ret = out.status === 'unknown' ? Infinity : this.clock();
    this.history.push({ client: process, input, output: out.output, call, ret, status: out.status }, `${this.index}.${this.sessions}`);
    if (out.status === 'unknown') this.process = this.history.newProcess();
    return out;
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.close();
  }
}

/** Resolves true once `c` is connected, false after `ms` or if its session ends. */
function connectedWithin(c: ZooKeeperClient, ms: number): Promise<boolean> {
  if (c.state === 'connected') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (v: boolean): void => {
      clock.clear(timer);
      c.off('state', onState);
      resolve(v);
    };
    const onState = (): void => {
      if (c.state === 'connected') done(true);
      else if (c.state === 'expired' || c.state === 'closed' || c.state === 'authFailed') done(false);
    };
    const timer = clock.setTimeout(() => done(false), ms);
    c.on('state', onState);
  });
}

/** A CheckResult built from a list of problems (empty: valid). */
export function verdict(checker: string, problems: string[], okSummary: string, details?: unknown): CheckResult {
  const valid = problems.length === 0;
  return { valid, checker, summary: valid ? okSummary : problems.join('; '), ...(details === undefined ? {} : { details }) };
}
