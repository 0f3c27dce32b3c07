// The Java shell zkCli (org.apache.zookeeper.ZooKeeperMain from the Debian jars) against each server kind: a
// scripted session fed on stdin (no JLine on the classpath, so it reads lines), then an unauthenticated session, then
// one-shot command-line invocations for exit codes. Asserts the key lines of stdout/stderr, in order.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer, testKinds } from '../support/servers.js';
import { Interactive, ZK_CLIENT_CLASSPATH, describeRun, haveExecutable, missingFiles, runProcess, type ProcessResult } from './helpers.js';

const missing = missingFiles(ZK_CLIENT_CLASSPATH);
const skip = !haveExecutable('java')
  ? 'java is not installed'
  : missing.length > 0
    ? `ZooKeeper client jars missing: ${missing.join(', ')}`
    : false;

const JAVA_ARGS = ['-Xmx256m', '-cp', ZK_CLIENT_CLASSPATH.join(':'), 'org.apache.zookeeper.ZooKeeperMain'];

/** One-shot command-line mode: `zkCli -server host:port cmd args...`. */
function zkCliCommand(server: RunningServer, args: string[]): Promise<ProcessResult> {
  return runProcess('java', [...JAVA_ARGS, '-waitforconnection', '-server', server.connectString, ...args], {
    timeoutMs: 60_000,
  });
}

/**
 * Interactive mode: waits for the session to connect (as a person at the prompt would; commands typed before that
 * fail with ConnectionLoss), then feeds the script on stdin and waits for the shell to exit.
 */
async function zkCliScript(server: RunningServer, script: string[]): Promise<ProcessResult> {
  const shell = new Interactive('java', [...JAVA_ARGS, '-server', server.connectString]);
  try {
    await shell.waitFor(/WatchedEvent state:SyncConnected type:None path:null/, 0, 30_000, 'zkCli to connect');
    shell.write(script);
    const code = await shell.close(60_000);
    return { code, signal: null, stdout: shell.stdout, stderr: shell.stderr, timedOut: false };
  } finally {
    shell.kill();
  }
}

/**
 * Asserts that `text` contains lines matching `expected` in this order (other lines may come in between). Strings
 * match a whole line exactly, regexps are tested against each line.
 */
function assertLinesInOrder(text: string, expected: Array<string | RegExp>, what: string): void {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  let at = 0;
  for (const want of expected) {
    const found = lines.findIndex((l, i) => i >= at && (typeof want === 'string' ? l === want : want.test(l)));
    assert.ok(found >= 0, `${what}: no line matching ${String(want)} after line ${at}:\n${lines.slice(at).join('\n')}\n=== all ===\n${text}`);
    at = found + 1;
  }
}

/** The Stat block zkCli prints for get -s / stat / ls -s, as a key -> value map, for each block in `text`. */
function statBlocks(text: string): Array<Record<string, string>> {
  const blocks: Array<Record<string, string>> = [];
  let cur: Record<string, string> | null = null;
  for (const line of text.split('\n')) {
    const m = /^(cZxid|ctime|mZxid|mtime|pZxid|cversion|dataVersion|aclVersion|ephemeralOwner|dataLength|numChildren) = (.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'cZxid') blocks.push((cur = {}));
    if (cur) cur[m[1]] = m[2];
  }
  return blocks;
}

const DIGEST_ALICE = "'digest,'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=";

for (const kind of testKinds()) {
  void describe(`zkCli (ZooKeeperMain) against ${kind}`, { skip }, () => {
    let server: RunningServer | undefined;
    before(async () => {
      server = await startServer(kind);
    });
    after(async () => {
      await server?.stop();
    });

    void it('scripted session: create -s -e, ls, get -s, set, stat, delete, deleteall, ACLs, watches', { timeout: 90_000 }, async () => {
      const r = await zkCliScript(server!, [
        'create /cli "hello"',
        'create -s -e /cli/eph- "e"',
        'create -s /cli/seq-',
        'create /cli/b',
        'create /cli/a',
        'ls /cli',
        'get -s /cli',
        'set /cli "world"',
        'get /cli',
        'stat /cli',
        'create /cli/sub/deep',
        'create /cli/sub',
        'create /cli/sub/deep "d"',
        'delete /cli/sub',
        'deleteall /cli/sub',
        'ls /cli',
        'delete /cli/nonexistent',
        'set -v 7 /cli x',
        'delete -v 0 /cli/a',
        'get -s /cli/eph-0000000000',
        'getAcl /cli',
        'addauth digest alice:secret',
        'setAcl /cli auth:alice:secret:cdrwa',
        'getAcl /cli',
        'stat /cli',
        'create /w "1"',
        'get -w /w',
        'set /w 2',
        'ls -w /w',
        'create /w/c',
        'ls -s /w',
        'quit',
      ]);
      assert.equal(r.timedOut, false, describeRun(r));
      assert.equal(r.code, 0, `zkCli exit code: ${describeRun(r)}`);
      assertLinesInOrder(r.stderr, [
        'Created /cli',
        'Created /cli/eph-0000000000',
        'Created /cli/seq-0000000001',
        'Created /cli/b',
        'Created /cli/a',
        'Node does not exist: /cli/sub/deep',
        'Created /cli/sub',
        'Created /cli/sub/deep',
        'Node not empty: /cli/sub',
        'Node does not exist: /cli/nonexistent',
        'version No is not valid : /cli',
        'Created /w',
        'Created /w/c',
      ], 'stderr');
      assert.doesNotMatch(r.stderr, /Exception|Insufficient permission/, 'no unexpected errors');
      assertLinesInOrder(r.stdout, [
        'WatchedEvent state:SyncConnected type:None path:null',
        '[a, b, eph-0000000000, seq-0000000001]',
        /^cZxid = 0x[0-9a-f]+$/, 'cversion = 4', 'dataVersion = 0', 'aclVersion = 0', 'ephemeralOwner = 0x0',
        'dataLength = 5', 'numChildren = 4',
        'world',
        /^cZxid = /, 'dataVersion = 1', 'dataLength = 5', 'numChildren = 4',
        '[a, b, eph-0000000000, seq-0000000001]',
        /^cZxid = /, /^ephemeralOwner = 0x[0-9a-f]*[1-9a-f][0-9a-f]*$/, 'dataLength = 1',
        "'world,'anyone", ': cdrwa',
        DIGEST_ALICE, ': cdrwa',
        /^cZxid = /, 'cversion = 7', 'dataVersion = 1', 'aclVersion = 1', 'numChildren = 3',
        '1',
        '[]',
        '[c]',
        /^cZxid = /, 'cversion = 1', 'dataVersion = 1', 'dataLength = 1', 'numChildren = 1',
      ], 'stdout');
      assert.match(r.stdout, /^WatchedEvent state:SyncConnected type:NodeDataChanged path:\/w$/m);
      assert.match(r.stdout, /^WatchedEvent state:SyncConnected type:NodeChildrenChanged path:\/w$/m);
      assert.match(r.stdout, /^hello$/m, 'get -s prints the data');

      const blocks = statBlocks(r.stdout);
      assert.equal(blocks.length, 5, `stat blocks: ${JSON.stringify(blocks)}`);
      const [got, afterSet, eph, afterAcl] = blocks;
      assert.equal(got.cZxid, got.mZxid, 'a fresh node has mZxid = cZxid');
      assert.equal(afterSet.cZxid, got.cZxid);
      assert.ok(BigInt(afterSet.mZxid) > BigInt(got.mZxid), 'set advances mZxid');
      assert.ok(BigInt(eph.cZxid) > BigInt(got.cZxid));
      assert.ok(BigInt(afterAcl.pZxid) > BigInt(got.pZxid), 'pZxid advances with child creations/deletions');
      assert.match(got.ctime, /\d{4}$/, 'ctime printed as a date');
    });

    void it('an unauthenticated session gets Insufficient permission, and addauth grants access', { timeout: 90_000 }, async () => {
      // /cli from the first test: alice-only ACL, the ephemeral is gone with the first session.
      const r = await zkCliScript(server!, [
        'get /cli', 'ls /cli', 'getAcl /cli', 'stat /cli', 'addauth digest bob:pw', 'get /cli',
        'addauth digest alice:secret', 'get /cli', 'ls /cli', 'quit',
      ]);
      assert.equal(r.timedOut, false, describeRun(r));
      const denied = r.stderr.split('\n').filter((l) => l === 'Insufficient permission : /cli');
      assert.equal(denied.length, 4, `get, ls, getAcl, get-as-bob are denied: ${describeRun(r)}`);
      assertLinesInOrder(r.stdout, [
        /^cZxid = /, 'aclVersion = 1', 'ephemeralOwner = 0x0', 'numChildren = 2',
        'world',
        '[b, seq-0000000001]',
      ], 'stdout');
    });

    void it('command-line mode: exit code 0 on success, 1 on a failed command', { timeout: 90_000 }, async () => {
      const ok = await zkCliCommand(server!, ['create', '/oneshot', 'payload']);
      assert.equal(ok.code, 0, describeRun(ok));
      assert.match(ok.stderr, /^Created \/oneshot$/m);
      const get = await zkCliCommand(server!, ['get', '/oneshot']);
      assert.equal(get.code, 0, describeRun(get));
      assert.match(get.stdout, /^payload$/m);
      const bad = await zkCliCommand(server!, ['stat', '/does-not-exist']);
      assert.equal(bad.code, 1, describeRun(bad));
      assert.match(bad.stderr, /^Node does not exist: \/does-not-exist$/m);
    });
  });
}
