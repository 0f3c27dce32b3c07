// Node cache, tree cache, group membership and the timed lease against each server kind: caches must converge to
// the server's tree under concurrent writers and across a reconnect; group views must converge and report joins
// and leaves; lease holders must never overlap and a stalled or dead holder must lose the lease.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ZooKeeperClient } from '../../src/client/index.js';
import { GroupMember, NodeCache, type NodeSnapshot, TimedLease, TreeCache } from '../../src/recipes/index.js';
import { type RunningServer, startServer, testKinds } from '../support/servers.js';
import { assertNoOverlap, Clients, eventually, freshPath, type Hold, once, sleep } from './helpers.js';

/** The real subtree under `root`: path -> data. */
async function walk(c: ZooKeeperClient, root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const visit = async (p: string): Promise<void> => {
    try {
      const { data } = await c.getData(p);
      const kids = await c.getChildren(p);
      out.set(p, data?.toString() ?? '');
      for (const k of kids) await visit(`${p}/${k}`);
    } catch {
      // deleted meanwhile
    }
  };
  await visit(root);
  return out;
}

function cacheView(t: TreeCache): Map<string, string> {
  return new Map([...t.snapshot()].map(([p, d]) => [p, d?.toString() ?? '']));
}

const same = (a: Map<string, string>, b: Map<string, string>): boolean =>
  a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);

/** Random creates, updates and deletes under `root` for `ms`, from one client. */
async function churn(c: ZooKeeperClient, root: string, ms: number, tag: string): Promise<void> {
  const end = Date.now() + ms;
  let n = 0;
  while (Date.now() < end) {
    const depth1 = `${root}/n${Math.floor(Math.random() * 4)}`;
    const target = Math.random() < 0.5 ? depth1 : `${depth1}/m${Math.floor(Math.random() * 3)}`;
    const r = Math.random();
    try {
      if (r < 0.45) await c.create(target, `${tag}${n++}`);
      else if (r < 0.8) await c.setData(target, `${tag}${n++}`);
      else await c.delete(target);
    } catch {
      // NONODE / NODEEXISTS / NOTEMPTY: part of the churn
    }
  }
}

for (const kind of testKinds()) {
  void describe(`cache, group and lease recipes against ${kind}`, { timeout: 60_000 }, () => {
    let server: RunningServer;
    const clients = new Clients(() => server.connectString);

    before(async () => {
      server = await startServer(kind, { tickTime: 250 });
    });
    after(async () => {
      await clients.closeAll();
      await server?.stop();
    });

    void it('node cache: follows sets, delete and re-create, and catches up after a reconnect', async () => {
      const p = freshPath('nc');
      const [w, r] = await clients.many(2, { sessionTimeoutMs: 4000 });
      const cache = new NodeCache(r, p);
      const seen: Array<string | null> = [];
      cache.on('change', (s: NodeSnapshot | null) => seen.push(s ? s.data?.toString() ?? '' : null));
      await cache.start();
      assert.equal(cache.current(), null);
      await w.create(p, 'v0');
      await eventually('created', () => cache.current()?.data?.toString() === 'v0');
      for (let i = 1; i <= 20; i++) await w.setData(p, `v${i}`);
      await eventually('updated', () => cache.current()?.data?.toString() === 'v20');
      await w.delete(p);
      await eventually('deleted', () => cache.current() === null);
      await w.create(p, 'again');
      await eventually('re-created', () => cache.current()?.data?.toString() === 'again');
      // Changes while the cache's client is disconnected.
      r.dropConnectionForTest(500);
      await w.setData(p, 'while-away');
      await w.delete(p);
      await w.create(p, 'back');
      await eventually('caught up after reconnect', () => cache.current()?.data?.toString() === 'back', 8000);
      const st = await w.exists(p);
      assert.equal(cache.current()?.stat.mzxid, st?.mzxid);
      assert.equal(seen[0], 'v0');
      assert.equal(seen.at(-1), 'back');
      assert.ok(seen.includes(null));
      await cache.close();
    });

    void it('tree cache: 3 concurrent writers; the cache converges to the tree, also across a reconnect', async () => {
      const root = freshPath('tc');
      const cs = await clients.many(4, { sessionTimeoutMs: 4000 });
      const [reader, ...writers] = cs;
      await writers[0].create(root, 'root');
      const cache = new TreeCache(reader, root);
      let added = 0;
      let removed = 0;
      cache.on('nodeAdded', () => added++);
      cache.on('nodeRemoved', () => removed++);
      await cache.start();
      await Promise.all(writers.map((w, i) => churn(w, root, 800, `w${i}-`)));
      await eventually('converged', async () => same(cacheView(cache), await walk(writers[0], root)), 8000, 50);
      assert.ok(added > 1 && removed > 0, `events: ${added} added, ${removed} removed`);
      // Drop the cache's connection while the writers go on.
      reader.dropConnectionForTest(400);
      await Promise.all(writers.map((w, i) => churn(w, root, 600, `x${i}-`)));
      await eventually('converged after reconnect', async () => same(cacheView(cache), await walk(writers[0], root)), 8000, 50);
      // Removing the whole tree empties the cache.
      const all = [...(await walk(writers[0], root)).keys()].sort((a, b) => b.length - a.length);
      for (const path of all) await writers[0].delete(path);
      await eventually('emptied', () => cache.snapshot().size === 0);
      await writers[0].create(root, 'reborn');
      await eventually('root back', () => cache.get(root)?.data?.toString() === 'reborn');
      await cache.close();
    });

    void it('group membership: 6 members converge, see leaves (close and expiry) and data updates', async () => {
      const dir = freshPath('group');
      const cs = [await clients.connect({ sessionTimeoutMs: 1000 }), ...(await clients.many(5, { sessionTimeoutMs: 5000 }))];
      const members = cs.map((c, i) => new GroupMember(c, dir, `m${i}`, `data${i}`));
      const joins = members.map(() => new Set<string>());
      const leaves = members.map(() => [] as string[]);
      members.forEach((m, i) => {
        m.on('join', (id: string) => joins[i].add(id));
        m.on('leave', (id: string) => leaves[i].push(id));
      });
      await Promise.all(members.map((m) => m.join()));
      const ids = (m: GroupMember): string => [...m.currentMembers().keys()].sort().join(',');
      await eventually('all see 6', () => members.every((m) => ids(m) === 'm0,m1,m2,m3,m4,m5'));
      assert.equal(members[3].currentMembers().get('m1')?.toString(), 'data1');
      await members[1].setData('changed');
      await eventually('data update seen', () => members.every((m) => m.currentMembers().get('m1')?.toString() === 'changed'));
      // m5 leaves cleanly, m4's client closes, m0's session expires.
      await members[5].leave();
      await cs[4].close();
      cs[0].dropConnectionForTest(2500);
      const rest = members.slice(1, 4);
      await eventually('the rest see 3', () => rest.every((m) => ids(m) === 'm1,m2,m3'), 10_000);
      for (const i of [1, 2, 3]) {
        assert.deepEqual(new Set(leaves[i]), new Set(['m0', 'm4', 'm5']));
        assert.equal(joins[i].size, 6);
      }
      assert.deepEqual((await cs[1].getChildren(dir)).sort(), ['m1', 'm2', 'm3']);
    });

    void it('timed lease: 4 contenders with renewal never overlap and all get it', async () => {
      const p = `${freshPath('lease')}/l`;
      const cs = await clients.many(4);
      const holds: Hold[] = [];
      let renewals = 0;
      await Promise.all(cs.map(async (c, i) => {
        const lease = new TimedLease(c, p, { durationMs: 400, maxClockSkewMs: 20 });
        lease.on('renewed', () => renewals++);
        for (let k = 0; k < 4; k++) {
          assert.ok(await lease.acquire({ timeoutMs: 20_000 }));
          const start = Date.now();
          // Hold up to longer than one duration: renewals keep it. A claim ends as soon as isValid() turns false
          // (a renewal that came too late under load); what must never happen is two valid claims at once.
          const until = start + 50 + Math.random() * 450;
          let end = Date.now();
          while (Date.now() < until && lease.isValid()) {
            end = Date.now();
            await sleep(10);
          }
          holds.push({ id: `c${i}`, kind: 'lease', start, end });
          await lease.release();
          assert.equal(lease.isValid(), false);
        }
      }));
      assert.equal(holds.length, 16);
      assert.ok(renewals > 0, 'leases were renewed');
      assertNoOverlap(holds, 'lease holds');
    });

    void it('timed lease: a stalled holder expires before a contender takes over, and learns it lost', async () => {
      const p = `${freshPath('lease2')}/l`;
      const [a, b] = await clients.many(2);
      const la = new TimedLease(a, p, { durationMs: 300, autoRenew: false, maxClockSkewMs: 50 });
      const lb = new TimedLease(b, p, { durationMs: 300, maxClockSkewMs: 50 });
      assert.ok(await la.acquire());
      const aUntil = la.validUntil;
      assert.ok(la.isValid());
      const lost = once(la, 'lost');
      assert.ok(await lb.acquire({ timeoutMs: 5000 }));
      const bAt = Date.now();
      assert.ok(bAt >= aUntil + 50, `taken over at ${bAt}, before ${aUntil} + skew`);
      assert.equal(la.isValid(), false, 'the stalled holder no longer claims it');
      assert.equal(await la.renew(), false, 'a late renewal fails');
      await lost;
      assert.ok(lb.isValid());
      // A holder whose session ends loses at once: the contender need not wait for the expiry time.
      const lc = new TimedLease((await clients.many(1))[0], p, { durationMs: 5000 });
      const cAcq = lc.acquire({ timeoutMs: 4000 });
      await sleep(50);
      await b.close();
      assert.ok(await cAcq);
      assert.equal(lb.isValid(), false);
      await lc.release();
    });
  });
}
