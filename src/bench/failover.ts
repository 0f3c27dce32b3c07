// Write availability across a leader crash: on a 3-voter ensemble (ensemble.ts) of one kind, a client on a non-leader
// node creates sequential znodes one after another; the leader is killed with SIGKILL and the time from the kill to
// the first acknowledged create *issued after* the kill is recorded (a create in flight at the kill may still be
// answered from before it, so it does not count). The killed node is restarted and the ensemble settles before the
// next run. Prints each run and the median and max per kind.
//
//   zkts bench failover [--kind zkts|apache|both] [--runs 5] [--voters 3] [--tick 2000] [--warmup-ms 1000] [--json]
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { CreateMode, ZkError, ZooKeeperClient } from '../client/index.js';
import { silentLogger } from '../util/log.js';
import { optionValues } from './args.js';
import { type Ensemble, killEnsembles, startEnsemble } from './ensemble.js';
import { type Kind, label } from './restart.js';

interface Options {
  kinds: Kind[];
  runs: number;
  voters: number;
  tickTime: number;
  warmupMs: number;
  size: number;
  opTimeoutMs: number;
  runTimeoutMs: number;
  javaHeap: string;
  json: boolean;
}

export interface FailoverRun {
  kind: Kind;
  run: number;
  killed: number;
  newLeader: number;
  clientNode: number;
  /** Kill -> first acknowledged create issued after the kill. */
  failoverMs: number;
  /** Acknowledged creates before the kill (warmup), and failed ones after it. */
  writesBefore: number;
  errorsAfter: number;
  errorCodes: Record<string, number>;
}

const USAGE = `usage: zkts bench failover [--kind zkts|apache|both (default zkts)] [--runs N] [--voters N] [--tick MS] [--warmup-ms MS]
       [--size B] [--op-timeout-ms MS] [--run-timeout-ms MS] [--java-heap 512m] [--json]

Starts an ensemble on 127.0.0.1, runs sequential creates through a non-leader node, kills the leader with SIGKILL and
reports the time from the kill to the first acknowledged create issued after it (per run, median and max).`;

function parse(argv: string[]): Options | null {
  const o: Options = {
    kinds: ['zkts'], runs: 5, voters: 3, tickTime: 2000, warmupMs: 1000, size: 100, opTimeoutMs: 5000,
    runTimeoutMs: 60_000, javaHeap: '512m', json: false,
  };
  for (const cur = { i: 0 }; cur.i < argv.length; cur.i++) {
    const a = argv[cur.i];
    const { value, count } = optionValues(argv, cur);
    switch (a) {
      case '--kind': o.kinds = parseKinds(value()); break;
      case '--runs': o.runs = Math.max(1, count()); break;
      case '--voters': o.voters = Math.max(3, count()); break;
      case '--tick': o.tickTime = Math.max(1, count()); break;
      case '--warmup-ms': o.warmupMs = count(); break;
      case '--size': o.size = count(); break;
      case '--op-timeout-ms': o.opTimeoutMs = Math.max(1, count()); break;
      case '--run-timeout-ms': o.runTimeoutMs = Math.max(1, count()); break;
      case '--java-heap': o.javaHeap = value(); break;
      case '--json': o.json = true; break;
      case '-h': case '--help': return null;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  return o;
}

function parseKinds(v: string): Kind[] {
  if (v === 'both') return ['zkts', 'apache'];
  if (v === 'zkts' || v === 'apache') return [v];
  throw new Error(`--kind must be zkts, apache or both, not ${v}`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sequential creates through one node, with a fresh session whenever the old one is lost for good. */
class WriteLoop {
  acks = 0;
  errors = 0;
  readonly codes: Record<string, number> = {};
  private client: ZooKeeperClient;
  private stopped = false;
  /** The client has not been connected yet (a ZooKeeperClient sends nothing before connect()). */
  private fresh = true;
  private watch: { after: number; resolve: (at: number) => void } | undefined;
  private readonly done: Promise<void>;

  constructor(private readonly port: number, private readonly base: string, private readonly data: Buffer,
    private readonly opTimeoutMs: number) {
    this.client = this.newClient();
    this.done = this.loop();
  }

  /** Resolves with the time of the first acknowledged create issued at or after `t`. */
  firstAckAfter(t: number): Promise<number> {
    return new Promise((resolve) => (this.watch = { after: t, resolve }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    await this.client.close();
  }

  private newClient(): ZooKeeperClient {
    // A short reconnect delay: with one host, the default pause after each failed pass would pad the measurement.
    return new ZooKeeperClient(`127.0.0.1:${this.port}`, { logger: silentLogger, connectTimeoutMs: 1000, reconnectDelayMs: 20 });
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const start = performance.now();
      try {
        if (this.fresh) {
          this.fresh = false;
          await this.client.connect(this.opTimeoutMs);
        }
        await this.client.create(`${this.base}/n-`, this.data, {
          mode: CreateMode.PERSISTENT_SEQUENTIAL, signal: AbortSignal.timeout(this.opTimeoutMs),
        });
        this.acks++;
        if (this.watch && start >= this.watch.after) this.watch.resolve(performance.now());
      } catch (e) {
        this.failed(e);
        await sleep(5);
      }
    }
  }

  private failed(e: unknown): void {
    this.errors++;
    const name = e instanceof ZkError ? e.codeName : (e as Error).name;
    this.codes[name] = (this.codes[name] ?? 0) + 1;
    const st = this.client.state;
    if (st === 'expired' || st === 'closed' || st === 'authFailed') {
      void this.client.close();
      this.client = this.newClient();
      this.fresh = true;
    }
  }
}

async function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

async function makeBase(e: Ensemble, base: string): Promise<void> {
  const c = new ZooKeeperClient(e.connectString(), { logger: silentLogger });
  try {
    await c.connect(30_000);
    await c.create(base, null, { signal: AbortSignal.timeout(10_000) });
  } finally {
    await c.close();
  }
}

async function oneRun(e: Ensemble, o: Options, run: number, base: string): Promise<FailoverRun> {
  const leader = await e.leader();
  const client = e.nodes.find((n) => n.role === 'participant' && n.id !== leader.id)!;
  const w = new WriteLoop(client.clientPort, base, Buffer.alloc(o.size, 0x61), o.opTimeoutMs);
  try {
    await sleep(o.warmupMs);
    if (w.acks === 0) throw new Error(`no create was acknowledged by node ${client.id} during the warmup`);
    const writesBefore = w.acks;
    const errorsBefore = w.errors;
    const t0 = performance.now();
    const ack = w.firstAckAfter(t0);
    await leader.kill('SIGKILL');
    const at = await bounded(ack, o.runTimeoutMs, `run ${run}: first write after killing node ${leader.id}`);
    const next = await e.leader({ among: e.nodes.filter((n) => n.running).map((n) => n.id), timeoutMs: o.runTimeoutMs });
    return {
      kind: e.kind, run, killed: leader.id, newLeader: next.id, clientNode: client.id, failoverMs: at - t0,
      writesBefore, errorsAfter: w.errors - errorsBefore, errorCodes: { ...w.codes },
    };
  } finally {
    await w.stop();
    if (!leader.running) await leader.start(o.runTimeoutMs);
    await e.waitForModes({ timeoutMs: o.runTimeoutMs });
  }
}

async function runKind(kind: Kind, o: Options, log: (s: string) => void): Promise<FailoverRun[]> {
  const e = await startEnsemble({ kind, voters: o.voters, tickTime: o.tickTime, javaHeap: o.javaHeap, readyTimeoutMs: o.runTimeoutMs });
  const rows: FailoverRun[] = [];
  try {
    const base = `/zkts-failover-${process.pid}`;
    await makeBase(e, base);
    for (let run = 1; run <= o.runs; run++) {
      const r = await oneRun(e, o, run, base);
      rows.push(r);
      log(`${label(kind)} run ${run}: killed leader ${r.killed}, new leader ${r.newLeader}, writes via node ${r.clientNode}: ` +
        `${r.failoverMs.toFixed(0)} ms (${r.errorsAfter} failed creates meanwhile: ${codesText(r.errorCodes)})`);
    }
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${e.describe(undefined, 20)}`);
  } finally {
    await e.stop();
  }
  return rows;
}

function codesText(codes: Record<string, number>): string {
  return Object.entries(codes).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function summary(rows: FailoverRun[], kinds: Kind[]): Record<string, { runs: number; medianMs: number; maxMs: number }> {
  const out: Record<string, { runs: number; medianMs: number; maxMs: number }> = {};
  for (const k of kinds) {
    const ms = rows.filter((r) => r.kind === k).map((r) => r.failoverMs);
    if (ms.length) out[label(k)] = { runs: ms.length, medianMs: median(ms), maxMs: Math.max(...ms) };
  }
  return out;
}

/** `zkts bench failover ...`: 0 when every kind completed its runs, 1 on a failure, 2 on bad arguments. */
export async function failoverMain(argv: string[]): Promise<number> {
  let o: Options | null;
  try {
    o = parse(argv);
  } catch (e) {
    process.stderr.write(`zkts bench failover: ${(e as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (o === null) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const onSignal = (): void => {
    killEnsembles();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const log = (s: string): void => void process.stderr.write(s + '\n');
  const rows: FailoverRun[] = [];
  let failed = false;
  for (const kind of o.kinds) {
    try {
      rows.push(...await runKind(kind, o, log));
    } catch (e) {
      failed = true;
      log(`${label(kind)} failed: ${(e as Error).message}`);
    }
  }
  const setup = `${o.voters} voters, tickTime ${o.tickTime} ms, ${o.runs} runs, creates of ${o.size} B through a non-leader`;
  const sum = summary(rows, o.kinds);
  if (o.json) process.stdout.write(JSON.stringify({ setup, rows, summary: sum }) + '\n');
  else if (rows.length) {
    process.stdout.write(`\nfailover: SIGKILL of the leader -> first acknowledged create issued after it (${setup})\n`);
    for (const [k, s] of Object.entries(sum)) {
      process.stdout.write(`${k.padEnd(5)} median ${s.medianMs.toFixed(0)} ms, max ${s.maxMs.toFixed(0)} ms over ${s.runs} runs\n`);
    }
  }
  return failed ? 1 : 0;
}

function isMain(): boolean {
  try {
    return process.argv[1] !== undefined && fs.realpathSync(process.argv[1]) === fs.realpathSync(new URL(import.meta.url));
  } catch {
    return false;
  }
}
if (isMain()) {
  failoverMain(process.argv.slice(2)).then((code) => process.exit(code), (e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    killEnsembles();
    process.exit(1);
  });
}
