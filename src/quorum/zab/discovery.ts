// quorum/zab/discovery.ts: the leader's side of ZAB discovery and synchronisation agreement (Leader.getEpochToPropose,
// waitForEpochAck, waitForNewLeaderAck) as a pure state machine. Three quorum waits, each over the voters with the
// leader counted as one of them:
//
//   1. epoch      FOLLOWERINFO/OBSERVERINFO carry each learner's acceptedEpoch. The new epoch is one above the
//                 largest accepted epoch seen (the leader's own included; observers' count too), fixed once a quorum
//                 of voters has connected. Learners that connect later are told the fixed epoch.
//   2. ackepoch   ACKEPOCH carries the learner's currentEpoch (-1: it had already accepted this epoch) and its last
//                 logged zxid. A voter whose (currentEpoch, lastZxid) is more recent than the leader's, before the
//                 quorum is reached, means the election chose wrong: the leader must give up (ZooKeeper: "Follower
//                 is ahead of the leader"). After it, the leader's history stands and the learner is truncated.
//   3. newleader  ACK of NEWLEADER from a quorum: the learners hold the leader's history durably; the leader is
//                 established and may start serving and committing.
// Time is the shell's: each wait must finish within initLimit * tickTime or the shell abandons leadership.
import { makeZxid, zxidHex } from './zxid.js';

export interface DiscoveryConfig {
  myId: number;
  /** Every voting member, the leader included. */
  voters: readonly number[];
  /** The leader's own acceptedEpoch, currentEpoch and last logged zxid. */
  acceptedEpoch: number;
  currentEpoch: number;
  lastZxid: number;
}

export type DiscoveryPhase = 'epoch' | 'ackepoch' | 'newleader' | 'established';

export class DiscoveryError extends Error {}

export class LeaderDiscovery {
  private readonly voters: ReadonlySet<number>;
  private phaseNow: DiscoveryPhase = 'epoch';
  private epoch: number;
  private readonly connected = new Set<number>();
  private readonly ackedEpoch = new Set<number>();
  private readonly ackedNewLeader = new Set<number>();

  constructor(private readonly cfg: DiscoveryConfig) {
    this.voters = new Set(cfg.voters);
    if (!this.voters.has(cfg.myId)) throw new Error(`leader ${cfg.myId} is not among the voters`);
    this.epoch = cfg.acceptedEpoch + 1;
    this.connected.add(cfg.myId);
    this.ackedEpoch.add(cfg.myId);
    this.ackedNewLeader.add(cfg.myId);
    this.advance();
  }

  get phase(): DiscoveryPhase {
    return this.phaseNow;
  }

  /** The epoch this leader proposes; final once the phase is past 'epoch'. */
  get newEpoch(): number {
    return this.epoch;
  }

  /** makeZxid(newEpoch, 0): the zxid of NEWLEADER and of the learners' ACK of it. */
  get newLeaderZxid(): number {
    return makeZxid(this.epoch, 0);
  }

  /** FOLLOWERINFO/OBSERVERINFO from `sid`. Returns true when the epoch is fixed (LEADERINFO can go out). */
  learnerInfo(sid: number, acceptedEpoch: number): boolean {
    if (this.phaseNow === 'epoch') {
      if (acceptedEpoch >= this.epoch) this.epoch = acceptedEpoch + 1;
      if (this.voters.has(sid)) this.connected.add(sid);
      this.advance();
    }
    return this.phaseNow !== 'epoch';
  }

  /** ACKEPOCH from `sid`; throws DiscoveryError when a voter is ahead of the leader. */
  ackEpoch(sid: number, currentEpoch: number, lastZxid: number): void {
    if (!this.voters.has(sid)) return;
    // Only while the quorum is still forming (waitForEpochAck returns at once after electionFinished): a learner that
    // arrives later with extra txns lost the election with them, and is cut back by TRUNC.
    if (this.phaseNow === 'ackepoch' && currentEpoch !== -1 && this.isAheadOfLeader(currentEpoch, lastZxid)) {
      throw new DiscoveryError(`follower ${sid} is ahead of the leader: its (epoch ${currentEpoch}, ${zxidHex(lastZxid)}) ` +
        `vs the leader's (epoch ${this.cfg.currentEpoch}, ${zxidHex(this.cfg.lastZxid)})`);
    }
    this.ackedEpoch.add(sid);
    this.advance();
  }

  /** ACK of NEWLEADER from `sid`. Returns true once the leader is established. */
  newLeaderAck(sid: number, zxid: number): boolean {
    if (zxid !== this.newLeaderZxid) throw new DiscoveryError(`ACK of NEWLEADER from ${sid} carries ${zxidHex(zxid)}, expected ${zxidHex(this.newLeaderZxid)}`);
    if (this.voters.has(sid)) this.ackedNewLeader.add(sid);
    this.advance();
    return this.phaseNow === 'established';
  }

  private isAheadOfLeader(currentEpoch: number, lastZxid: number): boolean {
    return currentEpoch > this.cfg.currentEpoch || (currentEpoch === this.cfg.currentEpoch && lastZxid > this.cfg.lastZxid);
  }

  private quorum(set: ReadonlySet<number>): boolean {
    return set.size * 2 > this.voters.size;
  }

  private advance(): void {
    if (this.phaseNow === 'epoch' && this.quorum(this.connected)) this.phaseNow = 'ackepoch';
    if (this.phaseNow === 'ackepoch' && this.quorum(this.ackedEpoch)) this.phaseNow = 'newleader';
    if (this.phaseNow === 'newleader' && this.quorum(this.ackedNewLeader)) this.phaseNow = 'established';
  }
}
