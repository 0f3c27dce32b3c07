// One client connection (ZooKeeper's ServerCnxn): framing in and out, the connect handshake, four-letter words,
// watch notifications, and per-connection stats. It decodes frames and hands requests to the server; it never
// decides anything about the tree.
import { clock } from '../util/sys.js';
import type { Socket } from 'node:net';
import { JuteError, Reader, Writer } from '../jute/codec.js';
import { OpCode, Xid } from '../protocol/constants.js';
import { Code } from '../protocol/errors.js';
import {
  type ConnectRequest, type ConnectResponse, type Id, type WatcherEvent,
  readConnectRequest, readRequestHeader, writeConnectResponse, writeReplyHeader, writeWatcherEvent,
} from '../protocol/records.js';
import { type Response, UnknownOpError, decodeRequest, encodeResponse } from '../protocol/requests.js';
import type { Watcher } from '../tree/watches.js';
import type { Logger } from '../util/log.js';
import type { RequestOwner, ServerRequest } from './request.js';

/** What a connection needs from the server it belongs to. */
export interface ConnectionHost {
  readonly juteMaxBuffer: number;
  readonly logger: Logger;
  fourLetterWord(firstFour: Buffer): string | undefined;
  runFourLetter(cmd: string, asker: ServerConnection): string;
  connect(cnxn: ServerConnection, req: ConnectRequest): void;
  auth(cnxn: ServerConnection, xid: number, scheme: string, auth: Buffer): void;
  submit(req: ServerRequest): void;
  closed(cnxn: ServerConnection): void;
  /** Monotonic milliseconds. */
  now(): number;
}

export interface ConnectionStats {
  packetsReceived: number;
  packetsSent: number;
  latencyMinMs: number;
  latencyMaxMs: number;
  latencyTotalMs: number;
  latencyCount: number;
  lastOp: string;
  lastXid: number;
  lastZxid: number;
  lastLatencyMs: number;
  lastResponseTime: number;
  establishedAt: number;
}

function freshStats(establishedAt: number): ConnectionStats {
  return {
    packetsReceived: 0, packetsSent: 0, latencyMinMs: Number.MAX_SAFE_INTEGER, latencyMaxMs: 0, latencyTotalMs: 0,
    latencyCount: 0, lastOp: 'NA', lastXid: -1, lastZxid: -1, lastLatencyMs: 0, lastResponseTime: 0, establishedAt,
  };
}

type Phase = 'new' | 'connecting' | 'established' | 'closed';

let nextConnectionId = 1;

export class ServerConnection implements Watcher, RequestOwner {
  readonly id = nextConnectionId++;
  readonly remoteAddress: string;
  readonly remotePort: number;
  sessionId = 0n;
  sessionTimeoutMs = 0;
  /** Whether the client sent the readOnly byte (then our ConnectResponse carries one too). */
  clientSentReadOnly = false;
  /** Replaced, never mutated, when an auth packet adds an id: queued requests keep the ids they were sent with. */
  authIds: readonly Id[];
  stats: ConnectionStats;
  outstanding = 0;
  private phase: Phase = 'new';
  private inbuf: Buffer = Buffer.alloc(0);
  private out: Buffer[] = [];
  private flushScheduled = false;
  private closeWhenFlushed = false;
  private pausedBy = new Set<string>();
  private readonly log: Logger;

  constructor(private readonly socket: Socket, private readonly host: ConnectionHost) {
    this.remoteAddress = normalizeAddress(socket.remoteAddress ?? '');
    this.remotePort = socket.remotePort ?? 0;
    this.authIds = [{ scheme: 'ip', id: this.remoteAddress }];
    this.stats = freshStats(host.now());
    this.log = host.logger.child({ remote: `${this.remoteAddress}:${this.remotePort}` });
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e) => this.log.debug('connection error', { err: e.message }));
    socket.on('close', () => this.onClose());
  }

  get isEstablished(): boolean {
    return this.phase === 'established';
  }

  get isClosed(): boolean {
    return this.phase === 'closed';
  }

  /** Stop reading (reason: "throttle", "handshake"); reading resumes when no reason is left. */
  pause(reason: string): void {
    this.pausedBy.add(reason);
    this.socket.pause();
  }

  resume(reason: string): void {
    this.pausedBy.delete(reason);
    if (this.pausedBy.size === 0 && this.phase !== 'closed') {
      this.socket.resume();
      if (this.inbuf.length > 0) clock.setImmediate(() => this.parse());
    }
  }

  resetStats(): void {
    this.stats = freshStats(this.stats.establishedAt);
  }

  private onData(d: Buffer): void {
    this.inbuf = this.inbuf.length === 0 ? d : Buffer.concat([this.inbuf, d]);
    this.parse();
  }

  private parse(): void {
    while (this.phase !== 'closed' && this.pausedBy.size === 0 && this.inbuf.length >= 4) {
      if (this.phase === 'new' && this.stats.packetsReceived === 0) {
        const cmd = this.host.fourLetterWord(this.inbuf.subarray(0, 4));
        if (cmd !== undefined) {
          this.answerFourLetter(cmd);
          return;
        }
      }
      const len = this.inbuf.readInt32BE(0);
      if (len < 0 || len > this.host.juteMaxBuffer) {
        this.log.warn('closing connection: frame length out of range', { length: len, limit: this.host.juteMaxBuffer, session: this.sessionId });
        this.close();
        return;
      }
      if (this.inbuf.length < 4 + len) return;
      const frame = this.inbuf.subarray(4, 4 + len);
      this.inbuf = this.inbuf.subarray(4 + len);
      this.stats.packetsReceived++;
      try {
        this.onFrame(frame);
      } catch (e) {
        if (!(e instanceof JuteError)) throw e;
        this.log.warn('closing connection: malformed frame', { err: e.message, session: this.sessionId });
        this.close();
        return;
      }
    }
  }

  private answerFourLetter(cmd: string): void {
    this.log.info('four-letter word', { cmd });
    this.phase = 'closed';
    this.socket.end(this.host.runFourLetter(cmd, this));
  }

  private onFrame(frame: Buffer): void {
    if (this.phase === 'new') {
      const req = readConnectRequest(new Reader(frame, 0, this.host.juteMaxBuffer));
      this.clientSentReadOnly = req.readOnly !== undefined;
      this.phase = 'connecting';
      this.pause('handshake');
      this.host.connect(this, req);
      return;
    }
    const r = new Reader(frame, 0, this.host.juteMaxBuffer);
    const h = readRequestHeader(r);
    if (h.type === OpCode.auth) {
      const auth = decodeRequest(OpCode.auth, r);
      if (auth.op === OpCode.auth) this.host.auth(this, h.xid, auth.auth.scheme, auth.auth.auth);
      return;
    }
    const req: ServerRequest = {
      sessionId: this.sessionId, xid: h.xid, op: h.type, body: undefined, authIds: this.authIds, cnxn: this,
      receivedMs: this.host.now(),
    };
    try {
      req.body = decodeRequest(h.type, r);
    } catch (e) {
      if (e instanceof UnknownOpError) {
        this.log.warn('unknown opcode', { op: h.type, session: this.sessionId });
      } else if (e instanceof JuteError) {
        req.decodeError = e.message;
      } else {
        throw e;
      }
    }
    this.outstanding++;
    this.host.submit(req);
  }

  /** The handshake is done: answer the ConnectRequest and start reading requests. */
  established(resp: ConnectResponse): void {
    if (this.phase === 'closed') return;
    this.phase = 'established';
    const w = new Writer(64).int(0);
    writeConnectResponse(w, { ...resp, readOnly: this.clientSentReadOnly ? resp.readOnly ?? false : undefined });
    this.sendFrame(w);
    this.resume('handshake');
  }

  /** The session cannot be (re)opened: ZooKeeper answers timeout 0, session 0, a zero password, and closes. */
  rejectSession(): void {
    const w = new Writer(64).int(0);
    writeConnectResponse(w, {
      protocolVersion: 0, timeOut: 0, sessionId: 0n, passwd: Buffer.alloc(16),
      readOnly: this.clientSentReadOnly ? false : undefined,
    });
    this.sendFrame(w);
    this.closeAfterReply();
  }

  sendReply(xid: number, zxid: number, err: number, body: Response | undefined, req?: ServerRequest): void {
    const w = new Writer(128).int(0);
    writeReplyHeader(w, { xid, zxid, err });
    if (body !== undefined && err === Code.OK) encodeResponse(w, body);
    this.sendFrame(w);
    if (req !== undefined) {
      this.outstanding--;
      if (xid !== Xid.ping) this.countReply(req, zxid);
    }
  }

  private countReply(req: ServerRequest, zxid: number): void {
    const now = this.host.now();
    const latency = now - req.receivedMs;
    const s = this.stats;
    s.latencyCount++;
    s.latencyTotalMs += latency;
    if (latency < s.latencyMinMs) s.latencyMinMs = latency;
    if (latency > s.latencyMaxMs) s.latencyMaxMs = latency;
    s.lastLatencyMs = latency;
    s.lastOp = opTag(req.op);
    s.lastXid = req.xid;
    s.lastZxid = zxid;
    s.lastResponseTime = clock.now();
  }

  /** Watcher: a watch fired for this connection. Notifications carry xid -1 and zxid -1 (ZooKeeper 3.8). */
  deliver(event: WatcherEvent): void {
    if (this.phase === 'closed') return;
    const w = new Writer(64).int(0);
    writeReplyHeader(w, { xid: Xid.notification, zxid: -1, err: 0 });
    writeWatcherEvent(w, event);
    this.sendFrame(w);
  }

  private sendFrame(w: Writer): void {
    if (this.phase === 'closed' && !this.closeWhenFlushed) return;
    w.patchInt(0, w.length - 4);
    this.out.push(w.view());
    this.stats.packetsSent++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // One socket write per turn: replies and events queued in this turn leave together, in order.
      process.nextTick(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.out.length > 0) {
      const data = this.out.length === 1 ? this.out[0] : Buffer.concat(this.out);
      this.out = [];
      if (!this.socket.destroyed) this.socket.write(data);
    }
    // destroySoon, not end: the socket is paused, and a paused socket with unread bytes never sees the peer's FIN,
    // so after end() alone 'close' (and the per-IP count's release) could wait forever.
    if (this.closeWhenFlushed) this.socket.destroySoon();
  }

  /** Close after the replies queued so far are written (closeSession, auth failure, rejected session). */
  closeAfterReply(): void {
    this.closeWhenFlushed = true;
    this.phase = 'closed';
    this.socket.pause();
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(() => this.flush());
    }
  }

  close(): void {
    if (this.phase === 'closed' && this.socket.destroyed) return;
    this.phase = 'closed';
    this.socket.destroy();
  }

  private onClose(): void {
    this.phase = 'closed';
    this.host.closed(this);
  }
}

/** "::ffff:127.0.0.1" (IPv4 on a dual-stack socket) is the IPv4 address for ip ACLs. */
function normalizeAddress(addr: string): string {
  return addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
}

/** The 4-letter op tags ZooKeeper shows in `cons` (lop=...). */
const OP_TAGS: Record<number, string> = {
  [OpCode.ping]: 'PING', [OpCode.createSession]: 'SESS', [OpCode.multi]: 'MULT', [OpCode.multiRead]: 'MLTR',
  [OpCode.create]: 'CREA', [OpCode.create2]: 'CREA', [OpCode.createTTL]: 'CREA', [OpCode.createContainer]: 'CREA',
  [OpCode.delete]: 'DELE', [OpCode.deleteContainer]: 'DELE', [OpCode.setData]: 'SETD', [OpCode.reconfig]: 'RECO',
  [OpCode.setACL]: 'SETA', [OpCode.closeSession]: 'CLOS', [OpCode.sync]: 'SYNC', [OpCode.check]: 'CHEC',
  [OpCode.exists]: 'EXIS', [OpCode.getData]: 'GETD', [OpCode.setWatches]: 'SETW', [OpCode.setWatches2]: 'STW2',
  [OpCode.getACL]: 'GETA', [OpCode.getChildren]: 'GETC', [OpCode.getChildren2]: 'GETC',
  [OpCode.getAllChildrenNumber]: 'GETACN', [OpCode.checkWatches]: 'CHKW', [OpCode.removeWatches]: 'REMW',
  [OpCode.getEphemerals]: 'GETE', [OpCode.addWatch]: 'ADDW', [OpCode.whoAmI]: 'HOMI',
};
export function opTag(op: number): string {
  return OP_TAGS[op] ?? 'NA';
}
