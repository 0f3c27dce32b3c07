// The CI portion of the fault suite (src/fault/): every workload once against a 3-node zkts ensemble of real
// processes, each under a different fault, with fixed seeds; and, when Apache ZooKeeper 3.8 is installed, the
// same suite against it (a suite that fails a correct server is broken). A failed run keeps its directory (node
// logs, data dirs, history.json); the assertion message names it and the command that replays the schedule.
// The long campaign is `zkts fault --workload all --fault all --runs N` (see src/fault/main.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { killEnsembles } from '../../src/bench/ensemble.js';
import { replayCommand, runFaultTest, type FaultTestOptions, type FaultTestReport } from '../../src/fault/runner.js';
import { reportLine } from '../../src/fault/main.js';
import { oracleAvailable } from '../support/servers.js';

/** Seconds of workload per run: enough for 3-5 faults. */
const DURATION_MS = 10_000;
/** The self-test's minimum run; it runs on until it has writes on both sides of its copy (sabotage.ts). */
const SELF_TEST_MS = 4000;
/** A run that did less than this did not exercise anything (every server down, a stuck client). */
const MIN_OPS = 50;

const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-fault-ci-'));
after(() => {
  killEnsembles();
  // Kept runs stay for study; the parent goes only when empty.
  if (fs.readdirSync(parent).length === 0) fs.rmdirSync(parent);
});

const ZKTS_RUNS: Pick<FaultTestOptions, 'workload' | 'fault' | 'seed'>[] = [
  { workload: 'register', fault: 'partition-isolate-leader', seed: 101 },
  { workload: 'set', fault: 'kill9-one', seed: 102 },
  { workload: 'unique-ids', fault: 'corrupt-restart', seed: 103 },
  { workload: 'counter', fault: 'pause', seed: 104 },
  { workload: 'queue', fault: 'partition-majority-minority', seed: 105 },
  { workload: 'lock', fault: 'kill9-all', seed: 106 },
];

const APACHE_RUNS: Pick<FaultTestOptions, 'workload' | 'fault' | 'seed'>[] = [
  { workload: 'register', fault: 'kill9-one', seed: 201 },
  { workload: 'lock', fault: 'partition-isolate-leader', seed: 202 },
];

function assertPassed(r: FaultTestReport): void {
  const violations = r.result.filter((c) => !c.valid && !c.unknown);
  const where = r.logsDir ? `\nkept: ${r.logsDir}\nhistory: ${r.historyFile}` : '';
  assert.deepEqual(violations.map((c) => `${c.checker}: ${c.summary}`), [], `${reportLine(r)}\nreplay: ${replayCommand(r.options)}${where}`);
  assert.ok(r.ops >= MIN_OPS, `only ${r.ops} operations: ${reportLine(r)}`);
  assert.ok(r.events.some((e) => e.what.startsWith('inject')), 'the nemesis injected faults');
}

for (const [kind, runs] of [['zkts', ZKTS_RUNS], ['apache', APACHE_RUNS]] as const) {
  const skip = kind === 'apache' && !oracleAvailable() ? 'Apache ZooKeeper is not installed' : false;
  void describe(`fault suite against ${kind}`, { skip, timeout: 150_000 }, () => {
    for (const run of runs) {
      void test(`${run.workload} under ${run.fault} (seed ${run.seed})`, async (t) => {
        const r = await runFaultTest({ kind, ...run, durationMs: DURATION_MS, tmpDir: parent });
        t.diagnostic(reportLine(r));
        for (const c of r.result.filter((x) => x.unknown)) t.diagnostic(`undecided: ${c.checker}: ${c.summary}`);
        assertPassed(r);
      });
    }
  });
}

void describe('fault suite self-test', { timeout: 150_000 }, () => {
  // The sabotage copies the data dirs only after 50 acknowledged adds and keeps the workload going until 50 more
  // (sabotage.ts): even a machine so loaded that a run manages a handful of ops per second has adds to lose.
  void test('an ensemble that forgets acknowledged writes (data dirs rolled back) fails the checks', async (t) => {
    const r = await runFaultTest({ kind: 'zkts', workload: 'set', fault: 'none', seed: 301, durationMs: SELF_TEST_MS, tmpDir: parent, sabotage: 'rollback' });
    t.diagnostic(reportLine(r));
    const set = r.result.find((c) => c.checker === 'set');
    assert.equal(set?.valid, false, `the set checker must report the lost adds: ${reportLine(r)}`);
    assert.match(set?.summary ?? '', /acknowledged add\(s\) lost/);
    // The kept directory of this expected failure is of no use.
    if (r.logsDir) fs.rmSync(path.dirname(r.logsDir), { recursive: true, force: true });
  });
});
