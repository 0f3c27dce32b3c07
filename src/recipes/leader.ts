// recipes/leader.ts: leader latch and leader election (ZooKeeper's leader-election recipe; Curator's LeaderLatch and
// LeaderSelector for behaviour). Both queue protected EPHEMERAL_SEQUENTIAL nodes in `<dir>`; the lowest is the leader;
// each other participant watches only its predecessor.
//
// LeaderLatch: join with start(), leave with close(). hasLeadership() is true only while this participant's node is
//   first and the client is connected: on a connection drop leadership is given up at once ('notLeader'), and taken
//   back ('isLeader') if the session survived and the node is still first. A participant whose node was deleted while
//   its session lives joins again at the back. A participant whose session ended is out for good ('closed').
// LeaderElection: start() queues; when this participant leads, `onLeadership({ signal })` runs; leadership ends when
//   it returns, or is interrupted (signal aborted) on a connection drop, a lost session, interruptLeadership() or
//   close(). With autoRequeue (default) the participant queues again afterwards.
import { clock } from '../util/sys.js';
import { EventEmitter } from 'node:events';
import { Code, type ZooKeeperClient } from '../client/index.js';
import { abortError, type HoldState, sortedContenders } from './hold.js';
import { DistributedLock } from './lock.js';
import { isCode, joinPath, retry, TERMINAL } from './util.js';

/** The id (node data) of the current leader of `dir`, or undefined when there is none. */
export async function currentLeader(client: ZooKeeperClient, dir: string): Promise<string | undefined> {
  for (;;) {
    const sorted = await sortedContenders(client, dir);
    if (sorted.length === 0) return undefined;
    try {
      const { data } = await retry(client, () => client.getData(joinPath(dir, sorted[0])));
      return data?.toString('utf8') ?? '';
    } catch (e) {
      if (!isCode(e, Code.NONODE)) throw e;
    }
  }
}

/** Events: 'isLeader', 'notLeader', 'closed' (session gone or close()). */
export class LeaderLatch extends EventEmitter {
  private lock: DistributedLock | undefined;
  private stop = new AbortController();
  private running: Promise<void> | undefined;
  private leader = false;
  private closed = false;

  constructor(readonly client: ZooKeeperClient, readonly dir: string, readonly id = '') {
    super();
  }

  /** Joins the election; resolves at once (leadership comes later, see await()/'isLeader'). */
  start(): void {
    if (this.running || this.closed) throw new Error('LeaderLatch already started');
    this.running = this.run();
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      const lock = new DistributedLock(this.client, this.dir, { name: 'latch-', data: this.id });
      this.lock = lock;
      try {
        await lock.acquire({ signal: this.stop.signal });
      } catch {
        break; // closed (abort) or session gone
      }
      const lost = new Promise<void>((resolve) => {
        lock.on('state', (s: HoldState) => {
          this.setLeader(s === 'held' && lock.isHeld());
          if (s === 'lost' || s === 'released') resolve();
        });
      });
      this.setLeader(lock.isHeld());
      await lost;
      this.setLeader(false);
      if (TERMINAL.has(this.client.state)) break;
      // The node was deleted while the session lives: queue again.
    }
    this.setLeader(false);
    if (!this.closed) {
      this.closed = true;
      this.emit('closed');
    }
  }

  private setLeader(v: boolean): void {
    if (this.leader === v) return;
    this.leader = v;
    this.emit(v ? 'isLeader' : 'notLeader');
  }

  /** True only while this participant leads and is connected. */
  hasLeadership(): boolean {
    return this.leader && (this.lock?.isHeld() ?? false);
  }

  /** True once the latch left the election (close(), or its session ended). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Waits until this participant leads; false on timeout or when the latch is closed. */
  await(timeoutMs?: number): Promise<boolean> {
    if (this.hasLeadership()) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = timeoutMs === undefined ? undefined : clock.setTimeout(() => done(false), timeoutMs);
      const onLeader = (): void => done(true);
      const onClosed = (): void => done(false);
      const done = (v: boolean): void => {
        clock.clear(timer);
        this.off('isLeader', onLeader);
        this.off('closed', onClosed);
        resolve(v);
      };
      this.on('isLeader', onLeader);
      this.on('closed', onClosed);
    });
  }

  /** Leaves the election (deletes the node; another participant takes over). */
  async close(): Promise<void> {
    if (this.closed && !this.running) return;
    const wasClosed = this.closed;
    this.closed = true;
    this.stop.abort();
    const lock = this.lock;
    if (lock && lock.holdCount > 0) {
      this.setLeader(false);
      await lock.release().catch(() => undefined);
    }
    await this.running;
    this.running = undefined;
    if (!wasClosed) this.emit('closed');
  }
}

export interface LeadershipContext {
  /** Aborted when leadership must end: connection dropped, session lost, interrupted or closed. */
  signal: AbortSignal;
}

/** Events: 'leadershipError' (error thrown by the callback), 'closed'. */
export class LeaderElection extends EventEmitter {
  private readonly lock: DistributedLock;
  private readonly stop = new AbortController();
  private current: AbortController | undefined;
  private running: Promise<void> | undefined;
  private leading = false;

  constructor(
    readonly client: ZooKeeperClient,
    readonly dir: string,
    private readonly onLeadership: (ctx: LeadershipContext) => Promise<void>,
    private readonly opts: { id?: string; autoRequeue?: boolean } = {},
  ) {
    super();
    this.lock = new DistributedLock(client, dir, { name: 'leader-', data: opts.id ?? '' });
    this.lock.on('state', (s: HoldState) => {
      if (s !== 'held') this.current?.abort(abortError());
    });
  }

  start(): void {
    if (this.running) throw new Error('LeaderElection already started');
    this.running = this.run();
  }

  private async run(): Promise<void> {
    do {
      try {
        await this.lock.acquire({ signal: this.stop.signal });
      } catch {
        break;
      }
      const ctl = new AbortController();
      this.current = ctl;
      this.leading = true;
      try {
        if (!this.lock.isHeld()) ctl.abort(abortError());
        await this.onLeadership({ signal: ctl.signal });
      } catch (e) {
        if (!ctl.signal.aborted) this.emit('leadershipError', e);
      } finally {
        this.leading = false;
        this.current = undefined;
        ctl.abort(abortError());
        await this.lock.release().catch(() => undefined);
      }
    } while ((this.opts.autoRequeue ?? true) && !this.stop.signal.aborted && !TERMINAL.has(this.client.state));
    this.emit('closed');
  }

  /** True while this participant's onLeadership runs, its lock is held and the client is connected. */
  hasLeadership(): boolean {
    return this.leading && this.lock.isHeld() && !(this.current?.signal.aborted ?? true);
  }

  /** Ends the current leadership (its signal is aborted); with autoRequeue the participant queues again. */
  interruptLeadership(): void {
    this.current?.abort(abortError());
  }

  /** Leaves the election: interrupts leadership, waits for the callback to return, removes the node. */
  async close(): Promise<void> {
    this.stop.abort();
    this.current?.abort(abortError());
    await this.running;
  }
}
