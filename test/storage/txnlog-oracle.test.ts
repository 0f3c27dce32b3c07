// The txn log against Apache ZooKeeper 3.8: `zkts txnlog` prints what TxnLogToolkit prints (golden logs and logs we
// wrote, compared byte for byte with the real toolkit), TxnLogToolkit reads our preallocated logs, and we read the
// logs a live Apache server writes. The Java parts are skipped, with a message, when java or the jars are missing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ZooKeeperClient } from '../../src/client/index.js';
import { txnlogMain } from '../../src/storage/inspect-txnlog.js';
import { readTxns } from '../../src/storage/txnlogReader.js';
import { silentLogger } from '../../src/util/log.js';
import { ORACLE_CLASSPATH, oracleAvailable, PROJECT_ROOT, startOracle } from '../support/servers.js';
import { tempDir, writeLog } from './txnlog-helpers.js';

const GOLDEN = path.join(PROJECT_ROOT, 'test', 'fixtures', 'golden', 'txnlog');

function javaAvailable(): boolean {
  if (!oracleAvailable()) return false;
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const skipJava = javaAvailable() ? false : 'java or the ZooKeeper jars are missing';

function toolkit(file: string): string {
  return execFileSync('java', ['-cp', ORACLE_CLASSPATH, 'org.apache.zookeeper.server.persistence.TxnLogToolkit', file], {
    stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8', timeout: 60_000,
  });
}

function inspect(args: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = txnlogMain(args, (s) => (out += s + '\n'), (s) => (err += s + '\n'));
  return { code, out, err };
}

void describe('zkts txnlog (the inspector)', () => {
  void test('prints the golden log in TxnLogToolkit shape', () => {
    const r = inspect([path.join(GOLDEN, 'java.log')]);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    assert.equal(lines[0], 'ZooKeeper Transactional Log File with dbid 0 txnlog format version 2');
    assert.match(lines[1], /^\d+\/\d+\/\d\d, \d+:\d\d:\d\d [AP]M \S+ session 0x100000e78cc0000 cxid 0x0 zxid 0x1 createSession 6000$/);
    assert.ok(r.out.includes("zxid 0x15 setACL '/golden-java/secret,v{s{31,s{'digest,'golden:xWIAyp+iipmRz+wIMl/M3rwWQD4=}},s{1,s{'world,'anyone}},s{3,s{'ip,'127.0.0.1}}},1\n"));
    assert.ok(r.out.includes("zxid 0x3 create /golden-java,base,[31,s{'world,'anyone}\n],false,1\n"));
    assert.ok(r.out.endsWith('EOF reached after 39 txns.\n'));
  });

  void test('--json: one object per txn with hex session and zxid, the txn decoded, the digest', () => {
    const r = inspect([path.join(GOLDEN, 'java.log'), '--json']);
    assert.equal(r.code, 0, r.err);
    const objs = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(objs.length, 39);
    assert.deepEqual({ ...objs[0], time: 0, date: '', digest: 0 }, {
      session: '0x100000e78cc0000', cxid: 0, zxid: '0x1', time: 0, date: '', type: 'createSession',
      txn: { type: 'createSession', timeOut: 6000 }, digest: 0, offset: 16,
    });
    assert.match((objs[0].digest as { treeDigest: string }).treeDigest, /^0x[0-9a-f]+$/);
    const create = objs.find((o) => o.zxid === '0x3')!;
    assert.deepEqual(create.txn, { type: 'create', path: '/golden-java', data: 'base', acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], ephemeral: false, parentCVersion: 1 });
    const nulldata = objs.find((o) => o.zxid === '0x7')!;
    assert.equal((nulldata.txn as { data: unknown }).data, null, 'null data stays null');
  });

  void test('a file that is not a txn log, a missing file, bad usage: exit 2 with a message; corruption: exit 1', async () => {
    const dir = tempDir('inspect');
    const notLog = path.join(dir, 'snapshot.1');
    fs.writeFileSync(notLog, Buffer.from('5a4b534e00000002ffffffffffffffff', 'hex'));
    let r = inspect([notLog]);
    assert.equal(r.code, 2);
    assert.equal(r.out, '');
    assert.match(r.err, /snapshot\.1 is not a ZooKeeper txn log \(magic 0x5a4b534e/);
    fs.writeFileSync(notLog, 'hi');
    assert.match(inspect([notLog]).err, /not a ZooKeeper txn log \(only 2 bytes/);
    r = inspect([path.join(dir, 'missing')]);
    assert.equal(r.code, 2);
    assert.match(r.err, /cannot read .*missing: ENOENT/);
    assert.equal(inspect([]).code, 2);
    assert.equal(inspect(['a', 'b']).code, 2);
    assert.equal(inspect(['--bogus', 'a']).code, 2);
    assert.equal(inspect(['--help']).code, 0);
    await writeLog(dir, [1, 2, 3]);
    const log = path.join(dir, 'log.1');
    const b = fs.readFileSync(log);
    b[40] ^= 1;
    fs.writeFileSync(log, b);
    r = inspect([log]);
    assert.equal(r.code, 1);
    assert.match(r.err, /corrupt txn log .*log\.1 at offset 16: checksum mismatch.*\(after 0 txns\)/);
    fs.writeFileSync(log, Buffer.concat([b.subarray(0, 16), fs.readFileSync(path.join(GOLDEN, 'raw.log')).subarray(16, 60)]));
    r = inspect([log]);
    assert.equal(r.code, 0);
    assert.match(r.err, /torn tail at offset 16/);
    fs.rmSync(dir, { recursive: true });
  });
});

void describe('txn logs and Apache ZooKeeper 3.8', { skip: skipJava }, () => {
  void test("TxnLogToolkit prints the golden logs exactly as zkts txnlog does", () => {
    for (const name of fs.readdirSync(GOLDEN).filter((f) => f.endsWith('.log'))) {
      const file = path.join(GOLDEN, name);
      assert.equal(inspect([file]).out, toolkit(file), name);
    }
  });

  void test('TxnLogToolkit reads a preallocated log written by FileTxnLog, txn for txn', async () => {
    const dir = tempDir('oracle');
    const written = await writeLog(dir, Array.from({ length: 120 }, (_, i) => 0x300000001 + i), { batch: 9, preAllocSize: 1 << 20 });
    const file = path.join(dir, 'log.300000001');
    assert.equal(fs.statSync(file).size, 1 << 20, 'preallocated');
    const java = toolkit(file);
    assert.ok(java.endsWith(`EOF reached after ${written.length} txns.\n`), java.slice(-300));
    assert.equal(inspect([file]).out, java);
    fs.rmSync(dir, { recursive: true });
  });

  void test('we read the preallocated logs a live Apache server writes', async () => {
    const server = await startOracle();
    try {
      const c = new ZooKeeperClient(server.connectString, { sessionTimeoutMs: 10_000, logger: silentLogger });
      await c.connect();
      await c.create('/oracle-log', Buffer.from('x'));
      for (let i = 0; i < 50; i++) await c.setData('/oracle-log', Buffer.from(`v${i}`));
      await c.delete('/oracle-log');
      await c.close();
    } finally {
      await new Promise((r) => setTimeout(r, 200));
      const logDir = path.join(server.dataDir, 'version-2');
      const txns = [...readTxns(logDir, 0)];
      const sizes = fs.readdirSync(logDir).filter((f) => f.startsWith('log.')).map((f) => fs.statSync(path.join(logDir, f)).size);
      await server.stop();
      assert.ok(sizes.every((s) => s >= 64 * 1024 * 1024), `Apache preallocates 64 MiB: ${sizes.join(',')}`);
      const types = txns.map((t) => t.hdr.type);
      assert.deepEqual(types, [-10, 1, ...Array<number>(50).fill(5), 2, -11]);
      assert.ok(txns.every((t) => t.digest?.version === 2));
      for (let i = 1; i < txns.length; i++) assert.equal(txns[i].hdr.zxid, txns[i - 1].hdr.zxid + 1);
    }
  });
});
