// The server's read-only view for admin/'s four-letter words (ZooKeeper's command classes read the same things).
import { clock, fs } from '../util/sys.js';
import path from 'node:path';
import { environmentEntries, gatherEnvironmentFacts } from '../admin/environment.js';
import { isFourLetterWord, runFourLetter } from '../admin/fourletter.js';
import type { ConnectionInfo, ServerView } from '../admin/view.js';
import type { ServerConnection } from './connection.js';
import type { ZooKeeperServer } from './zkserver.js';

/** Tools parse the major version out of this: keep ZooKeeper's leading "3.8.0". */
export const ZKTS_VERSION = '3.8.0-zkts-0.1.0, built on 2026-11-21 00:00 UTC';

export function fourLetterCommand(firstFour: Buffer): string | undefined {
  return isFourLetterWord(firstFour);
}

/** Runs `cmd` for a connection that sent it (ZooKeeper lists that connection in stat/cons too). */
export function renderFourLetter(cmd: string, server: ZooKeeperServer, asker: ServerConnection): string {
  return runFourLetter(cmd, serverView(server, asker), server.config.fourLetterWhitelist);
}

function dirSize(dir: string): number {
  let total = 0;
  try {
    for (const name of fs.readdirSync(dir)) {
      const st = fs.statSync(path.join(dir, name));
      if (st.isFile()) total += st.size;
    }
  } catch {
    // no such directory yet: size 0, as ZooKeeper reports an empty dir
  }
  return total;
}

function connectionInfo(c: ServerConnection, asker: ServerConnection): ConnectionInfo {
  const s = c.stats;
  return {
    remoteHost: c.remoteAddress, remotePort: c.remotePort, interestOps: c === asker ? 0 : c.isEstablished ? 1 : 0,
    queued: c.outstanding, packetsReceived: s.packetsReceived, packetsSent: s.packetsSent, sessionId: c.sessionId,
    lastOperation: s.lastOp, establishedWallMs: s.establishedAt, sessionTimeoutMs: c.sessionTimeoutMs,
    lastCxid: s.lastXid, lastZxid: BigInt(s.lastZxid), lastResponseTimeMs: s.lastResponseTime,
    lastLatencyMs: s.lastLatencyMs, minLatencyMs: s.latencyCount === 0 ? 0 : s.latencyMinMs,
    avgLatencyMs: s.latencyCount === 0 ? 0 : Math.floor(s.latencyTotalMs / s.latencyCount), maxLatencyMs: s.latencyMaxMs,
  };
}

function serverView(server: ZooKeeperServer, asker: ServerConnection): ServerView {
  const { tree, config, stats, sessions } = server;
  const conns = (): ServerConnection[] => [...server.connections].filter((c) => c === asker || !c.isClosed);
  const snapDir = path.join(config.dataDir, 'version-2');
  const logDir = path.join(config.dataLogDir, 'version-2');
  const ephemeralsCount = (): number => {
    let n = 0;
    for (const set of tree.ephemeralSessions().values()) n += set.size;
    return n;
  };
  return {
    version: ZKTS_VERSION,
    isRunning: () => server.isRunning,
    mode: () => server.mode,
    isReadOnly: () => false,
    latency: () => ({
      minMs: stats.latencyCount === 0 ? 0 : stats.latencyMinMs, avgMs: stats.latencyAvgMs, maxMs: stats.latencyMaxMs,
    }),
    packetsReceived: () => stats.packetsReceived,
    packetsSent: () => stats.packetsSent,
    numAliveConnections: () => conns().length,
    outstandingRequests: () => server.outstandingRequests,
    lastProcessedZxid: () => BigInt(tree.lastProcessedZxid),
    nodeCount: () => tree.nodeCount,
    connections: () => conns().map((c) => connectionInfo(c, asker)),
    sessionExpiry: () => sessions.expiryBuckets().map((b) => ({ expiresWallMs: b.expiryMs, members: b.sessionIds })),
    sessionCount: () => sessions.size,
    ephemerals: () => [...tree.ephemeralSessions()].map(([id, paths]) => [id, [...paths]] as const),
    connectionExpiry: () => [],
    connectionExpiryCount: () => 0,
    watchSummary: () => {
      const w = tree.watchSummary();
      return { connections: w.connections, paths: w.paths, total: w.watches };
    },
    watchesBySession: () => tree.watchesBySession(),
    watchesByPath: () => tree.watchesByPath(),
    conf: () => ({
      clientPort: config.clientPort, secureClientPort: config.secureClientPort > 0 ? config.secureClientPort : -1,
      dataDir: snapDir, dataDirSize: dirSize(snapDir), dataLogDir: logDir, dataLogSize: dirSize(logDir),
      tickTime: config.tickTime, maxClientCnxns: config.maxClientCnxns, minSessionTimeout: config.minSessionTimeout,
      maxSessionTimeout: config.maxSessionTimeout, clientPortListenBacklog: config.clientPortListenBacklog,
      serverId: config.serverId ?? 0, quorum: server.role.quorumConf,
    }),
    dataDirSize: () => dirSize(snapDir),
    logDirSize: () => dirSize(logDir),
    environment: () => environmentEntries(gatherEnvironmentFacts(ZKTS_VERSION)),
    monitorStats: () => ({
      ephemeralsCount: ephemeralsCount(), numAliveConnections: conns().length, avgLatencyMs: stats.latencyAvgMs,
      outstandingRequests: server.outstandingRequests, znodeCount: tree.nodeCount, globalSessions: sessions.size,
      localSessions: 0, packetsSent: stats.packetsSent, packetsReceived: stats.packetsReceived,
      watchCount: tree.watchCount(), authFailedCount: server.authFailures,
      minLatencyMs: stats.latencyCount === 0 ? 0 : stats.latencyMinMs, maxLatencyMs: stats.latencyMaxMs,
      approximateDataSize: tree.approximateDataSize(), openFileDescriptorCount: openFds(), maxFileDescriptorCount: -1,
      uptimeMs: clock.now() - server.startedAt,
    }),
    extraMetrics: () => [...server.role.metrics?.() ?? [], ['throttled', server.isThrottled ? 1 : 0]],
    traceMask: () => 306n,
    digestLog: () => [],
    resetStats: () => stats.reset(),
    resetConnectionStats: () => {
      for (const c of server.connections) c.resetStats();
    },
  };
}

function openFds(): number {
  try {
    return fs.readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}
