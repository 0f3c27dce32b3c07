// The standalone server shell (ZooKeeperServer + NIOServerCnxnFactory): binds the pure cores (tree, session
// tracker, prep, pipeline) to sockets and timers. It owns connection accounting, the connect handshake, auth
// packets, throttling, session expiry and the container/TTL reaper; the cores own every decision about data.
import type { Timer } from '../util/sys.js';
import { clock, net, random } from '../util/sys.js';
import type { Server, Socket } from 'node:net';
import type { ZkConfig } from '../config/zoocfg.js';
import { OpCode, PROTOCOL_VERSION, Xid } from '../protocol/constants.js';
import { Code } from '../protocol/errors.js';
import type { ConfInfo, MetricValue } from '../admin/view.js';
import type { ConnectRequest } from '../protocol/records.js';
import { authenticate } from '../tree/acl.js';
import type { DataTree } from '../tree/datatree.js';
import { DurableStage, type LoadedDatabase, type StorageOptions, loadDatabase } from '../storage/database.js';
import { PurgeTask } from '../storage/purge.js';
import { type Logger, hexSession } from '../util/log.js';
import { PendingChanges } from './changes.js';
import { type ConnectionHost, ServerConnection } from './connection.js';
import { readReply, writeReply } from './final.js';
import { LearnerPipeline } from './learnerPipeline.js';
import { Pipeline, type RequestStage, type TxnLog } from './pipeline.js';
import { PrepError, Preparer } from './prep.js';
import type { PreparedRequest, RequestOwner, ServerRequest } from './request.js';
import type { Txn, TxnDigest, TxnHeader } from '../txn/records.js';
import { SessionTracker, sessionPassword } from './sessions.js';
import { reapable } from './reaper.js';
import { ServerStats } from './stats.js';
import { fourLetterCommand, renderFourLetter } from './fourletter.js';

/** What the server is in its ensemble; standalone is an ensemble of one. */
export type ServerMode = 'standalone' | 'leader' | 'follower' | 'observer';

/** How a server's role changes its request path. Standalone and leader prepare locally; learners ask the leader. */
export interface ServerRole {
  mode: ServerMode;
  /** Learners: sends a write or sync to the leader (the server then uses a LearnerPipeline). */
  forward?(req: ServerRequest): void;
  /** Learners: a reconnecting session is checked by the leader (REVALIDATE); standalone/leader check locally. */
  revalidate?(sessionId: bigint, timeoutMs: number, done: (valid: boolean) => void): void;
  /** Every request of a session (learners report these touches to the leader in PING replies). */
  touched?(sessionId: bigint): void;
  /** Ensemble members: the quorum part of `conf` (QuorumZooKeeperServer.dumpConf). */
  quorumConf?: ConfInfo['quorum'];
  /** Ensemble members: their own mntr lines (zk_peer_state, zk_synced_followers, ...). */
  metrics?(): Array<readonly [string, MetricValue]>;
}

export const STANDALONE: ServerRole = { mode: 'standalone' };

/** What a server starts from: a recovered database (snapshot + log) or the tree a learner synced. */
export interface ServerDatabase {
  tree: DataTree;
  sessions: Map<bigint, number>;
  lastZxid: number;
}

/**
 * A request from a learner's client, submitted on the leader: it has no socket here. `done` is called when the request
 * reaches the head of the leader's pipeline (the SYNC answer to a forwarded sync goes out then).
 */
export interface RemoteOwner extends RequestOwner {
  readonly remote: true;
  /** The learner the request came through. */
  readonly serverId: number;
  done(pr: PreparedRequest): void;
}

function isRemote(o: RequestOwner | undefined): o is RemoteOwner {
  return (o as RemoteOwner | undefined)?.remote === true;
}

export class ZooKeeperServer implements ConnectionHost {
  readonly tree: DataTree;
  readonly sessions: SessionTracker;
  readonly stats = new ServerStats();
  readonly connections = new Set<ServerConnection>();
  readonly startedAt = clock.now();
  private readonly bySession = new Map<bigint, ServerConnection>();
  private readonly perIp = new Map<string, number>();
  private readonly pending: PendingChanges;
  private readonly stage: RequestStage;
  private durableStage: DurableStage | undefined;
  private purgeTask: PurgeTask | undefined;
  /** Set when the disk failed: writes are refused from then on (reads go on). */
  private diskError: Error | undefined;
  private lastZxid = 0;
  private server: Server | undefined;
  private timers: Timer[] = [];
  private throttled = false;
  /** Txns whose applied digest differed from prep's (mntr zk_digest_mismatches_count). */
  digestMismatches = 0;
  /** Failed auth packets since start (mntr zk_auth_failed_count). */
  authFailures = 0;
  private running = false;
  /** The request being prepared (submit -> prep runs synchronously): whose connection it came through. */
  private preparing: ServerRequest | undefined;

  /**
   * Recovers the data directory (snapshot + txn log), opens the durable stage and takes the startup snapshot, as
   * ZooKeeperServer.loadData does. The client port opens with start().
   */
  static async open(config: ZkConfig, logger: Logger): Promise<ZooKeeperServer> {
    const storage = storageOptions(config, logger);
    const db = await loadDatabase(storage);
    const server = new ZooKeeperServer(config, logger, db);
    server.durableStage = await DurableStage.open({
      ...storage, snapCount: config.snapCount, preAllocSize: config.preAllocSizeKb * 1024,
      onDurable: (zxid) => server.durable(zxid),
      onError: (err) => server.diskFailed(err),
      snapshotSource: () => ({ tree: server.tree, sessions: server.sessions.sessions() }),
      random: random,
    });
    server.setLog(server.durableStage);
    await server.durableStage.takeSnapshot();
    return server;
  }

  constructor(readonly config: ZkConfig, readonly logger: Logger, db: ServerDatabase | LoadedDatabase, readonly role: ServerRole = STANDALONE) {
    this.tree = db.tree;
    this.lastZxid = Math.max(0, db.lastZxid);
    this.sessions = new SessionTracker({ tickTime: config.tickTime, serverId: config.serverId ?? 0, nowMs: this.now() });
    for (const [id, timeout] of db.sessions) this.sessions.add(id, timeout, this.now());
    this.pending = new PendingChanges(this.tree);
    if (role.forward !== undefined) {
      this.stage = new LearnerPipeline(this.tree, {
        forward: (req) => role.forward?.(req),
        complete: (pr) => this.complete(pr),
        digestMismatch: (pr) => this.digestMismatch(pr),
        committed: (pr) => this.committed(pr),
      });
      return;
    }
    const preparer = new Preparer({
      tree: this.tree,
      pending: this.pending,
      checkSession: (id) => this.checkSession(id),
      setSessionClosing: (id) => this.sessions.setClosing(id),
      nextZxid: () => ++this.lastZxid,
      nowMs: () => clock.now(),
      extendedTypesEnabled: config.extendedTypesEnabled,
      enforceQuota: config.enforceQuota,
      reconfigEnabled: config.reconfigEnabled,
      writable: () => this.diskError === undefined,
    });
    this.stage = new Pipeline(preparer, this.tree, {
      complete: (pr) => this.complete(pr),
      digestMismatch: (pr) => this.digestMismatch(pr),
    }, (pr) => this.committed(pr));
  }

  get mode(): ServerMode {
    return this.role.mode;
  }

  /** Standalone and leader: the durability stage (txn log, or a quorum of ACKs) behind the pipeline. */
  setLog(log: TxnLog): void {
    this.localPipeline().setLog(log);
  }

  /** Standalone and leader: every txn up to `zxid` is durable (standalone: fsynced; leader: committed by a quorum). */
  durable(zxid: number): void {
    this.localPipeline().durable(zxid);
  }

  /** Leader: a quorum confirmed the leadership for every ticket up to `ticket` (syncs waiting on it are answered). */
  leadershipConfirmed(ticket: number): void {
    this.localPipeline().confirmed(ticket);
  }

  /** Leader: new txns get zxids after `zxid` (makeZxid(newEpoch, 0)). */
  startZxidAfter(zxid: number): void {
    this.lastZxid = zxid;
  }

  /** Learners: a txn the leader committed, in zxid order. */
  applyCommitted(hdr: TxnHeader, txn: Txn, digest?: TxnDigest): void {
    this.learnerPipeline().applyCommitted(hdr, txn, digest);
  }

  /** Learners: the leader answered the oldest forwarded sync. */
  syncDone(): void {
    this.learnerPipeline().syncDone();
  }

  private localPipeline(): Pipeline {
    if (!(this.stage instanceof Pipeline)) throw new Error(`a ${this.mode} has no local pipeline`);
    return this.stage;
  }

  private learnerPipeline(): LearnerPipeline {
    if (!(this.stage instanceof LearnerPipeline)) throw new Error(`a ${this.mode} does not apply the leader's commits`);
    return this.stage;
  }

  /** Standalone and leader own session expiry and the container reaper; learners hear of both through commits. */
  private get ownsSessions(): boolean {
    return this.role.forward === undefined;
  }

  get juteMaxBuffer(): number {
    return this.config.juteMaxBuffer;
  }

  get isRunning(): boolean {
    return this.running;
  }

  get isThrottled(): boolean {
    return this.throttled;
  }

  get outstandingRequests(): number {
    return this.stage.outstanding;
  }

  /** Monotonic ms, anchored at the wall clock at process start (session ids derive from it, as in ZooKeeper). */
  now(): number {
    return clock.now();
  }

  /**
   * Opens the client port and starts the session and container timers. In an ensemble the peer owns the client port
   * (it outlives roles) and hands sockets to accept(); then `listen` is false.
   */
  async start(listen = true): Promise<void> {
    if (!listen) {
      this.startServing();
      return;
    }
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: this.config.clientPort, host: this.config.clientPortAddress ?? '0.0.0.0', backlog: this.config.clientPortListenBacklog > 0 ? this.config.clientPortListenBacklog : undefined }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.logger.error('client port error', { err: e }));
    this.purgeTask = new PurgeTask({
      dataDir: this.config.dataDir, dataLogDir: this.config.dataLogDir, snapRetainCount: this.config.autopurgeSnapRetainCount,
      purgeIntervalHours: this.config.autopurgePurgeIntervalHours, logger: this.logger,
    });
    this.purgeTask.start();
    this.startServing();
    const addr = server.address();
    this.logger.info('serving clients', {
      address: typeof addr === 'object' && addr ? `${addr.address}:${addr.port}` : String(addr),
      mode: 'standalone', dataDir: this.config.dataDir, dataLogDir: this.config.dataLogDir,
      zxid: '0x' + this.tree.lastProcessedZxid.toString(16),
    });
  }

  private startServing(): void {
    this.running = true;
    if (this.ownsSessions) {
      this.timers.push(clock.setInterval(() => this.expireSessions(), Math.max(1, Math.floor(this.config.tickTime / 2))));
      this.timers.push(clock.setInterval(() => this.reapContainers(), Math.max(100, this.config.containerCheckIntervalMs)));
    }
    for (const t of this.timers) t.unref();
  }

  get port(): number {
    const addr = this.server?.address();
    return typeof addr === 'object' && addr ? addr.port : 0;
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers) clock.clear(t);
    this.timers = [];
    this.purgeTask?.stop();
    for (const c of this.connections) c.close();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await this.durableStage?.close();
  }

  /**
   * The txn log cannot be written (ENOSPC, EIO): nothing more is acknowledged. Requests waiting for durability have
   * an unknown outcome, so their connections are closed (the client sees CONNECTIONLOSS, as on a server crash);
   * later writes are answered NOTREADONLY; reads go on from the tree, which holds only durable txns.
   */
  private diskFailed(err: Error): void {
    if (this.diskError !== undefined) return;
    this.diskError = err;
    this.logger.error('txn log write failed: refusing writes from now on', { err: err.message });
    for (const pr of this.stage.abort()) {
      const c = pr.req.cnxn as ServerConnection | undefined;
      if (c !== undefined && !c.isClosed) c.close();
    }
    this.pending.clear();
    this.lastZxid = this.tree.lastProcessedZxid;
  }

  // ---------------------------------------------------------------- connections

  accept(socket: Socket): void {
    const cnxn = new ServerConnection(socket, this);
    const limit = this.config.maxClientCnxns;
    const count = (this.perIp.get(cnxn.remoteAddress) ?? 0) + 1;
    if (limit > 0 && count > limit) {
      this.logger.warn('too many connections from this address', { remote: cnxn.remoteAddress, limit });
      cnxn.close();
      return;
    }
    this.perIp.set(cnxn.remoteAddress, count);
    this.connections.add(cnxn);
    if (this.throttled) cnxn.pause('throttle');
  }

  closed(cnxn: ServerConnection): void {
    if (!this.connections.delete(cnxn)) return;
    const n = (this.perIp.get(cnxn.remoteAddress) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(cnxn.remoteAddress);
    else this.perIp.set(cnxn.remoteAddress, n);
    if (this.bySession.get(cnxn.sessionId) === cnxn) this.bySession.delete(cnxn.sessionId);
    this.tree.removeWatcher(cnxn);
    this.logger.debug('connection closed', { session: cnxn.sessionId, remote: cnxn.remoteAddress });
  }

  fourLetterWord(firstFour: Buffer): string | undefined {
    return fourLetterCommand(firstFour);
  }

  runFourLetter(cmd: string, asker: ServerConnection): string {
    return renderFourLetter(cmd, this, asker);
  }

  /** ConnectRequest: negotiate the timeout, then create a new session or revalidate the one asked for. */
  connect(cnxn: ServerConnection, req: ConnectRequest): void {
    if (!this.running) {
      // ZooKeeper: "ZooKeeperServer not running": the peer has no role yet (electing, syncing) or is shutting down.
      this.logger.info('refusing session: not serving yet', { remote: cnxn.remoteAddress, mode: this.mode });
      cnxn.close();
      return;
    }
    const lastZxid = this.tree.lastProcessedZxid;
    if (req.lastZxidSeen > lastZxid) {
      // The client saw a newer state than this server has: serving it would go back in time.
      this.logger.warn('refusing session: client has seen a newer zxid', {
        remote: cnxn.remoteAddress, clientZxid: '0x' + req.lastZxidSeen.toString(16), serverZxid: '0x' + lastZxid.toString(16),
      });
      cnxn.close();
      return;
    }
    const timeout = Math.min(Math.max(req.timeOut, this.config.minSessionTimeout), this.config.maxSessionTimeout);
    cnxn.sessionTimeoutMs = timeout;
    if (req.sessionId === 0n) {
      const id = this.sessions.nextSessionId();
      cnxn.sessionId = id;
      this.sessions.add(id, timeout, this.now());
      this.sessions.setOwner(id, this.config.serverId ?? 0);
      this.bySession.set(id, cnxn);
      this.logger.info('creating session', { session: id, timeoutMs: timeout, remote: cnxn.remoteAddress });
      this.submitInternal(id, OpCode.createSession, { op: OpCode.createSession, timeOut: timeout }, cnxn);
      return;
    }
    this.reopen(cnxn, req, timeout);
  }

  private reopen(cnxn: ServerConnection, req: ConnectRequest, timeout: number): void {
    const id = req.sessionId;
    if (!sessionPassword(id).equals(req.passwd)) {
      this.revalidated(cnxn, id, timeout, false);
      return;
    }
    if (this.role.revalidate !== undefined) {
      this.role.revalidate(id, timeout, (valid) => this.revalidated(cnxn, id, timeout, valid));
      return;
    }
    this.revalidated(cnxn, id, timeout, this.sessions.touch(id, this.now()));
  }

  private revalidated(cnxn: ServerConnection, id: bigint, timeout: number, valid: boolean): void {
    if (cnxn.isClosed) return;
    if (!valid) {
      this.logger.info('invalid session on reconnect: expired or wrong password', { session: id, remote: cnxn.remoteAddress });
      cnxn.rejectSession();
      return;
    }
    const old = this.bySession.get(id);
    if (old !== undefined && old !== cnxn) {
      this.logger.info('session moved to a new connection: closing the old one', { session: id });
      this.tree.removeWatcher(old);
      old.close();
    }
    cnxn.sessionId = id;
    cnxn.sessionTimeoutMs = this.sessions.timeoutOf(id) ?? timeout;
    this.sessions.setOwner(id, this.config.serverId ?? 0);
    this.bySession.set(id, cnxn);
    this.logger.info('session reestablished', { session: id, remote: cnxn.remoteAddress });
    this.finishSessionInit(cnxn);
  }

  private finishSessionInit(cnxn: ServerConnection): void {
    cnxn.established({
      protocolVersion: PROTOCOL_VERSION, timeOut: cnxn.sessionTimeoutMs, sessionId: cnxn.sessionId,
      passwd: sessionPassword(cnxn.sessionId), readOnly: false,
    });
  }

  auth(cnxn: ServerConnection, _xid: number, scheme: string, authBytes: Buffer): void {
    const result = authenticate(scheme, authBytes, this.config.superDigest, cnxn.remoteAddress);
    if (!result.ok) {
      this.authFailures++;
      this.logger.warn('authentication failed', { session: cnxn.sessionId, remote: cnxn.remoteAddress, scheme });
      cnxn.sendReply(Xid.auth, 0, Code.AUTHFAILED, undefined);
      cnxn.closeAfterReply();
      return;
    }
    const added = result.ids.filter((id) => !cnxn.authIds.some((a) => a.scheme === id.scheme && a.id === id.id));
    if (added.length > 0) cnxn.authIds = [...cnxn.authIds, ...added];
    cnxn.sendReply(Xid.auth, 0, Code.OK, undefined);
  }

  // ---------------------------------------------------------------- the pipeline

  private checkSession(id: bigint): void {
    if (!this.sessions.has(id) || this.sessions.isClosing(id)) throw new PrepError(Code.SESSIONEXPIRED);
    // The leader knows which server holds each session (created it or last revalidated it): a write that comes
    // through another server is from a connection the client has left (ZooKeeper's SessionMovedException).
    const owner = this.mode === 'leader' ? this.sessions.ownerOf(id) : undefined;
    const via = this.preparing?.cnxn;
    if (owner === undefined || via === undefined) return; // the server's own requests (expiry, reaper)
    if (owner !== (isRemote(via) ? via.serverId : this.config.serverId ?? 0)) throw new PrepError(Code.SESSIONMOVED);
  }

  submit(req: ServerRequest): void {
    this.stats.packetsReceived++;
    if (req.sessionId !== 0n) {
      this.sessions.touch(req.sessionId, this.now());
      this.role.touched?.(req.sessionId);
    }
    this.preparing = req;
    try {
      this.stage.submit(req);
    } finally {
      this.preparing = undefined;
    }
    this.throttleCheck();
  }

  private submitInternal(sessionId: bigint, op: number, body: ServerRequest['body'], cnxn: ServerConnection | undefined): void {
    this.stage.submit({ sessionId, xid: 0, op, body, authIds: [], cnxn, receivedMs: this.now() });
  }

  /** globalOutstandingLimit: stop reading from every connection while too many requests are in the pipeline. */
  private throttleCheck(): void {
    const limit = this.config.globalOutstandingLimit;
    if (limit <= 0) return;
    const over = this.stage.outstanding > limit;
    if (over === this.throttled) return;
    this.throttled = over;
    if (over) this.logger.warn('throttling: outstanding requests over globalOutstandingLimit', { outstanding: this.stage.outstanding, limit });
    for (const c of this.connections) {
      if (over) c.pause('throttle');
      else c.resume('throttle');
    }
  }

  /** A txn was applied to the tree: session bookkeeping that follows from it. */
  private committed(pr: PreparedRequest): void {
    if (pr.txn?.type === OpCode.createSession && !this.sessions.has(pr.hdr!.clientId)) {
      // A learner hears of other servers' sessions through their createSession txns.
      this.sessions.add(pr.hdr!.clientId, pr.txn.timeOut, this.now());
    }
    if (pr.txn?.type === OpCode.closeSession) {
      this.sessions.remove(pr.req.sessionId);
      this.logger.info('session closed', { session: pr.req.sessionId, ephemeralsDeleted: pr.txn.paths2Delete?.length ?? 0 });
    }
  }

  private digestMismatch(pr: PreparedRequest): void {
    this.digestMismatches++;
    this.logger.error('tree digest mismatch after applying a txn: prep and apply disagree', {
      zxid: '0x' + pr.hdr!.zxid.toString(16), type: pr.hdr!.type, expected: pr.digest?.treeDigest, actual: this.tree.treeDigest,
    });
  }

  /** The request reached the head of the pipeline: answer it. */
  private complete(pr: PreparedRequest): void {
    this.throttleCheck();
    const { req } = pr;
    if (isRemote(req.cnxn)) {
      req.cnxn.done(pr);
      return;
    }
    const cnxn = req.cnxn as ServerConnection | undefined;
    if (req.op === OpCode.closeSession) {
      const owner = cnxn ?? this.bySession.get(req.sessionId);
      this.bySession.delete(req.sessionId);
      if (owner === undefined || owner.isClosed) return;
      if (cnxn !== undefined) this.reply(cnxn, pr, Code.OK, undefined);
      owner.closeAfterReply();
      return;
    }
    if (cnxn === undefined || cnxn.isClosed) return;
    if (pr.err === Code.SESSIONMOVED) {
      // FinalRequestProcessor: the session lives on another server now; this connection is stale and is closed
      // without an answer (the client sees a connection loss and reconnects to where its session is).
      this.logger.info('closing a connection whose session moved to another server', { session: hexSession(req.sessionId) });
      cnxn.close();
      return;
    }
    if (req.op === OpCode.createSession) {
      this.finishSessionInit(cnxn);
      return;
    }
    if (req.body === undefined) {
      this.reply(cnxn, pr, req.decodeError !== undefined ? Code.MARSHALLINGERROR : Code.UNIMPLEMENTED, undefined);
      return;
    }
    if (pr.hdr !== undefined) {
      const r = writeReply(pr);
      this.reply(cnxn, pr, r.err, r.body);
      return;
    }
    if (pr.err !== Code.OK) {
      this.reply(cnxn, pr, pr.err, undefined);
      return;
    }
    const r = readReply(req.body, { tree: this.tree, watcher: cnxn, sessionId: req.sessionId, authIds: req.authIds });
    this.reply(cnxn, pr, r.err, r.body);
  }

  private reply(cnxn: ServerConnection, pr: PreparedRequest, err: number, body: Parameters<ServerConnection['sendReply']>[3]): void {
    const xid = pr.req.op === OpCode.ping ? Xid.ping : pr.req.xid;
    const zxid = this.tree.lastProcessedZxid;
    cnxn.sendReply(xid, zxid, err, body, pr.req);
    this.stats.recordReply(this.now() - pr.req.receivedMs, pr.req.op === OpCode.ping);
  }

  // ---------------------------------------------------------------- timers

  private expireSessions(): void {
    for (const id of this.sessions.expire(this.now())) {
      this.logger.info('expiring session', { session: hexSession(id), timeoutMs: this.sessions.timeoutOf(id) });
      this.submitInternal(id, OpCode.closeSession, { op: OpCode.closeSession }, undefined);
    }
  }

  /** ContainerManager: delete empty containers that had children, and TTL nodes past their TTL. */
  private reapContainers(): void {
    for (const path of reapable(this.tree, clock.now(), this.config.containerMaxPerMinute)) {
      this.submitInternal(0n, OpCode.deleteContainer, { op: OpCode.deleteContainer, path }, undefined);
    }
  }
}

function storageOptions(config: ZkConfig, logger: Logger): StorageOptions {
  return {
    dataDir: config.dataDir, dataLogDir: config.dataLogDir, logger, extendedTypesEnabled: config.extendedTypesEnabled,
    trustEmptySnapshot: config.snapshotTrustEmpty, autoCreateDb: config.dbAutoCreate, snapshotCompression: config.snapshotCompression,
  };
}
