// The simulator end to end: whole runs of real servers on the simulated world. A run replays exactly from its seed;
// a campaign of seeds in both modes finds no violation; a disk that lies about fsync is caught (the checks can fail).
// Each seed of the campaign draws its workload; every 4th runs 5 voters, every 5th adds an observer.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runSim, type SimReport } from '../../src/sim/sim.js';

/** Seeds in CI per mode (each a whole simulated run: ~10 simulated seconds of workload under faults, then checks). */
const CI_SEEDS = Number(process.env.ZKTS_SIM_SEEDS ?? 100);
const CI_DURATION_MS = 10_000;

function fingerprint(r: SimReport): string {
  return JSON.stringify({ simMs: r.simMs, steps: r.steps, ops: r.ops, faults: r.faults, violations: r.violations, checks: r.checks.map((c) => c.summary) });
}

void describe('simulator', () => {
  void test('a seed replays exactly', async () => {
    const a = await runSim({ seed: 7, durationMs: CI_DURATION_MS });
    const b = await runSim({ seed: 7, durationMs: CI_DURATION_MS });
    assert.ok(a.steps > 1000, `a run does work (${a.steps} events)`);
    assert.ok(a.ops > 20, `clients did operations (${a.ops})`);
    assert.equal(fingerprint(a), fingerprint(b));
  });

  void test('without faults every workload passes', async () => {
    for (const workload of ['register', 'set', 'unique-ids', 'counter', 'queue', 'lock'] as const) {
      const r = await runSim({ seed: 3, workload, durationMs: CI_DURATION_MS, faults: false });
      assert.deepEqual(r.violations, [], `${workload}: ${r.command}`);
      assert.ok(r.ops > 20, `${workload}: ${r.ops} ops`);
    }
  });

  void test('self-test: a disk that acknowledges fsyncs and keeps nothing fails every run', async () => {
    for (let seed = 1; seed <= 4; seed++) {
      const r = await runSim({ seed, durationMs: 5000, sabotage: 'lying-fsync' });
      assert.equal(r.valid, false, `seed ${seed}: the checks must see the lost writes`);
    }
  });

  for (const mode of ['safety', 'liveness'] as const) {
    void test(`${CI_SEEDS} seeds in ${mode} mode: no violation`, async () => {
      const failed: string[] = [];
      let faults = 0;
      for (let seed = 1; seed <= CI_SEEDS; seed++) {
        const r = await runSim({ seed: mode === 'safety' ? seed : 10_000 + seed, mode, durationMs: CI_DURATION_MS, voters: seed % 4 === 0 ? 5 : 3, observers: seed % 5 === 0 ? 1 : 0 });
        faults += r.faults.length;
        if (!r.valid) failed.push(`${r.command}\n  ${r.violations.slice(0, 3).join('\n  ')}`);
      }
      assert.ok(faults > CI_SEEDS, `the nemesis injected faults (${faults})`);
      assert.deepEqual(failed, []);
    });
  }
});
