// quorum/zab/broadcast.ts: ZAB's broadcast phase (Leader.propose / processAck / tryToCommit, LearnerHandler's
// forwarding, Follower.processPacket / FollowerZooKeeperServer.logRequest / commit) as two pure state machines.
// They do no I/O, read no clock and draw no randomness: the shell feeds them inputs (a proposal, "my log is durable up
// to zxid Z", a packet from peer N, a learner joined or left) and carries out the actions they return, in order.
//
// Leader (LeaderBroadcast):
//   propose(zxid, data)  -> PROPOSAL to every synced follower (observers get nothing yet)
//   localDurable(zxid)   -> the leader's own fsync: counts as the leader's ACK for every proposal up to zxid
//   ack(sid, zxid)       -> counted only from a synced voter (which was sent every outstanding proposal)
//   learnerSynced(sid)   -> Leader.startForwarding: the outstanding (uncommitted) proposals go to it again, in order
//   learnerLost(sid)     -> it gets nothing more; the ACKs it already gave stay counted (they were durable on its disk)
// When the oldest outstanding proposal has a majority of voters (the leader included, through localDurable), it
// commits: COMMIT to every synced follower, INFORM(proposal bytes) to every synced observer, then { committed } for the
// pipeline. Commits leave strictly in zxid order: a later proposal whose quorum came first waits for the earlier one
// (ZooKeeper's tryToCommit does the same: it returns while the proposal zxid - 1 is still outstanding).
//
// A learner that syncs while proposals are in flight was synced from the leader's committed state, so it has none of
// the outstanding proposals: an ACK from it before learnerSynced says nothing about its disk, and counting it could
// commit a txn that only a minority holds. So ACKs count only from synced voters, and learnerSynced sends a follower
// every outstanding proposal, in order, before anything else: from then on a synced follower has been sent every
// outstanding proposal (propose sends each new one to all synced followers), and its ACK for any of them is a real
// one. After learnerLost its ACKs are ignored until it syncs again (and is sent the outstanding proposals again). The
// shell must call learnerSynced in the same turn as it finishes the sync (the sync covered everything committed so
// far), so no committed txn is missed and no COMMIT is owed to it.
//
// Follower (FollowerBroadcast):
//   proposal(zxid, data) -> { append } (log it); it must be the next zxid, else { error } (the shell drops the leader)
//   localDurable(zxid)   -> ACK for every logged proposal up to zxid: never before fsync (ZOOKEEPER-4646)
//   commit(zxid)         -> { apply } once that proposal is both committed and durable, strictly in order
// A COMMIT at or below the zxid the sync ended at is late but harmless and ignored (ZOOKEEPER-4394 crashed on it); a
// COMMIT for a zxid never proposed, or out of order, is an { error }. After an error the machine is stopped: every
// later input answers the same error.
import { ackPacket, commitPacket, informPacket, PacketType, type QuorumPacket } from './packets.js';
import { epochOf, makeZxid, zxidHex } from './zxid.js';

/** Upper bound on proposals in flight (the server's globalOutstandingLimit keeps it far below this). */
export const BROADCAST_OUTSTANDING_MAX = 1_000_000;

// ------------------------------------------------------------------------------------------------- leader

export type LeaderAction = { send: number; packet: QuorumPacket } | { committed: number };

export interface LeaderBroadcastConfig {
  myId: number;
  /** Every voting member, the leader included. */
  voters: readonly number[];
  observers: readonly number[];
  /** Proposals in flight beyond this are a programmer error (the throttle failed). */
  maxOutstanding?: number;
}

interface Proposal {
  zxid: number;
  data: Buffer;
  /** Voters whose ACK counted (the leader itself once locally durable). */
  acks: Set<number>;
}

export class LeaderBroadcast {
  private readonly myId: number;
  private readonly voters: ReadonlySet<number>;
  private readonly observers: ReadonlySet<number>;
  private readonly maxOutstanding: number;
  /** Synced learners, followers and observers, ascending (sends go out in sid order: deterministic traces). */
  private readonly synced = new Set<number>();
  /** Uncommitted proposals, ascending zxid. */
  private readonly outstanding: Proposal[] = [];
  private lastProposedZxid = -1;
  private lastCommittedZxid = -1;
  private localDurableZxid = -1;

  constructor(config: LeaderBroadcastConfig) {
    this.myId = config.myId;
    this.voters = new Set(config.voters);
    this.observers = new Set(config.observers);
    this.maxOutstanding = config.maxOutstanding ?? BROADCAST_OUTSTANDING_MAX;
    if (!this.voters.has(this.myId)) throw new Error(`leader ${this.myId} is not among the voters ${[...this.voters].join(',')}`);
    for (const o of this.observers) if (this.voters.has(o)) throw new Error(`server ${o} is both voter and observer`);
  }

  get lastProposed(): number {
    return this.lastProposedZxid;
  }
  get lastCommitted(): number {
    return this.lastCommittedZxid;
  }
  /** Proposals sent and not yet committed. */
  get outstandingCount(): number {
    return this.outstanding.length;
  }

  /** Leader.propose: the pipeline assigned `zxid` (strictly above every earlier one) to a txn, `data` its bytes. */
  propose(zxid: number, data: Buffer): LeaderAction[] {
    if (!(zxid > this.lastProposedZxid)) throw new Error(`proposal ${zxidHex(zxid)} not above the last one ${zxidHex(this.lastProposedZxid)}`);
    if (this.outstanding.length >= this.maxOutstanding) throw new Error(`more than ${this.maxOutstanding} proposals outstanding`);
    const p: Proposal = { zxid, data, acks: new Set() };
    this.lastProposedZxid = zxid;
    this.outstanding.push(p);
    const out: LeaderAction[] = [];
    for (const sid of this.syncedFollowers()) out.push(this.sendProposal(p, sid));
    return out;
  }

  /** The leader's own log is durable up to `zxid`: its ACK for every proposal at or below it. */
  localDurable(zxid: number): LeaderAction[] {
    // Clamped: durability reported for a zxid not yet proposed must not pre-acknowledge a later proposal.
    const upTo = Math.min(zxid, this.lastProposedZxid);
    if (upTo <= this.localDurableZxid) return [];
    this.localDurableZxid = upTo;
    for (const p of this.outstanding) {
      if (p.zxid > upTo) break;
      p.acks.add(this.myId);
    }
    return this.tryCommit();
  }

  /** Leader.processAck. Ignored: observers, unknown sids, the leader's own id, stale or unknown zxids, duplicates. */
  ack(sid: number, zxid: number): LeaderAction[] {
    if (sid === this.myId || !this.voters.has(sid) || !this.synced.has(sid)) return [];
    const p = this.find(zxid);
    if (p === undefined || p.acks.has(sid)) return [];
    p.acks.add(sid);
    return this.tryCommit();
  }

  /**
   * Leader.startForwarding: the learner finished its sync; outstanding proposals go to a follower, in order. Called
   * again for a synced sid it means a new connection (the old one's learnerLost was missed): they are sent again.
   */
  learnerSynced(sid: number): LeaderAction[] {
    if (sid === this.myId || !(this.voters.has(sid) || this.observers.has(sid))) return [];
    this.synced.add(sid);
    if (!this.voters.has(sid)) return []; // observers get INFORM at commit time
    return this.outstanding.map((p) => this.sendProposal(p, sid));
  }

  /** The learner's connection closed: nothing more is sent to it and its later ACKs are ignored. */
  learnerLost(sid: number): LeaderAction[] {
    this.synced.delete(sid);
    return [];
  }

  private sendProposal(p: Proposal, sid: number): LeaderAction {
    return { send: sid, packet: { type: PacketType.PROPOSAL, zxid: p.zxid, data: p.data, authinfo: null } };
  }

  private syncedFollowers(): number[] {
    return [...this.synced].filter((s) => this.voters.has(s)).sort((a, b) => a - b);
  }

  private syncedObservers(): number[] {
    return [...this.synced].filter((s) => this.observers.has(s)).sort((a, b) => a - b);
  }

  private find(zxid: number): Proposal | undefined {
    // Outstanding proposals are few (the pipeline's throttle); the newest are ACKed most, so search from the end.
    for (let i = this.outstanding.length - 1; i >= 0; i--) {
      const p = this.outstanding[i];
      if (p.zxid === zxid) return p;
      if (p.zxid < zxid) return undefined;
    }
    return undefined;
  }

  private hasQuorum(p: Proposal): boolean {
    return p.acks.size * 2 > this.voters.size;
  }

  /** Leader.tryToCommit: commits from the oldest outstanding proposal while each has a quorum. */
  private tryCommit(): LeaderAction[] {
    const out: LeaderAction[] = [];
    let n = 0;
    while (n < this.outstanding.length && this.hasQuorum(this.outstanding[n])) {
      const p = this.outstanding[n++];
      for (const sid of this.syncedFollowers()) out.push({ send: sid, packet: commitPacket(p.zxid) });
      for (const sid of this.syncedObservers()) out.push({ send: sid, packet: informPacket(p.zxid, p.data) });
      out.push({ committed: p.zxid });
      this.lastCommittedZxid = p.zxid;
    }
    if (n > 0) this.outstanding.splice(0, n);
    return out;
  }
}

// ------------------------------------------------------------------------------------------------- follower

export type FollowerAction =
  | { append: number; data: Buffer }
  | { send: 'leader'; packet: QuorumPacket }
  | { apply: number }
  | { error: string };

export interface FollowerBroadcastConfig {
  /** The leader's epoch: every proposal must be in it. */
  epoch: number;
  /** The last zxid the sync left in this follower's log (committed and applied there). */
  lastZxid: number;
  maxOutstanding?: number;
}

export class FollowerBroadcast {
  private readonly epoch: number;
  private readonly syncedZxid: number;
  private readonly maxOutstanding: number;
  /** Zxids logged and not yet applied, ascending; `committedCount` of them, from the front, are committed. */
  private pending: number[] = [];
  private committedCount = 0;
  private lastAppendedZxid: number;
  private durableZxid: number;
  private ackedZxid: number;
  private failure: string | undefined;

  constructor(config: FollowerBroadcastConfig) {
    this.epoch = config.epoch;
    this.syncedZxid = config.lastZxid;
    this.lastAppendedZxid = config.lastZxid;
    this.durableZxid = config.lastZxid;
    this.ackedZxid = config.lastZxid;
    this.maxOutstanding = config.maxOutstanding ?? BROADCAST_OUTSTANDING_MAX;
    if (epochOf(config.lastZxid) > config.epoch) throw new Error(`synced to ${zxidHex(config.lastZxid)}, beyond epoch ${config.epoch}`);
  }

  get lastAppended(): number {
    return this.lastAppendedZxid;
  }
  /** The reason the machine stopped, if it did. */
  get error(): string | undefined {
    return this.failure;
  }

  /** The zxid the next PROPOSAL must carry: the next counter, or counter 1 of the leader's epoch to open it. */
  private nextZxid(): number {
    return epochOf(this.lastAppendedZxid) === this.epoch ? this.lastAppendedZxid + 1 : makeZxid(this.epoch, 1);
  }

  /** A PROPOSAL from the leader: log it (ACK waits for durability). */
  proposal(zxid: number, data: Buffer): FollowerAction[] {
    if (this.failure !== undefined) return this.stopped();
    const want = this.nextZxid();
    if (zxid !== want) return this.fail(`PROPOSAL ${zxidHex(zxid)} out of order: expected ${zxidHex(want)}`);
    if (this.pending.length >= this.maxOutstanding) return this.fail(`more than ${this.maxOutstanding} proposals unapplied`);
    this.pending.push(zxid);
    this.lastAppendedZxid = zxid;
    return [{ append: zxid, data }];
  }

  /** The local log is durable up to `zxid`: ACK what it covers (ZOOKEEPER-4646), then apply what was committed. */
  localDurable(zxid: number): FollowerAction[] {
    if (this.failure !== undefined) return this.stopped();
    const upTo = Math.min(zxid, this.lastAppendedZxid);
    if (upTo <= this.durableZxid) return [];
    this.durableZxid = upTo;
    const out: FollowerAction[] = [];
    for (const z of this.pending) {
      if (z > upTo) break;
      if (z <= this.ackedZxid) continue;
      out.push({ send: 'leader', packet: ackPacket(z) });
      this.ackedZxid = z;
    }
    this.applyReady(out);
    return out;
  }

  /** A COMMIT from the leader: must name the oldest uncommitted proposal. */
  commit(zxid: number): FollowerAction[] {
    if (this.failure !== undefined) return this.stopped();
    if (zxid <= this.syncedZxid) return []; // ZOOKEEPER-4394: a late COMMIT for a txn the sync already delivered
    const want = this.pending[this.committedCount];
    if (want === undefined) return this.fail(`COMMIT ${zxidHex(zxid)} for no outstanding proposal`);
    if (zxid !== want) return this.fail(`COMMIT ${zxidHex(zxid)} out of order: expected ${zxidHex(want)}`);
    this.committedCount++;
    const out: FollowerAction[] = [];
    this.applyReady(out);
    return out;
  }

  /** Applies, in order, the front proposals that are both committed and durable. */
  private applyReady(out: FollowerAction[]): void {
    let n = 0;
    while (n < this.committedCount && this.pending[n] <= this.durableZxid) out.push({ apply: this.pending[n++] });
    if (n === 0) return;
    this.pending = this.pending.slice(n);
    this.committedCount -= n;
  }

  private fail(reason: string): FollowerAction[] {
    this.failure = reason;
    return [{ error: reason }];
  }

  private stopped(): FollowerAction[] {
    return [{ error: this.failure! }];
  }
}
