// The prep stage decides each write against the tree as it WILL be once every write ahead of it commits: the
// committed tree plus the outstanding changes of prepared-but-uncommitted txns (ZooKeeper's ChangeRecords).
// This overlay is that view. It holds only what prep needs to decide: versions, child count, owner, ACL, data size.
import type { ACL } from '../protocol/records.js';
import type { DataTree } from '../tree/datatree.js';

export interface NodeRecord {
  version: number;
  /** Stored cversion: counts child creations. */
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  childCount: number;
  acl: ACL[];
  dataLength: number;
}

interface Change {
  zxid: number;
  /** null: the node is deleted by an outstanding txn. */
  node: NodeRecord | null;
}

export class PendingChanges {
  private readonly changes = new Map<string, Change>();
  /** Ephemerals created or deleted by outstanding txns, by path, for closeSession. */
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
      version: n.version, cversion: n.cversion, aversion: n.aversion, ephemeralOwner: n.ephemeralOwner,
      childCount: n.children.size, acl: n.acl, dataLength: n.data.length,
    };
  }

  set(path: string, zxid: number, node: NodeRecord | null): void {
    this.changes.set(path, { zxid, node });
  }

  /** Paths of outstanding changes with their node (for closeSession's ephemeral list). */
  entries(): IterableIterator<[string, Change]> {
    return this.changes.entries();
  }

  /** A snapshot of the records for `paths`, to restore if a multi fails midway. */
  save(paths: Iterable<string>): Map<string, Change | undefined> {
    const saved = new Map<string, Change | undefined>();
    for (const p of paths) if (!saved.has(p)) saved.set(p, this.changes.get(p));
    return saved;
  }

  restore(saved: Map<string, Change | undefined>): void {
    for (const [p, c] of saved) {
      if (c === undefined) this.changes.delete(p);
      else this.changes.set(p, c);
    }
  }

  /** The txn with `zxid` is applied to the tree: its records are no longer needed (later ones stay). */
  committed(zxid: number, paths: readonly string[]): void {
    for (const p of paths) {
      const c = this.changes.get(p);
      if (c !== undefined && c.zxid <= zxid) this.changes.delete(p);
    }
  }

  clear(): void {
    this.changes.clear();
  }
}
