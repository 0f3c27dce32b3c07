// SessionTracker: ExpiryQueue bucket arithmetic, touch and expiry semantics, and passwords and ids that match Java
// ZooKeeper bit for bit (golden values printed by OpenJDK 17 running ZooKeeper's formulas).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionTracker, initialSessionId, sessionPassword } from '../../src/server/sessions.js';

void test('password for a session matches new java.util.Random(sid ^ 0xB3415C00L).nextBytes(16)', () => {
  const golden: Array<[bigint, string]> = [
    [0x100000000000001n, '054cc74a37327db215e702e20c73f005'],
    [1n, '054cc74a37327db215e702e20c73f005'], // only the low 48 bits of the seed matter
    [0n, 'f22acd4a97e69d6d20a49bb638eadb38'],
    [0x01897a0a4b0f0000n, '4309f9f41455b47c59fda88b7d1d409c'],
    [-1n, '20f62cb5648dc2d771471c8a2486a9ee'],
    [0xffffffffffffffffn, '20f62cb5648dc2d771471c8a2486a9ee'], // unsigned spelling of -1
    [BigInt.asIntN(64, 0xff00000000000123n), '2819f64f006f5ce597cad99038a8cff9'],
  ];
  for (const [sid, hex] of golden) assert.equal(sessionPassword(sid).toString('hex'), hex, `sid ${sid}`);
  assert.equal(sessionPassword(5n).length, 16);
});

void test('initial session id: server id in the top byte, 40 clock bits, low 16 bits zero (Java golden)', () => {
  const golden: Array<[number, number, bigint]> = [
    [1, 1700000000123, 0x018bcfe5687b0000n],
    [1, 0, 0x0100000000000000n],
    [1, 1234567, 0x01000012d6870000n],
    [5, 1700000000123, 0x058bcfe5687b0000n],
    [254, 1700000000123, BigInt.asIntN(64, 0xfe8bcfe5687b0000n)],
    [254, 0, BigInt.asIntN(64, 0xfe00000000000000n)],
  ];
  for (const [sid, now, want] of golden) assert.equal(initialSessionId(sid, now), want, `server ${sid} at ${now}`);
  // Long.MIN_VALUE is the container owner marker and is skipped.
  assert.equal(initialSessionId(0x80, 0), BigInt.asIntN(64, 0x8000000000000001n));
});

void test('nextSessionId increments from the initial id', () => {
  const t = new SessionTracker({ tickTime: 2000, serverId: 1, nowMs: 1234567 });
  assert.equal(t.nextSessionId(), 0x01000012d6870000n);
  assert.equal(t.nextSessionId(), 0x01000012d6870001n);
  assert.equal(t.nextSessionId(), 0x01000012d6870002n);
});

void test('bucket = ((now + timeout) / tickTime + 1) * tickTime', () => {
  const t = new SessionTracker({ tickTime: 2000, serverId: 0, nowMs: 0 });
  t.add(1n, 10000, 1000); // 11000 -> 12000
  t.add(2n, 10000, 0); // 10000 -> 12000 (an exact multiple still rounds up)
  t.add(3n, 4000, 1999); // 5999 -> 6000
  assert.deepEqual(t.expiryBuckets(), [
    { expiryMs: 6000, sessionIds: [3n] },
    { expiryMs: 12000, sessionIds: [1n, 2n] },
  ]);
  assert.equal(t.nextExpiryMs(), 6000);
  assert.equal(t.timeoutOf(1n), 10000);
  assert.equal(t.timeoutOf(99n), undefined);
});

void test('expiry happens only once the bucket time is reached, and marks sessions closing', () => {
  const t = new SessionTracker({ tickTime: 2000, serverId: 0, nowMs: 0 });
  t.add(7n, 4000, 500); // bucket 6000
  assert.deepEqual(t.expire(5999), []);
  assert.equal(t.isClosing(7n), false);
  assert.deepEqual(t.expire(6000), [7n]);
  assert.equal(t.isClosing(7n), true);
  assert.equal(t.has(7n), true, 'stays tracked until its closeSession is applied');
  assert.equal(t.touch(7n, 6001), false, 'a closing session cannot be revived');
  assert.deepEqual(t.expire(8000), [], 'expired once only');
  t.remove(7n);
  assert.equal(t.has(7n), false);
  assert.equal(t.nextExpiryMs(), undefined);
});

void test('touch moves a session to a later bucket', () => {
  const t = new SessionTracker({ tickTime: 1000, serverId: 0, nowMs: 0 });
  t.add(1n, 3000, 0); // 4000
  assert.equal(t.touch(1n, 2500), true); // 5500 -> 6000
  assert.deepEqual(t.expire(4000), []);
  assert.equal(t.nextExpiryMs(), 6000);
  assert.deepEqual(t.expire(6000), [1n]);
  assert.equal(t.touch(42n, 0), false, 'unknown session');
});

void test('a late expire() call takes every overdue bucket in order', () => {
  const t = new SessionTracker({ tickTime: 1000, serverId: 0, nowMs: 0 });
  t.add(2n, 5000, 0); // 6000
  t.add(1n, 2000, 0); // 3000
  t.add(3n, 9000, 0); // 10000
  assert.deepEqual(t.expire(7500), [1n, 2n]);
  assert.equal(t.nextExpiryMs(), 10000);
});

void test('re-adding a tracked session keeps its timeout and touches it; setClosing and remove of unknown are no-ops', () => {
  const t = new SessionTracker({ tickTime: 1000, serverId: 0, nowMs: 0 });
  t.add(1n, 2000, 0);
  t.add(1n, 9000, 5000); // touch with the original timeout: 7000 -> 8000
  assert.equal(t.timeoutOf(1n), 2000);
  assert.deepEqual(t.expiryBuckets().filter((b) => b.sessionIds.length > 0), [{ expiryMs: 8000, sessionIds: [1n] }]);
  t.setClosing(99n);
  t.remove(99n);
  assert.deepEqual([...t.sessions()], [{ id: 1n, timeoutMs: 2000 }]);
  assert.equal(t.size, 1);
});

void test('bad arguments throw', () => {
  assert.throws(() => new SessionTracker({ tickTime: 0, serverId: 0, nowMs: 0 }), RangeError);
  const t = new SessionTracker({ tickTime: 1000, serverId: 0, nowMs: 0 });
  assert.throws(() => t.add(1n, -1, 0), RangeError);
  assert.throws(() => initialSessionId(1.5, 0), RangeError);
});
