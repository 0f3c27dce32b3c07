// Snapshots against Apache ZooKeeper 3.8 in both directions: we read the snapshot it writes after a scripted load
// (digest included), its SnapshotFormatter prints ours exactly as it prints its own, and it starts from a dataDir
// holding only our snapshot (plain and gz), checking our seals and digest, and serves the same tree.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateMode, digestId, Perms, ZooKeeperClient } from '../../src/client/index.js';
import { NULL_BUFFER } from '../../src/jute/codec.js';
import {
  listSnapshots, readSnapshot, readSnapshotDetails, snapshotFileName, writeSnapshot,
} from '../../src/storage/snapshot.js';
import type { DataTree } from '../../src/tree/datatree.js';
import { fourLetter, freePort, waitFor } from '../support/ports.js';
import { ORACLE_CLASSPATH, oracleAvailable } from '../support/servers.js';
import { dumpTree } from './snapshot-helpers.test.js';

interface Java {
  port: number;
  proc: ChildProcess;
  output(): string;
  kill(): Promise<void>;
}

/** ZooKeeperServerMain on a dataDir we keep (servers.ts deletes its dir on stop, and we need to restart on it). */
async function startJava(dir: string, props: Record<string, string> = {}): Promise<Java> {
  const port = await freePort();
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const cfg = path.join(dir, 'zoo.cfg');
  fs.writeFileSync(cfg, [
    'tickTime=2000', `dataDir=${dataDir}`, `clientPort=${port}`, 'clientPortAddress=127.0.0.1',
    'admin.enableServer=false', '4lw.commands.whitelist=*', 'extendedTypesEnabled=true', 'maxSessionTimeout=600000',
  ].join('\n') + '\n');
  const proc = spawn('java', [
    '-Xmx256m', '-Dzookeeper.jmx.log4j.disable=true', ...Object.entries(props).map(([k, v]) => `-D${k}=${v}`),
    '-cp', ORACLE_CLASSPATH, 'org.apache.zookeeper.server.ZooKeeperServerMain', cfg,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let exited = false;
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  proc.on('exit', () => (exited = true));
  const java: Java = {
    port, proc, output: () => out,
    kill: async () => {
      if (!exited) {
        proc.kill('SIGKILL');
        await waitFor('java exit', () => exited, 10_000, 20);
      }
    },
  };
  try {
    await waitFor(`java on ${port}`, async () => {
      if (exited) throw new Error(`java exited:\n${out}`);
      return (await fourLetter(port, 'srvr', '127.0.0.1', 1000)).includes('Mode:');
    }, 30_000, 100);
  } catch (e) {
    await java.kill();
    throw e;
  }
  return java;
}

function formatter(file: string, ...flags: string[]): string {
  return execFileSync('java', ['-cp', ORACLE_CLASSPATH, 'org.apache.zookeeper.server.SnapshotFormatter', ...flags, file], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  });
}

const skip = oracleAvailable() ? false : 'Apache ZooKeeper (/usr/share/java/zookeeper.jar) is not installed';

void describe('snapshots against Apache ZooKeeper 3.8', { skip }, () => {
  let work: string;
  let apacheSnap: string;
  let sessionId = 0n;
  const DIGEST_ACL = [
    { perms: Perms.ALL, id: digestId('user', 'secret') },
    { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } },
  ];

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-snap-oracle-'));
    const dir = path.join(work, 'apache');
    const j1 = await startJava(dir);
    const c = new ZooKeeperClient(`127.0.0.1:${j1.port}`, { sessionTimeoutMs: 600_000 });
    const other = new ZooKeeperClient(`127.0.0.1:${j1.port}`, { sessionTimeoutMs: 10_000 });
    try {
      await c.connect();
      await other.connect();
      sessionId = c.sessionId;
      await c.create('/app', 'top');
      await c.create('/app/a', Buffer.from([0, 1, 2, 3, 250, 255]));
      await c.create('/app/a/b', null);
      await c.create('/app/a/b/c', '');
      await c.create('/app/utf8-\u00e9', 'caf\u00e9');
      for (let i = 0; i < 5; i++) await c.create('/app/seq-', `s${i}`, { mode: CreateMode.PERSISTENT_SEQUENTIAL });
      await c.create('/app/eph', 'e', { mode: CreateMode.EPHEMERAL });
      await c.create('/app/ephseq-', 'e', { mode: CreateMode.EPHEMERAL_SEQUENTIAL });
      await other.create('/app/gone-with-session', 'x', { mode: CreateMode.EPHEMERAL });
      await c.create('/secure', 'locked', { acl: DIGEST_ACL });
      await c.create('/ro', 'r', { acl: [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }] });
      await c.create('/cont', 'c', { mode: CreateMode.CONTAINER });
      await c.create('/cont/kid', 'k');
      await c.create('/ttl', 't', { mode: CreateMode.PERSISTENT_WITH_TTL, ttl: 3_600_000 });
      for (let i = 0; i < 4; i++) await c.setData('/app/a', `v${i}`);
      await c.setACL('/app/utf8-\u00e9', [{ perms: Perms.READ | Perms.WRITE, id: { scheme: 'ip', id: '127.0.0.1' } }]);
      await c.create('/del', 'd');
      await c.create('/del/x', 'd');
      await c.delete('/del/x');
      await c.delete('/app/seq-0000000002');
      await c.multi([
        { type: 'create', path: '/multi', data: 'm' },
        { type: 'setData', path: '/app', data: 'top2' },
      ]);
      await other.close();
    } finally {
      // Kill the server under the open session `c`: its session and ephemerals stay in the database.
      await j1.kill();
      await Promise.race([c.close().catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
    }
    // Restart on the same dataDir: ZooKeeper snapshots on startup, after replaying the log, so the snapshot holds
    // the whole load and its digest trailer the tree as of the last zxid.
    const j2 = await startJava(dir);
    await j2.kill();
    const snaps = listSnapshots(path.join(dir, 'data', 'version-2'));
    assert.ok(snaps.length > 0, 'apache wrote no snapshot');
    apacheSnap = snaps[0].file;
  });

  after(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  void it('we read its snapshot: tree, sessions, ephemerals, indexes, and our digest equals the one it stored', async () => {
    const s = await readSnapshot(apacheSnap, { extendedTypesEnabled: true });
    const t = s.tree;
    assert.ok(s.zxidDigest, 'no digest trailer');
    assert.equal(s.zxidDigest.digestVersion, 2);
    assert.equal(s.zxidDigest.zxid, t.lastProcessedZxid);
    assert.equal(t.computeDigestFromScratch(), s.zxidDigest.digest);
    assert.equal(t.treeDigest, s.zxidDigest.digest);
    assert.equal(t.getNode('/app')?.data.toString(), 'top2');
    assert.deepEqual([...(t.getNode('/app/a')?.data ?? [])], [...Buffer.from('v3')]);
    assert.equal(t.getNode('/app/a')?.version, 4);
    assert.equal(t.getNode('/app/a/b')?.data, NULL_BUFFER);
    assert.equal(t.getNode('/app/a/b/c')?.data.length, 0);
    assert.notEqual(t.getNode('/app/a/b/c')?.data, NULL_BUFFER);
    assert.equal(t.getNode('/app/seq-0000000002'), undefined);
    assert.ok(t.getNode('/app/seq-0000000004'));
    assert.equal(t.getNode('/app/gone-with-session'), undefined);
    assert.equal(t.getNode('/del/x'), undefined);
    assert.ok(t.getNode('/multi'));
    assert.deepEqual(t.getNode('/secure')?.acl, DIGEST_ACL);
    assert.equal(t.getNode('/app/utf8-\u00e9')?.aversion, 1);
    assert.ok(s.sessions.has(sessionId), 'the live session is in the snapshot');
    assert.equal(s.sessions.get(sessionId), 600_000);
    const eph = [...t.ephemeralsOf(sessionId)].sort();
    assert.equal(eph.length, 2);
    assert.equal(eph[0], '/app/eph');
    assert.match(eph[1], /^\/app\/ephseq-\d{10}$/);
    assert.deepEqual([...t.containers()], ['/cont']);
    assert.deepEqual([...t.ttls()], ['/ttl']);
  });

  void it('its SnapshotFormatter prints our snapshot of that tree exactly as it prints its own', async () => {
    const s = await readSnapshot(apacheSnap, { extendedTypesEnabled: true });
    const ours = path.join(work, 'ours', path.basename(apacheSnap));
    fs.mkdirSync(path.dirname(ours), { recursive: true });
    await writeSnapshot({ tree: s.tree, sessions: [...s.sessions].map(([id, timeoutMs]) => ({ id, timeoutMs })), file: ours });
    assert.equal(formatter(ours, '-d'), formatter(apacheSnap, '-d'));
    // And our inspect tool reads both alike.
    const back = await readSnapshotDetails(ours, { extendedTypesEnabled: true });
    assert.deepEqual(dumpTree(back.tree), dumpTree(s.tree));
  });

  for (const compression of ['', 'gz'] as const) {
    void it(`it starts from a dataDir holding only our ${compression || 'plain'} snapshot and serves that tree`, async () => {
      const s = await readSnapshot(apacheSnap, { extendedTypesEnabled: true });
      const tree: DataTree = s.tree;
      const dir = path.join(work, `from-ours-${compression || 'plain'}`);
      const v2 = path.join(dir, 'data', 'version-2');
      fs.mkdirSync(v2, { recursive: true });
      const file = path.join(v2, snapshotFileName(tree.lastProcessedZxid, compression));
      await writeSnapshot({ tree, sessions: [...s.sessions].map(([id, timeoutMs]) => ({ id, timeoutMs })), file, compression });
      const props: Record<string, string> = compression === 'gz' ? { 'zookeeper.snapshot.compression.method': 'gz' } : {};
      const j = await startJava(dir, props);
      let out = '';
      try {
        const c = new ZooKeeperClient(`127.0.0.1:${j.port}`);
        await c.connect();
        try {
          assert.equal((await c.getData('/app')).data?.toString(), 'top2');
          assert.equal((await c.getData('/app/a/b')).data, null);
          // 3.8 redacts digest ids in getACL for clients without ADMIN on the node ("user:x").
          const acl = (await c.getACL('/secure')).acl;
          assert.deepEqual(acl.map((a) => [a.perms, a.id.scheme, a.id.id.split(':')[0]]), [[Perms.ALL, 'digest', 'user'], [Perms.READ, 'world', 'anyone']]);
          assert.deepEqual((await c.getChildren('/app')).sort(), [...(tree.getNode('/app')?.children ?? [])].sort());
        } finally {
          await c.close();
        }
        out = j.output();
      } finally {
        await j.kill();
      }
      assert.match(out, /Reading snapshot/, 'the oracle log is captured');
      assert.doesNotMatch(out, /CRC corruption|problem reading snap|Digests are not matching|mismatching magic/);
      // It snapshotted on startup; that snapshot (gz when asked) reads back as the same tree and digest.
      const theirs = listSnapshots(v2).filter((x) => x.file !== file);
      const mine = listSnapshots(v2).map((x) => x.file);
      const newest = theirs[0]?.file ?? mine[0];
      assert.ok(newest);
      const back = await readSnapshot(newest, { extendedTypesEnabled: true });
      assert.deepEqual(dumpTree(back.tree), dumpTree(tree));
      assert.equal(back.tree.treeDigest, tree.treeDigest);
      if (compression === 'gz') assert.ok(mine.every((f) => f.endsWith('.gz')));
    });
  }
});
