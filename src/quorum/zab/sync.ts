// quorum/zab/sync.ts: how a leader brings a learner up to date after ACKEPOCH, as ZooKeeper 3.8 decides it
// (LearnerHandler.syncFollower and queueCommittedProposals, ZKDatabase.isTxnLogSyncEnabled /
// calculateTxnLogSizeLimit / getProposalsFromTxnLog). A pure function: the leader's state comes in as values, the
// on-disk txn log as a reader (txnlogSource.ts binds it to a data directory), and the plan comes out:
//
//   DIFF  zxid = the leader's maxCommittedLog (or the peer's zxid when it is already in sync), then PROPOSAL+COMMIT
//         pairs for every committed txn the peer lacks
//   TRUNC zxid = the last zxid both have; the peer cuts its log there, then PROPOSAL+COMMIT pairs
//   SNAP  zxid = the leader's lastProcessedZxid; the snapshot body follows on the stream (snapstream.ts)
//
// The rules, in ZooKeeper's order (an empty committed log counts as [lastProcessed, lastProcessed]):
//   1. forceSnapSync                                  -> SNAP
//   2. peer == lastProcessed                          -> empty DIFF(peer)
//   3. peer > maxCommitted, not a new-epoch zxid      -> TRUNC(maxCommitted), nothing else
//   4. minCommitted <= peer <= maxCommitted           -> walk the committed log (below)
//   5. peer < minCommitted and txn-log sync enabled   -> walk the on-disk log from the peer's zxid up to
//      minCommitted, then the committed log; the log must start at or before the peer, its size (the log files after
//      the one holding its first txn, FileTxnIterator.getStorageSize) must not exceed
//      snapshotSizeFactor * size of the newest snapshot (0 = no limit), and it must reach minCommitted, else SNAP
//   6. anything else (e.g. a new-epoch zxid above maxCommitted)                      -> SNAP
// The walk (queueCommittedProposals) skips proposals below the peer's zxid, remembering the last one; at the first
// proposal >= peer it opens: equal -> DIFF; the peer's zxid is a new-epoch zxid (counter 0, never a txn) -> DIFF;
// greater in the same epoch -> TRUNC(the previous proposal); greater in another epoch -> give up (a TRUNC across an
// epoch would crash the learner), which ends in SNAP. Then every proposal above what was queued goes out with its
// COMMIT. A walk that never opens ends in SNAP (ZooKeeper's "should never happen" fallback).
import type { QuorumPacket } from './packets.js';
import { commitPacket, diffPacket, PacketType, snapPacket, truncPacket } from './packets.js';
import { epochOf, isNewEpochZxid } from './zxid.js';

/** zookeeper.snapshotSizeFactor's default. */
export const DEFAULT_SNAPSHOT_SIZE_FACTOR = 0.33;

/** The on-disk txn log as FileTxnSnapLog.readTxnLog(zxid, fastForward = false) sees it. */
export interface TxnLogSource {
  /**
   * The PROPOSAL packets (zxid = the txn's, data = its record) from the FIRST txn of the oldest log file that may
   * hold `fromZxid` onward, oldest first, lazily; and `storageSize`, FileTxnIterator.getStorageSize after opening.
   * No logs: no proposals.
   */
  read(fromZxid: number): { storageSize: number; proposals: Iterable<QuorumPacket> };
}

export interface SyncInput {
  /** The learner's lastLoggedZxid from ACKEPOCH. */
  peerLastZxid: number;
  /** The leader's DataTree lastProcessedZxid. */
  lastProcessedZxid: number;
  /** The leader's in-memory committed log (ZKDatabase.committedLog): PROPOSAL packets, ascending zxid. */
  committedLog: readonly QuorumPacket[];
  /** LearnerHandler.forceSnapSync (tests). */
  forceSnapSync?: boolean;
  /** zookeeper.snapshotSizeFactor (0.33); negative disables txn-log sync. */
  snapshotSizeFactor?: number;
  /** The size in bytes of the newest snapshot file; 0 (or no snapshot) means no size limit. */
  snapshotSizeBytes?: number;
  /** The on-disk log; without it, txn-log sync finds nothing (SNAP). */
  txnLog?: TxnLogSource;
}

export type SyncReason =
  | 'forced'
  | 'in-sync'
  | 'peer-ahead'
  | 'committed-log'
  | 'txn-log'
  | 'cross-epoch'
  | 'txn-log-gap'
  | 'txn-log-unavailable'
  | 'unhandled';

interface PlanBase {
  /**
   * The zxid LearnerHandler hands to Leader.startForwarding: the leader then queues its toBeApplied (with COMMIT) and,
   * for participants, its outstanding proposals above it.
   */
  forwardFrom: number;
  /** Which rule decided. */
  reason: SyncReason;
}
export type SyncPlan =
  | (PlanBase & { kind: 'DIFF'; zxid: number; proposals: QuorumPacket[] })
  | (PlanBase & { kind: 'TRUNC'; zxid: number; proposals: QuorumPacket[] })
  | (PlanBase & { kind: 'SNAP'; zxid: number });

/** ZKDatabase.calculateTxnLogSizeLimit: (long) (snapSize * factor). */
export function txnLogSizeLimit(snapshotSizeBytes: number, factor: number): number {
  return Math.trunc(snapshotSizeBytes * factor);
}

/** The packets the plan puts on the wire, in order: the opener, then PROPOSAL, COMMIT for each proposal. */
export function syncPackets(plan: SyncPlan): QuorumPacket[] {
  if (plan.kind === 'SNAP') return [snapPacket(plan.zxid)];
  const out: QuorumPacket[] = [plan.kind === 'DIFF' ? diffPacket(plan.zxid) : truncPacket(plan.zxid)];
  for (const p of plan.proposals) out.push(p, commitPacket(p.zxid));
  return out;
}

/** The packet queue while planning: the opener (DIFF/TRUNC) once, then proposals. */
class Queue {
  opener: { kind: 'DIFF' | 'TRUNC'; zxid: number } | undefined;
  proposals: QuorumPacket[] = [];

  get needOp(): boolean {
    return this.opener === undefined;
  }

  clear(): void {
    this.opener = undefined;
    this.proposals = [];
  }

  /**
   * queueCommittedProposals: queues (peerZxid, maxZxid] from `source`; returns the last zxid queued (peerZxid if
   * none). `crossEpoch` is set when it gave up because the opener would be a TRUNC across an epoch.
   */
  walk(source: Iterable<QuorumPacket>, peerZxid: number, maxZxid: number | undefined, lastCommitted: number): { queued: number; crossEpoch: boolean } {
    const peerNewEpoch = isNewEpochZxid(peerZxid);
    let queued = peerZxid;
    let prev = -1;
    for (const p of source) {
      const z = p.zxid;
      if (maxZxid !== undefined && z > maxZxid) break;
      if (z < peerZxid) {
        prev = z;
        continue;
      }
      if (this.needOp) {
        if (z === peerZxid) {
          this.opener = { kind: 'DIFF', zxid: lastCommitted };
          continue;
        }
        if (peerNewEpoch) {
          this.opener = { kind: 'DIFF', zxid: lastCommitted };
        } else if (z > peerZxid) {
          if (epochOf(z) !== epochOf(peerZxid)) return { queued, crossEpoch: true };
          this.opener = { kind: 'TRUNC', zxid: prev };
        }
      }
      if (z <= queued) continue; // duplicates, or nothing opened yet
      this.proposals.push(p.type === PacketType.PROPOSAL ? p : { ...p, type: PacketType.PROPOSAL });
      queued = z;
    }
    // A new-epoch zxid always gets a DIFF, even when no proposal above it was found.
    if (this.needOp && peerNewEpoch) this.opener = { kind: 'DIFF', zxid: lastCommitted };
    return { queued, crossEpoch: false };
  }
}

/** LearnerHandler.syncFollower as a pure function. */
export function planSync(input: SyncInput): SyncPlan {
  const peer = input.peerLastZxid;
  const lastProcessed = input.lastProcessedZxid;
  const log = input.committedLog;
  const factor = input.snapshotSizeFactor ?? DEFAULT_SNAPSHOT_SIZE_FACTOR;
  const peerNewEpoch = isNewEpochZxid(peer);
  const minCommitted = log.length > 0 ? log[0].zxid : lastProcessed;
  const maxCommitted = log.length > 0 ? log[log.length - 1].zxid : lastProcessed;

  const q = new Queue();
  let current = peer;
  let needSnap = true;
  let reason: SyncReason = 'unhandled';

  if (input.forceSnapSync === true) {
    reason = 'forced';
  } else if (lastProcessed === peer) {
    q.opener = { kind: 'DIFF', zxid: peer };
    needSnap = false;
    reason = 'in-sync';
  } else if (peer > maxCommitted && !peerNewEpoch) {
    q.opener = { kind: 'TRUNC', zxid: maxCommitted };
    current = maxCommitted;
    needSnap = false;
    reason = 'peer-ahead';
  } else if (minCommitted <= peer && peer <= maxCommitted) {
    const r = q.walk(log, peer, undefined, maxCommitted);
    current = r.queued;
    needSnap = false;
    reason = r.crossEpoch ? 'cross-epoch' : 'committed-log';
  } else if (peer < minCommitted && factor >= 0) {
    const proposals = fromTxnLog(input.txnLog, peer, txnLogSizeLimit(input.snapshotSizeBytes ?? 0, factor));
    reason = 'txn-log-unavailable';
    if (proposals !== undefined) {
      const r = q.walk(proposals, peer, minCommitted, maxCommitted);
      current = r.queued;
      if (r.crossEpoch) reason = 'cross-epoch';
      if (current < minCommitted) {
        // The log ends before the committed log begins (or the walk gave up): start over with a snapshot.
        if (!r.crossEpoch) reason = 'txn-log-gap';
        current = peer;
        q.clear();
      } else {
        current = q.walk(log, current, undefined, maxCommitted).queued;
        needSnap = false;
        reason = 'txn-log';
      }
    }
  }
  if (needSnap) current = lastProcessed;
  // The walk never found where to open: ZooKeeper falls back to a snapshot (its queue is empty then).
  if (q.needOp && !needSnap) needSnap = true;

  if (needSnap || q.opener === undefined) return { kind: 'SNAP', zxid: lastProcessed, forwardFrom: current, reason };
  return { kind: q.opener.kind, zxid: q.opener.zxid, proposals: q.proposals, forwardFrom: current, reason };
}

/** ZKDatabase.getProposalsFromTxnLog: undefined where ZooKeeper returns an empty iterator. */
function fromTxnLog(src: TxnLogSource | undefined, peer: number, sizeLimit: number): Iterable<QuorumPacket> | undefined {
  if (src === undefined || sizeLimit < 0) return undefined;
  const { storageSize, proposals } = src.read(peer);
  const it = proposals[Symbol.iterator]();
  const first = it.next();
  if (first.done === true) return undefined;
  // The log must start at or before the peer's zxid, or txns between them may be missing.
  if (first.value.zxid > peer) return undefined;
  if (sizeLimit > 0 && storageSize > sizeLimit) return undefined;
  return (function* () {
    yield first.value;
    for (let n = it.next(); n.done !== true; n = it.next()) yield n.value;
  })();
}
