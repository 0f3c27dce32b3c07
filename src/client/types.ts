// client/types.ts: the public vocabulary of the client library: states, events, watchers, options, ACL helpers.
// Imports only protocol/ and util/.
import { createHash } from 'node:crypto';
import { Perms } from '../protocol/constants.js';
import type { ACL, Id, Stat } from '../protocol/records.js';
import type { Logger } from '../util/log.js';

export type { ACL, Id, Stat };

/**
 * The client's connection state. 'expired', 'closed' and 'authFailed' are terminal: the client never leaves them and
 * every later call fails.
 */
export type ClientState =
  | 'disconnected'
  | 'connecting'
  | 'connected'
  | 'connectedReadOnly'
  | 'expired'
  | 'closed'
  | 'authFailed';

export const TERMINAL_STATES: ReadonlySet<ClientState> = new Set(['expired', 'closed', 'authFailed']);

/**
 * The connection state in the vocabulary applications usually want (as Curator's ConnectionState), next to the
 * lower-level ClientState that `state` keeps returning unchanged:
 *
 * | connectionState | ClientState                                          | meaning                                       |
 * |-----------------|------------------------------------------------------|-----------------------------------------------|
 * | 'connecting'    | 'disconnected' / 'connecting' before any session     | no session yet (first connect under way)      |
 * | 'connected'     | 'connected'                                          | session live, reads and writes                 |
 * | 'readOnly'      | 'connectedReadOnly'                                  | session live on a read-only server             |
 * | 'suspended'     | 'disconnected' / 'connecting' after a session existed | no connection; the session may still live     |
 * | 'lost'          | 'expired'                                            | the session is gone (ephemerals and watches)  |
 * | 'closed'        | 'closed'                                             | close() was called (or connect() gave up)      |
 * | 'authFailed'    | 'authFailed'                                         | the server refused the credentials             |
 *
 * 'lost', 'closed' and 'authFailed' are terminal (a 'lost' client may still move on to 'closed' when closed).
 */
export type ConnectionState = 'connecting' | 'connected' | 'readOnly' | 'suspended' | 'lost' | 'closed' | 'authFailed';

export const TERMINAL_CONNECTION_STATES: ReadonlySet<ConnectionState> = new Set(['lost', 'closed', 'authFailed']);

/** The ConnectionState for a ClientState; `hadSession` tells 'connecting' (never connected) from 'suspended'. */
export function toConnectionState(s: ClientState, hadSession: boolean): ConnectionState {
  switch (s) {
    case 'connected': return 'connected';
    case 'connectedReadOnly': return 'readOnly';
    case 'expired': return 'lost';
    case 'closed': return 'closed';
    case 'authFailed': return 'authFailed';
    case 'disconnected':
    case 'connecting':
      return hadSession ? 'suspended' : 'connecting';
  }
}

/**
 * Options every call accepts as its last argument. An aborted call rejects at once with an AbortError; a request
 * already sent may still be executed by the server (as with any RPC whose reply is lost), only its result is
 * dropped. A request still queued (not yet sent, e.g. while disconnected) is taken out of the queue and never sent.
 */
export interface CallOptions {
  signal?: AbortSignal;
}

/** What an aborted call rejects with: `name` 'AbortError' (as Node's own APIs), `cause` the signal's reason. */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
  }

  static is(e: unknown): e is Error {
    return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'AbortError';
  }
}

export function abortError(signal: AbortSignal | undefined): AbortError {
  return new AbortError(undefined, { cause: signal?.reason });
}

/** The kinds of watch `client.watch()` sets. */
export type WatchKind = 'data' | 'exist' | 'children' | 'persistent' | 'recursive';

export interface WatchOptions extends CallOptions {
  /**
   * 'data' (getData: the node must exist), 'exist' (exists: the node may be missing), 'children' (getChildren):
   * one-time, the iterator ends after its one event. 'persistent' and 'recursive' (addWatch): until disposed.
   * Default 'data'.
   */
  kind?: WatchKind;
}

export interface MkdirpOptions extends CallOptions {
  /** Data of the last node (parents get none). */
  data?: Data;
  /** ACL of every node created. Default OPEN_ACL_UNSAFE. */
  acl?: ACL[];
  /** Create missing parents as container nodes (removed by the server once their last child goes). */
  containerParents?: boolean;
}

/** A watch event as ZooKeeper's WatchedEvent: type (EventType), state (KeeperState), path relative to the chroot. */
export interface WatchedEvent {
  type: number;
  state: number;
  /** null for session events (type None). */
  path: string | null;
}

export type Watcher = (event: WatchedEvent) => void;

/** What getData/exists/getChildren accept: a watcher function, or `true` for the client's default watcher. */
export type WatchArg = Watcher | boolean | undefined;

export interface AuthInfo {
  scheme: string;
  auth: Buffer | string;
}

export interface ClientOptions {
  /** Requested session timeout; the server clamps it to [2, 20] ticks. Default 30000. */
  sessionTimeoutMs?: number;
  /** Time allowed per host for TCP connect plus the session handshake. Default sessionTimeout / number of hosts. */
  connectTimeoutMs?: number;
  /** Ask for a read-only session when the server is partitioned (readonlymode.enabled). */
  readOnly?: boolean;
  /** Resume an existing session (with its password). */
  sessionId?: bigint;
  sessionPassword?: Buffer;
  logger?: Logger;
  /** Auth packets sent on every (re)connect before anything else. */
  authInfo?: AuthInfo[];
  /** Receives session events (type None) and events of watches set with `true`. */
  watcher?: Watcher;
  /** Shuffle the host list once at construction. Default false (deterministic order). */
  shuffleHosts?: boolean;
  /** Pause after a full pass over the host list failed. Default 1000. */
  reconnectDelayMs?: number;
  /** Largest reply frame accepted. Default 4 MiB. */
  maxFrameBytes?: number;
}

export interface CreateOptions {
  acl?: ACL[];
  /** A CreateMode value. Default PERSISTENT. */
  mode?: number;
  /** Milliseconds, for PERSISTENT_WITH_TTL and PERSISTENT_SEQUENTIAL_WITH_TTL. */
  ttl?: number;
}

export type Data = Buffer | Uint8Array | string | null | undefined;

export function toBuffer(d: Data): Buffer | null {
  if (d == null) return null;
  if (typeof d === 'string') return Buffer.from(d, 'utf8');
  return Buffer.isBuffer(d) ? d : Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

// ---------------------------------------------------------------- ACLs (ZooDefs.Ids)

export const ANYONE_ID_UNSAFE: Id = { scheme: 'world', id: 'anyone' };
export const AUTH_IDS: Id = { scheme: 'auth', id: '' };
export const OPEN_ACL_UNSAFE: ACL[] = [{ perms: Perms.ALL, id: ANYONE_ID_UNSAFE }];
export const CREATOR_ALL_ACL: ACL[] = [{ perms: Perms.ALL, id: AUTH_IDS }];
export const READ_ACL_UNSAFE: ACL[] = [{ perms: Perms.READ, id: ANYONE_ID_UNSAFE }];

/** The digest scheme's id for user:password: `user:base64(sha1("user:password"))`. */
export function digestId(user: string, password: string): Id {
  const hash = createHash('sha1').update(`${user}:${password}`, 'utf8').digest('base64');
  return { scheme: 'digest', id: `${user}:${hash}` };
}

/** One ACL entry granting `perms` (a Perms mask, default ALL) to digest user:password. */
export function digestAcl(user: string, password: string, perms: number = Perms.ALL): ACL {
  return { perms, id: digestId(user, password) };
}

