// The application-level API on the wire, against a scripted fake server or a port that never answers: connect()
// time limits and aborts, aborted requests, what disposing a watch iterator sends, what mkdirp sends.
import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { Code, ZkError, ZooKeeperClient, type ConnectionState } from '../../src/client/index.js';
import { OpCode } from '../../src/protocol/constants.js';
import { silentLogger } from '../../src/util/log.js';
import { FakeServer, type FakeOptions, STAT0 } from './fake-server.js';
import { sleep, waitState } from './helpers.js';

const servers: FakeServer[] = [];
const clients: ZooKeeperClient[] = [];
const blackholes: net.Server[] = [];
const holeSockets: net.Socket[] = [];

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

/** A loopback port that accepts connections and never reads or writes a byte. */
async function blackhole(): Promise<string> {
  const srv = net.createServer((s) => {
    holeSockets.push(s);
    s.on('error', () => undefined);
    s.pause();
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  blackholes.push(srv);
  const addr = srv.address();
  return `127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  for (const s of holeSockets.splice(0)) s.destroy();
  await Promise.all(blackholes.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

const isAbort = (e: unknown): boolean => e instanceof Error && e.name === 'AbortError';

void describe('client API on the wire', () => {
  void it('connect() to a port that accepts but never answers rejects after its timeout', async () => {
    const hole = await blackhole();
    const c = client(hole, { connectTimeoutMs: 150 });
    const t0 = Date.now();
    await assert.rejects(c.connect(400), (e: unknown) => ZkError.is(e, Code.CONNECTIONLOSS));
    const took = Date.now() - t0;
    assert.ok(took >= 350 && took < 2000, `took ${took} ms`);
    assert.equal(c.state, 'closed');
    assert.equal(c.connectionState, 'closed');
    // Without an explicit limit: the session timeout bounds it.
    const d = client(hole, { sessionTimeoutMs: 600, connectTimeoutMs: 200 });
    const t1 = Date.now();
    await assert.rejects(d.connect(), (e: unknown) => ZkError.is(e, Code.CONNECTIONLOSS));
    assert.ok(Date.now() - t1 < 2000);
    // Calls made while it was trying fail too (no hanging promise): CONNECTIONLOSS when an attempt fails.
    const e = client(hole, { connectTimeoutMs: 100 });
    const pending = assert.rejects(e.getData('/x'), (err: unknown) => ZkError.is(err, Code.CONNECTIONLOSS));
    await assert.rejects(e.connect(300));
    await pending;
  });

  void it('connect() with a signal: an abort stops the wait, the client keeps trying', async () => {
    const s = await fake({ silentHandshake: true });
    const c = client(s.connectString, { connectTimeoutMs: 100 });
    const ac = new AbortController();
    const p = c.connect(5000, { signal: ac.signal });
    await sleep(50);
    ac.abort();
    await assert.rejects(p, isAbort);
    assert.equal(c.connectionState, 'connecting');
    await assert.rejects(c.connect(undefined, { signal: AbortSignal.abort() }), isAbort);
    await c.close();
    assert.equal(c.connectionState, 'closed');
  });

  void it('a call aborted while queued (disconnected) is never sent', async () => {
    const s = await fake();
    const c = client(s.connectString);
    await c.connect();
    c.dropConnectionForTest(200);
    assert.equal(c.connectionState, 'suspended');
    const ac = new AbortController();
    const dropped = c.setData('/dropped', 'x', -1, { signal: ac.signal });
    const kept = c.getData('/kept');
    ac.abort();
    await assert.rejects(dropped, isAbort);
    await kept;
    assert.deepEqual(s.received.filter((r) => r.op !== OpCode.ping).map((r) => r.op), [OpCode.getData]);
  });

  void it('disposing a watch iterator sends removeWatches for its kind (Data, Children, Any)', async () => {
    const s = await fake();
    const c = client(`${s.connectString}/app`);
    await c.connect();
    const kinds = ['data', 'exist', 'children', 'persistent', 'recursive'] as const;
    for (const kind of kinds) {
      const w = c.watch(`/${kind}`, { kind });
      await w.ready;
      await w.return();
    }
    const removes = s.received.filter((r) => r.op === OpCode.removeWatches).map((r) => r.req);
    assert.deepEqual(removes.map((r) => ('path' in r ? r.path : '')), kinds.map((k) => `/app/${k}`));
    // Nothing else watches those paths, so every kind asks the server to remove all (WatcherType.Any = 3).
    assert.deepEqual(removes.map((r) => ('type' in r ? r.type : 0)), [3, 3, 3, 3, 3]);

    // A one-time watch whose event came needs no removal.
    const w = c.watch('/fired', { kind: 'data' });
    await w.ready;
    s.notify({ type: 3, state: 3, path: '/app/fired' });
    assert.equal((await w.next()).done, false);
    await w.return();
    // With a callback watcher on the same path, only the iterator's local watcher goes (no server request).
    await c.getData('/shared', () => undefined);
    const sh = c.watch('/shared', { kind: 'data' });
    await sh.ready;
    await sh.return();
    assert.equal(s.received.filter((r) => r.op === OpCode.removeWatches).length, 5);
    await c.checkWatches('/shared', 2);
  });

  void it('mkdirp: the leaf first, then every ancestor pipelined (containers when asked), then the leaf again', async () => {
    let leafTries = 0;
    const s = await fake({
      reply: (r) => {
        if (r.op === OpCode.create && 'create' in r.req && r.req.create.path === '/a/b/c') {
          return ++leafTries === 1 ? { err: Code.NONODE } : { body: { op: OpCode.create, path: '/a/b/c' } };
        }
        if (r.op === OpCode.createContainer && 'create' in r.req) {
          return r.req.create.path === '/a' ? { err: Code.NODEEXISTS } : { body: { op: OpCode.createContainer, path: r.req.create.path, stat: STAT0 } };
        }
        return undefined;
      },
    });
    const c = client(s.connectString);
    await c.connect();
    assert.equal(await c.mkdirp('/a/b/c', { containerParents: true, data: 'd' }), true);
    const creates = s.received.filter((r) => r.op === OpCode.create || r.op === OpCode.createContainer);
    assert.deepEqual(creates.map((r) => [r.op, 'create' in r.req ? r.req.create.path : '']), [
      [OpCode.create, '/a/b/c'], [OpCode.createContainer, '/a'], [OpCode.createContainer, '/a/b'], [OpCode.create, '/a/b/c'],
    ]);
    const leaf = creates[3]?.req;
    assert.ok(leaf && 'create' in leaf);
    assert.deepEqual(leaf.create.data, Buffer.from('d'));
    // Two ancestors went out in the same write as one round trip.
    assert.equal(creates[1]?.conn, creates[2]?.conn);
  });

  void it('states(): connecting, connected, suspended, connected, then lost on an expired answer', async () => {
    const s = await fake();
    const c = client(s.connectString);
    const seen: ConnectionState[] = [];
    const reader = (async () => {
      for await (const st of c.states()) seen.push(st);
    })();
    await c.connect();
    // Make the next handshake answer "expired".
    (s as unknown as { opts: FakeOptions }).opts.timeOut = 0;
    c.dropConnectionForTest(50);
    await waitState(c, 'expired');
    await reader;
    assert.deepEqual(seen, ['connecting', 'connected', 'suspended', 'lost']);
  });
});
