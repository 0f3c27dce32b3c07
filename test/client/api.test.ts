// The application-level API of the client against a live server (every kind from testKinds()): connection states
// as events and async iterators, AbortSignal on calls, watches as async iterators with disposal, mkdirp,
// deleteRecursive, digestAcl, the transaction builders.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  AbortError, Code, CreateMode, digestAcl, EventType, MultiError, Perms, ZkError, type ConnectionState,
  type WatchedEvent, type ZooKeeperClient,
} from '../../src/client/index.js';
import { fourLetter } from '../support/ports.js';
import { type RunningServer, startServer, testKinds } from '../support/servers.js';
import { ClientPool, sleep, waitState } from './helpers.js';
import { mk, onUnhandled, scenario, settleAndCheck, unhandled } from './scenario.js';

const isAbort = (e: unknown): boolean => {
  assert.ok(e instanceof Error);
  assert.equal(e.name, 'AbortError');
  assert.ok(e instanceof AbortError);
  return true;
};

/** The next value of an iterator, failing after `ms`. */
async function nextWithin<T>(it: AsyncIterator<T>, ms = 5000): Promise<IteratorResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no value within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([it.next(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Collects the iterator's values until it ends (bounded). */
async function drain<T>(it: AsyncIterator<T>, ms = 5000): Promise<T[]> {
  const out: T[] = [];
  for (;;) {
    const r = await nextWithin(it, ms);
    if (r.done) return out;
    out.push(r.value);
  }
}

const pair = (e: WatchedEvent): [number, string | null] => [e.type, e.path];

for (const kind of testKinds()) {
  void describe(`client API against ${kind}`, () => {
    let server: RunningServer;
    const pool = new ClientPool(() => server.connectString);
    let seq = 0;
    const base = (): string => `/api${++seq}-${Date.now() % 100000}`;
    /** Paths holding a data watch of session `sid`, from the wchc four-letter word. */
    const serverDataWatches = async (c: ZooKeeperClient): Promise<string[]> => {
      const out = await fourLetter(server.port, 'wchc');
      const sid = `0x${c.sessionId.toString(16)}`;
      const blocks = out.split(/\n(?=0x)/);
      const mine = blocks.find((b) => b.trim().startsWith(sid));
      return mine ? mine.split('\n').slice(1).map((l) => l.trim()).filter((l) => l.startsWith('/')) : [];
    };

    before(async () => {
      server = await startServer(kind, { tickTime: 500, config: { extendedTypesEnabled: true } });
    });
    after(async () => {
      await pool.closeAll();
      await server?.stop();
    });

    void it('connectionState: events and states() iterator; state keeps its old values', async () => {
      const c = pool.make();
      assert.equal(c.connectionState, 'connecting');
      const events: ConnectionState[] = [];
      c.on('connectionState', (s: ConnectionState) => events.push(s));
      const it = c.states();
      const seen: ConnectionState[] = [];
      const reader = (async () => {
        for await (const s of it) seen.push(s);
      })();
      await c.connect();
      assert.equal(c.state, 'connected');
      assert.equal(c.connectionState, 'connected');
      c.dropConnectionForTest(200);
      assert.equal(c.state, 'connecting');
      assert.equal(c.connectionState, 'suspended');
      await waitState(c, 'connected');
      // A second iterator starts with the current state.
      const again = c.states();
      assert.deepEqual(await nextWithin(again), { done: false, value: 'connected' });
      await again.return();
      await c.close();
      await reader;
      assert.deepEqual(seen, ['connecting', 'connected', 'suspended', 'connected', 'closed']);
      assert.deepEqual(events, ['connected', 'suspended', 'connected', 'closed']);
      // On a closed client the iterator yields 'closed' and ends.
      assert.deepEqual(await drain(c.states()), ['closed']);
    });

    void it('session loss: states() yields lost and ends; watch iterators of every kind end', async () => {
      const c = await pool.connect({ sessionTimeoutMs: 1000 });
      const b = base();
      await c.create(b);
      const its = [
        c.watch(b, { kind: 'data' }), c.watch(b, { kind: 'exist' }), c.watch(b, { kind: 'children' }),
        c.watch(`${b}/missing`, { kind: 'exist' }), c.watch(b, { kind: 'persistent' }), c.watch('/', { kind: 'recursive' }),
      ];
      await Promise.all(its.map((w) => w.ready));
      const st = c.states();
      assert.deepEqual(await nextWithin(st), { done: false, value: 'connected' });
      c.dropConnectionForTest(2500);
      assert.deepEqual(await drain(st, 8000), ['suspended', 'lost']);
      assert.equal(c.state, 'expired');
      for (const w of its) assert.deepEqual(await drain(w), []);
    });

    void it('an aborted call rejects at once with AbortError; the session goes on', async () => {
      const c = await pool.connect();
      const b = base();
      await c.create(b, 'x');
      // Already aborted: nothing is sent.
      await assert.rejects(c.getData(b, undefined, { signal: AbortSignal.abort() }), isAbort);
      await assert.rejects(c.create(`${b}/n`, null, { signal: AbortSignal.abort() }), isAbort);
      await assert.rejects(c.multi([{ type: 'create', path: `${b}/m` }], { signal: AbortSignal.abort() }), isAbort);
      await assert.rejects(c.transaction().create(`${b}/m`).commit({ signal: AbortSignal.abort() }), isAbort);
      await assert.rejects(c.mkdirp(`${b}/p/q`, { signal: AbortSignal.abort() }), isAbort);
      await assert.rejects(c.removeAllWatches(b, 3, false, { signal: AbortSignal.abort() }), isAbort);
      assert.equal(await c.exists(`${b}/n`), null);
      // Aborted in flight: rejects before the reply; the reply still arrives and keeps the xid order.
      const ac = new AbortController();
      const reason = new Error('user gave up');
      const p = c.setData(b, 'y', -1, { signal: ac.signal });
      const q = c.getData(b);
      ac.abort(reason);
      await assert.rejects(p, (e: unknown) => isAbort(e) && (e as Error).cause === reason);
      assert.deepEqual((await q).data, Buffer.from('y'), 'the aborted write was still executed');
      assert.equal((await c.exists(b))?.version, 1);
      // A signal that never fires changes nothing, and its listeners are removed once the call settles.
      const idle = new AbortController();
      for (let i = 0; i < 20; i++) await c.exists(b, undefined, { signal: idle.signal });
      assert.equal(c.state, 'connected');
    });

    void it('watch(): one-time kinds yield one event and end', async () => {
      const c = await pool.connect();
      const other = await pool.connect();
      const b = base();
      await c.create(b, 'v0');
      const data = c.watch(b, { kind: 'data' });
      const exist = c.watch(`${b}/k`, { kind: 'exist' });
      const kids = c.watch(b, { kind: 'children' });
      await Promise.all([data.ready, exist.ready, kids.ready]);
      await other.setData(b, 'v1');
      await other.create(`${b}/k`);
      await other.setData(b, 'v2');
      assert.deepEqual((await drain(data)).map(pair), [[EventType.NodeDataChanged, b]]);
      assert.deepEqual((await drain(exist)).map(pair), [[EventType.NodeCreated, `${b}/k`]]);
      assert.deepEqual((await drain(kids)).map(pair), [[EventType.NodeChildrenChanged, b]]);
      // 'data' on a missing node: the first next() rejects with NONODE, then the iterator is done.
      const missing = c.watch(`${b}/nope`, { kind: 'data' });
      await assert.rejects(missing.ready, (e: unknown) => ZkError.is(e, Code.NONODE));
      await assert.rejects(missing.next(), (e: unknown) => ZkError.is(e, Code.NONODE));
      assert.deepEqual(await missing.next(), { done: true, value: undefined });
      // for await with a one-time watch and NodeDeleted.
      const del = c.watch(`${b}/k`, { kind: 'data' });
      await del.ready;
      await other.delete(`${b}/k`);
      const got: WatchedEvent[] = [];
      for await (const e of del) got.push(e);
      assert.deepEqual(got.map(pair), [[EventType.NodeDeleted, `${b}/k`]]);
    });

    void it('watch(): persistent and recursive kinds stay until the loop is left', async () => {
      const c = await pool.connect();
      const rc = await pool.connect();
      const other = await pool.connect();
      const b = base();
      await c.create(b);
      const pers = c.watch(b, { kind: 'persistent' });
      const rec = rc.watch(b, { kind: 'recursive' });
      await Promise.all([pers.ready, rec.ready]);
      await other.setData(b, '1');
      await other.create(`${b}/k`);
      await other.setData(`${b}/k`, 'x');
      await other.setData(b, '2');
      const p: Array<[number, string | null]> = [];
      for await (const e of pers) {
        p.push(pair(e));
        if (p.length === 3) break;
      }
      assert.deepEqual(p, [[EventType.NodeDataChanged, b], [EventType.NodeChildrenChanged, b], [EventType.NodeDataChanged, b]]);
      const r: Array<[number, string | null]> = [];
      for await (const e of rec) {
        r.push(pair(e));
        if (r.length === 4) break;
      }
      assert.deepEqual(r, [
        [EventType.NodeDataChanged, b], [EventType.NodeCreated, `${b}/k`], [EventType.NodeDataChanged, `${b}/k`],
        [EventType.NodeDataChanged, b],
      ]);
      // Leaving the loop removed the watches: locally and on the server.
      await assert.rejects(c.checkWatches(b, 3), (e: unknown) => ZkError.is(e, Code.NOWATCHER));
      await assert.rejects(rc.checkWatches(b, 3), (e: unknown) => ZkError.is(e, Code.NOWATCHER));
      assert.deepEqual(await serverDataWatches(c), []);
      assert.deepEqual(await serverDataWatches(rc), []);
      // A new persistent watch on the same path works again (the server-side one was really gone or replaced).
      const again = c.watch(b, { kind: 'persistent' });
      await again.ready;
      await other.setData(b, '3');
      assert.deepEqual(pair((await nextWithin(again)).value as WatchedEvent), [EventType.NodeDataChanged, b]);
      await again.return();
    });

    void it('watch(): return(), asyncDispose and abort remove the server-side watch; other watchers keep theirs', async () => {
      const c = await pool.connect();
      const other = await pool.connect();
      const b = base();
      await c.create(b);
      await c.create(`${b}/x`);
      const w1 = c.watch(b, { kind: 'data' });
      const w2 = c.watch(`${b}/x`, { kind: 'exist' });
      await Promise.all([w1.ready, w2.ready]);
      assert.deepEqual((await serverDataWatches(c)).sort(), [b, `${b}/x`]);
      await w1.return();
      await w2[Symbol.asyncDispose]();
      assert.deepEqual(await serverDataWatches(c), []);
      assert.deepEqual(await w1.next(), { done: true, value: undefined });

      // Two iterators on one path: disposing one keeps the server's watch for the other.
      const a = c.watch(b, { kind: 'data' });
      const ac = new AbortController();
      const d = c.watch(b, { kind: 'data', signal: ac.signal });
      await Promise.all([a.ready, d.ready]);
      const pending = d.next();
      ac.abort();
      await assert.rejects(pending, isAbort);
      assert.deepEqual(await d.next(), { done: true, value: undefined });
      await d.return();
      assert.deepEqual(await serverDataWatches(c), [b]);
      await other.setData(b, 'z');
      assert.deepEqual((await drain(a)).map(pair), [[EventType.NodeDataChanged, b]]);

      // Disposed before the registration's reply: the watch is removed once it is registered.
      const early = c.watch(b, { kind: 'data' });
      await early.return();
      assert.deepEqual(await serverDataWatches(c), []);
      // Already-aborted signal: next() rejects with AbortError, nothing stays registered.
      const pre = c.watch(b, { kind: 'exist', signal: AbortSignal.abort() });
      await assert.rejects(pre.next(), isAbort);
      await pre.return();
      assert.deepEqual(await serverDataWatches(c), []);
      await c.create(`${b}/y`, null, { mode: CreateMode.EPHEMERAL });
    });

    void it('close(): watch and state iterators end cleanly', async () => {
      const c = await pool.connect();
      const b = base();
      await c.create(b);
      const w = c.watch(b, { kind: 'persistent' });
      const one = c.watch(b, { kind: 'children' });
      await Promise.all([w.ready, one.ready]);
      const st = c.states();
      const readers = [drain(w), drain(one), drain(st)];
      await c.close();
      const [we, oe, se] = await Promise.all(readers);
      assert.deepEqual(we, []);
      assert.deepEqual(oe, []);
      assert.deepEqual(se, ['connected', 'closed']);
      // watch() on a closed client: the first next() rejects (SESSIONEXPIRED), ready too.
      const late = c.watch(b, { kind: 'data' });
      await assert.rejects(late.ready, (e: unknown) => ZkError.is(e, Code.SESSIONEXPIRED));
      await assert.rejects(late.next(), (e: unknown) => ZkError.is(e, Code.SESSIONEXPIRED));
    });

    void it('mkdirp: missing parents (optionally containers), data and ACL on the leaf, false when present', async () => {
      const c = await pool.connect();
      const b = base();
      assert.equal(await c.mkdirp(`${b}/a/b/c`, { data: 'leaf' }), true);
      assert.deepEqual((await c.getData(`${b}/a/b/c`)).data, Buffer.from('leaf'));
      assert.equal((await c.getData(`${b}/a`)).data, null);
      assert.equal(await c.mkdirp(`${b}/a/b/c`), false);
      assert.equal(await c.mkdirp(`${b}/a/b`), false);
      assert.equal(await c.mkdirp('/'), false);
      assert.equal(await c.mkdirp(`${b}/a/d`), true);
      const acl = [digestAcl('bob', 'pw', Perms.ALL), { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];
      await c.addAuth('digest', 'bob:pw'); // the new parents' ACL applies to creating their children
      assert.equal(await c.mkdirp(`${b}/s/t`, { acl, containerParents: true }), true);
      assert.deepEqual((await c.getACL(`${b}/s/t`)).acl, acl);
      assert.deepEqual((await c.getACL(`${b}/s`)).acl, acl);
      // Concurrent mkdirps of overlapping paths all succeed.
      const results = await Promise.all([1, 2, 3, 4].map((i) => c.mkdirp(`${b}/race/x/y${i % 2}`)));
      assert.equal(results.filter(Boolean).length, 2);
      await assert.rejects(c.mkdirp('bad/path'), (e: unknown) => ZkError.is(e, Code.BADARGUMENTS));
      const stranger = await pool.connect();
      await assert.rejects(stranger.mkdirp(`${b}/s/t/u/v`), (e: unknown) => ZkError.is(e, Code.NOAUTH));
    });

    void it('deleteRecursive: whole subtree deepest first, count, missing path, root refused', async () => {
      const c = await pool.connect();
      const b = base();
      await c.create(b);
      const ops: Array<Promise<unknown>> = [];
      for (let i = 0; i < 5; i++) {
        ops.push(c.create(`${b}/n${i}`));
        for (let j = 0; j < 4; j++) ops.push(c.create(`${b}/n${i}/m${j}`, 'x'));
      }
      await Promise.all(ops);
      await c.create(`${b}/n0/m0/deep`, null, { mode: CreateMode.EPHEMERAL });
      assert.equal(await c.deleteRecursive(b), 1 + 5 + 20 + 1);
      assert.equal(await c.exists(b), null);
      assert.equal(await c.deleteRecursive(b), 0);
      await assert.rejects(c.deleteRecursive('/'), (e: unknown) => ZkError.is(e, Code.BADARGUMENTS));
    });

    void it('digestAcl: an ACL entry for user:password that digest auth matches', async () => {
      const c = await pool.connect();
      const b = base();
      const acl = digestAcl('carol', 'pw');
      assert.deepEqual(acl, { perms: Perms.ALL, id: { scheme: 'digest', id: 'carol:RffyCdXXV1Js0ywLAoP5/l25yKs=' } });
      await c.create(b, 'secret', { acl: [acl] });
      await assert.rejects(c.getData(b), (e: unknown) => ZkError.is(e, Code.NOAUTH));
      await c.addAuth('digest', 'carol:pw');
      assert.deepEqual((await c.getData(b)).data, Buffer.from('secret'));
    });

    void it('transaction builders: per-op results, MultiError, readTransaction', async () => {
      const c = await pool.connect();
      const b = base();
      await c.create(b, 'root');
      const tx = c.transaction().create(`${b}/a`, 'a').add({ type: 'setData', path: b, data: 'r2', version: 0 }).check(`${b}/a`, 0);
      assert.equal(tx.length, 3);
      assert.deepEqual(tx.operations.map((o) => o.type), ['create', 'setData', 'check']);
      const res = await tx.commit();
      assert.deepEqual(res[0], { type: 'create', path: `${b}/a` });
      assert.equal(res[1]?.type === 'setData' && res[1].stat.version, 1);
      assert.deepEqual(res[2], { type: 'check' });
      await assert.rejects(c.transaction().delete(`${b}/a`).check(b, 0).commit(), (e: unknown) => {
        assert.ok(e instanceof MultiError);
        assert.equal(e.code, Code.BADVERSION);
        assert.equal(e.codeName, 'BADVERSION');
        assert.equal(e.path, b);
        assert.deepEqual(e.results, [{ type: 'error', err: 0 }, { type: 'error', err: Code.BADVERSION }]);
        return true;
      });
      const reads = await c.readTransaction().getData(b).getChildren(b).getData(`${b}/none`).commit();
      assert.deepEqual(reads[0]?.type === 'getData' && reads[0].data, Buffer.from('r2'));
      assert.deepEqual(reads[1], { type: 'getChildren', children: ['a'] });
      assert.deepEqual(reads[2], { type: 'error', err: Code.NONODE });
      await assert.rejects(c.readTransaction().getData(b).commit({ signal: AbortSignal.abort() }), isAbort);
      await sleep(0);
    });
    void it('no unhandled rejections: connection loss, aborts, close, iterators, session expiry', async () => {
      unhandled.length = 0;
      process.on('unhandledRejection', onUnhandled);
      try {
        const c = mk(server.connectString);
        await c.connect();
        await scenario(c, base());
        // Session expiry with watches, iterators and calls pending.
        const d = mk(server.connectString, { sessionTimeoutMs: 1000 });
        await d.connect();
        d.watch('/', { kind: 'recursive' });
        d.watch('/zookeeper', { kind: 'children' });
        d.states();
        d.dropConnectionForTest(2500);
        const pending = [d.getData('/'), d.exists('/x', () => undefined)];
        await waitState(d, 'expired', 8000);
        await Promise.allSettled(pending);
        await d.close();
        await settleAndCheck();
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });
  });
}
