// watcher.ts: the simulator's watch checker. One observer session keeps a one-time watch on each of the workload's
// znodes (data watches on the register keys and the counter, child watches on the set, ids, queue and lock
// directories) and re-reads with a new watch whenever one fires, through every fault. ZooKeeper promises that a client
// sees a watch event before the data that changed, and that a watch set at version v fires on the next change:
//   in order      after an event, the re-read on the same session shows a newer version than the read that set the
//                 watch (never the same or an older one), and versions never go back within a session;
//   none missing  once the faults are healed and the writers stopped, the observer's last read of every znode catches
//                 up with the znode (a missed event would leave it stuck at an old version).
// A session that expires loses its watches, as in ZooKeeper: the observer opens a new one and reads again.
import type { CheckResult } from '../check/history.js';
import { ZooKeeperClient, type WatchedEvent } from '../client/index.js';
import { EventType } from '../protocol/constants.js';
import { sleep } from '../fault/drive.js';
import { verdict } from '../fault/worker.js';
import type { WorkloadName } from '../fault/workloads.js';
import { silentLogger } from '../util/log.js';

interface Watched {
  path: string;
  kind: 'data' | 'children';
}

/** The znodes each workload changes, and how to watch them. */
export function watchedPaths(workload: WorkloadName): Watched[] {
  switch (workload) {
    case 'register': return [0, 1, 2, 3, 4].map((i) => ({ path: `/reg/k${i}`, kind: 'data' }));
    case 'counter': return [{ path: '/counter', kind: 'data' }];
    case 'set': return [{ path: '/set', kind: 'children' }];
    case 'unique-ids': return [{ path: '/ids', kind: 'children' }];
    case 'queue': return [{ path: '/queue', kind: 'children' }];
    case 'lock': return [{ path: '/lock', kind: 'children' }];
  }
}

const SESSION_TIMEOUT_MS = 3000;
const RETRY_MS = 200;

/**
 * Reads a znode's version (data) or child version (children) and sets a watch that calls `fired` on its node event.
 * Connection-state events (type None) reach every watcher too, as in ZooKeeper's clients; the watch stays set.
 */
async function readAndWatch(c: ZooKeeperClient, w: Watched, fired: () => void): Promise<number> {
  const watcher = (ev: WatchedEvent): void => {
    if (ev.type !== EventType.None) fired();
  };
  if (w.kind === 'data') return (await c.getData(w.path, watcher)).stat.version;
  return (await c.getChildren2(w.path, watcher)).stat.cversion;
}

export class WatchObserver {
  /** Last version read per path (on the current session). */
  readonly last = new Map<string, number>();
  readonly problems: string[] = [];
  events = 0;
  sessions = 0;
  private running = true;
  private client: ZooKeeperClient | undefined;

  constructor(private readonly connect: string, private readonly paths: Watched[]) {}

  /** Runs until stop(); each path has its own watch loop on the shared session. */
  async run(): Promise<void> {
    while (this.running) {
      const c = new ZooKeeperClient(this.connect, { logger: silentLogger, sessionTimeoutMs: SESSION_TIMEOUT_MS, connectTimeoutMs: 1000, reconnectDelayMs: 100 });
      try {
        await c.connect(2000);
      } catch {
        await c.close();
        await sleep(RETRY_MS);
        continue;
      }
      this.client = c;
      this.sessions++;
      this.last.clear();
      await Promise.all(this.paths.map((p) => this.watchLoop(c, p)));
      this.client = undefined;
      await c.close();
    }
  }

  stop(): void {
    this.running = false;
    const c = this.client;
    if (c) void c.close();
  }

  private alive(c: ZooKeeperClient): boolean {
    return this.running && c.state !== 'expired' && c.state !== 'closed' && c.state !== 'authFailed';
  }

  /** Read with a watch, wait for it to fire (or the session to end), read again; check the order. */
  private async watchLoop(c: ZooKeeperClient, w: Watched): Promise<void> {
    let afterEvent: number | undefined;
    while (this.alive(c)) {
      let fire!: () => void;
      const fired = new Promise<void>((resolve) => (fire = resolve));
      let version: number;
      try {
        version = await readAndWatch(c, w, () => fire());
      } catch {
        await sleep(RETRY_MS); // connection loss: the client reconnects (and re-registers watches it holds)
        continue;
      }
      this.observe(w.path, version, afterEvent);
      // Wake up on the event, or now and then to notice the session ended (its watches with it).
      while (this.alive(c) && !(await Promise.race([fired.then(() => true), sleep(RETRY_MS).then(() => false)])));
      if (!this.alive(c)) return;
      this.events++;
      afterEvent = version;
    }
  }

  private observe(path: string, version: number, afterEventAt: number | undefined): void {
    const before = this.last.get(path);
    if (before !== undefined && version < before) this.problem(`${path}: read v${version} after v${before} on the same session`);
    if (afterEventAt !== undefined && version <= afterEventAt) {
      this.problem(`${path}: a watch set at v${afterEventAt} fired, but the next read still shows v${version}`);
    }
    this.last.set(path, Math.max(version, before ?? -1));
  }

  private problem(p: string): void {
    if (this.problems.length < 20) this.problems.push(p);
  }

  /** True once every path's last read equals `finals` (the znodes' versions at the end). */
  caughtUp(finals: Map<string, number>): boolean {
    return [...finals].every(([p, v]) => this.last.get(p) === v);
  }

  verdict(finals: Map<string, number>): CheckResult {
    const stuck = [...finals].filter(([p, v]) => this.last.get(p) !== v).map(([p, v]) => `${p}: the observer is at v${this.last.get(p) ?? '?'}, the znode at v${v} (a missed event)`);
    return verdict('watches', [...this.problems, ...stuck], `${this.events} events on ${this.sessions} session(s), in order, none missing`);
  }
}

/** The versions (data or child) of the watched znodes, read after a sync. */
export async function currentVersions(c: ZooKeeperClient, paths: Watched[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const w of paths) {
    await c.sync(w.path);
    out.set(w.path, w.kind === 'data' ? (await c.getData(w.path)).stat.version : (await c.getChildren2(w.path)).stat.cversion);
  }
  return out;
}
