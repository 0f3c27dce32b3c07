// Named limits of the server, end to end: maxClientCnxns per address, jute.maxbuffer on frames,
// globalOutstandingLimit throttling (reads stop and resume; nothing is lost), unknown opcodes, and the four-letter
// words' shapes compared line by line with Apache ZooKeeper's.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { OpCode } from '../../src/protocol/constants.js';
import { Code } from '../../src/protocol/errors.js';
import { fourLetter } from '../support/ports.js';
import { RawSession } from '../support/rawsession.js';
import { type RunningServer, oracleAvailable, startOracle, startZkts } from '../support/servers.js';

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

async function closedWithin(sock: net.Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    sock.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

void describe('zkts limits', () => {
  let zk: RunningServer;
  before(async () => {
    zk = await startZkts({ config: { maxClientCnxns: 3, globalOutstandingLimit: 5 } });
  });
  after(async () => {
    await zk.stop();
  });

  void test('maxClientCnxns: the connection over the per-address limit is closed and logged', async () => {
    const sessions = await Promise.all([1, 2, 3].map(() => RawSession.connect({ port: zk.port })));
    const extra = net.connect({ host: '127.0.0.1', port: zk.port });
    assert.equal(await closedWithin(extra, 5000), true);
    assert.match(zk.output(), /too many connections/);
    for (const s of sessions) await s.close();
  });

  void test('a frame over jute.maxbuffer closes the connection; the server keeps serving', async () => {
    const s = await RawSession.connect({ port: zk.port });
    const big = Buffer.alloc(0xfffff + 10);
    await assert.rejects(s.send({ op: OpCode.create, create: { path: '/big', data: big, acl: OPEN, flags: 0 } }));
    const t = await RawSession.connect({ port: zk.port });
    const r = await t.send({ op: OpCode.exists, path: '/', watch: false });
    assert.equal(r.header.err, Code.OK);
    await t.close();
  });

  void test('globalOutstandingLimit: a burst far over the limit is throttled, then fully answered in order', async () => {
    const s = await RawSession.connect({ port: zk.port });
    const replies = await Promise.all(
      Array.from({ length: 500 }, (_, i) => s.send({ op: OpCode.create, create: { path: `/t${i}`, data: null, acl: OPEN, flags: 0 } })),
    );
    assert.deepEqual(replies.map((r) => r.header.err), replies.map(() => Code.OK));
    const zxids = replies.map((r) => r.header.zxid);
    assert.deepEqual(zxids, [...zxids].sort((a, b) => a - b));
    assert.match(zk.output(), /throttling/);
    await s.close();
  });

  void test('an unknown opcode is answered UNIMPLEMENTED and the session goes on', async () => {
    const s = await RawSession.connect({ port: zk.port });
    const r = await s.send({ op: 999 } as never);
    assert.equal(r.header.err, Code.UNIMPLEMENTED);
    const ok = await s.send({ op: OpCode.exists, path: '/', watch: false });
    assert.equal(ok.header.err, Code.OK);
    await s.close();
  });
});

/** The lines' keys (text before the first ':' / '=' / tab), which must match ZooKeeper's for tools that parse them. */
function keys(out: string): string[] {
  return out.split('\n').filter((l) => l.length > 0).map((l) => l.split(/[:=\t]/)[0].trim());
}

void describe('four-letter words against Apache ZooKeeper', { skip: !oracleAvailable() && 'Apache ZooKeeper not installed' }, () => {
  let zk: RunningServer;
  let apache: RunningServer;
  before(async () => {
    [zk, apache] = await Promise.all([startZkts(), startOracle()]);
  });
  after(async () => {
    await Promise.all([zk?.stop(), apache?.stop()]);
  });

  for (const cmd of ['ruok', 'srvr', 'conf', 'mntr', 'isro', 'wchs', 'dirs', 'crst', 'srst']) {
    void test(`${cmd} has ZooKeeper's shape`, async () => {
      const [ours, theirs] = await Promise.all([fourLetter(zk.port, cmd), fourLetter(apache.port, cmd)]);
      if (cmd === 'mntr') {
        // ZooKeeper prints its ~400 metrics in hash order; monitoring tools read them by key.
        const core = ['zk_version', 'zk_server_state', 'zk_avg_latency', 'zk_max_latency', 'zk_min_latency',
          'zk_packets_received', 'zk_packets_sent', 'zk_num_alive_connections', 'zk_outstanding_requests',
          'zk_znode_count', 'zk_watch_count', 'zk_ephemerals_count', 'zk_approximate_data_size',
          'zk_open_file_descriptor_count'];
        for (const k of core) {
          assert.ok(keys(theirs).includes(k), `ZooKeeper prints ${k}`);
          assert.ok(keys(ours).includes(k), `zkts prints ${k}`);
        }
        assert.deepEqual(keys(ours).slice(0, 2), keys(theirs).slice(0, 2));
      } else if (cmd === 'conf') {
        assert.deepEqual(keys(ours).filter((k) => k !== 'metricsProvider.className'), keys(theirs).filter((k) => k !== 'metricsProvider.className'));
      } else {
        assert.deepEqual(keys(ours), keys(theirs));
      }
    });
  }
});
