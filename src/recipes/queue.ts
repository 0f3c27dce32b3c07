// recipes/queue.ts: distributed queues (ZooKeeper's queue recipe; Curator's DistributedQueue for behaviour).
//
// DistributedQueue (FIFO): offer() creates PERSISTENT_SEQUENTIAL `<dir>/qn-<seq>`; take() lists the children, sorts
//   by sequence and tries them in order: getData, then delete; the consumer whose delete succeeds owns the item, a
//   NONODE means another consumer won it and the next one is tried. Items come out in the order the server
//   sequenced the offers. Delivery is at most once: a delete whose reply is lost to a connection loss cannot be told
//   apart from another consumer's delete, and the item is then dropped (use LockingQueue for at-least-once).
// LockingQueue (take with ownership until ack): items live in `<dir>/items`; take() claims an item by creating the
//   EPHEMERAL node `<dir>/locks/<item>` and returns it with ack() and release(). ack() removes item and claim in one
//   multi; release() (or the consumer's session ending) removes only the claim, and the item is taken again by
//   someone (at-least-once). A claimed item is invisible to other consumers; waiters watch both directories.
import type { Data, ZooKeeperClient } from '../client/index.js';
import { Code, CreateMode } from '../client/index.js';
import { abortError } from './hold.js';
import {
  deadlineOf, deleteQuietly, isCode, joinPath, mkdirp, retry, sessionGoneError, sortBySequence, waitFor, watchOnce,
} from './util.js';

const ITEM = 'qn-';

export class DistributedQueue {
  constructor(readonly client: ZooKeeperClient, readonly dir: string) {}

  /** Appends an item; returns its node path. */
  async offer(data: Data): Promise<string> {
    for (;;) {
      try {
        // Not retried on connection loss: a blind retry could enqueue twice; the caller sees the error.
        return await this.client.create(joinPath(this.dir, ITEM), data, { mode: CreateMode.PERSISTENT_SEQUENTIAL });
      } catch (e) {
        if (!isCode(e, Code.NONODE)) throw e;
        await mkdirp(this.client, this.dir);
      }
    }
  }

  private async items(watcher?: Parameters<ZooKeeperClient['getChildren']>[1]): Promise<string[]> {
    try {
      const children = await retry(this.client, () => this.client.getChildren(this.dir, watcher));
      return sortBySequence(children.filter((c) => c.startsWith(ITEM)));
    } catch (e) {
      if (!isCode(e, Code.NONODE)) throw e;
      await mkdirp(this.client, this.dir);
      return this.items(watcher);
    }
  }

  /** The head item's data without removing it, or null when empty. */
  async peek(): Promise<Buffer | null> {
    for (const name of await this.items()) {
      try {
        const { data } = await retry(this.client, () => this.client.getData(joinPath(this.dir, name)));
        return data ?? Buffer.alloc(0);
      } catch (e) {
        if (!isCode(e, Code.NONODE)) throw e;
      }
    }
    return null;
  }

  /** Removes and returns the head item, or null when the queue is empty. */
  async poll(): Promise<Buffer | null> {
    return this.tryTake(await this.items());
  }

  private async tryTake(names: string[]): Promise<Buffer | null> {
    for (const name of names) {
      const path = joinPath(this.dir, name);
      try {
        const { data, stat } = await retry(this.client, () => this.client.getData(path));
        await this.client.delete(path, stat.version);
        return data ?? Buffer.alloc(0);
      } catch (e) {
        if (isCode(e, Code.NONODE) || isCode(e, Code.BADVERSION)) continue;
        throw e;
      }
    }
    return null;
  }

  /** Waits for an item and removes it; null on timeout. */
  async take(timeoutMs?: number, signal?: AbortSignal): Promise<Buffer | null> {
    const deadline = deadlineOf(timeoutMs);
    for (;;) {
      const { watcher, fired } = watchOnce();
      const got = await this.tryTake(await this.items(watcher));
      if (got) return got;
      const o = await waitFor(this.client, fired, deadline, signal);
      if (o === 'timeout') return null;
      if (o === 'aborted') throw abortError();
      if (o === 'session') throw sessionGoneError(this.client);
    }
  }

  /** The number of items waiting. */
  async size(): Promise<number> {
    return (await this.items()).length;
  }
}

export interface QueueItem {
  /** The item's node name (`qn-<seq>`). */
  name: string;
  data: Buffer;
  /** Done with it: removes item and claim together. Rejects when the claim was lost (the item is someone else's). */
  ack(): Promise<void>;
  /** Gives the item back to the queue. */
  release(): Promise<void>;
}

export class LockingQueue {
  readonly itemsDir: string;
  readonly locksDir: string;

  constructor(readonly client: ZooKeeperClient, readonly dir: string) {
    this.itemsDir = joinPath(dir, 'items');
    this.locksDir = joinPath(dir, 'locks');
  }

  private async ensureDirs(): Promise<void> {
    await mkdirp(this.client, this.itemsDir);
    await mkdirp(this.client, this.locksDir);
  }

  async offer(data: Data): Promise<string> {
    for (;;) {
      try {
        return await this.client.create(joinPath(this.itemsDir, ITEM), data, { mode: CreateMode.PERSISTENT_SEQUENTIAL });
      } catch (e) {
        if (!isCode(e, Code.NONODE)) throw e;
        await this.ensureDirs();
      }
    }
  }

  /** Claims the first unclaimed item, or returns null when there is none. */
  async poll(): Promise<QueueItem | null> {
    await this.ensureDirs();
    return this.tryClaim(await this.listItems());
  }

  private async listItems(watcher?: Parameters<ZooKeeperClient['getChildren']>[1]): Promise<string[]> {
    const items = await retry(this.client, () => this.client.getChildren(this.itemsDir, watcher));
    return sortBySequence(items.filter((c) => c.startsWith(ITEM)));
  }

  private async tryClaim(names: string[]): Promise<QueueItem | null> {
    for (const name of names) {
      const lockPath = joinPath(this.locksDir, name);
      const itemPath = joinPath(this.itemsDir, name);
      try {
        await retry(this.client, () => this.client.create(lockPath, null, { mode: CreateMode.EPHEMERAL }));
      } catch (e) {
        // NODEEXISTS: claimed by someone (or by our own create whose reply was lost: it goes with our session).
        if (isCode(e, Code.NODEEXISTS)) continue;
        throw e;
      }
      try {
        const { data } = await retry(this.client, () => this.client.getData(itemPath));
        return this.item(name, itemPath, lockPath, data ?? Buffer.alloc(0));
      } catch (e) {
        await deleteQuietly(this.client, lockPath);
        if (isCode(e, Code.NONODE)) continue; // acked by another consumer just before our claim
        throw e;
      }
    }
    return null;
  }

  private item(name: string, itemPath: string, lockPath: string, data: Buffer): QueueItem {
    let done = false;
    return {
      name, data,
      ack: async () => {
        if (done) return;
        // The claim is ephemeral: it can only be gone if our session is, and then this multi cannot run at all.
        await retry(this.client, async () => {
          try {
            await this.client.multi([{ type: 'delete', path: itemPath }, { type: 'delete', path: lockPath }]);
          } catch (e) {
            // After a connection loss the multi may have happened: both gone means it did.
            if (isCode(e, Code.NONODE) && !(await this.client.exists(lockPath)) && !(await this.client.exists(itemPath))) return;
            throw e;
          }
        });
        done = true;
      },
      release: async () => {
        if (done) return;
        done = true;
        await deleteQuietly(this.client, lockPath);
      },
    };
  }

  /** Waits for an unclaimed item and claims it; null on timeout. */
  async take(timeoutMs?: number, signal?: AbortSignal): Promise<QueueItem | null> {
    const deadline = deadlineOf(timeoutMs);
    await this.ensureDirs();
    for (;;) {
      const { watcher, fired } = watchOnce();
      // Wake on new items and on released claims.
      await retry(this.client, () => this.client.getChildren(this.locksDir, watcher));
      const got = await this.tryClaim(await this.listItems(watcher));
      if (got) return got;
      const o = await waitFor(this.client, fired, deadline, signal);
      if (o === 'timeout') return null;
      if (o === 'aborted') throw abortError();
      if (o === 'session') throw sessionGoneError(this.client);
    }
  }
}
