// nemesis.ts: the simulator's fault injector. From its own seeded stream it picks a fault every 0.5-3 simulated
// seconds and undoes it later; faults overlap (a partition while a server is down). Process faults: kill -9 (page
// cache kept), power loss (unsynced writes lost, torn tails), all servers at once, SIGSTOP/SIGCONT. Network faults:
// partitions (random split, isolated leader, bridge), "swizzle-clogging" (cut servers off one by one, heal in
// random order), connection resets, clients cut off long enough for their sessions to expire. Disk faults: a full
// disk, a flipped byte in the newest snapshot before a restart (recovery must fall back to an older one plus the
// log). Latency, chunking and reordering across connections come from the network itself (network.ts).
//
// Not injected here: flipped bytes inside the txn log (the server then refuses to start, by design; repairing it
// means wiping the server, which is outside ZooKeeper's fault model when combined with other faults) — the fault
// suite on real processes covers that case (src/fault, corrupt-restart).
import path from 'node:path';
import type { Rng } from '../util/rng.js';
import type { SimNode, SimWorld } from './sim.js';

export const SIM_FAULTS = [
  'kill', 'power', 'all', 'pause', 'partition', 'isolate-leader', 'bridge', 'clog', 'reset', 'client-cut', 'disk-full',
  'snapshot-flip',
] as const;
export type SimFault = (typeof SIM_FAULTS)[number];

const OWNER = 'nemesis';
/** Gap between two faults, simulated ms. */
const GAP_MS: [number, number] = [500, 3000];
/** How long a fault lasts before it is undone. */
const DOWN_MS: [number, number] = [200, 6000];
const PAUSE_MS: [number, number] = [300, 5000];
/** Long enough, sometimes, for a client session (3 s) to expire. */
const CLIENT_CUT_MS: [number, number] = [500, 6000];
const CLOG_STEP_MS: [number, number] = [50, 600];

export class Nemesis {
  private active = false;
  /** One network fault at a time: healing one must not heal another. */
  private netBusy = false;
  private readonly clients: string[];
  /** Undo of the damage done to a server's files, until it started cleanly once. */
  private readonly damage = new Map<string, () => void>();

  constructor(private readonly world: SimWorld, private readonly rng: Rng, clients = 4) {
    // The workload's clients and the watch observer (w0): cut off long enough, their sessions expire.
    this.clients = [...Array.from({ length: clients }, (_, i) => `c${i}`), 'w0'];
    world.onRefused = (n) => this.repair(n);
    world.onStarted = (n) => this.damage.delete(n.owner);
  }

  /**
   * A server refused a snapshot the nemesis damaged (with no older snapshot plus log covering it, e.g. after a SNAP
   * sync: the designed refusal). The operator restores the file and starts it again.
   */
  private repair(n: SimNode): boolean {
    const undo = this.damage.get(n.owner);
    if (!undo) return false;
    this.damage.delete(n.owner);
    try {
      undo();
    } catch {
      return false; // the file is gone: nothing to restore
    }
    this.world.note(`operator restores the damaged snapshot of ${n.owner}`);
    this.world.start(n);
    return true;
  }

  start(durationMs: number): void {
    this.active = true;
    const end = this.world.loop.now + durationMs;
    const next = (): void => {
      if (!this.active || this.world.loop.now >= end) return;
      this.inject(this.rng.pick(SIM_FAULTS));
      this.later(this.between(GAP_MS), next);
    };
    this.later(this.between(GAP_MS), next);
  }

  stop(): void {
    this.active = false;
  }

  /** Every fault undone: network healed, paused servers resumed, disks unbounded, stopped servers started. */
  healAll(): void {
    const w = this.world;
    w.network.heal();
    this.netBusy = false;
    for (const n of w.nodes) {
      if (w.loop.isFrozen(n.owner)) w.loop.thaw(n.owner);
      w.disk.setCapacity(n.root, undefined);
      if (!n.up) w.start(n);
    }
    w.note('heal everything');
  }

  private later(ms: number, fn: () => void): void {
    this.world.loop.schedule(ms, fn, OWNER);
  }

  private between([lo, hi]: [number, number]): number {
    return this.rng.int(lo, hi);
  }

  private up(): SimNode[] {
    return this.world.nodes.filter((n) => n.up && !this.world.loop.isFrozen(n.owner));
  }

  private inject(fault: SimFault): void {
    const w = this.world;
    const up = this.up();
    if (up.length === 0) return;
    const n = this.rng.pick(up);
    switch (fault) {
      case 'kill':
      case 'power':
        return this.stopThenStart([n], fault);
      case 'all':
        return this.stopThenStart(up, this.rng.chance(0.5) ? 'power' : 'kill');
      case 'pause': {
        w.loop.freeze(n.owner);
        w.note(`pause ${n.owner}`);
        return this.later(this.between(PAUSE_MS), () => {
          w.loop.thaw(n.owner);
          w.note(`resume ${n.owner}`);
        });
      }
      case 'partition': {
        const owners = this.rng.shuffle(w.nodes.map((x) => x.owner));
        const cut = this.rng.int(1, owners.length - 1);
        return this.netFault(`partition ${owners.slice(0, cut).join(',')} | ${owners.slice(cut).join(',')}`, () => w.network.partition([owners.slice(0, cut), owners.slice(cut)]));
      }
      case 'isolate-leader': {
        const leader = w.nodes.find((x) => x.up && x.peer?.state.mode === 'leader') ?? n;
        const rest = w.nodes.filter((x) => x !== leader).map((x) => x.owner);
        return this.netFault(`isolate ${leader.owner}`, () => w.network.partition([[leader.owner], rest]));
      }
      case 'bridge': {
        // Two majorities that overlap in one server: each side can elect with the bridge's vote.
        const owners = this.rng.shuffle(w.nodes.map((x) => x.owner));
        const mid = Math.floor(owners.length / 2);
        const left = owners.slice(0, mid);
        const right = owners.slice(mid + 1);
        return this.netFault(`bridge via ${owners[mid]}: ${left.join(',')} | ${right.join(',')}`, () => {
          for (const a of left) for (const b of right) w.network.block(a, b);
        });
      }
      case 'clog':
        return this.clog();
      case 'reset':
        w.network.reset(n.owner);
        return w.note(`reset connections of ${n.owner}`);
      case 'client-cut': {
        const c = this.rng.pick(this.clients);
        return this.netFault(`cut client ${c} off`, () => {
          for (const x of w.nodes) w.network.block(c, x.owner);
        }, CLIENT_CUT_MS);
      }
      case 'disk-full': {
        const used = w.disk.usage(n.root);
        w.disk.setCapacity(n.root, used + this.rng.int(0, 64 << 10));
        w.note(`disk of ${n.owner} full`);
        return this.later(this.between(DOWN_MS), () => {
          w.disk.setCapacity(n.root, undefined);
          w.note(`disk of ${n.owner} has room again`);
        });
      }
      case 'snapshot-flip':
        return this.stopThenStart([n], 'kill', () => this.flipNewestSnapshot(n));
    }
  }

  private stopThenStart(nodes: SimNode[], how: 'kill' | 'power', beforeStart?: () => void): void {
    const w = this.world;
    for (const n of nodes) {
      if (how === 'power') w.powerOff(n);
      else w.kill(n);
      w.note(`${how === 'power' ? 'power off' : 'kill -9'} ${n.owner}`);
      this.later(this.between(DOWN_MS), () => {
        if (n.up) return;
        beforeStart?.();
        w.note(`start ${n.owner}`);
        w.start(n);
      });
    }
  }

  private netFault(what: string, apply: () => void, lasts: [number, number] = DOWN_MS): void {
    if (this.netBusy) return;
    this.netBusy = true;
    apply();
    this.world.note(what);
    this.later(this.between(lasts), () => {
      if (!this.netBusy) return;
      this.world.network.heal();
      this.netBusy = false;
      this.world.note('heal network');
    });
  }

  /** Swizzle-clogging: servers cut off one at a time, then healed one at a time in a random order. */
  private clog(): void {
    if (this.netBusy) return;
    this.netBusy = true;
    const w = this.world;
    const owners = w.nodes.map((x) => x.owner);
    const victims = this.rng.shuffle([...owners]).slice(0, this.rng.int(1, owners.length));
    w.note(`clog ${victims.join(',')} one by one`);
    let t = 0;
    for (const v of victims) {
      t += this.between(CLOG_STEP_MS);
      this.later(t, () => owners.forEach((o) => o !== v && w.network.block(v, o)));
    }
    t += this.between(DOWN_MS);
    for (const v of this.rng.shuffle([...victims])) {
      t += this.between(CLOG_STEP_MS);
      this.later(t, () => owners.forEach((o) => o !== v && w.network.unblock(v, o)));
    }
    this.later(t, () => {
      this.netBusy = false;
      w.note('clog healed');
    });
  }

  private flipNewestSnapshot(n: SimNode): void {
    const dir = path.join(n.config.dataDir, 'version-2');
    const snaps = this.world.disk.list(dir).filter((f) => path.basename(f).startsWith('snapshot.'));
    // Only with an older snapshot to fall back to: with none, refusing to start is the designed outcome.
    if (snaps.length < 2) return;
    const newest = snaps.sort((a, b) => parseInt(path.basename(b).slice(9), 16) - parseInt(path.basename(a).slice(9), 16))[0];
    const size = this.world.disk.readFile(newest).length;
    if (size === 0) return;
    const at = this.rng.below(size);
    this.world.disk.flipByte(newest, at);
    this.damage.set(n.owner, () => this.world.disk.flipByte(newest, at));
    this.world.note(`flip byte ${at} of ${path.basename(newest)} on ${n.owner}`);
  }
}
