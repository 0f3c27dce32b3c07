// recipes/lease.ts: a time-bounded lease on a name: ownership that ends by itself unless renewed.
//
// Semantics. The lease is the EPHEMERAL node `<path>` whose data is JSON {owner, expiresAt}. The holder
//   - acquires it by creating the node (or by replacing an expired one, below) with expiresAt = t0 + durationMs,
//     where t0 is its clock read *before* sending the write;
//   - considers itself the owner (isValid()) only while: it has not lost or released the lease, its client is
//     connected, and its clock is before t0 + durationMs of its last successful write;
//   - renews with a versioned setData (compare-and-set on the version it last wrote), which moves expiresAt forward;
//     with autoRenew (default) it renews every durationMs/3. A renewal that finds another version or no node means
//     the lease was taken over: 'lost'.
// A contender may take the lease when the node is missing (released, or its holder's session ended), or when its own
// clock is past expiresAt + maxClockSkewMs (the holder stopped renewing: hung, paused, or gone slow); it then swaps
// the node in one multi (delete at the version read + create), so exactly one contender wins and a late renewal
// fails. No two parties consider themselves owners at once as long as clocks differ by less than maxClockSkewMs.
// Why ephemeral and not a TTL node: ZooKeeper reaps TTL nodes lazily (on the container reaper's schedule), so a TTL
// can only clean up, not bound ownership; the ephemeral node ends ownership as soon as the session does, and the
// expiresAt field bounds it in time even while the holder's session stays alive.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ZooKeeperClient } from '../client/index.js';
import { Code, CreateMode } from '../client/index.js';
import { abortError } from './hold.js';
import { deadlineOf, deleteQuietly, isCode, isConnected, mkdirp, retry, sessionGoneError, TERMINAL, waitFor, watchOnce } from './util.js';

export interface TimedLeaseOptions {
  durationMs: number;
  /** The largest clock difference between parties that the lease tolerates. Default 100 ms. */
  maxClockSkewMs?: number;
  /** Renew every durationMs/3 while held. Default true. */
  autoRenew?: boolean;
  /** Written into the node; default a random UUID. */
  owner?: string;
}

interface LeaseData {
  owner: string;
  expiresAt: number;
}

function parse(b: Buffer | null): LeaseData | undefined {
  try {
    const v = JSON.parse(b?.toString('utf8') ?? '') as LeaseData;
    return typeof v.owner === 'string' && typeof v.expiresAt === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Events: 'lost' (reason), 'renewed' (validUntil). */
export class TimedLease extends EventEmitter {
  readonly owner: string;
  private readonly durationMs: number;
  private readonly skewMs: number;
  private readonly autoRenew: boolean;
  private held = false;
  private version = -1;
  private until = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly onState = (): void => {
    if (TERMINAL.has(this.client.state)) this.lose(`session ${this.client.state}`);
  };

  constructor(readonly client: ZooKeeperClient, readonly path: string, opts: TimedLeaseOptions) {
    super();
    if (!(opts.durationMs > 0)) throw new RangeError('durationMs must be > 0');
    this.durationMs = opts.durationMs;
    this.skewMs = opts.maxClockSkewMs ?? 100;
    this.autoRenew = opts.autoRenew ?? true;
    this.owner = opts.owner ?? randomUUID();
  }

  /** True while this party owns the lease (see the semantics above). */
  isValid(): boolean {
    return this.held && isConnected(this.client) && Date.now() < this.until;
  }

  /** The end of ownership by this party's clock unless renewed (0 when not held). */
  get validUntil(): number {
    return this.held ? this.until : 0;
  }

  private body(t0: number): string {
    return JSON.stringify({ owner: this.owner, expiresAt: t0 + this.durationMs });
  }

  /** Waits for the lease; false on timeout. */
  async acquire(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<boolean> {
    if (this.held) return true;
    const deadline = deadlineOf(opts.timeoutMs);
    const parent = this.path.slice(0, this.path.lastIndexOf('/')) || '/';
    await mkdirp(this.client, parent);
    for (;;) {
      if (opts.signal?.aborted) throw abortError();
      const t0 = Date.now();
      try {
        const { stat } = await this.client.create2(this.path, this.body(t0), { mode: CreateMode.EPHEMERAL });
        this.won(t0, stat.version);
        return true;
      } catch (e) {
        if (isCode(e, Code.CONNECTIONLOSS)) {
          // The create may have happened: the node then carries our owner id.
          await retry(this.client, () => this.client.exists(this.path));
          continue;
        }
        if (!isCode(e, Code.NODEEXISTS)) throw e;
      }
      const { watcher, fired } = watchOnce();
      let cur: { data: Buffer | null; stat: { version: number; ephemeralOwner: bigint } };
      try {
        cur = await retry(this.client, () => this.client.getData(this.path, watcher));
      } catch (e) {
        if (isCode(e, Code.NONODE)) continue;
        throw e;
      }
      const d = parse(cur.data);
      if (d?.owner === this.owner && cur.stat.ephemeralOwner === this.client.sessionId) {
        // Our own create whose reply was lost: its expiry was computed from a t0 we no longer know; renew at once.
        this.held = true;
        this.version = cur.stat.version;
        this.until = 0;
        if (await this.renew()) return true;
        continue;
      }
      const expiredAt = (d?.expiresAt ?? 0) + this.skewMs;
      if (Date.now() > expiredAt) {
        const t1 = Date.now();
        try {
          const res = await this.client.multi([
            { type: 'delete', path: this.path, version: cur.stat.version },
            { type: 'create', path: this.path, data: this.body(t1), mode: CreateMode.EPHEMERAL, stat: true },
          ]);
          const created = res[1];
          this.won(t1, created.type === 'create' && created.stat ? created.stat.version : 0);
          return true;
        } catch (e) {
          if (isCode(e, Code.CONNECTIONLOSS)) await retry(this.client, () => this.client.exists(this.path));
          else if (!isCode(e, Code.BADVERSION) && !isCode(e, Code.NONODE) && !isCode(e, Code.NODEEXISTS)) throw e;
          continue;
        }
      }
      // Wait for a change, or for the current lease to run out.
      const wake = Math.min(deadline, expiredAt + 1);
      const o = await waitFor(this.client, fired, wake, opts.signal);
      if (o === 'aborted') throw abortError();
      if (o === 'session') throw sessionGoneError(this.client);
      if (o === 'timeout' && Date.now() >= deadline) return false;
    }
  }

  private won(t0: number, version: number): void {
    this.held = true;
    this.version = version;
    this.until = t0 + this.durationMs;
    this.client.on('state', this.onState);
    this.schedule();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (!this.autoRenew || !this.held) return;
    this.timer = setTimeout(() => void this.renew().catch(() => undefined), Math.max(1, Math.floor(this.durationMs / 3)));
  }

  /** Extends the lease by durationMs from now; false (and 'lost') when it was taken over. */
  async renew(): Promise<boolean> {
    if (!this.held) return false;
    const t0 = Date.now();
    try {
      const st = await this.client.setData(this.path, this.body(t0), this.version);
      if (!this.held) return false;
      this.version = st.version;
      this.until = t0 + this.durationMs;
      this.emit('renewed', this.until);
      this.schedule();
      return true;
    } catch (e) {
      if (isCode(e, Code.BADVERSION) || isCode(e, Code.NONODE)) {
        this.lose('taken over');
        return false;
      }
      if (TERMINAL.has(this.client.state)) {
        this.lose(`session ${this.client.state}`);
        return false;
      }
      // Connection loss: the write may have landed (then the version moved by one and the next renewal would see
      // BADVERSION): read back to know.
      try {
        const { data, stat } = await retry(this.client, () => this.client.getData(this.path));
        const d = parse(data);
        if (d?.owner === this.owner && stat.ephemeralOwner === this.client.sessionId) {
          this.version = stat.version;
          this.until = Math.min(this.until, d.expiresAt);
          this.schedule();
          return this.isValid();
        }
        this.lose('taken over');
      } catch {
        this.lose('cannot confirm after connection loss');
      }
      return false;
    }
  }

  /** Gives the lease up (deletes the node if it is still ours). */
  async release(): Promise<void> {
    if (!this.held) return;
    const version = this.version;
    this.stop();
    if (TERMINAL.has(this.client.state)) return;
    try {
      await deleteQuietly(this.client, this.path, version);
    } catch (e) {
      if (!isCode(e, Code.BADVERSION)) throw e;
    }
  }

  private stop(): void {
    this.held = false;
    this.until = 0;
    clearTimeout(this.timer);
    this.client.off('state', this.onState);
  }

  private lose(reason: string): void {
    if (!this.held) return;
    this.stop();
    this.emit('lost', reason);
  }
}
