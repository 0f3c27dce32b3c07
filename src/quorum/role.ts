// quorum/role.ts: what the peer (peer.ts) lends to the role it runs — leader, follower or observer. The peer owns the
// data directory, the epoch files and the client port across roles; a role owns everything it opens and gives it
// all back when it ends (peer.ts then reloads the database from disk before the next election).
import { clock } from '../util/sys.js';
import type { ConfInfo } from '../admin/view.js';
import type { ZkConfig } from '../config/zoocfg.js';
import type { ServerDatabase, ZooKeeperServer } from '../server/zkserver.js';
import type { DurableStage } from '../storage/database.js';
import type { DataTree } from '../tree/datatree.js';
import type { Logger } from '../util/log.js';
import { quorumVerifierText } from './election/notification.js';

export interface RoleContext {
  config: ZkConfig;
  myId: number;
  logger: Logger;
  /** The database as loaded from disk for this role. */
  db: ServerDatabase;
  /** The txn log (and background snapshots) of this role. */
  stage: DurableStage;
  acceptedEpoch: number;
  currentEpoch: number;
  /** Writes an epoch file durably (after the txns it covers are durable: ZOOKEEPER-4643). */
  writeEpoch(kind: 'accepted' | 'current', value: number): Promise<void>;
  /**
   * Learners: marks (begin) and unmarks (end) the window at NEWLEADER in which the synced data may be in the new
   * epoch before currentEpoch is (the updatingEpoch file, ZOOKEEPER-2354).
   */
  epochUpdate(state: 'begin' | 'end'): Promise<void>;
  /** Routes the txn log's "durable up to zxid" reports to the role. */
  onDurable(listener: (zxid: number) => void): void;
  /** The server whose tree background snapshots should capture. */
  snapshotFrom(server: ZooKeeperServer): void;
  /** Client connections go to this server from now on (it is serving). */
  serve(server: ZooKeeperServer): void;
  /** Learners: cuts the txn log after `zxid` and reloads the database from disk (TRUNC). */
  truncate(zxid: number): Promise<ServerDatabase>;
  /** Learners: cuts the txn log after `zxid` without reloading (SNAP replaces the tree). */
  truncateLog(zxid: number): Promise<void>;
  /** Writes a snapshot of the server's tree now and waits for it (after SNAP: ZOOKEEPER-3642). */
  snapshotNow(server: ZooKeeperServer): Promise<void>;
}

/** A running role. `ended` resolves with the reason it stopped; stop() makes it stop. */
export interface Role {
  readonly ended: Promise<string>;
  stop(reason: string): void;
  /** The server serving clients in this role, once it is. */
  readonly server: ZooKeeperServer | undefined;
  /** For 4lw/logs: the role's epoch and last zxid. */
  describe(): Record<string, unknown>;
}

/** initLimit and syncLimit in ms. */
export function limitsMs(config: ZkConfig): { initMs: number; syncMs: number } {
  return { initMs: config.initLimit * config.tickTime, syncMs: config.syncLimit * config.tickTime };
}

/** The membership as QuorumVerifier.toString() writes it (NEWLEADER's data, /zookeeper/config). */
export function verifierText(config: ZkConfig): string {
  return quorumVerifierText(config.servers, config.configVersion ?? 0n);
}

/** `conf`'s quorum part for this member (QuorumPeer.dumpConf). */
export function quorumConf(config: ZkConfig, myId: number): NonNullable<ConfInfo['quorum']> {
  const me = config.servers.find((s) => s.id === myId);
  return {
    initLimit: config.initLimit, syncLimit: config.syncLimit, electionAlg: 3, electionPort: me?.electionPort ?? -1,
    quorumPort: me?.quorumPort ?? -1, peerType: me?.role === 'observer' ? 1 : 0, membership: verifierText(config),
  };
}

/** Every member keeps the membership in /zookeeper/config of its own tree (ZKDatabase.initConfigInZKDatabase). */
export function initConfigNode(tree: DataTree, config: ZkConfig): void {
  tree.setConfigNode(verifierText(config), Number(config.configVersion ?? 0n), clock.now());
}
