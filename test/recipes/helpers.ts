// Helpers for the recipe tests: forking contender processes (worker.ts), checking hold intervals, clients that are
// always closed, bounded waits.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ClientOptions, ZooKeeperClient } from '../../src/client/index.js';
import { silentLogger } from '../../src/util/log.js';
import type { Task, WorkerMsg } from './worker.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const WORKER = path.join(here, 'worker.js');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Hold {
  id: string;
  kind: string;
  start: number;
  end: number;
}

export interface RunResult {
  holds: Hold[];
  violations: string[];
  done: Map<string, number[] | undefined>;
}

/** Forks one worker per task, collects their messages, and waits (bounded) for all to exit. */
export async function runWorkers(tasks: Array<Omit<Task, 'markerDir'>>, timeoutMs = 40_000): Promise<RunResult> {
  const markerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-recipes-'));
  const res: RunResult = { holds: [], violations: [], done: new Map() };
  const errors: string[] = [];
  const procs = tasks.map((t) => {
    const p = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    p.on('message', (m: WorkerMsg) => {
      if (m.type === 'hold') res.holds.push({ id: m.id, kind: m.kind, start: m.start, end: m.end });
      else if (m.type === 'violation') res.violations.push(`${m.id}: ${m.msg}`);
      else if (m.type === 'done') res.done.set(m.id, m.values);
      else errors.push(`${m.id}: ${m.msg}`);
    });
    p.send({ ...t, markerDir });
    return p;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.all(procs.map((p) => new Promise<void>((resolve) => {
        if (p.exitCode !== null) resolve();
        else p.on('exit', () => resolve());
      }))),
      new Promise<void>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`workers did not finish within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    fs.rmSync(markerDir, { recursive: true, force: true });
  }
  assert.deepEqual(errors, [], 'worker errors');
  return res;
}

/** No two holds of `kinds` overlap (end of one <= start of the next; Date.now() has ms resolution, ties allowed). */
export function assertNoOverlap(holds: Hold[], what: string): void {
  const sorted = [...holds].sort((a, b) => a.start - b.start || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const cur = sorted[i];
    assert.ok(cur.start >= prev.end, `${what}: ${JSON.stringify(prev)} overlaps ${JSON.stringify(cur)}`);
  }
}

/** The largest number of holds in force at one instant (strict overlap). */
export function maxConcurrent(holds: Hold[]): number {
  const ev: Array<[number, number]> = [];
  for (const h of holds) {
    ev.push([h.start, 1], [h.end, -1]);
  }
  ev.sort((a, b) => a[0] - b[0] || a[1] - b[1]); // ends before starts at the same ms
  let cur = 0;
  let max = 0;
  for (const [, d] of ev) {
    cur += d;
    max = Math.max(max, cur);
  }
  return max;
}

/** Creates clients for one test file and closes them all at the end. */
export class Clients {
  private readonly all: ZooKeeperClient[] = [];

  constructor(private readonly connectString: () => string) {}

  async connect(opts: ClientOptions = {}): Promise<ZooKeeperClient> {
    const c = new ZooKeeperClient(this.connectString(), { sessionTimeoutMs: 10_000, logger: silentLogger, ...opts });
    this.all.push(c);
    await c.connect(10_000);
    return c;
  }

  async many(n: number, opts: ClientOptions = {}): Promise<ZooKeeperClient[]> {
    return Promise.all(Array.from({ length: n }, () => this.connect(opts)));
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.all.splice(0).map((c) => c.close().catch(() => undefined)));
  }
}

/** Polls `probe` until true, at most `timeoutMs`. */
export async function eventually(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(stepMs);
  }
}

/** Resolves with the event's arguments the first time `emitter` emits `name`, or rejects after `timeoutMs`. */
export function once(emitter: NodeJS.EventEmitter, name: string, timeoutMs = 10_000): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      emitter.off(name, on);
      reject(new Error(`no '${name}' within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (...args: unknown[]): void => {
      clearTimeout(t);
      resolve(args);
    };
    emitter.once(name, on);
  });
}

let seq = 0;
/** A fresh top-level path per test. */
export const freshPath = (name: string): string => `/${name}-${process.pid}-${++seq}`;
