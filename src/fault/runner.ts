// One fault-suite run: a proxied ensemble of real processes (src/bench/ensemble.ts), the workload's clients
// recording every operation, the nemesis playing the seed's fault schedule; then every fault healed, the ensemble
// settled, a final read from every server (after sync), and the checkers. A run that fails keeps its directory:
// the ensemble's node dirs (node.log, data/) and history.json next to them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Ensemble, startEnsemble } from '../bench/ensemble.js';
import type { Kind } from '../bench/restart.js';
import type { CheckResult } from '../check/history.js';
import { checkFinals, finalReads, makeWorkers, type ServerAddress, sleep, withSession, workerLoop } from './drive.js';
import { scanNodeLogs } from './logscan.js';
import { Nemesis, type NemesisEvent } from './nemesis.js';
import { restoreDataDirs, type Sabotage, saveDuringRun } from './sabotage.js';
import { BRIDGE_NODES, type FaultName, nemesisSchedule, type ScheduledFault } from './schedule.js';
import { History, verdict } from './worker.js';
import { type Workload, workload, type WorkloadName } from './workloads.js';

export interface FaultTestOptions {
  kind: Kind;
  workload: WorkloadName;
  fault: FaultName;
  seed: number;
  /** How long the workload runs under faults. */
  durationMs: number;
  /** Workers, each one session (default 5): even ones on the whole ensemble, odd ones pinned to one server. */
  clients?: number;
  /** Voters (default 3; 5 for partition-bridge, which needs them). */
  nodes?: number;
  tickTime?: number;
  /** Session timeout the clients ask for (default 3000 ms: expiries happen within a run). */
  sessionTimeoutMs?: number;
  /** zoo.cfg snapCount (default 300: snapshots and log rolls happen within a run, so damage hits them). */
  snapCount?: number;
  /** Pause between a worker's steps, uniform in [min, max] ms (keeps histories small enough to search). */
  thinkMs?: [number, number];
  /** Parent of the run's directory (default os.tmpdir()). */
  tmpDir?: string;
  /** Keep the run's directory always, or only when a check did not pass (default). */
  keep?: 'failure' | 'always';
  /** Progress lines (nemesis actions, where a failed run was kept). */
  log?: (line: string) => void;
  /** Self-test only (sabotage.ts): make the ensemble lose acknowledged writes, which the checks must report. */
  sabotage?: Sabotage;
}

export interface FaultTestReport {
  options: FaultTestOptions;
  /** Every checker passed. */
  valid: boolean;
  /** Some checker could not decide (no violation found, none ruled out). */
  unknown: boolean;
  /** Set when the combination cannot run (the bridge on 3 nodes). */
  skipped?: string;
  result: CheckResult[];
  ops: number;
  holds: number;
  events: NemesisEvent[];
  elapsedMs: number;
  /** Where the history and the logs were kept (failed runs, or keep: 'always'). */
  historyFile?: string;
  logsDir?: string;
}

const DEFAULT_CLIENTS = 5;
const DEFAULT_SESSION_TIMEOUT_MS = 3000;
const DEFAULT_SNAP_COUNT = 300;
const DEFAULT_THINK_MS: [number, number] = [0, 20];
const TICK_MS = 200;
/** Bound on the first start of the ensemble (Apache's JVMs take a few seconds each). */
const START_TIMEOUT_MS = 90_000;
/** Starts on fresh ports after a port clash (see startWithRetry). */
const START_ATTEMPTS = 3;
/** Bound on the workload's setup and on each server's final read (retried while the ensemble settles). */
const SETUP_TIMEOUT_MS = 20_000;
const FINAL_READ_TIMEOUT_MS = 30_000;
/** Bound on every node reporting a Mode (one leader) after the faults were healed. */
const SETTLE_TIMEOUT_MS = 60_000;

function servers(e: Ensemble): ServerAddress[] {
  return e.nodes.map((n) => ({ id: n.id, address: `127.0.0.1:${n.clientPort}` }));
}

export function defaultNodes(fault: FaultName): number {
  return fault === 'partition-bridge' ? BRIDGE_NODES : 3;
}

/** The command line that replays a run (same schedule; interleavings differ). */
export function replayCommand(o: FaultTestOptions): string {
  const extra = [o.nodes && o.nodes !== defaultNodes(o.fault) ? `--nodes ${o.nodes}` : '',
    o.clients && o.clients !== DEFAULT_CLIENTS ? `--clients ${o.clients}` : ''].filter(Boolean).join(' ');
  return `zkts fault --kind ${o.kind} --workload ${o.workload} --fault ${o.fault} --seed ${o.seed} --duration ${o.durationMs / 1000}${extra ? ' ' + extra : ''}`;
}

/** What one run accumulates, written to history.json whatever happens. */
interface RunState {
  o: Required<Omit<FaultTestOptions, 'log' | 'keep' | 'tmpDir' | 'sabotage'>>;
  sabotage?: Sabotage;
  history: History;
  schedule: ScheduledFault[];
  nemesis?: Nemesis;
  finals: unknown[];
  result: CheckResult[];
  workerErrors: string[];
}

export async function runFaultTest(options: FaultTestOptions): Promise<FaultTestReport> {
  const began = performance.now();
  const o = withDefaults(options);
  const log = options.log ?? (() => undefined);
  const report = (s: RunState | undefined, extra: Partial<FaultTestReport>): FaultTestReport =>
    finish(options, s, performance.now() - began, extra);
  if (o.fault === 'partition-bridge' && o.nodes < BRIDGE_NODES) {
    return report(undefined, { skipped: `partition-bridge needs ${BRIDGE_NODES} nodes` });
  }
  const ids = Array.from({ length: o.nodes }, (_, i) => i + 1);
  const s: RunState = {
    o, sabotage: options.sabotage, history: new History(), finals: [], result: [], workerErrors: [],
    schedule: nemesisSchedule({ fault: o.fault, seed: o.seed, durationMs: o.durationMs, nodes: ids }),
  };
  const dir = fs.mkdtempSync(path.join(options.tmpDir ?? os.tmpdir(), `zkts-fault-${o.kind}-${o.workload}-${o.fault}-s${o.seed}-`));
  let e: Ensemble | undefined;
  try {
    e = await startWithRetry(o, dir);
    await exercise(e, s, log);
  } catch (err) {
    const [first, ...rest] = (err as Error).message.split('\n');
    s.result.push(verdict('runner', [`run aborted: ${first}`], '', rest.join('\n')));
  }
  const failed = s.result.some((r) => !r.valid);
  const keep = failed || options.keep === 'always';
  const kept = await cleanUp(dir, e, s, keep);
  if (kept) log(`kept ${kept.logsDir} (history ${kept.historyFile})`);
  return report(s, kept ?? {});
}

/**
 * startEnsemble picks free ports, then starts the peer proxies on ephemeral ports: now and then a proxy (or another
 * test on the machine) takes a port a node was given before the node binds it. That is the harness, not the
 * server: start again on fresh ports.
 */
async function startWithRetry(o: RunState['o'], dir: string): Promise<Ensemble> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startEnsemble({
        kind: o.kind, voters: o.nodes, tickTime: o.tickTime, proxied: true, tmpDir: dir, readyTimeoutMs: START_TIMEOUT_MS,
        config: { snapCount: o.snapCount },
      });
    } catch (err) {
      if (attempt >= START_ATTEMPTS || !/EADDRINUSE/.test((err as Error).message)) throw err;
    }
  }
}

function withDefaults(o: FaultTestOptions): RunState['o'] {
  return {
    kind: o.kind, workload: o.workload, fault: o.fault, seed: o.seed, durationMs: o.durationMs,
    clients: o.clients ?? DEFAULT_CLIENTS, nodes: o.nodes ?? defaultNodes(o.fault), tickTime: o.tickTime ?? TICK_MS,
    sessionTimeoutMs: o.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS, snapCount: o.snapCount ?? DEFAULT_SNAP_COUNT,
    thinkMs: o.thinkMs ?? DEFAULT_THINK_MS,
  };
}

function finish(options: FaultTestOptions, s: RunState | undefined, elapsedMs: number, extra: Partial<FaultTestReport>): FaultTestReport {
  const result = s?.result ?? [];
  return {
    options, result, elapsedMs, valid: result.every((r) => r.valid), unknown: result.some((r) => r.unknown === true),
    ops: s?.history.ops.length ?? 0, holds: s?.history.holds.length ?? 0, events: s?.nemesis?.events ?? [], ...extra,
  };
}

/** Setup, workload under the nemesis, heal and settle, final reads, checks: results go to `s.result`. */
async function exercise(e: Ensemble, s: RunState, log: (line: string) => void): Promise<void> {
  const wl = workload(s.o.workload, { sessionTimeoutMs: s.o.sessionTimeoutMs });
  await withSession(e.connectString(), SETUP_TIMEOUT_MS, (c) => wl.setup(c));
  const sessions = await underFaults(e, s, wl, log);
  s.result.push(await settle(e));
  const f = await finalReads(servers(e), wl, s.history, FINAL_READ_TIMEOUT_MS);
  s.finals = f.finals;
  s.result.push(...checkFinals(wl, s.history, f));
  s.result.push(scanNodeLogs(e.nodes.map((n) => ({ id: n.id, file: n.logFile })), e.kind === 'zkts'));
  s.result.push(verdict('nemesis', s.nemesis?.problems ?? [], 'every restarted node served again'));
  s.result.push(verdict('workers', s.workerErrors.slice(0, 5), `${s.o.clients} workers, ${sessions} sessions`));
}

/** The workers and the nemesis for durationMs; then every fault healed. Returns the number of sessions used. */
async function underFaults(e: Ensemble, s: RunState, wl: Workload, log: (line: string) => void): Promise<number> {
  s.history.start();
  const nemesis = new Nemesis(e, s.schedule, s.history.clock, s.o.seed, log);
  s.nemesis = nemesis;
  const workers = makeWorkers(servers(e), {
    count: s.o.clients, seed: s.o.seed, sessionTimeoutMs: s.o.sessionTimeoutMs, thinkMs: s.o.thinkMs, history: s.history,
  });
  let running = true;
  const loops = workers.map((w) => workerLoop(w, wl, () => running, s.workerErrors));
  const played = nemesis.run();
  const acked = (): number => s.history.ops.filter((op) => op.status === 'ok').length;
  const saved = s.sabotage === 'rollback' ? saveDuringRun(e, acked) : undefined;
  // Both are awaited below, after the workload's time is up: no rejection may go unhandled meanwhile.
  played.catch(() => undefined);
  saved?.catch(() => undefined);
  try {
    await sleep(Math.max(0, s.o.durationMs - s.history.clock()));
    await saved; // the sabotage (a self-test) may need the workload a while longer
    nemesis.stop();
    await played; // a nemesis error surfaces here
  } finally {
    // Whatever happened, the workers stop and close their sessions before the checks (or the clean-up).
    running = false;
    nemesis.stop();
    await Promise.allSettled([played, ...loops, saved]);
    await Promise.all(workers.map((w) => w.close()));
  }
  await nemesis.healEverything();
  if (saved) {
    log('sabotage: every data dir rolled back to its copy');
    await restoreDataDirs(e);
  }
  return workers.reduce((n, w) => n + w.sessions, 0);
}

/** Every node reports a Mode and one leads, within the bound: the ensemble recovered once the faults stopped. */
async function settle(e: Ensemble): Promise<CheckResult> {
  try {
    const modes = await e.waitForModes({ timeoutMs: SETTLE_TIMEOUT_MS });
    return verdict('settle', [], `settled: ${[...modes].map(([id, m]) => `${id}=${m}`).join(' ')}`);
  } catch (err) {
    return verdict('settle', [`not settled within ${SETTLE_TIMEOUT_MS} ms: ${(err as Error).message.split('\n')[0]}`], '');
  }
}

/** Writes history.json; stops the ensemble, keeping its directory (and the run's) when `keep`. */
async function cleanUp(dir: string, e: Ensemble | undefined, s: RunState, keep: boolean): Promise<{ historyFile: string; logsDir: string } | undefined> {
  const historyFile = path.join(dir, 'history.json');
  fs.writeFileSync(historyFile, historyJson(e, s));
  const before = process.env.ZKTS_KEEP_DIRS;
  // Ensemble.stop() removes its directory unless ZKTS_KEEP_DIRS is set: set it just for this stop.
  if (keep) process.env.ZKTS_KEEP_DIRS = '1';
  try {
    await e?.stop();
  } finally {
    if (before === undefined) delete process.env.ZKTS_KEEP_DIRS;
    else process.env.ZKTS_KEEP_DIRS = before;
  }
  if (keep) return { historyFile, logsDir: e?.root ?? dir };
  fs.rmSync(dir, { recursive: true, force: true });
  return undefined;
}

/** Everything needed to re-check or study a run; unknown returns (Infinity) are written as null. */
function historyJson(e: Ensemble | undefined, s: RunState): string {
  const nodes = e?.nodes.map((n) => ({ id: n.id, clientPort: n.clientPort, logFile: n.logFile, dataDir: n.dataDir })) ?? [];
  const doc = {
    options: s.o, sabotage: s.sabotage, replay: replayCommand(s.o), nodes, schedule: s.schedule, events: s.nemesis?.events ?? [],
    ops: s.history.ops, sessions: s.history.sessions, holds: s.history.holds, finals: s.finals, result: s.result,
  };
  return JSON.stringify(doc, (_k, v: unknown) => (v === Infinity ? null : v), 1);
}
