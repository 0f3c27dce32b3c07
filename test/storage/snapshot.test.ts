// Snapshot files: round trips (plain and gz), the digest trailer, corruption and truncation, listing and the quick
// validity check, and fuzzy writes while the tree keeps changing.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NULL_BUFFER } from '../../src/jute/codec.js';
import { DataTree } from '../../src/tree/datatree.js';
import {
  CorruptSnapshotError, isValidSnapshotQuick, listSnapshots, readSnapshot, readSnapshotDetails, snapshotFileName,
  writeSnapshot,
} from '../../src/storage/snapshot.js';
import { Applier, dumpTree, variedTree } from './snapshot-helpers.test.js';

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-snap-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const SESSIONS = [{ id: 0x1234n, timeoutMs: 30000 }, { id: BigInt.asIntN(64, 0x8100000000000001n), timeoutMs: 4000 }];

void describe('snapshot round trip', () => {
  for (const compression of ['', 'gz'] as const) {
    void it(`keeps every node, stat, ACL, index and the digest (${compression || 'plain'})`, async () => {
      const { tree } = variedTree();
      const file = path.join(dir, snapshotFileName(tree.lastProcessedZxid, compression));
      const r = await writeSnapshot({ tree, sessions: SESSIONS, file, compression, chunkNodes: 7 });
      assert.equal(r.zxid, tree.lastProcessedZxid);
      assert.equal(r.nodes, tree.nodeCount - 1);
      assert.equal(r.bytes, fs.statSync(file).size);
      assert.ok(!fs.existsSync(file + '.tmp'));
      if (compression === 'gz') assert.deepEqual([...fs.readFileSync(file).subarray(0, 2)], [0x1f, 0x8b]);

      const back = await readSnapshot(file, { extendedTypesEnabled: true });
      assert.deepEqual(dumpTree(back.tree), dumpTree(tree));
      assert.deepEqual(back.sessions, new Map(SESSIONS.map((s) => [s.id, s.timeoutMs])));
      assert.equal(back.tree.lastProcessedZxid, tree.lastProcessedZxid);
      assert.equal(back.tree.treeDigest, tree.treeDigest);
      assert.equal(back.tree.computeDigestFromScratch(), tree.treeDigest);
      assert.deepEqual(back.zxidDigest, { zxid: tree.lastProcessedZxid, digestVersion: 2, digest: tree.treeDigest });
      // Java's null data stays null; empty stays empty.
      assert.equal(back.tree.getNode('/app/x/y/z')?.data, NULL_BUFFER);
      assert.notEqual(back.tree.getNode('/app/empty')?.data, NULL_BUFFER);
      // Indexes rebuilt: ephemerals, containers, TTLs, quota roots and their usage.
      assert.deepEqual([...back.tree.ephemeralsOf(0x1234n)].sort(), ['/app/eph1', '/app/eph2']);
      assert.deepEqual([...back.tree.containers()], ['/cont']);
      assert.deepEqual([...back.tree.ttls()], ['/ttl1']);
      assert.equal(back.tree.quotaRootOf('/app/x'), '/app');
      assert.equal(
        back.tree.getNode('/zookeeper/quota/app/zookeeper_stats')?.data.toString(),
        tree.getNode('/zookeeper/quota/app/zookeeper_stats')?.data.toString(),
      );
      assert.equal(back.tree.approximateDataSize(), tree.approximateDataSize());
    });
  }

  void it('writes the layout ZooKeeper does: header, sessions, ACL map, root as "", end marker, seals', async () => {
    const tree = new DataTree();
    const a = new Applier(tree);
    a.create('/a', Buffer.from('x'));
    const file = path.join(dir, 'snapshot.layout');
    await writeSnapshot({ tree, sessions: [{ id: 5n, timeoutMs: 6000 }], file });
    const b = fs.readFileSync(file);
    assert.equal(b.readInt32BE(0), 0x5a4b534e);
    assert.equal(b.readInt32BE(4), 2);
    assert.equal(b.readBigInt64BE(8), -1n);
    assert.equal(b.readInt32BE(16), 1); // sessions
    assert.equal(b.readBigInt64BE(20), 5n);
    assert.equal(b.readInt32BE(28), 6000);
    // /zookeeper/config has READ_ACL_UNSAFE: one ACL map entry, id 1.
    assert.equal(b.readInt32BE(32), 1);
    assert.equal(b.readBigInt64BE(36), 1n);
    // root: path "" then data length 0, aclId -1
    let off = 36 + 8 + 4 + (4 + 4 + 5 + 4 + 6);
    assert.equal(b.readInt32BE(off), 0);
    assert.equal(b.readInt32BE(off + 4), 0);
    assert.equal(b.readBigInt64BE(off + 8), -1n);
    // tail: ..."/" seal(long, "/") digest(long zxid, int 2, long) seal(long, "/")
    off = b.length - (13 + 20 + 13);
    assert.equal(b.toString('latin1', off - 5, off), '\x00\x00\x00\x01/');
    assert.equal(b.readInt32BE(off + 8), 1);
    assert.equal(b.readBigInt64BE(off + 13), 1n); // digest zxid
    assert.equal(b.readInt32BE(off + 21), 2);
    assert.equal(b.readBigUInt64BE(off + 25), tree.treeDigest);
    assert.ok(isValidSnapshotQuick(path.join(dir, 'snapshot.1')) === false); // no such file
  });
});

void describe('snapshot corruption', () => {
  let file: string;
  let good: Buffer;
  before(async () => {
    const tree = new DataTree();
    const a = new Applier(tree);
    a.create('/a', Buffer.from('hello'));
    a.create('/a/b', Buffer.from([1, 2, 3]), { acl: [{ perms: 1, id: { scheme: 'ip', id: '1.2.3.4' } }] });
    a.create('/c', NULL_BUFFER, { ephemeral: true, clientId: 7n });
    file = path.join(dir, 'snapshot.5');
    await writeSnapshot({ tree, sessions: [{ id: 7n, timeoutMs: 5000 }], file });
    good = fs.readFileSync(file);
  });

  void it('a flipped byte anywhere is a CorruptSnapshotError naming the file', async () => {
    const bad = path.join(dir, 'snapshot.6');
    for (let i = 0; i < good.length; i++) {
      const b = Buffer.from(good);
      b[i] ^= 0x10;
      fs.writeFileSync(bad, b);
      await assert.rejects(readSnapshot(bad), (e: unknown) => {
        assert.ok(e instanceof CorruptSnapshotError, `byte ${i}: ${String(e)}`);
        assert.ok(e.message.includes(bad));
        return true;
      }, `byte ${i} of ${good.length}`);
    }
  });

  void it('a truncated file is an error at every length (except the pre-3.6 end, before the digest)', async () => {
    const bad = path.join(dir, 'snapshot.7');
    const oldFormatEnd = good.length - 33; // header..seal1 is a complete pre-3.6 snapshot: accepted, as upstream
    for (let n = 0; n < good.length; n++) {
      fs.writeFileSync(bad, good.subarray(0, n));
      if (n === oldFormatEnd) {
        const r = await readSnapshot(bad);
        assert.equal(r.zxidDigest, undefined);
        continue;
      }
      await assert.rejects(readSnapshot(bad), CorruptSnapshotError, `length ${n}`);
    }
  });

  void it('gz: corrupt or truncated compressed data is a CorruptSnapshotError', async () => {
    const tree = variedTree().tree;
    const f = path.join(dir, 'snapshot.9.gz');
    await writeSnapshot({ tree, sessions: [], file: f, compression: 'gz' });
    const gz = fs.readFileSync(f);
    const bad = path.join(dir, 'snapshot.a.gz');
    fs.writeFileSync(bad, gz.subarray(0, gz.length - 10));
    await assert.rejects(readSnapshot(bad), CorruptSnapshotError);
    for (const i of [20, Math.floor(gz.length / 2), gz.length - 12, gz.length - 3]) {
      const b = Buffer.from(gz);
      b[i] ^= 0x01;
      fs.writeFileSync(bad, b);
      await assert.rejects(readSnapshot(bad), CorruptSnapshotError, `gz byte ${i}`);
    }
  });

  void it('a file that is not a snapshot: bad magic', async () => {
    const bad = path.join(dir, 'snapshot.b');
    fs.writeFileSync(bad, Buffer.from('this is not a snapshot at all, but it is long enough'));
    await assert.rejects(readSnapshot(bad), /bad magic/);
  });
});

void describe('snapshot listing', () => {
  void it('lists snapshot.<hex>[.gz|.snappy] newest first; quick validity as SnapStream.isValidSnapshot', async () => {
    const d = fs.mkdtempSync(path.join(dir, 'list-'));
    const tree = variedTree().tree;
    await writeSnapshot({ tree, sessions: [], file: path.join(d, 'snapshot.1f') });
    await writeSnapshot({ tree, sessions: [], file: path.join(d, 'snapshot.100.gz'), compression: 'gz' });
    fs.writeFileSync(path.join(d, 'snapshot.2'), 'short');
    fs.writeFileSync(path.join(d, 'snapshot.3.tmp'), 'x');
    fs.writeFileSync(path.join(d, 'log.5'), 'x');
    fs.writeFileSync(path.join(d, 'snapshot.zz'), 'x');
    assert.deepEqual(listSnapshots(d).map((s) => [path.basename(s.file), s.zxid]), [
      ['snapshot.100.gz', 0x100], ['snapshot.1f', 0x1f], ['snapshot.2', 2],
    ]);
    assert.equal(isValidSnapshotQuick(path.join(d, 'snapshot.1f')), true);
    assert.equal(isValidSnapshotQuick(path.join(d, 'snapshot.100.gz')), true);
    assert.equal(isValidSnapshotQuick(path.join(d, 'snapshot.2')), false);
    assert.equal(isValidSnapshotQuick(path.join(d, 'snapshot.zz')), false);
    const cut = fs.readFileSync(path.join(d, 'snapshot.1f'));
    fs.writeFileSync(path.join(d, 'snapshot.20'), cut.subarray(0, cut.length - 1));
    assert.equal(isValidSnapshotQuick(path.join(d, 'snapshot.20')), false);
    assert.deepEqual(listSnapshots(path.join(d, 'missing')), []);
  });
});

void describe('fuzzy snapshot', () => {
  void it('written while txns keep applying between chunks: readable, and replaying the later txns gives the live tree', async () => {
    const tree = new DataTree();
    const a = new Applier(tree);
    for (let i = 0; i < 40; i++) {
      a.create(`/d${i}`);
      for (let j = 0; j < 50; j++) a.create(`/d${i}/n${j}`, Buffer.alloc(20, j));
    }
    let rnd = 12345;
    const rand = (n: number): number => {
      rnd = (rnd * 1103515245 + 12345) & 0x7fffffff;
      return rnd % n;
    };
    const startZxid = tree.lastProcessedZxid;
    const startLog = a.log.length;
    let stop = false;
    let applied = 0;
    // Names are never reused: a node deleted and re-created inside the fuzzy window makes replay over the snapshot
    // differ from the live tree in upstream too (the re-created node's children in the snapshot become orphans).
    const churn = (): void => {
      if (stop) return;
      for (let k = 0; k < 20; k++) {
        const i = rand(40);
        const p = `/d${i}/n${rand(50)}`;
        const node = tree.getNode(p);
        const op = rand(4);
        if (node === undefined || op === 0) a.create(`/d${i}/f${a.zxid}`, Buffer.from(`new ${a.zxid}`));
        else if (op === 1 && node.children.size === 0) a.del(p);
        else if (op === 2) a.set(p, Buffer.from(`set ${a.zxid}`));
        else a.create(`${p}/c${a.zxid}`, Buffer.from('c'), { ephemeral: rand(2) === 0, clientId: 0x77n });
        applied++;
      }
      setImmediate(churn);
    };
    setImmediate(churn);
    const file = path.join(dir, snapshotFileName(startZxid));
    const r = await writeSnapshot({ tree, sessions: [{ id: 0x77n, timeoutMs: 9000 }], file, chunkNodes: 50 });
    stop = true;
    assert.equal(r.zxid, startZxid);
    assert.ok(applied > 100, `only ${applied} txns ran during the write`);

    const back = await readSnapshotDetails(file);
    assert.equal(back.tree.lastProcessedZxid, startZxid);
    // The digest trailer is the tree as it was when the traversal ended, later than the start.
    assert.ok(back.zxidDigest !== undefined && back.zxidDigest.zxid > startZxid);
    // Replay every txn after the snapshot's zxid, as recovery does; check the trailer digest on the way.
    let checked = false;
    for (const { hdr, txn } of a.log.slice(startLog)) {
      back.tree.processTxn(hdr, txn);
      if (hdr.zxid === back.zxidDigest.zxid) {
        assert.equal(back.tree.treeDigest, back.zxidDigest.digest);
        checked = true;
      }
    }
    assert.ok(checked);
    assert.deepEqual(dumpTree(back.tree), dumpTree(tree));
    assert.equal(back.tree.treeDigest, tree.treeDigest);
    assert.equal(back.tree.computeDigestFromScratch(), back.tree.treeDigest);
  });
});
