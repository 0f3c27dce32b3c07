// The prep stage decides each write against the tree as it WILL be once every write ahead of it commits: the
// committed tree plus the outstanding changes of prepared-but-uncommitted txns (ZooKeeper's ChangeRecords).
// This overlay is that view. Records carry the persisted stat and data, so that prep can also compute the tree
// digest each txn will leave behind (written with the txn, checked when it is applied and on replay).
import type { ACL } from '../protocol/records.js';
import type { DataTree } from '../tree/datatree.js';
import { nodeDigest } from '../tree/digest.js';
import type { StatPersisted } from '../tree/stat.js';

export interface NodeRecord extends StatPersisted {
  data: Buffer;
  acl: ACL[];
  childCount: number;
}

interface Change {
  zxid: number;
  /** null: the node is deleted by an outstanding txn. */
  node: NodeRecord | null;
}

/** What a failed multi must restore: the records it replaced and the digest before it. */
export interface SavedChanges {
  records: Map<string, Change | undefined>;
  digest: bigint | undefined;
}

const MOD64 = (1n << 64n) - 1n;

export class PendingChanges {
  private readonly changes = new Map<string, Change>();
  /** Tree digest after the last prepared txn; undefined when nothing is outstanding (then the tree's is current). */
  private digest: bigint | undefined;
  private lastPreparedZxid = -1;

  constructor(private readonly tree: DataTree) {}

  get size(): number {
    return this.changes.size;
  }

  /** The node as the next txn will find it; null when it does not (or will not) exist. */
  get(path: string): NodeRecord | null {
    const c = this.changes.get(path);
    if (c !== undefined) return c.node;
    const n = this.tree.getNode(path);
    if (n === undefined) return null;
    return {
      data: n.data, acl: n.acl, czxid: n.czxid, mzxid: n.mzxid, pzxid: n.pzxid, ctime: n.ctime, mtime: n.mtime,
      version: n.version, cversion: n.cversion, aversion: n.aversion, ephemeralOwner: n.ephemeralOwner,
      childCount: n.children.size,
    };
  }

  /** The tree digest as it will be once every prepared txn is applied. */
  currentDigest(): bigint {
    return this.digest ?? this.tree.treeDigest;
  }

  set(path: string, zxid: number, node: NodeRecord | null): void {
    const before = this.get(path);
    const oldDigest = before === null ? 0n : nodeDigest(path, before.data, before);
    const newDigest = node === null ? 0n : nodeDigest(path, node.data, node);
    this.digest = (this.currentDigest() - oldDigest + newDigest) & MOD64;
    this.changes.set(path, { zxid, node });
    this.lastPreparedZxid = zxid;
  }

  /** Notes that a txn was prepared (even one that changed nothing) so the digest it carries is current. */
  prepared(zxid: number): void {
    if (this.digest === undefined) this.digest = this.tree.treeDigest;
    this.lastPreparedZxid = zxid;
  }

  /** Paths of outstanding changes with their node (for closeSession's ephemeral list). */
  entries(): IterableIterator<[string, Change]> {
    return this.changes.entries();
  }

  /** A snapshot of the records for `paths`, to restore if a multi fails midway. */
  save(paths: Iterable<string>): SavedChanges {
    const records = new Map<string, Change | undefined>();
    for (const p of paths) if (!records.has(p)) records.set(p, this.changes.get(p));
    return { records, digest: this.digest };
  }

  restore(saved: SavedChanges): void {
    for (const [p, c] of saved.records) {
      if (c === undefined) this.changes.delete(p);
      else this.changes.set(p, c);
    }
    this.digest = saved.digest;
  }

  /** The txn with `zxid` is applied to the tree: its records are no longer needed (later ones stay). */
  committed(zxid: number, paths: readonly string[]): void {
    for (const p of paths) {
      const c = this.changes.get(p);
      if (c !== undefined && c.zxid <= zxid) this.changes.delete(p);
    }
    if (zxid >= this.lastPreparedZxid) this.digest = undefined;
  }

  clear(): void {
    this.changes.clear();
    this.digest = undefined;
  }
}
