// sim/disk.ts: the simulated disk. An in-memory POSIX file tree behind an object shaped like `node:fs` (swapped in
// with setSys({ fs: disk.fs })), so the real storage, quorum, server and config code reads and writes it unchanged,
// with Node's argument forms, return shapes and errors (code, errno, syscall, path).
//
// Timing: the *Sync functions complete at once. Callback and promise functions take effect when called (so a crash
// between the call and its completion still sees the write as unsynced data) and report through loop.schedule after
// a latency drawn from the seeded Rng: fsync/fdatasync/sync/datasync take syncLatencyMs, everything else
// ioLatencyMs. A completion is an event of the owner who made the call; callbacks are never called synchronously.
//
// Durability: every file keeps its current content, its durable content (as of the last sync of any fd on it) and
// the writes/truncates made since, in order. A sync makes durable what was written before it was called, at its
// completion. crash(root) is a power loss: each file under root returns to its durable content plus, with torn
// writes, a random prefix of its unsynced operations, the last one possibly cut short (a torn tail).
//
// Simplifications, on purpose: directory operations (create, mkdir, rename, unlink, rm) are durable at once, as if
// every directory were fsynced right after each change (the server fsyncs its directories anyway; a lost rename is
// a failure mode this model does not produce). There are no symlinks, permissions, links or timestamps beyond mtime,
// and capacity counts a file's logical size (a preallocated, still sparse file uses its whole length).

import { constants } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { type Owner, SIM_EPOCH_MS, type SimLoop } from './loop.js';
import type { Rng } from '../util/rng.js';

export interface SimDiskOptions {
  /** Latency of fsync/fdatasync/FileHandle.sync/datasync, in ms, drawn uniformly (integers). Default [1, 8]. */
  syncLatencyMs?: [number, number];
  /** Latency of every other asynchronous call. Default [0, 1]. */
  ioLatencyMs?: [number, number];
  /** crash() keeps a random prefix of the unsynced writes, the last possibly cut short. Default true. */
  tornWrites?: boolean;
  /**
   * Self-test only: every sync reports success and makes nothing durable (a disk whose volatile cache ignores
   * flushes). A power loss then loses acknowledged writes, which the simulator's checks must report.
   */
  lyingSync?: boolean;
}

type Latency = 'io' | 'sync';
type Callback = (...args: unknown[]) => void;
type Done<T> = (err: Error | null, v?: T) => void;

// ------------------------------------------------------------------------------------------------ errors

const ERRNO: Record<string, [number, string]> = {
  ENOENT: [-2, 'no such file or directory'],
  EBADF: [-9, 'bad file descriptor'],
  EEXIST: [-17, 'file already exists'],
  ENOTDIR: [-20, 'not a directory'],
  EISDIR: [-21, 'illegal operation on a directory'],
  EINVAL: [-22, 'invalid argument'],
  ENOSPC: [-28, 'no space left on device'],
  ENOTEMPTY: [-39, 'directory not empty'],
  EBUSY: [-16, 'resource busy or locked'],
};

/** An error shaped like Node's own system errors: "CODE: description, syscall 'path' -> 'dest'". */
function sysError(code: keyof typeof ERRNO, syscall: string, p?: string, dest?: string): NodeJS.ErrnoException {
  const [errno, desc] = ERRNO[code];
  let msg = `${code}: ${desc}, ${syscall}`;
  if (p !== undefined) msg += ` '${p}'`;
  if (dest !== undefined) msg += ` -> '${dest}'`;
  const e: NodeJS.ErrnoException = new Error(msg);
  e.errno = errno;
  e.code = code;
  e.syscall = syscall;
  if (p !== undefined) e.path = p;
  if (dest !== undefined) (e as { dest?: string }).dest = dest;
  return e;
}

/** fs.rm on a directory without `recursive` (Node's ERR_FS_EISDIR, a SystemError). */
function rmDirError(p: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`Path is a directory: rm returned EISDIR (is a directory) ${p}`);
  e.errno = 21;
  e.code = 'ERR_FS_EISDIR';
  e.syscall = 'rm';
  e.path = p;
  return e;
}

function outOfRange(what: string, max: number, got: number): RangeError {
  const e = new RangeError(`The value of "${what}" is out of range. It must be <= ${max}. Received ${got}`);
  (e as { code?: string }).code = 'ERR_OUT_OF_RANGE';
  return e;
}

// ------------------------------------------------------------------------------------------------ file content

/**
 * A file's bytes, sparse at the end: bytes [0, used) live in `buf`, bytes [used, size) are zeros that were never
 * written (ftruncate extending a file, as the txn log's preallocation does, costs nothing). Everything in `buf`
 * past `used` is kept zero, so growing `used` needs no fill.
 */
class Content {
  constructor(
    private buf: Buffer = Buffer.alloc(0),
    private used = 0,
    public size = 0,
  ) {}

  clone(): Content {
    return new Content(Buffer.from(this.buf.subarray(0, this.used)), this.used, this.size);
  }

  read(pos: number, dst: Uint8Array, off: number, len: number): number {
    if (pos >= this.size || len <= 0) return 0;
    const n = Math.min(len, this.size - pos);
    const stored = Math.max(0, Math.min(n, this.used - pos));
    if (stored > 0) this.buf.copy(dst, off, pos, pos + stored);
    if (stored < n) dst.fill(0, off + stored, off + n);
    return n;
  }

  write(pos: number, src: Uint8Array): void {
    if (src.length === 0) return;
    const end = pos + src.length;
    if (end > this.buf.length) this.grow(end);
    this.buf.set(src, pos);
    this.used = Math.max(this.used, end);
    this.size = Math.max(this.size, end);
  }

  truncate(len: number): void {
    if (len < this.used) {
      this.buf.fill(0, len, this.used);
      this.used = len;
    }
    this.size = len;
  }

  xor(pos: number, mask: number): void {
    const b = Buffer.alloc(1);
    this.read(pos, b, 0, 1);
    b[0] ^= mask;
    this.write(pos, b);
  }

  bytes(): Buffer {
    const out = Buffer.alloc(this.size);
    this.read(0, out, 0, this.size);
    return out;
  }

  private grow(min: number): void {
    const next = Buffer.alloc(Math.max(min, this.buf.length * 2, 256));
    this.buf.copy(next, 0, 0, this.used);
    this.buf = next;
  }
}

/** A change to a file's bytes not yet made durable. */
type Op = { seq: number; pos: number; data: Buffer } | { seq: number; truncate: number };

function applyOp(c: Content, op: Op): void {
  if ('data' in op) c.write(op.pos, op.data);
  else c.truncate(op.truncate);
}

class FileNode {
  readonly kind = 'file';
  content = new Content();
  durable = new Content();
  /** Ops since the last sync, oldest first; `seq` numbers every op ever made on the file. */
  pending: Op[] = [];
  seq = 0;
  constructor(
    readonly ino: number,
    public mtimeMs: number,
    readonly birthtimeMs: number,
  ) {}
}

class DirNode {
  readonly kind = 'dir';
  readonly children = new Map<string, Node>();
  constructor(
    readonly ino: number,
    public mtimeMs: number,
    readonly birthtimeMs: number,
  ) {}
}

type Node = FileNode | DirNode;

/** An open file descriptor. */
class OpenFile {
  /** Closed, by close() or by a crash. */
  closed = false;
  /** Closed by a crash: completions still pending for it must not deliver. */
  killed = false;
  constructor(
    readonly fd: number,
    readonly node: Node,
    /** The path it was opened by (a later rename does not update it). */
    readonly path: string,
    readonly readable: boolean,
    readonly writable: boolean,
    readonly append: boolean,
    /** O_SYNC / O_DSYNC: every write is durable when it returns. */
    readonly syncWrites: boolean,
    readonly owner: Owner,
    /** The file position for reads and writes without a position. */
    public pos = 0,
  ) {}
}

// ------------------------------------------------------------------------------------------------ stats, dirents

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

/** The file-type predicates of fs.Stats and fs.Dirent: this disk has only regular files and directories. */
abstract class FileType {
  abstract isDirectory(): boolean;
  isFile(): boolean {
    return !this.isDirectory();
  }
  isSymbolicLink(): boolean {
    return false;
  }
  isBlockDevice(): boolean {
    return false;
  }
  isCharacterDevice(): boolean {
    return false;
  }
  isFIFO(): boolean {
    return false;
  }
  isSocket(): boolean {
    return false;
  }
}

class SimStats extends FileType {
  readonly dev = 1;
  readonly nlink = 1;
  readonly uid = 0;
  readonly gid = 0;
  readonly rdev = 0;
  readonly blksize = 4096;
  readonly ino: number;
  readonly mode: number;
  readonly size: number;
  readonly blocks: number;
  readonly atimeMs: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly birthtimeMs: number;
  readonly atime: Date;
  readonly mtime: Date;
  readonly ctime: Date;
  readonly birthtime: Date;

  constructor(node: Node) {
    super();
    this.ino = node.ino;
    this.mode = node.kind === 'file' ? S_IFREG | 0o644 : S_IFDIR | 0o755;
    this.size = node.kind === 'file' ? node.content.size : 4096;
    this.blocks = Math.ceil(this.size / 512);
    this.atimeMs = this.mtimeMs = this.ctimeMs = node.mtimeMs;
    this.birthtimeMs = node.birthtimeMs;
    this.atime = new Date(this.atimeMs);
    this.mtime = new Date(this.mtimeMs);
    this.ctime = new Date(this.ctimeMs);
    this.birthtime = new Date(this.birthtimeMs);
  }

  isDirectory(): boolean {
    return (this.mode & S_IFMT) === S_IFDIR;
  }
}

class SimDirent extends FileType {
  constructor(
    readonly name: string,
    readonly parentPath: string,
    private readonly dir: boolean,
  ) {
    super();
  }
  /** Node 20's deprecated alias of parentPath. */
  get path(): string {
    return this.parentPath;
  }
  isDirectory(): boolean {
    return this.dir;
  }
}

// ------------------------------------------------------------------------------------------------ argument parsing

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_SYNC, O_DSYNC } = constants;

const FLAGS: Record<string, number> = {
  r: O_RDONLY,
  rs: O_RDONLY | O_SYNC,
  sr: O_RDONLY | O_SYNC,
  'r+': O_RDWR,
  'rs+': O_RDWR | O_SYNC,
  'sr+': O_RDWR | O_SYNC,
  w: O_TRUNC | O_CREAT | O_WRONLY,
  wx: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  xw: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  'w+': O_TRUNC | O_CREAT | O_RDWR,
  'wx+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  'xw+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  a: O_APPEND | O_CREAT | O_WRONLY,
  ax: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  xa: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  as: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  sa: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  'a+': O_APPEND | O_CREAT | O_RDWR,
  'ax+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'xa+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'as+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
  'sa+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
};

function parseFlags(flags: unknown, def = 'r'): number {
  if (flags === undefined || flags === null) return FLAGS[def];
  if (typeof flags === 'number') return flags;
  const f = typeof flags === 'string' ? FLAGS[flags] : undefined;
  if (f === undefined) throw new TypeError(`The value ${JSON.stringify(flags)} is invalid for option "flags"`);
  return f;
}

function toPathString(p: unknown): string {
  if (typeof p === 'string') return p;
  if (Buffer.isBuffer(p)) return p.toString('utf8');
  if (p instanceof URL) return fileURLToPath(p);
  throw new TypeError(`The "path" argument must be of type string, Buffer or URL. Received ${typeof p}`);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !ArrayBuffer.isView(x);
}

function bytesOf(v: ArrayBufferView): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** A position argument: a number >= 0 (or bigint) is positional; null, undefined and -1 mean "the fd's position". */
function toPosition(p: unknown): number | null {
  if (typeof p === 'bigint') return p >= 0n ? Number(p) : null;
  return typeof p === 'number' && p >= 0 ? p : null;
}

function encodingOf(opts: unknown): BufferEncoding | undefined {
  if (typeof opts === 'string') return opts as BufferEncoding;
  if (isObject(opts) && typeof opts.encoding === 'string') return opts.encoding as BufferEncoding;
  return undefined;
}

function optionOf<T>(opts: unknown, key: string): T | undefined {
  return isObject(opts) ? (opts[key] as T | undefined) : undefined;
}

interface ReadArgs {
  buf: Buffer;
  /** The caller's buffer, returned as it was given. */
  given: unknown;
  off: number;
  len: number;
  position: number | null;
}

/** read(buffer, offset?, length?, position?) | read(buffer, {offset, length, position}) | read({buffer, ...}). */
function parseRead(args: unknown[]): ReadArgs {
  let [b, off, len, pos] = args;
  if (ArrayBuffer.isView(b)) {
    if (isObject(off)) ({ offset: off, length: len, position: pos } = off);
  } else {
    const o = isObject(b) ? b : {};
    b = o.buffer ?? Buffer.alloc(16384);
    ({ offset: off, length: len, position: pos } = o);
  }
  const buf = bytesOf(b as ArrayBufferView);
  const o = typeof off === 'number' ? off : 0;
  const l = typeof len === 'number' ? len : buf.length - o;
  if (o + l > buf.length) throw outOfRange('length', buf.length - o, l);
  return { buf, given: b, off: o, len: l, position: toPosition(pos) };
}

/** write(buffer, offset?, length?, position?) | write(buffer, {offset, length, position}) | write(string, position?, encoding?). */
function parseWrite(args: unknown[]): { data: Buffer; position: number | null } {
  const [d, a1, a2, a3] = args;
  if (typeof d === 'string') return { data: Buffer.from(d, (a2 as BufferEncoding | undefined) ?? 'utf8'), position: toPosition(a1) };
  if (!ArrayBuffer.isView(d)) throw new TypeError('The "buffer" argument must be a string, Buffer, TypedArray or DataView');
  const bytes = bytesOf(d);
  let [off, len, pos] = [a1, a2, a3];
  if (isObject(a1)) ({ offset: off, length: len, position: pos } = a1);
  const o = typeof off === 'number' ? off : 0;
  const l = typeof len === 'number' ? len : bytes.length - o;
  if (o + l > bytes.length) throw outOfRange('length', bytes.length - o, l);
  return { data: bytes.subarray(o, o + l), position: toPosition(pos) };
}

function dataOf(data: unknown, opts: unknown): Buffer {
  if (typeof data === 'string') return Buffer.from(data, encodingOf(opts) ?? 'utf8');
  if (ArrayBuffer.isView(data)) return bytesOf(data);
  throw new TypeError('The "data" argument must be a string, Buffer, TypedArray or DataView');
}

function takeCallback(args: unknown[]): Callback {
  const cb = args.pop();
  if (typeof cb !== 'function') throw new TypeError('The "cb" argument must be of type function');
  return cb as Callback;
}

function within(p: string, root: string): boolean {
  return p === root || p.startsWith(root === '/' ? '/' : root + '/');
}

// ------------------------------------------------------------------------------------------------ the file system

/** The state and the synchronous semantics; the fs facade, FileHandles and streams are built on it. */
class Core {
  readonly root: DirNode;
  readonly fds = new Map<number, OpenFile>();
  readonly capacity = new Map<string, number>();
  private nextFd = 100;
  private nextIno = 2;
  private readonly syncLatency: [number, number];
  private readonly ioLatency: [number, number];
  readonly tornWrites: boolean;
  readonly lyingSync: boolean;

  constructor(
    readonly loop: SimLoop,
    readonly rng: Rng,
    opts: SimDiskOptions,
  ) {
    this.syncLatency = opts.syncLatencyMs ?? [1, 8];
    this.ioLatency = opts.ioLatencyMs ?? [0, 1];
    this.tornWrites = opts.tornWrites ?? true;
    this.lyingSync = opts.lyingSync ?? false;
    this.root = new DirNode(1, this.nowMs(), this.nowMs());
  }

  nowMs(): number {
    return SIM_EPOCH_MS + this.loop.now;
  }

  // ------------------------------------------------------------------ completions

  /**
   * Runs `run` now and reports its outcome through `done` after a simulated latency, as an event of the caller.
   * `finish` runs at completion, before `done` (a sync's durability point). A completion involving an fd a crash
   * closed is dropped: the process that waited for it is gone.
   */
  later<T>(kind: Latency, run: () => T, done: Done<T>, o: { fd?: unknown; finish?: (v: T) => void } = {}): void {
    const recs: OpenFile[] = [];
    const before = typeof o.fd === 'number' ? this.fds.get(o.fd) : undefined;
    if (before) recs.push(before);
    let err: Error | null = null;
    let v: T | undefined;
    try {
      v = run();
    } catch (e) {
      err = e as Error;
    }
    if (v instanceof OpenFile) recs.push(v);
    const [lo, hi] = kind === 'sync' ? this.syncLatency : this.ioLatency;
    this.loop.schedule(this.rng.int(lo, hi), () => {
      if (recs.some((r) => r.killed)) return;
      if (err === null) o.finish?.(v as T);
      done(err, v);
    });
  }

  promise<T>(kind: Latency, run: () => T, o: { fd?: unknown; finish?: (v: T) => void } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => this.later(kind, run, (e, v) => (e ? reject(e) : resolve(v as T)), o));
  }

  // ------------------------------------------------------------------ paths

  abs(p: unknown): string {
    return path.posix.resolve(toPathString(p));
  }

  /** The node at an absolute path; ENOENT / ENOTDIR like the kernel's path walk. */
  lookup(full: string, syscall: string, shown: string): Node {
    let node: Node = this.root;
    for (const name of full.split('/')) {
      if (name === '') continue;
      if (node.kind !== 'dir') throw sysError('ENOTDIR', syscall, shown);
      const next = node.children.get(name);
      if (next === undefined) throw sysError('ENOENT', syscall, shown);
      node = next;
    }
    return node;
  }

  tryLookup(full: string): Node | undefined {
    try {
      return this.lookup(full, 'stat', full);
    } catch {
      return undefined;
    }
  }

  /** The directory that holds (or would hold) `full`, and the entry's name. */
  parentOf(full: string, syscall: string, shown: string, dest?: string): [DirNode, string] {
    if (full === '/') throw sysError('EBUSY', syscall, shown, dest);
    const dir = this.lookupFor(path.posix.dirname(full), syscall, shown, dest);
    if (dir.kind !== 'dir') throw sysError('ENOTDIR', syscall, shown, dest);
    return [dir, path.posix.basename(full)];
  }

  private lookupFor(full: string, syscall: string, shown: string, dest?: string): Node {
    try {
      return this.lookup(full, syscall, shown);
    } catch (e) {
      if (dest === undefined) throw e;
      throw sysError((e as NodeJS.ErrnoException).code as keyof typeof ERRNO, syscall, shown, dest);
    }
  }

  /** Every file under `root` (itself, if it is a file), in sorted path order. */
  walkFiles(root: string): Array<[string, FileNode]> {
    const out: Array<[string, FileNode]> = [];
    const visit = (p: string, n: Node): void => {
      if (n.kind === 'file') {
        out.push([p, n]);
        return;
      }
      for (const name of [...n.children.keys()].sort()) visit(p === '/' ? `/${name}` : `${p}/${name}`, n.children.get(name)!);
    };
    const n = this.tryLookup(root);
    if (n !== undefined) visit(root, n);
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  // ------------------------------------------------------------------ file descriptors

  rec(fd: unknown, syscall: string): OpenFile {
    const r = typeof fd === 'number' ? this.fds.get(fd) : undefined;
    if (r === undefined) throw sysError('EBADF', syscall);
    return r;
  }

  open(p: unknown, flags: unknown, defFlags = 'r'): OpenFile {
    const shown = toPathString(p);
    const full = this.abs(p);
    const f = parseFlags(flags, defFlags);
    const acc = f & 3;
    const writable = acc === O_WRONLY || acc === O_RDWR;
    let node: Node | undefined;
    let dir: DirNode | undefined;
    let name = '';
    if (full === '/') node = this.root;
    else {
      [dir, name] = this.parentOf(full, 'open', shown);
      node = dir.children.get(name);
    }
    if (node !== undefined) {
      if (f & O_CREAT && f & O_EXCL) throw sysError('EEXIST', 'open', shown);
      if (node.kind === 'dir' && writable) throw sysError('EISDIR', 'open', shown);
      if (node.kind === 'file' && f & O_TRUNC && writable && (node.content.size > 0 || node.pending.length > 0)) {
        this.record(node, { seq: 0, truncate: 0 });
      }
    } else {
      if (!(f & O_CREAT) || dir === undefined) throw sysError('ENOENT', 'open', shown);
      node = new FileNode(this.nextIno++, this.nowMs(), this.nowMs());
      dir.children.set(name, node);
      dir.mtimeMs = this.nowMs();
    }
    const syncWrites = (f & O_SYNC) === O_SYNC || (f & O_DSYNC) === O_DSYNC;
    const r = new OpenFile(this.nextFd++, node, full, acc !== O_WRONLY, writable, (f & O_APPEND) !== 0, syncWrites, this.loop.current);
    this.fds.set(r.fd, r);
    return r;
  }

  close(fd: unknown): void {
    const r = this.rec(fd, 'close');
    r.closed = true;
    this.fds.delete(r.fd);
  }

  // ------------------------------------------------------------------ data

  /** Applies a change to the current content and remembers it as unsynced. */
  private record(node: FileNode, op: Op): void {
    op.seq = ++node.seq;
    applyOp(node.content, op);
    node.pending.push(op);
    node.mtimeMs = this.nowMs();
  }

  /** Makes durable every op of `node` up to `seq` (a sync called when node.seq was `seq`). */
  commit(node: Node, seq: number): void {
    if (node.kind !== 'file' || this.lyingSync) return;
    while (node.pending.length > 0 && node.pending[0].seq <= seq) applyOp(node.durable, node.pending.shift()!);
  }

  /** Everything the file holds now becomes durable (sync, O_SYNC writes, corruption helpers). */
  commitAll(node: Node): void {
    if (node.kind === 'file') this.commit(node, node.seq);
  }

  read(fd: unknown, a: ReadArgs): number {
    const r = this.rec(fd, 'read');
    if (r.node.kind === 'dir') throw sysError('EISDIR', 'read');
    if (!r.readable) throw sysError('EBADF', 'read');
    const pos = a.position ?? r.pos;
    const n = r.node.content.read(pos, a.buf, a.off, a.len);
    if (a.position === null) r.pos = pos + n;
    return n;
  }

  /** The rest of the file from the fd's position (readFile on an fd). */
  readRest(fd: unknown): Buffer {
    const r = this.rec(fd, 'read');
    if (r.node.kind === 'dir') throw sysError('EISDIR', 'read');
    const b = Buffer.alloc(Math.max(0, r.node.content.size - r.pos));
    return b.subarray(0, this.read(fd, { buf: b, given: b, off: 0, len: b.length, position: null }));
  }

  write(fd: unknown, data: Uint8Array, position: number | null): number {
    const r = this.rec(fd, 'write');
    if (!r.writable || r.node.kind !== 'file') throw sysError('EBADF', 'write');
    const node = r.node;
    // O_APPEND: the kernel writes at the end whatever the position (Node documents this for Linux).
    const pos = r.append ? node.content.size : (position ?? r.pos);
    this.checkSpace(r.path, node, pos + data.length, 'write');
    if (data.length > 0) this.record(node, { seq: 0, pos, data: Buffer.from(data) });
    if (position === null || r.append) r.pos = pos + data.length;
    if (r.syncWrites) this.commitAll(node);
    return data.length;
  }

  writev(fd: unknown, buffers: unknown, position: unknown): number {
    if (!Array.isArray(buffers)) throw new TypeError('The "buffers" argument must be an array of ArrayBufferViews');
    return this.write(fd, Buffer.concat(buffers.map((b) => bytesOf(b as ArrayBufferView))), toPosition(position));
  }

  ftruncate(fd: unknown, len: unknown): void {
    const r = this.rec(fd, 'ftruncate');
    if (!r.writable || r.node.kind !== 'file') throw sysError('EINVAL', 'ftruncate');
    const length = typeof len === 'number' ? Math.max(0, len) : 0;
    this.checkSpace(r.path, r.node, length, 'ftruncate');
    this.record(r.node, { seq: 0, truncate: length });
    if (r.syncWrites) this.commitAll(r.node);
  }

  /** What a sync called now must make durable. */
  syncTarget(fd: unknown, syscall: string): { node: Node; seq: number } {
    const r = this.rec(fd, syscall);
    return { node: r.node, seq: r.node.kind === 'file' ? r.node.seq : 0 };
  }

  /** ENOSPC when growing `node` to `end` bytes would overflow a capacity set on a directory holding it. */
  private checkSpace(file: string, node: FileNode, end: number, syscall: string): void {
    const grow = end - node.content.size;
    if (grow <= 0) return;
    for (const [root, cap] of this.capacity) {
      if (within(file, root) && this.usage(root) + grow > cap) throw sysError('ENOSPC', syscall);
    }
  }

  usage(root: string): number {
    let total = 0;
    for (const [, f] of this.walkFiles(root)) total += f.content.size;
    return total;
  }

  // ------------------------------------------------------------------ whole files

  readFile(p: unknown, opts: unknown): Buffer | string {
    let b: Buffer;
    if (typeof p === 'number') b = this.readRest(p);
    else {
      const shown = toPathString(p);
      const node = this.lookup(this.abs(p), 'open', shown);
      if (node.kind === 'dir') throw sysError('EISDIR', 'read');
      b = node.content.bytes();
    }
    const enc = encodingOf(opts);
    return enc === undefined || (enc as string) === 'buffer' ? b : b.toString(enc);
  }

  writeFile(p: unknown, data: unknown, opts: unknown, defFlag: string): void {
    const bytes = dataOf(data, opts);
    if (typeof p === 'number') {
      this.write(p, bytes, null);
      return;
    }
    const r = this.open(p, optionOf(opts, 'flag'), defFlag);
    try {
      this.write(r.fd, bytes, null);
    } finally {
      this.close(r.fd);
    }
  }

  truncatePath(p: unknown, len: unknown): void {
    const r = this.open(p, 'r+');
    try {
      this.ftruncate(r.fd, len);
    } finally {
      this.close(r.fd);
    }
  }

  // ------------------------------------------------------------------ metadata and directories

  stat(p: unknown, syscall: string, opts?: unknown): SimStats | undefined {
    try {
      return new SimStats(this.lookup(this.abs(p), syscall, toPathString(p)));
    } catch (e) {
      if (optionOf<boolean>(opts, 'throwIfNoEntry') === false && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  fstat(fd: unknown): SimStats {
    return new SimStats(this.rec(fd, 'fstat').node);
  }

  exists(p: unknown): boolean {
    try {
      return this.tryLookup(this.abs(p)) !== undefined;
    } catch {
      return false;
    }
  }

  access(p: unknown): void {
    this.lookup(this.abs(p), 'access', toPathString(p));
  }

  readdir(p: unknown, opts: unknown): string[] | SimDirent[] {
    const shown = toPathString(p);
    const full = this.abs(p);
    if (optionOf<boolean>(opts, 'recursive') === true) throw new Error('SimDisk: readdir {recursive: true} is not supported');
    const node = this.lookup(full, 'scandir', shown);
    if (node.kind !== 'dir') throw sysError('ENOTDIR', 'scandir', shown);
    const names = [...node.children.keys()].sort();
    if (optionOf<boolean>(opts, 'withFileTypes') !== true) return names;
    return names.map((n) => new SimDirent(n, full, node.children.get(n)!.kind === 'dir'));
  }

  mkdir(p: unknown, opts: unknown): string | undefined {
    const shown = toPathString(p);
    const full = this.abs(p);
    if (optionOf<boolean>(opts, 'recursive') !== true) {
      const [dir, name] = this.parentOf(full, 'mkdir', shown);
      if (dir.children.has(name)) throw sysError('EEXIST', 'mkdir', shown);
      this.addDir(dir, name);
      return undefined;
    }
    return this.mkdirRecursive(full, shown);
  }

  /** mkdir -p: returns the first directory created, undefined when all existed. */
  private mkdirRecursive(full: string, shown: string): string | undefined {
    let node: Node = this.root;
    let first: string | undefined;
    let at = '';
    const names = full.split('/').filter((n) => n !== '');
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      at += `/${name}`;
      if (node.kind !== 'dir') throw sysError('ENOTDIR', 'mkdir', shown);
      const next = node.children.get(name);
      if (next === undefined) {
        first ??= at;
        node = this.addDir(node, name);
      } else if (next.kind === 'file' && i === names.length - 1) {
        throw sysError('EEXIST', 'mkdir', shown);
      } else {
        node = next;
      }
    }
    return first;
  }

  private addDir(parent: DirNode, name: string): DirNode {
    const d = new DirNode(this.nextIno++, this.nowMs(), this.nowMs());
    parent.children.set(name, d);
    parent.mtimeMs = this.nowMs();
    return d;
  }

  rm(p: unknown, opts: unknown): void {
    const shown = toPathString(p);
    const full = this.abs(p);
    let node: Node;
    try {
      node = this.lookup(full, 'lstat', shown);
    } catch (e) {
      if (optionOf<boolean>(opts, 'force') === true && (e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    if (node.kind === 'dir' && optionOf<boolean>(opts, 'recursive') !== true) throw rmDirError(shown);
    this.detach(full, 'rm', shown);
  }

  rmdir(p: unknown): void {
    const shown = toPathString(p);
    const full = this.abs(p);
    const node = this.lookup(full, 'rmdir', shown);
    if (node.kind !== 'dir') throw sysError('ENOTDIR', 'rmdir', shown);
    if (node.children.size > 0) throw sysError('ENOTEMPTY', 'rmdir', shown);
    this.detach(full, 'rmdir', shown);
  }

  unlink(p: unknown): void {
    const shown = toPathString(p);
    const full = this.abs(p);
    const node = this.lookup(full, 'unlink', shown);
    if (node.kind === 'dir') throw sysError('EISDIR', 'unlink', shown);
    this.detach(full, 'unlink', shown);
  }

  /** Removes a directory entry; open fds keep the (now nameless) file, as on POSIX. */
  private detach(full: string, syscall: string, shown: string): void {
    const [dir, name] = this.parentOf(full, syscall, shown);
    dir.children.delete(name);
    dir.mtimeMs = this.nowMs();
  }

  rename(from: unknown, to: unknown): void {
    const [shownA, shownB] = [toPathString(from), toPathString(to)];
    const [a, b] = [this.abs(from), this.abs(to)];
    const [dirA, nameA] = this.parentOf(a, 'rename', shownA, shownB);
    const node = dirA.children.get(nameA);
    if (node === undefined) throw sysError('ENOENT', 'rename', shownA, shownB);
    const [dirB, nameB] = this.parentOf(b, 'rename', shownA, shownB);
    if (a === b) return;
    if (node.kind === 'dir' && within(b, a)) throw sysError('EINVAL', 'rename', shownA, shownB);
    const target = dirB.children.get(nameB);
    if (target !== undefined) {
      if (node.kind === 'file' && target.kind === 'dir') throw sysError('EISDIR', 'rename', shownA, shownB);
      if (node.kind === 'dir' && target.kind === 'file') throw sysError('ENOTDIR', 'rename', shownA, shownB);
      if (target.kind === 'dir' && target.children.size > 0) throw sysError('ENOTEMPTY', 'rename', shownA, shownB);
    }
    dirA.children.delete(nameA);
    dirB.children.set(nameB, node);
    dirA.mtimeMs = dirB.mtimeMs = this.nowMs();
  }

  // ------------------------------------------------------------------ crashes

  /** Power loss for the files under root; closes the fds of `owner` (every fd under root when omitted). */
  crash(root: string, owner?: Owner): void {
    const r = path.posix.resolve(root);
    for (const [, node] of this.walkFiles(r)) this.revert(node);
    const fds = [...this.fds.values()].sort((x, y) => x.fd - y.fd);
    for (const f of fds) {
      if (owner !== undefined ? f.owner !== owner : !within(f.path, r)) continue;
      f.closed = f.killed = true;
      this.fds.delete(f.fd);
    }
  }

  /** The file after a power loss: its durable content plus, with torn writes, some of what followed. */
  private revert(node: FileNode): void {
    if (node.pending.length === 0) return;
    const keep = this.tornWrites ? this.rng.below(node.pending.length + 1) : 0;
    for (let i = 0; i < keep; i++) {
      let op = node.pending[i];
      // The last write that reached the platter may have reached it only in part.
      if (i === keep - 1 && 'data' in op && this.rng.chance(0.5)) op = { ...op, data: op.data.subarray(0, this.rng.below(op.data.length)) };
      applyOp(node.durable, op);
    }
    node.pending = [];
    node.content = node.durable.clone();
  }

  fileAt(p: string, syscall: string): FileNode {
    const node = this.lookup(this.abs(p), syscall, p);
    if (node.kind !== 'file') throw sysError('EISDIR', syscall, p);
    return node;
  }
}

// ------------------------------------------------------------------------------------------------ FileHandle

/** fs/promises FileHandle over a simulated fd. */
class SimFileHandle {
  private handleFd: number;

  constructor(
    private readonly core: Core,
    fd: number,
  ) {
    this.handleFd = fd;
  }

  /** -1 once closed, as Node's. */
  get fd(): number {
    return this.handleFd;
  }

  read(...args: unknown[]): Promise<{ bytesRead: number; buffer: unknown }> {
    return this.core.promise('io', () => {
      const a = parseRead(args);
      return { bytesRead: this.core.read(this.handleFd, a), buffer: a.given };
    }, { fd: this.handleFd });
  }

  write(...args: unknown[]): Promise<{ bytesWritten: number; buffer: unknown }> {
    return this.core.promise('io', () => {
      const { data, position } = parseWrite(args);
      return { bytesWritten: this.core.write(this.handleFd, data, position), buffer: args[0] };
    }, { fd: this.handleFd });
  }

  writev(buffers: unknown, position?: unknown): Promise<{ bytesWritten: number; buffers: unknown }> {
    return this.core.promise('io', () => ({ bytesWritten: this.core.writev(this.handleFd, buffers, position), buffers }), { fd: this.handleFd });
  }

  readFile(opts?: unknown): Promise<Buffer | string> {
    return this.core.promise('io', () => this.core.readFile(this.handleFd, opts), { fd: this.handleFd });
  }

  /** Writes from the handle's position, as Node does (from 0 for a fresh handle). */
  writeFile(data: unknown, opts?: unknown): Promise<void> {
    return this.core.promise('io', () => this.core.writeFile(this.handleFd, data, opts, 'w'), { fd: this.handleFd });
  }

  appendFile(data: unknown, opts?: unknown): Promise<void> {
    return this.writeFile(data, opts);
  }

  truncate(len?: unknown): Promise<void> {
    return this.core.promise('io', () => this.core.ftruncate(this.handleFd, len), { fd: this.handleFd });
  }

  stat(): Promise<SimStats> {
    return this.core.promise('io', () => this.core.fstat(this.handleFd), { fd: this.handleFd });
  }

  sync(): Promise<void> {
    return this.syncAs('fsync');
  }

  datasync(): Promise<void> {
    return this.syncAs('fdatasync');
  }

  private syncAs(syscall: string): Promise<void> {
    return this.core
      .promise('sync', () => this.core.syncTarget(this.handleFd, syscall), { fd: this.handleFd, finish: (t) => this.core.commit(t.node, t.seq) })
      .then(() => undefined);
  }

  /** Closing a closed handle succeeds, as Node's does. */
  close(): Promise<void> {
    const fd = this.handleFd;
    if (fd === -1) return this.core.promise('io', () => undefined);
    this.handleFd = -1;
    return this.core.promise('io', () => this.core.close(fd), { fd });
  }
}

// ------------------------------------------------------------------------------------------------ streams

interface ReadStreamOptions {
  flags?: string;
  encoding?: BufferEncoding;
  highWaterMark?: number;
  start?: number;
  end?: number;
}

/**
 * fs.createReadStream: opens, then reads one highWaterMark chunk per simulated I/O completion, so reading a file
 * takes simulated time and happens in the owner's events; an open error is an 'error' event, as in Node.
 */
function createReadStream(core: Core, p: unknown, options: unknown): Readable {
  const o: ReadStreamOptions = typeof options === 'string' ? { encoding: options as BufferEncoding } : isObject(options) ? (options) : {};
  const hwm = o.highWaterMark ?? 64 * 1024;
  let pos = o.start ?? 0;
  const last = o.end ?? Infinity;
  let rec: OpenFile | undefined;
  const stream = new Readable({
    highWaterMark: hwm,
    construct(cb) {
      core.later('io', () => core.open(p, o.flags ?? 'r'), (e, r) => {
        rec = r;
        cb(e);
        if (r !== undefined) {
          stream.emit('open', r.fd);
          stream.emit('ready');
        }
      });
    },
    read() {
      const fd = rec?.fd;
      core.later('io', () => {
        const want = Math.max(0, Math.min(hwm, last + 1 - pos));
        const buf = Buffer.alloc(want);
        return buf.subarray(0, core.read(fd, { buf, given: buf, off: 0, len: want, position: pos }));
      }, (e, chunk) => {
        if (e) stream.destroy(e);
        else if (chunk === undefined || chunk.length === 0) stream.push(null);
        else {
          pos += chunk.length;
          (stream as Readable & { bytesRead: number }).bytesRead += chunk.length;
          stream.push(chunk);
        }
      }, { fd });
    },
    destroy(err, cb) {
      if (rec !== undefined && !rec.closed) core.close(rec.fd);
      cb(err);
    },
  });
  Object.assign(stream, { path: toPathString(p), bytesRead: 0 });
  if (o.encoding !== undefined) stream.setEncoding(o.encoding);
  return stream;
}

// ------------------------------------------------------------------------------------------------ the facade

type FsModule = typeof import('node:fs');

/** Node's callback API over the core: each call acts now and calls back later, through the loop. */
function callbackApi(c: Core): Record<string, (...a: unknown[]) => void> {
  const plain = (kind: Latency, run: (a: unknown[]) => unknown, fdArg = false) => (...a: unknown[]): void => {
    const cb = takeCallback(a);
    // Node calls back (err) for calls without a result, (null, result) otherwise.
    c.later(kind, () => run(a), (e, v) => (e ? cb(e) : v === undefined ? cb(null) : cb(null, v)), { fd: fdArg ? a[0] : undefined });
  };
  const sync = (syscall: string) => (...a: unknown[]): void => {
    const cb = takeCallback(a);
    c.later('sync', () => c.syncTarget(a[0], syscall), (e) => cb(e), { fd: a[0], finish: (t) => c.commit(t.node, t.seq) });
  };
  return {
    open: (...a) => {
      const cb = takeCallback(a);
      c.later('io', () => c.open(a[0], a[1]), (e, r) => (e ? cb(e) : cb(null, r!.fd)));
    },
    close: plain('io', (a) => c.close(a[0]), true),
    read: (...a) => {
      const cb = takeCallback(a);
      c.later('io', () => {
        const r = parseRead(a.slice(1));
        return [c.read(a[0], r), r.given] as const;
      }, (e, v) => (e ? cb(e) : cb(null, v![0], v![1])), { fd: a[0] });
    },
    write: (...a) => {
      const cb = takeCallback(a);
      c.later('io', () => {
        const { data, position } = parseWrite(a.slice(1));
        return c.write(a[0], data, position);
      }, (e, n) => (e ? cb(e) : cb(null, n, a[1])), { fd: a[0] });
    },
    writev: (...a) => {
      const cb = takeCallback(a);
      c.later('io', () => c.writev(a[0], a[1], a[2]), (e, n) => (e ? cb(e) : cb(null, n, a[1])), { fd: a[0] });
    },
    ftruncate: plain('io', (a) => c.ftruncate(a[0], a[1]), true),
    truncate: plain('io', (a) => c.truncatePath(a[0], a[1])),
    fsync: sync('fsync'),
    fdatasync: sync('fdatasync'),
    fstat: plain('io', (a) => c.fstat(a[0]), true),
    stat: plain('io', (a) => c.stat(a[0], 'stat')),
    lstat: plain('io', (a) => c.stat(a[0], 'lstat')),
    access: plain('io', (a) => c.access(a[0])),
    readdir: plain('io', (a) => c.readdir(a[0], a[1])),
    readFile: plain('io', (a) => c.readFile(a[0], a[1])),
    writeFile: plain('io', (a) => c.writeFile(a[0], a[1], a[2], 'w')),
    appendFile: plain('io', (a) => c.writeFile(a[0], a[1], a[2], 'a')),
    mkdir: plain('io', (a) => c.mkdir(a[0], a[1])),
    rm: plain('io', (a) => c.rm(a[0], a[1])),
    rmdir: plain('io', (a) => c.rmdir(a[0])),
    unlink: plain('io', (a) => c.unlink(a[0])),
    rename: plain('io', (a) => c.rename(a[0], a[1])),
  };
}

/** Node's synchronous API over the core. */
function syncApi(c: Core): Record<string, (...a: unknown[]) => unknown> {
  return {
    openSync: (p, flags) => c.open(p, flags).fd,
    closeSync: (fd) => c.close(fd),
    readSync: (fd, ...a) => c.read(fd, parseRead(a)),
    writeSync: (fd, ...a) => {
      const { data, position } = parseWrite(a);
      return c.write(fd, data, position);
    },
    writevSync: (fd, buffers, position) => c.writev(fd, buffers, position),
    ftruncateSync: (fd, len) => c.ftruncate(fd, len),
    truncateSync: (p, len) => c.truncatePath(p, len),
    fsyncSync: (fd) => c.commitAll(c.rec(fd, 'fsync').node),
    fdatasyncSync: (fd) => c.commitAll(c.rec(fd, 'fdatasync').node),
    fstatSync: (fd) => c.fstat(fd),
    statSync: (p, opts) => c.stat(p, 'stat', opts),
    lstatSync: (p, opts) => c.stat(p, 'lstat', opts),
    existsSync: (p) => c.exists(p),
    accessSync: (p) => c.access(p),
    readdirSync: (p, opts) => c.readdir(p, opts),
    readFileSync: (p, opts) => c.readFile(p, opts),
    writeFileSync: (p, data, opts) => c.writeFile(p, data, opts, 'w'),
    appendFileSync: (p, data, opts) => c.writeFile(p, data, opts, 'a'),
    mkdirSync: (p, opts) => c.mkdir(p, opts),
    rmSync: (p, opts) => c.rm(p, opts),
    rmdirSync: (p) => c.rmdir(p),
    unlinkSync: (p) => c.unlink(p),
    renameSync: (a, b) => c.rename(a, b),
  };
}

/** fs.promises over the core. */
function promiseApi(c: Core): Record<string, (...a: unknown[]) => Promise<unknown>> {
  const io = <T>(run: () => T): Promise<T> => c.promise('io', run);
  return {
    open: async (p, flags) => new SimFileHandle(c, (await io(() => c.open(p, flags))).fd),
    readdir: (p, opts) => io(() => c.readdir(p, opts)),
    readFile: (p, opts) => io(() => c.readFile(p, opts)),
    writeFile: (p, data, opts) => io(() => c.writeFile(p, data, opts, 'w')),
    appendFile: (p, data, opts) => io(() => c.writeFile(p, data, opts, 'a')),
    truncate: (p, len) => io(() => c.truncatePath(p, len)),
    mkdir: (p, opts) => io(() => c.mkdir(p, opts)),
    rm: (p, opts) => io(() => c.rm(p, opts)),
    rmdir: (p) => io(() => c.rmdir(p)),
    unlink: (p) => io(() => c.unlink(p)),
    rename: (a, b) => io(() => c.rename(a, b)),
    stat: (p, opts) => io(() => c.stat(p, 'stat', opts)),
    lstat: (p, opts) => io(() => c.stat(p, 'lstat', opts)),
    access: (p) => io(() => c.access(p)),
  };
}

/** An in-memory file system with crash semantics, driven by a SimLoop. See the top of this file. */
export class SimDisk {
  /** The node:fs look-alike to hand to setSys({ fs }). */
  readonly fs: FsModule;
  private readonly core: Core;

  constructor(loop: SimLoop, rng: Rng, opts: SimDiskOptions = {}) {
    this.core = new Core(loop, rng, opts);
    const c = this.core;
    const api = {
      ...callbackApi(c),
      ...syncApi(c),
      promises: promiseApi(c),
      constants,
      createReadStream: (p: unknown, o?: unknown) => createReadStream(c, p, o),
    };
    this.fs = api as unknown as FsModule;
  }

  /**
   * A power loss / kill -9 of the server whose files are under `root`. Every file under root returns to its durable
   * content, plus (tornWrites) a random prefix of its unsynced writes and truncates, the last write possibly torn.
   * The fds `owner` opened (every fd opened under root when owner is omitted) are closed: later use gives EBADF,
   * and completions still pending for them never deliver. The loop's own kill(owner) is the caller's business.
   */
  crash(root: string, owner?: Owner): void {
    this.core.crash(root, owner);
  }

  /** Caps the total size of the files under root (undefined: no cap). A write past it fails with ENOSPC. */
  setCapacity(root: string, bytes: number | undefined): void {
    const r = path.posix.resolve(root);
    if (bytes === undefined) this.core.capacity.delete(r);
    else this.core.capacity.set(r, bytes);
  }

  /** Bytes used by the files under root (logical sizes). */
  usage(root: string): number {
    return this.core.usage(path.posix.resolve(root));
  }

  /**
   * Inverts the byte at `offset` (fault injection: bit rot). Like a tool that writes and fsyncs, it leaves the whole
   * file durable.
   */
  flipByte(file: string, offset: number): void {
    const node = this.core.fileAt(file, 'open');
    if (offset < 0 || offset >= node.content.size) throw new RangeError(`flipByte: offset ${offset} outside ${file} (${node.content.size} bytes)`);
    node.content.xor(offset, 0xff);
    this.syncWhole(node);
  }

  /** Cuts (or zero-extends) a file to `length` bytes, durably (fault injection: a lost tail). */
  truncate(file: string, length: number): void {
    const node = this.core.fileAt(file, 'open');
    node.content.truncate(length);
    this.syncWhole(node);
  }

  /** The file's current content (what a read sees now). */
  readFile(file: string): Buffer {
    return this.core.fileAt(file, 'open').content.bytes();
  }

  /** The file's durable content (what a crash now would keep at least). */
  durableContent(file: string): Buffer {
    return this.core.fileAt(file, 'open').durable.bytes();
  }

  /** Writes and truncates made to the file since its last sync. */
  unsynced(file: string): number {
    return this.core.fileAt(file, 'open').pending.length;
  }

  /** The files under root, recursively, as absolute paths, sorted. */
  list(root: string): string[] {
    return this.core.walkFiles(path.posix.resolve(root)).map(([p]) => p);
  }

  exists(file: string): boolean {
    return this.core.exists(file);
  }

  /** Open fds (for leak checks), sorted. */
  openFds(): Array<{ fd: number; path: string; owner: Owner }> {
    return [...this.core.fds.values()].sort((a, b) => a.fd - b.fd).map((f) => ({ fd: f.fd, path: f.path, owner: f.owner }));
  }

  /** The content changed outside the op log: it is all durable now, nothing is pending. */
  private syncWhole(node: FileNode): void {
    node.durable = node.content.clone();
    node.pending = [];
    node.mtimeMs = this.core.nowMs();
  }
}
