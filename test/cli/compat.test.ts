// `zkts cli` against zkCli.sh (Apache ZooKeeper 3.8's ZooKeeperMain, from the Debian jars): the same scripted
// session (every command, its options and its error outputs; see script.ts) is fed on stdin to each, against the
// same server, for each server kind; stdout and stderr are compared line by line after masking zxids, times,
// session ids and the version string. Watch events print asynchronously in both shells, so they are compared as
// their own sequence. Then one-shot mode (`cli -server ... cmd args`): exit codes and output compared likewise.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Interactive, ZK_CLIENT_CLASSPATH, haveExecutable, missingFiles, runProcess } from '../realclients/helpers.js';
import { type RunningServer, ZKTS_MAIN, startServer, testKinds } from '../support/servers.js';
import { SESSION_SCRIPT } from './script.js';

const missing = missingFiles(ZK_CLIENT_CLASSPATH);
const skip = !haveExecutable('java')
  ? 'java is not installed'
  : missing.length > 0
    ? `ZooKeeper client jars missing: ${missing.join(', ')}`
    : false;

const JAVA_CLI = ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-Xshare:auto', '-cp', ZK_CLIENT_CLASSPATH.join(':'), 'org.apache.zookeeper.ZooKeeperMain'];

type Shell = 'zkCli' | 'zkts';

function shellCommand(shell: Shell, args: string[]): [string, string[]] {
  return shell === 'zkCli' ? ['java', [...JAVA_CLI, ...args]] : [process.execPath, [ZKTS_MAIN, 'cli', ...args]];
}

interface Transcript {
  code: number | null;
  stdout: string[];
  stderr: string[];
  events: string[];
}

/** Masks what legitimately differs between runs: zxids, dates, session ids, the version, the run's root. */
function mask(text: string, root: string): string {
  return text
    .split(root).join('/R')
    .replace(/^(cZxid|mZxid|pZxid) = 0x[0-9a-f]+$/gm, '$1 = 0xZXID')
    .replace(/^(ctime|mtime) = .*$/gm, '$1 = DATE')
    .replace(/^ephemeralOwner = 0x[0-9a-f]*[1-9a-f][0-9a-f]*$/gm, 'ephemeralOwner = 0xSESSION')
    .replace(/^ZooKeeper CLI version: .*$/gm, 'ZooKeeper CLI version: VERSION')
    .replace(/127\.0\.0\.1:\d+/g, 'HOST:PORT');
}

/**
 * zkCli delivers the "watch removed" events of one removewatches in hash-map order (it varies from run to run):
 * each run of removal events for one path is put in a fixed order.
 */
function sortRemovals(events: string[]): string[] {
  const out: string[] = [];
  const key = (e: string): string | undefined => /type:\w+WatchRemoved path:(.*)$/.exec(e)?.[1];
  for (let i = 0; i < events.length;) {
    const k = key(events[i]);
    let j = i + 1;
    while (k !== undefined && j < events.length && key(events[j]) === k) j++;
    out.push(...events.slice(i, j).sort());
    i = j;
  }
  return out;
}

/** Splits stdout into command output (blank lines dropped) and the watch events zkCli's watcher printed. */
function transcript(code: number | null, stdout: string, stderr: string, root: string): Transcript {
  const out = mask(stdout, root).split('\n');
  const events = sortRemovals(out.filter((l) => l.startsWith('WatchedEvent ')));
  return {
    code,
    stdout: out.filter((l) => l !== '' && l !== 'WATCHER::' && !l.startsWith('WatchedEvent ')),
    stderr: mask(stderr, root).split('\n').filter((l) => l !== ''),
    events,
  };
}

async function runSession(shell: Shell, server: RunningServer, root: string): Promise<Transcript> {
  const script = SESSION_SCRIPT.map((l) => l.replace(/(^|\s|")R(?=\/|\s|$)/g, `$1${root}`).replace('SERVER', server.connectString));
  const [cmd, args] = shellCommand(shell, ['-server', server.connectString]);
  const p = new Interactive(cmd, args);
  try {
    await p.waitFor(/WatchedEvent state:SyncConnected type:None path:null/, 0, 30_000, `${shell} to connect`);
    p.write(script);
    const code = await p.close(40_000);
    return transcript(code, p.stdout, p.stderr, root);
  } finally {
    p.kill();
  }
}

function assertSame(a: Transcript, b: Transcript, what: string): void {
  const dump = process.env.ZKTS_CLI_DUMP;
  if (dump) {
    const file = (who: string): string => path.join(dump, `${what.replace(/[^a-z0-9]+/gi, '_')}.${who}`);
    const text = (t: Transcript): string => `exit ${t.code}\n--- stdout\n${t.stdout.join('\n')}\n--- stderr\n${t.stderr.join('\n')}\n--- events\n${t.events.join('\n')}\n`;
    fs.mkdirSync(dump, { recursive: true });
    fs.writeFileSync(file('zkcli'), text(a));
    fs.writeFileSync(file('zkts'), text(b));
  }
  const show = (t: Transcript): string => `--- stdout ---\n${t.stdout.join('\n')}\n--- stderr ---\n${t.stderr.join('\n')}\n--- events ---\n${t.events.join('\n')}`;
  assert.deepEqual(b.stdout, a.stdout, `${what}: stdout differs\n=== zkCli ===\n${show(a)}\n=== zkts ===\n${show(b)}`);
  assert.deepEqual(b.stderr, a.stderr, `${what}: stderr differs`);
  assert.deepEqual(b.events, a.events, `${what}: watch events differ`);
  assert.equal(b.code, a.code, `${what}: exit code`);
}

/** One-shot invocations: [args after -server, expected exit code]. */
const ONE_SHOTS: Array<[string[], number]> = [
  [['create', 'R', 'payload'], 0],
  [['create', 'R'], 1],
  [['get', '/zookeeper'], 0],
  [['stat', 'R/none'], 1],
  [['ls'], 1],
  [['bogus', 'x'], 127],
  [['setquota', '-n', '0', 'R'], 0],
  [['create', '-x', 'R/y'], 1],
  [['getAllChildrenNumber', '/zookeeper'], 0],
];

async function runOneShots(shell: Shell, server: RunningServer, root: string): Promise<Transcript[]> {
  const results: Transcript[] = [];
  // sequential: later invocations see what earlier ones created
  for (const [args] of ONE_SHOTS) {
    const [cmd, argv] = shellCommand(shell, ['-server', server.connectString, ...args.map((a) => a.replace(/^R/, root))]);
    const r = await runProcess(cmd, argv, { timeoutMs: 30_000 });
    assert.equal(r.timedOut, false, `${shell} ${args.join(' ')} timed out`);
    results.push(transcript(r.code, r.stdout, r.stderr, root));
  }
  return results;
}

for (const kind of testKinds()) {
  void describe(`zkts cli matches zkCli.sh against ${kind}`, { skip }, () => {
    let server: RunningServer | undefined;
    before(async () => {
      server = await startServer(kind);
    });
    after(async () => {
      await server?.stop();
    });

    void it('scripted interactive session: same output, errors, events and exit code', { timeout: 120_000 }, async () => {
      const [java, ours] = await Promise.all([
        runSession('zkCli', server!, '/cmp_zkcli'),
        runSession('zkts', server!, '/cmp_zkts'),
      ]);
      assert.ok(java.stdout.length > 100, `zkCli ran the script:\n${java.stdout.join('\n')}\n${java.stderr.join('\n')}`);
      assertSame(java, ours, `session against ${kind}`);
    });

    void it('one-shot command mode: same output and exit codes', { timeout: 120_000 }, async () => {
      const [java, ours] = await Promise.all([
        runOneShots('zkCli', server!, '/one_zkcli'),
        runOneShots('zkts', server!, '/one_zkts'),
      ]);
      ONE_SHOTS.forEach(([args, code], i) => {
        assert.equal(java[i].code, code, `zkCli ${args.join(' ')}: exit code`);
        assertSame(java[i], ours[i], `one-shot ${args.join(' ')} against ${kind}`);
      });
    });
  });
}
