// A client request as it travels the pipeline, from decode to reply.
import type { Id } from '../protocol/records.js';
import type { Request, Response } from '../protocol/requests.js';
import type { Txn, TxnDigest, TxnHeader } from '../txn/records.js';
import type { TxnResult } from '../tree/datatree.js';

/** What the connection hands to the pipeline. */
export interface ServerRequest {
  sessionId: bigint;
  /** The client's xid (cxid in ZooKeeper's server code). */
  xid: number;
  op: number;
  /** The decoded body; undefined when decoding failed (then `decodeError` says why). */
  body: Request | undefined;
  decodeError?: string;
  /** Auth ids of the connection at the time of the request (ip, digest, super …). */
  authIds: readonly import('../protocol/records.js').Id[];
  /** The connection to answer; undefined for the server's own requests (session expiry, container reaper). */
  cnxn: RequestOwner | undefined;
  /** Monotonic ms when the request was read, for latency stats. */
  receivedMs: number;
}

/** What the pipeline needs of a connection to answer a request. */
export interface RequestOwner {
  readonly sessionId: bigint;
  readonly authIds: readonly Id[];
  /** Queues a reply frame (header + optional body), in request order. */
  sendReply(xid: number, zxid: number, err: number, body: Response | undefined, request: ServerRequest): void;
  /** The session was closed by closeSession: flush and close the socket. */
  closeAfterReply(): void;
}

/** A request after prep: the txn it became (writes), or the error prep found. */
export interface PreparedRequest {
  req: ServerRequest;
  hdr: TxnHeader | undefined;
  txn: Txn | undefined;
  /** The tree digest once this txn is applied (ZooKeeper's TxnDigest), logged with the txn and checked on apply. */
  digest?: TxnDigest;
  /** The first KeeperException prep raised (Code.OK if none); for multi the failing op's code. */
  err: number;
  /** Paths whose outstanding-change records this txn wrote (released at commit). */
  touched: string[];
  /** Filled by the commit stage. */
  result?: TxnResult;
  /** A sync on a leader: answered once the leadership confirmation with this ticket is in (Pipeline.confirmed). */
  confirmTicket?: number;
}
