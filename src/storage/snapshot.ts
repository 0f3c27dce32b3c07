// storage/snapshot.ts: ZooKeeper 3.8 snapshot files (FileSnap, SnapStream, SerializeUtils, DataTree.serialize):
//
//   FileHeader {int magic "ZKSN", int version 2, long dbid -1}
//   int sessionCount, (long sessionId, int timeoutMs)*
//   int aclCount, (long aclId, vector<ACL>)*            aclId -1 is OPEN_ACL_UNSAFE and never stored
//   (ustring path, buffer data, long aclId, StatPersisted)*   depth-first pre-order, root as "", then the string "/"
//   seal: long adler32 of every byte so far, ustring "/"
//   long zxid, int digestVersion, long digest            (3.6+; a reader meeting EOF here has an older snapshot)
//   seal again (the checksum runs on over the first seal and the digest)
//
// gz files hold the same stream gzipped (the checksum covers the uncompressed bytes); the file name decides.
//
// Writing is fuzzy and cooperative: nodes are serialized in chunks between which the event loop runs, so the server
// keeps applying txns. Like ZooKeeper, the file is named (by the caller) after lastProcessedZxid when the snapshot
// starts; sessions are taken at the start; each node as it is when visited (its children read live, a node deleted
// before it is reached is skipped, children as listed when their parent was visited); the digest trailer records (lastProcessedZxid, treeDigest) when the traversal
// ends, which replay checks when it reaches that zxid. storage/ may import jute, protocol, tree, txn, util.
import { clock, fs } from '../util/sys.js';
import type { FileHandle } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { NULL_BUFFER, Writer } from '../jute/codec.js';
import { Perms } from '../protocol/constants.js';
import type { ACL } from '../protocol/records.js';
import { DataTree, type DataTreeOptions, EMPTY_CHILDREN, type ZNode } from '../tree/datatree.js';
import { DIGEST_VERSION } from '../tree/digest.js';
import { type Logger, silentLogger } from '../util/log.js';
import { adler32 } from './adler32.js';

/** "ZKSN" (FileSnap.SNAP_MAGIC). */
export const SNAP_MAGIC = 0x5a4b534e;
export const SNAP_VERSION = 2;
/** FileSnap writes dbid -1. */
export const SNAP_DBID = -1n;
export const SNAPSHOT_PREFIX = 'snapshot';
/** ReferenceCountedACLCache's id for OPEN_ACL_UNSAFE (world:anyone ALL). */
export const OPEN_ACL_ID = -1n;

const DEFAULT_CHUNK_NODES = 2000;
/** A chunk also ends once it holds this many bytes (big data). */
const CHUNK_BYTES = 1 << 20;
/** The ACL pre-pass only looks at ACLs, so it takes bigger steps. */
const ACL_PASS_CHUNK = 20_000;
/** Strings and buffers longer than this are taken as corruption rather than buffered. */
const MAX_FIELD_LEN = 256 << 20;
/** An ACL list longer than this is taken as corruption. */
const MAX_ACL_ENTRIES = 1 << 16;
const READ_CHUNK = 1 << 20;

/** A snapshot that cannot be trusted: bad magic, checksum mismatch, truncation, malformed records. */
export class CorruptSnapshotError extends Error {
  override name = 'CorruptSnapshotError';
  constructor(readonly file: string, readonly detail: string) {
    super(`corrupt snapshot ${file}: ${detail}`);
  }
}

export interface ZxidDigest {
  zxid: number;
  digestVersion: number;
  /** Unsigned, as DataTree.treeDigest. */
  digest: bigint;
}

/** "snapshot.<hex zxid>[.gz]" */
export function snapshotFileName(zxid: number, compression: '' | 'gz' = ''): string {
  return `${SNAPSHOT_PREFIX}.${zxid.toString(16)}${compression === 'gz' ? '.gz' : ''}`;
}

/** Util.getZxidFromName for snapshots: the hex after "snapshot.", or -1. */
export function snapshotZxidFromName(file: string): number {
  const parts = path.basename(file).split('.');
  if (parts.length < 2 || parts[0] !== SNAPSHOT_PREFIX || !/^[0-9a-fA-F]{1,16}$/.test(parts[1] ?? '')) return -1;
  const v = Number.parseInt(parts[1], 16);
  return Number.isSafeInteger(v) ? v : -1;
}

/** SnapStream.getStreamMode: the last dot-separated part of the name. */
function streamMode(file: string): '' | 'gz' | 'snappy' {
  const parts = path.basename(file).split('.');
  if (parts.length < 2) return '';
  const ext = parts[parts.length - 1].toLowerCase();
  return ext === 'gz' ? 'gz' : ext === 'snappy' ? 'snappy' : '';
}

// ------------------------------------------------------------------------------------------------- ACL ids

function isOpenAcl(acl: readonly ACL[]): boolean {
  if (acl.length !== 1) return false;
  const a = acl[0];
  return a.perms === Perms.ALL && a.id.scheme === 'world' && a.id.id === 'anyone';
}

function aclKey(acl: readonly ACL[]): string {
  let k = '';
  for (const a of acl) k += `${a.perms}\u0000${a.id.scheme}\u0000${a.id.id}\u0001`;
  return k;
}

/** The snapshot's ACL map: ids 1, 2, ... in order of first use (ReferenceCountedACLCache.convertAcls). */
class AclIds {
  readonly entries: Array<{ id: bigint; acl: readonly ACL[] }> = [];
  private readonly byKey = new Map<string, bigint>();
  private lastArr: readonly ACL[] | undefined;
  private lastId = OPEN_ACL_ID;

  /** The id of an ACL list; assigns one when `assign`, else undefined for a list not seen in the pre-pass. */
  idOf(acl: readonly ACL[], assign: boolean): bigint | undefined {
    if (acl === this.lastArr) return this.lastId;
    let id: bigint | undefined;
    if (isOpenAcl(acl)) id = OPEN_ACL_ID;
    else {
      const k = aclKey(acl);
      id = this.byKey.get(k);
      if (id === undefined) {
        if (!assign) return undefined;
        id = BigInt(this.entries.length + 1);
        this.byKey.set(k, id);
        this.entries.push({ id, acl: acl.map((a) => ({ perms: a.perms, id: { scheme: a.id.scheme, id: a.id.id } })) });
      }
    }
    this.lastArr = acl;
    this.lastId = id;
    return id;
  }
}

// ------------------------------------------------------------------------------------------------- writing

export interface WriteSnapshotOptions {
  tree: DataTree;
  sessions: Iterable<{ id: bigint; timeoutMs: number }>;
  /** The final file name; the data goes to `<file>.tmp` first. */
  file: string;
  compression?: '' | 'gz';
  logger?: Logger;
  /** Nodes serialized per event-loop turn (default 2000). */
  chunkNodes?: number;
  /**
   * Awaited once the data is on disk, before the file takes its final name; a rejection discards the snapshot. The
   * durable stage waits here until every txn the fuzzy snapshot may hold is durable in the txn log.
   */
  beforePublish?: () => Promise<void>;
}

interface Sink {
  write(b: Buffer): Promise<void>;
  /** Flushes everything; resolves to the bytes written to the file. */
  finish(): Promise<number>;
}

async function writeAll(fh: FileHandle, b: Uint8Array): Promise<void> {
  let off = 0;
  while (off < b.length) {
    const { bytesWritten } = await fh.write(b, off, b.length - off);
    off += bytesWritten;
  }
}

const noop = (): void => undefined;

/** Plain file: one write in flight while the next chunk is serialized. */
function plainSink(fh: FileHandle): Sink {
  let pending: Promise<void> = Promise.resolve();
  let bytes = 0;
  return {
    async write(b) {
      await pending;
      bytes += b.length;
      pending = writeAll(fh, b);
      pending.catch(noop); // awaited on the next write or in finish
    },
    async finish() {
      await pending;
      return bytes;
    },
  };
}

/** gzip: the deflate runs on the thread pool; writes wait while zlib's buffer is full. */
function gzipSink(fh: FileHandle): Sink {
  const gz = zlib.createGzip();
  let bytes = 0;
  const file = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      writeAll(fh, chunk).then(() => cb(), cb);
    },
  });
  const done = pipeline(gz, file);
  done.catch(noop);
  return {
    async write(b) {
      if (!gz.write(b)) {
        const drained = once(gz, 'drain');
        drained.catch(noop);
        await Promise.race([drained, done]);
      }
    },
    async finish() {
      gz.end();
      await done;
      return bytes;
    },
  };
}

const yieldTurn = (): Promise<void> => new Promise((resolve) => clock.setImmediate(resolve));

function writeNode(w: Writer, p: string, node: ZNode, aclId: bigint): void {
  w.string(p);
  w.buffer(node.data);
  w.long(aclId);
  // StatPersisted: czxid, mzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner, pzxid.
  w.longNum(node.czxid).longNum(node.mzxid).longNum(node.ctime).longNum(node.mtime);
  w.int(node.version).int(node.cversion).int(node.aversion);
  w.long(node.ephemeralOwner);
  w.longNum(node.pzxid);
}

/**
 * Writes a fuzzy snapshot of `tree` while it keeps changing: `<file>.tmp`, fdatasync, rename to `file`, fsync of the
 * directory. `zxid` is the tree's lastProcessedZxid when the snapshot started (the caller names the file after
 * it); `nodes` the nodes written; `bytes` the file's size.
 */
export async function writeSnapshot(opts: WriteSnapshotOptions): Promise<{ zxid: number; nodes: number; bytes: number }> {
  const { tree, file } = opts;
  const log = opts.logger ?? silentLogger;
  const chunkNodes = Math.max(1, opts.chunkNodes ?? DEFAULT_CHUNK_NODES);
  const startZxid = tree.lastProcessedZxid;
  const sessions = Array.from(opts.sessions, (s) => [s.id, s.timeoutMs] as const);
  const tmp = `${file}.tmp`;
  const fh = await fs.promises.open(tmp, 'w');
  let closed = false;
  try {
    const sink = opts.compression === 'gz' ? gzipSink(fh) : plainSink(fh);
    let adler = 1;
    const emit = (b: Buffer): Promise<void> => {
      adler = adler32(b, adler);
      return sink.write(b);
    };
    const seal = (w: Writer): void => {
      // The checksum of everything before the seal, then "/".
      w.long(BigInt(adler32(w.view(), adler)));
      w.string('/');
    };

    // Header and sessions (as they are now).
    let w = new Writer(16 + 4 + sessions.length * 12);
    w.int(SNAP_MAGIC).int(SNAP_VERSION).long(SNAP_DBID);
    w.int(sessions.length);
    for (const [id, timeout] of sessions) w.long(id).int(timeout);
    await emit(w.view());

    // ACL map: ids for every ACL list in the tree, gathered in steps (a live walk of the node map).
    const acls = new AclIds();
    const it = tree.nodeEntries();
    for (let done = false; !done;) {
      for (let i = 0; i < ACL_PASS_CHUNK; i++) {
        const r = it.next();
        if (r.done === true) {
          done = true;
          break;
        }
        acls.idOf(r.value[1].acl, true);
      }
      if (!done) await yieldTurn();
    }
    w = new Writer(4 + acls.entries.length * 64);
    w.int(acls.entries.length);
    for (const { id, acl } of acls.entries) {
      w.long(id);
      w.vector(acl, (ww, a) => ww.int(a.perms).string(a.id.scheme).string(a.id.id));
    }
    await emit(w.view());

    // Nodes, depth-first pre-order, a chunk per turn. Each frame walks a copy of one node's child names taken when
    // the node was serialized (as DataTree.serializeNode): a live Set iterator would meet a child deleted and
    // re-created meanwhile twice.
    let nodes = 0;
    let lateAcls = 0;
    const frames: Array<{ prefix: string; names: string[]; i: number }> = [];
    const root = tree.getNode('/');
    let cap = 1 << 18;
    let zxidDigest: ZxidDigest | undefined;
    let first = true;
    let longestChunkMs = 0;
    while (first || frames.length > 0) {
      const chunkStart = clock.monotonic();
      w = new Writer(cap);
      let steps = 0;
      if (first && root !== undefined) {
        writeNode(w, '', root, acls.idOf(root.acl, false) ?? OPEN_ACL_ID);
        nodes++;
        steps++;
        frames.push({ prefix: '/', names: Array.from(root.children), i: 0 });
      }
      first = false;
      while (frames.length > 0 && steps < chunkNodes && w.length < CHUNK_BYTES) {
        steps++;
        const top = frames[frames.length - 1];
        if (top.i >= top.names.length) {
          frames.pop();
          continue;
        }
        const p = top.prefix + top.names[top.i++];
        const node = tree.getNode(p);
        if (node === undefined) continue;
        let aclId = acls.idOf(node.acl, false);
        if (aclId === undefined) {
          // Created or re-ACLed after the ACL map was written: the log replay after this snapshot re-applies its
          // ACL. Until then it reads as no ACL at all (fails closed), where ZooKeeper's reader gets a dangling id.
          lateAcls++;
          aclId = MISSING_ACL_ID;
        }
        writeNode(w, p, node, aclId);
        nodes++;
        if (node.children.size > 0) frames.push({ prefix: p + '/', names: Array.from(node.children), i: 0 });
      }
      if (frames.length === 0) {
        // End of the nodes; the digest trailer is the tree's state at this instant (serializeZxidDigest).
        w.string('/');
        const lz = tree.lastProcessedZxid;
        zxidDigest = lz > 0
          ? { zxid: lz, digestVersion: DIGEST_VERSION, digest: tree.treeDigest }
          : { zxid: 0, digestVersion: DIGEST_VERSION, digest: 0n };
      }
      cap = Math.max(cap, w.length + (w.length >> 3));
      const pending = emit(w.view());
      longestChunkMs = Math.max(longestChunkMs, clock.monotonic() - chunkStart);
      await pending;
      if (frames.length > 0) await yieldTurn();
    }
    log.debug('snapshot nodes written', { file, nodes, longestChunkMs: Math.round(longestChunkMs * 10) / 10 });
    if (lateAcls > 0) log.info('snapshot: nodes whose ACL appeared after the ACL map was written', { count: lateAcls, file });

    // Seal, digest, seal; each seal is the checksum of every byte before it (the second covers the first).
    w = new Writer(64);
    seal(w);
    const zd = zxidDigest ?? { zxid: 0, digestVersion: DIGEST_VERSION, digest: 0n };
    w.longNum(zd.zxid).int(zd.digestVersion).long(zd.digest);
    seal(w);
    await sink.write(w.view());
    const bytes = await sink.finish();

    await fh.datasync();
    closed = true;
    await fh.close();
    await opts.beforePublish?.();
    await fs.promises.rename(tmp, file);
    await fsyncDir(path.dirname(file));
    return { zxid: startZxid, nodes, bytes };
  } catch (e) {
    if (!closed) await fh.close().catch(noop);
    await fs.promises.unlink(tmp).catch(noop);
    throw e;
  }
}

/** ACL id written for a node whose ACL list is not in the snapshot's map (see writeSnapshot); never assigned. */
const MISSING_ACL_ID = -2n;

async function fsyncDir(dir: string): Promise<void> {
  const d = await fs.promises.open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

// ------------------------------------------------------------------------------------------------- reading

/** Thrown inside the parser when the buffered bytes end inside a record. */
const NEED_MORE = new Error('need more input'); // one shared instance: no stack per throw
class Malformed extends Error {}

const EMPTY = Buffer.alloc(0);

/** A cursor over buffered input; keeps the running Adler-32 of every byte consumed before `pos`. */
class Input {
  buf: Buffer = EMPTY;
  pos = 0;
  private checked = 0;
  private adler = 1;
  /** Absolute offset of buf[0] in the uncompressed stream. */
  base = 0;

  feed(chunk: Buffer): void {
    this.checksum();
    const rest = this.buf.subarray(this.pos);
    this.base += this.pos;
    this.buf = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
    this.pos = 0;
    this.checked = 0;
  }

  /** Adler-32 of every byte before `pos`. */
  checksum(): number {
    if (this.checked < this.pos) {
      this.adler = adler32(this.buf, this.adler, this.checked, this.pos);
      this.checked = this.pos;
    }
    return this.adler;
  }

  get offset(): number {
    return this.base + this.pos;
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw NEED_MORE;
  }
  int(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  long(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  longNum(what: string): number {
    this.need(8);
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    const v = hi * 0x100000000 + lo;
    if (!Number.isSafeInteger(v)) throw new Malformed(`${what} out of range at offset ${this.offset}`);
    this.pos += 8;
    return v;
  }
  private len(what: string): number {
    const n = this.int();
    if (n < -1 || n > MAX_FIELD_LEN) throw new Malformed(`bad ${what} length ${n} at offset ${this.offset - 4}`);
    return n;
  }
  string(what: string): string | null {
    const n = this.len(what);
    if (n === -1) return null;
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  /** A copy (the input buffer is reused), NULL_BUFFER for null. */
  buffer(what: string): Buffer {
    const n = this.len(what);
    if (n === -1) return NULL_BUFFER;
    if (n === 0) return Buffer.alloc(0);
    this.need(n);
    const b = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return b;
  }
}

type Phase = 'header' | 'sessionCount' | 'session' | 'aclCount' | 'acl' | 'node' | 'seal1' | 'digest' | 'seal2' | 'extra' | 'seal3' | 'done';

/** Parses the snapshot stream into a tree as bytes arrive. */
class SnapshotParser {
  phase: Phase = 'header';
  private count = 0;
  readonly sessions = new Map<bigint, number>();
  private readonly acls = new Map<bigint, ACL[]>();
  private readonly openAcl: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
  zxidDigest: ZxidDigest | undefined;
  nodes = 0;
  missingAcls = 0;
  private sawRoot = false;
  readonly input = new Input();

  constructor(readonly tree: DataTree) {}

  /** Consumes as much of the buffered input as forms whole records. */
  run(eof: boolean): void {
    const inp = this.input;
    while (this.phase !== 'done') {
      const start = inp.pos;
      try {
        this.step(eof);
      } catch (e) {
        if (e !== NEED_MORE) throw e;
        inp.pos = start;
        if (eof) throw new Malformed(`truncated (in ${this.phase} at offset ${inp.offset})`);
        return;
      }
    }
    if (inp.remaining > 0) throw new Malformed(`${inp.remaining} unexpected bytes after the end at offset ${inp.offset}`);
  }

  private step(eof: boolean): void {
    const inp = this.input;
    switch (this.phase) {
      case 'header': {
        const magic = inp.int();
        inp.int(); // version: not checked, as upstream
        inp.long(); // dbid
        if (magic !== SNAP_MAGIC) throw new Malformed(`bad magic 0x${(magic >>> 0).toString(16)} (expected 0x${SNAP_MAGIC.toString(16)})`);
        this.phase = 'sessionCount';
        return;
      }
      case 'sessionCount':
        this.count = inp.int();
        if (this.count < 0) throw new Malformed(`negative session count ${this.count}`);
        this.phase = this.count > 0 ? 'session' : 'aclCount';
        return;
      case 'session': {
        const id = inp.long();
        const timeout = inp.int();
        this.sessions.set(id, timeout);
        if (--this.count === 0) this.phase = 'aclCount';
        return;
      }
      case 'aclCount':
        this.count = inp.int();
        if (this.count < 0) throw new Malformed(`negative ACL map size ${this.count}`);
        this.phase = this.count > 0 ? 'acl' : 'node';
        this.tree.beginRestore();
        return;
      case 'acl': {
        const id = inp.long();
        const n = inp.int();
        if (n < 0 || n > MAX_ACL_ENTRIES) throw new Malformed(`bad ACL list length ${n} for ACL id ${id}`);
        const list: ACL[] = [];
        for (let i = 0; i < n; i++) {
          const perms = inp.int();
          const scheme = inp.string('scheme') ?? '';
          const aid = inp.string('id') ?? '';
          list.push({ perms, id: { scheme, id: aid } });
        }
        this.acls.set(id, list);
        if (--this.count === 0) this.phase = 'node';
        return;
      }
      case 'node': {
        const p = inp.string('path');
        if (p === '/') {
          if (!this.sawRoot) throw new Malformed('no root node');
          this.phase = 'seal1';
          return;
        }
        if (p === null || (p !== '' && !p.startsWith('/'))) throw new Malformed(`bad path ${JSON.stringify(p)} at offset ${inp.offset}`);
        if ((p === '') === this.sawRoot) throw new Malformed(p === '' ? 'root twice' : `node ${p} before the root`);
        const data = inp.buffer('data');
        const aclId = inp.long();
        const czxid = inp.longNum('czxid');
        const mzxid = inp.longNum('mzxid');
        const ctime = inp.longNum('ctime');
        const mtime = inp.longNum('mtime');
        const version = inp.int();
        const cversion = inp.int();
        const aversion = inp.int();
        const ephemeralOwner = inp.long();
        const pzxid = inp.longNum('pzxid');
        let acl = aclId === OPEN_ACL_ID ? this.openAcl : this.acls.get(aclId);
        if (acl === undefined) {
          // ZooKeeper keeps the dangling id and fails on access until replay re-applies the ACL; we fail closed.
          this.missingAcls++;
          acl = [];
        }
        try {
          this.tree.restoreNode(p, {
            data, acl, czxid, mzxid, pzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner,
            children: EMPTY_CHILDREN,
          });
        } catch (e) {
          throw new Malformed((e as Error).message);
        }
        this.sawRoot = true;
        this.nodes++;
        return;
      }
      case 'seal1':
      case 'seal2':
      case 'seal3': {
        const expected = inp.checksum();
        const val = inp.long();
        const slash = inp.string('seal');
        if (val !== BigInt(expected)) throw new Malformed(`checksum mismatch (${this.phase}: stored ${val}, computed ${expected})`);
        if (slash !== '/') throw new Malformed(`bad seal marker after the checksum at offset ${inp.offset}`);
        this.phase = this.phase === 'seal1' ? 'digest' : this.phase === 'seal2' ? 'extra' : 'done';
        return;
      }
      case 'digest': {
        if (eof && inp.remaining === 0) {
          this.phase = 'done'; // pre-3.6 snapshot: no digest
          return;
        }
        const zxid = inp.longNum('digest zxid');
        const digestVersion = inp.int();
        let digest: bigint;
        if (digestVersion < 2) {
          const hex = inp.string('digest') ?? '';
          if (!/^-?[0-9a-fA-F]{1,16}$/.test(hex)) throw new Malformed(`bad hex digest ${JSON.stringify(hex)}`);
          digest = BigInt.asUintN(64, BigInt(hex.startsWith('-') ? '-0x' + hex.slice(1) : '0x' + hex));
        } else {
          digest = BigInt.asUintN(64, inp.long());
        }
        this.zxidDigest = { zxid, digestVersion, digest };
        this.phase = 'seal2';
        return;
      }
      case 'extra':
        // 3.9 appends lastProcessedZxid and a third seal; 3.8 ends here.
        if (eof && inp.remaining === 0) {
          this.phase = 'done';
          return;
        }
        inp.longNum('lastProcessedZxid');
        this.phase = 'seal3';
        return;
      case 'done':
        return;
    }
  }
}

export interface ReadSnapshotOptions {
  logger?: Logger;
  /** zookeeper.extendedTypesEnabled for the restored tree (TTL nodes). */
  extendedTypesEnabled?: boolean;
  treeOptions?: DataTreeOptions;
}

export interface ReadSnapshotResult {
  tree: DataTree;
  sessions: Map<bigint, number>;
  zxidDigest?: ZxidDigest;
}

/** What a tool wants beyond readSnapshot's answer: the digest trailer as stored (even zero), the node count. */
export interface SnapshotDetails extends ReadSnapshotResult {
  storedZxidDigest?: ZxidDigest;
  nodes: number;
  /** -1 when the file name carries no zxid. */
  nameZxid: number;
}

/**
 * Reads a snapshot (gz by file name, as SnapStream), checking the magic, every seal and that nothing is missing or
 * left over; throws CorruptSnapshotError naming the file otherwise. The tree's lastProcessedZxid is the zxid in the
 * file name (FileSnap.deserialize), or 0 when the name has none. `zxidDigest` is the digest trailer when it is
 * usable as DataTree.deserializeZxidDigest decides (zxid > 0 and not older than the snapshot).
 */
export async function readSnapshot(file: string, opts: ReadSnapshotOptions = {}): Promise<ReadSnapshotResult> {
  const d = await readSnapshotDetails(file, opts);
  return d.zxidDigest === undefined ? { tree: d.tree, sessions: d.sessions } : { tree: d.tree, sessions: d.sessions, zxidDigest: d.zxidDigest };
}

/** readSnapshot plus the raw trailer and counts (for the inspect tool). */
export async function readSnapshotDetails(file: string, opts: ReadSnapshotOptions = {}): Promise<SnapshotDetails> {
  const log = opts.logger ?? silentLogger;
  const mode = streamMode(file);
  if (mode === 'snappy') throw new Error(`snapshot ${file}: snappy compression is not supported`);
  const tree = new DataTree({
    ...opts.treeOptions,
    logger: opts.treeOptions?.logger ?? opts.logger,
    extendedTypesEnabled: opts.extendedTypesEnabled ?? opts.treeOptions?.extendedTypesEnabled,
  });
  const parser = new SnapshotParser(tree);
  const raw = fs.createReadStream(file, { highWaterMark: READ_CHUNK });
  let source: AsyncIterable<Buffer> = raw;
  if (mode === 'gz') {
    const gunzip = zlib.createGunzip({ chunkSize: 256 << 10 });
    raw.on('error', (e) => gunzip.destroy(e));
    source = raw.pipe(gunzip);
  }
  try {
    for await (const chunk of source) {
      parser.input.feed(chunk);
      parser.run(false);
    }
    parser.run(true);
  } catch (e) {
    raw.destroy();
    if (e instanceof Malformed) throw new CorruptSnapshotError(file, e.message);
    const code = (e as NodeJS.ErrnoException).code;
    if ((typeof code === 'string' && code.startsWith('Z_')) || (e as Error).message.includes('unexpected end of file')) {
      throw new CorruptSnapshotError(file, `gzip: ${(e as Error).message}`);
    }
    throw e;
  }
  tree.finishRestore();
  const nameZxid = snapshotZxidFromName(file);
  tree.lastProcessedZxid = nameZxid >= 0 ? nameZxid : 0;
  if (parser.missingAcls > 0) {
    log.warn('snapshot nodes refer to ACL ids missing from its ACL map (fixed by log replay)', { file, count: parser.missingAcls });
  }
  const zd = parser.zxidDigest;
  const res: SnapshotDetails = { tree, sessions: parser.sessions, nodes: parser.nodes, nameZxid };
  if (zd !== undefined) {
    res.storedZxidDigest = zd;
    if (zd.zxid > 0 && (nameZxid < 0 || zd.zxid >= nameZxid)) res.zxidDigest = zd;
  }
  return res;
}

// ------------------------------------------------------------------------------------------------- listing

/** Snapshot files in `dir` (snapshot.<hex>[.gz|.snappy]), newest (highest zxid) first. */
export function listSnapshots(dir: string): Array<{ file: string; zxid: number }> {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: Array<{ file: string; zxid: number }> = [];
  for (const name of names) {
    if (!/^snapshot\.[0-9a-fA-F]{1,16}(\.gz|\.snappy)?$/.test(name)) continue;
    const zxid = snapshotZxidFromName(name);
    if (zxid >= 0) out.push({ file: path.join(dir, name), zxid });
  }
  return out.sort((a, b) => b.zxid - a.zxid);
}

const SNAPPY_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

/**
 * SnapStream.isValidSnapshot: a name with a zxid, and for plain files at least 10 bytes ending in `int 1, '/'` (the
 * seal's "/"); gz and snappy files only need their magic bytes.
 */
export function isValidSnapshotQuick(file: string): boolean {
  if (snapshotZxidFromName(file) < 0) return false;
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const mode = streamMode(file);
    if (mode === 'gz' || mode === 'snappy') {
      const magic = mode === 'gz' ? Buffer.from([0x1f, 0x8b]) : SNAPPY_MAGIC;
      const b = Buffer.alloc(magic.length);
      return fs.readSync(fd, b, 0, b.length, 0) === b.length && b.equals(magic);
    }
    if (size < 10) return false;
    const b = Buffer.alloc(5);
    if (fs.readSync(fd, b, 0, 5, size - 5) !== 5) return false;
    return b.readInt32BE(0) === 1 && b[4] === 0x2f;
  } catch {
    return false;
  } finally {
    fs.closeSync(fd);
  }
}
