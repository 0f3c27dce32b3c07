import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Code } from '../../src/protocol/errors.js';
import { DataTree } from '../../src/tree/datatree.js';
import { QuotaRoots, StatsTrack } from '../../src/tree/quota.js';
import { createLogger } from '../../src/util/log.js';
import { Driver } from './helpers.js';

void test('StatsTrack parses and formats as upstream (formats seen on the oracle)', () => {
  const lim = StatsTrack.parse('count=3,bytes=-1=;byteHardLimit=-1;countHardLimit=-1');
  assert.deepEqual([lim.count, lim.bytes, lim.countHardLimit, lim.byteHardLimit], [3, -1, -1, -1]);
  assert.equal(lim.toString(), 'count=3,bytes=-1=;byteHardLimit=-1;countHardLimit=-1');
  const st = new StatsTrack();
  st.count = 2;
  st.bytes = 1;
  assert.equal(st.toString(), 'count=2,bytes=1');
  assert.equal(StatsTrack.parse('').count, -1);
  assert.equal(StatsTrack.parse('count=5,bytes=').bytes, -1);
});

void test('QuotaRoots: deepest prefix, root ignored, delete drops descendants', () => {
  const q = new QuotaRoots();
  q.add('/a');
  q.add('/a/b');
  assert.equal(q.maxPrefix('/a/b/c'), '/a/b');
  assert.equal(q.maxPrefix('/a/bc'), '/a');
  assert.equal(q.maxPrefix('/x'), undefined);
  q.add('/');
  assert.equal(q.maxPrefix('/x'), undefined);
  q.delete('/a');
  assert.equal(q.maxPrefix('/a/b/c'), undefined);
});

/** Sets a quota the way zkCli setquota does: limits node first, then the stats node (recounted by the tree). */
function setQuota(d: Driver, path: string, limits: string): void {
  for (const p of ['/zookeeper/quota' + path.split('/').slice(0, -1).join('/'), '/zookeeper/quota' + path]) {
    if (p !== '/zookeeper/quota' && !d.tree.getNode(p)) d.create(p);
  }
  d.create(`/zookeeper/quota${path}/zookeeper_limits`, limits);
  d.create(`/zookeeper/quota${path}/zookeeper_stats`, 'count=0,bytes=0');
}

void test('stats node kept current in place: data changes, mzxid/version do not (oracle sequence)', () => {
  const d = new Driver();
  d.create('/a', 'x');
  d.create('/a/b');
  d.create('/a/c');
  d.del('/a/b');
  setQuota(d, '/a', 'count=3,bytes=-1=;byteHardLimit=-1;countHardLimit=-1');
  const stats = () => d.tree.getNode('/zookeeper/quota/a/zookeeper_stats')!;
  assert.equal(stats().data.toString(), 'count=2,bytes=1');
  const { mzxid, version } = stats();
  d.create('/a/d', '12345');
  d.set('/a/d', '123');
  assert.equal(stats().data.toString(), 'count=3,bytes=4');
  d.del('/a/d');
  assert.equal(stats().data.toString(), 'count=2,bytes=1');
  assert.deepEqual([stats().mzxid, stats().version], [mzxid, version]);
  assert.equal(d.tree.approximateDataSize(), [...['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config', '/a', '/a/c',
    '/zookeeper/quota/a', '/zookeeper/quota/a/zookeeper_limits', '/zookeeper/quota/a/zookeeper_stats']]
    .reduce((n, p) => n + p.length + d.tree.getNode(p)!.data.length, 0) + 0);
});

void test('checkQuota: hard limits give QUOTAEXCEEDED, soft limits only warn', () => {
  const lines: string[] = [];
  const d = new Driver(new DataTree({ logger: createLogger({ sink: (l) => lines.push(l), level: 'warn' }) }));
  d.create('/q', 'abc');
  d.create('/q/r');
  setQuota(d, '/q', 'count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=3');
  assert.equal(d.tree.getNode('/zookeeper/quota/q/zookeeper_stats')!.data.toString(), 'count=2,bytes=3');
  assert.equal(d.tree.checkQuota('/q/s', 0, 1), Code.OK);
  d.create('/q/s');
  assert.equal(d.tree.checkQuota('/q/t', 0, 1), Code.QUOTAEXCEEDED);
  assert.equal(d.tree.checkQuota('/q/s', 100, 0), Code.OK, 'no byte limit');
  assert.equal(d.tree.checkQuota('/elsewhere', 0, 1), Code.OK);
  assert.equal(lines.length, 1, 'a hard-limit hit is logged too');
  lines.length = 0;

  setQuota(d, '/soft', 'count=1,bytes=5');
  assert.equal(d.tree.checkQuota('/soft/x', 0, 1), Code.OK);
  assert.equal(lines.length, 0);
  d.create('/soft');
  d.create('/soft/x');
  assert.equal(d.tree.checkQuota('/soft/y', 0, 1), Code.OK);
  assert.equal(d.tree.checkQuota('/soft/x', 6, 0), Code.OK);
  assert.equal(lines.filter((l) => l.includes('Quota exceeded')).length, 2);
  setQuota(d, '/hb', 'count=-1,bytes=-1=;byteHardLimit=4;countHardLimit=-1');
  d.create('/hb', '1234');
  assert.equal(d.tree.checkQuota('/hb', 1, 0), Code.QUOTAEXCEEDED);
  assert.equal(d.tree.checkQuota('/hb', -1, 0), Code.OK);
});

void test('deleting the limits node removes the quota', () => {
  const d = new Driver();
  d.create('/a');
  setQuota(d, '/a', 'count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=1');
  assert.equal(d.tree.checkQuota('/a/b', 0, 1), Code.QUOTAEXCEEDED);
  d.del('/zookeeper/quota/a/zookeeper_limits');
  assert.equal(d.tree.checkQuota('/a/b', 0, 1), Code.OK);
  assert.equal(d.tree.quotaRootOf('/a/b'), undefined);
});
