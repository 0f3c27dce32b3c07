// recipes/barrier.ts: the barrier and the double barrier of ZooKeeper's recipes (Curator's DistributedBarrier and
// DistributedDoubleBarrier for behaviour).
//
// Barrier: the barrier is up while its node exists. setBarrier() creates it, removeBarrier() deletes it,
//   waitOnBarrier() waits (exists with a watch) until it is gone.
// DoubleBarrier(n): enter() registers an EPHEMERAL node `<dir>/<id>` and waits until n members have entered (the
//   member that sees n children creates `<dir>/ready`; the others wait for it). leave() waits until every member has
//   left: a member that is not the lowest deletes its node and waits on the lowest; the lowest waits on the highest
//   and leaves last. The last member out removes `ready`, so the directory can be used for another round.
import { randomUUID } from 'node:crypto';
import type { ZooKeeperClient } from '../client/index.js';
import { Code, CreateMode } from '../client/index.js';
import { abortError } from './hold.js';
import {
  deadlineOf, deleteQuietly, isCode, joinPath, mkdirp, retry, sessionGoneError, waitFor, watchOnce,
} from './util.js';

export class Barrier {
  constructor(readonly client: ZooKeeperClient, readonly path: string) {}

  /** Puts the barrier up (no-op when it is up). */
  async setBarrier(): Promise<void> {
    const parent = this.path.slice(0, this.path.lastIndexOf('/')) || '/';
    await mkdirp(this.client, parent);
    try {
      await retry(this.client, () => this.client.create(this.path));
    } catch (e) {
      if (!isCode(e, Code.NODEEXISTS)) throw e;
    }
  }

  /** Takes the barrier down, releasing every waiter. */
  async removeBarrier(): Promise<void> {
    await deleteQuietly(this.client, this.path);
  }

  /** Waits until the barrier is down; false on timeout. */
  async waitOnBarrier(timeoutMs?: number, signal?: AbortSignal): Promise<boolean> {
    const deadline = deadlineOf(timeoutMs);
    for (;;) {
      const { watcher, fired } = watchOnce();
      const st = await retry(this.client, () => this.client.exists(this.path, watcher));
      if (!st) return true;
      const o = await waitFor(this.client, fired, deadline, signal);
      if (o === 'timeout') return false;
      if (o === 'aborted') throw abortError();
      if (o === 'session') throw sessionGoneError(this.client);
    }
  }
}

const READY = 'ready';

export class DoubleBarrier {
  private ourPath: string;

  constructor(
    readonly client: ZooKeeperClient,
    readonly dir: string,
    readonly memberCount: number,
    readonly id: string = randomUUID(),
  ) {
    this.ourPath = joinPath(dir, id);
  }

  private async members(): Promise<string[]> {
    try {
      const c = await retry(this.client, () => this.client.getChildren(this.dir));
      return c.filter((n) => n !== READY).sort();
    } catch (e) {
      if (isCode(e, Code.NONODE)) return [];
      throw e;
    }
  }

  /** Enters and waits until `memberCount` members are in; false on timeout (our node is removed then). */
  async enter(timeoutMs?: number): Promise<boolean> {
    const deadline = deadlineOf(timeoutMs);
    await mkdirp(this.client, this.dir);
    const readyPath = joinPath(this.dir, READY);
    const { watcher, fired } = watchOnce();
    // Watch for `ready` before joining, so its creation cannot be missed.
    const readyNow = await retry(this.client, () => this.client.exists(readyPath, watcher));
    try {
      await retry(this.client, () => this.client.create(this.ourPath, null, { mode: CreateMode.EPHEMERAL }));
    } catch (e) {
      if (!isCode(e, Code.NODEEXISTS)) throw e; // a retried create that had happened
    }
    if (readyNow) return true;
    const members = await this.members();
    if (members.length >= this.memberCount) {
      try {
        await retry(this.client, () => this.client.create(readyPath));
      } catch (e) {
        if (!isCode(e, Code.NODEEXISTS)) throw e;
      }
      return true;
    }
    const o = await waitFor(this.client, fired, deadline);
    if (o === 'fired') {
      if (await retry(this.client, () => this.client.exists(readyPath))) return true;
      // Woken by something else (a session event): look again.
      return this.enterWait(deadline);
    }
    if (o === 'session') throw sessionGoneError(this.client);
    await deleteQuietly(this.client, this.ourPath);
    return false;
  }

  private async enterWait(deadline: number): Promise<boolean> {
    for (;;) {
      const { watcher, fired } = watchOnce();
      if (await retry(this.client, () => this.client.exists(joinPath(this.dir, READY), watcher))) return true;
      const o = await waitFor(this.client, fired, deadline);
      if (o === 'session') throw sessionGoneError(this.client);
      if (o === 'timeout') {
        await deleteQuietly(this.client, this.ourPath);
        return false;
      }
    }
  }

  /** Leaves and waits until every member has left; false on timeout. */
  async leave(timeoutMs?: number): Promise<boolean> {
    const deadline = deadlineOf(timeoutMs);
    const ourName = this.id;
    for (;;) {
      const members = await this.members();
      if (members.length === 0) break;
      const present = members.includes(ourName);
      if (members.length === 1 && present) {
        await deleteQuietly(this.client, this.ourPath);
        break;
      }
      const lowest = members[0];
      const highest = members[members.length - 1];
      let target: string;
      if (present && lowest === ourName) {
        target = highest;
      } else {
        if (present) await deleteQuietly(this.client, this.ourPath);
        target = lowest;
        if (target === ourName) continue;
      }
      const { watcher, fired } = watchOnce();
      try {
        await retry(this.client, () => this.client.getData(joinPath(this.dir, target), watcher));
      } catch (e) {
        if (isCode(e, Code.NONODE)) continue;
        throw e;
      }
      const o = await waitFor(this.client, fired, deadline);
      if (o === 'session') throw sessionGoneError(this.client);
      if (o === 'timeout') return false;
    }
    // The last one out takes `ready` away (several may try: NONODE is fine).
    if ((await this.members()).length === 0) await deleteQuietly(this.client, joinPath(this.dir, READY));
    return true;
  }
}
