// Regression tests for storage bugs the deterministic simulator (src/sim) found. Each test drives the real storage
// code (DurableStage, FileTxnLog, writeSnapshot, loadDatabase) through the scenario that broke it, and fails on the
// old behaviour (described at each test).
//
// 1. A fuzzy snapshot was published while the txns it holds were not durable, and kept after the txn log failed; a
//    failed snapshot was only logged, never reported to the caller that relied on it.
// 2. Recovery replayed txns that only ever reached the page cache without making them durable.
// 3. Recovery that fell back past a damaged snapshot replayed across an epoch change over a hole.
// 4. Recovery that fell back past a damaged snapshot above the whole log came up at the older zxid.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { OpCode } from '../../src/protocol/constants.js';
import { makeZxid } from '../../src/quorum/zab/zxid.js';
import { SimDisk, type SimDiskOptions } from '../../src/sim/disk.js';
import { SIM_EPOCH_MS, SimLoop } from '../../src/sim/loop.js';
import { DurableStage, type DurableStageOptions, loadDatabase, type StorageOptions, TxnLogGapError } from '../../src/storage/database.js';
import { CorruptSnapshotError, listSnapshots, readSnapshot, writeSnapshot } from '../../src/storage/snapshot.js';
import { FileTxnLog } from '../../src/storage/txnlog.js';
import { listTxnLogs, readTxns } from '../../src/storage/txnlogReader.js';
import { DataTree } from '../../src/tree/datatree.js';
import type { Txn, TxnHeader } from '../../src/txn/records.js';
import { createLogger, silentLogger } from '../../src/util/log.js';
import { setSys } from '../../src/util/sys.js';
import { tempDir } from './txnlog-helpers.js';
import { drive, runAs } from '../support/simdrive.js';

// ---------------------------------------------------------------- simulator plumbing

function world(seed: number, opts: SimDiskOptions = {}): { loop: SimLoop; disk: SimDisk; restore: () => void } {
  const loop = new SimLoop(seed);
  const disk = new SimDisk(loop, loop.rng.fork(), opts);
  const restore = setSys({ fs: disk.fs, clock: loop.clock() });
  return { loop, disk, restore };
}

// ---------------------------------------------------------------- txns and trees

const OPEN_ACL = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

interface LoggedTxn {
  hdr: TxnHeader;
  txn: Txn;
}

function createTxn(zxid: number, p = `/k${zxid.toString(16)}`, data = Buffer.from(`v${zxid.toString(16)}`)): LoggedTxn {
  const txn: Txn = { type: OpCode.create, path: p, data, acl: OPEN_ACL, ephemeral: false, parentCVersion: zxid % 1000 };
  return { hdr: { clientId: 1n, cxid: zxid % 1000, zxid, time: SIM_EPOCH_MS + (zxid % 1_000_000), type: OpCode.create }, txn };
}

function setDataTxn(zxid: number, p: string, data: Buffer, version: number): LoggedTxn {
  const txn: Txn = { type: OpCode.setData, path: p, data, version };
  return { hdr: { clientId: 1n, cxid: zxid, zxid, time: SIM_EPOCH_MS + zxid, type: OpCode.setData }, txn };
}

function treeOf(txns: LoggedTxn[]): DataTree {
  const tree = new DataTree({ extendedTypesEnabled: true });
  for (const t of txns) tree.processTxn(t.hdr, t.txn);
  return tree;
}

function storageOpts(root: string): StorageOptions {
  return {
    dataDir: `${root}/data`, dataLogDir: `${root}/log`, logger: silentLogger, extendedTypesEnabled: true,
    trustEmptySnapshot: false, autoCreateDb: true, snapshotCompression: '',
  };
}

// ---------------------------------------------------------------- 1. snapshots wait for the txn log

void describe('sim-found: a fuzzy snapshot is published only once the txns it holds are durable', () => {
  /** A DurableStage on SimDisk under /n1, with a tree the test applies txns to (as the pipeline would). */
  async function openStage(seed: number, disk: SimDiskOptions): Promise<{
    loop: SimLoop; sim: SimDisk; restore: () => void; stage: DurableStage; tree: DataTree; opts: StorageOptions;
    state: { durable: number; errors: Error[]; logLines: string[] };
  }> {
    const { loop, disk: sim, restore } = world(seed, disk);
    const state = { durable: -1, errors: [] as Error[], logLines: [] as string[] };
    const logger = createLogger({ level: 'warn', sink: (l) => state.logLines.push(l) });
    const opts = { ...storageOpts('/n1'), logger };
    for (const d of ['/n1/data/version-2', '/n1/log/version-2']) sim.fs.mkdirSync(d, { recursive: true });
    const tree = new DataTree({ extendedTypesEnabled: true });
    const stageOpts: DurableStageOptions = {
      ...opts, snapCount: 1_000_000, preAllocSize: 64 * 1024, random: () => 0.5,
      onDurable: (z) => (state.durable = z),
      onError: (e) => state.errors.push(e),
      snapshotSource: () => ({ tree, sessions: [] }),
    };
    const stage = await drive(loop, runAs(loop, 'n1', () => DurableStage.open(stageOpts)));
    // The server snapshots the empty database first (Peer.snapshotIfNone): recovery needs a snapshot under the logs.
    await drive(loop, runAs(loop, 'n1', () => stage.takeSnapshot()));
    assert.deepEqual(snapNames(), ['snapshot.0']);
    return { loop, sim, restore, stage, tree, opts, state };
  }

  const snapDir = '/n1/data/version-2';
  const snapNames = (): string[] => listSnapshots(snapDir).map((s) => path.basename(s.file)).sort();

  // Old behaviour: takeSnapshot renamed snapshot.<zxid>.tmp to its final name as soon as its own data was synced. A
  // learner applies synced txns to its tree before the log's fsync; with the log failing on ENOSPC, snapshot.19 (the
  // tree at zxid 0x19) was published although only txns 1..5 were ever durable (the snapshot-listing assertions fail),
  // and after the restart loadDatabase loaded it instead of snapshot.0: lastZxid 0x19, a digest no durable history
  // produces.
  void test('disk full: the txn log fails with ENOSPC, the snapshot of the tree ahead of it is discarded', async () => {
    const { loop, sim, restore, stage, tree, opts, state } = await openStage(11, {});
    try {
      const durableTxns: LoggedTxn[] = [createTxn(1, '/big', Buffer.alloc(1024, 1)), createTxn(2, '/a')];
      for (let z = 3; z <= 5; z++) durableTxns.push(setDataTxn(z, '/big', Buffer.alloc(1024, z), z - 2));
      loop.as('n1', () => {
        for (const t of durableTxns) {
          tree.processTxn(t.hdr, t.txn);
          stage.append(t.hdr, t.txn);
        }
        stage.flush();
      });
      await loop.runUntil(loop.now + 10_000, () => state.durable === 5);
      assert.equal(state.durable, 5);

      // Room for a small snapshot, not for the log's next preallocation (it must grow past its 64 KiB).
      sim.setCapacity('/n1', sim.usage('/n1') + 32 * 1024);
      // A learner: synced txns go to the log and to the tree at once, before their fsync. Each rewrites /big, so the
      // log needs ~80 KiB more while the tree (and a snapshot of it) stays small.
      loop.as('n1', () => {
        for (let z = 6; z <= 25; z++) {
          const t = setDataTxn(z, '/big', Buffer.alloc(4096, z), z - 2);
          tree.processTxn(t.hdr, t.txn);
          stage.append(t.hdr, t.txn);
        }
        stage.flush();
      });
      assert.equal(tree.lastProcessedZxid, 25);
      // takeSnapshot logs the failure; it may also pass it on to its caller (who must not go on as if it were written).
      const snapErr = await drive(loop, runAs(loop, 'n1', () => stage.takeSnapshot())).then(() => undefined, (e: unknown) => e as Error);
      if (snapErr !== undefined) assert.match(snapErr.message, /ENOSPC/, String(snapErr));
      await loop.runUntil(loop.now + 1000);

      assert.equal(state.errors.length, 1, 'the txn log failed');
      assert.match(state.errors[0].message, /ENOSPC/);
      assert.equal(state.durable, 5, 'nothing after 5 became durable');
      for (const s of listSnapshots(snapDir)) assert.ok(s.zxid <= 5, `${s.file} holds txns above the last durable one (5)`);
      assert.deepEqual(sim.list(snapDir).map((f) => path.basename(f)), ['snapshot.0'], 'no snapshot and no .tmp left');
      assert.ok(state.logLines.some((l) => l.includes('"snapshot failed"') && l.includes('snapshot.19')), state.logLines.join('\n'));

      await drive(loop, runAs(loop, 'n1', () => stage.close()));
      loop.kill('n1');
      sim.crash('/n1', 'n1');
      sim.setCapacity('/n1', undefined);
      const db = await drive(loop, runAs(loop, 'n1', () => loadDatabase(opts)));
      const expected = treeOf(durableTxns);
      assert.equal(db.snapshotFile, `${snapDir}/snapshot.0`);
      assert.equal(db.lastZxid, 5);
      assert.equal(db.tree.lastProcessedZxid, expected.lastProcessedZxid);
      assert.equal(db.tree.treeDigest, expected.treeDigest);
      assert.deepEqual(db.tree.getNode('/big')?.data, Buffer.alloc(1024, 5));
    } finally {
      restore();
    }
  });

  // Old behaviour: the snapshot took its name when its own data was on disk, while txns 6..10 it holds were still
  // only appended (no flush, so not even written): snapshot.a appeared during the first window, and the
  // "not published yet" assertion failed.
  void test('healthy disk: a snapshot holding txns not yet fsynced waits for them, then is published', async () => {
    const { loop, sim, restore, stage, tree, opts, state } = await openStage(12, { syncLatencyMs: [5, 5] });
    try {
      const txns: LoggedTxn[] = [];
      for (let z = 1; z <= 10; z++) txns.push(createTxn(z));
      loop.as('n1', () => {
        for (const t of txns.slice(0, 5)) {
          tree.processTxn(t.hdr, t.txn);
          stage.append(t.hdr, t.txn);
        }
        stage.flush();
      });
      await loop.runUntil(loop.now + 10_000, () => state.durable === 5);
      assert.equal(state.durable, 5);

      // Txns 6..10 applied and appended, but the batch is not flushed yet.
      loop.as('n1', () => {
        for (const t of txns.slice(5)) {
          tree.processTxn(t.hdr, t.txn);
          stage.append(t.hdr, t.txn);
        }
      });
      const snapFile = `${snapDir}/snapshot.a`;
      let done = false;
      const snap = runAs(loop, 'n1', () => stage.takeSnapshot()).finally(() => (done = true));
      await new Promise((r) => setImmediate(r));
      await loop.runUntil(loop.now + 2000, () => done);
      assert.ok(!done, 'the snapshot waits for the log');
      assert.ok(!sim.exists(snapFile), 'not published while txns 6..10 are not durable');
      assert.ok(sim.exists(`${snapFile}.tmp`), 'its data is written, waiting under the temporary name');
      assert.equal(state.durable, 5);

      loop.as('n1', () => stage.flush());
      let durableAtPublish = -1;
      await loop.runUntil(loop.now + 10_000, () => {
        if (sim.exists(snapFile) && durableAtPublish < 0) durableAtPublish = state.durable;
        return done;
      });
      await drive(loop, snap);
      assert.equal(durableAtPublish, 10, 'published only once txn 10 was durable');
      assert.deepEqual(snapNames(), ['snapshot.0', 'snapshot.a']);
      assert.ok(!sim.exists(`${snapFile}.tmp`));
      assert.equal(state.errors.length, 0);

      await drive(loop, runAs(loop, 'n1', () => stage.close()));
      loop.kill('n1');
      sim.crash('/n1', 'n1');
      const db = await drive(loop, runAs(loop, 'n1', () => loadDatabase(opts)));
      const expected = treeOf(txns);
      assert.equal(db.snapshotFile, snapFile);
      assert.equal(db.lastZxid, 10);
      assert.equal(db.tree.treeDigest, expected.treeDigest);
    } finally {
      restore();
    }
  });

  // Old behaviour (simulator seed 1007): takeSnapshot only logged a failed snapshot and resolved, so the learner's
  // snapshot after a SNAP sync (ZOOKEEPER-3642) "succeeded" on a full disk; the learner ACKed NEWLEADER with no
  // snapshot under the hole in its log, and after a power loss refused to start. The rejects assertion failed.
  void test('disk full: takeSnapshot rejects with the error when the snapshot cannot be written', async () => {
    const { loop, sim, restore, stage, tree, state } = await openStage(13, {});
    try {
      const txns: LoggedTxn[] = [];
      for (let z = 1; z <= 3; z++) txns.push(createTxn(z, `/big${z}`, Buffer.alloc(4096, z)));
      loop.as('n1', () => {
        for (const t of txns) {
          tree.processTxn(t.hdr, t.txn);
          stage.append(t.hdr, t.txn);
        }
        stage.flush();
      });
      await loop.runUntil(loop.now + 10_000, () => state.durable === 3);
      assert.equal(state.durable, 3);
      // The log is preallocated (64 KiB) and needs nothing more; a snapshot of ~12 KiB of data does not fit.
      sim.setCapacity('/n1', sim.usage('/n1') + 1024);
      const snapErr = await drive(loop, runAs(loop, 'n1', () => stage.takeSnapshot())).then(() => undefined, (e: unknown) => e as Error);
      assert.ok(snapErr !== undefined, 'takeSnapshot resolved although the snapshot was not written');
      assert.match(snapErr.message, /ENOSPC/, String(snapErr));
      assert.deepEqual(snapNames(), ['snapshot.0'], 'no snapshot.3 published');
      assert.ok(state.logLines.some((l) => l.includes('"snapshot failed"') && l.includes('snapshot.3')), state.logLines.join('\n'));
      assert.equal(state.errors.length, 0, 'the txn log itself is fine');
      sim.setCapacity('/n1', undefined);
      await drive(loop, runAs(loop, 'n1', () => stage.close()));
    } finally {
      restore();
    }
  });
});

// ---------------------------------------------------------------- 2. recovery makes the logs it read durable

// Old behaviour: loadDatabase replayed txns 11..20 straight from the page cache without syncing the log, so
// disk.unsynced(log.1) stayed > 0 after recovery (first failing assertion). The restarted server then logged 21..23
// in log.15 (fsynced); the power loss dropped 11..20 from log.1 and kept log.15, so the second recovery met the hole
// 0xa -> 0x15 and threw TxnLogGapError (without the snapshot check: a tree missing /kb../k14 at zxid 0x17).
void describe('sim-found: recovery fsyncs the txn logs it reads back', () => {
  for (const seed of [21, 22, 23]) {
    void test(`kill -9 with an unsynced tail, restart, power loss: nothing recovered is lost (seed ${seed})`, async () => {
      const { loop, disk, restore } = world(seed, { tornWrites: false, syncLatencyMs: [50, 50], ioLatencyMs: [0, 1] });
      try {
        const opts = storageOpts('/n1');
        const logDir = '/n1/log/version-2';
        for (const d of ['/n1/data/version-2', logDir]) disk.fs.mkdirSync(d, { recursive: true });
        await drive(loop, runAs(loop, 'n1', () => writeSnapshot({
          tree: new DataTree({ extendedTypesEnabled: true }), sessions: [], file: '/n1/data/version-2/snapshot.0',
        })));
        let durable = -1;
        const openLog = (): Promise<FileTxnLog> => runAs(loop, 'n1', () => FileTxnLog.open({
          dir: logDir, preAllocSize: 64 * 1024, logger: silentLogger, onDurable: (z) => (durable = z),
          onError: (e) => {
            throw e;
          },
        }));
        const log = await drive(loop, openLog());
        const txns: LoggedTxn[] = [];
        for (let z = 1; z <= 23; z++) txns.push(createTxn(z));
        const append = (l: FileTxnLog, from: number, to: number): void => loop.as('n1', () => {
          for (let z = from; z <= to; z++) l.append(txns[z - 1].hdr, txns[z - 1].txn);
          l.flush();
        });
        append(log, 1, 10);
        await loop.runUntil(loop.now + 10_000, () => durable === 10);
        assert.equal(durable, 10);
        // 11..20: written (the writev completes in <= 1 ms) while their fdatasync (50 ms) is still in flight.
        append(log, 11, 20);
        await loop.runUntil(loop.now + 10);
        const first = `${logDir}/log.1`;
        assert.equal(durable, 10);
        assert.ok(disk.unsynced(first) > 0, 'the tail of log.1 is only in the page cache');
        assert.deepEqual([...readTxns(logDir, 0)].map((t) => t.hdr.zxid).at(-1), 20);

        // kill -9: the process and its pending completions are gone, the page cache (and so the tail) stays.
        loop.kill('n1');
        const db = await drive(loop, runAs(loop, 'n1', () => loadDatabase(opts)));
        assert.equal(db.lastZxid, 20, 'the unsynced txns were read back');
        const logs = listTxnLogs(logDir).map((l) => l.file);
        assert.deepEqual(logs, [first]);
        for (const f of logs) assert.equal(disk.unsynced(f), 0, `${f} was fsynced by recovery`);

        // The restarted server goes on: 21..23 in a new file, fsynced.
        durable = -1;
        const log2 = await drive(loop, openLog());
        for (let z = 21; z <= 23; z++) db.tree.processTxn(txns[z - 1].hdr, txns[z - 1].txn);
        append(log2, 21, 23);
        await drive(loop, runAs(loop, 'n1', () => log2.close()));
        assert.equal(durable, 23);

        // Power loss.
        loop.kill('n1');
        disk.crash('/n1');
        const db2 = await drive(loop, runAs(loop, 'n1', () => loadDatabase(opts)));
        assert.equal(db2.lastZxid, 23);
        for (let z = 1; z <= 23; z++) assert.ok(db2.tree.getNode(`/k${z.toString(16)}`) !== undefined, `/k${z.toString(16)} survived`);
        assert.equal(db2.tree.treeDigest, db.tree.treeDigest);
        assert.equal(db2.tree.treeDigest, treeOf(txns).treeDigest);
      } finally {
        restore();
      }
    });
  }
});

// ---------------------------------------------------------------- 3. no replay across a skipped snapshot

// Old behaviour: recovery skipped the damaged snapshot.10000000a, loaded snapshot.100000005 and replayed 6..8 then
// 0x200000001..3; followsDirectly accepted "epoch 2, counter 1" after any counter of epoch 1, so the load succeeded
// with lastZxid 0x200000003 and a tree missing 0x100000009 and 0x10000000a (that the damaged snapshot proves
// existed): the rejects assertion failed.
void describe('sim-found: recovery does not replay across the zxid of a damaged snapshot it skipped', () => {
  const E1 = (c: number): number => makeZxid(1, c);
  const E2 = (c: number): number => makeZxid(2, c);
  const load = (dataDir: string): ReturnType<typeof loadDatabase> => loadDatabase({ ...storageOpts(dataDir), dataDir, dataLogDir: dataDir });

  /** snapshot.100000005, logs with 0x100000006..8 and 0x200000001..3; the txns of epoch 1 up to 0x10000000a. */
  async function setup(): Promise<{ dataDir: string; dir: string; epoch1: LoggedTxn[]; logged: LoggedTxn[] }> {
    const dataDir = tempDir('simfound');
    const dir = path.join(dataDir, 'version-2');
    fs.mkdirSync(dir);
    const epoch1: LoggedTxn[] = [];
    for (let c = 1; c <= 10; c++) epoch1.push(createTxn(E1(c)));
    await writeSnapshot({ tree: treeOf(epoch1.slice(0, 5)), sessions: [], file: path.join(dir, 'snapshot.100000005') });
    const logged = [...epoch1.slice(5, 8), createTxn(E2(1)), createTxn(E2(2)), createTxn(E2(3))];
    const log = await FileTxnLog.open({
      dir, preAllocSize: 0, logger: silentLogger, onDurable: () => undefined, onError: (e) => {
        throw e;
      },
    });
    for (const t of logged) {
      if (t.hdr.zxid === E2(1)) log.roll(); // a new leader's epoch starts a new file
      log.append(t.hdr, t.txn);
    }
    await log.close();
    assert.deepEqual(listTxnLogs(dir).map((l) => path.basename(l.file)), ['log.100000006', 'log.200000001']);
    return { dataDir, dir, epoch1, logged };
  }

  const damages: Array<[string, (file: string) => void]> = [
    ['a flipped byte', (file) => {
      const b = fs.readFileSync(file);
      b[Math.floor(b.length / 2)] ^= 0xff;
      fs.writeFileSync(file, b);
    }],
    ['a lost tail', (file) => fs.truncateSync(file, fs.statSync(file).size - 20)],
  ];
  for (const [what, damage] of damages) {
    void test(`a damaged snapshot.10000000a (${what}) and a log stepping 0x100000008 -> 0x200000001: TxnLogGapError`, async () => {
      const { dataDir, dir, epoch1 } = await setup();
      try {
        // The newer snapshot: the tree after 0x10000000a (e.g. a SNAP sync), then damaged on disk.
        const damaged = path.join(dir, 'snapshot.10000000a');
        await writeSnapshot({ tree: treeOf(epoch1), sessions: [], file: damaged });
        damage(damaged);
        await assert.rejects(readSnapshot(damaged, { extendedTypesEnabled: true }), CorruptSnapshotError);
        await assert.rejects(load(dataDir), (e: unknown) => {
          assert.ok(e instanceof TxnLogGapError, String(e));
          assert.equal(e.after, E1(8));
          assert.equal(e.next, E2(1));
          return true;
        });
      } finally {
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }

  void test('control: without the damaged snapshot the same epoch change replays', async () => {
    const { dataDir, epoch1, logged } = await setup();
    try {
      const db = await load(dataDir);
      assert.equal(db.lastZxid, E2(3));
      assert.equal(db.txnsReplayed, 6);
      assert.equal(db.tree.treeDigest, treeOf([...epoch1.slice(0, 5), ...logged]).treeDigest);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------- 4. no coming up below a skipped snapshot

// Old behaviour: recovery skipped the damaged snapshot.300000006, loaded snapshot.100000005 and replayed 6..8; no
// txn stepped across 0x300000006, so the load succeeded at 0x100000008 while the server's currentEpoch said it had
// synced in epoch 3 (a learner SNAP-synced at 0x300000006 with nothing logged after). In the simulator (seed 130)
// such a server won the election with the older history and TRUNCated another server's committed txns: the rejects
// assertion failed (it resolved with lastZxid 0x100000008).
void describe('sim-found: recovery does not come up below the zxid of a damaged snapshot it skipped', () => {
  const E1 = (c: number): number => makeZxid(1, c);
  const E3 = (c: number): number => makeZxid(3, c);
  const load = (dataDir: string): ReturnType<typeof loadDatabase> => loadDatabase({ ...storageOpts(dataDir), dataDir, dataLogDir: dataDir });

  /** snapshot.100000005 and a log with 0x100000006..8; the txns of epoch 1 up to 0x100000008. */
  async function setup(): Promise<{ dataDir: string; dir: string; epoch1: LoggedTxn[] }> {
    const dataDir = tempDir('simfound');
    const dir = path.join(dataDir, 'version-2');
    fs.mkdirSync(dir);
    const epoch1: LoggedTxn[] = [];
    for (let c = 1; c <= 8; c++) epoch1.push(createTxn(E1(c)));
    await writeSnapshot({ tree: treeOf(epoch1.slice(0, 5)), sessions: [], file: path.join(dir, 'snapshot.100000005') });
    const log = await FileTxnLog.open({
      dir, preAllocSize: 0, logger: silentLogger, onDurable: () => undefined, onError: (e) => {
        throw e;
      },
    });
    for (const t of epoch1.slice(5)) log.append(t.hdr, t.txn);
    await log.close();
    assert.deepEqual(listTxnLogs(dir).map((l) => path.basename(l.file)), ['log.100000006']);
    return { dataDir, dir, epoch1 };
  }

  /** Writes `tree` as a valid snapshot named `name`, then flips a byte in its middle. */
  async function damagedSnapshot(dir: string, name: string, tree: DataTree): Promise<void> {
    const file = path.join(dir, name);
    await writeSnapshot({ tree, sessions: [], file });
    const b = fs.readFileSync(file);
    b[Math.floor(b.length / 2)] ^= 0xff;
    fs.writeFileSync(file, b);
    await assert.rejects(readSnapshot(file, { extendedTypesEnabled: true }), CorruptSnapshotError);
  }

  void test('a damaged snapshot.300000006 above the whole log (SNAP-synced, nothing logged after): TxnLogGapError', async () => {
    const { dataDir, dir, epoch1 } = await setup();
    try {
      // The tree a leader of epoch 3 sent by SNAP at 0x300000006 (its content does not matter: it cannot be read).
      const snapTree = treeOf([...epoch1, createTxn(E3(1)), createTxn(E3(6))]);
      await damagedSnapshot(dir, 'snapshot.300000006', snapTree);
      await assert.rejects(load(dataDir), (e: unknown) => {
        assert.ok(e instanceof TxnLogGapError, String(e));
        assert.equal(e.after, E1(8));
        assert.equal(e.next, E3(6));
        return true;
      });
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  void test('control: a damaged snapshot.100000007 inside what the log covers loads at 0x100000008', async () => {
    const { dataDir, dir, epoch1 } = await setup();
    try {
      await damagedSnapshot(dir, 'snapshot.100000007', treeOf(epoch1.slice(0, 7)));
      const db = await load(dataDir);
      assert.equal(db.snapshotFile, path.join(dir, 'snapshot.100000005'));
      assert.equal(db.lastZxid, E1(8));
      assert.equal(db.txnsReplayed, 3);
      assert.equal(db.tree.treeDigest, treeOf(epoch1).treeDigest);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
