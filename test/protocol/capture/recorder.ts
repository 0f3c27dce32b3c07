// Capture support (not a test): a recording TCP proxy for the client port. It sits between a real ZooKeeper client
// and Apache ZooKeeper, forwards bytes unchanged both ways and records every length-prefixed frame (payload only,
// without the 4-byte length) per connection and direction. Used by ./main.ts to produce test/fixtures/golden/.
//
// Reconnect trigger: when a client request frame contains the bytes of `dropMarker` (a path such as
// "/golden-drop"), the proxy forwards the server's reply to that xid and then closes both sockets. The next client
// connection is held for `holdMs` before it is forwarded upstream, so a driver can change the tree while the client
// is away and the SetWatches sent on reconnect fires events.
import net from 'node:net';

export type Direction = 'c2s' | 's2c';

export interface Frame {
  dir: Direction;
  /** The frame payload (without the int32 length prefix), hex. */
  hex: string;
}

export interface RecordedConnection {
  id: number;
  frames: Frame[];
  /** Bytes left over that never formed a whole frame (normally empty). */
  partial: { c2s: string; s2c: string };
  /** Why the connection ended: 'client', 'server' (that side closed first) or 'proxy' (drop marker). */
  endedBy?: 'client' | 'server' | 'proxy';
}

export interface ProxyOptions {
  targetHost: string;
  targetPort: number;
  dropMarker?: string;
  holdMs?: number;
}

/** Splits a byte stream into int32-length-prefixed frames. */
class FrameSplitter {
  private pending: Buffer = Buffer.alloc(0);
  constructor(private readonly onFrame: (payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      if (this.pending.length < 4) return;
      const len = this.pending.readInt32BE(0);
      if (len < 0 || len > 16 * 1024 * 1024) return; // not a framed stream (4lw or garbage): keep as partial
      if (this.pending.length < 4 + len) return;
      this.onFrame(Buffer.from(this.pending.subarray(4, 4 + len)));
      this.pending = this.pending.subarray(4 + len);
    }
  }

  rest(): Buffer {
    return this.pending;
  }
}

export class RecordingProxy {
  readonly connections: RecordedConnection[] = [];
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private holdNext = false;
  private nextId = 0;

  constructor(private readonly opts: ProxyOptions) {}

  async listen(): Promise<number> {
    const server = net.createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('proxy has no port');
    return addr.port;
  }

  private accept(client: net.Socket): void {
    const conn: RecordedConnection = { id: this.nextId++, frames: [], partial: { c2s: '', s2c: '' } };
    this.connections.push(conn);
    this.sockets.add(client);
    const held: Buffer[] = [];
    let upstream: net.Socket | undefined;
    let closed = false;
    let dropXid: number | undefined;
    let firstRequest = true;
    let dropNow = false;

    const end = (by: 'client' | 'server' | 'proxy'): void => {
      if (closed) return;
      closed = true;
      conn.endedBy = by;
      conn.partial.c2s = c2s.rest().toString('hex');
      conn.partial.s2c = s2c.rest().toString('hex');
      if (by === 'proxy') {
        client.destroy();
        upstream?.destroy();
      } else {
        // Half-close politely so bytes already written reach the other side.
        client.end();
        upstream?.end();
      }
    };

    const c2s = new FrameSplitter((payload) => {
      conn.frames.push({ dir: 'c2s', hex: payload.toString('hex') });
      if (firstRequest) {
        firstRequest = false;
        return;
      }
      const marker = this.opts.dropMarker;
      if (marker !== undefined && payload.length >= 4 && payload.includes(Buffer.from(marker, 'utf8'))) {
        dropXid = payload.readInt32BE(0);
      }
    });
    const s2c = new FrameSplitter((payload) => {
      conn.frames.push({ dir: 's2c', hex: payload.toString('hex') });
      if (dropXid !== undefined && payload.length >= 4 && payload.readInt32BE(0) === dropXid) dropNow = true;
    });

    client.on('data', (d: Buffer) => {
      if (closed) return;
      c2s.push(d);
      if (upstream?.readyState === 'open') upstream.write(d);
      else held.push(d);
    });
    client.on('error', () => end('client'));
    client.on('close', () => end('client'));

    const connectUpstream = (): void => {
      if (closed) return;
      const up = net.connect({ host: this.opts.targetHost, port: this.opts.targetPort });
      upstream = up;
      this.sockets.add(up);
      up.on('connect', () => {
        for (const d of held) up.write(d);
        held.length = 0;
      });
      up.on('data', (d: Buffer) => {
        s2c.push(d);
        if (closed) return;
        client.write(d);
        if (dropNow) {
          // The reply to the marker request is on its way to the client: cut the connection right behind it.
          this.holdNext = true;
          closed = true;
          conn.endedBy = 'proxy';
          conn.partial.c2s = c2s.rest().toString('hex');
          conn.partial.s2c = s2c.rest().toString('hex');
          up.destroy();
          client.end();
        }
      });
      up.on('error', () => end('server'));
      up.on('close', () => end('server'));
    };

    if (this.holdNext) {
      this.holdNext = false;
      setTimeout(connectUpstream, this.opts.holdMs ?? 1500);
    } else {
      connectUpstream();
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
