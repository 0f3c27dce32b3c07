// Starts the servers the comparison runs against: Apache ZooKeeper 3.8 from the Debian package and zkts from this
// checkout's dist/, each standalone on a free 127.0.0.1 port with a fresh temp dataDir. Launched the same way as
// test/support/servers.ts does it (keep the two in step); ready once a client session can be established.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
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
  output(): string;
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
}

export async function launch(o: LaunchOptions): Promise<Launched> {
  const dir = fs.mkdtempSync(path.join(o.tmpDir ?? os.tmpdir(), `zkts-bench-${o.kind}-`));
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
    : spawn(process.execPath, [ZKTS_MAIN, 'server', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  let out = '';
  const keep = (d: Buffer): void => {
    out += d.toString();
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
    name: o.name, port, proc,
    output: () => out,
    stop: async () => {
      if (!exited) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
        await exit;
        clearTimeout(t);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + (o.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (exited) {
      await server.stop();
      throw new Error(`${o.name} exited during startup:\n${out.slice(-2000)}`);
    }
    const s = new Session({ onReply: () => undefined });
    try {
      await s.connect('127.0.0.1', port, 10_000, 1_000);
      await s.close();
      return server;
    } catch {
      s.destroy();
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`${o.name} did not accept a session on port ${port} within ${o.readyTimeoutMs ?? 30_000} ms:\n${out.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
