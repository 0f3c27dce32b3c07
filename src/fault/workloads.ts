// The workloads of the fault suite, after ClickHouse Keeper's Jepsen tests: what each client does per step, what
// is read back from every server at the end, and which checkers judge it (src/check/).
//   register    a few znodes, read / setData / CAS (setData with the version last seen): linearizable
//   set         creates of /set/<unique name>: every acknowledged create is in every server's final children
//   unique-ids  PERSISTENT_SEQUENTIAL creates: no name handed out twice, none acknowledged and then lost
//   counter     CAS increments of one znode (getData, setData with its version): linearizable as a register, and
//               the final value accounts for every acknowledged increment
//   queue       enqueue = sequential create (data: a unique value); dequeue = getChildren, getData and delete of
//               the smallest: nothing delivered twice, nothing acknowledged lost
//   lock        DistributedLock (src/recipes/lock.ts): no two clients hold it at once; every contender node gone
//               once all sessions ended
import { clock } from '../util/sys.js';
import type { CheckResult, Operation } from '../check/history.js';
import { checkLinearizable } from '../check/linearizability.js';
import { keyedRegisterModel, type KeyedRegisterInput, type RegisterOutput } from '../check/models.js';
import { checkCounter, checkLock, checkQueue, checkSet, checkUniqueIds } from '../check/workloads.js';
import { Code, CreateMode, ZkError, type ZooKeeperClient } from '../client/index.js';
import { DistributedLock } from '../recipes/lock.js';
import { checkAckedPresent, checkSessionOrder } from './checks.js';
import { NothingDone, verdict, type History, type Worker } from './worker.js';

export const WORKLOADS = ['register', 'set', 'unique-ids', 'counter', 'queue', 'lock'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

export function isWorkload(s: string): s is WorkloadName {
  return (WORKLOADS as readonly string[]).includes(s);
}

export interface Workload<F = unknown> {
  name: WorkloadName;
  /** Creates the znodes the workload needs, before any fault. */
  setup(c: ZooKeeperClient): Promise<void>;
  /** One step of a worker on a connected session: one operation (a lock: acquire, hold, release). */
  step(w: Worker, c: ZooKeeperClient): Promise<void>;
  /** The workload's state as one server holds it (the caller synced first). JSON-able: servers are compared. */
  finalRead(c: ZooKeeperClient, h: History): Promise<F>;
  /** The checkers' verdicts on the history and the final reads (one per server). */
  check(h: History, finals: F[]): CheckResult[];
}

export function workload(name: WorkloadName, opts: { sessionTimeoutMs: number }): Workload {
  switch (name) {
    case 'register': return registerWorkload();
    case 'set': return setWorkload();
    case 'unique-ids': return uniqueIdsWorkload();
    case 'counter': return counterWorkload();
    case 'queue': return queueWorkload();
    case 'lock': return lockWorkload(opts.sessionTimeoutMs);
  }
}

/** Creates a znode unless it exists: setup is retried after a connection loss, and the first try may have worked. */
async function ensure(c: ZooKeeperClient, path: string, data: string): Promise<void> {
  try {
    await c.create(path, data);
  } catch (e) {
    if (!ZkError.is(e, Code.NODEEXISTS)) throw e;
  }
}

const utf8 = (b: Buffer | null): string | null => (b === null ? null : b.toString('utf8'));
const sleep = (ms: number): Promise<void> => new Promise((r) => clock.setTimeout(r, ms));

/** A fresh value per worker and step, so that every write is told apart in the history. */
function nextValue(w: Worker, prefix: string): string {
  const n = ((w.memo.get('seq') as number | undefined) ?? 0) + 1;
  w.memo.set('seq', n);
  return `${prefix}${w.index}-${n}`;
}

// ------------------------------------------------------------------------------------------------ register

const REGISTER_KEYS = ['/reg/k0', '/reg/k1', '/reg/k2', '/reg/k3', '/reg/k4'];
const REGISTER_INIT = 'init';

type RegisterFinal = Record<string, { value: string | null; version: number }>;
/** A read without sync: served from the server's own tree, which may lag; not linearizable (see checks.ts). */
type LocalRead = { key: string; f: 'local-read' };
type RegisterOp = Operation<KeyedRegisterInput | LocalRead, RegisterOutput>;

/**
 * Reads one znode (recorded) and remembers its version for the worker's next CAS. A linearizable read is sync then
 * getData on the same session: the sync makes the server catch up with the leader first.
 */
async function registerRead(w: Worker, c: ZooKeeperClient, key: string, f: 'read' | 'local-read') {
  const out = await w.op<KeyedRegisterInput | LocalRead, RegisterOutput>({ key, f }, false, async (signal) => {
    if (f === 'read') await c.sync(key, { signal });
    const r = await c.getData(key, undefined, { signal });
    return { value: utf8(r.data), version: r.stat.version };
  });
  if (out.status === 'ok') w.memo.set(key, out.output!.version);
  return out;
}

async function registerWrite(w: Worker, c: ZooKeeperClient, key: string, value: string, expectedVersion?: number) {
  const input: KeyedRegisterInput = expectedVersion === undefined ? { key, f: 'write', value } : { key, f: 'cas', value, expectedVersion };
  const out = await w.op<KeyedRegisterInput, RegisterOutput>(input, true,
    async (signal) => ({ version: (await c.setData(key, value, expectedVersion ?? -1, { signal })).version }));
  if (out.status === 'ok') w.memo.set(key, out.output!.version);
  return out;
}

/** The history as the linearizability checker should see it: local reads count as failed (they constrain nothing). */
function linearizableOps(ops: Operation[]): Operation<KeyedRegisterInput, RegisterOutput>[] {
  return (ops as RegisterOp[]).map((o) => (o.input.f === 'local-read' ? { ...o, status: 'fail' } : o)) as Operation<KeyedRegisterInput, RegisterOutput>[];
}

function registerWorkload(): Workload<RegisterFinal> {
  return {
    name: 'register',
    async setup(c) {
      await ensure(c, '/reg', '');
      for (const k of REGISTER_KEYS) await ensure(c, k, REGISTER_INIT);
    },
    async step(w, c) {
      const key = w.rng.pick(REGISTER_KEYS);
      const r = w.rng.next();
      if (r < 0.25) return void (await registerRead(w, c, key, 'read'));
      if (r < 0.4) return void (await registerRead(w, c, key, 'local-read'));
      const value = nextValue(w, 'v');
      if (r < 0.6) return void (await registerWrite(w, c, key, value));
      await registerWrite(w, c, key, value, (w.memo.get(key) as number | undefined) ?? 0);
    },
    async finalRead(c, h) {
      const out: RegisterFinal = {};
      for (const key of REGISTER_KEYS) out[key] = await finalRegisterRead(c, h, key);
      return out;
    },
    check(h) {
      const model = keyedRegisterModel({ value: REGISTER_INIT, version: 0 });
      return [checkLinearizable(model, linearizableOps(h.ops)), checkSessionOrder(h.ops as RegisterOp[], h.sessions)];
    },
  };
}

/**
 * A final read is also put in the history as a read by a process of its own: it comes after every other op, so
 * the linearizability check then proves that the last acknowledged write survived on that server.
 */
async function finalRegisterRead(c: ZooKeeperClient, h: History, key: string): Promise<{ value: string | null; version: number }> {
  const call = h.clock();
  const r = await c.getData(key);
  const output = { value: utf8(r.data), version: r.stat.version };
  h.push({ client: h.newProcess(), input: { key, f: 'read' }, output, call, ret: h.clock(), status: 'ok' });
  return output;
}

// ------------------------------------------------------------------------------------------------ set

function setWorkload(): Workload<string[]> {
  return {
    name: 'set',
    async setup(c) {
      await ensure(c, '/set', '');
    },
    async step(w, c) {
      const value = nextValue(w, 'e');
      await w.op({ f: 'add', value }, true, (signal) => c.create(`/set/${value}`, '', { signal }));
    },
    async finalRead(c) {
      return (await c.getChildren('/set')).sort();
    },
    check(h, finals) {
      return [checkSet(h.ops as Operation<{ value: string }>[], finals)];
    },
  };
}

// ------------------------------------------------------------------------------------------------ unique-ids

function uniqueIdsWorkload(): Workload<string[]> {
  return {
    name: 'unique-ids',
    async setup(c) {
      await ensure(c, '/ids', '');
    },
    async step(w, c) {
      await w.op({ f: 'generate' }, true, async (signal) => {
        const path = await c.create('/ids/id-', '', { mode: CreateMode.PERSISTENT_SEQUENTIAL, signal });
        return path.slice('/ids/'.length);
      });
    },
    async finalRead(c) {
      return (await c.getChildren('/ids')).sort();
    },
    check(h, finals) {
      const ops = h.ops as Operation<unknown, string>[];
      const acked = ops.filter((o) => o.status === 'ok').map((o) => o.output!);
      return [checkUniqueIds(ops), checkAckedPresent('ids-kept', acked, finals)];
    },
  };
}

// ------------------------------------------------------------------------------------------------ counter

const COUNTER = '/counter';

interface CounterFinal {
  value: string | null;
  version: number;
}

function counterWorkload(): Workload<CounterFinal> {
  return {
    name: 'counter',
    async setup(c) {
      await ensure(c, COUNTER, '0');
    },
    async step(w, c) {
      // A plain read is enough: the CAS fails if the value moved on, whether the read lagged or not.
      const read = await registerRead(w, c, COUNTER, 'local-read');
      if (read.status !== 'ok' || !('value' in read.output!)) return;
      await registerWrite(w, c, COUNTER, String(Number(read.output.value) + 1), read.output.version);
    },
    finalRead(c, h) {
      return finalRegisterRead(c, h, COUNTER);
    },
    check(h, finals) {
      const ops = linearizableOps(h.ops);
      const increments = ops.filter((o) => o.input.f === 'cas').map((o) => ({ ...o, input: { delta: 1 } }));
      const lin = checkLinearizable(keyedRegisterModel({ value: '0', version: 0 }), ops);
      return [lin, checkCounter(increments, Number(finals[0]?.value ?? NaN)), checkSessionOrder(h.ops as RegisterOp[], h.sessions)];
    },
  };
}

// ------------------------------------------------------------------------------------------------ queue

const QUEUE = '/queue';
/** Dequeue attempts per step when the smallest element is taken by someone else first. */
const DEQUEUE_TRIES = 3;
const seqOf = (name: string): number => Number(name.slice(name.lastIndexOf('-') + 1));

function queueWorkload(): Workload<string[]> {
  return {
    name: 'queue',
    async setup(c) {
      await ensure(c, QUEUE, '');
    },
    async step(w, c) {
      // More enqueues than dequeues, so that the queue is rarely empty and the final read has something to judge.
      if (w.rng.next() < 0.6) {
        const value = nextValue(w, 'q');
        await w.op({ f: 'enqueue', value }, true, (signal) => c.create(`${QUEUE}/q-`, value, { mode: CreateMode.PERSISTENT_SEQUENTIAL, signal }));
        return;
      }
      await w.op({ f: 'dequeue' }, true, (signal) => dequeue(c, signal));
    },
    async finalRead(c) {
      const names = (await c.getChildren(QUEUE)).sort((a, b) => seqOf(a) - seqOf(b));
      const values: string[] = [];
      for (const n of names) values.push(utf8((await c.getData(`${QUEUE}/${n}`)).data) ?? '');
      return values;
    },
    check(h, finals) {
      const ops = h.ops as Operation<{ f: string; value: string }>[];
      const enqueues = ops.filter((o) => o.input.f === 'enqueue');
      const dequeues = ops.filter((o) => o.input.f === 'dequeue') as Operation<unknown, string | null>[];
      return [checkQueue(enqueues, dequeues, finals[0] ?? [])];
    },
  };
}

/**
 * Takes the smallest element: its value, then its delete. Only the delete changes anything, so an error before it
 * means nothing was taken (NothingDone: the recorder counts a definite failure).
 */
async function dequeue(c: ZooKeeperClient, signal: AbortSignal): Promise<string | null> {
  let names: string[];
  try {
    names = (await c.getChildren(QUEUE, undefined, { signal })).sort((a, b) => seqOf(a) - seqOf(b));
  } catch (e) {
    throw new NothingDone(e);
  }
  for (const name of names.slice(0, DEQUEUE_TRIES)) {
    const path = `${QUEUE}/${name}`;
    let value: string;
    try {
      value = utf8((await c.getData(path, undefined, { signal })).data) ?? '';
    } catch (e) {
      if (isNoNode(e)) continue;
      throw new NothingDone(e);
    }
    try {
      await c.delete(path, -1, { signal });
      return value;
    } catch (e) {
      if (!isNoNode(e)) throw e;
    }
  }
  if (names.length > 0) throw new NothingDone(new Error('every element tried was taken by someone else'));
  return null;
}

const isNoNode = (e: unknown): boolean => ZkError.is(e, Code.NONODE);

// ------------------------------------------------------------------------------------------------ lock

const LOCK = '/lock';
/** Give up waiting for the lock after this long (and try again next step). */
const ACQUIRE_TIMEOUT_MS = 3000;
/** Bound on a release (a delete): the hold was already ended in the record before it is sent. */
const RELEASE_TIMEOUT_MS = 3000;

function lockWorkload(sessionTimeoutMs: number): Workload<string[]> {
  return {
    name: 'lock',
    async setup(c) {
      await ensure(c, LOCK, '');
    },
    async step(w, c) {
      await lockCycle(w, c);
    },
    async finalRead(c) {
      // Sessions that could not close cleanly end by expiry: give them that long, then nothing may be left.
      const deadline = clock.now() + 2 * sessionTimeoutMs + 2000;
      for (;;) {
        const left = (await c.getChildren(LOCK)).sort();
        if (left.length === 0 || clock.now() > deadline) return left;
        await sleep(200);
      }
    },
    check(h, finals) {
      const left = finals.flatMap((f, i) => (f.length === 0 ? [] : [`server #${i + 1} still has ${f.join(', ')}`]));
      return [checkLock(h.holds), verdict('lock-nodes-gone', left, 'no contender node outlived its session')];
    },
  };
}

/**
 * Acquire, hold for a moment, release. A hold is recorded only while the lock says it is held (held and connected):
 * it ends when the connection drops (the session may expire behind our back) and when the release starts, and it
 * starts again if the lock sees its node again after a reconnect.
 */
async function lockCycle(w: Worker, c: ZooKeeperClient): Promise<void> {
  const lock = new DistributedLock(c, LOCK);
  let since: number | undefined;
  let releasing = false;
  const open = (): void => {
    if (since === undefined && !releasing && lock.isHeld()) since = w.clock();
  };
  const close = (): void => {
    if (since !== undefined) w.history.holds.push({ client: w.index, acquired: since, released: w.clock() });
    since = undefined;
  };
  lock.on('state', (s: string) => (s === 'held' ? open() : close()));
  const got = await w.op({ f: 'acquire' }, true, (signal) => lock.acquire({ timeoutMs: ACQUIRE_TIMEOUT_MS, signal }));
  if (got.status !== 'ok' || got.output !== true) return;
  open();
  await sleep(w.rng.int(10, 100));
  releasing = true;
  close();
  await w.op({ f: 'release' }, true, (signal) => raceAbort(lock.release(), signal, RELEASE_TIMEOUT_MS));
}

/** `p`, or a rejection when `signal` aborts or `ms` pass first. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => reject(new Error(`not done within ${ms} ms`)), ms);
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    p.then(resolve, reject).finally(() => clock.clear(timer));
  });
}
