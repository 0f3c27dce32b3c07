// Test support: dump a server's whole data tree through a real client, and compare two dumps.
//
// Every node is recorded with its data (base64, or null for null data), its full Stat, its ACL and its ephemeral
// owner. A node the dumping client may not read is recorded with the error code instead (e.g. NOAUTH), which is
// itself comparable; callers add the auth they need (digest, or a super digest) before dumping.
//
// /zookeeper, /zookeeper/quota and /zookeeper/config are dumped like any node. In standalone mode /zookeeper/config
// is empty with a zero Stat on both servers; a server running with dynamic reconfig rewrites it from its own config
// at start, so a caller comparing such servers passes `ignore: ['/zookeeper/config']`. Nothing else is ignored by
// default: for a data directory handed from one server to another every Stat field must be identical.
import type { ZooKeeperClient } from '../../src/client/index.js';
import { ZkError, codeName } from '../../src/client/index.js';
import type { ACL, Stat } from '../../src/protocol/records.js';

export interface DumpedStat {
  czxid: number;
  mzxid: number;
  pzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  /** 0x-hex */
  ephemeralOwner: string;
  dataLength: number;
  numChildren: number;
}

export interface DumpedNode {
  /** base64 of the data, or null for null data. */
  data: string | null;
  stat: DumpedStat | null;
  /** "scheme:id:perms" each, in server order. */
  acl: string[] | null;
  /** 0x-hex session id; "0x0" for persistent nodes. */
  ephemeralOwner: string;
  children: string[];
  /** Error codes met while reading this node (e.g. { getData: 'NOAUTH' }). */
  errors?: Record<string, string>;
}

export type TreeDump = Map<string, DumpedNode>;

const hex = (v: bigint): string => '0x' + BigInt.asUintN(64, v).toString(16);

function dumpStat(s: Stat): DumpedStat {
  return {
    czxid: s.czxid, mzxid: s.mzxid, pzxid: s.pzxid, ctime: s.ctime, mtime: s.mtime, version: s.version,
    cversion: s.cversion, aversion: s.aversion, ephemeralOwner: hex(s.ephemeralOwner), dataLength: s.dataLength,
    numChildren: s.numChildren,
  };
}

const aclText = (a: ACL): string => `${a.id.scheme}:${a.id.id}:${a.perms}`;
const join = (parent: string, child: string): string => (parent === '/' ? `/${child}` : `${parent}/${child}`);

async function attempt<T>(what: string, errors: Record<string, string>, f: () => Promise<T>): Promise<T | null> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof ZkError) {
      errors[what] = codeName(e.code);
      return null;
    }
    throw e;
  }
}

export interface DumpOptions {
  /** Paths whose subtree is not walked (the node itself is not recorded either). */
  skip?: string[];
  /** Requests in flight at once (default 64). */
  concurrency?: number;
}

/** Walks the whole tree under `root` breadth-first with pipelined reads and returns every node by path. */
export async function dumpTree(client: ZooKeeperClient, root = '/', opts: DumpOptions = {}): Promise<TreeDump> {
  const out: TreeDump = new Map();
  const skip = new Set(opts.skip ?? []);
  const width = opts.concurrency ?? 64;
  let level = [root];
  while (level.length > 0) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += width) {
      const batch = level.slice(i, i + width).filter((p) => !skip.has(p));
      const nodes = await Promise.all(batch.map(async (p) => {
        const errors: Record<string, string> = {};
        const [d, acl, children] = await Promise.all([
          attempt('getData', errors, () => client.getData(p)),
          attempt('getACL', errors, () => client.getACL(p)),
          attempt('getChildren', errors, () => client.getChildren(p)),
        ]);
        const stat = d?.stat ?? acl?.stat ?? null;
        const node: DumpedNode = {
          data: d ? (d.data === null ? null : d.data.toString('base64')) : null,
          stat: stat ? dumpStat(stat) : null,
          acl: acl ? acl.acl.map(aclText) : null,
          ephemeralOwner: stat ? hex(stat.ephemeralOwner) : '?',
          children: children ? [...children].sort() : [],
          ...(Object.keys(errors).length > 0 ? { errors } : {}),
        };
        return [p, node] as const;
      }));
      for (const [p, node] of nodes) {
        out.set(p, node);
        for (const c of node.children) next.push(join(p, c));
      }
    }
    level = next;
  }
  return out;
}

export interface DiffOptions {
  /** Paths (and their subtrees) left out of the comparison. */
  ignore?: string[];
  /** At most this many differences are reported (default 50). */
  limit?: number;
}

const under = (p: string, prefixes: string[]): boolean => prefixes.some((x) => p === x || p.startsWith(x.endsWith('/') ? x : x + '/'));

/** Differences between two dumps, one readable line each; empty when identical. */
export function diffTrees(a: TreeDump, b: TreeDump, opts: DiffOptions = {}, names: [string, string] = ['a', 'b']): string[] {
  const ignore = opts.ignore ?? [];
  const limit = opts.limit ?? 50;
  const out: string[] = [];
  const paths = [...new Set([...a.keys(), ...b.keys()])].filter((p) => !under(p, ignore)).sort();
  const show = (v: unknown): string => JSON.stringify(v);
  for (const p of paths) {
    if (out.length >= limit) {
      out.push(`... (more differences not shown)`);
      break;
    }
    const x = a.get(p);
    const y = b.get(p);
    if (!x || !y) {
      out.push(`${p}: only in ${x ? names[0] : names[1]}`);
      continue;
    }
    if (x.data !== y.data) out.push(`${p}: data ${names[0]}=${show(x.data)} ${names[1]}=${show(y.data)}`);
    if (show(x.acl) !== show(y.acl)) out.push(`${p}: acl ${names[0]}=${show(x.acl)} ${names[1]}=${show(y.acl)}`);
    if (show(x.errors ?? {}) !== show(y.errors ?? {})) out.push(`${p}: errors ${names[0]}=${show(x.errors ?? {})} ${names[1]}=${show(y.errors ?? {})}`);
    if (show(x.children) !== show(y.children)) out.push(`${p}: children ${names[0]}=${show(x.children)} ${names[1]}=${show(y.children)}`);
    if (x.stat && y.stat) {
      for (const k of Object.keys(x.stat) as Array<keyof DumpedStat>) {
        if (x.stat[k] !== y.stat[k]) out.push(`${p}: stat.${k} ${names[0]}=${x.stat[k]} ${names[1]}=${y.stat[k]}`);
      }
    } else if (x.stat !== y.stat) {
      out.push(`${p}: stat ${names[0]}=${show(x.stat)} ${names[1]}=${show(y.stat)}`);
    }
  }
  return out;
}

/** A short summary of a dump for messages: node count and the largest mzxid/czxid/pzxid seen. */
export function summarize(d: TreeDump): string {
  let maxZxid = 0;
  for (const n of d.values()) if (n.stat) maxZxid = Math.max(maxZxid, n.stat.czxid, n.stat.mzxid, n.stat.pzxid);
  return `${d.size} nodes, max zxid 0x${maxZxid.toString(16)}`;
}
