// client/client.ts: ZooKeeperClient, a Promise-based ZooKeeper client. It owns one session and at most one socket at
// a time: connect handshake, auth and SetWatches replay after every (re)connect, request/reply matching in xid
// order, pings and read timeouts, host rotation, and the ordered delivery of replies and watch events.
// Imports jute/, protocol/, util/ and the other client/ files.
import type { Timer } from '../util/sys.js';
import { clock, net, random } from '../util/sys.js';
import type { Socket } from 'node:net';
import { EventEmitter } from 'node:events';
import { Reader, Writer } from '../jute/codec.js';
import { AddWatchMode, CreateMode, EventType, KeeperState, OpCode, PROTOCOL_VERSION, Xid } from '../protocol/constants.js';
import { Code, ZkError } from '../protocol/errors.js';
import * as R from '../protocol/records.js';
import { decodeResponse, encodeRequest, type Request, type Response } from '../protocol/requests.js';
import { createLogger, hexSession, type Logger } from '../util/log.js';
import { Chroot, type HostPort, parseConnectString, validatePath } from './connect-string.js';
import { FrameReader, frame } from './framing.js';
import {
  createRequest, firstFailure, MultiError, type MultiResult, type Op, opRequest, type ReadOp, readOpRequest,
  ReadTransaction, toMultiResult, Transaction,
} from './multi.js';
import { EventStream } from './stream.js';
import {
  AbortError, abortError, type AuthInfo, type CallOptions, type ClientOptions, type ClientState, type ConnectionState,
  type CreateOptions, type Data, type MkdirpOptions, TERMINAL_CONNECTION_STATES, TERMINAL_STATES, toBuffer,
  toConnectionState, type WatchArg, type WatchedEvent, type Watcher, type WatchKind, type WatchOptions,
} from './types.js';
import { type OneTimeKind, WatchManager, WatcherTypeExt } from './watch-manager.js';

const DEFAULT_SESSION_TIMEOUT_MS = 30_000;
const DEFAULT_RECONNECT_DELAY_MS = 1000;
const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** Ping at least this often even when the read timeout is long (ClientCnxn's MAX_SEND_PING_INTERVAL). */
const PING_INTERVAL_MS_MAX = 10_000;
/** SetWatches batches hold at most this many bytes of paths (ClientCnxn's SET_WATCHES_MAX_LENGTH). */
const SET_WATCHES_BATCH_BYTES_MAX = 128 * 1024;
const CLOSE_REPLY_WAIT_MS = 2000;
const XID_MAX = 0x7fffffff;

/** A request on its way: queued until connected, then in flight until its reply arrives. */
interface Pending {
  req: Request;
  xid: number;
  /** Settles the caller's promise from the reply: called with the reply's err and a reader on its body. */
  complete(err: number, body: Reader): void;
  fail(e: Error): void;
}

/** Per-socket state; a new one for every connection attempt so that late events of an old socket are ignored. */
interface Conn {
  socket: Socket;
  host: HostPort;
  frames: FrameReader;
  established: boolean;
  lastRecvMs: number;
  lastSendMs: number;
  readTimeoutMs: number;
  timer: Timer | undefined;
  outgoing: Buffer[];
  flushQueued: boolean;
}

type Finish<T> = (err: number, body: Reader) => T;

export type AddWatchModeName = 'persistent' | 'recursive';

/** An async iterator of watch events (see ZooKeeperClient.watch). */
export interface WatchStream extends AsyncIterableIterator<WatchedEvent> {
  /** Resolves once the server holds the watch; rejects with the registration's error (NONODE for 'data'...). */
  readonly ready: Promise<void>;
  /** Ends the stream and removes the watch (server-side too when no other watcher of this client needs it). */
  return(): Promise<IteratorResult<WatchedEvent>>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** An async iterator of connection states (see ZooKeeperClient.states). */
export interface StateStream extends AsyncIterableIterator<ConnectionState> {
  return(): Promise<IteratorResult<ConnectionState>>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Registration of a watch stream: the call that sets it, and the WatcherType that removes it. */
const WATCH_KINDS: Record<WatchKind, { removeType: number; oneTime: boolean }> = {
  data: { removeType: WatcherTypeExt.Data, oneTime: true },
  exist: { removeType: WatcherTypeExt.Data, oneTime: true },
  children: { removeType: WatcherTypeExt.Children, oneTime: true },
  persistent: { removeType: WatcherTypeExt.Persistent, oneTime: false },
  recursive: { removeType: WatcherTypeExt.PersistentRecursive, oneTime: false },
};
const WATCH_REMOVED_EVENTS: ReadonlySet<number> = new Set([
  EventType.DataWatchRemoved, EventType.ChildWatchRemoved, EventType.PersistentWatchRemoved,
]);
const SESSION_END_STATES: ReadonlySet<number> = new Set([KeeperState.Expired, KeeperState.Closed, KeeperState.AuthFailed]);
/** How often mkdirp and deleteRecursive retry when a concurrent client changes the tree under them. */
const TREE_RETRIES = 5;

export class ZooKeeperClient extends EventEmitter {
  private readonly hosts: HostPort[];
  private readonly chroot: Chroot;
  private readonly log: Logger;
  private readonly watches: WatchManager;
  private readonly auth: AuthInfo[];
  private readonly requestedTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly reconnectDelayMs: number;
  private readonly maxFrameBytes: number;
  private readonly readOnly: boolean;

  private stateNow: ClientState = 'disconnected';
  /** Whether a session was ever established (tells connectionState 'connecting' from 'suspended'). */
  private hadSession = false;
  private readonly stateStreams = new Set<EventStream<ConnectionState>>();
  private sessionIdNow: bigint;
  private passwordNow: Buffer;
  private negotiatedTimeoutMs = 0;
  private lastZxid = 0;
  private xid = 0;
  private hostIndex = 0;
  private attemptsSinceConnected = 0;
  private reconnectPausedUntilMs = 0;
  private reconnectTimer: Timer | undefined;
  private conn: Conn | undefined;
  private closing = false;
  private closeWaiters: Array<() => void> = [];

  private readonly queued: Pending[] = [];
  private inflight: Pending[] = [];
  private authWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private connectWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  /** Stands for the default watcher in the watch tables (watch argument `true`). */
  private readonly defaultWatcherProxy: Watcher;

  constructor(connectString: string, private readonly opts: ClientOptions = {}) {
    super();
    const parsed = parseConnectString(connectString);
    this.hosts = parsed.hosts;
    if (opts.shuffleHosts) shuffle(this.hosts);
    this.chroot = new Chroot(parsed.chroot);
    this.requestedTimeoutMs = opts.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? Math.max(500, Math.floor(this.requestedTimeoutMs / this.hosts.length));
    this.reconnectDelayMs = opts.reconnectDelayMs ?? DEFAULT_RECONNECT_DELAY_MS;
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.readOnly = opts.readOnly ?? false;
    this.sessionIdNow = opts.sessionId ?? 0n;
    this.passwordNow = opts.sessionPassword ? Buffer.from(opts.sessionPassword) : Buffer.alloc(16);
    this.auth = [...(opts.authInfo ?? [])];
    this.log = opts.logger ?? createLogger({ fields: { component: 'zk-client' } });
    this.defaultWatcherProxy = (e) => this.opts.watcher?.(e);
    this.watches = new WatchManager(this.defaultWatcherProxy);
  }

  // ------------------------------------------------------------ session accessors

  /** The low-level state (unchanged vocabulary; see `connectionState` for the application-level one). */
  get state(): ClientState {
    return this.stateNow;
  }
  /**
   * The connection state as applications want it: connecting, connected, readOnly, suspended (disconnected, the
   * session may live), lost (expired), closed, authFailed. Changes are emitted as 'connectionState' events (after
   * the 'state' event of the same change) and yielded by states().
   */
  get connectionState(): ConnectionState {
    return toConnectionState(this.stateNow, this.hadSession);
  }
  get sessionId(): bigint {
    return this.sessionIdNow;
  }
  get sessionPassword(): Buffer {
    return Buffer.from(this.passwordNow);
  }
  /** The session timeout the server granted (0 before the first connect). */
  get sessionTimeoutMs(): number {
    return this.negotiatedTimeoutMs;
  }
  /** The largest zxid seen in a reply (sent on reconnect and in SetWatches). */
  get lastZxidSeen(): number {
    return this.lastZxid;
  }
  /** The host of the current connection, if any. */
  get currentHost(): HostPort | undefined {
    return this.conn?.established ? this.conn.host : undefined;
  }

  // ------------------------------------------------------------ lifecycle

  /**
   * Connects (new session, or the one given in options) and resolves once connected. Rejects on a terminal state,
   * or with CONNECTIONLOSS when no server accepted within `timeoutMs` (default: the session timeout); the client is
   * then closed.
   */
  connect(timeoutMs?: number, opts: CallOptions = {}): Promise<void> {
    const signal = opts.signal;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.stateNow === 'connected' || this.stateNow === 'connectedReadOnly') return Promise.resolve();
    if (TERMINAL_STATES.has(this.stateNow)) return Promise.reject(this.terminalError());
    const wait = timeoutMs ?? Math.max(this.requestedTimeoutMs, this.connectTimeoutMs * this.hosts.length);
    const p = new Promise<void>((resolve, reject) => {
      const settle = (): void => {
        clock.clear(timer);
        signal?.removeEventListener('abort', onAbort);
        this.connectWaiters = this.connectWaiters.filter((w) => w !== waiter);
      };
      const timer = clock.setTimeout(() => {
        settle();
        reject(new ZkError(Code.CONNECTIONLOSS, undefined, `could not connect within ${wait} ms`));
        void this.close();
      }, wait);
      // An aborted connect() only stops waiting: the client keeps trying (close() it to give up).
      const onAbort = (): void => {
        settle();
        reject(abortError(signal));
      };
      const waiter = {
        resolve: (): void => {
          settle();
          resolve();
        },
        reject: (e: Error): void => {
          settle();
          reject(e);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.connectWaiters.push(waiter);
    });
    if (this.stateNow === 'disconnected' && !this.conn && !this.reconnectTimer) {
      this.setState('connecting');
      this.startAttempt();
    }
    return p;
  }

  /** Closes the session (ephemerals go away) and the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.stateNow === 'closed') return;
    if (this.closing) return new Promise((resolve) => this.closeWaiters.push(resolve));
    this.closing = true;
    const conn = this.conn;
    if (conn?.established && !TERMINAL_STATES.has(this.stateNow)) {
      const sent = new Promise<void>((resolve) => {
        this.sendNow({ req: { op: OpCode.closeSession }, xid: 0, complete: () => resolve(), fail: () => resolve() });
      });
      let timer: Timer | undefined;
      const timeout = new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, CLOSE_REPLY_WAIT_MS)));
      await Promise.race([sent, timeout]);
      clock.clear(timer);
    }
    this.finishClose();
  }

  private finishClose(): void {
    clock.clear(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const conn = this.conn;
    this.conn = undefined;
    if (conn) this.teardownSocket(conn);
    const wasTerminal = TERMINAL_STATES.has(this.stateNow);
    this.setState('closed');
    this.failAll(new ZkError(Code.SESSIONEXPIRED, undefined, 'client closed'));
    if (!wasTerminal) this.deliverSessionEvent(KeeperState.Closed);
    for (const w of this.closeWaiters.splice(0)) w();
  }

  // ------------------------------------------------------------ connecting

  private startAttempt(): void {
    this.reconnectTimer = undefined;
    if (TERMINAL_STATES.has(this.stateNow) || this.closing) return;
    const pauseMs = this.reconnectPausedUntilMs - clock.now();
    if (pauseMs > 0) {
      this.reconnectTimer = clock.setTimeout(() => this.startAttempt(), pauseMs);
      return;
    }
    const host = this.hosts[this.hostIndex % this.hosts.length];
    const socket = net.connect({ host: host.host, port: host.port });
    socket.setNoDelay(true);
    const now = clock.now();
    const conn: Conn = {
      socket, host, frames: new FrameReader(this.maxFrameBytes), established: false, lastRecvMs: now, lastSendMs: now,
      readTimeoutMs: Math.floor((this.requestedTimeoutMs * 2) / 3), timer: undefined, outgoing: [], flushQueued: false,
    };
    this.conn = conn;
    this.log.debug('connecting', { host: `${host.host}:${host.port}`, session: hexSession(this.sessionIdNow) });
    conn.timer = clock.setTimeout(() => this.dropConnection(conn, `connect timeout to ${host.host}:${host.port}`), this.connectTimeoutMs);
    socket.on('connect', () => this.sendConnectRequest(conn));
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('error', (e) => this.log.debug('socket error', { err: e.message, host: `${host.host}:${host.port}` }));
    socket.on('close', () => this.dropConnection(conn, 'socket closed'));
  }

  private sendConnectRequest(conn: Conn): void {
    const req: R.ConnectRequest = {
      protocolVersion: PROTOCOL_VERSION, lastZxidSeen: this.lastZxid, timeOut: this.requestedTimeoutMs,
      sessionId: this.sessionIdNow, passwd: this.passwordNow, readOnly: this.readOnly,
    };
    this.write(conn, frame((w) => R.writeConnectRequest(w, req)));
  }

  private onHandshake(conn: Conn, body: Buffer): void {
    const resp = R.readConnectResponse(new Reader(body));
    if (resp.timeOut <= 0) {
      this.log.info('session expired', { session: hexSession(this.sessionIdNow) });
      this.enterTerminal('expired', KeeperState.Expired, new ZkError(Code.SESSIONEXPIRED));
      return;
    }
    conn.established = true;
    clock.clear(conn.timer);
    this.negotiatedTimeoutMs = resp.timeOut;
    this.sessionIdNow = resp.sessionId;
    this.passwordNow = Buffer.from(resp.passwd);
    conn.readTimeoutMs = Math.floor((resp.timeOut * 2) / 3);
    this.attemptsSinceConnected = 0;
    this.hadSession = true;
    this.log.debug('session established', { session: hexSession(resp.sessionId), timeoutMs: resp.timeOut });
    // Order after a (re)connect, as ClientCnxn.primeConnection: auth packets, SetWatches, then queued requests.
    for (const a of this.auth) {
      this.authWaiters.push({ resolve: () => undefined, reject: () => undefined });
      this.write(conn, authFrame(a));
    }
    this.sendSetWatches(conn);
    for (const p of this.queued.splice(0)) this.sendNow(p);
    this.scheduleTick(conn);
    const ro = resp.readOnly === true;
    this.setState(ro ? 'connectedReadOnly' : 'connected');
    this.deliverSessionEvent(ro ? KeeperState.ConnectedReadOnly : KeeperState.SyncConnected);
    for (const w of this.connectWaiters.splice(0)) w.resolve();
  }

  private sendSetWatches(conn: Conn): void {
    if (this.watches.isEmpty()) return;
    const paths = this.watches.paths();
    const lists: Array<keyof typeof paths> = ['data', 'exist', 'child', 'persistent', 'recursive'];
    let batch = emptyWatchBatch(this.lastZxid);
    let bytes = 0;
    const emit = (): void => {
      const v2 = batch.persistentWatches.length + batch.persistentRecursiveWatches.length > 0;
      const op = v2 ? OpCode.setWatches2 : OpCode.setWatches;
      const b = batch;
      this.write(conn, frame((w) => {
        R.writeRequestHeader(w, { xid: Xid.setWatches, type: op });
        R.writeSetWatches(w, b, v2);
      }));
      batch = emptyWatchBatch(this.lastZxid);
      bytes = 0;
    };
    for (const kind of lists) {
      for (const clientPath of paths[kind]) {
        const serverPath = this.chroot.toServer(clientPath);
        const len = Buffer.byteLength(serverPath);
        if (bytes > 0 && bytes + len > SET_WATCHES_BATCH_BYTES_MAX) emit();
        batchList(batch, kind).push(serverPath);
        bytes += len;
      }
    }
    if (bytes > 0) emit();
  }

  /** Ends `conn` (if it is still the current one): fails in-flight requests, then reconnects unless terminal. */
  private dropConnection(conn: Conn, reason: string): void {
    if (this.conn !== conn) return;
    this.conn = undefined;
    this.teardownSocket(conn);
    const wasConnected = conn.established;
    this.log.debug('connection dropped', { reason, host: `${conn.host.host}:${conn.host.port}` });
    if (this.closing) {
      this.finishClose();
      return;
    }
    if (TERMINAL_STATES.has(this.stateNow)) return;
    this.failAll(new ZkError(Code.CONNECTIONLOSS, undefined, reason));
    if (wasConnected) {
      this.setState('disconnected');
      this.deliverSessionEvent(KeeperState.Disconnected);
      this.setState('connecting');
    }
    this.hostIndex = (this.hostIndex + 1) % this.hosts.length;
    this.attemptsSinceConnected++;
    const fullPass = this.attemptsSinceConnected % this.hosts.length === 0 && !wasConnected;
    this.reconnectTimer = clock.setTimeout(() => this.startAttempt(), fullPass ? this.reconnectDelayMs : 0);
  }

  private teardownSocket(conn: Conn): void {
    clock.clear(conn.timer);
    conn.timer = undefined;
    conn.outgoing = [];
    conn.socket.removeAllListeners('data');
    conn.socket.on('error', () => undefined);
    conn.socket.destroy();
  }

  private enterTerminal(state: 'expired' | 'authFailed', keeperState: number, err: ZkError): void {
    const conn = this.conn;
    this.conn = undefined;
    if (conn) this.teardownSocket(conn);
    clock.clear(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.setState(state);
    this.failAll(err);
    this.deliverSessionEvent(keeperState);
    for (const w of this.connectWaiters.splice(0)) w.reject(err);
  }

  private failAll(e: ZkError): void {
    const pending = [...this.inflight, ...this.queued.splice(0)];
    this.inflight = [];
    for (const p of pending) p.fail(e);
    for (const a of this.authWaiters.splice(0)) a.reject(e);
    if (TERMINAL_STATES.has(this.stateNow)) for (const w of this.connectWaiters.splice(0)) w.reject(e);
  }

  private terminalError(): ZkError {
    if (this.stateNow === 'authFailed') return new ZkError(Code.AUTHFAILED);
    return new ZkError(Code.SESSIONEXPIRED, undefined, this.stateNow === 'closed' ? 'client closed' : undefined);
  }

  // ------------------------------------------------------------ timers: pings and read timeout

  private scheduleTick(conn: Conn): void {
    clock.clear(conn.timer);
    const pingEveryMs = Math.min(Math.floor(conn.readTimeoutMs / 2), PING_INTERVAL_MS_MAX);
    const now = clock.now();
    const nextPing = conn.lastSendMs + pingEveryMs;
    const deadline = conn.lastRecvMs + conn.readTimeoutMs;
    const delay = Math.max(5, Math.min(nextPing, deadline) - now);
    conn.timer = clock.setTimeout(() => this.onTick(conn, pingEveryMs), delay);
  }

  private onTick(conn: Conn, pingEveryMs: number): void {
    if (this.conn !== conn) return;
    const now = clock.now();
    if (now - conn.lastRecvMs >= conn.readTimeoutMs) {
      this.dropConnection(conn, `no reply for ${now - conn.lastRecvMs} ms`);
      return;
    }
    if (now - conn.lastSendMs >= pingEveryMs) {
      this.write(conn, frame((w) => R.writeRequestHeader(w, { xid: Xid.ping, type: OpCode.ping })));
      conn.lastSendMs = now;
    }
    this.scheduleTick(conn);
  }

  // ------------------------------------------------------------ I/O

  /** Queues a frame on `conn`; frames queued in one tick go out in one socket write. */
  private write(conn: Conn, buf: Buffer): void {
    conn.outgoing.push(buf);
    if (conn.flushQueued) return;
    conn.flushQueued = true;
    queueMicrotask(() => {
      conn.flushQueued = false;
      if (this.conn !== conn || conn.outgoing.length === 0) return;
      const out = conn.outgoing.length === 1 ? conn.outgoing[0] : Buffer.concat(conn.outgoing);
      conn.outgoing = [];
      conn.lastSendMs = clock.now();
      conn.socket.write(out);
    });
  }

  private onData(conn: Conn, chunk: Buffer): void {
    if (this.conn !== conn) return;
    conn.lastRecvMs = clock.now();
    try {
      for (const body of conn.frames.push(chunk)) {
        if (this.conn !== conn) return;
        if (!conn.established) this.onHandshake(conn, body);
        else this.onFrame(conn, body);
      }
    } catch (e) {
      this.log.warn('bad frame from server', { err: e as Error });
      this.dropConnection(conn, `bad frame: ${(e as Error).message}`);
    }
  }

  private onFrame(conn: Conn, body: Buffer): void {
    const r = new Reader(body, 0, this.maxFrameBytes);
    const hdr = R.readReplyHeader(r);
    switch (hdr.xid) {
      case Xid.notification: this.onNotification(R.readWatcherEvent(r)); return;
      case Xid.ping: return;
      case Xid.auth: this.onAuthReply(hdr.err); return;
      case Xid.setWatches:
        if (hdr.err !== 0) this.log.warn('SetWatches failed', { err: hdr.err });
        return;
    }
    const p = this.inflight.shift();
    if (!p || p.xid !== hdr.xid) {
      if (p) this.inflight.unshift(p);
      this.dropConnection(conn, `xid out of order: got ${hdr.xid}, expected ${p?.xid ?? 'none'}`);
      return;
    }
    if (hdr.zxid > 0) this.lastZxid = hdr.zxid;
    p.complete(hdr.err, r);
  }

  private onAuthReply(err: number): void {
    if (err === Code.OK) {
      this.authWaiters.shift()?.resolve();
      return;
    }
    this.log.warn('authentication failed', { err });
    this.enterTerminal('authFailed', KeeperState.AuthFailed, new ZkError(Code.AUTHFAILED));
  }

  private onNotification(ev: R.WatcherEvent): void {
    const path = this.chroot.toClient(ev.path);
    const watchers = this.watches.materialize(ev.type, path);
    this.deliver(watchers, { type: ev.type, state: ev.state, path });
  }

  /** Events reach watchers through the microtask queue, in the order received and after earlier replies' awaiters. */
  private deliver(watchers: Iterable<Watcher>, ev: WatchedEvent): void {
    for (const w of watchers) {
      queueMicrotask(() => {
        try {
          w(ev);
        } catch (e) {
          this.log.warn('watcher threw', { err: e as Error });
        }
      });
    }
  }

  private deliverSessionEvent(state: number): void {
    const watchers = this.watches.all();
    if (state === KeeperState.Expired || state === KeeperState.Closed || state === KeeperState.AuthFailed) this.watches.clear();
    this.deliver(watchers, { type: EventType.None, state, path: null });
  }

  private setState(s: ClientState): void {
    if (this.stateNow === s) return;
    const before = this.connectionState;
    this.stateNow = s;
    queueMicrotask(() => this.emit('state', s));
    const cs = this.connectionState;
    if (cs === before) return;
    queueMicrotask(() => this.emit('connectionState', cs));
    for (const st of this.stateStreams) {
      st.push(cs);
      if (TERMINAL_CONNECTION_STATES.has(cs)) st.end();
    }
  }

  // ------------------------------------------------------------ requests

  private nextXid(): number {
    this.xid = this.xid >= XID_MAX ? 1 : this.xid + 1;
    return this.xid;
  }

  private sendNow(p: Pending): void {
    const conn = this.conn;
    if (!conn?.established) {
      this.queued.push(p);
      return;
    }
    p.xid = this.nextXid();
    this.inflight.push(p);
    this.write(conn, frame((w) => {
      R.writeRequestHeader(w, { xid: p.xid, type: p.req.op });
      encodeRequest(w, p.req);
    }));
  }

  /**
   * Sends `req` and settles with `finish(err, body)`; a throw from `finish` rejects. An abort rejects at once with
   * AbortError: a queued request is dropped, a sent one stays in flight (its reply keeps the xid order) but its
   * result, and `finish` with its side effects (watch registration), are skipped.
   */
  private call<T>(build: Request | (() => Request), finish: Finish<T>, signal?: AbortSignal): Promise<T> {
    // The executor runs synchronously: the request is queued in call order, and a throw (bad path) rejects.
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const req = typeof build === 'function' ? build() : build;
      if (TERMINAL_STATES.has(this.stateNow)) return reject(this.terminalError());
      if (this.closing) return reject(new ZkError(Code.SESSIONEXPIRED, undefined, 'client closing'));
      let settled = false;
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const p: Pending = {
        req, xid: 0,
        fail: (e) => {
          if (settle()) reject(e);
        },
        complete: (err, body) => {
          if (!settle()) return;
          try {
            resolve(finish(err, body));
          } catch (e) {
            reject(asError(e));
          }
        },
      };
      const onAbort = (): void => {
        if (!settle()) return;
        const i = this.queued.indexOf(p);
        if (i >= 0) this.queued.splice(i, 1);
        reject(abortError(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sendNow(p);
    });
  }

  /** The common case: nonzero err rejects with ZkError(err, path), else decode and map the body. */
  private simple<T>(
    build: Request | (() => Request), path: string | undefined, map: (resp: Response) => T, signal?: AbortSignal,
  ): Promise<T> {
    let op = 0;
    return this.call(() => {
      const req = typeof build === 'function' ? build() : build;
      op = req.op;
      return req;
    }, (err, body) => {
      if (err !== Code.OK) throw new ZkError(err, path);
      return map(decodeResponse(op, body));
    }, signal);
  }

  private watcherOf(w: WatchArg): Watcher | undefined {
    if (w === true) return this.defaultWatcherProxy;
    return typeof w === 'function' ? w : undefined;
  }

  private server(path: string, sequential = false): string {
    validatePath(path, sequential);
    return this.chroot.toServer(path);
  }

  // ------------------------------------------------------------ the API: nodes
  // Every call takes an optional trailing CallOptions ({ signal }): see CallOptions for what an abort means.

  /** Creates a node and returns its path (with the sequence suffix for sequential modes). */
  create(path: string, data?: Data, opts: CreateOptions & CallOptions = {}): Promise<string> {
    return this.simple(() => createRequest(this.chroot, path, data, createOpts(opts), false), path, (resp) =>
      this.chroot.toClient((resp as { path: string }).path), opts.signal);
  }

  /** create with create2 (or createContainer / createTTL by mode): returns the path and the new node's Stat. */
  create2(path: string, data?: Data, opts: CreateOptions & CallOptions = {}): Promise<{ path: string; stat: R.Stat }> {
    return this.simple(() => createRequest(this.chroot, path, data, createOpts(opts), true), path, (resp) => {
      const out = resp as { path: string; stat: R.Stat };
      return { path: this.chroot.toClient(out.path), stat: out.stat };
    }, opts.signal);
  }

  delete(path: string, version = -1, opts: CallOptions = {}): Promise<void> {
    return this.simple(() => ({ op: OpCode.delete, path: this.server(path), version }), path, () => undefined, opts.signal);
  }

  /** The node's Stat, or null when it does not exist; a watcher is set either way (exist watch when missing). */
  exists(path: string, watcher?: WatchArg, opts: CallOptions = {}): Promise<R.Stat | null> {
    const w = this.watcherOf(watcher);
    return this.call(() => ({ op: OpCode.exists, path: this.server(path), watch: w !== undefined }), (err, body) => {
      if (err === Code.NONODE) {
        if (w) this.watches.addOneTime('exist', path, w);
        return null;
      }
      if (err !== Code.OK) throw new ZkError(err, path);
      if (w) this.watches.addOneTime('data', path, w);
      return R.readStat(body);
    }, opts.signal);
  }

  getData(path: string, watcher?: WatchArg, opts: CallOptions = {}): Promise<{ data: Buffer | null; stat: R.Stat }> {
    return this.watchedRead(OpCode.getData, 'data', path, watcher, (body) => {
      const r = R.readGetDataResponse(body);
      return { data: r.data ? Buffer.from(r.data) : null, stat: r.stat };
    }, opts.signal);
  }

  setData(path: string, data: Data, version = -1, opts: CallOptions = {}): Promise<R.Stat> {
    const req = (): Request => ({ op: OpCode.setData, path: this.server(path), data: toBuffer(data), version });
    return this.simple(req, path, (resp) => (resp as { stat: R.Stat }).stat, opts.signal);
  }

  getACL(path: string, opts: CallOptions = {}): Promise<{ acl: R.ACL[]; stat: R.Stat }> {
    return this.simple(() => ({ op: OpCode.getACL, path: this.server(path) }), path, (resp) => {
      const r = resp as { acl: R.ACL[]; stat: R.Stat };
      return { acl: r.acl, stat: r.stat };
    }, opts.signal);
  }

  setACL(path: string, acl: R.ACL[], version = -1, opts: CallOptions = {}): Promise<R.Stat> {
    return this.simple(() => ({ op: OpCode.setACL, path: this.server(path), acl, version }), path,
      (resp) => (resp as { stat: R.Stat }).stat, opts.signal);
  }

  getChildren(path: string, watcher?: WatchArg, opts: CallOptions = {}): Promise<string[]> {
    return this.watchedRead(OpCode.getChildren, 'child', path, watcher, (body) => body.stringVector(), opts.signal);
  }

  getChildren2(path: string, watcher?: WatchArg, opts: CallOptions = {}): Promise<{ children: string[]; stat: R.Stat }> {
    return this.watchedRead(OpCode.getChildren2, 'child', path, watcher, (body) => R.readGetChildren2Response(body), opts.signal);
  }

  private watchedRead<T>(
    op: typeof OpCode.getData | typeof OpCode.getChildren | typeof OpCode.getChildren2, kind: OneTimeKind, path: string,
    watcher: WatchArg, decode: (body: Reader) => T, signal: AbortSignal | undefined,
  ): Promise<T> {
    const w = this.watcherOf(watcher);
    return this.call(() => ({ op, path: this.server(path), watch: w !== undefined }), (err, body) => {
      if (err !== Code.OK) throw new ZkError(err, path);
      if (w) this.watches.addOneTime(kind, path, w);
      return decode(body);
    }, signal);
  }

  /** The number of all descendants of `path` (not counting itself). */
  getAllChildrenNumber(path: string, opts: CallOptions = {}): Promise<number> {
    return this.simple(() => ({ op: OpCode.getAllChildrenNumber, path: this.server(path) }), path,
      (resp) => (resp as { total: number }).total, opts.signal);
  }

  /** This session's ephemeral nodes whose paths start with `prefix` ("/" = all). */
  getEphemerals(prefix = '/', opts: CallOptions = {}): Promise<string[]> {
    return this.simple(() => ({ op: OpCode.getEphemerals, path: this.server(prefix) }), prefix, (resp) =>
      (resp as { paths: string[] }).paths.map((p) => this.chroot.toClient(p)), opts.signal);
  }

  /** Waits until the server this client talks to has caught up with the leader; returns the path. */
  sync(path: string, opts: CallOptions = {}): Promise<string> {
    return this.simple(() => ({ op: OpCode.sync, path: this.server(path) }), path,
      (resp) => this.chroot.toClient((resp as { path: string }).path), opts.signal);
  }

  whoAmI(opts: CallOptions = {}): Promise<R.ClientInfo[]> {
    return this.simple({ op: OpCode.whoAmI }, undefined, (resp) => (resp as { clients: R.ClientInfo[] }).clients, opts.signal);
  }

  // ------------------------------------------------------------ tree helpers

  /**
   * Creates `path` and any missing parents (as `mkdir -p`). Resolves true when this call created `path`, false when
   * it existed already. Parents get no data and, with `containerParents`, are containers. Retries (a few times) when
   * a concurrent client deletes a parent in between.
   */
  async mkdirp(path: string, opts: MkdirpOptions = {}): Promise<boolean> {
    validatePath(path, false);
    if (path === '/') return false;
    const { signal, acl } = opts;
    const parentMode = opts.containerParents ? CreateMode.CONTAINER : CreateMode.PERSISTENT;
    let ancestorError: Error | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.create(path, opts.data, { acl, signal });
        return true;
      } catch (e) {
        if (ZkError.is(e, Code.NODEEXISTS)) return false;
        if (!ZkError.is(e, Code.NONODE)) throw e;
        // Still no parent after creating the ancestors: why an ancestor failed (NOAUTH...) is the real cause.
        if (ancestorError !== undefined) throw ancestorError;
        if (attempt >= TREE_RETRIES) throw e;
      }
      // Some parent is missing: create every ancestor, top down, pipelined in one round trip. Their errors
      // (NODEEXISTS mostly) do not matter unless the next create of `path` still finds no parent.
      const ancestors = ancestorsOf(path);
      const results = await Promise.allSettled(ancestors.map((p) => this.create(p, null, { acl, mode: parentMode, signal })));
      ancestorError = undefined;
      for (const r of results) {
        if (r.status === 'fulfilled' || ZkError.is(r.reason, Code.NODEEXISTS) || ZkError.is(r.reason, Code.NONODE)) continue;
        ancestorError = asError(r.reason);
        break;
      }
    }
  }

  /**
   * Deletes `path` and everything below it, deepest first (siblings pipelined). Resolves with the number of nodes
   * this call deleted; a node already gone is not an error. Retries a subtree (a few times) when a concurrent
   * client adds children under it. `path` may not be "/".
   */
  async deleteRecursive(path: string, opts: CallOptions = {}): Promise<number> {
    validatePath(path, false);
    if (path === '/') throw new ZkError(Code.BADARGUMENTS, path, 'deleteRecursive of the root');
    return this.deleteTree(path, opts.signal);
  }

  private async deleteTree(path: string, signal: AbortSignal | undefined): Promise<number> {
    let deleted = 0;
    for (let attempt = 0; ; attempt++) {
      let children: string[];
      try {
        children = await this.getChildren(path, undefined, { signal });
      } catch (e) {
        if (ZkError.is(e, Code.NONODE)) return deleted;
        throw e;
      }
      const counts = await Promise.all(children.map((c) => this.deleteTree(`${path}/${c}`, signal)));
      deleted += counts.reduce((a, b) => a + b, 0);
      try {
        await this.delete(path, -1, { signal });
        return deleted + 1;
      } catch (e) {
        if (ZkError.is(e, Code.NONODE)) return deleted;
        if (!ZkError.is(e, Code.NOTEMPTY) || attempt >= TREE_RETRIES) throw e;
      }
    }
  }

  // ------------------------------------------------------------ multi

  /** Runs `ops` atomically. On failure rejects with MultiError (a ZkError) carrying every op's result. */
  multi(ops: Op[], opts: CallOptions = {}): Promise<MultiResult[]> {
    if (opts.signal?.aborted) return Promise.reject(abortError(opts.signal));
    let reqs: Request[];
    try {
      reqs = ops.map((op) => opRequest(this.chroot, op));
    } catch (e) {
      return Promise.reject(asError(e));
    }
    return this.call({ op: OpCode.multi, ops: reqs }, (err, body) => {
      const results = this.multiResults(err, body);
      const fail = firstFailure(results);
      if (fail) throw new MultiError(fail.err, ops[fail.index]?.path, results);
      if (err !== Code.OK) throw new ZkError(err);
      return results;
    }, opts.signal);
  }

  /** Reads several nodes in one round trip; each result is independent (errors come back as type 'error'). */
  multiRead(ops: ReadOp[], opts: CallOptions = {}): Promise<MultiResult[]> {
    if (opts.signal?.aborted) return Promise.reject(abortError(opts.signal));
    let reqs: Request[];
    try {
      reqs = ops.map((op) => readOpRequest(this.chroot, op));
    } catch (e) {
      return Promise.reject(asError(e));
    }
    return this.call({ op: OpCode.multiRead, ops: reqs }, (err, body) => {
      if (err !== Code.OK && body.remaining === 0) throw new ZkError(err);
      return this.multiResults(err, body);
    }, opts.signal);
  }

  private multiResults(err: number, body: Reader): MultiResult[] {
    if (err !== Code.OK && body.remaining === 0) return [];
    const resp = decodeResponse(OpCode.multi, body) as { results: Parameters<typeof toMultiResult>[1][] };
    return resp.results.map((r) => toMultiResult(this.chroot, r));
  }

  /** A builder over multi: `client.transaction().create(...).setData(...).commit()`. */
  transaction(): Transaction {
    return new Transaction((ops, opts) => this.multi(ops, opts));
  }

  /** A builder over multiRead: `client.readTransaction().getData(a).getChildren(b).commit()`. */
  readTransaction(): ReadTransaction {
    return new ReadTransaction((ops, opts) => this.multiRead(ops, opts));
  }

  // ------------------------------------------------------------ auth

  /**
   * Adds credentials to the session (kept and re-sent on every reconnect). Resolves when the server accepts them;
   * bad credentials move the client to 'authFailed' (terminal) and reject with AUTHFAILED. An abort before the
   * call adds nothing; an abort after it only stops the wait (the credentials stay and are still sent).
   */
  addAuth(scheme: string, auth: Buffer | string, opts: CallOptions = {}): Promise<void> {
    if (opts.signal?.aborted) return Promise.reject(abortError(opts.signal));
    if (TERMINAL_STATES.has(this.stateNow)) return Promise.reject(this.terminalError());
    const info: AuthInfo = { scheme, auth };
    this.auth.push(info);
    const conn = this.conn;
    if (!conn?.established) return Promise.resolve();
    return withAbort(new Promise((resolve, reject) => {
      this.authWaiters.push({ resolve, reject });
      this.write(conn, authFrame(info));
    }), opts.signal);
  }

  // ------------------------------------------------------------ watches

  /** Sets a persistent (or persistent recursive) watch; it stays until removed and survives reconnects. */
  addWatch(path: string, watcher: Watcher, mode: AddWatchModeName | number = 'persistent', opts: CallOptions = {}): Promise<void> {
    const recursive = mode === 'recursive' || mode === AddWatchMode.PersistentRecursive;
    const type = recursive ? AddWatchMode.PersistentRecursive : AddWatchMode.Persistent;
    return this.call(() => ({ op: OpCode.addWatch, path: this.server(path), type }), (err) => {
      if (err !== Code.OK) throw new ZkError(err, path);
      this.watches.addPersistent(path, watcher, recursive);
    }, opts.signal);
  }

  /**
   * Removes `watcher` from `path` for `type` (WatcherType: Children 1, Data 2, Any 3). NOWATCHER when it is not
   * registered. The server-side watch is removed only when no other watcher of this client still needs it. With
   * `local`, the watcher is removed here even if the server cannot be reached.
   */
  removeWatches(path: string, watcher: Watcher, type: number, local = false, opts: CallOptions = {}): Promise<void> {
    return this.removeImpl(path, watcher, type, local, opts.signal);
  }

  /** Removes every watcher of `type` on `path`. */
  removeAllWatches(path: string, type: number, local = false, opts: CallOptions = {}): Promise<void> {
    return this.removeImpl(path, undefined, type, local, opts.signal);
  }

  private async removeImpl(
    path: string, watcher: Watcher | undefined, type: number, local: boolean, signal: AbortSignal | undefined,
  ): Promise<void> {
    if (signal?.aborted) throw abortError(signal);
    const serverPath = this.server(path);
    if (!this.watches.contains(path, watcher, type)) throw new ZkError(Code.NOWATCHER, path);
    const removeLocally = (): void => {
      for (const [eventType, ws] of this.watches.remove(path, watcher, type)) {
        this.deliver(ws, { type: eventType, state: KeeperState.SyncConnected, path });
      }
    };
    if (local && !this.conn?.established) {
      removeLocally();
      return;
    }
    // Decide the server-side removal as if the local one were done, then do the local one only on success.
    const serverType = this.watches.serverRemovalType(path, watcher, type);
    if (serverType === undefined) {
      removeLocally();
      return;
    }
    try {
      await this.simple({ op: OpCode.removeWatches, path: serverPath, type: serverType }, path, () => undefined, signal);
    } catch (e) {
      if (!local || AbortError.is(e)) throw e;
    }
    removeLocally();
  }

  /** Resolves if the server holds a watch of `type` on `path` for this session (NOWATCHER otherwise). */
  async checkWatches(path: string, type: number, watcher?: Watcher, opts: CallOptions = {}): Promise<void> {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    const serverPath = this.server(path);
    if (!this.watches.contains(path, watcher, type)) throw new ZkError(Code.NOWATCHER, path);
    await this.simple({ op: OpCode.checkWatches, path: serverPath, type }, path, () => undefined, opts.signal);
  }

  /**
   * Watch events as an async iterator. The watch is set at once (the request is queued in call order, so a write
   * issued after watch() is seen); `ready` tells when the server holds it. Yields node events only (session events
   * are in states()):
   * - 'data' (getData; NONODE if missing), 'exist' (exists; the node may be missing), 'children' (getChildren):
   *   one event, then the iterator ends;
   * - 'persistent', 'recursive' (addWatch): every event until disposed.
   * The iterator ends (done, no error) when the session is lost, closed or fails auth, or when the watch is removed
   * by someone else (removeAllWatches). A failed registration rejects the first next() (unless the session ended
   * meanwhile: then it just ends). Breaking out of the loop, return(), `await using` or the signal end it and remove
   * the watch, server-side too when no other watcher of this client needs it. Aborting rejects a pending next()
   * with AbortError. Unread events are buffered without bound.
   */
  watch(path: string, opts: WatchOptions = {}): WatchStream {
    const kind = opts.kind ?? 'data';
    const spec = WATCH_KINDS[kind] as (typeof WATCH_KINDS)[WatchKind] | undefined;
    const signal = opts.signal;
    const terminalAtStart = TERMINAL_STATES.has(this.stateNow);
    // The registration is not given the signal: an abort waits for it to finish, then removes the watch, so that
    // no server-side watch is left behind. (The stream finishes only after watch() returned: `registration` is set.)
    const stream: EventStream<WatchedEvent> = new EventStream<WatchedEvent>(async () => {
      signal?.removeEventListener('abort', onAbort);
      try {
        await registration;
      } catch {
        return;
      }
      if (!spec || TERMINAL_STATES.has(this.stateNow)) return;
      if (!this.watches.contains(path, watcher, spec.removeType)) return;
      await this.removeWatches(path, watcher, spec.removeType, true).catch(() => undefined);
    });
    const onAbort = (): void => stream.fail(abortError(signal));
    const watcher: Watcher = (e) => {
      if (stream.done) return;
      if (e.type === EventType.None) {
        if (SESSION_END_STATES.has(e.state)) stream.end();
        return;
      }
      if (WATCH_REMOVED_EVENTS.has(e.type)) {
        stream.end();
        return;
      }
      stream.push(e);
      if (spec?.oneTime) stream.end();
    };
    const register = async (): Promise<void> => {
      if (!spec) throw new ZkError(Code.BADARGUMENTS, path, `unknown watch kind ${String(kind)}`);
      switch (kind) {
        case 'data': await this.getData(path, watcher); break;
        case 'exist': await this.exists(path, watcher); break;
        case 'children': await this.getChildren(path, watcher); break;
        case 'persistent': await this.addWatch(path, watcher, 'persistent'); break;
        case 'recursive': await this.addWatch(path, watcher, 'recursive'); break;
      }
    };
    const registration = register();
    registration.then(() => undefined, (e: unknown) => {
      if (!terminalAtStart && TERMINAL_STATES.has(this.stateNow) && ZkError.is(e)) stream.end();
      else stream.fail(asError(e));
    });
    const ready = registration.then(() => undefined);
    ready.catch(() => undefined);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    return Object.assign(stream, { ready });
  }

  /**
   * Connection states as an async iterator: yields the current connectionState first, then every change, and ends
   * after a terminal one (lost, closed, authFailed). The signal ends it (a pending next() rejects with AbortError).
   */
  states(opts: CallOptions = {}): StateStream {
    const signal = opts.signal;
    const onAbort = (): void => stream.fail(abortError(signal));
    const stream: EventStream<ConnectionState> = new EventStream<ConnectionState>(() => {
      this.stateStreams.delete(stream);
      signal?.removeEventListener('abort', onAbort);
    });
    const now = this.connectionState;
    stream.push(now);
    if (TERMINAL_CONNECTION_STATES.has(now)) {
      stream.end();
      return stream;
    }
    this.stateStreams.add(stream);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    return stream;
  }

  // ------------------------------------------------------------ test hooks

  /**
   * Test hook: drops the socket as a network failure would. The client reconnects (next host, same session) after
   * `pauseMs`.
   */
  dropConnectionForTest(pauseMs = 0): void {
    this.reconnectPausedUntilMs = clock.now() + pauseMs;
    const conn = this.conn;
    if (conn) this.dropConnection(conn, 'dropped by test hook');
  }
}

function authFrame(a: AuthInfo): Buffer {
  const auth = typeof a.auth === 'string' ? Buffer.from(a.auth, 'utf8') : a.auth;
  return frame((w: Writer) => {
    R.writeRequestHeader(w, { xid: Xid.auth, type: OpCode.auth });
    R.writeAuthPacket(w, { type: 0, scheme: a.scheme, auth });
  });
}

function emptyWatchBatch(relativeZxid: number): R.SetWatches {
  return { relativeZxid, dataWatches: [], existWatches: [], childWatches: [], persistentWatches: [], persistentRecursiveWatches: [] };
}

function batchList(b: R.SetWatches, kind: 'data' | 'exist' | 'child' | 'persistent' | 'recursive'): string[] {
  switch (kind) {
    case 'data': return b.dataWatches;
    case 'exist': return b.existWatches;
    case 'child': return b.childWatches;
    case 'persistent': return b.persistentWatches;
    case 'recursive': return b.persistentRecursiveWatches;
  }
}

function shuffle<T>(a: T[]): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** CreateOptions without the call options (so that `signal` does not end up in a request). */
function createOpts(o: CreateOptions & CallOptions): CreateOptions {
  return { acl: o.acl, mode: o.mode, ttl: o.ttl };
}

/** "/a/b/c" -> ["/a", "/a/b"]: the ancestors of a path below the root, top down. */
function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  for (let i = path.indexOf('/', 1); i > 0; i = path.indexOf('/', i + 1)) out.push(path.slice(0, i));
  return out;
}

/** `p`, or an AbortError at once when `signal` aborts first (p's own outcome is then ignored, never unhandled). */
function withAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then((v) => {
      signal.removeEventListener('abort', onAbort);
      resolve(v);
    }, (e: unknown) => {
      signal.removeEventListener('abort', onAbort);
      reject(asError(e));
    });
  });
}
