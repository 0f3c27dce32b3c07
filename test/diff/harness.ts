// Differential tests: a scenario (a scripted list of steps over named sessions) runs against a fresh server of each
// kind (zkts and Apache ZooKeeper 3.8); each run yields a normalized transcript, and the two transcripts must be
// equal. Normalization removes only what legitimately differs between servers: zxids become relative to the zxid
// seen right after the first session connected (Z+n), ctime/mtime become "t" once checked to be plausible, session
// ids become the session names (also inside ephemeralOwner), and children lists are sorted.
//
// A transcript lists, for every step, what each session received during it, in arrival order per session
// (replies and watch events interleaved). After each step every open session is "settled" with a ping, so the
// events a step triggers on other sessions are attributed to that step; ping replies are not shown.
//
// With only one kind selected (ZKTS_TEST_KINDS=apache or zkts) the comparison is skipped with a diagnostic and the
// transcript is only sanity-checked; ZKTS_DIFF_RECORD=1 writes the Apache transcripts to test/diff/golden/, and a
// zkts-only run compares against those files when present. ZKTS_DIFF_VERBOSE=1 prints every transcript.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { codeName } from '../../src/protocol/errors.js';
import { CreateMode, EventType, OpCode, opName } from '../../src/protocol/constants.js';
import type * as R from '../../src/protocol/records.js';
import type { OpResult, Request, Response } from '../../src/protocol/requests.js';
import { fourLetter, sleep, waitFor } from '../support/ports.js';
import { ConnectionClosedError, RawSession, type Received } from '../support/rawsession.js';
import { oracleAvailable, PROJECT_ROOT, type RunningServer, startServer, testKinds } from '../support/servers.js';

// ---------------------------------------------------------------- scenario format

export interface ServerSetup {
  /** zoo.cfg lines for both servers. */
  config?: Record<string, string | number | boolean>;
  /** -D flags for the Apache server only (zkts gets the equivalent through `config`). */
  oracleSystemProperties?: Record<string, string>;
}

export type Step =
  | { do: 'connect'; s: string; sessionTimeoutMs?: number }
  | { do: 'req'; s: string; req: Request; timeoutMs?: number }
  /** Several requests written back to back before any reply is awaited. */
  | { do: 'pipeline'; s: string; reqs: Request[] }
  | { do: 'auth'; s: string; scheme: string; auth: string }
  /** closeSession, then wait for the server to close the connection. */
  | { do: 'close'; s: string }
  /** Drop the TCP connection without closing the session. */
  | { do: 'drop'; s: string }
  /** Resume the dropped session `s` on a new connection. `lastZxidSeen`: the client's last seen zxid, or Z+n. */
  | { do: 'reconnect'; s: string; lastZxidSeen?: 'lastSeen' | { rel: number }; wrongPasswd?: boolean }
  | { do: 'setWatches'; s: string; relativeZxid: 'lastSeen' | { rel: number }; data?: string[]; exist?: string[]; child?: string[]; persistent?: string[]; recursive?: string[] }
  | { do: 'sleep'; ms: number }
  /** Wait (bounded) until session `s` has received the event for every path (together: their order may vary). */
  | { do: 'awaitEvent'; s: string; type: number; path: string | string[]; timeoutMs: number };

export interface Scenario {
  name: string;
  server?: ServerSetup;
  steps: Step[];
  /** Substrings the transcript must contain (a sanity check that the scenario exercised what it meant to). */
  mustContain?: string[];
}

// ---------------------------------------------------------------- builders

export const OPEN_ACL: R.ACL[] = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const buf = (d: string | Buffer | null): Buffer | null => (d === null ? null : typeof d === 'string' ? Buffer.from(d) : d);

export const Q = {
  create: (path: string, data: string | Buffer | null = '', flags: number = CreateMode.PERSISTENT, acl: R.ACL[] = OPEN_ACL): Request =>
    ({ op: OpCode.create, create: { path, data: buf(data), acl, flags } }),
  create2: (path: string, data: string | Buffer | null = '', flags: number = CreateMode.PERSISTENT, acl: R.ACL[] = OPEN_ACL): Request =>
    ({ op: OpCode.create2, create: { path, data: buf(data), acl, flags } }),
  container: (path: string, data = '', flags: number = CreateMode.CONTAINER): Request =>
    ({ op: OpCode.createContainer, create: { path, data: buf(data), acl: OPEN_ACL, flags } }),
  ttl: (path: string, ttl: number, flags: number = CreateMode.PERSISTENT_WITH_TTL, data = ''): Request =>
    ({ op: OpCode.createTTL, create: { path, data: buf(data), acl: OPEN_ACL, flags, ttl } }),
  del: (path: string, version = -1): Request => ({ op: OpCode.delete, path, version }),
  check: (path: string, version: number): Request => ({ op: OpCode.check, path, version }),
  exists: (path: string, watch = false): Request => ({ op: OpCode.exists, path, watch }),
  get: (path: string, watch = false): Request => ({ op: OpCode.getData, path, watch }),
  set: (path: string, data: string | Buffer | null, version = -1): Request => ({ op: OpCode.setData, path, data: buf(data), version }),
  ls: (path: string, watch = false): Request => ({ op: OpCode.getChildren, path, watch }),
  ls2: (path: string, watch = false): Request => ({ op: OpCode.getChildren2, path, watch }),
  getACL: (path: string): Request => ({ op: OpCode.getACL, path }),
  setACL: (path: string, acl: R.ACL[], version = -1): Request => ({ op: OpCode.setACL, path, acl, version }),
  sync: (path: string): Request => ({ op: OpCode.sync, path }),
  multi: (...ops: Request[]): Request => ({ op: OpCode.multi, ops }),
  multiRead: (...ops: Request[]): Request => ({ op: OpCode.multiRead, ops }),
  addWatch: (path: string, mode: number): Request => ({ op: OpCode.addWatch, path, type: mode }),
  removeWatches: (path: string, type: number): Request => ({ op: OpCode.removeWatches, path, type }),
  checkWatches: (path: string, type: number): Request => ({ op: OpCode.checkWatches, path, type }),
  getEphemerals: (path: string): Request => ({ op: OpCode.getEphemerals, path }),
  countAll: (path: string): Request => ({ op: OpCode.getAllChildrenNumber, path }),
  whoAmI: (): Request => ({ op: OpCode.whoAmI }),
};

export const S = {
  connect: (s: string, sessionTimeoutMs?: number): Step => ({ do: 'connect', s, sessionTimeoutMs }),
  on: (s: string, req: Request): Step => ({ do: 'req', s, req }),
  pipeline: (s: string, ...reqs: Request[]): Step => ({ do: 'pipeline', s, reqs }),
  auth: (s: string, scheme: string, auth: string): Step => ({ do: 'auth', s, scheme, auth }),
  close: (s: string): Step => ({ do: 'close', s }),
  drop: (s: string): Step => ({ do: 'drop', s }),
  sleep: (ms: number): Step => ({ do: 'sleep', ms }),
  awaitEvent: (s: string, type: number, path: string | string[], timeoutMs = 15_000): Step => ({ do: 'awaitEvent', s, type, path, timeoutMs }),
};

/** The ACL id of a digest user as the server stores it: user:base64(sha1("user:password")). */
export function digestId(user: string, password: string): string {
  return `${user}:${crypto.createHash('sha1').update(`${user}:${password}`).digest('base64')}`;
}

// ---------------------------------------------------------------- running one scenario on one server

const TIME_SLACK_MS = 2000;
const SETTLE_TIMEOUT_MS = 5000;

class Run {
  readonly lines: string[] = [];
  private readonly sessions = new Map<string, RawSession>();
  private readonly cursors = new Map<string, number>();
  private readonly names = new Map<bigint, string>();
  private baseZxid: number | undefined;
  private readonly startMs = Date.now();

  constructor(private readonly server: RunningServer) {}

  async execute(steps: Step[]): Promise<void> {
    if (steps[0]?.do !== 'connect') await this.step(-1, S.connect('A'));
    for (let i = 0; i < steps.length; i++) await this.step(i, steps[i]);
  }

  destroyAll(): void {
    for (const s of this.sessions.values()) s.destroy();
  }

  private session(name: string): RawSession {
    const s = this.sessions.get(name);
    if (!s) throw new Error(`scenario error: no session ${name}`);
    return s;
  }

  private async step(i: number, st: Step): Promise<void> {
    if (i >= 0) this.lines.push(`#${i} ${describeStep(st)}`);
    const notes: string[] = [];
    let sortEvents = st.do === 'close';
    try {
      sortEvents = (await this.perform(st, notes)) || sortEvents;
    } catch (e) {
      if (e instanceof ConnectionClosedError) notes.push(`${'s' in st ? st.s : '?'}: request failed: connection closed`);
      else notes.push(`${'s' in st ? st.s : '?'}: FAILED ${(e as Error).message}`);
    }
    await this.settle();
    // closeSession deletes the session's ephemerals in an unspecified (hash) order: compare that step's events as a set.
    this.flush(sortEvents);
    for (const n of notes) this.lines.push(`  ${n}`);
  }

  /** Performs one step; true when the events it collected should be compared as a set. */
  private async perform(st: Step, notes: string[]): Promise<boolean | void> {
    switch (st.do) {
      case 'connect': {
        const s = await RawSession.connect({ port: this.server.port, sessionTimeoutMs: st.sessionTimeoutMs });
        this.adopt(st.s, s, notes);
        if (this.baseZxid === undefined) this.baseZxid = (await s.ping()).header.zxid;
        return;
      }
      case 'req':
        await this.session(st.s).send(st.req, st.timeoutMs);
        return;
      case 'pipeline': {
        const s = this.session(st.s);
        const results = await Promise.allSettled(st.reqs.map((q) => s.send(q)));
        const failed = results.find((r) => r.status === 'rejected');
        if (failed) throw failed.reason;
        return;
      }
      case 'auth': {
        const s = this.session(st.s);
        const r = await s.auth(st.scheme, st.auth);
        if (r.header.err !== 0) await s.waitClosed(3000).catch(() => notes.push(`${st.s}: connection still open 3 s after failed auth`));
        return;
      }
      case 'close':
        await this.session(st.s).close();
        return;
      case 'drop': {
        const s = this.session(st.s);
        this.flush();
        s.destroy();
        this.cursors.set(st.s, Infinity);
        return;
      }
      case 'reconnect': {
        const old = this.session(st.s);
        const passwd = Buffer.from(old.passwd);
        if (st.wrongPasswd) passwd[0] ^= 0xff;
        const last = st.lastZxidSeen === undefined || st.lastZxidSeen === 'lastSeen' ? old.lastZxidSeen : this.abs(st.lastZxidSeen.rel);
        try {
          const s = await RawSession.connect({ port: this.server.port, sessionId: old.sessionId, passwd, lastZxidSeen: last });
          this.adopt(st.s, s, notes);
        } catch (e) {
          if (!(e instanceof ConnectionClosedError)) throw e;
          notes.push(`${st.s}: connect: closed without a response`);
        }
        return;
      }
      case 'setWatches': {
        const s = this.session(st.s);
        const relativeZxid = st.relativeZxid === 'lastSeen' ? s.lastZxidSeen : this.abs(st.relativeZxid.rel);
        await s.setWatches({
          relativeZxid, dataWatches: st.data, existWatches: st.exist, childWatches: st.child,
          persistentWatches: st.persistent, persistentRecursiveWatches: st.recursive,
        });
        return;
      }
      case 'sleep':
        await this.keepAlive(sleep(st.ms));
        return;
      case 'awaitEvent': {
        const s = this.session(st.s);
        const from = this.cursors.get(st.s) ?? 0;
        const deadline = Date.now() + st.timeoutMs;
        const waitAll = async (): Promise<void> => {
          for (const path of typeof st.path === 'string' ? [st.path] : st.path) {
            await s.waitForLog((e) => e.kind === 'event' && e.event.type === st.type && e.event.path === path, Math.max(0, deadline - Date.now()), from)
              .catch(() => void notes.push(`${st.s}: no ${eventName(st.type)} ${path} within ${st.timeoutMs} ms`));
          }
        };
        await this.keepAlive(waitAll());
        // Events that arrive together may come in either order: sort them (as for closeSession).
        return true;
      }
    }
  }

  private adopt(name: string, s: RawSession, notes: string[]): void {
    this.sessions.get(name)?.destroy();
    this.sessions.set(name, s);
    this.cursors.set(name, 0);
    const c = s.connectResponse;
    if (c.timeOut <= 0) {
      notes.push(`${name}: connect: refused timeOut=${c.timeOut} sessionId=${c.sessionId === 0n ? '0' : 'nonzero'} passwd=${c.passwd.length}B${c.passwd.every((b) => b === 0) ? ' zero' : ''}`);
      return;
    }
    if (!this.names.has(c.sessionId)) this.names.set(c.sessionId, name);
    notes.push(`${name}: connected as ${this.names.get(c.sessionId)} timeOut=${c.timeOut} readOnly=${c.readOnly} passwd=${c.passwd.length}B`);
  }

  /** Pings every open session each second until `p` settles, as a live client would while it waits. */
  private async keepAlive(p: Promise<void>): Promise<void> {
    let done = false;
    const finished = p.finally(() => (done = true));
    while (!done) {
      await Promise.race([finished, sleep(1000)]);
      if (!done) await this.settle();
    }
    await finished;
  }

  /** Pings every open session so that everything a step caused has arrived before the transcript moves on. */
  private async settle(): Promise<void> {
    await Promise.all([...this.sessions.entries()].map(async ([name, s]) => {
      if (s.closed || this.cursors.get(name) === Infinity) return;
      await s.send({ op: OpCode.ping }, SETTLE_TIMEOUT_MS).catch(() => undefined);
    }));
  }

  private flush(sortEvents = false): void {
    for (const name of [...this.sessions.keys()].sort()) {
      const s = this.sessions.get(name)!;
      const from = this.cursors.get(name) ?? 0;
      if (from === Infinity) continue;
      const texts = s.log.slice(from).map((e) => this.renderReceived(e)).filter((t): t is string => t !== undefined);
      if (sortEvents) {
        const slots = texts.flatMap((t, i) => (t.startsWith('event ') ? [i] : []));
        const sorted = slots.map((i) => texts[i]).sort();
        slots.forEach((slot, k) => (texts[slot] = sorted[k]));
      }
      for (const text of texts) this.lines.push(`  ${name}: ${text}`);
      this.cursors.set(name, s.log.length);
    }
  }

  private abs(rel: number): number {
    return (this.baseZxid ?? 0) + rel;
  }

  // ---------------------------------------------------------------- normalization

  private zx(z: number): string {
    if (z === 0 || z === -1 || this.baseZxid === undefined) return String(z);
    const d = z - this.baseZxid;
    return `Z${d >= 0 ? '+' : ''}${d}`;
  }

  private time(t: number): string {
    if (t === 0) return '0';
    return t >= this.startMs - TIME_SLACK_MS && t <= Date.now() + TIME_SLACK_MS ? 't' : `t!${t}`;
  }

  private owner(o: bigint): string {
    if (o === 0n) return '0';
    return this.names.get(o) ?? `0x${BigInt.asUintN(64, o).toString(16)}`;
  }

  private stat(s: R.Stat): string {
    return `{cz=${this.zx(s.czxid)} mz=${this.zx(s.mzxid)} pz=${this.zx(s.pzxid)} ct=${this.time(s.ctime)} mt=${this.time(s.mtime)} ` +
      `v=${s.version} cv=${s.cversion} av=${s.aversion} eo=${this.owner(s.ephemeralOwner)} dl=${s.dataLength} nc=${s.numChildren}}`;
  }

  private renderReceived(e: Received): string | undefined {
    switch (e.kind) {
      case 'closed': return 'connection closed';
      case 'unmatched': return `UNMATCHED reply xid=${e.header.xid} zxid=${this.zx(e.header.zxid)} err=${codeName(e.header.err)}`;
      case 'event':
        return `event ${eventName(e.event.type)} ${jsq(e.event.path)} state=${e.event.state} zxid=${this.zx(e.header.zxid)}`;
      case 'reply': {
        if (e.op === OpCode.ping) return undefined;
        const head = `reply ${opName(e.op)} ${codeName(e.header.err)} zxid=${this.zx(e.header.zxid)}${e.outOfOrder ? ' OUT-OF-ORDER' : ''}`;
        const body = e.response ? this.response(e.response) : '';
        return body ? `${head} ${body}` : head;
      }
    }
  }

  private response(r: Response): string {
    switch (r.op) {
      case OpCode.create: case OpCode.sync: return `path=${jsq(r.path)}`;
      case OpCode.create2: case OpCode.createContainer: case OpCode.createTTL:
        return `path=${jsq(r.path)} ${this.stat(r.stat)}`;
      case OpCode.setData: case OpCode.exists: case OpCode.setACL: return this.stat(r.stat);
      case OpCode.getData: case OpCode.reconfig: return `data=${data(r.data)} ${this.stat(r.stat)}`;
      case OpCode.getChildren: return `children=${list(r.children)}`;
      case OpCode.getChildren2: return `children=${list(r.children)} ${this.stat(r.stat)}`;
      case OpCode.getACL: return `acl=${acls(r.acl)} ${this.stat(r.stat)}`;
      case OpCode.getEphemerals: return `paths=${list(r.paths)}`;
      case OpCode.getAllChildrenNumber: return `total=${r.total}`;
      case OpCode.whoAmI: return `clients=${list(r.clients.map((c) => `${c.authScheme}:${c.user}`))}`;
      case OpCode.error: return `err=${codeName(r.err)}`;
      case OpCode.multi: case OpCode.multiRead:
        return `results=[${r.results.map((x: OpResult) => `${opName(x.op)}${x.op === OpCode.delete || x.op === OpCode.check ? '' : ' ' + this.response(x)}`).join('; ')}]`;
      default: return '';
    }
  }
}

/** JSON string with everything outside printable ASCII escaped, so control characters stay visible. */
function jsq(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A sorted list of strings (children and ephemerals come back in no particular order). */
function list(items: string[]): string {
  return `[${[...items].sort().map(jsq).join(',')}]`;
}

function eventName(type: number): string {
  return Object.entries(EventType).find(([, v]) => v === type)?.[0] ?? `event(${type})`;
}

function data(d: Buffer | null): string {
  if (d === null) return 'null';
  if (d.length <= 80 && /^[\x20-\x7e]*$/.test(d.toString('latin1'))) return JSON.stringify(d.toString('latin1'));
  return `<${d.length} bytes sha1:${crypto.createHash('sha1').update(d).digest('hex').slice(0, 12)}>`;
}

function acls(list: R.ACL[] | null): string {
  if (list === null) return 'null';
  return `[${list.map((a) => `${a.id.scheme}:${a.id.id}=${a.perms}`).join(', ')}]`;
}

function describeRequest(q: Request): string {
  switch (q.op) {
    case OpCode.create: case OpCode.create2: case OpCode.createContainer: case OpCode.createTTL: {
      const c = q.create;
      return `${opName(q.op)} ${jsq(c.path)} data=${data(c.data)} flags=${c.flags}` +
        `${c.acl === OPEN_ACL ? '' : ` acl=${acls(c.acl)}`}${q.op === OpCode.createTTL ? ` ttl=${c.ttl}` : ''}`;
    }
    case OpCode.delete: case OpCode.check: return `${opName(q.op)} ${jsq(q.path)} v=${q.version}`;
    case OpCode.exists: case OpCode.getData: case OpCode.getChildren: case OpCode.getChildren2:
      return `${opName(q.op)} ${jsq(q.path)}${q.watch ? ' watch' : ''}`;
    case OpCode.setData: return `setData ${jsq(q.path)} data=${data(q.data)} v=${q.version}`;
    case OpCode.setACL: return `setACL ${jsq(q.path)} acl=${acls(q.acl)} v=${q.version}`;
    case OpCode.getACL: case OpCode.sync: case OpCode.getEphemerals: case OpCode.getAllChildrenNumber:
      return `${opName(q.op)} ${jsq(q.path)}`;
    case OpCode.checkWatches: case OpCode.removeWatches: case OpCode.addWatch:
      return `${opName(q.op)} ${jsq(q.path)} type=${q.type}`;
    case OpCode.multi: case OpCode.multiRead: return `${opName(q.op)} [${q.ops.map(describeRequest).join('; ')}]`;
    default: return opName(q.op);
  }
}

function describeStep(st: Step): string {
  switch (st.do) {
    case 'req': return `${st.s} ${describeRequest(st.req)}`;
    case 'pipeline': return `${st.s} pipeline: ${st.reqs.map(describeRequest).join(' | ')}`;
    case 'auth': return `${st.s} auth ${st.scheme} ${JSON.stringify(st.auth)}`;
    case 'connect': return `connect ${st.s}`;
    case 'close': return `close ${st.s}`;
    case 'drop': return `drop connection ${st.s}`;
    case 'reconnect': return `reconnect ${st.s} lastZxidSeen=${st.lastZxidSeen === undefined || st.lastZxidSeen === 'lastSeen' ? 'lastSeen' : `Z+${st.lastZxidSeen.rel}`}${st.wrongPasswd ? ' wrong password' : ''}`;
    case 'setWatches': {
      const { s, relativeZxid, ...w } = st;
      const rz = relativeZxid === 'lastSeen' ? 'lastSeen' : `Z+${relativeZxid.rel}`;
      return `${s} setWatches relativeZxid=${rz} ${JSON.stringify({ data: w.data, exist: w.exist, child: w.child, persistent: w.persistent, recursive: w.recursive })}`;
    }
    case 'sleep': return `sleep ${st.ms} ms`;
    case 'awaitEvent': return `${st.s} await ${eventName(st.type)} ${typeof st.path === 'string' ? jsq(st.path) : list(st.path)}`;
  }
}

/** Runs `sc` on a fresh server of `kind` and returns its normalized transcript. */
export async function recordTranscript(kind: 'zkts' | 'apache', sc: Scenario): Promise<string[]> {
  const server = await startServer(kind, {
    config: sc.server?.config,
    systemProperties: kind === 'apache' ? sc.server?.oracleSystemProperties : undefined,
  });
  const run = new Run(server);
  try {
    // ruok answers before the ZooKeeper server is serving (connections are then dropped): wait until srvr reports.
    await waitFor(`${kind} serving`, async () => (await fourLetter(server.port, 'srvr')).includes('Zxid:'), 20_000, 50);
    await run.execute(sc.steps);
    return run.lines;
  } finally {
    run.destroyAll();
    await server.stop();
  }
}

// ---------------------------------------------------------------- comparing

/** A line diff (LCS) of two transcripts: "  " same, "- " only in `a`, "+ " only in `b`. */
export function lineDiff(a: string[], b: string[]): string {
  const n = a.length;
  const m = b.length;
  const dp: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) dp[i][j] = a[i] === b[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push(`  ${a[i]}`);
      i++;
      j++;
    } else if (i < n && (j === m || dp[i + 1][j] >= dp[i][j + 1])) {
      out.push(`- ${a[i++]}`);
    } else {
      out.push(`+ ${b[j++]}`);
    }
  }
  return out.join('\n');
}

function goldenFile(name: string): string {
  return path.join(PROJECT_ROOT, 'test', 'diff', 'golden', `${name.replace(/[^A-Za-z0-9_-]+/g, '_')}.txt`);
}

function sanityCheck(kind: string, sc: Scenario, lines: string[]): void {
  const text = lines.join('\n');
  const bad = lines.filter((l) => /t!\d|OUT-OF-ORDER|UNMATCHED|: FAILED /.test(l));
  assert.deepEqual(bad, [], `${kind}: ${sc.name}: implausible transcript lines:\n${bad.join('\n')}\n\n${text}`);
  for (const s of sc.mustContain ?? []) assert.ok(text.includes(s), `${kind}: ${sc.name}: transcript lacks ${JSON.stringify(s)}:\n${text}`);
}

/** Registers one node:test test per scenario: run on every selected kind, compare, sanity-check. */
export function scenarioTests(scenarios: Scenario[]): void {
  for (const sc of scenarios) {
    void test(sc.name, { timeout: 180_000 }, async (t) => {
      let kinds = testKinds();
      if (kinds.includes('apache') && !oracleAvailable()) {
        t.diagnostic('Apache ZooKeeper is not installed: running without the oracle');
        kinds = kinds.filter((k) => k !== 'apache');
      }
      if (kinds.length === 0) {
        t.skip('no server kind selected');
        return;
      }
      const transcripts = new Map<string, string[]>();
      await Promise.all(kinds.map(async (k) => transcripts.set(k, await recordTranscript(k, sc))));
      const apache = transcripts.get('apache');
      const zkts = transcripts.get('zkts');
      if (process.env.ZKTS_DIFF_VERBOSE) {
        for (const [k, lines] of transcripts) t.diagnostic(`--- ${k}: ${sc.name}\n${lines.join('\n')}`);
      }
      if (apache && process.env.ZKTS_DIFF_RECORD) {
        fs.mkdirSync(path.dirname(goldenFile(sc.name)), { recursive: true });
        fs.writeFileSync(goldenFile(sc.name), apache.join('\n') + '\n');
      }
      let reference = apache;
      let refName = 'apache';
      if (!reference && zkts && fs.existsSync(goldenFile(sc.name))) {
        reference = fs.readFileSync(goldenFile(sc.name), 'utf8').replace(/\n$/, '').split('\n');
        refName = 'apache (recorded golden)';
      }
      if (reference && zkts) {
        const same = reference.length === zkts.length && reference.every((l, i) => l === zkts[i]);
        assert.ok(same, `${sc.name}: zkts differs from ${refName} ("- " ${refName} only, "+ " zkts only):\n${lineDiff(reference, zkts)}`);
      } else {
        t.diagnostic(`comparison skipped: only ${kinds.join(',')} selected (set ZKTS_TEST_KINDS to both kinds to compare)`);
      }
      for (const [k, lines] of transcripts) sanityCheck(k, sc, lines);
    });
  }
}
