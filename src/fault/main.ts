// `zkts fault`: runs the fault suite (runner.ts) from the command line, one line per run, the replay command and
// the kept directory of every run that found something. Exit status 1 when any run found a violation.
import { killEnsembles } from '../bench/ensemble.js';
import type { Kind } from '../bench/restart.js';
import { recheck } from './recheck.js';
import { replayCommand, runFaultTest, type FaultTestReport } from './runner.js';
import { FAULTS, type FaultName, isFault } from './schedule.js';
import { isWorkload, WORKLOADS, type WorkloadName } from './workloads.js';
import { optionValues } from '../bench/args.js';

const USAGE = `usage: zkts fault --workload W --fault F [--seed S] [--duration SECONDS] [--kind zkts|apache] [--runs N]
                  [--nodes N] [--clients N] [--tmp DIR] [--keep] [--verbose]
       zkts fault --check history.json      re-run the checkers on a kept history

Runs a workload against a proxied ensemble of real processes while a nemesis injects faults, then checks the
history. W and F may be comma lists or 'all'; --runs N uses seeds S..S+N-1 for every combination.
  workloads: ${WORKLOADS.join(', ')}
  faults:    ${FAULTS.join(', ')}
  --duration  seconds of workload under faults (default 20)
  --nodes     voters (default 3; 5 for partition-bridge)
  --keep      keep every run's directory (default: only runs that did not pass)
  --verbose   print the nemesis's actions
`;

interface Args {
  workloads: WorkloadName[];
  faults: FaultName[];
  seed: number;
  durationMs: number;
  kind: Kind;
  runs: number;
  nodes?: number;
  clients?: number;
  tmpDir?: string;
  keep: boolean;
  verbose: boolean;
}

const DEFAULT_DURATION_S = 20;

function list<T extends string>(value: string, all: readonly T[], valid: (s: string) => s is T, what: string): T[] {
  if (value === 'all') return [...all];
  return value.split(',').map((v) => {
    if (!valid(v)) throw new Error(`unknown ${what} '${v}' (one of: ${all.join(', ')})`);
    return v;
  });
}

export function parseFaultArgs(argv: string[]): Args {
  const a: Args = { workloads: [], faults: [], seed: Date.now() % 1_000_000, durationMs: DEFAULT_DURATION_S * 1000, kind: 'zkts', runs: 1, keep: false, verbose: false };
  for (const cur = { i: 0 }; cur.i < argv.length; cur.i++) {
    const flag = argv[cur.i];
    const { value: v, count, number } = optionValues(argv, cur);
    switch (flag) {
      case '--workload': a.workloads = list(v(), WORKLOADS, isWorkload, 'workload'); break;
      case '--fault': a.faults = list(v(), FAULTS, isFault, 'fault'); break;
      case '--seed': a.seed = count(); break;
      case '--duration': a.durationMs = Math.round(number() * 1000); break;
      case '--kind': {
        const k = v();
        if (k !== 'zkts' && k !== 'apache') throw new Error(`--kind is zkts or apache, got '${k}'`);
        a.kind = k;
        break;
      }
      case '--runs': a.runs = count(); break;
      case '--nodes': a.nodes = count(); break;
      case '--clients': a.clients = count(); break;
      case '--tmp': a.tmpDir = v(); break;
      case '--keep': a.keep = true; break;
      case '--verbose': a.verbose = true; break;
      default: throw new Error(`unknown argument '${flag}'`);
    }
  }
  if (a.workloads.length === 0 || a.faults.length === 0) throw new Error('--workload and --fault are required');
  if (!(a.durationMs > 0)) throw new Error('--duration must be a positive number of seconds');
  return a;
}

/** `register  kill9-one  seed=3  ops=2310  ok  14.2 s`, with the failing checkers' summaries. */
export function reportLine(r: FaultTestReport): string {
  const o = r.options;
  const head = `${o.workload.padEnd(10)} ${o.fault.padEnd(27)} seed=${String(o.seed).padEnd(6)} ops=${String(r.ops).padEnd(6)}`;
  const time = `${(r.elapsedMs / 1000).toFixed(1)} s`;
  if (r.skipped) return `${head} skipped (${r.skipped})`;
  const bad = r.result.filter((c) => !c.valid);
  if (bad.length === 0) return `${head} ok  ${time}`;
  const what = bad.every((c) => c.unknown) ? 'UNKNOWN' : 'VIOLATION';
  return `${head} ${what}  ${time}\n${bad.map((c) => `    ${c.checker}: ${c.summary}`).join('\n')}`;
}

export async function faultMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (argv[0] === '--check' && argv[1]) return checkMain(argv[1]);
  let a: Args;
  try {
    a = parseFaultArgs(argv);
  } catch (e) {
    process.stderr.write(`zkts fault: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  // Ensembles die with this process (a paused node too: SIGKILL ends a stopped process).
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killEnsembles();
      process.exit(130);
    });
  }
  let violations = 0;
  for (const workload of a.workloads) {
    for (const fault of a.faults) {
      for (let seed = a.seed; seed < a.seed + a.runs; seed++) {
        const log = a.verbose ? (l: string): void => void process.stdout.write(`  ${l}\n`) : undefined;
        const r = await runFaultTest({ kind: a.kind, workload, fault, seed, durationMs: a.durationMs, nodes: a.nodes, clients: a.clients, tmpDir: a.tmpDir, keep: a.keep ? 'always' : 'failure', log });
        process.stdout.write(`${reportLine(r)}\n`);
        if (!r.valid) {
          process.stdout.write(`    replay: ${replayCommand(r.options)}\n    kept: ${r.logsDir} (history ${r.historyFile})\n`);
        }
        if (r.result.some((c) => !c.valid && !c.unknown)) violations++;
      }
    }
  }
  return violations > 0 ? 1 : 0;
}

function checkMain(file: string): number {
  const results = recheck(file);
  for (const r of results) process.stdout.write(`${r.valid ? 'ok  ' : r.unknown ? '??  ' : 'FAIL'} ${r.checker}: ${r.summary}\n`);
  return results.some((r) => !r.valid && !r.unknown) ? 1 : 0;
}
