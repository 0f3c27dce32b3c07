// The tree digest (DigestCalculator v2): CRC32 itself, the per-node layout, and DataTree keeping the sum current
// through every kind of change (checked against a full recomputation after each txn).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NULL_BUFFER } from '../../src/jute/codec.js';
import { OpCode, Perms } from '../../src/protocol/constants.js';
import { DataTree } from '../../src/tree/datatree.js';
import { crc32, DIGEST_VERSION, nodeDigest } from '../../src/tree/digest.js';
import type { Txn, TxnHeader } from '../../src/txn/records.js';

function crcRef(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

const ZERO = { czxid: 0, mzxid: 0, pzxid: 0, ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n };

void describe('digest', () => {
  void it('crc32 matches the standard check value and a bitwise reference', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(crc32(Buffer.alloc(0)), 0);
    for (let n = 0; n < 100; n++) {
      const b = Buffer.alloc(n * 7 + (n % 5));
      for (let i = 0; i < b.length; i++) b[i] = (i * 31 + n * 17) & 0xff;
      assert.equal(crc32(b), crcRef(b));
    }
  });

  void it('node digest: CRC32 of path, data and the 60 stat bytes in DigestCalculator order', () => {
    const s = { czxid: 0x102, mzxid: 0x203, pzxid: 0x304, ctime: 1_700_000_000_123, mtime: -5, version: 7, cversion: -1, aversion: 3, ephemeralOwner: BigInt.asIntN(64, 0xff00000000001234n) };
    const stat = Buffer.alloc(60);
    stat.writeBigInt64BE(BigInt(s.czxid), 0);
    stat.writeBigInt64BE(BigInt(s.mzxid), 8);
    stat.writeBigInt64BE(BigInt(s.pzxid), 16);
    stat.writeBigInt64BE(BigInt(s.ctime), 24);
    stat.writeBigInt64BE(BigInt(s.mtime), 32);
    stat.writeInt32BE(s.version, 40);
    stat.writeInt32BE(s.cversion, 44);
    stat.writeInt32BE(s.aversion, 48);
    stat.writeBigInt64BE(s.ephemeralOwner, 52);
    const data = Buffer.from([1, 2, 3, 0xff]);
    for (const p of ['/a', '/a/\u00e9\u4e2d/x', '/zookeeper']) {
      assert.equal(nodeDigest(p, data, s), BigInt(crcRef(Buffer.concat([Buffer.from(p, 'utf8'), data, stat]))), p);
    }
    // "/" is hashed as ""; null data as no data; /zookeeper/... excluded (but /zookeeper itself is not).
    assert.equal(nodeDigest('/', NULL_BUFFER, ZERO), BigInt(crcRef(Buffer.alloc(60))));
    assert.equal(nodeDigest('/zookeeper/quota', data, s), 0n);
    assert.notEqual(nodeDigest('/zookeeper', data, s), 0n);
    assert.equal(DIGEST_VERSION, 2);
  });

  void it('a fresh tree digests "/" and "/zookeeper" only', () => {
    const t = new DataTree();
    assert.equal(t.treeDigest, nodeDigest('/', NULL_BUFFER, ZERO) + nodeDigest('/zookeeper', NULL_BUFFER, ZERO));
    assert.equal(t.computeDigestFromScratch(), t.treeDigest);
  });

  void it('DataTree keeps the digest current through creates, deletes, setData, setACL, multi, sessions, replays', () => {
    const t = new DataTree({ extendedTypesEnabled: true });
    let zxid = 0;
    const OPEN = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
    const apply = (txn: Txn, clientId = 0x55n): void => {
      zxid++;
      const hdr: TxnHeader = { clientId, cxid: zxid, zxid, time: 1000 * zxid, type: txn.type };
      t.processTxn(hdr, txn);
      assert.equal(t.treeDigest, t.computeDigestFromScratch(), `after txn ${zxid} (${txn.type})`);
    };
    const cv = (p: string): number => (t.getNode(p.slice(0, p.lastIndexOf('/')) || '/')?.cversion ?? 0) + 1;
    const create = (p: string, o: { eph?: boolean; session?: bigint; parentCv?: number } = {}): void =>
      apply({ type: OpCode.create, path: p, data: Buffer.from(p), acl: OPEN, ephemeral: o.eph ?? false, parentCVersion: o.parentCv ?? cv(p) }, o.session);
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 48271) % 0x7fffffff;
      return seed % n;
    };
    const paths: string[] = [];
    for (let i = 0; i < 400; i++) {
      const op = rand(8);
      const existing = paths.filter((p) => t.getNode(p) !== undefined);
      const pick = existing.length > 0 ? existing[rand(existing.length)] : undefined;
      if (op <= 2 || pick === undefined) {
        const parent = pick !== undefined && rand(2) === 0 ? pick : '';
        const p = `${parent}/n${i}`;
        if (t.getNode(parent || '/')?.ephemeralOwner) continue;
        paths.push(p);
        create(p, { eph: rand(4) === 0, session: BigInt(1 + rand(3)) });
      } else if (op === 3 && t.getNode(pick)?.children.size === 0) {
        apply({ type: OpCode.delete, path: pick });
      } else if (op === 4) {
        apply({ type: OpCode.setData, path: pick, data: rand(2) ? NULL_BUFFER : Buffer.alloc(rand(300), i), version: i });
      } else if (op === 5) {
        apply({ type: OpCode.setACL, path: pick, acl: [{ perms: Perms.READ, id: { scheme: 'ip', id: `1.1.1.${i % 9}` } }], version: i });
      } else if (op === 6) {
        // Replays over a fuzzy snapshot: create of an existing node (moves the parent's cversion), delete of a
        // missing one (moves the parent's pzxid).
        create(pick, { parentCv: 1000 + i });
        apply({ type: OpCode.delete, path: `${pick}/missing${i}` });
      } else {
        apply({
          type: OpCode.multi, txns: [
            { type: OpCode.create, path: `/m${i}`, data: Buffer.from('m'), acl: OPEN, ephemeral: false, parentCVersion: cv(`/m${i}`) },
            { type: OpCode.setData, path: pick, data: Buffer.from('multi'), version: 99 },
          ],
        });
      }
    }
    apply({ type: OpCode.createContainer, path: '/c', data: Buffer.from('c'), acl: OPEN, parentCVersion: cv('/c') });
    apply({ type: OpCode.createTTL, path: '/ttl', data: Buffer.from('t'), acl: OPEN, parentCVersion: cv('/ttl'), ttl: 5000 });
    apply({ type: OpCode.create, path: '/zookeeper/quota/n0', data: Buffer.alloc(0), acl: OPEN, ephemeral: false, parentCVersion: -1 });
    apply({ type: OpCode.create, path: '/zookeeper/quota/n0/zookeeper_limits', data: Buffer.from('count=5,bytes=-1'), acl: OPEN, ephemeral: false, parentCVersion: -1 });
    apply({ type: OpCode.create, path: '/zookeeper/quota/n0/zookeeper_stats', data: Buffer.from('count=0,bytes=0'), acl: OPEN, ephemeral: false, parentCVersion: -1 });
    for (const s of [1n, 2n, 3n]) apply({ type: OpCode.closeSession, paths2Delete: null }, s);
    assert.equal(t.ephemeralSessions().size, 0);
  });
});
