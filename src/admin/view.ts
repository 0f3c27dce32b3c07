// admin/ renders what operators ask for (four-letter words, and later the HTTP AdminServer and metrics); it may
// import every lower layer but nothing imports it except the shell. view.ts: ServerView, the read-only window onto
// a running server that the renderers need. The server implements it; renderers never touch sockets, files or
// clocks, so every time and size arrives here as a value.

export type ServerMode = 'standalone' | 'leader' | 'follower' | 'observer' | 'read-only';

/** Request latency in ms, as ServerStats keeps it (min/max integers, avg a double rounded to 4 places). */
export interface LatencyStats {
  minMs: number;
  avgMs: number;
  maxMs: number;
}

/** One client connection, as ServerCnxn.dumpConnectionInfo prints it (stat, cons). */
export interface ConnectionInfo {
  /** Remote IP as Java prints it (IPv4 dotted, IPv6 in full form without brackets). */
  remoteHost: string;
  remotePort: number;
  /** Java NIO interest ops: 1 = reading (an established session), 4 = writing, 0 = neither (throttled, or the
   *  connection that is running this very 4lw). Printed in hex. */
  interestOps: number;
  /** Requests submitted and not yet answered. */
  queued: number;
  packetsReceived: number;
  packetsSent: number;
  /** 0n before the session is established; the detailed fields below print only for nonzero ids. */
  sessionId: bigint;
  /** The last op's short name (LAST_OP_NAMES), "NA" before any or after crst. */
  lastOperation: string;
  /** Wall-clock ms (epoch) when the connection was established. */
  establishedWallMs: number;
  sessionTimeoutMs: number;
  /** -1 when none (then lcxid is not printed). */
  lastCxid: number;
  /** -1n after crst, printed as 0xffffffffffffffff like Java. */
  lastZxid: bigint;
  /** Elapsed-clock ms of the last response, 0 after crst. */
  lastResponseTimeMs: number;
  lastLatencyMs: number;
  /** Per-connection latency, integers (the connection's avg is integer division, unlike the server's). */
  minLatencyMs: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
}

/** A bucket of an ExpiryQueue (sessions or connections), for dump. */
export interface ExpiryBucket<T> {
  /** Wall-clock ms (epoch) when the bucket expires. */
  expiresWallMs: number;
  members: readonly T[];
}

/** A connection in the connection expiry queue (dump's "Connections dump"). */
export interface ConnectionExpiryEntry {
  remoteHost: string;
  remotePort: number;
  sessionId: bigint;
}

/** What `conf` prints. Paths are the version-2 directories, as ZooKeeper prints them. */
export interface ConfInfo {
  clientPort: number;
  /** -1 when not configured. */
  secureClientPort: number;
  dataDir: string;
  dataDirSize: number;
  dataLogDir: string;
  dataLogSize: number;
  tickTime: number;
  maxClientCnxns: number;
  minSessionTimeout: number;
  maxSessionTimeout: number;
  clientPortListenBacklog: number;
  serverId: number;
  /** Present in an ensemble (QuorumZooKeeperServer.dumpConf). */
  quorum?: {
    initLimit: number;
    syncLimit: number;
    electionAlg: number;
    electionPort: number;
    quorumPort: number;
    /** 0 participant, 1 observer (LearnerType.ordinal()). */
    peerType: number;
    /** QuorumVerifier.toString(): server.N=... lines then version=<hex>, no trailing newline. */
    membership: string;
  };
}

/** The counters mntr prints first, in ZooKeeper 3.8's order. Others go in extraMetrics. */
export interface MonitorStats {
  ephemeralsCount: number;
  numAliveConnections: number;
  avgLatencyMs: number;
  outstandingRequests: number;
  znodeCount: number;
  globalSessions: number;
  localSessions: number;
  packetsSent: number;
  packetsReceived: number;
  watchCount: number;
  authFailedCount: number;
  minLatencyMs: number;
  maxLatencyMs: number;
  approximateDataSize: number;
  openFileDescriptorCount: number;
  maxFileDescriptorCount: number;
  uptimeMs: number;
  /** Leader only (3.8 prints these on a leader): learners, synced followers/observers, pending syncs, proposal
   *  sizes. Printed in the given order after the core values. */
  leader?: ReadonlyArray<readonly [string, number]>;
}

/** A metric value: numbers print as Java longs when integral, else as Java doubles; `double` forces "0.0" style. */
export type MetricValue = number | bigint | string | { double: number };

export interface ServerView {
  /** Full version string, e.g. "3.8.0-zkts-0.1.0, built on 2025-01-01 00:00 UTC". */
  readonly version: string;
  /** False while the server is starting, electing or shutting down: most commands then print "not serving". */
  isRunning(): boolean;
  mode(): ServerMode;
  /** True when serving read-only (a partitioned ensemble member with readonlymode.enabled). */
  isReadOnly(): boolean;
  latency(): LatencyStats;
  packetsReceived(): number;
  packetsSent(): number;
  numAliveConnections(): number;
  outstandingRequests(): number;
  lastProcessedZxid(): bigint;
  nodeCount(): number;
  /** Leader only: "last/min/max" proposal sizes (BufferStats.toString()), e.g. "-1/-1/-1". */
  proposalSizes?(): string;
  connections(): Iterable<ConnectionInfo>;
  /** Session expiry buckets, ascending, empty buckets included as ZooKeeper keeps them. */
  sessionExpiry(): Iterable<ExpiryBucket<bigint>>;
  /** Number of tracked sessions (the second count of "Session Sets (n)/(m)"). */
  sessionCount(): number;
  /** Ephemeral paths per owning session. */
  ephemerals(): Iterable<readonly [bigint, readonly string[]]>;
  /** Connection expiry buckets (only the NIO factory prints these; return [] to print just the heading). */
  connectionExpiry(): Iterable<ExpiryBucket<ConnectionExpiryEntry>>;
  /** Number of connections in the connection expiry queue. */
  connectionExpiryCount(): number;
  /** Data watches (getData/exists) only; ZooKeeper 3.8's wchs/wchc/wchp leave child watches out. Counted per
   *  connection: `connections` is how many connections hold a watch, `total` the sum of their paths. */
  watchSummary(): { connections: number; paths: number; total: number };
  /** Data watches grouped by the watching connection's session (wchc). */
  watchesBySession(): Iterable<readonly [bigint, readonly string[]]>;
  /** Data watches grouped by path (wchp). */
  watchesByPath(): Iterable<readonly [string, readonly bigint[]]>;
  conf(): ConfInfo;
  dataDirSize(): number;
  logDirSize(): number;
  /** envi lines in order (see environment.ts for the keys ZooKeeper prints and their Node analogues). */
  environment(): ReadonlyArray<readonly [string, string]>;
  monitorStats(): MonitorStats;
  /** Further mntr lines, in order, keys without the zk_ prefix. */
  extraMetrics(): Iterable<readonly [string, MetricValue]>;
  /** gtmk: the trace mask (ZooKeeper's default is 306). */
  traceMask(): bigint;
  /** hash: recent "zxid -> tree digest" pairs; empty when digests are off. */
  digestLog(): Iterable<{ zxid: bigint; digest: bigint }>;
  /** srst. */
  resetStats(): void;
  /** crst. */
  resetConnectionStats(): void;
}
