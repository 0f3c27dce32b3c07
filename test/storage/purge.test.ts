// PurgeTxnLog / DatadirCleanupManager: the pure plan on many layouts, the file-level purge, the timer task, and the
// same directories handed to Apache ZooKeeper 3.8's own PurgeTxnLog with what remains compared.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isValidSnapshotFile, purge, purgePlan, PurgeTask, zxidFromName, type DataFile } from '../../src/storage/purge.js';
import { createLogger, type Logger } from '../../src/util/log.js';
import { ORACLE_CLASSPATH, oracleAvailable } from '../support/servers.js';

const snap = (z: number, valid = true): DataFile => ({ file: `snapshot.${z.toString(16)}`, zxid: z, valid });
const log = (z: number): DataFile => ({ file: `log.${z.toString(16)}`, zxid: z });
const names = (xs: DataFile[]): string[] => xs.map((x) => x.file);
const sorted = (xs: string[]): string[] => [...xs].sort();

function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ sink: (l) => lines.push(l), level: 'debug' }), lines };
}

void describe('purgePlan', () => {
  void it('refuses a retain count below 3', () => {
    assert.throws(() => purgePlan([], [], 2), /greater than or equal to 3/);
    assert.throws(() => purgePlan([snap(1)], [log(1)], 0), RangeError);
  });

  void it('deletes nothing without a valid snapshot', () => {
    assert.deepEqual(purgePlan([], [log(1), log(5)], 3), { deleteSnapshots: [], deleteLogs: [] });
    assert.deepEqual(purgePlan([snap(1, false), snap(9, false)], [log(1)], 3), { deleteSnapshots: [], deleteLogs: [] });
  });

  void it('keeps everything when there are at most N snapshots', () => {
    const s = [snap(0x10), snap(0x20), snap(0x30)];
    const l = [log(1), log(0x11), log(0x21)];
    assert.deepEqual(purgePlan(s, l, 3), { deleteSnapshots: [], deleteLogs: [] });
  });

  void it('keeps N snapshots, the logs after the oldest kept, and the one log before it', () => {
    const s = [snap(0x10), snap(0x20), snap(0x30), snap(0x40), snap(0x50)];
    const l = [log(1), log(0x11), log(0x21), log(0x31), log(0x41)];
    // oldest kept: snapshot.30; the log that may hold txns after 0x30 is log.21.
    const p = purgePlan(s, l, 3);
    assert.deepEqual(sorted(p.deleteSnapshots), ['snapshot.10', 'snapshot.20']);
    assert.deepEqual(sorted(p.deleteLogs), ['log.1', 'log.11']);
  });

  void it('a log named exactly at the oldest kept snapshot: no earlier log is kept', () => {
    const s = [snap(0x10), snap(0x20), snap(0x30), snap(0x40)];
    const l = [log(1), log(0x11), log(0x20), log(0x31)];
    const p = purgePlan(s, l, 3);
    assert.deepEqual(p.deleteSnapshots, ['snapshot.10']);
    assert.deepEqual(sorted(p.deleteLogs), ['log.1', 'log.11']);
  });

  void it('one long log spanning several snapshots is kept', () => {
    const s = [snap(0x10), snap(0x20), snap(0x30), snap(0x40), snap(0x50)];
    const p = purgePlan(s, [log(1)], 3);
    assert.deepEqual(sorted(p.deleteSnapshots), ['snapshot.10', 'snapshot.20']);
    assert.deepEqual(p.deleteLogs, []);
  });

  void it('when every log is newer than the oldest kept snapshot, all logs are kept', () => {
    const s = [snap(0x10), snap(0x20), snap(0x30), snap(0x40)];
    const p = purgePlan(s, [log(0x25), log(0x35)], 3);
    assert.deepEqual(p.deleteSnapshots, ['snapshot.10']);
    assert.deepEqual(p.deleteLogs, []);
  });

  void it('invalid snapshots are not counted; older invalid ones go, newer ones stay', () => {
    const s = [snap(0x10), snap(0x20), snap(0x30, false), snap(0x40), snap(0x50, false), snap(0x60)];
    const l = [log(1), log(0x15), log(0x25), log(0x45)];
    // valid newest-first: 60, 40, 20 -> oldest kept 0x20; log.15 is the one before it.
    const p = purgePlan(s, l, 3);
    assert.deepEqual(p.deleteSnapshots, ['snapshot.10']);
    assert.deepEqual(p.deleteLogs, ['log.1']);
  });

  void it('larger retain counts', () => {
    const s = Array.from({ length: 10 }, (_, i) => snap((i + 1) * 0x100));
    const l = Array.from({ length: 10 }, (_, i) => log(i * 0x100 + 1));
    const p = purgePlan(s, l, 7);
    // kept: 0x400..0xa00; oldest kept 0x400; log.301 is the last log <= 0x400.
    assert.deepEqual(sorted(p.deleteSnapshots), sorted(names(s.slice(0, 3))));
    assert.deepEqual(sorted(p.deleteLogs), sorted(['log.1', 'log.101', 'log.201']));
  });

  void it('unparseable names count as zxid -1 and are deleted once there is something to keep', () => {
    const s = [snap(0x10), snap(0x20), snap(0x30), { file: 'snapshot.zz', zxid: -1 }];
    const l = [log(0x5), { file: 'log.nothex', zxid: -1 }];
    const p = purgePlan(s, l, 3);
    assert.deepEqual(p.deleteSnapshots, ['snapshot.zz']);
    assert.deepEqual(p.deleteLogs, ['log.nothex']);
  });

  void it('epoch-sized zxids (bigint and number) compare correctly', () => {
    const e = (epoch: number, counter: number): number => epoch * 2 ** 32 + counter;
    const s = [snap(e(1, 5)), snap(e(2, 0)), snap(e(2, 9)), snap(e(3, 1))];
    const l = [log(e(1, 1)), log(e(1, 6)), log(e(2, 1)), log(e(3, 0))];
    const p = purgePlan(s, l, 3);
    assert.deepEqual(p.deleteSnapshots, [snap(e(1, 5)).file]);
    assert.deepEqual(p.deleteLogs, [log(e(1, 1)).file]);
    const big = purgePlan(s.map((x) => ({ ...x, zxid: BigInt(x.zxid) })), l.map((x) => ({ ...x, zxid: BigInt(x.zxid) })), 3);
    assert.deepEqual(big, p);
  });

  void it('compressed snapshot names carry their zxid', () => {
    assert.equal(zxidFromName('snapshot.1f.gz', 'snapshot'), 0x1fn);
    assert.equal(zxidFromName('snapshot.1f.snappy', 'snapshot'), 0x1fn);
    assert.equal(zxidFromName('log.100000001', 'log'), 0x100000001n);
    assert.equal(zxidFromName('log.100000001', 'snapshot'), -1n);
    assert.equal(zxidFromName('snapshot', 'snapshot'), -1n);
    assert.equal(zxidFromName('snapshot.ffffffffffffffff', 'snapshot'), -1n);
  });
});

// ---------------------------------------------------------------- files

const VALID_SNAP = Buffer.from([0x5a, 0x4b, 0x53, 0x4e, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x2f]);

interface Layout {
  /** [zxid, kind] kind: 'v' valid plain, 'i' invalid (empty), 'gz' valid gzip header, 'bad-gz' */
  snaps: Array<[number, 'v' | 'i' | 'gz' | 'bad-gz' | 'snappy']>;
  logs: number[];
  extra?: string[];
}

function writeLayout(dir: string, l: Layout): void {
  const v2 = path.join(dir, 'version-2');
  fs.mkdirSync(v2, { recursive: true });
  for (const [z, kind] of l.snaps) {
    const hex = z.toString(16);
    if (kind === 'v') fs.writeFileSync(path.join(v2, `snapshot.${hex}`), VALID_SNAP);
    else if (kind === 'i') fs.writeFileSync(path.join(v2, `snapshot.${hex}`), '');
    else if (kind === 'gz') fs.writeFileSync(path.join(v2, `snapshot.${hex}.gz`), Buffer.from([0x1f, 0x8b, 8, 0]));
    else if (kind === 'bad-gz') fs.writeFileSync(path.join(v2, `snapshot.${hex}.gz`), VALID_SNAP);
    else fs.writeFileSync(path.join(v2, `snapshot.${hex}.snappy`), Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1]));
  }
  for (const z of l.logs) fs.writeFileSync(path.join(v2, `log.${z.toString(16)}`), '');
  for (const x of l.extra ?? []) fs.writeFileSync(path.join(v2, x), '');
}

const listing = (dir: string): string[] => fs.readdirSync(path.join(dir, 'version-2')).sort();

/** A seeded layout generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomLayout(seed: number): Layout {
  const r = rng(seed);
  const zs = new Set<number>();
  const n = 1 + Math.floor(r() * 9);
  for (let i = 0; i < n; i++) zs.add(1 + Math.floor(r() * 400));
  const kinds = ['v', 'v', 'v', 'v', 'i', 'gz', 'bad-gz', 'snappy'] as const;
  const snaps = [...zs].map((z): [number, Layout['snaps'][number][1]] => [z, kinds[Math.floor(r() * kinds.length)]]);
  const logs = new Set<number>();
  const m = Math.floor(r() * 8);
  for (let i = 0; i < m; i++) logs.add(1 + Math.floor(r() * 400));
  return { snaps, logs: [...logs], extra: r() < 0.3 ? ['snapshot.zz', 'log.q', 'acceptedEpoch', 'other.txt'] : [] };
}

const FIXED: Array<{ name: string; layout: Layout; n: number }> = [
  { name: 'five snapshots, five logs', n: 3, layout: { snaps: [[0x10, 'v'], [0x20, 'v'], [0x30, 'v'], [0x40, 'v'], [0x50, 'v']], logs: [1, 0x11, 0x21, 0x31, 0x41] } },
  { name: 'log at the oldest kept snapshot', n: 3, layout: { snaps: [[0x10, 'v'], [0x20, 'v'], [0x30, 'v'], [0x40, 'v']], logs: [1, 0x11, 0x20, 0x31] } },
  { name: 'invalid snapshots interleaved', n: 3, layout: { snaps: [[0x10, 'v'], [0x20, 'v'], [0x30, 'i'], [0x40, 'v'], [0x50, 'i'], [0x60, 'v']], logs: [1, 0x15, 0x25, 0x45] } },
  { name: 'compressed and odd names', n: 3, layout: { snaps: [[0x10, 'gz'], [0x20, 'snappy'], [0x30, 'bad-gz'], [0x40, 'v'], [0x50, 'gz']], logs: [1, 0x22, 0x44], extra: ['snapshot.zz', 'log.xyz', 'currentEpoch', 'snapshot'] } },
  { name: 'no valid snapshot', n: 3, layout: { snaps: [[0x10, 'i']], logs: [1, 0x11], extra: ['snapshot.zz'] } },
  { name: 'retain 5', n: 5, layout: { snaps: [[0x10, 'v'], [0x20, 'v'], [0x30, 'v'], [0x40, 'v'], [0x50, 'v'], [0x60, 'v'], [0x70, 'v']], logs: [1, 0x18, 0x28, 0x38, 0x48] } },
];

void describe('purge (files)', () => {
  void it('isValidSnapshotFile follows SnapStream.isValidSnapshot', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-purge-'));
    try {
      writeLayout(dir, { snaps: [[1, 'v'], [2, 'i'], [3, 'gz'], [4, 'bad-gz'], [5, 'snappy']], logs: [] });
      const v2 = path.join(dir, 'version-2');
      assert.equal(await isValidSnapshotFile(path.join(v2, 'snapshot.1')), true);
      assert.equal(await isValidSnapshotFile(path.join(v2, 'snapshot.2')), false);
      assert.equal(await isValidSnapshotFile(path.join(v2, 'snapshot.3.gz')), true);
      assert.equal(await isValidSnapshotFile(path.join(v2, 'snapshot.4.gz')), false);
      assert.equal(await isValidSnapshotFile(path.join(v2, 'snapshot.5.snappy')), true);
      assert.equal(await isValidSnapshotFile(path.join(v2, 'snapshot.99')), false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  void it('deletes what the plan says and reports it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-purge-'));
    try {
      writeLayout(dir, FIXED[0].layout);
      const { logger, lines } = captureLogger();
      const { deleted } = await purge(dir, dir, 3, logger);
      assert.deepEqual(deleted.map((f) => path.basename(f)).sort(), ['log.1', 'log.11', 'snapshot.10', 'snapshot.20']);
      assert.deepEqual(listing(dir), ['log.21', 'log.31', 'log.41', 'snapshot.30', 'snapshot.40', 'snapshot.50']);
      assert.equal(lines.filter((l) => l.includes('Removing file')).length, 4);
      await assert.rejects(purge(dir, dir, 2, logger), RangeError);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  void it('separate dataDir and dataLogDir; missing version-2 is not an error', async () => {
    const snapDir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-purge-s-'));
    const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-purge-l-'));
    try {
      assert.deepEqual(await purge(snapDir, logDir, 3, captureLogger().logger), { deleted: [] });
      writeLayout(snapDir, { snaps: [[0x10, 'v'], [0x20, 'v'], [0x30, 'v'], [0x40, 'v']], logs: [] });
      writeLayout(logDir, { snaps: [], logs: [1, 0x12, 0x22, 0x33] });
      await purge(snapDir, logDir, 3, captureLogger().logger);
      assert.deepEqual(listing(snapDir), ['snapshot.20', 'snapshot.30', 'snapshot.40']);
      assert.deepEqual(listing(logDir), ['log.12', 'log.22', 'log.33']);
    } finally {
      fs.rmSync(snapDir, { recursive: true, force: true });
      fs.rmSync(logDir, { recursive: true, force: true });
    }
  });
});

void describe('PurgeTask (DatadirCleanupManager)', () => {
  void it('interval 0 is disabled and says so', () => {
    const { logger, lines } = captureLogger();
    const t = new PurgeTask({ dataDir: '/nonexistent', dataLogDir: '/nonexistent', snapRetainCount: 3, purgeIntervalHours: 0, logger });
    t.start();
    assert.equal(t.scheduled, false);
    assert.ok(lines.some((l) => l.includes('Purge task is not scheduled.')));
    t.stop();
    assert.ok(lines.some((l) => l.includes('Purge task not started')));
  });

  void it('runs at once when started, clamps the retain count to 3, stops', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-purge-'));
    try {
      writeLayout(dir, FIXED[0].layout);
      const { logger, lines } = captureLogger();
      const t = new PurgeTask({ dataDir: dir, dataLogDir: dir, snapRetainCount: 1, purgeIntervalHours: 1, logger });
      assert.ok(lines.some((l) => l.includes('Defaulting to 3')));
      t.start();
      assert.equal(t.scheduled, true);
      await t.runOnce(); // joins the run start() began
      assert.deepEqual(listing(dir), ['log.21', 'log.31', 'log.41', 'snapshot.30', 'snapshot.40', 'snapshot.50']);
      assert.ok(lines.some((l) => l.includes('Purge task completed.')));
      t.stop();
      assert.equal(t.scheduled, false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  void it('an error in a run is logged, not thrown', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-purge-'));
    try {
      fs.writeFileSync(path.join(dir, 'version-2'), 'not a directory');
      const { logger, lines } = captureLogger();
      const t = new PurgeTask({ dataDir: dir, dataLogDir: dir, snapRetainCount: 3, purgeIntervalHours: 24, logger });
      await t.runOnce();
      assert.ok(lines.some((l) => l.includes('Error occurred while purging.')));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

void describe('purge vs Apache ZooKeeper PurgeTxnLog', { skip: !oracleAvailable() && 'Apache ZooKeeper not installed' }, () => {
  const layouts = [...FIXED, ...Array.from({ length: 8 }, (_, i) => ({ name: `random seed ${i + 1}`, layout: randomLayout(i + 1), n: 3 + (i % 3) }))];
  for (const { name, layout, n } of layouts) {
    void it(`same files remain: ${name}`, async () => {
      const ours = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-purge-ours-'));
      const theirs = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-purge-java-'));
      try {
        writeLayout(ours, layout);
        writeLayout(theirs, layout);
        await purge(ours, ours, n, captureLogger().logger);
        const r = spawnSync('java', ['-cp', ORACLE_CLASSPATH, 'org.apache.zookeeper.server.PurgeTxnLog', theirs, '-n', String(n)], {
          encoding: 'utf8', timeout: 30_000,
        });
        assert.equal(r.status, 0, `PurgeTxnLog failed: ${r.stderr}`);
        assert.deepEqual(listing(ours), listing(theirs), `layout ${JSON.stringify(layout)} n=${n}`);
      } finally {
        fs.rmSync(ours, { recursive: true, force: true });
        fs.rmSync(theirs, { recursive: true, force: true });
      }
    });
  }
});
