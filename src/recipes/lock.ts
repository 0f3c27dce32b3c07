// recipes/lock.ts: the distributed lock (ZooKeeper's lock recipe; Curator's InterProcessMutex for behaviour) and
// the read-write lock built on the same contender queue.
//
// Lock: each acquire creates a protected EPHEMERAL_SEQUENTIAL node `<dir>/_c_<guid>-lock-<seq>`; the lowest sequence
// holds the lock; a waiter watches only its immediate predecessor (no herd effect). The lock is reentrant per
// DistributedLock instance (the "holder"): acquire on a held instance only counts, and the node goes away when
// release has been called as often as acquire. A hold is tracked (see hold.ts): after a connection drop isHeld()
// is false until the client reconnected and saw the node again; when the session ends or the node is deleted the
// lock emits 'lost' and `signal` is aborted; it never again claims to hold.
import { EventEmitter } from 'node:events';
import type { Data, ZooKeeperClient } from '../client/index.js';
import { type AcquireOptions, acquireSequential, type Decision, Hold, type HoldState, releaseHold, sortedContenders } from './hold.js';
import { stripProtected } from './util.js';

/** Events: 'state' (HoldState, reason) on every change of a hold; 'lost' (reason) when a hold is lost. */
export class DistributedLock extends EventEmitter {
  private hold: Hold | undefined;
  private count = 0;
  private pending: Promise<boolean> | undefined;

  constructor(
    readonly client: ZooKeeperClient,
    readonly dir: string,
    private readonly opts: { name?: string; data?: Data; decide?: (sorted: string[], ours: string) => Decision } = {},
  ) {
    super();
  }

  /**
   * Acquires the lock (or counts one more hold when this instance already holds it). Resolves true when held, false
   * on timeout; rejects on abort or when the session ends.
   */
  async acquire(opts: AcquireOptions = {}): Promise<boolean> {
    // Calls on one instance take turns, so that the second of two concurrent calls re-enters the first's hold.
    while (this.pending) await this.pending.catch(() => undefined);
    if (this.hold && this.hold.state !== 'lost' && this.hold.state !== 'released') {
      this.count++;
      return true;
    }
    const p = this.acquireNew(opts);
    this.pending = p;
    try {
      return await p;
    } finally {
      this.pending = undefined;
    }
  }

  private async acquireNew(opts: AcquireOptions): Promise<boolean> {
    const decide = this.opts.decide ?? lockDecision;
    const path = await acquireSequential(this.client, this.dir, this.opts.name ?? 'lock-', this.opts.data, decide, opts);
    if (path === undefined) return false;
    const hold = new Hold(this.client, path);
    hold.on('state', (s: HoldState, reason: string) => {
      this.emit('state', s, reason);
      if (s === 'lost') this.emit('lost', reason);
    });
    this.hold = hold;
    this.count = 1;
    await hold.start();
    return true;
  }

  /** Releases one hold; the last release deletes the node. Throws when this instance does not hold the lock. */
  async release(): Promise<void> {
    const hold = this.hold;
    if (!hold || this.count === 0) throw new Error(`lock ${this.dir} is not held by this instance`);
    if (--this.count > 0) return;
    this.hold = undefined;
    await releaseHold(hold);
  }

  /** True only while this instance holds the lock and is connected (see hold.ts). */
  isHeld(): boolean {
    return this.hold?.isHeld() ?? false;
  }

  /** 'held' | 'suspended' | 'lost' | 'released', or undefined before the first acquire. */
  get state(): HoldState | undefined {
    return this.hold?.state;
  }

  /** How many times acquire succeeded without a matching release. */
  get holdCount(): number {
    return this.count;
  }

  /** The node of the current hold. */
  get nodePath(): string | undefined {
    return this.hold?.path;
  }

  /** Aborted when the current hold is lost; undefined when not holding. */
  get signal(): AbortSignal | undefined {
    return this.hold?.signal;
  }

  /** The contender nodes in queue order: the first holds the lock. */
  static participants(client: ZooKeeperClient, dir: string): Promise<string[]> {
    return sortedContenders(client, dir);
  }
}

/** Mutex: the first node holds; the others each watch their predecessor. */
export function lockDecision(sorted: string[], ours: string): Decision {
  const i = sorted.indexOf(ours);
  return i === 0 ? { acquired: true } : { acquired: false, watch: sorted[i - 1] };
}

const READ = 'read-';
const WRITE = 'write-';
const isWrite = (name: string): boolean => stripProtected(name).startsWith(WRITE);

/**
 * Read-write lock (ZooKeeper's shared-locks recipe). Readers and writers queue in one directory. A writer holds when
 * it is first and watches its predecessor; a reader holds when no writer is ahead of it and watches the nearest
 * writer ahead. A reader in the same ReadWriteLock instance as the current write holder acquires at once (write ->
 * read downgrade, as Curator allows). Each side is a DistributedLock (reentrant, tracked).
 */
export class ReadWriteLock {
  readonly readLock: DistributedLock;
  readonly writeLock: DistributedLock;

  constructor(client: ZooKeeperClient, dir: string, data?: Data) {
    this.writeLock = new DistributedLock(client, dir, { name: WRITE, data, decide: writeDecision });
    this.readLock = new DistributedLock(client, dir, {
      name: READ, data, decide: (sorted, ours) => this.readDecision(sorted, ours),
    });
  }

  private readDecision(sorted: string[], ours: string): Decision {
    const i = sorted.indexOf(ours);
    const ownWriter = this.writeLock.isHeld() ? this.writeLock.nodePath?.slice(this.writeLock.nodePath.lastIndexOf('/') + 1) : undefined;
    for (let j = i - 1; j >= 0; j--) {
      if (isWrite(sorted[j]) && sorted[j] !== ownWriter) return { acquired: false, watch: sorted[j] };
    }
    return { acquired: true };
  }
}

function writeDecision(sorted: string[], ours: string): Decision {
  return lockDecision(sorted, ours);
}
