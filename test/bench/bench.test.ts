// Behaviour of `zkts bench` (not its speed): every workload runs briefly against each server kind and yields a
// sane JSON report with no errors and nothing left behind; several targets (a zkts ensemble) get their share of the
// sessions; bad arguments give usage and exit code 2; the latency histogram is accurate to its stated error.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { benchMain, type BenchIO, type BenchResult } from '../../src/bench/main.js';
import { endpointOf, parseBenchArgs, WORKLOADS } from '../../src/bench/args.js';
import { type Ensemble, killEnsembles, startEnsemble } from '../../src/bench/ensemble.js';
import { srvr } from '../../src/bench/restart.js';
import { bucketOf, bucketRange, Histogram } from '../../src/bench/histogram.js';
import { Session } from '../../src/bench/session.js';
import { OpCode } from '../../src/protocol/constants.js';
import { Code } from '../../src/protocol/errors.js';
import { freePort } from '../support/ports.js';
import { type RunningServer, startServer, testKinds } from '../support/servers.js';

interface Captured {
  code: number;
  out: string;
  err: string;
}

async function run(argv: string[]): Promise<Captured> {
  let out = '';
  let err = '';
  const io: BenchIO = { stdout: (s) => void (out += s), stderr: (s) => void (err += s) };
  const code = await benchMain(argv, io);
  return { code, out, err };
}

async function exists(port: number, path: string): Promise<boolean> {
  const s = new Session({ onReply: () => undefined });
  await s.connect('127.0.0.1', port, 10_000);
  try {
    const r = await s.call({ op: OpCode.exists, path, watch: false });
    assert.ok(r.err === 0 || r.err === Code.NONODE, `exists ${path}: ${r.err}`);
    return r.err === 0;
  } finally {
    await s.close();
  }
}

for (const kind of testKinds()) {
  void describe(`zkts bench against ${kind}`, { timeout: 120_000 }, () => {
    let server: RunningServer;
    before(async () => {
      server = await startServer(kind);
    });
    after(async () => {
      await server?.stop();
    });

    for (const workload of WORKLOADS) {
      void it(`${workload}: ops > 0, no errors, ordered percentiles, nothing left behind`, async () => {
        const { code, out, err } = await run([
          '--target', server.connectString, '--workload', workload, '--clients', '3', '--outstanding', '4',
          '--size', '64', '--duration', '1', '--warmup', '0.2', '--procs', '2', '--json',
        ]);
        assert.equal(code, 0, `exit code; stdout ${out} stderr ${err}`);
        const r = JSON.parse(out) as BenchResult;
        assert.equal(r.workload, workload);
        assert.ok(r.ops > 0, `ops ${r.ops}`);
        assert.ok(r.opsPerSec > 0);
        assert.equal(r.errors, 0, JSON.stringify(r.errorCodes) + ' ' + (r.firstError ?? ''));
        assert.equal(r.cleanupErrors, 0);
        assert.equal(r.sessions, workload === 'watch' ? 6 : 3);
        const l = r.latencyMs;
        assert.ok(l.min > 0 && l.min <= l.p50, `min ${l.min} p50 ${l.p50}`);
        assert.ok(l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, JSON.stringify(l));
        assert.ok(l.max < 10_000, `max ${l.max} ms`);
        const byKind = Object.values(r.opsByKind).reduce((a, b) => a + b, 0);
        assert.equal(byKind, r.ops);
        if (workload === 'mixed') assert.ok(r.opsByKind.get > r.opsByKind.set, JSON.stringify(r.opsByKind));
        assert.equal(await exists(server.port, '/zkts-bench'), false, 'the bench root was removed');
      });
    }

    void it('text output names throughput, percentiles and errors', async () => {
      const { code, out } = await run(['--target', server.connectString, '--workload', 'get', '--clients', '1',
        '--duration', '0.3', '--warmup', '0']);
      assert.equal(code, 0);
      assert.match(out, /throughput\s+\d+ ops\/s/);
      assert.match(out, /p50 [\d.]+ .*p99 [\d.]+ .*p99\.9 [\d.]+/);
      assert.match(out, /errors\s+0/);
    });
  });
}

/** The "Received:" packet count of a server's srvr answer. */
async function received(port: number): Promise<number> {
  const m = /^Received: (\d+)$/m.exec((await srvr(port)).raw);
  assert.ok(m, `srvr of ${port} has no Received line`);
  return Number(m[1]);
}

// Two standalone servers would not do: the run's nodes are created through the first target only, so the
// targets must share one tree.
void describe('zkts bench over the servers of a zkts ensemble', { timeout: 180_000 }, () => {
  let ensemble: Ensemble;
  before(async () => {
    ensemble = await startEnsemble({ kind: 'zkts', voters: 3 });
  });
  after(async () => {
    await ensemble?.stop();
    killEnsembles();
  });

  for (const workload of ['mixed', 'watch'] as const) {
    void it(`${workload}: sessions round-robin over every server, each server loaded, no errors`, async () => {
      const ports = ensemble.nodes.map((n) => n.clientPort);
      const packetsBefore = await Promise.all(ports.map(received));
      const { code, out, err } = await run([
        '--target', ensemble.connectString(), '--workload', workload, '--clients', '3', '--outstanding', '4',
        '--duration', '1', '--warmup', '0.2', '--procs', '2', '--json',
      ]);
      assert.equal(code, 0, `exit code; stdout ${out} stderr ${err}`);
      const r = JSON.parse(out) as BenchResult;
      assert.equal(r.errors, 0, JSON.stringify(r.errorCodes) + ' ' + (r.firstError ?? ''));
      assert.ok(r.ops > 0);
      assert.equal(r.target, ensemble.connectString());
      const each = workload === 'watch' ? 2 : 1;
      assert.deepEqual(r.sessionsByTarget, Object.fromEntries(ports.map((p) => [`127.0.0.1:${p}`, each])));
      const packetsAfter = await Promise.all(ports.map(received));
      ports.forEach((p, i) => {
        const n = packetsAfter[i] - packetsBefore[i];
        assert.ok(n > 100, `server ${p} received ${n} packets`);
      });
    });
  }
});

void describe('zkts bench arguments', () => {
  const bad: string[][] = [
    [],
    ['--workload', 'get'],
    ['--target', '127.0.0.1'],
    ['--target', 'localhost:notaport'],
    ['--target', '127.0.0.1:70000'],
    ['--target', '127.0.0.1:2181', '--workload', 'delete'],
    ['--target', '127.0.0.1:2181', '--clients', '0'],
    ['--target', '127.0.0.1:2181', '--clients', 'many'],
    ['--target', '127.0.0.1:2181', '--outstanding', '1.5'],
    ['--target', '127.0.0.1:2181', '--size', '-1'],
    ['--target', '127.0.0.1:2181', '--duration', '0'],
    ['--target', '127.0.0.1:2181', '--warmup', '-1'],
    ['--target', '127.0.0.1:2181', '--clients', '2', '--procs', '3'],
    ['--target', '127.0.0.1:2181', '--read-percent', '101'],
    ['--target', '127.0.0.1:2181', '--root', 'relative'],
    ['--target', '127.0.0.1:2181', '--frobnicate', '1'],
    ['--target', '127.0.0.1:2181', 'extra'],
    ['--target', '127.0.0.1:2181', '--clients'],
    ['--target', '127.0.0.1:2181', '--target', '127.0.0.1:2182'],
    ['--target', '127.0.0.1:2181,'],
    ['--target', '127.0.0.1:2181,127.0.0.1'],
    ['--target', '127.0.0.1:2181,127.0.0.1:2181'],
  ];
  for (const argv of bad) {
    void it(`rejects ${JSON.stringify(argv)} with usage and exit code 2`, async () => {
      const { code, out, err } = await run(argv);
      assert.equal(code, 2);
      assert.equal(out, '');
      assert.match(err, /^zkts bench: .+\n/);
      assert.match(err, /usage: zkts bench --target host:port/);
    });
  }

  void it('a target list spreads sessions round-robin; one target is host:port as before', () => {
    const one = parseBenchArgs(['--target', 'localhost:2181'])!;
    assert.deepEqual([one.host, one.port], ['localhost', 2181]);
    assert.deepEqual(endpointOf(one, 5), { host: 'localhost', port: 2181 });
    const three = parseBenchArgs(['--target', '127.0.0.1:1, [::1]:2 ,h:3'])!;
    assert.deepEqual([three.host, three.port], ['127.0.0.1', 1]);
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => endpointOf(three, i).port), [1, 2, 3, 1, 2]);
    assert.equal(endpointOf(three, 1).host, '::1');
  });

  void it('--help prints usage on stdout and exits 0', async () => {
    const { code, out } = await run(['--help']);
    assert.equal(code, 0);
    assert.match(out, /usage: zkts bench/);
    for (const w of WORKLOADS) assert.match(out, new RegExp(`\\b${w}\\b`));
  });

  void it('accepts --key=value and reports an unreachable server with exit code 1', async () => {
    const port = await freePort();
    const { code, out } = await run([`--target=127.0.0.1:${port}`, '--duration=1', '--json']);
    assert.equal(code, 1);
    assert.match((JSON.parse(out) as { error: string }).error, /127\.0\.0\.1/);
  });
});

void describe('latency histogram', () => {
  void it('maps every value into a bucket whose range contains it', () => {
    for (const v of [0, 1, 127, 128, 129, 255, 256, 1000, 65_535, 1_000_000, 2 ** 30, 2 ** 31 - 1]) {
      const [lo, hi] = bucketRange(bucketOf(v));
      assert.ok(lo <= v && v < hi, `${v} in [${lo}, ${hi})`);
      assert.ok(v < 128 || (hi - lo) / lo <= 1 / 64, `relative width at ${v}`);
    }
    assert.equal(bucketOf(-5), 0);
    assert.equal(bucketOf(2 ** 40), bucketOf(2 ** 31 - 1));
  });

  void it('quantiles are within 1.6% of the exact ones and merge like the union', () => {
    let seed = 12345;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const values = Array.from({ length: 20_000 }, () => Math.floor(50 * Math.exp(rand() * 10)));
    const a = new Histogram();
    const b = new Histogram();
    const all = new Histogram();
    values.forEach((v, i) => ((i % 2 ? a : b).record(v), all.record(v)));
    const merged = Histogram.fromSparse(a.toSparse());
    merged.merge(b.toSparse());
    const sorted = [...values].sort((x, y) => x - y);
    for (const q of [0.5, 0.9, 0.99, 0.999]) {
      const exact = sorted[Math.ceil(q * sorted.length) - 1];
      const got = merged.quantileUs(q);
      assert.ok(Math.abs(got - exact) / exact <= 0.016, `q${q}: ${got} vs ${exact}`);
      assert.equal(got, all.quantileUs(q));
    }
    assert.equal(merged.count, values.length);
    assert.equal(merged.maxUs, sorted[sorted.length - 1]);
    assert.equal(merged.minUs, sorted[0]);
    assert.equal(new Histogram().quantileUs(0.99), 0);
  });
});
