// A tiny deterministic network for FastLeaderElection cores: messages in flight are delivered one at a time in FIFO
// or seeded-random order, links can be cut (messages dropped), and time only moves when nothing is in flight (then it
// jumps to the earliest timer). Every send is traced as "from->to <notification>" so tests can pin sequences.

import { type Elected, FastLeaderElection, type FleAction, type FleConfig, type LogPosition } from '../../../src/quorum/election/fle.js';
import { formatNotification, type Notification, quorumVerifierText } from '../../../src/quorum/election/notification.js';

export interface NodeSpec {
  id: number;
  zxid: bigint;
  epoch: bigint;
  observer?: boolean;
}

interface InFlight {
  from: number;
  to: number;
  n: Notification;
}

/** mulberry32: a small seeded PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class SimNet {
  readonly nodes = new Map<number, FastLeaderElection>();
  readonly elected = new Map<number, Elected>();
  readonly timers = new Map<number, number>();
  readonly trace: string[] = [];
  /** Every action each node produced, in order (setTimer included). */
  readonly actions = new Map<number, FleAction[]>();
  inflight: InFlight[] = [];
  now = 0;
  private readonly cut = new Set<string>();
  /** How many deliveries happen before a due timer fires when traffic never stops. */
  stepsPerTimer = 2000;
  private readonly random: (() => number) | undefined;

  constructor(readonly specs: readonly NodeSpec[], opts: { seed?: number; config?: Partial<FleConfig>; linksUp?: boolean } = {}) {
    this.random = opts.seed === undefined ? undefined : rng(opts.seed);
    const voters = specs.filter((s) => !s.observer).map((s) => s.id);
    const text = quorumVerifierText(specs.map((s) => ({
      id: s.id, host: '127.0.0.1', quorumPort: 2888 + s.id, electionPort: 3888 + s.id, role: s.observer ? 'observer' : 'participant',
    })), 0n);
    for (const s of specs) {
      const log: LogPosition = { lastLoggedZxid: s.zxid, currentEpoch: s.epoch };
      this.nodes.set(s.id, new FastLeaderElection({ myId: s.id, voters, learnerType: s.observer ? 'observer' : 'participant', configText: text, ...opts.config }, log));
      this.actions.set(s.id, []);
    }
    // Every link counts as up (a partition drops messages but leaves sockets open), unless told otherwise.
    if (opts.linksUp !== false) {
      for (const a of specs) for (const b of specs) if (a.id !== b.id) this.node(a.id).peerConnected(b.id);
    }
  }

  node(id: number): FastLeaderElection {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** Drops every message between a and b (both ways) until healed. */
  partition(a: number, b: number): void {
    this.cut.add(`${a}-${b}`).add(`${b}-${a}`);
  }

  heal(): void {
    this.cut.clear();
  }

  start(...ids: number[]): void {
    for (const id of ids) this.apply(id, this.node(id).start(this.now));
  }

  /** Delivers one message (by index in flight; random or FIFO when omitted). Returns false when none. */
  deliver(index?: number): boolean {
    if (this.inflight.length === 0) return false;
    const i = index ?? (this.random ? Math.floor(this.random() * this.inflight.length) : 0);
    const [m] = this.inflight.splice(i, 1);
    this.apply(m.to, this.node(m.to).receive(m.from, m.n, this.now));
    return true;
  }

  /** Delivers the first message in flight from `from` to `to`. */
  deliverFrom(from: number, to: number): void {
    const i = this.inflight.findIndex((m) => m.from === from && m.to === to);
    if (i < 0) throw new Error(`no message ${from}->${to} in flight`);
    this.deliver(i);
  }

  /** Delivers everything in flight (and whatever that causes). Bounded: throws when it never empties. */
  drain(maxSteps = 10_000): void {
    if (!this.drainSome(maxSteps)) throw new Error('network did not drain');
  }

  /** Delivers up to `maxSteps` messages; true when nothing is left in flight. */
  drainSome(maxSteps: number): boolean {
    for (let i = 0; i < maxSteps; i++) if (!this.deliver()) return true;
    return this.inflight.length === 0;
  }

  /** Moves time to `t`, firing every timer due on the way (in time order). */
  advance(t: number): void {
    for (let guard = 0; guard < 10_000; guard++) {
      const due = [...this.timers].filter(([, at]) => at <= t).sort((a, b) => a[1] - b[1] || a[0] - b[0]);
      if (due.length === 0) break;
      const [id, at] = due[0];
      this.now = Math.max(this.now, at);
      this.timers.delete(id);
      this.apply(id, this.node(id).tick(this.now));
      this.drainSome(this.stepsPerTimer);
    }
    this.now = Math.max(this.now, t);
  }

  /** Drain, then let timers fire, until everyone named is out of LOOKING or `untilMs` passes. */
  stabilize(ids: readonly number[] = [...this.nodes.keys()], untilMs = this.now + 120_000): void {
    for (let guard = 0; guard < 100_000; guard++) {
      // Messages are fast but not instant: a conversation that never ends (a LOOKING voter and an OBSERVING
      // observer answer each other, as upstream does) must not stop the clock.
      this.drainSome(this.stepsPerTimer);
      if (ids.every((id) => this.node(id).state !== 'LOOKING')) return;
      const next = Math.min(...[...this.timers.values()]);
      if (!Number.isFinite(next) || next > untilMs) {
        this.now = untilMs;
        return;
      }
      this.advance(next);
    }
  }

  private apply(id: number, actions: readonly FleAction[]): void {
    this.actions.get(id)!.push(...actions);
    for (const a of actions) {
      if ('send' in a) this.post(id, a.send, a.notification);
      else if ('broadcast' in a) for (const to of a.to) this.post(id, to, a.broadcast);
      else if ('elected' in a) {
        this.elected.set(id, a.elected);
        this.timers.delete(id);
      } else if ('setTimer' in a) this.timers.set(id, a.setTimer);
    }
  }

  private post(from: number, to: number, n: Notification): void {
    const dropped = this.cut.has(`${from}-${to}`) || !this.nodes.has(to);
    this.trace.push(`${from}->${to} ${formatNotification(n)}${dropped ? ' (dropped)' : ''}`);
    if (!dropped) this.inflight.push({ from, to, n });
  }

  /** Trace lines sent by `from`, without the loopback copies. */
  sentBy(from: number): string[] {
    return this.trace.filter((l) => l.startsWith(`${from}->`) && !l.startsWith(`${from}->${from} `));
  }
}

export const zxid = (epoch: number, counter: number): bigint => (BigInt(epoch) << 32n) | BigInt(counter);
