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

