// FileTxnLog: round trips through the reader, group commit (few syncs, onDurable only after the sync), rolling,
// preallocation, disk errors and file-name collisions.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { OpCode } from '../../src/protocol/constants.js';
import { FileTxnLog, paddedSize } from '../../src/storage/txnlog.js';
import { listTxnLogs, readTxns, TXNLOG_HEADER_SIZE } from '../../src/storage/txnlogReader.js';
import { silentLogger } from '../../src/util/log.js';
import { errno, fakeIO, sampleTxn, settle, tempDir, until, writeLog } from './txnlog-helpers.js';

function range(from: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}

void describe('FileTxnLog', () => {
  void test('round trip: every txn type reads back identical, across rolled files', async () => {
    const dir = tempDir();
    const zxids = range(0x100000001, 300);
    const written = await writeLog(dir, zxids, { batch: 13, rollAt: [100, 250] });
    const logs = listTxnLogs(dir);
    assert.deepEqual(logs.map((l) => path.basename(l.file)), ['log.100000001', 'log.100000065', 'log.1000000fb']);
    const read = [...readTxns(dir, 0)];
    assert.equal(read.length, written.length);
    for (let i = 0; i < read.length; i++) {
      assert.deepEqual(read[i].hdr, written[i].hdr, `hdr ${i}`);
      assert.deepEqual(read[i].txn, written[i].txn, `txn ${i}`);
      assert.deepEqual(read[i].digest, written[i].digest, `digest ${i}`);
    }
    // From a zxid: Util.getLogFiles picks the log at or before it, then txns >= zxid.
    const from = [...readTxns(dir, 0x100000070)];
    assert.equal(from[0].hdr.zxid, 0x100000070);
    assert.equal(from.length, 300 - 0x6f);
    assert.equal(path.basename(from[0].file), 'log.100000065');
    fs.rmSync(dir, { recursive: true });
  });

  void test('a new file starts lazily: FileHeader then records; nothing is created without an append', async () => {
    const dir = tempDir();
    const log = await FileTxnLog.open({ dir: path.join(dir, 'version-2'), preAllocSize: 0, logger: silentLogger, onDurable: () => undefined, onError: assert.fail });
    log.flush();
    log.roll();
    await log.close();
    assert.deepEqual(fs.readdirSync(path.join(dir, 'version-2')), []);
    await writeLog(dir, [5]);
    const bytes = fs.readFileSync(path.join(dir, 'log.5'));
    assert.equal(bytes.subarray(0, 16).toString('hex'), '5a4b4c470000000200000000' + '00000000');
    assert.equal(bytes[bytes.length - 1], 0x42);
    fs.rmSync(dir, { recursive: true });
  });

  void test('group commit: appends during an in-flight sync go out together in one write and one sync', async () => {
    const dir = tempDir();
    const io = fakeIO();
    io.holdSyncs = true;
    const durable: number[] = [];
    const log = await FileTxnLog.open({ dir, preAllocSize: 0, logger: silentLogger, onDurable: (z) => durable.push(z), onError: assert.fail, io });
    const t1 = sampleTxn(1, 1);
    log.append(t1.hdr, t1.txn, t1.digest);
    log.flush();
    await until('first sync to start', () => io.held.length === 1);
    for (let i = 2; i <= 101; i++) {
      const t = sampleTxn(i, i);
      log.append(t.hdr, t.txn, t.digest);
      if (i % 10 === 0) log.flush();
    }
    log.flush();
    await settle();
    assert.deepEqual(durable, [], 'nothing is durable before the fdatasync returns');
    assert.equal(io.calls.writev, 1);
    assert.equal(log.durableZxid, -1);
    io.held.shift()!();
    await until('second sync to start', () => io.held.length === 1);
    assert.deepEqual(durable, [1]);
    assert.equal(io.calls.writev, 2, 'the 100 later appends share one write');
    io.held.shift()!();
    await until('second batch durable', () => durable.length === 2);
    assert.deepEqual(durable, [1, 101]);
    assert.equal(io.calls.fdatasync, 2);
    assert.equal(log.stats.syncs, 2);
    assert.equal(log.lastZxid, 101);
    io.holdSyncs = false;
    await log.close();
    assert.equal([...readTxns(dir)].length, 101);
    fs.rmSync(dir, { recursive: true });
  });

  void test('roll: the next append starts a new file; rolled files are closed after their writes', async () => {
    const dir = tempDir();
    const durable: number[] = [];
    const log = await FileTxnLog.open({ dir, preAllocSize: 0, logger: silentLogger, onDurable: (z) => durable.push(z), onError: assert.fail });
    for (let i = 1; i <= 3; i++) log.append(sampleTxn(i, i).hdr, sampleTxn(i, i).txn);
    assert.equal(log.txnsInCurrentFile, 3);
    assert.equal(path.basename(log.currentFile!), 'log.1');
    // Roll in the middle of a batch: the txns before it belong to the old file, the ones after to the new.
    log.roll();
    assert.equal(log.txnsInCurrentFile, 0);
    assert.equal(log.currentFile, undefined);
    for (let i = 4; i <= 5; i++) log.append(sampleTxn(i, i).hdr, sampleTxn(i, i).txn);
    assert.equal(path.basename(log.currentFile!), 'log.4');
    assert.equal(log.txnsInCurrentFile, 2);
    log.flush();
    await until('durable', () => durable.at(-1) === 5);
    log.roll();
    log.roll();
    await log.close();
    assert.deepEqual(listTxnLogs(dir).map((l) => l.zxid), [1, 4]);
    assert.deepEqual([...readTxns(dir)].map((e) => [e.hdr.zxid, path.basename(e.file)]), [[1, 'log.1'], [2, 'log.1'], [3, 'log.1'], [4, 'log.4'], [5, 'log.4']]);
    fs.rmSync(dir, { recursive: true });
  });

  void test('preallocation: the file grows by preAllocSize, zero-filled, and the reader stops at the zeros', async () => {
    const dir = tempDir();
    const P = 64 * 1024;
    const io = fakeIO();
    const log = await FileTxnLog.open({ dir, preAllocSize: P, logger: silentLogger, onDurable: () => undefined, onError: assert.fail, io });
    const file = path.join(dir, 'log.1');
    const sizes = new Set<number>();
    let z = 1;
    for (let round = 0; round < 40; round++) {
      for (let k = 0; k < 20; k++, z++) {
        log.append({ clientId: 1n, cxid: z, zxid: z, time: 0, type: OpCode.setData }, { type: OpCode.setData, path: '/p', data: Buffer.alloc(200, 7), version: z });
      }
      log.flush();
      await until('durable', () => log.durableZxid === z - 1);
      sizes.add(fs.statSync(file).size);
    }
    await log.close();
    const end = TXNLOG_HEADER_SIZE + (z - 1) * (13 + 8 + 4 + 8 + 8 + 4 + 4 + 2 + 4 + 200 + 4);
    // FilePadding's sizes: the first extension from the header end, then +P each time the end comes within 4 KiB.
    const expected = new Set<number>();
    for (let s = P; ; s += P) {
      expected.add(s);
      if (s > end + 4096) break;
    }
    assert.deepEqual([...sizes].sort((a, b) => a - b), [...expected].sort((a, b) => a - b));
    assert.equal(io.calls.ftruncate, expected.size);
    assert.ok(fs.statSync(file).size > end);
    assert.equal([...readTxns(dir)].length, z - 1);
    assert.equal(paddedSize(100, 16, P), P, 'the first padding of a new file');
    assert.equal(paddedSize(P - 4096, P, P), 2 * P, 'within 4 KiB of the end: one more P');
    assert.equal(paddedSize(3 * P + 5, P, P), 4 * P, 'past the end: rounded up to a multiple of P');
    assert.equal(paddedSize(100, 16, 0), 16, 'preAllocSize 0: no padding');
    fs.rmSync(dir, { recursive: true });
  });

  for (const [stage, code] of [['fdatasync', 'ENOSPC'], ['write', 'EIO']] as const) {
    void test(`a disk error on ${stage} (${code}) stops the log: onError once, naming the file; nothing reported durable`, async () => {
      const dir = tempDir();
      const io = fakeIO();
      const durable: number[] = [];
      const errors: Error[] = [];
      const log = await FileTxnLog.open({ dir, preAllocSize: 0, logger: silentLogger, onDurable: (z) => durable.push(z), onError: (e) => errors.push(e), io });
      log.append(sampleTxn(1, 1).hdr, sampleTxn(1, 1).txn);
      log.flush();
      await until('first batch durable', () => durable.length === 1);
      if (stage === 'write') io.failWrite = errno(code, 'i/o error');
      else io.failSync = errno(code, 'no space left on device');
      io.holdSyncs = true;
      log.append(sampleTxn(2, 2).hdr, sampleTxn(2, 2).txn);
      log.flush();
      if (stage === 'fdatasync') {
        await until('sync started', () => io.held.length === 1);
        // Appends while the failing sync is in flight are lost with it.
        log.append(sampleTxn(3, 3).hdr, sampleTxn(3, 3).txn);
        log.flush();
        io.held.shift()!();
      }
      await until('failure reported', () => errors.length === 1);
      await settle();
      assert.equal(errors.length, 1);
      assert.match(errors[0].message, new RegExp(`${stage}.*failed on .*log\\.1 \\(${code}\\)`));
      assert.deepEqual(durable, [1]);
      assert.throws(() => log.append(sampleTxn(4, 4).hdr, sampleTxn(4, 4).txn), /stopped after a disk error/);
      log.flush();
      log.roll();
      await log.close();
      assert.equal(errors.length, 1);
      assert.deepEqual(durable, [1]);
      assert.ok(log.failed);
      fs.rmSync(dir, { recursive: true });
    });
  }

  void test('a name collision: a log holding no txns is overwritten, one holding txns is never', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'log.5'), Buffer.from('5a4b4c47000000020000000000000000', 'hex'));
    await writeLog(dir, [5, 6]);
    assert.deepEqual([...readTxns(dir)].map((e) => e.hdr.zxid), [5, 6]);
    const errors: Error[] = [];
    const log = await FileTxnLog.open({ dir, preAllocSize: 0, logger: silentLogger, onDurable: () => assert.fail('no durability after a collision'), onError: (e) => errors.push(e) });
    log.append(sampleTxn(5, 5).hdr, sampleTxn(5, 5).txn);
    log.flush();
    await until('error', () => errors.length === 1);
    assert.match(errors[0].message, /log\.5 already exists and holds 2 txn\(s\)/);
    await log.close();
    assert.deepEqual([...readTxns(dir)].map((e) => e.hdr.zxid), [5, 6]);
    fs.rmSync(dir, { recursive: true });
  });

  void test('a txn that fails to serialize leaves the batch whole', async () => {
    const dir = tempDir();
    const log = await FileTxnLog.open({ dir, preAllocSize: 0, logger: silentLogger, onDurable: () => undefined, onError: assert.fail });
    log.append(sampleTxn(1, 1).hdr, sampleTxn(1, 1).txn);
    assert.throws(() => log.append({ clientId: 1n, cxid: 1, zxid: 2, time: 0, type: 1 }, { type: OpCode.create, path: 123 as never, data: Buffer.from('x'), acl: [], ephemeral: false, parentCVersion: 0 }));
    log.append(sampleTxn(3, 3).hdr, sampleTxn(3, 3).txn);
    await log.close();
    assert.deepEqual([...readTxns(dir)].map((e) => e.hdr.zxid), [1, 3]);
    fs.rmSync(dir, { recursive: true });
  });
});
