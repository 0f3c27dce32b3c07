// Damaged data directories. Each case is written by a real server of the kind under test, damaged on a copy, and
// handed to the same kind again (servers started as separate processes; nothing in-process, so the same test runs
// against Apache ZooKeeper 3.8, whose behaviour is the reference):
//  - torn tail: the newest log cut (truncated, or zero-filled to its size as after preallocation) at sampled byte
//    offsets of its last record: the server starts and serves every earlier txn, not the torn one.
//    ZKTS_CORRUPTION_EVERY_BYTE=1 tries every offset of the record (zkts: ~1 start per offset).
//  - newest snapshot with a flipped byte: the server falls back to the previous snapshot plus the logs and serves
//    exactly the tree it had (dumped before the kill).
//  - flipped byte in the middle of the newest log (a record's payload, so its checksum fails, with whole records
//    after it): the server refuses to start (exits non-zero); zkts must also name the file and the offset.
//  - logs but no snapshot: refused ("No snapshot found, but there are log entries"), also with an `initialize`
//    marker (which only vouches for an EMPTY database); accepted with snapshot.trust.empty=true, full tree served.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { testKinds, type RunningServer } from '../support/servers.js';
import { diffTrees } from '../support/treecompare.js';
import { connect, dumpServer } from './load.js';
import { copyDataDir, rmDir, startOn, tempDir, tryStart, versionFiles, type Kind } from './restart.js';

const EVERY_BYTE = process.env.ZKTS_CORRUPTION_EVERY_BYTE === '1';
const N = 30;

const dirs: string[] = [];
const servers: RunningServer[] = [];
void after(async () => {
  for (const s of servers) await s.stop();
  for (const d of dirs) rmDir(d);
});

interface LogRecord {
  start: number;
  /** one past the 'B' end-of-record byte */
  end: number;
  payloadStart: number;
  payload: Buffer;
}

/** The whole records of a txn log file (FileHeader is 16 bytes; record = long crc, int len, payload, 'B'). */
function logRecords(buf: Buffer): LogRecord[] {
  const out: LogRecord[] = [];
  let off = 16;
  while (off + 12 <= buf.length) {
    const len = buf.readInt32BE(off + 8);
    if (len <= 0 || off + 12 + len + 1 > buf.length || buf[off + 12 + len] !== 0x42) break;
    out.push({ start: off, end: off + 12 + len + 1, payloadStart: off + 12, payload: buf.subarray(off + 12, off + 12 + len) });
    off += 12 + len + 1;
  }
  return out;
}

const nameZxid = (f: string): bigint => BigInt('0x' + f.split('.')[1]);
function newest(dir: string, prefix: 'log' | 'snapshot'): string {
  const files = versionFiles(dir).filter((f) => f.startsWith(prefix + '.')).sort((a, b) => (nameZxid(a) < nameZxid(b) ? -1 : 1));
  assert.ok(files.length > 0, `no ${prefix} files in ${dir}`);
  return path.join(dir, 'version-2', files[files.length - 1]);
}

const pad = (i: number): string => String(i).padStart(2, '0');
const expectedChildren = (n: number): string[] => Array.from({ length: n }, (_, i) => `n${pad(i)}`);

/** Writes /t and /t/n00../t/n29 one txn each, leaves the writer's session open and kills the server (SIGKILL). */
async function writeSimple(kind: Kind, config: Record<string, string | number | boolean> = {}): Promise<string> {
  const dataDir = tempDir(`corrupt-${kind}`);
  dirs.push(dataDir);
  const s = await startOn(kind, dataDir, { config });
  servers.push(s);
  const c = await connect(s);
  await c.create('/t', null);
  for (let i = 0; i < N; i++) await c.create(`/t/n${pad(i)}`, `d${i}`);
  s.proc.kill('SIGKILL');
  await s.stop();
  await c.close();
  return dataDir;
}

async function childrenOn(kind: Kind, dataDir: string, config: Record<string, string | number | boolean> = {}): Promise<string[]> {
  const s = await startOn(kind, dataDir, { config });
  servers.push(s);
  try {
    const c = await connect(s);
    try {
      return (await c.getChildren('/t')).sort();
    } finally {
      await c.close();
    }
  } finally {
    await s.stop();
  }
}

void describe('damaged data directories', () => {
  for (const kind of testKinds()) {
    void it(`${kind}: torn tail of the newest log: earlier txns served, the torn one not`, { timeout: 240_000 }, async () => {
      const dataDir = await writeSimple(kind);
      const logFile = newest(dataDir, 'log');
      const buf = fs.readFileSync(logFile);
      const recs = logRecords(buf);
      const last = recs[recs.length - 1];
      assert.ok(last.payload.includes(Buffer.from(`/t/n${pad(N - 1)}`)), 'the last record should be the last create');
      const len = last.end - last.start;
      // offsets inside the record: in the crc, at the length, in the payload, at the 'B'
      let offsets = EVERY_BYTE
        ? Array.from({ length: len }, (_, i) => last.start + i)
        : [...new Set([0, 1, 7, 8, 10, 12, 13, 30, Math.floor(len / 2), len - 2, len - 1].map((d) => last.start + d))];
      if (kind === 'apache' && !EVERY_BYTE) offsets = offsets.filter((_, i) => i % 2 === 0); // the JVM starts slowly
      const failures: string[] = [];
      for (const mode of ['truncate', 'zero-fill'] as const) {
        for (const off of offsets) {
          const copy = copyDataDir(dataDir, 'torn');
          try {
            const f = path.join(copy, 'version-2', path.basename(logFile));
            if (mode === 'truncate') fs.truncateSync(f, off);
            else {
              const b = fs.readFileSync(f);
              b.fill(0, off);
              fs.writeFileSync(f, b);
            }
            const got = await childrenOn(kind, copy);
            const want = expectedChildren(N - 1);
            if (JSON.stringify(got) !== JSON.stringify(want)) failures.push(`${mode} at ${off} (record ${last.start}..${last.end}): children ${got.join(',')}`);
          } catch (e) {
            failures.push(`${mode} at ${off}: ${(e as Error).message.slice(0, 400)}`);
          } finally {
            rmDir(copy);
          }
        }
      }
      assert.deepEqual(failures, []);
      // and untouched: all N
      const copy = copyDataDir(dataDir, 'whole');
      dirs.push(copy);
      assert.deepEqual(await childrenOn(kind, copy), expectedChildren(N));
    });

    void it(`${kind}: newest snapshot with a flipped byte: older snapshot + logs, same tree`, { timeout: 120_000 }, async () => {
      const dataDir = tempDir(`snapflip-${kind}`);
      dirs.push(dataDir);
      const config = { snapCount: 20 };
      const s = await startOn(kind, dataDir, { config });
      servers.push(s);
      const c = await connect(s);
      await c.create('/t', 'top');
      for (let i = 0; i < 80; i++) await c.create(`/t/n${pad(i)}`, `d${i}`);
      for (let i = 0; i < 20; i++) await c.setData(`/t/n${pad(i)}`, `again${i}`);
      await new Promise((r) => setTimeout(r, 500)); // let the last snapshot finish
      const before = await dumpServer(s);
      s.proc.kill('SIGKILL');
      await s.stop();
      await c.close();
      const snaps = versionFiles(dataDir).filter((f) => f.startsWith('snapshot.'));
      assert.ok(snaps.length >= 3, `expected several snapshots: ${snaps.join(' ')}`);
      for (const where of [0.5, 0.8]) {
        const copy = copyDataDir(dataDir, 'snapflip');
        dirs.push(copy);
        const snap = newest(copy, 'snapshot');
        const b = fs.readFileSync(snap);
        const at = Math.floor((b.length - 5) * where);
        b[at] = b[at] ^ 0x5a;
        fs.writeFileSync(snap, b);
        const r = await startOn(kind, copy, { config });
        servers.push(r);
        const got = await dumpServer(r);
        const out = r.output();
        await r.stop();
        const diff = diffTrees(before, got, {}, ['before', 'after']);
        assert.deepEqual(diff, [], `flipped byte at ${at} of ${path.basename(snap)}:\n${diff.join('\n')}\n--- output ---\n${out.slice(-3000)}`);
      }
    });

    void it(`${kind}: flipped byte in the middle of the newest log: refuses to start`, { timeout: 120_000 }, async () => {
      const dataDir = await writeSimple(kind);
      const copy = copyDataDir(dataDir, 'logflip');
      dirs.push(copy);
      const logFile = newest(copy, 'log');
      const buf = fs.readFileSync(logFile);
      const recs = logRecords(buf);
      assert.ok(recs.length > 20);
      const victim = recs[Math.floor(recs.length / 2)];
      const at = victim.payloadStart + Math.floor(victim.payload.length / 2);
      buf[at] = buf[at] ^ 0x01;
      fs.writeFileSync(logFile, buf);
      const o = await tryStart(kind, copy);
      const tail = o.output.slice(-3000);
      assert.equal(o.started, false, `${kind} served a log with a corrupt record at ${victim.start}:\n${tail}`);
      assert.ok(o.exitCode !== null && o.exitCode !== 0, `${kind} should exit non-zero (exit ${o.exitCode}):\n${tail}`);
      if (kind === 'apache') {
        assert.match(o.output, /CRC check failed|CRC/i);
      } else {
        const name = path.basename(logFile);
        assert.ok(o.output.includes(name), `zkts should name ${name}:\n${tail}`);
        const offsets = [victim.start, at].flatMap((n) => [String(n), '0x' + n.toString(16)]);
        assert.ok(offsets.some((x) => o.output.includes(x)), `zkts should name the offset (${offsets.join(' or ')}):\n${tail}`);
      }
    });

    void it(`${kind}: logs but no snapshot: refused, also with an initialize marker; snapshot.trust.empty=true accepts`, { timeout: 120_000 }, async () => {
      const dataDir = await writeSimple(kind);
      const strip = (dir: string): void => {
        for (const f of versionFiles(dir)) if (f.startsWith('snapshot.')) fs.rmSync(path.join(dir, 'version-2', f));
      };
      const plain = copyDataDir(dataDir, 'nosnap');
      dirs.push(plain);
      strip(plain);
      const o = await tryStart(kind, plain);
      assert.equal(o.started, false, `${kind} started without a snapshot:\n${o.output.slice(-2000)}`);
      assert.ok(o.exitCode !== null && o.exitCode !== 0, `exit ${o.exitCode}`);
      assert.match(o.output, /No snapshot found, but there are log entries/);

      const marked = copyDataDir(dataDir, 'nosnap-init');
      dirs.push(marked);
      strip(marked);
      fs.writeFileSync(path.join(marked, 'initialize'), '');
      const m = await tryStart(kind, marked);
      assert.equal(m.started, false, `${kind} started from logs alone with an initialize marker:\n${m.output.slice(-2000)}`);
      // ZooKeeper deletes the marker when it reads it (Files.deleteIfExists), even though the start then fails
      assert.equal(fs.existsSync(path.join(marked, 'initialize')), false, 'the initialize marker is consumed');

      const trusted = copyDataDir(dataDir, 'nosnap-trust');
      dirs.push(trusted);
      strip(trusted);
      assert.deepEqual(await childrenOn(kind, trusted, { 'snapshot.trust.empty': true }), expectedChildren(N));
    });
  }

  void it('an empty dataDir with an initialize marker starts empty (all kinds)', { timeout: 60_000 }, async () => {
    for (const kind of testKinds()) {
      const dir = tempDir(`init-${kind}`);
      dirs.push(dir);
      fs.writeFileSync(path.join(dir, 'initialize'), '');
      const s = await startOn(kind, dir);
      servers.push(s);
      const c = await connect(s);
      assert.deepEqual((await c.getChildren('/')).sort(), ['zookeeper']);
      await c.close();
      await s.stop();
      assert.equal(fs.existsSync(path.join(dir, 'initialize')), false, `${kind}: the initialize marker is consumed`);
    }
  });
});
