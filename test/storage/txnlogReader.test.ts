// Reading txn logs: file listing and Util.getLogFiles, torn tails at every byte offset of the last record (with
// and without preallocated zeros after them), corruption in the middle and in older files, Apache's golden logs,
// truncateTornTail, truncateLogAfter and lastLoggedZxid.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { adler32 } from '../../src/storage/adler32.js';
import {
  CorruptLogError, lastLoggedZxid, listTxnLogs, logsFrom, readTxnLogFile, readTxns, scanLogFile, truncateLogAfter,
  truncateTornTail,
} from '../../src/storage/txnlogReader.js';
import { PROJECT_ROOT } from '../support/servers.js';
import { tempDir, writeLog } from './txnlog-helpers.js';

const GOLDEN = path.join(PROJECT_ROOT, 'test', 'fixtures', 'golden', 'txnlog');

/** Record offsets of a log file (from the scanner). */
function recordOffsets(file: string): Array<{ offset: number; end: number }> {
  return [...scanLogFile(file, { newest: true })].map((r) => ({ offset: r.offset, end: r.end }));
}

function zxids(dir: string, from = 0): number[] {
  return [...readTxns(dir, from)].map((e) => e.hdr.zxid);
}

void describe('txn log files', () => {
  void test('listTxnLogs: log.<hex> only, sorted by zxid; logsFrom follows Util.getLogFiles', () => {
    const dir = tempDir();
    for (const n of ['log.a', 'log.2', 'log.100000001', 'log.1f', 'snapshot.3', 'log.5.chopped7', 'log.xyz', 'log.', 'currentEpoch']) {
      fs.writeFileSync(path.join(dir, n), '');
    }
    const logs = listTxnLogs(dir);
    assert.deepEqual(logs.map((l) => l.zxid), [2, 10, 31, 0x100000001]);
    assert.equal(logs[0].file, path.join(dir, 'log.2'));
    assert.deepEqual(listTxnLogs(path.join(dir, 'missing')), []);
    const z = (x: number): number[] => logsFrom(logs, x).map((l) => l.zxid);
    assert.deepEqual(z(1), [2, 10, 31, 0x100000001], 'before every log: all of them');
    assert.deepEqual(z(2), [2, 10, 31, 0x100000001]);
    assert.deepEqual(z(9), [2, 10, 31, 0x100000001]);
    assert.deepEqual(z(10), [10, 31, 0x100000001]);
    assert.deepEqual(z(30), [10, 31, 0x100000001]);
    assert.deepEqual(z(0x200000000), [0x100000001]);
    fs.rmSync(dir, { recursive: true });
  });

  void test("Apache ZooKeeper's golden logs read completely, checksums and digests included", () => {
    const names = fs.readdirSync(GOLDEN).filter((f) => f.endsWith('.log'));
    assert.ok(names.length >= 4);
    for (const name of names) {
      const file = path.join(GOLDEN, name);
      const it = readTxnLogFile(file, { newest: false });
      const got = [];
      let n = it.next();
      for (; !n.done; n = it.next()) got.push(n.value);
      assert.equal(n.value.kind, 'eof', name);
      assert.ok(got.length > 0);
      assert.ok(got.some((e) => e.digest?.version === 2), `${name}: 3.8 writes TxnDigest`);
      for (let i = 1; i < got.length; i++) assert.ok(got[i].hdr.zxid > got[i - 1].hdr.zxid);
      // The stored checksum is Adler-32 of the payload: recompute from the raw bytes of the first record.
      const buf = fs.readFileSync(file);
      const len = buf.readInt32BE(24);
      assert.equal(BigInt(adler32(buf.subarray(28, 28 + len))), buf.readBigInt64BE(16));
    }
    const dir = tempDir();
    fs.copyFileSync(path.join(GOLDEN, 'java.log'), path.join(dir, 'log.1'));
    assert.equal(zxids(dir).length, 39);
    assert.equal(lastLoggedZxid(dir), 0x27);
    fs.rmSync(dir, { recursive: true });
  });

  for (const zerosAfter of [0, 8192]) {
    void test(`torn tail at every byte offset of the last record${zerosAfter ? ' (preallocated zeros after it)' : ''}`, async () => {
      const src = tempDir();
      await writeLog(src, [1, 2, 3], { rollAt: [] });
      await writeLog(src, [4, 5, 6, 7, 8]);
      fs.renameSync(path.join(src, 'log.4'), path.join(src, 'log.4.tmp'));
      // Two files: log.1 (older, whole) and log.4 (newest) whose last record gets torn.
      const newest = path.join(src, 'log.4.tmp');
      const full = fs.readFileSync(newest);
      const recs = recordOffsets(newest);
      const last = recs[recs.length - 1];
      assert.equal(last.end, full.length);
      const dir = tempDir();
      fs.copyFileSync(path.join(src, 'log.1'), path.join(dir, 'log.1'));
      const target = path.join(dir, 'log.4');
      for (let cut = last.offset; cut < last.end; cut++) {
        fs.writeFileSync(target, Buffer.concat([full.subarray(0, cut), Buffer.alloc(zerosAfter)]));
        assert.deepEqual(zxids(dir), [1, 2, 3, 4, 5, 6, 7], `cut at ${cut}`);
        const r = await truncateTornTail(dir);
        // Nothing but zeros after the last whole record (the checksum's high 4 bytes are 0) is preallocation.
        if (full.subarray(last.offset, cut).every((x) => x === 0)) assert.equal(r, undefined, `cut at ${cut}: nothing to cut`);
        else {
          assert.ok(r, `cut at ${cut}: a torn tail is reported`);
          assert.equal(r.file, target);
          assert.equal(r.offset, last.offset);
          assert.equal(r.removed, cut + zerosAfter - last.offset);
          assert.equal(fs.statSync(target).size, last.offset);
        }
        assert.deepEqual(zxids(dir), [1, 2, 3, 4, 5, 6, 7]);
        assert.equal(await truncateTornTail(dir), undefined, 'idempotent');
      }
      // A whole last record with its checksum or its 'B' damaged, and only zeros after: also a torn tail.
      for (const at of [last.offset + 3, last.offset + 20, last.end - 1]) {
        const b = Buffer.concat([full, Buffer.alloc(zerosAfter)]);
        b[at] ^= 0x55;
        fs.writeFileSync(target, b);
        assert.deepEqual(zxids(dir), [1, 2, 3, 4, 5, 6, 7], `damaged byte ${at}`);
        const r = await truncateTornTail(dir);
        assert.equal(r?.offset, last.offset);
      }
      fs.rmSync(src, { recursive: true });
      fs.rmSync(dir, { recursive: true });
    });
  }

  void test('a flipped byte in the middle of the log is CorruptLogError naming the file and offset', async () => {
    const dir = tempDir();
    await writeLog(dir, [1, 2, 3, 4, 5], { rollAt: [3] });
    const older = path.join(dir, 'log.1');
    const newest = path.join(dir, 'log.4');
    const good = { older: fs.readFileSync(older), newest: fs.readFileSync(newest) };
    const cases: Array<{ file: string; rec: number; at: (r: { offset: number; end: number }) => number; what: RegExp }> = [
      { file: older, rec: 1, at: (r) => r.offset + 30, what: /checksum mismatch/ },
      { file: older, rec: 2, at: (r) => r.offset + 30, what: /checksum mismatch.*not the newest/ },
      { file: older, rec: 1, at: (r) => r.end - 1, what: /missing 'B'/ },
      { file: older, rec: 0, at: (r) => r.offset + 8, what: /unreasonable record length|negative record length/ },
      { file: newest, rec: 0, at: (r) => r.offset + 40, what: /checksum mismatch.*followed by more data/ },
      { file: newest, rec: 0, at: (r) => r.offset + 2, what: /checksum mismatch/ },
    ];
    for (const c of cases) {
      const r = recordOffsets(c.file)[c.rec];
      const at = c.at(r);
      const b = Buffer.from(c.file === older ? good.older : good.newest);
      b[at] ^= at === r.offset + 8 ? 0x80 : 0x01;
      fs.writeFileSync(c.file, b);
      assert.throws(() => zxids(dir), (e: unknown) => {
        assert.ok(e instanceof CorruptLogError);
        assert.equal(e.file, c.file);
        assert.equal(e.offset, r.offset);
        assert.ok(e.message.includes(c.file) && e.message.includes(`offset ${r.offset}`), e.message);
        assert.match(e.message, c.what);
        return true;
      });
      if (c.file === newest) await assert.rejects(truncateTornTail(dir), CorruptLogError);
      fs.writeFileSync(older, good.older);
      fs.writeFileSync(newest, good.newest);
    }
    // A bad header.
    const b = Buffer.from(good.older);
    b.write('ZKSN', 0);
    fs.writeFileSync(older, b);
    assert.throws(() => zxids(dir), /not a txn log: magic 0x5a4b534e/);
    fs.writeFileSync(older, good.older);
    assert.deepEqual(zxids(dir), [1, 2, 3, 4, 5]);
    fs.rmSync(dir, { recursive: true });
  });

  void test('a newest log without a whole header holds nothing and truncateTornTail removes it', async () => {
    const dir = tempDir();
    await writeLog(dir, [1, 2]);
    for (const content of [Buffer.alloc(0), Buffer.from('5a4b4c', 'hex'), Buffer.alloc(4096)]) {
      fs.writeFileSync(path.join(dir, 'log.3'), content);
      assert.deepEqual(zxids(dir), [1, 2]);
      const r = await truncateTornTail(dir);
      assert.deepEqual(r && { file: path.basename(r.file), offset: r.offset }, { file: 'log.3', offset: 0 });
      assert.deepEqual(listTxnLogs(dir).map((l) => l.zxid), [1]);
    }
    fs.rmSync(dir, { recursive: true });
  });

  void test('truncateLogAfter removes txns after a zxid: cuts the file holding it, deletes later files', async () => {
    const dir = tempDir();
    await writeLog(dir, [1, 2, 3, 4, 5, 6, 7, 8, 9], { rollAt: [3, 6], preAllocSize: 64 * 1024 });
    assert.deepEqual(listTxnLogs(dir).map((l) => l.zxid), [1, 4, 7]);
    let r = truncateLogAfter(dir, 8);
    assert.deepEqual(zxids(dir), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(r.file, path.join(dir, 'log.7'));
    r = truncateLogAfter(dir, 5);
    assert.deepEqual(zxids(dir), [1, 2, 3, 4, 5]);
    assert.deepEqual(r.deleted, [path.join(dir, 'log.7')]);
    assert.equal(fs.statSync(path.join(dir, 'log.4')).size, r.offset, 'preallocated zeros are cut too');
    r = truncateLogAfter(dir, 5);
    assert.deepEqual(r, { deleted: [] }, 'nothing to do');
    r = truncateLogAfter(dir, 3);
    assert.deepEqual(zxids(dir), [1, 2, 3]);
    assert.deepEqual(listTxnLogs(dir).map((l) => l.zxid), [1]);
    r = truncateLogAfter(dir, 0);
    assert.deepEqual(zxids(dir), []);
    assert.deepEqual(r.deleted, [path.join(dir, 'log.1')]);
    fs.rmSync(dir, { recursive: true });
  });

  void test('reading from a zxid skips earlier logs and txns; lastLoggedZxid skips empty newest logs', async () => {
    const dir = tempDir();
    await writeLog(dir, [0x100000001, 0x100000002, 0x200000001, 0x200000002], { rollAt: [2] });
    assert.deepEqual(zxids(dir, 0x200000000), [0x200000001, 0x200000002]);
    assert.deepEqual(zxids(dir, 0x100000002), [0x100000002, 0x200000001, 0x200000002]);
    assert.deepEqual(zxids(dir, 0x300000000), []);
    fs.writeFileSync(path.join(dir, 'log.300000001'), Buffer.from('5a4b4c47000000020000000000000000', 'hex'));
    assert.equal(lastLoggedZxid(dir), 0x200000002);
    fs.rmSync(dir, { recursive: true });
  });
});
