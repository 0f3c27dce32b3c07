// Test support for the role tests: the test's end of a leader/learner quorum link over a real loopback socket. The
// test plays the other role by hand: it sends packets (and raw snapshot bytes) and takes what the role sent, one at a
// time, with bounded waits. Every packet the role sends is logged in the shared event log as
// 'send <TYPE> <zxid>' (plus ' ->N' when a tag is given), in arrival order. PINGs are kept out of the queue (counted in
// `pings`); with `autoPong` they are answered as a learner answers them (same zxid, no session touches).
import assert from 'node:assert/strict';
import net from 'node:net';
import { encodeQuorumPacket, learnerPingPacket, PacketType, packetToString, packetTypeName, type QuorumPacket, QuorumPacketDecoder } from '../../../src/quorum/zab/packets.js';
import { LearnerStream, type LearnerStreamEvent } from '../../../src/quorum/zab/snapstream.js';
import { zxidHex } from '../../../src/quorum/zab/zxid.js';
import { sleep } from '../../support/ports.js';

export interface ScriptedLinkOptions {
  /** The test plays a learner: parse the snapshot that follows SNAP. */
  learnerSide: boolean;
  events?: string[];
  /** Appended to each logged event (' ->2'). */
  tag?: string;
  autoPong?: boolean;
}

export class ScriptedLink {
  private readonly decoder: { push(b: Buffer): void; next(): LearnerStreamEvent | undefined };
  private readonly queue: LearnerStreamEvent[] = [];
  private wake: (() => void) | undefined;
  readonly pings: QuorumPacket[] = [];
  closed = false;
  autoPong: boolean;
  /** When the test last sent something on this link (Date.now()). */
  lastSentMs = Date.now();

  constructor(readonly sock: net.Socket, private readonly opts: ScriptedLinkOptions) {
    this.autoPong = opts.autoPong ?? false;
    this.decoder = opts.learnerSide ? new LearnerStream() : packetsOnly(new QuorumPacketDecoder());
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      this.closed = true;
      this.poke();
    });
  }

  /** Connects to a role's quorum port, retrying while it is not listening yet (bounded). */
  static async connect(port: number, opts: ScriptedLinkOptions, timeoutMs = 3000): Promise<ScriptedLink> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return new ScriptedLink(await dial(port), opts);
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await sleep(20);
      }
    }
  }

  send(p: QuorumPacket): void {
    this.sendRaw(encodeQuorumPacket(p));
  }

  sendRaw(b: Buffer): void {
    this.lastSentMs = Date.now();
    this.sock.write(b);
  }

  /** The next thing the role sent (a packet, or the parsed snapshot after SNAP). */
  async nextEvent(timeoutMs = 3000): Promise<LearnerStreamEvent> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      if (this.closed) throw new Error('the role closed the link');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`nothing from the role within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.queue.shift()!;
  }

  /** The next packet; asserts its type (and zxid when given). */
  async expect(type: number, zxid?: number, timeoutMs = 3000): Promise<QuorumPacket> {
    const ev = await this.nextEvent(timeoutMs);
    assert.equal(ev.kind, 'packet', `expected ${packetTypeName(type)}, got the snapshot`);
    const p = (ev as { packet: QuorumPacket }).packet;
    assert.equal(packetTypeName(p.type), packetTypeName(type), `expected ${packetTypeName(type)}, got ${packetToString(p)}`);
    if (zxid !== undefined) assert.equal(zxidHex(p.zxid), zxidHex(zxid), `${packetTypeName(type)} zxid`);
    return p;
  }

  /** Asserts that the role sends nothing (PINGs aside) for `ms`. */
  async nothingFor(ms = 250, what = 'anything'): Promise<void> {
    await sleep(ms);
    const ev = this.queue[0];
    if (ev !== undefined) assert.fail(`expected no ${what} within ${ms} ms, got ${ev.kind === 'packet' ? packetToString(ev.packet) : 'the snapshot'}`);
  }

  /** Resolves once the role closed the link (bounded). */
  async waitClosed(timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error(`the link is still open after ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  close(): void {
    this.closed = true;
    this.sock.destroy();
  }

  private onData(d: Buffer): void {
    try {
      this.decoder.push(d);
      for (let ev = this.decoder.next(); ev !== undefined; ev = this.decoder.next()) this.received(ev);
    } catch (e) {
      this.opts.events?.push(`bad bytes from the role: ${(e as Error).message}`);
      this.close();
    }
    this.poke();
  }

  private received(ev: LearnerStreamEvent): void {
    const tag = this.opts.tag ?? '';
    if (ev.kind === 'snapshot') {
      this.opts.events?.push(`send SNAPSHOT ${zxidHex(ev.zxid)}${tag}`);
      this.queue.push(ev);
      return;
    }
    const p = ev.packet;
    if (p.type === PacketType.PING) {
      this.pings.push(p);
      if (this.autoPong) this.send(learnerPingPacket(p, []));
      return;
    }
    this.opts.events?.push(`send ${packetTypeName(p.type)} ${zxidHex(p.zxid)}${tag}`);
    this.queue.push(ev);
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

function packetsOnly(d: QuorumPacketDecoder): { push(b: Buffer): void; next(): LearnerStreamEvent | undefined } {
  return {
    push: (b) => d.push(b),
    next: () => {
      const packet = d.next();
      return packet === undefined ? undefined : { kind: 'packet', packet };
    },
  };
}

function dial(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (e) => {
      sock.destroy();
      reject(e);
    });
  });
}

/** A fake leader's quorum port: accepts learners' connections as ScriptedLinks. */
export class FakeQuorumPort {
  private readonly server: net.Server;
  private readonly links: ScriptedLink[] = [];
  private readonly pending: ScriptedLink[] = [];
  private wake: (() => void) | undefined;

  private constructor(readonly port: number, private readonly opts: ScriptedLinkOptions) {
    this.server = net.createServer((sock) => {
      const link = new ScriptedLink(sock, this.opts);
      this.links.push(link);
      this.pending.push(link);
      this.wake?.();
    });
  }

  static async listen(port: number, opts: Omit<ScriptedLinkOptions, 'learnerSide'>): Promise<FakeQuorumPort> {
    const q = new FakeQuorumPort(port, { ...opts, learnerSide: false });
    await new Promise<void>((resolve, reject) => {
      q.server.once('error', reject);
      q.server.listen({ host: '127.0.0.1', port }, () => resolve());
    });
    return q;
  }

  /** The next learner connection (bounded). */
  async accept(timeoutMs = 3000): Promise<ScriptedLink> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no learner connected within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.pending.shift()!;
  }

  async close(): Promise<void> {
    for (const l of this.links) l.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
