// kazoo (the Python client, from Debian's python3-kazoo) against each server kind: CRUD, watches, transactions,
// ephemeral and sequential nodes, digest ACLs, and the Lock recipe under contention. The Python side
// (python/kazoo_scenarios.py) only records what it observes as JSON; the assertions are here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer, testKinds } from '../support/servers.js';
import { REALCLIENTS_DIR, SYSTEM_PYTHON, describeRun, runProcess } from './helpers.js';

const SCRIPT = path.join(REALCLIENTS_DIR, 'python', 'kazoo_scenarios.py');

function kazooMissing(): string | false {
  const r = spawnSync(SYSTEM_PYTHON, ['-c', 'import kazoo'], { timeout: 20_000 });
  return r.status === 0 ? false : `kazoo is not importable by ${SYSTEM_PYTHON} (install python3-kazoo)`;
}
const skip = kazooMissing();

interface Stat {
  czxid: number; mzxid: number; pzxid: number; version: number; cversion: number; aversion: number;
  ephemeralOwner: number; dataLength: number; numChildren: number; ctime: number; mtime: number;
}

// The JSON the script prints: loosely typed on purpose, every field is checked by an assertion below.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Observed = Record<string, any>;

async function scenario(server: RunningServer, name: string): Promise<Observed> {
  const r = await runProcess(SYSTEM_PYTHON, [SCRIPT, server.connectString, name], { timeoutMs: 100_000 });
  assert.equal(r.code, 0, `kazoo scenario ${name} failed: ${describeRun(r)}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Observed;
  } catch {
    assert.fail(`kazoo scenario ${name} printed no JSON: ${describeRun(r)}`);
  }
}

const SEQ = /^\d{10}$/;

for (const kind of testKinds()) {
  void describe(`kazoo against ${kind}`, { skip }, () => {
    let server: RunningServer | undefined;
    before(async () => {
      server = await startServer(kind);
    });
    after(async () => {
      await server?.stop();
    });

    void it('create/get/set/delete with versions and error codes', { timeout: 120_000 }, async () => {
      const o = await scenario(server!, 'crud');
      assert.equal(o.create, '/kz-crud');
      const g1 = o.get1 as { data: string; stat: Stat };
      assert.equal(g1.data, 'v1');
      assert.equal(g1.stat.version, 0);
      assert.equal(g1.stat.dataLength, 2);
      assert.equal(g1.stat.czxid, g1.stat.mzxid);
      assert.equal(g1.stat.ephemeralOwner, 0);
      assert.ok(g1.stat.czxid > 0);
      assert.ok(Math.abs(g1.stat.ctime - Date.now()) < 120_000, `ctime ${g1.stat.ctime} is not near now`);
      const s = o.set as Stat;
      assert.equal(s.version, 1);
      assert.ok(s.mzxid > g1.stat.mzxid, 'set must advance mzxid');
      assert.equal(s.czxid, g1.stat.czxid);
      assert.ok(s.mtime >= g1.stat.mtime);
      assert.equal(o.setBadVersion, 'BadVersionError');
      assert.equal(o.get2.data, 'v2');
      assert.deepEqual(o.get2.stat, o.set, 'get after set returns the stat set returned');
      assert.equal(o.createExisting, 'NodeExistsError');
      assert.equal(o.createNoParent, 'NoNodeError');
      assert.equal(o.child, '/kz-crud/c1');
      assert.equal(o.emptyData, '');
      assert.deepEqual(o.children, ['c1']);
      const sc = o.statAfterChild as Stat;
      assert.equal(sc.numChildren, 1);
      assert.equal(sc.cversion, 1);
      assert.ok(sc.pzxid > s.mzxid, 'pzxid advances when a child is created');
      assert.equal(sc.mzxid, s.mzxid, 'creating a child does not change the parent mzxid');
      assert.equal(o.deleteNotEmpty, 'NotEmptyError');
      assert.equal(o.deleteBadVersion, 'BadVersionError');
      assert.equal(o.deleteNoNode, 'NoNodeError');
      assert.equal(o.existsAfterDelete, null);
      assert.equal(o.getAfterDelete, 'NoNodeError');
      assert.ok(o.rootChildren.includes('zookeeper') && !o.rootChildren.includes('kz-crud'), `root children ${o.rootChildren}`);
      assert.equal(o.bigLen, 100000);
      assert.equal(o.bigEqual, true);
      assert.equal(o.ensurePath, true);
      assert.equal(o.recursiveDelete, true);
    });

    void it('exists, data and child watches fire once with the right types and paths', { timeout: 120_000 }, async () => {
      const o = await scenario(server!, 'watches');
      assert.equal(o.existsMissing, null);
      const events = (o.events as Array<{ tag: string; type: string; path: string; state: string }>).map(
        (e) => `${e.tag} ${e.type} ${e.path} ${e.state}`,
      );
      // Order across different watches on one txn is not part of the contract; compare as a set, but every watch
      // must fire exactly once (the second set on /kz-w/a must not re-fire the consumed data watch).
      assert.deepEqual([...events].sort(), [
        'children-child CHILD /kz-w CONNECTED',
        'children-on-delete CHILD /kz-w CONNECTED',
        'children-self-deleted DELETED /kz-w/p CONNECTED',
        'exists-created CREATED /kz-w/a CONNECTED',
        'exists-deleted DELETED /kz-w/b CONNECTED',
        'get-changed CHANGED /kz-w/a CONNECTED',
        'get-deleted DELETED /kz-w/a CONNECTED',
        'self-changed CHANGED /kz-w/self CONNECTED',
      ]);
      // Events for separate operations arrive in operation order.
      const order = events.map((e) => e.split(' ')[0]);
      assert.deepEqual(order.slice(0, 3), ['exists-created', 'get-changed', 'children-child']);
      assert.deepEqual(order.slice(-2), ['children-self-deleted', 'self-changed']);
      assert.ok(order.indexOf('exists-deleted') < order.indexOf('get-deleted'), 'delete of /kz-w/b happened first');
    });

    void it('multi: committed results and a failing transaction with per-op errors', { timeout: 120_000 }, async () => {
      const o = await scenario(server!, 'transactions');
      const ok = o.ok as [string, string, Stat, boolean, string];
      assert.equal(ok.length, 5);
      assert.equal(ok[0], '/kz-tx/a');
      assert.equal(ok[1], '/kz-tx/a/b');
      assert.equal(ok[2].version, 1, 'setData inside multi returns the new stat');
      assert.equal(ok[2].numChildren, 1);
      assert.equal(ok[2].czxid, ok[2].mzxid, 'all ops of one multi share a zxid');
      assert.equal(ok[3], true);
      // the sequence suffix is the parent's count of child creations so far (a was created in this multi)
      assert.equal(ok[4], '/kz-tx/s-0000000001');
      assert.equal(o.okData, 'three');
      assert.deepEqual(o.okChildren, ['b']);
      // ops before the failure are rolled back, the failing op carries its error, later ops RuntimeInconsistency
      assert.deepEqual(o.failed, ['RolledBackError', 'RolledBackError', 'NoNodeError', 'RuntimeInconsistency']);
      assert.equal(o.failedCExists, false);
      assert.equal(o.failedDExists, false);
      assert.equal(o.failedAData, 'three');
      assert.deepEqual(o.badCheck, ['BadVersionError', 'RuntimeInconsistency']);
      assert.equal(o.badCheckBExists, true);
    });

    void it('ephemeral and sequential nodes', { timeout: 120_000 }, async () => {
      const o = await scenario(server!, 'ephemeral_sequential');
      assert.deepEqual(o.seq, ['/kz-es/n-0000000000', '/kz-es/n-0000000001', '/kz-es/n-0000000002']);
      for (const p of o.seq) assert.match(p.slice(-10), SEQ);
      assert.equal(o.eph, '/kz-es/e');
      assert.equal(o.ephOwner, o.otherSession, 'ephemeralOwner is the creating session id');
      assert.notEqual(o.ephOwner, 0);
      assert.equal(o.ephSeq, '/kz-es/es-0000000004');
      assert.equal(o.ephChild, 'NoChildrenForEphemeralsError');
      assert.deepEqual(o.childrenBefore, ['e', 'es-0000000004', 'n-0000000000', 'n-0000000001', 'n-0000000002']);
      assert.equal(o.deletedEventSeen, true, 'closing the session deletes its ephemerals and fires watches');
      assert.deepEqual(o.childrenAfter, ['n-0000000000', 'n-0000000001', 'n-0000000002']);
      // deletions do not advance the sequence counter (it counts creations)
      assert.equal(o.seqAfter, '/kz-es/n-0000000005');
      // client-visible cversion = 2 * creations - numChildren = 2 * 6 - 4
      assert.equal(o.cversion, 8);
    });

    void it('digest ACLs: only the authenticated user may read; others get NoAuthError', { timeout: 120_000 }, async () => {
      const o = await scenario(server!, 'acl');
      assert.equal(o.expectedDigestId, 'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=');
      assert.equal(o.aliceGet, 'top');
      assert.equal(o.anonGet, 'NoAuthError');
      assert.equal(o.anonSet, 'NoAuthError');
      assert.equal(o.anonChildren, 'NoAuthError');
      assert.equal(o.bobGet, 'NoAuthError');
      assert.equal(o.anonExists, true, 'exists needs no permission');
      assert.deepEqual(o.acls, [{ perms: 31, scheme: 'digest', id: o.expectedDigestId }]);
      assert.equal(o.aclVersion, 0);
      assert.deepEqual(o.authAcls, [{ perms: 31, scheme: 'digest', id: o.expectedDigestId }],
        'the server turns an auth ACL into the digest id of the authenticated user');
      assert.equal(o.anonGetAuth, 'NoAuthError');
      assert.equal(o.anonCreateAuthAcl, 'InvalidACLError');
      assert.equal(o.anonGetRo, 'r');
      assert.equal(o.anonSetRo, 'NoAuthError');
      assert.equal(o.anonCreateChildRo, 'NoAuthError');
      assert.equal(o.aliceSetRo, 1);
      assert.equal(o.anonAfterAddAuth, 'top');
      assert.equal(o.setAclVersion, 1);
      assert.equal(o.bobGetAfterSetAcl, 'top');
      assert.equal(o.bobSetAfterSetAcl, 'NoAuthError');
      assert.equal(o.setAclBadVersion, 'BadVersionError');
      assert.equal(o.badScheme, 'InvalidACLError');
    });

    void it('Lock recipe: 5 clients x 8 increments under the lock, mutual exclusion holds', { timeout: 120_000 }, async () => {
      const o = await scenario(server!, 'lock');
      assert.deepEqual(o.errors, []);
      assert.equal(o.alive, 0, 'all workers finished');
      assert.equal(o.acquired, o.expected);
      assert.equal(o.maxInside, 1, 'never two holders at once');
      assert.equal(o.violations, 0, 'no versioned write raced');
      assert.equal(o.counter, 40);
      assert.deepEqual(o.lockChildrenAfter, [], 'all lock nodes removed after release');
    });
  });
}
