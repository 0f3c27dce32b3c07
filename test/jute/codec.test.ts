// Unit tests of the jute primitives (BinaryOutputArchive/BinaryInputArchive semantics): encodings, nulls, negative
// and oversized lengths, vectors, truncation, and a property test that random records round-trip.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { JUTE_MAXBUFFER_DEFAULT, JuteError, Reader, Writer } from '../../src/jute/codec.js';

const hex = (w: Writer): string => w.toBuffer().toString('hex');
const reader = (h: string, max?: number): Reader => new Reader(Buffer.from(h, 'hex'), 0, max);

void describe('jute Writer', () => {
  void test('ints and longs are big-endian, two\'s complement', () => {
    assert.equal(hex(new Writer().int(1).int(-1).int(0x7fffffff)), '00000001ffffffff7fffffff');
    assert.equal(hex(new Writer().long(-2n)), 'fffffffffffffffe');
    assert.equal(hex(new Writer().long(0x0123456789abcdefn)), '0123456789abcdef');
    assert.equal(hex(new Writer().long(-0x8000000000000000n)), '8000000000000000');
    assert.equal(hex(new Writer().longNum(-1)), 'ffffffffffffffff');
    assert.equal(hex(new Writer().longNum(0x100000002)), '0000000100000002');
    assert.equal(hex(new Writer().longNum(Number.MAX_SAFE_INTEGER)), '001fffffffffffff');
    assert.equal(hex(new Writer().longNum(-0x100000001)), 'fffffffeffffffff');
  });

  void test('bytes and booleans', () => {
    assert.equal(hex(new Writer().byte(-1).byte(127).byte(255).bool(true).bool(false)), 'ff7fff0100');
  });

  void test('null and empty buffers and strings', () => {
    assert.equal(hex(new Writer().buffer(null)), 'ffffffff');
    assert.equal(hex(new Writer().buffer(undefined)), 'ffffffff');
    assert.equal(hex(new Writer().buffer(Buffer.alloc(0))), '00000000');
    assert.equal(hex(new Writer().string(null)), 'ffffffff');
    assert.equal(hex(new Writer().string('')), '00000000');
    assert.equal(hex(new Writer().string('/a')), '000000022f61');
  });

  void test('string lengths count UTF-8 bytes', () => {
    assert.equal(hex(new Writer().string('é')), '00000002c3a9');
    assert.equal(hex(new Writer().string('😀')), '00000004f09f9880');
  });

  void test('vectors: count then elements; null is -1', () => {
    assert.equal(hex(new Writer().stringVector(['a', 'bc'])), '00000002000000016100000002626' + '3');
    assert.equal(hex(new Writer().stringVector(null)), 'ffffffff');
    assert.equal(hex(new Writer().stringVector([])), '00000000');
    assert.equal(hex(new Writer().vector([1, 2], (w, v) => w.int(v))), '000000020000000100000002');
  });

  void test('grows past its initial capacity and patches ints', () => {
    const w = new Writer(4);
    w.int(0);
    const big = Buffer.alloc(100_000, 7);
    w.buffer(big);
    w.patchInt(0, w.length - 4);
    const b = w.toBuffer();
    assert.equal(b.length, 4 + 4 + 100_000);
    assert.equal(b.readInt32BE(0), 100_004);
    assert.equal(b.readInt32BE(4), 100_000);
    assert.ok(b.subarray(8).equals(big));
    assert.ok(w.view().equals(b));
  });
});

void describe('jute Reader', () => {
  void test('reads what the Writer wrote', () => {
    const r = reader('00000001ffffffff0123456789abcdefffffffffffffffffff0100');
    assert.equal(r.int(), 1);
    assert.equal(r.int(), -1);
    assert.equal(r.long(), 0x0123456789abcdefn);
    assert.equal(r.longNum(), -1);
    assert.equal(r.byte(), -1);
    assert.equal(r.bool(), true);
    assert.equal(r.bool(), false);
    assert.equal(r.remaining, 0);
  });

  void test('any nonzero byte is true', () => {
    assert.equal(reader('02').bool(), true);
    assert.equal(reader('80').bool(), true);
  });

  void test('null (-1) buffers and strings; str() maps null to ""', () => {
    assert.equal(reader('ffffffff').buffer(), null);
    assert.equal(reader('ffffffff').string(), null);
    assert.equal(reader('ffffffff').str(), '');
    assert.deepEqual(reader('00000000').buffer(), Buffer.alloc(0));
    assert.equal(reader('00000000').string(), '');
    assert.equal(reader('00000002c3a9').string(), 'é');
  });

  void test('negative lengths other than -1 are rejected', () => {
    for (const len of ['fffffffe', '80000000', 'ffffff00']) {
      assert.throws(() => reader(len + '00000000').buffer(), JuteError);
      assert.throws(() => reader(len + '00000000').string(), JuteError);
      assert.throws(() => reader(len + '00000000').vector((r) => r.int()), JuteError);
    }
  });

  void test('lengths above the limit are rejected before allocating', () => {
    const max = JUTE_MAXBUFFER_DEFAULT * 2;
    const over = new Writer().int(max + 1).toBuffer();
    assert.throws(() => new Reader(over).buffer(), /exceeds the limit/);
    assert.throws(() => new Reader(over).string(), /exceeds the limit/);
    assert.throws(() => reader('7fffffff').buffer(), JuteError);
    // A custom limit (jute.maxbuffer plus extrasize on the server).
    assert.throws(() => reader('0000000b' + '00'.repeat(11), 10).buffer(), /exceeds the limit 10/);
    assert.equal(reader('0000000a' + '00'.repeat(10), 10).buffer()?.length, 10);
  });

  void test('truncated input is a JuteError, not a RangeError', () => {
    assert.throws(() => reader('000000').int(), JuteError);
    assert.throws(() => reader('00000000000000').long(), JuteError);
    assert.throws(() => reader('00000000000000').longNum(), JuteError);
    assert.throws(() => reader('').byte(), JuteError);
    assert.throws(() => reader('0000000561').buffer(), JuteError);
    assert.throws(() => reader('0000000561').string(), JuteError);
    assert.throws(() => reader('00000002000000016').stringVector(), JuteError);
  });

  void test('longNum rejects values outside the safe-integer range', () => {
    assert.throws(() => reader('0020000000000000').longNum(), /safe range/);
    assert.throws(() => reader('8000000000000000').longNum(), /safe range/);
    assert.equal(reader('001fffffffffffff').longNum(), Number.MAX_SAFE_INTEGER);
    assert.equal(reader('ffe0000000000001').longNum(), -Number.MAX_SAFE_INTEGER);
  });

  void test('vectors: null, empty, counts above the bytes left', () => {
    assert.equal(reader('ffffffff').vector((r) => r.int()), null);
    assert.deepEqual(reader('00000000').vector((r) => r.int()), []);
    assert.deepEqual(reader('ffffffff').stringVector(), []);
    assert.deepEqual(reader('000000020000000161ffffffff').stringVector(), ['a', '']);
    assert.throws(() => reader('000fffff').vector((r) => r.int()), /exceeds the 0 bytes left/);
    assert.throws(() => reader('00000003' + '00000001').vector((r) => r.int()), JuteError);
  });

  void test('offset and rest()', () => {
    const r = new Reader(Buffer.from('aabbccdd00000001', 'hex'), 4);
    assert.equal(r.int(), 1);
    const r2 = new Reader(Buffer.from('0000000101020304', 'hex'));
    r2.int();
    assert.equal(r2.rest().toString('hex'), '01020304');
    assert.equal(r2.remaining, 0);
  });
});

void describe('jute round trip (property)', () => {
  type Item =
    | { k: 'int'; v: number }
    | { k: 'long'; v: bigint }
    | { k: 'longNum'; v: number }
    | { k: 'bool'; v: boolean }
    | { k: 'buffer'; v: Uint8Array | null }
    | { k: 'string'; v: string | null }
    | { k: 'strings'; v: string[] | null };
  const item: fc.Arbitrary<Item> = fc.oneof(
    fc.integer({ min: -0x80000000, max: 0x7fffffff }).map((v) => ({ k: 'int' as const, v })),
    fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).map((v) => ({ k: 'long' as const, v })),
    fc.maxSafeInteger().map((v) => ({ k: 'longNum' as const, v })),
    fc.boolean().map((v) => ({ k: 'bool' as const, v })),
    fc.option(fc.uint8Array({ maxLength: 64 })).map((v) => ({ k: 'buffer' as const, v })),
    fc.option(fc.string({ unit: 'grapheme', maxLength: 20 })).map((v) => ({ k: 'string' as const, v })),
    fc.option(fc.array(fc.string({ maxLength: 8 }), { maxLength: 5 })).map((v) => ({ k: 'strings' as const, v })),
  );

  void test('a random sequence of fields reads back as written (seed 20240611, 300 runs)', () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 20 }), (items) => {
        const w = new Writer(8);
        for (const it of items) {
          switch (it.k) {
            case 'int': w.int(it.v); break;
            case 'long': w.long(it.v); break;
            case 'longNum': w.longNum(it.v); break;
            case 'bool': w.bool(it.v); break;
            case 'buffer': w.buffer(it.v); break;
            case 'string': w.string(it.v); break;
            case 'strings': w.stringVector(it.v); break;
          }
        }
        const r = new Reader(w.toBuffer());
        for (const it of items) {
          switch (it.k) {
            case 'int': assert.equal(r.int(), it.v); break;
            case 'long': assert.equal(r.long(), it.v); break;
            case 'longNum': assert.equal(r.longNum(), it.v); break;
            case 'bool': assert.equal(r.bool(), it.v); break;
            case 'buffer': {
              const b = r.buffer();
              if (it.v === null) assert.equal(b, null);
              else assert.deepEqual(b === null ? null : new Uint8Array(b), it.v);
              break;
            }
            case 'string': assert.equal(r.string(), it.v); break;
            case 'strings': assert.deepEqual(r.stringVector(), it.v ?? []); break;
          }
        }
        assert.equal(r.remaining, 0);
      }),
      { seed: 20240611, numRuns: 300 },
    );
  });

  void test('reading random bytes only ever throws JuteError (seed 7, 300 runs)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 10 }), (bytes, ops) => {
        const r = new Reader(Buffer.from(bytes), 0, 1024);
        try {
          for (const op of ops) {
            switch (op) {
              case 0: r.int(); break;
              case 1: r.long(); break;
              case 2: r.longNum(); break;
              case 3: r.buffer(); break;
              case 4: r.string(); break;
              case 5: r.stringVector(); break;
              case 6: r.bool(); break;
            }
          }
        } catch (e) {
          assert.ok(e instanceof JuteError, `unexpected ${String(e)}`);
        }
      }),
      { seed: 7, numRuns: 300 },
    );
  });
});
