// Session expiry end to end on zkts and Apache ZooKeeper: a session that stops pinging is expired in tickTime
// buckets, its connection closed, its ephemerals deleted (with events to others), and a reconnect is refused.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateMode, EventType, OpCode } from '../../src/protocol/constants.js';
import { Code } from '../../src/protocol/errors.js';
import { RawSession } from '../support/rawsession.js';
import { type RunningServer, startServer, testKinds } from '../support/servers.js';

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

for (const kind of testKinds()) {
  void describe(`session expiry on ${kind}`, () => {
    let server: RunningServer;
    before(async () => {
      server = await startServer(kind, { tickTime: 250 });
    });
    after(async () => {
      await server.stop();
    });

    void test('a silent session expires: connection closed, ephemerals gone, reconnect refused', async () => {
      const doomed = await RawSession.connect({ port: server.port, sessionTimeoutMs: 1000 });
      const watcher = await RawSession.connect({ port: server.port, sessionTimeoutMs: 10000 });
      const created = await doomed.send({ op: OpCode.create, create: { path: '/eph', data: null, acl: OPEN, flags: CreateMode.EPHEMERAL } });
      assert.equal(created.header.err, Code.OK);
      const seen = await watcher.send({ op: OpCode.exists, path: '/eph', watch: true });
      assert.equal(seen.header.err, Code.OK);
      const keepAlive = setInterval(() => void watcher.ping().catch(() => undefined), 300);
      try {
        await doomed.waitClosed(8000);
        const ev = await watcher.waitForLog((e) => e.kind === 'event' && e.event.type === EventType.NodeDeleted, 8000);
        assert.equal(ev.kind === 'event' && ev.event.path, '/eph');
        const gone = await watcher.send({ op: OpCode.exists, path: '/eph', watch: false });
        assert.equal(gone.header.err, Code.NONODE);
        const again = await RawSession.connect({ port: server.port, sessionId: doomed.sessionId, passwd: doomed.passwd });
        assert.equal(again.timeOut, 0, 'an expired session is answered with timeout 0');
        again.destroy();
      } finally {
        clearInterval(keepAlive);
        await watcher.close();
      }
    });
  });
}
