// Latency while snapshots are taken, zkts vs Apache ZooKeeper 3.8 (both fsyncing): with a large tree loaded
// (N znodes of B bytes, as restart.ts loads them), run the `set` workload with a snapCount small enough that
// snapshots of the whole tree are written during the measured window, and report the workload's latency and
// throughput; then the same on a small tree (the baseline, where a snapshot costs next to nothing).
//
// Besides the workload (forked worker processes, as `zkts bench`), a probe session in this process sends one
// setData at a time and records when each was sent and how long it took, so its latency can be split into "while
// a snapshot was being written" and "otherwise". Snapshot intervals: zkts logs "snapshot written" with its
// duration; for ZooKeeper the "Snapshotting: 0x.. to <file>" line is timestamped as it arrives and the file's
// mtime is the end. Snapshots are listed per run so one can check they fell inside the window.
//
//   node dist/src/bench/snaplatency.js [--nodes 1000000] [--size 100] [--snap-count 100000] [--runs 2] [--json]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OpCode } from '../protocol/constants.js';
import { type BenchOptions, optionValues } from './args.js';
import { Histogram } from './histogram.js';
import { killAll, launch, type Launched, rssKb } from './launch.js';
import { type BenchResult, runBench } from './main.js';
import { DEFAULT_TUNING, type Kind, label, launchOptions, loadTree, type ServerTuning, srvr } from './restart.js';
import { buildFrame, Session } from './session.js';

const epochNow = (): number => performance.timeOrigin + performance.now();

interface SnapInterval {
  file: string;
  /** Epoch ms. */
  start: number;
  end: number;
  nodes?: number;
}

/** Follows a server's output for snapshot starts and ends (epoch ms). */
class SnapWatcher {
  readonly snaps: SnapInterval[] = [];
  private partial = '';
  private readonly zkStarts = new Map<string, number>();

  constructor(private readonly kind: Kind) {}

  onOutput = (chunk: string): void => {
    const now = Date.now();
    const text = this.partial + chunk;
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (this.kind === 'zkts') {
        if (!line.includes('"snapshot written"')) continue;
        try {
          const rec = JSON.parse(line) as { time: string; file: string; ms: number; nodes: number };
          const end = Date.parse(rec.time);
          this.snaps.push({ file: path.basename(rec.file), start: end - rec.ms, end, nodes: rec.nodes });
        } catch {
          // not a log record
        }
      } else {
        const m = /Snapshotting: (0x[0-9a-f]+) to (\S+)/.exec(line);
        if (m) this.zkStarts.set(m[2], now);
      }
    }
  };

  /** ZooKeeper: snapshot ends are the files' mtimes (the writer closes the file when done). */
  collect(dataDir: string): SnapInterval[] {
    if (this.kind === 'apache') {
      for (const [file, start] of this.zkStarts) {
        let end = NaN;
        try {
          end = fs.statSync(file).mtimeMs;
        } catch {
          // purged or never written
        }
        if (!Number.isNaN(end) && end < start) end = start;
        if (!this.snaps.some((s) => s.file === path.basename(file))) this.snaps.push({ file: path.basename(file), start, end });
      }
      void dataDir;
    }
    return this.snaps.sort((a, b) => a.start - b.start);
  }
}

/** One setData at a time on its own node; records (sent at, latency). */
class Probe {
  private readonly sent: number[] = [];
  private readonly lat: number[] = [];
  private running = false;
  private session: Session | undefined;
  private frame: Buffer | undefined;
  private stopped: (() => void) | undefined;

  async start(port: number, nodePath: string, size: number): Promise<void> {
    const s = new Session({
      onReply: (sess, _tag, _err, _b, _s, _e, sentAt, now) => {
        this.sent.push(performance.timeOrigin + sentAt);
        this.lat.push(now - sentAt);
        if (this.running) sess.sendFrame(this.frame!, 0);
        else this.stopped?.();
      },
      onClose: () => this.stopped?.(),
    });
    await s.connect('127.0.0.1', port, 30_000);
    const r = await s.call({ op: OpCode.create, create: { path: nodePath, data: Buffer.alloc(0), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 0 } });
    if (r.err !== 0 && r.err !== -110) throw new Error(`probe create ${nodePath}: ${r.err}`);
    this.frame = buildFrame({ op: OpCode.setData, path: nodePath, data: Buffer.alloc(size, 0x70), version: -1 });
    this.session = s;
    this.running = true;
    s.sendFrame(this.frame, 0);
  }

  async stop(): Promise<void> {
    if (!this.session) return;
    const done = new Promise<void>((r) => (this.stopped = r));
    this.running = false;
    await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
    await this.session.close();
  }

  /** Latency summaries of probes sent inside [from, to], split by whether a snapshot was being written. */
  split(from: number, to: number, snaps: SnapInterval[]): { during: Summary; outside: Summary } {
    const during = new Histogram();
    const outside = new Histogram();
    for (let i = 0; i < this.sent.length; i++) {
      const t = this.sent[i];
      if (t < from || t > to) continue;
      const end = t + this.lat[i];
      const overlaps = snaps.some((s) => s.start <= end && (Number.isNaN(s.end) ? Infinity : s.end) >= t);
      (overlaps ? during : outside).record(this.lat[i] * 1000);
    }
    return { during: summary(during), outside: summary(outside) };
  }

  reset(): void {
    this.sent.length = 0;
    this.lat.length = 0;
  }
}

interface Summary {
  n: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

function summary(h: Histogram): Summary {
  const ms = (us: number): number => Math.round(us) / 1000;
  return { n: h.count, p50: ms(h.quantileUs(0.5)), p99: ms(h.quantileUs(0.99)), p999: ms(h.quantileUs(0.999)), max: ms(h.maxUs) };
}

interface RunRow {
  kind: Kind;
  tree: 'large' | 'small';
  run: number;
  treeNodes: number;
  result: BenchResult | { error: string };
  window: { start: number; end: number };
  snapshots: Array<SnapInterval & { inWindow: boolean }>;
  probe: { during: Summary; outside: Summary };
  rssKb: number;
}

interface Options {
  nodes: number;
  size: number;
  snapCount: number;
  runs: number;
  clients: number;
  outstanding: number;
  durationS: number;
  warmupS: number;
  tuning: ServerTuning;
  tmpDir: string;
  json: boolean;
  kinds: Kind[];
  baseline: boolean;
  /** Append zkts's output (stdout/stderr) to this file, e.g. with --zkts-node-arg --trace-gc. */
  zktsLog?: string;
}

const USAGE = `usage: node dist/src/bench/snaplatency.js [--nodes N] [--size B] [--snap-count S] [--runs R] [--clients C]
       [--outstanding K] [--duration S] [--warmup S] [--zkts-heap-mb MB] [--zkts-node-arg FLAG]... [--zkts-log FILE] [--java-heap 4g] [--tmp-dir DIR]
       [--zkts-only | --zk-only] [--no-baseline] [--json]`;

function parse(argv: string[]): Options {
  const o: Options = {
    nodes: 1_000_000, size: 100, snapCount: 100_000, runs: 2, clients: 8, outstanding: 32, durationS: 20, warmupS: 3,
    tuning: { ...DEFAULT_TUNING, zktsNodeArgs: [] }, tmpDir: os.tmpdir(), json: false, kinds: ['zkts', 'apache'], baseline: true,
  };
  for (const cur = { i: 0 }; cur.i < argv.length; cur.i++) {
    const a = argv[cur.i];
    const { value: v, number: num } = optionValues(argv, cur);
    switch (a) {
      case '--nodes': o.nodes = Math.floor(num()); break;
      case '--size': o.size = Math.floor(num()); break;
      case '--snap-count': o.snapCount = Math.max(2, Math.floor(num())); break;
      case '--runs': o.runs = Math.max(1, Math.floor(num())); break;
      case '--clients': o.clients = Math.max(1, Math.floor(num())); break;
      case '--outstanding': o.outstanding = Math.max(1, Math.floor(num())); break;
      case '--duration': o.durationS = num(); break;
      case '--warmup': o.warmupS = num(); break;
      case '--zkts-heap-mb': o.tuning.zktsHeapMb = Math.floor(num()); break;
      case '--java-heap': o.tuning.javaHeap = v(); break;
      case '--zkts-node-arg': o.tuning.zktsNodeArgs.push(v()); break;
      case '--zkts-log': o.zktsLog = v(); break;
      case '--tmp-dir': o.tmpDir = v(); break;
      case '--zkts-only': o.kinds = ['zkts']; break;
      case '--zk-only': o.kinds = ['apache']; break;
      case '--no-baseline': o.baseline = false; break;
      case '--json': o.json = true; break;
      case '-h': case '--help': process.stdout.write(USAGE + '\n'); process.exit(0); break;
      default: throw new Error(`unknown argument ${a}\n${USAGE}`);
    }
  }
  return o;
}

interface Server {
  kind: Kind;
  srv: Launched;
  watcher: SnapWatcher;
  treeNodes: number;
  /** fd of the --zkts-log file. */
  sink?: number;
}

async function start(kind: Kind, o: Options, tree: 'large' | 'small', log: (s: string) => void): Promise<Server> {
  const watcher = new SnapWatcher(kind);
  const sink = kind === 'zkts' && o.zktsLog ? fs.openSync(o.zktsLog, 'a') : undefined;
  const onOutput = (chunk: string): void => {
    watcher.onOutput(chunk);
    if (sink !== undefined) fs.writeSync(sink, `[${new Date().toISOString()}] ${chunk}`);
  };
  const srv = await launch({
    kind, name: label(kind), tmpDir: o.tmpDir, readyTimeoutMs: 60_000, stopGraceMs: 30_000,
    config: { snapCount: o.snapCount }, onOutput, ...launchOptions(kind, o.tuning),
  });
  log(`${label(kind)} (${tree} tree) listening on ${srv.port}, pid ${srv.proc.pid}`);
  if (tree === 'large') {
    const l = await loadTree(srv.port, o.nodes, o.size);
    log(`  loaded ${o.nodes} x ${o.size} B in ${l.seconds.toFixed(1)} s`);
  }
  const info = await srvr(srv.port);
  return { kind, srv, watcher, treeNodes: info.nodes ?? -1, sink };
}

async function measure(s: Server, o: Options, tree: 'large' | 'small', run: number, log: (s: string) => void): Promise<RunRow> {
  const probe = new Probe();
  await probe.start(s.srv.port, `/snaplatency-probe`, o.size);
  const opts: BenchOptions = {
    host: '127.0.0.1', port: s.srv.port, workload: 'set', clients: o.clients, outstanding: o.outstanding, size: o.size,
    durationS: o.durationS, warmupS: o.warmupS, procs: 2, json: true, rootPrefix: '/zkts-bench', readPercent: 80,
    sessionTimeoutMs: 30_000,
  };
  let windowStart = NaN;
  let result: BenchResult | { error: string };
  log(`${label(s.kind)} ${tree} tree run ${run}: set, ${o.clients} clients x ${o.outstanding}, warmup ${o.warmupS} s, measure ${o.durationS} s`);
  try {
    result = await runBench(opts, (line) => {
      if (line.startsWith('running ')) windowStart = epochNow() + o.warmupS * 1000;
    });
    log(`  ${Math.round(result.opsPerSec)} ops/s, p50 ${result.latencyMs.p50} p99 ${result.latencyMs.p99} p99.9 ${result.latencyMs.p999} max ${result.latencyMs.max} ms, errors ${result.errors}`);
  } catch (e) {
    result = { error: (e as Error).message };
    log(`  failed: ${result.error}`);
  }
  await probe.stop();
  const windowEnd = windowStart + o.durationS * 1000;
  // Let a snapshot that started in the window finish so its end is known.
  await new Promise((r) => setTimeout(r, 1000));
  const all = s.watcher.collect(path.join(s.srv.dir, 'data'));
  const snaps = all
    .filter((x) => x.start <= windowEnd + 1000 && (Number.isNaN(x.end) || x.end >= windowStart - 1000))
    .map((x) => ({ ...x, inWindow: x.start <= windowEnd && (Number.isNaN(x.end) || x.end >= windowStart) }));
  const split = probe.split(windowStart, windowEnd, all);
  log(`  snapshots overlapping the window: ${snaps.filter((x) => x.inWindow).length}`);
  return {
    kind: s.kind, tree, run, treeNodes: s.treeNodes, result, window: { start: windowStart, end: windowEnd },
    snapshots: snaps, probe: split, rssKb: rssKb(s.srv.proc.pid),
  };
}

function f2(x: number): string {
  return Number.isFinite(x) ? x.toFixed(2) : '-';
}

function table(rows: RunRow[]): string {
  const head = ['server', 'tree', 'run', 'ops/s', 'p50', 'p99', 'p99.9', 'max', 'snaps in window', 'probe n snap/other',
    'probe p99 snap', 'probe p99 other', 'probe max snap', 'probe max other', 'RSS MB'];
  const out: string[][] = [head];
  for (const r of rows) {
    const ok = !('error' in r.result);
    const b = r.result as BenchResult;
    out.push([
      label(r.kind), `${r.tree} (${r.treeNodes})`, String(r.run),
      ok ? String(Math.round(b.opsPerSec)) : 'error',
      ok ? f2(b.latencyMs.p50) : '-', ok ? f2(b.latencyMs.p99) : '-', ok ? f2(b.latencyMs.p999) : '-', ok ? f2(b.latencyMs.max) : '-',
      String(r.snapshots.filter((x) => x.inWindow).length),
      `${r.probe.during.n}/${r.probe.outside.n}`,
      f2(r.probe.during.p99), f2(r.probe.outside.p99), f2(r.probe.during.max), f2(r.probe.outside.max),
      (r.rssKb / 1024).toFixed(0),
    ]);
  }
  const widths = head.map((_, i) => Math.max(...out.map((r) => r[i].length)));
  return out.map((r, k) => {
    const line = r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ');
    return k === 0 ? `${line}\n${widths.map((n) => '-'.repeat(n)).join('-|-')}` : line;
  }).join('\n');
}

export async function snapLatencyMain(argv: string[]): Promise<number> {
  const o = parse(argv);
  const log = (s: string): void => void process.stderr.write(s + '\n');
  const rows: RunRow[] = [];
  let failed = false;
  const trees: Array<'large' | 'small'> = o.baseline ? ['large', 'small'] : ['large'];
  for (const tree of trees) {
    const servers: Server[] = [];
    try {
      for (const kind of o.kinds) servers.push(await start(kind, o, tree, log));
      // Let the snapshots the load triggered finish before measuring.
      await new Promise((r) => setTimeout(r, tree === 'large' ? 10_000 : 1000));
      for (let run = 1; run <= o.runs; run++) {
        const order = run % 2 === 1 ? servers : [...servers].reverse();
        for (const s of order) {
          const row = await measure(s, o, tree, run, log);
          rows.push(row);
          if ('error' in row.result || row.result.errors > 0) failed = true;
        }
      }
    } catch (e) {
      failed = true;
      log(`${tree} tree: ${(e as Error).message}`);
    } finally {
      await Promise.all(servers.map((s) => s.srv.stop()));
      for (const s of servers) if (s.sink !== undefined) fs.closeSync(s.sink);
    }
  }
  const setup = `set workload, ${o.clients} clients x ${o.outstanding} outstanding, ${o.size} B, warmup ${o.warmupS} s, ` +
    `measure ${o.durationS} s; large tree ${o.nodes} x ${o.size} B; snapCount=${o.snapCount} (both servers, zoo.cfg); ` +
    `zkts node --max-old-space-size=${o.tuning.zktsHeapMb}, ZK -Xmx${o.tuning.javaHeap} forceSync=yes; ` +
    `${os.cpus().length} cores, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, node ${process.version}`;
  if (o.json) process.stdout.write(JSON.stringify({ setup, rows }) + '\n');
  else {
    process.stdout.write(`\n${setup}\nlatencies in ms; probe = 1 setData at a time from a separate session, split by ` +
      `whether a snapshot was being written while it was outstanding\n\n${table(rows)}\n\nsnapshots (s relative to the window start):\n`);
    for (const r of rows) {
      const inside = r.snapshots.filter((x) => x.inWindow);
      process.stdout.write(`  ${label(r.kind)} ${r.tree} run ${r.run}: ${inside.length} in the ${o.durationS} s window: ` + (inside.map((x) =>
        `${x.file}${x.nodes !== undefined ? ` (${x.nodes} nodes)` : ''} ${((x.start - r.window.start) / 1000).toFixed(1)}..${((x.end - r.window.start) / 1000).toFixed(1)}`,
      ).join(', ') || 'none') + '\n');
    }
  }
  return failed ? 1 : 0;
}

function isMain(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
if (isMain()) {
  process.on('SIGTERM', () => {
    killAll();
    process.exit(130);
  });
  snapLatencyMain(process.argv.slice(2)).then((code) => process.exit(code), (e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    killAll();
    process.exit(1);
  });
}
