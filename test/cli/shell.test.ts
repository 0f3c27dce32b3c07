// Unit tests of the zkCli-compatible shell's pieces: line splitting, commons-cli option parsing and its messages,
// Java's path check, quota records, tab completion against a live zkts server, and -waitforconnection failing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ZooKeeperClient } from '../../src/client/index.js';
import { completeLine } from '../../src/cli/shell/completion.js';
import { StatsTrack, idText, pathProblem, permString } from '../../src/cli/shell/format.js';
import { parseOptions, tokenize } from '../../src/cli/shell/parser.js';
import { commandNames } from '../../src/cli/shell/shell.js';
import { runProcess } from '../realclients/helpers.js';
import { freePort } from '../support/ports.js';
import { type RunningServer, ZKTS_MAIN, startZkts } from '../support/servers.js';

void describe('zkts cli: parsing and formatting', () => {
  void it('splits lines as zkCli: quotes group words and are dropped', () => {
    assert.deepEqual(tokenize('create /a "hello world" \'x y\''), ['create', '/a', 'hello world', 'x y']);
    assert.deepEqual(tokenize('  ls   -R  /  '), ['ls', '-R', '/']);
    assert.deepEqual(tokenize('set /a a"b"'), ['set', '/a', 'a"b"']);
  });

  void it('parses options anywhere, attached values, concatenated flags, with commons-cli errors', () => {
    const spec = { options: [{ name: 's', hasArg: false, description: '' }, { name: 'e', hasArg: false, description: '' }, { name: 'v', hasArg: true, description: 'version' }] };
    const a = parseOptions(spec, ['cmd', '/p', '-se', '-v5', 'data']);
    assert.deepEqual(a.args, ['cmd', '/p', 'data']);
    assert.ok(a.has('s') && a.has('e'));
    assert.equal(a.value('v'), '5');
    assert.equal(parseOptions(spec, ['cmd', '-v', '-1', '/p']).value('v'), '-1');
    assert.throws(() => parseOptions(spec, ['cmd', '-x']), /^Error: org\.apache\.commons\.cli\.UnrecognizedOptionException: Unrecognized option: -x$/);
    assert.throws(() => parseOptions(spec, ['cmd', '/p', '-v']), /MissingArgumentException: Missing argument for option: v$/);
    const group = {
      options: [{ name: 'n', hasArg: true, description: 'num' }, { name: 'b', hasArg: true, description: 'bytes' }],
      group: { names: ['n', 'b'], required: true },
    };
    assert.throws(() => parseOptions(group, ['q', '/p']), /MissingOptionException: Missing required option: \[-n num, -b bytes\]$/);
    assert.throws(() => parseOptions(group, ['q', '-n', '1', '-b', '2', '/p']), /AlreadySelectedException: The option 'b' was specified/);
  });

  void it("checks paths with Java's messages", () => {
    assert.equal(pathProblem('/a/b'), undefined);
    assert.equal(pathProblem('a'), 'Path must start with / character');
    assert.equal(pathProblem('/a/'), 'Path must not end with / character');
    assert.equal(pathProblem('/a/', true), undefined);
    assert.equal(pathProblem('/a//b'), 'Invalid path string "/a//b" caused by empty node name specified @3');
    assert.equal(pathProblem('/a/./b'), 'Invalid path string "/a/./b" caused by relative paths not allowed @3');
  });

  void it('formats ids, perms and quota records as ZooKeeper does', () => {
    assert.equal(idText({ scheme: 'world', id: 'anyone' }), "'world,'anyone");
    assert.equal(idText({ scheme: 'x', id: 'a,b%' }), "'x,'a%2Cb%25");
    assert.equal(permString(31), 'cdrwa');
    assert.equal(permString(1 | 16), 'ra');
    const q = new StatsTrack('count=5,bytes=100=;byteHardLimit=-1;countHardLimit=1');
    assert.equal(q.get('count'), 5);
    assert.equal(q.get('countHardLimit'), 1);
    assert.equal(q.toString(), 'count=5,bytes=100=;byteHardLimit=-1;countHardLimit=1');
    assert.equal(new StatsTrack('count=2,bytes=6').toString(), 'count=2,bytes=6');
  });
});

void describe('zkts cli: completion and connection failure', () => {
  let server: RunningServer | undefined;
  let client: ZooKeeperClient | undefined;
  before(async () => {
    server = await startZkts();
    client = new ZooKeeperClient(server.connectString);
    await client.connect(10_000);
    await client.create('/comp');
    await client.create('/comp/alpha');
    await client.create('/comp/alps');
    await client.create('/comp/beta');
  });
  after(async () => {
    await client?.close();
    await server?.stop();
  });

  void it('completes command names and znode paths', async () => {
    assert.deepEqual(await completeLine('getA', commandNames(), client), [['getAcl ', 'getAllChildrenNumber '], 'getA']);
    assert.deepEqual(await completeLine('ls /comp/al', commandNames(), client), [['/comp/alpha', '/comp/alps'], '/comp/al']);
    assert.deepEqual(await completeLine('ls /co', commandNames(), client), [['/comp'], '/co']);
    assert.deepEqual(await completeLine('ls /nope/x', commandNames(), client), [[], '/nope/x']);
  });

  void it('-waitforconnection to a dead port fails with exit code 1 after the timeout', { timeout: 30_000 }, async () => {
    const port = await freePort();
    const r = await runProcess(process.execPath, [ZKTS_MAIN, 'cli', '-timeout', '1500', '-waitforconnection', '-server', `127.0.0.1:${port}`, 'ls', '/'], { timeoutMs: 20_000 });
    assert.equal(r.timedOut, false);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /ConnectionLoss/);
  });
});
