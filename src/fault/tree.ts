// The whole data tree as one server holds it, for the end of a run: every znode's data and Stat. A workload's own
// final read looks only at its znodes; servers whose trees differ anywhere (a stale cversion, a ghost ephemeral, a
// node missing after a bad recovery) have diverged even when that read agrees. /zookeeper is each server's own.
import { createHash } from 'node:crypto';
import type { CheckResult } from '../check/history.js';
import type { ZooKeeperClient } from '../client/index.js';
import { verdict } from './worker.js';

/** path -> JSON of data (base64) and Stat */
export type Tree = Map<string, string>;

const SKIP = '/zookeeper';
/** Differing paths named in a summary. */
const SHOWN = 5;

const join = (parent: string, child: string): string => (parent === '/' ? `/${child}` : `${parent}/${child}`);

/** Breadth-first, one level's requests pipelined. Nodes deleted meanwhile are skipped (the ensemble is quiet). */
export async function dumpTree(c: ZooKeeperClient): Promise<Tree> {
  const tree: Tree = new Map();
  for (let level = ['/']; level.length > 0; ) {
    const read = await Promise.all(level.map(async (p) => {
      const [{ data, stat }, children] = await Promise.all([c.getData(p), c.getChildren(p)]);
      return { p, entry: JSON.stringify({ data: data?.toString('base64') ?? null, ...stat, ephemeralOwner: String(stat.ephemeralOwner) }), children };
    }));
    level = [];
    for (const r of read) {
      tree.set(r.p, r.entry);
      level.push(...r.children.map((ch) => join(r.p, ch)).filter((p) => p !== SKIP));
    }
  }
  return tree;
}

export function fingerprint(t: Tree): string {
  const h = createHash('sha256');
  for (const p of [...t.keys()].sort()) h.update(`${p}\0${t.get(p)}\n`);
  return h.digest('hex').slice(0, 16);
}

/** Every server's tree equals the first one's; the first few differing paths are named. */
export function checkTrees(trees: { id: number; tree: Tree }[]): CheckResult {
  if (trees.length === 0) return verdict('trees', ['no tree dumped'], '');
  const [first, ...rest] = trees;
  const problems: string[] = [];
  const details: Record<string, unknown> = {};
  for (const other of rest) {
    const paths = new Set([...first.tree.keys(), ...other.tree.keys()]);
    const differ = [...paths].filter((p) => first.tree.get(p) !== other.tree.get(p)).sort();
    if (differ.length === 0) continue;
    problems.push(`node ${other.id} differs from node ${first.id} at ${differ.length} path(s): ${differ.slice(0, SHOWN).join(', ')}`);
    details[`${first.id}-vs-${other.id}`] = differ.slice(0, SHOWN).map((p) => ({ path: p, [first.id]: first.tree.get(p), [other.id]: other.tree.get(p) }));
  }
  return verdict('trees', problems, `${trees.length} servers hold the same ${first.tree.size} znodes (${fingerprint(first.tree)})`, details);
}
