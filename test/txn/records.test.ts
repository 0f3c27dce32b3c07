// Txn records: round trips of every Txn variant, legacy forms (CreateTxnV0, CloseSession without body), and golden
// txn logs written by Apache ZooKeeper 3.8 during the golden capture (test/fixtures/golden/txnlog/*.log: the used
// part of version-2/log.1): every record must decode and re-encode to the logged payload bytes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { JuteError, Reader, Writer } from '../../src/jute/codec.js';
import { OpCode } from '../../src/protocol/constants.js';
import { readTxn, readTxnHeader, type Txn, type TxnHeader, writeTxn, writeTxnHeader } from '../../src/txn/records.js';
import { PROJECT_ROOT } from '../support/servers.js';

const open = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

function roundTrip(t: Txn): Txn {
  const w = new Writer();
  writeTxn(w, t);
  const bytes = w.toBuffer();
  const back = readTxn(t.type, new Reader(bytes), bytes.length);
  const w2 = new Writer();
  writeTxn(w2, back);
  assert.ok(w2.toBuffer().equals(bytes), `re-encoding of type ${t.type} differs`);
  return back;
}

function adler32(buf: Buffer): number {
  let a = 1;
  let b = 0;
  for (const x of buf) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

void describe('txn records', () => {
  void test('every Txn variant round-trips', () => {
    const txns: Txn[] = [
      { type: OpCode.create, path: '/a', data: Buffer.from('x'), acl: open, ephemeral: true, parentCVersion: 3 },
      { type: OpCode.create2, path: '/b', data: Buffer.alloc(0), acl: [], ephemeral: false, parentCVersion: 0 },
      { type: OpCode.createContainer, path: '/c', data: Buffer.from('c'), acl: open, parentCVersion: 7 },
      { type: OpCode.createTTL, path: '/t', data: Buffer.from('t'), acl: open, parentCVersion: 1, ttl: 0xffffffffff },
      { type: OpCode.delete, path: '/a' },
      { type: OpCode.deleteContainer, path: '/c' },
      { type: OpCode.setData, path: '/a', data: Buffer.from('y'), version: 2 },
      { type: OpCode.setACL, path: '/a', acl: [{ perms: 1, id: { scheme: 'digest', id: 'u:h' } }], version: 1 },
      { type: OpCode.check, path: '/a', version: 5 },
      { type: OpCode.error, err: -101 },
      { type: OpCode.createSession, timeOut: 30000 },
      { type: OpCode.closeSession, paths2Delete: ['/e1', '/e2'] },
      { type: OpCode.closeSession, paths2Delete: [] },
      {
        type: OpCode.multi,
        txns: [
          { type: OpCode.create, path: '/m', data: Buffer.from('1'), acl: open, ephemeral: false, parentCVersion: 1 },
          { type: OpCode.check, path: '/m', version: 0 },
          { type: OpCode.error, err: -2 },
        ],
      },
    ];
    for (const t of txns) assert.deepEqual(roundTrip(t), t);
  });

  void test('CreateTxnV0 (no parentCVersion) reads parentCVersion -1', () => {
    const w = new Writer();
    w.string('/old').buffer(Buffer.from('d'));
    w.vector(open, (ww, a) => ww.int(a.perms).string(a.id.scheme).string(a.id.id));
    w.bool(false);
    const b = w.toBuffer();
    const t = readTxn(OpCode.create, new Reader(b), b.length);
    assert.equal(t.type, OpCode.create);
    assert.ok('parentCVersion' in t);
    assert.equal(t.parentCVersion, -1);
  });

  void test('closeSession without a body (pre-3.6 logs) reads null and writes nothing', () => {
    const t = readTxn(OpCode.closeSession, new Reader(Buffer.alloc(0)), 0);
    assert.deepEqual(t, { type: OpCode.closeSession, paths2Delete: null });
    const w = new Writer();
    writeTxn(w, t);
    assert.equal(w.length, 0);
  });

  void test('null data in a create txn reads as an empty buffer', () => {
    const w = new Writer();
    w.string('/n').buffer(null).vector(null, () => undefined).bool(false).int(0);
    const b = w.toBuffer();
    const t = readTxn(OpCode.create, new Reader(b), b.length);
    assert.ok('data' in t && 'acl' in t);
    assert.deepEqual(t.data, Buffer.alloc(0));
    assert.deepEqual(t.acl, []);
  });

  void test('unknown txn types and truncated records are JuteErrors', () => {
    assert.throws(() => readTxn(99, new Reader(Buffer.alloc(8))), JuteError);
    assert.throws(() => readTxn(OpCode.setData, new Reader(Buffer.from('00000005', 'hex'))), JuteError);
  });

  void test('TxnHeader round-trips with a full 64-bit session id', () => {
    const h: TxnHeader = { clientId: -0x7fedcba987654321n, cxid: -1, zxid: 0x500000001, time: 1_700_000_000_123, type: OpCode.multi };
    const w = new Writer();
    writeTxnHeader(w, h);
    assert.equal(w.length, 8 + 4 + 8 + 8 + 4);
    assert.deepEqual(readTxnHeader(new Reader(w.toBuffer())), h);
  });
});

void describe('golden txn logs from Apache ZooKeeper 3.8', () => {
  const dir = path.join(PROJECT_ROOT, 'test', 'fixtures', 'golden', 'txnlog');
  const logs = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.log')).sort() : [];

  void test('golden txn logs are present', () => {
    assert.ok(logs.length > 0);
  });

  for (const name of logs) {
    void test(`${name}: every record decodes and re-encodes to the logged bytes`, () => {
      const buf = fs.readFileSync(path.join(dir, name));
      const r = new Reader(buf, 0, buf.length);
      assert.equal(r.int(), 0x5a4b4c47, 'ZKLG magic');
      assert.equal(r.int(), 2, 'version');
      assert.equal(r.long(), 0n, 'dbid');
      const types = new Set<number>();
      let records = 0;
      let withDigest = 0;
      while (r.remaining > 0) {
        const checksum = r.long();
        const payload = r.buffer();
        assert.ok(payload);
        assert.equal(r.byte(), 0x42, "record ends with 'B'");
        assert.equal(BigInt(adler32(payload)), checksum, 'Adler32 of the payload');
        const pr = new Reader(payload);
        const h = readTxnHeader(pr);
        const start = pr.pos;
        const t = readTxn(h.type, pr);
        const w = new Writer();
        writeTxnHeader(w, h);
        writeTxn(w, t);
        const enc = w.toBuffer();
        const logged = payload.subarray(0, pr.pos);
        assert.ok(enc.equals(logged), `record ${records} (type ${h.type}) re-encodes differently`);
        if (nullDataAt(logged) !== undefined) nullDataRecords.push(logged);
        assert.ok(pr.pos > start || h.type === OpCode.closeSession);
        // What follows the txn is an optional TxnDigest{int version, long digest}.
        if (pr.remaining > 0) {
          assert.equal(pr.remaining, 12, `record ${records}: ${pr.remaining} bytes after the txn`);
          assert.equal(pr.int(), 2, 'digest version');
          withDigest++;
        }
        types.add(h.type);
        records++;
      }
      assert.ok(records > 0);
      assert.ok(withDigest > 0, '3.8 logs carry TxnDigest');
      if (name !== 'java.log') return;
      for (const t of [OpCode.createSession, OpCode.create, OpCode.setData, OpCode.delete, OpCode.multi, OpCode.error, OpCode.closeSession]) {
        assert.ok(types.has(t), `${name}: no txn of type ${t}`);
      }
    });
  }

  void test('txns with null data (length -1 in the log) keep it through decode and encode', () => {
    assert.ok(nullDataRecords.length > 0, 'the Java capture creates /golden-java/nulldata with null data');
    for (const logged of nullDataRecords) {
      const r = new Reader(logged);
      const h = readTxnHeader(r);
      const t = readTxn(h.type, r);
      const w = new Writer();
      writeTxnHeader(w, h);
      writeTxn(w, t);
      assert.equal(nullDataAt(w.toBuffer()), nullDataAt(logged), 'data length stays -1');
    }
  });
});

const nullDataRecords: Buffer[] = [];

/** Offset of the data length field of a create/setData txn payload (header + record) when it is -1. */
function nullDataAt(logged: Buffer): number | undefined {
  const r = new Reader(logged);
  const h = readTxnHeader(r);
  if (![OpCode.create, OpCode.create2, OpCode.createContainer, OpCode.createTTL, OpCode.setData].includes(h.type as 1)) return undefined;
  r.string();
  const at = r.pos;
  return r.int() === -1 ? at : undefined;
}
