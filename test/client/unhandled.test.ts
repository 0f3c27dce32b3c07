// No unhandled rejections anywhere in the library: scenarios that leave many promises behind (pending calls on a
// connection loss or a close, aborted calls, watch and state iterators ended without being read, a connect() that
// times out) run with a process-wide 'unhandledRejection' listener that fails the test. Here against a fake server
// and a port that never answers; api.test.ts runs the same scenario against every live kind from testKinds().
import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FakeServer } from './fake-server.js';
import { mk, onUnhandled, scenario, settleAndCheck, unhandled } from './scenario.js';

beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});

void describe('no unhandled rejections (fake server, dead port)', () => {
  void it('connection loss, aborts, close, iterators against a fake server', async () => {
    const s = await new FakeServer().start();
    try {
      const c = mk(s.connectString);
      await c.connect();
      await scenario(c, '/u');
      await settleAndCheck();
    } finally {
      await s.stop();
    }
  });

  void it('connect() timing out with pending calls and iterators', async () => {
    const sockets: net.Socket[] = [];
    const hole = net.createServer((sock) => {
      sockets.push(sock);
      sock.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
    const addr = hole.address();
    try {
      const c = mk(`127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, { connectTimeoutMs: 100 });
      const pending = [c.getData('/a'), c.create('/b'), c.sync('/')];
      c.watch('/w', { kind: 'persistent' });
      c.states();
      const ac = new AbortController();
      pending.push(c.getData('/c', undefined, { signal: ac.signal }));
      ac.abort();
      await Promise.allSettled([c.connect(300), ...pending]);
      assert.equal(c.state, 'closed');
      await settleAndCheck();
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((resolve) => hole.close(() => resolve()));
    }
  });
});
