// Mixed ensembles: zkts and Apache ZooKeeper 3.8 servers in one ensemble, speaking the same election and ZAB
// bytes. zkts leads Apache followers; after kill -9 of the zkts leader an Apache server leads and the restarted zkts
// server follows it (synced by the Java leader); writes through every server are read on all; trees stay identical.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { killEnsembles, startEnsemble } from '../../src/bench/ensemble.js';
import { assertSameTrees, onNode, retrying } from '../support/ensembleops.js';
import { oracleAvailable } from '../support/servers.js';

after(() => killEnsembles());

void describe('mixed zkts + Apache ZooKeeper ensemble', { timeout: 180_000, skip: oracleAvailable() ? false : 'Apache ZooKeeper jars not installed' }, () => {
  void test('zkts leads Apache followers; an Apache leader leads a zkts follower', async () => {
    // Node 3 (the highest id wins a tie on epoch and zxid) is zkts; 1 and 2 are Apache.
    const e = await startEnsemble({ kind: 'apache', kindOf: (id) => (id === 3 ? 'zkts' : 'apache'), voters: 3, tickTime: 200 });
    try {
      const zkts = e.node(3);
      assert.equal((await e.leader()).id, 3, 'the zkts server leads');
      for (const n of e.nodes) await onNode(n, (c) => c.create(`/under-zkts-${n.id}`, `by ${n.id}`));
      await assertSameTrees(e, [1, 2, 3]);

      await zkts.kill('SIGKILL');
      const javaLeader = await e.leader({ among: [1, 2], timeoutMs: 30_000 });
      await retrying('a write under the Java leader', () => onNode(javaLeader, (c) => c.create('/while-zkts-down', '')));
      await zkts.start();
      assert.equal(await zkts.mode(), 'follower');
      for (const n of e.nodes) await retrying(`write via ${n.id}`, () => onNode(n, (c) => c.create(`/under-java-${n.id}`, `by ${n.id}`)));
      const tree = await assertSameTrees(e, [1, 2, 3]);
      for (const p of ['/under-zkts-1', '/under-zkts-3', '/while-zkts-down', '/under-java-3']) assert.ok(tree.has(p), p);
    } finally {
      await e.stop();
    }
  });

  void test('a zkts observer follows an Apache leader, also when it syncs under a write load', async () => {
    const e = await startEnsemble({ kind: 'apache', kindOf: (id) => (id === 4 ? 'zkts' : 'apache'), voters: 3, observers: 1, tickTime: 200 });
    try {
      const observer = e.node(4);
      assert.equal(await observer.mode(), 'observer');
      await onNode(observer, (c) => c.create('/via-zkts-observer', 'o'));
      await observer.kill('SIGKILL');
      // Writes keep coming through an Apache follower while the observer restarts and syncs (INFORMs may arrive
      // before NEWLEADER from a Java leader).
      let writing = true;
      let n = 0;
      const load = onNode(e.node(1), async (c) => {
        while (writing) await c.create(`/load-${n++}`, '');
      }, 10_000);
      await observer.start();
      await retrying('a write through the restarted observer', () => onNode(observer, (c) => c.create('/after-restart', '')));
      writing = false;
      await load;
      const tree = await assertSameTrees(e, [1, 2, 3, 4]);
      assert.ok(tree.has('/via-zkts-observer') && tree.has('/after-restart') && tree.has(`/load-${n - 1}`));
    } finally {
      await e.stop();
    }
  });

  void test('an Apache observer follows a zkts leader (INFORM)', async () => {
    const e = await startEnsemble({ kind: 'zkts', kindOf: (id) => (id === 4 ? 'apache' : 'zkts'), voters: 3, observers: 1, tickTime: 200 });
    try {
      assert.equal(await e.node(4).mode(), 'observer');
      await onNode(e.node(4), (c) => c.create('/via-java-observer', 'o'));
      for (const n of e.nodes) await onNode(n, (c) => c.create(`/w${n.id}`, ''));
      await assertSameTrees(e, [1, 2, 3, 4]);
    } finally {
      await e.stop();
    }
  });
});
