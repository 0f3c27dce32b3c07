// A lean pipelined ZooKeeper client session for the load driver: connect, then keep many requests outstanding and
// read the replies in order. Each request carries a small integer tag and its send time; replies go to one
// listener object (no per-request closure on the hot path). Requests are appended to a shared output slab and
// written with one socket write per microtask, so a burst of sends costs one syscall. Pings go out when the
// session has sent nothing for a third of the negotiated timeout.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { Reader, Writer } from '../jute/codec.js';
import { OpCode, PROTOCOL_VERSION, Xid } from '../protocol/constants.js';
import { Code } from '../protocol/errors.js';
import { readConnectResponse, readWatcherEvent, writeConnectRequest, writeRequestHeader } from '../protocol/records.js';
import { decodeResponse, encodeRequest, type Request, type Response } from '../protocol/requests.js';

export interface SessionListener {
  /** A reply to a request sent with `sendFrame`. `buf[bodyStart, bodyEnd)` is the reply body (valid only now). */
  onReply(s: Session, tag: number, err: number, buf: Buffer, bodyStart: number, bodyEnd: number, sentAt: number, now: number): void;
  /** A watch notification. */
  onNotification?(s: Session, type: number, path: string, now: number): void;
  /** The connection closed; `outstanding` requests were lost. */
  onClose?(s: Session, outstanding: number, error: Error | undefined): void;
}

export interface CallResult {
  err: number;
  response?: Response;
}

/** Tag of requests made with `call()`; their replies resolve a promise instead of reaching the listener. */
const CALL_TAG = -1;
const SLAB = 256 * 1024;
const MAX_FRAME = 64 * 1024 * 1024;

/** A request frame (length prefix included) whose xid at byte offset 4 is patched on each send. */
export function buildFrame(req: Request): Buffer {
  const w = new Writer(128);
  w.int(0);
  writeRequestHeader(w, { xid: 0, type: req.op });
  encodeRequest(w, req);
  w.patchInt(0, w.length - 4);
  return w.toBuffer();
}

export class SessionError extends Error {
  override name = 'SessionError';
}

export class Session {
  sessionId = 0n;
  timeoutMs = 0;
  closed = false;
  /** Set by the owner to anything it likes (e.g. a client index). */
  id = 0;

  private sock: net.Socket | undefined;
  private connected = false;
  private xid = 0;
  // The FIFO of outstanding requests, as parallel ring buffers.
  private cap = 64;
  private head = 0;
  private n = 0;
  private tags = new Int32Array(this.cap);
  private xids = new Int32Array(this.cap);
  private times = new Float64Array(this.cap);
  private ops = new Int32Array(this.cap);
  private calls: Array<((r: CallResult) => void) | undefined> = new Array<undefined>(this.cap);
  // Output slab: bytes [outStart, outPos) are queued and not yet written.
  private out = Buffer.allocUnsafe(SLAB);
  private outStart = 0;
  private outPos = 0;
  private flushQueued = false;
  private lastSend = 0;
  private pingTimer: NodeJS.Timeout | undefined;
  // Input: a partial frame carried over from earlier chunks.
  private inChunks: Buffer[] = [];
  private inBytes = 0;
  private closeWaiters: Array<() => void> = [];

  constructor(private readonly listener: SessionListener) {}

  get outstanding(): number {
    return this.n;
  }

  /** Opens the TCP connection and establishes a new session; rejects after `timeoutMs` of no answer. */
  connect(host: string, port: number, sessionTimeoutMs = 30_000, connectTimeoutMs = 10_000): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const sock = net.connect({ host, port, noDelay: true });
      this.sock = sock;
      let settled = false;
      const fail = (e: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.destroy();
        reject(e);
      };
      const timer = setTimeout(() => fail(new SessionError(`no session from ${host}:${port} within ${connectTimeoutMs} ms`)), connectTimeoutMs);
      sock.once('error', (e) => fail(new SessionError(`connect to ${host}:${port}: ${e.message}`)));
      sock.once('close', () => fail(new SessionError(`connection to ${host}:${port} closed during the handshake`)));
      sock.on('connect', () => {
        const w = new Writer(64);
        w.int(0);
        writeConnectRequest(w, {
          protocolVersion: PROTOCOL_VERSION, lastZxidSeen: 0, timeOut: sessionTimeoutMs, sessionId: 0n,
          passwd: Buffer.alloc(16), readOnly: false,
        });
        w.patchInt(0, w.length - 4);
        sock.write(w.toBuffer());
      });
      let pending: Buffer = Buffer.alloc(0);
      const onHandshakeData = (d: Buffer): void => {
        pending = pending.length ? Buffer.concat([pending, d]) : d;
        if (pending.length < 4) return;
        const len = pending.readInt32BE(0);
        if (len < 0 || len > 4096) return fail(new SessionError(`bad ConnectResponse length ${len}`));
        if (pending.length < 4 + len) return;
        const resp = readConnectResponse(new Reader(pending.subarray(4, 4 + len)));
        if (resp.timeOut <= 0) return fail(new SessionError('the server refused the session (expired)'));
        this.connected = true;
        this.sessionId = resp.sessionId;
        this.timeoutMs = resp.timeOut;
        settled = true;
        clearTimeout(timer);
        sock.removeAllListeners('error');
        sock.removeAllListeners('close');
        sock.removeListener('data', onHandshakeData);
        sock.on('data', (chunk: Buffer) => this.onData(chunk));
        sock.on('error', (e) => this.onClosed(e));
        sock.on('close', () => this.onClosed(undefined));
        this.lastSend = performance.now();
        const every = Math.max(100, Math.floor(this.timeoutMs / 3));
        this.pingTimer = setInterval(() => this.maybePing(every), every);
        this.pingTimer.unref();
        const rest = pending.subarray(4 + len);
        resolve();
        if (rest.length) this.onData(rest);
      };
      sock.on('data', onHandshakeData);
    });
  }

  /** Queues a prebuilt frame (see buildFrame) with a fresh xid. */
  sendFrame(frame: Buffer, tag: number, now = performance.now()): void {
    if (this.closed || !this.connected) return;
    const xid = this.nextXid();
    this.reserve(frame.length);
    frame.copy(this.out, this.outPos);
    this.out.writeInt32BE(xid, this.outPos + 4);
    this.outPos += frame.length;
    this.push(tag, xid, frame.readInt32BE(8), now, undefined);
    this.scheduleFlush();
  }

  /** Sends any request and resolves with its error code and decoded body (rejects only if the session closes). */
  call(req: Request): Promise<CallResult> {
    return new Promise<CallResult>((resolve, reject) => {
      if (this.closed || !this.connected) {
        reject(new SessionError(this.closed ? 'session closed' : 'session not connected'));
        return;
      }
      const xid = this.nextXid();
      const w = new Writer(64);
      w.int(0);
      writeRequestHeader(w, { xid, type: req.op });
      encodeRequest(w, req);
      w.patchInt(0, w.length - 4);
      this.reserve(w.length);
      w.view().copy(this.out, this.outPos);
      this.outPos += w.length;
      this.push(CALL_TAG, xid, req.op, performance.now(), (r) => {
        if (r.err === Code.CONNECTIONLOSS) reject(new SessionError('session closed with the request outstanding'));
        else resolve(r);
      });
      this.scheduleFlush();
    });
  }

  /** Sends closeSession and waits (bounded) for the server to close the connection. */
  async close(timeoutMs = 3000): Promise<void> {
    if (!this.connected) {
      this.destroy();
      return;
    }
    if (this.closed) return;
    const done = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    try {
      void this.call({ op: OpCode.closeSession }).catch(() => undefined);
    } catch {
      // already closing
    }
    const timer = setTimeout(() => this.destroy(), timeoutMs);
    await done;
    clearTimeout(timer);
  }

  destroy(): void {
    if (this.sock) this.sock.destroy();
    this.onClosed(undefined);
  }

  // ------------------------------------------------------------------ internals

  private nextXid(): number {
    this.xid = this.xid >= 0x7fffffff ? 1 : this.xid + 1;
    return this.xid;
  }

  private push(tag: number, xid: number, op: number, t: number, cb: ((r: CallResult) => void) | undefined): void {
    if (this.n === this.cap) this.grow();
    const i = (this.head + this.n) % this.cap;
    this.tags[i] = tag;
    this.xids[i] = xid;
    this.ops[i] = op;
    this.times[i] = t;
    this.calls[i] = cb;
    this.n++;
  }

  private grow(): void {
    const cap = this.cap * 2;
    const tags = new Int32Array(cap);
    const xids = new Int32Array(cap);
    const ops = new Int32Array(cap);
    const times = new Float64Array(cap);
    const calls: Array<((r: CallResult) => void) | undefined> = new Array<undefined>(cap);
    for (let k = 0; k < this.n; k++) {
      const i = (this.head + k) % this.cap;
      tags[k] = this.tags[i];
      xids[k] = this.xids[i];
      ops[k] = this.ops[i];
      times[k] = this.times[i];
      calls[k] = this.calls[i];
    }
    this.tags = tags;
    this.xids = xids;
    this.ops = ops;
    this.times = times;
    this.calls = calls;
    this.head = 0;
    this.cap = cap;
  }

  private reserve(bytes: number): void {
    if (this.outPos + bytes <= this.out.length) return;
    // Start a new slab; the queued bytes of the old one move along (they have not been handed to the socket).
    const queued = this.outPos - this.outStart;
    const next = Buffer.allocUnsafe(Math.max(SLAB, (queued + bytes) * 2));
    this.out.copy(next, 0, this.outStart, this.outPos);
    this.out = next;
    this.outStart = 0;
    this.outPos = queued;
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.outPos === this.outStart || this.closed || !this.sock) return;
    // The written range is never touched again: later bytes go after it or into a new slab.
    this.sock.write(this.out.subarray(this.outStart, this.outPos));
    this.outStart = this.outPos;
    this.lastSend = performance.now();
    if (this.out.length - this.outPos < 16 * 1024) {
      this.out = Buffer.allocUnsafe(SLAB);
      this.outStart = this.outPos = 0;
    }
  }

  private maybePing(every: number): void {
    if (this.closed || performance.now() - this.lastSend < every) return;
    this.reserve(12);
    this.out.writeInt32BE(8, this.outPos);
    this.out.writeInt32BE(Xid.ping, this.outPos + 4);
    this.out.writeInt32BE(OpCode.ping, this.outPos + 8);
    this.outPos += 12;
    this.scheduleFlush();
  }

  private onData(chunk: Buffer): void {
    let buf: Buffer;
    if (this.inBytes > 0) {
      this.inChunks.push(chunk);
      this.inBytes += chunk.length;
      const first = this.inChunks[0];
      // Wait for the whole frame before joining the pieces (keeps big replies linear, not quadratic).
      const need = this.inBytes >= 4 ? 4 + readLength(this.inChunks) : Infinity;
      if (this.inBytes < need) return;
      buf = this.inChunks.length === 1 ? first : Buffer.concat(this.inChunks, this.inBytes);
      this.inChunks = [];
      this.inBytes = 0;
    } else {
      buf = chunk;
    }
    const now = performance.now();
    let p = 0;
    while (buf.length - p >= 4) {
      const len = buf.readInt32BE(p);
      if (len < 16 || len > MAX_FRAME) {
        this.fail(new SessionError(`bad reply frame length ${len}`));
        return;
      }
      if (buf.length - p - 4 < len) break;
      this.onFrame(buf, p + 4, p + 4 + len, now);
      if (this.closed) return;
      p += 4 + len;
    }
    if (p < buf.length) {
      const rest = buf.subarray(p);
      this.inChunks = [rest];
      this.inBytes = rest.length;
    }
  }

  private onFrame(buf: Buffer, start: number, end: number, now: number): void {
    const xid = buf.readInt32BE(start);
    const err = buf.readInt32BE(start + 12);
    const body = start + 16;
    if (xid === Xid.notification) {
      const ev = readWatcherEvent(new Reader(buf.subarray(body, end)));
      this.listener.onNotification?.(this, ev.type, ev.path, now);
      return;
    }
    if (xid === Xid.ping) return;
    if (this.n === 0) {
      this.fail(new SessionError(`reply xid ${xid} with nothing outstanding`));
      return;
    }
    const i = this.head;
    if (this.xids[i] !== xid) {
      this.fail(new SessionError(`xid out of order: expected ${this.xids[i]}, got ${xid}`));
      return;
    }
    const tag = this.tags[i];
    const sentAt = this.times[i];
    const cb = this.calls[i];
    const op = this.ops[i];
    this.calls[i] = undefined;
    this.head = (this.head + 1) % this.cap;
    this.n--;
    if (tag === CALL_TAG) {
      if (!cb) return;
      let response: Response | undefined;
      if (err === 0) {
        try {
          response = decodeResponse(op, new Reader(buf.subarray(body, end)));
        } catch {
          response = undefined;
        }
      }
      cb({ err, response });
      if (op === OpCode.closeSession) this.sock?.end();
      return;
    }
    this.listener.onReply(this, tag, err, buf, body, end, sentAt, now);
  }

  private fail(e: Error): void {
    this.sock?.destroy();
    this.onClosed(e);
  }

  private onClosed(e: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    let lostWorkload = 0;
    for (let k = 0; k < this.n; k++) {
      const i = (this.head + k) % this.cap;
      const cb = this.calls[i];
      if (cb) {
        if (this.ops[i] === OpCode.closeSession) cb({ err: 0 });
        else cb({ err: Code.CONNECTIONLOSS });
      } else if (this.tags[i] !== CALL_TAG) lostWorkload++;
      this.calls[i] = undefined;
    }
    this.n = 0;
    this.listener.onClose?.(this, lostWorkload, e);
    for (const w of this.closeWaiters) w();
    this.closeWaiters = [];
  }
}

function readLength(chunks: Buffer[]): number {
  const head = chunks[0].length >= 4 ? chunks[0] : Buffer.concat(chunks).subarray(0, 4);
  return head.readInt32BE(0);
}

