// Damage to a stopped node's data directory, as a crash or a bad disk leaves it (the corrupt-restart fault). The
// formats are ZooKeeper 3.8's, shared by zkts and Apache: version-2/log.<zxid> (16-byte FileHeader, then records
// of long crc, int length, payload, 'B', then preallocated zeros) and version-2/snapshot.<zxid>.
import fs from 'node:fs';
import path from 'node:path';
import type { Corruption } from './schedule.js';

const LOG_HEADER_BYTES = 16;
/** crc (8) + length (4) before the payload, 'B' after it. */
const RECORD_OVERHEAD = 13;
const END_OF_RECORD = 0x42;

/** What was done, for the history file ("nothing" when the data dir had no such file yet). */
export interface CorruptionDone {
  kind: Corruption['kind'];
  file?: string;
  detail: string;
}

interface LogRecord {
  start: number;
  end: number;
  payloadStart: number;
  payloadLength: number;
}

/** The whole records of a txn log; stops at the first one that does not parse (the preallocated zeros). */
export function logRecords(buf: Buffer): LogRecord[] {
  const out: LogRecord[] = [];
  let off = LOG_HEADER_BYTES;
  while (off + RECORD_OVERHEAD <= buf.length) {
    const len = buf.readInt32BE(off + 8);
    const end = off + 12 + len + 1;
    if (len <= 0 || end > buf.length || buf[end - 1] !== END_OF_RECORD) break;
    out.push({ start: off, end, payloadStart: off + 12, payloadLength: len });
    off = end;
  }
  return out;
}

const zxidOf = (name: string): bigint => BigInt('0x' + (name.split('.')[1] ?? '0'));

/** version-2 files named `<prefix>.<hex zxid>[...]`, newest (highest zxid) first. */
export function newestFirst(dataDir: string, prefix: 'log' | 'snapshot'): string[] {
  const dir = path.join(dataDir, 'version-2');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir)
    .filter((f) => f.startsWith(`${prefix}.`))
    .sort((a, b) => (zxidOf(a) < zxidOf(b) ? 1 : zxidOf(a) > zxidOf(b) ? -1 : 0))
    .map((f) => path.join(dir, f));
}

/** The newest log that holds at least one record (a freshly rolled log may hold none yet). */
function newestLogWithRecords(dataDir: string): { file: string; buf: Buffer; records: LogRecord[] } | undefined {
  for (const file of newestFirst(dataDir, 'log')) {
    const buf = fs.readFileSync(file);
    const records = logRecords(buf);
    if (records.length > 0) return { file, buf, records };
  }
  return undefined;
}

export function corrupt(dataDir: string, c: Corruption): CorruptionDone {
  switch (c.kind) {
    case 'log-tail':
      return tearLogTail(dataDir, c.bytes);
    case 'snapshot-flip':
      return flipSnapshot(dataDir, c.at, c.mask);
    case 'log-flip':
      return flipLogRecord(dataDir, c.at, c.mask);
  }
}

/** Truncates the newest log `bytes` before the end of its data: the last record(s) torn, as by a crash mid-write. */
function tearLogTail(dataDir: string, bytes: number): CorruptionDone {
  const log = newestLogWithRecords(dataDir);
  if (!log) return { kind: 'log-tail', detail: 'nothing: no log with records' };
  const dataEnd = log.records[log.records.length - 1].end;
  const cut = Math.max(LOG_HEADER_BYTES, dataEnd - bytes);
  fs.truncateSync(log.file, cut);
  const torn = log.records.filter((r) => r.end > cut).length;
  return { kind: 'log-tail', file: log.file, detail: `truncated at ${cut} (data ended at ${dataEnd}): ${torn} record(s) torn` };
}

function flipByte(file: string, pos: number, mask: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, pos);
    b[0] ^= mask;
    fs.writeSync(fd, b, 0, 1, pos);
  } finally {
    fs.closeSync(fd);
  }
}

function flipSnapshot(dataDir: string, at: number, mask: number): CorruptionDone {
  const file = newestFirst(dataDir, 'snapshot')[0];
  if (!file) return { kind: 'snapshot-flip', detail: 'nothing: no snapshot' };
  const size = fs.statSync(file).size;
  const pos = Math.min(size - 1, Math.max(Math.floor(size / 2), Math.floor(size * at)));
  flipByte(file, pos, mask);
  return { kind: 'snapshot-flip', file, detail: `byte ${pos} of ${size} xor 0x${mask.toString(16)}` };
}

function flipLogRecord(dataDir: string, at: number, mask: number): CorruptionDone {
  const log = newestLogWithRecords(dataDir);
  if (!log) return { kind: 'log-flip', detail: 'nothing: no log with records' };
  const i = Math.min(log.records.length - 1, Math.floor(at * log.records.length));
  const r = log.records[i];
  const pos = r.payloadStart + Math.floor(r.payloadLength / 2);
  flipByte(log.file, pos, mask);
  const last = i === log.records.length - 1 ? ' (the last record: a torn tail)' : '';
  return { kind: 'log-flip', file: log.file, detail: `record ${i + 1} of ${log.records.length}${last}, byte ${pos} xor 0x${mask.toString(16)}` };
}

/** Empties a refused node's data dir but for myid: the operator's recovery; the quorum resyncs it with a SNAP. */
export function wipeDataDir(dataDir: string): void {
  for (const f of fs.readdirSync(dataDir)) {
    if (f !== 'myid') fs.rmSync(path.join(dataDir, f), { recursive: true, force: true });
  }
}
