// Lock, read-write lock, semaphore and leader election/latch against each server kind: contenders in separate
// processes (worker.ts) with file-based overlap detectors and timestamped holds; in-process tests for the herd
// effect, timeouts, FIFO order and connection loss.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  DistributedLock, LeaderLatch, ReadWriteLock, Semaphore, type HoldState,
} from '../../src/recipes/index.js';
import { fourLetter } from '../support/ports.js';
import { type RunningServer, startServer, testKinds } from '../support/servers.js';
import { assertNoOverlap, Clients, eventually, freshPath, maxConcurrent, once, runWorkers, sleep } from './helpers.js';

for (const kind of testKinds()) {
  void describe(`lock recipes against ${kind}`, { timeout: 60_000 }, () => {
    let server: RunningServer;
    const clients = new Clients(() => server.connectString);

    before(async () => {
      server = await startServer(kind, { tickTime: 250 });
    });
    after(async () => {
      await clients.closeAll();
      await server?.stop();
    });

    void it('lock: 5 processes x 6 holds, no overlap, all acquire, reentrant', async () => {
      const p = freshPath('lock');
      const tasks = Array.from({ length: 5 }, (_, i) => ({
        task: 'lock' as const, connectString: server.connectString, path: p, id: `w${i}`, iterations: 6, holdMs: 15,
      }));
      const r = await runWorkers(tasks);
      assert.deepEqual(r.violations, []);
      assert.equal(r.done.size, 5, 'every worker finished');
      assert.equal(r.holds.length, 30);
      assertNoOverlap(r.holds, 'lock holds');
    });

    void it('lock: waiters watch only their predecessor (no herd), FIFO hand-off, timeout cleans up', async () => {
      const p = freshPath('herd');
      const [c0, ...cs] = await clients.many(7);
      const first = new DistributedLock(c0, p);
      assert.ok(await first.acquire());
      const order: number[] = [];
      const waiters: Array<{ done: Promise<void> }> = [];
      for (const [i, c] of cs.entries()) {
        // One at a time, so that the queue order is the index order.
        const l = new DistributedLock(c, p);
        waiters.push({ done: l.acquire({ timeoutMs: 20_000 }).then(async (ok) => {
          assert.ok(ok);
          order.push(i);
          await sleep(5);
          await l.release();
        }) });
        await eventually('queued', async () => (await DistributedLock.participants(c0, p)).length === i + 2);
      }
      // Each contender node is watched by at most one session, and only the 6 waiters watch (data watches).
      await eventually('watches set', async () => {
        const out = await fourLetter(server.port, 'wchp');
        return out.split('\n').filter((l) => l.startsWith(`${p}/`)).length === 6;
      });
      const out = await fourLetter(server.port, 'wchp');
      const perPath = new Map<string, number>();
      let cur = '';
      for (const line of out.split('\n')) {
        if (line.startsWith('/')) cur = line.trim();
        else if (line.trim().startsWith('0x')) perPath.set(cur, (perPath.get(cur) ?? 0) + 1);
      }
      const lockWatches = [...perPath].filter(([k]) => k.startsWith(`${p}/`));
      const holderNode = first.nodePath ?? '';
      assert.equal(lockWatches.length, 6);
      for (const [path, n] of lockWatches) {
        // The holder watches its own node (to notice losing it); otherwise one watcher per node: its successor.
        assert.ok(n <= (path === holderNode ? 2 : 1), `${path} watched by ${n} sessions`);
      }
      // A timed-out acquire removes its node.
      const late = new DistributedLock(c0, p);
      assert.equal(await late.acquire({ timeoutMs: 150 }), false);
      assert.equal((await DistributedLock.participants(c0, p)).length, 7);
      await first.release();
      await Promise.all(waiters.map((w) => w.done));
      assert.deepEqual(order, [0, 1, 2, 3, 4, 5], 'FIFO hand-off');
    });

    void it('lock: a holder whose session expires reports lost and the lock passes on', async () => {
      const p = freshPath('expire');
      const a = await clients.connect({ sessionTimeoutMs: 1000 });
      const b = await clients.connect();
      const la = new DistributedLock(a, p);
      const lb = new DistributedLock(b, p);
      assert.ok(await la.acquire());
      const states: HoldState[] = [];
      la.on('state', (s: HoldState) => states.push(s));
      const lost = once(la, 'lost', 15_000);
      let aHeldWhenBAcquired: boolean | undefined;
      const bAcq = lb.acquire({ timeoutMs: 15_000 }).then((ok) => {
        aHeldWhenBAcquired = la.isHeld();
        return ok;
      });
      a.dropConnectionForTest(3000); // longer than the session: the server expires it
      assert.equal(la.isHeld(), false, 'a dropped connection is not a hold');
      assert.equal(await bAcq, true);
      assert.equal(aHeldWhenBAcquired, false);
      assert.ok(lb.isHeld());
      await lost;
      assert.equal(la.state, 'lost');
      assert.equal(la.isHeld(), false);
      assert.ok(la.signal?.aborted);
      assert.deepEqual(states.filter((s) => s !== 'suspended'), ['lost']);
      await lb.release();
    });

    void it('lock: a short drop suspends the hold and it comes back; nobody else gets the lock', async () => {
      const p = freshPath('blip');
      const a = await clients.connect({ sessionTimeoutMs: 4000 });
      const b = await clients.connect();
      const la = new DistributedLock(a, p);
      const lb = new DistributedLock(b, p);
      assert.ok(await la.acquire());
      const states: HoldState[] = [];
      la.on('state', (s: HoldState) => states.push(s));
      const bAcq = lb.acquire({ timeoutMs: 1500 });
      a.dropConnectionForTest(200);
      assert.equal(la.isHeld(), false);
      await eventually('held again', () => la.isHeld(), 5000);
      assert.deepEqual(states, ['suspended', 'held']);
      assert.equal(await bAcq, false, 'b must not acquire while a holds');
      await la.release();
      assert.equal(la.state, undefined);
      assert.ok(await lb.acquire({ timeoutMs: 5000 }));
      await lb.release();
    });

    void it('lock: closing the holder session passes the lock on and reports lost', async () => {
      const p = freshPath('close');
      const a = await clients.connect();
      const b = await clients.connect();
      const la = new DistributedLock(a, p);
      assert.ok(await la.acquire());
      const lost = once(la, 'lost');
      const lb = new DistributedLock(b, p);
      const bAcq = lb.acquire({ timeoutMs: 10_000 });
      await a.close();
      await lost;
      assert.equal(la.isHeld(), false);
      assert.ok(await bAcq);
      await lb.release();
    });

    void it('read-write lock: 5 processes mixing reads and writes; writers exclusive', async () => {
      const p = freshPath('rw');
      const tasks = Array.from({ length: 5 }, (_, i) => ({
        task: 'rwlock' as const, connectString: server.connectString, path: p, id: `w${i}`, iterations: 8, holdMs: 15,
      }));
      const r = await runWorkers(tasks);
      assert.deepEqual(r.violations, []);
      assert.equal(r.done.size, 5);
      assert.equal(r.holds.length, 40);
      const writes = r.holds.filter((h) => h.kind === 'write');
      for (const w of writes) {
        for (const h of r.holds) {
          if (h === w) continue;
          assert.ok(h.end <= w.start || h.start >= w.end, `write ${JSON.stringify(w)} overlaps ${JSON.stringify(h)}`);
        }
      }
    });

    void it('read-write lock: readers share, a writer waits for them, later readers wait for a queued writer', async () => {
      const p = freshPath('rw2');
      const [c1, c2, c3, c4] = await clients.many(4);
      const r1 = new ReadWriteLock(c1, p);
      const r2 = new ReadWriteLock(c2, p);
      const w = new ReadWriteLock(c3, p);
      const r3 = new ReadWriteLock(c4, p);
      assert.ok(await r1.readLock.acquire({ timeoutMs: 2000 }));
      assert.ok(await r2.readLock.acquire({ timeoutMs: 2000 }), 'two readers at once');
      let wHeld = false;
      const wAcq = w.writeLock.acquire({ timeoutMs: 10_000 }).then((ok) => (wHeld = ok));
      await eventually('writer queued', async () => (await DistributedLock.participants(c1, p)).length === 3);
      let r3Held = false;
      const r3Acq = r3.readLock.acquire({ timeoutMs: 10_000 }).then((ok) => (r3Held = ok));
      await sleep(150);
      assert.equal(wHeld, false);
      assert.equal(r3Held, false, 'a reader behind a queued writer waits');
      await r1.readLock.release();
      await r2.readLock.release();
      await wAcq;
      assert.ok(wHeld);
      assert.ok(await w.readLock.acquire({ timeoutMs: 1000 }), 'the write holder may also read');
      await w.readLock.release();
      await sleep(50);
      assert.equal(r3Held, false);
      await w.writeLock.release();
      await r3Acq;
      assert.ok(r3Held);
      await r3.readLock.release();
    });

    void it('semaphore: 6 processes share 2 leases: never more than 2, and leases are used in parallel', async () => {
      const p = freshPath('sem');
      const tasks = Array.from({ length: 6 }, (_, i) => ({
        task: 'semaphore' as const, connectString: server.connectString, path: p, id: `w${i}`, iterations: 5, holdMs: 30,
        leases: 2,
      }));
      const r = await runWorkers(tasks);
      assert.deepEqual(r.violations, []);
      assert.equal(r.done.size, 6);
      assert.equal(r.holds.length, 30);
      assert.ok(maxConcurrent(r.holds) <= 2, `max concurrent ${maxConcurrent(r.holds)}`);
    });

    void it('semaphore: a lease whose session closes goes to a waiter', async () => {
      const p = freshPath('sem2');
      const [a, b, c] = await clients.many(3);
      const l1 = await new Semaphore(a, p, 2).acquire();
      const l2 = await new Semaphore(b, p, 2).acquire();
      assert.ok(l1 && l2);
      const waiting = new Semaphore(c, p, 2).acquire({ timeoutMs: 10_000 });
      await sleep(100);
      const states: string[] = [];
      l1.onState((s) => states.push(s));
      await a.close();
      const l3 = await waiting;
      assert.ok(l3?.isHeld());
      await eventually('lost reported', () => l1.state === 'lost');
      assert.equal(l1.isHeld(), false);
      assert.ok(l1.signal.aborted);
      await l2.release();
      await l3?.release();
    });

    void it('leader election: 4 processes, 3 terms each, one leader at a time, everyone leads', async () => {
      const p = freshPath('elect');
      const tasks = Array.from({ length: 4 }, (_, i) => ({
        task: 'election' as const, connectString: server.connectString, path: p, id: `w${i}`, iterations: 3, holdMs: 20,
      }));
      const r = await runWorkers(tasks);
      assert.deepEqual(r.violations, []);
      assert.equal(r.done.size, 4);
      assert.equal(r.holds.length, 12);
      assert.deepEqual(new Set(r.holds.map((h) => h.id)).size, 4);
      assertNoOverlap(r.holds, 'leadership terms');
    });

    void it('leader latch: exactly one leader; a dropped leader gives up at once; close hands over', async () => {
      const p = freshPath('latch');
      const cs = [await clients.connect({ sessionTimeoutMs: 1000 }), ...(await clients.many(3, { sessionTimeoutMs: 5000 }))];
      const latches = cs.map((c, i) => new LeaderLatch(c, p, `p${i}`));
      latches[0].start();
      assert.ok(await latches[0].await(5000));
      for (const l of latches.slice(1)) l.start();
      await eventually('queue formed', async () => (await DistributedLock.participants(cs[0], p)).length === 4);
      let sampling = true;
      let worst = 0;
      const sampler = (async () => {
        while (sampling) {
          worst = Math.max(worst, latches.filter((l) => l.hasLeadership()).length);
          await sleep(2);
        }
      })();
      try {
        // Leader's connection drops for longer than its session: it says so at once; the next one takes over.
        const notLeader = once(latches[0], 'notLeader');
        cs[0].dropConnectionForTest(2500);
        await notLeader;
        assert.equal(latches[0].hasLeadership(), false);
        // Then each remaining participant leads in turn as the current leader closes.
        const open = latches.slice(1);
        let first = true;
        while (open.length > 0) {
          await eventually('a new leader', () => open.some((l) => l.hasLeadership()), first ? 8000 : 5000);
          if (first) await eventually('the expired participant is out', () => latches[0].isClosed, 8000);
          first = false;
          const leader = open.find((l) => l.hasLeadership());
          assert.ok(leader);
          open.splice(open.indexOf(leader), 1);
          await leader.close();
          assert.equal(leader.hasLeadership(), false);
        }
      } finally {
        sampling = false;
        await sampler;
      }
      assert.ok(worst <= 1, `${worst} leaders at once`);
    });
  });
}
