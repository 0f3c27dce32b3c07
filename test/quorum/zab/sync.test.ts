// LearnerHandler.syncFollower / queueCommittedProposals as planSync: one test per rule (ZooKeeper 3.8).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketType, type QuorumPacket } from '../../../src/quorum/zab/packets.js';
import { planSync, type SyncInput, type SyncPlan, syncPackets, type TxnLogSource, txnLogSizeLimit } from '../../../src/quorum/zab/sync.js';
import { makeZxid } from '../../../src/quorum/zab/zxid.js';

const z = makeZxid;
const P = (epoch: number, counter: number): QuorumPacket => ({
  type: PacketType.PROPOSAL, zxid: z(epoch, counter), data: Buffer.from(`${epoch}:${counter}`), authinfo: null,
});
const range = (epoch: number, from: number, to: number): QuorumPacket[] => Array.from({ length: to - from + 1 }, (_, i) => P(epoch, from + i));

/** A txn log source over fixed proposals; records what it was asked. */
function log(proposals: QuorumPacket[], storageSize = 0): TxnLogSource & { asked: number[] } {
  const asked: number[] = [];
  return {
    asked,
    read(from) {
      asked.push(from);
      return { storageSize, proposals };
    },
  };
}

const zxids = (plan: SyncPlan): number[] => (plan.kind === 'SNAP' ? [] : plan.proposals.map((p) => p.zxid));
const shape = (plan: SyncPlan): [string, number, string] => [plan.kind, plan.zxid, plan.reason];

function plan(over: Partial<SyncInput> & Pick<SyncInput, 'peerLastZxid'>): SyncPlan {
  return planSync({ lastProcessedZxid: z(1, 10), committedLog: range(1, 5, 10), ...over });
}

void describe('planSync (LearnerHandler.syncFollower)', () => {
  void it('forceSnapSync: SNAP at lastProcessedZxid', () => {
    const p = plan({ peerLastZxid: z(1, 10), forceSnapSync: true });
    assert.deepEqual(shape(p), ['SNAP', z(1, 10), 'forced']);
    assert.equal(p.forwardFrom, z(1, 10));
  });

  void it('peer already at lastProcessedZxid: empty DIFF carrying the peer zxid', () => {
    const p = plan({ peerLastZxid: z(1, 10) });
    assert.deepEqual(shape(p), ['DIFF', z(1, 10), 'in-sync']);
    assert.deepEqual(zxids(p), []);
    assert.deepEqual(syncPackets(p).map((q) => q.type), [PacketType.DIFF]);
  });

  void it('peer above maxCommittedLog (same or later epoch, counter != 0): TRUNC to maxCommittedLog and nothing else', () => {
    const p = plan({ peerLastZxid: z(1, 14), lastProcessedZxid: z(1, 12) });
    assert.deepEqual(shape(p), ['TRUNC', z(1, 10), 'peer-ahead']);
    assert.deepEqual(zxids(p), []);
    assert.equal(p.forwardFrom, z(1, 10));
    // An old leader of a later epoch too (the leader would have refused it earlier if it were the more recent).
    assert.deepEqual(shape(plan({ peerLastZxid: z(2, 3), lastProcessedZxid: z(1, 12) })), ['TRUNC', z(1, 10), 'peer-ahead']);
  });

  void it('peer above maxCommittedLog with a new-epoch zxid: not TRUNC, falls through to SNAP', () => {
    const p = plan({ peerLastZxid: z(2, 0) });
    assert.deepEqual(shape(p), ['SNAP', z(1, 10), 'unhandled']);
  });

  void it('peer inside the committed log: DIFF(maxCommittedLog) then PROPOSAL+COMMIT for each later txn', () => {
    const p = plan({ peerLastZxid: z(1, 7), lastProcessedZxid: z(1, 10) });
    assert.deepEqual(shape(p), ['DIFF', z(1, 10), 'committed-log']);
    assert.deepEqual(zxids(p), [z(1, 8), z(1, 9), z(1, 10)]);
    assert.equal(p.forwardFrom, z(1, 10));
    assert.deepEqual(syncPackets(p).map((q) => [q.type, q.zxid]), [
      [PacketType.DIFF, z(1, 10)],
      [PacketType.PROPOSAL, z(1, 8)], [PacketType.COMMIT, z(1, 8)],
      [PacketType.PROPOSAL, z(1, 9)], [PacketType.COMMIT, z(1, 9)],
      [PacketType.PROPOSAL, z(1, 10)], [PacketType.COMMIT, z(1, 10)],
    ]);
    // The committed log's lowest zxid itself is "inside".
    assert.deepEqual(zxids(plan({ peerLastZxid: z(1, 5) })), range(1, 6, 10).map((q) => q.zxid));
  });

  void it('new-epoch peer zxid inside the range (never a txn): DIFF and everything above it', () => {
    const committedLog = [...range(1, 8, 9), ...range(2, 1, 3)];
    const p = planSync({ peerLastZxid: z(2, 0), lastProcessedZxid: z(2, 3), committedLog });
    assert.deepEqual(shape(p), ['DIFF', z(2, 3), 'committed-log']);
    assert.deepEqual(zxids(p), [z(2, 1), z(2, 2), z(2, 3)]);
  });

  void it('peer holds a txn the leader lacks, same epoch: TRUNC to the previous proposal, then the rest', () => {
    const committedLog = [P(1, 1), P(1, 2), P(1, 4), P(1, 5)];
    const p = planSync({ peerLastZxid: z(1, 3), lastProcessedZxid: z(1, 5), committedLog });
    assert.deepEqual(shape(p), ['TRUNC', z(1, 2), 'committed-log']);
    assert.deepEqual(zxids(p), [z(1, 4), z(1, 5)]);
    assert.deepEqual(syncPackets(p).map((q) => q.type), [PacketType.TRUNC, PacketType.PROPOSAL, PacketType.COMMIT, PacketType.PROPOSAL, PacketType.COMMIT]);
  });

  void it('peer holds a txn the leader lacks and the next one is of another epoch: no TRUNC across epochs, SNAP', () => {
    const committedLog = [...range(1, 1, 2), ...range(2, 1, 2)];
    const p = planSync({ peerLastZxid: z(1, 3), lastProcessedZxid: z(2, 2), committedLog });
    assert.deepEqual(shape(p), ['SNAP', z(2, 2), 'cross-epoch']);
    // ZooKeeper hands startForwarding the peer's zxid here (needSnap was already false when it fell back).
    assert.equal(p.forwardFrom, z(1, 3));
  });

  void it('peer below minCommittedLog: on-disk txn log up to minCommittedLog, then the committed log, no duplicates', () => {
    const src = log(range(1, 1, 12));
    const p = planSync({ peerLastZxid: z(1, 3), lastProcessedZxid: z(1, 12), committedLog: range(1, 8, 12), txnLog: src, snapshotSizeBytes: 1000 });
    assert.deepEqual(shape(p), ['DIFF', z(1, 12), 'txn-log']);
    assert.deepEqual(zxids(p), range(1, 4, 12).map((q) => q.zxid));
    assert.deepEqual(src.asked, [z(1, 3)]);
    assert.equal(p.forwardFrom, z(1, 12));
  });

  void it('txn-log sync: peer holds a txn the leader lacks in the same epoch: TRUNC found in the log', () => {
    const src = log([...range(1, 1, 4), ...range(1, 6, 12)]);
    const p = planSync({ peerLastZxid: z(1, 5), lastProcessedZxid: z(1, 12), committedLog: range(1, 9, 12), txnLog: src });
    assert.deepEqual(shape(p), ['TRUNC', z(1, 4), 'txn-log']);
    assert.deepEqual(zxids(p), range(1, 6, 12).map((q) => q.zxid));
  });

  void it('txn-log sync: the log starts after the peer zxid: SNAP', () => {
    const p = planSync({ peerLastZxid: z(1, 3), lastProcessedZxid: z(1, 12), committedLog: range(1, 8, 12), txnLog: log(range(1, 5, 12)) });
    assert.deepEqual(shape(p), ['SNAP', z(1, 12), 'txn-log-unavailable']);
    assert.equal(p.forwardFrom, z(1, 12));
  });

  void it('txn-log sync: the snapshotSizeFactor limit (0.33 of the newest snapshot; 0 bytes = no limit; negative disables)', () => {
    assert.equal(txnLogSizeLimit(1000, 0.33), 330);
    const input: SyncInput = { peerLastZxid: z(1, 3), lastProcessedZxid: z(1, 12), committedLog: range(1, 8, 12), txnLog: log(range(1, 1, 12), 331) };
    assert.deepEqual(shape(planSync({ ...input, snapshotSizeBytes: 1000 })), ['SNAP', z(1, 12), 'txn-log-unavailable']);
    assert.deepEqual(shape(planSync({ ...input, snapshotSizeBytes: 1004 })), ['DIFF', z(1, 12), 'txn-log']); // limit 331
    assert.deepEqual(shape(planSync({ ...input, snapshotSizeBytes: 0 })), ['DIFF', z(1, 12), 'txn-log']);
    assert.deepEqual(shape(planSync({ ...input, snapshotSizeFactor: -1 })), ['SNAP', z(1, 12), 'unhandled']);
    assert.deepEqual(shape(planSync({ ...input, txnLog: undefined })), ['SNAP', z(1, 12), 'txn-log-unavailable']);
  });

  void it('txn-log sync: a gap between the end of the log and minCommittedLog: SNAP', () => {
    const p = planSync({ peerLastZxid: z(1, 3), lastProcessedZxid: z(1, 12), committedLog: range(1, 8, 12), txnLog: log(range(1, 1, 6)) });
    assert.deepEqual(shape(p), ['SNAP', z(1, 12), 'txn-log-gap']);
    assert.equal(p.forwardFrom, z(1, 12));
  });

  void it('txn-log sync across epochs: a new-epoch peer zxid gets a DIFF; a TRUNC across epochs gives SNAP', () => {
    const disk = [...range(1, 1, 4), ...range(2, 1, 6)];
    const p = planSync({ peerLastZxid: z(2, 0), lastProcessedZxid: z(2, 6), committedLog: range(2, 4, 6), txnLog: log(disk) });
    assert.deepEqual(shape(p), ['DIFF', z(2, 6), 'txn-log']);
    assert.deepEqual(zxids(p), range(2, 1, 6).map((q) => q.zxid));
    const q = planSync({ peerLastZxid: z(1, 5), lastProcessedZxid: z(2, 6), committedLog: range(2, 4, 6), txnLog: log(disk) });
    assert.deepEqual(shape(q), ['SNAP', z(2, 6), 'cross-epoch']);
  });

  void it('empty committed log: [lastProcessed, lastProcessed] stands in for it', () => {
    assert.deepEqual(shape(planSync({ peerLastZxid: z(1, 9), lastProcessedZxid: z(1, 5), committedLog: [] })), ['TRUNC', z(1, 5), 'peer-ahead']);
    assert.deepEqual(shape(planSync({ peerLastZxid: z(1, 3), lastProcessedZxid: z(1, 5), committedLog: [] })), ['SNAP', z(1, 5), 'txn-log-unavailable']);
    const p = planSync({ peerLastZxid: z(1, 3), lastProcessedZxid: z(1, 5), committedLog: [], txnLog: log(range(1, 1, 5)) });
    assert.deepEqual(shape(p), ['DIFF', z(1, 5), 'txn-log']);
    assert.deepEqual(zxids(p), [z(1, 4), z(1, 5)]);
    // A fresh ensemble: everything at 0.
    assert.deepEqual(shape(planSync({ peerLastZxid: 0, lastProcessedZxid: 0, committedLog: [] })), ['DIFF', 0, 'in-sync']);
  });
});
