// Stage 1 of the pipeline (ZooKeeper's PrepRequestProcessor): check the session, validate the request, check ACLs
// and versions against the tree plus outstanding changes, and turn a write into a txn with the next zxid. A write
// that fails still becomes a txn (an error txn) and consumes a zxid, exactly as in ZooKeeper, so that zxids match.
// Pure: time and zxids come in through PrepContext; no I/O.
import { NULL_BUFFER } from '../jute/codec.js';
import { CONTAINER_EPHEMERAL_OWNER, OpCode, TTL_MASK, TTL_MAX_MS, createModeInfo } from '../protocol/constants.js';
import { Code } from '../protocol/errors.js';
import type { ACL, CreateRequest, Id } from '../protocol/records.js';
import type { Request } from '../protocol/requests.js';
import { checkACL, fixupACL } from '../tree/acl.js';
import type { DataTree } from '../tree/datatree.js';
import { DIGEST_VERSION } from '../tree/digest.js';
import { validatePath } from '../tree/path.js';
import type { Txn, TxnHeader } from '../txn/records.js';
import { type NodeRecord, PendingChanges } from './changes.js';
import type { PreparedRequest, ServerRequest } from './request.js';

/** A KeeperException raised while preparing; caught per request (or per multi op). */
export class PrepError extends Error {
  constructor(readonly code: number, readonly path?: string) {
    super(`prep failed with ${code}${path ? ` for ${path}` : ''}`);
  }
}

export interface PrepContext {
  tree: DataTree;
  pending: PendingChanges;
  /** Throws PrepError(SESSIONEXPIRED) when the session is unknown or closing. */
  checkSession(sessionId: bigint): void;
  /** Marks the session closing so that later requests of it fail. */
  setSessionClosing(sessionId: bigint): void;
  nextZxid(): number;
  nowMs(): number;
  extendedTypesEnabled: boolean;
  enforceQuota: boolean;
  reconfigEnabled: boolean;
  /** False once the disk failed: writes are refused with NOTREADONLY and consume no zxid. */
  writable(): boolean;
}

const WRITE_OPS: ReadonlySet<number> = new Set([
  OpCode.create, OpCode.create2, OpCode.createContainer, OpCode.createTTL, OpCode.delete, OpCode.deleteContainer,
  OpCode.setData, OpCode.setACL, OpCode.check, OpCode.multi, OpCode.createSession, OpCode.closeSession,
  OpCode.reconfig,
]);

export function isWriteOp(op: number): boolean {
  return WRITE_OPS.has(op);
}

export class Preparer {
  constructor(private readonly ctx: PrepContext) {}

  /** Prepares one request. Reads only get their session checked; writes become txns. */
  prepare(req: ServerRequest): PreparedRequest {
    const out: PreparedRequest = { req, hdr: undefined, txn: undefined, err: Code.OK, touched: [] };
    if (!isWriteOp(req.op)) {
      this.prepareRead(out);
      return out;
    }
    if (!this.ctx.writable()) {
      out.err = Code.NOTREADONLY;
      return out;
    }
    const hdr: TxnHeader = { clientId: req.sessionId, cxid: req.xid, zxid: this.ctx.nextZxid(), time: this.ctx.nowMs(), type: req.op };
    out.hdr = hdr;
    try {
      if (req.body === undefined) throw new PrepError(Code.MARSHALLINGERROR);
      out.txn = this.toTxn(req.body, hdr, req.authIds, out.touched);
      if (out.txn.type === OpCode.multi) out.err = multiError(out.txn);
    } catch (e) {
      if (!(e instanceof PrepError)) throw e;
      hdr.type = OpCode.error;
      out.txn = { type: OpCode.error, err: e.code };
      out.err = e.code;
    }
    this.ctx.pending.prepared(hdr.zxid);
    out.digest = { version: DIGEST_VERSION, treeDigest: this.ctx.pending.currentDigest() };
    return out;
  }

  /**
   * The txn of `pr` is applied to the tree, which now shows it: its change records are retired (records of later
   * txns on the same paths stay), as ZooKeeper drops outstandingChanges up to the committed zxid. Without this every
   * path ever written would keep a record (data, ACL, stat) for good: a second copy of a big tree in the heap.
   */
  committed(pr: PreparedRequest): void {
    if (pr.hdr !== undefined) this.ctx.pending.committed(pr.hdr.zxid, pr.touched);
  }

  private prepareRead(out: PreparedRequest): void {
    const { req } = out;
    if (req.op === OpCode.ping || req.cnxn === undefined) return;
    try {
      this.ctx.checkSession(req.sessionId);
    } catch (e) {
      if (!(e instanceof PrepError)) throw e;
      out.err = e.code;
    }
  }

  private toTxn(body: Request, hdr: TxnHeader, authIds: readonly Id[], touched: string[]): Txn {
    const zxid = hdr.zxid;
    switch (body.op) {
      case OpCode.createSession:
        return { type: OpCode.createSession, timeOut: body.timeOut };
      case OpCode.closeSession:
        return this.closeSession(hdr, touched);
      case OpCode.multi:
        return this.multi(body.ops, hdr, authIds, touched);
      default:
        if (hdr.clientId !== 0n || body.op !== OpCode.deleteContainer) this.ctx.checkSession(hdr.clientId);
        return this.single(body, zxid, hdr, authIds, touched);
    }
  }

  private single(body: Request, zxid: number, hdr: TxnHeader, authIds: readonly Id[], touched: string[]): Txn {
    switch (body.op) {
      case OpCode.create: case OpCode.create2: case OpCode.createContainer: case OpCode.createTTL:
        return this.create(body.op, body.create, zxid, hdr, authIds, touched);
      case OpCode.delete: return this.delete(body.path, body.version, zxid, authIds, touched);
      case OpCode.deleteContainer: return this.deleteContainer(body.path, zxid, touched);
      case OpCode.setData: return this.setData(body.path, body.data, body.version, hdr, authIds, touched);
      case OpCode.setACL: return this.setACL(body.path, body.acl, body.version, zxid, authIds, touched);
      case OpCode.check: return this.check(body.path, body.version, authIds);
      // Dynamic reconfiguration needs an ensemble; like ZooKeeper, the refusal is an error txn that uses a zxid.
      case OpCode.reconfig: throw new PrepError(this.ctx.reconfigEnabled ? Code.UNIMPLEMENTED : Code.RECONFIGDISABLED);
      default: throw new PrepError(Code.UNIMPLEMENTED);
    }
  }

  private record(path: string): NodeRecord {
    const n = this.ctx.pending.get(path);
    if (n === null) throw new PrepError(Code.NONODE, path);
    return n;
  }

  private checkPerm(node: NodeRecord, perm: number, authIds: readonly Id[], path: string): void {
    if (!checkACL(node.acl, perm, authIds)) throw new PrepError(Code.NOAUTH, path);
  }

  private change(touched: string[], path: string, zxid: number, node: NodeRecord | null): void {
    this.ctx.pending.set(path, zxid, node);
    touched.push(path);
  }

  private create(op: number, q: CreateRequest, zxid: number, hdr: TxnHeader, authIds: readonly Id[], touched: string[]): Txn {
    const mode = createModeInfo(q.flags);
    if (mode === undefined) throw new PrepError(Code.BADARGUMENTS, q.path);
    if (mode.ttl && !this.ctx.extendedTypesEnabled) throw new PrepError(Code.UNIMPLEMENTED, q.path);
    validateTtl(op, mode.ttl, mode.container, q, hdr);
    const parentPath = parentForCreate(q.path);
    const acl = fixupACL(q.acl, authIds);
    if (acl === undefined) throw new PrepError(Code.INVALIDACL, q.path);
    const parent = this.record(parentPath);
    this.checkPerm(parent, 4 /* CREATE */, authIds, q.path);
    const path = mode.sequential ? q.path + String(parent.cversion).padStart(10, '0') : q.path;
    if (validatePath(path) !== undefined) throw new PrepError(Code.BADARGUMENTS, path);
    if (this.ctx.pending.get(path) !== null) throw new PrepError(Code.NODEEXISTS, path);
    if (isEphemeralOwner(parent.ephemeralOwner)) throw new PrepError(Code.NOCHILDRENFOREPHEMERALS, path);
    const data = q.data ?? NULL_BUFFER;
    if (this.ctx.enforceQuota && this.ctx.tree.checkQuota(path, data.length, 1) !== Code.OK) {
      throw new PrepError(Code.QUOTAEXCEEDED, path);
    }
    const newCversion = parent.cversion + 1;
    const owner = mode.container ? CONTAINER_EPHEMERAL_OWNER
      : mode.ttl ? BigInt.asIntN(64, TTL_MASK | BigInt(q.ttl ?? 0))
      : mode.ephemeral ? hdr.clientId : 0n;
    this.change(touched, parentPath, zxid, { ...parent, childCount: parent.childCount + 1, cversion: newCversion, pzxid: zxid });
    this.change(touched, path, zxid, {
      data, acl, czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: hdr.time, mtime: hdr.time,
      version: 0, cversion: 0, aversion: 0, ephemeralOwner: owner, childCount: 0,
    });
    if (op === OpCode.createContainer) return { type: OpCode.createContainer, path, data, acl, parentCVersion: newCversion };
    if (op === OpCode.createTTL) return { type: OpCode.createTTL, path, data, acl, parentCVersion: newCversion, ttl: q.ttl ?? 0 };
    return { type: op as typeof OpCode.create, path, data, acl, ephemeral: mode.ephemeral, parentCVersion: newCversion };
  }

  private delete(path: string, version: number, zxid: number, authIds: readonly Id[], touched: string[]): Txn {
    const parentPath = parentForModify(path);
    const parent = this.record(parentPath);
    this.checkPerm(parent, 8 /* DELETE */, authIds, path);
    const node = this.record(path);
    checkVersion(node.version, version, path);
    if (node.childCount > 0) throw new PrepError(Code.NOTEMPTY, path);
    this.change(touched, parentPath, zxid, { ...parent, childCount: parent.childCount - 1, pzxid: zxid });
    this.change(touched, path, zxid, null);
    return { type: OpCode.delete, path };
  }

  private deleteContainer(path: string, zxid: number, touched: string[]): Txn {
    const parentPath = parentForModify(path);
    const node = this.record(path);
    if (node.childCount > 0) throw new PrepError(Code.NOTEMPTY, path);
    if (isEphemeralOwner(node.ephemeralOwner) || node.ephemeralOwner === 0n) throw new PrepError(Code.BADVERSION, path);
    const parent = this.record(parentPath);
    this.change(touched, parentPath, zxid, { ...parent, childCount: parent.childCount - 1, pzxid: zxid });
    this.change(touched, path, zxid, null);
    return { type: OpCode.deleteContainer, path };
  }

  private setData(path: string, data: Buffer | null, version: number, hdr: TxnHeader, authIds: readonly Id[], touched: string[]): Txn {
    const zxid = hdr.zxid;
    if (validatePath(path) !== undefined) throw new PrepError(Code.BADARGUMENTS, path);
    const node = this.record(path);
    this.checkPerm(node, 2 /* WRITE */, authIds, path);
    const bytes = data ?? NULL_BUFFER;
    if (this.ctx.enforceQuota && this.ctx.tree.checkQuota(path, bytes.length - node.data.length, 0) !== Code.OK) {
      throw new PrepError(Code.QUOTAEXCEEDED, path);
    }
    const newVersion = checkVersion(node.version, version, path);
    this.change(touched, path, zxid, { ...node, version: newVersion, data: bytes, mzxid: zxid, mtime: hdr.time });
    return { type: OpCode.setData, path, data: bytes, version: newVersion };
  }

  private setACL(path: string, aclIn: ACL[], version: number, zxid: number, authIds: readonly Id[], touched: string[]): Txn {
    if (validatePath(path) !== undefined) throw new PrepError(Code.BADARGUMENTS, path);
    const acl = fixupACL(aclIn, authIds);
    if (acl === undefined) throw new PrepError(Code.INVALIDACL, path);
    const node = this.record(path);
    this.checkPerm(node, 16 /* ADMIN */, authIds, path);
    const newVersion = checkVersion(node.aversion, version, path);
    this.change(touched, path, zxid, { ...node, aversion: newVersion, acl });
    return { type: OpCode.setACL, path, acl, version: newVersion };
  }

  private check(path: string, version: number, authIds: readonly Id[]): Txn {
    if (validatePath(path) !== undefined) throw new PrepError(Code.BADARGUMENTS, path);
    const node = this.record(path);
    this.checkPerm(node, 1 /* READ */, authIds, path);
    return { type: OpCode.check, path, version: checkVersion(node.version, version, path) };
  }

  /** closeSession: the txn lists the session's ephemerals as they will be once outstanding txns commit. */
  private closeSession(hdr: TxnHeader, touched: string[]): Txn {
    const sessionId = hdr.clientId;
    const paths = new Set<string>(this.ctx.tree.ephemeralsOf(sessionId));
    for (const [path, c] of this.ctx.pending.entries()) {
      if (c.node === null) paths.delete(path);
      else if (c.node.ephemeralOwner === sessionId) paths.add(path);
    }
    for (const path of paths) {
      const parentPath = parentForModify(path);
      const parent = this.ctx.pending.get(parentPath);
      if (parent !== null) this.change(touched, parentPath, hdr.zxid, { ...parent, childCount: parent.childCount - 1, pzxid: hdr.zxid });
      this.change(touched, path, hdr.zxid, null);
    }
    this.ctx.setSessionClosing(sessionId);
    return { type: OpCode.closeSession, paths2Delete: [...paths] };
  }

  /**
   * multi: every op shares one zxid. Ops before a failure keep their txns, the failing op becomes an error txn
   * with its code and the rest error txns with RUNTIMEINCONSISTENCY; the outstanding changes of the failed multi
   * are rolled back, as ZooKeeper does.
   */
  private multi(ops: Request[], hdr: TxnHeader, authIds: readonly Id[], touched: string[]): Txn {
    this.ctx.checkSession(hdr.clientId);
    const saved = this.ctx.pending.save(ops.flatMap(opPaths));
    const txns: Txn[] = [];
    let failed = false;
    for (const op of ops) {
      if (failed) {
        txns.push({ type: OpCode.error, err: Code.RUNTIMEINCONSISTENCY });
        continue;
      }
      try {
        txns.push(this.single(op, hdr.zxid, hdr, authIds, touched));
      } catch (e) {
        if (!(e instanceof PrepError)) throw e;
        failed = true;
        txns.push({ type: OpCode.error, err: e.code });
        this.ctx.pending.restore(saved);
      }
    }
    return { type: OpCode.multi, txns };
  }
}

/** The code of the first failed op of a multi txn, or OK. */
function multiError(txn: Txn): number {
  if (txn.type !== OpCode.multi) return Code.OK;
  for (const t of txn.txns) if (t.type === OpCode.error) return t.err;
  return Code.OK;
}

/** Paths a multi op may touch (the op's path and its parent), saved for rollback. */
function opPaths(op: Request): string[] {
  const path: string | undefined = 'create' in op ? op.create.path : 'path' in op ? op.path : undefined;
  if (path === undefined) return [];
  const slash = path.lastIndexOf('/');
  return slash > 0 ? [path, path.slice(0, slash)] : [path, '/'];
}

function isEphemeralOwner(owner: bigint): boolean {
  // Ordinary ephemerals only: containers (Long.MIN_VALUE) and TTL nodes (0xFF high byte) are not ephemeral.
  return owner !== 0n && owner !== CONTAINER_EPHEMERAL_OWNER && (BigInt.asUintN(64, owner) & TTL_MASK) !== TTL_MASK;
}

function validateTtl(op: number, isTtl: boolean, isContainer: boolean, q: CreateRequest, _hdr: TxnHeader): void {
  // EphemeralType.validateTTL: TTL modes need 0 < ttl <= max; other modes must not carry a TTL request.
  if (isTtl) {
    const ttl = q.ttl ?? 0;
    if (op !== OpCode.createTTL || ttl <= 0 || ttl > TTL_MAX_MS) throw new PrepError(Code.BADARGUMENTS, q.path);
  } else if (op === OpCode.createTTL && (q.ttl ?? -1) >= 0 && !isContainer) {
    throw new PrepError(Code.BADARGUMENTS, q.path);
  }
}

function parentForCreate(path: string): string {
  const slash = path.lastIndexOf('/');
  if (slash === -1 || path.includes('\0')) throw new PrepError(Code.BADARGUMENTS, path);
  return slash === 0 ? '/' : path.slice(0, slash);
}

/** delete/deleteContainer: the root and /zookeeper's special nodes cannot be removed. */
function parentForModify(path: string): string {
  const slash = path.lastIndexOf('/');
  if (slash === -1 || path.includes('\0') || SPECIAL_PATHS.has(path)) throw new PrepError(Code.BADARGUMENTS, path);
  return slash === 0 ? '/' : path.slice(0, slash);
}

const SPECIAL_PATHS: ReadonlySet<string> = new Set(['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config']);

/** Versions pass when expected is -1 or equal; the txn carries current+1. */
function checkVersion(current: number, expected: number, path: string): number {
  if (expected !== -1 && expected !== current) throw new PrepError(Code.BADVERSION, path);
  return (current + 1) | 0;
}
