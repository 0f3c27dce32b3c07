// config/ reads zoo.cfg and the files next to it; it may import util/ only. zoocfg.ts: zoo.cfg as ZooKeeper 3.8's
// QuorumPeerConfig.parseProperties reads it, into one typed, validated ZkConfig. parseConfig is pure (text in,
// config out); loadConfig does the file reads (zoo.cfg, <dataDir>/myid, the dynamic config file).
//
// System properties: upstream turns every zoo.cfg key it does not parse itself into the system property
// `zookeeper.<key>`, and reads a few settings only from unprefixed system properties (jute.maxbuffer,
// znode.container.checkIntervalMs, readonlymode.enabled), which zoo.cfg therefore cannot set there. zkts has no
// system properties: it reads all of these from the file, and accepts each under both spellings, `<name>` and
// `zookeeper.<name>` (the prefixed one wins if both are present). So `4lw.commands.whitelist`,
// `zookeeper.4lw.commands.whitelist`, `jute.maxbuffer` and `zookeeper.jute.maxbuffer` all work.
//
// Deliberate differences, each for safety: values that upstream would silently misread (a boolean system property
// spelled "yes", say) are errors here, naming the key and the value; the file is read as UTF-8 (Java reads
// ISO-8859-1, which mangles non-ASCII paths anyway).
import { fs } from '../util/sys.js';
import os from 'node:os';
import path from 'node:path';
import { parseProperties, PropertiesSyntaxError } from './properties.js';
import { silentLogger, type Logger } from '../util/log.js';

export class ConfigError extends Error {
  readonly code = 'ZKTS_ERR_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type PeerType = 'participant' | 'observer';

/** One `server.N=host:quorumPort:electionPort[:role][;[clientHost:]clientPort]` line. */
export interface QuorumServerConfig {
  id: number;
  host: string;
  quorumPort: number;
  electionPort: number;
  role: PeerType;
  /** From the part after ';' ("0.0.0.0" when only a port is given). */
  clientHost?: string;
  clientPort?: number;
}

/** The 4lw commands ZooKeeper 3.8 knows (FourLetterCommands.cmd2String, without the telnet close code). */
export const KNOWN_FOUR_LETTER_WORDS: readonly string[] = [
  'conf', 'cons', 'crst', 'dirs', 'dump', 'envi', 'gtmk', 'ruok', 'stmk', 'srst', 'srvr', 'stat', 'wchc', 'wchp',
  'wchs', 'mntr', 'isro', 'hash',
];

export interface ZkConfig {
  /** ms per tick; required. */
  tickTime: number;
  /** Absolute. Snapshots go to <dataDir>/version-2. */
  dataDir: string;
  /** Absolute; defaults to dataDir. Txn logs go to <dataLogDir>/version-2. */
  dataLogDir: string;
  /** 0 when not set (then no plain client port is opened, as upstream). */
  clientPort: number;
  /** Undefined = all interfaces. */
  clientPortAddress: string | undefined;
  /** 0 when not set. */
  secureClientPort: number;
  secureClientPortAddress: string | undefined;
  /** -1 = the OS default. */
  clientPortListenBacklog: number;
  /** Per client IP; 0 = unlimited. */
  maxClientCnxns: number;
  /** zookeeper.maxCnxns: total connections, 0 = unlimited. */
  maxCnxns: number;
  /** Resolved: -1 in the file means 2 * tickTime. */
  minSessionTimeout: number;
  /** Resolved: -1 in the file means 20 * tickTime. */
  maxSessionTimeout: number;
  globalOutstandingLimit: number;
  /** '*' = every known command. A Set always holds srvr (zkServer.sh needs it), and isro with read-only mode. */
  fourLetterWhitelist: '*' | ReadonlySet<string>;
  extendedTypesEnabled: boolean;
  /** zookeeper.DigestAuthenticationProvider.superDigest: "super:<base64 sha1>". */
  superDigest: string | undefined;
  /** zookeeper.skipACL=yes. */
  skipACL: boolean;
  enforceQuota: boolean;
  /** jute.maxbuffer: the largest frame and the largest znode data, in bytes. */
  juteMaxBuffer: number;
  snapCount: number;
  /** zookeeper.snapshot.trust.empty: start from logs without any snapshot (upgrades from 3.4 only). */
  snapshotTrustEmpty: boolean;
  /** zookeeper.snapshot.compression.method: "" (plain) or "gz". */
  snapshotCompression: '' | 'gz';
  /** zookeeper.db.autocreate: an empty data directory starts an empty database (default true). */
  dbAutoCreate: boolean;
  /** zookeeper.preAllocSize, in KB. */
  preAllocSizeKb: number;
  /** At least 3 (smaller values are raised to 3, as upstream). */
  autopurgeSnapRetainCount: number;
  /** Hours between purges; 0 = never. */
  autopurgePurgeIntervalHours: number;
  /** znode.container.checkIntervalMs. */
  containerCheckIntervalMs: number;
  /** znode.container.maxPerMinute. */
  containerMaxPerMinute: number;
  readOnlyModeEnabled: boolean;
  localSessionsEnabled: boolean;
  localSessionsUpgradingEnabled: boolean;
  /** Ticks; 0 = not set (required in quorum mode). */
  initLimit: number;
  syncLimit: number;
  connectToLearnerMasterLimit: number;
  /** Always 3 (FastLeaderElection), the only value 3.8 accepts. */
  electionAlg: number;
  peerType: PeerType;
  syncEnabled: boolean;
  quorumListenOnAllIPs: boolean;
  standaloneEnabled: boolean;
  reconfigEnabled: boolean;
  /** Path of the dynamic config file, if one is named. */
  dynamicConfigFile: string | undefined;
  adminEnableServer: boolean;
  adminServerPort: number;
  adminServerAddress: string;
  adminCommandUrl: string;
  /** From <dataDir>/myid; undefined when absent (standalone). */
  serverId: number | undefined;
  /** server.N lines, by ascending id. */
  servers: QuorumServerConfig[];
  /** version= of the (dynamic) config, hex in the file; undefined when not given. */
  configVersion: bigint | undefined;
  /** True when this is a replicated ensemble (upstream isDistributed()). */
  distributed: boolean;
  /** Keys zkts does not model, as read. */
  extra: Map<string, string>;
  /** Every key as read (trimmed), for conf and diagnostics. */
  properties: Map<string, string>;
}

export interface ParseConfigOptions {
  /** Relative dataDir/dataLogDir/dynamicConfigFile resolve against this (default: the process's cwd). */
  baseDir?: string;
  /** The first line of <dataDir>/myid, if that file exists. */
  myid?: string;
  /** Contents of the dynamic config file, when zoo.cfg names one. */
  dynamicConfigText?: string;
  /** Path of the dynamic config file (its `.dynamic.<hex>` suffix gives the config version). */
  dynamicConfigPath?: string;
  logger?: Logger;
}

/** Settings ZooKeeper reads as system properties: canonical name (no "zookeeper." prefix). */
const SYSPROP_KEYS = [
  '4lw.commands.whitelist', 'extendedTypesEnabled', 'DigestAuthenticationProvider.superDigest', 'skipACL',
  'enforceQuota', 'jute.maxbuffer', 'snapCount', 'preAllocSize', 'globalOutstandingLimit', 'maxCnxns',
  'znode.container.checkIntervalMs', 'znode.container.maxPerMinute', 'readonlymode.enabled', 'admin.enableServer',
  'admin.serverPort', 'admin.serverAddress', 'admin.commandURL', 'snapshot.trust.empty', 'snapshot.compression.method',
  'db.autocreate', 'digest.enabled',
] as const;

/** Keys parseProperties handles itself. */
const DIRECT_KEYS = new Set([
  'dataDir', 'dataLogDir', 'clientPort', 'clientPortAddress', 'secureClientPort', 'secureClientPortAddress',
  'clientPortListenBacklog', 'tickTime', 'maxClientCnxns', 'minSessionTimeout', 'maxSessionTimeout', 'initLimit',
  'syncLimit', 'connectToLearnerMasterLimit', 'electionAlg', 'quorumListenOnAllIPs', 'peerType', 'syncEnabled',
  'dynamicConfigFile', 'autopurge.snapRetainCount', 'autopurge.purgeInterval', 'standaloneEnabled',
  'reconfigEnabled', 'localSessionsEnabled', 'localSessionsUpgradingEnabled', 'version',
]);

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;
const MIN_SNAP_RETAIN_COUNT = 3;

function bad(key: string, value: string, why: string): ConfigError {
  return new ConfigError(`Invalid value for ${key}: "${value}" (${why})`);
}

/** Integer.parseInt: optional sign, decimal digits, int32 range. */
function parseJavaInt(key: string, value: string): number {
  if (!/^[+-]?\d+$/.test(value)) throw bad(key, value, 'not an integer');
  const n = Number(value);
  if (n < INT_MIN || n > INT_MAX) throw bad(key, value, 'out of the 32-bit integer range');
  return n;
}

function parseBool(key: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw bad(key, value, "choose 'true' or 'false'");
}

function parsePort(key: string, value: string, allowZero = true): number {
  const n = parseJavaInt(key, value);
  if (n < (allowZero ? 0 : 1) || n > 65535) throw bad(key, value, 'port out of range');
  return n;
}

function nonNegative(key: string, value: string, n: number): number {
  if (n < 0) throw bad(key, value, 'must not be negative');
  return n;
}

function positive(key: string, value: string, n: number): number {
  if (n <= 0) throw bad(key, value, 'must be positive');
  return n;
}

/** Splits "host:port[:...]" like ConfigUtils.getHostAndPort, accepting [ipv6] hosts. */
function hostAndPortParts(key: string, s: string): string[] {
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) throw bad(key, s, 'IPv6 address without closing ]');
    const rest = s.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) throw bad(key, s, 'expected : after the IPv6 address');
    const host = s.slice(1, close);
    return rest === '' ? [host] : [host, ...rest.slice(1).split(':')];
  }
  return s.split(':');
}

function parsePeerType(key: string, value: string): PeerType {
  const v = value.toLowerCase();
  if (v === 'participant' || v === 'observer') return v;
  throw bad(key, value, 'peer type must be participant or observer');
}

/** server.N=host:quorumPort:electionPort[:participant|observer][;[clientHost:]clientPort] */
export function parseServerLine(key: string, value: string): QuorumServerConfig {
  const idText = key.slice('server.'.length);
  if (!/^\d+$/.test(idText)) throw bad(key, value, `server id "${idText}" is not a number`);
  const id = Number(idText);
  if (!Number.isSafeInteger(id)) throw bad(key, value, 'server id out of range');
  const halves = value.split(';');
  if (halves.length > 2) throw bad(key, value, 'expected server_config or server_config;client_config');
  if (halves[0].includes('|')) throw bad(key, value, 'multiple addresses per server are not supported');
  const parts = hostAndPortParts(key, halves[0].trim());
  if (parts.length < 3 || parts.length > 4) {
    throw bad(key, value, 'expected host:quorumPort:electionPort[:participant|observer]');
  }
  const [host, qp, ep, role] = parts;
  const port = (text: string): number => {
    try {
      return parsePort(key, text, false);
    } catch {
      throw bad(key, value, `"${text}" is not a valid port`);
    }
  };
  if (host === '') throw bad(key, value, 'empty host');
  const quorumPort = port(qp);
  const electionPort = port(ep);
  if (quorumPort === electionPort) throw bad(key, value, 'quorum and election ports must be different');
  const server: QuorumServerConfig = {
    id, host, quorumPort, electionPort, role: role === undefined ? 'participant' : parsePeerType(key, role),
  };
  if (halves.length === 2) {
    const client = hostAndPortParts(key, halves[1].trim());
    if (client.length > 2) throw bad(key, value, 'client_config must be [host:]port');
    server.clientHost = client.length === 2 ? client[0] : '0.0.0.0';
    server.clientPort = port(client[client.length - 1]);
  }
  return server;
}

/** The version from a dynamic config file name: zoo.cfg.dynamic.100000000 -> 0x100000000. */
export function versionFromDynamicFileName(file: string): bigint | undefined {
  const m = /\.dynamic\.([0-9a-fA-F]+)$/.exec(file);
  return m ? BigInt('0x' + m[1]) : undefined;
}

function parseWhitelist(value: string | undefined, readOnly: boolean): '*' | ReadonlySet<string> {
  const set = new Set<string>();
  for (const raw of (value ?? '').split(',')) {
    const cmd = raw.trim();
    if (cmd === '*') return '*';
    if (cmd !== '') set.add(cmd);
  }
  if (readOnly) set.add('isro');
  set.add('srvr');
  return set;
}

function collectServers(
  entries: Iterable<[string, string]>,
): { servers: QuorumServerConfig[]; version: bigint | undefined } {
  const byId = new Map<number, QuorumServerConfig>();
  let version: bigint | undefined;
  for (const [key, value] of entries) {
    if (key.startsWith('server.')) {
      const s = parseServerLine(key, value);
      if (byId.has(s.id)) throw bad(key, value, `server id ${s.id} appears more than once`);
      byId.set(s.id, s);
    } else if (key === 'version') {
      if (!/^[0-9a-fA-F]+$/.test(value)) throw bad(key, value, 'version must be hex');
      version = BigInt('0x' + value);
    }
  }
  return { servers: [...byId.values()].sort((a, b) => a.id - b.id), version };
}

/** Two server lines (or a quorum and an election port) on the same host:port cannot both listen. */
function checkServerPorts(servers: readonly QuorumServerConfig[]): void {
  const seen = new Map<string, string>();
  for (const s of servers) {
    for (const [what, port] of [['quorum', s.quorumPort], ['election', s.electionPort]] as const) {
      const key = `${s.host}:${port}`;
      const prior = seen.get(key);
      if (prior !== undefined) throw new ConfigError(`server.${s.id}: ${what} port ${key} is already used as ${prior}`);
      seen.set(key, `server.${s.id}'s ${what} port`);
    }
  }
}

function readProperties(text: string, what: string): Map<string, string> {
  let parsed;
  try {
    parsed = parseProperties(text);
  } catch (e) {
    if (e instanceof PropertiesSyntaxError) throw new ConfigError(`${what}: ${e.message}`);
    throw e;
  }
  const props = new Map<string, string>();
  for (const [k, v] of parsed) props.set(k.trim(), v.value.trim());
  return props;
}

/** Parses zoo.cfg text. Throws ConfigError, naming the key and the value, on anything ZooKeeper would reject. */
export function parseConfig(text: string, opts: ParseConfigOptions = {}): ZkConfig {
  const log = opts.logger ?? silentLogger;
  const props = readProperties(text, 'zoo.cfg');
  const baseDir = opts.baseDir ?? process.cwd();
  const str = (k: string): string | undefined => props.get(k);
  const sys = (name: string): string | undefined => props.get('zookeeper.' + name) ?? props.get(name);
  const sysKey = (name: string): string => (props.has('zookeeper.' + name) ? 'zookeeper.' + name : name);
  const int = (k: string, dflt: number): number => {
    const v = str(k);
    return v === undefined ? dflt : parseJavaInt(k, v);
  };
  const sysInt = (name: string, dflt: number): number => {
    const v = sys(name);
    return v === undefined ? dflt : parseJavaInt(sysKey(name), v);
  };
  const bool = (k: string, dflt: boolean): boolean => {
    const v = str(k);
    return v === undefined ? dflt : parseBool(k, v);
  };
  const sysBool = (name: string, dflt: boolean): boolean => {
    const v = sys(name);
    return v === undefined ? dflt : parseBool(sysKey(name), v);
  };
  const nonNeg = (k: string, n: number): number => nonNegative(k, String(n), n);

  const tickText = str('tickTime');
  if (tickText === undefined) throw new ConfigError('tickTime is not set');
  const tickTime = positive('tickTime', tickText, parseJavaInt('tickTime', tickText));
  const dataDirText = str('dataDir');
  if (dataDirText === undefined || dataDirText === '') throw new ConfigError('dataDir is not set');
  const dataDir = path.resolve(baseDir, dataDirText);
  const dataLogText = str('dataLogDir');
  const dataLogDir = dataLogText ? path.resolve(baseDir, dataLogText) : dataDir;

  const clientPortText = str('clientPort');
  const clientPort = clientPortText === undefined ? 0 : parsePort('clientPort', clientPortText);
  const clientPortAddress = str('clientPortAddress') || undefined;
  if (clientPort === 0 && clientPortAddress !== undefined) {
    throw new ConfigError(`clientPortAddress is set ("${clientPortAddress}") but clientPort is not set`);
  }
  const securePortText = str('secureClientPort');
  const secureClientPort = securePortText === undefined ? 0 : parsePort('secureClientPort', securePortText);
  const secureClientPortAddress = str('secureClientPortAddress') || undefined;
  if (secureClientPort === 0 && secureClientPortAddress !== undefined) {
    throw new ConfigError(`secureClientPortAddress is set ("${secureClientPortAddress}") but secureClientPort is not set`);
  }

  const minRaw = int('minSessionTimeout', -1);
  const maxRaw = int('maxSessionTimeout', -1);
  const minSessionTimeout = minRaw === -1 ? tickTime * 2 : minRaw;
  const maxSessionTimeout = maxRaw === -1 ? tickTime * 20 : maxRaw;
  if (minSessionTimeout < 0) throw bad('minSessionTimeout', String(minRaw), 'must not be negative');
  if (maxSessionTimeout < 0) throw bad('maxSessionTimeout', String(maxRaw), 'must not be negative');
  if (minSessionTimeout > maxSessionTimeout) {
    throw new ConfigError(
      `minSessionTimeout (${minSessionTimeout}) must not be larger than maxSessionTimeout (${maxSessionTimeout})`,
    );
  }

  const electionAlg = int('electionAlg', 3);
  if (electionAlg !== 3) throw bad('electionAlg', String(electionAlg), 'only 3 is supported');
  const peerTypeText = str('peerType');
  const peerType = peerTypeText === undefined ? 'participant' : parsePeerType('peerType', peerTypeText);

  let snapRetain = int('autopurge.snapRetainCount', MIN_SNAP_RETAIN_COUNT);
  if (snapRetain < MIN_SNAP_RETAIN_COUNT) {
    log.warn('autopurge.snapRetainCount below the minimum, using the minimum', { value: snapRetain, min: MIN_SNAP_RETAIN_COUNT });
    snapRetain = MIN_SNAP_RETAIN_COUNT;
  }

  const skipText = sys('skipACL');
  let skipACL = false;
  if (skipText !== undefined) {
    const v = skipText.toLowerCase();
    if (v === 'yes' || v === 'true') skipACL = true;
    else if (v !== 'no' && v !== 'false') throw bad(sysKey('skipACL'), skipText, "choose 'yes' or 'no'");
  }

  const readOnlyModeEnabled = sysBool('readonlymode.enabled', false);
  const standaloneEnabled = bool('standaloneEnabled', true);

  // Servers: in zoo.cfg itself, or (not both) in the dynamic config file.
  const dynamicConfigFile = str('dynamicConfigFile');
  let serverEntries: Iterable<[string, string]> = props;
  let dynVersion: bigint | undefined;
  if (dynamicConfigFile !== undefined) {
    for (const k of props.keys()) {
      if (k.startsWith('server.') || k.startsWith('group') || k.startsWith('weight')) {
        throw new ConfigError(`parameter: ${k} must be in a separate dynamic config file`);
      }
    }
    if (opts.dynamicConfigText !== undefined) {
      const dyn = readProperties(opts.dynamicConfigText, 'dynamic config');
      for (const k of dyn.keys()) {
        if (k === 'version') throw new ConfigError("dynamic file shouldn't have version inside");
        if (!k.startsWith('server.') && !k.startsWith('group') && !k.startsWith('weight')) {
          throw new ConfigError(`Unrecognised parameter in the dynamic config file: ${k}`);
        }
      }
      serverEntries = dyn;
      dynVersion = versionFromDynamicFileName(opts.dynamicConfigPath ?? dynamicConfigFile) ?? 0n;
    }
  }
  for (const [k] of serverEntries) {
    if (k.startsWith('group') || k.startsWith('weight')) {
      throw new ConfigError(`${k}: hierarchical quorums (group.*, weight.*) are not supported by zkts`);
    }
  }
  const { servers, version } = collectServers(serverEntries);
  const participants = servers.filter((s) => s.role === 'participant').length;
  const observers = servers.length - participants;
  if (participants === 0 && !standaloneEnabled) {
    throw new ConfigError('standaloneEnabled = false then number of participants should be > 0');
  }
  if (participants === 0 && observers > 0) throw new ConfigError('Observers w/o participants is an invalid configuration');
  if (participants === 1 && standaloneEnabled && observers > 0) {
    throw new ConfigError('Observers w/o quorum is an invalid configuration');
  }
  if (participants === 1 && standaloneEnabled) log.warn('only one server specified (ignoring the server lines)');
  const distributed = servers.length > 0 && (!standaloneEnabled || participants > 1);
  if (distributed) checkServerPorts(servers);
  if (distributed && participants === 2) log.warn('No server failure will be tolerated. You need at least 3 servers.');
  else if (distributed && participants % 2 === 0) log.warn(`Non-optimal configuration: ${participants} voters, consider an odd number of servers.`);

  let serverId: number | undefined;
  if (opts.myid !== undefined) {
    const t = opts.myid.trim();
    if (!/^[+-]?\d+$/.test(t) || !Number.isSafeInteger(Number(t))) {
      throw new ConfigError(`myid: serverid "${opts.myid}" is not a number`);
    }
    serverId = Number(t);
  }
  const initLimit = nonNeg('initLimit', int('initLimit', 0));
  const syncLimit = nonNeg('syncLimit', int('syncLimit', 0));
  if (distributed) {
    if (initLimit === 0) throw new ConfigError('initLimit is not set');
    if (syncLimit === 0) throw new ConfigError('syncLimit is not set');
    if (serverId === undefined) throw new ConfigError('myid file is missing');
    if (!servers.some((s) => s.id === serverId)) {
      throw new ConfigError(`myid ${serverId} is not among the server.N lines`);
    }
  }

  const extra = new Map<string, string>();
  const sysNames = new Set<string>(SYSPROP_KEYS.flatMap((k) => [k, 'zookeeper.' + k]));
  for (const [k, v] of props) {
    if (DIRECT_KEYS.has(k) || sysNames.has(k) || k.startsWith('server.')) continue;
    extra.set(k, v);
    log.debug('zoo.cfg key not used by zkts', { key: k, value: v });
  }

  const juteText = sys('jute.maxbuffer');
  const juteMaxBuffer = juteText === undefined ? 0xfffff : parseJavaInt(sysKey('jute.maxbuffer'), juteText);
  positive(sysKey('jute.maxbuffer'), String(juteMaxBuffer), juteMaxBuffer);

  return {
    tickTime,
    dataDir,
    dataLogDir,
    clientPort,
    clientPortAddress,
    secureClientPort,
    secureClientPortAddress,
    clientPortListenBacklog: int('clientPortListenBacklog', -1),
    maxClientCnxns: nonNeg('maxClientCnxns', int('maxClientCnxns', 60)),
    maxCnxns: nonNeg(sysKey('maxCnxns'), sysInt('maxCnxns', 0)),
    minSessionTimeout,
    maxSessionTimeout,
    globalOutstandingLimit: sysInt('globalOutstandingLimit', 1000),
    fourLetterWhitelist: parseWhitelist(sys('4lw.commands.whitelist'), readOnlyModeEnabled),
    extendedTypesEnabled: sysBool('extendedTypesEnabled', false),
    superDigest: sys('DigestAuthenticationProvider.superDigest') || undefined,
    skipACL,
    enforceQuota: sysBool('enforceQuota', false),
    juteMaxBuffer,
    snapCount: positive(sysKey('snapCount'), sys('snapCount') ?? '', sysInt('snapCount', 100000)),
    snapshotTrustEmpty: sysBool('snapshot.trust.empty', false),
    snapshotCompression: compressionMethod(sysKey('snapshot.compression.method'), sys('snapshot.compression.method')),
    dbAutoCreate: sysBool('db.autocreate', true),
    preAllocSizeKb: positive(sysKey('preAllocSize'), sys('preAllocSize') ?? '', sysInt('preAllocSize', 65536)),
    autopurgeSnapRetainCount: snapRetain,
    autopurgePurgeIntervalHours: int('autopurge.purgeInterval', 0),
    containerCheckIntervalMs: positive(
      sysKey('znode.container.checkIntervalMs'), sys('znode.container.checkIntervalMs') ?? '',
      sysInt('znode.container.checkIntervalMs', 60000),
    ),
    containerMaxPerMinute: sysInt('znode.container.maxPerMinute', 10000),
    readOnlyModeEnabled,
    localSessionsEnabled: bool('localSessionsEnabled', false),
    localSessionsUpgradingEnabled: bool('localSessionsUpgradingEnabled', false),
    initLimit,
    syncLimit,
    connectToLearnerMasterLimit: nonNeg('connectToLearnerMasterLimit', int('connectToLearnerMasterLimit', 0)),
    electionAlg,
    peerType,
    syncEnabled: bool('syncEnabled', true),
    quorumListenOnAllIPs: bool('quorumListenOnAllIPs', false),
    standaloneEnabled,
    reconfigEnabled: bool('reconfigEnabled', false),
    dynamicConfigFile: dynamicConfigFile === undefined ? undefined : path.resolve(baseDir, dynamicConfigFile),
    adminEnableServer: sysBool('admin.enableServer', true),
    adminServerPort: (() => {
      const v = sys('admin.serverPort');
      return v === undefined ? 8080 : parsePort(sysKey('admin.serverPort'), v);
    })(),
    adminServerAddress: sys('admin.serverAddress') ?? '0.0.0.0',
    adminCommandUrl: sys('admin.commandURL') ?? '/commands',
    serverId,
    servers,
    configVersion: dynVersion ?? version,
    distributed,
    extra,
    properties: props,
  };
}

/** Snapshot compression: ZooKeeper's "" and "gz"; "snappy" would need a codec zkts does not ship. */
function compressionMethod(key: string, value: string | undefined): '' | 'gz' {
  const v = (value ?? '').trim();
  if (v === '' || v === 'gz') return v;
  throw new ConfigError(`${key} must be "" or "gz" (snappy is not supported by zkts), got "${v}"`);
}

/**
 * The zoo.cfg zkts runs with when given none: a standalone server on 2181 with its data in
 * <os.tmpdir()>/zkts-data (gone after a reboot on most systems; fine for trying zkts, not for keeping data).
 */
export const DEFAULT_CONFIG_TEXT = [
  '# zkts built-in configuration (used when no zoo.cfg is given).',
  'tickTime=2000',
  `dataDir=${path.join(os.tmpdir(), 'zkts-data').replace(/\\/g, '\\\\')}`,
  'clientPort=2181',
  'initLimit=10',
  'syncLimit=5',
  'maxClientCnxns=60',
  'admin.enableServer=false',
  '# Four-letter words: the read-only status commands. cons, dump, wchc and wchp are left out on purpose: they',
  '# print session ids, and a session password is derived from its id alone, so they would let anyone who can',
  '# reach the port take over sessions. ZooKeeper itself enables only srvr by default.',
  '4lw.commands.whitelist=srvr,ruok,stat,mntr,conf,envi,isro,dirs,wchs',
  '',
].join('\n');

/**
 * Reads a zoo.cfg (or DEFAULT_CONFIG_TEXT when no path is given), then <dataDir>/myid and the dynamic config file
 * if they exist. Relative paths in the file resolve against the current directory, as in ZooKeeper.
 */
export function loadConfig(file?: string, logger: Logger = silentLogger): ZkConfig {
  let text = DEFAULT_CONFIG_TEXT;
  if (file !== undefined) {
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError(`Error processing ${file}: ${(e as Error).message}`);
    }
  }
  // dataDir and dynamicConfigFile first, to find the side files; full validation happens with them in hand.
  const props = readProperties(text, file ?? 'zoo.cfg');
  const dataDirText = props.get('dataDir');
  if (dataDirText === undefined || dataDirText === '') throw new ConfigError('dataDir is not set');
  const myidPath = path.join(path.resolve(dataDirText), 'myid');
  let myid: string | undefined;
  if (fs.existsSync(myidPath) && fs.statSync(myidPath).isFile()) {
    myid = fs.readFileSync(myidPath, 'utf8').split(/\r?\n/)[0];
  }
  const dynText = props.get('dynamicConfigFile');
  const dynPath = dynText === undefined ? undefined : path.resolve(dynText);
  let dynamicConfigText: string | undefined;
  if (dynPath !== undefined) {
    try {
      dynamicConfigText = fs.readFileSync(dynPath, 'utf8');
    } catch (e) {
      throw new ConfigError(`Error processing ${dynPath}: ${(e as Error).message}`);
    }
  }
  return parseConfig(text, { logger, myid, dynamicConfigText, dynamicConfigPath: dynPath });
}

