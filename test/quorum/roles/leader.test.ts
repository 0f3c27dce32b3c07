// The leader role (src/quorum/leader.ts) with a fake RoleContext (fake-ctx.ts: the leader's own txn log reports
// durability only when the test releases it) and FAKE LEARNERS played by the test over real loopback sockets
// (script-link.ts). Checked: the epoch agreement (LEADERINFO's epoch, quorum waits, epoch files before the packets
// that depend on them), the sync decision on the wire (DIFF/TRUNC/SNAP), UPTODATE after a quorum of NEWLEADER ACKs,
// giving up (a follower ahead, silence past syncLimit, no quorum within initLimit), and the broadcast: a client write
// is proposed to the synced followers and committed only once a quorum, the leader's own fsync included, has it;
// and the sync read barrier: a sync (forwarded or from the leader's own client) is answered only once a quorum of
// voters answered a PING sent after the sync arrived.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { Writer } from '../../../src/jute/codec.js';
import { OpCode, Perms } from '../../../src/protocol/constants.js';
import { encodeRequest, type Request } from '../../../src/protocol/requests.js';
import { Leader } from '../../../src/quorum/leader.js';
import type { Role } from '../../../src/quorum/role.js';
import {
  ackEpochPacket, ackPacket, decodeTxnEntry, learnerInfoPacket, learnerPingPacket, PacketType, type QuorumPacket,
  readLeaderInfoVersion, requestPacket, ZAB_PROTOCOL_VERSION,
} from '../../../src/quorum/zab/packets.js';
import type { SnapStreamResult } from '../../../src/quorum/zab/snapstream.js';
import { makeZxid } from '../../../src/quorum/zab/zxid.js';
import type { TxnEntry } from '../../../src/storage/txnlogReader.js';
import { freePort, sleep, waitFor } from '../../support/ports.js';
import { RawSession } from '../../support/rawsession.js';
import {
  configFor, createEntries, createEntry, type Ensemble, FakeCtx, find, inOrder, makeEnsemble, nodesOf, QUIET_MS,
  removeEnsemble, sessionEntry, SYNC_LIMIT, TICK,
} from './fake-ctx.js';
import { ScriptedLink } from './script-link.js';

const E1 = (c: number): number => makeZxid(1, c);
const E2 = (c: number): number => makeZxid(2, c);
const HISTORY = createEntries([E1(1), E1(2)]);
/** Client sessions that cannot expire during a test (the default maximum is 20 ticks: 2 s). */
const LONG_SESSIONS = ['maxSessionTimeout=30000'];

interface Rig {
  ens: Ensemble;
  ctx: FakeCtx;
  leader: Leader;
  links: ScriptedLink[];
}

interface RigOptions {
  voters?: number;
  observers?: number[];
  history?: TxnEntry[];
  acceptedEpoch?: number;
  currentEpoch?: number;
  extra?: string[];
  autoDurable?: boolean;
}

/** Server 1 leads; the test plays servers 2.. as fake learners. */
async function withLeader(opts: RigOptions, body: (r: Rig) => Promise<void>): Promise<void> {
  const ens = await makeEnsemble(opts.voters ?? 3, opts.observers ?? [], opts.extra ?? []);
  const ctx = new FakeCtx({
    config: configFor(ens, 1), myId: 1, acceptedEpoch: opts.acceptedEpoch ?? 1, currentEpoch: opts.currentEpoch ?? 1,
    history: opts.history ?? HISTORY, autoDurable: opts.autoDurable ?? true,
  });
  const leader = new Leader(ctx);
  const r: Rig = { ens, ctx, leader, links: [] };
  try {
    await body(r);
  } finally {
    leader.stop('test over');
    await leader.server.stop();
    for (const l of r.links) l.close();
    removeEnsemble(ens);
  }
}

/** A fake learner `sid` connects and sends FOLLOWERINFO (OBSERVERINFO) with its acceptedEpoch. */
async function join(r: Rig, sid: number, acceptedEpoch: number, observer = false): Promise<ScriptedLink> {
  const link = await ScriptedLink.connect(r.ens.servers[0].quorumPort, { learnerSide: true, events: r.ctx.events, tag: ` ->${sid}`, autoPong: true });
  r.links.push(link);
  link.send(learnerInfoPacket(acceptedEpoch, { serverId: BigInt(sid), protocolVersion: ZAB_PROTOCOL_VERSION, configVersion: 0n }, observer));
  return link;
}

interface Synced {
  opener: QuorumPacket;
  snapshot?: SnapStreamResult;
  /** PROPOSAL and COMMIT packets between the opener and NEWLEADER. */
  packets: QuorumPacket[];
  newLeader: QuorumPacket;
}

/** Reads the sync opener, what follows it, up to and including NEWLEADER. */
async function readSync(link: ScriptedLink): Promise<Synced> {
  const first = await link.nextEvent();
  assert.equal(first.kind, 'packet');
  const out: Partial<Synced> & { packets: QuorumPacket[] } = { opener: (first as { packet: QuorumPacket }).packet, packets: [] };
  for (;;) {
    const ev = await link.nextEvent();
    if (ev.kind === 'snapshot') {
      out.snapshot = ev.result;
      continue;
    }
    if (ev.packet.type === PacketType.NEWLEADER) return { ...out, newLeader: ev.packet } as Synced;
    out.packets.push(ev.packet);
  }
}

/** LEADERINFO(newEpoch) expected, ACKEPOCH sent. */
async function ackEpoch(link: ScriptedLink, newEpoch: number, lastZxid: number, currentEpoch: number): Promise<void> {
  const info = await link.expect(PacketType.LEADERINFO, makeZxid(newEpoch, 0));
  assert.equal(readLeaderInfoVersion(info), ZAB_PROTOCOL_VERSION);
  link.send(ackEpochPacket(lastZxid, currentEpoch));
}

/** ACK of NEWLEADER, UPTODATE expected, ACK of UPTODATE. */
async function finish(link: ScriptedLink, newEpoch: number): Promise<void> {
  link.send(ackPacket(makeZxid(newEpoch, 0)));
  await link.expect(PacketType.UPTODATE, -1);
  link.send(ackPacket(makeZxid(newEpoch, 0)));
}

/** 3 voters: follower 2 at the leader's zxid joins; the leader is established in epoch 2. */
async function establish(r: Rig): Promise<ScriptedLink> {
  const f2 = await join(r, 2, 1);
  await ackEpoch(f2, 2, E1(2), 1);
  const s = await readSync(f2);
  assert.equal(s.opener.type, PacketType.DIFF);
  await finish(f2, 2);
  await waitFor('the leader serving', () => r.ctx.served !== undefined, 2000, 10);
  return f2;
}

async function endedWithin(role: Role, ms: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([role.ended, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

void describe('Leader: discovery', () => {
  void it('LEADERINFO carries makeZxid(max(acceptedEpochs)+1, 0), only after a quorum of voters connected and acceptedEpoch is written', async () => {
    await withLeader({ voters: 5 }, async (r) => {
      const f2 = await join(r, 2, 4);
      await f2.nothingFor(QUIET_MS, 'LEADERINFO with 2 of 5 voters connected');
      const f3 = await join(r, 3, 2);
      await ackEpoch(f2, 5, E1(2), 1);
      await ackEpoch(f3, 5, E1(2), 1);
      inOrder(r.ctx.events, 'epoch accepted 5', 'send LEADERINFO 0x500000000');
      assert.equal(r.ctx.acceptedEpoch, 5);
    });
  });

  void it('no sync before a quorum of ACKEPOCH; currentEpoch is written before the sync opener; DIFF for a learner at the leader\'s zxid', async () => {
    await withLeader({ voters: 5 }, async (r) => {
      const [f2, f3] = [await join(r, 2, 1), await join(r, 3, 1)];
      await ackEpoch(f2, 2, E1(2), 1);
      await f2.nothingFor(QUIET_MS, 'sync opener with 2 of 5 ACKEPOCHs');
      assert.equal(find(r.ctx.events, 'epoch current'), -1, 'currentEpoch written before a quorum of ACKEPOCH');
      await ackEpoch(f3, 2, E1(2), 1);
      for (const f of [f2, f3]) {
        const s = await readSync(f);
        assert.equal(s.opener.type, PacketType.DIFF);
        assert.equal(s.opener.zxid, E1(2));
        assert.deepEqual(s.packets, []);
        assert.equal(s.newLeader.zxid, E2(0));
      }
      inOrder(r.ctx.events, 'epoch accepted 2', 'epoch current 2', 'send DIFF 0x100000002');
      assert.equal(r.ctx.currentEpoch, 2);
    });
  });

  void it('UPTODATE only after a quorum of NEWLEADER ACKs; then the leader serves', async () => {
    await withLeader({ voters: 5 }, async (r) => {
      const [f2, f3] = [await join(r, 2, 1), await join(r, 3, 1)];
      for (const f of [f2, f3]) await ackEpoch(f, 2, E1(2), 1);
      for (const f of [f2, f3]) await readSync(f);
      f2.send(ackPacket(E2(0)));
      await f2.nothingFor(QUIET_MS, 'UPTODATE with 2 of 5 NEWLEADER ACKs');
      assert.equal(r.ctx.served, undefined, 'serving before a quorum acknowledged NEWLEADER');
      f3.send(ackPacket(E2(0)));
      await f2.expect(PacketType.UPTODATE, -1);
      await f3.expect(PacketType.UPTODATE, -1);
      assert.equal(r.ctx.served, r.leader.server);
    });
  });

  void it('TRUNC for a learner ahead of the leader in the same epoch (with an older currentEpoch)', async () => {
    await withLeader({ acceptedEpoch: 2, currentEpoch: 2, history: createEntries([E1(1), E1(2), E1(3)]) }, async (r) => {
      const f2 = await join(r, 2, 2);
      await ackEpoch(f2, 3, E1(5), 1);
      const s = await readSync(f2);
      assert.equal(s.opener.type, PacketType.TRUNC);
      assert.equal(s.opener.zxid, E1(3));
      assert.deepEqual(s.packets, []);
      assert.equal(s.newLeader.zxid, makeZxid(3, 0));
      await finish(f2, 3);
    });
  });

  void it('SNAP when zookeeper.forceSnapshotSync=true: the streamed tree and sessions are the leader\'s', async () => {
    const history = [sessionEntry(E1(1), 0x77n), createEntry(E1(2), '/a', 'alpha'), createEntry(E1(3), '/a/b', 'beta'), createEntry(E1(4), '/c', 'gamma', 2)];
    await withLeader({ history, extra: ['zookeeper.forceSnapshotSync=true'] }, async (r) => {
      const f2 = await join(r, 2, 1);
      await ackEpoch(f2, 2, E1(4), 1);
      const s = await readSync(f2);
      assert.equal(s.opener.type, PacketType.SNAP);
      assert.equal(s.opener.zxid, E1(4));
      assert.ok(s.snapshot !== undefined, 'the snapshot follows SNAP');
      assert.deepEqual(nodesOf(s.snapshot.tree), nodesOf(r.leader.server.tree));
      assert.equal(s.snapshot.tree.treeDigest, r.leader.server.tree.treeDigest);
      assert.deepEqual([...s.snapshot.sessions], [[0x77n, 6000]]);
      await finish(f2, 2);
    });
  });
});

void describe('Leader: giving up', () => {
  void it('a follower ahead of the leader (ACKEPOCH with a higher currentEpoch) ends the leadership', async () => {
    await withLeader({}, async (r) => {
      const f2 = await join(r, 2, 2);
      await ackEpoch(f2, 3, E2(5), 2);
      assert.match(await endedWithin(r.leader, 2000) ?? 'still leading', /ahead of the leader/);
      await f2.waitClosed();
    });
  });

  void it('steps down when the followers go silent past syncLimit (and not while they answer PINGs)', async () => {
    await withLeader({}, async (r) => {
      const f2 = await establish(r);
      assert.equal(await endedWithin(r.leader, 800), undefined, 'stepped down although the follower answers PINGs');
      assert.ok(f2.pings.length >= 4, `PING every tickTime/2: ${f2.pings.length} in 800 ms`);
      f2.autoPong = false;
      assert.match(await endedWithin(r.leader, 2000) ?? 'still leading', /not sufficient followers synced/);
      await f2.waitClosed();
    });
  });

  void it('ends when no quorum connects within initLimit', async () => {
    await withLeader({}, async (r) => {
      assert.match(await endedWithin(r.leader, 3000) ?? 'still leading', /no quorum within initLimit/);
    });
  });
});

void describe('Leader: broadcast', () => {
  void it('a write is proposed to the synced follower and committed only after a quorum of ACKs, the leader\'s own fsync counted', async () => {
    await withLeader({ autoDurable: false, extra: LONG_SESSIONS }, async (r) => {
      const f2 = await establish(r);
      await withClientPort(r, async (port) => {
        const connecting = connectClient(port);
        connecting.catch(() => undefined);
        // createSession: the leader's fsync alone (1 of 3) is no quorum; the follower's ACK makes it one.
        const p1 = await f2.expect(PacketType.PROPOSAL, E2(1));
        assert.equal(decodeTxnEntry(p1.data!).txn.type, OpCode.createSession);
        await leaderDurable(r, E2(1));
        await f2.nothingFor(QUIET_MS, 'COMMIT with only the leader\'s fsync');
        f2.send(ackPacket(E2(1)));
        await f2.expect(PacketType.COMMIT, E2(1));
        const session = await connecting;
        // create: the follower's ACK alone (1 of 3) is no quorum; the leader's fsync makes it one.
        const created = create(session, '/w');
        await f2.expect(PacketType.PROPOSAL, E2(2));
        f2.send(ackPacket(E2(2)));
        await f2.nothingFor(QUIET_MS, 'COMMIT with only the follower\'s ACK');
        await leaderDurable(r, E2(2));
        await f2.expect(PacketType.COMMIT, E2(2));
        assert.equal((await created).header.err, 0);
        inOrder(r.ctx.events, 'append 0x200000001', 'durable 0x200000001', 'send COMMIT 0x200000001', 'append 0x200000002', 'durable 0x200000002', 'send COMMIT 0x200000002');
        assert.ok(r.leader.server.tree.getNode('/w') !== undefined);
        session.destroy();
      });
    });
  });

  void it('a follower that rejoins inside the committed log gets DIFF with the committed proposals, then UPTODATE', async () => {
    await withLeader({ autoDurable: true, extra: LONG_SESSIONS }, async (r) => {
      const f2 = await establish(r);
      await withClientPort(r, async (port) => {
        const connecting = connectClient(port);
        connecting.catch(() => undefined);
        await f2.expect(PacketType.PROPOSAL, E2(1));
        f2.send(ackPacket(E2(1)));
        await f2.expect(PacketType.COMMIT, E2(1));
        const session = await connecting;
        await writeAcked(session, f2, '/d', E2(2));
        const f3 = await join(r, 3, 2);
        await ackEpoch(f3, 2, E2(1), -1);
        const s = await readSync(f3);
        assert.deepEqual([s.opener.type, s.opener.zxid], [PacketType.DIFF, E2(2)]);
        assert.deepEqual(s.packets.map((p) => [p.type, p.zxid]), [[PacketType.PROPOSAL, E2(2)], [PacketType.COMMIT, E2(2)]]);
        await finish(f3, 2);
        session.destroy();
      });
    });
  });
});

void describe('Leader: observers', () => {
  void it('count for neither quorum, and get INFORM (the proposal bytes) at commit instead of PROPOSAL/COMMIT', async () => {
    await withLeader({ observers: [4], autoDurable: false, extra: LONG_SESSIONS }, async (r) => {
      const o4 = await join(r, 4, 1, true);
      await o4.nothingFor(QUIET_MS, 'LEADERINFO with only an observer connected');
      const f2 = await join(r, 2, 1);
      for (const l of [o4, f2]) await ackEpoch(l, 2, E1(2), 1);
      for (const l of [o4, f2]) assert.equal((await readSync(l)).opener.type, PacketType.DIFF);
      o4.send(ackPacket(E2(0)));
      await o4.nothingFor(QUIET_MS, 'UPTODATE with only the observer\'s NEWLEADER ACK');
      await finish(f2, 2);
      await o4.expect(PacketType.UPTODATE, -1);
      o4.send(ackPacket(E2(0)));
      await withClientPort(r, async (port) => {
        const connecting = connectClient(port);
        connecting.catch(() => undefined);
        const proposal = await f2.expect(PacketType.PROPOSAL, E2(1));
        f2.send(ackPacket(E2(1)));
        await leaderDurable(r, E2(1));
        await f2.expect(PacketType.COMMIT, E2(1));
        const inform = await o4.expect(PacketType.INFORM, E2(1));
        assert.deepEqual(inform.data, proposal.data);
        (await connecting).destroy();
      });
    });
  });
});

void describe('Leader: sync waits for a quorum to confirm the leadership', () => {
  // The leader PINGs every tickTime/2 (and once more right after a sync arrives); a learner answers every PING, in
  // order. Here the followers stop answering (autoPong off) and the test answers chosen PINGs by hand. Every "nothing
  // happens" wait (QUIET_MS) is shorter than syncLimit, so no follower is dropped for silence meanwhile.

  void it('a forwarded sync gets no SYNC while no follower answers a PING; one follower answering the PINGs sent after it (leader + 1 of 3) releases it', async () => {
    await withLeader({ extra: LONG_SESSIONS }, async (r) => {
      const [f2, f3] = await establishTwo(r);
      await forwardedSession(f2);
      const from3 = silence(f3);
      silence(f2);
      forward(f2, 1, { op: OpCode.sync, path: '/' });
      await f2.nothingFor(QUIET_MS, 'SYNC before any follower answered a PING sent after the sync arrived');
      assert.equal(find(r.ctx.events, 'send SYNC'), -1);
      assert.ok(f3.pings.length > from3, 'the leader PINGed after the sync arrived');
      pong(f3, from3);
      await f2.expect(PacketType.SYNC, 0, 1000);
    });
  });

  void it('answers to PINGs sent before the sync arrived do not confirm it', async () => {
    await withLeader({ extra: LONG_SESSIONS }, async (r) => {
      const [f2, f3] = await establishTwo(r);
      await forwardedSession(f2);
      const [from2, from3] = [silence(f2), silence(f3)];
      await sleep(3 * TICK / 2);
      // Every PING the test holds now was sent before the sync: answered only after the sync arrived, they prove
      // nothing about the leadership since.
      const [older2, older3] = [f2.pings.length, f3.pings.length];
      assert.ok(older2 > from2 && older3 > from3, `PINGs before the sync: ${older2 - from2} to 2, ${older3 - from3} to 3`);
      forward(f2, 1, { op: OpCode.sync, path: '/' });
      await sleep(TICK / 2);
      pong(f2, from2, older2);
      pong(f3, from3, older3);
      await f2.nothingFor(QUIET_MS, 'SYNC confirmed only by answers to PINGs sent before the sync');
      assert.equal(find(r.ctx.events, 'send SYNC'), -1);
      // The PINGs sent after it do confirm it.
      pong(f2, older2);
      await f2.expect(PacketType.SYNC, 0, 1000);
    });
  });

  void it('a leader whose followers never answer steps down within syncLimit and never sends the SYNC', async () => {
    await withLeader({ extra: LONG_SESSIONS }, async (r) => {
      const [f2, f3] = await establishTwo(r);
      await forwardedSession(f2);
      silence(f2);
      silence(f3);
      const sent = Date.now();
      forward(f2, 1, { op: OpCode.sync, path: '/' });
      assert.match(await endedWithin(r.leader, SYNC_LIMIT * TICK + 1000) ?? 'still leading', /not sufficient followers synced/);
      const took = Date.now() - sent;
      assert.ok(took <= SYNC_LIMIT * TICK + 4 * TICK, `stepped down ${took} ms after the sync (syncLimit ${SYNC_LIMIT * TICK} ms)`);
      await f2.waitClosed();
      await f3.waitClosed();
      assert.equal(find(r.ctx.events, 'send SYNC'), -1, 'a leader that lost its quorum answered a sync');
    });
  });

  void it('a write forwarded after the sync is proposed and committed at once, applied on the leader only after the sync is confirmed', async () => {
    await withLeader({ extra: LONG_SESSIONS }, async (r) => {
      const [f2, f3] = await establishTwo(r);
      await forwardedSession(f2);
      const from3 = silence(f3);
      silence(f2);
      forward(f2, 1, { op: OpCode.sync, path: '/' });
      forward(f2, 2, { op: OpCode.create, create: { path: '/after', data: Buffer.from('x'), acl: OPEN, flags: 0 } });
      // The broadcast does not wait for the barrier: the write is proposed and, once a quorum has it, committed.
      await f2.expect(PacketType.PROPOSAL, E2(2));
      f2.send(ackPacket(E2(2)));
      await f2.expect(PacketType.COMMIT, E2(2));
      // The leader's pipeline answers in order: the write queued behind the unconfirmed sync is not applied yet.
      await f2.nothingFor(QUIET_MS, 'SYNC before a follower answered a PING sent after the sync arrived');
      assert.equal(r.leader.server.tree.getNode('/after'), undefined, 'the write behind the unconfirmed sync was applied on the leader');
      pong(f3, from3);
      await f2.expect(PacketType.SYNC, 0, 1000);
      assert.ok(r.leader.server.tree.getNode('/after') !== undefined, 'the write behind the confirmed sync was not applied');
      inOrder(r.ctx.events, 'send PROPOSAL 0x200000002 ->2', 'send COMMIT 0x200000002 ->2', 'send SYNC');
    });
  });

  void it('a client of the leader: sync then create are both answered, in order, once a follower answers the PINGs sent after the sync', async () => {
    await withLeader({ extra: LONG_SESSIONS }, async (r) => {
      const [f2, f3] = await establishTwo(r);
      await withClientPort(r, async (port) => {
        const connecting = connectClient(port);
        connecting.catch(() => undefined);
        await f2.expect(PacketType.PROPOSAL, E2(1));
        f2.send(ackPacket(E2(1)));
        await f2.expect(PacketType.COMMIT, E2(1));
        const session = await connecting;
        const from3 = silence(f3);
        silence(f2);
        const synced = session.send({ op: OpCode.sync, path: '/' });
        synced.catch(() => undefined);
        const created = create(session, '/c');
        await f2.expect(PacketType.PROPOSAL, E2(2));
        f2.send(ackPacket(E2(2)));
        await f2.expect(PacketType.COMMIT, E2(2));
        await sleep(QUIET_MS);
        assert.deepEqual(session.log.filter((e) => e.kind === 'reply'), [], 'a reply before the sync was confirmed');
        pong(f3, from3);
        assert.equal((await synced).header.err, 0);
        assert.equal((await created).header.err, 0);
        const replies = session.log.filter((e) => e.kind === 'reply');
        assert.deepEqual(replies.map((e) => [e.op, e.outOfOrder ?? false]), [[OpCode.sync, false], [OpCode.create, false]]);
        session.destroy();
      });
    });
  });
});

const OPEN = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];

/** A client port handing connections to the server the leader serves with (the peer's job, faked). */
async function withClientPort(r: Rig, body: (port: number) => Promise<void>): Promise<void> {
  const port = await freePort();
  const socks = new Set<net.Socket>();
  const srv = net.createServer((sock) => {
    socks.add(sock);
    r.ctx.served!.accept(sock);
  });
  await new Promise<void>((resolve) => srv.listen({ host: '127.0.0.1', port }, () => resolve()));
  try {
    await body(port);
  } finally {
    for (const s of socks) s.destroy();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
}

/** A raw client session; requests time out within 3 s. */
function connectClient(port: number): Promise<RawSession> {
  return RawSession.connect({ port, connectTimeoutMs: 3000, requestTimeoutMs: 3000, sessionTimeoutMs: 30_000 });
}

/** A create request whose failure is reported where it is awaited (never as an unhandled rejection). */
function create(session: RawSession, path: string): Promise<{ header: { err: number } }> {
  const p = session.send({ op: OpCode.create, create: { path, data: Buffer.from('x'), acl: OPEN, flags: 0 } });
  p.catch(() => undefined);
  return p;
}

/** Waits for the leader to flush `zxid`, then reports it durable. */
async function leaderDurable(r: Rig, zxid: number): Promise<void> {
  await waitFor(`the leader flushing ${zxid.toString(16)}`, () => r.ctx.log.flushed >= zxid, 2000, 10);
  r.ctx.release();
}

/** A create through the leader, ACKed by follower `f`, committed. */
async function writeAcked(session: RawSession, f: ScriptedLink, path: string, zxid: number): Promise<void> {
  const created = create(session, path);
  await f.expect(PacketType.PROPOSAL, zxid);
  f.send(ackPacket(zxid));
  await f.expect(PacketType.COMMIT, zxid);
  assert.equal((await created).header.err, 0);
}

/** 3 voters: followers 2 and 3 at the leader's zxid join; the leader is established in epoch 2. */
async function establishTwo(r: Rig): Promise<[ScriptedLink, ScriptedLink]> {
  const f2 = await join(r, 2, 1);
  const f3 = await join(r, 3, 1);
  for (const f of [f2, f3]) await ackEpoch(f, 2, E1(2), 1);
  for (const f of [f2, f3]) assert.equal((await readSync(f)).opener.type, PacketType.DIFF);
  for (const f of [f2, f3]) await finish(f, 2);
  await waitFor('the leader serving', () => r.ctx.served !== undefined, 2000, 10);
  return [f2, f3];
}

/** The session follower 2's client uses (forwarded requests carry it). */
const FORWARDED_SESSION = 0x0200000000000001n;

/** Follower `f` forwards a client request (REQUEST, as Learner.request does) in FORWARDED_SESSION. */
function forward(f: ScriptedLink, cxid: number, body: Request): void {
  const w = new Writer(64);
  encodeRequest(w, body);
  f.send(requestPacket({ sessionId: FORWARDED_SESSION, cxid, type: body.op, request: w.toBuffer(), authinfo: [] }));
}

/** Follower `f` forwards createSession for FORWARDED_SESSION; it ACKs the proposal and the leader commits it. */
async function forwardedSession(f: ScriptedLink): Promise<void> {
  forward(f, 0, { op: OpCode.createSession, timeOut: 30_000 });
  const p = await f.expect(PacketType.PROPOSAL, E2(1));
  assert.equal(decodeTxnEntry(p.data!).txn.type, OpCode.createSession);
  f.send(ackPacket(E2(1)));
  await f.expect(PacketType.COMMIT, E2(1));
}

/** The follower stops answering PINGs; returns the index of the first PING it will leave unanswered. */
function silence(f: ScriptedLink): number {
  f.autoPong = false;
  return f.pings.length;
}

/** Answers, in order, the PINGs `f` received with index in [from, to) (as a learner does: same zxid, no touches). */
function pong(f: ScriptedLink, from: number, to = f.pings.length): void {
  for (let i = from; i < to; i++) f.send(learnerPingPacket(f.pings[i], []));
}
