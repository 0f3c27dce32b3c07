// Test support for the ZAB interop test: a learner that speaks the leader/learner link with src/quorum/zab's codec.
// It does no election and keeps no disk: it connects to a leader's quorum port as a given sid, claims whatever
// epochs and last zxid the test asks for, runs the learner side of the handshake (FOLLOWERINFO -> LEADERINFO ->
// ACKEPOCH -> DIFF/TRUNC/SNAP (+ proposals / snapshot) -> NEWLEADER -> ACK -> UPTODATE -> ACK), then follows the
// broadcast: every PROPOSAL is ACKed, every PING answered (no session touches), COMMITs are recorded.
// Every received byte is kept, so the test can check that re-encoding the decoded packets gives the same bytes.
import net from 'node:net';
import {
  ackEpochPacket, ackPacket, encodeQuorumPacket, learnerInfoPacket, learnerPingPacket, PacketType, packetToString,
  type QuorumPacket, readLeaderInfoVersion, ZAB_PROTOCOL_VERSION,
} from '../../../src/quorum/zab/packets.js';
import { LearnerStream, type SnapStreamResult } from '../../../src/quorum/zab/snapstream.js';
import { epochOf, makeZxid } from '../../../src/quorum/zab/zxid.js';

export interface Claim {
  sid: bigint;
  acceptedEpoch: number;
  currentEpoch: number;
  lastLoggedZxid: number;
  configVersion?: bigint;
}

export interface SyncResult {
  newEpoch: number;
  leaderProtocolVersion: number;
  opener: QuorumPacket;
  snapshot?: { zxid: number; result: SnapStreamResult };
  /** PROPOSALs between the opener and NEWLEADER, and the COMMITs among them. */
  proposals: QuorumPacket[];
  commits: number[];
  newLeader: QuorumPacket;
  config: string;
}

type Received = { kind: 'packet'; packet: QuorumPacket; at: number } | { kind: 'snapshot'; bytes: number; at: number };

export class HarnessLearner {
  private readonly sock: net.Socket;
  private readonly stream = new LearnerStream();
  private readonly raw: Buffer[] = [];
  readonly received: Received[] = [];
  private consumedBytes = 0;
  private phase: 'leaderinfo' | 'sync' | 'newleader-acked' | 'broadcast' | 'closed' = 'leaderinfo';
  private error: Error | undefined;
  private waiters: Array<() => void> = [];
  private sync: Partial<SyncResult> & { proposals: QuorumPacket[]; commits: number[] } = { proposals: [], commits: [] };
  private pendingAcks: number[] = [];
  /** Broadcast phase. */
  readonly proposals: QuorumPacket[] = [];
  readonly commits: number[] = [];
  pings = 0;
  private newEpoch = -1;

  private constructor(readonly claim: Claim, port: number) {
    this.sock = net.connect({ host: '127.0.0.1', port });
    this.sock.setNoDelay(true);
    this.sock.on('data', (d: Buffer) => this.onData(d));
    this.sock.on('error', (e) => this.fail(e));
    this.sock.on('close', () => {
      if (this.phase !== 'closed') this.fail(new Error(`leader closed the connection in phase ${this.phase}`));
    });
  }

  static async connect(port: number, claim: Claim, timeoutMs = 10_000): Promise<HarnessLearner> {
    const l = new HarnessLearner(claim, port);
    await l.until('tcp connect', () => !l.sock.connecting, timeoutMs);
    l.send(learnerInfoPacket(claim.acceptedEpoch, { serverId: claim.sid, protocolVersion: ZAB_PROTOCOL_VERSION, configVersion: claim.configVersion ?? 0n }));
    return l;
  }

  private send(p: QuorumPacket): void {
    this.sock.write(encodeQuorumPacket(p));
  }

  private fail(e: Error): void {
    this.error ??= e;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `cond` holds, the link fails, or the time is up. */
  async until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (cond()) return;
      if (this.error !== undefined) throw new Error(`${what}: ${this.error.message}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (phase ${this.phase})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private onData(d: Buffer): void {
    this.raw.push(d);
    try {
      this.stream.push(d);
      for (let ev = this.stream.next(); ev !== undefined; ev = this.stream.next()) {
        if (ev.kind === 'snapshot') {
          this.received.push({ kind: 'snapshot', bytes: ev.result.bytes, at: this.consumedBytes });
          this.consumedBytes += ev.result.bytes;
          this.sync.snapshot = { zxid: ev.zxid, result: ev.result };
          continue;
        }
        const p = ev.packet;
        this.received.push({ kind: 'packet', packet: p, at: this.consumedBytes });
        this.consumedBytes += encodeQuorumPacket(p).length;
        this.handle(p);
      }
    } catch (e) {
      this.fail(e as Error);
    }
    this.wake();
  }

  private handle(p: QuorumPacket): void {
    switch (this.phase) {
      case 'leaderinfo': {
        if (p.type !== PacketType.LEADERINFO) throw new Error(`expected LEADERINFO, got ${packetToString(p)}`);
        this.newEpoch = epochOf(p.zxid);
        this.sync.newEpoch = this.newEpoch;
        this.sync.leaderProtocolVersion = readLeaderInfoVersion(p);
        // Learner.registerWithLeader: our currentEpoch if the epoch is new to us, -1 if we had accepted it already.
        const epochField = this.newEpoch > this.claim.acceptedEpoch ? this.claim.currentEpoch : -1;
        this.send(ackEpochPacket(this.claim.lastLoggedZxid, epochField));
        this.phase = 'sync';
        return;
      }
      case 'sync':
      case 'newleader-acked':
        if (this.sync.opener === undefined) {
          if (p.type !== PacketType.DIFF && p.type !== PacketType.TRUNC && p.type !== PacketType.SNAP) {
            throw new Error(`expected DIFF/TRUNC/SNAP, got ${packetToString(p)}`);
          }
          this.sync.opener = p;
          return;
        }
        switch (p.type) {
          case PacketType.PROPOSAL:
            this.sync.proposals.push(p);
            if (this.phase === 'newleader-acked') this.pendingAcks.push(p.zxid);
            return;
          case PacketType.COMMIT:
            this.sync.commits.push(p.zxid);
            return;
          case PacketType.NEWLEADER:
            this.sync.newLeader = p;
            this.sync.config = p.data?.toString('utf8') ?? '';
            this.send(ackPacket(p.zxid));
            this.phase = 'newleader-acked';
            return;
          case PacketType.UPTODATE:
            this.send(ackPacket(makeZxid(this.newEpoch, 0)));
            for (const z of this.pendingAcks) this.send(ackPacket(z));
            this.pendingAcks = [];
            this.phase = 'broadcast';
            return;
          case PacketType.PING:
            this.send(learnerPingPacket(p, []));
            return;
          default:
            throw new Error(`unexpected ${packetToString(p)} during sync`);
        }
      case 'broadcast':
        switch (p.type) {
          case PacketType.PROPOSAL:
            this.proposals.push(p);
            this.send(ackPacket(p.zxid));
            return;
          case PacketType.COMMIT:
            this.commits.push(p.zxid);
            return;
          case PacketType.PING:
            this.pings++;
            this.send(learnerPingPacket(p, []));
            return;
          default:
            throw new Error(`unexpected ${packetToString(p)} while following`);
        }
      case 'closed':
        return;
    }
  }

  /** Runs the handshake to UPTODATE. */
  async synced(timeoutMs = 15_000): Promise<SyncResult> {
    await this.until('UPTODATE', () => this.phase === 'broadcast', timeoutMs);
    return this.sync as SyncResult;
  }

  /** Every byte received so far. */
  rawBytes(): Buffer {
    return Buffer.concat(this.raw);
  }

  /**
   * Re-encodes every decoded packet and compares it with the bytes received at its offset; returns mismatches
   * (empty when the codec is byte-exact) and how many bytes were checked.
   */
  verifyReencoding(): { mismatches: string[]; bytesChecked: number } {
    const raw = this.rawBytes();
    const out: string[] = [];
    let checked = 0;
    for (const r of this.received) {
      if (r.kind === 'snapshot') {
        checked += r.bytes;
        continue;
      }
      const enc = encodeQuorumPacket(r.packet);
      const got = raw.subarray(r.at, r.at + enc.length);
      if (!got.equals(enc)) out.push(`${packetToString(r.packet)} at ${r.at}: wire ${got.toString('hex')} re-encoded ${enc.toString('hex')}`);
      checked += enc.length;
    }
    return { mismatches: out, bytesChecked: checked };
  }

  get failure(): Error | undefined {
    return this.error;
  }

  close(): void {
    this.phase = 'closed';
    this.sock.destroy();
  }
}
