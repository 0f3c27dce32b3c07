// The client side of a run, shared by the fault suite (real processes, runner.ts) and the simulator (src/sim): the
// workers' loop, sessions retried until a deadline, and the final read from every server. Time comes from
// util/sys.ts's clock, so under the simulator these run on simulated time.
import type { CheckResult } from '../check/history.js';
import { ZooKeeperClient } from '../client/index.js';
import { silentLogger } from '../util/log.js';
import { clock } from '../util/sys.js';
import { Rng } from '../util/rng.js';
import { checkAgreement } from './checks.js';
import { checkTrees, dumpTree, type Tree } from './tree.js';
import { type History, Worker } from './worker.js';
import type { Workload } from './workloads.js';

/** Pause of a worker that could not get a session (its server is down or partitioned). */
const NO_SESSION_PAUSE_MS = 200;
const RETRY_PAUSE_MS = 200;
const SESSION_TIMEOUT_MS = 3000;

export const sleep = (ms: number): Promise<void> => new Promise((r) => clock.setTimeout(r, ms));

export interface ServerAddress {
  id: number;
  /** host:port of its client port */
  address: string;
}

export interface WorkerSetup {
  count: number;
  seed: number;
  sessionTimeoutMs: number;
  thinkMs: [number, number];
  history: History;
}

/** Each worker prefers a different server; odd ones use only that one (no failover), as a pinned app would. */
export function makeWorkers(servers: ServerAddress[], o: WorkerSetup): Worker[] {
  const rng = new Rng(o.seed);
  return Array.from({ length: o.count }, (_, i) => {
    const first = i % servers.length;
    const order = [...servers.slice(first), ...servers.slice(0, first)];
    const pinned = i % 2 === 1;
    return new Worker({
      index: i, connect: (pinned ? [order[0]] : order).map((s) => s.address).join(','), pinned,
      sessionTimeoutMs: o.sessionTimeoutMs, history: o.history, rng: rng.fork(i), thinkMs: o.thinkMs,
    });
  });
}

export async function workerLoop(w: Worker, wl: Workload, running: () => boolean, errors: string[]): Promise<void> {
  while (running()) {
    const c = await w.session();
    if (!c) {
      await sleep(NO_SESSION_PAUSE_MS);
      continue;
    }
    try {
      await wl.step(w, c);
    } catch (err) {
      // Steps record ZooKeeper errors themselves; anything reaching here is a bug in the suite, reported as such.
      errors.push(`worker ${w.index}: ${(err as Error).stack ?? String(err)}`);
      await sleep(NO_SESSION_PAUSE_MS);
    }
    await sleep(w.think());
  }
}

/** Runs `fn` on a fresh session, retrying (new session each time) until it succeeds or `timeoutMs` passes. */
export async function withSession<T>(connect: string, timeoutMs: number, fn: (c: ZooKeeperClient) => Promise<T>): Promise<T> {
  const deadline = clock.now() + timeoutMs;
  for (;;) {
    const c = new ZooKeeperClient(connect, { logger: silentLogger, sessionTimeoutMs: SESSION_TIMEOUT_MS, connectTimeoutMs: 1000, reconnectDelayMs: 100 });
    try {
      await c.connect(2000);
      return await fn(c);
    } catch (err) {
      if (clock.now() > deadline) throw new Error(`${connect}: still failing after ${timeoutMs} ms: ${(err as Error).message}`);
    } finally {
      await c.close();
    }
    await sleep(RETRY_PAUSE_MS);
  }
}

export interface Finals {
  finals: unknown[];
  trees: { id: number; tree: Tree }[];
  missing: string[];
}

/** The workload's final state and the whole tree from every server, each after a sync (every commit is there). */
export async function finalReads(servers: ServerAddress[], wl: Workload, h: History, timeoutMs: number): Promise<Finals> {
  const out: Finals = { finals: [], trees: [], missing: [] };
  for (const s of servers) {
    try {
      await withSession(s.address, timeoutMs, async (c) => {
        await c.sync('/');
        const final = await wl.finalRead(c, h);
        const tree = await dumpTree(c);
        out.finals.push(final);
        out.trees.push({ id: s.id, tree });
      });
    } catch (err) {
      out.missing.push(`node ${s.id}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return out;
}

/** The workload's checkers plus agreement of the servers' final states and trees. */
export function checkFinals(wl: Workload, h: History, f: Finals): CheckResult[] {
  return [...wl.check(h, f.finals), checkAgreement(f.finals, f.missing), checkTrees(f.trees)];
}
