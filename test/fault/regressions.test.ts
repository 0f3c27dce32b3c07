// Regressions found by the fault suite (src/fault/), each reduced to a deterministic scenario on real processes.
//
// snapshot fallback across a log gap (found by `zkts fault --workload lock --fault corrupt-restart --seed 1001
// --duration 15`): a follower synced by SNAP writes the snapshot (snapshot.X) and cuts its log after X, so its logs
// hold nothing between its older snapshots and X. When snapshot.X is then damaged, the restart may fall back to an
// older snapshot only if the logs continue from it without a gap; replaying the txns after X onto an older tree
// serves a tree without everything committed before X (the node's own digest check sees it, and the leader syncs
// it by DIFF from the zxid it claims). The server must either refuse to start or come back with every committed
// node. zkts now refuses (storage/database.ts, TxnLogGapError). Apache ZooKeeper 3.8 loses the data the same way
// (it logs "First digest mismatch on txn" and serves on), so this test runs against zkts only.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { type EnsembleNode, killEnsembles, startEnsemble } from '../../src/bench/ensemble.js';
import { corrupt, newestFirst, wipeDataDir } from '../../src/fault/corrupt.js';
import { Code, ZkError } from '../../src/client/index.js';
import { onNode, retrying } from '../support/ensembleops.js';

const TICK = 200;
/** Nodes committed before the SNAP, and after it (the latter are in the follower's log after X). */
const BEFORE = 20;
const AFTER = 20;


after(() => killEnsembles());

/** Creates `dir` and `count` children through `n`, pipelined. */
async function createMany(n: EnsembleNode, dir: string, count: number): Promise<void> {
  await onNode(n, async (c) => {
    await c.create(dir, '');
    await Promise.all(Array.from({ length: count }, (_, i) => c.create(`${dir}/n${i}`, 'x')));
  });
}

/** The children of `path` on `n` after sync; a missing node reads as ['<NONODE>'] (an answer, not retried). */
async function children(n: EnsembleNode, path: string): Promise<string[]> {
  return retrying(`children of ${path} on node ${n.id}`, () => onNode(n, async (c) => {
    await c.sync('/');
    try {
      return (await c.getChildren(path)).sort();
    } catch (e) {
      if (ZkError.is(e, Code.NONODE)) return ['<NONODE>'];
      throw e;
    }
  }));
}

void describe('fault-suite regressions (zkts)', { timeout: 120_000 }, () => {
  void test('a damaged SNAP snapshot: no fallback to an older snapshot across the log gap it leaves', async () => {
    const e = await startEnsemble({ kind: 'zkts', voters: 3, tickTime: TICK });
    try {
      const leader = await e.leader();
      const f = e.nodes.find((n) => n !== leader)!;
      await createMany(leader, '/before', BEFORE);
      await f.kill('SIGKILL');
      // An empty data dir (as an operator recovers a damaged one) comes back by SNAP: snapshot.X, logs after X.
      wipeDataDir(f.dataDir);
      await f.start();
      await createMany(leader, '/after', AFTER);
      await retrying('the follower to have the last write', async () => assert.equal((await children(f, '/after')).length, AFTER));
      await f.kill('SIGKILL');
      const snap = newestFirst(f.dataDir, 'snapshot')[0];
      const done = corrupt(f.dataDir, { kind: 'snapshot-flip', at: 0.9, mask: 0x40 });
      assert.equal(done.file, snap, `damaged the newest snapshot: ${done.detail}`);
      // f now claims the zxid of its log's tail, which the leader's committed log covers: a DIFF follows.
      const started = await f.start().then(() => true, () => false);
      if (!started) {
        assert.equal(f.running, false, 'refusing to start is a valid answer');
        return;
      }
      for (const dir of ['/before', '/after']) {
        assert.deepEqual(await children(f, dir), await children(leader, dir), `node ${f.id} lost ${dir}'s children committed before its SNAP`);
      }
    } finally {
      await e.stop();
    }
  });
});
