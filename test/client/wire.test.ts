// The client's wire behaviour against a scripted fake server: handshake outcomes, batching, xid order, pings and
// read timeouts, host rotation, and what a reconnect replays (session, auth, SetWatches batches, queued requests).
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Code, EventType, KeeperState, ZkError, ZooKeeperClient, type ClientState } from '../../src/client/index.js';
import { OpCode } from '../../src/protocol/constants.js';
import { silentLogger } from '../../src/util/log.js';
import { FakeServer, type FakeOptions } from './fake-server.js';
import { EventLog, sleep, waitState } from './helpers.js';

const servers: FakeServer[] = [];
const clients: ZooKeeperClient[] = [];

async function fake(opts: FakeOptions = {}): Promise<FakeServer> {
  const s = await new FakeServer(opts).start();
  servers.push(s);
  return s;
}

function client(cs: string, opts: ConstructorParameters<typeof ZooKeeperClient>[1] = {}): ZooKeeperClient {
  const c = new ZooKeeperClient(cs, { logger: silentLogger, sessionTimeoutMs: 3000, reconnectDelayMs: 50, ...opts });
  clients.push(c);
  return c;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

void describe('client wire behaviour (fake server)', () => {
  void it('an expired session answer moves to expired and rejects connect()', async () => {
    const s = await fake({ timeOut: 0 });
    const c = client(s.connectString, { sessionId: 0x99n, sessionPassword: Buffer.alloc(16, 1) });
    await assert.rejects(c.connect(), (e: unknown) => ZkError.is(e, Code.SESSIONEXPIRED));
    assert.equal(c.state, 'expired');
    assert.equal(s.connects[0]?.sessionId, 0x99n);
    assert.deepEqual(s.connects[0]?.passwd, Buffer.alloc(16, 1));
    assert.equal(s.connects[0]?.readOnly, false);
  });

  void it('requests of one tick go out in one write; replies of one read all resolve; xids start at 1', async () => {
    const s = await fake();
    const c = client(s.connectString);
    await c.connect();
    s.chunkFrames.length = 0;
    const rs = await Promise.all([c.getData('/a'), c.exists('/b'), c.getChildren('/c')]);
    assert.deepEqual(rs[0].data, Buffer.from('d'));
    assert.deepEqual(s.received.map((r) => [r.xid, r.op]), [[1, OpCode.getData], [2, OpCode.exists], [3, OpCode.getChildren]]);
    assert.equal(s.chunkFrames[0], 3);
    assert.equal(c.lastZxidSeen, 103);
  });

  void it('a reply with an unexpected xid is a connection loss, then the client reconnects', async () => {
    const s = await fake({ reply: (r) => (r.op === OpCode.getData ? { xid: r.xid + 5 } : undefined) });
    const c = client(s.connectString);
    await c.connect();
    await assert.rejects(c.getData('/x'), (e: unknown) => ZkError.is(e, Code.CONNECTIONLOSS));
    await waitState(c, 'connected');
    assert.equal(s.connects.length, 2);
    assert.equal(s.connects[1]?.sessionId, 0x1234n);
  });

  void it('pings while idle; a silent server is dropped after the read timeout', async () => {
    const live = await fake({ timeOut: 300 });
    const c = client(live.connectString);
    await c.connect();
    await sleep(700);
    assert.equal(c.state, 'connected');
    assert.ok(live.received.filter((r) => r.op === OpCode.ping).length >= 3);

    const mute = await fake({ timeOut: 300, answerPings: false });
    const d = client(mute.connectString);
    await d.connect();
    const states: ClientState[] = [];
    d.on('state', (st: ClientState) => states.push(st));
    await sleep(600);
    assert.ok(states.includes('disconnected'), `states: ${states.join(',')}`);
    assert.ok(mute.connects.length >= 2);
  });

  void it('a host that never answers the handshake is left after connectTimeoutMs for the next', async () => {
    const mute = await fake({ silentHandshake: true });
    const good = await fake();
    const c = client(`${mute.connectString},${good.connectString}`, { connectTimeoutMs: 200 });
    const t0 = Date.now();
    await c.connect();
    assert.ok(Date.now() - t0 >= 150);
    assert.equal(c.currentHost?.port, good.port);
    assert.equal(mute.connects.length, 1);
  });

  void it('reconnect replays: same session, lastZxid, auth first, SetWatches in 128 KB batches, then queued requests', async () => {
    const s = await fake({ reply: (r) => (r.op === OpCode.exists ? { err: Code.NONODE } : undefined) });
    const c = client(`${s.connectString}/root`, { authInfo: [{ scheme: 'digest', auth: 'u:p' }] });
    await c.connect();
    const long = 'x'.repeat(100);
    const n = 3000;
    await Promise.all(Array.from({ length: n }, (_, i) => c.getData(`/${long}${i}`, () => undefined)));
    assert.equal(await c.exists('/e', () => undefined), null);
    await c.addWatch('/p', () => undefined, 'recursive');
    const zxid = c.lastZxidSeen;
    s.received.length = 0;

    c.dropConnectionForTest(100);
    // Submitted while disconnected: queued, then sent once the session is back, after auth and SetWatches.
    assert.deepEqual(await c.getChildren('/after'), []);
    assert.equal(c.state, 'connected');

    assert.equal(s.connects[1]?.sessionId, 0x1234n);
    assert.equal(s.connects[1]?.lastZxidSeen, zxid);
    const ops = s.received.map((r) => r.op);
    assert.equal(ops[0], OpCode.auth);
    const sw = s.received.filter((r) => r.op === OpCode.setWatches || r.op === OpCode.setWatches2);
    assert.ok(sw.length >= 3, `batches: ${sw.length}`);
    assert.ok(sw.every((r) => r.xid === -8));
    const all = { data: [] as string[], exist: [] as string[], recursive: [] as string[] };
    for (const r of sw) {
      assert.ok(r.req.op === OpCode.setWatches || r.req.op === OpCode.setWatches2);
      if (r.req.op !== OpCode.setWatches && r.req.op !== OpCode.setWatches2) continue;
      const w = r.req.watches;
      assert.equal(w.relativeZxid, zxid);
      const bytes = [...w.dataWatches, ...w.existWatches, ...w.childWatches, ...w.persistentWatches, ...w.persistentRecursiveWatches]
        .reduce((a, p) => a + p.length, 0);
      assert.ok(bytes <= 128 * 1024);
      assert.equal(r.op === OpCode.setWatches2, w.persistentRecursiveWatches.length + w.persistentWatches.length > 0);
      all.data.push(...w.dataWatches);
      all.exist.push(...w.existWatches);
      all.recursive.push(...w.persistentRecursiveWatches);
    }
    assert.equal(all.data.length, n);
    assert.ok(all.data.every((p) => p.startsWith(`/root/${long}`)));
    assert.deepEqual(all.exist, ['/root/e']);
    assert.deepEqual(all.recursive, ['/root/p']);
    assert.equal(ops[ops.length - 1], OpCode.getChildren);
  });

  void it('notifications: chroot stripped, recursive watches match descendants, session events to all watchers', async () => {
    const s = await fake();
    const def = new EventLog();
    const c = client(`${s.connectString}/app`, { watcher: def.watcher });
    await c.connect();
    const rec = new EventLog();
    const once = new EventLog();
    await c.addWatch('/a', rec.watcher, 'recursive');
    await c.getData('/a/b', once.watcher);
    s.notify({ type: EventType.NodeDataChanged, state: 3, path: '/app/a/b' });
    s.notify({ type: EventType.NodeChildrenChanged, state: 3, path: '/app/a' });
    s.notify({ type: EventType.NodeCreated, state: 3, path: '/app/a/b/c' });
    await rec.wait(2);
    await once.wait(1);
    assert.deepEqual(rec.pairs(), [[EventType.NodeDataChanged, '/a/b'], [EventType.NodeCreated, '/a/b/c']]);
    assert.deepEqual(once.pairs(), [[EventType.NodeDataChanged, '/a/b']]);
    c.dropConnectionForTest(50);
    await rec.wait(3);
    assert.deepEqual(rec.events[2], { type: EventType.None, state: KeeperState.Disconnected, path: null });
    await def.wait((ev) => ev.filter((e) => e.state === KeeperState.SyncConnected).length >= 2);
  });

  void it('connect() gives up after its timeout and closes the client', async () => {
    const mute = await fake({ silentHandshake: true });
    const c = client(mute.connectString, { connectTimeoutMs: 100 });
    await assert.rejects(c.connect(300), (e: unknown) => ZkError.is(e, Code.CONNECTIONLOSS));
    assert.equal(c.state, 'closed');
  });
});
