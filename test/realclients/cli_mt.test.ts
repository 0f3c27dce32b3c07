// The ZooKeeper C client's sample shell cli_mt (Debian's zookeeper-bin, multi-threaded C binding) against each server
// kind. It reads commands on stdin and prints completions asynchronously on stderr, so the test sends one command at a
// time and waits for that command's completion line before the next. (stdout is block-buffered into a pipe, so the
// stdout-only `myid` is not used.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer, testKinds } from '../support/servers.js';
import { CLI_MT, Interactive, haveExecutable } from './helpers.js';

const skip = haveExecutable(CLI_MT) ? false : `${CLI_MT} is not installed (Debian package zookeeper-bin)`;

/** The completion of `create <path>` or `sync <path>`: rc 0 with the name line, or an error rc. */
function createDone(path: string): RegExp {
  const p = path.replace(/[/-]/g, (c) => '\\' + c);
  return new RegExp(`\\[${p}\\]: rc = (0\\n\\tname = .*\\n|-\\d+\\n)`);
}

const STAT_END = /\tephemeralOwner = [0-9a-f]+\n/;

/** Parses the dumpStat block cli_mt prints (hex czxid/mzxid/version/aversion/ephemeralOwner). */
function parseStat(text: string): { czxid: bigint; mzxid: bigint; version: number; aversion: number; owner: bigint } {
  const m = /\tczxid=([0-9a-f]+)\n\tmtime=.*\n?\tmzxid=([0-9a-f]+)\n\tversion=([0-9a-f]+)\taversion=([0-9a-f]+)\n\tephemeralOwner = ([0-9a-f]+)\n/.exec(text);
  assert.ok(m, `no stat block in:\n${text}`);
  return {
    czxid: BigInt('0x' + m[1]), mzxid: BigInt('0x' + m[2]), version: parseInt(m[3], 16), aversion: parseInt(m[4], 16),
    owner: BigInt('0x' + m[5]),
  };
}

for (const kind of testKinds()) {
  void describe(`C client cli_mt against ${kind}`, { skip }, () => {
    let server: RunningServer | undefined;
    before(async () => {
      server = await startServer(kind);
    });
    after(async () => {
      await server?.stop();
    });

    void it('create, get, set, ls, ls2, exists, delete, with watches and error codes', { timeout: 90_000 }, async () => {
      const sh = new Interactive(CLI_MT, ['-h', server!.connectString]);
      try {
        const hello = await sh.waitFor(/Got a new session id: 0x([0-9a-f]+)\n/, 0, 30_000, 'cli_mt to connect');
        assert.match(hello, /Watcher SESSION_EVENT state = CONNECTED_STATE/);
        const sessionId = BigInt('0x' + /Got a new session id: 0x([0-9a-f]+)/.exec(hello)![1]);
        assert.notEqual(sessionId, 0n);

        // create: data is always "new" with the open ACL
        let out = await sh.send('create /cmt', createDone('/cmt'));
        assert.match(out, /\[\/cmt\]: rc = 0\n\tname = \/cmt\n/);

        // get (leaves a data watch)
        out = await sh.send('get /cmt', STAT_END);
        assert.match(out, /\/cmt: rc = 0\n value_len = 3\nnew\nStat:\n/);
        const st0 = parseStat(out);
        assert.equal(st0.version, 0);
        assert.equal(st0.owner, 0n);
        assert.equal(st0.czxid, st0.mzxid);

        // set: completion prints the new stat; the data watch from get fires CHANGED_EVENT
        out = await sh.send('set /cmt hello world', STAT_END);
        assert.match(out, /\/cmt: rc = 0 Stat:\n/);
        const st1 = parseStat(out);
        assert.equal(st1.version, 1);
        assert.equal(st1.czxid, st0.czxid);
        assert.ok(st1.mzxid > st0.mzxid, 'set advances mzxid');
        await sh.waitFor(/Watcher CHANGED_EVENT state = CONNECTED_STATE for path \/cmt\n/, 0, 10_000, 'data watch');

        out = await sh.send('get /cmt', STAT_END);
        assert.match(out, /\/cmt: rc = 0\n value_len = 11\nhello world\nStat:\n/);
        assert.equal(parseStat(out).version, 1);

        // sequential, ephemeral, ephemeral+sequential
        out = await sh.send('create +s /cmt/s-', createDone('/cmt/s-'));
        assert.match(out, /\[\/cmt\/s-\]: rc = 0\n\tname = \/cmt\/s-0000000000\n/);
        out = await sh.send('create +e /cmt/e', createDone('/cmt/e'));
        assert.match(out, /\[\/cmt\/e\]: rc = 0\n\tname = \/cmt\/e\n/);
        out = await sh.send('create +es /cmt/es-', createDone('/cmt/es-'));
        assert.match(out, /\[\/cmt\/es-\]: rc = 0\n\tname = \/cmt\/es-0000000002\n/);

        // ls (leaves a child watch): children in any order
        out = await sh.send('ls /cmt', /\/cmt: rc = -?\d+\n(\t.*\n)*time = \d+ msec\n/);
        const lsm = /\/cmt: rc = 0\n((?:\t.*\n)*)time = /.exec(out);
        assert.ok(lsm, out);
        assert.deepEqual(lsm[1].split('\n').filter(Boolean).map((s) => s.trim()).sort(), ['e', 'es-0000000002', 's-0000000000']);

        // ls2: children plus the parent's stat
        out = await sh.send('ls2 /cmt', STAT_END);
        assert.match(out, /\/cmt: rc = 0\n/);
        const st2 = parseStat(out);
        assert.equal(st2.version, 1);
        assert.equal(st2.mzxid, st1.mzxid, 'children do not change mzxid');

        // get on the ephemeral: its owner is this session
        out = await sh.send('get /cmt/e', STAT_END);
        assert.match(out, /\/cmt\/e: rc = 0\n value_len = 3\nnew\n/);
        assert.equal(parseStat(out).owner, sessionId, 'ephemeralOwner is the session id');

        // exists is synchronous in cli_mt and silent on success; `sync` after it is a barrier (its completion comes
        // after exists returned). exists leaves a watch on /cmt/e.
        sh.write(['exists /cmt/e']);
        out = await sh.send('sync /cmt/e', createDone('/cmt/e'));
        assert.doesNotMatch(out, /Error/);
        assert.match(out, /\[\/cmt\/e\]: rc = 0\n/);

        // delete fires the exists watch (DELETED_EVENT) and the ls child watch (CHILD_EVENT)
        out = await sh.send('delete /cmt/e', /\/cmt\/e: rc = -?\d+\n/);
        assert.match(out, /\/cmt\/e: rc = 0\n/);
        await sh.waitFor(/Watcher DELETED_EVENT state = CONNECTED_STATE for path \/cmt\/e\n/, 0, 10_000, 'exists watch');
        await sh.waitFor(/Watcher CHILD_EVENT state = CONNECTED_STATE for path \/cmt\n/, 0, 10_000, 'child watch');

        // error codes: ZNONODE -101, ZNOTEMPTY -111, ZNODEEXISTS -110
        out = await sh.send('exists /cmt/e', /Error -?\d+ for \/cmt\/e\n/);
        assert.match(out, /Error -101 for \/cmt\/e\n/);
        out = await sh.send('get /cmt/nope', /\/cmt\/nope: rc = -?\d+\n[\s\S]*?Stat:\nnull\n/);
        assert.match(out, /\/cmt\/nope: rc = -101\n/);
        out = await sh.send('delete /cmt', /\/cmt: rc = -?\d+\n/);
        assert.match(out, /\/cmt: rc = -111\n/);
        out = await sh.send('create /cmt', createDone('/cmt'));
        assert.match(out, /\[\/cmt\]: rc = -110\n/);
        out = await sh.send('create /nope/child', createDone('/nope/child'));
        assert.match(out, /\[\/nope\/child\]: rc = -101\n/);
        out = await sh.send('create /cmt/es-0000000002/x', createDone('/cmt/es-0000000002/x'));
        assert.match(out, /rc = -108\n/, 'ZNOCHILDRENFOREPHEMERALS');

        // create2 returns the stat of the new node
        out = await sh.send('create2 /cmt/two', STAT_END);
        assert.match(out, /\[\/cmt\/two\]: rc = 0\n\tname = \/cmt\/two\n/);
        const st3 = parseStat(out);
        assert.equal(st3.czxid, st3.mzxid);
        assert.ok(st3.czxid > st2.mzxid);

        // sync
        out = await sh.send('sync /cmt', createDone('/cmt'));
        assert.match(out, /\[\/cmt\]: rc = 0\n/);

        // delete leaf nodes, then the parent
        for (const p of ['/cmt/two', '/cmt/s-0000000000']) {
          out = await sh.send(`delete ${p}`, new RegExp(`${p.replace(/\//g, '\\/')}: rc = -?\\d+\\n`));
          assert.match(out, /: rc = 0\n/, `delete ${p}`);
        }
        out = await sh.send('ls /cmt', /\/cmt: rc = -?\d+\n(\t.*\n)*time = \d+ msec\n/);
        assert.match(out, /\/cmt: rc = 0\n\tes-0000000002\ntime = /);

        out = await sh.send('quit', /Quitting\.\.\.\n/);
        const code = await sh.close(10_000);
        assert.equal(code, 0, `cli_mt exit code; output:\n${sh.output()}`);
      } finally {
        sh.kill();
      }
    });

    void it('the session ends on quit: its ephemerals are gone for the next client', { timeout: 60_000 }, async () => {
      const sh = new Interactive(CLI_MT, ['-h', server!.connectString]);
      try {
        await sh.waitFor(/Got a new session id: 0x[0-9a-f]+\n/, 0, 30_000, 'cli_mt to connect');
        const out = await sh.send('ls /cmt', /\/cmt: rc = -?\d+\n(\t.*\n)*time = \d+ msec\n/);
        assert.match(out, /\/cmt: rc = 0\ntime = /, 'the ephemeral es-0000000002 went with the first session');
        await sh.send('quit', /Quitting\.\.\.\n/);
        assert.equal(await sh.close(10_000), 0);
      } finally {
        sh.kill();
      }
    });
  });
}
