// zoo.cfg parsing: defaults as ZooKeeper 3.8 (QuorumPeerConfig), the system-property keys under both spellings,
// server lines, and every rejection naming its key and value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, DEFAULT_CONFIG_TEXT, loadConfig, parseConfig, parseServerLine } from '../../src/config/zoocfg.js';
import { createLogger } from '../../src/util/log.js';

const BASE = 'tickTime=2000\ndataDir=/var/zk\n';
const parse = (extra: string, opts = {}) => parseConfig(BASE + extra, opts);

function rejects(text: string, ...mustMention: string[]): void {
  assert.throws(() => parseConfig(text), (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    for (const m of mustMention) assert.ok(e.message.includes(m), `"${e.message}" should mention "${m}"`);
    return true;
  });
}

void test('defaults match ZooKeeper 3.8', () => {
  const c = parse('clientPort=2181\n');
  assert.equal(c.tickTime, 2000);
  assert.equal(c.dataDir, '/var/zk');
  assert.equal(c.dataLogDir, '/var/zk');
  assert.equal(c.clientPort, 2181);
  assert.equal(c.clientPortAddress, undefined);
  assert.equal(c.secureClientPort, 0);
  assert.equal(c.clientPortListenBacklog, -1);
  assert.equal(c.maxClientCnxns, 60);
  assert.equal(c.maxCnxns, 0);
  assert.equal(c.minSessionTimeout, 4000);
  assert.equal(c.maxSessionTimeout, 40000);
  assert.equal(c.globalOutstandingLimit, 1000);
  assert.deepEqual(c.fourLetterWhitelist, new Set(['srvr']));
  assert.equal(c.extendedTypesEnabled, false);
  assert.equal(c.superDigest, undefined);
  assert.equal(c.skipACL, false);
  assert.equal(c.enforceQuota, false);
  assert.equal(c.juteMaxBuffer, 0xfffff);
  assert.equal(c.snapCount, 100000);
  assert.equal(c.preAllocSizeKb, 65536);
  assert.equal(c.autopurgeSnapRetainCount, 3);
  assert.equal(c.autopurgePurgeIntervalHours, 0);
  assert.equal(c.containerCheckIntervalMs, 60000);
  assert.equal(c.initLimit, 0);
  assert.equal(c.syncLimit, 0);
  assert.equal(c.electionAlg, 3);
  assert.equal(c.peerType, 'participant');
  assert.equal(c.standaloneEnabled, true);
  assert.equal(c.reconfigEnabled, false);
  assert.equal(c.localSessionsEnabled, false);
  assert.equal(c.adminEnableServer, true);
  assert.equal(c.adminServerPort, 8080);
  assert.equal(c.adminServerAddress, '0.0.0.0');
  assert.equal(c.adminCommandUrl, '/commands');
  assert.equal(c.serverId, undefined);
  assert.deepEqual(c.servers, []);
  assert.equal(c.distributed, false);
  assert.equal(c.extra.size, 0);
  assert.deepEqual([...c.properties.keys()], ['tickTime', 'dataDir', 'clientPort']);
});

void test('explicit values, trimmed, and session timeout bounds', () => {
  const c = parse(
    'dataLogDir = /var/zklog   \nclientPort: 2182\nclientPortAddress 127.0.0.1\nmaxClientCnxns=0\n' +
      'minSessionTimeout=1000\nmaxSessionTimeout=90000\nautopurge.snapRetainCount=1\nautopurge.purgeInterval=24\n',
  );
  assert.equal(c.dataLogDir, '/var/zklog');
  assert.equal(c.clientPort, 2182);
  assert.equal(c.clientPortAddress, '127.0.0.1');
  assert.equal(c.maxClientCnxns, 0);
  assert.equal(c.minSessionTimeout, 1000);
  assert.equal(c.maxSessionTimeout, 90000);
  assert.equal(c.autopurgeSnapRetainCount, 3, 'raised to the minimum of 3');
  assert.equal(c.autopurgePurgeIntervalHours, 24);
  assert.equal(parse('minSessionTimeout=-1\nmaxSessionTimeout=-1\n').maxSessionTimeout, 40000);
});

void test('system-property settings are read under both spellings; the zookeeper. one wins', () => {
  const plain = parse(
    '4lw.commands.whitelist=ruok, stat ,,mntr\nextendedTypesEnabled=true\nenforceQuota=true\njute.maxbuffer=4194304\n' +
      'DigestAuthenticationProvider.superDigest=super:abc=\nskipACL=yes\nsnapCount=5000\npreAllocSize=1024\n' +
      'globalOutstandingLimit=77\nznode.container.checkIntervalMs=1000\nadmin.serverPort=9090\nadmin.enableServer=false\n',
  );
  assert.deepEqual(plain.fourLetterWhitelist, new Set(['ruok', 'stat', 'mntr', 'srvr']));
  assert.equal(plain.extendedTypesEnabled, true);
  assert.equal(plain.enforceQuota, true);
  assert.equal(plain.juteMaxBuffer, 4194304);
  assert.equal(plain.superDigest, 'super:abc=');
  assert.equal(plain.skipACL, true);
  assert.equal(plain.snapCount, 5000);
  assert.equal(plain.preAllocSizeKb, 1024);
  assert.equal(plain.globalOutstandingLimit, 77);
  assert.equal(plain.containerCheckIntervalMs, 1000);
  assert.equal(plain.adminServerPort, 9090);
  assert.equal(plain.adminEnableServer, false);
  assert.equal(plain.extra.size, 0);

  const prefixed = parse(
    'zookeeper.4lw.commands.whitelist=*\nzookeeper.extendedTypesEnabled=true\nzookeeper.jute.maxbuffer=100\n' +
      'zookeeper.enforceQuota=true\nzookeeper.DigestAuthenticationProvider.superDigest=super:x\n',
  );
  assert.equal(prefixed.fourLetterWhitelist, '*');
  assert.equal(prefixed.extendedTypesEnabled, true);
  assert.equal(prefixed.juteMaxBuffer, 100);
  assert.equal(prefixed.enforceQuota, true);
  assert.equal(prefixed.superDigest, 'super:x');

  const both = parse('jute.maxbuffer=1\nzookeeper.jute.maxbuffer=2\n');
  assert.equal(both.juteMaxBuffer, 2);
});

void test('whitelist: * anywhere means all; readonly mode adds isro; srvr is always in', () => {
  assert.equal(parse('4lw.commands.whitelist=ruok, *\n').fourLetterWhitelist, '*');
  assert.deepEqual(parse('readonlymode.enabled=true\n4lw.commands.whitelist=ruok\n').fourLetterWhitelist,
    new Set(['ruok', 'isro', 'srvr']));
  assert.deepEqual(parse('4lw.commands.whitelist=\n').fourLetterWhitelist, new Set(['srvr']));
});

void test('unknown keys go to extra and properties', () => {
  const c = parse('someFutureKey=42\nmetricsProvider.className=x.Y\n');
  assert.equal(c.extra.get('someFutureKey'), '42');
  assert.equal(c.extra.get('metricsProvider.className'), 'x.Y');
  assert.equal(c.properties.get('someFutureKey'), '42');
});

void test('relative paths resolve against baseDir', () => {
  const c = parseConfig('tickTime=1\ndataDir=data\ndataLogDir=../logs\n', { baseDir: '/opt/zk/conf' });
  assert.equal(c.dataDir, '/opt/zk/conf/data');
  assert.equal(c.dataLogDir, '/opt/zk/logs');
});

void test('server lines', () => {
  assert.deepEqual(parseServerLine('server.1', 'zk1:2888:3888'), {
    id: 1, host: 'zk1', quorumPort: 2888, electionPort: 3888, role: 'participant',
  });
  assert.deepEqual(parseServerLine('server.7', 'zk7:2888:3888:observer;2181'), {
    id: 7, host: 'zk7', quorumPort: 2888, electionPort: 3888, role: 'observer', clientHost: '0.0.0.0', clientPort: 2181,
  });
  assert.deepEqual(parseServerLine('server.2', '[::1]:2888:3888:participant;127.0.0.1:2182'), {
    id: 2, host: '::1', quorumPort: 2888, electionPort: 3888, role: 'participant', clientHost: '127.0.0.1', clientPort: 2182,
  });
});

void test('a quorum config', () => {
  const text = BASE + 'initLimit=10\nsyncLimit=5\nserver.3=c:2890:3890\nserver.1=a:2888:3888\nserver.2=b:2889:3889\n' +
    'server.4=d:2891:3891:observer\n';
  const c = parseConfig(text, { myid: '2\n' });
  assert.equal(c.distributed, true);
  assert.equal(c.serverId, 2);
  assert.deepEqual(c.servers.map((s) => s.id), [1, 2, 3, 4]);
  assert.equal(c.servers[3].role, 'observer');
  assert.equal(c.configVersion, undefined);
  // One participant with standaloneEnabled: standalone, server line ignored.
  assert.equal(parseConfig(BASE + 'server.1=a:2888:3888\n').distributed, false);
  // standaloneEnabled=false makes even one server a quorum.
  assert.equal(parseConfig(BASE + 'standaloneEnabled=false\ninitLimit=5\nsyncLimit=2\nserver.1=a:2888:3888\n',
    { myid: '1' }).distributed, true);
});

void test('dynamic config file', () => {
  const c = parseConfig(BASE + 'initLimit=10\nsyncLimit=5\ndynamicConfigFile=/etc/zoo.cfg.dynamic.100000000\n', {
    myid: '1',
    dynamicConfigText: 'server.1=a:2888:3888\nserver.2=b:2888:3888\nserver.3=c:2888:3888\n',
  });
  assert.equal(c.servers.length, 3);
  assert.equal(c.configVersion, 0x100000000n);
  assert.equal(c.dynamicConfigFile, '/etc/zoo.cfg.dynamic.100000000');
  rejects(BASE + 'dynamicConfigFile=/x\nserver.1=a:1:2\n', 'server.1', 'separate dynamic config file');
  assert.throws(() => parseConfig(BASE + 'dynamicConfigFile=/x\n', { dynamicConfigText: 'tickTime=3\n' }), /tickTime/);
});

void test('errors name the key and the value', () => {
  rejects('dataDir=/x\n', 'tickTime is not set');
  rejects('tickTime=2000\n', 'dataDir is not set');
  rejects('tickTime=abc\ndataDir=/x\n', 'tickTime', 'abc');
  rejects('tickTime=0\ndataDir=/x\n', 'tickTime', '0');
  rejects('tickTime=99999999999\ndataDir=/x\n', 'tickTime', '99999999999');
  rejects(BASE + 'clientPort=-1\n', 'clientPort', '-1');
  rejects(BASE + 'clientPort=70000\n', 'clientPort', '70000');
  rejects(BASE + 'clientPort=21 81\n', 'clientPort', '21 81');
  rejects(BASE + 'clientPortAddress=1.2.3.4\n', 'clientPortAddress', '1.2.3.4');
  rejects(BASE + 'maxClientCnxns=many\n', 'maxClientCnxns', 'many');
  rejects(BASE + 'maxClientCnxns=-3\n', 'maxClientCnxns', '-3');
  rejects(BASE + 'minSessionTimeout=50000\n', 'minSessionTimeout', '50000', 'maxSessionTimeout', '40000');
  rejects(BASE + 'electionAlg=1\n', 'electionAlg', '1');
  rejects(BASE + 'peerType=leader\n', 'peerType', 'leader');
  rejects(BASE + 'standaloneEnabled=maybe\n', 'standaloneEnabled', 'maybe');
  rejects(BASE + 'extendedTypesEnabled=yes\n', 'extendedTypesEnabled', 'yes');
  rejects(BASE + 'zookeeper.enforceQuota=1\n', 'zookeeper.enforceQuota', '1');
  rejects(BASE + 'skipACL=perhaps\n', 'skipACL', 'perhaps');
  rejects(BASE + 'jute.maxbuffer=1M\n', 'jute.maxbuffer', '1M');
  rejects(BASE + 'snapCount=0\n', 'snapCount', '0');
  rejects(BASE + 'admin.serverPort=http\n', 'admin.serverPort', 'http');
  rejects(BASE + 'server.1=a:2888:2888\n', 'server.1', 'a:2888:2888', 'different');
  rejects(BASE + 'server.x=a:2888:3888\n', 'server.x', 'not a number');
  rejects(BASE + 'server.1=a:2888\n', 'server.1', 'a:2888');
  rejects(BASE + 'server.1=a:2888:3888:leader\n', 'server.1', 'leader');
  rejects(BASE + 'server.1=a:b:3888\n', 'server.1', 'a:b:3888');
  rejects(BASE + 'server.1=a:2888:3888;x:y:2181\n', 'server.1');
  rejects(BASE + 'server.1=a:2888:3888|b:2888:3888\n', 'server.1', 'multiple addresses');
  rejects(BASE + 'server.1=a:1:2\nserver.01=b:1:2\n', 'server.01', 'more than once');
  rejects(BASE + 'server.1=a:1:2\nserver.2=b:1:2\n', 'initLimit is not set');
  rejects(BASE + 'initLimit=5\nserver.1=a:1:2\nserver.2=b:1:2\n', 'syncLimit is not set');
  rejects(BASE + 'initLimit=5\nsyncLimit=2\nserver.1=a:1:2\nserver.2=b:1:2\n', 'myid file is missing');
  rejects(BASE + 'server.1=a:1:2:observer\n', 'Observers');
  rejects(BASE + 'standaloneEnabled=false\n', 'standaloneEnabled');
  rejects(BASE + 'group.1=1:2:3\n', 'group.1');
  rejects(BASE + 'bad=\\u00zz\n', 'line 3');
  assert.throws(() => parseConfig(BASE, { myid: 'one' }), (e: unknown) => e instanceof ConfigError && /one/.test(e.message));
  assert.throws(
    () => parseConfig(BASE + 'initLimit=5\nsyncLimit=2\nserver.1=a:1:2\nserver.2=b:1:2\n', { myid: '9' }),
    /myid 9/,
  );
});

void test('DEFAULT_CONFIG_TEXT parses to a standalone server on 2181 in the temp dir', () => {
  const c = parseConfig(DEFAULT_CONFIG_TEXT);
  assert.equal(c.clientPort, 2181);
  assert.equal(c.tickTime, 2000);
  assert.equal(c.dataDir, path.join(os.tmpdir(), 'zkts-data'));
  assert.equal(c.distributed, false);
  assert.ok(c.fourLetterWhitelist !== '*' && c.fourLetterWhitelist.has('ruok') && !c.fourLetterWhitelist.has('dump'));
  assert.equal(c.extra.size, 0);
});

void test('loadConfig reads the file, myid and the dynamic file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-cfg-'));
  try {
    const data = path.join(dir, 'data');
    fs.mkdirSync(data);
    fs.writeFileSync(path.join(data, 'myid'), '3\n');
    const dyn = path.join(dir, 'zoo.cfg.dynamic.a');
    fs.writeFileSync(dyn, 'server.1=a:2888:3888\nserver.2=b:2888:3888\nserver.3=c:2888:3888\n');
    const cfg = path.join(dir, 'zoo.cfg');
    fs.writeFileSync(cfg, `tickTime=500\ndataDir=${data}\ninitLimit=5\nsyncLimit=2\ndynamicConfigFile=${dyn}\n`);
    const c = loadConfig(cfg);
    assert.equal(c.serverId, 3);
    assert.equal(c.distributed, true);
    assert.equal(c.configVersion, 0xan);
    assert.throws(() => loadConfig(path.join(dir, 'missing.cfg')), ConfigError);
    assert.equal(loadConfig().clientPort, 2181);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

void test('ensemble membership errors: myid not listed, ports used twice; an even number of voters warns', () => {
  const q = BASE + 'initLimit=10\nsyncLimit=5\n';
  assert.throws(() => parseConfig(q + 'server.1=a:2888:3888\nserver.2=b:2888:3888\nserver.3=c:2888:3888\n', { myid: '7' }),
    /myid 7 is not among the server.N lines/);
  rejects(q + 'server.1=a:2888:3888\nserver.2=a:2888:3889\nserver.3=c:2888:3888\n', 'server.2', 'a:2888', "server.1's quorum port");
  rejects(q + 'server.1=a:2888:3888\nserver.2=b:2888:3888\nserver.3=a:3888:3999\n', 'server.3', "server.1's election port");
  const warnings: string[] = [];
  const logger = createLogger({ level: 'warn', sink: (line: string) => warnings.push(line) });
  parseConfig(q + 'server.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\nserver.4=d:1:2\n', { myid: '1', logger });
  assert.ok(warnings.some((w) => w.includes('odd number')), warnings.join('; '));
  warnings.length = 0;
  parseConfig(q + 'server.1=a:1:2\nserver.2=b:1:2\n', { myid: '1', logger });
  assert.ok(warnings.some((w) => w.includes('No server failure will be tolerated')), warnings.join('; '));
});
