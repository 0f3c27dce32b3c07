// Helpers for the real-client tests: run external client programs (kazoo scripts, zkCli, the C cli_mt, Java
// programs) with bounded time, drive interactive shells line by line, and locate helper files in the source tree.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../support/servers.js';

/** Non-TS helper files (Python, Java) live in the source tree, not in dist/. */
export const REALCLIENTS_DIR = path.join(PROJECT_ROOT, 'test', 'realclients');

/** The system Python that has kazoo installed (not the pyenv python3 on PATH). */
export const SYSTEM_PYTHON = '/usr/bin/python3';
export const CLI_MT = '/usr/lib/zookeeper/bin/cli_mt';
export const JAVA_LIB = '/usr/share/java';

/** The Debian jars the Java client (ZooKeeperMain, Curator's ZooKeeper) needs at runtime; slf4j-nop keeps it quiet. */
export const ZK_CLIENT_CLASSPATH = [
  'zookeeper.jar', 'zookeeper-jute.jar', 'slf4j-api.jar', 'slf4j-nop.jar', 'commons-cli.jar', 'netty-handler.jar',
  'netty-common.jar', 'netty-buffer.jar', 'netty-transport.jar', 'netty-codec.jar', 'netty-resolver.jar',
  'netty-transport-native-epoll.jar', 'netty-transport-native-unix-common.jar',
].map((j) => path.join(JAVA_LIB, j));

/** Curator 5.4 on top of the ZooKeeper client: framework, client, recipes and guava (failureaccess is inside). */
export const CURATOR_CLASSPATH = [
  ...ZK_CLIENT_CLASSPATH,
  ...['curator-client.jar', 'curator-framework.jar', 'curator-recipes.jar', 'guava.jar'].map((j) => path.join(JAVA_LIB, j)),
];

/** Returns the missing files among `files` (empty when all exist). */
export function missingFiles(files: string[]): string[] {
  return files.filter((f) => !fs.existsSync(f));
}

/** Whether an executable can be found on PATH (or is an existing absolute path). */
export function haveExecutable(name: string): boolean {
  if (path.isAbsolute(name)) return fs.existsSync(name);
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, name)));
}

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** Runs a program to completion with `input` on stdin; killed (SIGKILL) after `timeoutMs`. Never rejects on exit code. */
export function runProcess(
  cmd: string, args: string[], opts: { input?: string; timeoutMs: number; cwd?: string; env?: NodeJS.ProcessEnv },
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(proc);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      proc.kill('SIGKILL');
    }, opts.timeoutMs);
    proc.on('error', (e) => {
      clearTimeout(timer);
      live.delete(proc);
      reject(e);
    });
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(proc);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    proc.stdin.on('error', () => {
      // the program may exit before reading all its input
    });
    proc.stdin.end(opts.input ?? '');
  });
}

/** Formats a process result for assertion messages. */
export function describeRun(r: ProcessResult): string {
  return `exit=${r.code} signal=${r.signal} timedOut=${r.timedOut}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

/**
 * An interactive program driven line by line: `send` writes a command and waits until the combined output *after
 * that point* matches `until`, returning that new output. Used for shells whose commands complete asynchronously.
 */
export class Interactive {
  private out = '';
  /** stdout and stderr separately (their relative order is lost there). */
  stdout = '';
  stderr = '';
  private exited = false;
  private readonly proc: ChildProcess;
  private waiters: Array<() => void> = [];

  constructor(cmd: string, args: string[], env?: NodeJS.ProcessEnv) {
    this.proc = spawn(cmd, args, { env: env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(this.proc);
    this.proc.stdout?.on('data', (d: Buffer) => {
      this.stdout += d.toString();
      this.out += d.toString();
      this.wake();
    });
    this.proc.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      this.out += d.toString();
      this.wake();
    });
    this.proc.stdin?.on('error', () => {
      // ignore EPIPE after exit; the waiters report it
    });
    this.proc.on('close', () => {
      this.exited = true;
      live.delete(this.proc);
      this.wake();
    });
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** Everything the program printed so far (stdout and stderr interleaved). */
  output(): string {
    return this.out;
  }

  /** Waits until the output from offset `from` on matches `re`; returns that slice. */
  async waitFor(re: RegExp, from: number, timeoutMs: number, what: string): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const slice = this.out.slice(from);
      if (re.test(slice)) return slice;
      if (this.exited) throw new Error(`program exited while waiting for ${what} (${re}); output:\n${this.out}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${re}); output:\n${this.out}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Writes lines without waiting for anything. */
  write(lines: string[]): void {
    this.proc.stdin?.write(lines.map((l) => l + '\n').join(''));
  }

  /** Sends one line, waits for `until` in the output that follows, returns that output. */
  async send(line: string, until: RegExp, timeoutMs = 10_000): Promise<string> {
    const from = this.out.length;
    this.proc.stdin?.write(line + '\n');
    return this.waitFor(until, from, timeoutMs, `reply to "${line}"`);
  }

  /** Closes stdin and waits (bounded) for exit; kills the program if it does not go. Returns the exit code. */
  async close(timeoutMs = 5000): Promise<number | null> {
    this.proc.stdin?.end();
    const deadline = Date.now() + timeoutMs;
    while (!this.exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (!this.exited) {
      this.proc.kill('SIGKILL');
      while (!this.exited) await new Promise((r) => setTimeout(r, 20));
    }
    return this.proc.exitCode;
  }

  kill(): void {
    if (!this.exited) this.proc.kill('SIGKILL');
  }
}
