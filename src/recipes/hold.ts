// recipes/hold.ts: what the recipes that own an ephemeral node (lock, read-write lock, semaphore lease, leader
// latch, lease) share: the acquire loop over sequential contender nodes (ZooKeeper's lock recipe: create
// EPHEMERAL_SEQUENTIAL, list without a watch, watch only the node that must go before we can proceed), and the
// Hold, which keeps track of whether an acquired node is still ours.
//
// Connection semantics of a Hold (Curator's SUSPENDED / LOST, applied conservatively):
//   held       connected, and the node was seen to exist after the last (re)connect
//   suspended  the connection dropped; the session may still live, but we cannot know: isHeld() is false
//   lost       the session ended (expired, closed) or the node was deleted: final, `signal` is aborted
//   released   given up by the owner
// A suspended hold goes back to held when the client reconnects within the session and the node still exists.
import { EventEmitter } from 'node:events';
import type { Data, WatchedEvent, ZooKeeperClient } from '../client/index.js';
import { Code, EventType, ZkError } from '../client/index.js';
import {
  basename, createProtected, deadlineOf, deleteQuietly, EPHEMERAL_SEQUENTIAL, isCode, isConnected, joinPath, retry,
  sequenceOf, sessionGoneError, sortBySequence, TERMINAL, waitFor, watchOnce,
} from './util.js';

export type HoldState = 'held' | 'suspended' | 'lost' | 'released';

export interface AcquireOptions {
  /** Give up (resolve false) after this long. Default: wait forever. */
  timeoutMs?: number;
  /** Abort waiting (rejects with an AbortError); the contender node is removed. */
  signal?: AbortSignal;
}

/** What a recipe decides from the sorted contender names: go ahead, or wait for one node (or any child change). */
export type Decision = { acquired: true } | { acquired: false; watch: string } | { acquired: false; watchChildren: true };

export function abortError(): Error {
  const e = new Error('The operation was aborted');
  e.name = 'AbortError';
  return e;
}

/** The sequential children of `dir`, sorted by sequence number (the order of the queue of contenders). */
export async function sortedContenders(client: ZooKeeperClient, dir: string): Promise<string[]> {
  try {
    const children = await retry(client, () => client.getChildren(dir));
    return sortBySequence(children.filter((c) => sequenceOf(c) >= 0));
  } catch (e) {
    if (isCode(e, Code.NONODE)) return [];
    throw e;
  }
}

/**
 * Creates a protected EPHEMERAL_SEQUENTIAL node `dir/_c_<guid>-<name><seq>` and waits until `decide` says it is
 * acquired. Returns the node's path, or undefined on timeout (the node is deleted then, and on abort or error).
 */
export async function acquireSequential(
  client: ZooKeeperClient, dir: string, name: string, data: Data,
  decide: (sorted: string[], ours: string) => Decision, opts: AcquireOptions = {},
): Promise<string | undefined> {
  if (opts.signal?.aborted) throw abortError();
  const deadline = deadlineOf(opts.timeoutMs);
  const ours = await createProtected(client, dir, name, data, EPHEMERAL_SEQUENTIAL);
  const ourName = basename(ours);
  let ok = false;
  try {
    for (;;) {
      const sorted = await sortedContenders(client, dir);
      if (!sorted.includes(ourName)) {
        if (TERMINAL.has(client.state)) throw sessionGoneError(client);
        throw new ZkError(Code.NONODE, ours, 'our contender node was deleted');
      }
      const d = decide(sorted, ourName);
      if (d.acquired) {
        ok = true;
        return ours;
      }
      const { watcher, fired } = watchOnce();
      if ('watch' in d) {
        try {
          // getData, not exists: a missing node must not leave an exist watch behind.
          await retry(client, () => client.getData(joinPath(dir, d.watch), watcher));
        } catch (e) {
          if (isCode(e, Code.NONODE)) continue;
          throw e;
        }
      } else {
        // The list above was read without a watch: if it changed before the watch was set, decide again.
        const now = sortBySequence((await retry(client, () => client.getChildren(dir, watcher))).filter((c) => sequenceOf(c) >= 0));
        if (now.length !== sorted.length || now.some((c, i) => c !== sorted[i])) continue;
      }
      const outcome = await waitFor(client, fired, deadline, opts.signal);
      if (outcome === 'fired') continue;
      if (outcome === 'session') throw sessionGoneError(client);
      if (outcome === 'aborted') throw abortError();
      return undefined;
    }
  } finally {
    if (!ok && !TERMINAL.has(client.state)) await deleteQuietly(client, ours).catch(() => undefined);
  }
}

/** Tracks an acquired ephemeral node: see the state table at the top of this file. Emits 'state' (state, reason). */
export class Hold extends EventEmitter {
  private stateNow: HoldState = 'held';
  private readonly controller = new AbortController();
  private readonly onClientState = (): void => this.clientStateChanged();
  private readonly nodeWatcher = (e: WatchedEvent): void => this.nodeEvent(e);
  private reason = '';

  constructor(readonly client: ZooKeeperClient, readonly path: string) {
    super();
  }

  /** Starts watching the node and the session; resolves once the node was seen (or the hold is already lost). */
  async start(): Promise<void> {
    this.client.on('state', this.onClientState);
    await this.verify();
  }

  get state(): HoldState {
    return this.stateNow;
  }

  get lostReason(): string {
    return this.reason;
  }

  /** Aborted when the hold is lost (not when it is released). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True only while held and connected right now (the client's state is read synchronously). */
  isHeld(): boolean {
    return this.stateNow === 'held' && isConnected(this.client);
  }

  /** Stops tracking (the owner deletes the node itself). */
  release(): void {
    if (this.stateNow === 'lost' || this.stateNow === 'released') return;
    this.detach();
    this.set('released', 'released');
  }

  private detach(): void {
    this.client.off('state', this.onClientState);
  }

  private set(s: HoldState, reason: string): void {
    if (this.stateNow === s) return;
    this.stateNow = s;
    this.emit('state', s, reason);
  }

  lose(reason: string): void {
    if (this.stateNow === 'lost' || this.stateNow === 'released') return;
    this.detach();
    this.reason = reason;
    this.set('lost', reason);
    this.controller.abort(new ZkError(Code.SESSIONEXPIRED, this.path, reason));
  }

  private clientStateChanged(): void {
    if (this.stateNow === 'lost' || this.stateNow === 'released') return;
    const s = this.client.state;
    if (TERMINAL.has(s)) this.lose(`session ${s}`);
    else if (isConnected(this.client)) void this.verify();
    else this.set('suspended', `connection ${s}`);
  }

  private nodeEvent(e: WatchedEvent): void {
    if (this.stateNow === 'lost' || this.stateNow === 'released') return;
    if (e.type === EventType.NodeDeleted) this.lose('node deleted');
    else if (e.type !== EventType.None) void this.verify();
  }

  /** Checks that the node still exists (and re-arms the watch on it). */
  private async verify(): Promise<void> {
    try {
      const st = await this.client.exists(this.path, this.nodeWatcher);
      if (this.stateNow === 'lost' || this.stateNow === 'released') return;
      if (!st) this.lose('node gone');
      else if (isConnected(this.client)) this.set('held', 'reconnected');
    } catch (e) {
      if (TERMINAL.has(this.client.state)) this.lose(`session ${this.client.state}`);
      else if (!isCode(e, Code.CONNECTIONLOSS)) this.lose(`cannot verify: ${(e as Error).message}`);
      // CONNECTIONLOSS: the state listener verifies again after the reconnect.
    }
  }
}

/** Deletes the node of a hold (if the session is still there to do it) and stops tracking it. */
export async function releaseHold(hold: Hold): Promise<void> {
  const wasLost = hold.state === 'lost';
  hold.release();
  if (wasLost || TERMINAL.has(hold.client.state)) return;
  await deleteQuietly(hold.client, hold.path);
}
