// Durability test support: start zkts or Apache ZooKeeper 3.8 on a GIVEN dataDir (so that one server's data
// directory can be handed to another, or to the same kind again after a kill -9), copy data directories, and run a
// server that is expected to refuse to start.
//
// Each start writes its own zoo.cfg into a fresh temp dir that points at the given dataDir; stop() kills the process
// (SIGKILL, as a crash would) and removes only that temp dir, never the dataDir. Launched exactly as
// test/support/servers.ts launches servers (keep the two in step).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fourLetter, freePort, waitFor } from '../support/ports.js';
import { ORACLE_CLASSPATH, ZKTS_MAIN, type RunningServer } from '../support/servers.js';

export type Kind = 'zkts' | 'apache';

export interface StartOnOptions {
  /** Extra zoo.cfg lines (key=value). Apache turns unknown keys into zookeeper.<key> system properties. */
  config?: Record<string, string | number | boolean>;
  /** Extra JVM system properties for Apache (-Dkey=value). */
  systemProperties?: Record<string, string>;
  /** Txn logs elsewhere (dataLogDir); default: the dataDir. */
  dataLogDir?: string;
  tickTime?: number;
  /** How long to wait for `srvr` to show "Mode:". Default 30 s. */
  readyTimeoutMs?: number;
  /** Use this port (e.g. to restart on the port clients already know). Default: a free one. */
  port?: number;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** A fresh temp dir (removed by the caller with rmDir). */
export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `zkts-dur-${tag}-`));
}

export function rmDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Copies a whole data directory (version-2, myid, markers) to a fresh temp dir and returns the copy's path. */
export function copyDataDir(src: string, tag = 'copy'): string {
  const dst = tempDir(tag);
  fs.cpSync(src, dst, { recursive: true });
  return dst;
}

/** The files of <dir>/version-2 sorted by name (empty when absent). */
export function versionFiles(dir: string): string[] {
  try {
    return fs.readdirSync(path.join(dir, 'version-2')).sort();
  } catch {
    return [];
  }
}

interface Spawned {
  dir: string;
  port: number;
  proc: ChildProcess;
  output(): string;
  exited(): boolean;
  exitCode(): number | null;
}

async function spawnOn(kind: Kind, dataDir: string, opts: StartOnOptions): Promise<Spawned> {
  const dir = tempDir(`${kind}-cfg`);
  const port = opts.port ?? (await freePort());
  const lines: Record<string, string | number | boolean> = {
    tickTime: opts.tickTime ?? 2000,
    dataDir,
    ...(opts.dataLogDir ? { dataLogDir: opts.dataLogDir } : {}),
    clientPort: port,
    clientPortAddress: '127.0.0.1',
    'admin.enableServer': false,
    '4lw.commands.whitelist': '*',
    maxClientCnxns: 0,
    ...opts.config,
  };
  fs.mkdirSync(dataDir, { recursive: true });
  const cfg = path.join(dir, 'zoo.cfg');
  fs.writeFileSync(cfg, Object.entries(lines).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
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
  let exited = false;
  let code: number | null = null;
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  proc.on('exit', (c, sig) => {
    exited = true;
    code = c ?? (sig ? -1 : null);
    live.delete(proc);
  });
  return { dir, port, proc, output: () => out, exited: () => exited, exitCode: () => code };
}

async function killAndWait(s: Spawned): Promise<void> {
  if (!s.exited()) {
    s.proc.kill('SIGKILL');
    await waitFor('server exit', () => s.exited(), 10_000, 20);
  }
}

/**
 * Starts a server of `kind` on an existing (or empty) dataDir and waits until it serves (`srvr` shows "Mode:").
 * The returned server's stop() kills it with SIGKILL and removes its config dir; the dataDir stays.
 */
export async function startOn(kind: Kind, dataDir: string, opts: StartOnOptions = {}): Promise<RunningServer> {
  const s = await spawnOn(kind, dataDir, opts);
  const server: RunningServer = {
    kind, host: '127.0.0.1', port: s.port, connectString: `127.0.0.1:${s.port}`, dataDir, proc: s.proc,
    output: () => s.output(),
    stop: async () => {
      await killAndWait(s);
      rmDir(s.dir);
    },
  };
  try {
    // (waitFor swallows errors thrown by its probe, so an early exit is noticed here, not by throwing inside it)
    let exitedEarly = false;
    await waitFor(`${kind} server on port ${s.port} (dataDir ${dataDir})`, async () => {
      if (s.exited()) return (exitedEarly = true);
      return (await fourLetter(s.port, 'srvr', '127.0.0.1', 1000)).includes('Mode:');
    }, opts.readyTimeoutMs ?? 30_000, 100);
    if (exitedEarly) throw new Error(`${kind} server exited early (code ${s.exitCode()}) on dataDir ${dataDir}`);
  } catch (e) {
    const early = s.exited();
    await server.stop();
    throw new Error(`${(e as Error).message}\n--- ${kind} output (exited: ${early}) ---\n${s.output()}`);
  }
  return server;
}

export interface StartOutcome {
  /** True when the server came up and served (it is then killed). */
  started: boolean;
  /** The exit code when it exited by itself (null when it started or was killed). */
  exitCode: number | null;
  output: string;
}

/**
 * Starts a server on dataDir and reports whether it came up or exited by itself within `timeoutMs`. Used where a
 * server should refuse to start. The server is killed either way; the dataDir stays.
 */
export async function tryStart(kind: Kind, dataDir: string, opts: StartOnOptions = {}, timeoutMs = 30_000): Promise<StartOutcome> {
  const s = await spawnOn(kind, dataDir, opts);
  let started = false;
  try {
    await waitFor(`${kind} server to start or exit`, async () => {
      if (s.exited()) return true;
      if ((await fourLetter(s.port, 'srvr', '127.0.0.1', 1000)).includes('Mode:')) started = true;
      return started;
    }, timeoutMs, 100);
  } catch {
    // neither within the time: reported as not started, not exited
  }
  const exitCode = s.exited() ? s.exitCode() : null;
  await killAndWait(s);
  rmDir(s.dir);
  return { started, exitCode, output: s.output() };
}

/** A seeded PRNG (mulberry32) so that random tests can print and replay their seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
