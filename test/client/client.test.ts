// The client library against a live server: each test runs against every kind from testKinds() (Apache ZooKeeper
// 3.8 as the reference, zkts once it serves). One server per kind, tickTime 500 so that short sessions expire fast.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  Code, CreateMode, CREATOR_ALL_ACL, digestId, EventType, KeeperState, MultiError, OPEN_ACL_UNSAFE, Perms,
  WatcherType, ZkError, type ClientState,
} from '../../src/client/index.js';
import { freePort } from '../support/ports.js';
import { type RunningServer, startServer, testKinds } from '../support/servers.js';
import { ClientPool, EventLog, sleep, waitState } from './helpers.js';

const rejectsWith = (p: Promise<unknown>, code: number): Promise<void> =>
  assert.rejects(p, (e: unknown) => {
    assert.ok(ZkError.is(e), `expected ZkError, got ${String(e)}`);
    assert.equal((e).codeName, Object.entries(Code).find(([, v]) => v === code)?.[0]);
    return true;
  });

for (const kind of testKinds()) {
  void describe(`client against ${kind}`, () => {
    let server: RunningServer;
    const pool = new ClientPool(() => server.connectString);
    let seq = 0;
    /** A fresh top-level path per test so tests do not see each other's nodes. */
    const base = (): string => `/t${++seq}-${Date.now() % 100000}`;

    before(async () => {
      server = await startServer(kind, { tickTime: 500, config: { extendedTypesEnabled: true } });
    });
    after(async () => {
      await pool.closeAll();
      await server?.stop();
    });

    void it('connects: state, session id, password, negotiated timeout', async () => {
      const c = pool.make({ sessionTimeoutMs: 6000 });
      const states: ClientState[] = [];
      c.on('state', (s: ClientState) => states.push(s));
      assert.equal(c.state, 'disconnected');
      await c.connect();
      assert.equal(c.state, 'connected');
      assert.notEqual(c.sessionId, 0n);
      assert.equal(c.sessionPassword.length, 16);
      assert.equal(c.sessionTimeoutMs, 6000);
      await sleep(0);
      assert.deepEqual(states, ['connecting', 'connected']);
      // The server clamps to [2, 20] ticks.
      const d = await pool.connect({ sessionTimeoutMs: 100_000 });
      assert.equal(d.sessionTimeoutMs, 10_000);
    });

    void it('create, get, set, delete with Stat fields', async () => {
      const c = await pool.connect();
      const b = base();
      assert.equal(await c.create(b, 'root'), b);
      const { path, stat } = await c.create2(`${b}/a`, Buffer.from('hello'));
      assert.equal(path, `${b}/a`);
      assert.equal(stat.czxid, stat.mzxid);
      assert.equal(stat.czxid, stat.pzxid);
      assert.equal(stat.version, 0);
      assert.equal(stat.cversion, 0);
      assert.equal(stat.aversion, 0);
      assert.equal(stat.ephemeralOwner, 0n);
      assert.equal(stat.dataLength, 5);
      assert.equal(stat.numChildren, 0);
      assert.ok(stat.ctime > 0 && stat.ctime === stat.mtime);

      const got = await c.getData(`${b}/a`);
      assert.deepEqual(got.data, Buffer.from('hello'));
      assert.deepEqual(got.stat, stat);

      const s2 = await c.setData(`${b}/a`, 'world!', 0);
      assert.equal(s2.version, 1);
      assert.ok(s2.mzxid > stat.mzxid);
      assert.equal(s2.czxid, stat.czxid);
      assert.equal(s2.dataLength, 6);

      const parent = await c.exists(b);
      assert.ok(parent);
      assert.equal(parent.numChildren, 1);
      assert.equal(parent.cversion, 1);
      assert.equal(parent.pzxid, stat.czxid);
      assert.equal(await c.exists(`${b}/missing`), null);

      await c.create(`${b}/empty`);
      const empty = await c.getData(`${b}/empty`);
      assert.equal(empty.data, null);
      assert.equal(empty.stat.dataLength, 0);

      assert.deepEqual((await c.getChildren(b)).sort(), ['a', 'empty']);
      const ch2 = await c.getChildren2(b);
      assert.deepEqual(ch2.children.sort(), ['a', 'empty']);
      assert.equal(ch2.stat.numChildren, 2);

      await c.delete(`${b}/a`, 1);
      await c.delete(`${b}/empty`);
      assert.equal(await c.exists(`${b}/a`), null);
      const after = await c.exists(b);
      assert.equal(after?.numChildren, 0);
      assert.equal(after?.cversion, 4);
    });

    void it('typed errors: NONODE, NODEEXISTS, BADVERSION, NOTEMPTY, NOCHILDRENFOREPHEMERALS, BADARGUMENTS', async () => {
      const c = await pool.connect();
      const b = base();
      await c.create(b);
      await c.create(`${b}/x`, 'x');
      await assert.rejects(c.getData(`${b}/nope`), (e: unknown) => {
        assert.ok(e instanceof ZkError);
        assert.equal(e.code, Code.NONODE);
        assert.equal(e.codeName, 'NONODE');
        assert.equal(e.path, `${b}/nope`);
        return true;
      });
      await rejectsWith(c.create(`${b}/x`), Code.NODEEXISTS);
      await rejectsWith(c.create(`${b}/no/parent`), Code.NONODE);
      await rejectsWith(c.setData(`${b}/x`, 'y', 7), Code.BADVERSION);
      await rejectsWith(c.delete(`${b}/x`, 3), Code.BADVERSION);
      await rejectsWith(c.delete(b), Code.NOTEMPTY);
      await rejectsWith(c.delete(`${b}/nope`), Code.NONODE);
      await c.create(`${b}/eph`, null, { mode: CreateMode.EPHEMERAL });
      await rejectsWith(c.create(`${b}/eph/child`), Code.NOCHILDRENFOREPHEMERALS);
      await rejectsWith(c.getChildren(`${b}/nope`), Code.NONODE);
      await rejectsWith(c.setACL(`${b}/x`, OPEN_ACL_UNSAFE, 5), Code.BADVERSION);
      // Rejected locally, as ZooKeeper's client does.
      await rejectsWith(c.create('no-slash'), Code.BADARGUMENTS);
      await rejectsWith(c.getData('/a/'), Code.BADARGUMENTS);
      await rejectsWith(c.getData('/a//b'), Code.BADARGUMENTS);
    });

    void it('sequential, ephemeral, container and TTL nodes; getEphemerals', async () => {
      const c = await pool.connect();
      const b = base();
      await c.create(b);
      const s1 = await c.create(`${b}/q-`, null, { mode: CreateMode.PERSISTENT_SEQUENTIAL });
      const s2 = await c.create(`${b}/q-`, null, { mode: CreateMode.EPHEMERAL_SEQUENTIAL });
      assert.equal(s1, `${b}/q-0000000000`);
      assert.equal(s2, `${b}/q-0000000001`);
      const e = await c.create2(`${b}/e`, 'x', { mode: CreateMode.EPHEMERAL });
      assert.equal(e.stat.ephemeralOwner, c.sessionId);
      assert.deepEqual((await c.getEphemerals(b)).sort(), [s2, `${b}/e`].sort());
      assert.deepEqual((await c.getEphemerals(`${b}/e`)), [`${b}/e`]);

      const cont = await c.create2(`${b}/cont`, null, { mode: CreateMode.CONTAINER });
      assert.equal(cont.path, `${b}/cont`);
      assert.equal(cont.stat.ephemeralOwner, 0n);
      const ttl = await c.create2(`${b}/ttl`, 'x', { mode: CreateMode.PERSISTENT_WITH_TTL, ttl: 60_000 });
      assert.equal(ttl.stat.ephemeralOwner, 0n);
      const ttlSeq = await c.create(`${b}/ttl-`, 'x', { mode: CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, ttl: 60_000 });
      assert.match(ttlSeq, /\/ttl-\d{10}$/);
      await rejectsWith(c.create(`${b}/bad`, null, { mode: CreateMode.PERSISTENT_WITH_TTL }), Code.BADARGUMENTS);

      assert.equal(await c.getAllChildrenNumber(b), 6);
      await c.create(`${b}/cont/inner`);
      assert.equal(await c.getAllChildrenNumber(b), 7);
      assert.equal(await c.sync(b), b);
    });

    void it('chroot: paths are prefixed out and stripped in (results, events, ephemerals)', async () => {
      const root = await pool.connect();
      const b = base();
      await root.create(b);
      const c = await pool.connect({}, b);
      assert.equal(await c.create('/x', 'in chroot'), '/x');
      assert.deepEqual((await root.getData(`${b}/x`)).data, Buffer.from('in chroot'));
      assert.deepEqual(await c.getChildren('/'), ['x']);
      assert.equal((await c.create2('/s-', null, { mode: CreateMode.EPHEMERAL_SEQUENTIAL })).path, '/s-0000000001');
      assert.deepEqual(await c.getEphemerals('/'), ['/s-0000000001']);
      assert.equal(await c.sync('/'), '/');
      const log = new EventLog();
      await c.getData('/x', log.watcher);
      await c.getChildren('/', log.watcher);
      await root.setData(`${b}/x`, 'changed');
      await root.create(`${b}/y`);
      await log.wait(2);
      assert.deepEqual(log.pairs(), [[EventType.NodeDataChanged, '/x'], [EventType.NodeChildrenChanged, '/']]);
      const results = await c.multi([{ type: 'create', path: '/m', stat: true }, { type: 'create', path: '/n' }]);
      assert.deepEqual(results.map((r) => (r.type === 'create' ? r.path : r.type)), ['/m', '/n']);
      const rlog = new EventLog();
      await c.addWatch('/', rlog.watcher, 'recursive');
      await root.create(`${b}/m/deep`);
      await rlog.wait(1);
      assert.deepEqual(rlog.pairs(), [[EventType.NodeCreated, '/m/deep']]);
    });

    void it('one-time watches: data, exist, child; each distinct watcher once', async () => {
      const c = await pool.connect();
      const other = await pool.connect();
      const b = base();
      await c.create(b);
      await c.create(`${b}/d`, 'v0');
      const w1 = new EventLog();
      const w2 = new EventLog();
      await c.getData(`${b}/d`, w1.watcher);
      await c.exists(`${b}/d`, w1.watcher); // same watcher, same path: delivered once
      await c.getData(`${b}/d`, w2.watcher);
      await c.exists(`${b}/new`, w1.watcher);
      await c.getChildren(b, w2.watcher);

      await other.setData(`${b}/d`, 'v1');
      await other.setData(`${b}/d`, 'v2'); // one-time: no second event
      await other.create(`${b}/new`);
      await w1.wait(2);
      await w2.wait(2);
      await sleep(100);
      assert.deepEqual(w1.pairs(), [[EventType.NodeDataChanged, `${b}/d`], [EventType.NodeCreated, `${b}/new`]]);
      assert.deepEqual(w2.pairs(), [[EventType.NodeDataChanged, `${b}/d`], [EventType.NodeChildrenChanged, b]]);
      assert.equal(w1.events[0]?.state, KeeperState.SyncConnected);

      // Delete fires NodeDeleted to data and child watchers of the node, NodeChildrenChanged to the parent's.
      const w3 = new EventLog();
      await c.getData(`${b}/new`, w3.watcher);
      await c.getChildren(`${b}/new`, w3.watcher);
      await c.getChildren(b, w3.watcher);
      await other.delete(`${b}/new`);
      await w3.wait(2);
      await sleep(100);
      assert.deepEqual(w3.pairs(), [[EventType.NodeDeleted, `${b}/new`], [EventType.NodeChildrenChanged, b]]);
    });

    void it('watch events arrive before the reply of the write that fired them, in order', async () => {
      const c = await pool.connect();
      const b = base();
      await c.create(b, '0');
      const order: string[] = [];
      await c.getData(b, (e) => order.push(`event ${e.type}`));
      await c.getChildren(b, (e) => order.push(`child event ${e.type}`));
      const p1 = c.setData(b, '1').then(() => order.push('setData reply'));
      const p2 = c.create(`${b}/c`).then(() => order.push('create reply'));
      await Promise.all([p1, p2]);
      assert.deepEqual(order, [`event ${EventType.NodeDataChanged}`, 'setData reply', `child event ${EventType.NodeChildrenChanged}`, 'create reply']);
    });

    void it('default watcher: watch=true and session events', async () => {
      const log = new EventLog();
      const c = await pool.connect({ watcher: log.watcher });
      await log.wait(1);
      assert.deepEqual(log.events[0], { type: EventType.None, state: KeeperState.SyncConnected, path: null });
      const b = base();
      await c.create(b);
      await c.getData(b, true);
      await c.setData(b, 'x');
      await log.wait(2);
      assert.deepEqual(log.events[1], { type: EventType.NodeDataChanged, state: KeeperState.SyncConnected, path: b });
    });

    void it('persistent and recursive watches; removeWatches', async () => {
      const c = await pool.connect();
      const other = await pool.connect();
      const b = base();
      await c.create(b);
      // Separate sessions: the server keeps one watch mode per path and session, so a recursive watch added on the
      // same path by the same session replaces a persistent one.
      const rc = await pool.connect();
      const p = new EventLog();
      const r = new EventLog();
      await c.addWatch(b, p.watcher, 'persistent');
      await rc.addWatch(b, r.watcher, 'recursive');
      await other.setData(b, '1');
      await other.setData(b, '2');
      await other.create(`${b}/k`);
      await other.create(`${b}/k/g`);
      await other.setData(`${b}/k/g`, 'x');
      await other.delete(`${b}/k/g`);
      await p.wait(3);
      await r.wait(6);
      await sleep(100);
      assert.deepEqual(p.pairs(), [
        [EventType.NodeDataChanged, b], [EventType.NodeDataChanged, b], [EventType.NodeChildrenChanged, b],
      ]);
      assert.deepEqual(r.pairs(), [
        [EventType.NodeDataChanged, b], [EventType.NodeDataChanged, b], [EventType.NodeCreated, `${b}/k`],
        [EventType.NodeCreated, `${b}/k/g`], [EventType.NodeDataChanged, `${b}/k/g`], [EventType.NodeDeleted, `${b}/k/g`],
      ]);

      await c.removeWatches(b, p.watcher, WatcherType.Any);
      await p.wait(4);
      assert.deepEqual(p.pairs()[3], [EventType.PersistentWatchRemoved, b]);
      await rejectsWith(c.removeWatches(b, p.watcher, WatcherType.Any), Code.NOWATCHER);
      await other.setData(b, '3');
      await r.wait(7);
      await sleep(100);
      assert.equal(p.events.length, 4);
    });

    void it('checkWatches and removeWatches for one-time watches', async () => {
      const c = await pool.connect();
      const b = base();
      await c.create(b);
      const d = new EventLog();
      const k = new EventLog();
      await c.getData(b, d.watcher);
      await c.getChildren(b, k.watcher);
      await c.checkWatches(b, WatcherType.Data);
      await c.checkWatches(b, WatcherType.Children, k.watcher);
      await rejectsWith(c.checkWatches(b, WatcherType.Children, d.watcher), Code.NOWATCHER);
      await c.removeWatches(b, d.watcher, WatcherType.Data);
      await d.wait(1);
      assert.deepEqual(d.pairs(), [[EventType.DataWatchRemoved, b]]);
      await rejectsWith(c.checkWatches(b, WatcherType.Data), Code.NOWATCHER);
      await c.removeAllWatches(b, WatcherType.Children);
      await k.wait(1);
      assert.deepEqual(k.pairs(), [[EventType.ChildWatchRemoved, b]]);
      await rejectsWith(c.removeAllWatches(b, WatcherType.Any), Code.NOWATCHER);
      // Local removal works while disconnected.
      const l = new EventLog();
      await c.exists(`${b}/none`, l.watcher);
      c.dropConnectionForTest(300);
      await c.removeWatches(`${b}/none`, l.watcher, WatcherType.Data, true);
      await l.wait((ev) => ev.some((e) => e.type === EventType.DataWatchRemoved));
      // Session events go to every registered watcher, as in ZooKeeper: the Disconnected event came first.
      assert.deepEqual(l.pairs(), [[EventType.None, null], [EventType.DataWatchRemoved, `${b}/none`]]);
      await waitState(c, 'connected');
    });

    void it('multi: results on success, MultiError with per-op results on failure', async () => {
      const c = await pool.connect();
      const b = base();
      await c.create(b);
      const ok = await c.multi([
        { type: 'create', path: `${b}/a`, data: 'a' },
        { type: 'create', path: `${b}/b`, data: 'b', stat: true },
        { type: 'setData', path: `${b}/a`, data: 'a2', version: 0 },
        { type: 'check', path: `${b}/b`, version: 0 },
        { type: 'delete', path: `${b}/b` },
      ]);
      assert.equal(ok.length, 5);
      assert.deepEqual(ok[0], { type: 'create', path: `${b}/a` });
      // Apache 3.8 decodes a create2 inside multi as a plain create, so the Stat may be absent.
      assert.equal(ok[1]?.type === 'create' && ok[1].path, `${b}/b`);
      assert.equal(ok[2]?.type === 'setData' && ok[2].stat.version, 1);
      assert.deepEqual(ok.slice(3), [{ type: 'check' }, { type: 'delete' }]);

      await assert.rejects(
        c.transaction().create(`${b}/c`).setData(`${b}/missing`, 'x').delete(`${b}/a`).commit(),
        (e: unknown) => {
          assert.ok(e instanceof MultiError);
          assert.ok(ZkError.is(e, Code.NONODE));
          assert.equal(e.path, `${b}/missing`);
          assert.deepEqual(e.results, [
            { type: 'error', err: 0 }, { type: 'error', err: Code.NONODE }, { type: 'error', err: Code.RUNTIMEINCONSISTENCY },
          ]);
          return true;
        },
      );
      assert.equal(await c.exists(`${b}/c`), null);
      await rejectsWith(c.multi([{ type: 'check', path: `${b}/a`, version: 0 }]), Code.BADVERSION);

      const tx = await c.transaction().create(`${b}/t`, 't').check(`${b}/t`, 0).commit();
      assert.deepEqual(tx, [{ type: 'create', path: `${b}/t` }, { type: 'check' }]);

      const reads = await c.multiRead([
        { type: 'getData', path: `${b}/a` }, { type: 'getChildren', path: b }, { type: 'getData', path: `${b}/zz` },
      ]);
      assert.equal(reads[0]?.type, 'getData');
      assert.deepEqual(reads[0]?.type === 'getData' && reads[0].data, Buffer.from('a2'));
      assert.deepEqual(reads[1]?.type === 'getChildren' && reads[1].children.sort(), ['a', 't']);
      assert.deepEqual(reads[2], { type: 'error', err: Code.NONODE });
    });

    void it('digest auth and ACLs: NOAUTH, getACL, whoAmI, auth scheme', async () => {
      const owner = await pool.connect({ authInfo: [{ scheme: 'digest', auth: 'alice:secret' }] });
      const b = base();
      const acl = [{ perms: Perms.ALL, id: digestId('alice', 'secret') }, { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];
      await owner.create(b, 'guarded', { acl });
      await owner.create(`${b}/creator`, 'mine', { acl: CREATOR_ALL_ACL });
      const got = await owner.getACL(b);
      assert.deepEqual(got.acl, acl);
      assert.equal(got.stat.aversion, 0);
      const who = (await owner.whoAmI()).map((i) => `${i.authScheme}:${i.user}`).sort();
      assert.deepEqual(who, ['digest:alice', 'ip:127.0.0.1']);
      assert.deepEqual((await owner.getACL(`${b}/creator`)).acl, [{ perms: Perms.ALL, id: digestId('alice', 'secret') }]);

      const stranger = await pool.connect();
      assert.deepEqual((await stranger.getData(b)).data, Buffer.from('guarded'));
      await rejectsWith(stranger.setData(b, 'x'), Code.NOAUTH);
      await rejectsWith(stranger.getData(`${b}/creator`), Code.NOAUTH);
      await rejectsWith(stranger.create(`${b}/kid`), Code.NOAUTH);
      await stranger.addAuth('digest', 'alice:wrong'); // accepted, but the id does not match
      await rejectsWith(stranger.setData(b, 'x'), Code.NOAUTH);
      await stranger.addAuth('digest', 'alice:secret');
      await stranger.setData(b, 'x');
      assert.deepEqual((await stranger.getData(`${b}/creator`)).data, Buffer.from('mine'));
      const st = await owner.setACL(b, OPEN_ACL_UNSAFE, 0);
      assert.equal(st.aversion, 1);
      await stranger.create(`${b}/by-stranger`, null, { acl: CREATOR_ALL_ACL });
      const anon = await pool.connect();
      await rejectsWith(anon.create(`${b}/anon`, null, { acl: CREATOR_ALL_ACL }), Code.INVALIDACL);
    });

    void it('an unknown auth scheme moves the client to authFailed (terminal)', async () => {
      const log = new EventLog();
      const c = await pool.connect({ watcher: log.watcher });
      await rejectsWith(c.addAuth('nosuchscheme', 'x'), Code.AUTHFAILED);
      assert.equal(c.state, 'authFailed');
      await rejectsWith(c.getData('/'), Code.AUTHFAILED);
      await log.wait((ev) => ev.some((e) => e.state === KeeperState.AuthFailed));
    });

    void it('connection loss: pending requests fail, the client reconnects with the same session', async () => {
      const log = new EventLog();
      const c = await pool.connect({ watcher: log.watcher });
      const b = base();
      await c.create(b, null, { mode: CreateMode.EPHEMERAL });
      const session = c.sessionId;
      const states: ClientState[] = [];
      c.on('state', (s: ClientState) => states.push(s));
      const pending = c.getData(b);
      c.dropConnectionForTest();
      await rejectsWith(pending, Code.CONNECTIONLOSS);
      await waitState(c, 'connected');
      assert.deepEqual(states, ['disconnected', 'connecting', 'connected']);
      assert.equal(c.sessionId, session);
      assert.ok(await c.exists(b));
      assert.deepEqual(log.events.map((e) => e.state), [KeeperState.SyncConnected, KeeperState.Disconnected, KeeperState.SyncConnected]);
    });

    void it('tries hosts in order: a dead first host, then the live one', async () => {
      const dead = await freePort();
      const c = await pool.connectTo(`127.0.0.1:${dead},${server.connectString}`, { connectTimeoutMs: 1000 });
      assert.equal(c.currentHost?.port, server.port);
      assert.deepEqual((await c.getChildren('/')).includes('zookeeper'), true);
    });

    void it('SetWatches after a reconnect: changes made while disconnected fire, untouched watches stay', async () => {
      const c = await pool.connect();
      const other = await pool.connect();
      const b = base();
      await c.create(b);
      await c.create(`${b}/data`, 'v0');
      await c.create(`${b}/same`, 'v0');
      await c.create(`${b}/kids`);
      const log = new EventLog();
      const pers = new EventLog();
      await c.getData(`${b}/data`, log.watcher);
      await c.exists(`${b}/born`, log.watcher);
      await c.getChildren(`${b}/kids`, log.watcher);
      await c.getData(`${b}/same`, log.watcher);
      await c.addWatch(`${b}/kids`, pers.watcher, 'persistent');
      await c.sync('/');

      c.dropConnectionForTest(600);
      await other.setData(`${b}/data`, 'v1');
      await other.create(`${b}/born`);
      await other.create(`${b}/kids/k1`);
      await waitState(c, 'connected');
      const nodeEvents = (ev: typeof log.events): typeof log.events => ev.filter((e) => e.type !== EventType.None);
      await log.wait((ev) => nodeEvents(ev).length >= 3);
      await sleep(100);
      const got = nodeEvents(log.events).map((e) => [e.type, e.path]);
      assert.deepEqual(new Set(got.map((p) => JSON.stringify(p))), new Set([
        JSON.stringify([EventType.NodeDataChanged, `${b}/data`]),
        JSON.stringify([EventType.NodeCreated, `${b}/born`]),
        JSON.stringify([EventType.NodeChildrenChanged, `${b}/kids`]),
      ]));
      // The untouched data watch and the persistent watch were re-registered.
      await other.setData(`${b}/same`, 'v1');
      await other.create(`${b}/kids/k2`);
      await log.wait((ev) => ev.some((e) => e.path === `${b}/same`));
      await pers.wait((ev) => ev.filter((e) => e.type === EventType.NodeChildrenChanged).length >= 1);
    });

    void it('session expiry: the state goes to expired, calls fail with SESSIONEXPIRED, ephemerals go', async () => {
      const c = await pool.connect({ sessionTimeoutMs: 1000 });
      const other = await pool.connect();
      const log = new EventLog();
      c.on('state', () => undefined);
      const b = base();
      await c.create(b, null, { mode: CreateMode.EPHEMERAL });
      await c.getData(b, log.watcher);
      c.dropConnectionForTest(2500);
      await waitState(c, 'expired', 8000);
      await log.wait((ev) => ev.some((e) => e.state === KeeperState.Expired));
      await rejectsWith(c.getData('/'), Code.SESSIONEXPIRED);
      assert.equal(await other.exists(b), null);
      await c.close();
      assert.equal(c.state, 'closed');
    });

    void it('resumes a session by id and password; another client closing it expires the first', async () => {
      const a = await pool.connect();
      const b = base();
      await a.create(b, null, { mode: CreateMode.EPHEMERAL });
      // Keep `a` away while its twin holds the session (the server moves a session to its newest connection).
      a.dropConnectionForTest(1500);
      const twin = await pool.connect({ sessionId: a.sessionId, sessionPassword: a.sessionPassword });
      assert.equal(twin.sessionId, a.sessionId);
      assert.deepEqual(await twin.getEphemerals('/'), [b]);
      await twin.close();
      await waitState(a, 'expired');
      await rejectsWith(pool.connect({ sessionId: a.sessionId, sessionPassword: a.sessionPassword }), Code.SESSIONEXPIRED);
    });

    void it('close() ends the session: ephemerals removed, watchers told, later calls fail', async () => {
      const session = new EventLog();
      const c = await pool.connect({ watcher: session.watcher });
      const other = await pool.connect();
      const b = base();
      await c.create(b, null, { mode: CreateMode.EPHEMERAL });
      const seen = new EventLog();
      await other.exists(b, seen.watcher);
      const mine = new EventLog();
      await c.getData(b, mine.watcher);
      await c.close();
      assert.equal(c.state, 'closed');
      await seen.wait(1);
      assert.deepEqual(seen.pairs(), [[EventType.NodeDeleted, b]]);
      // Its own ephemeral's deletion fires its own (one-time) watch before the close completes.
      await mine.wait(1);
      assert.deepEqual(mine.events, [{ type: EventType.NodeDeleted, state: KeeperState.SyncConnected, path: b }]);
      await session.wait(2);
      assert.deepEqual(session.events.map((e) => e.state), [KeeperState.SyncConnected, KeeperState.Closed]);
      await rejectsWith(c.getData('/'), Code.SESSIONEXPIRED);
      await c.close(); // idempotent
    });

    void it('pipelines many requests and large values; replies resolve in order', async () => {
      const c = await pool.connect();
      const b = base();
      await c.create(b);
      const order: number[] = [];
      await Promise.all(Array.from({ length: 300 }, (_, i) => c.create(`${b}/n${i}`, String(i)).then(() => order.push(i))));
      assert.deepEqual(order, Array.from({ length: 300 }, (_, i) => i));
      assert.equal((await c.getChildren(b)).length, 300);
      const big = Buffer.alloc(900 * 1024, 7);
      await c.create(`${b}/big`, big);
      assert.deepEqual((await c.getData(`${b}/big`)).data, big);
    });

    void it('pings keep an idle session alive past its timeout', async () => {
      const c = await pool.connect({ sessionTimeoutMs: 1000 });
      const b = base();
      await c.create(b, null, { mode: CreateMode.EPHEMERAL });
      const states: ClientState[] = [];
      c.on('state', (s: ClientState) => states.push(s));
      await sleep(2500);
      assert.deepEqual(states, []);
      assert.ok(await c.exists(b));
    });
  });
}
