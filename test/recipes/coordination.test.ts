// Barrier, double barrier, queues and the shared counter against each server kind. Many clients in contention;
// the counter's contenders are separate processes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  Barrier, DistributedQueue, DoubleBarrier, LockingQueue, type QueueItem, SharedCounter,
} from '../../src/recipes/index.js';
import { type RunningServer, startServer, testKinds } from '../support/servers.js';
import { Clients, eventually, freshPath, runWorkers, sleep } from './helpers.js';

for (const kind of testKinds()) {
  void describe(`coordination recipes against ${kind}`, { timeout: 60_000 }, () => {
    let server: RunningServer;
    const clients = new Clients(() => server.connectString);

    before(async () => {
      server = await startServer(kind, { tickTime: 250 });
    });
    after(async () => {
      await clients.closeAll();
      await server?.stop();
    });

    void it('barrier: nobody passes while it is up; everyone passes once it is removed', async () => {
      const p = `${freshPath('barrier')}/b`;
      const cs = await clients.many(6);
      await new Barrier(cs[0], p).setBarrier();
      let removed = false;
      const passedEarly: number[] = [];
      const waits = cs.slice(1).map((c, i) => new Barrier(c, p).waitOnBarrier(10_000).then((ok) => {
        if (!removed) passedEarly.push(i);
        return ok;
      }));
      assert.equal(await new Barrier(cs[0], p).waitOnBarrier(200), false, 'times out while up');
      await sleep(100);
      removed = true;
      await new Barrier(cs[0], p).removeBarrier();
      assert.deepEqual(await Promise.all(waits), [true, true, true, true, true]);
      assert.deepEqual(passedEarly, []);
    });

    void it('double barrier: 6 members; nobody starts before all entered, nobody leaves before all are leaving', async () => {
      const p = freshPath('dbl');
      const cs = await clients.many(6);
      let clock = 0;
      const log: Array<{ who: number; what: 'enter' | 'entered' | 'leave' | 'left'; at: number }> = [];
      await Promise.all(cs.map(async (c, i) => {
        const b = new DoubleBarrier(c, p, cs.length, `m${i}`);
        await sleep(Math.random() * 150);
        log.push({ who: i, what: 'enter', at: ++clock });
        assert.ok(await b.enter(10_000));
        log.push({ who: i, what: 'entered', at: ++clock });
        await sleep(Math.random() * 150);
        log.push({ who: i, what: 'leave', at: ++clock });
        assert.ok(await b.leave(10_000));
        log.push({ who: i, what: 'left', at: ++clock });
      }));
      const at = (what: string): number[] => log.filter((e) => e.what === what).map((e) => e.at);
      assert.ok(Math.max(...at('enter')) < Math.min(...at('entered')), 'someone passed enter before all had entered');
      assert.ok(Math.max(...at('leave')) < Math.min(...at('left')), 'someone left before all were leaving');
      assert.deepEqual(await cs[0].getChildren(p), [], 'members and ready are gone');
    });

    void it('FIFO queue: 3 producers x 30 items, 4 competing consumers: each item exactly once', async () => {
      const p = freshPath('queue');
      const cs = await clients.many(7);
      const producers = cs.slice(0, 3).map(async (c, i) => {
        const q = new DistributedQueue(c, p);
        for (let j = 0; j < 30; j++) await q.offer(`${i}:${j}`);
      });
      const got: string[][] = [[], [], [], []];
      let stop = false;
      const consumers = cs.slice(3).map(async (c, k) => {
        const q = new DistributedQueue(c, p);
        while (!stop) {
          const item = await q.take(200);
          if (item) got[k].push(item.toString());
        }
      });
      try {
        await Promise.all(producers);
        await eventually('drained', async () => got.flat().length >= 90 && (await new DistributedQueue(cs[0], p).size()) === 0, 15_000);
      } finally {
        stop = true;
        await Promise.all(consumers);
      }
      const all = got.flat();
      assert.equal(all.length, 90);
      assert.equal(new Set(all).size, 90, 'no item delivered twice');
      // Each consumer sees each producer's items in offer order.
      for (const mine of got) {
        for (let i = 0; i < 3; i++) {
          const seqs = mine.filter((s) => s.startsWith(`${i}:`)).map((s) => Number(s.split(':')[1]));
          assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
        }
      }
    });

    void it('FIFO queue: one consumer receives items in offer order; poll/peek on empty', async () => {
      const p = freshPath('fifo');
      const [a, b] = await clients.many(2);
      const qa = new DistributedQueue(a, p);
      const qb = new DistributedQueue(b, p);
      assert.equal(await qb.poll(), null);
      assert.equal(await qb.take(100), null);
      const taking = qb.take(5000);
      for (let i = 0; i < 20; i++) await qa.offer(String(i));
      const out = [(await taking)?.toString()];
      assert.equal((await qb.peek())?.toString(), '1');
      for (let i = 1; i < 20; i++) out.push((await qb.take(1000))?.toString());
      assert.deepEqual(out, Array.from({ length: 20 }, (_, i) => String(i)));
    });

    void it('locking queue: items owned until ack; an abandoned item is redelivered; each acked once', async () => {
      const p = freshPath('lq');
      const cs = await clients.many(5);
      const q0 = new LockingQueue(cs[0], p);
      for (let i = 0; i < 40; i++) await q0.offer(String(i));
      // A consumer that takes two items and dies without acking; another releases one item explicitly.
      const doomed = new LockingQueue(cs[1], p);
      const abandoned = [await doomed.take(1000), await doomed.take(1000)];
      assert.ok(abandoned[0] && abandoned[1]);
      const released = await new LockingQueue(cs[2], p).take(1000);
      assert.ok(released);
      await released.release();
      const owned = new Map<string, number>(); // item -> consumers holding it now
      const acked: string[] = [];
      const overlaps: string[] = [];
      let stop = false;
      const consumers = cs.slice(2).map(async (c) => {
        const q = new LockingQueue(c, p);
        while (!stop) {
          const item: QueueItem | null = await q.take(200);
          if (!item) continue;
          const key = item.data.toString();
          owned.set(key, (owned.get(key) ?? 0) + 1);
          const holders = (owned.get(key) ?? 0);
          if (holders > 1) overlaps.push(key);
          await sleep(Math.random() * 5);
          owned.set(key, (owned.get(key) ?? 1) - 1);
          await item.ack();
          acked.push(key);
        }
      });
      try {
        await sleep(200);
        await cs[1].close(); // the abandoned items' claims go with the session
        await eventually('all acked', () => acked.length >= 40, 15_000);
      } finally {
        stop = true;
        await Promise.all(consumers);
      }
      assert.deepEqual(overlaps, []);
      assert.equal(acked.length, 40);
      assert.equal(new Set(acked).size, 40, 'each item acked exactly once');
      for (const a of abandoned) assert.ok(a && acked.includes(a.data.toString()), 'abandoned item redelivered');
      assert.deepEqual(await cs[0].getChildren(`${p}/items`), []);
      assert.deepEqual(await cs[0].getChildren(`${p}/locks`), []);
      await assert.rejects(abandoned[0]?.ack() ?? Promise.resolve(), 'a dead consumer cannot ack');
    });

    void it('shared counter: 5 processes x 20 increments; nothing lost, every result distinct', async () => {
      const p = freshPath('counter');
      const tasks = Array.from({ length: 5 }, (_, i) => ({
        task: 'counter' as const, connectString: server.connectString, path: p, id: `w${i}`, iterations: 20, holdMs: 0,
      }));
      const r = await runWorkers(tasks);
      assert.equal(r.done.size, 5);
      const values = [...r.done.values()].flatMap((v) => v ?? []).sort((a, b) => a - b);
      assert.deepEqual(values, Array.from({ length: 100 }, (_, i) => i + 1));
      const c = await clients.connect();
      const counter = new SharedCounter(c, p);
      assert.equal((await counter.get()).value, 100);
      const cur = await counter.get();
      assert.ok(await counter.trySet(7, cur.version));
      assert.equal(await counter.trySet(8, cur.version), false, 'stale version refused');
      assert.equal((await counter.get()).value, 7);
    });
  });
}
