// Properties of checkLinearizable: histories produced by a real (sequential-underneath) execution always pass;
// on small arbitrary histories it agrees with the brute-force definition; a read of a value nobody wrote never
// passes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { checkLinearizable } from '../../src/check/linearizability.js';
import { keyedRegisterModel, type RegisterOutput } from '../../src/check/models.js';
import { bruteForce, execute, type KeyedOp, type Plan, unpartitioned } from './helpers.js';

const plan = (keys: number, clients: number): fc.Arbitrary<Plan> =>
  fc.record({
    client: fc.nat(clients - 1),
    key: fc.nat(keys - 1).map((k) => `/k${k}`),
    kind: fc.constantFrom('read', 'write', 'cas'),
    value: fc.constantFrom('a', 'b', 'c'),
    versionSkew: fc.oneof(fc.constant(0), fc.integer({ min: -2, max: 2 })),
    gap: fc.nat(5),
    lead: fc.nat(10),
    lag: fc.nat(10),
    outcome: fc.oneof({ weight: 8, arbitrary: fc.constant('ok' as const) }, fc.constantFrom('applied', 'lost')),
  });

/** Replaces one op's output with an arbitrary one: often, but not always, a history that is no longer linearizable. */
const corrupt = (ops: KeyedOp[], at: number, value: string | null, version: number): KeyedOp[] =>
  ops.map((o, i): KeyedOp => {
    if (i !== at % ops.length || o.status !== 'ok') return o;
    const output: RegisterOutput = o.input.f === 'read' ? { value, version } : { version };
    return { ...o, output };
  });

void describe('checkLinearizable properties', () => {
  void it('judges every history of a real execution linearizable', () => {
    fc.assert(
      fc.property(fc.array(plan(3, 4), { maxLength: 60 }), (plans) => {
        const r = checkLinearizable(keyedRegisterModel(), execute(plans));
        assert.equal(r.valid, true, r.summary);
      }),
      { numRuns: 300 },
    );
  });

  void it('agrees with the brute-force definition on small histories', () => {
    const model = keyedRegisterModel();
    const whole = unpartitioned(model);
    const arb = fc.record({
      plans: fc.array(plan(2, 3), { minLength: 1, maxLength: 7 }),
      at: fc.nat(),
      value: fc.constantFrom('a', 'b', null),
      version: fc.integer({ min: -1, max: 3 }),
      corrupted: fc.boolean(),
    });
    let invalid = 0;
    fc.assert(
      fc.property(arb, ({ plans, at, value, version, corrupted }) => {
        const honest = execute(plans);
        const ops = corrupted ? corrupt(honest, at, value, version) : honest;
        const expected = bruteForce(whole, ops);
        if (!expected) invalid++;
        assert.equal(checkLinearizable(model, ops).valid, expected);
        assert.equal(checkLinearizable(whole, ops).valid, expected);
      }),
      { numRuns: 500 },
    );
    assert.ok(invalid > 50, `the generator must produce non-linearizable histories too (got ${invalid})`);
  });

  void it('never accepts a read of a value nobody wrote', () => {
    fc.assert(
      fc.property(fc.array(plan(2, 4), { minLength: 1, maxLength: 40 }), fc.nat(), (plans, pick) => {
        const ops = execute(plans);
        const reads = ops.map((o, i) => ({ o, i })).filter(({ o }) => o.input.f === 'read' && o.status === 'ok');
        fc.pre(reads.length > 0);
        const bad = corrupt(ops, reads[pick % reads.length].i, 'never-written', 0);
        assert.equal(checkLinearizable(keyedRegisterModel(), bad).valid, false);
      }),
      { numRuns: 200 },
    );
  });
});
