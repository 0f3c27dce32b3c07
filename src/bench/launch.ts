// Starts the servers the comparison runs against: Apache ZooKeeper 3.8 from the Debian package and zkts from this
// checkout's dist/, each standalone on a free 127.0.0.1 port with a fresh temp dataDir. Launched the same way as
// test/support/servers.ts does it (keep the two in step); ready once a client session can be established.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Session } from './session.js';

const JAVA_LIB = '/usr/share/java';
const ORACLE_JARS = [
  'zookeeper.jar', 'zookeeper-jute.jar', 'slf4j-api.jar', 'slf4j-simple.jar', 'metrics-core.jar', 'snappy-java.jar',
  'commons-io.jar', 'netty-handler.jar', 'netty-common.jar', 'netty-buffer.jar', 'netty-transport.jar', 'netty-codec.jar',
  'netty-resolver.jar', 'netty-transport-native-epoll.jar', 'netty-transport-native-unix-common.jar',
];
export const ORACLE_CLASSPATH = ORACLE_JARS.map((j) => path.join(JAVA_LIB, j)).join(':');
/** dist/src/bench -> dist/src/cli/main.js */
export const ZKTS_MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));

export interface Launched {
  name: string;
  port: number;
  proc: ChildProcess;
  /** The server's directory (zoo.cfg and data/). */
  dir: string;
  /** performance.now() at spawn and when the readiness probe first passed. */
  spawnedAt: number;
  readyAt: number;
  output(): string;
  /** SIGTERM (SIGKILL after the grace period); removes the directory unless it is kept. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** Kills every server this module started (synchronously; for signal handlers). */
export function killAll(): void {
  for (const p of live) p.kill('SIGKILL');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface LaunchOptions {
  kind: 'zkts' | 'apache';
  name: string;
  /** Extra zoo.cfg lines. */
  config?: Record<string, string | number | boolean>;
  /** Parent of the temp dataDir (default os.tmpdir()). */
  tmpDir?: string;
  readyTimeoutMs?: number;
  javaHeap?: string;
  /** Use this directory (and its data/) instead of a fresh temp dir, e.g. to restart on the same dataDir. */
  dir?: string;
  /** Keep the directory when the server stops (default: kept only if `dir` was given). */
  keepDir?: boolean;
  /** Extra node flags for zkts, e.g. ['--max-old-space-size=6144']. */
  nodeArgs?: string[];
  /** Readiness probe to use instead of "a client session can be established". */
  ready?: (port: number) => Promise<boolean>;
  /** Poll interval of the readiness probe (default 200 ms). */
  pollMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL (default 3000 ms). */
  stopGraceMs?: number;
  /** Sees every chunk the server writes to stdout/stderr as it arrives. */
  onOutput?: (chunk: string) => void;
}

/** A field of /proc/<pid>/status in kB (VmRSS by default; VmHWM is the peak); NaN if unreadable. */
export function procStatusKb(pid: number | undefined, field = 'VmRSS'): number {
  if (pid === undefined) return NaN;
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** Resident set size of a process in kB (/proc/<pid>/status VmRSS); NaN if unreadable. */
export function rssKb(pid: number | undefined): number {
  return procStatusKb(pid, 'VmRSS');
}

/** Sends a four-letter word and resolves with the whole answer ('' on error or timeout). */
export function fourLetterWord(port: number, word: string, timeoutMs = 2000, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const sock = net.connect({ host, port });
    const done = (): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(out);
    };
    const timer = setTimeout(done, timeoutMs);
    sock.on('connect', () => sock.write(word));
    sock.on('data', (d) => (out += d.toString()));
    sock.on('error', done);
    sock.on('close', done);
  });
}

export async function launch(o: LaunchOptions): Promise<Launched> {
  const dir = o.dir ?? fs.mkdtempSync(path.join(o.tmpDir ?? os.tmpdir(), `zkts-bench-${o.kind}-`));
  const keepDir = o.keepDir ?? o.dir !== undefined;
  const port = await freePort();
  const cfgLines: Record<string, string | number | boolean> = {
    tickTime: 2000,
    dataDir: path.join(dir, 'data'),
    clientPort: port,
    clientPortAddress: '127.0.0.1',
    'admin.enableServer': false,
    '4lw.commands.whitelist': '*',
    maxClientCnxns: 0,
    ...o.config,
  };
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  const cfg = path.join(dir, 'zoo.cfg');
  fs.writeFileSync(cfg, Object.entries(cfgLines).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  const proc = o.kind === 'apache'
    ? spawn('java', [
        `-Xmx${o.javaHeap ?? '1g'}`, '-Dzookeeper.jmx.log4j.disable=true', '-cp', ORACLE_CLASSPATH,
        'org.apache.zookeeper.server.ZooKeeperServerMain', cfg,
      ], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [...(o.nodeArgs ?? []), ZKTS_MAIN, 'server', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  const spawnedAt = performance.now();
  live.add(proc);
  let out = '';
  const keep = (d: Buffer): void => {
    const text = d.toString();
    o.onOutput?.(text);
    out += text;
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((resolve) => proc.on('exit', () => {
    exited = true;
    live.delete(proc);
    resolve();
  }));
  proc.on('error', (e) => (out += `\nspawn failed: ${e.message}`));
  const server: Launched = {
    name: o.name, port, proc, dir, spawnedAt, readyAt: NaN,
    output: () => out,
    stop: async () => {
      if (!exited) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), o.stopGraceMs ?? 3000);
        await exit;
        clearTimeout(t);
      }
      if (!keepDir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + (o.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (exited) {
      await server.stop();
      throw new Error(`${o.name} exited during startup:\n${out.slice(-2000)}`);
    }
    if (o.ready) {
      if (await o.ready(port)) {
        server.readyAt = performance.now();
        return server;
      }
    } else {
      const s = new Session({ onReply: () => undefined });
      try {
        await s.connect('127.0.0.1', port, 10_000, 1_000);
        server.readyAt = performance.now();
        await s.close();
        return server;
      } catch {
        s.destroy();
      }
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`${o.name} did not accept a session on port ${port} within ${o.readyTimeoutMs ?? 30_000} ms:\n${out.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, o.pollMs ?? 200));
  }
}
