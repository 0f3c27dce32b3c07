// Last stage of the pipeline (ZooKeeper's FinalRequestProcessor): the answer to each request. Writes are answered
// from the result of applying their txn; reads are answered from the tree, in pipeline order, so a read sees every
// write that was ahead of it. Registers the watches reads ask for. Pure apart from the tree and watcher it is given.
import { AddWatchMode, OpCode } from '../protocol/constants.js';
import { Code } from '../protocol/errors.js';
import type { ACL, ClientInfo, Id, Stat } from '../protocol/records.js';
import type { OpResult, Request, Response } from '../protocol/requests.js';
import { checkACL } from '../tree/acl.js';
import type { DataTree, TxnResult } from '../tree/datatree.js';
import type { Watcher } from '../tree/watches.js';
import type { PreparedRequest } from './request.js';

export interface Reply {
  err: number;
  body: Response | undefined;
}

class ReadError extends Error {
  constructor(readonly code: number) {
    super(`read failed with ${code}`);
  }
}

const ok = (body: Response | undefined): Reply => ({ err: Code.OK, body });

/** The reply to a write, from the txn result. */
export function writeReply(pr: PreparedRequest): Reply {
  const r = pr.result;
  if (pr.req.op === OpCode.multi) {
    if (r === undefined || r.results === undefined) return { err: pr.err === Code.OK ? Code.SYSTEMERROR : pr.err, body: undefined };
    return ok({ op: OpCode.multi, results: r.results.map(multiResult) });
  }
  if (pr.err !== Code.OK) return { err: pr.err, body: undefined };
  if (r === undefined) return { err: Code.SYSTEMERROR, body: undefined };
  if (r.err !== Code.OK) return { err: r.err, body: undefined };
  switch (pr.req.op) {
    case OpCode.create: return ok({ op: OpCode.create, path: r.path ?? '' });
    case OpCode.create2: case OpCode.createContainer: case OpCode.createTTL:
      return ok({ op: pr.req.op, path: r.path ?? '', stat: mustStat(r) });
    case OpCode.setData: case OpCode.check: return ok({ op: OpCode.setData, stat: mustStat(r) });
    case OpCode.setACL: return ok({ op: OpCode.setACL, stat: mustStat(r) });
    default: return ok(undefined);
  }
}

function mustStat(r: TxnResult): Stat {
  if (r.stat === undefined) throw new Error(`txn result of type ${r.type} has no stat`);
  return r.stat;
}

/**
 * ZooKeeper 3.8 types multi results by the txn it applied: create and create2 ops both answer a plain create
 * result (no Stat), while container and TTL creates answer create2 with the Stat (seen on the wire).
 */
function multiResult(r: TxnResult): OpResult {
  switch (r.type) {
    case OpCode.create: case OpCode.create2: return { op: OpCode.create, path: r.path ?? '' };
    case OpCode.createContainer: case OpCode.createTTL:
      return { op: OpCode.create2, path: r.path ?? '', stat: mustStat(r) };
    case OpCode.delete: case OpCode.deleteContainer: return { op: OpCode.delete };
    case OpCode.check: return { op: OpCode.check };
    case OpCode.setData: return { op: OpCode.setData, stat: mustStat(r) };
    default: return { op: OpCode.error, err: r.err };
  }
}

export interface ReadContext {
  tree: DataTree;
  watcher: Watcher | undefined;
  sessionId: bigint;
  authIds: readonly Id[];
}

/** The reply to a read (or a session-local op such as addWatch); runs at the read's turn in the pipeline. */
export function readReply(q: Request, ctx: ReadContext): Reply {
  try {
    return ok(read(q, ctx));
  } catch (e) {
    if (e instanceof ReadError) return { err: e.code, body: undefined };
    throw e;
  }
}

function read(q: Request, ctx: ReadContext): Response | undefined {
  const { tree } = ctx;
  switch (q.op) {
    case OpCode.exists: {
      if (q.path.includes('\0')) throw new ReadError(Code.BADARGUMENTS);
      const node = tree.getNode(q.path);
      if (q.watch && ctx.watcher) tree.addWatch(q.path, ctx.watcher, node ? 'data' : 'exist');
      if (!node) throw new ReadError(Code.NONODE);
      return { op: OpCode.exists, stat: tree.statOf(node) };
    }
    case OpCode.getData: {
      const node = readable(ctx, q.path, 1);
      if (q.watch && ctx.watcher) tree.addWatch(q.path, ctx.watcher, 'data');
      return { op: OpCode.getData, data: node.data, stat: tree.statOf(node) };
    }
    case OpCode.getChildren: case OpCode.getChildren2: {
      const node = readable(ctx, q.path, 1);
      if (q.watch && ctx.watcher) tree.addWatch(q.path, ctx.watcher, 'child');
      const children = [...node.children];
      return q.op === OpCode.getChildren ? { op: q.op, children } : { op: q.op, children, stat: tree.statOf(node) };
    }
    case OpCode.getACL: {
      const node = readable(ctx, q.path, 1 | 16);
      const acl = checkACL(node.acl, 16, ctx.authIds) ? node.acl : node.acl.map(maskDigest);
      return { op: OpCode.getACL, acl, stat: tree.statOf(node) };
    }
    case OpCode.getAllChildrenNumber:
      readable(ctx, q.path, 1);
      return { op: OpCode.getAllChildrenNumber, total: tree.getAllChildrenNumber(q.path) };
    case OpCode.getEphemerals: {
      const all = [...tree.ephemeralsOf(ctx.sessionId)];
      const prefix = q.path.trim();
      const paths = prefix === '' || prefix === '/' ? all : all.filter((p) => p.startsWith(q.path));
      return { op: OpCode.getEphemerals, paths };
    }
    case OpCode.sync: return { op: OpCode.sync, path: q.path };
    case OpCode.setWatches: case OpCode.setWatches2:
      if (ctx.watcher) tree.setWatches(q.watches.relativeZxid, q.watches, ctx.watcher);
      return undefined;
    case OpCode.checkWatches: case OpCode.removeWatches: {
      // ZooKeeper 3.8 knows WatcherType 1..3 only and fails any other while decoding it.
      if (q.type < 1 || q.type > 3) throw new ReadError(Code.MARSHALLINGERROR);
      const w = ctx.watcher;
      const found = w !== undefined && (q.op === OpCode.checkWatches ? tree.hasWatch(q.path, w, q.type) : tree.removeWatches(q.path, w, q.type));
      if (!found) throw new ReadError(Code.NOWATCHER);
      return undefined;
    }
    case OpCode.addWatch:
      // ZooKeeper 3.8 fails an unknown mode while decoding it: MARSHALLINGERROR.
      if (q.type !== AddWatchMode.Persistent && q.type !== AddWatchMode.PersistentRecursive) throw new ReadError(Code.MARSHALLINGERROR);
      if (ctx.watcher) tree.addWatch(q.path, ctx.watcher, q.type === AddWatchMode.Persistent ? 'persistent' : 'persistentRecursive');
      return { op: OpCode.addWatch };
    case OpCode.whoAmI: return { op: OpCode.whoAmI, clients: ctx.authIds.map(clientInfo) };
    case OpCode.multiRead: return { op: OpCode.multiRead, results: q.ops.map((sub) => multiReadResult(sub, ctx)) };
    case OpCode.ping: return undefined;
    default: throw new ReadError(Code.UNIMPLEMENTED);
  }
}

function multiReadResult(sub: Request, ctx: ReadContext): OpResult {
  const r = readReply(sub, ctx);
  if (r.err !== Code.OK || r.body === undefined) return { op: OpCode.error, err: r.err };
  return r.body as OpResult;
}

function readable(ctx: ReadContext, path: string, perm: number) {
  const node = ctx.tree.getNode(path);
  if (!node) throw new ReadError(Code.NONODE);
  if (!checkACL(node.acl, perm, ctx.authIds)) throw new ReadError(Code.NOAUTH);
  return node;
}

/** getACL without ADMIN: digest ids are shown as "user:x" (the hash is a password equivalent). */
function maskDigest(a: ACL): ACL {
  if (a.id.scheme !== 'digest') return a;
  return { perms: a.perms, id: { scheme: 'digest', id: a.id.id.replace(/:.*/s, ':x') } };
}

/** whoAmI: the auth scheme and the user name each provider reports (digest: the user part of the id). */
function clientInfo(id: Id): ClientInfo {
  if (id.scheme === 'digest') return { authScheme: 'digest', user: id.id.split(':')[0] ?? '' };
  return { authScheme: id.scheme, user: id.id };
}
