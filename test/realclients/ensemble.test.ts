// Real clients nobody here wrote against a 3-node ensemble (src/bench/ensemble.ts), for each kind of
// ZKTS_TEST_KINDS (both by default; the Apache run proves the test itself):
// - kazoo (python3-kazoo, python/ensemble_kazoo.py): CRUD + Stat, ChildrenWatch/DataWatch fired by writes through
//   other servers, ephemeral + sequential, transactions, writes through each server read through the others after
//   sync; its Lock recipe with 3 contenders on 3 different servers (mutual exclusion checked from recorded holds);
//   session failover: kill -9 of the follower it is connected to, same session on another server, its ephemeral
//   still there, its DataWatch re-registered and fired by a later change;
// - zkCli (ZooKeeperMain, command-line mode): create on one server, sync + get on another, exit codes;
// - Curator (java/EnsembleCurator.java): InterProcessMutex with 3 sessions on 3 servers and an exact counter;
//   a CuratorFramework on the full connect string surviving kill -9 of its server (SUSPENDED -> RECONNECTED, same
//   session, its plain watch re-registered by SetWatches fires).
// One ensemble per kind is shared by the tests of that kind; a killed node is started again before the next test.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Ensemble, type EnsembleNode, killEnsembles, startEnsemble } from '../../src/bench/ensemble.js';
import { ZooKeeperClient } from '../../src/client/index.js';
import { silentLogger } from '../../src/util/log.js';
import { oracleAvailable, testKinds } from '../support/servers.js';
import {
  CURATOR_CLASSPATH, Interactive, REALCLIENTS_DIR, SYSTEM_PYTHON, ZK_CLIENT_CLASSPATH, describeRun, haveExecutable,
  missingFiles, runProcess, type ProcessResult,
} from './helpers.js';

const kinds = testKinds().filter((k) => k === 'zkts' || oracleAvailable());
const KAZOO_SCRIPT = path.join(REALCLIENTS_DIR, 'python', 'ensemble_kazoo.py');
const CURATOR_SOURCE = path.join(REALCLIENTS_DIR, 'java', 'EnsembleCurator.java');

const kazooSkip = ((): string | false => {
  const r = spawnSync(SYSTEM_PYTHON, ['-c', 'import kazoo'], { timeout: 20_000 });
  return r.status === 0 ? false : `kazoo is not importable by ${SYSTEM_PYTHON} (install python3-kazoo)`;
})();
const zkCliMissing = missingFiles(ZK_CLIENT_CLASSPATH);
const zkCliSkip = !haveExecutable('java') ? 'java is not installed'
  : zkCliMissing.length > 0 ? `ZooKeeper client jars missing: ${zkCliMissing.join(', ')}` : false;
const curatorMissing = missingFiles(CURATOR_CLASSPATH);
const curatorSkip = !haveExecutable('javac') || !haveExecutable('java') ? 'java/javac are not installed'
  : curatorMissing.length > 0 ? `Curator/ZooKeeper jars missing: ${curatorMissing.join(', ')}` : false;

after(() => killEnsembles());

// The JSON the client programs print: loosely typed on purpose, every field used is checked by an assertion.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Observed = Record<string, any>;

function lastJson(r: ProcessResult, what: string): Observed {
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Observed;
  } catch {
    assert.fail(`${what} printed no JSON: ${describeRun(r)}`);
  }
}

/** Waits for a line "TAG {json}" printed after output offset `from`; returns the JSON. */
async function tagged(p: Interactive, tag: string, from: number, timeoutMs: number): Promise<Observed> {
  const re = new RegExp(`^${tag} (\\{.*\\})\\s*$`, 'm');
  const slice = await p.waitFor(re, from, timeoutMs, tag);
  return JSON.parse(re.exec(slice)![1]) as Observed;
}

/** Holds [worker, enter, leave] never overlap (sorted by enter, each starts after the previous one ended). */
function assertNoOverlap(holds: Array<[number, number, number]>, what: string): void {
  const sorted = [...holds].sort((a, b) => a[1] - b[1]);
  for (let i = 1; i < sorted.length; i++) {
    const [pw, , pl] = sorted[i - 1];
    const [w, e] = sorted[i];
    assert.ok(e >= pl, `${what}: worker ${w} entered at ${e} while worker ${pw} held the lock until ${pl}`);
  }
}

/** Runs `fn` with a session (this project's client, only as a test driver) on exactly one node. */
async function onNode<T>(node: EnsembleNode, fn: (c: ZooKeeperClient) => Promise<T>): Promise<T> {
  const c = new ZooKeeperClient(`127.0.0.1:${node.clientPort}`, { logger: silentLogger, sessionTimeoutMs: 6000, connectTimeoutMs: 2000, reconnectDelayMs: 100 });
  try {
    await c.connect(10_000);
    return await fn(c);
  } finally {
    await c.close();
  }
}

let compiled: Promise<string> | undefined;
const tempDirs: string[] = [];
process.on('exit', () => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Compiles EnsembleCurator.java once for the whole file; returns the class directory. */
function compileCurator(): Promise<string> {
  compiled ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-ens-curator-'));
    tempDirs.push(dir);
    const r = await runProcess('javac', ['-nowarn', '-cp', CURATOR_CLASSPATH.join(':'), '-d', dir, CURATOR_SOURCE], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `javac failed: ${describeRun(r)}`);
    return dir;
  })();
  return compiled;
}

const ZKCLI = ['-Xmx128m', '-cp', ZK_CLIENT_CLASSPATH.join(':'), 'org.apache.zookeeper.ZooKeeperMain'];

for (const kind of kinds) {
  void describe(`real clients against a 3-node ${kind} ensemble`, { timeout: 240_000 }, () => {
    let ens: Ensemble | undefined;
    const e = (): Ensemble => ens!;
    const hostOf = (n: EnsembleNode): string => `127.0.0.1:${n.clientPort}`;
    const byPort = (port: number): EnsembleNode => {
      const n = e().nodes.find((x) => x.clientPort === port);
      assert.ok(n, `no node has client port ${port}`);
      return n;
    };
    /** Starts `node` again if a test killed it, and waits until the ensemble is whole. */
    const revive = async (node: EnsembleNode | undefined): Promise<void> => {
      if (node && !node.running) await node.start();
      await e().waitForModes({ ids: e().nodes.map((n) => n.id), timeoutMs: 60_000 });
    };

    // A parent dir of our own (not named zkts-*), so that a sweep of stale zkts-* temp dirs by another job on the
    // machine cannot take the node directories away between a kill and the restart.
    const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), `realclients-ens-${kind}-`));
    tempDirs.push(tmpDir);
    before(async () => {
      // maxSessionTimeout: the clients ask for 10-15 s; the default cap (20 ticks = 4 s) would also do, with less slack.
      ens = await startEnsemble({ kind, voters: 3, tickTime: 200, tmpDir, config: { maxSessionTimeout: 20_000 } });
    });
    after(async () => {
      try {
        await ens?.stop();
      } finally {
        fs.rmSync(tmpDir, { recursive: true, force: true });
      }
    });

    void test('kazoo: CRUD + Stat, watches, ephemeral + sequential, transactions, writes read through every server', { skip: kazooSkip, timeout: 60_000 }, async () => {
      const nodes = e().nodes;
      const r = await runProcess(SYSTEM_PYTHON, [KAZOO_SCRIPT, 'basic', e().connectString(), ...nodes.map(hostOf)], { timeoutMs: 60_000 });
      assert.equal(r.code, 0, `kazoo basic failed: ${describeRun(r)}`);
      const o = lastJson(r, 'kazoo basic');
      assert.deepEqual(o.singlePeers, nodes.map((n) => n.clientPort), 'each single-host client is on its server');
      assert.ok(nodes.some((n) => n.clientPort === o.allPeer));
      // CRUD + Stat
      assert.equal(o.create, '/ens-kz');
      assert.equal(o.get1.data, 'v1');
      assert.equal(o.get1.stat.version, 0);
      assert.equal(o.get1.stat.czxid, o.get1.stat.mzxid);
      assert.equal(o.get1.stat.ephemeralOwner, '0x0');
      assert.equal(o.get1.stat.dataLength, 2);
      assert.equal(o.set.version, 1);
      assert.ok(o.set.mzxid > o.get1.stat.mzxid);
      assert.equal(o.setBadVersion, 'BadVersionError');
      assert.equal(o.createExisting, 'NodeExistsError');
      assert.equal(o.child, '/ens-kz/c');
      assert.equal(o.statAfterChild.numChildren, 1);
      assert.equal(o.statAfterChild.cversion, 1);
      assert.ok(o.statAfterChild.pzxid > o.set.mzxid);
      assert.equal(o.deleteNotEmpty, 'NotEmptyError');
      assert.equal(o.deleteNoNode, 'NoNodeError');
      assert.equal(o.existsAfterDelete, null);
      // every server, after sync, holds the same node with the same Stat (after the child's delete: cversion 2)
      assert.equal(o.viewsAfterSync.length, 3);
      for (const v of o.viewsAfterSync as Observed[]) {
        assert.equal(v.data, 'v2');
        assert.deepEqual(v.stat, o.viewsAfterSync[0].stat, 'the same Stat on every server');
        assert.deepEqual([v.stat.cversion, v.stat.numChildren], [2, 0], 'a child created and deleted');
        assert.ok(v.stat.pzxid > o.statAfterChild.pzxid, 'pzxid advanced by the delete');
        for (const k of ['czxid', 'mzxid', 'version', 'aversion', 'ephemeralOwner', 'dataLength', 'ctime', 'mtime']) {
          assert.equal(v.stat[k], o.statAfterChild[k], `Stat.${k}`);
        }
      }
      // watches on the all-hosts session fired by writes through each server
      assert.deepEqual(o.childrenSeen, [[], ['k0'], ['k0', 'k1'], ['k0', 'k1', 'k2']]);
      assert.deepEqual(o.dataSeen, [
        { data: 'd0', event: null, version: 0 },
        { data: 'd1', event: 'CHANGED', version: 1 },
        { data: 'd2', event: 'CHANGED', version: 2 },
        { data: 'd3', event: 'CHANGED', version: 3 },
      ]);
      // ephemeral + sequential
      assert.deepEqual(o.seq, ['/ens-kz/es/n-0000000000', '/ens-kz/es/n-0000000001', '/ens-kz/es/n-0000000002']);
      assert.equal(o.eph, '/ens-kz/es/e');
      assert.equal(o.ephSeq, '/ens-kz/es/x-0000000004');
      assert.notEqual(o.ownerSession, '0x0');
      assert.equal(o.ephOwnerOn3, o.ownerSession, 'another server reports the creating session as ephemeralOwner');
      assert.equal(o.ephChild, 'NoChildrenForEphemeralsError');
      assert.deepEqual(o.childrenBefore, ['e', 'n-0000000000', 'n-0000000001', 'n-0000000002', 'x-0000000004']);
      assert.deepEqual(o.childrenAfterClose, ['n-0000000000', 'n-0000000001', 'n-0000000002'], 'closing the session removed its ephemerals everywhere');
      // transactions
      assert.equal(o.txOk.length, 5);
      assert.deepEqual([o.txOk[0], o.txOk[1], o.txOk[3], o.txOk[4]], ['/ens-kz/tx', '/ens-kz/tx/a', true, '/ens-kz/tx/s-0000000001']);
      assert.equal(o.txOk[2].version, 1);
      assert.equal(o.txOk[2].czxid, o.txOk[2].mzxid, 'all ops of one multi share a zxid');
      assert.deepEqual(o.txFailed, ['RolledBackError', 'NoNodeError', 'RuntimeInconsistency']);
      assert.deepEqual(o.txChildrenOn3, ['a', 's-0000000001']);
      assert.equal(o.txDataOn3, 'two');
      // writes through each server, read through every other after sync
      // (50 rounds x 3 writers x 2 readers)
      assert.equal(o.cross, 300);
      assert.deepEqual(o.crossMisses, [], `reads after sync that missed an acknowledged write made through another server:
${JSON.stringify(o.crossMisses, null, 1)}
server ports: ${nodes.map((n) => `node ${n.id}=${n.clientPort}`).join(' ')}`);
    });

    void test('kazoo Lock: 3 contenders on 3 different servers, holds never overlap, counter exact', { skip: kazooSkip, timeout: 70_000 }, async () => {
      const nodes = e().nodes;
      const r = await runProcess(SYSTEM_PYTHON, [KAZOO_SCRIPT, 'lock', e().connectString(), ...nodes.map(hostOf)], { timeoutMs: 70_000 });
      assert.equal(r.code, 0, `kazoo lock failed: ${describeRun(r)}`);
      const o = lastJson(r, 'kazoo lock');
      assert.deepEqual(o.errors, []);
      assert.equal(o.alive, 0);
      assert.deepEqual(o.peers, nodes.map((n) => n.clientPort));
      const holds = (o.holds as Array<{ worker: number; enter: number; leave: number }>).map((h): [number, number, number] => [h.worker, h.enter, h.leave]);
      assert.equal(holds.length, o.expected);
      for (let w = 0; w < 3; w++) assert.equal(holds.filter((h) => h[0] === w).length, 10, `worker ${w} holds`);
      assertNoOverlap(holds, 'kazoo Lock');
      assert.equal(o.violations, 0, 'no versioned set raced');
      assert.equal(o.counter, o.expected);
      assert.deepEqual(o.lockChildrenAfter, []);
    });

    void test('kazoo failover: kill -9 of its follower, same session elsewhere, ephemeral kept, DataWatch fires', { skip: kazooSkip, timeout: 90_000 }, async (t) => {
      const modes = await e().waitForModes();
      const follower = e().nodes.find((n) => modes.get(n.id) === 'follower')!;
      const order = [follower.id, ...e().nodes.filter((n) => n !== follower).map((n) => n.id)];
      const py = new Interactive(SYSTEM_PYTHON, [KAZOO_SCRIPT, 'failover', e().connectString(order)]);
      let killed: EnsembleNode | undefined;
      try {
        const ready = await tagged(py, 'READY', 0, 30_000);
        assert.equal(ready.port, follower.clientPort, 'randomize_hosts=False: kazoo connects to the first host, a follower');
        killed = byPort(ready.port);
        const t0 = Date.now();
        await killed.kill('SIGKILL');
        let from = py.output().length;
        py.write(['killed']);
        const rec = await tagged(py, 'RECONNECTED', from, 50_000);
        t.diagnostic(`${kind}: kazoo reconnected ${Date.now() - t0} ms after kill -9 of follower ${killed.id}; states ${rec.states}`);
        assert.equal(rec.ok, true, `kazoo did not reconnect: ${JSON.stringify(rec)}\n${e().describe()}`);
        assert.equal(rec.session, ready.session, 'the same session id (client_id) after the failover');
        assert.notEqual(rec.port, killed.clientPort);
        assert.ok(byPort(rec.port as number).running);
        assert.deepEqual(rec.states, ['CONNECTED', 'SUSPENDED', 'CONNECTED'], 'never LOST');
        assert.equal(rec.ephOwner, ready.session, 'the ephemeral survives, still owned by the session');
        assert.equal(rec.reread, true, 'the DataWatch re-read the node (and set a new watch) after reconnecting');
        // The change comes from another session, through the surviving server the kazoo client is not on.
        const other = e().nodes.find((n) => n !== killed && n.clientPort !== rec.port)!;
        await onNode(other, async (c) => {
          await c.setData('/ens-kz-fo/watched', 'after');
        });
        from = py.output().length;
        py.write(['changed']);
        const done = await tagged(py, 'DONE', from, 30_000);
        assert.equal(done.fired, true, `the DataWatch saw the change: ${JSON.stringify(done.calls)}`);
        assert.equal(done.session, ready.session);
        const code = await py.close(15_000);
        assert.equal(code, 0, `kazoo failover exit ${code}: ${py.output()}`);
        // The session closed: its ephemeral is gone on every surviving server.
        for (const n of e().nodes.filter((x) => x.running)) {
          await onNode(n, async (c) => {
            await c.sync('/ens-kz-fo');
            assert.equal(await c.exists('/ens-kz-fo/eph'), null, `node ${n.id}: ephemeral of the closed session`);
          });
        }
      } finally {
        py.kill();
        await revive(killed);
      }
    });

    void test('zkCli command-line mode: create on one server, sync + get on another, exit codes', { skip: zkCliSkip, timeout: 90_000 }, async () => {
      const nodes = e().nodes;
      const cli = (server: string, args: string[]): Promise<ProcessResult> =>
        runProcess('java', [...ZKCLI, '-waitforconnection', '-server', server, ...args], { timeoutMs: 40_000 });
      const creates = await Promise.all(nodes.map((n) => cli(hostOf(n), ['create', `/ens-cli-${n.id}`, `from-${n.id}`])));
      for (const [i, r] of creates.entries()) {
        assert.equal(r.code, 0, describeRun(r));
        assert.match(r.stderr, new RegExp(`^Created /ens-cli-${nodes[i].id}$`, 'm'));
      }
      // Node i's write is read on the next node, after `sync /` there (a later session on that server sees at least
      // what the sync brought it).
      const next = (i: number): EnsembleNode => nodes[(i + 1) % nodes.length];
      const syncs = await Promise.all(nodes.map((_, i) => cli(hostOf(next(i)), ['sync', '/'])));
      for (const r of syncs) {
        assert.equal(r.code, 0, describeRun(r));
        assert.match(r.stdout + r.stderr, /^Sync is OK$/m, describeRun(r));
      }
      const gets = await Promise.all(nodes.map((n, i) => cli(hostOf(next(i)), ['get', `/ens-cli-${n.id}`])));
      for (const [i, r] of gets.entries()) {
        assert.equal(r.code, 0, describeRun(r));
        assert.match(r.stdout, new RegExp(`^from-${nodes[i].id}$`, 'm'), describeRun(r));
      }
      const [ls, exists, missing] = await Promise.all([
        cli(e().connectString(), ['ls', '/']),
        cli(hostOf(nodes[2]), ['create', `/ens-cli-${nodes[0].id}`, 'again']),
        cli(hostOf(nodes[1]), ['get', '/ens-cli-missing']),
      ]);
      assert.equal(ls.code, 0, describeRun(ls));
      const listed = /^\[(.*)\]$/m.exec(ls.stdout);
      assert.ok(listed, describeRun(ls));
      for (const n of nodes) assert.ok(listed[1].split(', ').includes(`ens-cli-${n.id}`), describeRun(ls));
      assert.equal(exists.code, 1, describeRun(exists));
      assert.match(exists.stderr, new RegExp(`^Node already exists: /ens-cli-${nodes[0].id}$`, 'm'), describeRun(exists));
      assert.equal(missing.code, 1, describeRun(missing));
      assert.match(missing.stderr, /^Node does not exist: \/ens-cli-missing$/m, describeRun(missing));
    });

    void test('Curator InterProcessMutex: 3 sessions on 3 different servers, holds never overlap, counter exact', { skip: curatorSkip, timeout: 90_000 }, async () => {
      const classes = await compileCurator();
      const nodes = e().nodes;
      const r = await runProcess('java', ['-Xmx256m', '-cp', [classes, ...CURATOR_CLASSPATH].join(':'), 'EnsembleCurator', 'mutex',
        ...nodes.map(hostOf), '10'], { timeoutMs: 85_000 });
      assert.equal(r.code, 0, `EnsembleCurator mutex failed: ${describeRun(r)}`);
      const o = lastJson(r, 'EnsembleCurator mutex');
      assert.deepEqual(o.errors, []);
      assert.equal(o.alive, 0);
      assert.deepEqual([...(o.ports as string[])].sort(), nodes.map((n, i) => `${i}:${n.clientPort}`));
      const holds = (o.holds as string[]).map((h): [number, number, number] => {
        const [w, enter, leave] = h.split(':').map(Number);
        return [w, enter, leave];
      });
      assert.equal(holds.length, 30);
      assertNoOverlap(holds, 'InterProcessMutex');
      assert.equal(o.violations, 0, 'no versioned setData raced');
      assert.deepEqual(o.counters, ['30', '30', '30'], 'every server, after sync, holds the exact count');
      assert.deepEqual(o.lockChildren, ['0', '0', '0'], 'lock nodes removed on release');
    });

    void test('Curator on the full connect string survives kill -9 of its server: RECONNECTED, same session, watch fires', { skip: curatorSkip, timeout: 90_000 }, async (t) => {
      const classes = await compileCurator();
      const modes = await e().waitForModes();
      const java = new Interactive('java', ['-Xmx256m', '-cp', [classes, ...CURATOR_CLASSPATH].join(':'), 'EnsembleCurator', 'failover', e().connectString()]);
      let killed: EnsembleNode | undefined;
      try {
        const conn = await tagged(java, 'CONNECTED', 0, 30_000);
        killed = byPort(conn.port as number);
        const role = modes.get(killed.id);
        const t0 = Date.now();
        let from = java.output().length;
        await killed.kill('SIGKILL');
        const rec = await tagged(java, 'RECONNECTED', from, 50_000);
        t.diagnostic(`${kind}: Curator was on the ${role} (node ${killed.id}); RECONNECTED after ${Date.now() - t0} ms; states ${rec.states}`);
        assert.equal(rec.ok, true, `no RECONNECTED: ${JSON.stringify(rec)}\n${e().describe()}`);
        assert.deepEqual(rec.states, ['CONNECTED', 'SUSPENDED', 'RECONNECTED'], 'never LOST');
        assert.equal(rec.session, conn.session, 'the session is not lost');
        assert.notEqual(rec.port, killed.clientPort);
        assert.equal(rec.ephOwner, conn.session, `the ephemeral survives: ${rec.ephError}`);
        const other = e().nodes.find((n) => n !== killed && n.running)!;
        await onNode(other, async (c) => {
          await c.setData('/ens-cur-fo/watched', 'after');
        });
        from = java.output().length;
        java.write(['changed']);
        const done = await tagged(java, 'DONE', from, 30_000);
        assert.equal(done.fired, true, `the watch set before the kill fired: ${JSON.stringify(done.events)}`);
        // The watcher also sees the connection's state changes (type None); the node events are exactly one change.
        assert.deepEqual((done.events as string[]).filter((ev) => !ev.startsWith('None ')), ['NodeDataChanged /ens-cur-fo/watched']);
        assert.equal(done.data, 'after');
        assert.equal(done.session, conn.session);
        const code = await java.close(15_000);
        assert.equal(code, 0, `EnsembleCurator failover exit ${code}: ${java.output()}`);
      } finally {
        java.kill();
        await revive(killed);
      }
    });
  });
}
