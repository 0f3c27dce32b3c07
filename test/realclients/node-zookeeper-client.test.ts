// node-zookeeper-client (npm) against each server kind, in-process: create/getData/setData/getChildren/exists/remove
// with versions and error codes, data/child/exists watchers, getACL, and multi transactions (committed and failing).
// The library ships no types (see node-zookeeper-client.d.ts), so the wrapper below handles untyped values.
/* eslint-disable @typescript-eslint/no-explicit-any */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import zookeeper from 'node-zookeeper-client';
import { type RunningServer, startServer, testKinds } from '../support/servers.js';

interface NzkStat { version: number; cversion: number; aversion: number; numChildren: number; dataLength: number; czxid: Buffer; mzxid: Buffer; ephemeralOwner: Buffer }
interface NzkEvent { getName(): string; getPath(): string }
interface NzkError extends Error { getCode(): number }

/** A small promise wrapper over the callback API, each call bounded by a timeout. */
class Nzk {
  readonly c: any;
  constructor(connectString: string) {
    this.c = zookeeper.createClient(connectString, { sessionTimeout: 10_000, spinDelay: 200, retries: 2 });
  }

  private call<T>(what: string, fn: (cb: (err: NzkError | null, ...rest: any[]) => void) => void, pick: (...rest: any[]) => T): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what} timed out`)), 15_000);
      fn((err, ...rest) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(pick(...rest));
      });
    });
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('connect timed out')), 20_000);
      this.c.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
      this.c.connect();
    });
  }

  close(): void {
    this.c.close();
  }

  create(path: string, data?: string, mode?: number): Promise<string> {
    return this.call(`create ${path}`, (cb) => this.c.create(path, data === undefined ? undefined : Buffer.from(data), mode ?? 0, cb), (p: string) => p);
  }
  getData(path: string, watcher?: (e: NzkEvent) => void): Promise<{ data: string; stat: NzkStat }> {
    return this.call(`getData ${path}`, (cb) => (watcher ? this.c.getData(path, watcher, cb) : this.c.getData(path, cb)),
      (data: Buffer | undefined, stat: NzkStat) => ({ data: data ? data.toString() : '', stat }));
  }
  setData(path: string, data: string, version = -1): Promise<NzkStat> {
    return this.call(`setData ${path}`, (cb) => this.c.setData(path, Buffer.from(data), version, cb), (stat: NzkStat) => stat);
  }
  getChildren(path: string, watcher?: (e: NzkEvent) => void): Promise<string[]> {
    return this.call(`getChildren ${path}`, (cb) => (watcher ? this.c.getChildren(path, watcher, cb) : this.c.getChildren(path, cb)),
      (children: string[]) => children);
  }
  exists(path: string, watcher?: (e: NzkEvent) => void): Promise<NzkStat | null> {
    return this.call(`exists ${path}`, (cb) => (watcher ? this.c.exists(path, watcher, cb) : this.c.exists(path, cb)),
      (stat: NzkStat | null) => stat ?? null);
  }
  remove(path: string, version = -1): Promise<void> {
    return this.call(`remove ${path}`, (cb) => this.c.remove(path, version, cb), () => undefined);
  }
  getACL(path: string): Promise<Array<{ permission: number; id: { scheme: string; id: string } }>> {
    return this.call(`getACL ${path}`, (cb) => this.c.getACL(path, cb), (acls: Array<{ permission: number; id: { scheme: string; id: string } }>) => acls);
  }
  /** Commits a transaction built by `build`; resolves with the error (or null) and the per-op results. */
  commit(build: (t: any) => void): Promise<{ err: NzkError | null; results: Array<{ type: number; path?: string; stat?: NzkStat; err?: number }> }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('commit timed out')), 15_000);
      const t = this.c.transaction();
      build(t);
      t.commit((err: NzkError | null, results: Array<{ type: number; path?: string; stat?: NzkStat; err?: number }>) => {
        clearTimeout(timer);
        resolve({ err: err ?? null, results: results ?? [] });
      });
    });
  }
}

/** Collects watcher events and waits (bounded) for the n-th. */
class Events {
  readonly seen: string[] = [];
  private wake: (() => void) | null = null;
  watcher(tag: string): (e: NzkEvent) => void {
    return (e) => {
      this.seen.push(`${tag} ${e.getName()} ${e.getPath()}`);
      this.wake?.();
    };
  }
  async waitCount(n: number, timeoutMs = 10_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.seen.length < n && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    return this.seen;
  }
}

async function rejectsWithCode(p: Promise<unknown>, code: number, what: string): Promise<void> {
  await assert.rejects(p, (e: NzkError) => {
    assert.equal(typeof e.getCode, 'function', `${what}: not a ZooKeeper exception: ${String(e)}`);
    assert.equal(e.getCode(), code, `${what}: ${String(e)}`);
    return true;
  }, what);
}

const E = { NO_NODE: -101, NODE_EXISTS: -110, NOT_EMPTY: -111, BAD_VERSION: -103, NO_CHILDREN_FOR_EPHEMERALS: -108 };
const OP = { create: 1, delete: 2, setData: 5, check: 13, error: -1 };

for (const kind of testKinds()) {
  void describe(`node-zookeeper-client against ${kind}`, () => {
    let server: RunningServer | undefined;
    let zk: Nzk | undefined;
    let other: Nzk | undefined;
    before(async () => {
      server = await startServer(kind);
      zk = new Nzk(server.connectString);
      other = new Nzk(server.connectString);
      await zk.connect();
      await other.connect();
    });
    after(async () => {
      zk?.close();
      other?.close();
      await server?.stop();
    });

    void it('create/getData/setData/getChildren/remove with versions and error codes', { timeout: 60_000 }, async () => {
      assert.equal(await zk!.create('/nzk', 'hello'), '/nzk');
      const g = await zk!.getData('/nzk');
      assert.equal(g.data, 'hello');
      assert.equal(g.stat.version, 0);
      assert.equal(g.stat.dataLength, 5);
      assert.deepEqual(g.stat.czxid, g.stat.mzxid);
      assert.equal(g.stat.ephemeralOwner.readBigInt64BE(0), 0n);
      const s = await zk!.setData('/nzk', 'world', 0);
      assert.equal(s.version, 1);
      assert.ok(s.mzxid.readBigInt64BE(0) > g.stat.mzxid.readBigInt64BE(0), 'setData advances mzxid');
      await rejectsWithCode(zk!.setData('/nzk', 'again', 0), E.BAD_VERSION, 'setData with a stale version');
      assert.equal((await zk!.getData('/nzk')).data, 'world');
      await rejectsWithCode(zk!.create('/nzk', 'dup'), E.NODE_EXISTS, 'create existing');
      await rejectsWithCode(zk!.create('/nope/child'), E.NO_NODE, 'create without parent');

      assert.equal(await zk!.create('/nzk/a', 'A'), '/nzk/a');
      assert.equal(await zk!.create('/nzk/e', 'E', zookeeper.CreateMode.EPHEMERAL), '/nzk/e');
      assert.equal(await zk!.create('/nzk/s-', '', zookeeper.CreateMode.PERSISTENT_SEQUENTIAL), '/nzk/s-0000000002');
      assert.equal(await zk!.create('/nzk/es-', '', zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL), '/nzk/es-0000000003');
      await rejectsWithCode(zk!.create('/nzk/e/x'), E.NO_CHILDREN_FOR_EPHEMERALS, 'child of an ephemeral');
      assert.deepEqual((await zk!.getChildren('/nzk')).sort(), ['a', 'e', 'es-0000000003', 's-0000000002']);
      const eph = await zk!.exists('/nzk/e');
      assert.ok(eph);
      assert.deepEqual(eph.ephemeralOwner, zk!.c.getSessionId(), 'ephemeralOwner is our session id');
      const parent = await zk!.exists('/nzk');
      assert.ok(parent);
      assert.equal(parent.numChildren, 4);
      assert.equal(parent.cversion, 4);

      await rejectsWithCode(zk!.remove('/nzk'), E.NOT_EMPTY, 'remove non-empty');
      await rejectsWithCode(zk!.remove('/nzk/a', 5), E.BAD_VERSION, 'remove with wrong version');
      await zk!.remove('/nzk/a', 0);
      await rejectsWithCode(zk!.getData('/nzk/a'), E.NO_NODE, 'getData after remove');
      await rejectsWithCode(zk!.remove('/nzk/a'), E.NO_NODE, 'remove twice');
      assert.equal(await zk!.exists('/nzk/a'), null);

      const acls = await zk!.getACL('/nzk');
      assert.equal(acls.length, 1);
      assert.equal(acls[0].permission, 31);
      assert.deepEqual({ ...acls[0].id }, { scheme: 'world', id: 'anyone' });
    });

    void it('data, child and exists watchers fire once with the right type and path', { timeout: 60_000 }, async () => {
      const ev = new Events();
      await zk!.create('/nzw', '0');
      await zk!.getData('/nzw', ev.watcher('data'));
      await other!.setData('/nzw', '1');
      assert.deepEqual(await ev.waitCount(1), ['data NODE_DATA_CHANGED /nzw']);
      await other!.setData('/nzw', '2'); // the watch was consumed

      await zk!.getChildren('/nzw', ev.watcher('children'));
      await other!.create('/nzw/c');
      assert.deepEqual((await ev.waitCount(2)).slice(1), ['children NODE_CHILDREN_CHANGED /nzw']);

      assert.equal(await zk!.exists('/nzw/missing', ev.watcher('exists')), null);
      await other!.create('/nzw/missing');
      assert.deepEqual((await ev.waitCount(3)).slice(2), ['exists NODE_CREATED /nzw/missing']);

      await zk!.getData('/nzw/missing', ev.watcher('deleted'));
      await other!.remove('/nzw/missing');
      assert.deepEqual((await ev.waitCount(4)).slice(3), ['deleted NODE_DELETED /nzw/missing']);

      // a round trip after everything, then no stray events
      await zk!.getData('/nzw');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(ev.seen.length, 4, `unexpected events: ${JSON.stringify(ev.seen)}`);
    });

    void it('transactions: a committed multi and a failing one rolled back with per-op errors', { timeout: 60_000 }, async () => {
      await zk!.create('/nzt');
      await zk!.create('/nzt/old', 'o');
      // (the library turns a version of 0 into -1 inside transactions, so only non-zero versions are meaningful)
      const ok = await zk!.commit((t) => t.create('/nzt/a', Buffer.from('x')).setData('/nzt/a', Buffer.from('y')).check('/nzt/a', 1).remove('/nzt/old'));
      assert.equal(ok.err, null);
      assert.deepEqual(ok.results.map((r) => r.type), [OP.create, OP.setData, OP.check, OP.delete]);
      assert.equal(ok.results[0].path, '/nzt/a');
      assert.equal(ok.results[1].stat?.version, 1);
      assert.equal((await zk!.getData('/nzt/a')).data, 'y');
      assert.equal(await zk!.exists('/nzt/old'), null);

      const bad = await zk!.commit((t) => t.create('/nzt/b').remove('/nzt/missing').create('/nzt/c'));
      assert.ok(bad.err, 'commit reports the failure');
      assert.equal(bad.err.getCode(), E.NO_NODE);
      assert.deepEqual(bad.results.map((r) => [r.type, r.err]), [[OP.error, 0], [OP.error, E.NO_NODE], [OP.error, -2]]);
      assert.equal(await zk!.exists('/nzt/b'), null, 'the first op was rolled back');
      assert.equal(await zk!.exists('/nzt/c'), null);

      const badCheck = await zk!.commit((t) => t.check('/nzt/a', 5).setData('/nzt/a', Buffer.from('z')));
      assert.equal(badCheck.err?.getCode(), E.BAD_VERSION);
      assert.deepEqual(badCheck.results.map((r) => [r.type, r.err]), [[OP.error, E.BAD_VERSION], [OP.error, -2]]);
      assert.equal((await zk!.getData('/nzt/a')).data, 'y');
    });
  });
}
