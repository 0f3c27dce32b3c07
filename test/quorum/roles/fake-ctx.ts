// Test support for the role tests: a FAKE RoleContext (what quorum/peer.ts lends a Leader or Learner) that keeps no
// disk and records every durable effect, in order, in one event log shared with the test side of the quorum link
// (script-link.ts logs what the role sent as 'send <TYPE> <zxid>'):
//
//   'append 0x100000003'   the role appended a txn to its txn log
//   'durable 0x100000003'  the test released durability: the log reported this zxid durable to the role
//   'epoch accepted 2'     an epoch file write finished (it takes epochWriteMs, so a role that does not wait for it
//   'epoch current 2'      is caught sending before the entry appears)
//   'snapshot 0x100000004' snapshotNow finished (held until releaseSnapshot() when holdSnapshots is set)
//   'truncate 0x..'        ctx.truncate (TRUNC: the log is cut and the database reloaded)
//   'truncateLog 0x..'     ctx.truncateLog (SNAP)
//   'serve'                the role handed its server to the client port
//
// Durability: appended txns become durable only once flushed AND released; release() reports the last flushed zxid
// to the role's onDurable listener. With autoDurable, every flush is released on the next turn.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ZkConfig, parseConfig } from '../../../src/config/zoocfg.js';
import { NULL_BUFFER } from '../../../src/jute/codec.js';
import { OpCode, Perms } from '../../../src/protocol/constants.js';
import type { RoleContext } from '../../../src/quorum/role.js';
import { zxidHex } from '../../../src/quorum/zab/zxid.js';
import type { ServerDatabase, ZooKeeperServer } from '../../../src/server/zkserver.js';
import type { DurableStage } from '../../../src/storage/database.js';
import type { TxnEntry } from '../../../src/storage/txnlogReader.js';
import { DataTree } from '../../../src/tree/datatree.js';
import type { Txn, TxnDigest, TxnHeader } from '../../../src/txn/records.js';
import { createLogger, type Logger, silentLogger } from '../../../src/util/log.js';
import { freePort } from '../../support/ports.js';

export const TICK = 100;
export const INIT_LIMIT = 10;
export const SYNC_LIMIT = 5;
/** How long a "nothing happens" check waits: well below syncLimit * tickTime (500 ms). */
export const QUIET_MS = 250;

/** ZK_ROLE_TEST_LOG=1 shows the roles' logs on stderr. */
export const testLogger: Logger = process.env.ZK_ROLE_TEST_LOG === '1'
  ? createLogger({ level: 'debug', sink: (l) => process.stderr.write(l + '\n') })
  : silentLogger;

// ------------------------------------------------------------------------------------------------- config

export interface Ensemble {
  servers: Array<{ id: number; quorumPort: number; electionPort: number; observer: boolean }>;
  dir: string;
  /** zoo.cfg lines added at the end (e.g. zookeeper.forceSnapshotSync=true). */
  extra: string[];
}

export async function makeEnsemble(voters: number, observers: number[] = [], extra: string[] = []): Promise<Ensemble> {
  const servers: Ensemble['servers'] = [];
  const ids = [...Array.from({ length: voters }, (_, i) => i + 1), ...observers];
  const taken = new Set<number>();
  for (const id of ids) servers.push({ id, quorumPort: await distinctPort(taken), electionPort: await distinctPort(taken), observer: observers.includes(id) });
  return { servers, dir: fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-roles-')), extra };
}

/** A free port not in `taken` (the OS may hand out a just-released port again). */
async function distinctPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await freePort();
    if (taken.has(p)) continue;
    taken.add(p);
    return p;
  }
  throw new Error('no distinct free port after 50 tries');
}

/** The parsed zoo.cfg of server `myId` of the ensemble (tickTime 100, initLimit 10, syncLimit 5, loopback). */
export function configFor(ens: Ensemble, myId: number): ZkConfig {
  const dataDir = path.join(ens.dir, `data${myId}`);
  fs.mkdirSync(dataDir, { recursive: true });
  const me = ens.servers.find((s) => s.id === myId);
  const lines = [
    `tickTime=${TICK}`, `initLimit=${INIT_LIMIT}`, `syncLimit=${SYNC_LIMIT}`, `dataDir=${dataDir}`,
    'admin.enableServer=false', ...(me?.observer === true ? ['peerType=observer'] : []),
    ...ens.servers.map((s) => `server.${s.id}=127.0.0.1:${s.quorumPort}:${s.electionPort}${s.observer ? ':observer' : ''}`),
    ...ens.extra,
  ];
  return parseConfig(lines.join('\n') + '\n', { myid: String(myId), baseDir: ens.dir });
}

export function removeEnsemble(ens: Ensemble): void {
  fs.rmSync(ens.dir, { recursive: true, force: true });
}

// ------------------------------------------------------------------------------------------------- txns

const OPEN_ACL = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];

/** A create txn entry for `path` at `zxid` (a child of the root unless the path says otherwise). */
export function createEntry(zxid: number, nodePath: string, data = 'v', parentCVersion = 1, clientId = 0x42n): TxnEntry {
  const txn: Txn = { type: OpCode.create, path: nodePath, data: data === '' ? NULL_BUFFER : Buffer.from(data), acl: OPEN_ACL, ephemeral: false, parentCVersion };
  return { hdr: { clientId, cxid: zxid % 1000, zxid, time: 1_700_000_000_000 + (zxid % 100_000), type: OpCode.create }, txn };
}

/** Creates /n<counter> for each zxid. */
export function createEntries(zxids: number[], prefix = '/n'): TxnEntry[] {
  return zxids.map((z, i) => createEntry(z, `${prefix}${z % 0x100000000}`, `d${z % 0x100000000}`, i + 1));
}

export function treeOf(entries: readonly TxnEntry[]): DataTree {
  const tree = new DataTree();
  for (const e of entries) tree.processTxn(e.hdr, e.txn);
  return tree;
}

export function dbOf(entries: readonly TxnEntry[]): ServerDatabase {
  const tree = treeOf(entries);
  const sessions = new Map<bigint, number>();
  for (const e of entries) {
    if (e.txn.type === OpCode.createSession) sessions.set(e.hdr.clientId, e.txn.timeOut);
    else if (e.txn.type === OpCode.closeSession) sessions.delete(e.hdr.clientId);
  }
  return { tree, sessions, lastZxid: tree.lastProcessedZxid };
}

/** createSession for `clientId` at `zxid`. */
export function sessionEntry(zxid: number, clientId: bigint, timeOut = 6000): TxnEntry {
  return { hdr: { clientId, cxid: 0, zxid, time: 1_700_000_000_000, type: OpCode.createSession }, txn: { type: OpCode.createSession, timeOut } };
}

/** The user-visible znodes of a tree (everything but /zookeeper), with their data and Stat fields, sorted. */
export function nodesOf(tree: DataTree): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [p, n] of tree.nodeEntries()) {
    if (p === '/zookeeper' || p.startsWith('/zookeeper/')) continue;
    out.push([p, JSON.stringify({
      data: n.data === NULL_BUFFER ? null : n.data.toString('hex'), czxid: n.czxid, mzxid: n.mzxid, pzxid: n.pzxid,
      version: n.version, cversion: n.cversion, ephemeralOwner: String(n.ephemeralOwner), children: [...n.children].sort(),
    })]);
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

// ------------------------------------------------------------------------------------------------- the fake ctx

export interface FakeCtxOptions {
  config: ZkConfig;
  myId: number;
  acceptedEpoch: number;
  currentEpoch: number;
  /** The txns on "disk" (the loaded database is built from them; TRUNC rebuilds from them). */
  history?: TxnEntry[];
  /** Release every flush on the next turn (default false: the test calls release()). */
  autoDurable?: boolean;
  /** How long an epoch file write takes (default 40 ms). */
  epochWriteMs?: number;
  /** snapshotNow waits for releaseSnapshot() (default false: it finishes after 20 ms). */
  holdSnapshots?: boolean;
}

export class FakeCtx implements RoleContext {
  readonly events: string[] = [];
  readonly config: ZkConfig;
  readonly myId: number;
  readonly logger = testLogger;
  db: ServerDatabase;
  readonly stage: DurableStage;
  acceptedEpoch: number;
  currentEpoch: number;
  served: ZooKeeperServer | undefined;
  snapSource: ZooKeeperServer | undefined;
  autoDurable: boolean;
  private history: TxnEntry[];
  private lastAppended = -1;
  private flushedUpTo = -1;
  private reportedUpTo = -1;
  private listener: ((zxid: number) => void) | undefined;
  private readonly epochWriteMs: number;
  private readonly holdSnapshots: boolean;
  private snapshotWaiters: Array<() => void> = [];

  constructor(opts: FakeCtxOptions) {
    this.config = opts.config;
    this.myId = opts.myId;
    this.acceptedEpoch = opts.acceptedEpoch;
    this.currentEpoch = opts.currentEpoch;
    this.history = [...(opts.history ?? [])];
    this.db = dbOf(this.history);
    this.autoDurable = opts.autoDurable ?? false;
    this.epochWriteMs = opts.epochWriteMs ?? 40;
    this.holdSnapshots = opts.holdSnapshots ?? false;
    this.stage = { append: (h: TxnHeader, t: Txn, d?: TxnDigest) => this.append(h, t, d), flush: () => this.flush() } as unknown as DurableStage;
  }

  /** Reports the log durable up to the last flushed zxid (nothing if that was reported already). */
  release(): void {
    if (this.flushedUpTo <= this.reportedUpTo) return;
    this.reportedUpTo = this.flushedUpTo;
    this.events.push(`durable ${zxidHex(this.flushedUpTo)}`);
    this.listener?.(this.flushedUpTo);
  }

  /** Lets every pending snapshotNow finish. */
  releaseSnapshot(): void {
    const w = this.snapshotWaiters;
    this.snapshotWaiters = [];
    for (const f of w) f();
  }

  get pendingSnapshots(): number {
    return this.snapshotWaiters.length;
  }

  /** The last zxid appended (and whether it is flushed / reported durable). */
  get log(): { appended: number; flushed: number; durable: number } {
    return { appended: this.lastAppended, flushed: this.flushedUpTo, durable: this.reportedUpTo };
  }

  private append(hdr: TxnHeader, txn: Txn, digest?: TxnDigest): void {
    if (hdr.zxid <= this.lastAppended) throw new Error(`append ${zxidHex(hdr.zxid)} not above ${zxidHex(this.lastAppended)}`);
    this.lastAppended = hdr.zxid;
    this.history.push({ hdr, txn, digest });
    this.events.push(`append ${zxidHex(hdr.zxid)}`);
  }

  private flush(): void {
    this.flushedUpTo = this.lastAppended;
    if (this.autoDurable) setImmediate(() => this.release());
  }

  epochUpdate = (state: 'begin' | 'end'): Promise<void> => {
    this.events.push(`epoch updating ${state}`);
    return Promise.resolve();
  };

  writeEpoch = async (kind: 'accepted' | 'current', value: number): Promise<void> => {
    await new Promise((r) => setTimeout(r, this.epochWriteMs));
    if (kind === 'accepted') this.acceptedEpoch = value;
    else this.currentEpoch = value;
    this.events.push(`epoch ${kind} ${value}`);
  };

  onDurable = (listener: (zxid: number) => void): void => {
    this.listener = listener;
  };

  snapshotFrom = (server: ZooKeeperServer): void => {
    this.snapSource = server;
  };

  serve = (server: ZooKeeperServer): void => {
    this.served = server;
    this.events.push('serve');
  };

  truncate = async (zxid: number): Promise<ServerDatabase> => {
    await new Promise((r) => setTimeout(r, 10));
    this.events.push(`truncate ${zxidHex(zxid)}`);
    this.history = this.history.filter((e) => e.hdr.zxid <= zxid);
    this.lastAppended = this.flushedUpTo = this.reportedUpTo = Math.max(-1, ...this.history.map((e) => e.hdr.zxid));
    this.db = dbOf(this.history);
    return this.db;
  };

  truncateLog = async (zxid: number): Promise<void> => {
    await new Promise((r) => setTimeout(r, 10));
    this.events.push(`truncateLog ${zxidHex(zxid)}`);
    this.history = this.history.filter((e) => e.hdr.zxid <= zxid);
    this.lastAppended = this.flushedUpTo = this.reportedUpTo = Math.max(zxid, ...this.history.map((e) => e.hdr.zxid));
  };

  snapshotNow = async (server: ZooKeeperServer): Promise<void> => {
    this.snapSource = server;
    if (this.holdSnapshots) await new Promise<void>((r) => this.snapshotWaiters.push(r));
    else await new Promise((r) => setTimeout(r, 20));
    this.events.push(`snapshot ${zxidHex(server.tree.lastProcessedZxid)}`);
  };
}

// ------------------------------------------------------------------------------------------------- event log checks

/** The index of the first event starting with `prefix` (at or after `from`), or -1. */
export function find(events: readonly string[], prefix: string, from = 0): number {
  for (let i = from; i < events.length; i++) if (events[i].startsWith(prefix)) return i;
  return -1;
}

/** Asserts that each prefix occurs, each after the previous one; returns their indexes. */
export function inOrder(events: readonly string[], ...prefixes: string[]): number[] {
  const out: number[] = [];
  let from = 0;
  for (const p of prefixes) {
    const i = find(events, p, from);
    if (i < 0) {
      const where = find(events, p);
      throw new Error(`event "${p}" ${where < 0 ? 'missing' : `at ${where}, before "${prefixes[out.length - 1]}"`}; events:\n  ${events.join('\n  ')}`);
    }
    out.push(i);
    from = i + 1;
  }
  return out;
}
