// A scripted ZooKeeper server for client tests that need exact control of the wire: what the client sends after a
// reconnect, replies out of order, silence, expired sessions. Loopback only, port chosen by the OS.
import net from 'node:net';
import { Reader, Writer } from '../../src/jute/codec.js';
import { FrameReader } from '../../src/client/framing.js';
import { OpCode } from '../../src/protocol/constants.js';
import * as R from '../../src/protocol/records.js';
import { decodeRequest, encodeResponse, type Request, type Response } from '../../src/protocol/requests.js';

export interface Received {
  conn: number;
  xid: number;
  op: number;
  req: Request;
}

export interface FakeOptions {
  /** Negotiated timeout to grant; 0 answers "expired". */
  timeOut?: number;
  /** Never answer the ConnectRequest. */
  silentHandshake?: boolean;
  /** Answer pings (default true). */
  answerPings?: boolean;
  /** Replace the reply to a request: return [xid, err, body] or undefined for the default. */
  reply?: (r: Received) => { xid?: number; err?: number; zxid?: number; body?: Response } | 'none' | undefined;
}

export const STAT0: R.Stat = {
  czxid: 1, mzxid: 1, ctime: 1, mtime: 1, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n, dataLength: 0,
  numChildren: 0, pzxid: 1,
};

export class FakeServer {
  private readonly server = net.createServer();
  private readonly sockets = new Set<net.Socket>();
  readonly connects: R.ConnectRequest[] = [];
  readonly received: Received[] = [];
  /** Each data event's frame count, per connection. */
  readonly chunkFrames: number[] = [];
  port = 0;
  private zxid = 100;
  private conns = 0;

  constructor(private readonly opts: FakeOptions = {}) {
    this.server.on('connection', (s) => this.onConnection(s));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this;
  }

  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Closes every client connection (the listener stays). */
  dropAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** Sends a notification to every connection. */
  notify(ev: R.WatcherEvent): void {
    for (const s of this.sockets) s.write(frameOf((w) => { R.writeReplyHeader(w, { xid: -1, zxid: -1, err: 0 }); R.writeWatcherEvent(w, ev); }));
  }

  async stop(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(s: net.Socket): void {
    const conn = ++this.conns;
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => undefined);
    const frames = new FrameReader(8 * 1024 * 1024);
    let handshaken = false;
    s.on('data', (chunk: Buffer) => {
      const list = frames.push(chunk);
      this.chunkFrames.push(list.length);
      for (const body of list) {
        if (!handshaken) {
          handshaken = true;
          this.onConnect(s, R.readConnectRequest(new Reader(body)));
          continue;
        }
        const r = new Reader(body);
        const h = R.readRequestHeader(r);
        const rec: Received = { conn, xid: h.xid, op: h.type, req: decodeRequest(h.type, r) };
        this.received.push(rec);
        this.answer(s, rec);
      }
    });
  }

  private onConnect(s: net.Socket, req: R.ConnectRequest): void {
    this.connects.push(req);
    if (this.opts.silentHandshake) return;
    const timeOut = this.opts.timeOut ?? req.timeOut;
    const expired = timeOut <= 0;
    const resp: R.ConnectResponse = {
      protocolVersion: 0, timeOut: expired ? 0 : timeOut, sessionId: expired ? 0n : req.sessionId === 0n ? 0x1234n : req.sessionId,
      passwd: expired ? Buffer.alloc(16) : Buffer.alloc(16, 9), readOnly: false,
    };
    s.write(frameOf((w) => R.writeConnectResponse(w, resp)));
    if (expired) s.end();
  }

  private answer(s: net.Socket, rec: Received): void {
    if (rec.op === OpCode.ping && this.opts.answerPings === false) return;
    const custom = this.opts.reply?.(rec);
    if (custom === 'none') return;
    const zxid = rec.xid > 0 ? ++this.zxid : rec.xid === -2 ? this.zxid : 0;
    const xid = custom?.xid ?? rec.xid;
    const err = custom?.err ?? 0;
    const body = custom?.body ?? defaultResponse(rec.op);
    s.write(frameOf((w) => {
      R.writeReplyHeader(w, { xid, zxid: custom?.zxid ?? zxid, err });
      if (err === 0 && body) encodeResponse(w, body);
    }));
  }
}

function defaultResponse(op: number): Response | undefined {
  switch (op) {
    case OpCode.getData: return { op, data: Buffer.from('d'), stat: STAT0 };
    case OpCode.exists: return { op, stat: STAT0 };
    case OpCode.getChildren: return { op, children: [] };
    case OpCode.create: return { op, path: '/created' };
    default: return undefined;
  }
}

export function frameOf(body: (w: Writer) => void): Buffer {
  const w = new Writer();
  w.int(0);
  body(w);
  w.patchInt(0, w.length - 4);
  return w.toBuffer();
}
