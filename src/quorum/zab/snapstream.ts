// quorum/zab/snapstream.ts: the snapshot a leader streams after a SNAP packet (LearnerHandler: ZKDatabase.
// serializeSnapshot then oa.writeString("BenWasHere", "signature"); Learner.syncWithLeader reads it back).
//
// The bytes are the BODY of a snapshot file (SerializeUtils.serializeSnapshot + DataTree.serialize) with no file
// header, no checksum seals and no digest trailer, then the signature:
//
//   int sessionCount, (long sessionId, int timeoutMs)*
//   int aclCount, (long aclId, vector<ACL>)*            aclId -1 = OPEN_ACL_UNSAFE, never in the map
//   (ustring path, buffer data, long aclId, StatPersisted)*   depth-first pre-order, root as "", ends with "/"
//   ustring "BenWasHere"
//
// StatPersisted = long czxid, long mzxid, long ctime, long mtime, int version, int cversion, int aversion,
// long ephemeralOwner, long pzxid. No length prefix anywhere: the reader must parse to find the end, after which the
// stream is QuorumPackets again (LearnerStream below does the switching).
//
// storage/snapshot.ts keeps its node writer and parser private (they also drive checksums and fuzzy chunking), so the
// small record layer is written again here.
import { NULL_BUFFER, Writer } from '../../jute/codec.js';
import { Perms } from '../../protocol/constants.js';
import type { ACL } from '../../protocol/records.js';
import { DataTree, type DataTreeOptions, EMPTY_CHILDREN, type ZNode } from '../../tree/datatree.js';
import { DEFAULT_MAX_PACKET_BUFFER, PacketType, type QuorumPacket, QuorumPacketDecoder } from './packets.js';

export const SNAP_SIGNATURE = 'BenWasHere';
/** ReferenceCountedACLCache's id for OPEN_ACL_UNSAFE. */
const OPEN_ACL_ID = -1n;

// ------------------------------------------------------------------------------------------------- writing

function isOpenAcl(acl: readonly ACL[]): boolean {
  return acl.length === 1 && acl[0].perms === Perms.ALL && acl[0].id.scheme === 'world' && acl[0].id.id === 'anyone';
}
function aclKey(acl: readonly ACL[]): string {
  return acl.map((a) => `${a.perms}\u0000${a.id.scheme}\u0000${a.id.id}`).join('\u0001');
}

export interface SnapStreamSession {
  id: bigint;
  timeoutMs: number;
}

/**
 * The SNAP payload of `tree` and `sessions` as chunks of about `chunkBytes` (default 1 MiB), the signature in the last.
 * Not fuzzy: the caller keeps the tree still while iterating (or serializes it in one go with encodeSnapStream).
 */
export function* snapStreamChunks(tree: DataTree, sessions: Iterable<SnapStreamSession>, chunkBytes = 1 << 20): Generator<Buffer> {
  const list = Array.from(sessions);
  let w = new Writer(4 + list.length * 12);
  w.int(list.length);
  for (const s of list) w.long(s.id).int(s.timeoutMs);

  // ACL map: ids 1, 2, ... in order of first use in the pre-order walk.
  const ids = new Map<string, bigint>();
  const entries: Array<{ id: bigint; acl: readonly ACL[] }> = [];
  const idOf = (acl: readonly ACL[]): bigint => {
    if (isOpenAcl(acl)) return OPEN_ACL_ID;
    const k = aclKey(acl);
    let id = ids.get(k);
    if (id === undefined) {
      id = BigInt(entries.length + 1);
      ids.set(k, id);
      entries.push({ id, acl });
    }
    return id;
  };
  const order: string[] = [];
  const walk: string[] = ['/'];
  while (walk.length > 0) {
    const p = walk.pop() as string;
    const node = tree.getNode(p);
    if (node === undefined) continue;
    order.push(p);
    idOf(node.acl);
    const kids = Array.from(node.children);
    const prefix = p === '/' ? '/' : p + '/';
    for (let i = kids.length - 1; i >= 0; i--) walk.push(prefix + kids[i]);
  }
  w.int(entries.length);
  for (const e of entries) {
    w.long(e.id);
    w.vector(e.acl, (ww, a) => ww.int(a.perms).string(a.id.scheme).string(a.id.id));
  }
  for (const p of order) {
    const node = tree.getNode(p) as ZNode;
    w.string(p === '/' ? '' : p);
    w.buffer(node.data);
    w.long(idOf(node.acl));
    w.longNum(node.czxid).longNum(node.mzxid).longNum(node.ctime).longNum(node.mtime);
    w.int(node.version).int(node.cversion).int(node.aversion);
    w.long(node.ephemeralOwner);
    w.longNum(node.pzxid);
    if (w.length >= chunkBytes) {
      yield w.toBuffer();
      w = new Writer(chunkBytes + (chunkBytes >> 3));
    }
  }
  w.string('/');
  w.string(SNAP_SIGNATURE);
  yield w.toBuffer();
}

export function encodeSnapStream(tree: DataTree, sessions: Iterable<SnapStreamSession>): Buffer {
  return Buffer.concat(Array.from(snapStreamChunks(tree, sessions)));
}

// ------------------------------------------------------------------------------------------------- reading

export class SnapStreamError extends Error {
  override name = 'SnapStreamError';
}

const NEED_MORE = new Error('need more'); // shared: thrown and caught inside the reader only

type Phase = 'sessionCount' | 'session' | 'aclCount' | 'acl' | 'node' | 'signature' | 'done';

export interface SnapStreamResult {
  tree: DataTree;
  sessions: Map<bigint, number>;
  nodes: number;
  /** Bytes of the payload, signature included. */
  bytes: number;
}

/**
 * Parses a SNAP payload as bytes arrive. `push` returns true once the signature has been read; the bytes after it
 * (the next QuorumPackets) are in `rest()`. Throws SnapStreamError on malformed input or a wrong signature.
 */
export class SnapStreamReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private consumed = 0;
  private phase: Phase = 'sessionCount';
  private count = 0;
  private readonly acls = new Map<bigint, ACL[]>();
  private readonly openAcl: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
  private sawRoot = false;
  private nodes = 0;
  readonly tree: DataTree;
  readonly sessions = new Map<bigint, number>();
  /** ACL ids the nodes name that the map lacks (ZooKeeper keeps them dangling; the nodes get an empty ACL here). */
  missingAcls = 0;

  constructor(treeOptions: DataTreeOptions = {}, private readonly maxField = DEFAULT_MAX_PACKET_BUFFER) {
    this.tree = new DataTree(treeOptions);
  }

  get done(): boolean {
    return this.phase === 'done';
  }

  push(chunk: Buffer): boolean {
    if (this.phase === 'done') {
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
      this.pos = 0;
      return true;
    }
    const rest = this.buf.subarray(this.pos);
    this.consumed += this.pos;
    this.buf = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
    this.pos = 0;
    while (!this.done) {
      const start = this.pos;
      try {
        this.step();
      } catch (e) {
        if (e !== NEED_MORE) throw e instanceof SnapStreamError ? e : new SnapStreamError(`snapshot stream at byte ${this.consumed + start}: ${(e as Error).message}`);
        this.pos = start;
        return false;
      }
    }
    return true;
  }

  /** The parsed snapshot; only once done. */
  result(): SnapStreamResult {
    if (this.phase !== 'done') throw new SnapStreamError('snapshot stream not finished');
    return { tree: this.tree, sessions: this.sessions, nodes: this.nodes, bytes: this.consumed + this.pos };
  }

  /** The bytes received after the signature. */
  rest(): Buffer {
    return Buffer.from(this.buf.subarray(this.pos));
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw NEED_MORE;
  }
  private int(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  private long(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  private longNum(what: string): number {
    this.need(8);
    const v = this.buf.readInt32BE(this.pos) * 0x100000000 + this.buf.readUInt32BE(this.pos + 4);
    if (!Number.isSafeInteger(v)) throw new SnapStreamError(`${what} out of range`);
    this.pos += 8;
    return v;
  }
  private len(what: string): number {
    const n = this.int();
    if (n < -1 || n > this.maxField) throw new SnapStreamError(`bad ${what} length ${n}`);
    return n;
  }
  private string(what: string): string | null {
    const n = this.len(what);
    if (n === -1) return null;
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  private buffer(): Buffer {
    const n = this.len('data');
    if (n === -1) return NULL_BUFFER;
    this.need(n);
    const b = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return b;
  }

  private step(): void {
    switch (this.phase) {
      case 'sessionCount':
        this.count = this.int();
        if (this.count < 0) throw new SnapStreamError(`negative session count ${this.count}`);
        this.phase = this.count > 0 ? 'session' : 'aclCount';
        return;
      case 'session': {
        const id = this.long();
        const to = this.int();
        this.sessions.set(id, to);
        if (--this.count === 0) this.phase = 'aclCount';
        return;
      }
      case 'aclCount':
        this.count = this.int();
        if (this.count < 0) throw new SnapStreamError(`negative ACL map size ${this.count}`);
        this.phase = this.count > 0 ? 'acl' : 'node';
        this.tree.beginRestore();
        return;
      case 'acl': {
        const id = this.long();
        const n = this.len('ACL list');
        const list: ACL[] = [];
        for (let i = 0; i < n; i++) {
          const perms = this.int();
          const scheme = this.string('scheme') ?? '';
          const aid = this.string('id') ?? '';
          list.push({ perms, id: { scheme, id: aid } });
        }
        this.acls.set(id, list);
        if (--this.count === 0) this.phase = 'node';
        return;
      }
      case 'node': {
        const p = this.string('path');
        if (p === '/') {
          this.phase = 'signature';
          return;
        }
        if (p === null || (p !== '' && !p.startsWith('/'))) throw new SnapStreamError(`bad path ${JSON.stringify(p)}`);
        const data = this.buffer();
        const aclId = this.long();
        const czxid = this.longNum('czxid');
        const mzxid = this.longNum('mzxid');
        const ctime = this.longNum('ctime');
        const mtime = this.longNum('mtime');
        const version = this.int();
        const cversion = this.int();
        const aversion = this.int();
        const ephemeralOwner = this.long();
        const pzxid = this.longNum('pzxid');
        let acl = aclId === OPEN_ACL_ID ? this.openAcl : this.acls.get(aclId);
        if (acl === undefined) {
          this.missingAcls++;
          acl = [];
        }
        if ((p === '') === this.sawRoot) throw new SnapStreamError(p === '' ? 'root twice' : `node ${p} before the root`);
        try {
          this.tree.restoreNode(p, { data, acl, czxid, mzxid, pzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner, children: EMPTY_CHILDREN });
        } catch (e) {
          throw new SnapStreamError((e as Error).message);
        }
        this.sawRoot = true;
        this.nodes++;
        return;
      }
      case 'signature': {
        const sig = this.string('signature');
        if (sig !== SNAP_SIGNATURE) throw new SnapStreamError(`Missing signature. Got ${JSON.stringify(sig)}`);
        this.tree.finishRestore();
        this.phase = 'done';
        return;
      }
      case 'done':
        return;
    }
  }
}

// ------------------------------------------------------------------------------------------------- learner side

export type LearnerStreamEvent =
  | { kind: 'packet'; packet: QuorumPacket }
  /** The snapshot that followed a SNAP packet; tree.lastProcessedZxid is set to the SNAP packet's zxid. */
  | { kind: 'snapshot'; zxid: number; result: SnapStreamResult };

/**
 * What a learner reads from its leader: QuorumPackets, except that after a SNAP packet the snapshot payload is parsed
 * before packets resume. `push` bytes as they arrive; `next` returns events in order, undefined when more bytes are
 * needed.
 */
export class LearnerStream {
  private readonly packets: QuorumPacketDecoder;
  private snap: { zxid: number; reader: SnapStreamReader } | undefined;

  constructor(private readonly opts: { treeOptions?: DataTreeOptions; maxBuffer?: number } = {}) {
    this.packets = new QuorumPacketDecoder(opts.maxBuffer);
  }

  push(chunk: Buffer): void {
    if (this.snap !== undefined) this.snap.reader.push(chunk);
    else this.packets.push(chunk);
  }

  next(): LearnerStreamEvent | undefined {
    if (this.snap !== undefined) {
      const { zxid, reader } = this.snap;
      if (!reader.done) return undefined;
      this.snap = undefined;
      this.packets.push(reader.rest());
      const result = reader.result();
      result.tree.lastProcessedZxid = zxid;
      return { kind: 'snapshot', zxid, result };
    }
    const p = this.packets.next();
    if (p === undefined) return undefined;
    if (p.type === PacketType.SNAP) {
      const reader = new SnapStreamReader(this.opts.treeOptions, this.opts.maxBuffer);
      this.snap = { zxid: p.zxid, reader };
      reader.push(this.packets.takeRest());
    }
    return { kind: 'packet', packet: p };
  }
}
