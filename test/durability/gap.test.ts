// A learner synced by SNAP has a hole in its txn log that its snapshot covers. If that snapshot is damaged and
// recovery falls back to an older one, replaying across the hole would build a tree missing those txns while claiming
// the newest zxid (found by the fault suite: lock workload, corrupt-restart fault, digest mismatches on every later
// txn). Recovery must refuse instead, with a message saying how to resync the server.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { makeZxid } from '../../src/quorum/zab/zxid.js';
import { loadDatabase, TxnLogGapError } from '../../src/storage/database.js';
import { writeSnapshot } from '../../src/storage/snapshot.js';
import { DataTree } from '../../src/tree/datatree.js';
import { silentLogger } from '../../src/util/log.js';
import { tempDir, writeLog } from '../storage/txnlog-helpers.js';

const load = (dataDir: string): ReturnType<typeof loadDatabase> => loadDatabase({
  dataDir, dataLogDir: dataDir, logger: silentLogger, extendedTypesEnabled: true, trustEmptySnapshot: false,
  autoCreateDb: true, snapshotCompression: '',
});

async function snapshotAt(dir: string, zxid: number): Promise<void> {
  const tree = new DataTree({ extendedTypesEnabled: true });
  tree.lastProcessedZxid = zxid;
  await writeSnapshot({ tree, sessions: [], file: path.join(dir, `snapshot.${zxid.toString(16)}`) });
}

void describe('txn log gaps at recovery', () => {
  const E1 = (c: number): number => makeZxid(1, c);
  const E2 = (c: number): number => makeZxid(2, c);

  void test('a gap after the snapshot used stops recovery with a clear error', async () => {
    const dataDir = tempDir('gap');
    const dir = path.join(dataDir, 'version-2');
    fs.mkdirSync(dir);
    await snapshotAt(dir, 0);
    await writeLog(dir, [E1(1), E1(2), E1(3), E2(5), E2(6)]);
    await assert.rejects(load(dataDir), (e: unknown) => {
      assert.ok(e instanceof TxnLogGapError, String(e));
      assert.match(e.message, /after 0x100000003 comes 0x200000005/);
      assert.match(e.message, /resynchronised by the leader/);
      return true;
    });
    // With the snapshot that covers the hole, recovery goes through.
    await snapshotAt(dir, E2(4));
    const db = await load(dataDir);
    assert.equal(db.lastZxid, E2(6));
    fs.rmSync(dataDir, { recursive: true });
  });

  void test('contiguous logs pass: within an epoch, and into a new epoch at counter 1', async () => {
    const dataDir = tempDir('gap');
    const dir = path.join(dataDir, 'version-2');
    fs.mkdirSync(dir);
    await snapshotAt(dir, 0);
    await writeLog(dir, [E1(1), E1(2), E1(3), E2(1), E2(2), makeZxid(5, 1)]);
    assert.equal((await load(dataDir)).lastZxid, makeZxid(5, 1));
    fs.rmSync(dataDir, { recursive: true });
  });

  void test('a hole inside an epoch is a gap too', async () => {
    const dataDir = tempDir('gap');
    const dir = path.join(dataDir, 'version-2');
    fs.mkdirSync(dir);
    await snapshotAt(dir, 0);
    await writeLog(dir, [E1(1), E1(2), E1(4)]);
    await assert.rejects(load(dataDir), TxnLogGapError);
    fs.rmSync(dataDir, { recursive: true });
  });
});
