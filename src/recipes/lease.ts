// recipes/lease.ts: a time-bounded lease on a name: ownership that ends by itself unless renewed.
//
// Layout. `<path>` is a persistent node whose data version counts acquisitions (the lease's generation); the
// current holder is the EPHEMERAL node `<path>/holder` whose data is JSON {owner, expiresAt}.
// Semantics. The holder
//   - acquires by creating `holder` and bumping `<path>`'s version in one multi (or by replacing an expired holder
//     node, below), with expiresAt = t0 + durationMs, where t0 is its clock read *before* sending the write;
//   - considers itself the owner (isValid()) only while: it has not lost or released the lease, its client is
//     connected, and its clock is before t0 + durationMs of its last successful write;
//   - renews with a multi [check `<path>` is still at its generation, setData `holder` at the version it last
//     wrote], which moves expiresAt forward; with autoRenew (default) every durationMs/3. The generation check makes a
//     late renewal fail even when a new holder node happens to have the same data version (the ABA of re-created
//     nodes). A renewal that fails the check means the lease was taken over: 'lost'.
// A contender may take the lease when `holder` is missing (released, or its holder's session ended), or when its own
// clock is past expiresAt + maxClockSkewMs (the holder stopped renewing: hung, paused, or gone slow); it then swaps
// the holder node and bumps the generation in one multi (delete at the version read + create + setData), so exactly
// one contender wins. No two parties consider themselves owners at once as long as clocks differ by less than
// maxClockSkewMs.
// Why ephemeral and not a TTL node: ZooKeeper reaps TTL nodes lazily (on the container reaper's schedule), so a TTL
// can only clean up, not bound ownership; the ephemeral node ends ownership as soon as the session does, and the
// expiresAt field bounds it in time even while the holder's session stays alive.
import { clock } from '../util/sys.js';
import type { Timer } from '../util/sys.js';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { MultiResult, Op, ZooKeeperClient } from '../client/index.js';
import { Code, CreateMode } from '../client/index.js';
import { abortError } from './hold.js';
import { deadlineOf, isCode, isConnected, joinPath, mkdirp, retry, sessionGoneError, TERMINAL, waitFor, watchOnce } from './util.js';

export interface TimedLeaseOptions {
  durationMs: number;
  /** The largest clock difference between parties that the lease tolerates. Default 100 ms. */
  maxClockSkewMs?: number;
  /** Renew every durationMs/3 while held. Default true. */
  autoRenew?: boolean;
  /** Written into the holder node; default a random UUID. */
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

/** The data version a multi op left: a created node starts at 0 (servers may not return its Stat in a multi). */
function statOf(r: MultiResult | undefined): number {
  if (r?.type === 'setData') return r.stat.version;
  if (r?.type === 'create') return r.stat?.version ?? 0;
  throw new Error(`unexpected multi result ${r?.type}`);
}

/** Events: 'lost' (reason), 'renewed' (validUntil). */
export class TimedLease extends EventEmitter {
  readonly owner: string;
  readonly holderPath: string;
  private readonly durationMs: number;
  private readonly skewMs: number;
  private readonly autoRenew: boolean;
  private held = false;
  private version = -1;
  private generation = -1;
  private until = 0;
  private timer: Timer | undefined;
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
    this.holderPath = joinPath(path, 'holder');
  }

  /** True while this party owns the lease (see the semantics above). */
  isValid(): boolean {
    return this.held && isConnected(this.client) && clock.now() < this.until;
  }

  /** The end of ownership by this party's clock unless renewed (0 when not held). */
  get validUntil(): number {
    return this.held ? this.until : 0;
  }

  private body(t0: number): string {
    return JSON.stringify({ owner: this.owner, expiresAt: t0 + this.durationMs });
  }

  private claimOps(t0: number): Op[] {
    return [
      { type: 'create', path: this.holderPath, data: this.body(t0), mode: CreateMode.EPHEMERAL },
      { type: 'setData', path: this.path, data: null },
    ];
  }

  /** Waits for the lease; false on timeout. */
  async acquire(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<boolean> {
    if (this.held) return true;
    const deadline = deadlineOf(opts.timeoutMs);
    await mkdirp(this.client, this.path);
    for (;;) {
      if (opts.signal?.aborted) throw abortError();
      const t0 = clock.now();
      try {
        const res = await this.client.multi(this.claimOps(t0));
        this.won(t0, statOf(res[0]), statOf(res[1]));
        return true;
      } catch (e) {
        if (isCode(e, Code.CONNECTIONLOSS)) {
          await retry(this.client, () => this.client.exists(this.path));
          if (await this.adoptOwn()) return true;
          continue;
        }
        if (!isCode(e, Code.NODEEXISTS)) throw e;
      }
      const { watcher, fired } = watchOnce();
      let cur: { data: Buffer | null; stat: { version: number } };
      try {
        cur = await retry(this.client, () => this.client.getData(this.holderPath, watcher));
      } catch (e) {
        if (isCode(e, Code.NONODE)) continue;
        throw e;
      }
      const d = parse(cur.data);
      if (d?.owner === this.owner && (await this.adoptOwn())) return true;
      const expiredAt = (d?.expiresAt ?? 0) + this.skewMs;
      if (clock.now() > expiredAt) {
        const t1 = clock.now();
        try {
          const res = await this.client.multi([{ type: 'delete', path: this.holderPath, version: cur.stat.version }, ...this.claimOps(t1)]);
          this.won(t1, statOf(res[1]), statOf(res[2]));
          return true;
        } catch (e) {
          if (isCode(e, Code.CONNECTIONLOSS)) {
            await retry(this.client, () => this.client.exists(this.path));
            if (await this.adoptOwn()) return true;
          } else if (!isCode(e, Code.BADVERSION) && !isCode(e, Code.NONODE) && !isCode(e, Code.NODEEXISTS)) throw e;
          continue;
        }
      }
      // Wait for a change, or for the current lease to run out.
      const o = await waitFor(this.client, fired, Math.min(deadline, expiredAt + 1), opts.signal);
      if (o === 'aborted') throw abortError();
      if (o === 'session') throw sessionGoneError(this.client);
      if (o === 'timeout' && clock.now() >= deadline) return false;
    }
  }

  /**
   * After a claim whose reply was lost: if the holder node is ours (our owner id, our session), the claim landed and
   * nobody can have bumped the generation since (that needs our node gone). Its expiry was computed from a t0 we
   * cannot trust any more, so renew at once.
   */
  private async adoptOwn(): Promise<boolean> {
    try {
      const [{ data, stat }, gen] = await Promise.all([
        retry(this.client, () => this.client.getData(this.holderPath)),
        retry(this.client, () => this.client.exists(this.path)),
      ]);
      if (parse(data)?.owner !== this.owner || stat.ephemeralOwner !== this.client.sessionId || !gen) return false;
      this.won(0, stat.version, gen.version);
      return this.renew();
    } catch (e) {
      if (isCode(e, Code.NONODE)) return false;
      throw e;
    }
  }

  private won(t0: number, version: number, generation: number): void {
    this.held = true;
    this.version = version;
    this.generation = generation;
    this.until = t0 + this.durationMs;
    this.client.on('state', this.onState);
    this.schedule();
  }

  private schedule(): void {
    clock.clear(this.timer);
    if (!this.autoRenew || !this.held) return;
    this.timer = clock.setTimeout(() => void this.renew().catch(() => undefined), Math.max(1, Math.floor(this.durationMs / 3)));
  }

  /** Extends the lease by durationMs from now; false (and 'lost') when it was taken over. */
  async renew(): Promise<boolean> {
    if (!this.held) return false;
    const t0 = clock.now();
    try {
      const res = await this.client.multi([
        { type: 'check', path: this.path, version: this.generation },
        { type: 'setData', path: this.holderPath, data: this.body(t0), version: this.version },
      ]);
      if (!this.held) return false;
      this.version = statOf(res[1]);
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
      // Connection loss: the write may have landed; read back to know.
      try {
        const { data, stat } = await retry(this.client, () => this.client.getData(this.holderPath));
        const gen = await retry(this.client, () => this.client.exists(this.path));
        const d = parse(data);
        if (d?.owner === this.owner && gen?.version === this.generation) {
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

  /** Gives the lease up (deletes the holder node if it is still ours). */
  async release(): Promise<void> {
    if (!this.held) return;
    const ops: Op[] = [
      { type: 'check', path: this.path, version: this.generation },
      { type: 'delete', path: this.holderPath, version: this.version },
    ];
    this.stop();
    if (TERMINAL.has(this.client.state)) return;
    try {
      await retry(this.client, () => this.client.multi(ops));
    } catch (e) {
      if (!isCode(e, Code.BADVERSION) && !isCode(e, Code.NONODE)) throw e;
    }
  }

  private stop(): void {
    this.held = false;
    this.until = 0;
    clock.clear(this.timer);
    this.client.off('state', this.onState);
  }

  private lose(reason: string): void {
    if (!this.held) return;
    this.stop();
    this.emit('lost', reason);
  }
}
