// Unit tests of the fault suite's deterministic parts: the seeded schedule (same seed, same faults), the damage
// corrupt.ts does to log and snapshot files, the suite's own checkers and the command line.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { checkAgreement, checkSessionOrder } from '../../src/fault/checks.js';
import { corrupt, logRecords, newestFirst, wipeDataDir } from '../../src/fault/corrupt.js';
import { parseFaultArgs } from '../../src/fault/main.js';
import { Rng } from '../../src/util/rng.js';
import { FAULTS, nemesisSchedule, type ScheduledFault } from '../../src/fault/schedule.js';
import { outcomeOf } from '../../src/fault/worker.js';
import { Code, ZkError } from '../../src/client/index.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-fault-unit-'));
  dirs.push(d);
  return d;
}

const FIVE = [1, 2, 3, 4, 5];
const THREE = [1, 2, 3];

void describe('nemesis schedule', () => {
  void test('the same seed gives the same schedule; other seeds give other ones', () => {
    for (const fault of FAULTS) {
      const nodes = fault === 'partition-bridge' ? FIVE : THREE;
      const a = nemesisSchedule({ fault, seed: 42, durationMs: 60_000, nodes });
      assert.deepEqual(nemesisSchedule({ fault, seed: 42, durationMs: 60_000, nodes }), a, fault);
      if (fault === 'none') continue;
      const others = [1, 2, 3, 4, 5].map((seed) => nemesisSchedule({ fault, seed, durationMs: 60_000, nodes }));
      assert.ok(others.some((o) => JSON.stringify(o) !== JSON.stringify(a)), `${fault}: seeds give different schedules`);
    }
  });

  void test('faults take turns inside the run: 1-3 s quiet, 1-3 s of fault, healed by the end', () => {
    for (let seed = 0; seed < 50; seed++) {
      const s = nemesisSchedule({ fault: 'pause', seed, durationMs: 15_000, nodes: THREE });
      assert.ok(s.length >= 2, `seed ${seed}: ${s.length} faults in 15 s`);
      let end = 0;
      for (const f of s) {
        assert.ok(f.startMs - end >= 1000 && f.startMs - end <= 3000, `seed ${seed}: gap ${f.startMs - end}`);
        assert.ok(f.startMs < 15_000 && f.healMs <= 15_000, `seed ${seed}: inside the run`);
        const clipped = f.healMs === 15_000;
        assert.ok(clipped || (f.healMs - f.startMs >= 1000 && f.healMs - f.startMs <= 3000), `seed ${seed}: hold ${f.healMs - f.startMs}`);
        end = f.healMs;
      }
    }
  });

  void test('no fault: an empty schedule', () => {
    assert.deepEqual(nemesisSchedule({ fault: 'none', seed: 1, durationMs: 60_000, nodes: THREE }), []);
  });

  void test('partitions split the nodes: a minority apart, a bridge node shared by two halves', () => {
    for (let seed = 0; seed < 20; seed++) {
      for (const nodes of [THREE, FIVE]) {
        for (const f of nemesisSchedule({ fault: 'partition-majority-minority', seed, durationMs: 20_000, nodes })) {
          assert.equal(f.step.fault, 'partition-majority-minority');
          if (f.step.fault !== 'partition-majority-minority') continue;
          assert.equal(f.step.minority.length, Math.floor((nodes.length - 1) / 2));
          assert.deepEqual([...f.step.minority, ...f.step.majority].sort(), nodes);
        }
      }
      for (const f of nemesisSchedule({ fault: 'partition-bridge', seed, durationMs: 20_000, nodes: FIVE })) {
        if (f.step.fault !== 'partition-bridge') assert.fail('not a bridge');
        assert.equal(f.step.left.length, 2);
        assert.equal(f.step.right.length, 2);
        assert.deepEqual([...f.step.left, f.step.bridge, ...f.step.right].sort(), FIVE);
      }
    }
    assert.throws(() => nemesisSchedule({ fault: 'partition-bridge', seed: 1, durationMs: 20_000, nodes: THREE }), /needs 5 nodes/);
  });

  void test('corrupt-restart draws every kind of damage, with parameters in range', () => {
    const kinds = new Set<string>();
    for (let seed = 0; seed < 30; seed++) {
      for (const f of nemesisSchedule({ fault: 'corrupt-restart', seed, durationMs: 20_000, nodes: THREE })) {
        if (f.step.fault !== 'corrupt-restart') assert.fail('not corrupt-restart');
        const c = f.step.corruption;
        kinds.add(c.kind);
        assert.ok(THREE.includes(f.step.target.id));
        if (c.kind === 'log-tail') assert.ok(c.bytes >= 1 && c.bytes <= 300);
        if (c.kind === 'snapshot-flip') assert.ok(c.at >= 0.5 && c.at < 1);
        if (c.kind !== 'log-tail') assert.ok([1, 2, 4, 8, 16, 32, 64, 128].includes(c.mask));
      }
    }
    assert.deepEqual([...kinds].sort(), ['log-flip', 'log-tail', 'snapshot-flip']);
  });

  void test('kill and pause target the leader some of the time and any node otherwise', () => {
    const all: ScheduledFault[] = [];
    for (let seed = 0; seed < 20; seed++) all.push(...nemesisSchedule({ fault: 'kill9-one', seed, durationMs: 30_000, nodes: THREE }));
    const targets = all.map((f) => (f.step.fault === 'kill9-one' ? f.step.target : undefined));
    assert.ok(targets.some((t) => t && 'leader' in t));
    for (const id of THREE) assert.ok(targets.some((t) => t && 'id' in t && t.id === id), `node ${id} is a target`);
  });

  void test('mixed: a different fault per step, the bridge only on five nodes', () => {
    for (const nodes of [THREE, FIVE]) {
      const kinds = new Set<string>();
      for (let seed = 0; seed < 30; seed++) {
        for (const f of nemesisSchedule({ fault: 'mixed', seed, durationMs: 30_000, nodes })) kinds.add(f.step.fault);
      }
      const expected = FAULTS.filter((f) => f !== 'none' && f !== 'mixed' && (f !== 'partition-bridge' || nodes === FIVE));
      assert.deepEqual([...kinds].sort(), [...expected].sort(), `${nodes.length} nodes`);
    }
  });

  void test('Rng: a seed replays its stream; int stays in bounds', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    const xs = Array.from({ length: 100 }, () => a.int(3, 9));
    assert.deepEqual(Array.from({ length: 100 }, () => b.int(3, 9)), xs);
    assert.ok(xs.every((x) => x >= 3 && x <= 9));
    assert.deepEqual(new Set(xs), new Set([3, 4, 5, 6, 7, 8, 9]));
  });
});

/** A txn log as ZooKeeper writes it: 16-byte header, records (crc, length, payload, 'B'), preallocated zeros. */
function fakeLog(payloads: number[]): Buffer {
  const parts = [Buffer.alloc(16, 1)];
  for (const n of payloads) {
    const r = Buffer.alloc(12 + n + 1, 7);
    r.writeInt32BE(n, 8);
    r[12 + n] = 0x42;
    parts.push(r);
  }
  parts.push(Buffer.alloc(1000));
  return Buffer.concat(parts);
}

function dataDirWith(files: Record<string, Buffer>): string {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'version-2'));
  fs.writeFileSync(path.join(dir, 'myid'), '1\n');
  for (const [name, buf] of Object.entries(files)) fs.writeFileSync(path.join(dir, 'version-2', name), buf);
  return dir;
}

void describe('corruption of a data dir', () => {
  void test('newest files by zxid (hex), not by name', () => {
    const dir = dataDirWith({ 'log.ff': fakeLog([5]), 'log.100': fakeLog([5]), 'snapshot.0': Buffer.alloc(10) });
    assert.deepEqual(newestFirst(dir, 'log').map((f) => path.basename(f)), ['log.100', 'log.ff']);
  });

  void test('a torn tail cuts into the last records of the newest log with records', () => {
    const dir = dataDirWith({ 'log.1': fakeLog([20, 20, 20]), 'log.50': fakeLog([]) });
    const done = corrupt(dir, { kind: 'log-tail', bytes: 10 });
    assert.equal(path.basename(done.file ?? ''), 'log.1', 'the empty newer log is skipped');
    const buf = fs.readFileSync(path.join(dir, 'version-2', 'log.1'));
    assert.equal(buf.length, 16 + 3 * 33 - 10);
    assert.equal(logRecords(buf).length, 2);
  });

  void test('a flipped log byte lands in a record payload; a flipped snapshot byte in its second half', () => {
    const log = fakeLog([40, 40, 40, 40]);
    const snap = Buffer.alloc(1000);
    const dir = dataDirWith({ 'log.1': log, 'snapshot.0': snap });
    corrupt(dir, { kind: 'log-flip', at: 0.3, mask: 4 });
    const after1 = fs.readFileSync(path.join(dir, 'version-2', 'log.1'));
    const diff = [...after1].flatMap((b, i) => (b !== log[i] ? [i] : []));
    assert.deepEqual(diff, [16 + 53 + 12 + 20], 'record 2, middle of its payload');
    corrupt(dir, { kind: 'snapshot-flip', at: 0.75, mask: 1 });
    const after2 = fs.readFileSync(path.join(dir, 'version-2', 'snapshot.0'));
    assert.deepEqual([...after2].flatMap((b, i) => (b !== 0 ? [i] : [])), [750]);
  });

  void test('nothing to damage: reported, not thrown', () => {
    const dir = dataDirWith({});
    assert.match(corrupt(dir, { kind: 'log-tail', bytes: 5 }).detail, /nothing/);
    assert.match(corrupt(dir, { kind: 'snapshot-flip', at: 0.5, mask: 1 }).detail, /nothing/);
  });

  void test('wipe keeps only myid', () => {
    const dir = dataDirWith({ 'log.1': fakeLog([5]) });
    wipeDataDir(dir);
    assert.deepEqual(fs.readdirSync(dir), ['myid']);
  });
});

void describe('fault-suite checkers and outcomes', () => {
  const op = (key: string, version: number, status: 'ok' | 'fail' = 'ok') =>
    ({ client: 0, input: { key }, output: { version }, call: 0, ret: 1, status });

  void test('session order: a session that reads an older version than it saw is caught', () => {
    const ok = checkSessionOrder([op('/a', 1), op('/a', 3), op('/b', 0), op('/a', 3)], ['0.1', '0.1', '0.1', '0.1']);
    assert.equal(ok.valid, true);
    const bad = checkSessionOrder([op('/a', 3), op('/a', 2)], ['0.1', '0.1']);
    assert.equal(bad.valid, false);
    assert.match(bad.summary, /op #1 saw \/a at v2 after op #0 saw v3/);
    assert.equal(checkSessionOrder([op('/a', 3), op('/a', 2)], ['0.1', '0.2']).valid, true, 'a new session starts afresh');
    assert.equal(checkSessionOrder([op('/a', 3), op('/a', 2, 'fail')], ['0.1', '0.1']).valid, true);
  });

  void test('agreement: every final read equal, every server read', () => {
    assert.equal(checkAgreement([['a'], ['a'], ['a']]).valid, true);
    assert.equal(checkAgreement([['a'], ['a', 'b']]).valid, false);
    assert.equal(checkAgreement([['a']], ['node 2: down']).valid, false);
  });

  void test('outcomes: server refusals are failures, connection loss and timeouts unknown, failed reads failures', () => {
    assert.equal(outcomeOf(new ZkError(Code.BADVERSION), true).status, 'fail');
    assert.equal(outcomeOf(new ZkError(Code.NODEEXISTS), true).status, 'fail');
    assert.equal(outcomeOf(new ZkError(Code.CONNECTIONLOSS), true).status, 'unknown');
    assert.equal(outcomeOf(new ZkError(Code.SESSIONEXPIRED), true).status, 'unknown');
    assert.equal(outcomeOf(Object.assign(new Error('x'), { name: 'AbortError' }), true).status, 'unknown');
    assert.equal(outcomeOf(new ZkError(Code.CONNECTIONLOSS), false).status, 'fail');
  });

  void test('command line: lists, all, bad names refused', () => {
    const a = parseFaultArgs(['--workload', 'set,lock', '--fault', 'all', '--seed', '5', '--duration', '1.5', '--runs', '2']);
    assert.deepEqual(a.workloads, ['set', 'lock']);
    assert.deepEqual(a.faults, [...FAULTS]);
    assert.equal(a.durationMs, 1500);
    assert.equal(a.runs, 2);
    assert.throws(() => parseFaultArgs(['--workload', 'nope', '--fault', 'none']), /unknown workload/);
    assert.throws(() => parseFaultArgs(['--workload', 'set']), /required/);
  });
});
