// client/client.ts: ZooKeeperClient, a Promise-based ZooKeeper client. It owns one session and at most one socket at
// a time: connect handshake, auth and SetWatches replay after every (re)connect, request/reply matching in xid
// order, pings and read timeouts, host rotation, and the ordered delivery of replies and watch events.
// Imports jute/, protocol/, util/ and the other client/ files.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { Reader, Writer } from '../jute/codec.js';
import { AddWatchMode, EventType, KeeperState, OpCode, PROTOCOL_VERSION, Xid } from '../protocol/constants.js';
import { Code, ZkError } from '../protocol/errors.js';
import * as R from '../protocol/records.js';
import { decodeResponse, encodeRequest, type Request, type Response } from '../protocol/requests.js';
import { createLogger, hexSession, type Logger } from '../util/log.js';
import { Chroot, type HostPort, parseConnectString, validatePath } from './connect-string.js';
import { FrameReader, frame } from './framing.js';
import {
  createRequest, firstFailure, MultiError, type MultiResult, type Op, opRequest, type ReadOp, readOpRequest,
  toMultiResult, Transaction,
} from './multi.js';
import {
  type AuthInfo, type ClientOptions, type ClientState, type CreateOptions, type Data, TERMINAL_STATES, toBuffer,
  type WatchArg, type WatchedEvent, type Watcher,
} from './types.js';
import { type OneTimeKind, WatchManager } from './watch-manager.js';

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
  socket: net.Socket;
  host: HostPort;
  frames: FrameReader;
  established: boolean;
  lastRecvMs: number;
  lastSendMs: number;
  readTimeoutMs: number;
  timer: NodeJS.Timeout | undefined;
  outgoing: Buffer[];
  flushQueued: boolean;
}

type Finish<T> = (err: number, body: Reader) => T;

export type AddWatchModeName = 'persistent' | 'recursive';

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
  private sessionIdNow: bigint;
  private passwordNow: Buffer;
  private negotiatedTimeoutMs = 0;
  private lastZxid = 0;
  private xid = 0;
  private hostIndex = 0;
  private attemptsSinceConnected = 0;
  private reconnectPausedUntilMs = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
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

  get state(): ClientState {
    return this.stateNow;
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
  connect(timeoutMs?: number): Promise<void> {
    if (this.stateNow === 'connected' || this.stateNow === 'connectedReadOnly') return Promise.resolve();
    if (TERMINAL_STATES.has(this.stateNow)) return Promise.reject(this.terminalError());
    const wait = timeoutMs ?? Math.max(this.requestedTimeoutMs, this.connectTimeoutMs * this.hosts.length);
    const p = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const e = new ZkError(Code.CONNECTIONLOSS, undefined, `could not connect within ${wait} ms`);
        this.connectWaiters = this.connectWaiters.filter((w) => w.resolve !== done);
        reject(e);
        void this.close();
      }, wait);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.connectWaiters.push({ resolve: done, reject: (e) => { clearTimeout(timer); reject(e); } });
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
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_REPLY_WAIT_MS)));
      await Promise.race([sent, timeout]);
      clearTimeout(timer);
    }
    this.finishClose();
  }

  private finishClose(): void {
    clearTimeout(this.reconnectTimer);
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
    const pauseMs = this.reconnectPausedUntilMs - Date.now();
    if (pauseMs > 0) {
      this.reconnectTimer = setTimeout(() => this.startAttempt(), pauseMs);
      return;
    }
    const host = this.hosts[this.hostIndex % this.hosts.length];
    const socket = net.connect({ host: host.host, port: host.port });
    socket.setNoDelay(true);
    const now = Date.now();
    const conn: Conn = {
      socket, host, frames: new FrameReader(this.maxFrameBytes), established: false, lastRecvMs: now, lastSendMs: now,
      readTimeoutMs: Math.floor((this.requestedTimeoutMs * 2) / 3), timer: undefined, outgoing: [], flushQueued: false,
    };
    this.conn = conn;
    this.log.debug('connecting', { host: `${host.host}:${host.port}`, session: hexSession(this.sessionIdNow) });
    conn.timer = setTimeout(() => this.dropConnection(conn, `connect timeout to ${host.host}:${host.port}`), this.connectTimeoutMs);
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
    clearTimeout(conn.timer);
    this.negotiatedTimeoutMs = resp.timeOut;
    this.sessionIdNow = resp.sessionId;
    this.passwordNow = Buffer.from(resp.passwd);
    conn.readTimeoutMs = Math.floor((resp.timeOut * 2) / 3);
    this.attemptsSinceConnected = 0;
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
    this.reconnectTimer = setTimeout(() => this.startAttempt(), fullPass ? this.reconnectDelayMs : 0);
  }

  private teardownSocket(conn: Conn): void {
    clearTimeout(conn.timer);
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
    clearTimeout(this.reconnectTimer);
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
    clearTimeout(conn.timer);
    const pingEveryMs = Math.min(Math.floor(conn.readTimeoutMs / 2), PING_INTERVAL_MS_MAX);
    const now = Date.now();
    const nextPing = conn.lastSendMs + pingEveryMs;
    const deadline = conn.lastRecvMs + conn.readTimeoutMs;
    const delay = Math.max(5, Math.min(nextPing, deadline) - now);
    conn.timer = setTimeout(() => this.onTick(conn, pingEveryMs), delay);
  }

  private onTick(conn: Conn, pingEveryMs: number): void {
    if (this.conn !== conn) return;
    const now = Date.now();
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
      conn.lastSendMs = Date.now();
      conn.socket.write(out);
    });
  }

  private onData(conn: Conn, chunk: Buffer): void {
    if (this.conn !== conn) return;
    conn.lastRecvMs = Date.now();
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
    this.stateNow = s;
    queueMicrotask(() => this.emit('state', s));
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

  /** Sends `req` and settles with `finish(err, body)`; a throw from `finish` rejects. */
  private call<T>(build: Request | (() => Request), finish: Finish<T>): Promise<T> {
    // The executor runs synchronously: the request is queued in call order, and a throw (bad path) rejects.
    return new Promise<T>((resolve, reject) => {
      const req = typeof build === 'function' ? build() : build;
      if (TERMINAL_STATES.has(this.stateNow)) return reject(this.terminalError());
      if (this.closing) return reject(new ZkError(Code.SESSIONEXPIRED, undefined, 'client closing'));
      const p: Pending = {
        req, xid: 0, fail: reject,
        complete: (err, body) => {
          try {
            resolve(finish(err, body));
          } catch (e) {
            reject(asError(e));
          }
        },
      };
      this.sendNow(p);
    });
  }

  /** The common case: nonzero err rejects with ZkError(err, path), else decode and map the body. */
  private simple<T>(build: Request | (() => Request), path: string | undefined, map: (resp: Response) => T): Promise<T> {
    let op = 0;
    return this.call(() => {
      const req = typeof build === 'function' ? build() : build;
      op = req.op;
      return req;
    }, (err, body) => {
      if (err !== Code.OK) throw new ZkError(err, path);
      return map(decodeResponse(op, body));
    });
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

  /** Creates a node and returns its path (with the sequence suffix for sequential modes). */
  create(path: string, data?: Data, opts: CreateOptions = {}): Promise<string> {
    return this.simple(() => createRequest(this.chroot, path, data, opts, false), path, (resp) =>
      this.chroot.toClient((resp as { path: string }).path));
  }

  /** create with create2 (or createContainer / createTTL by mode): returns the path and the new node's Stat. */
  create2(path: string, data?: Data, opts: CreateOptions = {}): Promise<{ path: string; stat: R.Stat }> {
    return this.simple(() => createRequest(this.chroot, path, data, opts, true), path, (resp) => {
      const out = resp as { path: string; stat: R.Stat };
      return { path: this.chroot.toClient(out.path), stat: out.stat };
    });
  }

  delete(path: string, version = -1): Promise<void> {
    return this.simple(() => ({ op: OpCode.delete, path: this.server(path), version }), path, () => undefined);
  }

  /** The node's Stat, or null when it does not exist; a watcher is set either way (exist watch when missing). */
  exists(path: string, watcher?: WatchArg): Promise<R.Stat | null> {
    const w = this.watcherOf(watcher);
    return this.call(() => ({ op: OpCode.exists, path: this.server(path), watch: w !== undefined }), (err, body) => {
      if (err === Code.NONODE) {
        if (w) this.watches.addOneTime('exist', path, w);
        return null;
      }
      if (err !== Code.OK) throw new ZkError(err, path);
      if (w) this.watches.addOneTime('data', path, w);
      return R.readStat(body);
    });
  }

  getData(path: string, watcher?: WatchArg): Promise<{ data: Buffer | null; stat: R.Stat }> {
    return this.watchedRead(OpCode.getData, 'data', path, watcher, (body) => {
      const r = R.readGetDataResponse(body);
      return { data: r.data ? Buffer.from(r.data) : null, stat: r.stat };
    });
  }

  setData(path: string, data: Data, version = -1): Promise<R.Stat> {
    const req = (): Request => ({ op: OpCode.setData, path: this.server(path), data: toBuffer(data), version });
    return this.simple(req, path, (resp) => (resp as { stat: R.Stat }).stat);
  }

  getACL(path: string): Promise<{ acl: R.ACL[]; stat: R.Stat }> {
    return this.simple(() => ({ op: OpCode.getACL, path: this.server(path) }), path, (resp) => {
      const r = resp as { acl: R.ACL[]; stat: R.Stat };
      return { acl: r.acl, stat: r.stat };
    });
  }

  setACL(path: string, acl: R.ACL[], version = -1): Promise<R.Stat> {
    return this.simple(() => ({ op: OpCode.setACL, path: this.server(path), acl, version }), path, (resp) => (resp as { stat: R.Stat }).stat);
  }

  getChildren(path: string, watcher?: WatchArg): Promise<string[]> {
    return this.watchedRead(OpCode.getChildren, 'child', path, watcher, (body) => body.stringVector());
  }

  getChildren2(path: string, watcher?: WatchArg): Promise<{ children: string[]; stat: R.Stat }> {
    return this.watchedRead(OpCode.getChildren2, 'child', path, watcher, (body) => R.readGetChildren2Response(body));
  }

  private watchedRead<T>(
    op: typeof OpCode.getData | typeof OpCode.getChildren | typeof OpCode.getChildren2, kind: OneTimeKind, path: string,
    watcher: WatchArg, decode: (body: Reader) => T,
  ): Promise<T> {
    const w = this.watcherOf(watcher);
    return this.call(() => ({ op, path: this.server(path), watch: w !== undefined }), (err, body) => {
      if (err !== Code.OK) throw new ZkError(err, path);
      if (w) this.watches.addOneTime(kind, path, w);
      return decode(body);
    });
  }

  /** The number of all descendants of `path` (not counting itself). */
  getAllChildrenNumber(path: string): Promise<number> {
    return this.simple(() => ({ op: OpCode.getAllChildrenNumber, path: this.server(path) }), path, (resp) => (resp as { total: number }).total);
  }

  /** This session's ephemeral nodes whose paths start with `prefix` ("/" = all). */
  getEphemerals(prefix = '/'): Promise<string[]> {
    return this.simple(() => ({ op: OpCode.getEphemerals, path: this.server(prefix) }), prefix, (resp) =>
      (resp as { paths: string[] }).paths.map((p) => this.chroot.toClient(p)));
  }

  /** Waits until the server this client talks to has caught up with the leader; returns the path. */
  sync(path: string): Promise<string> {
    return this.simple(() => ({ op: OpCode.sync, path: this.server(path) }), path, (resp) => this.chroot.toClient((resp as { path: string }).path));
  }

  whoAmI(): Promise<R.ClientInfo[]> {
    return this.simple({ op: OpCode.whoAmI }, undefined, (resp) => (resp as { clients: R.ClientInfo[] }).clients);
  }

  // ------------------------------------------------------------ multi

  /** Runs `ops` atomically. On failure rejects with MultiError (a ZkError) carrying every op's result. */
  multi(ops: Op[]): Promise<MultiResult[]> {
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
    });
  }

  /** Reads several nodes in one round trip; each result is independent (errors come back as type 'error'). */
  multiRead(ops: ReadOp[]): Promise<MultiResult[]> {
    let reqs: Request[];
    try {
      reqs = ops.map((op) => readOpRequest(this.chroot, op));
    } catch (e) {
      return Promise.reject(asError(e));
    }
    return this.call({ op: OpCode.multiRead, ops: reqs }, (err, body) => {
      if (err !== Code.OK && body.remaining === 0) throw new ZkError(err);
      return this.multiResults(err, body);
    });
  }

  private multiResults(err: number, body: Reader): MultiResult[] {
    if (err !== Code.OK && body.remaining === 0) return [];
    const resp = decodeResponse(OpCode.multi, body) as { results: Parameters<typeof toMultiResult>[1][] };
    return resp.results.map((r) => toMultiResult(this.chroot, r));
  }

  transaction(): Transaction {
    return new Transaction((ops) => this.multi(ops));
  }

  // ------------------------------------------------------------ auth

  /**
   * Adds credentials to the session (kept and re-sent on every reconnect). Resolves when the server accepts them;
   * bad credentials move the client to 'authFailed' (terminal) and reject with AUTHFAILED.
   */
  addAuth(scheme: string, auth: Buffer | string): Promise<void> {
    if (TERMINAL_STATES.has(this.stateNow)) return Promise.reject(this.terminalError());
    const info: AuthInfo = { scheme, auth };
    this.auth.push(info);
    const conn = this.conn;
    if (!conn?.established) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.authWaiters.push({ resolve, reject });
      this.write(conn, authFrame(info));
    });
  }

  // ------------------------------------------------------------ watches

  /** Sets a persistent (or persistent recursive) watch; it stays until removed and survives reconnects. */
  addWatch(path: string, watcher: Watcher, mode: AddWatchModeName | number = 'persistent'): Promise<void> {
    const recursive = mode === 'recursive' || mode === AddWatchMode.PersistentRecursive;
    const type = recursive ? AddWatchMode.PersistentRecursive : AddWatchMode.Persistent;
    return this.call(() => ({ op: OpCode.addWatch, path: this.server(path), type }), (err) => {
      if (err !== Code.OK) throw new ZkError(err, path);
      this.watches.addPersistent(path, watcher, recursive);
    });
  }

  /**
   * Removes `watcher` from `path` for `type` (WatcherType: Children 1, Data 2, Any 3). NOWATCHER when it is not
   * registered. The server-side watch is removed only when no other watcher of this client still needs it. With
   * `local`, the watcher is removed here even if the server cannot be reached.
   */
  removeWatches(path: string, watcher: Watcher, type: number, local = false): Promise<void> {
    return this.removeImpl(path, watcher, type, local);
  }

  /** Removes every watcher of `type` on `path`. */
  removeAllWatches(path: string, type: number, local = false): Promise<void> {
    return this.removeImpl(path, undefined, type, local);
  }

  private async removeImpl(path: string, watcher: Watcher | undefined, type: number, local: boolean): Promise<void> {
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
      await this.simple({ op: OpCode.removeWatches, path: serverPath, type: serverType }, path, () => undefined);
    } catch (e) {
      if (!local) throw e;
    }
    removeLocally();
  }

  /** Resolves if the server holds a watch of `type` on `path` for this session (NOWATCHER otherwise). */
  async checkWatches(path: string, type: number, watcher?: Watcher): Promise<void> {
    const serverPath = this.server(path);
    if (!this.watches.contains(path, watcher, type)) throw new ZkError(Code.NOWATCHER, path);
    await this.simple({ op: OpCode.checkWatches, path: serverPath, type }, path, () => undefined);
  }

  // ------------------------------------------------------------ test hooks

  /**
   * Test hook: drops the socket as a network failure would. The client reconnects (next host, same session) after
   * `pauseMs`.
   */
  dropConnectionForTest(pauseMs = 0): void {
    this.reconnectPausedUntilMs = Date.now() + pauseMs;
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
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
