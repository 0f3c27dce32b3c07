// `zkts sim`: deterministic simulation runs (sim.ts) from the command line. One seed replays one run exactly
// (`--seed S`, printed for every failure); `--seeds N` runs a campaign over seeds S..S+N-1 and reports seeds, simulated
// hours and violations. Exit status 1 when any run violated an invariant.
import fs from 'node:fs';
import { isWorkload, WORKLOADS } from '../fault/workloads.js';
import { runSim, type SimOptions, type SimReport } from './sim.js';
import { optionValues } from '../bench/args.js';

const USAGE = `usage: zkts sim [--seed S] [--seeds N] [--workload W] [--mode safety|liveness] [--voters N] [--observers N]
                [--clients N] [--duration SECONDS] [--no-faults] [--verbose] [--keep-failures DIR] [--sabotage lying-fsync]

Runs N real zkts servers (election, ZAB, sessions, tree, txn log, snapshots) in one process on a simulated network,
disk and clock, all from one seed, with clients running a workload and a nemesis injecting faults (kills, power loss,
pauses, partitions, clogging, resets, full disks, damaged snapshots). Checks after every event (one leader per
epoch, equal digests at equal zxids, no crash) and at the end (liveness, linearizability, acknowledged writes
present after a power cycle of every server, agreement). The same seed replays the same run.
  --seed       first seed (default 1)
  --seeds      number of seeds to run (default 1)
  --workload   ${WORKLOADS.join(', ')} (default: chosen by the seed)
  --mode       safety: faults any time; liveness: also fails when the ensemble does not serve within 30 s of the
               faults ending (default safety)
  --duration   simulated seconds of workload under faults (default 20)
  --sabotage lying-fsync  self-test: a disk that acknowledges fsyncs and keeps nothing; every run must fail
  --keep-failures DIR  write each failing run's report (history summary, server logs) to DIR/seed-S.json
`;

interface Args {
  seed: number;
  seeds: number;
  opts: Omit<SimOptions, 'seed'>;
  verbose: boolean;
  keep?: string;
}

export function parseSimArgs(argv: string[]): Args {
  const a: Args = { seed: 1, seeds: 1, opts: {}, verbose: false };
  for (const cur = { i: 0 }; cur.i < argv.length; cur.i++) {
    const flag = argv[cur.i];
    const { value: v, count, number } = optionValues(argv, cur);
    switch (flag) {
      case '--seed': a.seed = count(); break;
      case '--seeds': a.seeds = count(); break;
      case '--workload': {
        const w = v();
        if (!isWorkload(w)) throw new Error(`unknown workload '${w}' (one of: ${WORKLOADS.join(', ')})`);
        a.opts.workload = w;
        break;
      }
      case '--mode': {
        const m = v();
        if (m !== 'safety' && m !== 'liveness') throw new Error(`--mode is safety or liveness, got '${m}'`);
        a.opts.mode = m;
        break;
      }
      case '--voters': a.opts.voters = count(); break;
      case '--observers': a.opts.observers = count(); break;
      case '--clients': a.opts.clients = count(); break;
      case '--duration': a.opts.durationMs = Math.round(number() * 1000); break;
      case '--no-faults': a.opts.faults = false; break;
      case '--sabotage': {
        const x = v();
        if (x !== 'lying-fsync') throw new Error(`--sabotage takes lying-fsync, got '${x}'`);
        a.opts.sabotage = x;
        break;
      }
      case '--verbose': a.verbose = true; break;
      case '--keep-failures': a.keep = v(); break;
      default: throw new Error(`unknown argument '${flag}'`);
    }
  }
  if (a.opts.voters !== undefined && a.opts.voters < 1) throw new Error('--voters must be at least 1');
  if (a.opts.durationMs !== undefined && !(a.opts.durationMs > 0)) throw new Error('--duration must be a positive number of seconds');
  if (a.seeds < 1) throw new Error('--seeds must be at least 1');
  return a;
}

/** `seed=12 register safety ops=812 sim=41.2s steps=93k ok 3.1 s`, then the violations. */
export function simLine(r: SimReport): string {
  const head = `seed=${String(r.seed).padEnd(6)} ${r.workload.padEnd(10)} ${r.mode.padEnd(8)} ops=${String(r.ops).padEnd(5)} ` +
    `sim=${(r.simMs / 1000).toFixed(1)}s steps=${r.steps} faults=${r.faults.length}`;
  const wall = `${(r.wallMs / 1000).toFixed(1)} s`;
  if (r.valid) return `${head} ok ${wall}`;
  return `${head} VIOLATION ${wall}\n${r.violations.map((v) => `    ${v.split('\n')[0]}`).join('\n')}\n    replay: ${r.command}`;
}

export async function simMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  let a: Args;
  try {
    a = parseSimArgs(argv);
  } catch (e) {
    process.stderr.write(`zkts sim: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  let failed = 0;
  let simMs = 0;
  let ops = 0;
  const t0 = performance.now();
  for (let seed = a.seed; seed < a.seed + a.seeds; seed++) {
    const trace = a.verbose ? (l: string): void => void process.stdout.write(`  ${l}\n`) : undefined;
    const r = await runSim({ ...a.opts, seed, ...(trace ? { trace } : {}) });
    simMs += r.simMs;
    ops += r.ops;
    process.stdout.write(`${simLine(r)}\n`);
    if (!r.valid) {
      failed++;
      if (a.keep) {
        fs.mkdirSync(a.keep, { recursive: true });
        fs.writeFileSync(`${a.keep}/seed-${seed}.json`, JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
      }
    }
  }
  if (a.seeds > 1) {
    process.stdout.write(`${a.seeds} seeds, ${(simMs / 3_600_000).toFixed(2)} simulated hours, ${ops} operations, ` +
      `${failed} with violations, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  }
  return failed > 0 ? 1 : 0;
}
