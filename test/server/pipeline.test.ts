// The pipeline core without sockets: prep against outstanding changes, FIFO commit behind a deferred log, error
// txns consuming zxids, multi rollback, closeSession ephemerals.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CreateMode, OpCode, Perms } from '../../src/protocol/constants.js';
import { Code } from '../../src/protocol/errors.js';
import type { ACL, WatcherEvent } from '../../src/protocol/records.js';
import type { Request } from '../../src/protocol/requests.js';
import { PendingChanges } from '../../src/server/changes.js';
import { readReply, writeReply } from '../../src/server/final.js';
import { Pipeline, type TxnLog } from '../../src/server/pipeline.js';
import { PrepError, Preparer } from '../../src/server/prep.js';
import type { PreparedRequest, ServerRequest } from '../../src/server/request.js';
import { DataTree } from '../../src/tree/datatree.js';
import type { Txn, TxnDigest, TxnHeader } from '../../src/txn/records.js';

const OPEN: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
const S1 = 0x1001n;
const S2 = 0x1002n;

/** A log that makes txns durable only when the test says so. */
class ManualLog implements TxnLog {
  appended: Array<{ hdr: TxnHeader; txn: Txn; digest?: TxnDigest }> = [];
  constructor(private readonly onDurable: (zxid: number) => void) {}
  append(hdr: TxnHeader, txn: Txn, digest?: TxnDigest): void {
    this.appended.push({ hdr, txn, digest });
  }
  flush(): void {}
  syncAll(): void {
    const last = this.appended.at(-1);
    if (last) this.onDurable(last.hdr.zxid);
  }
}

function harness() {
  const tree = new DataTree();
  const pending = new PendingChanges(tree);
  const live = new Set([S1, S2]);
  const closing = new Set<bigint>();
  let zxid = 0;
  const preparer = new Preparer({
    tree, pending,
    checkSession: (id) => {
      if (!live.has(id) || closing.has(id)) throw new PrepError(Code.SESSIONEXPIRED);
    },
    setSessionClosing: (id) => void closing.add(id),
    nextZxid: () => ++zxid,
    nowMs: () => 1000 + zxid,
    extendedTypesEnabled: true,
    enforceQuota: false,
    reconfigEnabled: false,
    writable: () => true,
  });
  const done: Array<{ pr: PreparedRequest; err: number; body: unknown }> = [];
  const events: WatcherEvent[] = [];
  const watcher = { sessionId: S2, deliver: (e: WatcherEvent) => void events.push(e) };
  const mismatches: number[] = [];
  const pipeline = new Pipeline(preparer, tree, {
    digestMismatch: (pr) => void mismatches.push(pr.hdr!.zxid),
    complete: (pr) => {
      const r = pr.hdr ? writeReply(pr) : pr.err !== Code.OK ? { err: pr.err, body: undefined } :
        readReply(pr.req.body!, { tree, watcher, sessionId: pr.req.sessionId, authIds: [] });
      done.push({ pr, err: r.err, body: r.body });
    },
  }, () => undefined);
  const log = new ManualLog((z) => pipeline.durable(z));
  pipeline.setLog(log);
  let xid = 0;
  const submit = (sessionId: bigint, body: Request): void => {
    const req: ServerRequest = { sessionId, xid: ++xid, op: body.op, body, authIds: [], cnxn: undefined, receivedMs: 0 };
    // cnxn undefined skips the read-side session check; writes still check it in prep.
    pipeline.submit(req);
  };
  const create = (path: string, flags: number = CreateMode.PERSISTENT, data = ''): Request =>
    ({ op: OpCode.create, create: { path, data: Buffer.from(data), acl: OPEN, flags } });
  return { tree, pending, pipeline, log, done, events, submit, create, watcher, mismatches, zxid: () => zxid };
}

void describe('pipeline', () => {
  void test('writes wait for durability; a read queued behind them sees them and replies stay in order', () => {
    const h = harness();
    h.submit(S1, h.create('/a'));
    h.submit(S1, h.create('/a/b'));
    h.submit(S2, { op: OpCode.getChildren, path: '/a', watch: false });
    assert.equal(h.done.length, 0, 'nothing answered before the log is durable');
    assert.equal(h.tree.getNode('/a'), undefined, 'nothing applied before the log is durable');
    h.log.syncAll();
    assert.deepEqual(h.done.map((d) => d.pr.req.xid), [1, 2, 3]);
    assert.deepEqual(h.done[2].body, { op: OpCode.getChildren, children: ['b'] });
  });

  void test('prep sees outstanding changes: sequence numbers, NODEEXISTS and NOTEMPTY before commit', () => {
    const h = harness();
    h.submit(S1, h.create('/q'));
    h.submit(S1, h.create('/q/n-', CreateMode.PERSISTENT_SEQUENTIAL));
    h.submit(S1, h.create('/q/n-', CreateMode.PERSISTENT_SEQUENTIAL));
    h.submit(S1, h.create('/q'));
    h.submit(S1, { op: OpCode.delete, path: '/q', version: -1 });
    h.log.syncAll();
    assert.deepEqual(h.done.map((d) => d.err), [Code.OK, Code.OK, Code.OK, Code.NODEEXISTS, Code.NOTEMPTY]);
    assert.deepEqual(h.done.slice(1, 3).map((d) => (d.body as { path: string }).path), ['/q/n-0000000000', '/q/n-0000000001']);
  });

  void test('change records are retired when their txn is applied; a later txn\'s record on the same path stays', () => {
    const h = harness();
    h.submit(S1, h.create('/k', CreateMode.PERSISTENT, 'v0'));
    assert.equal(h.pending.size, 2, '/ and /k are outstanding');
    h.log.syncAll();
    assert.equal(h.pending.size, 0);
    h.submit(S1, { op: OpCode.setData, path: '/k', data: Buffer.from('v1'), version: 0 });
    const first = h.zxid();
    h.submit(S1, { op: OpCode.setData, path: '/k', data: Buffer.from('v2'), version: 1 });
    h.pipeline.durable(first);
    assert.equal(h.tree.getNode('/k')!.data.toString(), 'v1');
    assert.equal(h.pending.size, 1, 'the second setData is still outstanding');
    h.submit(S1, { op: OpCode.setData, path: '/k', data: Buffer.from('v3'), version: 2 });
    h.log.syncAll();
    assert.equal(h.pending.size, 0);
    assert.deepEqual(h.done.slice(1).map((d) => d.err), [Code.OK, Code.OK, Code.OK]);
    assert.equal(h.tree.getNode('/k')!.data.toString(), 'v3');
    assert.equal(h.pending.currentDigest(), h.tree.treeDigest);
    assert.deepEqual(h.mismatches, []);
  });

  void test('a failed write still consumes a zxid (error txn), as in ZooKeeper', () => {
    const h = harness();
    h.submit(S1, h.create('/x/y'));
    h.submit(S1, h.create('/x'));
    h.log.syncAll();
    assert.equal(h.done[0].err, Code.NONODE);
    assert.equal(h.log.appended[0].hdr.type, OpCode.error);
    assert.equal(h.tree.getNode('/x')!.czxid, 2);
  });

  void test('a multi failing midway rolls back its outstanding changes and reports per-op results', () => {
    const h = harness();
    h.submit(S1, { op: OpCode.multi, ops: [h.create('/m'), h.create('/m/c'), { op: OpCode.delete, path: '/nope', version: -1 }, h.create('/z')] });
    h.submit(S1, h.create('/m'));
    h.log.syncAll();
    const multi = h.done[0].body as { results: Array<{ op: number; err?: number }> };
    assert.deepEqual(multi.results.map((r) => r.err), [0, 0, Code.NONODE, Code.RUNTIMEINCONSISTENCY]);
    assert.equal(h.done[1].err, Code.OK, 'the failed multi left no pending /m behind');
    assert.ok(h.tree.getNode('/m'));
    assert.equal(h.tree.getNode('/m/c'), undefined);
  });

  void test('closeSession deletes ephemerals created by still-outstanding txns, and later writes of the session fail', () => {
    const h = harness();
    h.submit(S2, { op: OpCode.exists, path: '/e', watch: true });
    h.submit(S1, h.create('/e', CreateMode.EPHEMERAL));
    h.submit(S1, { op: OpCode.closeSession });
    h.submit(S1, h.create('/late'));
    h.log.syncAll();
    assert.equal(h.tree.getNode('/e'), undefined);
    assert.equal(h.done[3].err, Code.SESSIONEXPIRED);
    assert.deepEqual(h.events.map((e) => `${e.type} ${e.path}`), ['1 /e'], 'the exists watch is one-time: NodeCreated only');
  });

  void test('ephemeral parents refuse children; containers and TTL nodes do not', () => {
    const h = harness();
    h.submit(S1, h.create('/eph', CreateMode.EPHEMERAL));
    h.submit(S1, h.create('/eph/c'));
    h.submit(S1, { op: OpCode.createContainer, create: { path: '/ctr', data: null, acl: OPEN, flags: CreateMode.CONTAINER } });
    h.submit(S1, h.create('/ctr/c'));
    h.submit(S1, { op: OpCode.createTTL, create: { path: '/ttl', data: null, acl: OPEN, flags: CreateMode.PERSISTENT_WITH_TTL, ttl: 5000 } });
    h.submit(S1, h.create('/ttl/c'));
    h.log.syncAll();
    assert.deepEqual(h.done.map((d) => d.err), [Code.OK, Code.NOCHILDRENFOREPHEMERALS, Code.OK, Code.OK, Code.OK, Code.OK]);
  });

  void test('bad flags, bad paths and bad versions get ZooKeeper codes', () => {
    const h = harness();
    h.submit(S1, h.create('/f', 9));
    h.submit(S1, h.create('/f/'));
    h.submit(S1, h.create('/g'));
    h.submit(S1, { op: OpCode.setData, path: '/g', data: null, version: 7 });
    h.submit(S1, { op: OpCode.delete, path: '/', version: -1 });
    h.log.syncAll();
    assert.deepEqual(h.done.map((d) => d.err), [Code.BADARGUMENTS, Code.NONODE, Code.OK, Code.BADVERSION, Code.BADARGUMENTS]);
  });
});
