// storage/inspect-txnlog.ts: `zkts txnlog <file> [--json]`, a txn log dump in the shape of ZooKeeper's
// TxnLogToolkit (one line per txn: date, session, cxid, zxid, op name, the txn as the toolkit formats it), or one
// JSON object per txn with --json. Exit codes: 0 read to the end (a torn tail is noted on stderr), 1 corruption
// inside the log (the txns before it are printed), 2 usage error or a file that is not a readable txn log.
import fs from 'node:fs';
import { NULL_BUFFER, Writer } from '../jute/codec.js';
import { OpCode } from '../protocol/constants.js';
import type { ACL } from '../protocol/records.js';
import { type Txn, writeTxn } from '../txn/records.js';
import { CorruptLogError, readTxnLogFile, TXNLOG_HEADER_SIZE, TXNLOG_MAGIC, type LoggedTxn } from './txnlogReader.js';

const USAGE = 'usage: zkts txnlog <txn_log_file> [--json]\n' +
  '  Prints every txn of a ZooKeeper txn log (version-2/log.<zxid>), one per line, as TxnLogToolkit does;\n' +
  '  --json prints one JSON object per txn instead.\n';

type Sink = (s: string) => void;
const stdoutSink: Sink = (s) => process.stdout.write(s + '\n');
const stderrSink: Sink = (s) => process.stderr.write(s + '\n');

/** Request.op2String of ZooKeeper 3.8. */
const OP_NAMES: Record<number, string> = {
  0: 'notification', 1: 'create', 2: 'delete', 3: 'exists', 4: 'getData', 5: 'setData', 6: 'getACL', 7: 'setACL',
  8: 'getChildren', 9: 'sync', 11: 'ping', 12: 'getChildren2', 13: 'check', 14: 'multi', 15: 'create2',
  16: 'reconfig', 17: 'checkWatches', 18: 'removeWatches', 19: 'createContainer', 20: 'deleteContainer',
  21: 'createTtl', 22: 'multiRead', 100: 'auth', 101: 'setWatches', 102: 'sasl', 103: 'getEphemerals',
  104: 'getAllChildrenNumber', 105: 'setWatches2', 107: 'whoAmI', [-10]: 'createSession', [-11]: 'closeSession',
  [-1]: 'error',
};
export function op2String(op: number): string {
  return OP_NAMES[op] ?? `unknown${op}`;
}

// ---------------------------------------------------------------- jute's ToStringOutputArchive

/** A string field as jute's toString prints it: quoted with ', and \0 \n \r , } % escaped as %XX. */
function juteString(s: string | null): string {
  if (s === null) return '';
  return "'" + s.replace(/[\0\n\r,}%]/g, (c) => ({ '\0': '%00', '\n': '%0A', '\r': '%0D', ',': '%2C', '}': '%7D', '%': '%25' })[c]!);
}

function juteACL(a: ACL): string {
  return `s{${a.perms},s{${juteString(a.id.scheme)},${juteString(a.id.id)}}}`;
}

/** java.util.List<ACL>.toString(): each ACL's toString (a top-level record, so it ends with a newline). */
function aclList(acl: ACL[]): string {
  return '[' + acl.map((a) => `${a.perms},s{${juteString(a.id.scheme)},${juteString(a.id.id)}}\n`).join(', ') + ']';
}

/** new String(data, UTF_8), empty for null. */
function text(b: Buffer): string {
  return b.toString('utf8');
}

/** TxnLogToolkit.getFormattedTxnStr. */
export function formatTxn(t: Txn): string {
  switch (t.type) {
    case OpCode.create: case OpCode.create2:
      return `${t.path},${text(t.data)},${aclList(t.acl)},${t.ephemeral},${t.parentCVersion}`;
    case OpCode.createContainer:
      return `${t.path},${text(t.data)},${aclList(t.acl)},${t.parentCVersion}`;
    case OpCode.createTTL:
      return `${t.path},${text(t.data)},${aclList(t.acl)},${t.parentCVersion},${t.ttl}`;
    case OpCode.setData:
      return `${t.path},${text(t.data)},${t.version}`;
    case OpCode.multi:
      return t.txns.map((sub) => {
        const w = new Writer();
        writeTxn(w, sub);
        return `${op2String(sub.type)}:${w.view().toString('utf8')}`;
      }).join(';');
    // The rest print as jute records (toString ends a top-level record with a newline).
    case OpCode.delete: case OpCode.deleteContainer:
      return `${juteString(t.path)}\n`;
    case OpCode.setACL:
      return `${juteString(t.path)},v{${t.acl.map(juteACL).join(',')}},${t.version}\n`;
    case OpCode.check:
      return `${juteString(t.path)},${t.version}\n`;
    case OpCode.error:
      return `${t.err}\n`;
    case OpCode.createSession:
      return `${t.timeOut}\n`;
    case OpCode.closeSession:
      return t.paths2Delete === null ? '' : `v{${t.paths2Delete.map(juteString).join(',')}}\n`;
  }
}

let dateFormat: Intl.DateTimeFormat | undefined;
/** DateFormat.getDateTimeInstance(SHORT, LONG) in en_US: "11/21/26, 11:40:59 PM UTC", in the local time zone. */
export function javaDate(ms: number): string {
  dateFormat ??= new Intl.DateTimeFormat('en-US', {
    year: '2-digit', month: 'numeric', day: 'numeric', hour: 'numeric', minute: '2-digit', second: '2-digit',
    hour12: true, timeZoneName: 'short',
  });
  const p: Record<string, string> = {};
  for (const part of dateFormat.formatToParts(new Date(ms))) p[part.type] = part.value;
  return `${p.month}/${p.day}/${p.year}, ${p.hour}:${p.minute}:${p.second} ${p.dayPeriod} ${p.timeZoneName}`;
}

function hex64(v: bigint | number): string {
  return BigInt.asUintN(64, BigInt(v)).toString(16);
}

/** One TxnLogToolkit line (without the final newline). */
export function formatToolkitLine(e: LoggedTxn): string {
  const h = e.hdr;
  const line = `${javaDate(h.time)} session 0x${hex64(h.clientId)} cxid 0x${hex64(h.cxid)} zxid 0x${h.zxid.toString(16)} ${op2String(h.type)} ${formatTxn(e.txn)}`;
  return line.endsWith('\n') ? line.slice(0, -1) : line;
}

// ---------------------------------------------------------------- JSON

function bufferField(o: Record<string, unknown>, key: string, b: Buffer): void {
  if (b === NULL_BUFFER) o[key] = null;
  else {
    const s = b.toString('utf8');
    if (Buffer.from(s, 'utf8').equals(b)) o[key] = s;
    else o[key + 'Base64'] = b.toString('base64');
  }
}

export function txnToJson(t: Txn): Record<string, unknown> {
  const o: Record<string, unknown> = { type: op2String(t.type) };
  for (const [k, v] of Object.entries(t)) {
    if (k === 'type') continue;
    if (Buffer.isBuffer(v)) bufferField(o, k, v);
    else if (k === 'txns') o.txns = (v as Txn[]).map(txnToJson);
    else o[k] = v;
  }
  return o;
}

export function entryToJson(e: LoggedTxn): Record<string, unknown> {
  const h = e.hdr;
  const o: Record<string, unknown> = {
    session: '0x' + hex64(h.clientId), cxid: h.cxid, zxid: '0x' + h.zxid.toString(16), time: h.time,
    date: new Date(h.time).toISOString(), type: op2String(h.type), txn: txnToJson(e.txn),
  };
  if (e.digest) o.digest = { version: e.digest.version, treeDigest: '0x' + hex64(e.digest.treeDigest) };
  o.offset = e.offset;
  return o;
}

// ---------------------------------------------------------------- main

/** `zkts txnlog <file> [--json]`; returns the exit code. */
export function txnlogMain(argv: string[], out: Sink = stdoutSink, err: Sink = stderrSink): number {
  let json = false;
  const files: string[] = [];
  for (const a of argv) {
    if (a === '--json') json = true;
    else if (a === '-h' || a === '--help') {
      out(USAGE.trimEnd());
      return 0;
    } else if (a.startsWith('-') && a !== '-') {
      err(`zkts txnlog: unknown option ${a}\n${USAGE.trimEnd()}`);
      return 2;
    } else files.push(a);
  }
  if (files.length !== 1) {
    err(USAGE.trimEnd());
    return 2;
  }
  const file = files[0];
  let header: Buffer;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      header = Buffer.alloc(TXNLOG_HEADER_SIZE);
      const n = fs.readSync(fd, header, 0, TXNLOG_HEADER_SIZE, 0);
      header = header.subarray(0, n);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    err(`zkts txnlog: cannot read ${file}: ${(e as Error).message}`);
    return 2;
  }
  if (header.length < TXNLOG_HEADER_SIZE || header.readInt32BE(0) !== TXNLOG_MAGIC) {
    const what = header.length < TXNLOG_HEADER_SIZE ? `only ${header.length} bytes` : `magic 0x${header.readUInt32BE(0).toString(16)}`;
    err(`zkts txnlog: ${file} is not a ZooKeeper txn log (${what}; a txn log starts with "ZKLG")`);
    return 2;
  }
  if (!json) out(`ZooKeeper Transactional Log File with dbid ${header.readBigInt64BE(8)} txnlog format version ${header.readInt32BE(4)}`);
  let count = 0;
  const it = readTxnLogFile(file, { newest: true });
  try {
    for (;;) {
      const n = it.next();
      if (n.done) {
        if (!json) out(`EOF reached after ${count} txns.`);
        if (n.value.kind === 'torn' || n.value.kind === 'cut') {
          err(`zkts txnlog: ${file}: torn tail at offset ${n.value.validEnd} (${n.value.reason ?? n.value.kind}); ${n.value.size - n.value.validEnd} bytes after the last whole record`);
        }
        return 0;
      }
      out(json ? JSON.stringify(entryToJson(n.value)) : formatToolkitLine(n.value));
      count++;
    }
  } catch (e) {
    if (e instanceof CorruptLogError) {
      err(`zkts txnlog: ${e.message} (after ${count} txns)`);
      return 1;
    }
    err(`zkts txnlog: cannot read ${file}: ${(e as Error).message}`);
    return 2;
  }
}
