// quorum/link.ts: one leader/learner connection (the socket shell of Leader/LearnerHandler and Learner). Frames
// QuorumPackets both ways: received bytes become events (the learner side also parses the snapshot that follows a
// SNAP packet), sent packets are batched into one socket write per event-loop turn. Decides nothing.
import { clock } from '../util/sys.js';
import type { Socket } from 'node:net';
import { encodeQuorumPacket, type QuorumPacket, QuorumPacketDecoder } from './zab/packets.js';
import { LearnerStream, type LearnerStreamEvent } from './zab/snapstream.js';
import type { DataTreeOptions } from '../tree/datatree.js';

export interface PeerLinkOptions {
  /** Learner side: parse the snapshot after SNAP (tree options for it). Leader side: packets only. */
  learner?: { treeOptions: DataTreeOptions };
  maxBuffer?: number;
  onEvent(ev: LearnerStreamEvent): void;
  /** The connection ended (peer closed, socket error, bad bytes, or close() here). Called once. */
  onClose(reason: string): void;
}

export class PeerLink {
  private readonly decode: { push(b: Buffer): void; next(): LearnerStreamEvent | undefined };
  private outbox: Buffer[] = [];
  private flushing = false;
  private closed = false;
  /** When bytes last arrived (ms, the caller's clock: Date.now()). */
  lastHeardMs = clock.now();

  constructor(readonly sock: Socket, private readonly opts: PeerLinkOptions) {
    if (opts.learner !== undefined) {
      this.decode = new LearnerStream({ treeOptions: opts.learner.treeOptions, maxBuffer: opts.maxBuffer });
    } else {
      const d = new QuorumPacketDecoder(opts.maxBuffer);
      this.decode = {
        push: (b) => d.push(b),
        next: () => {
          const packet = d.next();
          return packet === undefined ? undefined : { kind: 'packet', packet };
        },
      };
    }
    sock.setNoDelay(true);
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('error', (e) => this.end(`socket error: ${e.message}`));
    sock.on('close', () => this.end('connection closed by peer'));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get remote(): string {
    return `${this.sock.remoteAddress ?? '?'}:${this.sock.remotePort ?? '?'}`;
  }

  send(p: QuorumPacket): void {
    this.sendRaw(encodeQuorumPacket(p));
  }

  /** Bytes that are not a packet (the snapshot stream after SNAP). */
  sendRaw(b: Buffer): void {
    if (this.closed) return;
    this.outbox.push(b);
    if (this.flushing) return;
    this.flushing = true;
    clock.setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushing = false;
    if (this.closed || this.outbox.length === 0) return;
    const out = this.outbox.length === 1 ? this.outbox[0] : Buffer.concat(this.outbox);
    this.outbox = [];
    this.sock.write(out);
  }

  close(reason = 'closed locally'): void {
    if (this.closed) return;
    this.flush();
    this.end(reason);
    this.sock.end();
    this.sock.destroySoon();
  }

  private end(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.destroySoon();
    this.opts.onClose(reason);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastHeardMs = clock.now();
    this.decode.push(chunk);
    try {
      for (let ev = this.decode.next(); ev !== undefined && !this.closed; ev = this.decode.next()) this.opts.onEvent(ev);
    } catch (e) {
      this.end(`bad bytes from peer: ${(e as Error).message}`);
      this.sock.destroy();
    }
  }
}
