// Durability test support: the scripted load that writes a data directory worth handing across servers, and
// client helpers.
import { CreateMode, MultiError, Perms, ZkError, ZooKeeperClient } from '../../src/client/index.js';
import { digestId } from '../../src/client/types.js';
import type { ACL } from '../../src/protocol/records.js';
import { silentLogger } from '../../src/util/log.js';
import type { RunningServer } from '../support/servers.js';
import { dumpTree, type TreeDump } from '../support/treecompare.js';

/** zoo.cfg lines both kinds honour: small snapCount (log rolls and snapshots), TTL nodes enabled. */
export const DURABILITY_CONFIG = { snapCount: 20, extendedTypesEnabled: true } as const;

export const ALICE = { user: 'alice', password: 'secret' };
export const ALICE_AUTH = { scheme: 'digest', auth: `${ALICE.user}:${ALICE.password}` };
const alice = digestId(ALICE.user, ALICE.password);

export async function connect(server: RunningServer | string, opts: { auth?: boolean; sessionTimeoutMs?: number } = {}): Promise<ZooKeeperClient> {
  const cs = typeof server === 'string' ? server : server.connectString;
  const c = new ZooKeeperClient(cs, {
    logger: silentLogger,
    sessionTimeoutMs: opts.sessionTimeoutMs ?? 30_000,
    connectTimeoutMs: 5_000,
    reconnectDelayMs: 200,
    ...(opts.auth ? { authInfo: [ALICE_AUTH] } : {}),
  });
  await c.connect(10_000);
  return c;
}

/** Dumps the whole tree with a client authenticated as alice (who can read every node the load creates). */
export async function dumpServer(server: RunningServer): Promise<TreeDump> {
  const c = await connect(server, { auth: true });
  try {
    return await dumpTree(c);
  } finally {
    await c.close();
  }
}

const bin = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed * 17) & 0xff));

export interface LoadResult {
  /** Session ids whose ephemerals must survive (the session stays open until the server is killed). */
  liveSessions: bigint[];
  /** Keep these clients open until the server is killed; close() them afterwards. */
  openClients: ZooKeeperClient[];
}

/**
 * The scripted load: nested nodes, binary/null/empty data, ACLs with digest auth, ephemerals (of a session left
 * open and of one closed), sequential nodes, containers, TTL nodes, multi (ok and failing -> error txns), setData
 * and setACL with versions, deletes; over 200 txns so that with snapCount 20 logs roll and snapshots are taken.
 */
export async function scriptedLoad(server: RunningServer): Promise<LoadResult> {
  const a = await connect(server, { auth: true });
  const ops: Array<Promise<unknown>> = [];
  const expectErr = async (p: Promise<unknown>, what: string): Promise<void> => {
    try {
      await p;
    } catch (e) {
      if (e instanceof ZkError) return;
      throw e;
    }
    throw new Error(`${what} should have failed`);
  };
  const aclAlice: ACL[] = [{ perms: Perms.ALL, id: alice }];
  const aclMixed: ACL[] = [{ perms: Perms.ALL, id: alice }, { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];
  const aclCreateOnly: ACL[] = [{ perms: Perms.CREATE, id: { scheme: 'world', id: 'anyone' } }];

  // nested persistent nodes, binary/null/empty data
  await a.create('/app', 'root of the app');
  for (let i = 0; i < 4; i++) {
    ops.push(a.create(`/app/n${i}`, bin(40 + i * 100, i)));
  }
  await Promise.all(ops.splice(0));
  await a.create('/app/n0/deep', null);
  await a.create('/app/n0/deep/er', '');
  await a.create('/app/n0/deep/er/est', bin(3000, 9));
  await a.create('/app/nulldata', null);
  await a.create('/app/emptydata', '');
  await a.create('/app/utf8', 'héllo wörld ✓');
  // ACLs
  await a.create('/secure', 'alice only', { acl: aclAlice });
  await a.create('/secure/child', 'inherits nothing', { acl: aclMixed });
  await a.create('/createonly', 'world may only create', { acl: aclCreateOnly });
  await a.create('/authacl', 'creator all', { acl: [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }] });
  await a.setACL('/app/n1', aclMixed, 0);
  await a.setACL('/app/n1', aclAlice);
  // sequential nodes
  await a.create('/seq', null);
  for (let i = 0; i < 6; i++) ops.push(a.create('/seq/item-', `s${i}`, { mode: CreateMode.PERSISTENT_SEQUENTIAL }));
  await Promise.all(ops.splice(0));
  // containers and TTL nodes (long TTLs so that no reaper runs during the test)
  await a.create('/cont', 'container', { mode: CreateMode.CONTAINER });
  await a.create('/cont/kid', 'keeps it alive');
  await a.create('/cont-empty', null, { mode: CreateMode.CONTAINER });
  await a.create('/ttl', 'lives an hour', { mode: CreateMode.PERSISTENT_WITH_TTL, ttl: 3_600_000 });
  await a.create('/ttlseq-', 'ttl sequential', { mode: CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, ttl: 7_200_000 });
  // multi: one that succeeds, one that fails (error txn), check ops
  await a.multi([
    { type: 'create', path: '/multi', data: 'm' },
    { type: 'create', path: '/multi/a', data: 'ma' },
    { type: 'setData', path: '/app', data: 'changed by multi', version: 0 },
    { type: 'check', path: '/seq', version: 0 },
    { type: 'delete', path: '/app/emptydata' },
  ]);
  try {
    await a.multi([
      { type: 'create', path: '/multi/b', data: 'never' },
      { type: 'check', path: '/multi', version: 42 },
    ]);
    throw new Error('failing multi succeeded');
  } catch (e) {
    if (!(e instanceof MultiError)) throw e;
  }
  // failed single writes (prep errors are error txns too)
  await expectErr(a.create('/app', 'exists'), 'create existing');
  await expectErr(a.setData('/app', 'bad version', 99), 'setData bad version');
  await expectErr(a.delete('/nope'), 'delete missing');
  // many setData with versions, and creates/deletes: enough txns to roll logs and take snapshots
  await a.create('/counter', '0');
  for (let i = 1; i <= 60; i++) ops.push(a.setData('/counter', String(i), i - 1));
  await Promise.all(ops.splice(0));
  await a.create('/churn', null);
  for (let i = 0; i < 40; i++) ops.push(a.create(`/churn/c${i}`, bin(i, i)));
  await Promise.all(ops.splice(0));
  for (let i = 0; i < 40; i += 3) ops.push(a.delete(`/churn/c${i}`));
  await Promise.all(ops.splice(0));
  // ephemerals: one session closed (its ephemerals go), one left open (its ephemerals stay, kill -9 keeps them)
  const gone = await connect(server);
  await gone.create('/eph-gone', 'bye', { mode: CreateMode.EPHEMERAL });
  await gone.close();
  const live = await connect(server, { sessionTimeoutMs: 40_000 });
  await live.create('/eph', 'eph', { mode: CreateMode.EPHEMERAL });
  await live.create('/app/n2/eseq-', 'eseq', { mode: CreateMode.EPHEMERAL_SEQUENTIAL });
  await live.create('/app/n2/eseq-', null, { mode: CreateMode.EPHEMERAL_SEQUENTIAL });
  // a last few writes after the ephemerals, in a fresh log region
  for (let i = 0; i < 25; i++) ops.push(a.setData('/app/n3', bin(i * 7, i)));
  await Promise.all(ops.splice(0));
  await a.delete('/churn/c1');
  await a.close();
  return { liveSessions: [live.sessionId], openClients: [live] };
}
