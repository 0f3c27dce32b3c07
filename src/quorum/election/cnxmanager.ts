// cnxmanager.ts: ZooKeeper's QuorumCnxManager over node:net, the shell that carries election messages between
// servers' election ports. It keeps at most one connection per pair of servers, frames messages as
// `int length + payload`, keeps the newest message per peer, and re-sends the last one on a new connection. It
// knows nothing of what the messages mean: runner.ts binds it to the FastLeaderElection core.
//
// Connection rule (QuorumCnxManager.startConnection / handleConnection): whoever connects first sends its initial
// message. A connection survives only if the initiator's id is larger than the receiver's. An initiator with the
// smaller id still sends its initial message and then drops the socket; the receiver (the larger id) sees a smaller
// sid, closes the socket and dials back, and that connection survives.

import type { Timer } from '../../util/sys.js';
import { clock, net } from '../../util/sys.js';
import type { Server, Socket } from 'node:net';
import { Reader, Writer } from '../../jute/codec.js';
import { type Logger, silentLogger } from '../../util/log.js';
import { ELECTION_PACKET_MAX } from './notification.js';

/** Sent first by every 3.5+ initiator (single address); -65535 (V2, several addresses joined by '|') is accepted. */
export const PROTOCOL_VERSION_V1 = -65536n;
export const PROTOCOL_VERSION_V2 = -65535n;
/** QuorumCnxManager.maxBuffer: the longest address string in an initial message. */
export const INITIAL_ADDRESS_MAX = 2048;
/** QuorumPeer.OBSERVER_ID: an observer without an id; it gets a negative id from a counter. */
export const OBSERVER_ID = (1n << 63n) - 1n;
/** Default zookeeper.cnxTimeout: connect timeout and, here, the initial-message read timeout too. */
export const CNX_TIMEOUT_MS_DEFAULT = 5000;
/**
 * QuorumCnxManager.SEND_CAPACITY: a queue of one, the oldest dropped. Only the newest notification matters; a stale
 * one would only make the peer reconsider a vote already replaced.
 */
export const SEND_CAPACITY = 1;
/** Reconnect backoff for a peer with a message waiting (a zkts addition; upstream waits for the next round). */
export const RECONNECT_BACKOFF_MS_MIN = 100;
export const RECONNECT_BACKOFF_MS_MAX = 5000;

export interface ElectionAddress {
  id: number;
  host: string;
  electionPort: number;
}

export interface QuorumCnxManagerOptions {
  myId: number;
  /** Where I listen. */
  listenHost: string;
  listenPort: number;
  /** The host my initial message names (my server line's host); defaults to listenHost. */
  advertiseHost?: string;
  /** Every server I may dial (others are ignored; a dial-back uses the address the peer sent). */
  peers: readonly ElectionAddress[];
  cnxTimeoutMs?: number;
  logger?: Logger;
  /** One received frame (a notification, undecoded). My own loopback messages arrive here too. */
  onMessage(fromSid: number, payload: Buffer): void;
  onPeerConnected?(sid: number): void;
  onPeerDisconnected?(sid: number): void;
}

export type InitialMessage =
  | { kind: 'incomplete' }
  | { kind: 'error'; reason: string }
  | { kind: 'ok'; sid: bigint; addresses: string[]; consumed: number };

/** The initial message of a V1 initiator: long -65536, long myid, int len, "host:port". */
export function encodeInitialMessage(myId: number, host: string, port: number): Buffer {
  const addr = Buffer.from(`${host.includes(':') ? `[${host}]` : host}:${port}`, 'utf8');
  return new Writer(20 + addr.length).long(PROTOCOL_VERSION_V1).long(BigInt(myId)).int(addr.length).raw(addr).toBuffer();
}

/**
 * handleConnection + InitialMessage.parse over the bytes received so far. A non-negative first long is the legacy
 * form: it is the sid, and nothing follows.
 */
export function parseInitialMessage(buf: Buffer): InitialMessage {
  if (buf.length < 8) return { kind: 'incomplete' };
  const r = new Reader(buf);
  const first = r.long();
  if (first >= 0n) return { kind: 'ok', sid: first, addresses: [], consumed: 8 };
  if (first !== PROTOCOL_VERSION_V1 && first !== PROTOCOL_VERSION_V2) {
    return { kind: 'error', reason: `unrecognized protocol version ${first}` };
  }
  if (buf.length < 20) return { kind: 'incomplete' };
  const sid = r.long();
  const len = r.int();
  if (len <= 0 || len > INITIAL_ADDRESS_MAX) return { kind: 'error', reason: `unreasonable buffer length ${len}` };
  if (r.remaining < len) return { kind: 'incomplete' };
  const text = buf.toString('utf8', r.pos, r.pos + len);
  const addresses = text.split('|');
  for (const a of addresses) {
    if (!/^(\[[^\]]+\]|[^:]+):\d{1,5}$/.test(a)) return { kind: 'error', reason: `badly formed address ${JSON.stringify(a)}` };
  }
  return { kind: 'ok', sid, addresses, consumed: r.pos + len };
}

function splitHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(addr.slice(i + 1)) };
}

/** Accumulates bytes and cuts `int length + payload` frames; a bad length is a broken connection. */
class FrameReader {
  private chunks: Buffer = Buffer.alloc(0);

  push(data: Buffer): void {
    this.chunks = this.chunks.length === 0 ? data : Buffer.concat([this.chunks, data]);
  }

  /** The next whole frame, undefined when more bytes are needed; throws on an invalid length. */
  next(): Buffer | undefined {
    if (this.chunks.length < 4) return undefined;
    const len = this.chunks.readInt32BE(0);
    if (len <= 0 || len > ELECTION_PACKET_MAX) throw new Error(`received packet with invalid length ${len}`);
    if (this.chunks.length < 4 + len) return undefined;
    const frame = Buffer.from(this.chunks.subarray(4, 4 + len));
    this.chunks = this.chunks.subarray(4 + len);
    return frame;
  }
}

interface Link {
  sid: number;
  socket: Socket;
}

export class QuorumCnxManager {
  private readonly cnxTimeoutMs: number;
  private readonly log: Logger;
  private readonly addresses = new Map<number, { host: string; port: number }>();
  private server: Server | undefined;
  /** senderWorkerMap: the one live connection per peer. */
  private readonly links = new Map<number, Link>();
  /** queueSendMap: at most SEND_CAPACITY frames per peer, the newest kept. */
  private readonly queues = new Map<number, Buffer[]>();
  private readonly lastMessageSent = new Map<number, Buffer>();
  private readonly dialing = new Set<number>();
  private readonly retryTimers = new Map<number, Timer>();
  private readonly backoffMs = new Map<number, number>();
  private readonly pending = new Set<Socket>();
  private observerCounter = -1;
  private closed = false;

  constructor(private readonly opts: QuorumCnxManagerOptions) {
    this.cnxTimeoutMs = opts.cnxTimeoutMs ?? CNX_TIMEOUT_MS_DEFAULT;
    this.log = (opts.logger ?? silentLogger).child({ component: 'QuorumCnxManager', myid: opts.myId });
    for (const p of opts.peers) this.addresses.set(p.id, { host: p.host, port: p.electionPort });
  }

  /** Opens the election port. */
  async listen(): Promise<void> {
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.listenPort, this.opts.listenHost, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.log.error('election listener failed', { err: e }));
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : this.opts.listenPort;
  }

  /** toSend: loopback for myself, else queue (newest wins) and make sure a connection is on its way. */
  toSend(sid: number, payload: Buffer): void {
    if (this.closed) return;
    if (payload.length > ELECTION_PACKET_MAX) throw new Error(`election message of ${payload.length} bytes is too large`);
    if (sid === this.opts.myId) {
      clock.setImmediate(() => {
        if (!this.closed) this.opts.onMessage(sid, payload);
      });
      return;
    }
    const q = this.queueOf(sid);
    q.push(payload);
    while (q.length > SEND_CAPACITY) q.shift();
    if (this.links.has(sid)) this.flush(sid);
    else this.connectOne(sid);
  }

  /** connectAll: dial every peer I have ever queued a message for. */
  connectAll(): void {
    for (const sid of this.queues.keys()) this.connectOne(sid);
  }

  /** haveDelivered: some peer's queue has drained. */
  haveDelivered(): boolean {
    for (const q of this.queues.values()) if (q.length === 0) return true;
    return false;
  }

  connectedTo(sid: number): boolean {
    return this.links.has(sid);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.retryTimers.values()) clock.clear(t);
    this.retryTimers.clear();
    for (const link of [...this.links.values()]) this.finish(link);
    for (const s of this.pending) s.destroy();
    this.pending.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // --- dialing -----------------------------------------------------------------------------------------------

  /** connectOne: nothing to do with a live link or a dial in flight. */
  connectOne(sid: number, address?: { host: string; port: number }): void {
    if (this.closed || this.links.has(sid) || this.dialing.has(sid)) return;
    const addr = address ?? this.addresses.get(sid);
    if (!addr) {
      this.log.warn('invalid server id', { sid });
      return;
    }
    this.dialing.add(sid);
    const socket = net.connect({ host: addr.host, port: addr.port, noDelay: true });
    this.pending.add(socket);
    const timer = clock.setTimeout(() => socket.destroy(new Error(`connect timeout after ${this.cnxTimeoutMs} ms`)), this.cnxTimeoutMs);
    const done = (): void => {
      clock.clear(timer);
      this.dialing.delete(sid);
      this.pending.delete(socket);
    };
    socket.once('error', (e) => {
      done();
      this.log.debug('cannot open channel', { sid, err: e.message });
      this.scheduleRetry(sid);
    });
    socket.once('connect', () => {
      done();
      if (this.closed) {
        socket.destroy();
        return;
      }
      socket.write(encodeInitialMessage(this.opts.myId, this.opts.advertiseHost ?? this.opts.listenHost, this.port));
      if (sid > this.opts.myId) {
        // I lose the challenge: my message makes the peer dial back; this socket goes.
        this.log.debug('have smaller server identifier, dropping the connection', { sid });
        socket.end();
        socket.on('error', () => undefined);
        return;
      }
      this.adopt(sid, socket, new FrameReader());
    });
  }

  private scheduleRetry(sid: number): void {
    if (this.closed || this.retryTimers.has(sid) || (this.queues.get(sid)?.length ?? 0) === 0) return;
    const delay = this.backoffMs.get(sid) ?? RECONNECT_BACKOFF_MS_MIN;
    this.backoffMs.set(sid, Math.min(delay * 2, RECONNECT_BACKOFF_MS_MAX));
    const t = clock.setTimeout(() => {
      this.retryTimers.delete(sid);
      this.connectOne(sid);
    }, delay);
    t.unref();
    this.retryTimers.set(sid, t);
  }

  // --- accepting ---------------------------------------------------------------------------------------------

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.pending.add(socket);
    let buf: Buffer = Buffer.alloc(0);
    const timer = clock.setTimeout(() => socket.destroy(), this.cnxTimeoutMs);
    const onData = (data: Buffer): void => {
      buf = buf.length === 0 ? data : Buffer.concat([buf, data]);
      const init = parseInitialMessage(buf);
      if (init.kind === 'incomplete') return;
      clock.clear(timer);
      socket.off('data', onData);
      this.pending.delete(socket);
      if (init.kind === 'error') {
        this.log.warn('initial message parsing error', { reason: init.reason, remote: socket.remoteAddress });
        socket.destroy();
        return;
      }
      this.handleConnection(socket, init, buf.subarray(init.consumed));
    };
    socket.on('data', onData);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clock.clear(timer);
      this.pending.delete(socket);
    });
  }

  private handleConnection(socket: Socket, init: { sid: bigint; addresses: string[] }, rest: Buffer): void {
    let sid: number;
    if (init.sid === OBSERVER_ID) {
      sid = this.observerCounter--;
    } else if (init.sid > BigInt(Number.MAX_SAFE_INTEGER) || init.sid < BigInt(Number.MIN_SAFE_INTEGER)) {
      socket.destroy();
      return;
    } else {
      sid = Number(init.sid);
    }
    if (sid < this.opts.myId) {
      // I win the challenge: drop this socket and any stale link to the peer, and dial back.
      socket.destroy();
      const stale = this.links.get(sid);
      if (stale) this.finish(stale);
      const addr = init.addresses.length > 0 ? splitHostPort(init.addresses[0]) : undefined;
      this.connectOne(sid, addr && addr.host !== '0.0.0.0' && addr.host !== '::' ? addr : undefined);
      return;
    }
    if (sid === this.opts.myId) {
      this.log.warn('connection request from a server with my own id (configuration error?)');
      socket.destroy();
      return;
    }
    const reader = new FrameReader();
    if (rest.length > 0) reader.push(Buffer.from(rest));
    this.adopt(sid, socket, reader);
  }

  // --- a live link ---------------------------------------------------------------------------------------------

  /** Makes `socket` the link to `sid`, replacing any older one, and starts its send and receive sides. */
  private adopt(sid: number, socket: Socket, reader: FrameReader): void {
    const old = this.links.get(sid);
    const link: Link = { sid, socket };
    this.links.set(sid, link);
    if (old) old.socket.destroy();
    this.backoffMs.delete(sid);
    socket.setTimeout(0);
    socket.on('error', (e) => this.log.debug('connection broken', { sid, err: e.message }));
    socket.once('close', () => this.dropLink(link));
    socket.on('data', (data: Buffer) => {
      reader.push(data);
      this.drain(link, reader);
    });
    this.log.debug('connection up', { sid });
    this.opts.onPeerConnected?.(sid);
    // SendWorker start: with nothing queued, re-send the last message in case the old link lost it.
    const q = this.queueOf(sid);
    const last = this.lastMessageSent.get(sid);
    if (q.length === 0 && last) this.write(link, last);
    this.flush(sid);
    this.drain(link, reader);
  }

  private drain(link: Link, reader: FrameReader): void {
    for (;;) {
      if (this.links.get(link.sid) !== link) return;
      let frame: Buffer | undefined;
      try {
        frame = reader.next();
      } catch (e) {
        this.log.warn('bad frame, closing', { sid: link.sid, err: (e as Error).message });
        link.socket.destroy();
        return;
      }
      if (!frame) return;
      this.opts.onMessage(link.sid, frame);
    }
  }

  private flush(sid: number): void {
    const link = this.links.get(sid);
    const q = this.queues.get(sid);
    if (!link || !q) return;
    while (q.length > 0) {
      const b = q.shift()!;
      this.lastMessageSent.set(sid, b);
      this.write(link, b);
    }
  }

  private write(link: Link, payload: Buffer): void {
    const len = Buffer.allocUnsafe(4);
    len.writeInt32BE(payload.length, 0);
    link.socket.write(Buffer.concat([len, payload]));
  }

  /** The socket closed: forget the link if it is still the current one, and redial if a message waits. */
  private dropLink(link: Link): void {
    if (this.links.get(link.sid) !== link) return;
    this.finish(link);
    this.scheduleRetry(link.sid);
  }

  /** SendWorker.finish: the link stops being the peer's connection at once (a redial may follow right away). */
  private finish(link: Link): void {
    if (this.links.get(link.sid) === link) {
      this.links.delete(link.sid);
      this.log.debug('connection down', { sid: link.sid });
      this.opts.onPeerDisconnected?.(link.sid);
    }
    link.socket.destroy();
  }

  private queueOf(sid: number): Buffer[] {
    let q = this.queues.get(sid);
    if (!q) {
      q = [];
      this.queues.set(sid, q);
    }
    return q;
  }
}
