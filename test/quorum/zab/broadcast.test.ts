// ZAB broadcast (broadcast.ts) as scripted traces, in the manner of etcd raft's testdata: each input line is followed
// by the actions it must produce ("> ..."), nothing else. Zxids are written epoch:counter. On a mismatch the assertion
// shows the whole actual trace, ready to paste back after review.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type FollowerAction,
  FollowerBroadcast,
  type FollowerBroadcastConfig,
  type LeaderAction,
  LeaderBroadcast,
  type LeaderBroadcastConfig,
} from '../../../src/quorum/zab/broadcast.js';
import { packetTypeName, type QuorumPacket } from '../../../src/quorum/zab/packets.js';
import { counterOf, epochOf, makeZxid } from '../../../src/quorum/zab/zxid.js';

const zx = (s: string): number => {
  const m = /^(\d+):(\d+)$/.exec(s);
  if (m === null) throw new Error(`bad zxid ${s}`);
  return makeZxid(Number(m[1]), Number(m[2]));
};
const fmt = (z: number): string => `${epochOf(z)}:${counterOf(z)}`;
/** The txn bytes every scripted proposal carries: checked by the formatter, so traces need not repeat them. */
const txn = (z: number): Buffer => Buffer.from(`txn ${fmt(z)}`);

function fmtPacket(p: QuorumPacket): string {
  const name = packetTypeName(p.type);
  let s = `${name} ${fmt(p.zxid)}`;
  const carriesTxn = name === 'PROPOSAL' || name === 'INFORM';
  if (carriesTxn && (p.data === null || !p.data.equals(txn(p.zxid)))) s += ' data=WRONG';
  if (!carriesTxn && p.data !== null) s += ' data=UNEXPECTED';
  return s;
}

function fmtLeader(a: LeaderAction): string {
  return 'committed' in a ? `committed ${fmt(a.committed)}` : `${a.send} ${fmtPacket(a.packet)}`;
}

function fmtFollower(a: FollowerAction): string {
  if ('append' in a) return `append ${fmt(a.append)}${a.data.equals(txn(a.append)) ? '' : ' data=WRONG'}`;
  if ('apply' in a) return `apply ${fmt(a.apply)}`;
  if ('error' in a) return `error ${a.error}`;
  return `${a.send} ${fmtPacket(a.packet)}`;
}

/** Runs `script` line by line through `step` and compares the whole trace with the expected one. */
function runScript(script: string, step: (cmd: string, args: string[]) => string[]): void {
  const lines = script.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const expected = lines.join('\n');
  const actual: string[] = [];
  for (const line of lines) {
    if (line.startsWith('>')) continue;
    actual.push(line);
    if (line.startsWith('#')) continue;
    const [cmd, ...args] = line.split(/\s+/);
    for (const out of step(cmd, args)) actual.push(`> ${out}`);
  }
  assert.equal(actual.join('\n'), expected);
}

function leaderScript(config: LeaderBroadcastConfig, script: string, synced: number[] = []): LeaderBroadcast {
  const l = new LeaderBroadcast(config);
  for (const sid of synced) assert.deepEqual(l.learnerSynced(sid), []);
  runScript(script, (cmd, a) => {
    let out: LeaderAction[];
    if (cmd === 'propose') out = l.propose(zx(a[0]), txn(zx(a[0])));
    else if (cmd === 'durable') out = l.localDurable(zx(a[0]));
    else if (cmd === 'ack') out = l.ack(Number(a[0]), zx(a[1]));
    else if (cmd === 'synced') out = l.learnerSynced(Number(a[0]));
    else if (cmd === 'lost') out = l.learnerLost(Number(a[0]));
    else throw new Error(`unknown command ${cmd}`);
    return out.map(fmtLeader);
  });
  return l;
}

function followerScript(config: FollowerBroadcastConfig, script: string): FollowerBroadcast {
  const f = new FollowerBroadcast(config);
  runScript(script, (cmd, a) => {
    let out: FollowerAction[];
    if (cmd === 'proposal') out = f.proposal(zx(a[0]), txn(zx(a[0])));
    else if (cmd === 'durable') out = f.localDurable(zx(a[0]));
    else if (cmd === 'commit') out = f.commit(zx(a[0]));
    else throw new Error(`unknown command ${cmd}`);
    return out.map(fmtFollower);
  });
  return f;
}

const three = { myId: 1, voters: [1, 2, 3], observers: [] };
const five = { myId: 1, voters: [1, 2, 3, 4, 5], observers: [] };

void describe('LeaderBroadcast', () => {
  void it('3 voters: PROPOSAL to synced followers, leader fsync + one ACK commits', () => {
    const l = leaderScript(three, `
      propose 1:1
      > 2 PROPOSAL 1:1
      > 3 PROPOSAL 1:1
      durable 1:1
      ack 3 1:1
      > 2 COMMIT 1:1
      > 3 COMMIT 1:1
      > committed 1:1
      ack 2 1:1
    `, [2, 3]);
    assert.equal(l.lastCommitted, zx('1:1'));
    assert.equal(l.outstandingCount, 0);
  });

  void it('3 voters: two follower ACKs commit while the leader fsync is slow; its fsync later changes nothing', () => {
    leaderScript(three, `
      propose 1:1
      > 2 PROPOSAL 1:1
      > 3 PROPOSAL 1:1
      ack 2 1:1
      ack 3 1:1
      > 2 COMMIT 1:1
      > 3 COMMIT 1:1
      > committed 1:1
      durable 1:1
    `, [2, 3]);
  });

  void it('5 voters: a quorum is 3, in any ACK order, counting the leader', () => {
    leaderScript(five, `
      propose 1:1
      > 2 PROPOSAL 1:1
      > 3 PROPOSAL 1:1
      > 4 PROPOSAL 1:1
      > 5 PROPOSAL 1:1
      ack 5 1:1
      ack 3 1:1
      durable 1:1
      > 2 COMMIT 1:1
      > 3 COMMIT 1:1
      > 4 COMMIT 1:1
      > 5 COMMIT 1:1
      > committed 1:1
      propose 1:2
      > 2 PROPOSAL 1:2
      > 3 PROPOSAL 1:2
      > 4 PROPOSAL 1:2
      > 5 PROPOSAL 1:2
      durable 1:2
      ack 4 1:2
      ack 2 1:2
      > 2 COMMIT 1:2
      > 3 COMMIT 1:2
      > 4 COMMIT 1:2
      > 5 COMMIT 1:2
      > committed 1:2
      ack 5 1:2
      ack 3 1:2
    `, [2, 3, 4, 5]);
  });

  void it('5 voters: the leader fsync slow, two follower ACKs are not enough; its fsync completes the quorum', () => {
    leaderScript(five, `
      propose 1:1
      > 2 PROPOSAL 1:1
      > 3 PROPOSAL 1:1
      > 4 PROPOSAL 1:1
      > 5 PROPOSAL 1:1
      ack 2 1:1
      ack 4 1:1
      durable 1:1
      > 2 COMMIT 1:1
      > 3 COMMIT 1:1
      > 4 COMMIT 1:1
      > 5 COMMIT 1:1
      > committed 1:1
    `, [2, 3, 4, 5]);
  });

  void it('out-of-order quorums: later zxids wait for the earlier one, then all commit in zxid order', () => {
    const l = leaderScript(three, `
      propose 1:1
      > 2 PROPOSAL 1:1
      > 3 PROPOSAL 1:1
      propose 1:2
      > 2 PROPOSAL 1:2
      > 3 PROPOSAL 1:2
      propose 1:3
      > 2 PROPOSAL 1:3
      > 3 PROPOSAL 1:3
      # 1:3 and 1:2 reach a quorum of followers before 1:1 has any ACK
      ack 2 1:3
      ack 3 1:3
      ack 3 1:2
      ack 2 1:2
      ack 2 1:1
      ack 3 1:1
      > 2 COMMIT 1:1
      > 3 COMMIT 1:1
      > committed 1:1
      > 2 COMMIT 1:2
      > 3 COMMIT 1:2
      > committed 1:2
      > 2 COMMIT 1:3
      > 3 COMMIT 1:3
      > committed 1:3
    `, [2, 3]);
    assert.equal(l.outstandingCount, 0);
  });

  void it('one leader fsync covers a batch; commits stop at the first proposal without a quorum', () => {
    leaderScript(three, `
      propose 1:1
      > 2 PROPOSAL 1:1
      > 3 PROPOSAL 1:1
      propose 1:2
      > 2 PROPOSAL 1:2
      > 3 PROPOSAL 1:2
      propose 1:3
      > 2 PROPOSAL 1:3
      > 3 PROPOSAL 1:3
      ack 2 1:1
      ack 2 1:3
      durable 1:3
      > 2 COMMIT 1:1
      > 3 COMMIT 1:1
      > committed 1:1
      ack 3 1:2
      > 2 COMMIT 1:2
      > 3 COMMIT 1:2
      > committed 1:2
      > 2 COMMIT 1:3
      > 3 COMMIT 1:3
      > committed 1:3
    `, [2, 3]);
  });

  void it('duplicate ACKs count once; stale, future and unknown-sid ACKs are ignored', () => {
    leaderScript({ myId: 1, voters: [1, 2, 3, 4, 5], observers: [6] }, `
      propose 1:1
      > 2 PROPOSAL 1:1
      > 3 PROPOSAL 1:1
      > 4 PROPOSAL 1:1
      > 5 PROPOSAL 1:1
      ack 2 1:1
      ack 2 1:1
      ack 2 1:1
      # the observer, an unknown server and the leader's own id do not count
      ack 6 1:1
      ack 9 1:1
      ack 1 1:1
      # an ACK for a zxid never proposed
      ack 3 1:7
      ack 3 2:1
      durable 1:1
      ack 3 1:1
      > 2 COMMIT 1:1
      > 3 COMMIT 1:1
      > 4 COMMIT 1:1
      > 5 COMMIT 1:1
      > 6 INFORM 1:1
      > committed 1:1
      # stale: already committed
      ack 3 1:1
      ack 4 1:1
      propose 1:2
      > 2 PROPOSAL 1:2
      > 3 PROPOSAL 1:2
      > 4 PROPOSAL 1:2
      > 5 PROPOSAL 1:2
      durable 1:2
      ack 3 1:2
      ack 3 1:2
      ack 4 1:2
      > 2 COMMIT 1:2
      > 3 COMMIT 1:2
      > 4 COMMIT 1:2
      > 5 COMMIT 1:2
      > 6 INFORM 1:2
      > committed 1:2
    `, [2, 3, 4, 5, 6]);
  });

  void it('observers get no PROPOSAL and never ACK; they get INFORM with the txn bytes at commit', () => {
    leaderScript({ myId: 1, voters: [1, 2, 3], observers: [4, 5] }, `
      propose 1:1
      > 2 PROPOSAL 1:1
      > 3 PROPOSAL 1:1
      ack 4 1:1
      ack 5 1:1
      durable 1:1
      ack 2 1:1
      > 2 COMMIT 1:1
      > 3 COMMIT 1:1
      > 4 INFORM 1:1
      > 5 INFORM 1:1
      > committed 1:1
      # an observer synced later is informed of later commits only
      lost 5
      propose 1:2
      > 2 PROPOSAL 1:2
      > 3 PROPOSAL 1:2
      synced 5
      durable 1:2
      ack 3 1:2
      > 2 COMMIT 1:2
      > 3 COMMIT 1:2
      > 4 INFORM 1:2
      > 5 INFORM 1:2
      > committed 1:2
    `, [2, 3, 4, 5]);
  });

  void it('a follower synced mid-stream gets the outstanding proposals, and only then do its ACKs count', () => {
    leaderScript(five, `
      propose 1:1
      > 2 PROPOSAL 1:1
      durable 1:1
      ack 2 1:1
      # 3 of 5 needed: only 1 and 2 hold 1:1
      propose 1:2
      > 2 PROPOSAL 1:2
      # 3 is still syncing: it never got 1:1 or 1:2, so its ACKs say nothing
      ack 3 1:1
      ack 3 1:2
      synced 3
      > 3 PROPOSAL 1:1
      > 3 PROPOSAL 1:2
      ack 3 1:1
      > 2 COMMIT 1:1
      > 3 COMMIT 1:1
      > committed 1:1
      propose 1:3
      > 2 PROPOSAL 1:3
      > 3 PROPOSAL 1:3
      # committed proposals are not re-sent (the sync delivered them); COMMITs for nothing
      synced 4
      > 4 PROPOSAL 1:2
      > 4 PROPOSAL 1:3
      durable 1:3
      ack 4 1:2
      ack 3 1:2
      > 2 COMMIT 1:2
      > 3 COMMIT 1:2
      > 4 COMMIT 1:2
      > committed 1:2
    `, [2]);
  });

  void it('a lost follower gets nothing more and its late ACKs are ignored; ACKs it gave before stay counted', () => {
    leaderScript(three, `
      propose 1:1
      > 2 PROPOSAL 1:1
      > 3 PROPOSAL 1:1
      ack 2 1:1
      propose 1:2
      > 2 PROPOSAL 1:2
      > 3 PROPOSAL 1:2
      lost 2
      ack 2 1:2
      durable 1:2
      > 3 COMMIT 1:1
      > committed 1:1
      ack 3 1:2
      > 3 COMMIT 1:2
      > committed 1:2
      propose 1:3
      > 3 PROPOSAL 1:3
    `, [2, 3]);
  });

  void it('leader durability reported beyond the last proposal does not pre-acknowledge later proposals', () => {
    leaderScript(three, `
      propose 1:1
      > 2 PROPOSAL 1:1
      > 3 PROPOSAL 1:1
      durable 1:9
      propose 1:2
      > 2 PROPOSAL 1:2
      > 3 PROPOSAL 1:2
      ack 2 1:2
      ack 2 1:1
      > 2 COMMIT 1:1
      > 3 COMMIT 1:1
      > committed 1:1
      durable 1:2
      > 2 COMMIT 1:2
      > 3 COMMIT 1:2
      > committed 1:2
    `, [2, 3]);
  });

  void it('an ensemble of one commits on its own fsync', () => {
    leaderScript({ myId: 7, voters: [7], observers: [] }, `
      propose 2:1
      propose 2:2
      durable 2:2
      > committed 2:1
      > committed 2:2
    `);
  });

  void it('no followers synced: nothing commits on the leader alone in a 3-voter ensemble', () => {
    const l = leaderScript(three, `
      propose 1:1
      durable 1:1
      ack 2 1:1
    `);
    assert.equal(l.lastCommitted, -1);
    assert.equal(l.outstandingCount, 1);
  });

  void it('programmer errors throw: zxid not increasing, leader not a voter, voter also observer, too many in flight', () => {
    const l = new LeaderBroadcast(three);
    l.propose(zx('1:2'), txn(zx('1:2')));
    assert.throws(() => l.propose(zx('1:2'), txn(zx('1:2'))), /not above/);
    assert.throws(() => l.propose(zx('1:1'), txn(zx('1:1'))), /not above/);
    assert.throws(() => new LeaderBroadcast({ myId: 4, voters: [1, 2, 3], observers: [] }), /not among the voters/);
    assert.throws(() => new LeaderBroadcast({ myId: 1, voters: [1, 2, 3], observers: [3] }), /both voter and observer/);
    const small = new LeaderBroadcast({ ...three, maxOutstanding: 2 });
    small.propose(zx('1:1'), txn(zx('1:1')));
    small.propose(zx('1:2'), txn(zx('1:2')));
    assert.throws(() => small.propose(zx('1:3'), txn(zx('1:3'))), /outstanding/);
  });

  void it('learnerSynced for the leader itself or an unknown sid does nothing', () => {
    leaderScript(three, `
      propose 1:1
      > 2 PROPOSAL 1:1
      synced 1
      synced 9
      ack 9 1:1
    `, [2]);
  });
});

void describe('FollowerBroadcast', () => {
  void it('ZOOKEEPER-4646: follower ACKs only after fsync', () => {
    followerScript({ epoch: 1, lastZxid: zx('1:0') }, `
      proposal 1:1
      > append 1:1
      # the COMMIT can arrive first (the leader had its quorum elsewhere): still no ACK and no apply
      commit 1:1
      durable 1:1
      > leader ACK 1:1
      > apply 1:1
    `);
  });

  void it('one fsync covering several proposals ACKs each of them, in order', () => {
    followerScript({ epoch: 1, lastZxid: zx('1:0') }, `
      proposal 1:1
      > append 1:1
      proposal 1:2
      > append 1:2
      proposal 1:3
      > append 1:3
      durable 1:2
      > leader ACK 1:1
      > leader ACK 1:2
      durable 1:2
      durable 1:1
      durable 1:3
      > leader ACK 1:3
    `);
  });

  void it('a COMMIT for a proposal not yet durable waits until it is durable, then applies in order', () => {
    followerScript({ epoch: 1, lastZxid: zx('1:0') }, `
      proposal 1:1
      > append 1:1
      proposal 1:2
      > append 1:2
      proposal 1:3
      > append 1:3
      commit 1:1
      commit 1:2
      durable 1:1
      > leader ACK 1:1
      > apply 1:1
      durable 1:3
      > leader ACK 1:2
      > leader ACK 1:3
      > apply 1:2
      commit 1:3
      > apply 1:3
    `);
  });

  void it('durability reported beyond the last proposal does not cover a later one', () => {
    followerScript({ epoch: 1, lastZxid: zx('1:0') }, `
      proposal 1:1
      > append 1:1
      durable 1:5
      > leader ACK 1:1
      proposal 1:2
      > append 1:2
      commit 1:1
      > apply 1:1
      commit 1:2
      durable 1:2
      > leader ACK 1:2
      > apply 1:2
    `);
  });

  void it('the first proposal of a new epoch is counter 1; within the synced epoch it continues the counter', () => {
    followerScript({ epoch: 2, lastZxid: zx('1:10') }, `
      proposal 2:1
      > append 2:1
      proposal 2:2
      > append 2:2
    `);
    followerScript({ epoch: 2, lastZxid: zx('2:4') }, `
      proposal 2:5
      > append 2:5
    `);
    followerScript({ epoch: 2, lastZxid: zx('1:10') }, `
      proposal 1:11
      > error PROPOSAL 0x10000000b out of order: expected 0x200000001
    `);
  });

  void it('an out-of-order PROPOSAL (gap, repeat, other epoch) is an error, and the machine stays stopped', () => {
    followerScript({ epoch: 1, lastZxid: zx('1:0') }, `
      proposal 1:1
      > append 1:1
      proposal 1:3
      > error PROPOSAL 0x100000003 out of order: expected 0x100000002
      proposal 1:2
      > error PROPOSAL 0x100000003 out of order: expected 0x100000002
      durable 1:1
      > error PROPOSAL 0x100000003 out of order: expected 0x100000002
      commit 1:1
      > error PROPOSAL 0x100000003 out of order: expected 0x100000002
    `);
    followerScript({ epoch: 1, lastZxid: zx('1:0') }, `
      proposal 1:1
      > append 1:1
      proposal 1:1
      > error PROPOSAL 0x100000001 out of order: expected 0x100000002
    `);
    const f = followerScript({ epoch: 1, lastZxid: zx('1:0') }, `
      proposal 2:1
      > error PROPOSAL 0x200000001 out of order: expected 0x100000001
    `);
    assert.match(f.error ?? '', /out of order/);
  });

  void it('a COMMIT for a zxid never proposed is an error', () => {
    followerScript({ epoch: 1, lastZxid: zx('1:0') }, `
      commit 1:1
      > error COMMIT 0x100000001 for no outstanding proposal
    `);
    followerScript({ epoch: 1, lastZxid: zx('1:0') }, `
      proposal 1:1
      > append 1:1
      commit 1:2
      > error COMMIT 0x100000002 out of order: expected 0x100000001
    `);
  });

  void it('a COMMIT out of order or repeated is an error', () => {
    followerScript({ epoch: 1, lastZxid: zx('1:0') }, `
      proposal 1:1
      > append 1:1
      proposal 1:2
      > append 1:2
      commit 1:2
      > error COMMIT 0x100000002 out of order: expected 0x100000001
    `);
    followerScript({ epoch: 1, lastZxid: zx('1:0') }, `
      proposal 1:1
      > append 1:1
      proposal 1:2
      > append 1:2
      commit 1:1
      commit 1:1
      > error COMMIT 0x100000001 out of order: expected 0x100000002
    `);
    followerScript({ epoch: 1, lastZxid: zx('1:0') }, `
      proposal 1:1
      > append 1:1
      durable 1:1
      > leader ACK 1:1
      commit 1:1
      > apply 1:1
      commit 1:1
      > error COMMIT 0x100000001 for no outstanding proposal
    `);
  });

  void it('ZOOKEEPER-4394: a late COMMIT for a txn the sync already delivered is ignored', () => {
    followerScript({ epoch: 2, lastZxid: zx('2:5') }, `
      commit 2:5
      commit 1:9
      proposal 2:6
      > append 2:6
      durable 2:6
      > leader ACK 2:6
      commit 2:6
      > apply 2:6
    `);
  });

  void it('too many proposals unapplied is an error (the leader is flooding a stalled follower)', () => {
    const f = new FollowerBroadcast({ epoch: 1, lastZxid: zx('1:0'), maxOutstanding: 2 });
    f.proposal(zx('1:1'), txn(zx('1:1')));
    f.proposal(zx('1:2'), txn(zx('1:2')));
    assert.deepEqual(f.proposal(zx('1:3'), txn(zx('1:3'))), [{ error: 'more than 2 proposals unapplied' }]);
  });
});

/**
 * A leader and its followers wired through per-link FIFO queues (TCP), with deliveries, fsyncs, proposals and one
 * late-syncing follower scheduled by fast-check. Checked at every step: a commit has the txn durable on a majority of
 * voters, commits are in zxid order, followers apply exactly the leader's commits in order and only what they logged
 * durably, nobody reports an error; at the end everything proposed is committed and applied everywhere.
 */
function simulate(voterCount: number, choices: number[]): void {
  const epoch = 1;
  const ids = Array.from({ length: voterCount }, (_, i) => i + 1);
  const followerIds = ids.slice(1);
  const lateId = followerIds[followerIds.length - 1];
  const leader = new LeaderBroadcast({ myId: 1, voters: ids, observers: [] });
  const followers = new Map<number, FollowerBroadcast>();
  const toFollower = new Map<number, QuorumPacket[]>(followerIds.map((f) => [f, []]));
  const toLeader = new Map<number, QuorumPacket[]>(followerIds.map((f) => [f, []]));
  const durable = new Map<number, number>(ids.map((id) => [id, zx('1:0')]));
  const applied = new Map<number, number[]>(followerIds.map((f) => [f, []]));
  const appliedFrom = new Map<number, number>();
  const committed: number[] = [];
  let proposed = 0;

  const leaderOut = (acts: LeaderAction[]): void => {
    for (const a of acts) {
      if ('committed' in a) {
        const holders = ids.filter((id) => durable.get(id)! >= a.committed).length;
        assert.ok(holders * 2 > voterCount, `commit ${fmt(a.committed)} durable on ${holders} of ${voterCount}`);
        assert.equal(a.committed, makeZxid(epoch, committed.length + 1), 'commits in zxid order, none skipped');
        committed.push(a.committed);
      } else {
        toFollower.get(a.send)!.push(a.packet);
      }
    }
  };
  const followerOut = (id: number, acts: FollowerAction[]): void => {
    for (const a of acts) {
      if ('error' in a) assert.fail(`follower ${id}: ${a.error}`);
      if ('send' in a) toLeader.get(id)!.push(a.packet);
      if ('apply' in a) {
        assert.ok(a.apply <= durable.get(id)!, 'applied only once durable');
        assert.ok(committed.includes(a.apply), 'applied only once committed');
        applied.get(id)!.push(a.apply);
      }
    }
  };
  const sync = (id: number): void => {
    // The sync delivers (durably) everything committed; forwarding starts in the same turn.
    const last = committed.length === 0 ? zx('1:0') : committed[committed.length - 1];
    followers.set(id, new FollowerBroadcast({ epoch, lastZxid: last }));
    durable.set(id, last);
    appliedFrom.set(id, committed.length);
    leaderOut(leader.learnerSynced(id));
  };
  const deliverToFollower = (id: number): void => {
    const p = toFollower.get(id)!.shift();
    if (p === undefined) return;
    const f = followers.get(id)!;
    if (p.type === 2) followerOut(id, f.proposal(p.zxid, p.data!));
    else followerOut(id, f.commit(p.zxid));
  };
  const deliverToLeader = (id: number): void => {
    const p = toLeader.get(id)!.shift();
    if (p !== undefined) leaderOut(leader.ack(id, p.zxid));
  };
  const fsync = (id: number): void => {
    if (id === 1) {
      durable.set(1, leader.lastProposed);
      leaderOut(leader.localDurable(leader.lastProposed));
    } else if (followers.has(id)) {
      const f = followers.get(id)!;
      durable.set(id, f.lastAppended);
      followerOut(id, f.localDurable(f.lastAppended));
    }
  };

  for (const f of followerIds) if (f !== lateId) sync(f);
  for (const c of choices) {
    const kind = c % 5;
    const who = ids[Math.floor(c / 5) % voterCount];
    if (kind === 0 && proposed < 30) {
      proposed++;
      leaderOut(leader.propose(makeZxid(epoch, proposed), txn(makeZxid(epoch, proposed))));
    } else if (kind === 1) fsync(who);
    else if (kind === 2 && followers.has(who)) deliverToFollower(who);
    else if (kind === 3 && followers.has(who)) deliverToLeader(who);
    else if (kind === 4 && who === lateId && !followers.has(lateId)) sync(lateId);
  }
  if (!followers.has(lateId)) sync(lateId);
  // Quiesce: fsync everyone and deliver everything until nothing moves.
  for (let round = 0; round < 1000; round++) {
    for (const id of ids) fsync(id);
    let moved = false;
    for (const f of followerIds) {
      while (toFollower.get(f)!.length > 0 || toLeader.get(f)!.length > 0) {
        moved = true;
        deliverToFollower(f);
        deliverToLeader(f);
      }
    }
    if (!moved) break;
  }
  assert.equal(committed.length, proposed, 'everything proposed is committed');
  assert.equal(leader.outstandingCount, 0);
  for (const f of followerIds) assert.deepEqual(applied.get(f), committed.slice(appliedFrom.get(f)), `follower ${f} applied the commits in order`);
}

void describe('LeaderBroadcast + FollowerBroadcast simulated together', () => {
  void it('any interleaving of deliveries, fsyncs and a late sync: quorum-durable commits, in order, applied everywhere', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 5 }), fc.array(fc.nat({ max: 1000 }), { maxLength: 300 }), (n, choices) => simulate(n, choices)),
      { numRuns: 300 },
    );
  });
});
