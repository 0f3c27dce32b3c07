// The search's cost on a fault-suite-sized history: ~2,000 ops from 5 clients over 10 znodes, a few with unknown
// outcomes. Times are reported (t.diagnostic), not asserted: a loaded CI machine must not fail the suite.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { checkLinearizable } from '../../src/check/linearizability.js';
import { keyedRegisterModel } from '../../src/check/models.js';
import { execute, type KeyedOp, type Plan, prng, unpartitioned } from './helpers.js';

const OPS = 2000;
const CLIENTS = 5;
const KEYS = 10;
/** One op in this many times out (half applied, half not): what a partition test leaves behind. */
const UNKNOWN_EVERY = 50;

function history(seed: number): KeyedOp[] {
  const rnd = prng(seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  const plans: Plan[] = [];
  for (let i = 0; i < OPS; i++) {
    const timedOut = int(UNKNOWN_EVERY) === 0;
    plans.push({
      client: i % CLIENTS,
      key: `/k${int(KEYS)}`,
      kind: (['read', 'write', 'cas'] as const)[int(3)],
      value: `v${i}`,
      versionSkew: int(4) === 0 ? 1 : 0,
      gap: int(3),
      lead: int(10),
      lag: int(10),
      outcome: !timedOut ? 'ok' : int(2) === 0 ? 'applied' : 'lost',
    });
  }
  return execute(plans);
}

void describe('checkLinearizable performance', () => {
  void it('checks 2,000 ops over 5 clients and 10 keys quickly', (t) => {
    const ops = history(42);
    const model = keyedRegisterModel();
    for (const [name, m] of [['partitioned', model], ['unpartitioned', unpartitioned(model)]] as const) {
      const start = performance.now();
      const r = checkLinearizable(m, ops);
      const ms = performance.now() - start;
      assert.equal(r.valid, true, r.summary);
      t.diagnostic(`${name}: ${ops.length} ops in ${ms.toFixed(1)} ms (${r.summary})`);
    }
    // The last acknowledged read, made to see a value nobody wrote: the search must find it at the very end.
    const reads = ops.map((o, i) => (o.input.f === 'read' && o.status === 'ok' ? i : -1));
    const stale = Math.max(...reads);
    const bad = ops.map((o, i) => (i === stale ? { ...o, output: { value: 'stale', version: 0 } } : o));
    const start = performance.now();
    const r = checkLinearizable(model, bad);
    t.diagnostic(`with one bad read: ${(performance.now() - start).toFixed(1)} ms (${r.summary.slice(0, 100)}…)`);
    assert.equal(r.valid, false);
  });
});
