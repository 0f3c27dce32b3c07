// quorum/learner.ts: the follower and observer roles (ZooKeeper's Learner.syncWithLeader, Follower, Observer and the
// learner ZooKeeperServers) as a shell. The decisions are the cores': FollowerBroadcast orders PROPOSAL/ACK/COMMIT;
// the leader decides the sync. What this file owns is the ORDER of durable effects, which is where ZooKeeper lost
// data:
//
//   LEADERINFO  acceptedEpoch written (if newer) before ACKEPOCH
//   sync        DIFF/TRUNC proposals appended to the txn log as they arrive, applied to the tree at their COMMIT;
//               TRUNC cuts the log and reloads the database; SNAP replaces the tree and cuts the log after it
//   NEWLEADER   the updatingEpoch marker (ZOOKEEPER-2354), every synced txn fsynced, and after SNAP a snapshot
//               written (ZOOKEEPER-3642), THEN currentEpoch written (ZOOKEEPER-4643) and the marker removed, THEN
//               the ACK (ZOOKEEPER-3911)
//   UPTODATE    start serving clients; ACK
//   broadcast   PROPOSAL appended, ACKed only once fsynced (ZOOKEEPER-4646), applied at COMMIT; observers apply
//               INFORM directly; PING answered with this server's session touches; SYNC answers a forwarded sync
//
// Sync-phase packets are handled one at a time, waiting for each durable step, so nothing later overtakes them.
import type { Timer } from '../util/sys.js';
import { clock, net } from '../util/sys.js';
import type { Socket } from 'node:net';
import { Writer } from '../jute/codec.js';
import { OpCode } from '../protocol/constants.js';
import type { Id } from '../protocol/records.js';
import { encodeRequest } from '../protocol/requests.js';
import type { ServerRequest } from '../server/request.js';
import { type ServerDatabase, ZooKeeperServer } from '../server/zkserver.js';
import type { TxnEntry } from '../storage/txnlogReader.js';
import type { Logger } from '../util/log.js';
import { PeerLink } from './link.js';
import { initConfigNode, limitsMs, quorumConf, type Role, type RoleContext } from './role.js';
import { type FollowerAction, FollowerBroadcast } from './zab/broadcast.js';
import {
  ackEpochPacket, ackPacket, decodeTxnEntry, learnerInfoPacket, learnerPingPacket, PacketType, packetTypeName,
  type QuorumPacket, readRevalidateReply, requestPacket, revalidatePacket, ZAB_PROTOCOL_VERSION,
} from './zab/packets.js';
import type { LearnerStreamEvent } from './zab/snapstream.js';
import { epochOf, makeZxid, zxidHex } from './zab/zxid.js';

/** Pause between attempts to reach the leader's quorum port (it may not be listening yet). */
export const LEADER_CONNECT_RETRY_MS = 25;

type Phase = 'connecting' | 'leaderinfo' | 'syncing' | 'synced' | 'broadcast';

export class Learner implements Role {
  readonly ended: Promise<string>;
  private endWith!: (reason: string) => void;
  private stopped = false;
  private readonly log: Logger;
  private link: PeerLink | undefined;
  private phase: Phase = 'connecting';
  private readonly events: LearnerStreamEvent[] = [];
  private wake: (() => void) | undefined;
  private db: ServerDatabase;
  server: ZooKeeperServer | undefined;
  private newEpoch = -1;
  /** Sync: proposals appended and not yet committed, oldest first. */
  private syncPending: TxnEntry[] = [];
  private lastAppended: number;
  private durableZxid = -1;
  private durableWaiters: Array<{ zxid: number; resolve: () => void }> = [];
  private fb: FollowerBroadcast | undefined;
  /** Broadcast: proposals logged and not yet applied. */
  private readonly entries = new Map<number, TxnEntry>();
  private readonly touches = new Set<bigint>();
  /** The zxid of the last COMMIT received, and per SYNC received the COMMIT it must wait for. */
  private lastCommitZxid = -1;
  private syncsWaiting: number[] = [];
  private readonly revalidations = new Map<bigint, Array<(valid: boolean) => void>>();
  private readonly timer: Timer;
  private readonly initMs: number;
  private readonly syncMs: number;
  private flushScheduled = false;
  /** Proposals were logged during sync: NEWLEADER waits for their fsync. */
  private appendedInSync = false;

  constructor(private readonly ctx: RoleContext, private readonly leaderId: number, private readonly observer: boolean) {
    this.log = ctx.logger.child({ component: observer ? 'observer' : 'follower', leader: leaderId });
    this.ended = new Promise((resolve) => (this.endWith = resolve));
    this.db = ctx.db;
    this.lastAppended = ctx.db.tree.lastProcessedZxid;
    ({ initMs: this.initMs, syncMs: this.syncMs } = limitsMs(ctx.config));
    ctx.onDurable((zxid) => this.onDurable(zxid));
    this.timer = clock.setInterval(() => this.tick(), Math.max(1, ctx.config.tickTime));
    this.run().catch((e: Error) => this.stop(e.message));
  }

  describe(): Record<string, unknown> {
    return { leader: this.leaderId, epoch: this.newEpoch, phase: this.phase, lastZxid: zxidHex(this.db.tree.lastProcessedZxid) };
  }

  stop(reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.log.warn(`${this.observer ? 'observing' : 'following'} ended`, { reason });
    clock.clear(this.timer);
    this.link?.close(reason);
    this.wake?.();
    this.endWith(reason);
  }

  // ------------------------------------------------------------------------------------ connect and sync

  private async run(): Promise<void> {
    this.link = await this.connect();
    if (this.stopped) return;
    this.phase = 'leaderinfo';
    this.link.send(learnerInfoPacket(this.ctx.acceptedEpoch, {
      serverId: BigInt(this.ctx.myId), protocolVersion: ZAB_PROTOCOL_VERSION, configVersion: this.ctx.config.configVersion ?? 0n,
    }, this.observer));
    while (!this.stopped) {
      const ev = await this.nextEvent();
      if (ev === undefined) return;
      const r = this.handle(ev);
      if (r !== undefined) await r;
    }
  }

  private async connect(): Promise<PeerLink> {
    const leader = this.ctx.config.servers.find((s) => s.id === this.leaderId);
    if (leader === undefined) throw new Error(`elected leader ${this.leaderId} is not in the configuration`);
    const deadline = clock.now() + this.initMs;
    for (let attempt = 1; ; attempt++) {
      if (this.stopped) throw new Error('stopped while connecting');
      try {
        const sock = await dial(leader.host, leader.quorumPort, this.initMs);
        this.log.info('connected to the leader', { address: `${leader.host}:${leader.quorumPort}`, attempt });
        return new PeerLink(sock, {
          learner: { treeOptions: { extendedTypesEnabled: this.ctx.config.extendedTypesEnabled, logger: this.ctx.logger } },
          maxBuffer: this.ctx.config.juteMaxBuffer + 1024,
          onEvent: (ev) => this.push(ev),
          onClose: (reason) => this.stop(`leader connection: ${reason}`),
        });
      } catch (e) {
        if (clock.now() > deadline) throw new Error(`cannot reach the leader at ${leader.host}:${leader.quorumPort} within initLimit: ${(e as Error).message}`);
        await new Promise<void>((r) => clock.setTimeout(r, LEADER_CONNECT_RETRY_MS));
      }
    }
  }

  private push(ev: LearnerStreamEvent): void {
    this.events.push(ev);
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async nextEvent(): Promise<LearnerStreamEvent | undefined> {
    while (this.events.length === 0) {
      if (this.stopped) return undefined;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    return this.events.shift();
  }

  private handle(ev: LearnerStreamEvent): Promise<void> | void {
    if (ev.kind === 'snapshot') return this.onSnapshot(ev.zxid, ev.result);
    const p = ev.packet;
    switch (this.phase) {
      case 'leaderinfo': return this.onLeaderInfo(p);
      case 'syncing': return this.onSyncPacket(p);
      default: return this.onBroadcast(p);
    }
  }

  private async onLeaderInfo(p: QuorumPacket): Promise<void> {
    if (p.type !== PacketType.LEADERINFO) throw new Error(`expected LEADERINFO, got ${packetTypeName(p.type)}`);
    this.newEpoch = epochOf(p.zxid);
    let ackedEpoch = this.ctx.currentEpoch;
    if (this.newEpoch > this.ctx.acceptedEpoch) {
      await this.ctx.writeEpoch('accepted', this.newEpoch);
    } else if (this.newEpoch === this.ctx.acceptedEpoch) {
      ackedEpoch = -1; // this epoch was accepted before (a reconnect to the same leader)
    } else {
      throw new Error(`the leader's epoch ${this.newEpoch} is below the accepted epoch ${this.ctx.acceptedEpoch}`);
    }
    this.link!.send(ackEpochPacket(this.db.tree.lastProcessedZxid, ackedEpoch));
    this.phase = 'syncing';
  }

  private snapZxid: number | undefined;

  private async onSyncPacket(p: QuorumPacket): Promise<void> {
    switch (p.type) {
      case PacketType.DIFF:
        this.log.info('sync: DIFF', { zxid: zxidHex(p.zxid) });
        return;
      case PacketType.TRUNC: {
        this.log.info('sync: TRUNC', { zxid: zxidHex(p.zxid), from: zxidHex(this.db.tree.lastProcessedZxid) });
        this.db = await this.ctx.truncate(p.zxid);
        this.lastAppended = this.db.tree.lastProcessedZxid;
        if (this.lastAppended !== p.zxid) throw new Error(`TRUNC to ${zxidHex(p.zxid)} left the log at ${zxidHex(this.lastAppended)}`);
        return;
      }
      case PacketType.SNAP:
        this.snapZxid = p.zxid; // the snapshot event follows
        return;
      case PacketType.PROPOSAL: {
        const e = decodeTxnEntry(p.data ?? Buffer.alloc(0));
        this.appendToLog(e);
        this.syncPending.push(e);
        return;
      }
      case PacketType.COMMIT: {
        const e = this.syncPending[0];
        if (e === undefined || e.hdr.zxid !== p.zxid) throw new Error(`sync COMMIT ${zxidHex(p.zxid)} is not the oldest proposal`);
        this.syncPending.shift();
        this.applyToDb(e);
        return;
      }
      case PacketType.INFORM: {
        // A Java leader registers an observer for INFORMs before NEWLEADER (Leader.startForwarding): committed txns
        // can arrive mid-sync. Logged and applied like the sync's committed proposals.
        if (!this.observer) throw new Error('INFORM sent to a follower');
        const e = decodeTxnEntry(p.data ?? Buffer.alloc(0));
        if (e.hdr.zxid <= this.db.tree.lastProcessedZxid) return; // already in the snapshot
        this.appendToLog(e);
        this.applyToDb(e);
        return;
      }
      case PacketType.NEWLEADER:
        return this.onNewLeader(p);
      default:
        throw new Error(`unexpected ${packetTypeName(p.type)} during sync`);
    }
  }

  private async onSnapshot(zxid: number, result: { tree: ServerDatabase['tree']; sessions: Map<bigint, number>; nodes: number }): Promise<void> {
    this.log.info('sync: SNAP received', { zxid: zxidHex(zxid), nodes: result.nodes, sessions: result.sessions.size });
    await this.ctx.truncateLog(zxid);
    this.db = { tree: result.tree, sessions: result.sessions, lastZxid: zxid };
    this.lastAppended = zxid;
  }

  /** NEWLEADER: make the synced history durable, then the epoch, then ACK. */
  private async onNewLeader(p: QuorumPacket): Promise<void> {
    await this.ctx.epochUpdate('begin');
    if (this.appendedInSync) {
      this.flushNow();
      await this.durableUpTo(this.lastAppended);
    }
    const server = this.makeServer();
    if (this.snapZxid !== undefined) await this.ctx.snapshotNow(server);
    if (this.stopped) return;
    await this.ctx.writeEpoch('current', this.newEpoch);
    await this.ctx.epochUpdate('end');
    if (this.stopped) return;
    this.link!.send(ackPacket(p.zxid));
    const committed = this.db.tree.lastProcessedZxid;
    this.fb = new FollowerBroadcast({ epoch: this.newEpoch, lastZxid: committed });
    // Proposals the sync sent without a COMMIT (a Java leader's outstanding ones) are logged already: ACK and
    // apply them through the broadcast machine like any other.
    for (const e of this.syncPending) {
      this.entries.set(e.hdr.zxid, e);
      this.fbApply(this.fb.proposal(e.hdr.zxid, Buffer.alloc(0)), true);
    }
    this.syncPending = [];
    this.fbApply(this.fb.localDurable(this.durableZxid));
    this.phase = 'synced';
    this.log.info('synced with the leader', { epoch: this.newEpoch, zxid: zxidHex(committed), snapshot: this.snapZxid !== undefined });
  }

  private makeServer(): ZooKeeperServer {
    initConfigNode(this.db.tree, this.ctx.config);
    const server = new ZooKeeperServer(this.ctx.config, this.ctx.logger, this.db, {
      mode: this.observer ? 'observer' : 'follower',
      quorumConf: quorumConf(this.ctx.config, this.ctx.myId),
      metrics: () => [['peer_state', `${this.observer ? 'observing' : 'following'} - ${this.phase === 'broadcast' ? 'broadcast' : 'synchronization'}`]],
      forward: (req) => this.forward(req),
      revalidate: (id, timeout, done) => this.revalidate(id, timeout, done),
      touched: (id) => this.touches.add(id),
    });
    this.server = server;
    this.ctx.snapshotFrom(server);
    return server;
  }

  /** A txn committed during sync: applied straight to the tree (no server yet), sessions tracked alongside. */
  private applyToDb(e: TxnEntry): void {
    this.db.tree.processTxn(e.hdr, e.txn);
    if (e.txn.type === OpCode.createSession) this.db.sessions.set(e.hdr.clientId, e.txn.timeOut);
    else if (e.txn.type === OpCode.closeSession) this.db.sessions.delete(e.hdr.clientId);
  }

  // ------------------------------------------------------------------------------------ broadcast

  private onBroadcast(p: QuorumPacket): void {
    const server = this.server!;
    switch (p.type) {
      case PacketType.UPTODATE:
        if (this.phase !== 'synced') throw new Error('UPTODATE twice');
        this.phase = 'broadcast';
        this.link!.send(ackPacket(makeZxid(this.newEpoch, 0)));
        server.start(false).catch((e: Error) => this.stop(`cannot start serving: ${e.message}`));
        this.ctx.serve(server);
        this.log.info(`${this.observer ? 'observing' : 'following'}: serving`, { epoch: this.newEpoch, zxid: zxidHex(server.tree.lastProcessedZxid) });
        return;
      case PacketType.PROPOSAL: {
        const e = decodeTxnEntry(p.data ?? Buffer.alloc(0));
        this.entries.set(p.zxid, e);
        return this.fbApply(this.fb!.proposal(p.zxid, p.data ?? Buffer.alloc(0)));
      }
      case PacketType.COMMIT:
        this.lastCommitZxid = p.zxid;
        this.fbApply(this.fb!.commit(p.zxid));
        return this.releaseSyncs();
      case PacketType.INFORM: {
        if (!this.observer) throw new Error('INFORM sent to a follower');
        const e = decodeTxnEntry(p.data ?? Buffer.alloc(0));
        if (e.hdr.zxid <= server.tree.lastProcessedZxid) return; // already part of the sync
        this.appendToLog(e);
        server.applyCommitted(e.hdr, e.txn, e.digest);
        return;
      }
      case PacketType.PING:
        return this.answerPing(p);
      case PacketType.SYNC:
        // Every COMMIT the leader sent before this SYNC must be applied before the sync is answered; a commit waits
        // for this server's own fsync of the proposal, so the sync may have to wait too.
        this.syncsWaiting.push(this.lastCommitZxid);
        return this.releaseSyncs();
      case PacketType.REVALIDATE: {
        const { sessionId, valid } = readRevalidateReply(p);
        const waiting = this.revalidations.get(sessionId);
        this.revalidations.delete(sessionId);
        for (const done of waiting ?? []) done(valid);
        return;
      }
      default:
        throw new Error(`unexpected ${packetTypeName(p.type)} from the leader`);
    }
  }

  /** Answers, in order, the forwarded syncs whose preceding commits are all applied. */
  private releaseSyncs(): void {
    const applied = this.server!.tree.lastProcessedZxid;
    let n = 0;
    while (n < this.syncsWaiting.length && this.syncsWaiting[n] <= applied) n++;
    if (n === 0) return;
    this.syncsWaiting = this.syncsWaiting.slice(n);
    for (let i = 0; i < n; i++) this.server!.syncDone();
  }

  private fbApply(actions: readonly FollowerAction[], alreadyLogged = false): void {
    for (const a of actions) {
      if ('append' in a) {
        if (!alreadyLogged) this.appendToLog(this.entries.get(a.append)!);
      } else if ('send' in a) {
        this.link!.send(a.packet);
      } else if ('apply' in a) {
        const e = this.entries.get(a.apply)!;
        this.entries.delete(a.apply);
        this.server!.applyCommitted(e.hdr, e.txn, e.digest);
      } else {
        throw new Error(a.error);
      }
    }
  }

  private answerPing(p: QuorumPacket): void {
    const sessions = this.server!.sessions;
    const touches = [...this.touches].map((sessionId) => ({ sessionId, timeoutMs: sessions.timeoutOf(sessionId) ?? 0 }));
    this.touches.clear();
    this.link!.send(learnerPingPacket(p, touches));
  }

  private forward(req: ServerRequest): void {
    const w = new Writer(64);
    if (req.body !== undefined) encodeRequest(w, req.body);
    this.link?.send(requestPacket({ sessionId: req.sessionId, cxid: req.xid, type: req.op, request: w.toBuffer(), authinfo: req.authIds as Id[] }));
  }

  private revalidate(sessionId: bigint, timeoutMs: number, done: (valid: boolean) => void): void {
    const waiting = this.revalidations.get(sessionId);
    if (waiting !== undefined) {
      waiting.push(done);
      return;
    }
    this.revalidations.set(sessionId, [done]);
    this.link?.send(revalidatePacket(sessionId, timeoutMs));
  }

  // ------------------------------------------------------------------------------------ the txn log

  private appendToLog(e: TxnEntry): void {
    if (this.phase === 'syncing') this.appendedInSync = true;
    this.ctx.stage.append(e.hdr, e.txn, e.digest);
    this.lastAppended = e.hdr.zxid;
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    clock.setImmediate(() => this.flushNow());
  }

  private flushNow(): void {
    this.flushScheduled = false;
    if (!this.stopped) this.ctx.stage.flush();
  }

  private onDurable(zxid: number): void {
    if (zxid > this.durableZxid) this.durableZxid = zxid;
    this.durableWaiters = this.durableWaiters.filter((w) => {
      if (w.zxid > this.durableZxid) return true;
      w.resolve();
      return false;
    });
    if (this.fb !== undefined && !this.stopped) {
      this.fbApply(this.fb.localDurable(zxid));
      if (this.server !== undefined) this.releaseSyncs();
    }
  }

  /** Resolves once the log is durable up to `zxid`. */
  private durableUpTo(zxid: number): Promise<void> {
    if (zxid <= this.durableZxid) return Promise.resolve();
    return new Promise((resolve) => this.durableWaiters.push({ zxid, resolve }));
  }

  // ------------------------------------------------------------------------------------ time

  private tick(): void {
    if (this.stopped || this.link === undefined) return;
    const limit = this.phase === 'broadcast' ? this.syncMs : this.initMs;
    const silent = clock.now() - this.link.lastHeardMs;
    if (silent > limit) this.stop(`no packet from the leader for ${silent} ms (limit ${limit} ms)`);
  }
}

function dial(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    const timer = clock.setTimeout(() => {
      sock.destroy();
      reject(new Error('connect timed out'));
    }, timeoutMs);
    sock.once('connect', () => {
      clock.clear(timer);
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (e) => {
      clock.clear(timer);
      sock.destroy();
      reject(e);
    });
  });
}
