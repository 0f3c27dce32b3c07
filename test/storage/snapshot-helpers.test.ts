// Helpers for the snapshot tests (no tests here; named *.test.ts to stay inside this task's file pattern): a canonical
// dump of a tree for equality checks, a txn applier that keeps its log for replay checks, and a varied tree.
import { NULL_BUFFER } from '../../src/jute/codec.js';
import { OpCode, Perms } from '../../src/protocol/constants.js';
import type { ACL } from '../../src/protocol/records.js';
import { DataTree } from '../../src/tree/datatree.js';
import type { Txn, TxnHeader } from '../../src/txn/records.js';

export interface NodeDump {
  data: string | null;
  acl: string;
  czxid: number; mzxid: number; pzxid: number; ctime: number; mtime: number;
  version: number; cversion: number; aversion: number; ephemeralOwner: string;
  children: string[];
}

/** Every node, sorted by path: stats as stored, data as hex (null for Java's null), ACL as JSON, sorted children. */
export function dumpTree(tree: DataTree): Map<string, NodeDump> {
  const out = new Map<string, NodeDump>();
  const entries = [...tree.nodeEntries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [p, n] of entries) {
    out.set(p, {
      data: n.data === NULL_BUFFER ? null : n.data.toString('hex'),
      acl: JSON.stringify(n.acl),
      czxid: n.czxid, mzxid: n.mzxid, pzxid: n.pzxid, ctime: n.ctime, mtime: n.mtime,
      version: n.version, cversion: n.cversion, aversion: n.aversion, ephemeralOwner: n.ephemeralOwner.toString(16),
      children: [...n.children].sort(),
    });
  }
  return out;
}

export const OPEN: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];

/** Applies txns with consecutive zxids (time = 1e12 + zxid) and remembers them, for replay checks. */
export class Applier {
  zxid: number;
  readonly log: Array<{ hdr: TxnHeader; txn: Txn }> = [];
  constructor(readonly tree: DataTree, start = 0) {
    this.zxid = start;
  }
  apply(txn: Txn, clientId = 0x100n): number {
    this.zxid++;
    const hdr: TxnHeader = { clientId, cxid: this.zxid, zxid: this.zxid, time: 1_700_000_000_000 + this.zxid, type: txn.type };
    this.log.push({ hdr, txn });
    return this.tree.processTxn(hdr, txn).err;
  }
  parentCv(p: string): number {
    return (this.tree.getNode(p.slice(0, p.lastIndexOf('/')) || '/')?.cversion ?? 0) + 1;
  }
  create(p: string, data: Buffer = Buffer.from(p), opts: { acl?: ACL[]; ephemeral?: boolean; clientId?: bigint } = {}): number {
    return this.apply({
      type: OpCode.create, path: p, data, acl: opts.acl ?? OPEN, ephemeral: opts.ephemeral ?? false, parentCVersion: this.parentCv(p),
    }, opts.clientId);
  }
  container(p: string): number {
    return this.apply({ type: OpCode.createContainer, path: p, data: Buffer.from('c'), acl: OPEN, parentCVersion: this.parentCv(p) });
  }
  ttl(p: string, ttl: number): number {
    return this.apply({ type: OpCode.createTTL, path: p, data: Buffer.from('t'), acl: OPEN, parentCVersion: this.parentCv(p), ttl });
  }
  set(p: string, data: Buffer): number {
    return this.apply({ type: OpCode.setData, path: p, data, version: (this.tree.getNode(p)?.version ?? 0) + 1 });
  }
  setAcl(p: string, acl: ACL[]): number {
    return this.apply({ type: OpCode.setACL, path: p, acl, version: (this.tree.getNode(p)?.aversion ?? 0) + 1 });
  }
  del(p: string): number {
    return this.apply({ type: OpCode.delete, path: p });
  }
}

export const DIGEST_ACL: ACL[] = [
  { perms: Perms.ALL, id: { scheme: 'digest', id: 'user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=' } },
  { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } },
];

/** A tree with nesting, binary and null data, many ACLs, ephemerals, containers, TTL and quota nodes. */
export function variedTree(): { tree: DataTree; applier: Applier } {
  const tree = new DataTree({ extendedTypesEnabled: true });
  const a = new Applier(tree);
  a.create('/app');
  a.create('/app/x', Buffer.from([0, 1, 2, 255, 254, 0x80]));
  a.create('/app/x/y');
  a.create('/app/x/y/z', NULL_BUFFER);
  a.create('/app/empty', Buffer.alloc(0));
  a.create('/app/utf8-\u00e9\u4e2d', Buffer.from('caf\u00e9'));
  for (let i = 0; i < 20; i++) {
    a.create(`/app/acl${i}`, Buffer.from(`v${i}`), {
      acl: [{ perms: (i % 31) + 1, id: { scheme: i % 2 ? 'ip' : 'digest', id: i % 2 ? `10.0.0.${i}` : `u${i % 5}:hash${i % 5}` } }],
    });
  }
  a.create('/secure', Buffer.from('s'), { acl: DIGEST_ACL });
  a.setAcl('/app/x', DIGEST_ACL);
  a.create('/app/eph1', Buffer.from('e'), { ephemeral: true, clientId: 0x1234n });
  a.create('/app/eph2', Buffer.from('e'), { ephemeral: true, clientId: 0x1234n });
  a.create('/app/eph3', Buffer.from('e'), { ephemeral: true, clientId: BigInt.asIntN(64, 0x8100000000000001n) });
  a.container('/cont');
  a.create('/cont/child');
  a.ttl('/ttl1', 60_000);
  a.create('/zookeeper/quota/app');
  a.create('/zookeeper/quota/app/zookeeper_limits', Buffer.from('count=100,bytes=-1'));
  a.create('/zookeeper/quota/app/zookeeper_stats', Buffer.from('count=0,bytes=0'));
  a.create('/app/after-quota', Buffer.alloc(3000, 7));
  for (let i = 0; i < 5; i++) a.set('/app/x/y', Buffer.from(`round ${i}`));
  a.create('/gone');
  a.create('/gone/child');
  a.del('/gone/child');
  a.del('/gone');
  return { tree, applier: a };
}
