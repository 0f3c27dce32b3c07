// QuorumPacket codec, payload layouts and the streaming decoder; zxid helpers. Golden bytes were captured from an
// Apache ZooKeeper 3.8 leader by test/quorum/zab/interop.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JuteError, Reader } from '../../../src/jute/codec.js';
import { OpCode } from '../../../src/protocol/constants.js';
import {
  ackEpochPacket, ackPacket, commitAndActivatePacket, commitPacket, decodeTxnEntry, diffPacket, encodeQuorumPacket,
  informAndActivatePacket, informPacket, leaderInfoPacket, leaderPingPacket, learnerInfoPacket, learnerPingPacket,
  newLeaderPacket, PacketType, packetTypeName, proposalPacket, type QuorumPacket, QuorumPacketDecoder, readAckEpoch,
  readActivate, readLeaderInfoVersion, readLearnerInfo, readNewLeaderConfig, readQuorumPacket, readRequest,
  readRevalidate, readRevalidateReply, readSessionTouches, requestPacket, revalidatePacket, revalidateReplyPacket,
  snapPacket, syncPacket, truncPacket, upToDatePacket,
} from '../../../src/quorum/zab/packets.js';
import type { Txn } from '../../../src/txn/records.js';
import { counterOf, epochOf, isNewEpochZxid, makeZxid, MAX_EPOCH, zxidHex } from '../../../src/quorum/zab/zxid.js';

const roundTrip = (p: QuorumPacket): QuorumPacket => readQuorumPacket(new Reader(encodeQuorumPacket(p)));

void describe('zxid helpers', () => {
  void it('epoch << 32 | counter, exact up to epoch 2^21 - 1', () => {
    assert.equal(makeZxid(1, 8), 0x100000008);
    assert.equal(epochOf(0x100000008), 1);
    assert.equal(counterOf(0x100000008), 8);
    assert.equal(isNewEpochZxid(makeZxid(7, 0)), true);
    assert.equal(isNewEpochZxid(makeZxid(7, 1)), false);
    const top = makeZxid(MAX_EPOCH, 0xffffffff);
    assert.equal(top, Number.MAX_SAFE_INTEGER);
    assert.equal(epochOf(top), MAX_EPOCH);
    assert.throws(() => makeZxid(MAX_EPOCH + 1, 0), RangeError);
    assert.throws(() => makeZxid(1, 0x100000000), RangeError);
    assert.equal(zxidHex(-1), '0xffffffffffffffff');
    assert.equal(zxidHex(0x10000000a), '0x10000000a');
  });
});

void describe('QuorumPacket codec', () => {
  void it('matches bytes an Apache ZooKeeper 3.8 leader sent (LEADERINFO, SNAP): null data and authinfo are -1', () => {
    const leaderInfo = Buffer.from('0000001100000001000000000000000400010000ffffffff', 'hex');
    const p = readQuorumPacket(new Reader(leaderInfo));
    assert.deepEqual([p.type, p.zxid, readLeaderInfoVersion(p), p.authinfo], [PacketType.LEADERINFO, makeZxid(1, 0), 0x10000, null]);
    assert.deepEqual(encodeQuorumPacket(leaderInfoPacket(1)), leaderInfo);
    const snap = Buffer.from('0000000f0000000100000008ffffffffffffffff', 'hex');
    assert.deepEqual(encodeQuorumPacket(snapPacket(0x100000008)), snap);
  });

  void it('every packet type and payload round-trips', () => {
    const fi = learnerInfoPacket(3, { serverId: 3n, protocolVersion: 0x10000, configVersion: 0n });
    assert.equal(fi.type, PacketType.FOLLOWERINFO);
    assert.equal(fi.zxid, makeZxid(3, 0));
    assert.equal(fi.data?.length, 20);
    assert.deepEqual(readLearnerInfo(roundTrip(fi)), { serverId: 3n, protocolVersion: 0x10000, configVersion: 0n });
    assert.equal(learnerInfoPacket(0, { serverId: 9n, protocolVersion: 0x10000, configVersion: 5n }, true).type, PacketType.OBSERVERINFO);
    // An old learner sending just the sid.
    assert.deepEqual(readLearnerInfo({ type: 11, zxid: 0, data: Buffer.alloc(8, 0), authinfo: null }), { serverId: 0n });

    assert.equal(readAckEpoch(roundTrip(ackEpochPacket(0x100000003, -1))), -1);
    assert.equal(roundTrip(ackEpochPacket(0x100000003, 1)).zxid, 0x100000003);
    for (const [mk, type] of [[diffPacket, 13], [truncPacket, 14], [snapPacket, 15], [ackPacket, 3], [commitPacket, 4]] as const) {
      const q = roundTrip(mk(0x200000001));
      assert.deepEqual(q, { type, zxid: 0x200000001, data: null, authinfo: null });
    }
    assert.deepEqual(roundTrip(upToDatePacket()), { type: 12, zxid: -1, data: null, authinfo: null });
    assert.deepEqual(roundTrip(syncPacket()), { type: 7, zxid: 0, data: null, authinfo: null });
    const cfg = 'server.1=127.0.0.1:1:2:participant\nversion=0';
    assert.equal(readNewLeaderConfig(roundTrip(newLeaderPacket(makeZxid(2, 0), cfg))), cfg);

    const hdr = { clientId: 0x1234n, cxid: 7, zxid: 0x100000005, time: 1700000000000, type: OpCode.create };
    const txn: Txn = { type: OpCode.create, path: '/a', data: Buffer.from('x'), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], ephemeral: false, parentCVersion: 1 };
    const prop = roundTrip(proposalPacket(hdr, txn, { version: 2, treeDigest: 0xfedcba9876543210n }));
    assert.equal(prop.zxid, 0x100000005);
    const e = decodeTxnEntry(prop.data as Buffer);
    assert.deepEqual(e.hdr, hdr);
    assert.equal((e.txn as { path: string }).path, '/a');
    assert.deepEqual(e.digest, { version: 2, treeDigest: 0xfedcba9876543210n });
    assert.deepEqual(decodeTxnEntry(proposalPacket(hdr, txn).data as Buffer).digest, undefined);

    assert.deepEqual(roundTrip(informPacket(5, prop.data as Buffer)).data, prop.data);
    const ca = roundTrip(commitAndActivatePacket(9, 2n));
    assert.equal(ca.data?.length, 8);
    assert.deepEqual(readActivate(ca), { designatedLeader: 2n, rest: Buffer.alloc(0) });
    const ia = readActivate(roundTrip(informAndActivatePacket(9, 3n, prop.data as Buffer)));
    assert.equal(ia.designatedLeader, 3n);
    assert.deepEqual(ia.rest, prop.data);

    const req = roundTrip(requestPacket({ sessionId: -2n, cxid: 4, type: OpCode.setData, request: Buffer.from('abc'), authinfo: [{ scheme: 'digest', id: 'u:h' }] }));
    assert.deepEqual(readRequest(req), { sessionId: -2n, cxid: 4, type: OpCode.setData, request: Buffer.from('abc'), authinfo: [{ scheme: 'digest', id: 'u:h' }] });

    const ping = roundTrip(leaderPingPacket(0x100000009));
    assert.equal(ping.data, null);
    const reply = roundTrip(learnerPingPacket(ping, [{ sessionId: 0x100n, timeoutMs: 4000 }, { sessionId: -1n, timeoutMs: 30000 }]));
    assert.equal(reply.zxid, 0x100000009);
    assert.deepEqual(readSessionTouches(reply), [{ sessionId: 0x100n, timeoutMs: 4000 }, { sessionId: -1n, timeoutMs: 30000 }]);
    assert.deepEqual(readSessionTouches(learnerPingPacket(ping, [])), []);

    const rv = roundTrip(revalidatePacket(0x55n, 6000));
    assert.equal(rv.zxid, -1);
    assert.deepEqual(readRevalidate(rv), { sessionId: 0x55n, timeoutMs: 6000 });
    assert.deepEqual(readRevalidateReply(roundTrip(revalidateReplyPacket(rv, 0x55n, true))), { sessionId: 0x55n, valid: true });
    assert.equal(revalidateReplyPacket(rv, 0x55n, false).data?.length, 9);

    for (const [name, v] of Object.entries(PacketType)) assert.equal(packetTypeName(v), name);
    assert.equal(packetTypeName(99), 'UNKNOWN99');
  });

  void it('the stream decoder handles packets split anywhere and several per chunk', () => {
    const packets = [
      leaderInfoPacket(2), diffPacket(0x200000003),
      proposalPacket({ clientId: 1n, cxid: 1, zxid: 0x200000004, time: 5, type: OpCode.delete }, { type: OpCode.delete, path: '/x' }),
      commitPacket(0x200000004), newLeaderPacket(makeZxid(2, 0), 'version=0'), upToDatePacket(),
      requestPacket({ sessionId: 1n, cxid: 1, type: 1, request: Buffer.alloc(300, 7), authinfo: [{ scheme: 'ip', id: '127.0.0.1' }, { scheme: 'x', id: '' }] }),
    ];
    const bytes = Buffer.concat(packets.map(encodeQuorumPacket));
    for (const step of [1, 2, 3, 7, 16, 33, bytes.length]) {
      const d = new QuorumPacketDecoder();
      const got: QuorumPacket[] = [];
      for (let i = 0; i < bytes.length; i += step) {
        d.push(bytes.subarray(i, i + step));
        for (let p = d.next(); p !== undefined; p = d.next()) got.push(p);
      }
      assert.deepEqual(got, packets, `chunks of ${step}`);
      assert.equal(d.buffered, 0);
    }
    // takeRest hands over what follows a packet (a SNAP payload).
    const d = new QuorumPacketDecoder();
    d.push(Buffer.concat([encodeQuorumPacket(snapPacket(5)), Buffer.from('rest')]));
    assert.equal(d.next()?.type, PacketType.SNAP);
    assert.equal(d.next(), undefined);
    assert.deepEqual(d.takeRest(), Buffer.from('rest'));
    assert.equal(d.buffered, 0);
  });

  void it('rejects impossible lengths instead of waiting for them', () => {
    const bad = Buffer.from('00000002' + '0000000100000001' + '7fffffff', 'hex');
    const d = new QuorumPacketDecoder();
    d.push(bad);
    assert.throws(() => d.next(), JuteError);
    const neg = new QuorumPacketDecoder();
    neg.push(Buffer.from('00000002' + '0000000100000001' + 'ffffffff' + 'fffffff0', 'hex'));
    assert.throws(() => neg.next(), JuteError);
    assert.throws(() => readSessionTouches({ type: 5, zxid: 0, data: Buffer.alloc(13), authinfo: null }), JuteError);
    assert.throws(() => readAckEpoch({ type: 18, zxid: 0, data: null, authinfo: null }), JuteError);
  });
});
