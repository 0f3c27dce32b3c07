// The driver of `zkts bench`: parses the options, prepares the nodes of the run under a fresh bench root, forks the
// worker processes (worker.ts) that carry the sessions, steps them through warmup and measurement, merges their
// counters and histograms, removes what the run created and prints the result (text or one JSON object).
//
// Entry points: benchMain(argv) for the CLI (`zkts bench ...`), runBench(opts) for other tools (compare.ts).
// Running this file directly (`node dist/src/bench/main.js --target ...`) is the same as `zkts bench`.
import { type ChildProcess, fork } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CreateMode, OpCode } from '../protocol/constants.js';
import { Code, codeName } from '../protocol/errors.js';
import { type BenchOptions, endpointName, endpoints, parseBenchArgs, USAGE, UsageError } from './args.js';
import { Histogram } from './histogram.js';
import { Session, type SessionListener } from './session.js';
import { WORKER_ENV, type FromWorker, type ToWorker } from './worker.js';
import { clientPath, kindNames, OPEN_ACL, watchPath, type WorkerResult } from './workload.js';

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  min: number;
  max: number;
  mean: number;
}

export interface BenchResult {
  workload: string;
  /** The targets as given, comma-separated. */
  target: string;
  /** Sessions established per target, as the workers counted them. */
  sessionsByTarget: Record<string, number>;
  clients: number;
  sessions: number;
  procs: number;
  outstanding: number;
  size: number;
  warmupS: number;
  durationS: number;
  /** The measured window actually achieved (mean over workers), seconds. */
  windowS: number;
  ops: number;
  opsPerSec: number;
  opsByKind: Record<string, number>;
  /** Milliseconds. For watch: setData sent -> notification received. */
  latencyMs: LatencySummary;
  errors: number;
  errorCodes: Record<string, number>;
  firstError?: string;
  cleanupErrors: number;
  interrupted: boolean;
}

export interface BenchIO {
  stdout(s: string): void;
  stderr(s: string): void;
}

const defaultIO: BenchIO = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};

/** `zkts bench ...`: returns the exit code (0 ok, 1 failed or errors, 2 bad arguments). */
export async function benchMain(argv: string[], io: BenchIO = defaultIO): Promise<number> {
  let opts: BenchOptions | null;
  try {
    opts = parseBenchArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr(`zkts bench: ${e.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (opts === null) {
    io.stdout(USAGE + '\n');
    return 0;
  }
  let result: BenchResult;
  try {
    result = await runBench(opts, opts.json ? undefined : (line) => io.stderr(line + '\n'));
  } catch (e) {
    const message = (e as Error).message;
    if (opts.json) io.stdout(JSON.stringify({ error: message }) + '\n');
    io.stderr(`zkts bench: ${message}\n`);
    return 1;
  }
  io.stdout(opts.json ? JSON.stringify(result) + '\n' : formatResult(result));
  if (result.interrupted) return 130;
  return result.errors > 0 ? 1 : 0;
}

export function formatResult(r: BenchResult): string {
  const l = r.latencyMs;
  const kinds = Object.keys(r.opsByKind).length > 1
    ? `  (${Object.entries(r.opsByKind).map(([k, v]) => `${k} ${v}`).join(', ')})` : '';
  const codes = Object.keys(r.errorCodes).length
    ? `  (${Object.entries(r.errorCodes).map(([k, v]) => `${k} ${v}`).join(', ')})` : '';
  return [
    `workload    ${r.workload} on ${r.target}: ${r.clients} clients (${r.sessions} sessions) in ${r.procs} procs, ` +
      `${r.outstanding} outstanding, ${r.size} B${r.interrupted ? '  [interrupted]' : ''}`,
    ...(Object.keys(r.sessionsByTarget).length > 1
      ? [`sessions    ${Object.entries(r.sessionsByTarget).map(([k, v]) => `${k} ${v}`).join(', ')}`] : []),
    `ops         ${r.ops} in ${r.windowS.toFixed(2)} s${kinds}`,
    `throughput  ${Math.round(r.opsPerSec)} ops/s`,
    `latency ms  p50 ${fmtMs(l.p50)}  p90 ${fmtMs(l.p90)}  p99 ${fmtMs(l.p99)}  p99.9 ${fmtMs(l.p999)}  ` +
      `max ${fmtMs(l.max)}  mean ${fmtMs(l.mean)}${r.workload === 'watch' ? '  (setData sent -> notification)' : ''}`,
    `errors      ${r.errors}${codes}${r.firstError ? `  first: ${r.firstError}` : ''}`,
    ...(r.cleanupErrors ? [`cleanup     ${r.cleanupErrors} nodes could not be deleted`] : []),
    '',
  ].join('\n');
}

function fmtMs(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(3);
}

// ------------------------------------------------------------------ the run

const noListener: SessionListener = { onReply: () => undefined };

/** Runs one benchmark; throws if the server cannot be reached or the run cannot be set up. */
export async function runBench(opts: BenchOptions, progress?: (line: string) => void): Promise<BenchResult> {
  let admin = new Session(noListener);
  const workers: WorkerHandle[] = [];
  const stop = new Interrupt();
  const onSigint = (): void => {
    if (stop.fired) {
      for (const w of workers) w.kill();
      process.exit(130);
    }
    progress?.('interrupted: stopping the run and cleaning up (Ctrl-C again to quit now)');
    stop.fire();
  };
  process.on('SIGINT', onSigint);
  let root: string | undefined;
  let finished = false;
  try {
    admin = await connectAdmin(opts);
    root = `${opts.rootPrefix}/run-${process.pid}-${Date.now().toString(36)}`;
    await ensurePath(admin, opts.rootPrefix);
    await mustCreate(admin, root, Buffer.alloc(0));
    await setupNodes(admin, opts, root);

    const shares: number[][] = Array.from({ length: opts.procs }, () => []);
    for (let i = 0; i < opts.clients; i++) shares[i % opts.procs].push(i);
    for (let w = 0; w < opts.procs; w++) workers.push(new WorkerHandle(w));
    for (let w = 0; w < opts.procs; w++) workers[w].send({ type: 'start', opts, root, clients: shares[w] });
    await Promise.all(workers.map((w) => w.expect('ready', 60_000)));

    progress?.(`running ${opts.workload} against ${targetList(opts)}: warmup ${opts.warmupS} s, measure ${opts.durationS} s`);
    for (const w of workers) w.send({ type: 'go' });
    if (opts.warmupS > 0) await stop.sleep(opts.warmupS * 1000);
    for (const w of workers) w.send({ type: 'measure' });
    await stop.sleep(opts.durationS * 1000);
    const results = workers.map((w) => w.expect('result', 300_000));
    for (const w of workers) w.send({ type: 'stop' });
    const merged = merge(opts, (await Promise.all(results)).map((m) => (m as { result: WorkerResult }).result));
    merged.interrupted = stop.fired;
    finished = true;
    return merged;
  } finally {
    process.removeListener('SIGINT', onSigint);
    if (!finished) for (const w of workers) w.kill();
    await Promise.all(workers.map((w) => w.exited(5_000)));
    if (root !== undefined && !admin.closed) {
      try {
        await deleteTree(admin, root);
        // The shared parent goes too once no other run uses it.
        await admin.call({ op: OpCode.delete, path: opts.rootPrefix, version: -1 });
      } catch (e) {
        progress?.(`cleanup of ${root} failed: ${(e as Error).message}`);
      }
    }
    await admin.close();
  }
}

/**
 * The setup session. A server that is still starting may accept the TCP connection and close it without a
 * session (Apache ZooKeeper does right after startup), so that case is retried for a few seconds.
 */
async function connectAdmin(opts: BenchOptions): Promise<Session> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const s = new Session(noListener);
    try {
      await s.connect(opts.host, opts.port, opts.sessionTimeoutMs);
      return s;
    } catch (e) {
      if (!/closed during the handshake/.test((e as Error).message) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function merge(opts: BenchOptions, results: WorkerResult[]): BenchResult {
  const hist = new Histogram();
  const opsByKind: Record<string, number> = Object.fromEntries(kindNames(opts).map((k) => [k, 0]));
  const errorCodes: Record<string, number> = {};
  let ops = 0;
  let errors = 0;
  let opsPerSec = 0;
  let windowMs = 0;
  let cleanupErrors = 0;
  let firstError: string | undefined;
  const sessionsByTarget: Record<string, number> = Object.fromEntries(endpoints(opts).map((e) => [endpointName(e), 0]));
  for (const r of results) {
    hist.merge(r.hist);
    for (const [k, v] of Object.entries(r.sessionsByTarget)) sessionsByTarget[k] = (sessionsByTarget[k] ?? 0) + v;
    ops += r.ops;
    errors += r.errors;
    cleanupErrors += r.cleanupErrors;
    windowMs += r.windowMs;
    if (r.windowMs > 0) opsPerSec += r.ops / (r.windowMs / 1000);
    for (const [k, v] of Object.entries(r.opsByKind)) opsByKind[k] = (opsByKind[k] ?? 0) + v;
    for (const [k, v] of Object.entries(r.errorCodes)) errorCodes[k] = (errorCodes[k] ?? 0) + v;
    firstError ??= r.firstError;
  }
  const ms = (us: number): number => Math.round(us) / 1000;
  return {
    workload: opts.workload,
    target: targetList(opts),
    sessionsByTarget,
    clients: opts.clients,
    sessions: opts.workload === 'watch' ? opts.clients * 2 : opts.clients,
    procs: opts.procs,
    outstanding: opts.outstanding,
    size: opts.size,
    warmupS: opts.warmupS,
    durationS: opts.durationS,
    windowS: results.length ? windowMs / results.length / 1000 : 0,
    ops,
    opsPerSec: Math.round(opsPerSec * 10) / 10,
    opsByKind,
    latencyMs: {
      p50: ms(hist.quantileUs(0.5)), p90: ms(hist.quantileUs(0.9)), p99: ms(hist.quantileUs(0.99)),
      p999: ms(hist.quantileUs(0.999)), min: ms(hist.count ? hist.minUs : 0), max: ms(hist.maxUs), mean: ms(hist.meanUs()),
    },
    errors,
    errorCodes,
    ...(firstError !== undefined ? { firstError } : {}),
    cleanupErrors,
    interrupted: false,
  };
}

function targetList(opts: BenchOptions): string {
  return endpoints(opts).map(endpointName).join(',');
}

// ------------------------------------------------------------------ setup and cleanup on the admin session

async function ensurePath(s: Session, path: string): Promise<void> {
  const parts = path.split('/').filter(Boolean);
  let p = '';
  for (const part of parts) {
    p += '/' + part;
    const r = await s.call({ op: OpCode.create, create: { path: p, data: null, acl: OPEN_ACL, flags: CreateMode.PERSISTENT } });
    if (r.err !== 0 && r.err !== Code.NODEEXISTS) throw new Error(`create ${p}: ${codeName(r.err)}`);
  }
}

async function mustCreate(s: Session, path: string, data: Buffer): Promise<void> {
  const r = await s.call({ op: OpCode.create, create: { path, data, acl: OPEN_ACL, flags: CreateMode.PERSISTENT } });
  if (r.err !== 0) throw new Error(`create ${path}: ${codeName(r.err)}`);
}

/** Runs `fn` over `items` with at most `width` in flight (the session pipelines them). */
async function pool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}

async function setupNodes(s: Session, opts: BenchOptions, root: string): Promise<void> {
  const data = Buffer.alloc(opts.size, 0x61);
  const clients = Array.from({ length: opts.clients }, (_, i) => i);
  await pool(clients, 256, (i) => mustCreate(s, clientPath(root, i), data));
  if (opts.workload === 'watch') {
    const pairs = clients.flatMap((i) => Array.from({ length: opts.outstanding }, (_, j) => watchPath(root, i, j)));
    await pool(pairs, 256, (p) => mustCreate(s, p, data));
  }
}

/** Deletes `root` and everything under it (deepest level first), ignoring nodes already gone. */
async function deleteTree(s: Session, root: string): Promise<void> {
  const levels: string[][] = [[root]];
  for (;;) {
    const next: string[] = [];
    await pool(levels[levels.length - 1], 256, async (p) => {
      const r = await s.call({ op: OpCode.getChildren, path: p, watch: false });
      if (r.err === 0 && r.response?.op === OpCode.getChildren) for (const c of r.response.children) next.push(`${p}/${c}`);
    });
    if (next.length === 0) break;
    levels.push(next);
  }
  for (let k = levels.length - 1; k >= 0; k--) {
    await pool(levels[k], 256, async (p) => {
      const r = await s.call({ op: OpCode.delete, path: p, version: -1 });
      if (r.err !== 0 && r.err !== Code.NONODE) throw new Error(`delete ${p}: ${codeName(r.err)}`);
    });
  }
}

// ------------------------------------------------------------------ workers and phases

class Interrupt {
  fired = false;
  private wakers: Array<() => void> = [];
  fire(): void {
    this.fired = true;
    for (const w of this.wakers) w();
    this.wakers = [];
  }
  sleep(ms: number): Promise<void> {
    if (this.fired) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wakers.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

const WORKER_PATH = fileURLToPath(new URL('./worker.js', import.meta.url));

const liveWorkers = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of liveWorkers) p.kill('SIGKILL');
});

class WorkerHandle {
  private readonly proc: ChildProcess;
  private inbox: FromWorker[] = [];
  private waiter: (() => void) | undefined;
  private exitInfo: string | undefined;

  constructor(readonly index: number) {
    this.proc = fork(WORKER_PATH, [], {
      env: { ...process.env, [WORKER_ENV]: '1' },
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    liveWorkers.add(this.proc);
    this.proc.on('message', (m: FromWorker) => {
      this.inbox.push(m);
      this.waiter?.();
    });
    this.proc.on('exit', (code, signal) => {
      liveWorkers.delete(this.proc);
      this.exitInfo = `worker ${index} exited (${signal ?? `code ${code}`})`;
      this.waiter?.();
    });
    this.proc.on('error', (e) => {
      this.exitInfo ??= `worker ${index}: ${e.message}`;
      this.waiter?.();
    });
  }

  send(m: ToWorker): void {
    if (this.proc.connected) this.proc.send(m);
  }

  /** The next message of `type`; rejects on an error message, the worker's exit, or the timeout. */
  async expect(type: FromWorker['type'], timeoutMs: number): Promise<FromWorker> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.inbox.shift();
      if (m) {
        if (m.type === 'error') throw new Error(`worker ${this.index}: ${m.message}`);
        if (m.type === type) return m;
        continue;
      }
      if (this.exitInfo) throw new Error(`${this.exitInfo} before sending '${type}'`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`worker ${this.index}: no '${type}' within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  /** Waits for the worker to exit, killing it after `graceMs`. */
  async exited(graceMs: number): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    const t = setTimeout(() => this.kill(), graceMs);
    await gone;
    clearTimeout(t);
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}

// Run directly: `node dist/src/bench/main.js --target host:port ...`
function isMain(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
if (isMain()) {
  let settled = false;
  process.on('beforeExit', () => {
    // Only reachable if a bug leaves the run waiting on nothing: say so instead of exiting 0 silently.
    if (!settled) {
      process.stderr.write('zkts bench: internal error: the run stalled with nothing left to wait for\n');
      process.exit(1);
    }
  });
  benchMain(process.argv.slice(2)).then((code) => {
    settled = true;
    process.exit(code);
  }, (e: Error) => {
    settled = true;
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
  });
}
