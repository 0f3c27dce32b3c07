// The nemesis: plays a schedule (schedule.ts) against a running proxied ensemble, one fault at a time, and records
// what it did with the run's clock. Faults that end in a restart tell a recovery (the node served again) from a
// refusal (the process exited): after plain kill -9 or a torn log tail a refusal is a finding; after mid-log or
// snapshot damage it may be the right answer, and the node is then wiped (all but myid) and restarted, as an
// operator would, so the quorum resyncs it.
import type { Ensemble, EnsembleNode } from '../bench/ensemble.js';
import { corrupt } from './corrupt.js';
import { wipeDataDir } from './corrupt.js';
import { Rng } from '../util/rng.js';
import { describeStep, type FaultStep, type ScheduledFault, type Target } from './schedule.js';

export interface NemesisEvent {
  /** ms on the run's clock */
  at: number;
  what: string;
  detail?: unknown;
}

/** Bound on one node's restart reaching a Mode (it needs a quorum, which the other nodes form). */
export const RESTART_TIMEOUT_MS = 30_000;
/** Bound on a whole-ensemble restart (every node starts, elects, syncs). */
export const ENSEMBLE_RESTART_TIMEOUT_MS = 60_000;
/** How long to look for the leader a fault targets before falling back to a random node. */
const LEADER_WAIT_MS = 5000;
/** Log lines kept with a refusal: enough for the exception and its cause. */
const REFUSAL_LOG_LINES = 15;
/** Least quiet time after a heal, so a late heal (a slow restart) does not run straight into the next fault. */
const MIN_QUIET_MS = 500;

/** What a fault did, so that its heal undoes exactly that. */
interface Injected {
  step: FaultStep;
  /** Nodes killed or paused. */
  ids: number[];
}

export class Nemesis {
  readonly events: NemesisEvent[] = [];
  /** Things that must not happen (a node refusing to start after a plain crash); each fails the run. */
  readonly problems: string[] = [];
  private readonly paused = new Set<number>();
  private stopping = false;
  private wake: (() => void) | undefined;
  private readonly rng: Rng;

  constructor(private readonly e: Ensemble, private readonly schedule: ScheduledFault[],
    private readonly clock: () => number, seed: number, private readonly log: (line: string) => void = () => undefined) {
    // Runtime fallbacks (no leader found) draw from their own stream, leaving the schedule's untouched.
    this.rng = new Rng(seed).fork(0x52554e); // 'RUN'
  }

  /** Plays the schedule until it ends or stop(); the fault in progress is healed before returning. */
  async run(): Promise<void> {
    let quietUntil = 0;
    for (const f of this.schedule) {
      await this.sleepUntil(Math.max(f.startMs, quietUntil));
      if (this.stopping) return;
      const injected = await this.inject(f.step);
      await this.sleepUntil(f.healMs);
      await this.heal(injected);
      quietUntil = this.clock() + MIN_QUIET_MS;
    }
  }

  /** Ends run() early (it heals the current fault first). */
  stop(): void {
    this.stopping = true;
    this.wake?.();
  }

  /** Whatever state the run left: every link healed, every node resumed and running. */
  async healEverything(): Promise<void> {
    this.e.partitioner?.healAll();
    for (const id of [...this.paused]) this.resume(id);
    for (const n of this.e.nodes) this.resume(n.id); // a SIGCONT to a running process is harmless
    const down = this.e.nodes.filter((n) => !n.running);
    await Promise.all(down.map((n) => this.restart(n, 'settle', false)));
  }

  private note(what: string, detail?: unknown): void {
    const at = Math.round(this.clock());
    this.events.push({ at, what, ...(detail === undefined ? {} : { detail }) });
    this.log(`[nemesis ${at} ms] ${what}${detail === undefined ? '' : ` ${JSON.stringify(detail)}`}`);
  }

  private async sleepUntil(ms: number): Promise<void> {
    const wait = ms - this.clock();
    if (wait <= 0 || this.stopping) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, wait);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
    this.wake = undefined;
  }

  private async resolve(t: Target): Promise<number> {
    if ('id' in t) return t.id;
    try {
      return (await this.e.leader({ timeoutMs: LEADER_WAIT_MS })).id;
    } catch {
      const id = this.rng.pick(this.e.nodes.filter((n) => n.running).map((n) => n.id));
      this.note('no leader found, targeting a random node', { id });
      return id;
    }
  }

  private async inject(step: FaultStep): Promise<Injected> {
    this.note(`inject ${describeStep(step)}`);
    switch (step.fault) {
      case 'none':
        return { step, ids: [] };
      case 'kill9-one':
        return this.killNodes(step, [await this.resolve(step.target)]);
      case 'kill9-all':
        return this.killNodes(step, this.e.nodes.map((n) => n.id));
      case 'pause':
        return this.pause(step, await this.resolve(step.target));
      case 'partition-isolate-leader': {
        const id = await this.resolve(step.target);
        this.partitioner().isolate(id);
        this.note('isolated', { id });
        return { step, ids: [id] };
      }
      case 'partition-majority-minority':
        this.partitioner().partition(step.minority, step.majority);
        return { step, ids: [] };
      case 'partition-bridge':
        this.partitioner().partition(step.left, step.right);
        return { step, ids: [] };
      case 'corrupt-restart': {
        const injected = await this.killNodes(step, [step.target.id]);
        const done = corrupt(this.e.node(step.target.id).dataDir, step.corruption);
        this.note('corrupted', done);
        return injected;
      }
    }
  }

  private partitioner(): NonNullable<Ensemble['partitioner']> {
    if (!this.e.partitioner) throw new Error('partition faults need a proxied ensemble');
    return this.e.partitioner;
  }

  private async killNodes(step: FaultStep, ids: number[]): Promise<Injected> {
    await Promise.all(ids.map((id) => this.e.node(id).kill('SIGKILL')));
    this.note('killed', { ids });
    return { step, ids };
  }

  private pause(step: FaultStep, id: number): Injected {
    const pid = this.e.node(id).pid;
    if (pid === undefined) {
      this.note('not paused: node is down', { id });
      return { step, ids: [] };
    }
    process.kill(pid, 'SIGSTOP');
    this.paused.add(id);
    this.note('paused', { id, pid });
    return { step, ids: [id] };
  }

  private resume(id: number): void {
    const pid = this.e.node(id).pid;
    this.paused.delete(id);
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // exited meanwhile: nothing to resume
    }
  }

  private async heal(inj: Injected): Promise<void> {
    const s = inj.step;
    this.note(`heal ${describeStep(s)}`);
    if (s.fault === 'pause') inj.ids.forEach((id) => this.resume(id));
    else if (s.fault.startsWith('partition-')) this.partitioner().healAll();
    else if (s.fault === 'kill9-one') await this.restart(this.e.node(inj.ids[0]), s.fault, false);
    else if (s.fault === 'kill9-all') await this.restartAll();
    else if (s.fault === 'corrupt-restart') {
      // A torn tail is what a crash leaves: cutting it is the only right answer. Other damage may be refused.
      await this.restart(this.e.node(inj.ids[0]), s.fault, s.corruption.kind !== 'log-tail');
    }
  }

  private async restartAll(): Promise<void> {
    for (const n of this.e.nodes) if (!n.running) n.spawn();
    try {
      await this.e.waitForModes({ timeoutMs: ENSEMBLE_RESTART_TIMEOUT_MS });
      this.note('ensemble serving again');
    } catch (err) {
      this.note('ensemble restart did not settle', { error: firstLine(err) });
      const refused = this.e.nodes.filter((n) => !n.running);
      await Promise.all(refused.map((n) => this.restart(n, 'kill9-all', false)));
    }
  }

  /**
   * Starts a stopped node. If it exits instead of serving, that is recorded (a problem unless `mayRefuse`), its
   * data dir is wiped but for myid and it is started once more. A node that runs but has no Mode yet is left to
   * the settle phase.
   */
  private async restart(n: EnsembleNode, why: string, mayRefuse: boolean): Promise<void> {
    if (!n.running) n.spawn();
    try {
      this.note('restarted', { id: n.id, mode: await n.waitForMode(RESTART_TIMEOUT_MS) });
      return;
    } catch (err) {
      if (n.running) return void this.note('restart slow: no Mode yet', { id: n.id, error: firstLine(err) });
    }
    const log = n.logTail(REFUSAL_LOG_LINES);
    this.note('refused to start', { id: n.id, after: why, log });
    if (!mayRefuse) this.problems.push(`node ${n.id} refused to start after ${why}:\n${log}`);
    wipeDataDir(n.dataDir);
    n.spawn();
    try {
      this.note('restarted on a wiped data dir', { id: n.id, mode: await n.waitForMode(RESTART_TIMEOUT_MS) });
    } catch (err) {
      this.note('restart on a wiped data dir failed', { id: n.id, error: firstLine(err) });
    }
  }
}

function firstLine(e: unknown): string {
  return String((e as Error).message ?? e).split('\n')[0];
}
