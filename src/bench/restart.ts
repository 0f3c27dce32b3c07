// Load and restart cost with a large tree, zkts vs Apache ZooKeeper 3.8 (both fsyncing their txn logs):
// for each server, start it on a fresh dataDir, create N znodes of B bytes (/r/d<i>/n<j>, `perDir` per dir) with a
// window of pipelined creates, record the load time and the server's RSS, stop it with SIGTERM (as an operator
// would), start it again on the same dataDir and time spawn -> `srvr` answering "Mode:" with a node count >= N,
// then record the RSS after the restart. Runs are interleaved (zkts, ZK, ZK, zkts, ...) and repeated.
//
//   node dist/src/bench/restart.js [--nodes 1000000] [--size 100] [--runs 2] [--json]
import { optionValues } from './args.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CreateMode, OpCode } from '../protocol/constants.js';
import { codeName } from '../protocol/errors.js';
import { fourLetterWord, killAll, launch, type Launched, procStatusKb, rssKb } from './launch.js';
import { buildFrame, Session } from './session.js';
import { OPEN_ACL } from './workload.js';

export type Kind = 'zkts' | 'apache';

export interface ServerTuning {
  /** zkts: node --max-old-space-size in MB. */
  zktsHeapMb: number;
  /** Apache ZooKeeper: -Xmx. */
  javaHeap: string;
  /** zkts: further node flags (e.g. --trace-gc). */
  zktsNodeArgs: string[];
}

export const DEFAULT_TUNING: ServerTuning = { zktsHeapMb: 6144, javaHeap: '4g', zktsNodeArgs: [] };

export function label(kind: Kind): string {
  return kind === 'zkts' ? 'zkts' : 'ZK';
}

export function launchOptions(kind: Kind, t: ServerTuning): { javaHeap?: string; nodeArgs?: string[] } {
  return kind === 'apache' ? { javaHeap: t.javaHeap } : { nodeArgs: [`--max-old-space-size=${t.zktsHeapMb}`, ...t.zktsNodeArgs] };
}

/** `srvr` parsed: Mode and Node count (undefined while the server is not serving). */
export async function srvr(port: number, timeoutMs = 2000): Promise<{ mode?: string; nodes?: number; raw: string }> {
  const raw = await fourLetterWord(port, 'srvr', timeoutMs);
  const mode = /^Mode: (\S+)/m.exec(raw)?.[1];
  const n = /^Node count: (\d+)/m.exec(raw)?.[1];
  return { mode, nodes: n === undefined ? undefined : Number(n), raw };
}

export interface LoadResult {
  nodes: number;
  dirs: number;
  seconds: number;
  createsPerSec: number;
}

/**
 * Creates /r, /r/d0.. and N znodes /r/d<i>/n<j> of `size` bytes through one session, keeping `window` creates
 * outstanding. Throws on the first error reply.
 */
export async function loadTree(port: number, nodes: number, size: number, perDir = 1000, window = 1000,
  progress?: (done: number) => void): Promise<LoadResult> {
  const dirs = Math.ceil(nodes / perDir);
  const data = Buffer.alloc(size, 0x61);
  const empty = Buffer.alloc(0);
  const frame = (p: string, d: Buffer): Buffer =>
    buildFrame({ op: OpCode.create, create: { path: p, data: d, acl: OPEN_ACL, flags: CreateMode.PERSISTENT } });
  // Phase 0: /r; phase 1: the dirs; phase 2: the znodes. A phase starts once the previous one is answered.
  let sent = 0;
  let end = 0;
  let make: (i: number) => Buffer = () => empty;
  let finish: ((e?: Error) => void) | undefined;
  let done = 0;
  const s = new Session({
    onReply: (sess, tag, err) => {
      done++;
      if (err !== 0) return finish?.(new Error(`create #${tag}: ${codeName(err)}`));
      if (progress && done % 100_000 === 0) progress(done);
      if (sent < end) {
        sess.sendFrame(make(sent), sent);
        sent++;
      } else if (sess.outstanding === 0) finish?.();
    },
    onClose: (_s, lost, e) => finish?.(new Error(`session closed with ${lost} creates outstanding${e ? `: ${e.message}` : ''}`)),
  });
  await s.connect('127.0.0.1', port, 30_000, 10_000);
  const phase = (from: number, to: number, f: (i: number) => Buffer): Promise<void> => new Promise<void>((resolve, reject) => {
    sent = from;
    end = to;
    make = f;
    finish = (e) => {
      finish = undefined;
      if (e) reject(e);
      else resolve();
    };
    while (sent < end && s.outstanding < window) {
      s.sendFrame(make(sent), sent);
      sent++;
    }
    if (from >= to) finish();
  });
  const started = performance.now();
  try {
    await phase(0, 1, () => frame('/r', empty));
    await phase(0, dirs, (i) => frame(`/r/d${i}`, empty));
    await phase(0, nodes, (i) => frame(`/r/d${Math.floor(i / perDir)}/n${i % perDir}`, data));
  } finally {
    await s.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { nodes, dirs, seconds, createsPerSec: (nodes + dirs + 1) / seconds };
}

export function duBytes(dir: string): number {
  let total = 0;
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) total += fs.statSync(p).blocks * 512;
    }
  };
  try {
    walk(dir);
  } catch {
    // gone
  }
  return total;
}

export function listVersion2(dataDir: string): string[] {
  try {
    return fs.readdirSync(path.join(dataDir, 'version-2')).sort();
  } catch {
    return [];
  }
}

interface RestartRow {
  kind: Kind;
  run: number;
  nodes: number;
  size: number;
  loadS: number;
  createsPerSec: number;
  rssAfterLoadKb: number;
  peakRssLoadKb: number;
  stopS: number;
  exitSignal: string | null;
  exitCode: number | null;
  dataDirBytes: number;
  files: string[];
  restartS: number;
  nodeCountAfterRestart: number;
  rssAfterRestartKb: number;
  peakRssRestartKb: number;
  restartLog: string[];
}

interface Options {
  nodes: number;
  size: number;
  perDir: number;
  window: number;
  runs: number;
  tuning: ServerTuning;
  tmpDir: string;
  json: boolean;
  kinds: Kind[];
}

const USAGE = `usage: node dist/src/bench/restart.js [--nodes N] [--size B] [--per-dir D] [--window W] [--runs R]
       [--zkts-heap-mb MB] [--zkts-node-arg FLAG]... [--java-heap 4g] [--tmp-dir DIR] [--zkts-only | --zk-only] [--json]`;

function parse(argv: string[]): Options {
  const o: Options = {
    nodes: 1_000_000, size: 100, perDir: 1000, window: 1000, runs: 2, tuning: { ...DEFAULT_TUNING, zktsNodeArgs: [] },
    tmpDir: os.tmpdir(), json: false, kinds: ['zkts', 'apache'],
  };
  for (const cur = { i: 0 }; cur.i < argv.length; cur.i++) {
    const a = argv[cur.i];
    const { value: v, count: int } = optionValues(argv, cur);
    switch (a) {
      case '--nodes': o.nodes = int(); break;
      case '--size': o.size = int(); break;
      case '--per-dir': o.perDir = Math.max(1, int()); break;
      case '--window': o.window = Math.max(1, int()); break;
      case '--runs': o.runs = Math.max(1, int()); break;
      case '--zkts-heap-mb': o.tuning.zktsHeapMb = int(); break;
      case '--java-heap': o.tuning.javaHeap = v(); break;
      case '--zkts-node-arg': o.tuning.zktsNodeArgs.push(v()); break;
      case '--tmp-dir': o.tmpDir = v(); break;
      case '--zkts-only': o.kinds = ['zkts']; break;
      case '--zk-only': o.kinds = ['apache']; break;
      case '--json': o.json = true; break;
      case '-h': case '--help': process.stdout.write(USAGE + '\n'); process.exit(0); break;
      default: throw new Error(`unknown argument ${a}\n${USAGE}`);
    }
  }
  return o;
}

/** Temp dirs of runs in progress, removed on Ctrl-C too. */
export const liveDirs = new Set<string>();

async function oneRun(kind: Kind, run: number, o: Options, log: (s: string) => void): Promise<RestartRow> {
  const dir = fs.mkdtempSync(path.join(o.tmpDir, `zkts-restart-${kind}-`));
  liveDirs.add(dir);
  const name = label(kind);
  let srv: Launched | undefined;
  try {
    srv = await launch({ kind, name, dir, keepDir: true, readyTimeoutMs: 60_000, ...launchOptions(kind, o.tuning) });
    log(`${name} run ${run}: started (pid ${srv.proc.pid}, port ${srv.port}); loading ${o.nodes} x ${o.size} B`);
    let peakLoad = 0;
    const sampler = setInterval(() => (peakLoad = Math.max(peakLoad, rssKb(srv?.proc.pid) || 0)), 500);
    let load: LoadResult;
    try {
      load = await loadTree(srv.port, o.nodes, o.size, o.perDir, o.window, (d) => log(`  ${d} done`));
    } finally {
      clearInterval(sampler);
    }
    const rssAfterLoad = rssKb(srv.proc.pid);
    const hwm = procStatusKb(srv.proc.pid, 'VmHWM');
    const before = await srvr(srv.port);
    log(`  loaded in ${load.seconds.toFixed(1)} s (${Math.round(load.createsPerSec)}/s), node count ${before.nodes}, RSS ${mb(rssAfterLoad)}`);
    const proc = srv.proc;
    const exited = new Promise<void>((res) => proc.once('exit', () => res()));
    const t0 = performance.now();
    const s1 = srv;
    srv = undefined;
    await Promise.all([s1.stop(), exited]);
    const stopS = (performance.now() - t0) / 1000;
    const dataDir = path.join(dir, 'data');
    const files = listVersion2(dataDir);
    const dataDirBytes = duBytes(dataDir);
    log(`  stopped in ${stopS.toFixed(2)} s (code ${proc.exitCode}, signal ${proc.signalCode}); dataDir ${mb(dataDirBytes / 1024)}: ${files.join(' ')}`);

    let lastNodes = 0;
    srv = await launch({
      kind, name, dir, keepDir: true, readyTimeoutMs: 900_000, pollMs: 50, ...launchOptions(kind, o.tuning),
      ready: async (port) => {
        const r = await srvr(port, 1000);
        if (r.nodes !== undefined) lastNodes = r.nodes;
        return r.mode !== undefined && r.nodes !== undefined && r.nodes >= o.nodes;
      },
    });
    const restartS = (srv.readyAt - srv.spawnedAt) / 1000;
    const rssAfterRestart = rssKb(srv.proc.pid);
    const peakRestart = procStatusKb(srv.proc.pid, 'VmHWM');
    const restartLog = srv.output().split('\n')
      .filter((l) => /loaded snapshot|recovered database|snapshot written|serving clients|Snapshot loaded|Snapshotting|Reading snapshot|snapshot taken|loadData|Started|binding/i.test(l))
      .slice(0, 12).map((l) => l.slice(0, 300));
    log(`  restart: ready in ${restartS.toFixed(2)} s, node count ${lastNodes}, RSS ${mb(rssAfterRestart)}`);
    return {
      kind, run, nodes: o.nodes, size: o.size, loadS: load.seconds, createsPerSec: load.createsPerSec,
      rssAfterLoadKb: rssAfterLoad, peakRssLoadKb: Math.max(peakLoad, hwm), stopS,
      exitSignal: proc.signalCode, exitCode: proc.exitCode, dataDirBytes, files, restartS,
      nodeCountAfterRestart: lastNodes, rssAfterRestartKb: rssAfterRestart, peakRssRestartKb: peakRestart, restartLog,
    };
  } finally {
    if (srv) await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
  }
}

function mb(kb: number): string {
  return Number.isFinite(kb) ? `${(kb / 1024).toFixed(0)} MB` : '?';
}

function table(rows: RestartRow[], kinds: Kind[]): string {
  const out: string[][] = [['metric', 'run', ...kinds.map(label), ...(kinds.length === 2 ? ['ratio zkts/ZK'] : [])]];
  const runs = [...new Set(rows.map((r) => r.run))].sort((a, b) => a - b);
  const metrics: Array<[string, (r: RestartRow) => number, (x: number) => string]> = [
    ['load time (s)', (r) => r.loadS, (x) => x.toFixed(1)],
    ['load creates/s', (r) => r.createsPerSec, (x) => String(Math.round(x))],
    ['RSS after load (MB)', (r) => r.rssAfterLoadKb / 1024, (x) => x.toFixed(0)],
    ['peak RSS during load (MB)', (r) => r.peakRssLoadKb / 1024, (x) => x.toFixed(0)],
    ['SIGTERM -> exit (s)', (r) => r.stopS, (x) => x.toFixed(2)],
    ['dataDir on disk (MB)', (r) => r.dataDirBytes / 1048576, (x) => x.toFixed(0)],
    ['restart: spawn -> srvr ready (s)', (r) => r.restartS, (x) => x.toFixed(2)],
    ['RSS after restart (MB)', (r) => r.rssAfterRestartKb / 1024, (x) => x.toFixed(0)],
    ['peak RSS during restart (MB)', (r) => r.peakRssRestartKb / 1024, (x) => x.toFixed(0)],
  ];
  for (const [name, f, fmt] of metrics) {
    for (const run of runs) {
      const vals = kinds.map((k) => rows.find((r) => r.kind === k && r.run === run));
      const cells = vals.map((r) => (r ? fmt(f(r)) : '-'));
      const ratio = kinds.length === 2 && vals[0] && vals[1] && f(vals[1]) !== 0 ? (f(vals[0]) / f(vals[1])).toFixed(2) : '-';
      out.push([name, String(run), ...cells, ...(kinds.length === 2 ? [ratio] : [])]);
    }
  }
  const widths = out[0].map((_, i) => Math.max(...out.map((r) => r[i].length)));
  return out.map((r, k) => {
    const line = r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ');
    return k === 0 ? `${line}\n${widths.map((n) => '-'.repeat(n)).join('-|-')}` : line;
  }).join('\n');
}

export async function restartMain(argv: string[]): Promise<number> {
  const o = parse(argv);
  const log = (s: string): void => void process.stderr.write(s + '\n');
  const rows: RestartRow[] = [];
  let failed = false;
  for (let run = 1; run <= o.runs; run++) {
    // Alternate the order so that drift in machine load hits both alike.
    const order = run % 2 === 1 ? o.kinds : [...o.kinds].reverse();
    for (const kind of order) {
      try {
        rows.push(await oneRun(kind, run, o, log));
      } catch (e) {
        failed = true;
        log(`${label(kind)} run ${run} failed: ${(e as Error).message}`);
      }
    }
  }
  const setup = `nodes=${o.nodes} size=${o.size}B perDir=${o.perDir} window=${o.window}; zkts node --max-old-space-size=${o.tuning.zktsHeapMb}, ` +
    `ZK -Xmx${o.tuning.javaHeap} forceSync=yes; ${os.cpus().length} cores, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, node ${process.version}`;
  if (o.json) process.stdout.write(JSON.stringify({ setup, rows }) + '\n');
  else {
    process.stdout.write(`\n${setup}\n\n${table(rows, o.kinds)}\n\n`);
    for (const r of rows) {
      process.stdout.write(`${label(r.kind)} run ${r.run}: exit after SIGTERM code=${r.exitCode} signal=${r.exitSignal}; files: ${r.files.join(' ')}\n`);
      for (const l of r.restartLog) process.stdout.write(`    ${l}\n`);
    }
  }
  return failed ? 1 : 0;
}

function isMain(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
if (isMain()) {
  const onSignal = (): void => {
    killAll();
    for (const d of liveDirs) fs.rmSync(d, { recursive: true, force: true });
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  restartMain(process.argv.slice(2)).then((code) => process.exit(code), (e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    killAll();
    process.exit(1);
  });
}
