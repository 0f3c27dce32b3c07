// Helpers for tests against a running ensemble (src/bench/ensemble.ts): sessions pinned to one node, retries
// while the ensemble elects, tree comparison across nodes, the sync mode a zkts leader logged.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Ensemble, EnsembleNode } from '../../src/bench/ensemble.js';
import { ZooKeeperClient } from '../../src/client/index.js';
import { silentLogger } from '../../src/util/log.js';
import { sleep, waitFor } from './ports.js';
import { diffTrees, dumpTree, type TreeDump } from './treecompare.js';

export function client(connect: string, timeoutMs = 4000): ZooKeeperClient {
  return new ZooKeeperClient(connect, { logger: silentLogger, sessionTimeoutMs: timeoutMs, connectTimeoutMs: 1000, reconnectDelayMs: 100 });
}

/** Runs `fn` with a fresh session on exactly one node. */
export async function onNode<T>(node: EnsembleNode, fn: (c: ZooKeeperClient) => Promise<T>, timeoutMs = 5000): Promise<T> {
  const c = client(`127.0.0.1:${node.clientPort}`);
  try {
    await c.connect(timeoutMs);
    return await fn(c);
  } finally {
    await c.close();
  }
}

/** Retries `fn` while the ensemble is electing (connection loss, refused sessions), bounded. */
export async function retrying<T>(what: string, fn: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${what}: still failing after ${timeoutMs} ms: ${(e as Error).message}`);
      await sleep(150);
    }
  }
}

/** The tree as one node sees it after sync(): every write committed before the call is there. */
export async function treeOf(node: EnsembleNode): Promise<TreeDump> {
  return retrying(`tree of node ${node.id}`, () => onNode(node, async (c) => {
    await c.sync('/');
    return dumpTree(c, '/', {});
  }));
}

/** Every given node holds the same tree (data, Stat, ACLs), compared pairwise with the first. */
export async function assertSameTrees(e: Ensemble, ids: number[]): Promise<TreeDump> {
  const first = await treeOf(e.node(ids[0]));
  for (const id of ids.slice(1)) {
    const other = await treeOf(e.node(id));
    // /zookeeper/config is each server's own (set locally with its clock, its view of the peers' addresses).
    const diff = diffTrees(first, other, { ignore: ['/zookeeper/config'] }, [`node ${ids[0]}`, `node ${id}`]);
    assert.deepEqual(diff, [], `trees differ:\n${diff.slice(0, 20).join('\n')}`);
  }
  return first;
}

/** Sync modes the leader logged for learner `sid` (zkts log lines "syncing learner"). */
export function syncModes(leader: EnsembleNode, sid: number): string[] {
  const out: string[] = [];
  for (const line of fs.readFileSync(leader.logFile, 'utf8').split('\n')) {
    if (!line.includes('"syncing learner"')) continue;
    try {
      const j = JSON.parse(line) as { sid: number; mode: string };
      if (j.sid === sid) out.push(j.mode);
    } catch {
      // a line cut by kill -9
    }
  }
  return out;
}

export async function expectSyncMode(e: Ensemble, leader: EnsembleNode, sid: number, mode: string): Promise<void> {
  if (e.kind !== 'zkts') return;
  await waitFor(`leader ${leader.id} to sync ${sid} with ${mode}`, () => syncModes(leader, sid).at(-1) === mode, 10_000)
    .catch((err: Error) => {
      throw new Error(`${err.message}; modes logged for ${sid}: ${syncModes(leader, sid).join(',') || 'none'}`);
    });
}

