// A replicated ensemble on 127.0.0.1 for tests and benchmarks: N voters and M observers of either kind (Apache
// ZooKeeper 3.8's QuorumPeerMain from the Debian package, or `zkts server` from dist/), each in its own directory
// (zoo.cfg, data/myid, node.log) with its own client, quorum and election ports. Nodes can be killed and started
// again on the same directory and ports. With `proxied`, every peer-to-peer connection runs through a LinkProxy
// (proxy.ts): node i's zoo.cfg names node j (j != i) by the ports of the proxy i -> j, so a test can cut links.
// The configs differ only in those ports and all are static (version 0) with reconfig disabled, so the config a
// leader sends its learners (NEWLEADER) is not applied ("Dynamic reconfig is disabled, we don't store the last seen
// config") and the differing lines are harmless; checked with Apache 3.8. Client ports are never proxied.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, killAll as killLaunched, ORACLE_CLASSPATH, ZKTS_MAIN } from './launch.js';
import { electionHandshakeRewriter, LinkProxy, type PeerLink, Partitioner } from './proxy.js';
import { type Kind, srvr } from './restart.js';

export type Mode = 'leader' | 'follower' | 'observer';
export type Role = 'participant' | 'observer';
type ConfigLines = Record<string, string | number | boolean>;

export interface EnsembleOptions {
  kind: Kind;
  /** A mixed ensemble: the kind of each node (default `kind` for all). */
  kindOf?: (id: number) => Kind;
  /** Participants, ids 1..voters (default 3). */
  voters?: number;
  /** Observers, ids voters+1.. (default 0). */
  observers?: number;
  /** Default 200 ms so that elections and timeouts are fast in tests. */
  tickTime?: number;
  initLimit?: number;
  syncLimit?: number;
  /** Extra zoo.cfg lines for every node (override the defaults). */
  config?: ConfigLines;
  /** Extra arguments before the main class (JVM) or script (node), for every node or per node id. */
  extraArgs?: string[] | ((id: number) => string[]);
  /** -Xmx of each Apache node (default 256m). */
  javaHeap?: string;
  /** Route every peer-to-peer link through a LinkProxy (see `partitioner`). */
  proxied?: boolean;
  /** Bound on startup and on each restart reaching a Mode (default 90 s). */
  readyTimeoutMs?: number;
  /** Parent of the ensemble's temp dir (default os.tmpdir()). */
  tmpDir?: string;
}

interface Ports {
  client: number;
  quorum: number;
  election: number;
}

/** Processes and dirs of every ensemble alive in this process, for killEnsembles() and the exit hook. */
const liveProcs = new Set<ChildProcess>();
const liveDirs = new Set<string>();
const keepDirs = (): boolean => !!process.env.ZKTS_KEEP_DIRS;
process.on('exit', () => {
  killEnsembles();
  if (!keepDirs()) for (const d of liveDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Kills (synchronously, SIGKILL) every ensemble node and every launch.ts server of this process; for signal handlers. */
export function killEnsembles(): void {
  for (const p of liveProcs) p.kill('SIGKILL');
  killLaunched();
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Thrown by a poll probe when waiting cannot succeed any more. */
class GiveUp extends Error {}

async function poll<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, stepMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

/** Last `lines` lines of a file ('' if unreadable); reads only its tail. */
function fileTail(file: string, lines: number): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, 256 * 1024);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      return buf.toString('utf8').split('\n').slice(-lines - 1).join('\n');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

export class EnsembleNode {
  readonly dataDir: string;
  readonly logFile: string;
  readonly cfgFile: string;
  private proc: ChildProcess | undefined;
  private exit: Promise<void> = Promise.resolve();

  constructor(readonly id: number, readonly role: Role, readonly ports: Ports, readonly dir: string,
    private readonly argv: (cfg: string) => [string, string[]], private readonly readyTimeoutMs: number) {
    this.dataDir = path.join(dir, 'data');
    this.logFile = path.join(dir, 'node.log');
    this.cfgFile = path.join(dir, 'zoo.cfg');
  }

  get clientPort(): number {
    return this.ports.client;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get running(): boolean {
    return this.proc !== undefined;
  }

  /** The Mode `srvr` reports; undefined while the node is not serving (or down). */
  async mode(timeoutMs = 1000): Promise<Mode | undefined> {
    const m = await this.rawMode(timeoutMs);
    return m === 'leader' || m === 'follower' || m === 'observer' ? m : undefined;
  }

  /** The Mode line as written ('standalone' included: a node that ignored the server lines). */
  async rawMode(timeoutMs = 1000): Promise<string | undefined> {
    return this.running ? (await srvr(this.ports.client, timeoutMs)).mode : undefined;
  }

  /** Spawns the node (logging to node.log). Does not wait: see start(). */
  spawn(): void {
    if (this.proc) throw new Error(`node ${this.id} is already running (pid ${this.proc.pid})`);
    const fd = fs.openSync(this.logFile, 'a');
    const [cmd, args] = this.argv(this.cfgFile);
    const proc = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    this.proc = proc;
    liveProcs.add(proc);
    this.exit = new Promise<void>((resolve) => {
      // A failed spawn may report 'error' without 'exit': either one ends the process's life here.
      const finish = (why: string): void => {
        if (!liveProcs.delete(proc)) return;
        if (this.proc === proc) this.proc = undefined;
        fs.appendFileSync(this.logFile, `\n[ensemble] node ${this.id} ${why}\n`);
        resolve();
      };
      proc.once('exit', (code, signal) => finish(`exited (code ${code}, signal ${signal})`));
      proc.on('error', (e) => {
        if (proc.pid === undefined) finish(`failed to spawn: ${e.message}`);
        else fs.appendFileSync(this.logFile, `\n[ensemble] ${e.message}\n`);
      });
    });
  }

  /** (Re)starts the node on its directory and ports and waits until it reports a Mode. */
  async start(timeoutMs = this.readyTimeoutMs): Promise<Mode> {
    this.spawn();
    return this.waitForMode(timeoutMs);
  }

  async waitForMode(timeoutMs = this.readyTimeoutMs): Promise<Mode> {
    try {
      return await poll(`node ${this.id} to report a Mode`, timeoutMs, async () => {
        if (!this.running) throw new GiveUp(`node ${this.id} is not running`);
        const m = await this.rawMode();
        if (m === 'standalone') throw new GiveUp(`node ${this.id} runs standalone: it ignored the server.N lines`);
        return m === 'leader' || m === 'follower' || m === 'observer' ? m : undefined;
      });
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${this.describe()}`);
    }
  }

  /** Sends `signal` and waits (bounded) for the exit; anything but SIGKILL is followed by SIGKILL after 5 s. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    proc.kill(signal);
    const escalate = signal === 'SIGKILL' ? undefined : setTimeout(() => proc.kill('SIGKILL'), 5000);
    let bound: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      bound = setTimeout(() => reject(new Error(`node ${this.id} (pid ${proc.pid}) did not exit after ${signal}`)), 15_000);
    });
    try {
      await Promise.race([this.exit, timedOut]);
    } finally {
      clearTimeout(escalate);
      clearTimeout(bound);
    }
  }

  /** Graceful stop (SIGTERM, SIGKILL after 5 s). */
  stop(): Promise<void> {
    return this.kill('SIGTERM');
  }

  logTail(lines = 40): string {
    return fileTail(this.logFile, lines);
  }

  describe(lines = 40): string {
    const state = this.proc ? `pid ${this.proc.pid}` : 'not running';
    return `--- node ${this.id} (${this.role}, client ${this.ports.client}, ${state}) ${this.logFile} ---\n${this.logTail(lines)}`;
  }
}

export interface WaitForModesOptions {
  /** Nodes to wait for (default: every running node). */
  ids?: number[];
  timeoutMs?: number;
  /** Also require exactly one leader among them (default true). */
  oneLeader?: boolean;
}

export class Ensemble {
  constructor(readonly kind: Kind, readonly root: string, readonly nodes: EnsembleNode[],
    readonly partitioner: Partitioner | undefined, private readonly readyTimeoutMs: number) {}

  node(id: number): EnsembleNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** "127.0.0.1:p1,127.0.0.1:p2,..." over `ids` (default all nodes). */
  connectString(ids: number[] = this.nodes.map((n) => n.id)): string {
    return ids.map((id) => `127.0.0.1:${this.node(id).clientPort}`).join(',');
  }

  /** Current modes of the given (default all) nodes; undefined for a node not serving. */
  async modes(ids: number[] = this.nodes.map((n) => n.id)): Promise<Map<number, Mode | undefined>> {
    const modes = await Promise.all(ids.map((id) => this.node(id).mode()));
    return new Map(ids.map((id, i) => [id, modes[i]]));
  }

  /** Waits until every node of `ids` reports a Mode (and, by default, exactly one says leader). */
  async waitForModes(o: WaitForModesOptions = {}): Promise<Map<number, Mode>> {
    const ids = o.ids ?? this.nodes.filter((n) => n.running).map((n) => n.id);
    const timeoutMs = o.timeoutMs ?? this.readyTimeoutMs;
    let last = new Map<number, string | undefined>();
    try {
      return await poll(`modes of nodes ${ids.join(',')}`, timeoutMs, async () => {
        last = await this.rawModes(ids);
        return this.settled(last, o.oneLeader ?? true);
      });
    } catch (e) {
      const seen = ids.map((id) => `${id}=${last.get(id) ?? '-'}`).join(' ');
      throw new Error(`${(e as Error).message}; last seen ${seen}\n${this.describe(ids)}`);
    }
  }

  /** The one node of `among` (default: running participants) whose srvr says leader, waiting up to `timeoutMs`. */
  async leader(o: { among?: number[]; timeoutMs?: number } = {}): Promise<EnsembleNode> {
    const among = o.among ?? this.nodes.filter((n) => n.running && n.role === 'participant').map((n) => n.id);
    const timeoutMs = o.timeoutMs ?? this.readyTimeoutMs;
    try {
      return await poll(`one leader among ${among.join(',')}`, timeoutMs, async () => {
        const modes = await this.modes(among);
        const leaders = among.filter((id) => modes.get(id) === 'leader');
        return leaders.length === 1 ? this.node(leaders[0]) : undefined;
      });
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${this.describe(among)}`);
    }
  }

  /** Log tails of the given (default all) nodes, for failure messages. */
  describe(ids: number[] = this.nodes.map((n) => n.id), lines = 40): string {
    return ids.map((id) => this.node(id).describe(lines)).join('\n');
  }

  /** Kills every node, closes the proxies and removes the directory (kept if ZKTS_KEEP_DIRS is set). */
  async stop(): Promise<void> {
    try {
      await Promise.all(this.nodes.map((n) => n.kill('SIGKILL')));
      await this.partitioner?.close();
    } finally {
      if (!keepDirs()) fs.rmSync(this.root, { recursive: true, force: true });
      liveDirs.delete(this.root);
    }
  }

  private async rawModes(ids: number[]): Promise<Map<number, string | undefined>> {
    const modes = await Promise.all(ids.map((id) => this.node(id).rawMode()));
    return new Map(ids.map((id, i) => [id, modes[i]]));
  }

  private settled(modes: Map<number, string | undefined>, oneLeader: boolean): Map<number, Mode> | undefined {
    for (const [id, m] of modes) {
      if (!this.node(id).running) throw new GiveUp(`node ${id} is not running`);
      if (m === 'standalone') throw new GiveUp(`node ${id} runs standalone: it ignored the server.N lines`);
      if (m !== 'leader' && m !== 'follower' && m !== 'observer') return undefined;
    }
    const leaders = [...modes.values()].filter((m) => m === 'leader').length;
    return oneLeader && leaders !== 1 ? undefined : (modes as Map<number, Mode>);
  }
}

/**
 * Distinct free ports: three per node, then `spare` more (the link proxies'). All come from one set: a proxy bound
 * to a port of its own choosing (listen 0) could take a node port that is free only until the node starts.
 */
async function allocatePorts(count: number, spare: number): Promise<{ nodes: Ports[]; spare: number[] }> {
  const seen = new Set<number>();
  const next = async (): Promise<number> => {
    for (;;) {
      const p = await freePort();
      if (!seen.has(p)) {
        seen.add(p);
        return p;
      }
    }
  };
  const nodes: Ports[] = [];
  for (let i = 0; i < count; i++) nodes.push({ client: await next(), quorum: await next(), election: await next() });
  const extra: number[] = [];
  for (let i = 0; i < spare; i++) extra.push(await next());
  return { nodes, spare: extra };
}

/** One proxy per directed pair and link kind; election proxies advertise the reverse proxy (see proxy.ts). */
async function startProxies(ports: Map<number, Ports>, proxyPorts: number[]): Promise<Partitioner> {
  const port = (): number => {
    const p = proxyPorts.pop();
    if (p === undefined) throw new Error('no proxy port left');
    return p;
  };
  const links: PeerLink[] = [];
  const find = (from: number, to: number, kind: PeerLink['kind']): LinkProxy =>
    links.find((l) => l.from === from && l.to === to && l.kind === kind)!.proxy;
  try {
    for (const from of ports.keys()) {
      for (const [to, p] of ports) {
        if (from === to) continue;
        links.push({ from, to, kind: 'quorum', proxy: await LinkProxy.start({ target: p.quorum, port: port() }) });
        const advertise = (): string => `127.0.0.1:${find(to, from, 'election').port}`;
        links.push({ from, to, kind: 'election', proxy: await LinkProxy.start({ target: p.election, port: port(), rewriteHead: electionHandshakeRewriter(advertise) }) });
      }
    }
  } catch (e) {
    await new Partitioner(links).close();
    throw e;
  }
  return new Partitioner(links);
}

/** The server.N lines as node `self` sees them: its own real ports, the others' through its proxies if any. */
function serverLines(self: number, roles: Map<number, Role>, ports: Map<number, Ports>, px?: Partitioner): string[] {
  return [...roles].map(([id, role]) => {
    const q = px && id !== self ? px.link(self, id, 'quorum').port : ports.get(id)!.quorum;
    const e = px && id !== self ? px.link(self, id, 'election').port : ports.get(id)!.election;
    return `server.${id}=127.0.0.1:${q}:${e}${role === 'observer' ? ':observer' : ''}`;
  });
}

function writeNodeDir(dir: string, id: number, role: Role, port: number, base: ConfigLines, servers: string[]): void {
  const data = path.join(dir, 'data');
  fs.mkdirSync(data, { recursive: true });
  fs.writeFileSync(path.join(data, 'myid'), `${id}\n`);
  const lines: ConfigLines = {
    dataDir: data, clientPort: port, clientPortAddress: '127.0.0.1', 'admin.enableServer': false,
    '4lw.commands.whitelist': '*', maxClientCnxns: 0, ...(role === 'observer' ? { peerType: 'observer' } : {}), ...base,
  };
  const text = [...Object.entries(lines).map(([k, v]) => `${k}=${v}`), ...servers].join('\n') + '\n';
  fs.writeFileSync(path.join(dir, 'zoo.cfg'), text);
}

function commandFor(o: EnsembleOptions, id: number): (cfg: string) => [string, string[]] {
  const extra = typeof o.extraArgs === 'function' ? o.extraArgs(id) : (o.extraArgs ?? []);
  if ((o.kindOf?.(id) ?? o.kind) === 'zkts') return (cfg) => [process.execPath, [...extra, ZKTS_MAIN, 'server', cfg]];
  // Timestamps in node.log (slf4j-simple prints none by default) to line logs up with a test's steps.
  const jvm = [`-Xmx${o.javaHeap ?? '256m'}`, '-XX:+UseSerialGC', '-Dzookeeper.jmx.log4j.disable=true',
    '-Dorg.slf4j.simpleLogger.showDateTime=true', '-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS', ...extra];
  return (cfg) => ['java', [...jvm, '-cp', ORACLE_CLASSPATH, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', cfg]];
}

/** Writes the node directories and configs, starts every node and waits until all report a Mode with one leader. */
export async function startEnsemble(o: EnsembleOptions): Promise<Ensemble> {
  const voters = o.voters ?? 3;
  const roles = new Map<number, Role>();
  for (let id = 1; id <= voters + (o.observers ?? 0); id++) roles.set(id, id <= voters ? 'participant' : 'observer');
  // Two proxies (quorum, election) per directed pair of nodes.
  const allocated = await allocatePorts(roles.size, o.proxied ? 2 * roles.size * (roles.size - 1) : 0);
  const ports = new Map([...roles.keys()].map((id, i) => [id, allocated.nodes[i]]));
  const root = fs.mkdtempSync(path.join(o.tmpDir ?? os.tmpdir(), `zkts-ensemble-${o.kind}-`));
  liveDirs.add(root);
  const readyTimeoutMs = o.readyTimeoutMs ?? 90_000;
  const px = o.proxied ? await startProxies(ports, allocated.spare) : undefined;
  const base: ConfigLines = { tickTime: o.tickTime ?? 200, initLimit: o.initLimit ?? 10, syncLimit: o.syncLimit ?? 5, ...o.config };
  const nodes = [...roles].map(([id, role]) => {
    const dir = path.join(root, `node${id}`);
    writeNodeDir(dir, id, role, ports.get(id)!.client, base, serverLines(id, roles, ports, px));
    return new EnsembleNode(id, role, ports.get(id)!, dir, commandFor(o, id), readyTimeoutMs);
  });
  const ensemble = new Ensemble(o.kind, root, nodes, px, readyTimeoutMs);
  try {
    for (const n of nodes) n.spawn();
    await ensemble.waitForModes();
  } catch (e) {
    await ensemble.stop();
    throw e;
  }
  return ensemble;
}
