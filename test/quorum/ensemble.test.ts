// Process tests of a zkts ensemble on 127.0.0.1 (src/bench/ensemble.ts starts `zkts server zoo.cfg` per node): it
// elects, replicates writes made through any server, survives kill -9 of the leader under load without losing an
// acknowledged write, resynchronises a returning server with DIFF, TRUNC or SNAP (each forced here), serves reads
// from an observer that does not vote, and refuses writes on the minority side of a partition.
// ZKTS_TEST_KINDS=zkts,apache runs the same tests against Apache ZooKeeper 3.8 too (the sync-mode checks read zkts
// logs and are skipped there).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { killEnsembles, startEnsemble } from '../../src/bench/ensemble.js';
import type { Kind } from '../../src/bench/restart.js';
import { CreateMode, OPEN_ACL_UNSAFE, ZooKeeperClient } from '../../src/client/index.js';
import { OpCode } from '../../src/protocol/constants.js';
import { RawSession } from '../support/rawsession.js';
import { loadDatabase } from '../../src/storage/database.js';
import { ZkError } from '../../src/protocol/errors.js';
import { silentLogger } from '../../src/util/log.js';
import { assertSameTrees, client, expectSyncMode, onNode, retrying } from '../support/ensembleops.js';
import { sleep, waitFor } from '../support/ports.js';
import { oracleAvailable, testKinds } from '../support/servers.js';

const kinds: Kind[] = process.env.ZKTS_TEST_KINDS ? testKinds().filter((k) => k === 'zkts' || oracleAvailable()) : ['zkts'];
const TICK = 200;

after(() => killEnsembles());

/** Sequential creates from `clients` sessions spread over the ensemble until stopped; records what was acknowledged. */
class WriteLoad {
  readonly acked = new Set<string>();
  errors = 0;
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(connects: string[]) {
    this.loops = connects.map((cs, i) => this.loop(cs, i));
  }

  private async loop(connect: string, i: number): Promise<void> {
    const c = client(connect, 6000);
    try {
      await retrying('load client connect', () => c.connect(3000));
      for (let n = 0; this.running; n++) {
        const path = `/load/c${i}-${n}`;
        try {
          await c.create(path, Buffer.from(String(n)));
          this.acked.add(path);
        } catch (e) {
          if (!(e instanceof ZkError)) throw e;
          this.errors++; // outcome unknown (connection loss) or refused while electing
          await sleep(50);
        }
      }
    } finally {
      await c.close();
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

for (const kind of kinds) {
  void describe(`${kind} ensemble`, { timeout: 240_000 }, () => {
    void test('3 nodes elect one leader; writes through any server are read on all; trees identical', async () => {
      const e = await startEnsemble({ kind, voters: 3, tickTime: TICK });
      try {
        const modes = await e.waitForModes();
        assert.deepEqual([...modes.values()].sort(), ['follower', 'follower', 'leader']);
        for (const n of e.nodes) await onNode(n, (c) => c.create(`/via${n.id}`, Buffer.from(`from ${n.id}`)));
        // A session's own write is visible to its next read on the same server, at once (no sync).
        for (const n of e.nodes) {
          await onNode(n, async (c) => {
            await c.create(`/own${n.id}`, 'x', { mode: CreateMode.EPHEMERAL });
            assert.ok(await c.exists(`/own${n.id}`), `node ${n.id}: a read after my write sees it`);
          });
        }
        const tree = await assertSameTrees(e, [1, 2, 3]);
        for (const id of [1, 2, 3]) assert.equal(tree.get(`/via${id}`)?.data, Buffer.from(`from ${id}`).toString('base64'));
        assert.ok(!tree.has('/own1'), 'ephemerals of closed sessions are gone everywhere');
      } finally {
        await e.stop();
      }
    });

    void test('sync() on a follower, then a read: sees every write acknowledged before the sync', async () => {
      const e = await startEnsemble({ kind, voters: 3, tickTime: TICK });
      const leader = await e.leader();
      const [f1, f2] = e.nodes.filter((n) => n !== leader);
      const writer = client(`127.0.0.1:${f1.clientPort}`);
      const reader = client(`127.0.0.1:${f2.clientPort}`);
      try {
        await writer.connect(3000);
        await reader.connect(3000);
        await writer.create('/s', '');
        const missed: number[] = [];
        for (let i = 0; i < 300; i++) {
          await writer.create(`/s/n${i}`, '');
          await reader.sync('/s');
          if (!(await reader.exists(`/s/n${i}`))) missed.push(i);
        }
        assert.deepEqual(missed, [], `reads after sync() missed ${missed.length} of 300 acknowledged writes`);
      } finally {
        await writer.close();
        await reader.close();
        await e.stop();
      }
    });

    void test('kill -9 of the leader under a write load: a new leader, no acknowledged write lost, the old leader rejoins', async () => {
      const e = await startEnsemble({ kind, voters: 3, tickTime: TICK });
      try {
        await e.waitForModes();
        await onNode(e.node(1), (c) => c.create('/load', ''));
        const old = await e.leader();
        const others = e.nodes.filter((n) => n !== old);
        // Each load client prefers a different server and fails over to the rest.
        const load = new WriteLoad(e.nodes.map((n) => e.connectString([n.id, ...e.nodes.filter((m) => m !== n).map((m) => m.id)])));
        await waitFor('load to get going', () => load.acked.size >= 50, 20_000);
        await old.kill('SIGKILL');
        const before = load.acked.size;
        const newLeader = await e.leader({ among: others.map((n) => n.id), timeoutMs: 30_000 });
        assert.notEqual(newLeader.id, old.id);
        await waitFor('writes acknowledged after the failover', () => load.acked.size >= before + 50, 30_000);
        await load.stop();
        await old.start();
        await e.waitForModes();
        const tree = await assertSameTrees(e, [1, 2, 3]);
        const missing = [...load.acked].filter((p) => !tree.has(p));
        assert.deepEqual(missing, [], `acknowledged writes lost: ${missing.length} of ${load.acked.size}`);
        if (kind === 'zkts') {
          // And on disk: every server's recovered database (snapshot + log) has the same digest at the same zxid.
          await onNode(e.node(1), (c) => c.create('/load/last', ''));
          await assertSameTrees(e, [1, 2, 3]);
          for (const n of e.nodes) await n.kill('SIGKILL');
          const dbs = await Promise.all(e.nodes.map((n) => loadDatabase({
            dataDir: n.dataDir, dataLogDir: n.dataDir, logger: silentLogger, extendedTypesEnabled: false,
            trustEmptySnapshot: false, autoCreateDb: true, snapshotCompression: '',
          })));
          const summary = dbs.map((d, i) => `node ${i + 1}: zxid 0x${d.lastZxid.toString(16)} digest ${d.tree.treeDigest}`);
          assert.equal(new Set(dbs.map((d) => `${d.lastZxid}/${d.tree.treeDigest}`)).size, 1, summary.join('; '));
        }
      } finally {
        await e.stop();
      }
    });

    void test('a returning follower is synced by DIFF: from the committed log, then from the txn log', async () => {
      const e = await startEnsemble({ kind, voters: 3, tickTime: TICK });
      try {
        await e.waitForModes();
        const leader = await e.leader();
        const f = e.nodes.find((n) => n !== leader)!;
        await onNode(leader, (c) => c.create('/d', ''));
        await f.kill('SIGKILL');
        await onNode(leader, async (c) => {
          for (let i = 0; i < 20; i++) await c.create(`/d/n${i}`, 'x');
        });
        await f.start();
        await expectSyncMode(e, leader, f.id, 'DIFF');
        await assertSameTrees(e, [1, 2, 3]);
        // More than the in-memory committed log holds (zookeeper.commitLogCount 500) while it is down: the
        // proposals it lacks are read back from the leader's txn log.
        await f.kill('SIGKILL');
        await onNode(leader, async (c) => {
          const batch: Promise<string>[] = [];
          for (let i = 0; i < 1200; i++) batch.push(c.create(`/d/s${i}`, 'y'));
          await Promise.all(batch);
        }, 30_000);
        await f.start();
        await expectSyncMode(e, leader, f.id, 'DIFF');
        await assertSameTrees(e, [1, 2, 3]);
      } finally {
        await e.stop();
      }
    });

    void test('SNAP (forceSnapshotSync): the follower takes the snapshot, and holds it on disk across a restart', async () => {
      const e = await startEnsemble({ kind, voters: 3, tickTime: TICK, config: { forceSnapshotSync: true } });
      try {
        await e.waitForModes();
        const leader = await e.leader();
        const f = e.nodes.find((n) => n !== leader)!;
        await f.kill('SIGKILL');
        await onNode(leader, async (c) => {
          await c.create('/s', '');
          for (let i = 0; i < 50; i++) await c.create(`/s/n${i}`, 'x', { mode: i % 2 === 0 ? CreateMode.PERSISTENT : CreateMode.PERSISTENT_SEQUENTIAL });
        });
        await f.start();
        await expectSyncMode(e, leader, f.id, 'SNAP');
        await assertSameTrees(e, [1, 2, 3]);
        // ZOOKEEPER-3642: what the follower received in the snapshot must be on its disk, not only in memory.
        await f.kill('SIGKILL');
        await f.start();
        await onNode(leader, (c) => c.create('/s/after', ''));
        await assertSameTrees(e, [1, 2, 3]);
      } finally {
        await e.stop();
      }
    });

    void test('ZOOKEEPER-2845: a cut-off leader\'s unacknowledged proposal is truncated (TRUNC) when it returns', async () => {
      const e = await startEnsemble({ kind, voters: 3, tickTime: TICK, proxied: true });
      try {
        await e.waitForModes();
        const old = await e.leader();
        const rest = e.nodes.filter((n) => n !== old).map((n) => n.id);
        await onNode(old, (c) => c.create('/base', ''));
        const c = client(`127.0.0.1:${old.clientPort}`, 4000);
        await c.connect(3000);
        // Cut the leader off: it logs the next proposal but no follower ever receives it.
        e.partitioner!.isolate(old.id);
        const lost = await c.create('/never-committed', 'x').then(() => 'acknowledged', (err: Error) => err.message);
        assert.notEqual(lost, 'acknowledged');
        await c.close();
        const newLeader = await e.leader({ among: rest, timeoutMs: 30_000 });
        // The old leader is back to looking with the proposal in its log (and, after reloading, in its tree).
        e.partitioner!.healAll();
        await e.waitForModes({ timeoutMs: 30_000 });
        await expectSyncMode(e, newLeader, old.id, 'TRUNC');
        const tree = await assertSameTrees(e, [1, 2, 3]);
        assert.ok(tree.has('/base'));
        assert.ok(!tree.has('/never-committed'), 'an uncommitted proposal must not survive on the old leader');
        // The cut is on disk: restarted, the old leader still agrees.
        await onNode(newLeader, (cl) => cl.create('/after', ''));
        await old.kill('SIGKILL');
        await old.start();
        await assertSameTrees(e, [1, 2, 3]);
      } finally {
        await e.stop();
      }
    });

    void test('a session that moved to another server: its old connection is closed at its next write (SESSIONMOVED)', async () => {
      const e = await startEnsemble({ kind, voters: 3, tickTime: TICK });
      try {
        await e.waitForModes();
        const leader = await e.leader();
        const [a, b] = e.nodes.filter((n) => n !== leader);
        const c1 = client(`127.0.0.1:${a.clientPort}`, 6000);
        await c1.connect(3000);
        await c1.create('/moved', '');
        const c2 = new ZooKeeperClient(`127.0.0.1:${b.clientPort}`, {
          logger: silentLogger, sessionTimeoutMs: 6000, connectTimeoutMs: 2000, sessionId: c1.sessionId, sessionPassword: c1.sessionPassword,
        });
        try {
          await c2.connect(3000);
          assert.equal(c2.sessionId, c1.sessionId);
          await c2.setData('/moved', 'from b');
          const stale = await c1.setData('/moved', 'from a').then(() => 'written', (err: ZkError) => err.codeName);
          // Apache 3.8 answers SESSIONMOVED by closing the stale connection (FinalRequestProcessor): connection loss.
          assert.equal(stale, 'CONNECTIONLOSS');
          const { data } = await c2.getData('/moved');
          assert.equal(data?.toString(), 'from b');
        } finally {
          await c2.close();
          await c1.close().catch(() => undefined);
        }
      } finally {
        await e.stop();
      }
    });

    void test('sessions on a follower: kept alive by the leader while active, expired everywhere when dead', async () => {
      const e = await startEnsemble({ kind, voters: 3, tickTime: TICK });
      try {
        await e.waitForModes();
        const leader = await e.leader();
        const [a, b] = e.nodes.filter((n) => n !== leader);
        // Alive: only pings for three session timeouts, through a follower; the leader owns expiry.
        const live = client(`127.0.0.1:${a.clientPort}`, 1000);
        await live.connect(3000);
        await live.create('/alive', '', { mode: CreateMode.EPHEMERAL });
        await sleep(3000);
        assert.ok(await onNode(b, async (c) => (await c.sync('/'), c.exists('/alive'))), 'an active session expired');
        // Dead: the socket goes away without closeSession; after its timeout the ephemeral is gone on every server.
        const dead = await RawSession.connect({ port: a.clientPort, sessionTimeoutMs: 1000 });
        const r = await dead.send({ op: OpCode.create, create: { path: '/dead', data: Buffer.from('x'), acl: OPEN_ACL_UNSAFE, flags: CreateMode.EPHEMERAL } });
        assert.equal(r.header.err, 0);
        dead.destroy();
        await waitFor('the dead session\'s ephemeral to go on every server', async () => {
          for (const n of e.nodes) if (await onNode(n, async (c) => (await c.sync('/'), c.exists('/dead')))) return false;
          return true;
        }, 15_000);
        assert.ok(await onNode(b, (c) => c.exists('/alive')), 'the live session survived');
        await live.close();
      } finally {
        await e.stop();
      }
    });

    void test('a frozen follower is cut off after syncLimit; the others go on; thawed, it rejoins and catches up', async () => {
      const e = await startEnsemble({ kind, voters: 3, tickTime: TICK });
      const leader = await e.leader();
      const f = e.nodes.find((n) => n !== leader)!;
      try {
        process.kill(f.pid!, 'SIGSTOP');
        await onNode(leader, async (c) => {
          for (let i = 0; i < 50; i++) await c.create(`/frozen-${i}`, '');
        });
        await sleep(TICK * 5 * 2); // past syncLimit: the leader has dropped it
        await onNode(leader, (c) => c.create('/after-drop', ''));
        process.kill(f.pid!, 'SIGCONT');
        await e.waitForModes({ timeoutMs: 30_000 });
        const tree = await assertSameTrees(e, [1, 2, 3]);
        assert.ok(tree.has('/frozen-49') && tree.has('/after-drop'));
      } finally {
        if (f.pid !== undefined) process.kill(f.pid, 'SIGCONT');
        await e.stop();
      }
    });

    void test('an observer serves reads and writes but does not vote', async () => {
      const e = await startEnsemble({ kind, voters: 3, observers: 1, tickTime: TICK });
      try {
        const modes = await e.waitForModes();
        assert.equal(modes.get(4), 'observer');
        await onNode(e.node(4), (c) => c.create('/from-observer', 'o'));
        await onNode(e.node(1), (c) => c.create('/from-1', '1'));
        await assertSameTrees(e, [1, 2, 3, 4]);
        // Two voters down: the remaining voter and the observer are no quorum.
        const leader = await e.leader();
        const [a, b] = e.nodes.filter((n) => n.role === 'participant' && n !== leader);
        await a.kill('SIGKILL');
        await b.kill('SIGKILL');
        await waitFor('the lone voter and the observer to stop serving', async () => {
          const m = await e.modes([leader.id, 4]);
          return m.get(leader.id) === undefined && m.get(4) === undefined;
        }, 20_000);
        await a.start();
        await e.waitForModes({ ids: [leader.id, a.id, 4] });
        await onNode(e.node(4), (c) => c.create('/after-quorum', ''));
      } finally {
        await e.stop();
      }
    });

    void test('a partitioned leader cannot write; the majority elects and writes; healing rejoins it', async () => {
      const e = await startEnsemble({ kind, voters: 3, tickTime: TICK, proxied: true });
      try {
        await e.waitForModes();
        const old = await e.leader();
        const rest = e.nodes.filter((n) => n !== old).map((n) => n.id);
        e.partitioner!.isolate(old.id);
        const newLeader = await e.leader({ among: rest, timeoutMs: 30_000 });
        await retrying('write on the majority side', () => onNode(newLeader, (c) => c.create('/majority', '')));
        // The minority side: the old leader steps down within syncLimit and refuses sessions or times out.
        const minority = await onNode(old, (c) => c.create('/minority', ''), 3000).then(() => 'written', (err: Error) => err.message);
        assert.notEqual(minority, 'written');
        e.partitioner!.healAll();
        await e.waitForModes({ timeoutMs: 30_000 });
        const tree = await assertSameTrees(e, [1, 2, 3]);
        assert.ok(tree.has('/majority') && !tree.has('/minority'));
      } finally {
        await e.stop();
      }
    });

    void test('5 nodes: survives two failures (leader included), stops serving at three', async () => {
      const e = await startEnsemble({ kind, voters: 5, tickTime: TICK });
      try {
        await e.waitForModes();
        const leader = await e.leader();
        const f = e.nodes.find((n) => n !== leader)!;
        await leader.kill('SIGKILL');
        await f.kill('SIGKILL');
        const alive = e.nodes.filter((n) => n.running);
        await e.leader({ among: alive.map((n) => n.id), timeoutMs: 30_000 });
        await retrying('write with 3 of 5', () => onNode(alive[0], (c) => c.create('/three-of-five', '')));
        await assertSameTrees(e, alive.map((n) => n.id));
        await alive[0].kill('SIGKILL');
        const two = alive.slice(1);
        await waitFor('two of five to stop serving', async () => [...(await e.modes(two.map((n) => n.id))).values()].every((m) => m === undefined), 20_000);
        const refused = await onNode(two[0], (c) => c.create('/two-of-five', ''), 2000).then(() => 'written', (err: Error) => err.message);
        assert.notEqual(refused, 'written');
      } finally {
        await e.stop();
      }
    });
  });
}


