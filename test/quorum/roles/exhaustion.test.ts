// ZOOKEEPER-1277 / -4883: the low 32 bits of the zxid are a counter within the epoch. When a leader would propose
// counter 0xffffffff it must not: it gives up leadership so that a new election starts the next epoch at counter 1.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OpCode } from '../../../src/protocol/constants.js';
import { Leader } from '../../../src/quorum/leader.js';
import { MAX_COUNTER, makeZxid } from '../../../src/quorum/zab/zxid.js';
import type { PreparedRequest } from '../../../src/server/request.js';
import type { RemoteOwner } from '../../../src/server/zkserver.js';
import { waitFor } from '../../support/ports.js';
import { configFor, FakeCtx, makeEnsemble, removeEnsemble } from './fake-ctx.js';

void describe('zxid counter exhaustion', () => {
  void test('ZOOKEEPER-1277: the leader commits up to counter 0xfffffffe, then steps down instead of proposing 0xffffffff', async () => {
    // One voter with standaloneEnabled=false: a quorum of itself, so the leader is established at once.
    const ens = await makeEnsemble(1, [], ['standaloneEnabled=false']);
    const ctx = new FakeCtx({ config: configFor(ens, 1), myId: 1, acceptedEpoch: 3, currentEpoch: 3, autoDurable: true });
    const leader = new Leader(ctx);
    try {
      await waitFor('the leader to serve', () => ctx.served !== undefined, 5000);
      const server = leader.server;
      const session = 0x1234n;
      server.sessions.add(session, 30_000, server.now());
      server.startZxidAfter(makeZxid(4, MAX_COUNTER - 2));
      const done: PreparedRequest[] = [];
      const owner: RemoteOwner = {
        remote: true, serverId: 1, sessionId: session, authIds: [], sendReply: () => undefined, closeAfterReply: () => undefined,
        done: (pr) => done.push(pr),
      };
      let ended: string | undefined;
      void leader.ended.then((r) => (ended = r));
      const create = (i: number): void => server.submit({
        sessionId: session, xid: i + 1, op: OpCode.create, authIds: [], cnxn: owner, receivedMs: server.now(),
        body: { op: OpCode.create, create: { path: `/n${i}`, data: Buffer.from('x'), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 0 } },
      });
      create(0);
      await waitFor('the write at counter 0xfffffffe to commit', () => done.length === 1, 5000);
      assert.equal(ended, undefined);
      create(1);
      await waitFor('the leader to step down', () => ended !== undefined, 5000);
      assert.match(ended!, /exhausted/);
      // Counters 0xfffffffe and before were proposed and committed; 0xffffffff never was.
      assert.deepEqual(done.map((pr) => pr.hdr?.zxid), [makeZxid(4, MAX_COUNTER - 1)]);
      assert.ok(server.tree.getNode('/n0') !== undefined);
      assert.ok(server.tree.getNode('/n1') === undefined, 'the txn at counter 0xffffffff must not be applied');
      assert.ok(!ctx.events.some((e) => e === `append 0x${makeZxid(4, MAX_COUNTER).toString(16)}`), ctx.events.join(', '));
    } finally {
      leader.stop('test over');
      await leader.server.stop();
      removeEnsemble(ens);
    }
  });
});
