// client/framing.ts: int32-length-prefixed frames in both directions. FrameReader turns socket chunks into whole
// frames (many per chunk, or one across many chunks); frame() builds one outgoing frame. No I/O.
import { Writer } from '../jute/codec.js';

export class FrameError extends Error {
  override name = 'FrameError';
}

export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Adds a chunk and returns every frame it completes (payloads without their length prefix). */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    if (this.buffered < 4) return frames;
    let buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
    let pos = 0;
    while (buf.length - pos >= 4) {
      const len = buf.readInt32BE(pos);
      if (len < 0 || len > this.maxFrameBytes) throw new FrameError(`frame length ${len} out of range (max ${this.maxFrameBytes})`);
      if (buf.length - pos - 4 < len) break;
      frames.push(buf.subarray(pos + 4, pos + 4 + len));
      pos += 4 + len;
    }
    buf = buf.subarray(pos);
    this.chunks = buf.length > 0 ? [buf] : [];
    this.buffered = buf.length;
    return frames;
  }
}

/** One frame: a length prefix followed by whatever `body` writes. */
export function frame(body: (w: Writer) => void): Buffer {
  const w = new Writer(128);
  w.int(0);
  body(w);
  w.patchInt(0, w.length - 4);
  return w.toBuffer();
}
