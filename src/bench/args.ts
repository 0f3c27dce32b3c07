// Command-line options of `zkts bench`: parsing, validation and the usage text.

export const WORKLOADS = ['create', 'set', 'get', 'mixed', 'watch'] as const;
export type Workload = (typeof WORKLOADS)[number];

export interface Endpoint {
  host: string;
  port: number;
}

export interface BenchOptions {
  /** The first target: the setup session's server. */
  host: string;
  port: number;
  /** Every target, sessions spread round-robin over them; absent means host:port alone. */
  targets?: Endpoint[];
  workload: Workload;
  clients: number;
  outstanding: number;
  size: number;
  durationS: number;
  warmupS: number;
  procs: number;
  json: boolean;
  /** Parent of the per-run bench root (default /zkts-bench). */
  rootPrefix: string;
  /** Percentage of getData in the mixed workload (default 80; the rest are setData). */
  readPercent: number;
  sessionTimeoutMs: number;
}

export const USAGE = `usage: zkts bench --target host:port[,host:port...] [options]

Drives load against a ZooKeeper-compatible server (or the servers of an ensemble) and prints throughput and latency.

  --target LIST        server(s) to load, comma-separated (required). Session i goes to target i mod n (watch:
                       client i's watcher is session 2i, its writer 2i+1); run setup and cleanup go through
                       the first target, so several targets must be servers of one ensemble
  --workload W         create | set | get | mixed | watch (default mixed)
                         create  create persistent sequential nodes of --size bytes (removed afterwards)
                         set     setData on one node per client
                         get     getData of one node per client
                         mixed   --read-percent getData (default 80), the rest setData, on one node per client
                         watch   getData(watch=true) on a node, then setData on it from a second session;
                                 latency = setData sent -> notification received (2 sessions per client)
  --clients N          sessions (default 4)
  --outstanding K      requests kept in flight per session (watch: watch cycles per client) (default 16)
  --size B             data size in bytes (default 100)
  --duration S         measured seconds (default 10)
  --warmup S           seconds of load before measuring (default 2)
  --procs P            worker processes the sessions are spread over (default min(N, 2))
  --read-percent R     reads in the mixed workload, 0..100 (default 80)
  --root PATH          parent path of the per-run bench node (default /zkts-bench)
  --json               print one JSON object instead of text
  -h, --help           print this help

Latency is per request, from send to reply (watch: to notification), merged over all sessions in log-linear
buckets (<1.6% error). Errors count non-zero reply codes and lost requests during warmup and measurement.
Exit code: 0 ok, 1 the run failed or had errors, 2 bad arguments.`;

export class UsageError extends Error {
  override name = 'UsageError';
}

function num(name: string, v: string, min: number, max: number, integer: boolean): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new UsageError(`${name} must be ${integer ? 'an integer' : 'a number'} in ${min}..${max}, got '${v}'`);
  }
  return n;
}

export function parseTarget(v: string): Endpoint {
  const m = /^(?:\[([^\]]+)\]|([^:,]+)):(\d+)$/.exec(v);
  if (!m) throw new UsageError(`--target must be host:port, got '${v}'`);
  return { host: m[1] ?? m[2], port: num('port', m[3], 1, 65535, true) };
}

/** "h1:p1,h2:p2,..." -> endpoints, in order; a repeated endpoint is refused (it would skew the spread). */
export function parseTargets(v: string): Endpoint[] {
  const list = v.split(',').map((t) => parseTarget(t.trim()));
  const names = list.map(endpointName);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new UsageError(`--target lists ${dup} twice`);
  return list;
}

export function endpointName(e: Endpoint): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

/** Every target of a run, in order. */
export function endpoints(opts: BenchOptions): Endpoint[] {
  return opts.targets ?? [{ host: opts.host, port: opts.port }];
}

/** Where session number `session` connects: round-robin over the targets. */
export function endpointOf(opts: BenchOptions, session: number): Endpoint {
  const all = endpoints(opts);
  return all[session % all.length];
}

/** Parses argv (without the `bench` word); returns null for --help, throws UsageError for bad input. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions | null {
  const raw = new Map<string, string>();
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') return null;
    if (a === '--json') {
      json = true;
      continue;
    }
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument '${a}'`);
    const eq = a.indexOf('=');
    const key = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    let value: string;
    if (eq >= 0) value = a.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`--${key} needs a value`);
      value = argv[++i];
    }
    if (!KNOWN.has(key)) throw new UsageError(`unknown option --${key}`);
    if (raw.has(key)) throw new UsageError(`--${key} given twice`);
    raw.set(key, value);
  }
  const target = raw.get('target');
  if (target === undefined) throw new UsageError('--target host:port is required');
  const targets = parseTargets(target);
  const { host, port } = targets[0];
  const workload = (raw.get('workload') ?? 'mixed') as Workload;
  if (!WORKLOADS.includes(workload)) throw new UsageError(`--workload must be one of ${WORKLOADS.join(', ')}, got '${workload}'`);
  const clients = num('--clients', raw.get('clients') ?? '4', 1, 10_000, true);
  const outstanding = num('--outstanding', raw.get('outstanding') ?? '16', 1, 10_000, true);
  const size = num('--size', raw.get('size') ?? '100', 0, 1_000_000, true);
  const durationS = num('--duration', raw.get('duration') ?? '10', 0.1, 86_400, false);
  const warmupS = num('--warmup', raw.get('warmup') ?? '2', 0, 3_600, false);
  const procs = num('--procs', raw.get('procs') ?? String(Math.min(clients, 2)), 1, 64, true);
  if (procs > clients) throw new UsageError(`--procs (${procs}) cannot exceed --clients (${clients})`);
  const readPercent = num('--read-percent', raw.get('read-percent') ?? '80', 0, 100, false);
  const rootPrefix = raw.get('root') ?? '/zkts-bench';
  if (!/^(\/[^/\s]+)+$/.test(rootPrefix)) throw new UsageError(`--root must be an absolute znode path, got '${rootPrefix}'`);
  return {
    host, port, targets, workload, clients, outstanding, size, durationS, warmupS, procs, json, rootPrefix, readPercent,
    sessionTimeoutMs: 30_000,
  };
}

const KNOWN = new Set(['target', 'workload', 'clients', 'outstanding', 'size', 'duration', 'warmup', 'procs', 'read-percent', 'root']);

/**
 * Value readers for a hand-rolled `for (let i…)` option loop: `value()` takes the next argument, `count()` a
 * non-negative integer, `number()` a non-negative number; errors name the option.
 */
export function optionValues(argv: readonly string[], cursor: { i: number }): {
  value: () => string;
  count: () => number;
  number: () => number;
} {
  const name = argv[cursor.i];
  const value = (): string => {
    const x = argv[++cursor.i];
    if (x === undefined) throw new Error(`${name} needs a value`);
    return x;
  };
  const number = (): number => {
    const n = Number(value());
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number`);
    return n;
  };
  const count = (): number => {
    const n = number();
    if (!Number.isInteger(n)) throw new Error(`${name} must be a non-negative integer`);
    return n;
  };
  return { value, count, number };
}
