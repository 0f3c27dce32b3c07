// checkLinearizable on hand-written register histories: the classic anomalies must be caught and explained, and
// what a real system may legitimately do (concurrent ops in either order, timed-out ops taking effect late or never)
// must pass.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CheckResult } from '../../src/check/history.js';
import { checkLinearizable, type LinearizabilityFailure, type Model } from '../../src/check/linearizability.js';
import { keyedRegisterModel, registerModel } from '../../src/check/models.js';
import { at, cas, failed, read, type RegOp, unknown, unpartitioned, write } from './helpers.js';

const reg = registerModel();
const check = (ops: RegOp[]): CheckResult => checkLinearizable(reg, ops);
const failureOf = (r: CheckResult): LinearizabilityFailure =>
  (r.details as { failure: LinearizabilityFailure }).failure;

function assertValid(r: CheckResult): void {
  assert.equal(r.valid, true, r.summary);
  assert.equal(r.unknown, undefined);
}

function assertInvalid(r: CheckResult, failingOp: number): LinearizabilityFailure {
  assert.equal(r.valid, false, r.summary);
  assert.equal(r.unknown, undefined);
  assert.match(r.summary, /^not linearizable/);
  const f = failureOf(r);
  assert.equal(f.op, failingOp, r.summary);
  return f;
}

void describe('checkLinearizable: register histories', () => {
  void it('accepts the empty history and a sequential one', () => {
    assertValid(check([]));
    const sequential = [read(0, 0, 1, null, -1), write(0, 2, 3, 'a', 0), read(1, 4, 5, 'a', 0), write(1, 6, 7, 'b', 1)];
    assertValid(check(sequential));
    assert.equal(check([]).checker, 'linearizable(register)');
  });

  void it('catches a stale read', () => {
    const ops = [write(0, 0, 10, 'a', 0), write(0, 20, 30, 'b', 1), read(1, 40, 50, 'a', 0)];
    const f = assertInvalid(check(ops), 2);
    assert.deepEqual(f.linearized, [0, 1]);
    assert.deepEqual(f.prefix, [0, 1, 2]);
    assert.deepEqual(f.concurrent, []);
    assert.match(check(ops).summary, /#2 c1 read -> "a"@v0 \[40, 50\] cannot be linearized after #0 .*; #1 /);
  });

  void it('lets a read concurrent with a write see either value, but not new then old', () => {
    const ops = [write(0, 0, 100, 'b', 1), read(1, 10, 20, 'a', 0), read(2, 30, 40, 'b', 1)];
    const init = registerModel({ value: 'a', version: 0 });
    assertValid(checkLinearizable(init, ops));
    const inverted = [...ops, read(1, 50, 60, 'a', 0)];
    const r = checkLinearizable(init, inverted);
    const f = assertInvalid(r, 3);
    assert.deepEqual(f.concurrent, [0], 'the write is the concurrent suspect');
  });

  void it('catches a lost update: two acknowledged writes, the later one vanished', () => {
    // The versions fix the order: a (v0) then b (v1). A read after both returned must see b.
    const ops = [write(0, 0, 10, 'a', 0), write(1, 0, 10, 'b', 1), read(2, 20, 30, 'a', 0)];
    assertInvalid(check(ops), 2);
    assertValid(check([...ops.slice(0, 2), read(2, 20, 30, 'b', 1)]));
  });

  void it('catches a CAS that succeeded twice from the same version', () => {
    const ops = [
      read(0, 0, 5, 'x', 0),
      read(1, 0, 5, 'x', 0),
      cas(0, 10, 20, 'x+a', 0, 1),
      cas(1, 10, 20, 'x+b', 0, 1),
    ];
    const r = checkLinearizable(registerModel({ value: 'x', version: 0 }), ops);
    const f = assertInvalid(r, 3);
    assert.deepEqual(f.concurrent, [2]);
    // The same two CASes where the second was refused (BADVERSION) are fine: a failed op is dropped.
    const refused = [...ops.slice(0, 3), failed(1, 10, 20, { f: 'cas', value: 'x+b', expectedVersion: 0 })];
    assertValid(checkLinearizable(registerModel({ value: 'x', version: 0 }), refused));
  });

  void it('rejects acknowledged outputs the model cannot produce', () => {
    assertInvalid(check([write(0, 0, 1, 'a', 5)]), 0); // a first write is version 0
    assertInvalid(check([cas(0, 0, 1, 'a', 0, 1)]), 0); // CAS on an absent node is NONODE, never ok
    assertInvalid(check([read(0, 0, 1, 'ghost', 0)]), 0); // a value nobody wrote
    assertValid(check([write(0, 0, 1, 'a', 0), cas(0, 2, 3, 'b', -1, 1)])); // -1: any version
  });

  void it('treats equal timestamps as concurrent', () => {
    assertValid(check([write(0, 0, 10, 'a', 0), read(1, 10, 20, null, -1)]));
    assertInvalid(check([write(0, 0, 10, 'a', 0), read(1, 11, 20, null, -1)]), 1);
  });
});

void describe('checkLinearizable: unknown outcomes', () => {
  const init = registerModel({ value: 'a', version: 0 });

  void it('lets a timed-out write take effect late, after later ops of other clients', () => {
    const ops = [unknown(0, 0, { f: 'write', value: 'b' }), read(1, 20, 30, 'a', 0), read(1, 40, 50, 'b', 1)];
    assertValid(checkLinearizable(init, ops));
    // ... even after a later write of the same client (its retry on a new session).
    const retry = [unknown(0, 0, { f: 'write', value: 'b' }), write(0, 100, 110, 'c', 1), read(1, 120, 130, 'b', 2)];
    assertValid(checkLinearizable(init, retry));
  });

  void it('lets a timed-out write never take effect', () => {
    const ops = [unknown(0, 0, { f: 'write', value: 'b' }), read(1, 20, 30, 'a', 0), read(1, 1000, 1001, 'a', 0)];
    assertValid(checkLinearizable(init, ops));
  });

  void it('still takes a timed-out write to happen at most once, and at one point', () => {
    const seen = [unknown(0, 0, { f: 'write', value: 'b' }), read(1, 20, 30, 'b', 1), read(1, 40, 50, 'a', 0)];
    assertInvalid(checkLinearizable(init, seen), 2);
    const twice = [unknown(0, 0, { f: 'write', value: 'b' }), read(1, 20, 30, 'b', 1), read(1, 40, 50, 'b', 2)];
    assertInvalid(checkLinearizable(init, twice), 2);
  });

  void it('lets a timed-out CAS apply or be refused, whichever the state allows', () => {
    const applied = [unknown(0, 0, { f: 'cas', value: 'b', expectedVersion: 0 }), read(1, 20, 30, 'b', 1)];
    assertValid(checkLinearizable(init, applied));
    // A write got in first, so the CAS must have been refused: 'b' can never be read.
    const refused = [
      write(1, 0, 5, 'c', 1),
      unknown(0, 10, { f: 'cas', value: 'b', expectedVersion: 0 }),
      read(1, 20, 30, 'c', 1),
      read(1, 40, 50, 'b', 2),
    ];
    assertInvalid(checkLinearizable(init, refused), 3);
  });

  void it('cannot move an unknown op before its call', () => {
    const ops = [read(1, 0, 10, 'b', 1), unknown(0, 20, { f: 'write', value: 'b' })];
    assertInvalid(checkLinearizable(init, ops), 0);
  });

  void it('drops unknown reads before the search', () => {
    const ops = [unknown(0, 0, { f: 'read' }), write(1, 1, 2, 'b', 1)];
    const r = checkLinearizable(init, ops);
    assertValid(r);
    assert.deepEqual((r.details as { dropped: unknown }).dropped, { fail: 0, unknownReadOnly: 1 });
  });
});

void describe('checkLinearizable: partitions, nondeterminism, limits', () => {
  void it('checks each znode alone and names the one that failed', () => {
    const ops = [
      at('/a', write(0, 0, 10, 'x', 0)),
      at('/b', write(1, 0, 10, 'y', 0)),
      at('/a', read(2, 20, 30, 'x', 0)),
      at('/b', read(2, 40, 50, null, -1)),
    ];
    const r = checkLinearizable(keyedRegisterModel(), ops);
    assert.equal(r.valid, false);
    assert.match(r.summary, /^not linearizable at "\/b": #3 c2 \/b read -> null@v-1/);
    assert.equal(failureOf(r).partition, '/b');
    assert.deepEqual(failureOf(r).prefix, [1, 3]);
    const fine = checkLinearizable(keyedRegisterModel(), ops.slice(0, 3));
    assertValid(fine);
    assert.equal((fine.details as { partitions: number }).partitions, 2);
  });

  void it('agrees with the unpartitioned search of the same keyed model', () => {
    const whole = unpartitioned(keyedRegisterModel());
    const ops = [
      at('/a', write(0, 0, 10, 'x', 0)),
      at('/b', write(1, 0, 10, 'y', 0)),
      at('/a', read(2, 5, 30, 'x', 0)),
      at('/b', read(0, 40, 50, 'y', 0)),
    ];
    assertValid(checkLinearizable(whole, ops));
    assert.equal(checkLinearizable(whole, [...ops, at('/a', read(1, 60, 70, null, -1))]).valid, false);
  });

  void it('follows every state a nondeterministic model may be in', () => {
    // A coin: 'flip' lands either way (its output is not observed); 'look' reports the face.
    type Coin = { f: 'flip' } | { f: 'look' };
    const coin: Model<number, Coin, number> = {
      name: 'coin',
      init: () => 0,
      step: (s, input, output) => (input.f === 'flip' ? [0, 1] : output === undefined || output === s ? [s] : []),
      key: String,
    };
    const op = (f: Coin['f'], call: number, output?: number) =>
      ({ client: 0, input: { f }, output, call, ret: call + 1, status: 'ok' }) as const;
    assertValid(checkLinearizable(coin, [op('flip', 0), op('look', 2, 1), op('look', 4, 1)]));
    assertValid(checkLinearizable(coin, [op('flip', 0), op('look', 2, 0)]));
    assert.equal(checkLinearizable(coin, [op('flip', 0), op('look', 2, 1), op('look', 4, 0)]).valid, false);
  });

  void it('says "search limit reached" instead of guessing', () => {
    const ops: RegOp[] = [];
    for (let c = 0; c < 8; c++) ops.push(write(c, 0, 100, `v${c}`, c));
    const r = checkLinearizable(reg, ops, { maxSteps: 5 });
    assert.equal(r.valid, false);
    assert.equal(r.unknown, true);
    assert.match(r.summary, /^search limit reached/);
    assertValid(checkLinearizable(reg, ops));
  });

  void it('throws on a malformed history', () => {
    assert.throws(() => check([read(0, 10, 5, null, -1)]), RangeError);
    assert.throws(() => check([read(0, NaN, 5, null, -1)]), RangeError);
  });
});
