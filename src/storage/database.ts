// storage/ owns the data directory in ZooKeeper 3.8's format: txn logs, snapshots, epoch files, recovery and purge.
// It may import jute/, protocol/, txn/, tree/ and util/. database.ts is ZooKeeper's FileTxnSnapLog + ZKDatabase:
// recovery on start (newest valid snapshot, then the logs after it) and the durable stage of the pipeline (the
// txn log with group commit, rolled and followed by a fuzzy snapshot every snapCount-ish txns).
import { clock, fs } from '../util/sys.js';
import path from 'node:path';
import { Code } from '../protocol/errors.js';
import { OpCode } from '../protocol/constants.js';
import { DataTree } from '../tree/datatree.js';
import type { Txn, TxnDigest, TxnHeader } from '../txn/records.js';
import type { Logger } from '../util/log.js';
import { CorruptSnapshotError, listSnapshots, readSnapshot, writeSnapshot } from './snapshot.js';
import { FileTxnLog } from './txnlog.js';
import { readTxns, syncLogs, truncateTornTail } from './txnlogReader.js';

/** ZooKeeper tries at most this many snapshots, newest first, before giving up (FileSnap.deserialize). */
export const SNAPSHOTS_TRIED_MAX = 100;

export const EMPTY_SNAPSHOT_WARNING = 'No snapshot found, but there are log entries. ';

export interface StorageOptions {
  dataDir: string;
  dataLogDir: string;
  logger: Logger;
  extendedTypesEnabled: boolean;
  /** zookeeper.snapshot.trust.empty: accept logs without any snapshot (upgrades from 3.4). */
  trustEmptySnapshot: boolean;
  /** zookeeper.db.autocreate (default true): an empty data directory starts an empty database. */
  autoCreateDb: boolean;
  /** zookeeper.snapshot.compression.method: "" or "gz". */
  snapshotCompression: '' | 'gz';
}

export interface LoadedDatabase {
  tree: DataTree;
  /** Sessions alive at the end of the log, with their timeouts. */
  sessions: Map<bigint, number>;
  /** The last zxid applied (0 for a new database). */
  lastZxid: number;
  snapshotFile: string | undefined;
  txnsReplayed: number;
}

export function versionDir(dir: string): string {
  return path.join(dir, 'version-2');
}

/** Recovery (FileTxnSnapLog.restore): newest valid snapshot, then every logged txn after it. */
export async function loadDatabase(opts: StorageOptions): Promise<LoadedDatabase> {
  const snapDir = versionDir(opts.dataDir);
  const logDir = versionDir(opts.dataLogDir);
  fs.mkdirSync(snapDir, { recursive: true });
  fs.mkdirSync(logDir, { recursive: true });
  const cut = await truncateTornTail(logDir);
  if (cut) opts.logger.warn('txn log had a torn tail: cut at the last whole record', { file: cut.file, offset: cut.offset });
  await syncLogs(logDir);

  const loaded = await loadNewestSnapshot(snapDir, opts);
  // The `initialize` marker says an empty database is trustworthy (it matters when zookeeper.db.autocreate=false).
  const initFile = path.join(opts.dataDir, 'initialize');
  const initialized = fs.existsSync(initFile);
  if (initialized) {
    fs.rmSync(initFile);
    opts.logger.info('initialize file found: an empty database is trusted');
  }
  if (loaded === undefined) {
    const emptyTree = (): DataTree => new DataTree({ extendedTypesEnabled: opts.extendedTypesEnabled, logger: opts.logger });
    if (hasTxns(logDir)) {
      if (!opts.trustEmptySnapshot) {
        throw new Error(`${EMPTY_SNAPSHOT_WARNING}Something is broken! (dataDir ${opts.dataDir}; set snapshot.trust.empty=true only when upgrading from ZooKeeper 3.4)`);
      }
      opts.logger.warn(`${EMPTY_SNAPSHOT_WARNING}This should only be allowed during upgrading.`);
      return replay(emptyTree(), new Map(), undefined, logDir, opts);
    }
    const tree = emptyTree();
    if (!(initialized || opts.autoCreateDb)) {
      opts.logger.warn('unexpected empty data tree, setting zxid to -1');
      tree.lastProcessedZxid = -1;
    }
    return { tree, sessions: new Map(), lastZxid: tree.lastProcessedZxid, snapshotFile: undefined, txnsReplayed: 0 };
  }
  return replay(loaded.tree, loaded.sessions, loaded, logDir, opts);
}

function hasTxns(logDir: string): boolean {
  for (const _ of readTxns(logDir, 0)) return true;
  return false;
}

interface LoadedSnapshot {
  tree: DataTree;
  sessions: Map<bigint, number>;
  file: string;
  zxidDigest?: { zxid: number; digestVersion: number; digest: bigint };
  /** Zxids of newer snapshots skipped as damaged: those txns existed, and the log must hold them. */
  skipped: number[];
}

async function loadNewestSnapshot(snapDir: string, opts: StorageOptions): Promise<LoadedSnapshot | undefined> {
  const snaps = listSnapshots(snapDir).slice(0, SNAPSHOTS_TRIED_MAX);
  const skipped: number[] = [];
  for (const { file, zxid } of snaps) {
    try {
      const s = await readSnapshot(file, { logger: opts.logger, extendedTypesEnabled: opts.extendedTypesEnabled });
      opts.logger.info('loaded snapshot', { file, zxid: '0x' + s.tree.lastProcessedZxid.toString(16), nodes: s.tree.nodeCount });
      return { tree: s.tree, sessions: s.sessions, file, zxidDigest: s.zxidDigest, skipped };
    } catch (e) {
      if (!(e instanceof CorruptSnapshotError)) throw e;
      opts.logger.warn('invalid snapshot: trying an older one', { file, err: e.message });
      skipped.push(zxid);
    }
  }
  return undefined;
}

/** fastForwardFromEdits: apply every txn after the snapshot, tolerating what a fuzzy snapshot already holds. */
function replay(tree: DataTree, sessions: Map<bigint, number>, snap: LoadedSnapshot | undefined, logDir: string, opts: StorageOptions): LoadedDatabase {
  let count = 0;
  let mismatches = 0;
  let digestChecked = snap?.zxidDigest === undefined;
  if (snap?.zxidDigest && snap.zxidDigest.zxid === tree.lastProcessedZxid) {
    // No txn was applied while the snapshot was written: its trailer describes the loaded tree itself.
    digestChecked = true;
    if (tree.treeDigest !== snap.zxidDigest.digest) {
      opts.logger.warn('tree digest differs from the digest recorded in the snapshot', { zxid: tree.lastProcessedZxid, file: snap.file });
    }
  }
  let prev = tree.lastProcessedZxid;
  for (const { hdr, txn, digest } of readTxns(logDir, tree.lastProcessedZxid + 1)) {
    if (hdr.zxid <= tree.lastProcessedZxid && count > 0) continue;
    if (snap !== undefined && (!followsDirectly(prev, hdr.zxid) || jumpsOver(snap.skipped, prev, hdr.zxid))) {
      throw new TxnLogGapError(prev, hdr.zxid, snap.file, logDir);
    }
    prev = hdr.zxid;
    applySessionEffect(sessions, hdr, txn);
    const r = tree.processTxn(hdr, txn);
    if (r.err !== Code.OK && hdr.type !== OpCode.error && hdr.type !== OpCode.multi) {
      // A fuzzy snapshot may already hold the effect of txns after its zxid: ZooKeeper logs and goes on.
      opts.logger.debug('replayed txn did not apply cleanly (expected after a fuzzy snapshot)', { zxid: hdr.zxid, err: r.err });
    }
    // Until replay passes the zxid the snapshot's trailer describes, the tree still holds changes of later txns
    // (the snapshot is fuzzy), so per-txn digests cannot match yet: compare only after it, as ZooKeeper does.
    if (digestChecked && digest !== undefined && tree.treeDigest !== digest.treeDigest) {
      if (mismatches++ === 0) {
        opts.logger.warn('tree digest mismatch while replaying the txn log', { zxid: '0x' + hdr.zxid.toString(16), logged: digest.treeDigest, computed: tree.treeDigest });
      }
    }
    if (!digestChecked && snap?.zxidDigest && hdr.zxid >= snap.zxidDigest.zxid) {
      digestChecked = true;
      if (tree.treeDigest !== snap.zxidDigest.digest) {
        opts.logger.warn('tree digest differs from the digest recorded in the snapshot', { zxid: hdr.zxid, file: snap.file });
      }
    }
    count++;
  }
  // A skipped damaged snapshot above everything replayed: this server once held txns up to it that no file has now.
  // Coming up with less than it acknowledged could let it lead and TRUNC others' committed txns: refuse instead.
  const lost = snap?.skipped.find((z) => z % 2 ** 32 !== 0 && z > tree.lastProcessedZxid);
  if (snap !== undefined && lost !== undefined) throw new TxnLogGapError(tree.lastProcessedZxid, lost, snap.file, logDir);
  if (mismatches > 1) opts.logger.warn('txns whose logged digest differed from the replayed tree', { count: mismatches });
  opts.logger.info('recovered database', { lastZxid: '0x' + tree.lastProcessedZxid.toString(16), txnsReplayed: count, sessions: sessions.size, nodes: tree.nodeCount });
  return { tree, sessions, lastZxid: tree.lastProcessedZxid, snapshotFile: snap?.file, txnsReplayed: count };
}

/**
 * Txns are numbered without holes: the next zxid in an epoch, or counter 1 of a later epoch (a new leader's first
 * proposal). A learner synced by SNAP has a hole in its log that its snapshot covers; if that snapshot is damaged and
 * recovery falls back to an older one, replaying across the hole would build a tree missing those txns while
 * claiming the newest zxid — silent divergence.
 */
function followsDirectly(prev: number, next: number): boolean {
  const EPOCH = 2 ** 32;
  const [pe, pc] = [Math.floor(prev / EPOCH), prev % EPOCH];
  const [ne, nc] = [Math.floor(next / EPOCH), next % EPOCH];
  return ne === pe ? nc === pc + 1 : ne > pe && nc === 1;
}

/**
 * An epoch change hides a hole from followsDirectly (the last counter of an epoch is unknown), but a skipped damaged
 * snapshot names a txn that existed: replay stepping from below it to above it without applying it lacks txns.
 * (Counter 0 names no txn: a snapshot taken as an epoch began.)
 */
function jumpsOver(skipped: number[], prev: number, next: number): boolean {
  return skipped.some((z) => z % 2 ** 32 !== 0 && prev < z && z < next);
}

/** The log cannot rebuild the tree from the snapshot that loaded: some txns are on no file of this server. */
export class TxnLogGapError extends Error {
  override name = 'TxnLogGapError';
  constructor(readonly after: number, readonly next: number, snapshot: string, logDir: string) {
    super(`txn log ${logDir} has a gap: after 0x${after.toString(16)} comes 0x${next.toString(16)} (replaying from ` +
      `${snapshot}). The txns between are on no file of this server (the newer snapshot that held them is missing ` +
      'or damaged). It cannot recover alone: in an ensemble, move its data directory aside (keep myid) and restart it ' +
      'to be resynchronised by the leader.');
  }
}

function applySessionEffect(sessions: Map<bigint, number>, hdr: TxnHeader, txn: Txn): void {
  if (txn.type === OpCode.createSession) sessions.set(hdr.clientId, txn.timeOut);
  else if (txn.type === OpCode.closeSession) sessions.delete(hdr.clientId);
}

// ---------------------------------------------------------------- the durable stage

export interface DurableStageOptions extends StorageOptions {
  /** Txns between snapshots: a snapshot follows after a random count in (snapCount/2, snapCount]. */
  snapCount: number;
  preAllocSize: number;
  onDurable: (zxid: number) => void;
  onError: (err: Error) => void;
  /** What to snapshot: the live tree and session table at the moment the snapshot starts. */
  snapshotSource: () => { tree: DataTree; sessions: Iterable<{ id: bigint; timeoutMs: number }> };
  /** Randomness comes in from the shell so the core stays deterministic under simulation. */
  random: () => number;
}

/**
 * The pipeline's TxnLog for a server with storage: appends go to the on-disk log (group commit, one fdatasync per
 * batch). After a randomized number of txns the log rolls and a fuzzy snapshot of the tree is written in the
 * background, as ZooKeeper's SyncRequestProcessor does; one snapshot at a time ("too busy to snap" otherwise).
 */
export class DurableStage {
  private sinceSnapshot = 0;
  private snapshotThreshold: number;
  private snapshotting: Promise<void> | undefined;

  private constructor(private readonly log: FileTxnLog, private readonly opts: DurableStageOptions) {
    this.snapshotThreshold = this.nextThreshold();
  }

  static async open(opts: DurableStageOptions): Promise<DurableStage> {
    const log = await FileTxnLog.open({
      dir: versionDir(opts.dataLogDir), preAllocSize: opts.preAllocSize, logger: opts.logger,
      onDurable: opts.onDurable, onError: opts.onError,
    });
    return new DurableStage(log, opts);
  }

  private nextThreshold(): number {
    const half = Math.max(1, Math.floor(this.opts.snapCount / 2));
    return half + 1 + Math.floor(this.opts.random() * half);
  }

  append(hdr: TxnHeader, txn: Txn, digest?: TxnDigest): void {
    this.log.append(hdr, txn, digest);
    if (++this.sinceSnapshot >= this.snapshotThreshold) {
      this.sinceSnapshot = 0;
      this.snapshotThreshold = this.nextThreshold();
      this.log.roll();
      this.snapshotSoon();
    }
  }

  flush(): void {
    this.log.flush();
  }

  /** Starts a background snapshot unless one is running. */
  snapshotSoon(): void {
    if (this.snapshotting) {
      this.opts.logger.warn('too busy to snapshot, skipping');
      return;
    }
    // In the background a failed snapshot is only logged: the txn log still holds everything.
    this.snapshotting = this.takeSnapshot().catch(() => undefined).finally(() => (this.snapshotting = undefined));
  }

  /** Writes a snapshot of the current tree (fuzzy: the tree keeps changing while it is written); rejects if it failed. */
  async takeSnapshot(): Promise<void> {
    const { tree, sessions } = this.opts.snapshotSource();
    const zxid = tree.lastProcessedZxid;
    const suffix = this.opts.snapshotCompression === 'gz' ? '.gz' : '';
    const file = path.join(versionDir(this.opts.dataDir), `snapshot.${zxid.toString(16)}${suffix}`);
    const started = clock.now();
    try {
      // A fuzzy snapshot holds txns applied while it was written; it may take its name only once they are all in the
      // durable log (a learner applies synced txns before their fsync). If the log fails first, it is discarded:
      // otherwise a restart would load a tree holding txns that no file of this server has, under an older zxid.
      const beforePublish = (): Promise<void> => this.log.whenDurable(tree.lastProcessedZxid);
      const r = await writeSnapshot({ tree, sessions, file, compression: this.opts.snapshotCompression, logger: this.opts.logger, beforePublish });
      this.opts.logger.info('snapshot written', { file, nodes: r.nodes, bytes: r.bytes, ms: clock.now() - started });
    } catch (e) {
      this.opts.logger.error('snapshot failed', { file, err: (e as Error).message });
      // Callers that rely on it (the snapshot after a SNAP sync must be on disk before the learner ACKs NEWLEADER,
      // ZOOKEEPER-3642; the startup snapshot) must not go on as if it were written.
      throw e;
    }
  }

  /** Waits for a running snapshot (shutdown, tests). */
  async idle(): Promise<void> {
    await this.snapshotting;
  }

  async close(): Promise<void> {
    await this.idle();
    await this.log.close();
  }
}
