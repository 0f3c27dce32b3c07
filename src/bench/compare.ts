// zkts vs Apache ZooKeeper on the same machine with the same driver (scripts/bench-compare.sh runs this file).
// Starts both servers standalone on free loopback ports with temp dataDirs, runs each workload against each server
// in turn (interleaved per workload so that drift in machine load hits both alike), prints a ratio table and
// stops both servers at the end, on error and on Ctrl-C.
import os from 'node:os';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type BenchOptions, UsageError, WORKLOADS, type Workload } from './args.js';
import { killAll, launch, type Launched } from './launch.js';
import { type BenchResult, runBench } from './main.js';

export const COMPARE_USAGE = `usage: bench-compare.sh [options]

Runs the same workloads against zkts and Apache ZooKeeper 3.8 (both standalone, loopback, temp dataDirs) and
prints workload | zkts ops/s | ZK ops/s | ratio | zkts p99 | ZK p99 | ratio (ratios are zkts / ZK).

  --workloads LIST     comma-separated, from ${WORKLOADS.join(',')} (default all)
  --clients N          sessions per run (default 8)
  --outstanding K      requests in flight per session (default 32)
  --size B             data size in bytes (default 100)
  --duration S         measured seconds per run (default 10)
  --warmup S           warmup seconds per run (default 3)
  --procs P            driver worker processes (default 2)
  --zk-force-sync M    yes: Apache ZooKeeper fsyncs its txn log (its default, the durable setup zkts must
                       match); no: forceSync=no (like zkts today, which has no fsync yet); both: two ZK servers,
                       two tables (default yes)
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
  json: boolean;
}

const COMPARE_KEYS = new Set(['workloads', 'clients', 'outstanding', 'size', 'duration', 'warmup', 'procs', 'zk-force-sync', 'tmp-dir']);

function parse(argv: readonly string[]): CompareOptions | null {
  const o: CompareOptions = {
    workloads: [...WORKLOADS], clients: 8, outstanding: 32, size: 100, durationS: 10, warmupS: 3, procs: 2,
    zkForceSync: 'yes', zkts: true, zk: true, tmpDir: undefined, json: false,
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
      default: throw new UsageError(`unknown option --${k}`);
    }
  }
  if (!o.zk && !o.zkts) throw new UsageError('--zkts-only and --zk-only exclude each other');
  o.procs = Math.min(o.procs, o.clients);
  return o;
}

interface Target {
  key: string;
  label: string;
  server?: Launched;
  startError?: string;
}

type Cell = BenchResult | { error: string };

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
      killAll();
      process.exit(130);
    }
    aborted = true;
    log(`bench-compare: ${sig}: finishing the current run, then stopping the servers`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const targets: Target[] = [];
  if (o.zkts) targets.push({ key: 'zkts', label: 'zkts' });
  if (o.zk && o.zkForceSync !== 'no') targets.push({ key: 'zk', label: 'ZK' });
  if (o.zk && o.zkForceSync !== 'yes') targets.push({ key: 'zk-nosync', label: 'ZK(forceSync=no)' });
  const results = new Map<string, Map<Workload, Cell>>(targets.map((t) => [t.key, new Map()]));
  let failed = false;
  try {
    await Promise.all(targets.map(async (t) => {
      try {
        t.server = await launch({
          kind: t.key === 'zkts' ? 'zkts' : 'apache',
          name: t.label,
          config: t.key === 'zk-nosync' ? { forceSync: 'no' } : {},
          tmpDir: o.tmpDir,
        });
        log(`${t.label} listening on 127.0.0.1:${t.server.port}`);
      } catch (e) {
        t.startError = (e as Error).message;
        log(`could not start ${t.label}: ${t.startError}`);
        failed = true;
      }
    }));
    for (const w of o.workloads) {
      for (const t of targets) {
        if (aborted) break;
        const cell = results.get(t.key)!;
        if (!t.server) {
          cell.set(w, { error: 'server did not start' });
          continue;
        }
        const opts: BenchOptions = {
          host: '127.0.0.1', port: t.server.port, workload: w, clients: o.clients, outstanding: o.outstanding,
          size: o.size, durationS: o.durationS, warmupS: o.warmupS, procs: o.procs, json: true,
          rootPrefix: '/zkts-bench', readPercent: 80, sessionTimeoutMs: 30_000,
        };
        log(`${w} on ${t.label} ...`);
        try {
          const r = await runBench(opts);
          cell.set(w, r);
          log(`  ${Math.round(r.opsPerSec)} ops/s, p99 ${r.latencyMs.p99} ms, errors ${r.errors}`);
          if (r.errors > 0) failed = true;
        } catch (e) {
          cell.set(w, { error: (e as Error).message });
          log(`  failed: ${(e as Error).message}`);
          failed = true;
        }
      }
    }
  } finally {
    await Promise.all(targets.map((t) => (t.server ? t.server.stop() : Promise.resolve())));
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }

  const fsyncNote = o.zkForceSync === 'no'
    ? 'Note: Apache ZooKeeper runs with forceSync=no (no fsync) while zkts fsyncs every batch: not like with like.'
    : 'Both servers fsync their txn log before acknowledging (zkts always; ZK with forceSync=yes, its default)' +
      (o.zkForceSync === 'both' ? '; ZK(forceSync=no) shows ZooKeeper without fsync.' : '.');
  const setup = `clients=${o.clients} outstanding=${o.outstanding} size=${o.size}B warmup=${o.warmupS}s ` +
    `duration=${o.durationS}s procs=${o.procs}; ${os.cpus().length} cores, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, ` +
    `node ${process.version}`;
  if (o.json) {
    const out: Record<string, unknown> = { setup, note: fsyncNote, aborted, results: {} };
    for (const t of targets) (out.results as Record<string, unknown>)[t.key] = Object.fromEntries(results.get(t.key)!);
    process.stdout.write(JSON.stringify(out) + '\n');
  } else {
    process.stdout.write(`\n${setup}\n${fsyncNote}\n${aborted ? 'INTERRUPTED: partial results (the last run was cut short)\n' : ''}`);
    const zkts = targets.find((t) => t.key === 'zkts');
    for (const t of targets.filter((x) => x.key !== 'zkts')) {
      process.stdout.write('\n' + table(o.workloads, zkts ? results.get('zkts')! : undefined, results.get(t.key), t.label) + '\n');
    }
    if (zkts && targets.length === 1) process.stdout.write('\n' + table(o.workloads, results.get('zkts'), undefined, 'ZK') + '\n');
    process.stdout.write('ratios are zkts / ZK: ops/s above 1 and p99 below 1 mean zkts is ahead. p99 in ms.\n' +
      'watch: ops are notifications, latency is setData sent -> NodeDataChanged received.\n');
  }
  if (aborted) return 130;
  return failed ? 1 : 0;
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
    killAll();
    process.exit(1);
  });
}
