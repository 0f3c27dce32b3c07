// LeaderDiscovery: the epoch, ACKEPOCH and NEWLEADER quorum waits of a ZAB leader (Leader.getEpochToPropose,
// waitForEpochAck, waitForNewLeaderAck).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DiscoveryError, LeaderDiscovery } from '../../../src/quorum/zab/discovery.js';
import { makeZxid } from '../../../src/quorum/zab/zxid.js';

const three = (over: Partial<ConstructorParameters<typeof LeaderDiscovery>[0]> = {}): LeaderDiscovery =>
  new LeaderDiscovery({ myId: 1, voters: [1, 2, 3], acceptedEpoch: 4, currentEpoch: 4, lastZxid: makeZxid(4, 10), ...over });

void describe('LeaderDiscovery', () => {
  void test('3 voters: one follower makes a quorum; the epoch is one above the largest accepted epoch', () => {
    const d = three();
    assert.equal(d.phase, 'epoch');
    assert.equal(d.learnerInfo(2, 6), true);
    assert.equal(d.newEpoch, 7);
    assert.equal(d.phase, 'ackepoch');
    // A learner arriving after the epoch is fixed does not move it.
    d.learnerInfo(3, 9);
    assert.equal(d.newEpoch, 7);
    assert.equal(d.newLeaderZxid, makeZxid(7, 0));
  });

  void test('the leader\'s own accepted epoch counts: followers behind it get leader+1', () => {
    const d = three({ acceptedEpoch: 8 });
    d.learnerInfo(3, 2);
    assert.equal(d.newEpoch, 9);
  });

  void test('5 voters: observers and unknown ids raise the epoch but do not make the quorum', () => {
    const d = new LeaderDiscovery({ myId: 5, voters: [1, 2, 3, 4, 5], acceptedEpoch: 1, currentEpoch: 1, lastZxid: 0 });
    assert.equal(d.learnerInfo(9, 3), false); // an observer (not a voter)
    assert.equal(d.newEpoch, 4);
    assert.equal(d.learnerInfo(1, 1), false);
    assert.equal(d.learnerInfo(1, 1), false, 'the same voter twice is one vote');
    assert.equal(d.learnerInfo(2, 0), true);
    assert.equal(d.newEpoch, 4);
  });

  void test('ACKEPOCH: a quorum moves on to NEWLEADER; NEWLEADER ACKs from a quorum establish', () => {
    const d = three();
    d.learnerInfo(2, 4);
    d.learnerInfo(3, 4);
    d.ackEpoch(2, 4, makeZxid(4, 3));
    assert.equal(d.phase, 'newleader');
    // Any voter's ACK counts, also one whose ACKEPOCH was not among the first quorum's.
    assert.equal(d.newLeaderAck(3, d.newLeaderZxid), true);
    assert.equal(d.phase, 'established');
  });

  void test('NEWLEADER ACK from a quorum establishes the leader', () => {
    const d = three();
    d.learnerInfo(2, 4);
    d.ackEpoch(2, -1, makeZxid(4, 10));
    assert.equal(d.newLeaderAck(2, d.newLeaderZxid), true);
    assert.equal(d.phase, 'established');
  });

  void test('a follower ahead of the leader (epoch, then zxid) aborts leadership', () => {
    const byEpoch = three();
    byEpoch.learnerInfo(2, 4);
    assert.throws(() => byEpoch.ackEpoch(2, 5, 0), DiscoveryError);
    const byZxid = three();
    byZxid.learnerInfo(2, 4);
    assert.throws(() => byZxid.ackEpoch(2, 4, makeZxid(4, 11)), /ahead of the leader/);
    // -1 (already accepted this epoch) is not compared; an equal history is fine.
    const ok = three();
    ok.learnerInfo(2, 4);
    ok.ackEpoch(2, 4, makeZxid(4, 10));
    assert.equal(ok.phase, 'newleader');
  });

  void test('after the ACKEPOCH quorum, a learner ahead of the leader is no error: it lost, and will be truncated', () => {
    const d = three();
    d.learnerInfo(2, 4);
    d.ackEpoch(2, 4, makeZxid(4, 10));
    assert.equal(d.phase, 'newleader');
    d.ackEpoch(3, 4, makeZxid(4, 11));
    assert.equal(d.phase, 'newleader');
  });

  void test('an ACK of NEWLEADER with the wrong zxid is an error', () => {
    const d = three();
    d.learnerInfo(2, 4);
    d.ackEpoch(2, 4, 0);
    assert.throws(() => d.newLeaderAck(2, makeZxid(5, 1)), DiscoveryError);
  });

  void test('an observer\'s ACKEPOCH and NEWLEADER ACK never count towards a quorum', () => {
    const d = three();
    d.learnerInfo(2, 4);
    d.learnerInfo(7, 4);
    assert.equal(d.phase, 'ackepoch');
    d.ackEpoch(7, 4, 0);
    assert.equal(d.phase, 'ackepoch');
  });
});
