// runner.ts: the election shell. Binds the FastLeaderElection core (fle.ts) to a QuorumCnxManager (cnxmanager.ts)
// and to real time: received frames are decoded and fed to the core with Date.now(); the core's actions become
// socket writes, one setTimeout, and the onElected callback. Nothing here decides anything.

import type { Timer } from '../../util/sys.js';
import { clock } from '../../util/sys.js';
import type { QuorumServerConfig, ZkConfig } from '../../config/zoocfg.js';
import { type Logger, silentLogger } from '../../util/log.js';
import { CNX_TIMEOUT_MS_DEFAULT, QuorumCnxManager } from './cnxmanager.js';
import { type Elected, FastLeaderElection, type FleAction, type LogPosition } from './fle.js';
import { decodeNotification, encodeNotification, formatNotification, type Notification, quorumVerifierText } from './notification.js';

export interface ElectionRunnerOptions {
  myId: number;
  /** The server.N lines (participants and observers). */
  servers: readonly QuorumServerConfig[];
  /** version= of the config; 0 for a static zoo.cfg without one (as upstream). */
  configVersion?: bigint;
  log: LogPosition;
  /** Host to bind the election port; defaults to my server line's host. */
  listenHost?: string;
  cnxTimeoutMs?: number;
  logger?: Logger;
  onElected?(e: Elected): void;
  /** Every notification received, decoded (diagnostics and tests). */
  onNotification?(fromSid: number, n: Notification): void;
}

/**
 * Runner options from a parsed zoo.cfg. `cnxTimeout` is not a ZkConfig field: upstream turns unknown zoo.cfg keys
 * into `zookeeper.<key>` system properties, and QuorumCnxManager reads `zookeeper.cnxTimeout`; here the key is read
 * from the config's extra keys (5000 ms when absent).
 */
export function electionOptionsFromConfig(cfg: ZkConfig, log: LogPosition): Omit<ElectionRunnerOptions, 'onElected'> {
  if (cfg.serverId === undefined) throw new Error('leader election needs a myid');
  const raw = cfg.properties.get('zookeeper.cnxTimeout') ?? cfg.properties.get('cnxTimeout');
  const cnxTimeoutMs = raw !== undefined && /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : CNX_TIMEOUT_MS_DEFAULT;
  const listenHost = cfg.quorumListenOnAllIPs ? '0.0.0.0' : undefined;
  return { myId: cfg.serverId, servers: cfg.servers, configVersion: cfg.configVersion ?? 0n, log, cnxTimeoutMs, listenHost };
}

export class ElectionRunner {
  readonly fle: FastLeaderElection;
  readonly cnx: QuorumCnxManager;
  private timer: Timer | undefined;
  private readonly log: Logger;
  private closed = false;

  constructor(private readonly opts: ElectionRunnerOptions) {
    const me = opts.servers.find((s) => s.id === opts.myId);
    if (!me) throw new Error(`server.${opts.myId} is not in the configuration`);
    this.log = (opts.logger ?? silentLogger).child({ component: 'election', myid: opts.myId });
    this.fle = new FastLeaderElection({
      myId: opts.myId,
      voters: opts.servers.filter((s) => s.role === 'participant').map((s) => s.id),
      learnerType: me.role,
      configText: quorumVerifierText(opts.servers, opts.configVersion ?? 0n),
    }, opts.log);
    this.cnx = new QuorumCnxManager({
      myId: opts.myId,
      listenHost: opts.listenHost ?? me.host,
      advertiseHost: me.host,
      listenPort: me.electionPort,
      peers: opts.servers.map((s) => ({ id: s.id, host: s.host, electionPort: s.electionPort })),
      cnxTimeoutMs: opts.cnxTimeoutMs,
      logger: opts.logger,
      onMessage: (sid, payload) => this.onFrame(sid, payload),
      onPeerConnected: (sid) => this.apply(this.fle.peerConnected(sid)),
      onPeerDisconnected: (sid) => this.apply(this.fle.peerDisconnected(sid)),
    });
  }

  /** Opens the election port and starts looking for a leader. */
  async start(): Promise<void> {
    await this.cnx.listen();
    this.lookForLeader();
  }

  /** A new election round (after following or leading ended), with the log as it now stands. */
  /** The role established `epoch` (see FastLeaderElection.updateElectionVote). */
  updateElectionVote(epoch: number): void {
    this.fle.updateElectionVote(BigInt(epoch));
  }

  lookForLeader(log?: LogPosition): void {
    this.log.info('new election', { proposal: log?.lastLoggedZxid ?? this.opts.log.lastLoggedZxid });
    this.apply(this.fle.start(clock.now(), log));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clock.clear(this.timer);
    await this.cnx.close();
  }

  private onFrame(sid: number, payload: Buffer): void {
    if (this.closed) return;
    const d = decodeNotification(payload);
    if (!d.ok) {
      this.log.warn('dropping bad notification', { sid, reason: d.reason });
      return;
    }
    this.opts.onNotification?.(sid, d.notification);
    this.log.debug('notification', { sid, n: formatNotification(d.notification) });
    this.apply(this.fle.receive(sid, d.notification, clock.now()));
  }

  private apply(actions: readonly FleAction[]): void {
    for (const a of actions) {
      if (this.closed) return;
      if ('send' in a) {
        this.cnx.toSend(a.send, encodeNotification(a.notification));
      } else if ('broadcast' in a) {
        const bytes = encodeNotification(a.broadcast);
        for (const sid of a.to) this.cnx.toSend(sid, bytes);
      } else if ('elected' in a) {
        this.log.info('elected', { ...a.elected });
        this.opts.onElected?.(a.elected);
      } else if ('setTimer' in a) {
        this.arm(a.setTimer);
      } else {
        this.cnx.connectAll();
      }
    }
  }

  private arm(at: number): void {
    if (this.timer) clock.clear(this.timer);
    this.timer = clock.setTimeout(() => {
      this.timer = undefined;
      this.apply(this.fle.tick(clock.now()));
    }, Math.max(0, at - clock.now()));
  }
}
