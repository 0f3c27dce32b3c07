// Scripted regressions on the simulator, named after Apache ZooKeeper data-loss bugs (../shared/reference/ZK-BUGS.md):
// each runs real zkts servers, the real client and real storage on the simulated clock, network and disk of a fixed
// seed, applies a short scripted fault sequence, and checks the acknowledged writes, the trees and the digests.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ZooKeeperClient } from '../../src/client/index.js';
import { SIM_EPOCH_MS } from '../../src/sim/loop.js';
import { type SimNode, SimWorld } from '../../src/sim/sim.js';
import { Rng } from '../../src/util/rng.js';
import { silentLogger } from '../../src/util/log.js';
import { clock } from '../../src/util/sys.js';

interface Run {
  world: SimWorld;
  /** path -> data of every create the client saw succeed. */
  acked: Map<string, string>;
  trace: string[];
}

/** One scripted world, installed as runSim installs its own (simulated fs/net/clock/random, crash hook), then restored. */
async function inWorld(seed: number, voters: number, body: (r: Run) => Promise<void>, configure?: (w: SimWorld) => void): Promise<Run> {
  const trace: string[] = [];
  const world = new SimWorld(seed, voters, 0, (l) => trace.push(l));
  configure?.(world);
  const rng = new Rng(seed ^ 0x5eed);
  const uninstall = world.install(() => rng.next());
  const run: Run = { world, acked: new Map(), trace };
  try {
    await body(run);
  } finally {
    uninstall();
  }
  return run;
}

let clientSeq = 0;

/** Creates `paths` through `via` (retrying on a new session), recording each create acknowledged to the client. */
async function write(r: Run, via: SimNode[], paths: string[], pad = 0): Promise<void> {
  const connect = via.map((n) => `127.0.0.1:${n.config.clientPort}`).join(',');
  await r.world.drive(`client${clientSeq++}`, 40_000, async () => {
    const deadline = clock.now() + 30_000;
    for (;;) {
      const c = new ZooKeeperClient(connect, { logger: silentLogger, sessionTimeoutMs: 3000, connectTimeoutMs: 1000, reconnectDelayMs: 100 });
      try {
        await c.connect(2000);
        for (const p of paths) {
          // Existing but not acknowledged (a create whose reply was lost): not counted.
          if (r.acked.has(p) || (await c.exists(p)) !== null) continue;
          const data = `v:${p}:${'x'.repeat(pad)}`;
          await c.create(p, Buffer.from(data));
          r.acked.set(p, data);
        }
        return;
      } catch (e) {
        if (clock.now() > deadline) throw e;
      } finally {
        await c.close();
      }
    }
  });
}

const range = (prefix: string, from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${from + i}`);

interface LogLine {
  time: string;
  msg: string;
  [k: string]: unknown;
}
const parse = (line: string): LogLine => JSON.parse(line) as LogLine;
/** Simulated ms of a log line. */
const lineMs = (line: string): number => Date.parse(parse(line).time) - SIM_EPOCH_MS;
/** The node's log lines from simulated time `fromMs` on. */
const linesSince = (n: SimNode, fromMs: number): LogLine[] => n.lines.filter((l) => lineMs(l) >= fromMs).map(parse);

function modes(w: SimWorld): string {
  return w.nodes.map((n) => {
    const st = n.up ? n.peer?.state : undefined;
    return `${n.owner}=${n.up ? (st?.mode ?? 'starting') : 'down'}@0x${st ? st.tree.lastProcessedZxid.toString(16) : '-'}`;
  }).join(' ');
}

function leaderOf(w: SimWorld): SimNode {
  const l = w.nodes.find((n) => n.up && n.peer?.state.mode === 'leader');
  assert.ok(l, `a leader (${modes(w)})`);
  return l;
}

function context(r: Run): string {
  return `\n${modes(r.world)}\nviolations: ${r.world.violations.join('\n  ')}\ntrace: ${r.trace.slice(-20).join('\n  ')}`;
}

/** Every running server serves, one of them leads (SimWorld.serving counts a stopped server as not serving). */
function serving(w: SimWorld): boolean {
  const up = w.nodes.filter((n) => n.up);
  const ms = up.map((n) => n.peer?.state.mode);
  return up.length > 0 && ms.every((m) => m !== undefined && m !== 'looking') && ms.filter((m) => m === 'leader').length === 1;
}

async function waitServing(r: Run, what: string): Promise<void> {
  await r.world.run(30_000, () => serving(r.world));
  assert.ok(serving(r.world), `${what}: the running servers serve within 30 s${context(r)}`);
}

/** Every running server serves and all have applied the same zxid. */
function converged(w: SimWorld): boolean {
  if (!serving(w)) return false;
  const zxids = new Set(w.nodes.filter((n) => n.up).map((n) => n.peer?.state.tree.lastProcessedZxid));
  return zxids.size === 1;
}

async function settle(r: Run, what: string): Promise<void> {
  await r.world.run(30_000, () => converged(r.world));
  assert.ok(converged(r.world), `${what}: the running servers serve and agree on the zxid within 30 s${context(r)}`);
}

/**
 * Every server is up and serving, each holds every acknowledged write in its own tree, and all are at one zxid with
 * one digest and one node count; the simulator saw no violation (digest-at-zxid, no-crash, refused restarts).
 */
async function checkAll(r: Run, what: string): Promise<void> {
  const w = r.world;
  await settle(r, what);
  assert.deepEqual(w.violations, [], `${what}: simulator invariants${context(r)}`);
  const trees = w.nodes.map((n) => {
    assert.ok(n.up && n.peer, `${what}: ${n.owner} is up${context(r)}`);
    return n.peer.state.tree;
  });
  for (const [i, t] of trees.entries()) {
    const missing = [...r.acked].filter(([p, d]) => t.getNode(p)?.data.toString() !== d).map(([p]) => p);
    assert.deepEqual(missing.slice(0, 5), [], `${what}: n${i + 1} lacks ${missing.length} acknowledged writes${context(r)}`);
  }
  const first = trees[0];
  for (const [i, t] of trees.entries()) {
    assert.equal(t.lastProcessedZxid, first.lastProcessedZxid, `${what}: n${i + 1} zxid`);
    assert.equal(t.treeDigest, first.treeDigest, `${what}: n${i + 1} digest at 0x${t.lastProcessedZxid.toString(16)}`);
    assert.equal(t.nodeCount, first.nodeCount, `${what}: n${i + 1} node count`);
  }
}

/** Power loss of every server at once, then all started: what they acknowledged must be on their disks. */
async function powerCycleAll(r: Run, what: string): Promise<void> {
  const w = r.world;
  for (const n of w.nodes) w.powerOff(n);
  for (const n of w.nodes) w.start(n);
  assert.notEqual(await w.waitServing(30_000), undefined, `${what}: serving after the power cycle${context(r)}`);
  await checkAll(r, `${what} (after a power cycle of all)`);
}

async function startAll(r: Run): Promise<void> {
  for (const n of r.world.nodes) r.world.start(n);
  assert.notEqual(await r.world.waitServing(30_000), undefined, `first election${context(r)}`);
}

const logFiles = (w: SimWorld, n: SimNode): string[] => w.disk.list(`${n.config.dataLogDir}/version-2`).filter((f) => /\/log\.[0-9a-f]+$/.test(f));
const snapshotZxids = (w: SimWorld, n: SimNode): number[] => w.disk.list(`${n.config.dataDir}/version-2`)
  .map((f) => /\/snapshot\.([0-9a-f]+)$/.exec(f)?.[1]).filter((z) => z !== undefined).map((z) => parseInt(z, 16));

/** The leader's 'syncing learner' lines for learner `sid` since `fromMs`. */
function syncLines(w: SimWorld, sid: number, fromMs: number): LogLine[] {
  return w.nodes.flatMap((n) => linesSince(n, fromMs)).filter((l) => l.msg === 'syncing learner' && l.sid === sid);
}

void describe('ZooKeeper bug regressions on the simulator (b)', () => {
  // ZOOKEEPER-4785 (PR #2111): in a DIFF sync the follower's writes of the synced proposals to its txn log raced with
  // the rest of the sync (its NEWLEADER ACK and new epoch, the proposals that follow); restarted before they were
  // written, it came back without txns it had been counted as holding, and proposals logged after them left a hole.
  // Here a follower misses writes while down, is started, and dies (kill -9 or power loss) at moments spread over
  // its DIFF sync (before the DIFF, inside it, after NEWLEADER); started again it must hold every acknowledged write
  // in its own tree. Then it must carry them itself: the other follower is powered off, more writes are acknowledged
  // by the leader and it, the leader loses power and the follower leads the remaining server; finally all are power
  // cycled. With the bug, its tree (or the trees it syncs) lacks acknowledged writes and digests differ at one zxid
  // (checked: making the follower append the DIFF's proposals only after its NEWLEADER ACK fails this test).
  void test('ZOOKEEPER-4785: a follower killed or powered off during its DIFF sync loses nothing', async () => {
    const phases = new Map<string, number>();
    for (const how of ['kill', 'power'] as const) {
      for (let delay = 35; delay <= 125; delay += 6) {
        const r = await inWorld(4785, 3, async (r) => {
          const w = r.world;
          await startAll(r);
          const leader = leaderOf(w);
          const [f, other] = w.nodes.filter((n) => n !== leader);
          await write(r, [leader], ['/a', ...range('/a/', 0, 20)]);
          w.kill(f);
          await write(r, [leader, other], range('/a/b', 0, 150));
          const started = w.loop.now;
          w.start(f);
          await w.run(delay);
          const seen = linesSince(f, started).map((l) => l.msg);
          const phase = seen.includes('synced with the leader') ? 'synced' : seen.includes('sync: DIFF') ? 'in-diff' : 'before-diff';
          phases.set(phase, (phases.get(phase) ?? 0) + 1);
          if (how === 'kill') w.kill(f);
          else w.powerOff(f);
          w.start(f);
          await waitServing(r, 'serving again');
          await checkAll(r, `${how} at +${delay} ms (${phase})`);
          const resynced = syncLines(w, f.id, started);
          assert.ok(resynced.length >= 1 && resynced.every((l) => l.mode === 'DIFF'), `DIFF syncs: ${JSON.stringify(resynced)}`);

          // The follower must now carry those writes itself.
          w.powerOff(other);
          await write(r, [leader, f], range('/a/c', 0, 10));
          w.powerOff(leader);
          w.start(other);
          await waitServing(r, 'the follower and the other elect');
          assert.equal(leaderOf(w), f, 'the follower, holding the newest writes, leads');
          w.start(leader);
          await checkAll(r, `${how} at +${delay} ms (${phase}), then led by the follower`);
          await powerCycleAll(r, `${how} at +${delay} ms (${phase})`);
        });
        assert.ok(r.acked.size >= 181, `${r.acked.size} acknowledged writes`);
      }
    }
    assert.ok((phases.get('in-diff') ?? 0) >= 6, `several kills land inside the DIFF sync: ${JSON.stringify([...phases])}`);
  });

  // ZOOKEEPER-4925 (PR #2266): a follower that was stale (cut off while txns committed) and caught up by a sync kept
  // a committed log with a hole where the synced txns were; once it became leader, it DIFF-synced other servers from
  // that log and the hole spread to them (they skip txns; trees diverge with equal zxids). Here, on 5 voters, n1 is
  // down and n4 is partitioned away while writes commit; n4 is restarted and synced, then the leader is killed so n4
  // (highest id, same zxid) is elected only after its sync; n1 comes back and syncs from n4 (it needs exactly the
  // txns n4 received in its own sync), the others are killed and restarted in turn under n4. With the bug, some
  // server misses acknowledged writes or the digests differ at one zxid.
  void test('ZOOKEEPER-4925: a stale follower that syncs and then leads spreads no gap', async () => {
    for (const how of ['kill', 'power'] as const) {
      const r = await inWorld(4925, 5, async (r) => {
        const w = r.world;
        const [n1, n2, n3, n4, n5] = w.nodes;
        await startAll(r);
        assert.equal(leaderOf(w), n5, 'the highest id leads an empty ensemble');
        await write(r, [n5], ['/g', ...range('/g/a', 0, 20)]);
        // Big znodes make big snapshots, so the txn log stays under snapshotSizeFactor (0.33) of the newest snapshot
        // and a leader may sync from its on-disk log (rather than falling back to SNAP).
        await write(r, [n5], range('/g/big', 0, 4), 100_000);
        w.kill(n1);
        for (const x of [n1, n2, n3, n5]) w.network.block(n4.owner, x.owner);
        await write(r, [n5, n3, n2], range('/g/b', 0, 120));
        // The stale follower restarts and syncs.
        if (how === 'kill') w.kill(n4);
        else w.powerOff(n4);
        w.network.heal();
        const restarted = w.loop.now;
        w.start(n4);
        await settle(r, 'the stale follower syncs');
        const synced = syncLines(w, n4.id, restarted);
        assert.ok(synced.length === 1 && synced[0].mode === 'DIFF', `n4 DIFF-synced: ${JSON.stringify(synced)}`);
        // Only now may it lead: the leader dies, n2, n3, n4 elect n4.
        w.kill(n5);
        await waitServing(r, 'n2, n3, n4 elect');
        assert.equal(leaderOf(w), n4, 'the formerly stale follower leads');
        const back = w.loop.now;
        w.start(n1);
        await settle(r, 'n1 syncs from n4');
        const fromN4 = syncLines(w, n1.id, back);
        // n4 hands on, from its own txn log, exactly the txns it received in its sync.
        assert.ok(fromN4.length === 1 && fromN4[0].myid === 4 && fromN4[0].mode === 'DIFF' && fromN4[0].reason === 'txn-log',
          `n1 DIFF-synced by n4 from its txn log: ${JSON.stringify(fromN4)}`);
        assert.equal(fromN4[0].proposals, synced[0].proposals, 'the txns n4 received in its sync');
        await write(r, [n4], range('/g/c', 0, 30));
        // The others, in turn, under n4.
        for (const x of [n2, n3]) {
          if (how === 'kill') w.kill(x);
          else w.powerOff(x);
          await write(r, [n4, n1], range(`/g/d${x.id}-`, 0, 30));
          w.start(x);
          await settle(r, `${x.owner} back`);
        }
        w.start(n5);
        await checkAll(r, `${how}: n4 leading`);
        assert.equal(leaderOf(w), n4, 'n4 still leads');
        await powerCycleAll(r, how);
      });
      assert.ok(r.acked.size >= 1 + 20 + 4 + 120 + 30 + 60, `${r.acked.size} acknowledged writes`);
    }
  });

  // ZOOKEEPER-2846 (PR #314), -2418, -4352: a DIFF sync built from the on-disk txn log (or the committed log) could
  // skip txns at log-file boundaries or leave a hole between the log part and the committed-log part; the follower
  // then reports the leader's zxid with a tree missing txns (upstream's fix: a digest check that forces SNAP). Here
  // a follower is down across a few hundred txns (snapCount 100: the leader rolls its log and snapshots several
  // times), then started: once while the same leader still has them in its committed log, once after the leader
  // restarted (its committed log empty, so the sync reads the txn log across the rolled files). The sync must be a
  // DIFF and leave the follower with every txn: equal zxid, digest and node count. With the bug, the follower's
  // tree lacks acknowledged writes at an equal zxid (digest mismatch).
  void test('ZOOKEEPER-2846: DIFF sync across log rolls and snapshots skips no txn', async () => {
    for (const source of ['committed-log', 'txn-log'] as const) {
      const r = await inWorld(2846, 3, async (r) => {
        const w = r.world;
        const [n1, n2, n3] = w.nodes;
        await startAll(r);
        assert.equal(leaderOf(w), n3, 'the highest id leads an empty ensemble');
        await write(r, [n3], ['/s', ...range('/s/a', 0, 10)]);
        // Big snapshots keep the log under snapshotSizeFactor of the newest snapshot (txn-log sync allowed).
        await write(r, [n3], range('/s/big', 0, 8), 100_000);
        await settle(r, 'all synced');
        const behind = n1.peer!.state.tree.lastProcessedZxid;
        w.kill(n1);
        const logsBefore = logFiles(w, n3).length;
        for (let i = 0; i < 3; i++) await write(r, [n3, n2], range(`/s/b${i}-`, 0, 100));
        const snaps = snapshotZxids(w, n3).filter((z) => z > behind);
        assert.ok(logFiles(w, n3).length >= logsBefore + 2, `the leader rolled its log: ${logFiles(w, n3).join(' ')}`);
        assert.ok(snaps.length >= 2, `the leader snapshotted past the follower: ${snaps.map((z) => z.toString(16)).join(' ')}`);
        if (source === 'txn-log') {
          // A new leadership of the same server: its committed log starts empty.
          w.kill(n3);
          w.start(n3);
          await waitServing(r, 'n2 and n3 elect again');
          assert.equal(leaderOf(w), n3, 'n3 leads again');
        }
        const started = w.loop.now;
        w.start(n1);
        await checkAll(r, source);
        const synced = syncLines(w, n1.id, started);
        assert.ok(synced.length === 1 && synced[0].mode === 'DIFF' && synced[0].reason === source,
          `n1 DIFF-synced from the ${source}: ${JSON.stringify(synced)}`);
        assert.ok(Number(synced[0].proposals) >= 300, `${String(synced[0].proposals)} txns in the DIFF`);
        await powerCycleAll(r, source);
      });
      assert.equal(r.acked.size, 1 + 10 + 8 + 300);
    }
  });

  // ZOOKEEPER-3104 (PR #685) and -3642 (PR #1224): in a SNAP sync the leader sent NEWLEADER before the snapshot was
  // queued (3104), and the follower held the received snapshot only in memory until it took its next snapshot
  // (3642): if the leader died after sending the snapshot, the follower's log lacked the snapshot's txns yet a later
  // DIFF (from a new leader) was appended on top of it, and a restart rebuilt a tree missing them (or refused the
  // log with a gap). Here every sync is forced to SNAP (zookeeper.forceSnapshotSync), a follower that missed writes
  // is started, the leader is killed at moments spread from before the snapshot arrives to after NEWLEADER, and the
  // follower loses power: either at once, or after it and the third server elected and acknowledged more writes.
  // After starting everything (and again after a power cycle of all) every acknowledged write is on every server,
  // the follower started from its data dir (no refusal), digests agree. With the bug, acknowledged writes are
  // missing on the follower, digests differ at one zxid, or it refuses to start (checked: skipping the follower's
  // snapshot at NEWLEADER after a SNAP fails this test with a digest mismatch).
  void test('ZOOKEEPER-3104/3642: leader killed around a SNAP sync, follower powered off: nothing lost', async () => {
    const phases = new Map<string, number>();
    for (const mode of ['together', 'after-writes'] as const) {
      // The follower connects ~43 ms after its start, has the snapshot at ~56, has persisted it at ~75, ACKs
      // NEWLEADER at ~91 and serves at ~97 (simulated): the delays cover that window.
      for (let delay = 36; delay <= 104; delay += 4) {
        await inWorld(3642, 3, async (r) => {
          const w = r.world;
          const [n1, n2, n3] = w.nodes;
          await startAll(r);
          assert.equal(leaderOf(w), n3, 'the highest id leads an empty ensemble');
          await write(r, [n3], ['/p', ...range('/p/a', 0, 20)]);
          w.kill(n1);
          await write(r, [n3, n2], range('/p/b', 0, 60));
          const started = w.loop.now;
          w.start(n1);
          await w.run(delay);
          const seen = linesSince(n1, started).map((l) => l.msg);
          const phase = seen.includes('following: serving') ? 'serving'
            : seen.includes('synced with the leader') ? 'newleader-acked'
              : seen.includes('snapshot written') ? 'snap-persisted'
                : seen.includes('sync: SNAP received') ? 'snap-received' : 'before-snap';
          phases.set(phase, (phases.get(phase) ?? 0) + 1);
          w.kill(n3);
          if (mode === 'together') {
            w.powerOff(n1);
          } else {
            await waitServing(r, 'n1 and n2 elect');
            await write(r, [n2, n1], range('/p/c', 0, 10));
            w.powerOff(n1);
          }
          w.start(n1);
          w.start(n3);
          await checkAll(r, `${mode}, leader killed at +${delay} ms (${phase})`);
          const snaps = syncLines(w, n1.id, started);
          assert.ok(snaps.length >= 1 && snaps.every((l) => l.mode === 'SNAP' && l.reason === 'forced'), `forced SNAP syncs: ${JSON.stringify(snaps)}`);
          await powerCycleAll(r, `${mode}, leader killed at +${delay} ms (${phase})`);
        }, (w) => {
          for (const n of w.nodes) n.config.properties.set('zookeeper.forceSnapshotSync', 'true');
        });
      }
    }
    const between = ['snap-received', 'snap-persisted', 'newleader-acked'].map((p) => phases.get(p) ?? 0);
    assert.ok(between.every((k) => k >= 2), `kills land at each step between the snapshot and UPTODATE: ${JSON.stringify([...phases])}`);
  });
});
