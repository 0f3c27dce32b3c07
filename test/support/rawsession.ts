// Test support: a minimal raw ZooKeeper client session built on our own protocol records (no client library), for
// tests that want to see exactly what a server sends. It connects (ConnectRequest, optionally resuming a session),
// pipelines requests and matches replies by xid (checking that ordinary replies come back in request order), and
// keeps an ordered log of every frame received: replies and watch notifications interleaved in arrival order, and
// the connection closing. It does no pinging of its own, no reconnecting and no watch bookkeeping.
import net from 'node:net';
import { Reader, Writer } from '../../src/jute/codec.js';
import { OpCode, Xid } from '../../src/protocol/constants.js';
import * as R from '../../src/protocol/records.js';
import { decodeResponse, encodeRequest, type Request, type Response } from '../../src/protocol/requests.js';

export interface RawConnectOptions {
  host?: string;
  port: number;
  /** Requested session timeout, ms (default 10000). */
  sessionTimeoutMs?: number;
  /** Resume this session (with `passwd`); 0n/undefined asks for a new one. */
  sessionId?: bigint;
  passwd?: Buffer;
  lastZxidSeen?: number;
  /** The trailing readOnly byte; `undefined` omits it (an "old" client). Default false. */
  readOnly?: boolean | undefined;
  /** Bound on connecting and on the ConnectResponse (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Default bound on each request (default 10000 ms). */
  requestTimeoutMs?: number;
}

export interface Reply {
  header: R.ReplyHeader;
  response?: Response;
}

/** One frame (or the close) as received, in arrival order. */
export type Received =
  | { kind: 'reply'; op: number; header: R.ReplyHeader; response?: Response; outOfOrder?: boolean }
  | { kind: 'event'; header: R.ReplyHeader; event: R.WatcherEvent }
  | { kind: 'unmatched'; header: R.ReplyHeader }
  | { kind: 'closed' };

interface Pending {
  xid: number;
  op: number;
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Thrown by `send` when the server closes the connection before replying. */
export class ConnectionClosedError extends Error {
  override name = 'ConnectionClosedError';
}

const MAX_FRAME = 64 * 1024 * 1024;

/** A length-prefixed frame of what `body` writes. */
export function frame(body: (w: Writer) => void): Buffer {
  const w = new Writer();
  w.int(0);
  body(w);
  w.patchInt(0, w.length - 4);
  return w.toBuffer();
}

/** `req` framed as an ordinary request with `xid`. */
export function requestFrame(xid: number, req: Request): Buffer {
  return frame((w) => {
    R.writeRequestHeader(w, { xid, type: req.op });
    encodeRequest(w, req);
  });
}

/** The on-wire frame length (without the 4-byte length prefix) of `req` sent as an ordinary request. */
export function requestFrameLength(req: Request): number {
  return requestFrame(1, req).length - 4;
}

export class RawSession {
  readonly log: Received[] = [];
  /** Highest zxid seen in a reply header (what a client sends as lastZxidSeen). */
  lastZxidSeen: number;
  closed = false;
  private readonly pending = new Map<number, Pending[]>();
  private nextXid = 1;
  private inbuf: Buffer = Buffer.alloc(0);
  private closeWaiters: Array<() => void> = [];
  private logWaiters: Array<() => void> = [];

  private constructor(
    private readonly sock: net.Socket,
    readonly connectResponse: R.ConnectResponse,
    private readonly requestTimeoutMs: number,
    lastZxidSeen: number,
  ) {
    this.lastZxidSeen = lastZxidSeen;
  }

  get sessionId(): bigint {
    return this.connectResponse.sessionId;
  }
  get passwd(): Buffer {
    return this.connectResponse.passwd;
  }
  /** The negotiated timeout; 0 means the server refused the session (expired or bad password). */
  get timeOut(): number {
    return this.connectResponse.timeOut;
  }

  /**
   * Opens a connection and performs the handshake. Rejects if the server closes without a ConnectResponse (it does
   * that, for instance, when lastZxidSeen is ahead of it).
   */
  static connect(opts: RawConnectOptions): Promise<RawSession> {
    const host = opts.host ?? '127.0.0.1';
    const timeoutMs = opts.connectTimeoutMs ?? 5000;
    const req: R.ConnectRequest = {
      protocolVersion: 0,
      lastZxidSeen: opts.lastZxidSeen ?? 0,
      timeOut: opts.sessionTimeoutMs ?? 10_000,
      sessionId: opts.sessionId ?? 0n,
      passwd: opts.passwd ?? Buffer.alloc(16),
      readOnly: 'readOnly' in opts ? opts.readOnly : false,
    };
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port: opts.port });
      sock.setNoDelay(true);
      let buf = Buffer.alloc(0);
      let done = false;
      const fail = (e: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sock.destroy();
        reject(e);
      };
      const timer = setTimeout(() => fail(new Error(`connect to ${host}:${opts.port} timed out after ${timeoutMs} ms`)), timeoutMs);
      sock.on('connect', () => sock.write(frame((w) => R.writeConnectRequest(w, req))));
      sock.on('error', (e) => fail(e));
      sock.on('close', () => fail(new ConnectionClosedError('connection closed before ConnectResponse')));
      const onData = (d: Buffer): void => {
        buf = Buffer.concat([buf, d]);
        if (buf.length < 4) return;
        const len = buf.readInt32BE(0);
        if (buf.length < 4 + len) return;
        done = true;
        clearTimeout(timer);
        sock.removeAllListeners('data');
        sock.removeAllListeners('error');
        sock.removeAllListeners('close');
        const resp = R.readConnectResponse(new Reader(buf.subarray(4, 4 + len)));
        const session = new RawSession(sock, resp, opts.requestTimeoutMs ?? 10_000, req.lastZxidSeen);
        session.attach(buf.subarray(4 + len));
        resolve(session);
      };
      sock.on('data', onData);
    });
  }

  private attach(rest: Buffer): void {
    this.sock.on('data', (d: Buffer) => this.onData(d));
    this.sock.on('error', () => undefined); // 'close' follows
    this.sock.on('close', () => this.onClose());
    if (rest.length > 0) this.onData(rest);
  }

  private onData(d: Buffer): void {
    this.inbuf = this.inbuf.length === 0 ? d : Buffer.concat([this.inbuf, d]);
    while (this.inbuf.length >= 4) {
      const len = this.inbuf.readInt32BE(0);
      if (len < 0 || len > MAX_FRAME) {
        this.sock.destroy();
        return;
      }
      if (this.inbuf.length < 4 + len) break;
      const body = this.inbuf.subarray(4, 4 + len);
      this.inbuf = this.inbuf.subarray(4 + len);
      this.onFrame(body);
    }
  }

  private onFrame(body: Buffer): void {
    const r = new Reader(body, 0, MAX_FRAME);
    const header = R.readReplyHeader(r);
    if (header.xid === Xid.notification) {
      this.push({ kind: 'event', header, event: R.readWatcherEvent(r) });
      return;
    }
    if (header.zxid > this.lastZxidSeen) this.lastZxidSeen = header.zxid;
    const queue = this.pending.get(header.xid);
    const p = queue?.shift();
    if (!p) {
      this.push({ kind: 'unmatched', header });
      return;
    }
    if (queue!.length === 0) this.pending.delete(header.xid);
    clearTimeout(p.timer);
    // Ordinary requests (positive xids) must be answered in the order they were sent.
    const outOfOrder = header.xid > 0 && [...this.pending.keys()].some((x) => x > 0 && x < header.xid);
    const response = header.err === 0 ? safeDecode(p.op, r) : undefined;
    this.push({ kind: 'reply', op: p.op, header, response, ...(outOfOrder ? { outOfOrder } : {}) });
    p.resolve({ header, response });
  }

  private push(e: Received): void {
    this.log.push(e);
    const waiters = this.logWaiters;
    this.logWaiters = [];
    for (const w of waiters) w();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.push({ kind: 'closed' });
    for (const queue of this.pending.values()) {
      for (const p of queue) {
        clearTimeout(p.timer);
        p.reject(new ConnectionClosedError(`connection closed before the reply to xid ${p.xid}`));
      }
    }
    this.pending.clear();
    for (const w of this.closeWaiters) w();
    this.closeWaiters = [];
  }

  /** Sends a request; the xid is the next ordinary one unless the op has a special xid (auth, setWatches, ping). */
  send(req: Request, timeoutMs = this.requestTimeoutMs): Promise<Reply> {
    const xid = specialXid(req.op) ?? this.nextXid++;
    return this.sendWithXid(xid, req, timeoutMs);
  }

  sendWithXid(xid: number, req: Request, timeoutMs = this.requestTimeoutMs): Promise<Reply> {
    if (this.closed) return Promise.reject(new ConnectionClosedError('connection already closed'));
    const bytes = frame((w) => {
      R.writeRequestHeader(w, { xid, type: req.op });
      encodeRequest(w, req);
    });
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        const queue = this.pending.get(xid);
        const i = queue?.indexOf(p) ?? -1;
        if (i >= 0) queue!.splice(i, 1);
        reject(new Error(`no reply to xid ${xid} (op ${req.op}) within ${timeoutMs} ms`));
      }, timeoutMs);
      const p: Pending = { xid, op: req.op, resolve, reject, timer };
      const queue = this.pending.get(xid);
      if (queue) queue.push(p);
      else this.pending.set(xid, [p]);
      this.sock.write(bytes);
    });
  }

  /** Sends an AuthPacket (xid -4); the server closes the connection after a failure. */
  auth(scheme: string, auth: string | Buffer): Promise<Reply> {
    return this.send({ op: OpCode.auth, auth: { type: 0, scheme, auth: typeof auth === 'string' ? Buffer.from(auth) : auth } });
  }

  /** SetWatches (opcode 101), or SetWatches2 (105) when persistent watches are given; xid -8. */
  setWatches(w: Partial<R.SetWatches> & { relativeZxid: number }, v2 = !!(w.persistentWatches?.length || w.persistentRecursiveWatches?.length)): Promise<Reply> {
    const watches: R.SetWatches = {
      relativeZxid: w.relativeZxid,
      dataWatches: w.dataWatches ?? [],
      existWatches: w.existWatches ?? [],
      childWatches: w.childWatches ?? [],
      persistentWatches: w.persistentWatches ?? [],
      persistentRecursiveWatches: w.persistentRecursiveWatches ?? [],
    };
    return this.send(v2 ? { op: OpCode.setWatches2, watches } : { op: OpCode.setWatches, watches });
  }

  ping(): Promise<Reply> {
    return this.send({ op: OpCode.ping });
  }

  /** Resolves when the connection has closed, or rejects after `timeoutMs`. */
  waitClosed(timeoutMs = 5000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connection not closed within ${timeoutMs} ms`)), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Resolves with the first log entry (at index >= `from`) that satisfies `pred`, or rejects after `timeoutMs`. */
  async waitForLog(pred: (e: Received) => boolean, timeoutMs = 5000, from = 0): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.log.slice(from).find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.logWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends closeSession, waits for its reply and for the server to close the connection (bounded). */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    try {
      await this.send({ op: OpCode.closeSession }, timeoutMs);
      await this.waitClosed(timeoutMs);
    } finally {
      this.destroy();
    }
  }

  /** Drops the connection without closing the session (as a client that loses its network would). */
  destroy(): void {
    this.sock.destroy();
  }

  /** Writes raw bytes as they are (for malformed-input tests). */
  writeRaw(bytes: Buffer): void {
    this.sock.write(bytes);
  }
}

function specialXid(op: number): number | undefined {
  switch (op) {
    case OpCode.auth: return Xid.auth;
    case OpCode.setWatches: case OpCode.setWatches2: return Xid.setWatches;
    case OpCode.ping: return Xid.ping;
    default: return undefined;
  }
}

/** Decodes a reply body; a missing or malformed body gives undefined (the log then shows no response). */
function safeDecode(op: number, r: Reader): Response | undefined {
  try {
    return decodeResponse(op, r);
  } catch {
    return undefined;
  }
}
