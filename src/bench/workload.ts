// The load itself, as run inside one worker process: one driver object per client that keeps its session(s)
// busy, and the worker-wide counters. Every request of a workload is a prebuilt frame (only the xid changes), so
// the hot path allocates nothing per request apart from the socket write.
import { performance } from 'node:perf_hooks';
import { CreateMode, EventType, OpCode } from '../protocol/constants.js';
import { Code, codeName } from '../protocol/errors.js';
import type { Request } from '../protocol/requests.js';
import { type BenchOptions, endpointName, endpointOf, endpoints } from './args.js';
import { Histogram, type SparseHistogram } from './histogram.js';
import { buildFrame, Session, type SessionListener } from './session.js';

export const OPEN_ACL = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

/** Paths of a run: everything lives under `root`, one node per client. */
export function clientPath(root: string, i: number): string {
  return `${root}/c${i}`;
}
export function watchPath(root: string, i: number, j: number): string {
  return `${root}/c${i}/w${j}`;
}
const SEQ_PREFIX = 'n-';

export interface WorkerResult {
  ops: number;
  errors: number;
  errorCodes: Record<string, number>;
  opsByKind: Record<string, number>;
  hist: SparseHistogram;
  windowMs: number;
  firstError?: string;
  cleanupErrors: number;
  /** Sessions established per target ("host:port"). */
  sessionsByTarget: Record<string, number>;
}

/** Counters shared by all clients of a worker. */
export class Stats {
  running = false;
  measuring = false;
  /** Set while the worker closes its sessions on purpose. */
  closing = false;
  ops = 0;
  errors = 0;
  readonly hist = new Histogram();
  readonly errorCodes = new Map<number, number>();
  readonly byKind: number[] = [0, 0];
  firstError: string | undefined;
  measureStart = 0;
  measureEnd = 0;
  cleanupErrors = 0;
  readonly sessionsByTarget = new Map<string, number>();

  error(code: number, what: string): void {
    this.errors++;
    this.errorCodes.set(code, (this.errorCodes.get(code) ?? 0) + 1);
    this.firstError ??= `${what}: ${codeName(code)}`;
  }

  completed(kind: number, sentAt: number, now: number): void {
    if (!this.measuring) return;
    this.ops++;
    this.byKind[kind]++;
    this.hist.record((now - sentAt) * 1000);
  }
}

/**
 * Connects session number `n` of the run to its target. With several targets (one ensemble) it then syncs on the
 * run root: the setup went through the first target, and a follower may not have applied it yet.
 */
async function connectSession(s: Session, n: number, opts: BenchOptions, root: string, stats: Stats): Promise<void> {
  const target = endpointOf(opts, n);
  await s.connect(target.host, target.port, opts.sessionTimeoutMs);
  const name = endpointName(target);
  stats.sessionsByTarget.set(name, (stats.sessionsByTarget.get(name) ?? 0) + 1);
  if (endpoints(opts).length === 1) return;
  const r = await s.call({ op: OpCode.sync, path: root });
  if (r.err !== 0) throw new Error(`sync ${root} on ${name}: ${codeName(r.err)}`);
}

export interface Client {
  sessions(): Session[];
  connect(): Promise<void>;
  start(): void;
  cleanup(): Promise<void>;
}

function dataOf(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = 97 + ((i + seed) % 26);
  return b;
}

/** create / set / get / mixed: one session per client, `outstanding` requests in flight. */
export class SimpleClient implements Client, SessionListener {
  private readonly session: Session;
  private readonly frames: Buffer[];
  private readonly kindNames: string[];
  private rng: number;
  private seqs = new Int32Array(1024);
  private nSeqs = 0;
  private readonly base: string;

  constructor(
    private readonly opts: BenchOptions,
    private readonly root: string,
    private readonly index: number,
    private readonly stats: Stats,
  ) {
    this.session = new Session(this);
    this.session.id = index;
    this.base = clientPath(root, index);
    const data = dataOf(opts.size, index);
    const get: Request = { op: OpCode.getData, path: this.base, watch: false };
    const set: Request = { op: OpCode.setData, path: this.base, data, version: -1 };
    switch (opts.workload) {
      case 'create':
        this.frames = [buildFrame({
          op: OpCode.create,
          create: { path: `${this.base}/${SEQ_PREFIX}`, data, acl: OPEN_ACL, flags: CreateMode.PERSISTENT_SEQUENTIAL },
        })];
        this.kindNames = ['create'];
        break;
      case 'set': this.frames = [buildFrame(set)]; this.kindNames = ['set']; break;
      case 'get': this.frames = [buildFrame(get)]; this.kindNames = ['get']; break;
      default: this.frames = [buildFrame(get), buildFrame(set)]; this.kindNames = ['get', 'set'];
    }
    this.rng = (0x9e3779b9 ^ (index * 0x85ebca6b)) | 1;
  }

  sessions(): Session[] {
    return [this.session];
  }

  connect(): Promise<void> {
    return connectSession(this.session, this.index, this.opts, this.root, this.stats);
  }

  start(): void {
    const now = performance.now();
    for (let k = 0; k < this.opts.outstanding; k++) this.sendNext(now);
  }

  private nextKind(): number {
    if (this.frames.length === 1) return 0;
    // xorshift32: a cheap deterministic stream per client.
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x;
    return ((x >>> 0) % 10_000) < this.opts.readPercent * 100 ? 0 : 1;
  }

  private sendNext(now: number): void {
    const kind = this.nextKind();
    this.session.sendFrame(this.frames[kind], kind, now);
  }

  onReply(_s: Session, kind: number, err: number, buf: Buffer, bodyStart: number, bodyEnd: number, sentAt: number, now: number): void {
    if (err !== 0) this.stats.error(err, `${this.kindNames[kind]} ${this.base}`);
    else {
      if (this.opts.workload === 'create') this.noteCreated(buf, bodyStart, bodyEnd);
      this.stats.completed(kind, sentAt, now);
    }
    if (this.stats.running) this.sendNext(now);
  }

  onClose(_s: Session, outstanding: number, error: Error | undefined): void {
    if (!this.stats.closing && (this.stats.running || outstanding > 0 || error)) {
      this.stats.errors += Math.max(1, outstanding);
      this.stats.firstError ??= `session ${this.index} closed${error ? `: ${error.message}` : ''} with ${outstanding} outstanding`;
    }
  }

  /** CreateResponse{ustring path}: remember the 10-digit sequence suffix so that cleanup can delete the node. */
  private noteCreated(buf: Buffer, start: number, end: number): void {
    if (start + 4 + 10 > end) return;
    let seq = 0;
    for (let p = end - 10; p < end; p++) seq = seq * 10 + (buf[p] - 48);
    if (this.nSeqs === this.seqs.length) {
      const next = new Int32Array(this.seqs.length * 2);
      next.set(this.seqs);
      this.seqs = next;
    }
    this.seqs[this.nSeqs++] = seq;
  }

  /** Deletes the nodes this client created, 100 per multi, a few multis in flight. */
  async cleanup(): Promise<void> {
    if (this.opts.workload !== 'create' || this.session.closed) return;
    const paths: string[] = [];
    for (let k = 0; k < this.nSeqs; k++) paths.push(`${this.base}/${SEQ_PREFIX}${String(this.seqs[k]).padStart(10, '0')}`);
    const batches: string[][] = [];
    for (let k = 0; k < paths.length; k += 100) batches.push(paths.slice(k, k + 100));
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < batches.length) {
        const batch = batches[next++];
        const r = await this.session.call({ op: OpCode.multi, ops: batch.map((path) => ({ op: OpCode.delete, path, version: -1 })) });
        const failed = r.err !== 0 || (r.response?.op === OpCode.multi && r.response.results.some((x) => x.op === OpCode.error));
        if (!failed) continue;
        // Some node of the batch is gone or the server refused multi: one by one, ignoring NONODE.
        for (const path of batch) {
          const d = await this.session.call({ op: OpCode.delete, path, version: -1 });
          if (d.err !== 0 && d.err !== Code.NONODE) this.stats.cleanupErrors++;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, batches.length) }, lane));
  }
}

/**
 * watch: per client a watcher session and a writer session over `outstanding` nodes. Each node cycles through
 * getData(watch=true) on the watcher -> setData on the writer -> NodeDataChanged on the watcher; the latency is
 * from sending the setData to receiving the notification.
 */
export class WatchClient implements Client, SessionListener {
  private readonly watcher: Session;
  private readonly writer: Session;
  private readonly getFrames: Buffer[] = [];
  private readonly setFrames: Buffer[] = [];
  private readonly indexOf = new Map<string, number>();
  private readonly setAt: Float64Array;

  constructor(
    private readonly opts: BenchOptions,
    private readonly root: string,
    private readonly index: number,
    private readonly stats: Stats,
  ) {
    this.watcher = new Session(this);
    this.writer = new Session(this);
    const data = dataOf(opts.size, index);
    for (let j = 0; j < opts.outstanding; j++) {
      const path = watchPath(root, index, j);
      this.indexOf.set(path, j);
      this.getFrames.push(buildFrame({ op: OpCode.getData, path, watch: true }));
      this.setFrames.push(buildFrame({ op: OpCode.setData, path, data, version: -1 }));
    }
    this.setAt = new Float64Array(opts.outstanding).fill(NaN);
  }

  sessions(): Session[] {
    return [this.watcher, this.writer];
  }

  async connect(): Promise<void> {
    // Sessions 2i and 2i+1: with several targets the watcher and the writer sit on different servers, so a
    // notification also measures the write's way to the watcher's server.
    await Promise.all([
      connectSession(this.watcher, 2 * this.index, this.opts, this.root, this.stats),
      connectSession(this.writer, 2 * this.index + 1, this.opts, this.root, this.stats),
    ]);
  }

  start(): void {
    const now = performance.now();
    for (let j = 0; j < this.getFrames.length; j++) this.watcher.sendFrame(this.getFrames[j], j, now);
  }

  onReply(s: Session, j: number, err: number, _buf: Buffer, _bs: number, _be: number, _sentAt: number, now: number): void {
    if (s === this.writer) {
      if (err !== 0) this.stats.error(err, `setData c${this.index}/w${j}`);
      return;
    }
    if (err !== 0) {
      this.stats.error(err, `getData(watch) c${this.index}/w${j}`);
      if (this.stats.running) this.watcher.sendFrame(this.getFrames[j], j, now);
      return;
    }
    if (!this.stats.running) return;
    this.setAt[j] = now;
    this.writer.sendFrame(this.setFrames[j], j, now);
  }

  onNotification(_s: Session, type: number, path: string, now: number): void {
    if (type !== EventType.NodeDataChanged) return;
    const j = this.indexOf.get(path);
    if (j === undefined) return;
    const t = this.setAt[j];
    if (Number.isNaN(t)) return;
    this.setAt[j] = NaN;
    this.stats.completed(0, t, now);
    if (this.stats.running) this.watcher.sendFrame(this.getFrames[j], j, now);
  }

  onClose(_s: Session, outstanding: number, error: Error | undefined): void {
    if (!this.stats.closing && (this.stats.running || outstanding > 0 || error)) {
      this.stats.errors += Math.max(1, outstanding);
      this.stats.firstError ??= `session of client ${this.index} closed${error ? `: ${error.message}` : ''}`;
    }
  }

  cleanup(): Promise<void> {
    return Promise.resolve();
  }
}

export function makeClient(opts: BenchOptions, root: string, index: number, stats: Stats): Client {
  return opts.workload === 'watch' ? new WatchClient(opts, root, index, stats) : new SimpleClient(opts, root, index, stats);
}

export function kindNames(opts: BenchOptions): string[] {
  return opts.workload === 'mixed' ? ['get', 'set'] : [opts.workload === 'watch' ? 'notification' : opts.workload];
}

/** The worker's share of the load: its clients and counters, driven through the phases by the driver. */
export class Load {
  readonly stats = new Stats();
  readonly clients: Client[];

  constructor(private readonly opts: BenchOptions, root: string, indexes: number[]) {
    this.clients = indexes.map((i) => makeClient(opts, root, i, this.stats));
  }

  async connect(): Promise<void> {
    // A bounded number of handshakes at a time, so hundreds of clients do not hit the server's accept queue at once.
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < this.clients.length) await this.clients[next++].connect();
    };
    await Promise.all(Array.from({ length: Math.min(32, this.clients.length) }, lane));
  }

  go(): void {
    this.stats.running = true;
    for (const c of this.clients) c.start();
  }

  measure(): void {
    this.stats.hist.reset();
    this.stats.ops = 0;
    this.stats.byKind.fill(0);
    this.stats.measuring = true;
    this.stats.measureStart = performance.now();
  }

  /** Stops sending, waits (bounded) for the replies in flight, cleans up, closes the sessions. */
  async stop(drainTimeoutMs = 15_000): Promise<WorkerResult> {
    const s = this.stats;
    s.measureEnd = performance.now();
    if (!s.measuring) s.measureStart = s.measureEnd;
    s.measuring = false;
    s.running = false;
    const sessions = this.clients.flatMap((c) => c.sessions());
    const deadline = performance.now() + drainTimeoutMs;
    while (sessions.some((x) => !x.closed && x.outstanding > 0) && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const stuck = sessions.reduce((a, x) => a + (x.closed ? 0 : x.outstanding), 0);
    if (stuck > 0) {
      s.errors += stuck;
      s.firstError ??= `${stuck} requests got no reply within ${drainTimeoutMs} ms of stopping`;
    }
    const result = this.result();
    for (const c of this.clients) {
      try {
        await c.cleanup();
      } catch {
        s.cleanupErrors++;
      }
    }
    result.cleanupErrors = s.cleanupErrors;
    s.closing = true;
    await Promise.all(sessions.map((x) => x.close()));
    return result;
  }

  result(): WorkerResult {
    const s = this.stats;
    const names = kindNames(this.opts);
    const opsByKind: Record<string, number> = {};
    names.forEach((n, k) => (opsByKind[n] = s.byKind[k]));
    const errorCodes: Record<string, number> = {};
    for (const [code, count] of s.errorCodes) errorCodes[codeName(code)] = count;
    const lost = s.errors - [...s.errorCodes.values()].reduce((a, b) => a + b, 0);
    if (lost > 0) errorCodes.LOST = lost;
    return {
      ops: s.ops, errors: s.errors, errorCodes, opsByKind, hist: s.hist.toSparse(),
      windowMs: s.measureEnd - s.measureStart, firstError: s.firstError, cleanupErrors: s.cleanupErrors,
      sessionsByTarget: Object.fromEntries(s.sessionsByTarget),
    };
  }
}
