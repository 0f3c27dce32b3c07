// Data directories handed across servers: one server writes a dataDir under the scripted load (see load.ts) and is
// killed with SIGKILL (so that the open session and its ephemerals stay in the log); the tree is dumped through a
// client just before. Another server (same or other kind) then starts on a copy of that dataDir and must serve an
// identical tree: same data, ACLs, children and every Stat field (czxid, mzxid, pzxid, ctime, mtime, versions,
// ephemeralOwner incl. container and TTL markers, numChildren, dataLength).
//
// Pairs run: every (writer, reader) over testKinds(): with both kinds, apache->zkts, zkts->apache, apache->apache
// (validates the harness) and zkts->zkts; ZKTS_TEST_KINDS=apache runs apache->apache only.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { testKinds, type RunningServer } from '../support/servers.js';
import { diffTrees, summarize } from '../support/treecompare.js';
import { DURABILITY_CONFIG, dumpServer, scriptedLoad } from './load.js';
import { copyDataDir, rmDir, startOn, tempDir, versionFiles, type Kind } from './restart.js';

const kinds = testKinds();
const pairs: Array<[Kind, Kind]> = [];
for (const w of kinds) for (const r of kinds) pairs.push([w, r]);

const dirs: string[] = [];
const servers: RunningServer[] = [];
void after(async () => {
  for (const s of servers) await s.stop();
  for (const d of dirs) rmDir(d);
});

void describe('data directory round trip', () => {
  for (const [writer, reader] of pairs) {
    void it(`${writer} writes, ${reader} reads a copy: identical tree`, { timeout: 90_000 }, async () => {
      const dataDir = tempDir(`rt-${writer}`);
      dirs.push(dataDir);
      const w = await startOn(writer, dataDir, { config: DURABILITY_CONFIG });
      servers.push(w);
      const load = await scriptedLoad(w);
      // let an asynchronous snapshot in progress finish before the kill (not needed for correctness: an unfinished
      // snapshot is invalid and skipped, but then the round trip would test less)
      await new Promise((r) => setTimeout(r, 300));
      const before = await dumpServer(w);
      w.proc.kill('SIGKILL');
      await w.stop();
      await Promise.all(load.openClients.map((c) => c.close()));
      const files = versionFiles(dataDir);
      const logs = files.filter((f) => f.startsWith('log.'));
      const snaps = files.filter((f) => f.startsWith('snapshot.'));
      assert.ok(logs.length >= 2 && snaps.length >= 2, `${writer} should have rolled logs and taken snapshots: ${files.join(' ')}`);
      // sanity of the load itself
      assert.ok(before.has('/eph') && before.has('/ttl') && before.has('/cont/kid') && !before.has('/eph-gone'), summarize(before));
      assert.ok(!before.has('/multi/b') && before.has('/multi/a'));

      const copy = copyDataDir(dataDir, `rt-${writer}-to-${reader}`);
      dirs.push(copy);
      const r = await startOn(reader, copy, { config: DURABILITY_CONFIG });
      servers.push(r);
      const afterDump = await dumpServer(r);
      await r.stop();
      const diff = diffTrees(before, afterDump, {}, [writer, reader]);
      // the comparison itself must see a change in any Stat field (guards against a dump that records too little)
      const tampered = new Map(afterDump);
      const n = tampered.get('/counter')!;
      tampered.set('/counter', { ...n, stat: { ...n.stat!, pzxid: n.stat!.pzxid + 1 } });
      assert.deepEqual(diffTrees(before, tampered), [`/counter: stat.pzxid a=${n.stat!.pzxid} b=${n.stat!.pzxid + 1}`]);
      assert.ok(before.size > 50, summarize(before));
      assert.deepEqual(diff, [], `tree differs after ${writer} -> ${reader} (files: ${files.join(' ')}):\n${diff.join('\n')}`);
    });
  }
});
