// Proves the ensemble harness (src/bench/ensemble.ts) and the link proxies (src/bench/proxy.ts) against Apache
// ZooKeeper 3.8 ensembles on 127.0.0.1: an ensemble forms with one leader and replicates writes; a kill -9'd leader
// is replaced and, restarted, rejoins as a follower; through the proxies (per-node zoo.cfg naming peers by proxy
// ports) an isolated leader stops serving while the majority elects a new one, and healing brings all back.
// The LinkProxy itself is checked first, without servers.
// Runs against Apache only by default; ZKTS_TEST_KINDS=zkts,apache adds zkts once its quorum server exists.
// Every wait is bounded and every ensemble is stopped in `finally` (an exit hook in ensemble.ts kills stragglers).
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { type Ensemble, killEnsembles, startEnsemble } from '../../src/bench/ensemble.js';
import { electionHandshakeRewriter, LinkProxy } from '../../src/bench/proxy.js';
import type { Kind } from '../../src/bench/restart.js';
import { ZooKeeperClient } from '../../src/client/index.js';
import { Code, ZkError } from '../../src/protocol/errors.js';
import { silentLogger } from '../../src/util/log.js';
import { freePort, waitFor } from '../support/ports.js';
import { oracleAvailable, testKinds } from '../support/servers.js';

const kinds: Kind[] = process.env.ZKTS_TEST_KINDS ? testKinds() : ['apache'];

after(() => killEnsembles());

/** Runs `fn` with a fresh session on one node only (no failover to other nodes), everything bounded. */
async function onNode<T>(port: number, fn: (c: ZooKeeperClient) => Promise<T>, timeoutMs = 4000): Promise<T> {
  const c = new ZooKeeperClient(`127.0.0.1:${port}`, {
    logger: silentLogger, sessionTimeoutMs: 4000, connectTimeoutMs: 1000, reconnectDelayMs: 100,
  });
  try {
    await c.connect(timeoutMs);
    return await fn(c);
  } finally {
    await c.close();
  }
}

function write(port: number, path: string, data: string, timeoutMs = 4000): Promise<string> {
  return onNode(port, (c) => c.create(path, data, { signal: AbortSignal.timeout(timeoutMs) }), timeoutMs);
}

/** The data at `path` as seen by one node after sync; undefined if absent there. */
function readSynced(port: number, path: string): Promise<string | undefined> {
  return onNode(port, async (c) => {
    await c.sync(path, { signal: AbortSignal.timeout(4000) });
    try {
      return (await c.getData(path, undefined, { signal: AbortSignal.timeout(4000) })).data?.toString();
    } catch (e) {
      if (e instanceof ZkError && e.code === Code.NONODE) return undefined;
      throw e;
    }
  });
}

/** Waits until every node of `ids` returns `expected` for `path`. */
async function expectEverywhere(e: Ensemble, ids: number[], path: string, expected: string | undefined): Promise<void> {
  for (const id of ids) {
    await waitFor(`${path} = ${expected} on node ${id}`, async () => (await readSynced(e.node(id).clientPort, path)) === expected, 15_000, 200);
  }
}

async function withEnsemble(e: Ensemble, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    // The log tails make a failure explainable from the test output alone.
    (err as Error).message += `\n${e.describe(undefined, 25)}`;
    throw err;
  } finally {
    await e.stop();
  }
}

function others(e: Ensemble, id: number): number[] {
  return e.nodes.filter((n) => n.id !== id && n.role === 'participant').map((n) => n.id);
}

/** An echo server on a free port (or on `port`), closed by the caller. */
async function echoServer(port = 0): Promise<net.Server> {
  const srv = net.createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => srv.listen(port, '127.0.0.1', () => resolve()));
  return srv;
}

const portOf = (srv: net.Server): number => (srv.address() as net.AddressInfo).port;

/** Connects, writes `bytes`, and resolves with everything read until the peer closes or `ms` pass. */
function exchange(port: number, bytes: Buffer, ms = 1000): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write(bytes));
    const done = (closed: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve({ data: Buffer.concat(chunks), closed });
    };
    const timer = setTimeout(() => done(false), ms);
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => done(true));
    s.on('close', () => done(true));
  });
}

void describe('LinkProxy', { timeout: 20_000 }, () => {
  void test('forwards, cut closes connections at once, heal lets them through again', async () => {
    const echo = await echoServer();
    const px = await LinkProxy.start({ target: portOf(echo) });
    try {
      assert.equal((await exchange(px.port, Buffer.from('hello'), 300)).data.toString(), 'hello');
      px.cut();
      assert.deepEqual(await exchange(px.port, Buffer.from('x'), 1000), { data: Buffer.alloc(0), closed: true });
      px.heal();
      assert.equal((await exchange(px.port, Buffer.from('again'), 300)).data.toString(), 'again');
    } finally {
      await px.close();
      echo.close();
    }
  });

  void test('rewrites the address of an election InitialMessage and keeps the bytes after it', async () => {
    const echo = await echoServer();
    const px = await LinkProxy.start({ target: portOf(echo), rewriteHead: electionHandshakeRewriter(() => '127.0.0.1:4242') });
    try {
      const addr = Buffer.from('127.0.0.1:3888');
      const head = Buffer.alloc(20);
      head.writeBigInt64BE(-65536n, 0);
      head.writeBigInt64BE(7n, 8);
      head.writeInt32BE(addr.length, 16);
      const { data } = await exchange(px.port, Buffer.concat([head, addr, Buffer.from('rest')]), 300);
      assert.equal(data.readBigInt64BE(8), 7n);
      assert.equal(data.subarray(20, 20 + data.readInt32BE(16)).toString(), '127.0.0.1:4242');
      assert.equal(data.subarray(20 + data.readInt32BE(16)).toString(), 'rest');
    } finally {
      await px.close();
      echo.close();
    }
  });

  void test('a target that refuses is retried while the dialer waits', async () => {
    const target = await freePort();
    const px = await LinkProxy.start({ target });
    let echo: net.Server | undefined;
    try {
      const pending = exchange(px.port, Buffer.from('late'), 800);
      await new Promise((r) => setTimeout(r, 200));
      echo = await echoServer(target);
      assert.equal((await pending).data.toString(), 'late');
    } finally {
      await px.close();
      echo?.close();
    }
  });
});

for (const kind of kinds) {
  const skip = kind === 'apache' && !oracleAvailable() ? 'Apache ZooKeeper (Debian package) is not installed' : false;

  void describe(`ensemble harness (${kind})`, { skip, timeout: 120_000 }, () => {
    void test('3 voters: one leader, writes replicate, a killed leader is replaced and rejoins as follower', async () => {
      const e = await startEnsemble({ kind });
      await withEnsemble(e, async () => {
        const modes = [...(await e.modes()).values()];
        assert.deepEqual(modes.filter((m) => m === 'leader').length, 1, `modes: ${modes.join(',')}`);
        assert.equal(modes.filter((m) => m === 'follower').length, 2);
        assert.match(e.connectString(), /^127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/);

        const old = await e.leader();
        const [a, b] = others(e, old.id);
        await write(e.node(a).clientPort, '/before', 'one');
        await expectEverywhere(e, [old.id, b], '/before', 'one');

        await old.kill();
        assert.equal(old.running, false);
        const next = await e.leader({ among: [a, b], timeoutMs: 15_000 });
        assert.notEqual(next.id, old.id);
        await write(e.node(a === next.id ? b : a).clientPort, '/after', 'two');

        assert.equal(await old.start(20_000), 'follower');
        await e.waitForModes({ timeoutMs: 15_000 });
        assert.equal((await e.leader()).id, next.id);
        await expectEverywhere(e, [old.id], '/after', 'two');
      });
    });

    void test('proxied 3 voters: an isolated leader stops serving, the majority elects and writes, heal rejoins', async () => {
      const e = await startEnsemble({ kind, proxied: true });
      await withEnsemble(e, async () => {
        const px = e.partitioner!;
        const old = await e.leader();
        const [a, b] = others(e, old.id);
        // Peers reached each other only through the proxies: the learners dialed the leader's quorum proxy.
        assert.ok(px.link(a, old.id, 'quorum').connections > 0 && px.link(b, old.id, 'quorum').connections > 0);

        px.isolate(old.id);
        const next = await e.leader({ among: [a, b], timeoutMs: 15_000 });
        await write(e.node(a).clientPort, '/majority', 'yes');
        await assert.rejects(write(old.clientPort, '/minority', 'no', 3000));
        await waitFor(`isolated node ${old.id} to stop serving`, async () => (await old.mode()) === undefined, 10_000, 100);

        px.healAll();
        const modes = await e.waitForModes({ timeoutMs: 20_000 });
        assert.equal(modes.get(old.id), 'follower');
        assert.equal(modes.get(next.id), 'leader');
        await expectEverywhere(e, [old.id, a, b], '/majority', 'yes');
        await expectEverywhere(e, [old.id, a, b], '/minority', undefined);
      });
    });

    void test('5 voters and an observer: one leader, four followers, one observer', async () => {
      const e = await startEnsemble({ kind, voters: 5, observers: 1 });
      await withEnsemble(e, async () => {
        const modes = [...(await e.modes()).values()].sort();
        assert.deepEqual(modes, ['follower', 'follower', 'follower', 'follower', 'leader', 'observer']);
        assert.equal(e.node(6).role, 'observer');
        await write(e.node(6).clientPort, '/via-observer', 'obs');
        await expectEverywhere(e, [1, 5], '/via-observer', 'obs');
      });
    });
  });
}
