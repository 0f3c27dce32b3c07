// The final-state workload checkers: set, unique ids, counter, queue, lock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Operation } from '../../src/check/history.js';
import { checkCounter, checkLock, checkQueue, checkSet, checkUniqueIds } from '../../src/check/workloads.js';

type Status = Operation['status'];
/** An op whose timing does not matter to these checkers. */
function op<I, O>(input: I, status: Status = 'ok', output?: O, client = 0): Operation<I, O> {
  return { client, input, output, call: 0, ret: status === 'unknown' ? Infinity : 1, status };
}
const add = (value: string, status: Status = 'ok') => op({ value }, status);

void describe('checkSet', () => {
  const adds = [add('a'), add('b'), add('c', 'unknown'), add('d', 'fail'), add('e', 'unknown')];

  void it('passes when every acknowledged add is in every final read', () => {
    const r = checkSet(adds, [['a', 'b', 'c'], ['a', 'b', 'c'], ['b', 'a']]);
    assert.equal(r.valid, true, r.summary);
    assert.equal(r.checker, 'set');
    assert.deepEqual((r.details as { divergent: string[] }).divergent, ['c']);
  });

  void it('reports an acknowledged add missing from one server as lost', () => {
    const r = checkSet(adds, [['a', 'b'], ['a']]);
    assert.equal(r.valid, false);
    assert.match(r.summary, /1 acknowledged add\(s\) lost: b/);
    assert.deepEqual((r.details as { lostIn: unknown }).lostIn, { b: [1] });
  });

  void it('reports elements never attempted, or whose add definitely failed', () => {
    const r = checkSet(adds, [['a', 'b', 'd', 'zz']]);
    assert.equal(r.valid, false);
    assert.deepEqual((r.details as { unexpected: string[] }).unexpected, ['d', 'zz']);
  });

  void it('cannot judge without a final read', () => {
    const r = checkSet(adds, []);
    assert.equal(r.valid, false);
    assert.equal(r.unknown, true);
  });
});

void describe('checkUniqueIds', () => {
  const create = (path: string | undefined, status: Status = 'ok', client = 0) =>
    op<unknown, string>({}, status, path, client);

  void it('passes distinct ids, ignoring failed and unknown creates', () => {
    const r = checkUniqueIds([create('/q-01'), create('/q-02'), create(undefined, 'unknown'), create('/q-01', 'fail')]);
    assert.equal(r.valid, true, r.summary);
  });

  void it('reports an id handed out twice', () => {
    const r = checkUniqueIds([create('/q-01', 'ok', 1), create('/q-02'), create('/q-01', 'ok', 2)]);
    assert.equal(r.valid, false);
    assert.match(r.summary, /1 id\(s\) returned twice: \/q-01 \(ops 0,2\)/);
  });
});

void describe('checkCounter', () => {
  const inc = (delta: number, status: Status = 'ok') => op({ delta }, status);
  const incs = [inc(1), inc(2), inc(5, 'unknown'), inc(100, 'fail')];

  void it('accepts any final value between the acknowledged sum and that plus the unknown ones', () => {
    for (const v of [3, 5, 8]) assert.equal(checkCounter(incs, v).valid, true, String(v));
    assert.equal(checkCounter(incs, 13, 5).valid, true);
  });

  void it('rejects a lost increment and a value that was never attempted', () => {
    assert.match(checkCounter(incs, 2).summary, /final value 2 < 3: acknowledged increments lost/);
    assert.match(checkCounter(incs, 9).summary, /final value 9 > 8/);
    assert.equal(checkCounter(incs, 103).valid, false, 'a failed increment must not count');
    assert.match(checkCounter(incs, NaN).summary, /not a number/);
  });
});

void describe('checkQueue', () => {
  const enq = (value: string, status: Status = 'ok') => op({ value }, status);
  const deq = (value: string | null, status: Status = 'ok') => op<unknown, string | null>({}, status, value);
  const enqueues = [enq('a'), enq('b'), enq('c'), enq('d', 'unknown'), enq('e', 'fail')];

  void it('passes when every acknowledged element is dequeued once or remains', () => {
    const r = checkQueue(enqueues, [deq('a'), deq('d'), deq(null)], ['b', 'c']);
    assert.equal(r.valid, true, r.summary);
  });

  void it('reports an element dequeued twice, or dequeued and still remaining', () => {
    assert.match(checkQueue(enqueues, [deq('a'), deq('a')], ['b', 'c']).summary, /1 element\(s\) delivered twice: a/);
    assert.match(checkQueue(enqueues, [deq('a')], ['a', 'b', 'c']).summary, /delivered twice: a/);
  });

  void it('reports an element never enqueued, or whose enqueue failed', () => {
    const r = checkQueue(enqueues, [deq('e'), deq('zz')], ['a', 'b', 'c']);
    assert.equal(r.valid, false);
    assert.deepEqual((r.details as { unexpected: string[] }).unexpected, ['e', 'zz']);
  });

  void it('reports lost elements, forgiving as many as there were unknown dequeues', () => {
    const lost = checkQueue(enqueues, [deq('a')], ['c']);
    assert.equal(lost.valid, false);
    assert.match(lost.summary, /1 acknowledged enqueue\(s\) lost \(0 unknown dequeues\): b/);
    const forgiven = checkQueue(enqueues, [deq('a'), deq(null, 'unknown')], ['c']);
    assert.equal(forgiven.valid, true, forgiven.summary);
    assert.deepEqual((forgiven.details as { unaccounted: string[] }).unaccounted, ['b']);
    assert.equal(checkQueue(enqueues, [deq(null, 'unknown')], []).valid, false);
  });
});

void describe('checkLock', () => {
  void it('passes holds one after another, touching at an instant', () => {
    const r = checkLock([
      { client: 1, acquired: 10, released: 20 },
      { client: 2, acquired: 0, released: 10 },
      { client: 3, acquired: 20, released: 30 },
    ]);
    assert.equal(r.valid, true, r.summary);
  });

  void it('reports every hold that overlaps an earlier one', () => {
    const r = checkLock([
      { client: 1, acquired: 0, released: 100 },
      { client: 2, acquired: 10, released: 20 },
      { client: 3, acquired: 30, released: 40 },
      { client: 4, acquired: 200, released: Infinity },
      { client: 5, acquired: 300, released: 310 },
    ]);
    assert.equal(r.valid, false);
    assert.deepEqual((r.details as { overlaps: unknown }).overlaps, [
      { first: 0, second: 1 },
      { first: 0, second: 2 },
      { first: 3, second: 4 },
    ]);
    assert.match(r.summary, /^3 overlapping hold\(s\): c1 \[0, 100\] and c2 \[10, 20\]/);
  });

  void it('throws on a hold released before it was acquired', () => {
    assert.throws(() => checkLock([{ client: 0, acquired: 5, released: 1 }]), RangeError);
  });
});
