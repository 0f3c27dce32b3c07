// storage/inspect-snapshot.ts: `zkts snapshot <file> [-d] [--json]`, ZooKeeper's SnapshotFormatter
// (zkSnapShotToolkit.sh). Default: every znode with its stat and data length, the sessions, the digest, the last
// zxid, then a short summary; -d prints each znode's data (base64) instead of its length; --json prints one JSON
// document with everything (sessions, digest, every node with path, stat, data and ACL). A file that is not a
// readable snapshot: a message on stderr and exit code 2.
import fs from 'node:fs';
import { NULL_BUFFER } from '../jute/codec.js';
import type { ZNode } from '../tree/datatree.js';
import { DataTree } from '../tree/datatree.js';
import { CorruptSnapshotError, readSnapshotDetails, type SnapshotDetails } from './snapshot.js';

const USAGE = `usage: zkts snapshot <snapshot_file> [-d | --json]
  -d      dump the data of each znode (base64)
  --json  one JSON document: sessions, digest and every znode with stat, data and ACL
`;

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number): string => String(n).padStart(2, '0');

/** java.util.Date.toString() in UTC. */
function javaDate(ms: number): string {
  const d = new Date(ms);
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${pad2(d.getUTCDate())} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`;
}

/** String.format("%#016x"): "0x" then at least 14 hex digits (the width counts the prefix). */
function hex016(v: number | bigint): string {
  return '0x' + BigInt.asUintN(64, BigInt(v)).toString(16).padStart(14, '0');
}

/** Pre-order walk from the root, children in the tree's order. */
function* walk(tree: DataTree): Generator<[string, ZNode]> {
  const stack = ['/'];
  for (let p = stack.pop(); p !== undefined; p = stack.pop()) {
    const n = tree.getNode(p);
    if (n === undefined) continue;
    yield [p, n];
    const kids = [...n.children];
    for (let i = kids.length - 1; i >= 0; i--) stack.push(p === '/' ? '/' + kids[i] : `${p}/${kids[i]}`);
  }
}

function dataText(data: Buffer): { data: string | null; encoding?: 'base64' } {
  if (data === NULL_BUFFER) return { data: null };
  const s = data.toString('utf8');
  // utf8 only when it round-trips and holds no control characters other than tab/newline.
  // eslint-disable-next-line no-control-regex
  if (Buffer.from(s, 'utf8').equals(data) && !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(s)) return { data: s };
  return { data: data.toString('base64'), encoding: 'base64' };
}

function printText(d: SnapshotDetails, dumpData: boolean, out: (s: string) => void): void {
  const { tree } = d;
  out(`ZNode Details (count=${tree.nodeCount}):\n`);
  let dtZxid = 0;
  let dataBytes = 0;
  for (const [p, n] of walk(tree)) {
    dtZxid = Math.max(dtZxid, n.mzxid, n.pzxid);
    dataBytes += n.data.length;
    out(`----\n${p}\n` +
      `  cZxid = ${hex016(n.czxid)}\n  ctime = ${javaDate(n.ctime)}\n` +
      `  mZxid = ${hex016(n.mzxid)}\n  mtime = ${javaDate(n.mtime)}\n` +
      `  pZxid = ${hex016(n.pzxid)}\n  cversion = ${n.cversion}\n  dataVersion = ${n.version}\n` +
      `  aclVersion = ${n.aversion}\n  ephemeralOwner = ${hex016(n.ephemeralOwner)}\n` +
      (dumpData ? `  data = ${n.data.toString('base64')}\n` : `  dataLength = ${n.data.length}\n`));
  }
  out('----\n');
  out('Session Details (sid, timeout, ephemeralCount):\n');
  let ephemerals = 0;
  for (const [sid, timeout] of d.sessions) {
    const count = tree.ephemeralsOf(sid).size;
    ephemerals += count;
    out(`${hex016(sid)}, ${timeout}, ${count}\n`);
  }
  const zd = d.storedZxidDigest;
  const lastZxid = Math.max(d.nameZxid, dtZxid);
  out(`----\nLast zxid: 0x${lastZxid.toString(16)}\n`);
  out('----\nSummary:\n' +
    `  nodes = ${tree.nodeCount - 1}\n  data bytes = ${dataBytes}\n  approximate data size = ${tree.approximateDataSize()}\n` +
    `  sessions = ${d.sessions.size}\n  ephemerals = ${ephemerals}\n  containers = ${tree.containers().size}\n` +
    `  ttl nodes = ${tree.ttls().size}\n` +
    `  digest (stored) = ${zd === undefined ? 'none' : `zxid 0x${zd.zxid.toString(16)}, version ${zd.digestVersion}, ${BigInt.asIntN(64, zd.digest)}`}\n` +
    `  digest (computed) = ${BigInt.asIntN(64, tree.treeDigest)}\n` +
    `  last zxid = 0x${lastZxid.toString(16)}\n`);
}

function printJson(file: string, d: SnapshotDetails, out: (s: string) => void): void {
  const { tree } = d;
  const zd = d.storedZxidDigest;
  const head = {
    file,
    zxid: d.nameZxid >= 0 ? '0x' + d.nameZxid.toString(16) : null,
    nodeCount: tree.nodeCount - 1,
    digest: zd === undefined ? null : { zxid: '0x' + zd.zxid.toString(16), version: zd.digestVersion, digest: BigInt.asIntN(64, zd.digest).toString() },
    computedDigest: BigInt.asIntN(64, tree.treeDigest).toString(),
    sessions: [...d.sessions].map(([id, timeout]) => ({ id: '0x' + BigInt.asUintN(64, id).toString(16), timeout, ephemerals: [...tree.ephemeralsOf(id)] })),
  };
  // Streamed: one node per write so that a big tree never becomes one giant string.
  const s = JSON.stringify(head, null, 1);
  out(s.slice(0, s.length - 2) + ',\n "nodes": [');
  let first = true;
  for (const [p, n] of walk(tree)) {
    const node = {
      path: p,
      stat: {
        czxid: '0x' + n.czxid.toString(16), mzxid: '0x' + n.mzxid.toString(16), pzxid: '0x' + n.pzxid.toString(16),
        ctime: n.ctime, mtime: n.mtime, version: n.version, cversion: tree.statOf(n).cversion, storedCversion: n.cversion,
        aversion: n.aversion, ephemeralOwner: '0x' + BigInt.asUintN(64, n.ephemeralOwner).toString(16),
        dataLength: n.data.length, numChildren: n.children.size,
      },
      ...dataText(n.data),
      acl: n.acl.map((a) => ({ perms: a.perms, scheme: a.id.scheme, id: a.id.id })),
    };
    out((first ? '\n  ' : ',\n  ') + JSON.stringify(node));
    first = false;
  }
  out('\n ]\n}\n');
}

/** `zkts snapshot`: returns the exit code (0 ok, 2 usage error or not a readable snapshot). */
export async function snapshotMain(argv: string[], out?: (s: string) => void): Promise<number> {
  if (out !== undefined) return run(argv, out);
  // stdout: batch the small writes, and wait until they are flushed (the CLI exits right after, and a pipe would
  // otherwise lose the tail).
  let pending = '';
  const write = (s: string): void => {
    pending += s;
    if (pending.length > 1 << 16) {
      process.stdout.write(pending);
      pending = '';
    }
  };
  const code = await run(argv, write);
  await new Promise<void>((resolve) => process.stdout.write(pending, () => resolve()));
  return code;
}

async function run(argv: string[], out: (s: string) => void): Promise<number> {
  let file: string | undefined;
  let dumpData = false;
  let json = false;
  for (const a of argv) {
    if (a === '-d') dumpData = true;
    else if (a === '--json' || a === '-json') json = true;
    else if (a === '-h' || a === '--help') {
      out(USAGE);
      return 0;
    } else if (file === undefined && !a.startsWith('-')) file = a;
    else {
      process.stderr.write(`zkts snapshot: unexpected argument '${a}'\n${USAGE}`);
      return 2;
    }
  }
  if (file === undefined) {
    process.stderr.write(USAGE);
    return 2;
  }
  if (dumpData && json) {
    process.stderr.write('zkts snapshot: cannot specify both data dump (-d) and json mode (--json)\n');
    return 2;
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    process.stderr.write(`zkts snapshot: ${file}: ${(e as Error).message}\n`);
    return 2;
  }
  if (!st.isFile()) {
    process.stderr.write(`zkts snapshot: ${file} is not a file\n`);
    return 2;
  }
  let d: SnapshotDetails;
  try {
    d = await readSnapshotDetails(file, { extendedTypesEnabled: true });
  } catch (e) {
    if (e instanceof CorruptSnapshotError) {
      process.stderr.write(`zkts snapshot: ${file} is not a valid snapshot: ${e.detail}\n`);
      return 2;
    }
    process.stderr.write(`zkts snapshot: cannot read ${file}: ${(e as Error).message}\n`);
    return 2;
  }
  if (json) printJson(file, d, out);
  else printText(d, dumpData, out);
  return 0;
}
