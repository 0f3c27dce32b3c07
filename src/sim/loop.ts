// sim/ is the deterministic simulator: the real server shells (peer, leader, learner, election sockets, connections,
// pipeline, txn log, snapshots) and the real client library run in one process against a simulated clock, network
// and disk, all driven from one seed. loop.ts: the simulated time line. Every timer, socket delivery and disk
// completion is an event at a simulated millisecond; events run one at a time in (time, sequence) order, and the
// loop lets the microtasks an event started (promise continuations) finish before the next, so a seed replays
// exactly. Each event belongs to an owner (a server "n1", the clients, the simulator itself): work an event starts
// belongs to the same owner, so crashing a server drops everything it had pending, as kill -9 does.

import { Rng } from '../util/rng.js';
import type { Clock, Timer } from '../util/sys.js';

export type Owner = string;

export class SimEvent implements Timer {
  cancelled = false;
  constructor(
    public time: number,
    public seq: number,
    readonly owner: Owner,
    /** The owner's incarnation when scheduled: a crash ends it, and its events with it. */
    readonly life: number,
    public fn: () => void,
    readonly repeatMs = 0,
  ) {}
  unref(): Timer {
    return this;
  }
}

/** Binary min-heap of events by (time, seq). */
class EventHeap {
  private items: SimEvent[] = [];
  get size(): number {
    return this.items.length;
  }
  private less(x: SimEvent, y: SimEvent): boolean {
    return x.time < y.time || (x.time === y.time && x.seq < y.seq);
  }
  push(e: SimEvent): void {
    const h = this.items;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }
  peek(): SimEvent | undefined {
    return this.items[0];
  }
  pop(): SimEvent | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

/** Simulated wall clock starts here (2026-01-01), so logs and session ids look like real ones. */
export const SIM_EPOCH_MS = Date.UTC(2026, 0, 1);

const realSetImmediate = setImmediate;
const settle = (): Promise<void> => new Promise((r) => realSetImmediate(r));

export type CrashHandler = (owner: Owner, err: unknown) => void;

export class SimLoop {
  /** Milliseconds since the start of the simulation. */
  now = 0;
  /** The owner of the event running now; new events and resources belong to it. */
  current: Owner = 'sim';
  readonly rng: Rng;
  private heap = new EventHeap();
  private seq = 0;
  /** Incarnation per owner: kill() starts a new one, so events of the old one never run. */
  private lives = new Map<Owner, number>();
  private frozen = new Map<Owner, SimEvent[]>();
  private running = false;
  /** Events run so far. */
  steps = 0;
  /** Called when an owner's code throws (an uncaught error or an unhandled rejection ends that "process"). */
  onCrash: CrashHandler = (owner, err) => {
    throw new Error(`simulated ${owner} crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  };

  constructor(seed: number) {
    this.rng = new Rng(seed);
  }

  /** Runs fn after delayMs on behalf of owner (default: the owner running now). */
  schedule(delayMs: number, fn: () => void, owner: Owner = this.current, repeatMs = 0): SimEvent {
    const ev = new SimEvent(this.now + Math.max(0, delayMs), this.seq++, owner, this.life(owner), fn, repeatMs);
    this.heap.push(ev);
    return ev;
  }

  cancel(ev: Timer | undefined): void {
    if (ev instanceof SimEvent) ev.cancelled = true;
  }

  /**
   * Runs fn now as owner, outside the event queue. Only its synchronous part is owned: to start async work as an
   * owner, schedule it (schedule(0, fn, owner)), so its continuations run inside that owner's event.
   */
  as<T>(owner: Owner, fn: () => T): T {
    const before = this.current;
    this.current = owner;
    try {
      return fn();
    } finally {
      this.current = before;
    }
  }

  private life(owner: Owner): number {
    return this.lives.get(owner) ?? 0;
  }

  /**
   * Ends an owner's incarnation (kill -9): none of its pending events runs. Events scheduled afterwards belong to
   * its next incarnation (a restarted server).
   */
  kill(owner: Owner): void {
    this.frozen.delete(owner);
    this.lives.set(owner, this.life(owner) + 1);
  }

  /**
   * SIGSTOP: the owner's events wait (in order) until thaw, which runs them at once, as a resumed process catches up
   * with its expired timers and buffered sockets.
   */
  freeze(owner: Owner): void {
    if (!this.frozen.has(owner)) this.frozen.set(owner, []);
  }

  thaw(owner: Owner): void {
    const held = this.frozen.get(owner);
    this.frozen.delete(owner);
    for (const ev of held ?? []) {
      ev.time = this.now;
      ev.seq = this.seq++;
      this.heap.push(ev);
    }
  }

  isFrozen(owner: Owner): boolean {
    return this.frozen.has(owner);
  }

  /** Events waiting to run (for a "nothing left to do" check). */
  get pending(): number {
    return this.heap.size;
  }

  /** Runs events until the time line passes untilMs, stop() says so, or nothing is left. Returns the events run. */
  async runUntil(untilMs: number, stop: () => boolean = () => false): Promise<number> {
    // Two drivers interleaving would run an event before the previous one's continuations finished.
    if (this.running) throw new Error('SimLoop.runUntil is already running (one driver at a time)');
    this.running = true;
    try {
      return await this.runEvents(untilMs, stop);
    } finally {
      this.running = false;
    }
  }

  private async runEvents(untilMs: number, stop: () => boolean): Promise<number> {
    let ran = 0;
    for (;;) {
      if (stop()) break;
      const ev = this.heap.peek();
      if (ev === undefined || ev.time > untilMs) break;
      this.heap.pop();
      if (ev.cancelled || ev.life !== this.life(ev.owner)) continue;
      const held = this.frozen.get(ev.owner);
      if (held) {
        held.push(ev);
        continue;
      }
      this.now = ev.time;
      const fn = ev.fn;
      if (ev.repeatMs > 0) {
        // An interval: queued again before it runs, so clearing it from inside the callback works.
        ev.time += ev.repeatMs;
        ev.seq = this.seq++;
        this.heap.push(ev);
      }
      this.current = ev.owner;
      try {
        fn();
      } catch (e) {
        this.onCrash(ev.owner, e);
      }
      // Let the promise continuations this event started run, still as its owner.
      await settle();
      this.current = 'sim';
      this.steps++;
      ran++;
    }
    if (!stop() && this.now < untilMs) this.now = untilMs;
    return ran;
  }

  /** A Clock for util/sys.ts backed by this time line. */
  clock(): Clock {
    return {
      now: () => SIM_EPOCH_MS + Math.floor(this.now),
      monotonic: () => this.now,
      setTimeout: (fn, ms) => this.schedule(ms, fn),
      setInterval: (fn, ms) => this.schedule(ms, fn, this.current, Math.max(1, ms)),
      setImmediate: (fn) => this.schedule(0, fn),
      clear: (t) => this.cancel(t),
    };
  }
}
