// Crash safety: a pipelined client load of acknowledged writes, the server killed with SIGKILL at a random moment,
// restarted on the same dataDir; every acknowledged write must be there. Repeated ZKTS_CRASH_ROUNDS times (default
// 20) on one dataDir, so later rounds recover from logs and snapshots written around earlier crashes.
//
// Load per round: 3 sessions, each keeping 8 requests in flight: creates of fresh nodes (acknowledged -> must exist
// with their data), setData of the session's counter with increasing values (acknowledged value v -> the counter
// holds >= v), and multi ops creating two nodes at once (acknowledged -> both exist; attempted -> both or neither).
// The kill comes after a random delay (seeded; the seed is printed; ZKTS_CRASH_SEED replays it).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ZooKeeperClient } from '../../src/client/index.js';
import { testKinds, type RunningServer } from '../support/servers.js';
import { connect } from './load.js';
import { rmDir, seededRandom, startOn, tempDir, versionFiles } from './restart.js';

const ROUNDS = Number(process.env.ZKTS_CRASH_ROUNDS ?? 20);
const SESSIONS = 3;
const DEPTH = 8;
const CONFIG = { snapCount: 60 };

interface Acks {
  /** path -> data of acknowledged creates */
  created: Map<string, string>;
  /** counter path -> highest acknowledged value */
  counters: Map<string, number>;
  /** every multi attempted: its two paths, and whether it was acknowledged */
  multis: Array<{ a: string; b: string; acked: boolean }>;
}

const dirs: string[] = [];
const servers: RunningServer[] = [];
void after(async () => {
  for (const s of servers) await s.stop();
  for (const d of dirs) rmDir(d);
});

async function inBatches<T>(items: T[], width: number, f: (x: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(f));
}

async function verify(c: ZooKeeperClient, acks: Acks, where: string): Promise<void> {
  const missing: string[] = [];
  await inBatches([...acks.created], 200, async ([p, data]) => {
    const stat = await c.exists(p);
    if (!stat) missing.push(p);
    else if (data !== (await c.getData(p)).data?.toString()) missing.push(`${p} (wrong data)`);
  });
  assert.deepEqual(missing.slice(0, 20), [], `${where}: ${missing.length} acknowledged creates lost`);
  await inBatches([...acks.counters], 50, async ([p, v]) => {
    const got = Number((await c.getData(p)).data?.toString());
    assert.ok(got >= v, `${where}: ${p} holds ${got}, but ${v} was acknowledged`);
  });
  await inBatches(acks.multis, 200, async (m) => {
    const [x, y] = await Promise.all([c.exists(m.a), c.exists(m.b)]);
    if (m.acked) assert.ok(x && y, `${where}: acknowledged multi ${m.a} + ${m.b} lost`);
    assert.equal(!!x, !!y, `${where}: multi ${m.a} + ${m.b} half applied`);
  });
}

/** One session's worker: keeps DEPTH requests in flight until `stop()` says so or the connection is lost. */
async function worker(c: ZooKeeperClient, s: number, round: number, acks: Acks, stopped: () => boolean, next: () => number): Promise<void> {
  const counter = `/crash/ctr${s}`;
  let k = 0;
  const one = async (): Promise<void> => {
    while (!stopped()) {
      const n = k++;
      const kind = n % 3;
      try {
        if (kind === 0) {
          const p = `/crash/r${round}-s${s}-${n}`;
          const data = `v${n}`;
          await c.create(p, data);
          acks.created.set(p, data);
        } else if (kind === 1) {
          const v = next();
          await c.setData(counter, String(v));
          if (v > (acks.counters.get(counter) ?? -1)) acks.counters.set(counter, v);
        } else {
          const m = { a: `/crash/m${round}-s${s}-${n}a`, b: `/crash/m${round}-s${s}-${n}b`, acked: false };
          acks.multis.push(m);
          await c.multi([{ type: 'create', path: m.a, data: 'a' }, { type: 'create', path: m.b, data: 'b' }]);
          m.acked = true;
        }
      } catch {
        return; // connection lost: the server is gone
      }
    }
  };
  await Promise.all(Array.from({ length: DEPTH }, one));
}

void describe('kill -9 during a write load', () => {
  for (const kind of testKinds()) {
    void it(`${kind}: every acknowledged write survives ${ROUNDS} crashes`, { timeout: 60_000 + ROUNDS * 6_000 }, async (t) => {
      const seed = Number(process.env.ZKTS_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
      console.log(`crash test ${kind}: seed ${seed} (ZKTS_CRASH_SEED=${seed} replays), ${ROUNDS} rounds`);
      const rnd = seededRandom(seed);
      const dataDir = tempDir(`crash-${kind}`);
      dirs.push(dataDir);
      const acks: Acks = { created: new Map(), counters: new Map(), multis: [] };
      let value = 0;
      const next = (): number => ++value;
      let totalAcked = 0;
      for (let round = 0; round <= ROUNDS; round++) {
        let server: Awaited<ReturnType<typeof startOn>>;
        try {
          server = await startOn(kind, dataDir, { config: CONFIG });
        } catch (e) {
          // The oracle itself sometimes cannot restart after kill -9: a txn log file created at a roll and killed
          // before its header was written makes ZooKeeper 3.8 exit with EOFException (ZOOKEEPER-2332). That ends the
          // Apache run (it only checks this test against the oracle); zkts must always restart.
          if (kind === 'apache' && /EOFException[\s\S]*FileHeader\.deserialize/.test((e as Error).message)) {
            t.skip(`Apache ZooKeeper could not restart after crash ${round} (EOFException, ZOOKEEPER-2332)`);
            return;
          }
          throw e;
        }
        servers.push(server);
        const where = `${kind} seed ${seed} round ${round}`;
        const check = await connect(server);
        try {
          await verify(check, acks, where);
          if (round === 0) {
            await check.create('/crash', null);
            for (let s = 0; s < SESSIONS; s++) {
              await check.create(`/crash/ctr${s}`, '0');
              acks.counters.set(`/crash/ctr${s}`, 0);
            }
          }
        } finally {
          await check.close();
        }
        if (round === ROUNDS) {
          await server.stop();
          break;
        }
        const clients = await Promise.all(Array.from({ length: SESSIONS }, () => connect(server)));
        let stopped = false;
        const before = acks.created.size + acks.multis.filter((m) => m.acked).length;
        const load = Promise.all(clients.map((c, s) => worker(c, s, round, acks, () => stopped, next)));
        const delay = 20 + Math.floor(rnd() * 400);
        await new Promise((r) => setTimeout(r, delay));
        server.proc.kill('SIGKILL');
        await server.stop();
        stopped = true;
        await load;
        await Promise.all(clients.map((c) => c.close()));
        totalAcked += acks.created.size + acks.multis.filter((m) => m.acked).length - before;
      }
      const files = versionFiles(dataDir);
      console.log(`crash test ${kind}: ${totalAcked} acknowledged creates/multis, counters ${[...acks.counters.values()].join(',')}; ` +
        `${files.filter((f) => f.startsWith('log.')).length} logs, ${files.filter((f) => f.startsWith('snapshot.')).length} snapshots`);
      assert.ok(totalAcked > ROUNDS, `the load should have been acknowledged (${totalAcked} acks)`);
    });
  }
});
