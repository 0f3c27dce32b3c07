// storage/txnlogReader.ts: reading ZooKeeper's txn log files (version-2/log.<hex zxid>), as FileTxnLog's
// FileTxnIterator does, with the end-of-log rules of DESIGN.md §4 made explicit:
//
//   - FileHeader {int magic "ZKLG", int version 2, long dbid}; a file shorter than the header, or whose header is all
//     zeros, holds no txns (a crash right after the file was created).
//   - records: long Adler32(payload), int length, payload, byte 'B'. A record cut short by EOF, or a zero length
//     followed only by zeros (preallocation), ends the file.
//   - a whole record with a bad checksum, a missing 'B' or a nonsensical length that is the last data of the NEWEST
//     file (only zeros or EOF after it) is a torn tail: the write was never acknowledged, the log ends before it.
//   - any other damage (more data after a bad record, or a bad record in an older file, or a checksummed payload
//     that does not decode) throws CorruptLogError naming the file and the byte offset: committed data is damaged.
//
// The reader is synchronous: it runs at startup (recovery) and in tools, before the server serves anyone.
import { fs } from '../util/sys.js';
import path from 'node:path';
import { JuteError, Reader } from '../jute/codec.js';
import { OpCode } from '../protocol/constants.js';
import { readTxn, readTxnHeader, type Txn, type TxnDigest, type TxnHeader } from '../txn/records.js';
import { adler32 } from './adler32.js';

/** "ZKLG" */
export const TXNLOG_MAGIC = 0x5a4b4c47;
export const TXNLOG_VERSION = 2;
export const TXNLOG_HEADER_SIZE = 16;
/** checksum (8) + length (4) + 'B' (1) */
export const RECORD_OVERHEAD = 13;
export const END_OF_RECORD = 0x42;
export const LOG_FILE_PREFIX = 'log';

/** Damage in committed log data: the server must stop rather than serve a wrong tree. */
export class CorruptLogError extends Error {
  override name = 'CorruptLogError';
  constructor(
    readonly file: string,
    readonly offset: number,
    reason: string,
  ) {
    super(`corrupt txn log ${file} at offset ${offset}: ${reason}`);
  }
}

export interface TxnLogFile {
  /** The file's path (dir joined with its name). */
  file: string;
  /** The zxid in its name: the first txn it holds. */
  zxid: number;
}

/** `log.<hex>` as ZooKeeper names them (Util.getZxidFromName); anything else is not a log. */
export function parseLogName(name: string): number | undefined {
  const m = /^log\.([0-9a-fA-F]{1,16})$/.exec(name);
  if (!m) return undefined;
  const v = parseInt(m[1], 16);
  return Number.isSafeInteger(v) ? v : undefined;
}

export function logFileName(zxid: number): string {
  return `${LOG_FILE_PREFIX}.${zxid.toString(16)}`;
}

/** The txn logs in `dir`, oldest first (by the zxid in the name). A missing directory has none. */
export function listTxnLogs(dir: string): TxnLogFile[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: TxnLogFile[] = [];
  for (const name of names) {
    const zxid = parseLogName(name);
    if (zxid !== undefined) out.push({ file: path.join(dir, name), zxid });
  }
  return out.sort((a, b) => a.zxid - b.zxid);
}

/**
 * The logs that may hold txns at or after `zxid` (Util.getLogFiles): the newest log whose name zxid is <= zxid
 * (it may hold zxid itself), and every later log. When every log starts after zxid, all of them.
 */
export function logsFrom<T extends { zxid: number }>(logs: readonly T[], zxid: number): T[] {
  let start = 0;
  for (const l of logs) {
    if (l.zxid > zxid) break;
    if (l.zxid > start) start = l.zxid;
  }
  return logs.filter((l) => l.zxid >= start);
}

// ---------------------------------------------------------------- file access in windows

const WINDOW = 1 << 20;
const ZEROS = Buffer.alloc(WINDOW);

/** Sequential reads of a file through a window buffer: records never need the whole (preallocated) file in memory. */
class FileBytes {
  readonly size: number;
  private buf = Buffer.allocUnsafe(WINDOW);
  private start = 0;
  private len = 0;

  constructor(private readonly fd: number) {
    this.size = fs.fstatSync(fd).size;
  }

  /** Makes [pos, pos+n) available; returns the offset of `pos` in `this.view`. The caller checked pos+n <= size. */
  at(pos: number, n: number): number {
    if (pos >= this.start && pos + n <= this.start + this.len) return pos - this.start;
    if (this.buf.length < n) this.buf = Buffer.allocUnsafe(Math.max(n, WINDOW));
    const want = Math.min(this.buf.length, this.size - pos);
    let got = 0;
    while (got < want) {
      const r = fs.readSync(this.fd, this.buf, got, want - got, pos + got);
      if (r === 0) break;
      got += r;
    }
    this.start = pos;
    this.len = got;
    if (got < n) throw new Error(`short read at offset ${pos}: the file shrank while being read`);
    return 0;
  }

  get view(): Buffer {
    return this.buf;
  }

  /** True when [from, size) holds only zero bytes. */
  zeroFrom(from: number): boolean {
    for (let pos = from; pos < this.size; ) {
      const n = Math.min(WINDOW, this.size - pos);
      const off = this.at(pos, n);
      if (this.buf.compare(ZEROS, 0, n, off, off + n) !== 0) return false;
      pos += n;
    }
    return true;
  }
}

// ---------------------------------------------------------------- scanning one file

export interface RawRecord {
  /** Offset of the record (its checksum) in the file. */
  offset: number;
  /** Offset just after its 'B'. */
  end: number;
  /** The payload (TxnHeader + txn + optional TxnDigest). Only valid until the scan moves on: copy to keep it. */
  payload: Buffer;
  checksum: bigint;
}

export type ScanEndKind =
  /** the last record ends exactly at the end of the file */
  | 'eof'
  /** zero length / zero bytes after the last record (preallocation) */
  | 'zeros'
  /** a record cut short by the end of the file */
  | 'cut'
  /** a whole record that is damaged and is the last data of the newest file */
  | 'torn'
  /** no header (shorter than 16 bytes, or all zeros): no txns */
  | 'empty';

export interface ScanEnd {
  kind: ScanEndKind;
  /** Offset just after the last whole valid record (the header's end when there is none; 0 when 'empty'). */
  validEnd: number;
  /** The file's size. */
  size: number;
  /** For 'cut' and 'torn': what was wrong. */
  reason?: string;
}

export interface ScanOptions {
  /** The newest log of its directory: a damaged last record is a torn tail rather than corruption. */
  newest: boolean;
  /**
   * Longer records are damage, not a record cut short by EOF (BinaryInputArchive's "Unreasonable length"). Default
   * 64 MiB, far above any jute.maxbuffer in use.
   */
  maxRecordLength?: number;
}

export const DEFAULT_MAX_RECORD_LENGTH = 64 << 20;

/**
 * Walks the records of one log file, validating header, checksums and markers. Returns how the file ended; throws
 * CorruptLogError on damage that is not an end of log.
 */
export function* scanLogFile(file: string, opts: ScanOptions): Generator<RawRecord, ScanEnd> {
  const fd = fs.openSync(file, 'r');
  try {
    const fb = new FileBytes(fd);
    const size = fb.size;
    if (size < TXNLOG_HEADER_SIZE) return { kind: 'empty', validEnd: 0, size };
    let o = fb.at(0, TXNLOG_HEADER_SIZE);
    const v = fb.view;
    const magic = v.readInt32BE(o);
    const version = v.readInt32BE(o + 4);
    if (magic === 0 && version === 0 && v.readBigInt64BE(o + 8) === 0n) return { kind: 'empty', validEnd: 0, size };
    if (magic !== TXNLOG_MAGIC) {
      throw new CorruptLogError(file, 0, `not a txn log: magic 0x${(magic >>> 0).toString(16)}, expected 0x${TXNLOG_MAGIC.toString(16)} ("ZKLG")`);
    }
    if (version !== TXNLOG_VERSION) throw new CorruptLogError(file, 4, `unsupported txn log version ${version}`);

    let pos = TXNLOG_HEADER_SIZE;
    /** A damaged record at `pos` whose bytes end at `recordEnd`: torn tail or corruption. */
    const damaged = (reason: string, recordEnd: number): ScanEnd => {
      if (opts.newest && fb.zeroFrom(Math.min(recordEnd, size))) return { kind: 'torn', validEnd: pos, size, reason };
      const where = opts.newest ? 'followed by more data' : 'in a log that is not the newest';
      throw new CorruptLogError(file, pos, `${reason} (${where})`);
    };
    for (;;) {
      if (pos === size) return { kind: 'eof', validEnd: pos, size };
      if (pos + 12 > size) {
        return fb.zeroFrom(pos) ? { kind: 'zeros', validEnd: pos, size } : { kind: 'cut', validEnd: pos, size, reason: 'record header cut short by the end of the file' };
      }
      o = fb.at(pos, 12);
      const checksum = fb.view.readBigInt64BE(o);
      const length = fb.view.readInt32BE(o + 8);
      if (length === 0) {
        if (checksum === 0n && fb.zeroFrom(pos + 12)) return { kind: 'zeros', validEnd: pos, size };
        return damaged('zero-length record followed by data', pos + 12);
      }
      if (length < 0) return damaged(`negative record length ${length}`, pos + 12);
      if (length > (opts.maxRecordLength ?? DEFAULT_MAX_RECORD_LENGTH)) return damaged(`unreasonable record length ${length}`, pos + 12);
      const end = pos + 12 + length + 1;
      if (end > size) {
        return fb.zeroFrom(pos) ? { kind: 'zeros', validEnd: pos, size } : { kind: 'cut', validEnd: pos, size, reason: `record of ${length} bytes cut short by the end of the file` };
      }
      o = fb.at(pos, end - pos);
      const view = fb.view;
      const payload = view.subarray(o + 12, o + 12 + length);
      const sum = adler32(payload);
      if (BigInt(sum) !== checksum) {
        return damaged(`checksum mismatch: stored 0x${BigInt.asUintN(64, checksum).toString(16)}, computed 0x${sum.toString(16)}`, end);
      }
      if (view[o + 12 + length] !== END_OF_RECORD) {
        return damaged(`missing 'B' end-of-record marker (found 0x${view[o + 12 + length].toString(16)})`, end);
      }
      yield { offset: pos, end, payload, checksum };
      pos = end;
    }
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------- decoding

export interface TxnEntry {
  hdr: TxnHeader;
  txn: Txn;
  digest?: TxnDigest;
}

/** Decodes a record payload: TxnHeader, the txn record of its type, then an optional TxnDigest. */
export function decodeTxnPayload(payload: Buffer): TxnEntry {
  const r = new Reader(payload, 0, payload.length);
  const hdr = readTxnHeader(r);
  // With zookeeper.closeSessionTxn.enabled=false a closeSession has no body, yet a digest may follow. 12 bytes that
  // start with int 2 (the digest version) would otherwise be a CloseSessionTxn of two empty paths, which cannot be.
  const digestOnly = hdr.type === OpCode.closeSession && r.remaining === 12 && payload.readInt32BE(r.pos) === 2;
  const txnEnd = digestOnly ? r.pos : payload.length;
  const txn = readTxn(hdr.type, r, txnEnd);
  const entry: TxnEntry = { hdr, txn };
  // As SerializeUtils.deserializeTxn: whatever follows the txn is read as a TxnDigest if it is long enough.
  // The tree digest is unsigned (DataTree.treeDigest), the jute long signed.
  if (r.remaining >= 12) entry.digest = { version: r.int(), treeDigest: BigInt.asUintN(64, r.long()) };
  return entry;
}

/** The zxid of a payload without decoding it (TxnHeader: long clientId, int cxid, long zxid, ...). */
function payloadZxid(payload: Buffer): number {
  if (payload.length < 20) return -1;
  return payload.readUInt32BE(12) * 0x100000000 + payload.readUInt32BE(16);
}

export interface LoggedTxn extends TxnEntry {
  /** The log file holding it. */
  file: string;
  /** Offset of its record in the file. */
  offset: number;
}

function decodeAt(file: string, rec: RawRecord): TxnEntry {
  try {
    // Copied: decoded buffers (znode data) must not pin or alias the scan window.
    return decodeTxnPayload(Buffer.from(rec.payload));
  } catch (e) {
    if (e instanceof JuteError || e instanceof RangeError) {
      throw new CorruptLogError(file, rec.offset, `the record's checksum is right but its txn does not decode: ${e.message}`);
    }
    throw e;
  }
}

/**
 * Every logged txn with zxid >= fromZxid, oldest first, across the logs of `dir` (FileTxnIterator). Validates as
 * described at the top of this file; a torn tail of the newest log simply ends the iteration.
 */
export function* readTxns(dir: string, fromZxid = 0, opts: { maxRecordLength?: number } = {}): Generator<LoggedTxn, void> {
  const all = listTxnLogs(dir);
  if (all.length === 0) return;
  const newest = all[all.length - 1].file;
  for (const log of logsFrom(all, fromZxid)) {
    for (const rec of scanLogFile(log.file, { newest: log.file === newest, maxRecordLength: opts.maxRecordLength })) {
      if (payloadZxid(rec.payload) < fromZxid) continue;
      const e = decodeAt(log.file, rec);
      yield { ...e, file: log.file, offset: rec.offset };
    }
  }
}

/** Every txn of one log file (tools); `newest` says whether a damaged last record is a torn tail. */
export function* readTxnLogFile(file: string, opts: ScanOptions = { newest: true }): Generator<LoggedTxn, ScanEnd> {
  const it = scanLogFile(file, opts);
  for (;;) {
    const n = it.next();
    if (n.done) return n.value;
    yield { ...decodeAt(file, n.value), file, offset: n.value.offset };
  }
}

/** The zxid of the last txn in the logs of `dir`, or -1 when there is none (FileTxnLog.getLastLoggedZxid). */
export function lastLoggedZxid(dir: string): number {
  const all = listTxnLogs(dir);
  for (let i = all.length - 1; i >= 0; i--) {
    let last = -1;
    for (const rec of scanLogFile(all[i].file, { newest: i === all.length - 1 })) last = payloadZxid(rec.payload);
    if (last >= 0) return last;
  }
  return -1;
}

function scanToEnd(file: string, opts: ScanOptions): ScanEnd {
  const it = scanLogFile(file, opts);
  for (;;) {
    const n = it.next();
    if (n.done) return n.value;
  }
}

// ---------------------------------------------------------------- repairs

export interface TruncatedTail {
  /** The newest log. */
  file: string;
  /** Its new length: the end of its last whole record (0: the file held no header and was removed). */
  offset: number;
  /** Bytes removed. */
  removed: number;
  reason: string;
}

async function fsyncDir(dir: string): Promise<void> {
  const h = await fs.promises.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

async function truncateFile(file: string, length: number): Promise<void> {
  const h = await fs.promises.open(file, 'r+');
  try {
    await h.truncate(length);
    await h.sync();
  } finally {
    await h.close();
  }
}

/**
 * Cuts a torn tail off the newest log of `dir` (a record cut short or damaged, with nothing but zeros after it), so
 * that later startups and ZooKeeper itself read a clean log; a newest log without a whole header is removed.
 * Returns what was cut, or undefined when the log was clean. Throws CorruptLogError for damage that is not a tail.
 * Must not run while a FileTxnLog writes to `dir`.
 */
export async function truncateTornTail(dir: string): Promise<TruncatedTail | undefined> {
  const all = listTxnLogs(dir);
  if (all.length === 0) return undefined;
  const { file } = all[all.length - 1];
  const end = scanToEnd(file, { newest: true });
  if (end.kind === 'empty') {
    await fs.promises.unlink(file);
    await fsyncDir(dir);
    return { file, offset: 0, removed: end.size, reason: 'no complete file header' };
  }
  if (end.kind !== 'cut' && end.kind !== 'torn') return undefined;
  await truncateFile(file, end.validEnd);
  return { file, offset: end.validEnd, removed: end.size - end.validEnd, reason: end.reason ?? end.kind };
}

/**
 * fsyncs every log of `dir` and the directory. After a process crash the logs read back may hold txns that only
 * ever reached the page cache: recovery replays them, the server votes with them and a leader counts them as held.
 * A power loss later would drop them while txns logged since (fsynced in a newer file) stay: a hole that replays
 * into a different tree at the same zxid, or an older log with a torn tail. Making them durable first closes that.
 */
export async function syncLogs(dir: string): Promise<void> {
  for (const { file } of listTxnLogs(dir)) {
    const h = await fs.promises.open(file, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  }
  await fsyncDir(dir);
}

export interface TruncateResult {
  /** The log cut at the end of the txn `zxid` (undefined when no log needed cutting). */
  file?: string;
  offset?: number;
  /** Logs removed because every txn in them came after zxid. */
  deleted: string[];
}

/**
 * Removes every logged txn after `zxid` (a TRUNC from the leader; FileTxnLog.truncate): the log holding zxid is cut
 * after it and later logs are deleted. Synchronous and durable (fsync of the cut file and of the directory). Must not
 * run while a FileTxnLog writes to `dir`.
 */
export function truncateLogAfter(dir: string, zxid: number): TruncateResult {
  const all = listTxnLogs(dir);
  const result: TruncateResult = { deleted: [] };
  if (all.length === 0) return result;
  const newest = all[all.length - 1].file;
  for (const log of logsFrom(all, zxid)) {
    if (log.zxid > zxid) {
      fs.unlinkSync(log.file);
      result.deleted.push(log.file);
      continue;
    }
    let cut: number | undefined;
    let validEnd = TXNLOG_HEADER_SIZE;
    const it = scanLogFile(log.file, { newest: log.file === newest });
    let n = it.next();
    for (; !n.done; n = it.next()) {
      if (payloadZxid(n.value.payload) > zxid) {
        cut = n.value.offset;
        break;
      }
      validEnd = n.value.end;
    }
    if (!n.done) it.return({ kind: 'eof', validEnd: 0, size: 0 });
    // Also drop a torn tail or preallocated zeros after the last kept record.
    const size = fs.statSync(log.file).size;
    if (cut === undefined) cut = n.done && n.value.kind === 'empty' ? 0 : validEnd;
    if (cut < size) {
      const fd = fs.openSync(log.file, 'r+');
      try {
        fs.ftruncateSync(fd, cut);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      result.file = log.file;
      result.offset = cut;
    }
  }
  if (result.deleted.length > 0) {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  return result;
}
