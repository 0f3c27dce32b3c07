// recipes/semaphore.ts: a counting semaphore of N leases (Curator's InterProcessSemaphoreV2 for behaviour; its
// internal lock is not needed here). Each acquire creates a protected EPHEMERAL_SEQUENTIAL node under `<dir>`; a node
// holds a lease while fewer than N nodes are ahead of it. Nodes only ever join behind (sequence numbers grow), so once
// a node is among the first N it stays there until it leaves: at most N leases are held at any moment. A waiter
// watches the children of `<dir>` (any of the N holders may leave first); only waiters watch. Leases are Holds (see
// hold.ts): a lease whose session ends is reported lost.
import type { Data, ZooKeeperClient } from '../client/index.js';
import { type AcquireOptions, acquireSequential, type Decision, Hold, releaseHold, sortedContenders } from './hold.js';

export class Lease {
  constructor(private readonly hold: Hold) {}

  get path(): string {
    return this.hold.path;
  }
  /** True while the lease is held and the client connected. */
  isHeld(): boolean {
    return this.hold.isHeld();
  }
  get state(): Hold['state'] {
    return this.hold.state;
  }
  /** Aborted when the lease is lost. */
  get signal(): AbortSignal {
    return this.hold.signal;
  }
  onState(fn: (state: Hold['state'], reason: string) => void): void {
    this.hold.on('state', fn);
  }
  /** Gives the lease back (idempotent). */
  release(): Promise<void> {
    return releaseHold(this.hold);
  }
}

export class Semaphore {
  constructor(
    readonly client: ZooKeeperClient,
    readonly dir: string,
    readonly maxLeases: number,
    private readonly data?: Data,
  ) {
    if (!Number.isInteger(maxLeases) || maxLeases < 1) throw new RangeError('maxLeases must be a positive integer');
  }

  /** Waits for a lease; undefined on timeout. */
  async acquire(opts: AcquireOptions = {}): Promise<Lease | undefined> {
    const n = this.maxLeases;
    const decide = (sorted: string[], ours: string): Decision =>
      sorted.indexOf(ours) < n ? { acquired: true } : { acquired: false, watchChildren: true };
    const path = await acquireSequential(this.client, this.dir, 'lease-', this.data, decide, opts);
    if (path === undefined) return undefined;
    const hold = new Hold(this.client, path);
    await hold.start();
    return new Lease(hold);
  }

  /** The lease nodes in queue order (the first maxLeases hold). */
  participants(): Promise<string[]> {
    return sortedContenders(this.client, this.dir);
  }
}
