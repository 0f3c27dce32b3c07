// quorum/leader.ts: the leader role (ZooKeeper's Leader + LearnerHandler + LeaderZooKeeperServer) as a shell over
// the pure cores: LeaderDiscovery (epoch and NEWLEADER agreement), planSync (DIFF/TRUNC/SNAP), LeaderBroadcast
// (PROPOSAL/ACK/COMMIT). The leader's clients use the standalone pipeline; its "make durable" stage is this class:
// a txn is appended to the local log and proposed, and the pipeline hears "durable" for it only once a quorum of
// voters (the leader's own fsync counting as one ACK) has it on disk.
//
// Learner connection, in order: FOLLOWERINFO/OBSERVERINFO -> (epoch fixed by a quorum) LEADERINFO -> ACKEPOCH ->
// (quorum of ACKEPOCH, currentEpoch written) sync opener [+ PROPOSAL/COMMIT pairs | snapshot] + NEWLEADER, and in the
// same turn LeaderBroadcast.learnerSynced (outstanding proposals follow) -> ACK of NEWLEADER -> (quorum: the leader
// is established and starts serving) UPTODATE -> broadcast. Each wait is bounded by initLimit; once established, a
// leader that has not heard from a quorum of voters within syncLimit steps down.
import type { Timer } from '../util/sys.js';
import { clock, fs, net } from '../util/sys.js';
import type { Server, Socket } from 'node:net';
import { Reader } from '../jute/codec.js';
import { OpCode } from '../protocol/constants.js';
import { decodeRequest } from '../protocol/requests.js';
import type { PreparedRequest, ServerRequest } from '../server/request.js';
import { type RemoteOwner, ZooKeeperServer } from '../server/zkserver.js';
import type { TxnLog } from '../server/pipeline.js';
import { versionDir } from '../storage/database.js';
import { listSnapshots } from '../storage/snapshot.js';
import type { Txn, TxnDigest, TxnHeader } from '../txn/records.js';
import type { Logger } from '../util/log.js';
import { PeerLink } from './link.js';
import { initConfigNode, limitsMs, quorumConf, type Role, type RoleContext, verifierText } from './role.js';
import { LeaderBroadcast, type LeaderAction } from './zab/broadcast.js';
import { DiscoveryError, LeaderDiscovery } from './zab/discovery.js';
import {
  leaderInfoPacket, leaderPingPacket, marshallTxnEntry, newLeaderPacket, PacketType, packetTypeName, type QuorumPacket,
  readAckEpoch, readLearnerInfo, readRequest, readRevalidate, readSessionTouches, revalidateReplyPacket, syncPacket,
  upToDatePacket,
} from './zab/packets.js';
import { snapStreamChunks } from './zab/snapstream.js';
import { planSync, syncPackets } from './zab/sync.js';
import { dirTxnLogSource } from './zab/txnlogSource.js';
import { counterOf, epochOf, MAX_COUNTER, zxidHex } from './zab/zxid.js';

/** zookeeper.commitLogCount: committed proposals kept in memory for DIFF sync. */
export const COMMIT_LOG_COUNT = 500;

type HandlerPhase = 'info' | 'leaderinfo-sent' | 'epoch-acked' | 'newleader-sent' | 'newleader-acked' | 'broadcast';

interface LearnerHandler {
  link: PeerLink;
  sid: number;
  observer: boolean;
  phase: HandlerPhase;
  peerLastZxid: number;
  /** Rounds of the PINGs sent and not yet answered, oldest first (a learner answers every PING, in order). */
  pingRounds: number[];
  /** The newest round this learner answered. */
  answeredRound: number;
}

export class Leader implements Role, TxnLog {
  readonly ended: Promise<string>;
  private endWith!: (reason: string) => void;
  private stopped = false;
  private readonly log: Logger;
  private readonly listener: Server;
  readonly server: ZooKeeperServer;
  private readonly discovery: LeaderDiscovery;
  private readonly broadcast: LeaderBroadcast;
  private readonly voters: number[];
  /** PING rounds: the last sent, the newest a quorum answered, the one scheduled for the end of this turn. */
  private round = 0;
  private confirmedRound = 0;
  private roundScheduled: number | undefined;
  private readonly handlers = new Set<LearnerHandler>();
  private readonly bySid = new Map<number, LearnerHandler>();
  private readonly proposalData = new Map<number, Buffer>();
  private committedLog: QuorumPacket[] = [];
  /** Set once acceptedEpoch is on disk (LEADERINFO may go out). */
  private epochWritten = false;
  /** Set once currentEpoch is on disk (syncs may start). */
  private currentWritten = false;
  private established = false;
  private establishedAt = 0;
  /** Proposals made in this leadership (mntr zk_proposal_count). */
  private proposals = 0;
  private deadlineMs: number;
  private readonly timer: Timer;
  private readonly initMs: number;
  private readonly syncMs: number;

  constructor(private readonly ctx: RoleContext) {
    this.log = ctx.logger.child({ component: 'leader' });
    this.ended = new Promise((resolve) => (this.endWith = resolve));
    const servers = ctx.config.servers;
    this.voters = servers.filter((s) => s.role === 'participant').map((s) => s.id);
    const observers = servers.filter((s) => s.role === 'observer').map((s) => s.id);
    ({ initMs: this.initMs, syncMs: this.syncMs } = limitsMs(ctx.config));
    this.discovery = new LeaderDiscovery({
      myId: ctx.myId, voters: this.voters, acceptedEpoch: ctx.acceptedEpoch, currentEpoch: ctx.currentEpoch,
      lastZxid: ctx.db.tree.lastProcessedZxid,
    });
    this.broadcast = new LeaderBroadcast({ myId: ctx.myId, voters: this.voters, observers });
    this.server = new ZooKeeperServer(ctx.config, ctx.logger, ctx.db, {
      mode: 'leader', quorumConf: quorumConf(ctx.config, ctx.myId), metrics: () => this.metrics(),
    });
    initConfigNode(this.server.tree, ctx.config);
    this.server.setLog(this);
    ctx.snapshotFrom(this.server);
    ctx.onDurable((zxid) => this.apply(this.broadcast.localDurable(zxid)));
    this.deadlineMs = clock.now() + this.initMs;
    this.timer = clock.setInterval(() => this.tick(), Math.max(1, Math.floor(ctx.config.tickTime / 2)));
    this.listener = net.createServer((sock) => this.accept(sock));
    const me = servers.find((s) => s.id === ctx.myId)!;
    this.listener.on('error', (e) => this.stop(`quorum port ${me.host}:${me.quorumPort}: ${e.message}`));
    this.listener.listen({ host: ctx.config.quorumListenOnAllIPs ? '0.0.0.0' : me.host, port: me.quorumPort });
    this.log.info('leading: waiting for followers', { acceptedEpoch: ctx.acceptedEpoch, lastZxid: zxidHex(ctx.db.tree.lastProcessedZxid) });
    this.progress();
  }

  describe(): Record<string, unknown> {
    return { epoch: this.discovery.newEpoch, phase: this.discovery.phase, lastCommitted: zxidHex(this.server.tree.lastProcessedZxid) };
  }

  /** The leader's mntr lines (Leader's gauges in ZooKeeper 3.8). */
  private metrics(): Array<readonly [string, number | string]> {
    const broadcasting = [...this.bySid.values()].filter((h) => h.phase === 'broadcast');
    const observers = broadcasting.filter((h) => h.observer).length;
    return [
      ['peer_state', this.established ? 'leading - broadcast' : 'leading - synchronization'],
      ['learners', this.bySid.size],
      ['synced_followers', broadcasting.length - observers],
      ['synced_non_voting_followers', 0],
      ['synced_observers', observers],
      ['pending_syncs', 0],
      ['quorum_size', this.voters.length],
      ['leader_uptime', this.establishedAt === 0 ? 0 : clock.now() - this.establishedAt],
      ['proposal_count', this.proposals],
    ];
  }

  stop(reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.log.warn('leading ended', { reason });
    clock.clear(this.timer);
    this.listener.close();
    for (const h of this.handlers) h.link.close('leader stepping down');
    this.endWith(reason);
  }

  // ------------------------------------------------------------------------------------ the pipeline's TxnLog

  append(hdr: TxnHeader, txn: Txn, digest?: TxnDigest): void {
    if (this.stopped) return;
    if (counterOf(hdr.zxid) >= MAX_COUNTER) {
      // Leader.propose: the counter is exhausted; a new election starts the next epoch at counter 1.
      this.stop(`zxid ${zxidHex(hdr.zxid)}: the counter's low 32 bits are exhausted, forcing a new election`);
      return;
    }
    this.ctx.stage.append(hdr, txn, digest);
    const data = marshallTxnEntry(hdr, txn, digest);
    this.proposalData.set(hdr.zxid, data);
    this.proposals++;
    this.apply(this.broadcast.propose(hdr.zxid, data));
  }

  flush(): void {
    if (!this.stopped) this.ctx.stage.flush();
  }

  private apply(actions: readonly LeaderAction[]): void {
    for (const a of actions) {
      if ('send' in a) {
        this.bySid.get(a.send)?.link.send(a.packet);
        continue;
      }
      const data = this.proposalData.get(a.committed);
      this.proposalData.delete(a.committed);
      if (data !== undefined) this.remember({ type: PacketType.PROPOSAL, zxid: a.committed, data, authinfo: null });
      this.server.durable(a.committed);
    }
  }

  /** ZKDatabase.committedLog: the newest committed proposals, for DIFF. */
  private remember(p: QuorumPacket): void {
    this.committedLog.push(p);
    if (this.committedLog.length > COMMIT_LOG_COUNT * 2) this.committedLog = this.committedLog.slice(-COMMIT_LOG_COUNT);
  }

  // ------------------------------------------------------------------------------------ learners

  private accept(sock: Socket): void {
    if (this.stopped) {
      sock.destroy();
      return;
    }
    const h: LearnerHandler = { link: undefined as unknown as PeerLink, sid: -1, observer: false, phase: 'info', peerLastZxid: -1, pingRounds: [], answeredRound: 0 };
    h.link = new PeerLink(sock, {
      maxBuffer: this.ctx.config.juteMaxBuffer + 1024,
      onEvent: (ev) => {
        if (ev.kind === 'packet') this.onPacket(h, ev.packet);
      },
      onClose: (reason) => this.lost(h, reason),
    });
    this.handlers.add(h);
  }

  private lost(h: LearnerHandler, reason: string): void {
    this.handlers.delete(h);
    if (h.sid >= 0 && this.bySid.get(h.sid) === h) {
      this.bySid.delete(h.sid);
      this.apply(this.broadcast.learnerLost(h.sid));
    }
    if (!this.stopped) this.log.info('learner gone', { sid: h.sid, reason });
  }

  private drop(h: LearnerHandler, why: string): void {
    this.log.warn('dropping learner', { sid: h.sid, remote: h.link.remote, why });
    h.link.close(why);
  }

  private onPacket(h: LearnerHandler, p: QuorumPacket): void {
    if (this.stopped) return;
    try {
      switch (h.phase) {
        case 'info': return this.onLearnerInfo(h, p);
        case 'leaderinfo-sent': return this.onAckEpoch(h, p);
        case 'newleader-sent': return this.onNewLeaderAck(h, p);
        case 'broadcast': case 'newleader-acked': return this.onBroadcast(h, p);
        default: return this.drop(h, `unexpected ${packetTypeName(p.type)} while ${h.phase}`);
      }
    } catch (e) {
      if (e instanceof DiscoveryError) {
        this.stop(e.message);
        return;
      }
      this.drop(h, `bad ${packetTypeName(p.type)}: ${(e as Error).message}`);
    }
  }

  private onLearnerInfo(h: LearnerHandler, p: QuorumPacket): void {
    if (p.type !== PacketType.FOLLOWERINFO && p.type !== PacketType.OBSERVERINFO) {
      return this.drop(h, `first packet was ${packetTypeName(p.type)}, not FOLLOWERINFO or OBSERVERINFO`);
    }
    const info = readLearnerInfo(p);
    const sid = info?.serverId === undefined ? -1 : Number(info.serverId);
    const server = this.ctx.config.servers.find((s) => s.id === sid);
    if (server === undefined || sid === this.ctx.myId) return this.drop(h, `server id ${sid} is not a member of this ensemble`);
    h.sid = sid;
    h.observer = p.type === PacketType.OBSERVERINFO;
    if (h.observer !== (server.role === 'observer')) return this.drop(h, `server ${sid} connected as ${h.observer ? 'observer' : 'follower'} against its configured role`);
    const old = this.bySid.get(sid);
    if (old !== undefined) this.drop(old, 'the same server connected again');
    this.bySid.set(sid, h);
    this.log.info('learner connected', { sid, observer: h.observer, acceptedEpoch: epochOf(p.zxid), remote: h.link.remote });
    this.discovery.learnerInfo(sid, epochOf(p.zxid));
    this.progress();
  }

  private onAckEpoch(h: LearnerHandler, p: QuorumPacket): void {
    if (p.type !== PacketType.ACKEPOCH) return this.drop(h, `expected ACKEPOCH, got ${packetTypeName(p.type)}`);
    h.peerLastZxid = p.zxid;
    h.phase = 'epoch-acked';
    this.discovery.ackEpoch(h.sid, readAckEpoch(p), p.zxid);
    this.progress();
  }

  private onNewLeaderAck(h: LearnerHandler, p: QuorumPacket): void {
    if (p.type !== PacketType.ACK) return this.drop(h, `expected the ACK of NEWLEADER, got ${packetTypeName(p.type)}`);
    // Leader.waitForNewLeaderAck ignores a wrong zxid; here the learner that sent it is dropped, not the leadership.
    if (p.zxid !== this.discovery.newLeaderZxid) return this.drop(h, `ACK of NEWLEADER carries ${zxidHex(p.zxid)}`);
    this.discovery.newLeaderAck(h.sid, p.zxid);
    h.phase = 'newleader-acked';
    this.progress();
  }

  /** Moves every learner as far as discovery allows, and the leader itself once established. */
  private progress(): void {
    const phase = this.discovery.phase;
    if (phase === 'epoch') return;
    if (!this.epochWritten) {
      this.writeEpochOnce('accepted', () => (this.epochWritten = true));
      return;
    }
    for (const h of this.handlers) {
      if (h.phase === 'info' && h.sid >= 0) {
        h.link.send(leaderInfoPacket(this.discovery.newEpoch));
        h.phase = 'leaderinfo-sent';
      }
    }
    if (phase === 'ackepoch') return;
    if (!this.currentWritten) {
      this.writeEpochOnce('current', () => (this.currentWritten = true));
      return;
    }
    for (const h of this.handlers) if (h.phase === 'epoch-acked') this.sync(h);
    if (phase !== 'established') return;
    if (!this.established) this.establish();
    for (const h of this.handlers) {
      if (h.phase === 'newleader-acked') {
        h.link.send(upToDatePacket());
        h.phase = 'broadcast';
      }
    }
  }

  private writing = false;
  private writeEpochOnce(kind: 'accepted' | 'current', done: () => void): void {
    if (this.writing) return;
    this.writing = true;
    const epoch = this.discovery.newEpoch;
    this.ctx.writeEpoch(kind, epoch).then(() => {
      this.writing = false;
      if (this.stopped) return;
      this.log.info(`${kind}Epoch written`, { epoch });
      done();
      this.deadlineMs = clock.now() + this.initMs;
      this.progress();
    }, (e: Error) => this.stop(`cannot write the ${kind} epoch: ${e.message}`));
  }

  /** LearnerHandler.syncFollower + the packets up to NEWLEADER, then startForwarding: one turn, the tree still. */
  private sync(h: LearnerHandler): void {
    const tree = this.server.tree;
    const snaps = listSnapshots(versionDir(this.ctx.config.dataDir));
    const plan = planSync({
      peerLastZxid: h.peerLastZxid,
      lastProcessedZxid: tree.lastProcessedZxid,
      committedLog: this.committedLog,
      forceSnapSync: forceSnapSync(this.ctx),
      snapshotSizeBytes: snaps.length > 0 ? fileSize(snaps[0].file) : 0,
      txnLog: dirTxnLogSource(versionDir(this.ctx.config.dataLogDir)),
    });
    this.log.info('syncing learner', {
      sid: h.sid, mode: plan.kind, reason: plan.reason, peerZxid: zxidHex(h.peerLastZxid), zxid: zxidHex(plan.zxid),
      proposals: plan.kind === 'SNAP' ? 0 : plan.proposals.length,
    });
    for (const p of syncPackets(plan)) h.link.send(p);
    if (plan.kind === 'SNAP') {
      for (const chunk of snapStreamChunks(tree, this.server.sessions.sessions())) h.link.sendRaw(chunk);
    }
    h.link.send(newLeaderPacket(this.discovery.newLeaderZxid, verifierText(this.ctx.config)));
    h.phase = 'newleader-sent';
    this.apply(this.broadcast.learnerSynced(h.sid));
  }

  private establish(): void {
    this.established = true;
    this.establishedAt = clock.now();
    this.server.startZxidAfter(this.discovery.newLeaderZxid);
    this.server.start(false).catch((e: Error) => this.stop(`cannot start serving: ${e.message}`));
    this.ctx.serve(this.server);
    this.log.info('leader established: serving', { epoch: this.discovery.newEpoch, zxid: zxidHex(this.server.tree.lastProcessedZxid) });
  }

  private onBroadcast(h: LearnerHandler, p: QuorumPacket): void {
    switch (p.type) {
      case PacketType.ACK:
        if (!h.observer) this.apply(this.broadcast.ack(h.sid, p.zxid));
        return;
      case PacketType.REQUEST:
        return this.forwarded(h, p);
      case PacketType.PING:
        for (const t of readSessionTouches(p)) this.server.sessions.touch(t.sessionId, this.server.now());
        return this.pingAnswered(h);
      case PacketType.REVALIDATE: {
        const { sessionId } = readRevalidate(p);
        const valid = this.server.sessions.touch(sessionId, this.server.now());
        if (valid) this.server.sessions.setOwner(sessionId, h.sid);
        h.link.send(revalidateReplyPacket(p, sessionId, valid));
        return;
      }
      default:
        return this.drop(h, `unexpected ${packetTypeName(p.type)} in broadcast`);
    }
  }

  /** A learner's client request: into the leader's pipeline, answered by COMMIT (writes) or SYNC (sync). */
  private forwarded(h: LearnerHandler, p: QuorumPacket): void {
    const fr = readRequest(p);
    const req: ServerRequest = {
      sessionId: fr.sessionId, xid: fr.cxid, op: fr.type, body: undefined, authIds: fr.authinfo ?? [],
      cnxn: remoteOwner(h, fr.sessionId, fr.authinfo ?? []), receivedMs: this.server.now(),
    };
    try {
      req.body = decodeRequest(fr.type, new Reader(fr.request, 0, this.ctx.config.juteMaxBuffer));
    } catch (e) {
      req.decodeError = (e as Error).message;
    }
    if (req.body?.op === OpCode.createSession) {
      this.server.sessions.add(fr.sessionId, req.body.timeOut, this.server.now());
      this.server.sessions.setOwner(fr.sessionId, h.sid);
    }
    if (!this.established) return this.drop(h, 'REQUEST before the leader is established');
    this.server.submit(req);
  }

  // ------------------------------------------------------------------------------------ time

  private tick(): void {
    if (this.stopped) return;
    const now = clock.now();
    if (!this.established) {
      if (now > this.deadlineMs) this.stop(`no quorum within initLimit (${this.initMs} ms) while in phase ${this.discovery.phase}`);
      return;
    }
    let synced = 1;
    for (const h of [...this.bySid.values()]) {
      if (h.phase !== 'broadcast') continue;
      if (now - h.link.lastHeardMs > this.syncMs) {
        // LearnerHandler.ping: a learner silent for syncLimit is cut off (its queued packets would only pile up).
        this.drop(h, `silent for ${now - h.link.lastHeardMs} ms (syncLimit ${this.syncMs} ms)`);
        continue;
      }
      if (!h.observer) synced++;
    }
    if (synced * 2 <= this.voters.length) {
      this.stop(`not sufficient followers synced: ${synced} of ${this.voters.length} voters within syncLimit (${this.syncMs} ms)`);
      return;
    }
    this.pingRound();
  }

  // ------------------------------------------------------------------------------------ leadership confirmation

  /**
   * TxnLog.confirmLeadership (a sync's read barrier, as etcd's ReadIndex): a PING round starts at the end of this
   * turn (syncs of one turn share it); the ticket is confirmed once a quorum of voters answered that round or a later
   * one. A leader cut off from its quorum never confirms and steps down within syncLimit; its syncs die with it.
   */
  confirmLeadership(): number {
    if (this.roundScheduled === undefined) {
      this.roundScheduled = this.round + 1;
      clock.setImmediate(() => this.pingRound());
    }
    return this.roundScheduled;
  }

  private pingRound(): void {
    this.roundScheduled = undefined;
    if (this.stopped || !this.established) return;
    const round = ++this.round;
    const ping = leaderPingPacket(this.broadcast.lastProposed);
    for (const h of this.bySid.values()) {
      if (h.phase !== 'broadcast') continue;
      h.link.send(ping);
      h.pingRounds.push(round);
    }
    this.checkConfirmed();
  }

  private pingAnswered(h: LearnerHandler): void {
    const round = h.pingRounds.shift();
    if (round === undefined) return;
    h.answeredRound = round;
    if (!h.observer) this.checkConfirmed();
  }

  /** The newest round a quorum of voters (this leader always among them) has answered. */
  private checkConfirmed(): void {
    const answered = [this.round];
    for (const h of this.bySid.values()) if (!h.observer && h.phase === 'broadcast') answered.push(h.answeredRound);
    const quorum = Math.floor(this.voters.length / 2) + 1;
    if (answered.length < quorum) return;
    answered.sort((a, b) => b - a);
    const confirmed = answered[quorum - 1];
    if (confirmed > this.confirmedRound) {
      this.confirmedRound = confirmed;
      this.server.leadershipConfirmed(confirmed);
    }
  }
}

function remoteOwner(h: LearnerHandler, sessionId: bigint, authIds: RemoteOwner['authIds']): RemoteOwner {
  return {
    remote: true, serverId: h.sid, sessionId, authIds,
    sendReply: () => undefined,
    closeAfterReply: () => undefined,
    done: (pr: PreparedRequest) => {
      if (pr.req.op === OpCode.sync) h.link.send(syncPacket());
    },
  };
}

/** zookeeper.forceSnapshotSync (a system property in ZooKeeper; a zoo.cfg key here). */
function forceSnapSync(ctx: RoleContext): boolean {
  const v = ctx.config.properties.get('zookeeper.forceSnapshotSync') ?? ctx.config.properties.get('forceSnapshotSync');
  return v?.trim().toLowerCase() === 'true';
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
