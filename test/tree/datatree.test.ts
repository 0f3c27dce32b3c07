import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONTAINER_EPHEMERAL_OWNER, OpCode, Perms } from '../../src/protocol/constants.js';
import { Code } from '../../src/protocol/errors.js';
import { DataTree, EMPTY_CHILDREN, ttlOwner } from '../../src/tree/datatree.js';
import { Driver, OPEN, createTxn } from './helpers.js';

void test('fresh tree matches ZooKeeper 3.8 (oracle: Node count 5, approximate size 44, stats below)', () => {
  const t = new DataTree();
  assert.equal(t.nodeCount, 5);
  assert.equal(t.approximateDataSize(), 44);
  assert.equal(t.getAllChildrenNumber('/'), 3);
  const stat = (p: string) => t.statOf(t.getNode(p)!);
  assert.deepEqual([stat('/').cversion, stat('/').numChildren], [-1, 1]);
  assert.deepEqual([stat('/zookeeper').cversion, stat('/zookeeper').numChildren], [-2, 2]);
  assert.equal(stat('/zookeeper/quota').cversion, 0);
  assert.equal(stat('/zookeeper/config').aversion, -1);
  assert.deepEqual(t.getNode('/zookeeper/config')!.acl, [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }]);
  assert.deepEqual(t.getNode('/')!.acl, OPEN);
});

void test('create sets stats; parent cversion/pzxid; client cversion quirk (oracle: /a cversion 3 after 2 creates 1 delete)', () => {
  const d = new Driver();
  d.create('/a', 'x'); // zxid 1
  const r = d.create('/a/b', '', { type: OpCode.create2 }); // zxid 2
  assert.equal(r.err, Code.OK);
  assert.deepEqual(r.stat, {
    czxid: 2, mzxid: 2, ctime: 2000, mtime: 2000, version: 0, cversion: 0, aversion: 0,
    ephemeralOwner: 0n, dataLength: 0, numChildren: 0, pzxid: 2,
  });
  d.create('/a/c'); // zxid 3
  d.del('/a/b'); // zxid 4
  const a = d.tree.getNode('/a')!;
  assert.equal(a.cversion, 2);
  const s = d.tree.statOf(a);
  assert.deepEqual([s.cversion, s.numChildren, s.pzxid, s.czxid, s.dataLength], [3, 1, 4, 1, 1]);
  assert.equal(d.tree.lastProcessedZxid, 4);
  assert.equal(d.tree.nodeCount, 7);
  assert.equal(d.tree.approximateDataSize(), 44 + 2 + 1 + 4);
});

void test('create result for plain create has no stat; create2 has one', () => {
  const d = new Driver();
  const r = d.create('/a');
  assert.deepEqual(r, { type: OpCode.create, err: Code.OK, path: '/a' });
});

void test('parentCVersion -1 (old logs) means stored+1; smaller values never move cversion back', () => {
  const d = new Driver();
  d.apply({ type: OpCode.create, path: '/a', data: Buffer.alloc(0), acl: OPEN, ephemeral: false, parentCVersion: -1 });
  assert.equal(d.tree.getNode('/')!.cversion, 1);
  d.apply({ type: OpCode.create, path: '/b', data: Buffer.alloc(0), acl: OPEN, ephemeral: false, parentCVersion: 7 });
  assert.equal(d.tree.getNode('/')!.cversion, 7);
  d.apply({ type: OpCode.create, path: '/c', data: Buffer.alloc(0), acl: OPEN, ephemeral: false, parentCVersion: 3 });
  assert.equal(d.tree.getNode('/')!.cversion, 7);
  assert.equal(d.tree.getNode('/')!.pzxid, 2, 'pzxid only moves with cversion');
});

void test('replay errors: NODEEXISTS (adjusts parent for plain create), NONODE', () => {
  const d = new Driver();
  d.create('/a');
  const dup = d.apply({ type: OpCode.create, path: '/a', data: Buffer.alloc(0), acl: OPEN, ephemeral: false, parentCVersion: 5 });
  assert.equal(dup.err, Code.NODEEXISTS);
  assert.equal(d.tree.getNode('/')!.cversion, 5);
  assert.equal(d.tree.getNode('/')!.pzxid, 2);
  assert.equal(d.create('/x/y').err, Code.NONODE);
  assert.equal(d.del('/nope').err, Code.NONODE);
  assert.equal(d.set('/nope', 'x', 1).err, Code.NONODE);
  assert.equal(d.apply({ type: OpCode.setACL, path: '/nope', acl: OPEN, version: 1 }).err, Code.NONODE);
});

void test('delete: parent pzxid moves forward only', () => {
  const d = new Driver();
  d.create('/a');
  d.create('/a/b');
  d.del('/a/b');
  assert.equal(d.tree.getNode('/a')!.pzxid, 3);
  d.tree.processTxn({ clientId: 0n, cxid: 0, zxid: 2, time: 0, type: OpCode.delete }, { type: OpCode.delete, path: '/a/zz' });
  assert.equal(d.tree.getNode('/a')!.pzxid, 3);
  assert.equal(d.tree.lastProcessedZxid, 3);
});

void test('setData and setACL', () => {
  const d = new Driver();
  d.create('/a', 'x');
  const r = d.set('/a', 'hello', 1);
  assert.deepEqual([r.stat!.version, r.stat!.mzxid, r.stat!.mtime, r.stat!.dataLength, r.stat!.czxid], [1, 2, 2000, 5, 1]);
  const acl = [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];
  const s = d.apply({ type: OpCode.setACL, path: '/a', acl, version: 1 });
  assert.equal(s.stat!.aversion, 1);
  assert.equal(s.stat!.mzxid, 2, 'setACL does not touch mzxid');
  assert.deepEqual(d.tree.getNode('/a')!.acl, acl);
  assert.deepEqual(d.apply({ type: OpCode.check, path: '/a', version: 1 }), { type: OpCode.check, err: 0, path: '/a' });
  assert.deepEqual(d.apply({ type: OpCode.error, err: Code.BADVERSION }), { type: OpCode.error, err: Code.BADVERSION });
  assert.equal(d.tree.lastProcessedZxid, 5);
});

void test('ephemerals, containers, TTL nodes and their client ephemeralOwner', () => {
  const t = new DataTree({ extendedTypesEnabled: true });
  const d = new Driver(t);
  d.create('/e', '', { ephemeral: true, clientId: 0x55n, type: OpCode.create2 });
  const c = d.apply({ type: OpCode.createContainer, path: '/c', data: Buffer.alloc(0), acl: OPEN, parentCVersion: 2 });
  const ttl = d.apply({ type: OpCode.createTTL, path: '/t', data: Buffer.alloc(0), acl: OPEN, parentCVersion: 3, ttl: 5000 });
  assert.equal(t.getNode('/e')!.ephemeralOwner, 0x55n);
  assert.equal(t.statOf(t.getNode('/e')!).ephemeralOwner, 0x55n);
  assert.equal(t.getNode('/c')!.ephemeralOwner, CONTAINER_EPHEMERAL_OWNER);
  assert.equal(c.stat!.ephemeralOwner, 0n);
  assert.equal(t.getNode('/t')!.ephemeralOwner, ttlOwner(5000));
  assert.equal(BigInt.asUintN(64, ttlOwner(5000)), 0xff00000000001388n);
  assert.equal(ttl.stat!.ephemeralOwner, 0n);
  assert.deepEqual([...t.ephemeralsOf(0x55n)], ['/e']);
  assert.deepEqual([...t.containers()], ['/c']);
  assert.deepEqual([...t.ttls()], ['/t']);
  assert.equal(t.ephemeralsOf(0x99n).size, 0);
  d.del('/c');
  d.del('/t');
  d.del('/e');
  assert.equal(t.containers().size + t.ttls().size + t.ephemeralSessions().size, 0);
});

void test('without extendedTypesEnabled a 0xFF.. owner is a session (as upstream EphemeralType)', () => {
  const t = new DataTree();
  const d = new Driver(t);
  d.apply({ type: OpCode.createTTL, path: '/t', data: Buffer.alloc(0), acl: OPEN, parentCVersion: 1, ttl: 5 });
  assert.equal(t.ttls().size, 0);
  assert.deepEqual([...t.ephemeralsOf(ttlOwner(5))], ['/t']);
});

void test('closeSession deletes txn paths and the tree\'s own list; createSession changes nothing', () => {
  const d = new Driver();
  d.apply({ type: OpCode.createSession, timeOut: 30000 }, 0x7n);
  d.create('/p');
  d.create('/p/e1', '', { ephemeral: true, clientId: 0x7n });
  d.create('/p/e2', '', { ephemeral: true, clientId: 0x7n });
  d.create('/p/o', '', { ephemeral: true, clientId: 0x8n });
  assert.equal(d.tree.nodeCount, 9);
  const r = d.apply({ type: OpCode.closeSession, paths2Delete: ['/p/e1'] }, 0x7n);
  assert.equal(r.err, Code.OK);
  assert.deepEqual([...d.tree.getNode('/p')!.children], ['o']);
  assert.equal(d.tree.getNode('/p')!.pzxid, 6);
  assert.equal(d.tree.ephemeralsOf(0x7n).size, 0);
  d.apply({ type: OpCode.closeSession, paths2Delete: null }, 0x8n);
  assert.equal(d.tree.getNode('/p')!.children.size, 0);
});

void test('multi success: results per op, one zxid', () => {
  const d = new Driver();
  d.create('/a');
  const r = d.apply({
    type: OpCode.multi,
    txns: [
      createTxn(d.tree, '/a/b', 'x', false, OpCode.create2),
      { type: OpCode.setData, path: '/a', data: Buffer.from('yy'), version: 1 },
      { type: OpCode.check, path: '/a', version: 1 },
      { type: OpCode.delete, path: '/a/b' },
    ],
  });
  assert.equal(r.type, OpCode.multi);
  assert.equal(r.err, 0);
  assert.deepEqual(r.results!.map((x) => [x.type, x.err, x.path]), [[15, 0, '/a/b'], [5, 0, '/a'], [13, 0, '/a'], [2, 0, '/a/b']]);
  assert.equal(r.results![0].stat!.czxid, 2);
  assert.equal(r.results![1].stat!.version, 1);
  assert.equal(d.tree.lastProcessedZxid, 2);
  assert.equal(d.tree.getNode('/a')!.pzxid, 2);
});

void test('failed multi: OK before, code at, RUNTIMEINCONSISTENCY after; nothing applied', () => {
  const d = new Driver();
  d.create('/a');
  const r = d.apply({
    type: OpCode.multi,
    txns: [
      { type: OpCode.error, err: Code.OK },
      { type: OpCode.error, err: Code.BADVERSION },
      { type: OpCode.error, err: Code.RUNTIMEINCONSISTENCY },
    ],
  });
  assert.equal(r.err, Code.BADVERSION);
  assert.deepEqual(r.results!.map((x) => [x.type, x.err]), [[-1, 0], [-1, -103], [-1, -2]]);
  // A multi mixing real txns with an error txn: the real ones become error results and are not applied.
  const r2 = d.apply({
    type: OpCode.multi,
    txns: [createTxn(d.tree, '/a/x', '', false), { type: OpCode.error, err: Code.NONODE }, { type: OpCode.delete, path: '/a' }],
  });
  assert.deepEqual(r2.results!.map((x) => [x.type, x.err]), [[-1, 0], [-1, -101], [-1, -2]]);
  assert.equal(d.tree.getNode('/a/x'), undefined);
  assert.ok(d.tree.getNode('/a'));
});

void test('getAllChildrenNumber counts all descendants', () => {
  const d = new Driver();
  d.create('/a');
  d.create('/a/b');
  d.create('/a/b/c');
  d.create('/a/d');
  assert.equal(d.tree.getAllChildrenNumber('/a'), 3);
  assert.equal(d.tree.getAllChildrenNumber('/a/b/c'), 0);
  assert.equal(d.tree.getAllChildrenNumber('/none'), 0);
  assert.equal(d.tree.getAllChildrenNumber('/'), 7);
});

void test('snapshot restore rebuilds indexes and quota roots', () => {
  const d = new Driver();
  d.create('/q', 'abc');
  d.create('/q/e', '', { ephemeral: true, clientId: 0x9n });
  const nodes = [...['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config', '/q', '/q/e']].map((p) => [p, d.tree.getNode(p)!] as const);
  const t = new DataTree();
  t.beginRestore();
  for (const [p, n] of nodes) t.restoreNode(p === '/' ? '' : p, { ...n, children: new Set() });
  t.finishRestore();
  assert.equal(t.nodeCount, d.tree.nodeCount);
  assert.equal(t.approximateDataSize(), d.tree.approximateDataSize());
  assert.deepEqual([...t.ephemeralsOf(0x9n)], ['/q/e']);
  assert.deepEqual([...t.getNode('/q')!.children], ['e']);
});

void test('memory layout: leaves share EMPTY_CHILDREN, identical ACL lists are shared, data never aliases a request buffer', () => {
  const d = new Driver();
  d.create('/m');
  d.create('/m/a');
  assert.equal(d.tree.getNode('/m/a')!.children, EMPTY_CHILDREN);
  assert.notEqual(d.tree.getNode('/m')!.children, EMPTY_CHILDREN);
  d.del('/m/a');
  assert.equal(d.tree.getNode('/m')!.children, EMPTY_CHILDREN);
  assert.equal(EMPTY_CHILDREN.size, 0);
  d.create('/m/b');
  assert.deepEqual([...d.tree.getNode('/m')!.children], ['b']);
  assert.equal(EMPTY_CHILDREN.size, 0);

  // Two creates with equal but distinct ACL arrays: one stored list, equal to (not the same array as) the txn's.
  const acl = () => [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
  const a1 = acl();
  d.apply({ type: OpCode.create, path: '/m/c', data: Buffer.alloc(0), acl: a1, ephemeral: false, parentCVersion: -1 });
  d.apply({ type: OpCode.create, path: '/m/d', data: Buffer.alloc(0), acl: acl(), ephemeral: false, parentCVersion: -1 });
  assert.equal(d.tree.getNode('/m/c')!.acl, d.tree.getNode('/m/d')!.acl);
  assert.notEqual(d.tree.getNode('/m/c')!.acl, a1);
  assert.deepEqual(d.tree.getNode('/m/c')!.acl, a1);
  const other = [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];
  d.apply({ type: OpCode.setACL, path: '/m/d', acl: other, version: 1 });
  assert.deepEqual(d.tree.getNode('/m/d')!.acl, other);
  assert.deepEqual(d.tree.getNode('/m/c')!.acl, a1);

  // Data that is a view into a larger buffer (a socket chunk) is copied; the node does not see later writes to it.
  const chunk = Buffer.from('xxhelloyy');
  d.apply({ type: OpCode.create, path: '/m/e', data: chunk.subarray(2, 7), acl: acl(), ephemeral: false, parentCVersion: -1 });
  d.apply({ type: OpCode.setData, path: '/m/c', data: chunk.subarray(0, 2), version: 1 });
  const big = Buffer.alloc(10_000, 0x62);
  d.apply({ type: OpCode.create, path: '/m/f', data: big.subarray(1, 5001), acl: acl(), ephemeral: false, parentCVersion: -1 });
  big.fill(0x7a);
  assert.deepEqual(d.tree.getNode('/m/f')!.data, Buffer.alloc(5000, 0x62));
  chunk.fill(0x7a);
  assert.equal(d.tree.getNode('/m/e')!.data.toString(), 'hello');
  assert.equal(d.tree.getNode('/m/c')!.data.toString(), 'xx');
  assert.equal(d.tree.computeDigestFromScratch(), d.tree.treeDigest);
});
