// fle.ts: ZooKeeper's FastLeaderElection as a pure state machine, in the manner of etcd raft. Inputs: start, receive
// (a decoded notification from a peer, loopback included), tick (the clock), peerConnected/peerDisconnected. Each
// returns the actions to carry out, in order: notifications to send, the election result, the next timer. No I/O, no
// clock, no randomness: `now` (ms) is always passed in. The rules follow FastLeaderElection.lookForLeader and its
// WorkerReceiver in ZooKeeper 3.8 step by step, so that a zkts server votes exactly as a Java server would.
//
// Upstream runs two threads over one queue; here one input is handled to completion before the next. That is one of
// the schedules upstream allows (its receiver answers, then its election loop takes the message at once).

import assert from 'node:assert/strict';
import { LONG_MIN, type Notification, type ServerState, stateCode, stateName } from './notification.js';

/** FastLeaderElection.finalizeWait: how long a quorum must stand unchallenged before the election ends. */
export const FINALIZE_WAIT_MS = 200;
/** zookeeper.fastleader.maxNotificationInterval default: cap of the doubling notification timeout. */
export const MAX_NOTIFICATION_INTERVAL_MS = 60_000;

export type ElectedRole = 'LEADING' | 'FOLLOWING' | 'OBSERVING';

export interface Elected {
  leader: number;
  zxid: bigint;
  peerEpoch: bigint;
  electionEpoch: bigint;
  role: ElectedRole;
}

/** The actions an input yields. `broadcast.to` holds every voter, me included when I vote (loopback). */
export type FleAction =
  | { send: number; notification: Notification }
  | { broadcast: Notification; to: readonly number[] }
  | { elected: Elected }
  | { setTimer: number }
  /** The notification timeout passed and no connection is up: dial every known peer (QuorumCnxManager.connectAll). */
  | { connectAll: true };

export interface FleConfig {
  myId: number;
  /** Ids of the voting members (participants) of the current QuorumMaj config. */
  voters: readonly number[];
  /** My LearnerType: an observer proposes Long.MIN_VALUE and ends OBSERVING. */
  learnerType: 'participant' | 'observer';
  /** QuorumVerifier.toString(), carried in every notification sent. */
  configText: string;
  finalizeWaitMs?: number;
  /** zookeeper.fastleader.minNotificationInterval; defaults to finalizeWait. */
  minNotificationIntervalMs?: number;
  maxNotificationIntervalMs?: number;
}

/** What the data directory says when an election starts. */
export interface LogPosition {
  lastLoggedZxid: bigint;
  /** currentEpoch file. */
  currentEpoch: bigint;
}

/** A vote as upstream's Vote class holds it; `equals` below is Vote.equals. */
export interface Vote {
  leader: bigint;
  zxid: bigint;
  electionEpoch: bigint;
  peerEpoch: bigint;
  state: ServerState;
  /** Notification format version; 0 where upstream builds a Vote without one. */
  version: number;
}

/**
 * Vote.equals. A LOOKING vote on either side: leader, zxid, electionEpoch and peerEpoch must all match. Otherwise
 * (votes of servers out of election) zxid and round are skipped, and peerEpoch is too when exactly one side has a
 * versioned format. FLE relies on the last rule: FOLLOWING/LEADING votes in recvset are stored unversioned.
 */
export function votesEqual(a: Vote, b: Vote): boolean {
  if (a.state === 'LOOKING' || b.state === 'LOOKING') {
    return a.leader === b.leader && a.zxid === b.zxid && a.electionEpoch === b.electionEpoch &&
      a.peerEpoch === b.peerEpoch;
  }
  if ((a.version > 0) !== (b.version > 0)) return a.leader === b.leader;
  return a.leader === b.leader && a.peerEpoch === b.peerEpoch;
}

interface Proposal {
  leader: bigint;
  zxid: bigint;
  peerEpoch: bigint;
}

/** Where a LOOKING election stands between inputs. */
type Phase =
  /** Waiting for notifications; on `notifyAt` re-send (or reconnect) and double the interval. */
  | { kind: 'collecting'; notifyAt: number }
  /** A quorum agrees with my proposal; elected at `decideAt` unless a better vote arrives first. */
  | { kind: 'finalizing'; decideAt: number };

export class FastLeaderElection {
  private readonly myId: bigint;
  private readonly voterSet: ReadonlySet<bigint>;
  private readonly voterList: readonly number[];
  private readonly finalizeWaitMs: number;
  private readonly minIntervalMs: number;
  private readonly maxIntervalMs: number;

  private log: LogPosition;
  private serverState: ServerState = 'LOOKING';
  private started = false;
  /** logicalclock: the election round. Survives elections, as upstream's AtomicLong does. */
  private clock = 0n;
  private proposal: Proposal = { leader: -1n, zxid: -1n, peerEpoch: -1n };
  /** QuorumPeer.currentVote: what a non-LOOKING server answers with. */
  private current: Vote;
  /** Votes of this round (LOOKING) and FOLLOWING/LEADING votes of this round, by sender. */
  private recvset = new Map<bigint, Vote>();
  /** FOLLOWING/LEADING votes of any round: how a late joiner finds an established leader. */
  private outofelection = new Map<bigint, Vote>();
  private notificationIntervalMs: number;
  private phase: Phase | undefined;
  private timerAt: number | undefined;
  private readonly connected = new Set<number>();

  constructor(
    private readonly config: FleConfig,
    log: LogPosition,
  ) {
    assert.ok(Number.isSafeInteger(config.myId), 'myId must be an integer');
    this.myId = BigInt(config.myId);
    this.voterList = [...new Set(config.voters)].sort((a, b) => a - b);
    this.voterSet = new Set(this.voterList.map(BigInt));
    assert.ok(this.voterSet.size > 0, 'an election needs at least one voter');
    this.finalizeWaitMs = config.finalizeWaitMs ?? FINALIZE_WAIT_MS;
    this.minIntervalMs = config.minNotificationIntervalMs ?? this.finalizeWaitMs;
    this.maxIntervalMs = config.maxNotificationIntervalMs ?? MAX_NOTIFICATION_INTERVAL_MS;
    this.notificationIntervalMs = this.minIntervalMs;
    this.log = { ...log };
    // QuorumPeer.startLeaderElection: the current vote before any election is for myself.
    this.current = { leader: this.myId, zxid: log.lastLoggedZxid, electionEpoch: -1n, peerEpoch: log.currentEpoch, state: 'LOOKING', version: 0 };
  }

  get state(): ServerState {
    return this.serverState;
  }

  get logicalClock(): bigint {
    return this.clock;
  }

  /** The vote I propose while LOOKING (leader, zxid, peerEpoch). */
  get proposedVote(): Readonly<Proposal> {
    return this.proposal;
  }

  /** The vote I answer with once out of election. */
  get currentVote(): Readonly<Vote> {
    return this.current;
  }

  /** Start (or restart, after leading/following ended) an election: lookForLeader's opening. */
  start(now: number, log?: LogPosition): FleAction[] {
    if (log) this.log = { ...log };
    this.started = true;
    this.serverState = 'LOOKING';
    this.recvset = new Map();
    this.outofelection = new Map();
    this.notificationIntervalMs = this.minIntervalMs;
    this.clock += 1n;
    this.proposal = this.initialProposal();
    const out: FleAction[] = [this.broadcastProposal()];
    this.phase = { kind: 'collecting', notifyAt: now + this.notificationIntervalMs };
    return this.withTimer(out);
  }

  /** A notification from `fromSid` (my own loopback included): WorkerReceiver, then lookForLeader's loop body. */
  receive(fromSid: number, n: Notification, now: number): FleAction[] {
    const out: FleAction[] = [];
    if (!this.started) return out;
    const from = BigInt(fromSid);
    if (!this.voterSet.has(from)) {
      // An observer (or a server not in my config): answer at once, never count it.
      out.push({ send: fromSid, notification: this.message(this.current, this.clock, this.serverState) });
      return out;
    }
    const senderState = stateName(n.state);
    if (senderState === undefined) return out;
    if (this.serverState !== 'LOOKING') {
      // Out of election: tell a LOOKING peer whom I follow, with the round I was elected in.
      if (senderState === 'LOOKING') {
        out.push({ send: fromSid, notification: this.message(this.current, this.current.electionEpoch, this.serverState) });
      }
      return out;
    }
    if (senderState === 'LOOKING' && n.electionEpoch < this.clock) {
      // The sender lags a round behind: bring it forward with my proposal.
      out.push({ send: fromSid, notification: this.message(this.proposal, this.clock, 'LOOKING') });
    }
    if (this.phase?.kind === 'finalizing') {
      this.duringFinalize(from, senderState, n, now, out);
    } else {
      this.process(from, senderState, n, now, out);
    }
    return this.withTimer(out);
  }

  /** Time passes: the finalize wait may end the election; the notification timeout re-sends. */
  tick(now: number): FleAction[] {
    const out: FleAction[] = [];
    const phase = this.phase;
    if (this.serverState !== 'LOOKING' || phase === undefined) return out;
    // A tick always re-arms: the shell's one timer was just spent, even if it fired early.
    this.timerAt = undefined;
    if (phase.kind === 'finalizing') {
      if (now >= phase.decideAt) this.decide(this.ownVote(), out);
      return this.withTimer(out);
    }
    if (now < phase.notifyAt) return this.withTimer(out);
    // QuorumCnxManager.haveDelivered() is true when some peer's send queue drained, i.e. some link is up.
    out.push(this.connected.size > 0 ? this.broadcastProposal() : { connectAll: true });
    this.notificationIntervalMs = Math.min(this.notificationIntervalMs * 2, this.maxIntervalMs);
    this.phase = { kind: 'collecting', notifyAt: now + this.notificationIntervalMs };
    return this.withTimer(out);
  }

  /**
   * QuorumPeer.updateElectionVote: once the role established a new epoch, the vote this server answers with carries
   * it. Out-of-election votes are compared by leader and peerEpoch, so a leader and its followers answering with the
   * epochs they were elected in (which differ when they joined at different times) would never add up to a quorum
   * for a restarted server, which would look for a leader forever.
   */
  updateElectionVote(epoch: bigint): void {
    this.current = { ...this.current, peerEpoch: epoch };
  }

  peerConnected(sid: number): FleAction[] {
    this.connected.add(sid);
    return [];
  }

  peerDisconnected(sid: number): FleAction[] {
    this.connected.delete(sid);
    return [];
  }

  // --- lookForLeader, one dequeued notification ---------------------------------------------------------------

  private process(from: bigint, senderState: ServerState, n: Notification, now: number, out: FleAction[]): void {
    // Every dequeue restarts the poll: the next timeout counts from now.
    this.phase = { kind: 'collecting', notifyAt: now + this.notificationIntervalMs };
    if (!this.voterSet.has(n.leader)) return;
    switch (senderState) {
      case 'LOOKING':
        this.processLooking(from, n, now, out);
        return;
      case 'OBSERVING':
        return;
      case 'FOLLOWING':
      case 'LEADING':
        this.processEstablished(from, senderState, n, out);
        return;
    }
  }

  private processLooking(from: bigint, n: Notification, now: number, out: FleAction[]): void {
    // A server with an empty log (zxid -1) neither votes nor is voted for (upstream's guard for a fresh -1 zxid).
    if (this.initialProposal().zxid === -1n || n.zxid === -1n) return;
    if (n.electionEpoch > this.clock) {
      this.clock = n.electionEpoch;
      this.recvset.clear();
      const init = this.initialProposal();
      this.proposal = this.better(n, init) ? { leader: n.leader, zxid: n.zxid, peerEpoch: n.peerEpoch } : init;
      out.push(this.broadcastProposal());
    } else if (n.electionEpoch < this.clock) {
      return;
    } else if (this.better(n, this.proposal)) {
      this.proposal = { leader: n.leader, zxid: n.zxid, peerEpoch: n.peerEpoch };
      out.push(this.broadcastProposal());
    }
    this.recvset.set(from, { leader: n.leader, zxid: n.zxid, electionEpoch: n.electionEpoch, peerEpoch: n.peerEpoch, state: 'LOOKING', version: 0 });
    if (this.isQuorum(this.agreeing(this.recvset, this.ownVote()))) {
      this.phase = { kind: 'finalizing', decideAt: now + this.finalizeWaitMs };
    }
  }

  private processEstablished(from: bigint, senderState: ServerState, n: Notification, out: FleAction[]): void {
    const theirs: Vote = { leader: n.leader, zxid: n.zxid, electionEpoch: n.electionEpoch, peerEpoch: n.peerEpoch, state: senderState, version: n.version };
    if (n.electionEpoch === this.clock) {
      // Stored unversioned, as upstream does: matched against `theirs` only by leader (see votesEqual).
      this.recvset.set(from, { ...theirs, version: 0 });
      if (this.isQuorum(this.agreeing(this.recvset, theirs)) && this.checkLeader(this.recvset, n.leader, n.electionEpoch)) {
        this.decide(theirs, out);
        return;
      }
    }
    // ZOOKEEPER-1732: this map holds votes of the current round too.
    this.outofelection.set(from, theirs);
    if (this.isQuorum(this.agreeing(this.outofelection, theirs)) && this.checkLeader(this.outofelection, n.leader, n.electionEpoch)) {
      this.clock = n.electionEpoch;
      this.decide(theirs, out);
    }
  }

  /**
   * The finalize wait: a notification that beats my proposal goes back to the loop; any other is dropped (it is
   * neither counted nor stored, exactly as upstream's drain loop does), and the wait starts again.
   */
  private duringFinalize(from: bigint, senderState: ServerState, n: Notification, now: number, out: FleAction[]): void {
    assert.ok(this.phase?.kind === 'finalizing');
    if (this.better(n, this.proposal)) {
      this.process(from, senderState, n, now, out);
      return;
    }
    this.phase = { ...this.phase, decideAt: now + this.finalizeWaitMs };
  }

  private decide(vote: Vote, out: FleAction[]): void {
    const leader = vote.leader;
    assert.ok(this.voterSet.has(leader), 'elected a non-voter');
    const role: ElectedRole = leader === this.myId ? 'LEADING' : this.config.learnerType === 'participant' ? 'FOLLOWING' : 'OBSERVING';
    this.serverState = role;
    this.current = { leader, zxid: vote.zxid, electionEpoch: vote.electionEpoch, peerEpoch: vote.peerEpoch, state: 'LOOKING', version: 0 };
    this.phase = undefined;
    this.recvset = new Map();
    this.outofelection = new Map();
    out.push({ elected: { leader: Number(leader), zxid: vote.zxid, peerEpoch: vote.peerEpoch, electionEpoch: vote.electionEpoch, role } });
  }

  // --- rules -----------------------------------------------------------------------------------------------------

  /** totalOrderPredicate: a voter only; then higher peerEpoch, then higher zxid, then higher id. */
  private better(n: { leader: bigint; zxid: bigint; peerEpoch: bigint }, cur: Proposal): boolean {
    if (!this.voterSet.has(n.leader)) return false;
    if (n.peerEpoch !== cur.peerEpoch) return n.peerEpoch > cur.peerEpoch;
    if (n.zxid !== cur.zxid) return n.zxid > cur.zxid;
    return n.leader > cur.leader;
  }

  /** checkLeader: a leader other than me must itself have said LEADING; if it is me, the round must be mine. */
  private checkLeader(votes: ReadonlyMap<bigint, Vote>, leader: bigint, electionEpoch: bigint): boolean {
    if (leader !== this.myId) return votes.get(leader)?.state === 'LEADING';
    return this.clock === electionEpoch;
  }

  /** getVoteTracker: the senders whose vote equals `vote`. */
  private agreeing(votes: ReadonlyMap<bigint, Vote>, vote: Vote): Set<bigint> {
    const ids = new Set<bigint>();
    for (const [sid, v] of votes) if (votesEqual(vote, v)) ids.add(sid);
    return ids;
  }

  /** QuorumMaj.containsQuorum: more than half of the voters (weight 1 each; others weigh 0). */
  private isQuorum(ids: ReadonlySet<bigint>): boolean {
    let n = 0;
    for (const id of ids) if (this.voterSet.has(id)) n++;
    return n > Math.floor(this.voterSet.size / 2);
  }

  private initialProposal(): Proposal {
    const participant = this.config.learnerType === 'participant';
    return {
      leader: this.voterSet.has(this.myId) ? this.myId : LONG_MIN,
      zxid: participant ? this.log.lastLoggedZxid : LONG_MIN,
      peerEpoch: participant ? this.log.currentEpoch : LONG_MIN,
    };
  }

  private ownVote(): Vote {
    return { ...this.proposal, electionEpoch: this.clock, state: 'LOOKING', version: 0 };
  }

  private message(v: Proposal, electionEpoch: bigint, state: ServerState): Notification {
    return { state: stateCode(state), leader: v.leader, zxid: v.zxid, electionEpoch, peerEpoch: v.peerEpoch, version: 2, config: this.config.configText };
  }

  /** sendNotifications: my proposal, LOOKING, to every voter (me too when I vote). */
  private broadcastProposal(): FleAction {
    return { broadcast: this.message(this.proposal, this.clock, 'LOOKING'), to: this.voterList };
  }

  /** Appends a setTimer when the next deadline moved. */
  private withTimer(out: FleAction[]): FleAction[] {
    const phase = this.phase;
    const at = this.serverState !== 'LOOKING' || phase === undefined ? undefined
      : phase.kind === 'finalizing' ? phase.decideAt : phase.notifyAt;
    if (at !== undefined && at !== this.timerAt) out.push({ setTimer: at });
    this.timerAt = at;
    return out;
  }
}
