// jute/ owns ZooKeeper's binary record encoding (BinaryOutputArchive/BinaryInputArchive): big-endian ints and
// longs, length-prefixed buffers and strings (-1 = null), counted vectors. It imports nothing from the project.
//
// Longs: values that are zxids, times and counts stay below 2^53 and travel as `number` (readLongNum /
// writeLongNum); values that use all 64 bits (session ids, ephemeralOwner, digests) travel as `bigint`.

/** Thrown when input cannot be decoded; the server turns it into a closed connection or MARSHALLINGERROR. */
export class JuteError extends Error {
  override name = 'JuteError';
}

/** The default of jute.maxbuffer: the largest frame, string or buffer accepted (0xfffff). */
export const JUTE_MAXBUFFER_DEFAULT = 0xfffff;

const INITIAL_CAPACITY = 256;

/**
 * Java's null byte[] (length -1 on the wire) where a Buffer is needed: a znode created with null data reads back
 * as null, not as an empty array. Compared by identity; it is empty, so code that only reads it sees no data.
 */
export const NULL_BUFFER: Buffer = Buffer.alloc(0);

export class Writer {
  private buf: Buffer;
  private pos = 0;

  constructor(capacity = INITIAL_CAPACITY) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v | 0, this.pos);
    this.pos += 4;
    return this;
  }

  long(v: bigint): this {
    this.ensure(8);
    this.buf.writeBigInt64BE(BigInt.asIntN(64, v), this.pos);
    this.pos += 8;
    return this;
  }

  /** A long whose value is a safe integer (zxid, time, count). */
  longNum(v: number): this {
    this.ensure(8);
    const hi = Math.floor(v / 0x100000000);
    this.buf.writeInt32BE(hi | 0, this.pos);
    this.buf.writeUInt32BE(v - hi * 0x100000000, this.pos + 4);
    this.pos += 8;
    return this;
  }

  byte(v: number): this {
    this.ensure(1);
    this.buf.writeInt8(((v & 0xff) << 24) >> 24, this.pos);
    this.pos += 1;
    return this;
  }

  bool(v: boolean): this {
    return this.byte(v ? 1 : 0);
  }

  buffer(v: Uint8Array | null | undefined): this {
    if (v == null || v === NULL_BUFFER) return this.int(-1);
    this.int(v.length);
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
    return this;
  }

  string(v: string | null | undefined): this {
    if (v == null) return this.int(-1);
    const len = Buffer.byteLength(v, 'utf8');
    this.int(len);
    this.ensure(len);
    this.buf.write(v, this.pos, len, 'utf8');
    this.pos += len;
    return this;
  }

  /** Raw bytes with no length prefix. */
  raw(v: Uint8Array): this {
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
    return this;
  }

  vector<T>(items: readonly T[] | null | undefined, each: (w: Writer, item: T) => void): this {
    if (items == null) return this.int(-1);
    this.int(items.length);
    for (const item of items) each(this, item);
    return this;
  }

  stringVector(items: readonly string[] | null | undefined): this {
    return this.vector(items, (w, s) => w.string(s));
  }

  /** Overwrite an int already written at `offset` (used to back-fill frame lengths). */
  patchInt(offset: number, v: number): void {
    this.buf.writeInt32BE(v | 0, offset);
  }

  /** A copy of the bytes written so far. */
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  /** The bytes written so far without copying; valid until the next write. */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

export class Reader {
  pos: number;

  /**
   * @param maxLength the largest string/buffer/vector count accepted (jute.maxbuffer plus extrasize on the server)
   */
  constructor(
    readonly buf: Buffer,
    offset = 0,
    readonly maxLength = JUTE_MAXBUFFER_DEFAULT * 2,
  ) {
    this.pos = offset;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) {
      throw new JuteError(`unexpected end of record reading ${what} at offset ${this.pos}`);
    }
  }

  int(): number {
    this.need(4, 'int');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  long(): bigint {
    this.need(8, 'long');
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A long expected to be a safe integer; larger values are an encoding error. */
  longNum(): number {
    this.need(8, 'long');
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    const v = hi * 0x100000000 + lo;
    if (!Number.isSafeInteger(v)) throw new JuteError(`long out of safe range at offset ${this.pos - 8}`);
    return v;
  }

  byte(): number {
    this.need(1, 'byte');
    const v = this.buf.readInt8(this.pos);
    this.pos += 1;
    return v;
  }

  bool(): boolean {
    return this.byte() !== 0;
  }

  private length(what: string): number {
    const len = this.int();
    if (len < -1) throw new JuteError(`negative ${what} length ${len}`);
    if (len > this.maxLength) throw new JuteError(`${what} length ${len} exceeds the limit ${this.maxLength}`);
    return len;
  }

  buffer(): Buffer | null {
    const len = this.length('buffer');
    if (len === -1) return null;
    this.need(len, 'buffer');
    const v = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return v;
  }

  string(): string | null {
    const len = this.length('string');
    if (len === -1) return null;
    this.need(len, 'string');
    const v = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return v;
  }

  /** A string where null is not meaningful: null reads as "" (kazoo writes "" as null). */
  str(): string {
    return this.string() ?? '';
  }

  vector<T>(each: (r: Reader) => T): T[] | null {
    const n = this.length('vector');
    if (n === -1) return null;
    // Each element takes at least one byte: a count above the bytes left is malformed, not a reason to allocate.
    if (n > this.remaining) throw new JuteError(`vector count ${n} exceeds the ${this.remaining} bytes left`);
    const out: T[] = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = each(this);
    return out;
  }

  stringVector(): string[] {
    return this.vector((r) => r.str()) ?? [];
  }

  rest(): Buffer {
    const v = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return v;
  }
}
