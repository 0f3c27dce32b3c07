// ContainerManager's decision, pure: which containers and TTL nodes are due for deletion at `nowMs`.
// The server submits a deleteContainer request for each; prep re-checks emptiness, so a race with a create is safe.
import { TTL_MASK } from '../protocol/constants.js';
import type { DataTree } from '../tree/datatree.js';

const TTL_VALUE_MASK = 0xffffffffffn;

export function reapable(tree: DataTree, nowMs: number, maxPerRun: number): string[] {
  const out: string[] = [];
  const limit = maxPerRun > 0 ? maxPerRun : Number.MAX_SAFE_INTEGER;
  for (const path of tree.containers()) {
    if (out.length >= limit) return out;
    const node = tree.getNode(path);
    // A container that never had a child is left alone (maxNeverUsedIntervalMs = 0, ZooKeeper's default).
    if (node !== undefined && node.children.size === 0 && node.cversion > 0) out.push(path);
  }
  for (const path of tree.ttls()) {
    if (out.length >= limit) return out;
    const node = tree.getNode(path);
    if (node === undefined || node.children.size > 0) continue;
    const owner = BigInt.asUintN(64, node.ephemeralOwner);
    if ((owner & TTL_MASK) !== TTL_MASK) continue;
    const ttl = Number(owner & TTL_VALUE_MASK);
    if (nowMs - node.mtime > ttl) out.push(path);
  }
  return out;
}
