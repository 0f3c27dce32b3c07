// The SNAP payload (sessions + DataTree in snapshot body layout + "BenWasHere") and the learner-side stream switch.
// Interop with a real leader: test/quorum/zab/interop.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NULL_BUFFER, Writer } from '../../../src/jute/codec.js';
import { OpCode, Perms } from '../../../src/protocol/constants.js';
import { encodeQuorumPacket, newLeaderPacket, PacketType, snapPacket, upToDatePacket } from '../../../src/quorum/zab/packets.js';
import { encodeSnapStream, LearnerStream, type LearnerStreamEvent, SnapStreamError, SnapStreamReader, snapStreamChunks } from '../../../src/quorum/zab/snapstream.js';
import { DataTree } from '../../../src/tree/datatree.js';
import type { Txn } from '../../../src/txn/records.js';

function sampleTree(): DataTree {
  const t = new DataTree();
  let zxid = 0x100000000;
  const apply = (txn: Txn, clientId = 0x10n): void => {
    zxid++;
    t.processTxn({ clientId, cxid: 1, zxid, time: 1700000000000 + zxid, type: txn.type }, txn);
  };
  const open = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
  const ro = [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];
  const digest = [{ perms: Perms.ALL, id: { scheme: 'digest', id: 'u:abc=' } }, { perms: Perms.READ, id: { scheme: 'ip', id: '127.0.0.1' } }];
  apply({ type: OpCode.createSession, timeOut: 6000 });
  apply({ type: OpCode.create, path: '/a', data: Buffer.from('alpha'), acl: open, ephemeral: false, parentCVersion: 1 });
  apply({ type: OpCode.create, path: '/a/b', data: NULL_BUFFER, acl: ro, ephemeral: false, parentCVersion: 1 });
  apply({ type: OpCode.create, path: '/a/c', data: Buffer.alloc(0), acl: digest, ephemeral: true, parentCVersion: 2 }, 0x10n);
  apply({ type: OpCode.create, path: '/d', data: Buffer.alloc(3000, 1), acl: ro, ephemeral: false, parentCVersion: 2 });
  apply({ type: OpCode.setData, path: '/a', data: Buffer.from('alpha2'), version: 1 });
  return t;
}

function nodes(t: DataTree): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [p, n] of t.nodeEntries()) out.set(p, { ...n, nullData: n.data === NULL_BUFFER, data: n.data.toString('hex'), children: [...n.children].sort() });
  return out;
}

void describe('SNAP payload', () => {
  void it('round-trips tree and sessions, fed in any chunking; ends exactly after "BenWasHere"', () => {
    const tree = sampleTree();
    const sessions = [{ id: 0x10n, timeoutMs: 6000 }, { id: -5n, timeoutMs: 30000 }];
    const bytes = encodeSnapStream(tree, sessions);
    assert.equal(bytes.subarray(bytes.length - 14).toString('latin1'), '\u0000\u0000\u0000\u000aBenWasHere');
    for (const step of [1, 5, 64, bytes.length]) {
      const r = new SnapStreamReader();
      let done = false;
      for (let i = 0; i < bytes.length; i += step) {
        assert.equal(done, false, 'not done before the last byte');
        done = r.push(bytes.subarray(i, i + step));
      }
      assert.equal(done, true);
      const res = r.result();
      assert.equal(res.bytes, bytes.length);
      assert.equal(res.nodes, tree.nodeCount - 1); // nodeCount counts the root twice, as upstream
      assert.deepEqual([...res.sessions], [[0x10n, 6000], [-5n, 30000]]);
      assert.deepEqual(nodes(res.tree), nodes(tree));
      assert.equal(res.tree.treeDigest, tree.treeDigest);
      assert.deepEqual([...res.tree.ephemeralsOf(0x10n)], ['/a/c']);
      assert.equal(r.rest().length, 0);
    }
    // Chunked writing gives the same bytes.
    assert.deepEqual(Buffer.concat([...snapStreamChunks(tree, sessions, 100)]), bytes);
  });

  void it('a wrong signature or a malformed body is an error', () => {
    const bytes = encodeSnapStream(sampleTree(), []);
    const bad = Buffer.from(bytes);
    bad.write('X', bad.length - 1, 'latin1');
    assert.throws(() => new SnapStreamReader().push(bad), /Missing signature/);
    // No sessions, no ACLs, then a path length far beyond jute.maxbuffer.
    assert.throws(() => new SnapStreamReader().push(Buffer.from('00000000' + '00000000' + '7ffffff0', 'hex')), SnapStreamError);
    // A node whose parent was never sent.
    const w = new Writer();
    w.int(0).int(0);
    for (const p of ['', '/x/y']) w.string(p).buffer(Buffer.alloc(0)).long(-1n).longNum(0).longNum(0).longNum(0).longNum(0).int(0).int(0).int(0).long(0n).longNum(0);
    w.string('/').string('BenWasHere');
    assert.throws(() => new SnapStreamReader().push(w.toBuffer()), /unable to find parent \/x/);
  });

  void it('LearnerStream: packets, then the snapshot after SNAP, then packets again, across arbitrary chunks', () => {
    const tree = sampleTree();
    const wire = Buffer.concat([
      encodeQuorumPacket(snapPacket(0x100000006)),
      encodeSnapStream(tree, [{ id: 0x10n, timeoutMs: 6000 }]),
      encodeQuorumPacket(newLeaderPacket(0x200000000, 'version=0')),
      encodeQuorumPacket(upToDatePacket()),
    ]);
    for (const step of [1, 7, 100, wire.length]) {
      const s = new LearnerStream();
      const events: LearnerStreamEvent[] = [];
      for (let i = 0; i < wire.length; i += step) {
        s.push(wire.subarray(i, i + step));
        for (let e = s.next(); e !== undefined; e = s.next()) events.push(e);
      }
      assert.deepEqual(events.map((e) => (e.kind === 'packet' ? e.packet.type : 'snapshot')), [PacketType.SNAP, 'snapshot', PacketType.NEWLEADER, PacketType.UPTODATE]);
      const snap = events[1];
      assert.ok(snap.kind === 'snapshot');
      assert.equal(snap.zxid, 0x100000006);
      assert.equal(snap.result.tree.lastProcessedZxid, 0x100000006);
      assert.deepEqual(nodes(snap.result.tree), nodes(tree));
    }
  });
});
