// SimDisk (src/sim/disk.ts): Node's fs semantics on the in-memory tree (paths, flags, positions, errors), timing
// through the SimLoop (callbacks later, as the caller's owner), the durability model (sync, crash, torn tails),
// capacity and the corruption helpers; then the real txn log, snapshots, epoch files and recovery running on it.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { OpCode } from '../../src/protocol/constants.js';
import { SimDisk, type SimDiskOptions } from '../../src/sim/disk.js';
import { SIM_EPOCH_MS, SimLoop } from '../../src/sim/loop.js';
import { DurableStage, loadDatabase } from '../../src/storage/database.js';
import { readEpochFile, writeEpochFile, writeEpochFileSync } from '../../src/storage/epoch.js';
import { listSnapshots } from '../../src/storage/snapshot.js';
import { FileTxnLog } from '../../src/storage/txnlog.js';
import { readTxns, scanLogFile, truncateTornTail } from '../../src/storage/txnlogReader.js';
import { DataTree } from '../../src/tree/datatree.js';
import type { Txn, TxnHeader } from '../../src/txn/records.js';
import { silentLogger } from '../../src/util/log.js';
import { setSys } from '../../src/util/sys.js';
import { drive, runAs } from '../support/simdrive.js';

type Fs = typeof import('node:fs');

function world(seed = 1, opts: SimDiskOptions = {}): { loop: SimLoop; disk: SimDisk; fs: Fs } {
  const loop = new SimLoop(seed);
  const disk = new SimDisk(loop, loop.rng.fork(), opts);
  return { loop, disk, fs: disk.fs };
}

/** A Node callback turned into a promise, for driving with `drive`. */
function call<T>(fn: (cb: (err: NodeJS.ErrnoException | null, v?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

function code(c: string): (e: unknown) => boolean {
  return (e) => {
    assert.equal((e as NodeJS.ErrnoException).code, c, String(e));
    return true;
  };
}

void describe('SimDisk: Node fs semantics', () => {
  void test('directories are real: ENOENT without the parent, mkdir -p, sorted readdir and Dirents', () => {
    const { fs } = world();
    assert.throws(() => fs.writeFileSync('/a/b/f', 'x'), (e: NodeJS.ErrnoException) => {
      assert.equal(e.code, 'ENOENT');
      assert.equal(e.syscall, 'open');
      assert.equal(e.path, '/a/b/f');
      assert.equal(e.message, "ENOENT: no such file or directory, open '/a/b/f'");
      return true;
    });
    assert.throws(() => fs.mkdirSync('/a/b'), code('ENOENT'));
    assert.equal(fs.mkdirSync('/a/b/c', { recursive: true }), '/a');
    assert.equal(fs.mkdirSync('/a/b/c', { recursive: true }), undefined);
    assert.throws(() => fs.mkdirSync('/a/b'), code('EEXIST'));
    fs.writeFileSync('/a/b/z', 'zz');
    fs.writeFileSync('/a/b/m', 'm');
    assert.deepEqual(fs.readdirSync('/a/b'), ['c', 'm', 'z']);
    const ents = fs.readdirSync('/a/b', { withFileTypes: true });
    assert.deepEqual(ents.map((d) => [d.name, d.isFile(), d.isDirectory()]), [['c', false, true], ['m', true, false], ['z', true, false]]);
    assert.throws(() => fs.readdirSync('/a/b/z'), code('ENOTDIR'));
    assert.throws(() => fs.readdirSync('/nope'), code('ENOENT'));
    assert.throws(() => fs.mkdirSync('/a/b/z/q', { recursive: true }), code('ENOTDIR'));
    assert.throws(() => fs.mkdirSync('/a/b/z', { recursive: true }), code('EEXIST'));
    assert.throws(() => fs.statSync('/a/b/z/q'), code('ENOTDIR'));
    assert.equal(fs.statSync('/a/nope', { throwIfNoEntry: false }), undefined);
    assert.ok(fs.statSync('/a/b').isDirectory());
    assert.equal(fs.statSync('/a/b/z').size, 2);
    assert.ok(fs.existsSync('/a/b/../b/z'));
    assert.ok(!fs.existsSync('/a/b/z/q'));
    assert.equal(fs.readFileSync('/a/b/z', 'utf8'), 'zz');
    assert.deepEqual(fs.readFileSync('/a/b/z'), Buffer.from('zz'));
    assert.throws(() => fs.readFileSync('/a/b'), code('EISDIR'));
  });

  void test('open flags: r, r+, w, wx, a, a+, and directories', () => {
    const { fs } = world();
    fs.mkdirSync('/d');
    assert.throws(() => fs.openSync('/d/f', 'r'), code('ENOENT'));
    assert.throws(() => fs.openSync('/d/f', 'r+'), code('ENOENT'));
    let fd = fs.openSync('/d/f', 'wx');
    fs.writeSync(fd, 'hello');
    fs.closeSync(fd);
    assert.throws(() => fs.openSync('/d/f', 'wx'), code('EEXIST'));
    assert.throws(() => fs.openSync('/d/f', 'ax'), code('EEXIST'));
    fd = fs.openSync('/d/f', 'r');
    assert.throws(() => fs.writeSync(fd, 'x'), code('EBADF'));
    assert.throws(() => fs.ftruncateSync(fd, 0), code('EINVAL'));
    fs.closeSync(fd);
    fd = fs.openSync('/d/f', 'r+');
    fs.writeSync(fd, 'J');
    fs.closeSync(fd);
    assert.equal(fs.readFileSync('/d/f', 'latin1'), 'Jello');
    fd = fs.openSync('/d/f', 'a');
    fs.writeSync(fd, '!', 0); // O_APPEND ignores the position, as Linux does
    fs.closeSync(fd);
    assert.equal(fs.readFileSync('/d/f', 'latin1'), 'Jello!');
    fd = fs.openSync('/d/f', 'a+');
    const b = Buffer.alloc(3);
    assert.equal(fs.readSync(fd, b, 0, 3, 0), 3);
    assert.equal(b.toString(), 'Jel');
    fs.closeSync(fd);
    fd = fs.openSync('/d/f', 'w+');
    assert.equal(fs.fstatSync(fd).size, 0);
    fs.closeSync(fd);
    assert.throws(() => fs.openSync('/d', 'w'), code('EISDIR'));
    assert.throws(() => fs.openSync('/d', 'r+'), code('EISDIR'));
    const dfd = fs.openSync('/d', 'r');
    fs.fsyncSync(dfd);
    assert.throws(() => fs.readSync(dfd, Buffer.alloc(1), 0, 1, 0), code('EISDIR'));
    fs.closeSync(dfd);
    assert.throws(() => fs.closeSync(dfd), code('EBADF'));
    assert.throws(() => fs.fstatSync(12345), (e: NodeJS.ErrnoException) => e.code === 'EBADF' && e.syscall === 'fstat');
  });

  void test('positions: sequential and positional I/O, reads past EOF return 0, writes past EOF zero-fill', () => {
    const { fs } = world();
    fs.mkdirSync('/d');
    const fd = fs.openSync('/d/f', 'w+');
    assert.equal(fs.writeSync(fd, Buffer.from('abcdef'), 1, 3), 3); // "bcd" at the fd's position 0
    assert.equal(fs.writeSync(fd, 'XY'), 2); // then at 3
    assert.equal(fs.readFileSync('/d/f', 'latin1'), 'bcdXY');
    fs.writeSync(fd, Buffer.from('Z'), 0, 1, 8); // positional, past EOF: zero-filled gap
    assert.deepEqual(fs.readFileSync('/d/f'), Buffer.from([0x62, 0x63, 0x64, 0x58, 0x59, 0, 0, 0, 0x5a]));
    fs.writeSync(fd, 'W'); // the positional write did not move the fd's position
    assert.equal(fs.readFileSync('/d/f', 'latin1')[5], 'W');
    const b = Buffer.alloc(4, 0xee);
    assert.equal(fs.readSync(fd, b, 0, 4, 100), 0);
    assert.equal(fs.readSync(fd, b, 0, 4, 7), 2);
    assert.deepEqual([...b], [0, 0x5a, 0xee, 0xee]);
    assert.equal(fs.readSync(fd, b, { position: 0, length: 1 }), 1);
    assert.equal(b[0], 0x62);
    fs.ftruncateSync(fd, 20);
    assert.equal(fs.fstatSync(fd).size, 20);
    assert.equal(fs.readFileSync('/d/f').subarray(9).every((x) => x === 0), true);
    fs.ftruncateSync(fd, 2);
    assert.equal(fs.readFileSync('/d/f', 'latin1'), 'bc');
    fs.ftruncateSync(fd, 4); // bytes cut off come back as zeros, not as the old data
    assert.deepEqual([...fs.readFileSync('/d/f')], [0x62, 0x63, 0, 0]);
    fs.closeSync(fd);
    fs.writeFileSync('/d/g', 'one');
    fs.appendFileSync('/d/g', '+two');
    assert.equal(fs.readFileSync('/d/g', 'utf8'), 'one+two');
  });

  void test('rename, unlink, rm, rmdir: Node errors; an open fd outlives unlink', () => {
    const { fs } = world();
    fs.mkdirSync('/d/e/f', { recursive: true });
    fs.writeFileSync('/d/x', 'x');
    fs.writeFileSync('/d/e/y', 'y');
    assert.throws(() => fs.renameSync('/d/nope', '/d/z'), (e: NodeJS.ErrnoException) => {
      assert.equal(e.message, "ENOENT: no such file or directory, rename '/d/nope' -> '/d/z'");
      return true;
    });
    assert.throws(() => fs.renameSync('/d/x', '/d/e'), code('EISDIR'));
    assert.throws(() => fs.renameSync('/d/e', '/d/x'), code('ENOTDIR'));
    assert.throws(() => fs.renameSync('/d/e', '/d/e/f/g'), code('EINVAL'));
    fs.mkdirSync('/d/empty');
    assert.throws(() => fs.renameSync('/d/empty', '/d/e'), code('ENOTEMPTY'));
    fs.renameSync('/d/e', '/d/empty'); // over an empty directory
    assert.deepEqual(fs.readdirSync('/d'), ['empty', 'x']);
    fs.writeFileSync('/d/w', 'w');
    fs.renameSync('/d/w', '/d/x'); // over a file
    assert.equal(fs.readFileSync('/d/x', 'utf8'), 'w');
    assert.throws(() => fs.unlinkSync('/d/empty'), code('EISDIR'));
    assert.throws(() => fs.unlinkSync('/d/nope'), code('ENOENT'));
    assert.throws(() => fs.rmdirSync('/d/empty'), code('ENOTEMPTY'));
    assert.throws(() => fs.rmdirSync('/d/x'), code('ENOTDIR'));
    assert.throws(() => fs.rmSync('/d/empty'), code('ERR_FS_EISDIR'));
    assert.throws(() => fs.rmSync('/d/nope'), (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && e.syscall === 'lstat');
    fs.rmSync('/d/nope', { force: true });
    const fd = fs.openSync('/d/x', 'r+');
    fs.unlinkSync('/d/x');
    assert.ok(!fs.existsSync('/d/x'));
    fs.writeSync(fd, 'still', 0);
    const b = Buffer.alloc(5);
    fs.readSync(fd, b, 0, 5, 0);
    assert.equal(b.toString(), 'still');
    fs.closeSync(fd);
    fs.rmSync('/d/empty', { recursive: true });
    assert.deepEqual(fs.readdirSync('/d'), []);
  });

  void test('callbacks are never synchronous, take simulated time, and run as the caller', async () => {
    const { loop, fs } = world(3, { ioLatencyMs: [2, 2], syncLatencyMs: [5, 9] });
    fs.mkdirSync('/d');
    let opened: number | undefined;
    let owner = '';
    loop.as('n7', () =>
      fs.open('/d/f', 'w+', 0o644, (err, fd) => {
        assert.equal(err, null);
        opened = fd;
        owner = loop.current;
      }),
    );
    assert.equal(opened, undefined, 'not called synchronously');
    assert.ok(fs.existsSync('/d/f'), 'the open took effect when called');
    await loop.runUntil(100, () => opened !== undefined);
    assert.equal(loop.now, 2);
    assert.equal(owner, 'n7');
    const fd = opened!;
    const t0 = loop.now;
    const n = await drive(loop, call<number>((cb) => fs.writev(fd, [Buffer.from('ab'), Buffer.from('cd')], 0, cb)));
    assert.equal(n, 4);
    assert.equal(loop.now - t0, 2);
    const t1 = loop.now;
    await drive(loop, call((cb) => fs.fdatasync(fd, cb)));
    assert.ok(loop.now - t1 >= 5 && loop.now - t1 <= 9, `sync took ${loop.now - t1} ms`);
    const tTrunc = loop.now;
    await drive(loop, call((cb) => fs.ftruncate(fd, 2, cb)));
    const st = await drive(loop, call<import('node:fs').Stats>((cb) => fs.fstat(fd, cb)));
    assert.equal(st!.size, 2);
    assert.equal(st!.mtimeMs, SIM_EPOCH_MS + tTrunc, 'mtime is simulated time');
    const b = Buffer.alloc(8);
    const r = await drive(loop, call<number>((cb) => fs.read(fd, b, 0, 8, 0, cb)));
    assert.equal(r, 2);
    await drive(loop, call((cb) => fs.close(fd, cb)));
    const err = await drive(loop, call((cb) => fs.close(fd, cb))).then(() => null, (e: unknown) => e as NodeJS.ErrnoException);
    assert.equal(err?.code, 'EBADF');
    assert.throws(() => (fs.close as (fd: number) => void)(fd), TypeError);
  });

  void test('promises: FileHandle read/write/writev/writeFile/truncate/stat/sync/close, readFile, readdir, rm', async () => {
    const { loop, fs } = world(4);
    const fsp = fs.promises;
    await drive(loop, fsp.mkdir('/p/q', { recursive: true }));
    const h = await drive(loop, fsp.open('/p/q/f', 'w+', 0o644));
    assert.equal(typeof h.fd, 'number');
    const w = await drive(loop, h.write(Buffer.from('hello world'), 0, 5));
    assert.equal(w.bytesWritten, 5);
    await drive(loop, h.write(Buffer.from(' there'))); // at the handle's position
    await drive(loop, h.writev([Buffer.from('!'), Buffer.from('?')], 11));
    const { bytesRead, buffer } = await drive(loop, h.read(Buffer.alloc(20), 0, 20, 0));
    assert.equal(buffer.subarray(0, bytesRead).toString(), 'hello there!?');
    assert.equal((await drive(loop, h.stat())).size, 13);
    await drive(loop, h.truncate(5));
    await drive(loop, h.sync());
    await drive(loop, h.datasync());
    await drive(loop, h.close());
    assert.equal(h.fd, -1);
    await drive(loop, h.close()); // closing twice is fine, as in Node
    assert.equal(await drive(loop, fsp.readFile('/p/q/f', 'utf8')), 'hello');
    const e = await drive(loop, fsp.open('/p/q/nope', 'r')).then(() => undefined, (x: unknown) => x as NodeJS.ErrnoException);
    assert.equal(e?.code, 'ENOENT');
    assert.equal(e?.syscall, 'open');
    const h2 = await drive(loop, fsp.open('/p/q/g', 'w', 0o644));
    await drive(loop, h2.writeFile('42', 'latin1'));
    await drive(loop, h2.close());
    assert.equal(fs.readFileSync('/p/q/g', 'latin1'), '42');
    const ents = await drive(loop, fsp.readdir('/p/q', { withFileTypes: true }));
    assert.deepEqual(ents.map((d) => d.name), ['f', 'g']);
    await drive(loop, fsp.rename('/p/q/g', '/p/g'));
    await drive(loop, fsp.unlink('/p/g'));
    await drive(loop, fsp.rm('/p/q/nope', { force: true }));
    assert.equal((await drive(loop, fsp.stat('/p/q/f'))).size, 5);
    await drive(loop, fsp.rm('/p', { recursive: true, force: true }));
    assert.ok(!fs.existsSync('/p'));
  });

  void test('createReadStream: highWaterMark chunks over simulated time; a missing file is an error event', async () => {
    const { loop, fs } = world(5, { ioLatencyMs: [1, 1] });
    fs.mkdirSync('/s');
    const data = Buffer.alloc(10_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    fs.writeFileSync('/s/f', data);
    const chunks: Buffer[] = [];
    const t0 = loop.now;
    await drive(loop, (async () => {
      for await (const c of fs.createReadStream('/s/f', { highWaterMark: 4096 })) chunks.push(c as Buffer);
    })());
    assert.deepEqual(chunks.map((c) => c.length), [4096, 4096, 1808]);
    assert.deepEqual(Buffer.concat(chunks), data);
    assert.ok(loop.now - t0 >= 4, 'reading took simulated time');
    const err = await drive(loop, new Promise<NodeJS.ErrnoException>((resolve, reject) => {
      const s = fs.createReadStream('/s/nope');
      s.on('error', (e) => resolve(e));
      s.on('data', () => reject(new Error('data from a missing file')));
    }));
    assert.equal(err.code, 'ENOENT');
    assert.equal(fs.readdirSync('/s').length, 1);
  });
});

void describe('SimDisk: durability and crashes', () => {
  void test('crash without torn writes: synced data stays, unsynced is lost, directory operations stay', () => {
    const { fs, disk } = world(6, { tornWrites: false });
    fs.mkdirSync('/n1/data', { recursive: true });
    const fd = fs.openSync('/n1/data/f', 'w');
    fs.writeSync(fd, 'synced');
    fs.fsyncSync(fd);
    fs.writeSync(fd, '+lost');
    fs.ftruncateSync(fd, 100);
    assert.equal(disk.unsynced('/n1/data/f'), 2);
    assert.equal(disk.durableContent('/n1/data/f').toString(), 'synced');
    fs.writeFileSync('/n1/data/never-synced', 'gone');
    fs.mkdirSync('/n1/data/sub');
    fs.writeFileSync('/n2', 'other root');
    disk.crash('/n1');
    assert.equal(fs.readFileSync('/n1/data/f', 'latin1'), 'synced');
    assert.equal(fs.readFileSync('/n1/data/never-synced', 'latin1'), '', 'the file exists (directory ops are durable), empty');
    assert.ok(fs.statSync('/n1/data/sub').isDirectory());
    assert.equal(fs.readFileSync('/n2', 'latin1'), 'other root', 'files outside the root are untouched');
    assert.throws(() => fs.writeSync(fd, 'x'), code('EBADF'), 'fds under the root are closed');
  });

  void test('crash with torn writes: a prefix of the unsynced writes survives, the last possibly cut short', () => {
    const seen = { none: 0, partial: 0, whole: 0 };
    for (let seed = 1; seed <= 200; seed++) {
      const { fs, disk } = world(seed);
      fs.mkdirSync('/r');
      const fd = fs.openSync('/r/f', 'w');
      fs.writeSync(fd, 'A'.repeat(10));
      fs.fdatasyncSync(fd);
      fs.writeSync(fd, 'B'.repeat(10));
      fs.writeSync(fd, 'C'.repeat(10));
      disk.crash('/r');
      const s = fs.readFileSync('/r/f', 'latin1');
      assert.match(s, /^A{10}(B{0,10}|B{10}C{0,10})$/, `seed ${seed}: ${s}`);
      if (s.length === 10) seen.none++;
      else if (s.length === 30) seen.whole++;
      else seen.partial++;
      assert.equal(disk.unsynced('/r/f'), 0, 'after a crash what is on disk is all there is');
    }
    assert.ok(seen.none > 0 && seen.partial > 0 && seen.whole > 0, JSON.stringify(seen));
  });

  void test('a sync makes durable what was written before it was called, at its completion', async () => {
    const { loop, fs, disk } = world(7, { tornWrites: false, syncLatencyMs: [5, 5] });
    fs.mkdirSync('/n');
    const fd = fs.openSync('/n/f', 'w');
    fs.writeSync(fd, 'before');
    let synced = false;
    fs.fsync(fd, (e) => {
      assert.equal(e, null);
      synced = true;
    });
    fs.writeSync(fd, '-after');
    assert.equal(disk.durableContent('/n/f').toString(), '', 'not durable before the sync completes');
    await loop.runUntil(100, () => synced);
    assert.equal(disk.durableContent('/n/f').toString(), 'before');
    disk.crash('/n');
    assert.equal(fs.readFileSync('/n/f', 'latin1'), 'before');
  });

  void test('crash(root, owner) closes that owner\'s fds: EBADF afterwards, pending completions never deliver', async () => {
    const { loop, fs, disk } = world(8, { tornWrites: false });
    fs.mkdirSync('/n1', { recursive: true });
    const fd1 = loop.as('n1', () => fs.openSync('/n1/a', 'w'));
    const fd2 = loop.as('n2', () => fs.openSync('/n1/b', 'w'));
    let delivered = 0;
    loop.as('n1', () => {
      fs.writeSync(fd1, 'data');
      fs.fdatasync(fd1, () => delivered++);
      fs.write(fd1, 'more', () => delivered++);
    });
    disk.crash('/n1', 'n1');
    await loop.runUntil(1000);
    assert.equal(delivered, 0, 'completions of a crashed fd are dropped');
    assert.equal(disk.durableContent('/n1/a').length, 0, 'the sync never happened');
    assert.throws(() => fs.writeSync(fd1, 'x'), code('EBADF'));
    assert.equal(fs.writeSync(fd2, 'n2 is alive'), 11, "another owner's fd stays open");
    assert.deepEqual(disk.openFds().map((f) => f.owner), ['n2']);
    disk.crash('/n1');
    assert.deepEqual(disk.openFds(), [], 'without an owner, every fd under the root closes');
  });

  void test('setCapacity: ENOSPC for sync, callback and promise writes and for growing truncates; nothing written', async () => {
    const { loop, fs, disk } = world(9);
    fs.mkdirSync('/full/x', { recursive: true });
    fs.mkdirSync('/free');
    disk.setCapacity('/full', 100);
    fs.writeFileSync('/full/x/a', Buffer.alloc(60, 1));
    const fd = fs.openSync('/full/b', 'w');
    assert.throws(() => fs.writeSync(fd, Buffer.alloc(50)), (e: NodeJS.ErrnoException) => e.code === 'ENOSPC' && e.syscall === 'write');
    assert.equal(fs.fstatSync(fd).size, 0);
    assert.throws(() => fs.ftruncateSync(fd, 41), code('ENOSPC'));
    fs.ftruncateSync(fd, 40);
    fs.writeSync(fd, Buffer.alloc(40, 2), 0, 40, 0); // overwriting in place needs no room
    const cbErr = await drive(loop, call((cb) => fs.write(fd, Buffer.alloc(1), 0, 1, 40, cb))).then(() => null, (e: unknown) => e as NodeJS.ErrnoException);
    assert.equal(cbErr?.code, 'ENOSPC');
    const h = await drive(loop, fs.promises.open('/full/x/a', 'a'));
    const pErr = await drive(loop, h.write(Buffer.from('z'))).then(() => null, (e: unknown) => e as NodeJS.ErrnoException);
    assert.equal(pErr?.code, 'ENOSPC');
    await drive(loop, h.close());
    assert.equal(disk.usage('/full'), 100);
    assert.equal(fs.readFileSync('/full/x/a').length, 60);
    fs.writeFileSync('/free/big', Buffer.alloc(1000)); // other roots are not limited
    disk.setCapacity('/full', undefined);
    fs.writeSync(fd, Buffer.alloc(500));
    assert.equal(fs.fstatSync(fd).size, 500); // at the fd's position, still 0
    fs.closeSync(fd);
  });

  void test('corruption helpers: flipByte and truncate are durable at once; list and exists', () => {
    const { fs, disk } = world(10);
    fs.mkdirSync('/c/d', { recursive: true });
    fs.writeFileSync('/c/d/f', Buffer.from([1, 2, 3, 4]));
    fs.writeFileSync('/c/a', 'a');
    fs.writeFileSync('/c/d/e', 'e');
    disk.flipByte('/c/d/f', 1);
    assert.deepEqual([...disk.readFile('/c/d/f')], [1, 0xfd, 3, 4]);
    disk.truncate('/c/d/f', 3);
    disk.crash('/c');
    assert.deepEqual([...fs.readFileSync('/c/d/f')], [1, 0xfd, 3]);
    assert.throws(() => disk.flipByte('/c/d/f', 3), RangeError);
    assert.deepEqual(disk.list('/c'), ['/c/a', '/c/d/e', '/c/d/f']);
    assert.deepEqual(disk.list('/nope'), []);
    assert.ok(disk.exists('/c/d') && disk.exists('/c/a') && !disk.exists('/c/zz'));
    assert.throws(() => disk.readFile('/c/zz'), code('ENOENT'));
  });

  void test('deterministic: the same seed replays the same time line', async () => {
    const run = async (seed: number): Promise<string[]> => {
      const { loop, fs, disk } = world(seed);
      const log: string[] = [];
      fs.mkdirSync('/n');
      for (let i = 0; i < 5; i++) {
        const fd = fs.openSync(`/n/f${i}`, 'w');
        fs.write(fd, `data${i}`, (e) => {
          log.push(`${loop.now} write ${i} ${String(e)}`);
          fs.fsync(fd, () => log.push(`${loop.now} sync ${i}`));
        });
      }
      await loop.runUntil(1000);
      disk.crash('/n');
      return [...log, ...disk.list('/n').map((f) => `${f}=${fs.readFileSync(f, 'latin1')}`)];
    };
    assert.deepEqual(await run(42), await run(42));
  });
});

// ---------------------------------------------------------------- the real storage code on SimDisk

const OPEN_ACL = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

function createTxn(zxid: number): { hdr: TxnHeader; txn: Txn } {
  const txn: Txn = { type: OpCode.create, path: `/k${zxid}`, data: Buffer.from(`v${zxid}`), acl: OPEN_ACL, ephemeral: false, parentCVersion: zxid };
  return { hdr: { clientId: 1n, cxid: zxid, zxid, time: SIM_EPOCH_MS + zxid, type: OpCode.create }, txn };
}

void describe('SimDisk runs the real storage code', () => {
  void test('txn log: every fsynced txn survives a crash, the torn tail is cut, the log goes on', async () => {
    let cuts = 0;
    let beyondDurable = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const loop = new SimLoop(seed);
      const disk = new SimDisk(loop, loop.rng.fork());
      const restore = setSys({ fs: disk.fs, clock: loop.clock() });
      try {
        const dir = '/n1/log/version-2';
        let durable = -1;
        const open = (): Promise<FileTxnLog> => runAs(loop, 'n1', () => FileTxnLog.open({
          dir, preAllocSize: 8 << 10, logger: silentLogger, onDurable: (z) => (durable = z), onError: (e) => {
            throw e;
          },
        }));
        const log = await drive(loop, open());
        const append = (z: number): void => loop.as('n1', () => {
          const t = createTxn(z);
          log.append(t.hdr, t.txn);
          if (z % 4 === 0) log.flush();
          if (z === 70) log.roll();
        });
        for (let z = 1; z <= 20; z++) append(z);
        loop.as('n1', () => log.flush());
        await loop.runUntil(loop.now + 10_000, () => durable === 20);
        assert.equal(durable, 20, `seed ${seed}`);
        // Keep appending while the loop runs; crash at a random moment, syncs in flight.
        const stopAt = loop.now + loop.rng.int(1, 60);
        let z = 21;
        while (loop.now < stopAt && z <= 200) {
          append(z++);
          await loop.runUntil(loop.now + loop.rng.int(0, 2));
        }
        const durableAtCrash = durable;
        loop.kill('n1');
        disk.crash('/n1', 'n1');

        const cut = await drive(loop, runAs(loop, 'n1', () => truncateTornTail(dir)));
        if (cut !== undefined) cuts++;
        assert.equal(await drive(loop, runAs(loop, 'n1', () => truncateTornTail(dir))), undefined, 'clean after the cut');
        const got = [...readTxns(dir, 0)].map((t) => t.hdr.zxid);
        assert.ok(got.length >= durableAtCrash, `seed ${seed}: ${got.length} txns recovered, ${durableAtCrash} were durable`);
        assert.deepEqual(got, Array.from({ length: got.length }, (_, i) => i + 1), `seed ${seed}: a gapless prefix`);
        if (got.length > durableAtCrash) beyondDurable++;
        for (const f of disk.list(dir)) {
          const it = scanLogFile(f, { newest: f === disk.list(dir).at(-1) });
          let n = it.next();
          while (n.done !== true) n = it.next();
          assert.ok(n.value.kind === 'eof' || n.value.kind === 'zeros', `${f} ends with ${n.value.kind}`);
        }

        // The restarted server logs on after the recovered txns.
        durable = -1;
        const log2 = await drive(loop, open());
        const next = got.length + 1;
        loop.as('n1', () => {
          for (let k = next; k < next + 3; k++) {
            const t = createTxn(k);
            log2.append(t.hdr, t.txn);
          }
        });
        await drive(loop, runAs(loop, 'n1', () => log2.close()));
        assert.equal(durable, next + 2);
        assert.deepEqual([...readTxns(dir, 0)].map((t) => t.hdr.zxid), Array.from({ length: next + 2 }, (_, i) => i + 1));
        assert.deepEqual(disk.openFds(), [], 'no fd leaked');
      } finally {
        restore();
      }
    }
    assert.ok(cuts > 0, 'some crashes left a torn tail to cut');
    assert.ok(beyondDurable > 0, 'some crashes kept unsynced txns');
  });

  void test('database: snapshot, log and epoch files through a crash; loadDatabase recovers the synced state', async () => {
    for (let seed = 1; seed <= 8; seed++) {
      const loop = new SimLoop(100 + seed);
      const disk = new SimDisk(loop, loop.rng.fork());
      const restore = setSys({ fs: disk.fs, clock: loop.clock() });
      try {
        const opts = {
          dataDir: '/n1/data', dataLogDir: '/n1/log', logger: silentLogger, extendedTypesEnabled: true,
          trustEmptySnapshot: false, autoCreateDb: true, snapshotCompression: '' as const,
        };
        for (const d of ['/n1/data/version-2', '/n1/log/version-2']) disk.fs.mkdirSync(d, { recursive: true });
        const tree = new DataTree({ extendedTypesEnabled: true });
        let durable = -1;
        const stage = await drive(loop, runAs(loop, 'n1', () => DurableStage.open({
          ...opts, snapCount: 100_000, preAllocSize: 16 << 10, onDurable: (z) => (durable = z),
          onError: (e) => {
            throw e;
          },
          snapshotSource: () => ({ tree, sessions: [] }), random: () => 0.5,
        })));
        const apply = (from: number, to: number): void => loop.as('n1', () => {
          for (let z = from; z <= to; z++) {
            const t = createTxn(z);
            tree.processTxn(t.hdr, t.txn);
            stage.append(t.hdr, t.txn);
            if (z % 3 === 0) stage.flush();
          }
          stage.flush();
        });
        apply(1, 30);
        await loop.runUntil(loop.now + 10_000, () => durable === 30);
        await drive(loop, runAs(loop, 'n1', () => stage.takeSnapshot()));
        assert.deepEqual(listSnapshots('/n1/data/version-2').map((s) => path.basename(s.file)), ['snapshot.1e']);
        await drive(loop, runAs(loop, 'n1', () => writeEpochFile('/n1/data/version-2/currentEpoch', 3)));
        loop.as('n1', () => writeEpochFileSync('/n1/data/version-2/acceptedEpoch', 4));
        apply(31, 45);
        await loop.runUntil(loop.now + 10_000, () => durable === 45);
        apply(46, 60);
        await loop.runUntil(loop.now + loop.rng.int(0, 12));
        const durableAtCrash = durable;
        loop.kill('n1');
        disk.crash('/n1', 'n1');

        const db = await drive(loop, runAs(loop, 'n1', () => loadDatabase(opts)));
        assert.equal(db.snapshotFile, '/n1/data/version-2/snapshot.1e');
        assert.ok(db.lastZxid >= durableAtCrash && db.lastZxid <= 60, `seed ${seed}: recovered to ${db.lastZxid}, durable ${durableAtCrash}`);
        for (let z = 1; z <= 60; z++) assert.equal(db.tree.getNode(`/k${z}`) !== undefined, z <= db.lastZxid, `seed ${seed}: /k${z}`);
        assert.equal(db.tree.getNode('/k7')?.data.toString(), 'v7');
        assert.equal(readEpochFile('/n1/data/version-2/currentEpoch'), 3);
        assert.equal(readEpochFile('/n1/data/version-2/acceptedEpoch'), 4);
        assert.ok(!disk.exists('/n1/data/version-2/currentEpoch.tmp'));
      } finally {
        restore();
      }
    }
  });
});
