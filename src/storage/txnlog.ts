// storage/txnlog.ts: the txn log on disk, in ZooKeeper's format (FileTxnLog), as the pipeline's durable stage.
//
// Files: version-2/log.<hex zxid of the first txn>, started lazily at the first append after open() or roll(); a
// FileHeader {int "ZKLG", int 2, long dbid 0}; records {long Adler32(payload), int length, payload, byte 'B'} where
// payload = TxnHeader + txn + optional TxnDigest. Preallocation as FilePadding: when a write would come within 4 KiB
// of the allocated end, the file is extended by preAllocSize (zero-filled, so readers stop at a zero length).
//
// Group commit (DESIGN.md §4): append() serializes into the batch being collected; flush() seals it; sealed batches
// are written with one writev and made durable with one fdatasync. While a write+sync is in flight, later batches
// wait and go out together when it completes. onDurable(zxid) is called only after the fdatasync covering zxid
// succeeded (and, for a new file, after its directory entry was synced). A disk error stops the log: onError is
// called once, nothing after the failure is reported durable, and later appends throw.
import { fs } from '../util/sys.js';
import path from 'node:path';
import { Writer } from '../jute/codec.js';
import type { TxnLog } from '../server/pipeline.js';
import { type Txn, type TxnDigest, type TxnHeader, writeTxn, writeTxnHeader } from '../txn/records.js';
import type { Logger } from '../util/log.js';
import { adler32 } from './adler32.js';
import { END_OF_RECORD, logFileName, scanLogFile, TXNLOG_HEADER_SIZE, TXNLOG_MAGIC, TXNLOG_VERSION } from './txnlogReader.js';

/** zookeeper.preAllocSize default: 64 MiB. */
export const DEFAULT_PREALLOC_SIZE = 64 * 1024 * 1024;
/** FilePadding extends the file when a write comes within this many bytes of the allocated end. */
export const PADDING_HEADROOM = 4096;

/** The file operations the log uses; tests inject failures and slow syncs through it. */
export interface TxnLogIO {
  /** Creates `file` for writing; fails with EEXIST when it exists. */
  create(file: string): Promise<number>;
  /** Opens an existing file for writing, emptying it. */
  overwrite(file: string): Promise<number>;
  writev(fd: number, buffers: Buffer[], position: number): Promise<number>;
  ftruncate(fd: number, length: number): Promise<void>;
  fdatasync(fd: number): Promise<void>;
  fsyncDir(dir: string): Promise<void>;
  close(fd: number): Promise<void>;
}

function cb<T>(run: (done: (err: NodeJS.ErrnoException | null, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => run((err, v) => (err ? reject(err) : resolve(v))));
}

/** The real thing: Node's callback fs API (libuv thread pool), no event-loop blocking. */
export const nodeTxnLogIO: TxnLogIO = {
  create: (file) => cb<number>((d) => fs.open(file, 'wx', 0o644, d)),
  overwrite: (file) => cb<number>((d) => fs.open(file, 'w', 0o644, d)),
  writev: (fd, buffers, position) => cb<number>((d) => fs.writev(fd, buffers, position, d)),
  ftruncate: (fd, length) => cb<void>((d) => fs.ftruncate(fd, length, (e) => d(e, undefined))),
  fdatasync: (fd) => cb<void>((d) => fs.fdatasync(fd, (e) => d(e, undefined))),
  fsyncDir: async (dir) => {
    const fd = await cb<number>((d) => fs.open(dir, 'r', d));
    try {
      await cb<void>((d) => fs.fsync(fd, (e) => d(e, undefined)));
    } finally {
      await cb<void>((d) => fs.close(fd, (e) => d(e, undefined)));
    }
  },
  close: (fd) => cb<void>((d) => fs.close(fd, (e) => d(e, undefined))),
};

export interface FileTxnLogOptions {
  /** The version-2 directory holding the logs; created if missing. */
  dir: string;
  /** Bytes to extend a log by when it fills up (zookeeper.preAllocSize); 0 disables preallocation. */
  preAllocSize?: number;
  logger: Logger;
  /** Every txn up to zxid is on disk (fdatasync'd). */
  onDurable: (zxid: number) => void;
  /** The log failed (disk full, I/O error): called once; the log accepts nothing more. */
  onError: (err: Error) => void;
  io?: TxnLogIO;
}

interface LogFile {
  path: string;
  fd: number | undefined;
  /** Bytes written (the next write's position). */
  pos: number;
  /** The file's allocated size (preallocation), as FilePadding's currentSize. */
  allocated: number;
  dirSynced: boolean;
  /** The FileHeader is in a batch already (the first one of the file). */
  headerQueued: boolean;
}

interface Batch {
  file: LogFile;
  w: Writer;
  count: number;
  lastZxid: number;
}

export interface TxnLogStats {
  /** fdatasync calls completed. */
  syncs: number;
  /** Txns made durable. */
  txns: number;
  bytes: number;
  files: number;
}

/** Computes FilePadding.calculateFileSizeWithPadding until a write ending at `end` keeps its headroom. */
export function paddedSize(end: number, allocated: number, preAllocSize: number): number {
  if (preAllocSize <= 0) return allocated;
  while (end + PADDING_HEADROOM >= allocated) {
    if (end > allocated) {
      allocated = end + preAllocSize;
      allocated -= allocated % preAllocSize;
    } else {
      allocated += preAllocSize;
    }
  }
  return allocated;
}

export class FileTxnLog implements TxnLog {
  private readonly io: TxnLogIO;
  private readonly preAllocSize: number;
  /** The file receiving appends; undefined: the next append starts a new one. */
  private file: LogFile | undefined;
  private readonly openFiles = new Set<LogFile>();
  private current: Batch | undefined;
  private readonly sealed: Batch[] = [];
  private writing = false;
  private failure: Error | undefined;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private durableWaiters: Array<{ zxid: number; resolve: () => void; reject: (e: Error) => void }> = [];
  private batchHint = 4096;
  private appendedZxid = -1;
  private syncedZxid = -1;
  private inCurrentFile = 0;
  readonly stats: TxnLogStats = { syncs: 0, txns: 0, bytes: 0, files: 0 };

  private constructor(private readonly opts: FileTxnLogOptions) {
    this.io = opts.io ?? nodeTxnLogIO;
    this.preAllocSize = opts.preAllocSize ?? DEFAULT_PREALLOC_SIZE;
  }

  static async open(opts: FileTxnLogOptions): Promise<FileTxnLog> {
    await fs.promises.mkdir(opts.dir, { recursive: true });
    return new FileTxnLog(opts);
  }

  /** The zxid of the last txn appended (-1 before the first). */
  get lastZxid(): number {
    return this.appendedZxid;
  }

  /** The zxid of the last txn made durable (-1 before the first sync). */
  get durableZxid(): number {
    return this.syncedZxid;
  }

  /** Txns appended to the current file since it was started (0 after roll()). */
  get txnsInCurrentFile(): number {
    return this.inCurrentFile;
  }

  /** The path of the file receiving appends, if one is started. */
  get currentFile(): string | undefined {
    return this.file?.path;
  }

  /** The error that stopped the log, if any. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /**
   * Resolves once every txn appended up to `zxid` is durable (at once if none above the last durable one was
   * appended); rejects if the log fails or closes first.
   */
  whenDurable(zxid: number): Promise<void> {
    const target = Math.min(zxid, this.appendedZxid);
    if (target <= this.syncedZxid) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed && !this.writing) return Promise.reject(new Error('txn log is closed'));
    return new Promise((resolve, reject) => this.durableWaiters.push({ zxid: target, resolve, reject }));
  }

  private settleDurableWaiters(): void {
    const stillWaiting = this.failure === undefined && !(this.closed && !this.writing);
    this.durableWaiters = this.durableWaiters.filter((w) => {
      if (w.zxid <= this.syncedZxid) w.resolve();
      else if (!stillWaiting) w.reject(this.failure ?? new Error('txn log is closed'));
      else return true;
      return false;
    });
  }

  append(hdr: TxnHeader, txn: Txn, digest?: TxnDigest): void {
    if (this.failure) throw new Error(`txn log is stopped after a disk error: ${this.failure.message}`);
    if (this.closed) throw new Error('txn log is closed');
    if (hdr.zxid <= this.appendedZxid) {
      this.opts.logger.warn('txn log: zxid not above the last one appended', { zxid: hdr.zxid, last: this.appendedZxid });
    }
    if (this.file === undefined) {
      const p = path.join(this.opts.dir, logFileName(hdr.zxid));
      // FilePadding starts counting after the header (currentSize = 16).
      this.file = { path: p, fd: undefined, pos: 0, allocated: TXNLOG_HEADER_SIZE, dirSynced: false, headerQueued: false };
      this.openFiles.add(this.file);
      this.inCurrentFile = 0;
    }
    let b = this.current;
    if (b === undefined || b.file !== this.file) {
      if (b !== undefined) this.sealed.push(b);
      b = this.current = { file: this.file, w: new Writer(this.batchHint), count: 0, lastZxid: -1 };
      if (!this.file.headerQueued) {
        b.w.int(TXNLOG_MAGIC).int(TXNLOG_VERSION).long(0n);
        this.file.headerQueued = true;
      }
    }
    const w = b.w;
    const start = w.length;
    try {
      w.longNum(0).int(0);
      writeTxnHeader(w, hdr);
      writeTxn(w, txn);
      if (digest !== undefined) w.int(digest.version).long(digest.treeDigest);
    } catch (e) {
      // Keep the batch whole: drop the partial record.
      const nw = new Writer(Math.max(start, 256));
      nw.raw(w.view().subarray(0, start));
      b.w = nw;
      throw e;
    }
    const end = w.length;
    const view = w.view();
    view.writeUInt32BE(0, start);
    view.writeUInt32BE(adler32(view, 1, start + 12, end), start + 4);
    view.writeInt32BE(end - start - 12, start + 8);
    w.byte(END_OF_RECORD);
    b.count++;
    b.lastZxid = hdr.zxid;
    this.appendedZxid = hdr.zxid;
    this.inCurrentFile++;
  }

  /** Ends the batch: everything appended so far is written and synced (after any write in flight). */
  flush(): void {
    if (this.failure || this.current === undefined) return;
    this.seal();
    this.kick();
  }

  /** The next append starts a new file; the current one is closed once its pending writes are durable. */
  roll(): void {
    if (this.failure) return;
    this.seal();
    this.file = undefined;
    this.inCurrentFile = 0;
    this.kick();
  }

  /** Makes everything appended durable, then closes the files. After a failure it only closes them. */
  async close(): Promise<void> {
    if (!this.closed) {
      if (!this.failure) this.seal();
      this.closed = true;
      this.file = undefined;
      this.kick();
    }
    await this.whenIdle();
    for (const f of this.openFiles) await this.closeFile(f);
  }

  private seal(): void {
    if (this.current === undefined) return;
    this.sealed.push(this.current);
    this.batchHint = Math.min(Math.max(4096, this.current.w.length * 2), 16 << 20);
    this.current = undefined;
  }

  private kick(): void {
    if (this.writing) return;
    this.writing = true;
    void this.writeLoop();
  }

  private whenIdle(): Promise<void> {
    if (!this.writing) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async writeLoop(): Promise<void> {
    try {
      while (this.sealed.length > 0 && !this.failure) {
        const file = this.sealed[0].file;
        let n = 1;
        while (n < this.sealed.length && this.sealed[n].file === file) n++;
        const group = this.sealed.splice(0, n);
        const ok = await this.writeGroup(file, group);
        if (!ok) break;
        // Outside the I/O error handling: a throwing consumer is a bug and must surface, not look like a disk error.
        const last = group[group.length - 1].lastZxid;
        this.syncedZxid = last;
        this.settleDurableWaiters();
        this.opts.onDurable(last);
        await this.closeRolledFiles();
      }
      await this.closeRolledFiles();
    } finally {
      this.writing = false;
      this.settleDurableWaiters();
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Closes the files appends have moved away from, once nothing is pending for them. */
  private async closeRolledFiles(): Promise<void> {
    for (const f of this.openFiles) {
      if (f === this.file || this.sealed.some((b) => b.file === f) || this.current?.file === f) continue;
      await this.closeFile(f);
    }
  }

  private async closeFile(f: LogFile): Promise<void> {
    this.openFiles.delete(f);
    if (f.fd === undefined) return;
    const fd = f.fd;
    f.fd = undefined;
    try {
      await this.io.close(fd);
    } catch (e) {
      this.opts.logger.warn('txn log: close failed', { file: f.path, err: (e as Error).message });
    }
  }

  /** Writes and syncs a group of batches of one file. False after a failure (already reported). */
  private async writeGroup(file: LogFile, group: Batch[]): Promise<boolean> {
    let op = 'open';
    try {
      if (file.fd === undefined) file.fd = await this.createFile(file.path);
      const fd = file.fd;
      const bufs = group.map((b) => b.w.view());
      let total = 0;
      for (const b of bufs) total += b.length;
      const end = file.pos + total;
      const allocated = paddedSize(end, file.allocated, this.preAllocSize);
      if (allocated > file.allocated) {
        op = 'preallocate';
        await this.io.ftruncate(fd, allocated);
        file.allocated = allocated;
      }
      op = 'write';
      let written = 0;
      while (written < total) {
        const n = await this.io.writev(fd, written === 0 ? bufs : remaining(bufs, written), file.pos + written);
        if (n <= 0) throw new Error(`write returned ${n}`);
        written += n;
      }
      op = 'fdatasync';
      await this.io.fdatasync(fd);
      if (!file.dirSynced) {
        op = 'directory fsync';
        await this.io.fsyncDir(this.opts.dir);
        file.dirSynced = true;
      }
      file.pos = end;
      this.stats.syncs++;
      this.stats.bytes += total;
      for (const b of group) this.stats.txns += b.count;
      return true;
    } catch (e) {
      this.fail(op, file.path, e as NodeJS.ErrnoException);
      return false;
    }
  }

  /**
   * Creates a new log file. ZooKeeper overwrites a file of the same name; here that is done only when the existing
   * file holds no txn (e.g. a log whose only record was a torn tail), never over logged data.
   */
  private async createFile(file: string): Promise<number> {
    try {
      const fd = await this.io.create(file);
      this.stats.files++;
      return fd;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let records = 0;
    const it = scanLogFile(file, { newest: true });
    while (!it.next().done) records++;
    if (records > 0) throw new Error(`${file} already exists and holds ${records} txn(s); refusing to overwrite it`);
    this.opts.logger.warn('txn log: overwriting an existing log file that holds no txns', { file });
    const fd = await this.io.overwrite(file);
    this.stats.files++;
    return fd;
  }

  private fail(op: string, file: string, e: NodeJS.ErrnoException): void {
    if (this.failure) return;
    const code = e.code ? ` (${e.code})` : '';
    const err = new Error(`txn log ${op} failed on ${file}${code}: ${e.message}; the log accepts no more txns`, { cause: e });
    this.failure = err;
    this.sealed.length = 0;
    this.current = undefined;
    this.opts.logger.error('txn log failed', { file, op, err: e.message, code: e.code });
    this.settleDurableWaiters();
    this.opts.onError(err);
  }
}

/** The buffers left after the first `skip` bytes were written (a short writev). */
function remaining(bufs: Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of bufs) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}
