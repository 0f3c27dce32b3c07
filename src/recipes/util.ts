// recipes/util.ts: small helpers the recipes share, built on the client's public API only: waiting for the
// session to be usable again, retrying an operation across connection loss, mkdirp, "protected" sequential creates
// (a GUID in the name so a create whose reply was lost can be found again), sequence-number sorting and one-shot
// watch promises.
import { clock } from '../util/sys.js';
import type { Timer } from '../util/sys.js';
import { randomUUID } from 'node:crypto';
import type { ClientState, Data, Watcher, WatchedEvent, ZooKeeperClient } from '../client/index.js';
import { Code, CreateMode, EventType, ZkError } from '../client/index.js';

export const TERMINAL: ReadonlySet<ClientState> = new Set(['expired', 'closed', 'authFailed']);

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

export function isCode(e: unknown, code: number): boolean {
  return ZkError.is(e, code);
}

/** True while the client has a live connection (read-only counts: reads work). */
export function isConnected(client: ZooKeeperClient): boolean {
  return client.state === 'connected' || client.state === 'connectedReadOnly';
}

/** The error a recipe throws once the client's session is gone for good. */
export function sessionGoneError(client: ZooKeeperClient): ZkError {
  return new ZkError(client.state === 'authFailed' ? Code.AUTHFAILED : Code.SESSIONEXPIRED, undefined, `client ${client.state}`);
}

/**
 * Resolves when the client is connected; rejects with SESSIONEXPIRED once it is in a terminal state, or with
 * OPERATIONTIMEOUT after `timeoutMs`.
 */
export function waitConnected(client: ZooKeeperClient, timeoutMs = 60_000): Promise<void> {
  if (isConnected(client)) return Promise.resolve();
  if (TERMINAL.has(client.state)) return Promise.reject(sessionGoneError(client));
  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      client.off('state', on);
      reject(new ZkError(Code.OPERATIONTIMEOUT, undefined, `not reconnected within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (): void => {
      if (isConnected(client)) {
        clock.clear(timer);
        client.off('state', on);
        resolve();
      } else if (TERMINAL.has(client.state)) {
        clock.clear(timer);
        client.off('state', on);
        reject(sessionGoneError(client));
      }
    };
    client.on('state', on);
  });
}

/** Errors after which the same session may go on once reconnected. */
export function isRetryable(e: unknown): boolean {
  return isCode(e, Code.CONNECTIONLOSS) || isCode(e, Code.OPERATIONTIMEOUT);
}

/**
 * Runs `fn`, and again after each connection loss once the client has reconnected (same session). Only for
 * operations that are safe to repeat (reads, deletes that tolerate NONODE, versioned writes the caller re-checks).
 */
export async function retry<T>(client: ZooKeeperClient, fn: () => Promise<T>, maxAttempts = 20): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isRetryable(e) || attempt >= maxAttempts) throw e;
      await waitConnected(client);
    }
  }
}

/** Creates `path` and its missing ancestors as persistent nodes (existing ones are fine). */
export async function mkdirp(client: ZooKeeperClient, path: string): Promise<void> {
  if (path === '/' || path === '') return;
  // Fast path: the node usually exists already.
  if (await retry(client, () => client.exists(path))) return;
  const parts = path.split('/').filter((p) => p.length > 0);
  let cur = '';
  for (const part of parts) {
    cur += `/${part}`;
    const p = cur;
    try {
      await retry(client, () => client.create(p));
    } catch (e) {
      if (!isCode(e, Code.NODEEXISTS)) throw e;
    }
  }
}

/** Deletes `path`, tolerating NONODE, retrying across connection loss. Returns false when it was not there. */
export async function deleteQuietly(client: ZooKeeperClient, path: string, version = -1): Promise<boolean> {
  try {
    await retry(client, () => client.delete(path, version));
    return true;
  } catch (e) {
    if (isCode(e, Code.NONODE)) return false;
    throw e;
  }
}

/** The protected-name prefix of a GUID: `_c_<guid>-`, as Curator names protected nodes. */
export function protectedPrefix(guid: string): string {
  return `_c_${guid}-`;
}

/**
 * Creates `dir/_c_<guid>-<name>` (sequential modes add the counter) and returns its full path. A create whose reply
 * is lost to a connection loss may still have happened: after reconnecting, the children of `dir` are searched for
 * the GUID before trying again, so the node exists exactly once. A missing `dir` is created.
 */
export async function createProtected(
  client: ZooKeeperClient, dir: string, name: string, data: Data, mode: number,
): Promise<string> {
  const guid = randomUUID();
  const prefix = protectedPrefix(guid);
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      return await client.create(`${dir}/${prefix}${name}`, data, { mode });
    } catch (e) {
      if (isCode(e, Code.NONODE)) {
        await mkdirp(client, dir);
        continue;
      }
      if (!isRetryable(e)) throw e;
      await waitConnected(client);
      const found = await findProtected(client, dir, prefix);
      if (found) return found;
    }
  }
  throw new ZkError(Code.CONNECTIONLOSS, dir, 'create kept failing');
}

async function findProtected(client: ZooKeeperClient, dir: string, prefix: string): Promise<string | undefined> {
  try {
    const children = await retry(client, () => client.getChildren(dir));
    const hit = children.find((c) => c.startsWith(prefix));
    return hit === undefined ? undefined : `${dir}/${hit}`;
  } catch (e) {
    if (isCode(e, Code.NONODE)) return undefined;
    throw e;
  }
}

/** The name without a protected prefix: `_c_<guid>-lock-0000000007` -> `lock-0000000007`. */
export function stripProtected(name: string): string {
  const m = /^_c_[0-9a-f-]{36}-/.exec(name);
  return m ? name.slice(m[0].length) : name;
}

/** The 10-digit counter ZooKeeper appends to sequential nodes (-1 when there is none). */
export function sequenceOf(name: string): number {
  const m = /(\d{10})$/.exec(name);
  return m ? Number(m[1]) : -1;
}

/** Sorts node names by their sequence suffix (ties by name). */
export function sortBySequence(names: string[]): string[] {
  return [...names].sort((a, b) => sequenceOf(a) - sequenceOf(b) || (a < b ? -1 : a > b ? 1 : 0));
}

export function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/**
 * A watcher and a promise that settles on its first node event. Session events (type None) wake it too, except
 * Disconnected (the client re-registers the watch when it reconnects), so that callers re-check the state.
 */
export function watchOnce(): { watcher: Watcher; fired: Promise<WatchedEvent> } {
  let resolve!: (e: WatchedEvent) => void;
  const fired = new Promise<WatchedEvent>((r) => (resolve = r));
  const watcher: Watcher = (e) => {
    if (e.type === EventType.None && e.state === 0 /* Disconnected */) return;
    resolve(e);
  };
  return { watcher, fired };
}

export type WaitOutcome = 'fired' | 'timeout' | 'aborted' | 'session';

/**
 * Waits for `fired`, the deadline (ms since epoch; Infinity = none), `signal`, or the client's session ending,
 * whichever comes first.
 */
export function waitFor(
  client: ZooKeeperClient, fired: Promise<unknown>, deadline: number, signal?: AbortSignal,
): Promise<WaitOutcome> {
  if (signal?.aborted) return Promise.resolve('aborted');
  if (TERMINAL.has(client.state)) return Promise.resolve('session');
  return new Promise<WaitOutcome>((resolve) => {
    let timer: Timer | undefined;
    const done = (o: WaitOutcome): void => {
      clock.clear(timer);
      signal?.removeEventListener('abort', onAbort);
      client.off('state', onState);
      resolve(o);
    };
    const onAbort = (): void => done('aborted');
    const onState = (): void => {
      if (TERMINAL.has(client.state)) done('session');
    };
    if (Number.isFinite(deadline)) timer = clock.setTimeout(() => done('timeout'), Math.max(0, deadline - clock.now()));
    signal?.addEventListener('abort', onAbort);
    client.on('state', onState);
    fired.then(() => done('fired'), () => done('fired'));
  });
}

/** A deadline from an optional timeout. */
export function deadlineOf(timeoutMs: number | undefined): number {
  return timeoutMs === undefined ? Infinity : clock.now() + timeoutMs;
}

export const EPHEMERAL_SEQUENTIAL = CreateMode.EPHEMERAL_SEQUENTIAL;
