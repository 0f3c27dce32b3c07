// quorum/peer.ts: an ensemble member (ZooKeeper's QuorumPeer / QuorumPeerMain in quorum mode). It owns what outlives
// a role: the data directory (txn log, snapshots, epoch files), the client port, the election and the purge task.
//
// Startup: load the database and the epochs, open the client port (sessions are refused and most 4lw answer "not
// currently serving" until a role serves), open the election port, look for a leader. Then forever: run the role the
// election chose (leader.ts or learner.ts) until it ends, close its client connections, RELOAD the database from
// disk (ZOOKEEPER-2845: the in-memory tree may hold state no quorum has; only the log is the truth), and elect again.
import { fs, net, random } from '../util/sys.js';
import type { Server } from 'node:net';
import path from 'node:path';
import type { ZkConfig } from '../config/zoocfg.js';
import type { DataTree } from '../tree/datatree.js';
import { type ServerDatabase, ZooKeeperServer } from '../server/zkserver.js';
import { DurableStage, type LoadedDatabase, loadDatabase, type StorageOptions, versionDir } from '../storage/database.js';
import {
  ACCEPTED_EPOCH_FILE, clearEpochUpdate, CURRENT_EPOCH_FILE, markEpochUpdate, readEpochFile, UPDATING_EPOCH_FILE, writeEpochFile,
  writeEpochFileSync,
} from '../storage/epoch.js';
import { PurgeTask } from '../storage/purge.js';
import { listSnapshots } from '../storage/snapshot.js';
import { lastLoggedZxid, truncateLogAfter } from '../storage/txnlogReader.js';
import type { Logger } from '../util/log.js';
import type { Elected } from './election/fle.js';
import { ElectionRunner, electionOptionsFromConfig } from './election/runner.js';
import { Leader } from './leader.js';
import { Learner } from './learner.js';
import type { Role, RoleContext } from './role.js';
import { epochOf, zxidHex } from './zab/zxid.js';

export class QuorumPeer {
  private readonly log: Logger;
  private readonly myId: number;
  private db: LoadedDatabase;
  private stage!: DurableStage;
  private acceptedEpoch: number;
  private currentEpoch: number;
  private clientPort: Server | undefined;
  /** Answers 4lw ("not currently serving") and refuses sessions while no role serves. */
  private idle: ZooKeeperServer;
  private serving: ZooKeeperServer | undefined;
  private snapServer: ZooKeeperServer | undefined;
  private durableListener: ((zxid: number) => void) | undefined;
  private election: ElectionRunner | undefined;
  private role: Role | undefined;
  private purgeTask: PurgeTask | undefined;
  private closed = false;
  /** The database reload after a role, running alongside the next election. */
  private reloading: Promise<void> = Promise.resolve();
  /** The last zxid the current election was started with. */
  private votedZxid: number;
  private starting = false;

  private constructor(readonly config: ZkConfig, logger: Logger, db: LoadedDatabase) {
    if (config.serverId === undefined) throw new Error('a quorum peer needs a myid');
    this.myId = config.serverId;
    this.log = logger.child({ myid: this.myId });
    this.db = db;
    this.idle = new ZooKeeperServer(config, this.log, db);
    const epochs = readEpochs(config.dataDir, db.lastZxid);
    this.votedZxid = db.tree.lastProcessedZxid;
    this.acceptedEpoch = epochs.accepted;
    this.currentEpoch = epochs.current;
  }

  /** Loads the data directory and the epoch files (QuorumPeer.loadDataBase). */
  static async open(config: ZkConfig, logger: Logger): Promise<QuorumPeer> {
    const db = await loadDatabase(storageOptions(config, logger));
    const peer = new QuorumPeer(config, logger, db);
    peer.stage = await peer.openStage();
    await peer.snapshotIfNone();
    return peer;
  }

  get mode(): string {
    return this.serving?.mode ?? 'looking';
  }

  /** Role, epochs and the tree this server answers from (the simulator's invariant checks read these). */
  get state(): { mode: string; acceptedEpoch: number; currentEpoch: number; tree: DataTree; stopped: boolean } {
    const tree = (this.serving ?? this.idle).tree;
    return { mode: this.mode, acceptedEpoch: this.acceptedEpoch, currentEpoch: this.currentEpoch, tree, stopped: this.closed };
  }

  /** Opens the client port and the election port, and starts looking for a leader. */
  async start(): Promise<void> {
    const server = net.createServer((sock) => (this.serving ?? this.idle).accept(sock));
    this.clientPort = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: this.config.clientPort, host: this.config.clientPortAddress ?? '0.0.0.0' }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.log.error('client port error', { err: e.message }));
    this.purgeTask = new PurgeTask({
      dataDir: this.config.dataDir, dataLogDir: this.config.dataLogDir, snapRetainCount: this.config.autopurgeSnapRetainCount,
      purgeIntervalHours: this.config.autopurgePurgeIntervalHours, logger: this.log,
    });
    this.purgeTask.start();
    this.election = new ElectionRunner({
      ...electionOptionsFromConfig(this.config, this.logPosition()),
      logger: this.log,
      onElected: (e) => this.elected(e),
    });
    await this.election.start();
    this.log.info('quorum peer started', {
      clientPort: this.config.clientPort, acceptedEpoch: this.acceptedEpoch, currentEpoch: this.currentEpoch,
      lastZxid: zxidHex(this.db.tree.lastProcessedZxid),
    });
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.role?.stop('shutting down');
    this.purgeTask?.stop();
    await this.election?.close();
    await this.serving?.stop();
    for (const c of this.idle.connections) c.close();
    await new Promise<void>((resolve) => (this.clientPort ? this.clientPort.close(() => resolve()) : resolve()));
    await this.stage.close();
  }

  private logPosition(): { lastLoggedZxid: bigint; currentEpoch: bigint } {
    return { lastLoggedZxid: BigInt(this.db.tree.lastProcessedZxid), currentEpoch: BigInt(this.currentEpoch) };
  }

  // ------------------------------------------------------------------------------------ roles

  private elected(e: Elected): void {
    if (this.closed || this.role !== undefined || this.starting) return;
    this.starting = true;
    void this.startRole(e).finally(() => (this.starting = false));
  }

  /** Starts the elected role once the database reload (run alongside the election) is done. */
  private async startRole(e: Elected): Promise<void> {
    try {
      await this.reloading;
    } catch (err) {
      this.fatal('cannot reload the data directory after leaving the role', err as Error);
      return;
    }
    if (this.closed) return;
    if (this.db.tree.lastProcessedZxid !== this.votedZxid) {
      // The vote claimed what the files' names and the log's tail said; recovery found otherwise (a damaged newest
      // snapshot): vote again with the truth.
      this.log.warn('recovered zxid differs from the one voted with: electing again', {
        voted: zxidHex(this.votedZxid), recovered: zxidHex(this.db.tree.lastProcessedZxid),
      });
      this.lookForLeader(this.db.tree.lastProcessedZxid);
      return;
    }
    const ctx = this.roleContext();
    this.log.info('starting role', { role: e.role, leader: e.leader, electionEpoch: String(e.electionEpoch) });
    const role: Role = e.role === 'LEADING' ? new Leader(ctx) : new Learner(ctx, e.leader, e.role === 'OBSERVING');
    this.role = role;
    void role.ended.then((reason) => this.roleEnded(role, reason));
  }

  private async roleEnded(role: Role, reason: string): Promise<void> {
    this.log.info('role ended: back to looking', { reason });
    const server = this.serving;
    this.serving = undefined;
    this.snapServer = undefined;
    this.durableListener = undefined;
    try {
      await server?.stop();
      await role.server?.stop();
      if (this.closed) return;
      await this.stage.close(); // everything the role appended is on disk now
    } catch (e) {
      this.fatal('cannot close the txn log after leaving the role', e as Error);
      return;
    }
    this.role = undefined;
    // The vote needs only the last zxid on disk, which the log's tail and the snapshot names give at once; the full
    // reload runs alongside the election (the role waits for it), which is most of a failover otherwise.
    const onDisk = Math.max(lastLoggedZxid(versionDir(this.config.dataLogDir)), listSnapshots(versionDir(this.config.dataDir))[0]?.zxid ?? -1, 0);
    this.reloading = this.reload();
    this.reloading.catch(() => undefined); // reported by startRole
    if (!this.closed) this.lookForLeader(onDisk);
  }

  private lookForLeader(lastZxid: number): void {
    this.votedZxid = lastZxid;
    this.election?.lookForLeader({ lastLoggedZxid: BigInt(lastZxid), currentEpoch: BigInt(this.currentEpoch) });
  }

  private fatal(what: string, err: Error): void {
    this.log.error(`${what}: exiting`, { err: err.message });
    process.exitCode = 1;
    void this.stop();
  }

  /** Loads the database again from disk (the txn log is closed) and reopens the log. */
  private async reload(): Promise<void> {
    this.db = await loadDatabase(storageOptions(this.config, this.log));
    this.idle = new ZooKeeperServer(this.config, this.log, this.db);
    this.stage = await this.openStage();
    await this.snapshotIfNone();
  }

  /**
   * FileTxnSnapLog.restore saves a snapshot of an empty database: recovery needs a snapshot under every log (else
   * "No snapshot found, but there are log entries").
   */
  private async snapshotIfNone(): Promise<void> {
    if (listSnapshots(versionDir(this.config.dataDir)).length === 0) await this.stage.takeSnapshot();
  }

  private openStage(): Promise<DurableStage> {
    return DurableStage.open({
      ...storageOptions(this.config, this.log),
      snapCount: this.config.snapCount,
      preAllocSize: this.config.preAllocSizeKb * 1024,
      onDurable: (zxid) => this.durableListener?.(zxid),
      onError: (err) => {
        this.log.error('txn log write failed: leaving the role', { err: err.message });
        this.role?.stop(`disk failure: ${err.message}`);
      },
      snapshotSource: () => {
        const s = this.snapServer;
        return s !== undefined ? { tree: s.tree, sessions: s.sessions.sessions() } : { tree: this.db.tree, sessions: sessionList(this.db.sessions) };
      },
      random: random,
    });
  }

  private roleContext(): RoleContext {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const peer = this;
    const dir = versionDir(this.config.dataDir);
    return {
      config: this.config,
      myId: this.myId,
      logger: this.log,
      db: this.db,
      get stage() {
        return peer.stage;
      },
      get acceptedEpoch() {
        return peer.acceptedEpoch;
      },
      get currentEpoch() {
        return peer.currentEpoch;
      },
      epochUpdate: (state) => (state === 'begin' ? markEpochUpdate(dir) : clearEpochUpdate(dir)),
      writeEpoch: async (kind, value) => {
        await writeEpochFile(path.join(dir, kind === 'accepted' ? ACCEPTED_EPOCH_FILE : CURRENT_EPOCH_FILE), value);
        if (kind === 'accepted') this.acceptedEpoch = value;
        else {
          this.currentEpoch = value;
          this.election?.updateElectionVote(value);
        }
      },
      onDurable: (listener) => (this.durableListener = listener),
      snapshotFrom: (server) => (this.snapServer = server),
      serve: (server) => (this.serving = server),
      truncate: async (zxid) => {
        await this.truncateAfter(zxid);
        await this.reload();
        return this.db;
      },
      truncateLog: async (zxid) => {
        await this.truncateAfter(zxid);
        this.stage = await this.openStage();
      },
      snapshotNow: async (server) => {
        this.snapServer = server;
        await this.stage.idle();
        await this.stage.takeSnapshot();
      },
    };
  }

  /** Cuts the txn log after `zxid` and drops snapshots beyond it; the stage is closed (callers reopen it). */
  private async truncateAfter(zxid: number): Promise<void> {
    await this.stage.close();
    const r = truncateLogAfter(versionDir(this.config.dataLogDir), zxid);
    for (const s of listSnapshots(versionDir(this.config.dataDir))) {
      if (s.zxid > zxid) fs.rmSync(s.file, { force: true });
    }
    this.log.info('txn log truncated', { after: zxidHex(zxid), filesDeleted: r.deleted.length });
  }
}

function sessionList(sessions: Map<bigint, number>): Array<{ id: bigint; timeoutMs: number }> {
  return [...sessions].map(([id, timeoutMs]) => ({ id, timeoutMs }));
}

function storageOptions(config: ZkConfig, logger: Logger): StorageOptions {
  return {
    dataDir: config.dataDir, dataLogDir: config.dataLogDir, logger, extendedTypesEnabled: config.extendedTypesEnabled,
    trustEmptySnapshot: config.snapshotTrustEmpty, autoCreateDb: config.dbAutoCreate, snapshotCompression: config.snapshotCompression,
  };
}

/**
 * QuorumPeer.loadDataBase's epoch rules: a missing currentEpoch/acceptedEpoch file starts at the epoch of the last
 * zxid and is written; an updatingEpoch marker makes the last zxid's epoch current; otherwise a currentEpoch older
 * than the last zxid's epoch means the directory is inconsistent.
 */
export function readEpochs(dataDir: string, lastZxid: number): { accepted: number; current: number } {
  const dir = versionDir(dataDir);
  const zxidEpoch = epochOf(Math.max(0, lastZxid));
  const curFile = path.join(dir, CURRENT_EPOCH_FILE);
  let current = readEpochFile(curFile);
  if (current === undefined) {
    current = zxidEpoch;
    writeEpochFileSync(curFile, current);
  }
  const updating = path.join(dir, UPDATING_EPOCH_FILE);
  if (fs.existsSync(updating)) {
    // A sync was finishing when the server stopped: its data may be in the new epoch already (ZOOKEEPER-2354).
    if (zxidEpoch > current) {
      current = zxidEpoch;
      writeEpochFileSync(curFile, current);
    }
    fs.rmSync(updating);
  }
  if (zxidEpoch > current) {
    throw new Error(`The current epoch, ${current}, is older than the last zxid, ${zxidHex(lastZxid)} (${curFile})`);
  }
  const accFile = path.join(dir, ACCEPTED_EPOCH_FILE);
  let accepted = readEpochFile(accFile);
  if (accepted === undefined) {
    accepted = current;
    writeEpochFileSync(accFile, accepted);
  }
  if (accepted < current) {
    throw new Error(`The current epoch, ${current}, is after the accepted epoch, ${accepted} (${accFile})`);
  }
  return { accepted, current };
}

export type { ServerDatabase };
