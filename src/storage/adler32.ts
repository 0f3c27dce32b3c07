// storage/adler32.ts: Adler-32 (RFC 1950), the checksum ZooKeeper's txn log stores for each record
// (java.util.zip.Adler32) and its snapshots for the whole stream. Incremental: adler32(b, adler32(a)) equals
// adler32(a ++ b). Imports nothing.

const MOD = 65521;
/** zlib's NMAX: the most bytes summed before `b` could pass 2^32; the modulo is taken once per block. */
const NMAX = 5552;

/** Adler-32 of `buf[start, end)`, continuing from `prev` (1 for a fresh checksum). Returns an unsigned 32-bit value. */
export function adler32(buf: Uint8Array, prev = 1, start = 0, end = buf.length): number {
  let a = prev & 0xffff;
  let b = (prev >>> 16) & 0xffff;
  let i = start;
  while (i < end) {
    const stop = Math.min(end, i + NMAX);
    // Unrolled by 8; within NMAX bytes the sums stay exact (and below 2^32), so the modulo waits for the block's end.
    const stop8 = stop - ((stop - i) & 7);
    while (i < stop8) {
      a += buf[i]; b += a;
      a += buf[i + 1]; b += a;
      a += buf[i + 2]; b += a;
      a += buf[i + 3]; b += a;
      a += buf[i + 4]; b += a;
      a += buf[i + 5]; b += a;
      a += buf[i + 6]; b += a;
      a += buf[i + 7]; b += a;
      i += 8;
    }
    while (i < stop) {
      a += buf[i++];
      b += a;
    }
    a %= MOD;
    b %= MOD;
  }
  return ((b << 16) | a) >>> 0;
}
