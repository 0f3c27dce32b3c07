// util/ holds small leaf helpers with no project imports. rng.ts: a small seeded PRNG (mulberry32) for the fault
// suite and the simulator: nemesis schedules, corruption, workload choices, simulated latencies and torn writes all
// derive from a run's seed, so a failing run replays with the same choices.

export class Rng {
  private state: number;

  constructor(seed: number) {
    // Spread small consecutive seeds apart so seeds 1, 2, 3 do not start with related streams.
    this.state = (Math.imul(seed >>> 0, 0x9e3779b1) ^ 0x6d2b79f5) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)];
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** An independent stream for one consumer (each worker, the nemesis), stable for a given seed. */
  fork(salt = 0): Rng {
    return new Rng(Math.floor(this.next() * 0x7fffffff) ^ Math.imul(salt + 1, 0x85ebca6b));
  }
}
