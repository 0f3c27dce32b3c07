// storage/purge.ts: ZooKeeper's PurgeTxnLog and DatadirCleanupManager (autopurge), by file name as ZooKeeper 3.8
// does it.
//
// The rule (PurgeTxnLog.purge / purgeOlderSnapshots, 3.8):
//  - take the `retainCount` newest *valid* snapshots (FileSnap.findNValidSnapshots: files of snapDir sorted by the
//    zxid in their name, newest first; a snapshot is valid when SnapStream.isValidSnapshot says so: plain files end
//    in `int 1, '/'` and are >= 10 bytes, .gz files start with the gzip magic, .snappy files with snappy-java's
//    magic header). Invalid snapshots are skipped when counting, not kept for their own sake. No valid snapshot:
//    nothing is deleted.
//  - X = the zxid in the name of the oldest snapshot kept.
//  - keep the log file that may hold txns after X (FileTxnLog.getLogFiles(X)): the newest log whose name zxid is
//    <= X (or, when no log is that old, every log), and every log after it.
//  - delete every file named `log.*` or `snapshot.*` whose name zxid is < X, except the logs just kept. A name
//    whose zxid does not parse counts as -1 (Util.getZxidFromName) and is therefore deleted.
//  - retainCount < 3 is refused ("count should be greater than or equal to 3").
//
// DatadirCleanupManager: autopurge.purgeInterval (hours) <= 0 disables it ("Purge task is not scheduled."); else
// the task runs at once and then every interval; an error in a run is logged and the schedule goes on.
import type { Timer } from '../util/sys.js';
import { clock, fs } from '../util/sys.js';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../util/log.js';

export const MIN_SNAP_RETAIN_COUNT = 3;
const COUNT_ERR_MSG = 'count should be greater than or equal to 3';
const VERSION_DIR = 'version-2';

export interface DataFile {
  /** The file name (no directory), e.g. "snapshot.1a" or "log.100000001". */
  file: string;
  /** The zxid in the name; -1 when it does not parse (Util.getZxidFromName). */
  zxid: number | bigint;
  /** Snapshots only: whether SnapStream.isValidSnapshot accepts it. Default true. */
  valid?: boolean;
}

export interface PurgePlan {
  deleteSnapshots: string[];
  deleteLogs: string[];
}

/** Util.getZxidFromName: the second '.'-separated part as a signed 64-bit hex long, else -1. */
export function zxidFromName(name: string, prefix: 'log' | 'snapshot'): bigint {
  const parts = name.split('.');
  if (parts.length < 2 || parts[0] !== prefix) return -1n;
  // Long.parseLong(s, 16): optional sign, hex digits, within the signed 64-bit range.
  const m = /^([+-]?)([0-9a-fA-F]+)$/.exec(parts[1]);
  if (!m) return -1n;
  const v = BigInt('0x' + m[2]) * (m[1] === '-' ? -1n : 1n);
  if (v > 0x7fffffffffffffffn || v < -0x8000000000000000n) return -1n;
  return v;
}

/**
 * Which files a purge deletes, from the files' names alone (validity of snapshots given). Mirrors PurgeTxnLog 3.8
 * exactly; see the comment at the top of this file. Throws RangeError when retainCount < 3.
 */
export function purgePlan(snapshots: DataFile[], logs: DataFile[], retainCount: number): PurgePlan {
  if (!(retainCount >= MIN_SNAP_RETAIN_COUNT)) throw new RangeError(COUNT_ERR_MSG);
  const snaps = snapshots.map((s) => ({ ...s, z: BigInt(s.zxid) }));
  const logz = logs.map((l) => ({ ...l, z: BigInt(l.zxid) }));
  // findNValidSnapshots: newest first (stable sort on the name zxid), skipping invalid and unnamed ones.
  const newestFirst = [...snaps].sort((a, b) => (a.z > b.z ? -1 : a.z < b.z ? 1 : 0));
  const kept = newestFirst.filter((s) => s.z !== -1n && s.valid !== false).slice(0, retainCount);
  if (kept.length === 0) return { deleteSnapshots: [], deleteLogs: [] };
  const least = kept[kept.length - 1].z;
  // FileTxnLog.getLogFiles(least): the largest log zxid <= least (starting from 0), and every log from it on.
  let logZxid = 0n;
  for (const l of [...logz].sort((a, b) => (a.z < b.z ? -1 : a.z > b.z ? 1 : 0))) {
    if (l.z > least) break;
    if (l.z > logZxid) logZxid = l.z;
  }
  const retainedLogs = new Set(logz.filter((l) => l.z >= logZxid).map((l) => l.file));
  return {
    deleteSnapshots: snaps.filter((s) => s.z < least).map((s) => s.file),
    deleteLogs: logz.filter((l) => !retainedLogs.has(l.file) && l.z < least).map((l) => l.file),
  };
}

const SNAPPY_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

/** SnapStream.isValidSnapshot (3.8): a cheap check of the file's ends, by the stream mode its extension names. */
export async function isValidSnapshotFile(file: string): Promise<boolean> {
  const name = path.basename(file);
  if (zxidFromName(name, 'snapshot') === -1n) return false;
  const parts = name.split('.');
  const ext = parts.length > 1 ? parts[parts.length - 1] : '';
  let fh: FileHandle | undefined;
  try {
    fh = await fs.promises.open(file, 'r');
    const size = (await fh.stat()).size;
    if (ext === 'gz' || ext === 'snappy') {
      const want = ext === 'gz' ? 2 : SNAPPY_MAGIC.length;
      const b = Buffer.alloc(want);
      const { bytesRead } = await fh.read(b, 0, want, 0);
      if (bytesRead !== want) return false;
      return ext === 'gz' ? b[0] === 0x1f && b[1] === 0x8b : b.equals(SNAPPY_MAGIC);
    }
    if (size < 10) return false;
    const b = Buffer.alloc(5);
    const { bytesRead } = await fh.read(b, 0, 5, size - 5);
    return bytesRead === 5 && b.readInt32BE(0) === 1 && b[4] === 0x2f;
  } catch {
    return false;
  } finally {
    await fh?.close();
  }
}

async function listNames(dir: string): Promise<string[]> {
  try {
    return (await fs.promises.readdir(dir, { withFileTypes: true })).filter((d) => !d.isDirectory()).map((d) => d.name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/**
 * PurgeTxnLog.purge: keeps the `retainCount` newest valid snapshots of `<dataDir>/version-2` and the logs of
 * `<dataLogDir>/version-2` they need; deletes the rest. Returns the paths deleted. A file that cannot be deleted is
 * logged and skipped, as ZooKeeper does.
 */
export async function purge(dataDir: string, dataLogDir: string, retainCount: number, logger: Logger): Promise<{ deleted: string[] }> {
  if (!(retainCount >= MIN_SNAP_RETAIN_COUNT)) throw new RangeError(COUNT_ERR_MSG);
  const snapDir = path.join(dataDir, VERSION_DIR);
  const logDir = path.join(dataLogDir, VERSION_DIR);
  const snapshots: DataFile[] = [];
  for (const name of await listNames(snapDir)) {
    if (!name.startsWith('snapshot.')) continue;
    const zxid = zxidFromName(name, 'snapshot');
    snapshots.push({ file: name, zxid, valid: zxid !== -1n && (await isValidSnapshotFile(path.join(snapDir, name))) });
  }
  const logs: DataFile[] = (await listNames(logDir))
    .filter((n) => n.startsWith('log.'))
    .map((name) => ({ file: name, zxid: zxidFromName(name, 'log') }));
  const plan = purgePlan(snapshots, logs, retainCount);
  const targets = [...plan.deleteLogs.map((f) => path.join(logDir, f)), ...plan.deleteSnapshots.map((f) => path.join(snapDir, f))];
  const deleted: string[] = [];
  for (const f of targets) {
    try {
      await fs.promises.unlink(f);
      deleted.push(f);
      logger.info('Removing file', { file: f });
    } catch (e) {
      logger.warn('Failed to remove file', { file: f, err: (e as Error).message });
    }
  }
  return { deleted };
}

export interface PurgeTaskOptions {
  dataDir: string;
  dataLogDir: string;
  snapRetainCount: number;
  /** Hours; 0 or less disables the task. */
  purgeIntervalHours: number;
  logger: Logger;
}

/** DatadirCleanupManager: runs `purge` at start and then every purgeIntervalHours (timer unref'd). */
export class PurgeTask {
  private timer: Timer | undefined;
  private running: Promise<void> | undefined;
  private readonly retain: number;

  constructor(private readonly opts: PurgeTaskOptions) {
    this.retain = opts.snapRetainCount;
    if (!(this.retain >= MIN_SNAP_RETAIN_COUNT)) {
      // QuorumPeerConfig: "Invalid autopurge.snapRetainCount: N. Defaulting to 3"
      opts.logger.warn(`Invalid autopurge.snapRetainCount: ${opts.snapRetainCount}. Defaulting to ${MIN_SNAP_RETAIN_COUNT}`);
      this.retain = MIN_SNAP_RETAIN_COUNT;
    }
    opts.logger.info(`autopurge.snapRetainCount set to ${this.retain}`);
    opts.logger.info(`autopurge.purgeInterval set to ${opts.purgeIntervalHours}`);
  }

  get scheduled(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    if (this.timer) {
      this.opts.logger.warn('Purge task is already running.');
      return;
    }
    if (!(this.opts.purgeIntervalHours > 0)) {
      this.opts.logger.info('Purge task is not scheduled.');
      return;
    }
    const everyMs = this.opts.purgeIntervalHours * 3_600_000;
    // setInterval takes at most 2^31-1 ms (~24.8 days); longer intervals are chained.
    const step = Math.min(everyMs, 0x7fffffff);
    let due = clock.now() + everyMs;
    const tick = (): void => {
      const left = due - clock.now();
      if (left > 0) {
        this.timer = clock.setTimeout(tick, Math.min(left, step)).unref();
        return;
      }
      due += everyMs;
      void this.runOnce();
      this.timer = clock.setTimeout(tick, Math.min(Math.max(due - clock.now(), 0), step)).unref();
    };
    this.timer = clock.setTimeout(tick, step).unref();
    void this.runOnce();
  }

  /** One purge run now (the timer's body); resolves when it is done; never rejects. */
  runOnce(): Promise<void> {
    if (this.running) return this.running;
    const log = this.opts.logger;
    log.info('Purge task started.');
    this.running = purge(this.opts.dataDir, this.opts.dataLogDir, this.retain, log)
      .then(
        () => undefined,
        (e: unknown) => log.error('Error occurred while purging.', { err: e instanceof Error ? e : String(e) }),
      )
      .then(() => {
        log.info('Purge task completed.');
        this.running = undefined;
      });
    return this.running;
  }

  stop(): void {
    if (!this.timer) {
      this.opts.logger.warn('Purge task not started. Ignoring shutdown!');
      return;
    }
    this.opts.logger.info('Shutting down purge task.');
    clock.clear(this.timer);
    this.timer = undefined;
  }
}
