// Apache Curator 5.4 (Debian jars) against each server kind: java/CuratorMutex.java is compiled with javac into a temp
// dir and run; it reports InterProcessMutex contention results and PathChildrenCache / CuratorCache / NodeCache
// events as JSON, asserted here.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer, testKinds } from '../support/servers.js';
import { CURATOR_CLASSPATH, REALCLIENTS_DIR, describeRun, haveExecutable, missingFiles, runProcess } from './helpers.js';

const SOURCE = path.join(REALCLIENTS_DIR, 'java', 'CuratorMutex.java');
const missing = missingFiles(CURATOR_CLASSPATH);
const skip = !haveExecutable('javac') || !haveExecutable('java')
  ? 'java/javac are not installed'
  : missing.length > 0
    ? `Curator/ZooKeeper jars missing: ${missing.join(', ')}`
    : false;

const THREADS = 5;
const ITERATIONS = 10;

let compiled: Promise<string> | undefined;
const classDirs: string[] = [];

/** Compiles CuratorMutex.java once per test file; returns the class directory. */
function compile(): Promise<string> {
  compiled ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-curator-'));
    classDirs.push(dir);
    const r = await runProcess('javac', ['-nowarn', '-cp', CURATOR_CLASSPATH.join(':'), '-d', dir, SOURCE], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `javac failed: ${describeRun(r)}`);
    assert.ok(fs.existsSync(path.join(dir, 'CuratorMutex.class')));
    return dir;
  })();
  return compiled;
}

process.on('exit', () => {
  for (const d of classDirs) fs.rmSync(d, { recursive: true, force: true });
});

for (const kind of testKinds()) {
  void describe(`Curator against ${kind}`, { skip }, () => {
    let server: RunningServer | undefined;
    before(async () => {
      server = await startServer(kind);
    });
    after(async () => {
      await server?.stop();
    });

    void it(`InterProcessMutex (${THREADS} sessions x ${ITERATIONS}), PathChildrenCache, CuratorCache, NodeCache`, { timeout: 240_000 }, async () => {
      const classes = await compile();
      const r = await runProcess('java', [
        '-Xmx256m', '-cp', [classes, ...CURATOR_CLASSPATH].join(':'), 'CuratorMutex', server!.connectString,
        String(THREADS), String(ITERATIONS),
      ], { timeoutMs: 120_000 });
      assert.equal(r.code, 0, `CuratorMutex failed: ${describeRun(r)}`);
      const line = r.stdout.trim().split('\n').pop() ?? '';
      let o: {
        counter: number; expected: number; acquired: number; maxInside: number; violations: number; errors: string[];
        lockChildrenAfter: string[]; pccCompleted: boolean; pccEvents: string[]; ccInitialized: boolean;
        ccEvents: string[]; ccCachedGone: boolean; ccCachedX: boolean; ncInitial: string | null; ncAfter: string | null;
      };
      try {
        o = JSON.parse(line) as typeof o;
      } catch {
        assert.fail(`CuratorMutex printed no JSON: ${describeRun(r)}`);
      }
      // mutex
      assert.deepEqual(o.errors, []);
      assert.equal(o.expected, THREADS * ITERATIONS);
      assert.equal(o.acquired, THREADS * ITERATIONS);
      assert.equal(o.maxInside, 1, 'never two holders at once');
      assert.equal(o.violations, 0, 'no versioned setData raced');
      assert.equal(o.counter, THREADS * ITERATIONS);
      assert.deepEqual(o.lockChildrenAfter, [], 'lock nodes are removed on release');
      // PathChildrenCache (child + data watches)
      assert.equal(o.pccCompleted, true, `PathChildrenCache events: ${JSON.stringify(o.pccEvents)}`);
      assert.deepEqual(o.pccEvents, ['CHILD_ADDED /curator/pcc/a 1', 'CHILD_UPDATED /curator/pcc/a 2', 'CHILD_REMOVED /curator/pcc/a 2']);
      // CuratorCache (persistent recursive watch): the initial load reports the root, then the deep changes
      assert.equal(o.ccInitialized, true);
      assert.ok(o.ccEvents.length >= 1 && o.ccEvents[0].startsWith('created /curator/cc '), JSON.stringify(o.ccEvents));
      assert.deepEqual(o.ccEvents.slice(1), [
        'created /curator/cc/x ',
        'created /curator/cc/x/y deep',
        'changed /curator/cc/x/y deep->deeper',
        'deleted /curator/cc/x/y',
      ]);
      assert.equal(o.ccCachedGone, true);
      assert.equal(o.ccCachedX, true);
      // NodeCache
      assert.equal(o.ncInitial, 'first');
      assert.equal(o.ncAfter, 'second');
    });
  });
}
