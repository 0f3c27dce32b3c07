// The epoch files at startup (QuorumPeer.loadDataBase), including the updatingEpoch marker a learner leaves while it
// finishes a sync: ZOOKEEPER-2354 (a crash between the synced data reaching disk in the new epoch and the
// currentEpoch write must not leave a server that refuses to start).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { readEpochs } from '../../src/quorum/peer.js';
import { makeZxid } from '../../src/quorum/zab/zxid.js';
import { ACCEPTED_EPOCH_FILE, CURRENT_EPOCH_FILE, readEpochFile, UPDATING_EPOCH_FILE } from '../../src/storage/epoch.js';

function dataDir(current?: number, accepted?: number, updating = false): { dataDir: string; dir: string } {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-epochs-'));
  const dir = path.join(dataDir, 'version-2');
  fs.mkdirSync(dir);
  if (current !== undefined) fs.writeFileSync(path.join(dir, CURRENT_EPOCH_FILE), String(current));
  if (accepted !== undefined) fs.writeFileSync(path.join(dir, ACCEPTED_EPOCH_FILE), String(accepted));
  if (updating) fs.writeFileSync(path.join(dir, UPDATING_EPOCH_FILE), '');
  return { dataDir, dir };
}

void describe('epoch files at startup', () => {
  void test('missing files start at the epoch of the last zxid and are written', () => {
    const d = dataDir();
    assert.deepEqual(readEpochs(d.dataDir, makeZxid(3, 7)), { accepted: 3, current: 3 });
    assert.equal(readEpochFile(path.join(d.dir, CURRENT_EPOCH_FILE)), 3);
    assert.equal(readEpochFile(path.join(d.dir, ACCEPTED_EPOCH_FILE)), 3);
    fs.rmSync(d.dataDir, { recursive: true });
  });

  void test('ZOOKEEPER-2354: with the updatingEpoch marker, data in a newer epoch makes that epoch current', () => {
    const d = dataDir(1, 2, true);
    assert.deepEqual(readEpochs(d.dataDir, makeZxid(2, 5)), { accepted: 2, current: 2 });
    assert.equal(readEpochFile(path.join(d.dir, CURRENT_EPOCH_FILE)), 2);
    assert.ok(!fs.existsSync(path.join(d.dir, UPDATING_EPOCH_FILE)), 'the marker is consumed');
    fs.rmSync(d.dataDir, { recursive: true });
  });

  void test('without the marker, a current epoch older than the data is a clear error', () => {
    const d = dataDir(1, 2);
    assert.throws(() => readEpochs(d.dataDir, makeZxid(2, 5)), /current epoch, 1, is older than the last zxid, 0x200000005/);
    fs.rmSync(d.dataDir, { recursive: true });
  });

  void test('a marker with nothing newer on disk changes nothing but is removed', () => {
    const d = dataDir(2, 3, true);
    assert.deepEqual(readEpochs(d.dataDir, makeZxid(2, 9)), { accepted: 3, current: 2 });
    assert.ok(!fs.existsSync(path.join(d.dir, UPDATING_EPOCH_FILE)));
    fs.rmSync(d.dataDir, { recursive: true });
  });

  void test('an accepted epoch below the current one is refused', () => {
    const d = dataDir(3, 2);
    assert.throws(() => readEpochs(d.dataDir, makeZxid(3, 1)), /after the accepted epoch/);
    fs.rmSync(d.dataDir, { recursive: true });
  });
});
