// Fuzz support: a minimal raw client-port session built from our records (no client library), used to check that a
// server still serves normal clients after it has been fed garbage: connect, create a node, read it back, close.
import net from 'node:net';
import { Reader, Writer } from '../../src/jute/codec.js';
import { OpCode } from '../../src/protocol/constants.js';
import * as R from '../../src/protocol/records.js';
import { decodeResponse, encodeRequest, type Request } from '../../src/protocol/requests.js';

export function frame(payload: Uint8Array): Buffer {
  const w = new Writer(payload.length + 4);
  w.int(payload.length).raw(payload);
  return w.toBuffer();
}

export function connectRequestFrame(timeOut = 10_000): Buffer {
  const w = new Writer();
  R.writeConnectRequest(w, { protocolVersion: 0, lastZxidSeen: 0, timeOut, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false });
  return frame(w.toBuffer());
}

export function requestFrame(xid: number, q: Request): Buffer {
  const w = new Writer();
  R.writeRequestHeader(w, { xid, type: q.op });
  encodeRequest(w, q);
  return frame(w.toBuffer());
}

/** Reads whole frames from a socket, with a deadline per frame. */
export class FrameReader {
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;

  constructor(sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => undefined);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  async next(timeoutMs: number): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.buf.length >= 4) {
        const len = this.buf.readInt32BE(0);
        if (this.buf.length >= 4 + len) {
          const f = this.buf.subarray(4, 4 + len);
          this.buf = this.buf.subarray(4 + len);
          return f;
        }
      }
      if (this.closed) throw new Error('connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

export async function openSocket(port: number, host = '127.0.0.1', timeoutMs = 5000): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    const t = setTimeout(() => {
      sock.destroy();
      reject(new Error('connect timed out'));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(t);
      resolve(sock);
    });
    sock.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/**
 * A fresh session creates `path` with `data`, reads it back and closes. Throws if any step fails or times out.
 */
export async function healthCheck(port: number, path: string, data: Buffer, timeoutMs = 10_000): Promise<void> {
  const sock = await openSocket(port);
  try {
    const frames = new FrameReader(sock);
    sock.write(connectRequestFrame());
    const cr = R.readConnectResponse(new Reader(await frames.next(timeoutMs)));
    if (cr.timeOut <= 0 || cr.sessionId === 0n) throw new Error(`session refused: ${JSON.stringify({ ...cr, sessionId: String(cr.sessionId) })}`);
    const open = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
    sock.write(requestFrame(1, { op: OpCode.create, create: { path, data, acl: open, flags: 0 } }));
    sock.write(requestFrame(2, { op: OpCode.getData, path, watch: false }));
    sock.write(requestFrame(3, { op: OpCode.closeSession }));
    const want = [OpCode.create, OpCode.getData, OpCode.closeSession];
    for (const [i, op] of want.entries()) {
      for (;;) {
        const r = new Reader(await frames.next(timeoutMs));
        const h = R.readReplyHeader(r);
        if (h.xid < 0) continue; // notifications, pings
        if (h.xid !== i + 1) throw new Error(`reply xid ${h.xid}, expected ${i + 1}`);
        if (h.err !== 0) throw new Error(`op ${op} failed with ${h.err}`);
        const resp = decodeResponse(op, r);
        if (resp.op === OpCode.create && resp.path !== path) throw new Error(`created ${resp.path}`);
        if (resp.op === OpCode.getData && !(resp.data ?? Buffer.alloc(0)).equals(data)) throw new Error('read back different data');
        break;
      }
    }
  } finally {
    sock.destroy();
  }
}
