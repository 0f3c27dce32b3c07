// A contender process for the recipe tests: the parent forks it (IPC), sends one Task, and gets one message per
// hold ({type:'hold'}), any violation seen by the file-based detectors ({type:'violation'}), and {type:'done'}.
// Detectors: a hold of an exclusive kind creates `<markerDir>/excl` with O_EXCL (fails if another holder has it);
// readers create `<markerDir>/readers/<id>` and check `excl` is absent, writers check `readers/` is empty after
// taking `excl`; a semaphore lease takes one of N slot files `<markerDir>/slot<i>` with O_EXCL.
// Run without an IPC channel (as a plain file by the test runner) it does nothing.
import fs from 'node:fs';
import path from 'node:path';
import { ZooKeeperClient } from '../../src/client/index.js';
import { DistributedLock, LeaderElection, ReadWriteLock, Semaphore, SharedCounter } from '../../src/recipes/index.js';
import { silentLogger } from '../../src/util/log.js';

export interface Task {
  task: 'lock' | 'rwlock' | 'semaphore' | 'election' | 'counter';
  connectString: string;
  path: string;
  id: string;
  iterations: number;
  holdMs: number;
  markerDir: string;
  leases?: number;
}

export type WorkerMsg =
  | { type: 'hold'; id: string; kind: string; start: number; end: number }
  | { type: 'violation'; id: string; msg: string }
  | { type: 'done'; id: string; values?: number[] }
  | { type: 'error'; id: string; msg: string };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function send(m: WorkerMsg): void {
  process.send?.(m);
}

async function run(t: Task): Promise<void> {
  const client = new ZooKeeperClient(t.connectString, { sessionTimeoutMs: 10_000, logger: silentLogger });
  await client.connect(10_000);
  const excl = path.join(t.markerDir, 'excl');
  const readers = path.join(t.markerDir, 'readers');
  const violation = (msg: string): void => send({ type: 'violation', id: t.id, msg });
  const holdFor = (): number => Math.floor(Math.random() * t.holdMs);
  const enterExclusive = (): void => {
    try {
      fs.closeSync(fs.openSync(excl, 'wx'));
    } catch {
      violation(`exclusive marker already present at ${Date.now()}`);
    }
  };
  const leaveExclusive = (): void => {
    fs.rmSync(excl, { force: true });
  };
  try {
    switch (t.task) {
      case 'lock': {
        const lock = new DistributedLock(client, t.path);
        for (let i = 0; i < t.iterations; i++) {
          if (!(await lock.acquire({ timeoutMs: 30_000 }))) throw new Error('acquire timed out');
          if (!(await lock.acquire({ timeoutMs: 1000 })) || lock.holdCount !== 2) violation('not reentrant');
          await lock.release();
          enterExclusive();
          const start = Date.now();
          await sleep(holdFor());
          if (!lock.isHeld()) violation('isHeld false while holding');
          const end = Date.now();
          leaveExclusive();
          send({ type: 'hold', id: t.id, kind: 'lock', start, end });
          await lock.release();
          if (lock.holdCount !== 0 || lock.isHeld()) violation('still held after release');
        }
        break;
      }
      case 'rwlock': {
        const rw = new ReadWriteLock(client, t.path);
        fs.mkdirSync(readers, { recursive: true });
        for (let i = 0; i < t.iterations; i++) {
          const write = Math.random() < 0.4;
          const lock = write ? rw.writeLock : rw.readLock;
          if (!(await lock.acquire({ timeoutMs: 30_000 }))) throw new Error('acquire timed out');
          let start: number;
          const mine = path.join(readers, `${t.id}-${i}`);
          if (write) {
            enterExclusive();
            if (fs.readdirSync(readers).length > 0) violation('writer holds while readers hold');
            start = Date.now();
          } else {
            fs.writeFileSync(mine, '');
            if (fs.existsSync(excl)) violation('reader holds while a writer holds');
            start = Date.now();
          }
          await sleep(holdFor());
          const end = Date.now();
          if (write) leaveExclusive();
          else fs.rmSync(mine);
          send({ type: 'hold', id: t.id, kind: write ? 'write' : 'read', start, end });
          await lock.release();
        }
        break;
      }
      case 'semaphore': {
        const n = t.leases ?? 1;
        const sem = new Semaphore(client, t.path, n);
        for (let i = 0; i < t.iterations; i++) {
          const lease = await sem.acquire({ timeoutMs: 30_000 });
          if (!lease) throw new Error('acquire timed out');
          let slot = -1;
          for (let s = 0; s < n && slot < 0; s++) {
            try {
              fs.closeSync(fs.openSync(path.join(t.markerDir, `slot${s}`), 'wx'));
              slot = s;
            } catch {
              // taken
            }
          }
          if (slot < 0) violation(`more than ${n} leases held`);
          const start = Date.now();
          await sleep(holdFor());
          if (!lease.isHeld()) violation('lease not held');
          const end = Date.now();
          if (slot >= 0) fs.rmSync(path.join(t.markerDir, `slot${slot}`));
          send({ type: 'hold', id: t.id, kind: 'lease', start, end });
          await lease.release();
        }
        break;
      }
      case 'election': {
        let terms = 0;
        let finished!: () => void;
        const allDone = new Promise<void>((r) => (finished = r));
        const election = new LeaderElection(client, t.path, async ({ signal }) => {
          enterExclusive();
          const start = Date.now();
          await sleep(holdFor());
          if (!election.hasLeadership() || signal.aborted) violation('leadership lost while leading');
          const end = Date.now();
          leaveExclusive();
          send({ type: 'hold', id: t.id, kind: 'leader', start, end });
          if (++terms >= t.iterations) finished();
        }, { id: t.id });
        election.start();
        await allDone;
        await election.close();
        break;
      }
      case 'counter': {
        const counter = new SharedCounter(client, t.path);
        await counter.ensure();
        const values: number[] = [];
        for (let i = 0; i < t.iterations; i++) values.push(await counter.increment());
        send({ type: 'done', id: t.id, values });
        return;
      }
    }
    send({ type: 'done', id: t.id });
  } finally {
    await client.close();
  }
}

if (process.send) {
  process.once('message', (t: Task) => {
    run(t).then(
      () => process.disconnect(),
      (e: unknown) => {
        send({ type: 'error', id: t.id, msg: String((e as Error)?.stack ?? e) });
        process.disconnect();
      },
    );
  });
}
