// Epoch files: decimal ASCII without newline, atomic replacement, clear errors for malformed files.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { readEpochFile, writeEpochFile, writeEpochFileSync } from '../../src/storage/epoch.js';
import { tempDir } from './txnlog-helpers.js';

void describe('epoch files', () => {
  void test('write then read; the file is the bare decimal number; no temp file is left', async () => {
    const dir = tempDir('epoch');
    const f = path.join(dir, 'currentEpoch');
    assert.equal(readEpochFile(f), undefined);
    await writeEpochFile(f, 7);
    assert.equal(fs.readFileSync(f, 'latin1'), '7');
    assert.equal(readEpochFile(f), 7);
    await writeEpochFile(f, 4294967296);
    assert.equal(readEpochFile(f), 4294967296);
    writeEpochFileSync(f, 12);
    assert.equal(readEpochFile(f), 12);
    assert.deepEqual(fs.readdirSync(dir), ['currentEpoch']);
    fs.rmSync(dir, { recursive: true });
  });

  void test('the old value stays until the rename: a leftover temp file does not matter', async () => {
    const dir = tempDir('epoch');
    const f = path.join(dir, 'acceptedEpoch');
    await writeEpochFile(f, 3);
    fs.writeFileSync(f + '.tmp', '99garbage');
    assert.equal(readEpochFile(f), 3);
    await writeEpochFile(f, 4);
    assert.equal(readEpochFile(f), 4);
    assert.ok(!fs.existsSync(f + '.tmp'));
    fs.rmSync(dir, { recursive: true });
  });

  void test('as Java readLine + parseLong: a trailing newline is accepted, anything else malformed names the file', async () => {
    const dir = tempDir('epoch');
    const f = path.join(dir, 'currentEpoch');
    fs.writeFileSync(f, '5\n');
    assert.equal(readEpochFile(f), 5);
    for (const bad of ['', 'x', '5 ', '1.5', '\n5', '99999999999999999999']) {
      fs.writeFileSync(f, bad);
      assert.throws(() => readEpochFile(f), (e: Error) => e.message.includes(f) && /malformed epoch file/.test(e.message), JSON.stringify(bad));
    }
    await assert.rejects(writeEpochFile(f, 1.5), /must be an integer/);
    await assert.rejects(writeEpochFile(path.join(dir, 'missing', 'x'), 1));
    fs.rmSync(dir, { recursive: true });
  });
});
