// zkts vs Apache ZooKeeper on the same machine with the same driver (scripts/bench-compare.sh runs this file).
// Starts both servers standalone on free loopback ports with temp dataDirs (or, with --ensemble N, an N-voter
// ensemble of each kind, ensemble.ts), runs each workload against each in turn (interleaved per workload so that
// drift in machine load hits both alike; an ensemble's sessions spread over all its servers), prints a ratio table
// and stops everything at the end, on error and on Ctrl-C.
import os from 'node:os';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type BenchOptions, type Endpoint, UsageError, WORKLOADS, type Workload } from './args.js';
import { type Ensemble, killEnsembles, startEnsemble } from './ensemble.js';
import { launch } from './launch.js';
import { type BenchResult, runBench } from './main.js';
import type { Kind } from './restart.js';

export const COMPARE_USAGE = `usage: bench-compare.sh [options]

Runs the same workloads against zkts and Apache ZooKeeper 3.8 (both standalone, or N-node ensembles; loopback,
temp dataDirs) and prints workload | zkts ops/s | ZK ops/s | ratio | zkts p99 | ZK p99 | ratio (zkts / ZK).

  --workloads LIST     comma-separated, from ${WORKLOADS.join(',')} (default all)
  --clients N          sessions per run (default 8)
  --outstanding K      requests in flight per session (default 32)
  --size B             data size in bytes (default 100)
  --duration S         measured seconds per run (default 10)
  --warmup S           warmup seconds per run (default 3)
  --procs P            driver worker processes (default 2)
  --ensemble N         N-voter ensembles (3 or 5) instead of standalone servers: tickTime 2000, initLimit 10,
                       syncLimit 5; sessions round-robin over all N servers (reads are answered by each session's
                       server, writes go through the leader); both ensembles stay up for the whole run
  --zk-force-sync M    yes: Apache ZooKeeper fsyncs its txn log (its default; zkts always fsyncs); no:
                       forceSync=no (ZooKeeper without fsync, not like with like); both: two ZK servers (or
                       ensembles), two tables (default yes)
  --zkts-only | --zk-only   run one side only
  --tmp-dir DIR        where the temp dataDirs go (default ${os.tmpdir()}; put it on the disk you care about)
  --json               print one JSON object with every result
  -h, --help           print this help`;

interface CompareOptions {
  workloads: Workload[];
  clients: number;
  outstanding: number;
  size: number;
  durationS: number;
  warmupS: number;
  procs: number;
  zkForceSync: 'yes' | 'no' | 'both';
  zkts: boolean;
  zk: boolean;
  tmpDir: string | undefined;
  /** Voters per ensemble; undefined: standalone servers. */
  ensemble: number | undefined;
  json: boolean;
}

const COMPARE_KEYS = new Set(['ensemble', 'workloads', 'clients', 'outstanding', 'size', 'duration', 'warmup', 'procs', 'zk-force-sync', 'tmp-dir']);

function parse(argv: readonly string[]): CompareOptions | null {
  const o: CompareOptions = {
    workloads: [...WORKLOADS], clients: 8, outstanding: 32, size: 100, durationS: 10, warmupS: 3, procs: 2,
    zkForceSync: 'yes', zkts: true, zk: true, tmpDir: undefined, ensemble: undefined, json: false,
  };
  const int = (k: string, v: string, min: number, max: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${k} must be an integer in ${min}..${max}`);
    return n;
  };
  const dec = (k: string, v: string, min: number): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min) throw new UsageError(`--${k} must be a number >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') return null;
    if (a === '--json') { o.json = true; continue; }
    if (a === '--zkts-only') { o.zk = false; continue; }
    if (a === '--zk-only') { o.zkts = false; continue; }
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument '${a}'`);
    const eq = a.indexOf('=');
    const k = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    if (!COMPARE_KEYS.has(k)) throw new UsageError(`unknown option --${k}`);
    const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (v === undefined) throw new UsageError(`--${k} needs a value`);
    switch (k) {
      case 'workloads': {
        const list = v.split(',').map((s) => s.trim()).filter(Boolean);
        for (const w of list) if (!WORKLOADS.includes(w as Workload)) throw new UsageError(`unknown workload '${w}'`);
        if (list.length === 0) throw new UsageError('--workloads is empty');
        o.workloads = list as Workload[];
        break;
      }
      case 'clients': o.clients = int(k, v, 1, 10_000); break;
      case 'outstanding': o.outstanding = int(k, v, 1, 10_000); break;
      case 'size': o.size = int(k, v, 0, 1_000_000); break;
      case 'duration': o.durationS = dec(k, v, 0.1); break;
      case 'warmup': o.warmupS = dec(k, v, 0); break;
      case 'procs': o.procs = int(k, v, 1, 64); break;
      case 'zk-force-sync':
        if (v !== 'yes' && v !== 'no' && v !== 'both') throw new UsageError('--zk-force-sync must be yes, no or both');
        o.zkForceSync = v;
        break;
      case 'tmp-dir': o.tmpDir = v; break;
      case 'ensemble':
        if (v !== '3' && v !== '5') throw new UsageError('--ensemble must be 3 or 5');
        o.ensemble = Number(v);
        break;
      default: throw new UsageError(`unknown option --${k}`);
    }
  }
  if (!o.zk && !o.zkts) throw new UsageError('--zkts-only and --zk-only exclude each other');
  o.procs = Math.min(o.procs, o.clients);
  return o;
}

/** One side of the comparison: a standalone server or an ensemble, loaded through `endpoints`. */
interface Target {
  key: string;
  label: string;
  kind: Kind;
  config: Record<string, string>;
  endpoints?: Endpoint[];
  ensemble?: Ensemble;
  stop?: () => Promise<void>;
  startError?: string;
}

type Cell = BenchResult | { error: string };
type Results = Map<string, Map<Workload, Cell>>;

// Ensemble nodes: 6 processes (3 JVMs, 3 node) plus the driver on 2 cores / 24 GB. 2 GB of heap each is far above
// what a 10 s run holds (the create workload leaves at most a few 100k small znodes) and keeps GC pauses short.
const ENSEMBLE_JAVA_HEAP = '2g';
const ENSEMBLE_NODE_ARGS = ['--max-old-space-size=2048'];
// ensemble.ts runs its JVMs with SerialGC (quick, small test ensembles); a benchmark runs ZooKeeper as shipped
// (the JVM's default collector, G1, like the standalone server of launch.ts).
const ENSEMBLE_JVM_ARGS = ['-XX:-UseSerialGC', '-XX:+UseG1GC'];
const ENSEMBLE_TIMING = { tickTime: 2000, initLimit: 10, syncLimit: 5 };

function targetsOf(o: CompareOptions): Target[] {
  const targets: Target[] = [];
  if (o.zkts) targets.push({ key: 'zkts', label: 'zkts', kind: 'zkts', config: {} });
  if (o.zk && o.zkForceSync !== 'no') targets.push({ key: 'zk', label: 'ZK', kind: 'apache', config: {} });
  if (o.zk && o.zkForceSync !== 'yes') {
    targets.push({ key: 'zk-nosync', label: 'ZK(forceSync=no)', kind: 'apache', config: { forceSync: 'no' } });
  }
  return targets;
}

async function startTarget(t: Target, o: CompareOptions, log: (s: string) => void): Promise<void> {
  if (o.ensemble === undefined) {
    const server = await launch({ kind: t.kind, name: t.label, config: t.config, tmpDir: o.tmpDir });
    t.endpoints = [{ host: '127.0.0.1', port: server.port }];
    t.stop = () => server.stop();
    log(`${t.label} listening on 127.0.0.1:${server.port}`);
    return;
  }
  const ensemble = await startEnsemble({
    kind: t.kind, voters: o.ensemble, ...ENSEMBLE_TIMING, config: t.config, tmpDir: o.tmpDir,
    javaHeap: ENSEMBLE_JAVA_HEAP, extraArgs: t.kind === 'apache' ? ENSEMBLE_JVM_ARGS : ENSEMBLE_NODE_ARGS,
  });
  t.ensemble = ensemble;
  t.endpoints = ensemble.nodes.map((n) => ({ host: '127.0.0.1', port: n.clientPort }));
  t.stop = () => ensemble.stop();
  log(`${t.label} ensemble on ${ensemble.connectString()} (${ensemble.root}): ${await modesLine(ensemble)}`);
}

/** "node 1 follower, node 2 leader, ..." */
async function modesLine(e: Ensemble): Promise<string> {
  const modes = await e.modes();
  return [...modes].map(([id, m]) => `node ${id} ${m ?? 'not serving'}`).join(', ');
}

/** Starts every target (in parallel); a target that fails to start is reported and left without endpoints. */
async function startTargets(targets: Target[], o: CompareOptions, log: (s: string) => void): Promise<boolean> {
  let ok = true;
  await Promise.all(targets.map(async (t) => {
    try {
      await startTarget(t, o, log);
    } catch (e) {
      t.startError = (e as Error).message;
      log(`could not start ${t.label}: ${t.startError}`);
      ok = false;
    }
  }));
  return ok;
}

function benchOptions(o: CompareOptions, w: Workload, endpoints: Endpoint[]): BenchOptions {
  return {
    host: endpoints[0].host, port: endpoints[0].port, targets: endpoints, workload: w, clients: o.clients,
    outstanding: o.outstanding, size: o.size, durationS: o.durationS, warmupS: o.warmupS, procs: o.procs, json: true,
    rootPrefix: '/zkts-bench', readPercent: 80, sessionTimeoutMs: 30_000,
  };
}

/** One workload on one target; returns false if it failed or had errors (then an ensemble's state is logged). */
async function runOne(t: Target, w: Workload, o: CompareOptions, results: Results, log: (s: string) => void): Promise<boolean> {
  const cell = results.get(t.key)!;
  if (!t.endpoints) {
    cell.set(w, { error: 'server did not start' });
    return false;
  }
  log(`${w} on ${t.label} ...`);
  let ok = true;
  try {
    const r = await runBench(benchOptions(o, w, t.endpoints));
    cell.set(w, r);
    log(`  ${Math.round(r.opsPerSec)} ops/s, p99 ${r.latencyMs.p99} ms, errors ${r.errors}` +
      (r.firstError ? ` (${JSON.stringify(r.errorCodes)}; first: ${r.firstError})` : ''));
    ok = r.errors === 0;
  } catch (e) {
    cell.set(w, { error: (e as Error).message });
    log(`  failed: ${(e as Error).message}`);
    ok = false;
  }
  if (!ok && t.ensemble) log(`  ${t.label} ensemble now: ${await modesLine(t.ensemble)}\n${t.ensemble.describe(undefined, 15)}`);
  return ok;
}

export async function compareMain(argv: string[]): Promise<number> {
  let o: CompareOptions | null;
  try {
    o = parse(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`bench-compare: ${e.message}\n\n${COMPARE_USAGE}\n`);
    return 2;
  }
  if (!o) {
    process.stdout.write(COMPARE_USAGE + '\n');
    return 0;
  }
  const log = (s: string): void => void process.stderr.write(s + '\n');
  let aborted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (aborted) {
      killEnsembles();
      process.exit(130);
    }
    aborted = true;
    log(`bench-compare: ${sig}: finishing the current run, then stopping the servers`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const targets = targetsOf(o);
  const results: Results = new Map(targets.map((t) => [t.key, new Map()]));
  let failed = false;
  try {
    failed = !(await startTargets(targets, o, log));
    // Interleaved per workload, so that drift in machine load hits every target alike.
    for (const w of o.workloads) {
      for (const t of targets) {
        if (aborted) break;
        if (!(await runOne(t, w, o, results, log))) failed = true;
      }
    }
  } finally {
    await Promise.all(targets.map((t) => (t.stop ? t.stop() : Promise.resolve())));
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  printResults(o, targets, results, aborted);
  if (aborted) return 130;
  return failed ? 1 : 0;
}

function printResults(o: CompareOptions, targets: Target[], results: Results, aborted: boolean): void {
  const fsyncNote = o.zkForceSync === 'no'
    ? 'Note: Apache ZooKeeper runs with forceSync=no (no fsync) while zkts fsyncs every batch: not like with like.'
    : 'Both servers fsync their txn log before acknowledging (zkts always; ZK with forceSync=yes, its default)' +
      (o.zkForceSync === 'both' ? '; ZK(forceSync=no) shows ZooKeeper without fsync.' : '.');
  const setup = `clients=${o.clients} outstanding=${o.outstanding} size=${o.size}B warmup=${o.warmupS}s ` +
    `duration=${o.durationS}s procs=${o.procs}; ${os.cpus().length} cores, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, ` +
    `node ${process.version}`;
  const shape = o.ensemble === undefined ? 'standalone servers' : `${o.ensemble}-node ensembles`;
  const header = o.ensemble === undefined ? shape : `${shape} (tickTime ${ENSEMBLE_TIMING.tickTime}, initLimit ` +
    `${ENSEMBLE_TIMING.initLimit}, syncLimit ${ENSEMBLE_TIMING.syncLimit}; ZK -Xmx${ENSEMBLE_JAVA_HEAP} G1, zkts ` +
    `${ENSEMBLE_NODE_ARGS.join(' ')}): sessions round-robin over all ${o.ensemble} servers, reads answered by the ` +
    `session's server, writes through the leader`;
  if (o.json) {
    const out: Record<string, unknown> = { shape: header, setup, note: fsyncNote, aborted, results: {} };
    for (const t of targets) (out.results as Record<string, unknown>)[t.key] = Object.fromEntries(results.get(t.key)!);
    process.stdout.write(JSON.stringify(out) + '\n');
    return;
  }
  process.stdout.write(`\n${header}\n${setup}\n${fsyncNote}\n${aborted ? 'INTERRUPTED: partial results (the last run was cut short)\n' : ''}`);
  const zkts = targets.find((t) => t.key === 'zkts');
  for (const t of targets.filter((x) => x.key !== 'zkts')) {
    process.stdout.write('\n' + table(o.workloads, zkts ? results.get('zkts')! : undefined, results.get(t.key), t.label) + '\n');
  }
  if (zkts && targets.length === 1) process.stdout.write('\n' + table(o.workloads, results.get('zkts'), undefined, 'ZK') + '\n');
  process.stdout.write('ratios are zkts / ZK: ops/s above 1 and p99 below 1 mean zkts is ahead. p99 in ms.\n' +
    'watch: ops are notifications, latency is setData sent -> NodeDataChanged received' +
    (o.ensemble === undefined ? '.\n' : ' (watcher and writer on different servers).\n'));
}

function table(workloads: Workload[], a: Map<Workload, Cell> | undefined, b: Map<Workload, Cell> | undefined, bLabel: string): string {
  const head = ['workload', 'zkts ops/s', `${bLabel} ops/s`, 'ratio', 'zkts p99', `${bLabel} p99`, 'ratio'];
  const rows: string[][] = [head];
  const ops = (c: Cell | undefined): string => (!c ? '-' : 'error' in c ? 'error' : String(Math.round(c.opsPerSec)));
  const p99 = (c: Cell | undefined): string => (!c ? '-' : 'error' in c ? 'error' : c.latencyMs.p99.toFixed(2));
  const ratio = (x: Cell | undefined, y: Cell | undefined, f: (r: BenchResult) => number): string => {
    if (!x || !y || 'error' in x || 'error' in y || f(y) === 0) return '-';
    return (f(x) / f(y)).toFixed(2);
  };
  for (const w of workloads) {
    const x = a?.get(w);
    const y = b?.get(w);
    const errs = [x, y].some((c) => c && !('error' in c) && c.errors > 0) ? ' (errors!)' : '';
    rows.push([w + errs, ops(x), ops(y), ratio(x, y, (r) => r.opsPerSec), p99(x), p99(y), ratio(x, y, (r) => r.latencyMs.p99)]);
  }
  const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r, k) => {
    const line = r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ');
    return k === 0 ? `${line}\n${widths.map((n) => '-'.repeat(n)).join('-|-')}` : line;
  }).join('\n');
}

function isMain(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
if (isMain()) {
  compareMain(process.argv.slice(2)).then((code) => process.exit(code), (e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    killEnsembles();
    process.exit(1);
  });
}
