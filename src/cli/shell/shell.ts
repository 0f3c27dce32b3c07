// cli/shell/shell.ts: `zkts cli`, a drop-in for zkCli.sh (Apache ZooKeeper 3.8's ZooKeeperMain). It parses
// zkCli's command line (-server, -timeout, -r, -waitforconnection, then an optional command), connects, and either
// runs the one command and exits with zkCli's exit code, or reads commands line by line: with a prompt, history
// file and completion on a terminal, without them from a pipe (as zkCli without JLine). The shell-level commands
// (connect, history, redo, printwatches, quit, version) live here; the rest are in commands.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { ZooKeeperClient } from '../../client/index.js';
import type { ClientState, WatchedEvent, Watcher } from '../../client/types.js';
import { EventType, KeeperState } from '../../protocol/constants.js';
import { createLogger } from '../../util/log.js';
import { type CommandContext, ZK_COMMANDS } from './commands.js';
import { CliError } from './errors.js';
import { eventText } from './format.js';
import { completeLine } from './completion.js';
import { tokenize } from './parser.js';

export const CLI_VERSION = '3.8.0-zkts';

/** Shell commands with their usage text, as zkCli's commandMap (its usage list is this, sorted). */
const SHELL_COMMANDS: ReadonlyMap<string, string> = new Map([
  ['connect', 'host:port'],
  ['history', ''],
  ['redo', 'cmdno'],
  ['printwatches', 'on|off'],
  ['quit', ''],
  ['version', ''],
]);

export function commandNames(): string[] {
  return [...new Set([...SHELL_COMMANDS.keys(), ...ZK_COMMANDS.keys()])].sort(javaCompare);
}

function javaCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function optionString(name: string): string {
  return ZK_COMMANDS.get(name)?.options ?? SHELL_COMMANDS.get(name) ?? '';
}

export interface ShellOptions {
  server: string;
  timeoutMs: number;
  readOnly: boolean;
  waitForConnection: boolean;
  /** The one-shot command and its arguments (empty: interactive). */
  command: string[];
}

/** ZooKeeperMain's option parsing: options until the first word not starting with '-', which starts the command. */
export function parseShellArgs(argv: string[]): ShellOptions | string {
  const o: ShellOptions = { server: 'localhost:2181', timeoutMs: 30000, readOnly: false, waitForConnection: false, command: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string | undefined => argv[++i];
    if (a === '-server' || a === '-timeout' || a === '-client-configuration') {
      const v = next();
      if (v === undefined) return `Error: no argument found for option ${a}`;
      if (a === '-server') o.server = v;
      else if (a === '-timeout') {
        const t = Number(v);
        if (!Number.isInteger(t) || t <= 0) return `Error: bad timeout ${v}`;
        o.timeoutMs = t;
      }
      continue;
    }
    if (a === '-r') o.readOnly = true;
    else if (a === '-waitforconnection') o.waitForConnection = true;
    else if (a === '-h' || a === '--help') return 'help';
    if (!a.startsWith('-')) {
      o.command = argv.slice(i);
      break;
    }
  }
  return o;
}

/** zkCli's state names (ZooKeeper.States) for the prompt. */
function javaState(s: ClientState): string {
  switch (s) {
    case 'connected': return 'CONNECTED';
    case 'connectedReadOnly': return 'CONNECTEDREADONLY';
    case 'closed': case 'expired': return 'CLOSED';
    case 'authFailed': return 'AUTH_FAILED';
    default: return 'CONNECTING';
  }
}

function alive(s: ClientState): boolean {
  return s !== 'closed' && s !== 'expired' && s !== 'authFailed';
}

export interface ShellIO {
  out(text: string): void;
  err(text: string): void;
}

const processIO: ShellIO = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

export class ZkShell {
  client: ZooKeeperClient | undefined;
  host = '';
  printWatches = true;
  exitCode = 0;
  commandCount = 0;
  readonly history = new Map<number, string>();
  quitRequested = false;
  private readonly watcher: Watcher = (ev) => this.onEvent(ev);
  /** The client's own default-watcher function, so persistent watches and one-time ones share one watcher. */
  private persistentWatcher: Watcher = this.watcher;

  constructor(private readonly opts: ShellOptions, private readonly io: ShellIO = processIO) {}

  private onEvent(ev: WatchedEvent): void {
    if (this.printWatches) this.io.out(`\nWATCHER::\n\n${eventText(ev)}\n`);
  }

  get state(): ClientState {
    return this.client?.state ?? 'closed';
  }

  prompt(): string {
    return `[zk: ${this.host}(${javaState(this.state)}) ${this.commandCount}] `;
  }

  /** ZooKeeperMain.connectToZK: closes a live session, then starts a new one (optionally waiting for it). */
  async connect(server: string): Promise<void> {
    if (this.client && alive(this.client.state)) await this.client.close();
    this.host = server;
    const client = new ZooKeeperClient(server, {
      sessionTimeoutMs: this.opts.timeoutMs,
      readOnly: this.opts.readOnly,
      watcher: this.watcher,
      logger: createLogger({ level: 'error', fields: { component: 'zkts-cli' } }),
    });
    this.client = client;
    const proxy = (client as unknown as { defaultWatcherProxy?: Watcher }).defaultWatcherProxy;
    this.persistentWatcher = typeof proxy === 'function' ? proxy : this.watcher;
    // The client stays in the background: requests queue until it connects, as in ZooKeeper's client.
    const connecting = client.connect(2 ** 31 - 1).catch(() => undefined);
    if (this.opts.waitForConnection) {
      const ok = await Promise.race([
        connecting.then(() => client.state === 'connected' || client.state === 'connectedReadOnly'),
        new Promise<boolean>((r) => setTimeout(() => r(false), this.opts.timeoutMs).unref()),
      ]);
      if (!ok) {
        await client.close();
        throw new CliError('java.io.IOException: org.apache.zookeeper.KeeperException$ConnectionLossException: KeeperErrorCode = ConnectionLoss');
      }
    }
  }

  usage(): void {
    let text = 'ZooKeeper -server host:port -client-configuration properties-file cmd args\n';
    for (const name of commandNames()) text += `\t${name} ${optionString(name)}\n`;
    this.io.err(text);
  }

  /** ZooKeeperMain.executeLine: a non-empty line is recorded in the history and run. */
  async executeLine(line: string): Promise<void> {
    if (line === '') return;
    const words = tokenize(line);
    if (words.length === 0) return;
    this.history.set(this.commandCount, line);
    await this.processCommand(words);
    this.commandCount++;
  }

  /** ZooKeeperMain.processCmd: runs one command, prints its failure, and records the exit code. */
  async processCommand(words: string[]): Promise<void> {
    try {
      await this.processZkCommand(words);
      this.exitCode = 0;
    } catch (e) {
      if (!(e instanceof CliError)) throw e;
      this.exitCode = e.exitCode;
      this.io.err(e.message + '\n');
    }
  }

  private async processZkCommand(words: string[]): Promise<void> {
    const cmd = words[0];
    if (!SHELL_COMMANDS.has(cmd) && !ZK_COMMANDS.has(cmd)) {
      this.usage();
      throw new CliError(`Command not found: Command not found ${cmd}`, 127);
    }
    switch (cmd) {
      case 'quit':
        this.quitRequested = true;
        await this.client?.close();
        return;
      case 'redo': {
        if (words.length < 2) break;
        const i = javaDecode(words[1]);
        if (i === undefined) throw new CliError(`java.lang.NumberFormatException: For input string: "${words[1]}"`);
        if (this.commandCount <= i || i < 0) throw new CliError('Command index out of range');
        const line = this.history.get(i) ?? '';
        const again = tokenize(line);
        if (again[0] === 'redo') throw new CliError('No redoing redos');
        this.history.set(this.commandCount, line);
        await this.processCommand(again);
        // processCommand reported any failure; what follows is zkCli's connection check.
        break;
      }
      case 'history': {
        let text = '';
        for (let i = this.commandCount - 10; i <= this.commandCount; i++) {
          if (i < 0) continue;
          text += `${i} - ${this.history.get(i) ?? 'null'}\n`;
        }
        this.io.out(text);
        break;
      }
      case 'printwatches':
        if (words.length === 1) this.io.out(`printwatches is ${this.printWatches ? 'on' : 'off'}\n`);
        else this.printWatches = words[1] === 'on';
        break;
      case 'connect':
        try {
          await this.connect(words.length >= 2 ? words[1] : this.host);
        } catch (e) {
          if (e instanceof CliError) throw e;
          throw new CliError((e as Error).message);
        }
        break;
    }
    if (!this.client || !alive(this.client.state)) {
      this.io.out('Not connected\n');
      return;
    }
    if (cmd === 'version') {
      if (words.length > 1) throw new CliError('version ');
      this.io.out(`ZooKeeper CLI version: ${CLI_VERSION}\n`);
      return;
    }
    const command = ZK_COMMANDS.get(cmd);
    if (!command) return;
    const ctx: CommandContext = {
      client: this.client,
      out: (t) => this.io.out(t),
      err: (t) => this.io.err(t),
      watcher: this.persistentWatcher,
    };
    await command.run(ctx, [...words]);
  }
}

/** Integer.decode: decimal, 0x/# hex, leading 0 octal. */
function javaDecode(s: string): number | undefined {
  const m = /^([+-]?)(0x|0X|#|0(?=\d))?([0-9a-fA-F]+)$/.exec(s);
  if (!m) return undefined;
  const radix = m[2] === undefined ? 10 : m[2] === '0' ? 8 : 16;
  const digits = m[3];
  const valid = radix === 10 ? /^\d+$/ : radix === 8 ? /^[0-7]+$/ : /^[0-9a-fA-F]+$/;
  if (!valid.test(digits)) return undefined;
  const v = parseInt(digits, radix) * (m[1] === '-' ? -1 : 1);
  return v >= -2147483648 && v <= 2147483647 ? v : undefined;
}

function historyFile(): string {
  return process.env.ZKTS_HISTORY || path.join(os.homedir(), '.zkts_history');
}

const HISTORY_MAX = 1000;

function loadHistory(file: string): string[] {
  try {
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
    return lines.slice(-HISTORY_MAX).reverse();
  } catch {
    return [];
  }
}

async function interactive(shell: ZkShell, io: ShellIO): Promise<void> {
  const tty = process.stdin.isTTY === true && process.stdout.isTTY === true;
  io.out('Welcome to ZooKeeper!\n');
  if (!tty) {
    // zkCli without JLine: no prompt, one command per line.
    io.out('JLine support is disabled\n');
    const rl = readline.createInterface({ input: process.stdin, terminal: false, crlfDelay: Infinity });
    for await (const line of rl) {
      await shell.executeLine(line);
      if (shell.quitRequested) break;
    }
    rl.close();
    return;
  }
  io.out('JLine support is enabled\n');
  const file = historyFile();
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: true,
    history: loadHistory(file),
    historySize: HISTORY_MAX,
    removeHistoryDuplicates: false,
    completer: (line: string, cb: (err: Error | null, result: [string[], string]) => void) => {
      const client = shell.client && alive(shell.client.state) ? shell.client : undefined;
      completeLine(line, commandNames(), client).then((r) => cb(null, r), () => cb(null, [[], line]));
    },
  });
  const append = (line: string): void => {
    try {
      fs.appendFileSync(file, line + '\n', { mode: 0o600 });
    } catch {
      // history is a convenience
    }
  };
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  rl.on('line', (l) => {
    lines.push(l);
    wake?.();
  });
  rl.on('close', () => {
    ended = true;
    wake?.();
  });
  rl.on('SIGINT', () => {
    rl.write('\n');
    rl.close();
  });
  rl.setPrompt(shell.prompt());
  rl.prompt();
  for (;;) {
    if (lines.length === 0) {
      if (ended) break;
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
      continue;
    }
    const line = lines.shift()!;
    if (line.trim() !== '') append(line);
    await shell.executeLine(line);
    if (shell.quitRequested) break;
    rl.setPrompt(shell.prompt());
    if (!ended) rl.prompt();
  }
  rl.close();
}

const USAGE = 'usage: zkts cli [-server host:port[,host:port...][/chroot]] [-timeout ms] [-r] [-waitforconnection] [command args...]\n';

/** `zkts cli ...`: returns the process exit code. */
export async function cliMain(argv: string[], io: ShellIO = processIO): Promise<number> {
  const opts = parseShellArgs(argv);
  if (opts === 'help') {
    io.out(USAGE);
    return 0;
  }
  if (typeof opts === 'string') {
    io.err(opts + '\n');
    return 2;
  }
  io.out(`Connecting to ${opts.server}\n`);
  const shell = new ZkShell(opts, io);
  try {
    await shell.connect(opts.server);
  } catch (e) {
    io.err(`Exception in thread "main" ${(e as Error).message}\n`);
    return 1;
  }
  try {
    if (opts.command.length > 0) await shell.processCommand(opts.command);
    else await interactive(shell, io);
  } finally {
    // zkCli just exits here (its session is left to expire); we close it, without printing the Closed event.
    shell.printWatches = false;
    await shell.client?.close();
  }
  return shell.exitCode;
}

/** A session event of the kind zkCli's watcher prints (for tests). */
export function isSessionEvent(ev: WatchedEvent): boolean {
  return ev.type === EventType.None && ev.state !== KeeperState.Unknown;
}
