// QuorumCnxManager shell over loopback: the initial message, the one-connection-per-pair rule, framing limits,
// the legacy handshake, dial-back, and a three-server election through real sockets.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import {
  encodeInitialMessage, parseInitialMessage, PROTOCOL_VERSION_V1, QuorumCnxManager,
} from '../../../src/quorum/election/cnxmanager.js';
import type { Elected } from '../../../src/quorum/election/fle.js';
import { parseConfig } from '../../../src/config/zoocfg.js';
import { ElectionRunner, electionOptionsFromConfig } from '../../../src/quorum/election/runner.js';
import { freePort, waitFor } from '../../support/ports.js';

const open: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const c of open) await c.close();
});

function frame(payload: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeInt32BE(payload.length);
  return Buffer.concat([len, payload]);
}

async function manager(myId: number, port: number, peers: Array<{ id: number; port: number }>) {
  const got: Array<{ from: number; text: string }> = [];
  const up: number[] = [];
  const m = new QuorumCnxManager({
    myId, listenHost: '127.0.0.1', listenPort: port, cnxTimeoutMs: 2000,
    peers: peers.map((p) => ({ id: p.id, host: '127.0.0.1', electionPort: p.port })),
    onMessage: (from, payload) => got.push({ from, text: payload.toString() }),
    onPeerConnected: (sid) => up.push(sid),
  });
  await m.listen();
  open.push(m);
  return { m, got, up };
}

void describe('initial message', () => {
  void test('V1 layout: long -65536, long myid, int len, "host:port"', () => {
    const b = encodeInitialMessage(3, '127.0.0.1', 3888);
    assert.equal(b.toString('hex'), 'ffffffffffff0000' + '0000000000000003' + '0000000e' + Buffer.from('127.0.0.1:3888').toString('hex'));
    const p = parseInitialMessage(b);
    assert.deepEqual(p, { kind: 'ok', sid: 3n, addresses: ['127.0.0.1:3888'], consumed: b.length });
    assert.equal(PROTOCOL_VERSION_V1, -65536n);
  });

  void test('legacy (a bare sid), partial input, and rejections', () => {
    assert.deepEqual(parseInitialMessage(Buffer.from('0000000000000005', 'hex')), { kind: 'ok', sid: 5n, addresses: [], consumed: 8 });
    const b = encodeInitialMessage(3, '127.0.0.1', 3888);
    assert.equal(parseInitialMessage(b.subarray(0, 19)).kind, 'incomplete');
    assert.equal(parseInitialMessage(b.subarray(0, b.length - 1)).kind, 'incomplete');
    assert.equal(parseInitialMessage(Buffer.from('fffffffffffffff0' + '0000000000000001' + '00000001' + '41', 'hex')).kind, 'error');
    assert.equal(parseInitialMessage(Buffer.from('ffffffffffff0000' + '0000000000000001' + '00000000', 'hex')).kind, 'error');
    assert.equal(parseInitialMessage(Buffer.from('ffffffffffff0000' + '0000000000000001' + '00000801', 'hex')).kind, 'error');
    const noPort = Buffer.concat([Buffer.from('ffffffffffff0000' + '0000000000000001' + '00000004', 'hex'), Buffer.from('host')]);
    assert.equal(parseInitialMessage(noPort).kind, 'error');
    const v2 = Buffer.concat([Buffer.from('ffffffffffff0001' + '0000000000000001' + '0000000f', 'hex'), Buffer.from('a:1|b:2|[::1]:3')]);
    assert.deepEqual(parseInitialMessage(v2), { kind: 'ok', sid: 1n, addresses: ['a:1', 'b:2', '[::1]:3'], consumed: v2.length });
  });
});

void describe('QuorumCnxManager over loopback', () => {
  void test('the smaller id dials, is refused, and the larger id dials back; one link, messages both ways', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const peers = [{ id: 1, port: p1 }, { id: 2, port: p2 }];
    const a = await manager(1, p1, peers);
    const b = await manager(2, p2, peers);
    a.m.toSend(2, Buffer.from('hello from 1'));
    await waitFor('2 to receive', () => b.got.length > 0, 5000, 10);
    assert.deepEqual(b.got, [{ from: 1, text: 'hello from 1' }]);
    b.m.toSend(1, Buffer.from('hello from 2'));
    await waitFor('1 to receive', () => a.got.length > 0, 5000, 10);
    assert.deepEqual(a.got, [{ from: 2, text: 'hello from 2' }]);
    assert.deepEqual(a.up, [2]);
    assert.deepEqual(b.up, [1]);
    a.m.toSend(1, Buffer.from('loopback'));
    await waitFor('loopback', () => a.got.length === 2, 2000, 5);
    assert.deepEqual(a.got[1], { from: 1, text: 'loopback' });
  });

  void test('only the newest message waits for a peer that is down (send queue of one)', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const peers = [{ id: 1, port: p1 }, { id: 2, port: p2 }];
    const b = await manager(2, p2, peers);
    b.m.toSend(1, Buffer.from('old'));
    b.m.toSend(1, Buffer.from('new'));
    const a = await manager(1, p1, peers);
    b.m.connectAll();
    await waitFor('1 to receive', () => a.got.length > 0, 5000, 10);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(a.got, [{ from: 2, text: 'new' }]);
  });

  void test('a legacy initiator with a larger id is kept; frames are cut; a bad length closes the link', async () => {
    const p1 = await freePort();
    const a = await manager(1, p1, [{ id: 1, port: p1 }]);
    const sock = net.connect({ host: '127.0.0.1', port: p1 });
    await new Promise((r) => sock.once('connect', r));
    const closed = new Promise((r) => sock.once('close', r));
    sock.on('error', () => undefined);
    const payload = Buffer.concat([Buffer.from('0000000000000007', 'hex'), frame(Buffer.from('one')), frame(Buffer.from('two'))]);
    sock.write(payload.subarray(0, 10));
    await new Promise((r) => setTimeout(r, 20));
    sock.write(payload.subarray(10));
    await waitFor('two frames', () => a.got.length === 2, 2000, 5);
    assert.deepEqual(a.got, [{ from: 7, text: 'one' }, { from: 7, text: 'two' }]);
    sock.write(Buffer.from('00080001', 'hex')); // 512 KB + 1
    await closed;
    await waitFor('link down', () => !a.m.connectedTo(7), 2000, 5);
  });

  void test('an initiator with a smaller id is closed and dialed back at the address it sent', async () => {
    const [p5, back] = [await freePort(), await freePort()];
    const m = await manager(5, p5, [{ id: 5, port: p5 }]);
    const received: Buffer[] = [];
    const listener = net.createServer((s) => s.on('data', (d: Buffer) => received.push(d)));
    await new Promise<void>((r) => listener.listen(back, '127.0.0.1', r));
    open.push({ close: () => new Promise<void>((r) => listener.close(() => r())) });
    const sock = net.connect({ host: '127.0.0.1', port: p5 });
    const closed = new Promise((r) => sock.once('close', r));
    sock.on('error', () => undefined);
    sock.write(encodeInitialMessage(2, '127.0.0.1', back));
    await closed;
    await waitFor('dial-back', () => Buffer.concat(received).length >= 20, 5000, 10);
    const init = parseInitialMessage(Buffer.concat(received));
    assert.ok(init.kind === 'ok');
    assert.equal(init.sid, 5n);
    assert.deepEqual(init.addresses, [`127.0.0.1:${p5}`]);
    assert.ok(m.m.connectedTo(2));
  });

  void test('bad protocol version: the connection is closed', async () => {
    const p1 = await freePort();
    await manager(1, p1, [{ id: 1, port: p1 }]);
    const sock = net.connect({ host: '127.0.0.1', port: p1 });
    const closed = new Promise((r) => sock.once('close', r));
    sock.on('error', () => undefined);
    sock.write(Buffer.from('fffffffffffffff0' + '0000000000000009' + '00000003' + '613a31', 'hex'));
    await closed;
  });
});

void describe('ElectionRunner: three zkts servers over loopback', () => {
  void test('all elect server 3 (equal logs), the others follow', async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const servers = ports.map((port, i) => ({ id: i + 1, host: '127.0.0.1', quorumPort: 1, electionPort: port, role: 'participant' as const }));
    const elected = new Map<number, Elected>();
    const runners = servers.map((s) => new ElectionRunner({
      myId: s.id, servers, log: { lastLoggedZxid: 0x100000004n, currentEpoch: 1n }, onElected: (e) => elected.set(s.id, e),
    }));
    for (const r of runners) open.push(r);
    for (const r of runners) await r.start();
    await waitFor('three decisions', () => elected.size === 3, 20_000, 20);
    assert.deepEqual([1, 2, 3].map((id) => `${elected.get(id)!.role}:${elected.get(id)!.leader}`), ['FOLLOWING:3', 'FOLLOWING:3', 'LEADING:3']);
    // A restarted server 1 (new round) joins the established leader at once.
    elected.delete(1);
    runners[0].lookForLeader();
    await waitFor('rejoin', () => elected.has(1), 10_000, 20);
    assert.equal(elected.get(1)!.leader, 3);
    assert.equal(elected.get(1)!.role, 'FOLLOWING');
  });
});

void describe('electionOptionsFromConfig', () => {
  void test('myid, server lines, config version 0 and cnxTimeout (default 5000) from zoo.cfg', () => {
    const base = 'tickTime=2000\ninitLimit=5\nsyncLimit=2\ndataDir=/tmp/zkts-x\nclientPort=2181\nserver.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\n';
    const log = { lastLoggedZxid: 0n, currentEpoch: 0n };
    let o = electionOptionsFromConfig(parseConfig(base, { myid: '2' }), log);
    assert.equal(o.myId, 2);
    assert.equal(o.cnxTimeoutMs, 5000);
    assert.equal(o.configVersion, 0n);
    assert.deepEqual(o.servers.map((s) => s.electionPort), [3888, 3889]);
    o = electionOptionsFromConfig(parseConfig(base + 'cnxTimeout=1234\n', { myid: '1' }), log);
    assert.equal(o.cnxTimeoutMs, 1234);
  });
});
