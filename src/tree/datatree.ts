// tree/datatree.ts: the znode tree and how committed txns change it (ZooKeeper's DataTree). Deterministic: the
// only inputs are txns (time comes in their header); the only outputs are results and watch events, delivered
// synchronously to Watcher objects. Validation (versions, ACLs, sequential names) happened in prep; here a txn
// that no longer fits (replay over a fuzzy snapshot) yields NONODE/NODEEXISTS and changes as little as upstream.
import { CONTAINER_EPHEMERAL_OWNER, EventType, KeeperState, OpCode, Perms, TTL_MASK, WatcherType } from '../protocol/constants.js';
import { Code } from '../protocol/errors.js';
import type { ACL, SetWatches, Stat } from '../protocol/records.js';
import type { Txn, TxnHeader } from '../txn/records.js';
import { type Logger, hexSession, silentLogger } from '../util/log.js';
import { DigestSum, digestAdd, digestSub, nodeDigestNum } from './digest.js';
import { baseName, childPath, parentOf } from './path.js';
import {
  CONFIG_ZOOKEEPER, LIMIT_NODE, PROC_ZOOKEEPER, QUOTA_ZOOKEEPER, QuotaRoots, STAT_NODE, StatsTrack, limitPath, statPath,
  trimQuotaPath,
} from './quota.js';
import type { StatPersisted } from './stat.js';
import { type WatchKind, type WatchMode, WatchTable, type Watcher } from './watches.js';

/**
 * A znode: its persisted stat (cversion as stored; clients see stored*2 - numChildren), data, ACL and children.
 * `children` is read-only outside DataTree: a leaf shares EMPTY_CHILDREN (most of a big tree are leaves, and an
 * empty Set per node costs ~100 bytes and GC work); the tree gives a node its own Set with its first child. The
 * ACL list is shared by every node with an identical list (interned, as upstream's ReferenceCountedACLCache):
 * replace it, never change it in place.
 */
export interface ZNode extends StatPersisted {
  data: Buffer;
  acl: ACL[];
  children: ReadonlySet<string>;
}

/** The children of every childless node: never modified (DataTree swaps in a Set of its own on the first child). */
export const EMPTY_CHILDREN: ReadonlySet<string> = new Set<string>();

/** Distinct ACL lists kept for sharing; past this many the cache starts over (sharing is only an optimisation). */
const ACL_CACHE_LIMIT = 4096;

export interface TxnResult {
  type: number;
  err: number;
  path?: string;
  stat?: Stat;
  results?: TxnResult[];
}

/** How an ephemeralOwner value is read (upstream's EphemeralType). */
export type OwnerKind = 'none' | 'session' | 'container' | 'ttl';

const OPEN_ACL: readonly ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
const READ_ACL: readonly ACL[] = [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];
const EXTENDED_FEATURE_SHIFT = 40n;
const EXTENDED_FEATURE_MASK = 0xffffn;
const EXTENDED_FEATURE_TTL = 0n;

export interface DataTreeOptions {
  logger?: Logger;
  /**
   * zookeeper.extendedTypesEnabled: only then is an ephemeralOwner with high byte 0xFF a TTL node. Off (the
   * default upstream), such an owner is an ordinary session id (server ids up to 255 are allowed then).
   */
  extendedTypesEnabled?: boolean;
}

export class DataTree {
  lastProcessedZxid = 0;
  private readonly nodes = new Map<string, ZNode>();
  private readonly ephemerals = new Map<bigint, Set<string>>();
  private readonly containerPaths = new Set<string>();
  private readonly ttlPaths = new Set<string>();
  private readonly quotaRoots = new QuotaRoots();
  private readonly dataWatches = new WatchTable();
  private readonly childWatches = new WatchTable();
  private readonly log: Logger;
  private readonly extendedTypes: boolean;
  private dataSize = 0;
  /** Interned ACL lists by content (internAcl), plus the last list seen and what it interned to. */
  private readonly aclCache = new Map<string, ACL[]>();
  private lastAclIn: readonly ACL[] | undefined;
  private lastAclOut: ACL[] = [];
  /** Sum of node digests mod 2^64 (digest.ts), kept current on every change, as upstream's NodeHashMapImpl. */
  private digest = 0n;

  constructor(opts: DataTreeOptions = {}) {
    this.log = opts.logger ?? silentLogger;
    this.extendedTypes = opts.extendedTypesEnabled ?? false;
    this.resetToSystemNodes();
  }

  /** "/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config" with zero stats, as a fresh ZooKeeper 3.8 has. */
  private resetToSystemNodes(): void {
    this.clear();
    const root = this.put('/', blankNode(OPEN_ACL));
    addChild(root, baseName(PROC_ZOOKEEPER));
    const proc = this.put(PROC_ZOOKEEPER, blankNode(OPEN_ACL));
    addChild(proc, baseName(QUOTA_ZOOKEEPER));
    this.put(QUOTA_ZOOKEEPER, blankNode(OPEN_ACL));
    addChild(proc, baseName(CONFIG_ZOOKEEPER));
    // Upstream applies setACL(READ_ACL_UNSAFE, version -1) to the config node, hence aversion -1 (oracle-checked).
    const config = this.put(CONFIG_ZOOKEEPER, blankNode(READ_ACL));
    config.aversion = -1;
  }

  private clear(): void {
    this.nodes.clear();
    this.ephemerals.clear();
    this.containerPaths.clear();
    this.ttlPaths.clear();
    this.quotaRoots.clear();
    this.aclCache.clear();
    this.lastAclIn = undefined;
    this.dataSize = 0;
    this.digest = 0n;
  }

  /**
   * The shared list equal to `acl` (same entries, same order): identical lists, the norm, then cost one array per
   * tree instead of one per node. The cached list is a private copy, so no caller's array is ever shared.
   */
  private internAcl(acl: readonly ACL[]): ACL[] {
    if (acl === this.lastAclIn) return this.lastAclOut;
    let key = '';
    for (const a of acl) key += `${a.perms}:${a.id.scheme.length}:${a.id.scheme}${a.id.id.length}:${a.id.id};`;
    let out = this.aclCache.get(key);
    if (out === undefined) {
      if (this.aclCache.size >= ACL_CACHE_LIMIT) this.aclCache.clear();
      out = acl.map((a) => ({ perms: a.perms, id: { scheme: a.id.scheme, id: a.id.id } }));
      this.aclCache.set(key, out);
    }
    this.lastAclIn = acl;
    this.lastAclOut = out;
    return out;
  }

  private put(path: string, node: ZNode): ZNode {
    this.nodes.set(path, node);
    this.dataSize += path.length + node.data.length;
    this.digestIn(path, node);
    return node;
  }

  // ---------------------------------------------------------------- digest

  /** The tree digest (ZooKeeper's DataTree.getTreeDigest), unsigned. */
  get treeDigest(): bigint {
    return this.digest;
  }

  /** The tree digest recomputed over every node, to check the incrementally kept one. */
  computeDigestFromScratch(): bigint {
    const sum = new DigestSum();
    for (const [path, node] of this.nodes) sum.add(nodeDigestNum(path, node.data, node));
    return sum.value;
  }

  /** Adds a node's digest (after it is stored or changed: upstream's put/postChange). */
  private digestIn(path: string, node: ZNode): void {
    const d = nodeDigestNum(path, node.data, node);
    if (d !== 0) this.digest = digestAdd(this.digest, BigInt(d));
  }

  /** Removes a node's digest (before it is changed or removed: upstream's preChange/remove). */
  private digestOut(path: string, node: ZNode): void {
    const d = nodeDigestNum(path, node.data, node);
    if (d !== 0) this.digest = digestSub(this.digest, BigInt(d));
  }

  // ---------------------------------------------------------------- reads

  getNode(path: string): ZNode | undefined {
    // ZooKeeper's node map holds the root under "" too, so reads of "" answer with the root.
    return this.nodes.get(path === '' ? '/' : path);
  }

  /** Upstream's node map also holds the root under "" as an alias, and its "Node count" includes it. */
  get nodeCount(): number {
    return this.nodes.size + 1;
  }

  /** Sum of path length (UTF-16 units, as Java's String.length) plus data bytes over all nodes. */
  approximateDataSize(): number {
    return this.dataSize;
  }

  /** The client's view of a node's stat (DataNode.copyStat). */
  statOf(node: ZNode): Stat {
    const numChildren = node.children.size;
    const kind = this.ownerKind(node.ephemeralOwner);
    return {
      czxid: node.czxid, mzxid: node.mzxid, ctime: node.ctime, mtime: node.mtime,
      version: node.version, cversion: node.cversion * 2 - numChildren, aversion: node.aversion,
      ephemeralOwner: kind === 'session' ? node.ephemeralOwner : 0n,
      dataLength: node.data.length, numChildren, pzxid: node.pzxid,
    };
  }

  ownerKind(owner: bigint): OwnerKind {
    if (this.extendedTypes && (BigInt.asUintN(64, owner) & TTL_MASK) === TTL_MASK) {
      const feature = (BigInt.asUintN(64, owner) >> EXTENDED_FEATURE_SHIFT) & EXTENDED_FEATURE_MASK;
      if (feature === EXTENDED_FEATURE_TTL) return 'ttl';
      // Upstream throws on an unknown extended type; we keep going and treat it as a session's node.
    }
    if (owner === CONTAINER_EPHEMERAL_OWNER) return 'container';
    return owner === 0n ? 'none' : 'session';
  }

  ephemeralsOf(sessionId: bigint): ReadonlySet<string> {
    return this.ephemerals.get(sessionId) ?? EMPTY_SET;
  }
  ephemeralSessions(): ReadonlyMap<bigint, ReadonlySet<string>> {
    return this.ephemerals;
  }
  containers(): ReadonlySet<string> {
    return this.containerPaths;
  }
  ttls(): ReadonlySet<string> {
    return this.ttlPaths;
  }

  /** Number of descendants of `path` (0 if it does not exist). */
  getAllChildrenNumber(path: string): number {
    if (path === '/') return this.nodes.size - 1;
    const start = this.nodes.get(path);
    if (start === undefined) return 0;
    let count = 0;
    const stack: string[] = [path];
    for (let p = stack.pop(); p !== undefined; p = stack.pop()) {
      for (const c of this.nodes.get(p)?.children ?? EMPTY_SET) {
        count++;
        stack.push(childPath(p, c));
      }
    }
    return count;
  }

  // ---------------------------------------------------------------- txns

  /** Applies one committed txn, fires its watch events, and advances lastProcessedZxid. */
  processTxn(hdr: TxnHeader, txn: Txn): TxnResult {
    const rc = this.applyTxn(hdr, txn, hdr.type);
    if (hdr.zxid > this.lastProcessedZxid) this.lastProcessedZxid = hdr.zxid;
    return rc;
  }

  private applyTxn(hdr: TxnHeader, txn: Txn, type: number): TxnResult {
    switch (txn.type) {
      case OpCode.create: case OpCode.create2: {
        const owner = txn.ephemeral ? hdr.clientId : 0n;
        return this.applyCreate(hdr, txn, type, owner, type !== OpCode.create);
      }
      case OpCode.createContainer:
        return this.applyCreate(hdr, txn, type, CONTAINER_EPHEMERAL_OWNER, true);
      case OpCode.createTTL:
        return this.applyCreate(hdr, txn, type, ttlOwner(txn.ttl), true);
      case OpCode.delete: case OpCode.deleteContainer:
        return { type, err: this.deleteNode(txn.path, hdr.zxid), path: txn.path };
      case OpCode.setData:
        return this.setData(txn.path, txn.data, txn.version, hdr.zxid, hdr.time, type);
      case OpCode.setACL:
        return this.setACL(txn.path, txn.acl, txn.version, type);
      case OpCode.check:
        return { type, err: Code.OK, path: txn.path };
      case OpCode.error:
        return { type, err: txn.err };
      case OpCode.createSession:
        return { type, err: Code.OK };
      case OpCode.closeSession:
        this.killSession(hdr.clientId, hdr.zxid, txn.paths2Delete);
        return { type, err: Code.OK };
      case OpCode.multi:
        return this.applyMulti(hdr, txn.txns);
    }
  }

  private applyCreate(
    hdr: TxnHeader, txn: { path: string; data: Buffer; acl: ACL[]; parentCVersion: number }, type: number,
    owner: bigint, wantStat: boolean,
  ): TxnResult {
    const { err, node } = this.createNode(txn.path, txn.data, txn.acl, owner, txn.parentCVersion, hdr.zxid, hdr.time);
    if (err === Code.NODEEXISTS && type === OpCode.create) {
      // Replay over a fuzzy snapshot: the node was deleted and re-created by another session after the parent was
      // serialized. Upstream still moves the parent's cversion/pzxid forward (only for plain create).
      return { type, err: this.setCversionPzxid(parentOf(txn.path), txn.parentCVersion, hdr.zxid), path: txn.path };
    }
    const rc: TxnResult = { type, err, path: txn.path };
    if (node !== undefined && wantStat) rc.stat = this.statOf(node);
    return rc;
  }

  /** Creates a node; NONODE without a parent, NODEEXISTS (after adopting the txn's ACL, as upstream) if present. */
  createNode(
    path: string, data: Buffer, acl: ACL[], owner: bigint, parentCVersion: number, zxid: number, time: number,
  ): { err: number; node?: ZNode } {
    const parentPath = parentOf(path);
    const parent = this.nodes.get(parentPath);
    if (parent === undefined) return { err: Code.NONODE };
    const existing = this.nodes.get(path);
    if (existing !== undefined) {
      existing.acl = this.internAcl(acl);
      return { err: Code.NODEEXISTS };
    }
    const cv = parentCVersion === -1 ? parent.cversion + 1 : parentCVersion;
    this.digestOut(parentPath, parent);
    // Replaying a create after a fuzzy snapshot must not move cversion/pzxid backwards.
    if (cv > parent.cversion) {
      parent.cversion = cv;
      parent.pzxid = zxid;
    }
    const name = baseName(path);
    addChild(parent, name);
    this.digestIn(parentPath, parent);
    const node = this.put(path, {
      data: ownBytes(data), acl: this.internAcl(acl), czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: time, mtime: time,
      version: 0, cversion: 0, aversion: 0, ephemeralOwner: owner, children: EMPTY_CHILDREN,
    });
    this.indexOwner(path, owner);
    this.noteQuotaNodeCreated(parentPath, name);
    this.updateQuotaStat(path, data.length, 1);
    this.dataWatches.trigger(path, EventType.NodeCreated, acl);
    this.childWatches.trigger(parentPath, EventType.NodeChildrenChanged, parent.acl);
    return { err: Code.OK, node };
  }

  private indexOwner(path: string, owner: bigint): void {
    const kind = this.ownerKind(owner);
    if (kind === 'container') this.containerPaths.add(path);
    else if (kind === 'ttl') this.ttlPaths.add(path);
    else if (kind === 'session') {
      let set = this.ephemerals.get(owner);
      if (set === undefined) this.ephemerals.set(owner, (set = new Set()));
      set.add(path);
    }
  }

  private unindexOwner(path: string, owner: bigint): void {
    const kind = this.ownerKind(owner);
    if (kind === 'container') this.containerPaths.delete(path);
    else if (kind === 'ttl') this.ttlPaths.delete(path);
    else if (kind === 'session') {
      const set = this.ephemerals.get(owner);
      set?.delete(path);
      if (set?.size === 0) this.ephemerals.delete(owner);
    }
  }

  /** Deletes a node. Like upstream, the parent's pzxid moves forward even when the child is already gone. */
  deleteNode(path: string, zxid: number): number {
    const parentPath = parentOf(path);
    const parent = this.nodes.get(parentPath);
    if (parent === undefined || path === '/') return Code.NONODE;
    const name = baseName(path);
    this.digestOut(parentPath, parent);
    removeChild(parent, name);
    if (zxid > parent.pzxid) parent.pzxid = zxid;
    this.digestIn(parentPath, parent);
    const node = this.nodes.get(path);
    if (node === undefined) return Code.NONODE;
    this.nodes.delete(path);
    this.digestOut(path, node);
    this.dataSize -= path.length + node.data.length;
    this.unindexOwner(path, node.ephemeralOwner);
    if (parentPath.startsWith(PROC_ZOOKEEPER) && name === LIMIT_NODE) this.quotaRoots.delete(trimQuotaPath(parentPath));
    this.updateQuotaStat(path, -node.data.length, -1);
    const fired = this.dataWatches.trigger(path, EventType.NodeDeleted, node.acl);
    this.childWatches.trigger(path, EventType.NodeDeleted, node.acl, fired);
    this.childWatches.trigger(parentPath, EventType.NodeChildrenChanged, parent.acl);
    return Code.OK;
  }

  /**
   * An ensemble member's /zookeeper/config (ZKDatabase.initConfigInZKDatabase): the membership text, set locally by
   * every server (not a txn), with version -1, mzxid the config version and mtime the local clock.
   */
  setConfigNode(text: string, configVersion: number, nowMs: number): void {
    this.setData(CONFIG_ZOOKEEPER, Buffer.from(text, 'utf8'), -1, configVersion, nowMs, OpCode.setData);
  }

  private setData(path: string, data: Buffer, version: number, zxid: number, time: number, type: number): TxnResult {
    const node = this.nodes.get(path);
    if (node === undefined) return { type, err: Code.NONODE, path };
    const oldLength = node.data.length;
    this.dataSize += data.length - oldLength;
    this.digestOut(path, node);
    node.data = ownBytes(data);
    node.mtime = time;
    node.mzxid = zxid;
    node.version = version;
    this.digestIn(path, node);
    const stat = this.statOf(node);
    this.updateQuotaStat(path, data.length - oldLength, 0);
    this.dataWatches.trigger(path, EventType.NodeDataChanged, node.acl);
    return { type, err: Code.OK, path, stat };
  }

  private setACL(path: string, acl: ACL[], version: number, type: number): TxnResult {
    const node = this.nodes.get(path);
    if (node === undefined) return { type, err: Code.NONODE, path };
    this.digestOut(path, node);
    node.acl = this.internAcl(acl);
    node.aversion = version;
    this.digestIn(path, node);
    return { type, err: Code.OK, path, stat: this.statOf(node) };
  }

  private setCversionPzxid(path: string, parentCVersion: number, zxid: number): number {
    const node = this.nodes.get(path);
    if (node === undefined) {
      this.log.error('failed to set parent cversion', { path });
      return Code.NONODE;
    }
    const cv = parentCVersion === -1 ? node.cversion + 1 : parentCVersion;
    if (cv > node.cversion) {
      this.digestOut(path, node);
      node.cversion = cv;
      node.pzxid = zxid;
      this.digestIn(path, node);
    }
    return Code.NODEEXISTS;
  }

  /**
   * closeSession: deletes the paths the txn names (3.6+ logs), then whatever else the tree still lists for the
   * session (older logs have no list; a mismatch is logged, as upstream does).
   */
  private killSession(sessionId: bigint, zxid: number, paths2Delete: string[] | null): void {
    const local = this.ephemerals.get(sessionId);
    this.ephemerals.delete(sessionId);
    if (paths2Delete !== null) {
      this.deleteEphemerals(sessionId, zxid, paths2Delete);
      for (const p of paths2Delete) local?.delete(p);
      if (local !== undefined && local.size > 0) {
        this.log.warn('unexpected extra ephemerals not in closeSession txn', { session: hexSession(sessionId), paths: [...local], zxid });
      }
    }
    if (local !== undefined) this.deleteEphemerals(sessionId, zxid, [...local]);
  }

  private deleteEphemerals(sessionId: bigint, zxid: number, paths: readonly string[]): void {
    for (const p of paths) {
      if (this.deleteNode(p, zxid) !== Code.OK) {
        this.log.warn('ignoring NONODE while removing ephemeral of dead session', { path: p, session: hexSession(sessionId) });
      }
    }
  }

  /**
   * A multi whose sub-txns include an error txn is a failed multi (that is how prep logs it): every result becomes
   * an error result, OK before the first error txn, the error's own code at it, RUNTIMEINCONSISTENCY after.
   * The multi's err is the first non-zero sub-result err.
   */
  private applyMulti(hdr: TxnHeader, txns: readonly Txn[]): TxnResult {
    const failed = txns.some((t) => t.type === OpCode.error);
    let postFailed = false;
    const results: TxnResult[] = [];
    let err: number = Code.OK;
    for (const sub of txns) {
      let t: Txn = sub;
      if (sub.type === OpCode.error) postFailed = true;
      else if (failed) t = { type: OpCode.error, err: postFailed ? Code.RUNTIMEINCONSISTENCY : Code.OK };
      const r = this.applyTxn({ ...hdr, type: t.type }, t, t.type);
      results.push(r);
      if (r.err !== Code.OK && err === Code.OK) err = r.err;
    }
    return { type: OpCode.multi, err, results };
  }

  // ---------------------------------------------------------------- quotas

  /** A limits node under /zookeeper/quota makes its path a quota root; a stats node gets recomputed usage. */
  private noteQuotaNodeCreated(parentPath: string, name: string): void {
    if (!parentPath.startsWith(QUOTA_ZOOKEEPER)) return;
    const target = trimQuotaPath(parentPath);
    if (name === LIMIT_NODE) this.quotaRoots.add(target);
    if (name === STAT_NODE) this.recountQuota(target);
  }

  /** The quota root governing `path`, if any. */
  quotaRootOf(path: string): string | undefined {
    return this.quotaRoots.maxPrefix(path);
  }

  /**
   * Adds to the usage in the stats node of the quota root above `path`. Upstream rewrites the stats node's data in
   * place: its mzxid, mtime and version stay as they were (oracle-checked).
   */
  private updateQuotaStat(path: string, bytesDelta: number, countDelta: number): void {
    const root = this.quotaRoots.maxPrefix(path);
    if (root === undefined) return;
    const node = this.nodes.get(statPath(root));
    if (node === undefined) {
      this.log.error('missing quota stat node', { path: statPath(root) });
      return;
    }
    const st = StatsTrack.parse(node.data.toString('utf8'));
    st.count = st.count + countDelta;
    st.bytes = st.bytes + bytesDelta;
    this.replaceDataInPlace(statPath(root), node, Buffer.from(st.toString(), 'utf8'));
  }

  /** Recounts nodes and bytes under a quota root into its stats node ("count=N,bytes=M"). */
  private recountQuota(root: string): void {
    const statNodePath = statPath(root);
    const node = this.nodes.get(statNodePath);
    if (node === undefined) {
      this.log.warn('missing quota stat node', { path: statNodePath });
      return;
    }
    let count = 0;
    let bytes = 0;
    const stack = this.nodes.has(root) ? [root] : [];
    for (let p = stack.pop(); p !== undefined; p = stack.pop()) {
      const n = this.nodes.get(p);
      if (n === undefined) continue;
      count++;
      bytes += n.data.length;
      for (const c of n.children) stack.push(childPath(p, c));
    }
    const st = new StatsTrack();
    st.bytes = bytes;
    st.count = count;
    this.replaceDataInPlace(statNodePath, node, Buffer.from(st.toString(), 'utf8'));
  }

  private replaceDataInPlace(path: string, node: ZNode, data: Buffer): void {
    this.dataSize += data.length - node.data.length;
    this.digestOut(path, node); // quota stats live under /zookeeper/: no digest today, as upstream
    node.data = data;
    this.digestIn(path, node);
  }

  /**
   * Hard-limit check before a create (countDelta 1) or setData (countDelta 0, bytesDelta = new - old length), as
   * ZooKeeperServer.checkQuota: QUOTAEXCEEDED when a hard limit would be passed; passing a soft limit only logs.
   * The caller calls this only when enforceQuota is on.
   */
  checkQuota(path: string, bytesDelta: number, countDelta: number): number {
    const root = this.quotaRoots.maxPrefix(path);
    if (root === undefined) return Code.OK;
    const limitNode = this.nodes.get(limitPath(root));
    if (limitNode === undefined) {
      this.log.error('missing quota limit node', { path: limitPath(root) });
      return Code.OK;
    }
    const limits = StatsTrack.parse(limitNode.data.toString('utf8'));
    const checkCount = countDelta !== 0 && (limits.count > -1 || limits.countHardLimit > -1);
    const checkBytes = bytesDelta !== 0 && (limits.bytes > -1 || limits.byteHardLimit > -1);
    if (!checkCount && !checkBytes) return Code.OK;
    const statNode = this.nodes.get(statPath(root));
    if (statNode === undefined) {
      this.log.error('missing quota stat node', { path: statPath(root) });
      return Code.OK;
    }
    const usage = StatsTrack.parse(statNode.data.toString('utf8'));
    if (checkCount && this.overLimit(root, 'count', usage.count + countDelta, limits.countHardLimit, limits.count)) {
      return Code.QUOTAEXCEEDED;
    }
    if (checkBytes && this.overLimit(root, 'bytes', usage.bytes + bytesDelta, limits.byteHardLimit, limits.bytes)) {
      return Code.QUOTAEXCEEDED;
    }
    return Code.OK;
  }

  /** True when a hard limit is passed; a passed soft limit (no hard limit set) is a warning only. */
  private overLimit(root: string, what: string, next: number, hard: number, soft: number): boolean {
    const isHard = hard > -1;
    const limit = isHard ? hard : soft;
    if (next <= limit) return false;
    this.log.warn('Quota exceeded', { quota: root, [what]: next, limit, kind: isHard ? 'hard' : 'soft' });
    return isHard;
  }

  // ---------------------------------------------------------------- watches

  addWatch(path: string, watcher: Watcher, kind: WatchKind): void {
    switch (kind) {
      case 'data': case 'exist': this.dataWatches.add(path, watcher, 'standard'); return;
      case 'child': this.childWatches.add(path, watcher, 'standard'); return;
      // addWatch puts persistent and recursive watches in both tables, as 3.8 does. A later getData/exists or
      // getChildren watch on the same path replaces the mode in that table only (see watches.ts). A recursive
      // entry in the child table still matters: it fires NodeDeleted for the subtree (never NodeChildrenChanged).
      case 'persistent': case 'persistentRecursive': this.addBoth(path, watcher, kind); return;
    }
  }

  private addBoth(path: string, watcher: Watcher, mode: WatchMode): void {
    this.dataWatches.add(path, watcher, mode);
    this.childWatches.add(path, watcher, mode);
  }

  /**
   * removeWatches(path, type), as 3.8: Children/Data remove this watcher's entry from that table whatever its mode
   * (so Data on a persistent watch leaves its child side), Any from both. Types 3.8 does not know (3.9's
   * Persistent 4 and PersistentRecursive 5, or anything else) find nothing here; 3.8 itself fails them with
   * MARSHALLINGERROR. false = NOWATCHER.
   */
  removeWatches(path: string, watcher: Watcher, type: number): boolean {
    switch (type) {
      case WatcherType.Children: return this.childWatches.remove(path, watcher);
      case WatcherType.Data: return this.dataWatches.remove(path, watcher);
      case WatcherType.Any: {
        const c = this.childWatches.remove(path, watcher);
        const d = this.dataWatches.remove(path, watcher);
        return c || d;
      }
      default: return false;
    }
  }

  /**
   * checkWatches(path, type), as 3.8: is there an entry on exactly this path in the child table (Children), the
   * data table (Data) or either (Any)? 3.8.0's WatchManager.containsWatcher answers for any watcher, not only the
   * asking one (checked against the 3.8.0 server), so `_watcher` is not consulted. Recursive watches on ancestors
   * do not count. Unknown types as in removeWatches.
   */
  hasWatch(path: string, _watcher: Watcher, type: number): boolean {
    switch (type) {
      case WatcherType.Children: return this.childWatches.watched(path);
      case WatcherType.Data: return this.dataWatches.watched(path);
      case WatcherType.Any: return this.childWatches.watched(path) || this.dataWatches.watched(path);
      default: return false;
    }
  }

  removeWatcher(watcher: Watcher): void {
    this.dataWatches.removeWatcher(watcher);
    this.childWatches.removeWatcher(watcher);
  }

  /**
   * Re-registers a reconnecting client's watches (DataTree.setWatches). Events for changes the client missed since
   * relativeZxid are delivered at once instead of registering the one-time watch.
   */
  setWatches(relativeZxid: number, sw: SetWatches, watcher: Watcher): void {
    const fire = (type: number, path: string): void => watcher.deliver({ type, state: KeeperState.SyncConnected, path });
    for (const path of sw.dataWatches) {
      const node = this.nodes.get(path);
      if (node === undefined) fire(EventType.NodeDeleted, path);
      else if (node.mzxid > relativeZxid) fire(EventType.NodeDataChanged, path);
      else this.dataWatches.add(path, watcher, 'standard');
    }
    for (const path of sw.existWatches) {
      if (this.nodes.has(path)) fire(EventType.NodeCreated, path);
      else this.dataWatches.add(path, watcher, 'standard');
    }
    for (const path of sw.childWatches) {
      const node = this.nodes.get(path);
      if (node === undefined) fire(EventType.NodeDeleted, path);
      else if (node.pzxid > relativeZxid) fire(EventType.NodeChildrenChanged, path);
      else this.childWatches.add(path, watcher, 'standard');
    }
    // Registered in this order (one-time kinds first), so a persistent watch wins over a one-time one on its path.
    for (const path of sw.persistentWatches) this.addBoth(path, watcher, 'persistent');
    for (const path of sw.persistentRecursiveWatches) this.addBoth(path, watcher, 'persistentRecursive');
  }

  /** zk_watch_count: data-table plus child-table entries. Persistent and recursive watches count twice, as in 3.8. */
  watchCount(): number {
    return this.dataWatches.size + this.childWatches.size;
  }

  /**
   * wchs/wchc/wchp report the data table only, as upstream's DataTree.dumpWatches does: plain getChildren watches
   * do not show there. A session that ever had a data-table watch stays listed (with no paths) until it goes.
   */
  watchSummary(): { connections: number; paths: number; watches: number } {
    return this.dataWatches.summary();
  }
  watchesBySession(): Map<bigint, string[]> {
    return this.dataWatches.bySession();
  }
  watchesByPath(): Map<string, bigint[]> {
    return this.dataWatches.byPathReport();
  }

  // ---------------------------------------------------------------- snapshot restore

  /**
   * Every (path, node) pair, root as "/", live: a snapshot writer walking it between txns sees nodes added since
   * it started and misses nodes deleted before it reached them (Map iteration semantics). Read-only use.
   */
  nodeEntries(): IterableIterator<[string, ZNode]> {
    return this.nodes.entries();
  }

  /** Starts loading a snapshot: drops every node (the snapshot carries the system nodes too). */
  beginRestore(): void {
    this.clear();
  }

  /** Adds one node read from a snapshot; parents come first (pre-order). The root is "" or "/". */
  restoreNode(path: string, node: ZNode): void {
    const p = path === '' ? '/' : path;
    if (this.nodes.has(p)) throw new Error(`snapshot holds ${p} twice`);
    if (p !== '/') {
      const parent = this.nodes.get(parentOf(p));
      if (parent === undefined) throw new Error(`Invalid Datatree, unable to find parent ${parentOf(p)} of path ${p}`);
      addChild(parent, baseName(p));
      this.indexOwner(p, node.ephemeralOwner);
    }
    node.acl = this.internAcl(node.acl);
    this.put(p, node);
  }

  /** Finishes loading: rebuilds the quota roots and recounts their usage (DataTree.setupQuota). */
  finishRestore(): void {
    if (!this.nodes.has('/')) this.resetToSystemNodes();
    this.quotaRoots.clear();
    for (const path of this.nodes.keys()) {
      if (path.startsWith(QUOTA_ZOOKEEPER + '/') && baseName(path) === LIMIT_NODE && this.nodes.get(path)?.children.size === 0) {
        const root = trimQuotaPath(parentOf(path));
        this.recountQuota(root);
        this.quotaRoots.add(root);
      }
    }
  }
}

const EMPTY_SET: ReadonlySet<string> = new Set<string>();

function blankNode(acl: readonly ACL[]): ZNode {
  return {
    data: Buffer.alloc(0), acl: [...acl], czxid: 0, mzxid: 0, pzxid: 0, ctime: 0, mtime: 0,
    version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n, children: EMPTY_CHILDREN,
  };
}

/** Adds a child name, giving the node a Set of its own in place of the shared EMPTY_CHILDREN. */
function addChild(node: ZNode, name: string): void {
  if (node.children === EMPTY_CHILDREN) node.children = new Set([name]);
  else (node.children as Set<string>).add(name);
}

/** Removes a child name; a node left childless goes back to the shared EMPTY_CHILDREN. */
function removeChild(node: ZNode, name: string): void {
  if (node.children === EMPTY_CHILDREN) return;
  const set = node.children as Set<string>;
  set.delete(name);
  if (set.size === 0) node.children = EMPTY_CHILDREN;
}

/** Node data is copied into slabs of this size that hold node data only (see ownBytes); larger data gets its own. */
const DATA_SLAB_BYTES = 16 * 1024;
let dataSlab = Buffer.allocUnsafeSlow(DATA_SLAB_BYTES);
let dataSlabUsed = 0;

/**
 * Data as the tree keeps it. A request's data is a view into the connection's read buffer (a whole socket chunk,
 * frame headers and all) that a long-lived node would keep alive; such a view is copied. Copies go to slabs that hold
 * nothing but node data: Node's shared Buffer pool would mix them with short-lived buffers (replies, frames), and
 * every live node would pin a whole pool slab. Empty buffers (NULL_BUFFER among them) are kept, identity included.
 */
function ownBytes(data: Buffer): Buffer {
  const len = data.length;
  if (len === 0 || data.byteLength === data.buffer.byteLength) return data;
  if (len > DATA_SLAB_BYTES / 8) {
    const own = Buffer.allocUnsafeSlow(len);
    data.copy(own);
    return own;
  }
  if (dataSlabUsed + len > DATA_SLAB_BYTES) {
    dataSlab = Buffer.allocUnsafeSlow(DATA_SLAB_BYTES);
    dataSlabUsed = 0;
  }
  const out = dataSlab.subarray(dataSlabUsed, dataSlabUsed + len);
  data.copy(out);
  dataSlabUsed += len;
  return out;
}

/** EphemeralType.TTL.toEphemeralOwner: 0xFF in the high byte, the TTL in the low 40 bits, as a signed long. */
export function ttlOwner(ttlMs: number): bigint {
  return BigInt.asIntN(64, TTL_MASK | BigInt(ttlMs));
}
