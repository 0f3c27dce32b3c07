// Adler-32: zlib's known values, incremental use, and agreement with a plain reference over random buffers.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { adler32 } from '../../src/storage/adler32.js';

function reference(buf: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (const x of buf) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

void describe('adler32', () => {
  void test('known values', () => {
    assert.equal(adler32(Buffer.alloc(0)), 1);
    assert.equal(adler32(Buffer.from('a')), 0x00620062);
    assert.equal(adler32(Buffer.from('abc')), 0x024d0127);
    assert.equal(adler32(Buffer.from('Wikipedia')), 0x11e60398);
    assert.equal(adler32(Buffer.from('message digest')), 0x29750586);
    assert.equal(adler32(Buffer.alloc(100_000, 0xff)), reference(Buffer.alloc(100_000, 0xff)));
  });

  void test('matches the reference on random buffers of every small length and some large ones; incremental', () => {
    for (let n = 0; n < 300; n++) {
      const b = randomBytes(n);
      assert.equal(adler32(b), reference(b), `length ${n}`);
    }
    const big = randomBytes(1 << 20);
    assert.equal(adler32(big), reference(big));
    const cut = 12345;
    assert.equal(adler32(big, adler32(big.subarray(0, cut))), adler32(Buffer.concat([big.subarray(0, cut), big])));
    assert.equal(adler32(big.subarray(cut), adler32(big.subarray(0, cut))), adler32(big));
    assert.equal(adler32(big, 1, 100, 5000), adler32(big.subarray(100, 5000)));
  });
});
