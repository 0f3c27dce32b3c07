// Typed request and response bodies by opcode: one encoder and one decoder for each direction, shared by the
// server (decode requests, encode responses) and the client (the reverse).
import { JuteError, Reader, Writer } from '../jute/codec.js';
import { OpCode } from './constants.js';
import * as R from './records.js';

export type CreateOp = typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer | typeof OpCode.createTTL;

export type Request =
  | { op: CreateOp; create: R.CreateRequest }
  | { op: typeof OpCode.delete; path: string; version: number }
  | { op: typeof OpCode.check; path: string; version: number }
  | { op: typeof OpCode.exists | typeof OpCode.getData | typeof OpCode.getChildren | typeof OpCode.getChildren2; path: string; watch: boolean }
  | { op: typeof OpCode.setData; path: string; data: Buffer | null; version: number }
  | { op: typeof OpCode.setACL; path: string; acl: R.ACL[]; version: number }
  | { op: typeof OpCode.getACL | typeof OpCode.sync | typeof OpCode.getEphemerals | typeof OpCode.getAllChildrenNumber; path: string }
  | { op: typeof OpCode.checkWatches | typeof OpCode.removeWatches | typeof OpCode.addWatch; path: string; type: number }
  | { op: typeof OpCode.multi | typeof OpCode.multiRead; ops: Request[] }
  | { op: typeof OpCode.setWatches | typeof OpCode.setWatches2; watches: R.SetWatches }
  | { op: typeof OpCode.auth; auth: R.AuthPacket }
  | { op: typeof OpCode.reconfig; reconfig: R.ReconfigRequest }
  | { op: typeof OpCode.sasl; token: Buffer | null }
  | { op: typeof OpCode.ping | typeof OpCode.whoAmI | typeof OpCode.closeSession }
  | { op: typeof OpCode.deleteContainer; path: string }
  /** Made by the server itself when a client connects; never decoded from the wire. */
  | { op: typeof OpCode.createSession; timeOut: number };

/** Ops allowed inside multi (14) and multiRead (22). */
export const MULTI_WRITE_OPS: ReadonlySet<number> = new Set([
  OpCode.create, OpCode.create2, OpCode.createContainer, OpCode.createTTL, OpCode.delete, OpCode.setData, OpCode.check,
]);
export const MULTI_READ_OPS: ReadonlySet<number> = new Set([OpCode.getChildren, OpCode.getData]);

export class UnknownOpError extends JuteError {
  constructor(readonly op: number) {
    super(`unknown opcode ${op}`);
  }
}

export function encodeRequest(w: Writer, q: Request): void {
  switch (q.op) {
    case OpCode.create: case OpCode.create2: case OpCode.createContainer: case OpCode.createTTL:
      R.writeCreateRequest(w, q.create, q.op === OpCode.createTTL); return;
    case OpCode.delete: case OpCode.check:
      R.writePathVersion(w, q); return;
    case OpCode.exists: case OpCode.getData: case OpCode.getChildren: case OpCode.getChildren2:
      R.writePathWatch(w, q); return;
    case OpCode.setData: R.writeSetDataRequest(w, q); return;
    case OpCode.setACL: R.writeSetACLRequest(w, q); return;
    case OpCode.getACL: case OpCode.sync: case OpCode.getEphemerals: case OpCode.getAllChildrenNumber:
      w.string(q.path); return;
    case OpCode.checkWatches: case OpCode.removeWatches: case OpCode.addWatch:
      R.writePathType(w, q); return;
    case OpCode.multi: case OpCode.multiRead:
      for (const sub of q.ops) {
        R.writeMultiHeader(w, { type: sub.op, done: false, err: -1 });
        encodeRequest(w, sub);
      }
      R.writeMultiHeader(w, R.MULTI_END); return;
    case OpCode.setWatches: case OpCode.setWatches2:
      R.writeSetWatches(w, q.watches, q.op === OpCode.setWatches2); return;
    case OpCode.auth: R.writeAuthPacket(w, q.auth); return;
    case OpCode.reconfig: R.writeReconfigRequest(w, q.reconfig); return;
    case OpCode.sasl: w.buffer(q.token); return;
    case OpCode.deleteContainer: w.raw(Buffer.from(q.path, 'utf8')); return;
    case OpCode.ping: case OpCode.whoAmI: case OpCode.closeSession: return;
    case OpCode.createSession: w.int(q.timeOut); return;
  }
}

/** Decodes a request body; throws UnknownOpError for an opcode ZooKeeper does not define, JuteError if malformed. */
export function decodeRequest(op: number, r: Reader): Request {
  switch (op) {
    case OpCode.create: case OpCode.create2: case OpCode.createContainer: case OpCode.createTTL:
      return { op, create: R.readCreateRequest(r, op === OpCode.createTTL) };
    case OpCode.delete: case OpCode.check:
      return { op, ...R.readPathVersion(r) };
    case OpCode.exists: case OpCode.getData: case OpCode.getChildren: case OpCode.getChildren2:
      return { op, ...R.readPathWatch(r) };
    case OpCode.setData: return { op, ...R.readSetDataRequest(r) };
    case OpCode.setACL: return { op, ...R.readSetACLRequest(r) };
    case OpCode.getACL: case OpCode.sync: case OpCode.getEphemerals: case OpCode.getAllChildrenNumber:
      return { op, path: r.str() };
    case OpCode.checkWatches: case OpCode.removeWatches: case OpCode.addWatch:
      return { op, ...R.readPathType(r) };
    case OpCode.multi: case OpCode.multiRead:
      return { op, ops: decodeMultiOps(r, op === OpCode.multi ? MULTI_WRITE_OPS : MULTI_READ_OPS) };
    case OpCode.setWatches: case OpCode.setWatches2:
      return { op, watches: R.readSetWatches(r, op === OpCode.setWatches2) };
    case OpCode.auth: return { op, auth: R.readAuthPacket(r) };
    case OpCode.reconfig: return { op, reconfig: R.readReconfigRequest(r) };
    case OpCode.sasl: return { op, token: r.buffer() };
    case OpCode.deleteContainer: return { op, path: r.rest().toString('utf8') };
    case OpCode.ping: case OpCode.whoAmI: case OpCode.closeSession: return { op };
    // Only a learner forwards this (the int timeout ZooKeeperServer.createSession puts in the request).
    case OpCode.createSession: return { op, timeOut: r.int() };
    default: throw new UnknownOpError(op);
  }
}

function decodeMultiOps(r: Reader, allowed: ReadonlySet<number>): Request[] {
  const ops: Request[] = [];
  for (;;) {
    const h = R.readMultiHeader(r);
    if (h.done) return ops;
    if (ops.length >= R.MULTI_OPS_MAX) throw new JuteError(`multi has more than ${R.MULTI_OPS_MAX} ops`);
    if (!allowed.has(h.type)) throw new JuteError(`op ${h.type} not allowed in multi`);
    ops.push(decodeRequest(h.type, r));
  }
}

// ---------------------------------------------------------------- responses

export type OpResult =
  | { op: typeof OpCode.create; path: string }
  | { op: typeof OpCode.create2 | typeof OpCode.createContainer | typeof OpCode.createTTL; path: string; stat: R.Stat }
  | { op: typeof OpCode.delete | typeof OpCode.check }
  | { op: typeof OpCode.setData; stat: R.Stat }
  | { op: typeof OpCode.getData; data: Buffer | null; stat: R.Stat }
  | { op: typeof OpCode.getChildren; children: string[] }
  | { op: typeof OpCode.error; err: number };

export type Response =
  | OpResult
  | { op: typeof OpCode.exists | typeof OpCode.setACL; stat: R.Stat }
  | { op: typeof OpCode.getACL; acl: R.ACL[]; stat: R.Stat }
  | { op: typeof OpCode.getChildren2; children: string[]; stat: R.Stat }
  | { op: typeof OpCode.sync; path: string }
  | { op: typeof OpCode.getEphemerals; paths: string[] }
  | { op: typeof OpCode.getAllChildrenNumber; total: number }
  | { op: typeof OpCode.multi | typeof OpCode.multiRead; results: OpResult[] }
  | { op: typeof OpCode.addWatch | typeof OpCode.checkWatches | typeof OpCode.removeWatches | typeof OpCode.ping | typeof OpCode.closeSession | typeof OpCode.setWatches | typeof OpCode.setWatches2 | typeof OpCode.auth }
  | { op: typeof OpCode.whoAmI; clients: R.ClientInfo[] }
  | { op: typeof OpCode.reconfig; data: Buffer | null; stat: R.Stat }
  | { op: typeof OpCode.sasl; token: Buffer | null };

export function encodeResponse(w: Writer, s: Response): void {
  switch (s.op) {
    case OpCode.create: case OpCode.sync: w.string(s.path); return;
    case OpCode.create2: case OpCode.createContainer: case OpCode.createTTL: R.writeCreate2Response(w, s); return;
    case OpCode.delete: case OpCode.check: return;
    case OpCode.setData: case OpCode.exists: case OpCode.setACL: R.writeStat(w, s.stat); return;
    case OpCode.getData: case OpCode.reconfig: R.writeGetDataResponse(w, s); return;
    case OpCode.getChildren: w.stringVector(s.children); return;
    case OpCode.error: w.int(s.err); return;
    case OpCode.getACL: R.writeGetACLResponse(w, s); return;
    case OpCode.getChildren2: R.writeGetChildren2Response(w, s); return;
    case OpCode.getEphemerals: w.stringVector(s.paths); return;
    case OpCode.getAllChildrenNumber: w.int(s.total); return;
    case OpCode.multi: case OpCode.multiRead:
      for (const res of s.results) {
        R.writeMultiHeader(w, { type: res.op, done: false, err: res.op === OpCode.error ? res.err : 0 });
        encodeResponse(w, res);
      }
      R.writeMultiHeader(w, R.MULTI_END); return;
    case OpCode.addWatch: w.int(0); return;
    case OpCode.whoAmI: R.writeWhoAmIResponse(w, s.clients); return;
    case OpCode.sasl: w.buffer(s.token); return;
    default: return;
  }
}

/** Decodes a reply body for a request of opcode `op` (only called when ReplyHeader.err is 0). */
export function decodeResponse(op: number, r: Reader): Response {
  switch (op) {
    case OpCode.create: return { op, path: r.str() };
    case OpCode.sync: return { op, path: r.str() };
    case OpCode.create2: case OpCode.createContainer: case OpCode.createTTL: return { op, ...R.readCreate2Response(r) };
    case OpCode.delete: case OpCode.check: return { op };
    case OpCode.setData: case OpCode.exists: case OpCode.setACL: return { op, stat: R.readStat(r) };
    case OpCode.getData: case OpCode.reconfig: return { op, ...R.readGetDataResponse(r) };
    case OpCode.getChildren: return { op, children: r.stringVector() };
    case OpCode.error: return { op, err: r.int() };
    case OpCode.getACL: return { op, ...R.readGetACLResponse(r) };
    case OpCode.getChildren2: return { op, ...R.readGetChildren2Response(r) };
    case OpCode.getEphemerals: return { op, paths: r.stringVector() };
    case OpCode.getAllChildrenNumber: return { op, total: r.int() };
    case OpCode.multi: case OpCode.multiRead: return { op, results: decodeMultiResults(r) };
    case OpCode.whoAmI: return { op, clients: R.readWhoAmIResponse(r) };
    case OpCode.sasl: return { op, token: r.buffer() };
    // addWatch answers ErrorResponse{int err} (always 0 when the header's err is 0); encodeResponse writes it.
    case OpCode.addWatch: r.int(); return { op };
    case OpCode.checkWatches: case OpCode.removeWatches: case OpCode.ping:
    case OpCode.closeSession: case OpCode.setWatches: case OpCode.setWatches2: case OpCode.auth:
      return { op };
    default: throw new UnknownOpError(op);
  }
}

function decodeMultiResults(r: Reader): OpResult[] {
  const out: OpResult[] = [];
  for (;;) {
    const h = R.readMultiHeader(r);
    if (h.done) return out;
    if (out.length >= R.MULTI_OPS_MAX) throw new JuteError(`multi reply has more than ${R.MULTI_OPS_MAX} results`);
    out.push(decodeResponse(h.type, r) as OpResult);
  }
}
