// sim.ts: one simulated run (`zkts sim --seed S`). N real QuorumPeers (election, ZAB, sessions, tree, txn log,
// snapshots: the production shells, unchanged) run on the simulated disk, network and clock of one seed, with the
// fault suite's workloads driven through the real client library, and a nemesis injecting faults. After every event
// the run checks the invariants that must hold at every instant; at the end it heals everything, power-cycles every
// server (recovery from what is on the simulated disks), and checks the workload's histories and final reads.
//
// Invariants (checked after every event):
//   one-leader-per-epoch   two servers never lead the same epoch
//   digest-at-zxid         every server's tree digest at a given zxid is the same (no two servers applied different
//                          txns at one zxid: the digest covers every znode's path, data and stat)
//   no-crash               no server's code throws an uncaught error or leaves a promise rejection unhandled
// At the end:
//   liveness               with the faults healed, a leader is elected and every server serves within a bound
//   the workload's checks  linearizability (register, counter), every acknowledged write present on every server
//                          after the power cycle (set, unique-ids, queue), no two lock holders; agreement of the
//                          servers' final states and trees (src/fault/drive.ts, src/check/)
import type { CheckResult } from '../check/history.js';
import { parseConfig, type ZkConfig } from '../config/zoocfg.js';
import { checkFinals, finalReads, makeWorkers, type ServerAddress, withSession, workerLoop } from '../fault/drive.js';
import { History, verdict } from '../fault/worker.js';
import { workload as makeWorkload, WORKLOADS, type WorkloadName } from '../fault/workloads.js';
import { QuorumPeer } from '../quorum/peer.js';
import { createLogger } from '../util/log.js';
import { setSys } from '../util/sys.js';
import { SimDisk } from './disk.js';
import { type Owner, SimLoop } from './loop.js';
import { Rng } from '../util/rng.js';
import { Nemesis } from './nemesis.js';
import { SimNetwork } from './network.js';
import { currentVersions, watchedPaths, WatchObserver } from './watcher.js';

export type SimMode = 'safety' | 'liveness';

export interface SimOptions {
  seed: number;
  /** Voting servers (default 3). */
  voters?: number;
  /** Observers (default 0). */
  observers?: number;
  /** Default: one of the fault suite's workloads, chosen by the seed. */
  workload?: WorkloadName;
  /** Workload clients (default 4). */
  clients?: number;
  /** Simulated milliseconds of workload under faults (default 20 000). */
  durationMs?: number;
  /** safety: faults any time; liveness: the same, then every fault stops and the ensemble must serve within a bound. */
  mode?: SimMode;
  /** Inject faults (default true). Without: the ensemble runs the workload on a healthy (but jittery) network. */
  faults?: boolean;
  /** Self-test of the checks: a disk that acknowledges fsyncs and keeps nothing (the run must fail). */
  sabotage?: 'lying-fsync';
  /** Progress lines (the nemesis's actions, servers refusing to start). */
  trace?: (line: string) => void;
}

export interface SimReport {
  seed: number;
  workload: WorkloadName;
  voters: number;
  observers: number;
  mode: SimMode;
  valid: boolean;
  /** One line per violated invariant or failed check. */
  violations: string[];
  checks: CheckResult[];
  /** Simulated milliseconds the run covered. */
  simMs: number;
  /** Events the loop ran. */
  steps: number;
  ops: number;
  /** The nemesis's actions, "t=12.3s kill n2", in order. */
  faults: string[];
  /** Simulated ms from the end of the faults to every server serving (liveness). */
  recoveryMs?: number;
  wallMs: number;
  /** The command that replays this run. */
  command: string;
  /** The last log lines of every server (kept for failed runs). */
  logs?: Record<string, string[]>;
}

const TICK_MS = 200;
const SESSION_TIMEOUT_MS = 3000;
const THINK_MS: [number, number] = [0, 50];
/** Snapshots and log rolls every few hundred txns, so faults hit them within a run. */
const SNAP_COUNT = 100;
/** Preallocate 64 KB, not 64 MB: the simulated disk is memory. */
const PREALLOC_KB = 64;
/** A healthy ensemble elects and serves within this (initLimit is 10 ticks; elections take a few rounds). */
const RECOVERY_BOUND_MS = 30_000;
const FINAL_READ_TIMEOUT_MS = 30_000;
const SETUP_TIMEOUT_MS = 30_000;
/** Once quiet, the watch observer must have seen every change within this. */
const WATCH_CATCH_UP_MS = 10_000;
/** Bound on a whole run in simulated time, whatever happens (every loop of the driver is bounded by it). */
const RUN_LIMIT_MS = 10 * 60_000;
/** Log lines kept per server for the report of a failed run. */
const LOG_LINES_KEPT = Number(process.env.ZKTS_SIM_LOG_LINES ?? 300);

export interface SimNode {
  id: number;
  owner: Owner;
  root: string;
  observer: boolean;
  config: ZkConfig;
  peer: QuorumPeer | undefined;
  /** Process running (not killed); it may still be starting or have refused to start. */
  up: boolean;
  lines: string[];
}

export function replayCommand(o: SimOptions, workload: WorkloadName): string {
  const parts = [`zkts sim --seed ${o.seed}`, `--workload ${workload}`];
  if ((o.voters ?? 3) !== 3) parts.push(`--voters ${o.voters}`);
  if ((o.observers ?? 0) !== 0) parts.push(`--observers ${o.observers}`);
  if ((o.clients ?? 4) !== 4) parts.push(`--clients ${o.clients}`);
  if ((o.durationMs ?? 20_000) !== 20_000) parts.push(`--duration ${(o.durationMs ?? 20_000) / 1000}`);
  if ((o.mode ?? 'safety') !== 'safety') parts.push(`--mode ${o.mode}`);
  if (o.faults === false) parts.push('--no-faults');
  if (o.sabotage) parts.push(`--sabotage ${o.sabotage}`);
  return parts.join(' ');
}

function nodeConfig(id: number, voters: number, observers: number): { text: string; root: string } {
  const root = `/sim/n${id}`;
  const lines = [
    `tickTime=${TICK_MS}`, 'initLimit=10', 'syncLimit=5', `dataDir=${root}/data`, `dataLogDir=${root}/log`,
    `clientPort=${2180 + id}`, 'clientPortAddress=127.0.0.1', `snapCount=${SNAP_COUNT}`, `preAllocSize=${PREALLOC_KB}`,
    'admin.enableServer=false',
  ];
  if (id > voters) lines.push('peerType=observer');
  for (let i = 1; i <= voters + observers; i++) lines.push(`server.${i}=127.0.0.1:${2880 + i}:${3880 + i}${i > voters ? ':observer' : ''}`);
  return { text: lines.join('\n') + '\n', root };
}

/** The world of one run: loop, disk, network, servers. */
export class SimWorld {
  readonly loop: SimLoop;
  readonly disk: SimDisk;
  readonly network: SimNetwork;
  readonly nodes: SimNode[] = [];
  readonly violations: string[] = [];
  private readonly leaders = new Map<number, number>();
  private readonly digests = new Map<number, { digest: bigint; id: number }>();
  private readonly diverged = new Set<number>();
  private readonly trace: (line: string) => void;
  /** Set by the nemesis: repairs damage it did to a server that then refused to start; false if it did none. */
  onRefused: (n: SimNode) => boolean = () => false;
  onStarted: (n: SimNode) => void = () => undefined;

  constructor(seed: number, voters: number, observers: number, trace: (line: string) => void, lyingSync = false) {
    this.loop = new SimLoop(seed);
    this.disk = new SimDisk(this.loop, this.loop.rng.fork(), { lyingSync });
    this.network = new SimNetwork(this.loop, this.loop.rng.fork());
    this.trace = trace;
    for (let id = 1; id <= voters + observers; id++) {
      const { text, root } = nodeConfig(id, voters, observers);
      const config = parseConfig(text, { myid: String(id) });
      this.nodes.push({ id, owner: `n${id}`, root, observer: id > voters, config, peer: undefined, up: false, lines: [] });
    }
    this.loop.onCrash = (owner, err) => this.crashed(owner, err);
  }

  /**
   * Makes this world the process's (util/sys.ts: simulated fs, net, clock; `random` for the servers' draws) and routes
   * unhandled rejections to the owner running (a crash of that server). Returns the function that puts the real
   * world back. A simulated server that gives up sets process.exitCode, as the real one must; that is restored too.
   */
  install(random: () => number): () => void {
    const restore = setSys({ fs: this.disk.fs, net: this.network.net, clock: this.loop.clock(), random });
    const onRejection = (reason: unknown): void => this.loop.onCrash(this.loop.current, reason);
    const exitCode = process.exitCode;
    process.on('unhandledRejection', onRejection);
    return () => {
      process.off('unhandledRejection', onRejection);
      process.exitCode = exitCode;
      restore();
    };
  }

  get servers(): ServerAddress[] {
    return this.nodes.map((n) => ({ id: n.id, address: `127.0.0.1:${n.config.clientPort}` }));
  }

  node(owner: Owner): SimNode | undefined {
    return this.nodes.find((n) => n.owner === owner);
  }

  note(line: string): void {
    this.trace(`t=${(this.loop.now / 1000).toFixed(3)}s ${line}`);
  }

  /** Starts a server process (QuorumPeerMain): load the data dir, open the ports, elect. */
  start(n: SimNode): void {
    n.up = true;
    n.peer = undefined;
    for (const d of [n.config.dataDir, n.config.dataLogDir]) this.disk.fs.mkdirSync(d, { recursive: true });
    // A line logged while another owner runs means this server's code escaped its process (a simulator bug): marked.
    const sink = (line: string): void => keep(n.lines, this.loop.current === n.owner ? line : `{"ranAs":"${this.loop.current}",${line.slice(1)}`);
    const logger = createLogger({ level: process.env.ZKTS_SIM_LOG_LEVEL === 'debug' ? 'debug' : 'info', sink, fields: {} });
    this.loop.schedule(0, () => {
      void (async () => {
        try {
          const peer = await QuorumPeer.open(n.config, logger);
          n.peer = peer;
          await peer.start();
          this.onStarted(n);
        } catch (e) {
          const why = (e as Error).message.split('\n')[0];
          this.note(`${n.owner} refused to start: ${why}`);
          this.stopProcess(n);
          // Refusing a data dir the nemesis damaged is the designed behaviour (DESIGN.md §4); refusing one that only
          // went through crashes and power losses is not.
          if (!this.onRefused(n)) this.violate(`recovery: ${n.owner} refused to start an undamaged data dir: ${why}`);
        }
      })();
    }, n.owner);
  }

  /** kill -9: the process is gone (its page cache is not: unsynced writes survive). */
  kill(n: SimNode): void {
    this.stopProcess(n);
  }

  /** Power loss: the process is gone and so is every write its disk had not synced (torn tails possible). */
  powerOff(n: SimNode): void {
    this.stopProcess(n);
    this.disk.crash(n.root, n.owner);
  }

  private stopProcess(n: SimNode): void {
    n.up = false;
    n.peer = undefined;
    this.loop.kill(n.owner);
    this.network.crash(n.owner);
  }

  private crashed(owner: Owner, err: unknown): void {
    const n = this.node(owner);
    const msg = err instanceof Error ? (err.stack ?? err.message).split('\n').slice(0, 4).join(' | ') : String(err);
    if (!n) {
      // A client or the driver: a bug of the simulator's own side, not a finding about the server.
      throw new Error(`simulator side ${owner} threw: ${msg}`);
    }
    this.violate(`no-crash: ${owner} threw an uncaught error: ${msg}`);
    this.stopProcess(n);
  }

  violate(line: string): void {
    if (this.violations.length < 50) this.violations.push(`t=${(this.loop.now / 1000).toFixed(3)}s ${line}`);
  }

  /** The invariants that hold at every instant; run after every event. */
  checkInvariants(): void {
    for (const n of this.nodes) {
      const st = n.up ? n.peer?.state : undefined;
      if (!st) continue;
      if (st.stopped) {
        // The server gave up (a fatal error, e.g. a full disk at reload) and exits, as QuorumPeerMain would.
        this.note(`${n.owner} exited`);
        this.stopProcess(n);
        continue;
      }
      if (st.mode === 'leader') {
        const other = this.leaders.get(st.currentEpoch);
        if (other === undefined) this.leaders.set(st.currentEpoch, n.id);
        else if (other !== n.id) this.violate(`one-leader-per-epoch: n${other} and n${n.id} both lead epoch ${st.currentEpoch}`);
      }
      const zxid = st.tree.lastProcessedZxid;
      const digest = st.tree.treeDigest;
      const seen = this.digests.get(zxid);
      if (seen === undefined) this.digests.set(zxid, { digest, id: n.id });
      else if (seen.digest !== digest && !this.diverged.has(zxid)) {
        this.diverged.add(zxid); // reported once
        this.violate(`digest-at-zxid: at zxid 0x${zxid.toString(16)} n${seen.id} has digest ${seen.digest.toString(16)}, n${n.id} ${digest.toString(16)}`);
      }
    }
  }

  /** Runs the loop for `ms` simulated milliseconds (or until `until` holds), checking invariants after each event. */
  async run(ms: number, until: () => boolean = () => false): Promise<void> {
    const end = this.loop.now + ms;
    await this.loop.runUntil(end, () => {
      this.checkInvariants();
      return until();
    });
  }

  /** Every running server serves, exactly one voter leads (observers observe). */
  serving(): boolean {
    let leaders = 0;
    for (const n of this.nodes) {
      const mode = n.up ? n.peer?.state.mode : undefined;
      if (mode === undefined || mode === 'looking') return false;
      if (mode === 'leader') leaders++;
    }
    return leaders === 1;
  }

  /** Waits (bounded) until every server serves; returns the simulated ms it took, or undefined past the bound. */
  async waitServing(boundMs: number): Promise<number | undefined> {
    const t0 = this.loop.now;
    await this.run(boundMs, () => this.serving());
    return this.serving() ? this.loop.now - t0 : undefined;
  }

  /** Runs an async client-side task as `owner` while the loop runs, bounded by `boundMs` of simulated time. */
  async drive<T>(owner: Owner, boundMs: number, task: () => Promise<T>): Promise<T> {
    let done = false;
    let result: { ok: true; value: T } | { ok: false; err: unknown } | undefined;
    // Started inside an event of `owner`, so its first continuations run as that owner too.
    this.loop.schedule(0, () => {
      task().then(
        (value) => (result = { ok: true, value }),
        (err: unknown) => (result = { ok: false, err }),
      ).finally(() => (done = true));
    }, owner);
    await this.run(boundMs, () => done);
    if (!result) throw new Error(`${owner}: not done within ${boundMs} simulated ms`);
    if (!result.ok) throw result.err;
    return result.value;
  }
}

function keep(lines: string[], line: string): void {
  lines.push(line);
  if (lines.length > LOG_LINES_KEPT) lines.splice(0, lines.length - LOG_LINES_KEPT);
}

/** One simulated run. Deterministic: the same options give the same report (bar wallMs). */
export async function runSim(o: SimOptions): Promise<SimReport> {
  const began = performance.now();
  const voters = o.voters ?? 3;
  const observers = o.observers ?? 0;
  const mode = o.mode ?? 'safety';
  const durationMs = o.durationMs ?? 20_000;
  const seedRng = new Rng(o.seed ^ 0x51a7e);
  // Drawn even when given, so that naming the workload (as the replay command does) changes nothing else.
  const drawn = seedRng.pick(WORKLOADS);
  const wlName = o.workload ?? drawn;
  const faults: string[] = [];
  const trace = (line: string): void => {
    faults.push(line);
    o.trace?.(line);
  };
  const world = new SimWorld(o.seed, voters, observers, trace, o.sabotage === 'lying-fsync');
  const uninstall = world.install(() => seedRng.next());
  const checks: CheckResult[] = [];
  let recoveryMs: number | undefined;
  const history = new History();
  const wl = makeWorkload(wlName, { sessionTimeoutMs: SESSION_TIMEOUT_MS });
  try {
    for (const n of world.nodes) world.start(n);
    const first = await world.waitServing(RECOVERY_BOUND_MS);
    if (first === undefined) world.violate(`liveness: no leader within ${RECOVERY_BOUND_MS} ms of the first start`);
    await world.drive('setup', SETUP_TIMEOUT_MS, () => withSession(world.servers.map((s) => s.address).join(','), SETUP_TIMEOUT_MS, (c) => wl.setup(c)));

    // The watch observer, from before the workload until the end of the faults.
    const watched = watchedPaths(wlName);
    const observer = new WatchObserver(world.servers.map((x) => x.address).join(','), watched);
    let observerDone = false;
    world.loop.schedule(0, () => void observer.run().finally(() => (observerDone = true)), 'w0');

    // The workload under faults.
    history.start();
    const workers = makeWorkers(world.servers, {
      count: o.clients ?? 4, seed: o.seed, sessionTimeoutMs: SESSION_TIMEOUT_MS, thinkMs: THINK_MS, history,
    });
    let running = true;
    const errors: string[] = [];
    let stopped = 0;
    workers.forEach((w, i) => world.loop.schedule(0, () => {
      void workerLoop(w, wl, () => running, errors).finally(() => stopped++);
    }, `c${i}`));
    const nemesis = new Nemesis(world, world.loop.rng.fork());
    if (o.faults !== false) nemesis.start(durationMs);
    await world.run(durationMs);
    nemesis.stop();
    running = false;
    await world.run(RUN_LIMIT_MS, () => stopped === workers.length);
    if (stopped < workers.length) world.violate(`liveness: ${workers.length - stopped} workers still in an operation after the run`);
    for (const [i, w] of workers.entries()) await world.drive(`c${i}`, 10_000, () => w.close()).catch(() => undefined);
    checks.push(verdict('workers', errors.slice(0, 5), `${workers.length} workers`));

    // Heal, then (liveness) every server must serve within the bound.
    nemesis.healAll();
    recoveryMs = await world.waitServing(RECOVERY_BOUND_MS);
    if (recoveryMs === undefined && mode === 'liveness') {
      world.violate(`liveness: not every server serving ${RECOVERY_BOUND_MS} ms after the faults stopped (${modes(world)})`);
    }
    checks.push(await watchVerdict(world, observer, watched));
    observer.stop();
    await world.run(WATCH_CATCH_UP_MS, () => observerDone);

    // Power-cycle every server: what they acknowledged must be on their disks.
    for (const n of world.nodes) world.powerOff(n);
    trace(`t=${(world.loop.now / 1000).toFixed(3)}s power cycle of every server`);
    for (const n of world.nodes) world.start(n);
    const after = await world.waitServing(RECOVERY_BOUND_MS);
    if (after === undefined) world.violate(`liveness: not every server serving ${RECOVERY_BOUND_MS} ms after the final power cycle (${modes(world)})`);
    const finals = await world.drive('final', 4 * FINAL_READ_TIMEOUT_MS, () => finalReads(world.servers, wl, history, FINAL_READ_TIMEOUT_MS));
    checks.push(...checkFinals(wl, history, finals));
  } catch (e) {
    world.violate(`run: ${(e as Error).stack ?? String(e)}`);
  } finally {
    uninstall();
  }
  const violations = [...world.violations, ...checks.filter((c) => !c.valid).map((c) => `${c.checker}: ${c.summary}`)];
  const report: SimReport = {
    seed: o.seed, workload: wlName, voters, observers, mode, valid: violations.length === 0, violations, checks,
    simMs: world.loop.now, steps: world.loop.steps, ops: history.ops.length, faults, wallMs: performance.now() - began,
    command: replayCommand(o, wlName),
  };
  if (recoveryMs !== undefined) report.recoveryMs = recoveryMs;
  if (!report.valid) report.logs = Object.fromEntries(world.nodes.map((n) => [n.owner, n.lines]));
  return report;
}

/** Once quiet: the znodes' versions, then (bounded) the observer catching up with them. */
async function watchVerdict(world: SimWorld, observer: WatchObserver, watched: ReturnType<typeof watchedPaths>): Promise<CheckResult> {
  const connect = world.servers.map((x) => x.address).join(',');
  try {
    const finals = await world.drive('check', FINAL_READ_TIMEOUT_MS, () => withSession(connect, FINAL_READ_TIMEOUT_MS, (c) => currentVersions(c, watched)));
    await world.run(WATCH_CATCH_UP_MS, () => observer.caughtUp(finals));
    return observer.verdict(finals);
  } catch (e) {
    return verdict('watches', [`no final versions: ${(e as Error).message.split('\n')[0]}`], '');
  }
}

function modes(world: SimWorld): string {
  return world.nodes.map((n) => `${n.owner}=${n.up ? (n.peer?.state.mode ?? 'starting') : 'down'}`).join(' ');
}
