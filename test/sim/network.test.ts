// SimNetwork (src/sim/network.ts): Node's socket semantics on the simulated time line (ordering, chunking, end/close,
// destroy, refused, timeouts and held data across blocks, reset, crash, EADDRINUSE, server.close), determinism, and
// the real standalone server and the real client talking through it. Every test is bounded in simulated time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fsReal from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Server, Socket } from 'node:net';
import { SimLoop } from '../../src/sim/loop.js';
import { SimNetwork, type SimNetworkOptions, type SysError } from '../../src/sim/network.js';
import { setSys } from '../../src/util/sys.js';
import { silentLogger } from '../../src/util/log.js';
import { parseConfig } from '../../src/config/zoocfg.js';
import { ZooKeeperServer } from '../../src/server/zkserver.js';
import { ZooKeeperClient } from '../../src/client/client.js';

interface World {
  loop: SimLoop;
  network: SimNetwork;
  net: SimNetwork['net'];
}

/** Writes arrive whole unless a test asks for splitting (splitChance), so event lists can be compared exactly. */
function world(opts: SimNetworkOptions = {}, seed = 1): World {
  const loop = new SimLoop(seed);
  const network = new SimNetwork(loop, loop.rng.fork(), { splitChance: 0, ...opts });
  return { loop, network, net: network.net };
}

/** A server of `owner` on host:port; every accepted socket goes to onConn. */
function listen(w: World, owner: string, host: string, port: number, onConn: (s: Socket) => void = () => undefined): Server {
  return w.loop.as(owner, () => w.net.createServer(onConn).listen(port, host));
}

function dial(w: World, owner: string, host: string, port: number): Socket {
  return w.loop.as(owner, () => w.net.connect({ host, port }));
}

/** Records a socket's events as short strings ("connect", "data:abc", "end", "error:ECONNRESET", "close:false"). */
function record(s: Socket, log: string[], prefix = ''): void {
  s.on('connect', () => log.push(`${prefix}connect`));
  s.on('data', (d: Buffer) => log.push(`${prefix}data:${d.toString()}`));
  s.on('end', () => log.push(`${prefix}end`));
  s.on('error', (e: SysError) => log.push(`${prefix}error:${e.code}`));
  s.on('close', (hadError: boolean) => log.push(`${prefix}close:${hadError}`));
}

/** A connected pair: client of c1, accepted socket of n1 (both recorded into one log, "c " and "s " prefixes). */
async function pair(w: World, log: string[], onServer: (s: Socket) => void = () => undefined): Promise<{ c: Socket; s: Socket }> {
  let s: Socket | undefined;
  listen(w, 'n1', '127.0.0.1', 2181, (sock) => {
    s = sock;
    record(sock, log, 's ');
    onServer(sock);
  });
  const c = dial(w, 'c1', '127.0.0.1', 2181);
  record(c, log, 'c ');
  await w.loop.runUntil(w.loop.now + 200, () => s !== undefined && log.includes('c connect'));
  assert.ok(s && log.includes('c connect'), 'connected');
  return { c, s };
}

void test('events come on a later tick, never inside the call', async () => {
  const w = world();
  const log: string[] = [];
  const srv = listen(w, 'n1', '127.0.0.1', 2181, (s) => record(s, log, 's '));
  srv.on('listening', () => log.push('listening'));
  assert.equal(srv.listening, true); // bound at once, as Node does for an IP address
  assert.deepEqual(log, []);
  const c = dial(w, 'c1', '127.0.0.1', 2181);
  record(c, log, 'c ');
  assert.equal(c.connecting, true);
  assert.equal(c.remoteAddress, undefined);
  await w.loop.runUntil(100);
  assert.deepEqual(log, ['listening', 'c connect']);
  assert.equal(c.remoteAddress, '127.0.0.1');
  assert.equal(c.remotePort, 2181);
  c.destroy();
  assert.equal(c.destroyed, true);
  assert.deepEqual(log, ['listening', 'c connect']);
  await w.loop.runUntil(200);
  assert.deepEqual(log, ['listening', 'c connect', 'c close:false', 's end', 's close:false']);
});

void test('per direction FIFO, exactly once: split writes keep byte order, same-time writes may merge', async () => {
  const w = world({ latencyMs: [1, 20], splitChance: 0.5 }, 42);
  const chunks: Buffer[] = [];
  const times: number[] = [];
  const { c } = await pair(w, [], (s) => s.on('data', (d: Buffer) => {
    chunks.push(d);
    times.push(w.loop.now);
  }));
  const rng = w.loop.rng.fork();
  const expected: number[] = [];
  const writes: number[] = [];
  let t = w.loop.now;
  for (let i = 0; i < 300; i++) {
    const len = rng.int(1, 40);
    const bytes = Array.from({ length: len }, (_, j) => (expected.length + j) & 0xff);
    expected.push(...bytes);
    writes.push(len);
    if (rng.chance(0.5)) t += rng.int(0, 3); // bursts of writes in the same millisecond
    w.loop.schedule(t - w.loop.now, () => assert.equal(c.write(Buffer.from(bytes)), true), 'c1');
  }
  await w.loop.runUntil(t + 1000);
  assert.deepEqual([...Buffer.concat(chunks)], expected);
  for (let i = 1; i < times.length; i++) assert.ok(times[i] >= times[i - 1], 'deliveries in time order');
  const writeEnds = new Set(writes.map((_, i) => writes.slice(0, i + 1).reduce((a, b) => a + b, 0)));
  let at = 0;
  let split = 0;
  let merged = 0;
  for (const ch of chunks) {
    const start = at;
    at += ch.length;
    if (!writeEnds.has(at)) split++;
    for (let p = start + 1; p < at; p++) if (writeEnds.has(p)) merged++;
  }
  assert.ok(split > 0, 'some writes arrived in two chunks');
  assert.ok(merged > 0, 'some writes arrived together');
  assert.equal(w.network.stats.bytesDelivered, expected.length);
});

void test('end: the peer gets end, ends too (allowHalfOpen false), then both close without error', async () => {
  const w = world();
  const log: string[] = [];
  const { c } = await pair(w, log);
  let finished = false;
  c.end('bye', () => (finished = true));
  assert.equal(c.writable, false);
  await w.loop.runUntil(w.loop.now + 100);
  assert.equal(finished, true);
  // The server's side ends as soon as it read the FIN, so it closes a latency before the client hears its FIN.
  assert.deepEqual(log.slice(1), ['s data:bye', 's end', 's close:false', 'c end', 'c close:false']);
  assert.equal(w.network.openConnections, 0);
});

void test('destroy: our side closes at once, the peer gets end and close; writes afterwards fail quietly', async () => {
  const w = world();
  const log: string[] = [];
  const { c, s } = await pair(w, log);
  c.write('last');
  c.destroy();
  let writeErr: SysError | undefined;
  assert.equal(c.write('more', (e?: Error | null) => (writeErr = e as SysError)), false);
  await w.loop.runUntil(w.loop.now + 100);
  assert.equal(writeErr?.code, 'ERR_STREAM_DESTROYED');
  assert.deepEqual(log.slice(1), ['c close:false', 's data:last', 's end', 's close:false']);
  assert.equal(s.destroyed, true);

  // A write after end() is an error event, as in Node.
  const log2: string[] = [];
  const d = dial(w, 'c2', '127.0.0.1', 2181);
  record(d, log2);
  d.on('connect', () => {
    d.end();
    d.write('x');
  });
  await w.loop.runUntil(w.loop.now + 100);
  assert.deepEqual(log2.slice(0, 3), ['connect', 'error:ERR_STREAM_WRITE_AFTER_END', 'close:true']);
});

void test('refused: a connect to a port nobody listens on fails with ECONNREFUSED after one latency', async () => {
  const w = world({ latencyMs: [7, 7] });
  const c = dial(w, 'c1', '127.0.0.1', 9999);
  let err: SysError | undefined;
  let errAt = -1;
  let closed: boolean | undefined;
  c.on('error', (e: SysError) => {
    err = e;
    errAt = w.loop.now;
  });
  c.on('close', (hadError: boolean) => (closed = hadError));
  await w.loop.runUntil(1000);
  assert.equal(errAt, 7);
  assert.equal(err?.code, 'ECONNREFUSED');
  assert.equal(err?.syscall, 'connect');
  assert.equal(err?.address, '127.0.0.1');
  assert.equal(err?.port, 9999);
  assert.equal(err?.message, 'connect ECONNREFUSED 127.0.0.1:9999');
  assert.equal(closed, true);
  assert.equal(w.network.stats.refused, 1);
});

void test('a connect across a blocked pair times out (ETIMEDOUT), or completes if unblocked in time', async () => {
  const w = world();
  listen(w, 'n1', '127.0.0.1', 2181);
  w.network.block('c1', 'n1');
  assert.equal(w.network.isBlocked('n1', 'c1'), true);
  const c = dial(w, 'c1', '127.0.0.1', 2181);
  let err: SysError | undefined;
  let errAt = -1;
  c.on('error', (e: SysError) => {
    err = e;
    errAt = w.loop.now;
  });
  await w.loop.runUntil(10_000);
  assert.equal(err?.code, 'ETIMEDOUT');
  assert.equal(err?.syscall, 'connect');
  assert.equal(errAt, 3000);
  assert.equal(w.network.stats.timeouts, 1);

  const d = dial(w, 'c1', '127.0.0.1', 2181);
  let connectedAt = -1;
  d.on('connect', () => (connectedAt = w.loop.now));
  const t0 = w.loop.now;
  w.loop.schedule(1000, () => w.network.unblock('c1', 'n1'), 'sim');
  await w.loop.runUntil(t0 + 10_000);
  assert.ok(connectedAt > t0 + 1000 && connectedAt < t0 + 1100, `connected at ${connectedAt - t0}`);
});

void test('data in flight or written across a block is held, then delivered in order after unblock', async () => {
  const w = world({ latencyMs: [2, 6] });
  const log: string[] = [];
  const { c } = await pair(w, log);
  c.write('a'); // in flight when the block starts
  w.network.block('n1', 'c1');
  w.loop.schedule(100, () => c.write('b'), 'c1');
  w.loop.schedule(200, () => c.write('c'), 'c1');
  const t0 = w.loop.now;
  await w.loop.runUntil(t0 + 5000);
  assert.deepEqual(log.slice(1), []);
  w.network.unblock('n1', 'c1');
  await w.loop.runUntil(t0 + 5100);
  assert.equal(log.slice(1).map((x) => x.slice('s data:'.length)).join(''), 'abc');
});

void test('reset: both ends get ECONNRESET then close; other connections are untouched', async () => {
  const w = world();
  const log: string[] = [];
  await pair(w, log);
  const other: string[] = [];
  const o = dial(w, 'c2', '127.0.0.1', 2181);
  record(o, other);
  await w.loop.runUntil(w.loop.now + 100);
  w.network.reset('c1', 'n1');
  await w.loop.runUntil(w.loop.now + 100);
  assert.deepEqual(log.slice(1).sort(), ['c close:true', 'c error:ECONNRESET', 's close:true', 's error:ECONNRESET']);
  assert.ok(log.indexOf('c error:ECONNRESET') < log.indexOf('c close:true'));
  assert.deepEqual(other, ['connect']);
  assert.equal(w.network.stats.resets, 1);
  w.network.reset('n1'); // all of n1's
  await w.loop.runUntil(w.loop.now + 100);
  assert.deepEqual(other, ['connect', 'error:ECONNRESET', 'close:true']);
});

void test('crash: listeners vanish (port free, connects refused), the owner hears nothing, peers get end and close', async () => {
  const w = world({ latencyMs: [4, 4] });
  const log: string[] = [];
  await pair(w, log);
  const t0 = w.loop.now;
  w.loop.kill('n1');
  w.network.crash('n1');
  await w.loop.runUntil(t0 + 100);
  assert.deepEqual(log.slice(1), ['c end', 'c close:false']);
  assert.equal(log.filter((x) => x.startsWith('s ')).length, 0, 'the dead side hears nothing');

  const refused: string[] = [];
  record(dial(w, 'c2', '127.0.0.1', 2181), refused);
  await w.loop.runUntil(w.loop.now + 100);
  assert.deepEqual(refused, ['error:ECONNREFUSED', 'close:true']);

  // The restarted process binds the same port again.
  const again = listen(w, 'n1', '127.0.0.1', 2181);
  let ok = false;
  again.on('listening', () => (ok = true));
  await w.loop.runUntil(w.loop.now + 10);
  assert.equal(ok, true);
});

void test('crash with unread or in-flight data: the peer gets ECONNRESET', async () => {
  const w = world({ latencyMs: [4, 4] });
  const log: string[] = [];
  const { c } = await pair(w, log, (s) => s.pause());
  c.write('unread');
  await w.loop.runUntil(w.loop.now + 50);
  w.loop.kill('n1');
  w.network.crash('n1');
  await w.loop.runUntil(w.loop.now + 50);
  assert.deepEqual(log.slice(1), ['c error:ECONNRESET', 'c close:true']);

  const w2 = world({ latencyMs: [4, 4] });
  const log2: string[] = [];
  const p = await pair(w2, log2);
  p.c.write('in flight');
  w2.loop.kill('n1');
  w2.network.crash('n1');
  await w2.loop.runUntil(w2.loop.now + 50);
  // The kernel's FIN gets there first; the RST for the data lands on a socket that already closed.
  assert.deepEqual(log2.slice(1), ['c end', 'c close:false']);
});

void test('crash across a block: the peer hears of it only after unblock', async () => {
  const w = world();
  const log: string[] = [];
  await pair(w, log);
  w.network.partition([['n1'], ['c1', 'c2']]);
  assert.equal(w.network.isBlocked('c1', 'c2'), false);
  w.loop.kill('n1');
  w.network.crash('n1');
  const t0 = w.loop.now;
  await w.loop.runUntil(t0 + 10_000);
  assert.deepEqual(log.slice(1), []);
  w.network.heal();
  assert.equal(w.network.isBlocked('c1', 'n1'), false);
  await w.loop.runUntil(t0 + 10_100);
  assert.deepEqual(log.slice(1), ['c end', 'c close:false']);
});

void test('listen: EADDRINUSE on a taken host:port, a wildcard takes the port for every address, port 0 picks one', async () => {
  const w = world();
  const errors: SysError[] = [];
  const onErr = (e: SysError): number => errors.push(e);
  listen(w, 'n1', '127.0.0.1', 2181);
  const dup = listen(w, 'n2', '127.0.0.1', 2181).on('error', onErr);
  assert.equal(dup.listening, false);
  assert.equal(listen(w, 'n2', '127.0.0.2', 2181).listening, true);
  listen(w, 'n3', '0.0.0.0', 2181).on('error', onErr);
  const wild = listen(w, 'n3', '0.0.0.0', 3000);
  listen(w, 'n4', '127.0.0.5', 3000).on('error', onErr);
  await w.loop.runUntil(10);
  assert.deepEqual(errors.map((e) => `${e.code} ${e.syscall} ${e.address}:${e.port}`), [
    'EADDRINUSE listen 127.0.0.1:2181', 'EADDRINUSE listen 0.0.0.0:2181', 'EADDRINUSE listen 127.0.0.5:3000',
  ]);
  assert.equal(errors[0].message, 'listen EADDRINUSE: address already in use 127.0.0.1:2181');
  assert.deepEqual(wild.address(), { address: '0.0.0.0', family: 'IPv4', port: 3000 });

  const a = listen(w, 'n5', '127.0.0.1', 0).address();
  const b = listen(w, 'n5', '127.0.0.1', 0).address();
  assert.ok(a && b && typeof a === 'object' && typeof b === 'object');
  assert.notEqual(a.port, b.port);
  assert.ok(a.port > 0);

  // The wildcard listener accepts a connect to any address.
  let accepted: Socket | undefined;
  wild.on('connection', (s: Socket) => (accepted = s));
  const c = dial(w, 'c1', '127.0.0.9', 3000);
  c.on('error', () => undefined);
  await w.loop.runUntil(w.loop.now + 100);
  assert.equal(accepted?.localAddress, '127.0.0.9');
  assert.equal(accepted?.remotePort, c.localPort);
});

void test('server.close stops accepting at once; its callback waits for the open connections', async () => {
  const w = world();
  let accepted: Socket | undefined;
  const srv = listen(w, 'n1', '127.0.0.1', 2181, (s) => (accepted = s));
  const c = dial(w, 'c1', '127.0.0.1', 2181);
  await w.loop.runUntil(100);
  assert.ok(accepted);
  let closedAt = -1;
  let closeErr: Error | undefined = new Error('not called');
  srv.close((e) => {
    closeErr = e;
    closedAt = w.loop.now;
  });
  assert.equal(srv.listening, false);
  const refused: string[] = [];
  record(dial(w, 'c2', '127.0.0.1', 2181), refused);
  await w.loop.runUntil(1000);
  assert.deepEqual(refused, ['error:ECONNREFUSED', 'close:true']);
  assert.equal(closedAt, -1, 'waits for the accepted connection');
  c.end();
  await w.loop.runUntil(1100);
  assert.ok(closedAt > 1000);
  assert.equal(closeErr, undefined);

  let notRunning: (Error & { code?: string }) | undefined;
  srv.close((e) => (notRunning = e));
  await w.loop.runUntil(1200);
  assert.equal(notRunning?.code, 'ERR_SERVER_NOT_RUNNING');
});

void test('pause holds data until resume; without a data listener data waits too', async () => {
  const w = world();
  const log: string[] = [];
  let server: Socket | undefined;
  listen(w, 'n1', '127.0.0.1', 2181, (s) => (server = s));
  const c = dial(w, 'c1', '127.0.0.1', 2181);
  c.on('connect', () => c.write('early'));
  await w.loop.runUntil(100);
  assert.ok(server);
  record(server, log); // the data waited for a listener
  await w.loop.runUntil(200);
  assert.deepEqual(log, ['data:early']);
  server.pause();
  assert.equal(server.isPaused(), true);
  c.write('held');
  c.end();
  await w.loop.runUntil(1000);
  assert.deepEqual(log, ['data:early']);
  server.resume();
  assert.deepEqual(log, ['data:early']); // not inside resume()
  await w.loop.runUntil(1100);
  assert.deepEqual(log, ['data:early', 'data:held', 'end', 'close:false']);
});

void test('setTimeout: timeout after idle time, postponed by activity, 0 disables', async () => {
  const w = world({ latencyMs: [1, 1] });
  const { c } = await pair(w, []);
  const times: number[] = [];
  const t0 = w.loop.now;
  c.setTimeout(1000, () => times.push(w.loop.now - t0));
  w.loop.schedule(500, () => c.write('ping'), 'c1');
  await w.loop.runUntil(t0 + 3000);
  assert.deepEqual(times, [1500]);
  c.on('timeout', () => times.push(-1));
  c.setTimeout(0);
  c.write('x');
  await w.loop.runUntil(t0 + 10_000);
  assert.deepEqual(times, [1500]);
});

void test('the same seed gives the same delivery trace', async () => {
  const trace = async (seed: number): Promise<string[]> => {
    const w = world({ latencyMs: [1, 30], splitChance: 0.3 }, seed);
    const out: string[] = [];
    listen(w, 'n1', '127.0.0.1', 2181, (s) => s.on('data', (d: Buffer) => out.push(`${w.loop.now}:${d.length}`)));
    for (let i = 0; i < 3; i++) {
      const c = dial(w, `c${i}`, '127.0.0.1', 2181);
      c.on('connect', () => {
        for (let j = 0; j < 20; j++) c.write(Buffer.alloc(10 + j));
      });
    }
    await w.loop.runUntil(2000);
    return out;
  };
  const a = await trace(5);
  assert.ok(a.length > 0);
  assert.deepEqual(await trace(5), a);
  assert.notDeepEqual(await trace(6), a);
});

void test('net look-alike: Socket and Server classes, createConnection, isIP', async () => {
  const w = world();
  const srv = listen(w, 'n1', '127.0.0.1', 2181);
  assert.ok(srv instanceof w.net.Server);
  const c = w.loop.as('c1', () => w.net.createConnection(2181, '127.0.0.1'));
  assert.ok(c instanceof w.net.Socket);
  let connected = false;
  c.on('connect', () => (connected = true));
  await w.loop.runUntil(100);
  assert.equal(connected, true);
  assert.equal(w.net.isIP('127.0.0.1'), 4);
  assert.equal(w.net.isIPv6('::1'), true);
  assert.equal(w.network.stats.connections, 1);
});

// ------------------------------------------------------------------------------------------------ integration

/** Runs the loop in 1 ms steps, letting real I/O (the real fs under the server) complete between steps. */
async function drive(loop: SimLoop, boundMs: number, done: () => boolean): Promise<void> {
  const end = loop.now + boundMs;
  while (!done() && loop.now < end) {
    await loop.runUntil(Math.min(end, loop.now + 1), done);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Starts an async task as `owner` and runs the loop until it settles (bounded in simulated time). */
async function task<T>(loop: SimLoop, owner: string, boundMs: number, fn: () => Promise<T>): Promise<T> {
  let result: { ok: true; value: T } | { ok: false; err: unknown } | undefined;
  void loop.as(owner, () => fn().then(
    (value) => (result = { ok: true, value }),
    (err: unknown) => (result = { ok: false, err }),
  ));
  await drive(loop, boundMs, () => result !== undefined);
  if (!result) throw new Error(`${owner}: not done within ${boundMs} simulated ms`);
  if (!result.ok) throw result.err;
  return result.value;
}

void test('integration: the real standalone server and the real client through the simulated network', async () => {
  const w = world({}, 11);
  const restore = setSys({ net: w.net, clock: w.loop.clock() });
  const dir = fsReal.mkdtempSync(path.join(os.tmpdir(), 'zkts-simnet-'));
  try {
    const config = parseConfig([
      'tickTime=2000', `dataDir=${dir}`, 'clientPort=2181', 'clientPortAddress=127.0.0.1', 'admin.enableServer=false',
    ].join('\n') + '\n');
    const server = await task(w.loop, 'n1', 10_000, () => ZooKeeperServer.open(config, silentLogger));
    await task(w.loop, 'n1', 10_000, () => server.start());
    assert.equal(server.port, 2181);
    const client = w.loop.as('c1', () => new ZooKeeperClient('127.0.0.1:2181', { sessionTimeoutMs: 10_000, logger: silentLogger }));
    await task(w.loop, 'c1', 10_000, () => client.connect());
    assert.equal(await task(w.loop, 'c1', 10_000, () => client.create('/sim', Buffer.from('hello'))), '/sim');
    const got = await task(w.loop, 'c1', 10_000, () => client.getData('/sim'));
    assert.equal(got.data?.toString(), 'hello');
    assert.equal(w.network.stats.connections, 1);
    assert.ok(w.network.stats.bytesDelivered > 0);
    await task(w.loop, 'c1', 10_000, () => client.close());
    await task(w.loop, 'n1', 10_000, () => server.stop());
    await w.loop.runUntil(w.loop.now + 1000);
    assert.equal(w.network.openConnections, 0);
  } finally {
    restore();
    fsReal.rmSync(dir, { recursive: true, force: true });
  }
});
