// tree/digest.ts: ZooKeeper's tree digest (DigestCalculator, digest version 2). Each znode hashes to the CRC32 of its
// path bytes ("/" hashed as ""), its data, and its persisted stat as 60 big-endian bytes in this order: czxid,
// mzxid, pzxid, ctime, mtime (8 bytes each), version, cversion (as stored), aversion (4 each), ephemeralOwner (8).
// Nodes under "/zookeeper/" hash to 0 (their quota stats change locally); "/zookeeper" itself is hashed. The tree
// digest is the sum of the node digests modulo 2^64 (upstream's AdHash), so it can be kept up to date by
// subtracting a node's digest before a change and adding it back after. Imports nothing from the project.
import type { StatPersisted } from './stat.js';

/** The digest method's version as written into snapshots and txn logs (DigestCalculator.DIGEST_VERSION). */
export const DIGEST_VERSION = 2;

/** Paths with this prefix are excluded from the digest (ZooDefs.ZOOKEEPER_NODE_SUBTREE). */
export const DIGEST_EXCLUDED_PREFIX = '/zookeeper/';

const MASK64 = (1n << 64n) - 1n;

// Slicing-by-8 tables for the reflected polynomial 0xEDB88320 (java.util.zip.CRC32, zlib).
const T = buildTables();

function buildTables(): Int32Array[] {
  const tables: Int32Array[] = [];
  const t0 = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t0[n] = c;
  }
  tables.push(t0);
  for (let i = 1; i < 8; i++) {
    const prev = tables[i - 1];
    const t = new Int32Array(256);
    for (let n = 0; n < 256; n++) t[n] = (prev[n] >>> 8) ^ t0[prev[n] & 0xff];
    tables.push(t);
  }
  return tables;
}
const [T0, T1, T2, T3, T4, T5, T6, T7] = T as [
  Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array,
];

/**
 * Continues a CRC32 over `buf[start, end)`. `crc` is the running register in its internal (inverted) form: start
 * from ~0 (-1) and finish with `~crc >>> 0`; see `crc32` for the one-shot form.
 */
export function crc32Update(crc: number, buf: Uint8Array, start = 0, end = buf.length): number {
  let c = crc | 0;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = c ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24));
    c = T7[a & 0xff] ^ T6[(a >>> 8) & 0xff] ^ T5[(a >>> 16) & 0xff] ^ T4[a >>> 24]
      ^ T3[buf[i + 4]] ^ T2[buf[i + 5]] ^ T1[buf[i + 6]] ^ T0[buf[i + 7]];
  }
  for (; i < end; i++) c = T0[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return c;
}

/** CRC32 (as java.util.zip.CRC32.getValue) of a byte range, unsigned. */
export function crc32(buf: Uint8Array, start = 0, end = buf.length): number {
  return ~crc32Update(-1, buf, start, end) >>> 0;
}

/** Feeds one int as 4 big-endian bytes. */
function crcInt(c: number, v: number): number {
  c = T0[(c ^ (v >>> 24)) & 0xff] ^ (c >>> 8);
  c = T0[(c ^ (v >>> 16)) & 0xff] ^ (c >>> 8);
  c = T0[(c ^ (v >>> 8)) & 0xff] ^ (c >>> 8);
  return T0[(c ^ v) & 0xff] ^ (c >>> 8);
}

/** Feeds one long (a safe integer, possibly negative) as 8 big-endian bytes. */
function crcLong(c: number, v: number): number {
  const hi = Math.floor(v / 0x100000000);
  return crcInt(crcInt(c, hi | 0), (v - hi * 0x100000000) | 0);
}

let scratch = Buffer.allocUnsafe(1024);

/** Feeds a string's UTF-8 bytes (String.getBytes() on a UTF-8 platform). */
function crcString(c: number, s: string): number {
  const n = s.length;
  let i = 0;
  for (; i < n; i++) {
    const ch = s.charCodeAt(i);
    if (ch >= 0x80) break;
    c = T0[(c ^ ch) & 0xff] ^ (c >>> 8);
  }
  if (i === n) return c;
  // Non-ASCII from here on: encode the rest.
  const rest = s.slice(i);
  const need = Buffer.byteLength(rest, 'utf8');
  if (need > scratch.length) scratch = Buffer.allocUnsafe(Math.max(need, scratch.length * 2));
  const len = scratch.write(rest, 0, 'utf8');
  return crc32Update(c, scratch, 0, len);
}

/** The persisted stat fields that enter the digest (cversion as stored, not the client's view). */
export type DigestStat = StatPersisted;

/** True for paths whose nodes do not enter the digest. */
export function digestExcluded(path: string): boolean {
  return path.startsWith(DIGEST_EXCLUDED_PREFIX);
}

/** DigestCalculator.calculateDigest: one node's digest (0 for nodes under /zookeeper/). */
export function nodeDigest(path: string, data: Uint8Array, s: DigestStat): bigint {
  return BigInt(nodeDigestNum(path, data, s));
}

/** nodeDigest as an unsigned 32-bit number (the CRC), for callers that sum many. */
export function nodeDigestNum(path: string, data: Uint8Array | null, s: DigestStat): number {
  if (path.startsWith(DIGEST_EXCLUDED_PREFIX)) return 0;
  let c = -1;
  if (path !== '/') c = crcString(c, path);
  if (data !== null && data.length > 0) c = crc32Update(c, data);
  c = crcLong(c, s.czxid);
  c = crcLong(c, s.mzxid);
  c = crcLong(c, s.pzxid);
  c = crcLong(c, s.ctime);
  c = crcLong(c, s.mtime);
  c = crcInt(c, s.version | 0);
  c = crcInt(c, s.cversion | 0);
  c = crcInt(c, s.aversion | 0);
  const owner = s.ephemeralOwner;
  if (owner === 0n) {
    c = crcInt(crcInt(c, 0), 0);
  } else {
    const u = BigInt.asUintN(64, owner);
    c = crcInt(crcInt(c, Number(u >> 32n) | 0), Number(u & 0xffffffffn) | 0);
  }
  return ~c >>> 0;
}

/** (a + b) mod 2^64, unsigned. */
export function digestAdd(a: bigint, b: bigint): bigint {
  return (a + b) & MASK64;
}

/** (a - b) mod 2^64, unsigned. */
export function digestSub(a: bigint, b: bigint): bigint {
  return (a - b) & MASK64;
}

/**
 * Sums node digests into a tree digest without a bigint operation per node: CRCs are below 2^32, so up to 2^21 of
 * them add exactly in a double before being folded into the bigint.
 */
export class DigestSum {
  private acc = 0;
  private n = 0;
  private total = 0n;

  add(crc: number): void {
    this.acc += crc;
    if (++this.n === 1 << 20) this.fold();
  }

  private fold(): void {
    this.total = (this.total + BigInt(this.acc)) & MASK64;
    this.acc = 0;
    this.n = 0;
  }

  get value(): bigint {
    this.fold();
    return this.total;
  }
}
