// util/ holds small leaf helpers with no project imports. javaRandom.ts: an exact copy of java.util.Random's
// behaviour (the 48-bit linear congruential generator documented in the JDK's Random javadoc). ZooKeeper derives
// session passwords from `new Random(sessionId ^ 0xB3415C00L).nextBytes(16)` and checks them by regenerating, so a
// server that joins a Java ensemble, or reads its sessions, must produce the same bytes bit for bit.
//
// The 48-bit state is kept as two numbers (high 24 bits, low 24 bits) so that the hot path needs no bigint: every
// partial product below stays under 2^53 and is therefore exact in a double.

const MULT_HI = 0x5de; // 0x5DEECE66D split as hi 24 bits (0x5DE) and lo 24 bits (0xECE66D)
const MULT_LO = 0xece66d;
const ADDEND = 0xb;
const TWO24 = 0x1000000;

const SCRAMBLE = 0x5deece66dn;
const MASK48 = (1n << 48n) - 1n;

export class JavaRandom {
  /** High 24 bits of the 48-bit seed. */
  private hi = 0;
  /** Low 24 bits of the 48-bit seed. */
  private lo = 0;

  /** Same as `new java.util.Random(seed)`: the seed is a Java long (taken modulo 2^64 if outside that range). */
  constructor(seed: bigint) {
    this.setSeed(seed);
  }

  setSeed(seed: bigint): void {
    const s = (BigInt.asUintN(64, seed) ^ SCRAMBLE) & MASK48;
    this.hi = Number(s >> 24n);
    this.lo = Number(s & 0xffffffn);
  }

  /** java.util.Random.next(bits): advances the LCG and returns its top `bits` bits as a Java int. */
  next(bits: number): number {
    if (!(bits >= 1 && bits <= 32)) throw new RangeError(`bits must be 1..32, got ${bits}`);
    // seed = (seed * 0x5DEECE66D + 0xB) mod 2^48, with 24-bit limbs.
    const loProduct = this.lo * MULT_LO + ADDEND; // < 2^48 + 11
    const carry = Math.floor(loProduct / TWO24);
    const newLo = loProduct - carry * TWO24;
    // Only the low 24 bits of the high limb survive the mod 2^48; products stay < 2^53.
    const hiSum = (this.hi * MULT_LO + this.lo * MULT_HI + carry) % TWO24;
    this.hi = hiSum;
    this.lo = newLo;
    // (int)(seed >>> (48 - bits)): take the top `bits` bits, then reinterpret as signed 32-bit.
    const top32 = hiSum * 0x100 + Math.floor(newLo / 0x10000); // seed >>> 16, a 32-bit unsigned value
    const unsigned = bits === 32 ? top32 : Math.floor(top32 / 2 ** (32 - bits));
    return unsigned | 0;
  }

  /** java.util.Random.nextInt(): a uniformly distributed Java int. */
  nextInt(): number;
  /** java.util.Random.nextInt(bound): 0 <= result < bound, with Java's exact rejection sampling. */
  nextInt(bound: number): number;
  nextInt(bound?: number): number {
    if (bound === undefined) return this.next(32);
    if (!Number.isInteger(bound) || bound <= 0 || bound > 0x7fffffff) {
      throw new RangeError(`bound must be a positive Java int, got ${bound}`);
    }
    let r = this.next(31);
    const m = bound - 1;
    if ((bound & m) === 0) {
      // Power of two: the top bits, as Java does with (bound * (long) r) >> 31.
      return Math.floor((bound * r) / 0x80000000);
    }
    // Java: for (u = r; u - (r = u % bound) + m < 0; u = next(31)); the "< 0" is int overflow.
    for (let u = r; ; u = this.next(31)) {
      r = u % bound;
      if (((u - r + m) | 0) >= 0) return r;
    }
  }

  /** java.util.Random.nextLong(): ((long) next(32) << 32) + next(32), as a signed 64-bit bigint. */
  nextLong(): bigint {
    const high = BigInt(this.next(32));
    const low = BigInt(this.next(32));
    return BigInt.asIntN(64, (high << 32n) + low);
  }

  /** java.util.Random.nextBoolean(). */
  nextBoolean(): boolean {
    return this.next(1) !== 0;
  }

  /** java.util.Random.nextDouble(). */
  nextDouble(): number {
    return (this.next(26) * 2 ** 27 + this.next(27)) * 2 ** -53;
  }

  /** java.util.Random.nextBytes(bytes): fills the buffer 4 bytes per next(32), low byte first. */
  nextBytes(bytes: Uint8Array): void {
    let i = 0;
    while (i < bytes.length) {
      let rnd = this.next(32);
      for (let n = Math.min(bytes.length - i, 4); n > 0; n--) {
        bytes[i++] = rnd & 0xff;
        rnd >>= 8;
      }
    }
  }
}
