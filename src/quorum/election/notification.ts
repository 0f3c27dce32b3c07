// quorum/election/ owns leader election: FastLeaderElection's pure core (fle.ts), the notification wire format
// (this file) and the QuorumCnxManager shell that carries notifications between election ports (cnxmanager.ts,
// runner.ts). It may import jute/, config/, util/ only; ZAB (quorum/zab/) consumes its result.
//
// notification.ts: the bytes one election message holds, as ZooKeeper 3.8 writes them (FastLeaderElection.buildMsg)
// and reads them (WorkerReceiver), and the QuorumVerifier.toString() text every notification carries.

import { Reader, Writer } from '../../jute/codec.js';

/** QuorumPeer.ServerState, with its ordinal as it travels in a notification. */
export type ServerState = 'LOOKING' | 'FOLLOWING' | 'LEADING' | 'OBSERVING';
export const SERVER_STATES: readonly ServerState[] = ['LOOKING', 'FOLLOWING', 'LEADING', 'OBSERVING'];

/** Notification.CURRENTVERSION: the format with peerEpoch, version and config (ZooKeeper 3.5+). */
export const NOTIFICATION_VERSION = 2;
/** The 3.4.x form: state, leader, zxid, electionEpoch, peerEpoch, int 1 (the int is read as "no version"). */
export const NOTIFICATION_LEN_LEGACY_40 = 40;
/** The pre-ZOOKEEPER-107 form: no peerEpoch (taken from the zxid's high half). */
export const NOTIFICATION_LEN_LEGACY_28 = 28;
/** state + leader + zxid + electionEpoch + peerEpoch + version + configLen. */
export const NOTIFICATION_HEADER_LEN = 44;
/** QuorumCnxManager.PACKETMAXSIZE: no election frame may be larger. */
export const ELECTION_PACKET_MAX = 512 * 1024;

/** Java's Long.MIN_VALUE: what an observer proposes as leader, zxid and epoch (it never votes for anyone). */
export const LONG_MIN = -(1n << 63n);

/** One election message, decoded. Longs stay bigint: an observer's vote carries Long.MIN_VALUE. */
export interface Notification {
  /** Ordinal of ServerState; an unknown value is kept so the receiver can decide (upstream drops it). */
  state: number;
  leader: bigint;
  zxid: bigint;
  electionEpoch: bigint;
  peerEpoch: bigint;
  /** 0 for the 28- and 40-byte legacy forms, else as sent (2 today). */
  version: number;
  /** The sender's QuorumVerifier.toString(), present when version > 1. */
  config?: string;
}

export function stateName(code: number): ServerState | undefined {
  return SERVER_STATES[code];
}

export function stateCode(state: ServerState): number {
  return SERVER_STATES.indexOf(state);
}

/** buildMsg: always the current format (version 2) with the config text. */
export function encodeNotification(n: Notification): Buffer {
  const config = Buffer.from(n.config ?? '', 'utf8');
  const w = new Writer(NOTIFICATION_HEADER_LEN + config.length);
  w.int(n.state).long(n.leader).long(n.zxid).long(n.electionEpoch).long(n.peerEpoch);
  w.int(NOTIFICATION_VERSION).int(config.length).raw(config);
  const out = w.toBuffer();
  if (out.length > ELECTION_PACKET_MAX) throw new Error(`notification of ${out.length} bytes exceeds ${ELECTION_PACKET_MAX}`);
  return out;
}

export type DecodeResult = { ok: true; notification: Notification } | { ok: false; reason: string };

/**
 * WorkerReceiver's parse. Upstream lets a malformed tail throw inside its receiver thread; here every malformed
 * message is reported and dropped, and the connection stays up.
 */
export function decodeNotification(buf: Buffer): DecodeResult {
  if (buf.length < NOTIFICATION_LEN_LEGACY_28) return { ok: false, reason: `short notification (${buf.length} bytes)` };
  try {
    const r = new Reader(buf);
    const state = r.int();
    const leader = r.long();
    const zxid = r.long();
    const electionEpoch = r.long();
    if (buf.length === NOTIFICATION_LEN_LEGACY_28) {
      // Before peerEpoch existed the epoch was the zxid's high 32 bits (ZxidUtils.getEpochFromZxid).
      return { ok: true, notification: { state, leader, zxid, electionEpoch, peerEpoch: zxid >> 32n, version: 0 } };
    }
    const peerEpoch = r.long();
    // 40 bytes: a 3.4 server's trailing int is not read as a version (backCompatibility40).
    if (buf.length === NOTIFICATION_LEN_LEGACY_40) {
      return { ok: true, notification: { state, leader, zxid, electionEpoch, peerEpoch, version: 0 } };
    }
    const version = r.int();
    const n: Notification = { state, leader, zxid, electionEpoch, peerEpoch, version };
    if (version > 1) {
      const len = r.int();
      if (len < 0 || len > r.remaining) return { ok: false, reason: `bad config length ${len}` };
      n.config = buf.toString('utf8', r.pos, r.pos + len);
    }
    return { ok: true, notification: n };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

/** What QuorumServer.toString() needs of one server line. */
export interface ConfigMember {
  id: number;
  host: string;
  quorumPort: number;
  electionPort: number;
  role: 'participant' | 'observer';
  /** Only when the server line named a client address (upstream omits a clientPort from the static keys). */
  clientHost?: string;
  clientPort?: number;
}

/** InetSocketAddress host as QuorumServer.delimitedHostString prints it: IPv6 literals in brackets. */
function delimitedHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * QuorumMaj.toString(): one `server.N=host:qport:eport:role[;clientHost:clientPort]` line per member in ascending
 * id (the order a HashMap<Long,…> of small ids iterates), each followed by \n, then `version=<hex>` with no newline.
 */
export function quorumVerifierText(members: readonly ConfigMember[], version: bigint): string {
  const sorted = [...members].sort((a, b) => a.id - b.id);
  let text = '';
  for (const m of sorted) {
    text += `server.${m.id}=${delimitedHost(m.host)}:${m.quorumPort}:${m.electionPort}:${m.role}`;
    if (m.clientPort !== undefined) text += `;${delimitedHost(m.clientHost ?? '0.0.0.0')}:${m.clientPort}`;
    text += '\n';
  }
  return text + `version=${BigInt.asUintN(64, version).toString(16)}`;
}

/** The version= of a received config text (hex, as Long.toHexString wrote it); undefined when absent or bad. */
export function configVersionOf(text: string): bigint | undefined {
  const m = /(?:^|\n)version=([0-9a-fA-F]{1,16})\s*$/.exec(text);
  return m ? BigInt.asIntN(64, BigInt('0x' + m[1])) : undefined;
}

/** One line for logs and traces: "LOOKING leader=3 zxid=0x100000002 round=0x1 peerEpoch=0x1". */
export function formatNotification(n: Notification): string {
  const hex = (v: bigint): string => '0x' + BigInt.asUintN(64, v).toString(16);
  return `${stateName(n.state) ?? `state${n.state}`} leader=${n.leader === LONG_MIN ? 'MIN' : n.leader} ` +
    `zxid=${n.zxid === LONG_MIN ? 'MIN' : hex(n.zxid)} round=${hex(n.electionEpoch)} ` +
    `peerEpoch=${n.peerEpoch === LONG_MIN ? 'MIN' : hex(n.peerEpoch)}`;
}
