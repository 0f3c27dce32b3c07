// Test support: start and stop servers under test. `startOracle` runs Apache ZooKeeper 3.8 from the Debian package
// (the reference); `startZkts` runs our own server from dist/. Both listen on 127.0.0.1 on a free port, in a fresh
// temp dataDir, and are killed by `stop()` (tests call it in `after`/`finally`; an exit hook kills stragglers).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ORACLE_CLASSPATH } from '../../src/bench/launch.js';
import { GiveUp, fourLetter, freePort, waitFor } from './ports.js';

export interface RunningServer {
  kind: 'zkts' | 'apache';
  host: string;
  port: number;
  /** "127.0.0.1:port" */
  connectString: string;
  dataDir: string;
  proc: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** Extra zoo.cfg lines (key=value). */
  config?: Record<string, string | number | boolean>;
  /** Extra JVM system properties for the oracle (-Dkey=value). */
  systemProperties?: Record<string, string>;
  tickTime?: number;
}

const JAVA_LIB = '/usr/share/java';
/** One list of the oracle's jars, shared with the benchmark launcher. */
export { ORACLE_CLASSPATH } from '../../src/bench/launch.js';

export function oracleAvailable(): boolean {
  return fs.existsSync(path.join(JAVA_LIB, 'zookeeper.jar'));
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** The project root (dist/test/support -> ../../..). */
export const PROJECT_ROOT = path.resolve(here, '..', '..', '..');
export const ZKTS_MAIN = path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js');

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

function writeConfig(dir: string, port: number, opts: ServerOptions): string {
  const lines: Record<string, string | number | boolean> = {
    tickTime: opts.tickTime ?? 2000,
    dataDir: path.join(dir, 'data'),
    clientPort: port,
    clientPortAddress: '127.0.0.1',
    'admin.enableServer': false,
    '4lw.commands.whitelist': '*',
    maxClientCnxns: 0,
    ...opts.config,
  };
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  const cfg = path.join(dir, 'zoo.cfg');
  fs.writeFileSync(cfg, Object.entries(lines).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  return cfg;
}

async function launch(kind: 'zkts' | 'apache', opts: ServerOptions): Promise<RunningServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `zkts-${kind}-`));
  const port = await freePort();
  const cfg = writeConfig(dir, port, opts);
  const proc =
    kind === 'apache'
      ? spawn('java', [
          '-Xmx512m', '-Dzookeeper.jmx.log4j.disable=true',
          ...Object.entries(opts.systemProperties ?? {}).map(([k, v]) => `-D${k}=${v}`),
          '-cp', ORACLE_CLASSPATH, 'org.apache.zookeeper.server.ZooKeeperServerMain', cfg,
        ], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, [ZKTS_MAIN, 'server', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  let exited = false;
  proc.on('exit', () => {
    exited = true;
    live.delete(proc);
  });
  const server: RunningServer = {
    kind, host: '127.0.0.1', port, connectString: `127.0.0.1:${port}`, dataDir: path.join(dir, 'data'), proc,
    output: () => out,
    stop: async () => {
      if (!exited) {
        proc.kill('SIGKILL');
        await waitFor(`${kind} server exit`, () => exited, 10_000, 20);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(`${kind} server on port ${port}`, async () => {
      if (exited) throw new GiveUp(`${kind} server exited early:\n${out}`);
      // Apache ZooKeeper answers ruok before it accepts sessions; srvr shows "Mode:" only once it is serving.
      return (await fourLetter(port, 'srvr', '127.0.0.1', 1000)).includes('Mode:');
    }, 30_000, 100);
  } catch (e) {
    await server.stop();
    throw new Error(`${(e as Error).message}\n--- server output ---\n${out}`);
  }
  return server;
}

/** Apache ZooKeeper 3.8 standalone from the Debian package. */
export function startOracle(opts: ServerOptions = {}): Promise<RunningServer> {
  return launch('apache', opts);
}

/** zkts standalone, from this checkout's dist/. */
export function startZkts(opts: ServerOptions = {}): Promise<RunningServer> {
  return launch('zkts', opts);
}

/** Both kinds, for tests that run the same thing against each. */
export const SERVER_KINDS = ['zkts', 'apache'] as const;
export function startServer(kind: 'zkts' | 'apache', opts: ServerOptions = {}): Promise<RunningServer> {
  return kind === 'zkts' ? startZkts(opts) : startOracle(opts);
}

/**
 * The server kinds a cross-server test runs against: both by default; ZKTS_TEST_KINDS=apache (or zkts) narrows it
 * while one side is under construction.
 */
export function testKinds(): Array<'zkts' | 'apache'> {
  const env = process.env.ZKTS_TEST_KINDS;
  if (!env) return [...SERVER_KINDS];
  return env.split(',').map((s) => s.trim()).filter((s): s is 'zkts' | 'apache' => s === 'zkts' || s === 'apache');
}
