// admin/ fourletter.ts: ZooKeeper's four-letter words. A new connection whose first four bytes spell a command
// (read as the int32 frame length) gets the command's plain-text answer and is closed. The renderers here produce
// exactly ZooKeeper 3.8's text (captured from Apache ZooKeeper 3.8.0: see test/admin/fourletter.test.ts) from a
// ServerView, with no I/O; the shell writes the string and closes the socket.
import { javaDateString, javaDouble, javaHex, javaLong, javaSocketAddress } from './javaFormat.js';
import type { ConnectionInfo, MetricValue, ServerView } from './view.js';

export const ZK_NOT_SERVING = 'This ZooKeeper instance is not currently serving requests';

const COMMANDS = [
  'conf', 'cons', 'crst', 'dirs', 'dump', 'envi', 'gtmk', 'ruok', 'stmk', 'srst', 'srvr', 'stat', 'wchc', 'wchp',
  'wchs', 'mntr', 'isro', 'hash',
] as const;
export type FourLetterWord = (typeof COMMANDS)[number];

/** Each command as the int32 a client's first four bytes form (ByteBuffer.wrap("ruok".getBytes()).getInt()). */
export const FOUR_LETTER_CODES: Readonly<Record<FourLetterWord, number>> = Object.freeze(
  Object.fromEntries(COMMANDS.map((c) => [c, Buffer.from(c, 'latin1').readInt32BE(0)])) as Record<FourLetterWord, number>,
);

const BY_CODE = new Map<number, FourLetterWord>(COMMANDS.map((c) => [FOUR_LETTER_CODES[c], c]));

/**
 * The command named by the first four bytes of a connection, or undefined if they are an ordinary frame length.
 * (Telnet's close sequence 0xfff4fffd is not a command here: as a negative length it closes the connection.)
 */
export function isFourLetterWord(firstFour: Buffer): FourLetterWord | undefined {
  if (firstFour.length < 4) return undefined;
  return BY_CODE.get(firstFour.readInt32BE(0));
}

/**
 * ZooKeeper's last-operation names (FinalRequestProcessor), by opcode, for ConnectionInfo.lastOperation.
 * check inside multi and error txns leave lastOp unchanged; anything not listed reports "NA".
 */
export const LAST_OP_NAMES: Readonly<Record<number, string>> = Object.freeze({
  11: 'PING', [-10]: 'SESS', 14: 'MULT', 22: 'MLTR', 1: 'CREA', 15: 'CREA', 21: 'CREA', 19: 'CREA', 2: 'DELE',
  20: 'DELE', 5: 'SETD', 16: 'RECO', 7: 'SETA', [-11]: 'CLOS', 9: 'SYNC', 13: 'CHEC', 3: 'EXIS', 4: 'GETD',
  101: 'SETW', 105: 'STW2', 106: 'ADDW', 6: 'GETA', 8: 'GETC', 104: 'GETACN', 12: 'GETC', 17: 'CHKW', 18: 'REMW',
  107: 'HOMI', 103: 'GETE',
});

const hexId = (id: bigint): string => '0x' + javaHex(id);

function connectionLine(c: ConnectionInfo, brief: boolean): string {
  let s = ` ${javaSocketAddress(c.remoteHost, c.remotePort)}[${c.interestOps === 0 ? '0' : c.interestOps.toString(16)}]` +
    `(queued=${c.queued},recved=${c.packetsReceived},sent=${c.packetsSent}`;
  if (!brief && c.sessionId !== 0n) {
    s += `,sid=${hexId(c.sessionId)},lop=${c.lastOperation},est=${c.establishedWallMs},to=${c.sessionTimeoutMs}`;
    if (c.lastCxid >= 0) s += `,lcxid=0x${javaHex(c.lastCxid)}`;
    s += `,lzxid=0x${javaHex(c.lastZxid)},lresp=${c.lastResponseTimeMs},llat=${c.lastLatencyMs}` +
      `,minlat=${c.minLatencyMs},avglat=${c.avgLatencyMs},maxlat=${c.maxLatencyMs}`;
  }
  return s + ')';
}

/** srvr and stat (StatCommand); stat adds the Clients section. */
function renderStat(view: ServerView, withClients: boolean): string {
  const out: string[] = [`Zookeeper version: ${view.version}\n`];
  if (view.isReadOnly()) out.push('READ-ONLY mode; serving only read-only clients\n');
  if (withClients) {
    out.push('Clients:\n');
    for (const c of view.connections()) out.push(connectionLine(c, true), '\n');
    out.push('\n');
  }
  const lat = view.latency();
  out.push(
    `Latency min/avg/max: ${lat.minMs}/${javaDouble(lat.avgMs)}/${lat.maxMs}\n`,
    `Received: ${view.packetsReceived()}\n`,
    `Sent: ${view.packetsSent()}\n`,
    `Connections: ${view.numAliveConnections()}\n`,
    `Outstanding: ${view.outstandingRequests()}\n`,
    `Zxid: 0x${javaHex(view.lastProcessedZxid())}\n`,
    `Mode: ${view.mode()}\n`,
    `Node count: ${view.nodeCount()}\n`,
  );
  if (view.mode() === 'leader' && view.proposalSizes) out.push(`Proposal sizes last/min/max: ${view.proposalSizes()}\n`);
  return out.join('');
}

function renderCons(view: ServerView): string {
  const out: string[] = [];
  for (const c of view.connections()) out.push(connectionLine(c, false), '\n');
  out.push('\n');
  return out.join('');
}

function renderConf(view: ServerView): string {
  const c = view.conf();
  let s = `clientPort=${c.clientPort}\nsecureClientPort=${c.secureClientPort}\ndataDir=${c.dataDir}\n` +
    `dataDirSize=${c.dataDirSize}\ndataLogDir=${c.dataLogDir}\ndataLogSize=${c.dataLogSize}\n` +
    `tickTime=${c.tickTime}\nmaxClientCnxns=${c.maxClientCnxns}\nminSessionTimeout=${c.minSessionTimeout}\n` +
    `maxSessionTimeout=${c.maxSessionTimeout}\nclientPortListenBacklog=${c.clientPortListenBacklog}\n` +
    `serverId=${c.serverId}\n`;
  const q = c.quorum;
  if (q) {
    s += `initLimit=${q.initLimit}\nsyncLimit=${q.syncLimit}\nelectionAlg=${q.electionAlg}\n` +
      `electionPort=${q.electionPort}\nquorumPort=${q.quorumPort}\npeerType=${q.peerType}\nmembership: \n` +
      q.membership;
  }
  return s;
}

/** dump: session expiry buckets, ephemerals by session, connection expiry buckets. */
function renderDump(view: ServerView): string {
  const out: string[] = ['SessionTracker dump:\n'];
  const sessions = [...view.sessionExpiry()];
  out.push(`Session Sets (${sessions.length})/(${view.sessionCount()}):\n`);
  for (const b of sessions) {
    out.push(`${b.members.length} expire at ${javaDateString(b.expiresWallMs)}:\n`);
    for (const id of b.members) out.push(`\t${hexId(id)}\n`);
  }
  out.push('ephemeral nodes dump:\n');
  const eph = [...view.ephemerals()];
  out.push(`Sessions with Ephemerals (${eph.length}):\n`);
  for (const [id, paths] of eph) {
    out.push(`${hexId(id)}:\n`);
    for (const p of paths) out.push(`\t${p}\n`);
  }
  out.push('Connections dump:\n');
  const cnxns = [...view.connectionExpiry()];
  out.push(`Connections Sets (${cnxns.length})/(${view.connectionExpiryCount()}):\n`);
  for (const b of cnxns) {
    out.push(`${b.members.length} expire at ${javaDateString(b.expiresWallMs)}:\n`);
    for (const m of b.members) {
      out.push(`\tip: ${javaSocketAddress(m.remoteHost, m.remotePort)} sessionId: ${hexId(m.sessionId)}\n`);
    }
  }
  return out.join('');
}

function renderEnvi(view: ServerView): string {
  return 'Environment:\n' + view.environment().map(([k, v]) => `${k}=${v}\n`).join('');
}

function metric(v: MetricValue): string {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : javaDouble(v);
  return javaDouble(v.double);
}

/** mntr: zk_<key>\t<value> lines; version and state first, then the core stats in ZooKeeper 3.8's order. */
function renderMntr(view: ServerView): string {
  const m = view.monitorStats();
  const rows: Array<readonly [string, MetricValue]> = [
    ['version', view.version],
    ['server_state', view.mode()],
    ['ephemerals_count', m.ephemeralsCount],
    ['num_alive_connections', m.numAliveConnections],
    ['avg_latency', { double: m.avgLatencyMs }],
    ['outstanding_requests', m.outstandingRequests],
    ['znode_count', m.znodeCount],
    ['global_sessions', m.globalSessions],
    ['packets_sent', m.packetsSent],
    ['packets_received', m.packetsReceived],
    ['watch_count', m.watchCount],
    ['auth_failed_count', m.authFailedCount],
    ['min_latency', m.minLatencyMs],
    ['max_file_descriptor_count', m.maxFileDescriptorCount],
    ['approximate_data_size', m.approximateDataSize],
    ['open_file_descriptor_count', m.openFileDescriptorCount],
    ['local_sessions', m.localSessions],
    ['uptime', m.uptimeMs],
    ['max_latency', m.maxLatencyMs],
    ...(m.leader ?? []),
    ...view.extraMetrics(),
  ];
  return rows.map(([k, v]) => `zk_${k}\t${metric(v)}\n`).join('');
}

function renderWatches(view: ServerView, cmd: 'wchs' | 'wchc' | 'wchp'): string {
  const out: string[] = [];
  if (cmd === 'wchs') {
    const s = view.watchSummary();
    out.push(`${s.connections} connections watching ${s.paths} paths\nTotal watches:${s.total}`);
  } else if (cmd === 'wchc') {
    for (const [id, paths] of view.watchesBySession()) {
      out.push(`${hexId(id)}\n`);
      for (const p of paths) out.push(`\t${p}\n`);
    }
  } else {
    for (const [p, ids] of view.watchesByPath()) {
      out.push(`${p}\n`);
      for (const id of ids) out.push(`\t${hexId(id)}\n`);
    }
  }
  out.push('\n');
  return out.join('');
}

function isAllowed(cmd: string, whitelist: '*' | ReadonlySet<string>): boolean {
  return whitelist === '*' || whitelist.has(cmd);
}

/**
 * Runs a four-letter word and returns the exact text to send before closing. The whitelist is checked first
 * (ZooKeeper's order); most commands then answer "not serving" until the server is up. `stmkMask` is the 8-byte
 * mask that follows "stmk" on the wire (the shell reads it); stmk answers with it.
 */
export function runFourLetter(
  cmd: string,
  view: ServerView,
  whitelist: '*' | ReadonlySet<string>,
  stmkMask?: bigint,
): string {
  if (!(COMMANDS as readonly string[]).includes(cmd)) {
    throw new RangeError(`not a four-letter word: ${JSON.stringify(cmd)}`);
  }
  if (!isAllowed(cmd, whitelist)) return `${cmd} is not executed because it is not in the whitelist.\n`;
  const running = view.isRunning();
  switch (cmd as FourLetterWord) {
    case 'ruok':
      return 'imok';
    case 'gtmk':
      return javaLong(view.traceMask());
    case 'stmk':
      return javaLong(stmkMask ?? view.traceMask());
    case 'envi':
      return renderEnvi(view);
    case 'isro':
      return !running ? 'null' : view.isReadOnly() ? 'ro' : 'rw';
    case 'hash':
      if (!running) return ZK_NOT_SERVING;
      return [...view.digestLog()].map((d) => `${javaHex(d.zxid)}: ${javaLong(d.digest)}\n`).join('');
    default:
      break;
  }
  if (!running) return ZK_NOT_SERVING + '\n';
  switch (cmd as FourLetterWord) {
    case 'srvr':
      return renderStat(view, false);
    case 'stat':
      return renderStat(view, true);
    case 'cons':
      return renderCons(view);
    case 'conf':
      return renderConf(view);
    case 'dump':
      return renderDump(view);
    case 'mntr':
      return renderMntr(view);
    case 'wchs':
    case 'wchc':
    case 'wchp':
      return renderWatches(view, cmd as 'wchs' | 'wchc' | 'wchp');
    case 'dirs':
      return `datadir_size: ${view.dataDirSize()}\nlogdir_size: ${view.logDirSize()}\n`;
    case 'srst':
      view.resetStats();
      return 'Server stats reset.\n';
    case 'crst':
      view.resetConnectionStats();
      return 'Connection stats reset.\n';
    default:
      throw new Error(`unreachable: ${cmd}`);
  }
}
