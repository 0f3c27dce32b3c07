// server/ owns connections, sessions and the request pipeline; it may import util/, protocol/, tree/, txn/ and
// storage/, never quorum/ or admin/. sessions.ts: the session table as a pure state machine, with the semantics of
// ZooKeeper's SessionTrackerImpl and ExpiryQueue. It reads no clock: every call that depends on time takes `nowMs`
// (a monotonic millisecond count, like Java's Time.currentElapsedTime()), and the shell arms a timer for
// nextExpiryMs() and calls expire(now) when it fires.
//
// Expiry works in buckets of tickTime: a session touched at `now` with timeout `t` lands in the bucket
// roundUp(now + t) = ((now + t) / tickTime + 1) * tickTime, so it expires between t and t + tickTime after its last
// touch. Whole buckets expire at once, which is what ZooKeeper's users observe.
import { JavaRandom } from '../util/javaRandom.js';

/** The constant ZooKeeper XORs into a session id to seed its password generator. */
const PASSWORD_SEED_XOR = 0xb3415c00n;
/** Session passwords are 16 bytes. */
export const SESSION_PASSWORD_LENGTH = 16;
/** Long.MIN_VALUE is the ephemeralOwner of container nodes, so it can never be a session id. */
const CONTAINER_EPHEMERAL_OWNER = -(2n ** 63n);

/** The password ZooKeeper hands out for a session: new java.util.Random(sessionId ^ 0xB3415C00L).nextBytes(16). */
export function sessionPassword(sessionId: bigint): Buffer {
  const pw = Buffer.alloc(SESSION_PASSWORD_LENGTH);
  new JavaRandom(BigInt.asIntN(64, sessionId) ^ PASSWORD_SEED_XOR).nextBytes(pw);
  return pw;
}

/**
 * The first session id of a server (SessionTrackerImpl.initializeNextSessionId): the top byte is the server id, the
 * next five bytes come from the clock (so ids differ across restarts), the low two bytes are zero. `nowMs` is the
 * elapsed-time clock in ms. Returns a signed 64-bit value, as Java's long.
 */
export function initialSessionId(serverId: number, nowMs: number): bigint {
  if (!Number.isInteger(serverId)) throw new RangeError(`serverId must be an integer, got ${serverId}`);
  if (!Number.isInteger(nowMs)) throw new RangeError(`nowMs must be an integer, got ${nowMs}`);
  // (now << 24) >>> 8 on a 64-bit long: keep bits 0..39 of now at positions 16..55, top byte cleared.
  const time = BigInt.asUintN(64, BigInt(nowMs) << 24n) >> 8n;
  let id = BigInt.asIntN(64, time | (BigInt(serverId) << 56n));
  if (id === CONTAINER_EPHEMERAL_OWNER) id += 1n; // only if serverId is 0x80 and the time bits are zero
  return id;
}

interface SessionEntry {
  readonly id: bigint;
  readonly timeoutMs: number;
  /** The bucket (absolute ms) this session now sits in. */
  expiryMs: number;
  closing: boolean;
  /** The server holding the session's connection (ensemble leaders only; see ZooKeeperServer.checkSession). */
  owner?: number;
}

export interface SessionTrackerOptions {
  /** Bucket width in ms (zoo.cfg tickTime). */
  tickTime: number;
  /** This server's id (myid; 0 in standalone), the top byte of every session id it creates. */
  serverId: number;
  /** The elapsed-time clock at construction. */
  nowMs: number;
}

export class SessionTracker {
  private readonly tickTime: number;
  private readonly byId = new Map<bigint, SessionEntry>();
  /** expiry ms -> sessions in that bucket. Bounded by maxSessionTimeout / tickTime + 1 live buckets. */
  private readonly buckets = new Map<number, Set<bigint>>();
  /** The bucket the next expire() call looks at first (ExpiryQueue.nextExpirationTime). */
  private nextExpirationMs: number;
  private nextId: bigint;

  constructor(opts: SessionTrackerOptions) {
    if (!(Number.isInteger(opts.tickTime) && opts.tickTime > 0)) {
      throw new RangeError(`tickTime must be a positive integer, got ${opts.tickTime}`);
    }
    this.tickTime = opts.tickTime;
    this.nextExpirationMs = this.roundToNextInterval(opts.nowMs);
    this.nextId = initialSessionId(opts.serverId, opts.nowMs);
  }

  /**
   * Hands out the next session id (SessionTrackerImpl.createSession's getAndIncrement). Like ZooKeeper, ids simply
   * increment; the only value skipped is Long.MIN_VALUE (container owner), which the increment can reach only
   * after 2^56 sessions on server 0x7f.
   */
  nextSessionId(): bigint {
    const id = this.nextId;
    let next = BigInt.asIntN(64, id + 1n);
    if (next === CONTAINER_EPHEMERAL_OWNER) next += 1n;
    this.nextId = next;
    return id;
  }

  /**
   * Tracks a session (new, or restored from a snapshot/log, or learned from a peer) and puts it in the bucket for
   * `nowMs + timeoutMs`. If it is already tracked its timeout stays as first recorded (as trackSession does) and it
   * is only touched.
   */
  add(sessionId: bigint, timeoutMs: number, nowMs: number): void {
    if (!(Number.isInteger(timeoutMs) && timeoutMs >= 0)) {
      throw new RangeError(`session timeout must be a non-negative integer, got ${timeoutMs}`);
    }
    const existing = this.byId.get(sessionId);
    if (existing) {
      this.moveTo(existing, this.roundToNextInterval(nowMs + existing.timeoutMs));
      return;
    }
    const entry: SessionEntry = { id: sessionId, timeoutMs, expiryMs: Number.NaN, closing: false };
    this.byId.set(sessionId, entry);
    this.moveTo(entry, this.roundToNextInterval(nowMs + timeoutMs));
  }

  /** Any request or ping from the session: push its expiry out. False if unknown or already closing. */
  touch(sessionId: bigint, nowMs: number): boolean {
    const s = this.byId.get(sessionId);
    if (!s || s.closing) return false;
    this.moveTo(s, this.roundToNextInterval(nowMs + s.timeoutMs));
    return true;
  }

  /** The session is being closed (closeSession in the pipeline or expired): later touches fail. */
  setClosing(sessionId: bigint): void {
    const s = this.byId.get(sessionId);
    if (s) s.closing = true;
  }

  /** Forget the session (its closeSession txn was applied). */
  remove(sessionId: bigint): void {
    const s = this.byId.get(sessionId);
    if (!s) return;
    this.byId.delete(sessionId);
    this.buckets.get(s.expiryMs)?.delete(sessionId);
  }

  setOwner(sessionId: bigint, owner: number): void {
    const s = this.byId.get(sessionId);
    if (s) s.owner = owner;
  }

  ownerOf(sessionId: bigint): number | undefined {
    return this.byId.get(sessionId)?.owner;
  }

  has(sessionId: bigint): boolean {
    return this.byId.has(sessionId);
  }

  isClosing(sessionId: bigint): boolean {
    return this.byId.get(sessionId)?.closing ?? false;
  }

  timeoutOf(sessionId: bigint): number | undefined {
    return this.byId.get(sessionId)?.timeoutMs;
  }

  get size(): number {
    return this.byId.size;
  }

  /**
   * Expires every bucket whose time has come (time <= nowMs), in bucket order, marks those sessions closing and
   * returns their ids; the caller submits a closeSession for each. Sessions stay tracked until remove().
   */
  expire(nowMs: number): bigint[] {
    const expired: bigint[] = [];
    if (nowMs < this.nextExpirationMs) return expired;
    const due = [...this.buckets.keys()].filter((t) => t <= nowMs).sort((a, b) => a - b);
    for (const t of due) {
      const set = this.buckets.get(t);
      this.buckets.delete(t);
      if (!set) continue;
      for (const id of set) {
        const s = this.byId.get(id);
        if (!s) continue;
        s.closing = true;
        expired.push(id);
      }
    }
    this.nextExpirationMs = this.roundToNextInterval(nowMs);
    return expired;
  }

  /** When the earliest non-empty bucket is due (absolute ms), or undefined when no session waits to expire. */
  nextExpiryMs(): number | undefined {
    let min: number | undefined;
    for (const [t, set] of this.buckets) {
      if (set.size > 0 && (min === undefined || t < min)) min = t;
    }
    return min;
  }

  /** All tracked sessions (closing ones included), for snapshots and the dump command. */
  *sessions(): Iterable<{ id: bigint; timeoutMs: number }> {
    for (const s of this.byId.values()) yield { id: s.id, timeoutMs: s.timeoutMs };
  }

  /**
   * The expiry buckets as ZooKeeper's `dump` prints them: ascending time, empty buckets that have not been polled
   * yet included (ExpiryQueue only drops a bucket when it expires).
   */
  expiryBuckets(): Array<{ expiryMs: number; sessionIds: bigint[] }> {
    return [...this.buckets.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([expiryMs, set]) => ({ expiryMs, sessionIds: [...set] }));
  }

  private roundToNextInterval(timeMs: number): number {
    // Java long division truncates toward zero.
    return (Math.trunc(timeMs / this.tickTime) + 1) * this.tickTime;
  }

  private moveTo(s: SessionEntry, expiryMs: number): void {
    if (s.expiryMs === expiryMs) return;
    let set = this.buckets.get(expiryMs);
    if (!set) {
      set = new Set();
      this.buckets.set(expiryMs, set);
    }
    set.add(s.id);
    if (!Number.isNaN(s.expiryMs)) this.buckets.get(s.expiryMs)?.delete(s.id);
    s.expiryMs = expiryMs;
  }
}
