// txn/ owns transactions: the records a write becomes after preparation (what the log stores and a quorum
// proposes) and their encoding. Applying them to the tree lives in tree/. Imports jute/ and protocol/ only.
import { JuteError, NULL_BUFFER, Reader, Writer } from '../jute/codec.js';
import { OpCode } from '../protocol/constants.js';
import { type ACL, readACLs, writeACLs } from '../protocol/records.js';

export interface TxnHeader {
  clientId: bigint;
  cxid: number;
  zxid: number;
  time: number;
  type: number;
}
export function writeTxnHeader(w: Writer, h: TxnHeader): void {
  w.long(h.clientId).int(h.cxid).longNum(h.zxid).longNum(h.time).int(h.type);
}
export function readTxnHeader(r: Reader): TxnHeader {
  return { clientId: r.long(), cxid: r.int(), zxid: r.longNum(), time: r.longNum(), type: r.int() };
}

export type Txn =
  | { type: typeof OpCode.create | typeof OpCode.create2; path: string; data: Buffer; acl: ACL[]; ephemeral: boolean; parentCVersion: number }
  | { type: typeof OpCode.createContainer; path: string; data: Buffer; acl: ACL[]; parentCVersion: number }
  | { type: typeof OpCode.createTTL; path: string; data: Buffer; acl: ACL[]; parentCVersion: number; ttl: number }
  | { type: typeof OpCode.delete | typeof OpCode.deleteContainer; path: string }
  | { type: typeof OpCode.setData; path: string; data: Buffer; version: number }
  | { type: typeof OpCode.setACL; path: string; acl: ACL[]; version: number }
  | { type: typeof OpCode.check; path: string; version: number }
  | { type: typeof OpCode.multi; txns: Txn[] }
  | { type: typeof OpCode.error; err: number }
  | { type: typeof OpCode.createSession; timeOut: number }
  | { type: typeof OpCode.closeSession; paths2Delete: string[] | null };

export function writeTxn(w: Writer, t: Txn): void {
  switch (t.type) {
    case OpCode.create: case OpCode.create2:
      w.string(t.path).buffer(t.data); writeACLs(w, t.acl); w.bool(t.ephemeral).int(t.parentCVersion); return;
    case OpCode.createContainer:
      w.string(t.path).buffer(t.data); writeACLs(w, t.acl); w.int(t.parentCVersion); return;
    case OpCode.createTTL:
      w.string(t.path).buffer(t.data); writeACLs(w, t.acl); w.int(t.parentCVersion).longNum(t.ttl); return;
    case OpCode.delete: case OpCode.deleteContainer: w.string(t.path); return;
    case OpCode.setData: w.string(t.path).buffer(t.data).int(t.version); return;
    case OpCode.setACL: w.string(t.path); writeACLs(w, t.acl); w.int(t.version); return;
    case OpCode.check: w.string(t.path).int(t.version); return;
    case OpCode.multi:
      w.vector(t.txns, (ww, sub) => {
        const inner = new Writer();
        writeTxn(inner, sub);
        ww.int(sub.type).buffer(inner.view());
      });
      return;
    case OpCode.error: w.int(t.err); return;
    case OpCode.createSession: w.int(t.timeOut); return;
    case OpCode.closeSession: if (t.paths2Delete !== null) w.stringVector(t.paths2Delete); return;
  }
}

/** Reads the txn record that follows a TxnHeader of type `type`; `end` is the offset where the record must stop. */
export function readTxn(type: number, r: Reader, end = r.buf.length): Txn {
  switch (type) {
    case OpCode.create: case OpCode.create2: {
      const path = r.str(), data = r.buffer() ?? NULL_BUFFER, acl = readACLs(r) ?? [], ephemeral = r.bool();
      // CreateTxnV0 (pre-3.3 logs) has no parentCVersion.
      const parentCVersion = r.pos + 4 <= end ? r.int() : -1;
      return { type, path, data, acl, ephemeral, parentCVersion };
    }
    case OpCode.createContainer:
      return { type, path: r.str(), data: r.buffer() ?? NULL_BUFFER, acl: readACLs(r) ?? [], parentCVersion: r.int() };
    case OpCode.createTTL:
      return { type, path: r.str(), data: r.buffer() ?? NULL_BUFFER, acl: readACLs(r) ?? [], parentCVersion: r.int(), ttl: r.longNum() };
    case OpCode.delete: case OpCode.deleteContainer: return { type, path: r.str() };
    case OpCode.setData: return { type, path: r.str(), data: r.buffer() ?? NULL_BUFFER, version: r.int() };
    // A reconfig is logged as a SetDataTxn on /zookeeper/config; it applies as one.
    case OpCode.reconfig: return { type: OpCode.setData, path: r.str(), data: r.buffer() ?? NULL_BUFFER, version: r.int() };
    case OpCode.setACL: return { type, path: r.str(), acl: readACLs(r) ?? [], version: r.int() };
    case OpCode.check: return { type, path: r.str(), version: r.int() };
    case OpCode.multi: {
      const txns = r.vector((rr) => {
        const subType = rr.int();
        const bytes = rr.buffer() ?? NULL_BUFFER;
        return readTxn(subType, new Reader(bytes, 0, rr.maxLength), bytes.length);
      });
      return { type, txns: txns ?? [] };
    }
    case OpCode.error: return { type, err: r.int() };
    case OpCode.createSession: return { type, timeOut: r.int() };
    case OpCode.closeSession:
      // Logs written before 3.6 carry no CloseSessionTxn body.
      return { type, paths2Delete: r.pos < end ? r.stringVector() : null };
    default: throw new JuteError(`unknown txn type ${type}`);
  }
}

export interface TxnDigest {
  version: number;
  treeDigest: bigint;
}
export const TXN_DIGEST_VERSION = 2;
