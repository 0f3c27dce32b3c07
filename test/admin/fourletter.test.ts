// Four-letter words against the text Apache ZooKeeper 3.8.0 produced (captured with startOracle and fourLetter on
// a standalone server with two node-zookeeper-client sessions, ephemerals and watches). The fake view below holds
// the same state, so each expected string is the oracle's output verbatim except where a comment says otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FOUR_LETTER_CODES, LAST_OP_NAMES, ZK_NOT_SERVING, isFourLetterWord, runFourLetter } from '../../src/admin/fourletter.js';
import { environmentEntries, gatherEnvironmentFacts } from '../../src/admin/environment.js';
import { javaDateString, javaDouble, javaSocketAddress } from '../../src/admin/javaFormat.js';
import type { ConnectionInfo, ServerView } from '../../src/admin/view.js';

const VERSION = '3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC';
const S1 = 0x100000529860000n;
const S2 = 0x100000529860001n;
const T51 = Date.UTC(2026, 10, 21, 23, 30, 51);
const T55 = Date.UTC(2026, 10, 21, 23, 30, 55);

function conn(port: number, over: Partial<ConnectionInfo> = {}): ConnectionInfo {
  return {
    remoteHost: '127.0.0.1', remotePort: port, interestOps: 1, queued: 0, packetsReceived: 0, packetsSent: 0,
    sessionId: 0n, lastOperation: 'NA', establishedWallMs: 0, sessionTimeoutMs: 0, lastCxid: -1, lastZxid: -1n,
    lastResponseTimeMs: 0, lastLatencyMs: 0, minLatencyMs: 0, avgLatencyMs: 0, maxLatencyMs: 0, ...over,
  };
}

class FakeView implements ServerView {
  readonly version = VERSION;
  running = true;
  readOnly = false;
  resets = { stats: 0, cnxn: 0 };
  cnxns: ConnectionInfo[] = [
    conn(55844, {
      packetsReceived: 6, packetsSent: 6, sessionId: S1, lastOperation: 'GETC', establishedWallMs: 1795303844136,
      sessionTimeoutMs: 10000, lastCxid: 4, lastZxid: 6n, lastResponseTimeMs: 338580, lastLatencyMs: 3,
      minLatencyMs: 0, avgLatencyMs: 3, maxLatencyMs: 8,
    }),
    conn(55906, { interestOps: 0, packetsReceived: 1 }),
    conn(55852, {
      packetsReceived: 4, packetsSent: 4, sessionId: S2, lastOperation: 'EXIS', establishedWallMs: 1795303844154,
      sessionTimeoutMs: 6000, lastCxid: 2, lastZxid: 6n, lastResponseTimeMs: 338583, lastLatencyMs: 0,
      minLatencyMs: 0, avgLatencyMs: 0, maxLatencyMs: 1,
    }),
  ];
  isRunning() { return this.running; }
  mode() { return 'standalone' as const; }
  isReadOnly() { return this.readOnly; }
  latency() { return { minMs: 0, avgMs: 2.6, maxMs: 8 }; }
  packetsReceived() { return 12; }
  packetsSent() { return 12; }
  numAliveConnections() { return 3; }
  outstandingRequests() { return 0; }
  lastProcessedZxid() { return 6n; }
  nodeCount() { return 9; }
  connections() { return this.cnxns; }
  sessionExpiry() {
    return [{ expiresWallMs: T51, members: [S2] }, { expiresWallMs: T55, members: [S1] }];
  }
  sessionCount() { return 2; }
  ephemerals(): Array<readonly [bigint, readonly string[]]> { return [[S2, ['/e3']], [S1, ['/a/e1', '/e2']]]; }
  connectionExpiry() {
    return [{
      expiresWallMs: T55,
      members: [
        { remoteHost: '127.0.0.1', remotePort: 55844, sessionId: S1 },
        { remoteHost: '127.0.0.1', remotePort: 55852, sessionId: S2 },
        { remoteHost: '127.0.0.1', remotePort: 55918, sessionId: 0n },
      ],
    }];
  }
  connectionExpiryCount() { return 3; }
  watchSummary() { return { connections: 2, paths: 2, total: 3 }; }
  watchesBySession(): Array<readonly [bigint, readonly string[]]> { return [[S1, ['/a']], [S2, ['/a', '/nonexist']]]; }
  watchesByPath(): Array<readonly [string, readonly bigint[]]> { return [['/a', [S2, S1]], ['/nonexist', [S2]]]; }
  conf() {
    return {
      clientPort: 41043, secureClientPort: -1, dataDir: '/tmp/zkts-apache-6sfUQS/data/version-2', dataDirSize: 67109337,
      dataLogDir: '/tmp/zkts-apache-6sfUQS/data/version-2', dataLogSize: 67109337, tickTime: 2000, maxClientCnxns: 0,
      minSessionTimeout: 4000, maxSessionTimeout: 40000, clientPortListenBacklog: -1, serverId: 0,
    };
  }
  dataDirSize() { return 67109337; }
  logDirSize() { return 67109337; }
  environment(): Array<readonly [string, string]> {
    return [['zookeeper.version', VERSION], ['host.name', 'localhost'], ['os.memory.total', '380MB']];
  }
  monitorStats() {
    return {
      ephemeralsCount: 3, numAliveConnections: 3, avgLatencyMs: 2.6, outstandingRequests: 0, znodeCount: 9,
      globalSessions: 2, localSessions: 0, packetsSent: 18, packetsReceived: 18, watchCount: 4, authFailedCount: 0,
      minLatencyMs: 0, maxLatencyMs: 8, approximateDataSize: 59, openFileDescriptorCount: 44,
      maxFileDescriptorCount: 20000, uptimeMs: 338,
    };
  }
  extraMetrics(): Array<readonly [string, number | { double: number }]> {
    return [['proposal_count', 0], ['avg_fsynctime', { double: 0 }], ['p99_readlatency', 0.5]];
  }
  traceMask() { return 306n; }
  digestLog(): Array<{ zxid: bigint; digest: bigint }> { return []; }
  resetStats() { this.resets.stats++; }
  resetConnectionStats() { this.resets.cnxn++; }
}

const ALL = '*';

void test('command codes are the first four bytes as a big-endian int32', () => {
  assert.equal(FOUR_LETTER_CODES.ruok, 0x72756f6b);
  assert.equal(FOUR_LETTER_CODES.srvr, 1936881266);
  assert.equal(isFourLetterWord(Buffer.from('mntr')), 'mntr');
  assert.equal(isFourLetterWord(Buffer.from('stat and more')), 'stat');
  assert.equal(isFourLetterWord(Buffer.from([0, 0, 0, 45])), undefined);
  assert.equal(isFourLetterWord(Buffer.from('ruo')), undefined);
  assert.equal(isFourLetterWord(Buffer.from([0xff, 0xf4, 0xff, 0xfd])), undefined);
  assert.equal(Object.keys(FOUR_LETTER_CODES).length, 18);
});

void test('ruok, isro, gtmk', () => {
  const v = new FakeView();
  assert.equal(runFourLetter('ruok', v, ALL), 'imok');
  assert.equal(runFourLetter('isro', v, ALL), 'rw');
  assert.equal(runFourLetter('gtmk', v, ALL), '306');
  assert.equal(runFourLetter('stmk', v, ALL, 0x1ffn), '511');
  v.readOnly = true;
  assert.equal(runFourLetter('isro', v, ALL), 'ro');
  v.running = false;
  assert.equal(runFourLetter('isro', v, ALL), 'null');
  assert.equal(runFourLetter('ruok', v, ALL), 'imok');
});

void test('srvr', () => {
  assert.equal(runFourLetter('srvr', new FakeView(), ALL),
    `Zookeeper version: ${VERSION}\nLatency min/avg/max: 0/2.6/8\nReceived: 12\nSent: 12\nConnections: 3\n` +
    'Outstanding: 0\nZxid: 0x6\nMode: standalone\nNode count: 9\n');
});

void test('stat lists clients briefly', () => {
  assert.equal(runFourLetter('stat', new FakeView(), ALL),
    `Zookeeper version: ${VERSION}\nClients:\n` +
    ' /127.0.0.1:55844[1](queued=0,recved=6,sent=6)\n /127.0.0.1:55906[0](queued=0,recved=1,sent=0)\n' +
    ' /127.0.0.1:55852[1](queued=0,recved=4,sent=4)\n\n' +
    'Latency min/avg/max: 0/2.6/8\nReceived: 12\nSent: 12\nConnections: 3\nOutstanding: 0\nZxid: 0x6\n' +
    'Mode: standalone\nNode count: 9\n');
});

void test('cons, and cons after crst', () => {
  const v = new FakeView();
  assert.equal(runFourLetter('cons', v, ALL),
    ' /127.0.0.1:55844[1](queued=0,recved=6,sent=6,sid=0x100000529860000,lop=GETC,est=1795303844136,to=10000,' +
    'lcxid=0x4,lzxid=0x6,lresp=338580,llat=3,minlat=0,avglat=3,maxlat=8)\n' +
    ' /127.0.0.1:55906[0](queued=0,recved=1,sent=0)\n' +
    ' /127.0.0.1:55852[1](queued=0,recved=4,sent=4,sid=0x100000529860001,lop=EXIS,est=1795303844154,to=6000,' +
    'lcxid=0x2,lzxid=0x6,lresp=338583,llat=0,minlat=0,avglat=0,maxlat=1)\n\n');
  assert.equal(runFourLetter('crst', v, ALL), 'Connection stats reset.\n');
  assert.equal(v.resets.cnxn, 1);
  v.cnxns = [conn(55844, { sessionId: S1, establishedWallMs: 1795303844136, sessionTimeoutMs: 10000 })];
  assert.equal(runFourLetter('cons', v, ALL),
    ' /127.0.0.1:55844[1](queued=0,recved=0,sent=0,sid=0x100000529860000,lop=NA,est=1795303844136,to=10000,' +
    'lzxid=0xffffffffffffffff,lresp=0,llat=0,minlat=0,avglat=0,maxlat=0)\n\n');
});

void test('srst', () => {
  const v = new FakeView();
  assert.equal(runFourLetter('srst', v, ALL), 'Server stats reset.\n');
  assert.equal(v.resets.stats, 1);
});

void test('conf, standalone and quorum', () => {
  const v = new FakeView();
  const standalone = 'clientPort=41043\nsecureClientPort=-1\ndataDir=/tmp/zkts-apache-6sfUQS/data/version-2\n' +
    'dataDirSize=67109337\ndataLogDir=/tmp/zkts-apache-6sfUQS/data/version-2\ndataLogSize=67109337\ntickTime=2000\n' +
    'maxClientCnxns=0\nminSessionTimeout=4000\nmaxSessionTimeout=40000\nclientPortListenBacklog=-1\nserverId=0\n';
  assert.equal(runFourLetter('conf', v, ALL), standalone);
  // The quorum part follows QuorumZooKeeperServer.dumpConf (not captured: the oracle runs standalone).
  const base = v.conf();
  v.conf = () => ({
    ...base,
    quorum: {
      initLimit: 10, syncLimit: 5, electionAlg: 3, electionPort: 3888, quorumPort: 2888, peerType: 0,
      membership: 'server.1=a:2888:3888:participant\nserver.2=b:2888:3888:participant\nversion=0',
    },
  });
  assert.equal(runFourLetter('conf', v, ALL), standalone +
    'initLimit=10\nsyncLimit=5\nelectionAlg=3\nelectionPort=3888\nquorumPort=2888\npeerType=0\nmembership: \n' +
    'server.1=a:2888:3888:participant\nserver.2=b:2888:3888:participant\nversion=0');
});

void test('dump', () => {
  assert.equal(runFourLetter('dump', new FakeView(), ALL),
    'SessionTracker dump:\nSession Sets (2)/(2):\n1 expire at Sat Nov 21 23:30:51 UTC 2026:\n\t0x100000529860001\n' +
    '1 expire at Sat Nov 21 23:30:55 UTC 2026:\n\t0x100000529860000\nephemeral nodes dump:\n' +
    'Sessions with Ephemerals (2):\n0x100000529860001:\n\t/e3\n0x100000529860000:\n\t/a/e1\n\t/e2\n' +
    'Connections dump:\nConnections Sets (1)/(3):\n3 expire at Sat Nov 21 23:30:55 UTC 2026:\n' +
    '\tip: /127.0.0.1:55844 sessionId: 0x100000529860000\n\tip: /127.0.0.1:55852 sessionId: 0x100000529860001\n' +
    '\tip: /127.0.0.1:55918 sessionId: 0x0\n');
});

void test('dump of an empty server', () => {
  const v = new FakeView();
  v.sessionExpiry = () => [];
  v.sessionCount = () => 0;
  v.ephemerals = () => [];
  v.connectionExpiry = () => [{
    expiresWallMs: T55, members: [{ remoteHost: '127.0.0.1', remotePort: 55770, sessionId: 0n }],
  }];
  v.connectionExpiryCount = () => 1;
  assert.equal(runFourLetter('dump', v, ALL),
    'SessionTracker dump:\nSession Sets (0)/(0):\nephemeral nodes dump:\nSessions with Ephemerals (0):\n' +
    'Connections dump:\nConnections Sets (1)/(1):\n1 expire at Sat Nov 21 23:30:55 UTC 2026:\n' +
    '\tip: /127.0.0.1:55770 sessionId: 0x0\n');
});

void test('wchs, wchc, wchp, busy and empty', () => {
  const v = new FakeView();
  assert.equal(runFourLetter('wchs', v, ALL), '2 connections watching 2 paths\nTotal watches:3\n');
  assert.equal(runFourLetter('wchc', v, ALL), '0x100000529860000\n\t/a\n0x100000529860001\n\t/a\n\t/nonexist\n\n');
  assert.equal(runFourLetter('wchp', v, ALL), '/a\n\t0x100000529860001\n\t0x100000529860000\n/nonexist\n\t0x100000529860001\n\n');
  v.watchSummary = () => ({ connections: 0, paths: 0, total: 0 });
  v.watchesBySession = () => [];
  v.watchesByPath = () => [];
  assert.equal(runFourLetter('wchs', v, ALL), '0 connections watching 0 paths\nTotal watches:0\n');
  assert.equal(runFourLetter('wchc', v, ALL), '\n');
  assert.equal(runFourLetter('wchp', v, ALL), '\n');
});

void test('dirs', () => {
  assert.equal(runFourLetter('dirs', new FakeView(), ALL), 'datadir_size: 67109337\nlogdir_size: 67109337\n');
});

void test('envi prints even when not serving', () => {
  const v = new FakeView();
  v.running = false;
  assert.equal(runFourLetter('envi', v, ALL),
    `Environment:\nzookeeper.version=${VERSION}\nhost.name=localhost\nos.memory.total=380MB\n`);
});

void test('mntr: zk_ prefix, tab, version and state first, longs and doubles as Java prints them', () => {
  const lines = runFourLetter('mntr', new FakeView(), ALL).split('\n');
  assert.deepEqual(lines.slice(0, 19), [
    `zk_version\t${VERSION}`, 'zk_server_state\tstandalone', 'zk_ephemerals_count\t3', 'zk_num_alive_connections\t3',
    'zk_avg_latency\t2.6', 'zk_outstanding_requests\t0', 'zk_znode_count\t9', 'zk_global_sessions\t2',
    'zk_packets_sent\t18', 'zk_packets_received\t18', 'zk_watch_count\t4', 'zk_auth_failed_count\t0',
    'zk_min_latency\t0', 'zk_max_file_descriptor_count\t20000', 'zk_approximate_data_size\t59',
    'zk_open_file_descriptor_count\t44', 'zk_local_sessions\t0', 'zk_uptime\t338', 'zk_max_latency\t8',
  ]);
  assert.deepEqual(lines.slice(19), ['zk_proposal_count\t0', 'zk_avg_fsynctime\t0.0', 'zk_p99_readlatency\t0.5', '']);
});

void test('not serving: the message, with a newline except for hash', () => {
  const v = new FakeView();
  v.running = false;
  for (const cmd of ['srvr', 'stat', 'conf', 'cons', 'crst', 'srst', 'dump', 'mntr', 'wchs', 'wchc', 'wchp', 'dirs']) {
    assert.equal(runFourLetter(cmd, v, ALL), 'This ZooKeeper instance is not currently serving requests\n', cmd);
  }
  assert.equal(runFourLetter('hash', v, ALL), ZK_NOT_SERVING);
  assert.equal(v.resets.stats + v.resets.cnxn, 0);
});

void test('hash lists zxid: digest pairs', () => {
  const v = new FakeView();
  assert.equal(runFourLetter('hash', v, ALL), '');
  v.digestLog = () => [{ zxid: 0x80n, digest: -5n }, { zxid: 0x100n, digest: 1234n }];
  assert.equal(runFourLetter('hash', v, ALL), '80: -5\n100: 1234\n');
});

void test('whitelist', () => {
  const v = new FakeView();
  const wl = new Set(['ruok', 'stat', 'srvr']);
  assert.equal(runFourLetter('conf', v, wl), 'conf is not executed because it is not in the whitelist.\n');
  assert.equal(runFourLetter('isro', v, wl), 'isro is not executed because it is not in the whitelist.\n');
  assert.equal(runFourLetter('srst', v, wl), 'srst is not executed because it is not in the whitelist.\n');
  assert.equal(v.resets.stats, 0);
  assert.equal(runFourLetter('ruok', v, wl), 'imok');
  v.running = false;
  assert.equal(runFourLetter('envi', v, wl), 'envi is not executed because it is not in the whitelist.\n');
  assert.throws(() => runFourLetter('nope', v, ALL), RangeError);
});

void test('last-op names', () => {
  assert.equal(LAST_OP_NAMES[3], 'EXIS');
  assert.equal(LAST_OP_NAMES[12], 'GETC');
  assert.equal(LAST_OP_NAMES[-10], 'SESS');
  assert.equal(LAST_OP_NAMES[11], 'PING');
});

void test('Java formats', () => {
  assert.equal(javaDateString(T51), 'Sat Nov 21 23:30:51 UTC 2026');
  assert.equal(javaDateString(Date.UTC(2025, 0, 5, 3, 4, 5)), 'Sun Jan 05 03:04:05 UTC 2025');
  assert.equal(javaDouble(0), '0.0');
  assert.equal(javaDouble(2.6), '2.6');
  assert.equal(javaDouble(3), '3.0');
  assert.equal(javaDouble(1e7), '1.0E7');
  assert.equal(javaDouble(12345678.5), '1.23456785E7');
  assert.equal(javaDouble(0.0001), '1.0E-4');
  assert.equal(javaDouble(0.001), '0.001');
  assert.equal(javaSocketAddress('127.0.0.1', 1), '/127.0.0.1:1');
  assert.equal(javaSocketAddress('::ffff:10.0.0.2', 2), '/10.0.0.2:2');
  assert.equal(javaSocketAddress('::1', 3), '/[0:0:0:0:0:0:0:1]:3');
  assert.equal(javaSocketAddress('fe80::1%eth0', 4), '/[fe80:0:0:0:0:0:0:1]:4');
  assert.equal(javaSocketAddress('2001:db8::ff00:42:8329', 5), '/[2001:db8:0:0:0:ff00:42:8329]:5');
});

void test('envi keys are ZooKeeper\'s, in its order, with Node values', () => {
  const keys = environmentEntries(gatherEnvironmentFacts('v')).map(([k]) => k);
  assert.deepEqual(keys, [
    'zookeeper.version', 'host.name', 'java.version', 'java.vendor', 'java.home', 'java.class.path',
    'java.library.path', 'java.io.tmpdir', 'java.compiler', 'os.name', 'os.arch', 'os.version', 'user.name',
    'user.home', 'user.dir', 'os.memory.free', 'os.memory.max', 'os.memory.total',
  ]);
  const facts = gatherEnvironmentFacts('v');
  assert.equal(facts.runtimeVersion, process.versions.node);
  assert.match(environmentEntries(facts)[17][1], /^\d+MB$/);
});
