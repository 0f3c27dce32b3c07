// The request pipeline of a follower or observer (ZooKeeper's FollowerRequestProcessor + CommitProcessor +
// FinalRequestProcessor on a learner). The stages are the same as the leader's, but prep and "make durable" happen
// on the leader:
//
//   reads:   answered from the local tree, in order
//   writes:  forwarded to the leader (REQUEST); answered when the leader's COMMIT for (session, cxid) arrives and the
//            txn has been applied here
//   sync:    forwarded; answered when the leader's SYNC arrives (every COMMIT sent before it has been applied)
//
// Every request passes one FIFO, as in the standalone pipeline: a request is answered only after every request
// read before it on this server, so a read sees that session's earlier writes (and everything committed before
// them). Committed txns are applied in the leader's zxid order whoever sent them; a txn of another server's client
// just changes the tree (and fires watches) here.
import { OpCode } from '../protocol/constants.js';
import { Code } from '../protocol/errors.js';
import type { DataTree } from '../tree/datatree.js';
import type { Txn, TxnDigest, TxnHeader } from '../txn/records.js';
import type { PipelineHooks, RequestStage } from './pipeline.js';
import { PIPELINE_QUEUE_MAX } from './pipeline.js';
import { isWriteOp } from './prep.js';
import type { PreparedRequest, ServerRequest } from './request.js';

export interface LearnerPipelineHooks extends PipelineHooks {
  /** Sends a write or sync to the leader. */
  forward(req: ServerRequest): void;
  /** A txn was applied (whoever sent it): session bookkeeping that follows from it. */
  committed(pr: PreparedRequest): void;
}

interface Entry {
  pr: PreparedRequest;
  /** Waiting for the leader: 'write' for its COMMIT, 'sync' for SYNC; undefined once it can be answered. */
  waiting: 'write' | 'sync' | undefined;
}

export class LearnerPipeline implements RequestStage {
  private queue: Entry[] = [];
  private head = 0;

  constructor(private readonly tree: DataTree, private readonly hooks: LearnerPipelineHooks) {}

  get outstanding(): number {
    return this.queue.length - this.head;
  }

  submit(req: ServerRequest): void {
    if (this.outstanding >= PIPELINE_QUEUE_MAX) throw new Error(`pipeline queue over ${PIPELINE_QUEUE_MAX}`);
    const pr: PreparedRequest = { req, hdr: undefined, txn: undefined, err: Code.OK, touched: [] };
    const forwarded = req.body !== undefined && (isWriteOp(req.op) || req.op === OpCode.sync);
    this.queue.push({ pr, waiting: forwarded ? (req.op === OpCode.sync ? 'sync' : 'write') : undefined });
    if (forwarded) this.hooks.forward(req);
    this.drain();
  }

  /**
   * A committed txn from the leader, in zxid order: apply it, and answer the local request it came from, if any
   * (the oldest waiting write of that session with that cxid).
   */
  applyCommitted(hdr: TxnHeader, txn: Txn, digest?: TxnDigest): void {
    const result = this.tree.processTxn(hdr, txn);
    const entry = this.findWrite(hdr.clientId, hdr.cxid);
    const pr: PreparedRequest = entry?.pr ?? {
      req: { sessionId: hdr.clientId, xid: hdr.cxid, op: hdr.type, body: undefined, authIds: [], cnxn: undefined, receivedMs: 0 },
      hdr: undefined, txn: undefined, err: Code.OK, touched: [],
    };
    pr.hdr = hdr;
    pr.txn = txn;
    pr.digest = digest;
    pr.result = result;
    pr.err = txn.type === OpCode.error ? txn.err : Code.OK;
    if (digest !== undefined && this.tree.treeDigest !== digest.treeDigest) this.hooks.digestMismatch(pr);
    this.hooks.committed(pr);
    if (entry !== undefined) entry.waiting = undefined;
    else if (txn.type === OpCode.closeSession) this.hooks.complete(pr); // expired, or closed elsewhere: drop its connection here
    this.drain();
  }

  /** The leader's SYNC: the oldest forwarded sync can be answered. */
  syncDone(): void {
    for (let i = this.head; i < this.queue.length; i++) {
      if (this.queue[i].waiting === 'sync') {
        this.queue[i].waiting = undefined;
        break;
      }
    }
    this.drain();
  }

  /** Drops every queued request (the leader is gone: their outcome is unknown) and returns them. */
  abort(): PreparedRequest[] {
    const dropped = this.queue.slice(this.head).map((e) => e.pr);
    this.queue = [];
    this.head = 0;
    return dropped;
  }

  private findWrite(sessionId: bigint, cxid: number): Entry | undefined {
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i];
      if (e.waiting === 'write' && e.pr.req.sessionId === sessionId && e.pr.req.xid === cxid) return e;
    }
    return undefined;
  }

  private drain(): void {
    while (this.head < this.queue.length && this.queue[this.head].waiting === undefined) {
      const e = this.queue[this.head++];
      this.hooks.complete(e.pr);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
