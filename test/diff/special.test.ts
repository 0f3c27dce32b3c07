// Differential scenarios: container and TTL nodes (reaped by the container manager, run every second here), the
// /zookeeper system subtree, and quotas (nodes as zkCli's setquota writes them, and enforceQuota hard limits).
import { CreateMode, EventType } from '../../src/protocol/constants.js';
import { Q, S, scenarioTests, type Scenario, type ServerSetup } from './harness.js';

const { on } = S;

/** Apache reads the interval as an unprefixed system property; zkts takes the same key from zoo.cfg. */
const FAST_CONTAINERS: ServerSetup = {
  config: { 'znode.container.checkIntervalMs': 1000 },
  oracleSystemProperties: { 'znode.container.checkIntervalMs': '1000' },
};
const EXTENDED_TYPES: ServerSetup = {
  config: { ...FAST_CONTAINERS.config, extendedTypesEnabled: true },
  oracleSystemProperties: { ...FAST_CONTAINERS.oracleSystemProperties, 'zookeeper.extendedTypesEnabled': 'true' },
};

/** The nodes zkCli's `setquota` creates for `path` (SetQuotaCommand.createQuota), limits first, then stats. */
function setQuota(s: string, path: string, limits: string): ReturnType<typeof on>[] {
  const parts = path.split('/').filter(Boolean);
  const dirs = parts.map((_, i) => `/zookeeper/quota/${parts.slice(0, i + 1).join('/')}`);
  const dir = dirs[dirs.length - 1];
  return [
    ...dirs.map((d) => on(s, Q.create(d, null))),
    on(s, Q.create(`${dir}/zookeeper_limits`, limits)),
    on(s, Q.create(`${dir}/zookeeper_stats`, 'count=0,bytes=0')),
  ];
}

const scenarios: Scenario[] = [
  {
    name: 'containers are reaped once emptied',
    server: FAST_CONTAINERS,
    steps: [
      S.connect('A'),
      S.connect('B'),
      on('A', Q.container('/c', 'cdata')),
      on('A', Q.get('/c')),
      on('A', Q.container('/c2', '')),
      on('A', Q.create('/c3', '', CreateMode.CONTAINER)),
      on('A', Q.create('/c/x', '')),
      on('A', Q.create('/c3/x', '')),
      on('A', Q.create('/c/e', '', CreateMode.EPHEMERAL)),
      on('A', Q.ls2('/c')),
      on('A', Q.del('/c/x')),
      on('B', Q.exists('/c', true)),
      on('B', Q.exists('/c3', true)),
      on('B', Q.ls('/', true)),
      S.sleep(2500),
      on('A', Q.exists('/c')),
      on('A', Q.del('/c/e')),
      S.awaitEvent('B', EventType.NodeDeleted, '/c'),
      on('A', Q.exists('/c')),
      on('A', Q.exists('/c2')),
      on('A', Q.del('/c3/x')),
      // create (opcode 1) with the CONTAINER flag makes a plain persistent node on ZooKeeper 3.8.0: never reaped.
      S.awaitEvent('B', EventType.NodeDeleted, '/c3', 3000),
      on('A', Q.container('/c4', '')),
      on('A', Q.container('/c4/sub', '')),
      on('A', Q.create('/c4/sub/leaf', '')),
      on('B', Q.exists('/c4', true)),
      on('A', Q.del('/c4/sub/leaf')),
      S.awaitEvent('B', EventType.NodeDeleted, '/c4'),
      on('A', Q.exists('/c4/sub')),
      on('A', Q.ls2('/')),
    ],
    mustContain: ['NodeDeleted "/c"', 'NodeDeleted "/c4"'],
  },
  {
    name: 'ttl nodes with extended types',
    server: EXTENDED_TYPES,
    steps: [
      S.connect('A'),
      S.connect('B'),
      on('A', Q.ttl('/t', 500)),
      on('A', Q.get('/t')),
      on('A', Q.ttl('/ts-', 500, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL)),
      on('A', Q.ttl('/t0', 0)),
      on('A', Q.ttl('/tneg', -5)),
      on('A', Q.ttl('/tbig', 0x10000000000)),
      on('A', Q.ttl('/tmax', 0xffffffffff)),
      on('A', Q.ttl('/tplain', 500, CreateMode.PERSISTENT)),
      on('A', Q.ttl('/teph', 500, CreateMode.EPHEMERAL)),
      on('A', Q.create('/t2', '', CreateMode.PERSISTENT_WITH_TTL)),
      on('A', Q.multi(Q.ttl('/tm', 500), Q.create('/tm/c', ''))),
      on('A', Q.ttl('/tkeep', 500)),
      on('A', Q.create('/tkeep/c', '')),
      on('B', Q.exists('/t', true)),
      on('B', Q.exists('/ts-0000000001', true)),
      on('B', Q.exists('/tkeep', true)),
      S.awaitEvent('B', EventType.NodeDeleted, ['/t', '/ts-0000000001']),
      S.sleep(1500),
      on('A', Q.exists('/tkeep')),
      on('A', Q.exists('/tmax')),
      on('A', Q.del('/tkeep/c')),
      S.awaitEvent('B', EventType.NodeDeleted, '/tkeep'),
      on('A', Q.ls('/')),
    ],
    mustContain: ['NodeDeleted "/t"'],
  },
  {
    name: 'ttl nodes without extended types',
    steps: [
      on('A', Q.ttl('/t', 500)),
      on('A', Q.ttl('/t', 500, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL)),
      on('A', Q.ttl('/t', 0)),
      on('A', Q.create('/t', '', CreateMode.PERSISTENT_WITH_TTL)),
      on('A', Q.multi(Q.ttl('/tm', 500))),
      on('A', Q.create2('/ok', '')),
    ],
    mustContain: ['UNIMPLEMENTED'],
  },
  {
    name: 'system nodes under /zookeeper',
    steps: [
      on('A', Q.ls2('/')),
      on('A', Q.get('/')),
      on('A', Q.getACL('/')),
      on('A', Q.ls2('/zookeeper')),
      on('A', Q.get('/zookeeper')),
      on('A', Q.getACL('/zookeeper')),
      on('A', Q.ls2('/zookeeper/quota')),
      on('A', Q.get('/zookeeper/quota')),
      on('A', Q.getACL('/zookeeper/quota')),
      on('A', Q.ls2('/zookeeper/config')),
      on('A', Q.get('/zookeeper/config')),
      on('A', Q.getACL('/zookeeper/config')),
      on('A', Q.countAll('/zookeeper')),
      on('A', Q.countAll('/')),
      on('A', Q.set('/zookeeper/config', 'x')),
      on('A', Q.create('/zookeeper/config/c', '')),
      on('A', Q.del('/zookeeper/config')),
      on('A', Q.del('/zookeeper/quota')),
      on('A', Q.create('/zookeeper/mine', 'm')),
      on('A', Q.ls2('/zookeeper')),
      on('A', Q.del('/zookeeper/mine')),
      on('A', Q.set('/zookeeper', 'z')),
      on('A', Q.set('/zookeeper/quota', 'q')),
      on('A', Q.get('/zookeeper/quota')),
      on('A', Q.setACL('/zookeeper/quota', [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }])),
      on('A', Q.exists('/zookeeper/quota')),
    ],
  },
  {
    name: 'quota nodes and stats (soft limits)',
    server: { config: { enforceQuota: true } },
    steps: [
      on('A', Q.create('/qa', 'abc')),
      ...setQuota('A', '/qa', 'count=2,bytes=100'),
      on('A', Q.get('/zookeeper/quota/qa/zookeeper_limits')),
      on('A', Q.get('/zookeeper/quota/qa/zookeeper_stats')),
      on('A', Q.create('/qa/b', '12345')),
      on('A', Q.get('/zookeeper/quota/qa/zookeeper_stats')),
      on('A', Q.create('/qa/c', '')),
      on('A', Q.create('/qa/d', Buffer.alloc(150, 0x41))),
      on('A', Q.set('/qa', Buffer.alloc(200, 0x42))),
      on('A', Q.get('/zookeeper/quota/qa/zookeeper_stats')),
      on('A', Q.del('/qa/c')),
      on('A', Q.get('/zookeeper/quota/qa/zookeeper_stats')),
      on('A', Q.create('/qb', '')),
      on('A', Q.create('/qb/x', 'xx')),
      ...setQuota('A', '/qb/x', 'count=5,bytes=-1'),
      on('A', Q.get('/zookeeper/quota/qb/x/zookeeper_stats')),
      on('A', Q.create('/qb/x/y', 'yyy')),
      on('A', Q.get('/zookeeper/quota/qb/x/zookeeper_stats')),
      on('A', Q.ls2('/zookeeper/quota')),
      on('A', Q.countAll('/zookeeper')),
    ],
  },
  {
    name: 'quota hard limits with enforceQuota',
    server: { config: { enforceQuota: true } },
    steps: [
      on('A', Q.create('/qh', '')),
      ...setQuota('A', '/qh', 'count=-1,bytes=-1=;byteHardLimit=20;countHardLimit=3'),
      on('A', Q.get('/zookeeper/quota/qh/zookeeper_stats')),
      on('A', Q.create('/qh/a', '0123456789')),
      on('A', Q.create('/qh/b', '')),
      on('A', Q.create('/qh/c', '')),
      on('A', Q.create('/qh/b/c', '')),
      on('A', Q.set('/qh/a', '012345678901234567890123')),
      on('A', Q.set('/qh/a', '0123456789ABCDEF')),
      on('A', Q.multi(Q.del('/qh/b'), Q.create('/qh/d', ''))),
      on('A', Q.multi(Q.create('/qh/e', ''), Q.create('/qh/f', ''))),
      on('A', Q.get('/zookeeper/quota/qh/zookeeper_stats')),
      on('A', Q.create('/qh/s-', '', CreateMode.PERSISTENT_SEQUENTIAL)),
      on('A', Q.ls2('/qh')),
    ],
    mustContain: ['QUOTAEXCEEDED'],
  },
];

scenarioTests(scenarios);
