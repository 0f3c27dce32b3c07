// The request pipeline, the same in every mode (DESIGN.md §3):
//
//   prep (validate, ACL, build txn, assign zxid) -> make durable (TxnLog) -> commit (apply to tree, fire watches)
//   -> reply in order
//
// Every request, read or write, goes through one FIFO after prep, so a request is answered only after every
// request ahead of it: a read sees all writes queued before it, and replies leave in request order. A write leaves
// the queue only when the log reports its zxid durable. The log decides how durability is achieved (in memory now;
// txn log with group commit, or a quorum of ACKs, later) — the pipeline does not change.
import { clock } from '../util/sys.js';
import { OpCode } from '../protocol/constants.js';
import { Code } from '../protocol/errors.js';
import type { Txn, TxnDigest, TxnHeader } from '../txn/records.js';
import type { DataTree } from '../tree/datatree.js';
import type { Preparer } from './prep.js';
import type { PreparedRequest, ServerRequest } from './request.js';

/** The "make durable" stage. */
export interface TxnLog {
  /** Appends a txn. It becomes durable later, reported through the callback given at construction. */
  append(hdr: TxnHeader, txn: Txn, digest?: TxnDigest): void;
  /** Ends a batch: everything appended so far should be made durable (one fsync covers the batch). */
  flush(): void;
  /**
   * A leader's read barrier for sync: returns a ticket that the stage later reports confirmed (`Pipeline.confirmed`)
   * once a quorum has shown this server still leads. Absent (standalone): a sync needs no confirmation.
   */
  confirmLeadership?(): number;
}

export interface PipelineHooks {
  /** A request reached the head of the queue and (for writes) was applied: answer it. */
  complete(pr: PreparedRequest): void;
  /** The tree's digest after applying a txn is not what prep computed: prep and apply disagree (logged, counted). */
  digestMismatch(pr: PreparedRequest): void;
}

/** What the server hands requests to: this Pipeline (standalone, leader) or a LearnerPipeline (follower, observer). */
export interface RequestStage {
  submit(req: ServerRequest): void;
  readonly outstanding: number;
  /** Drops every queued request (their outcome is unknown) and returns them. */
  abort(): PreparedRequest[];
}

/** Upper bound on queued requests; the server's throttle (globalOutstandingLimit) keeps it far below this. */
export const PIPELINE_QUEUE_MAX = 1_000_000;

export class Pipeline implements RequestStage {
  private queue: PreparedRequest[] = [];
  private head = 0;
  private durableZxid = -1;
  /** The highest leadership-confirmation ticket the log reported (see TxnLog.confirmLeadership). */
  private confirmedTicket = 0;
  private flushScheduled = false;
  private log!: TxnLog;

  constructor(
    private readonly preparer: Preparer,
    private readonly tree: DataTree,
    private readonly hooks: PipelineHooks,
    private readonly onCommitted: (pr: PreparedRequest) => void,
  ) {}

  /** Binds the durability stage; its callback must be `pipeline.durable`. */
  setLog(log: TxnLog): void {
    this.log = log;
  }

  get outstanding(): number {
    return this.queue.length - this.head;
  }

  submit(req: ServerRequest): void {
    if (this.outstanding >= PIPELINE_QUEUE_MAX) throw new Error(`pipeline queue over ${PIPELINE_QUEUE_MAX}`);
    const pr = this.preparer.prepare(req);
    // A sync on a leader waits for a quorum to confirm the leadership after it arrived: a leader that was cut off
    // (paused, partitioned) and not yet aware of it must not answer a sync, which clients use for up-to-date reads.
    if (pr.req.op === OpCode.sync && this.log.confirmLeadership) pr.confirmTicket = this.log.confirmLeadership();
    this.queue.push(pr);
    if (pr.hdr !== undefined && pr.txn !== undefined) {
      this.log.append(pr.hdr, pr.txn, pr.digest);
      this.scheduleFlush();
    }
    this.drain();
  }

  /** The log reports leadership confirmed for every ticket up to `ticket`. */
  confirmed(ticket: number): void {
    if (ticket > this.confirmedTicket) this.confirmedTicket = ticket;
    this.drain();
  }

  /** The log reports every txn up to `zxid` durable. */
  durable(zxid: number): void {
    if (zxid > this.durableZxid) this.durableZxid = zxid;
    this.drain();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // End the batch after this turn's I/O callbacks: every request read in this loop turn shares one flush.
    clock.setImmediate(() => {
      this.flushScheduled = false;
      this.log.flush();
    });
  }

  /** Drops every queued request (the log failed: they will never be durable) and returns them. */
  abort(): PreparedRequest[] {
    const dropped = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    return dropped;
  }

  private drain(): void {
    while (this.head < this.queue.length) {
      const pr = this.queue[this.head];
      if (pr.hdr !== undefined && pr.hdr.zxid > this.durableZxid) return;
      if (pr.confirmTicket !== undefined && pr.confirmTicket > this.confirmedTicket) return;
      this.head++;
      if (pr.hdr !== undefined && pr.txn !== undefined) this.commit(pr);
      this.hooks.complete(pr);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private commit(pr: PreparedRequest): void {
    pr.result = this.tree.processTxn(pr.hdr!, pr.txn!);
    if (pr.digest !== undefined && this.tree.treeDigest !== pr.digest.treeDigest) this.hooks.digestMismatch(pr);
    if (pr.result.err !== Code.OK && pr.err === Code.OK && pr.hdr!.type !== -1) {
      // Prep decided this txn would succeed; the tree disagreeing means prep and apply diverged.
      throw new Error(`txn 0x${pr.hdr!.zxid.toString(16)} failed on apply with ${pr.result.err} after prep passed`);
    }
    this.preparer.committed(pr);
    this.onCommitted(pr);
  }
}
