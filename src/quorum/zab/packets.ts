// quorum/zab/packets.ts: the leader/learner link of ZooKeeper 3.8 (Leader.java, Learner.java, LearnerHandler.java).
//
// The link carries QuorumPacket records jute-serialized back to back with NO length prefix:
//
//   QuorumPacket { int type, long zxid, buffer data, vector<Id> authinfo }
//
// (null data is length -1, null authinfo count -1; both keep their null-ness here so re-encoding is byte-exact). The
// only bytes that are not QuorumPackets follow a SNAP packet: the snapshot body and "BenWasHere" (snapstream.ts).
//
// The data layouts, per type (all big-endian, DataOutputStream or jute):
//   FOLLOWERINFO(11) / OBSERVERINFO(16)  zxid makeZxid(acceptedEpoch, 0); LearnerInfo{long serverid, int
//                                         protocolVersion 0x10000, long configVersion}
//   LEADERINFO(17)    zxid makeZxid(newEpoch, 0); int protocolVersion 0x10000
//   ACKEPOCH(18)      zxid lastLoggedZxid; int currentEpoch (-1: this epoch was already accepted)
//   DIFF(13) / TRUNC(14) / SNAP(15)  zxid only, data null
//   NEWLEADER(10)     zxid makeZxid(newEpoch, 0); the QuorumVerifier text (UTF-8)
//   UPTODATE(12)      zxid -1, data null
//   PROPOSAL(2) / INFORM(8)  zxid; TxnHeader + txn record + optional TxnDigest (Util.marshallTxnEntry)
//   ACK(3) / COMMIT(4)       zxid only
//   COMMITANDACTIVATE(9)     zxid; long designatedLeader (only that: 8 bytes)
//   INFORMANDACTIVATE(19)    zxid; long designatedLeader + the proposal bytes
//   REQUEST(1)        zxid 0 (unused); long sessionId, int cxid, int type, then the raw request record; authinfo =
//                     the client's ids
//   PING(5)           leader -> learner: zxid lastProposed, data null; learner -> leader: the same zxid and authinfo,
//                     data = (long sessionId, int timeout)* session touches
//   REVALIDATE(6)     learner -> leader: zxid -1; long sessionId, int timeout. leader -> learner: same packet, data =
//                     long sessionId, bool valid
//   SYNC(7)           leader -> learner: zxid 0, data null (the answer to a forwarded sync request)
import { JUTE_MAXBUFFER_DEFAULT, JuteError, Reader, Writer } from '../../jute/codec.js';
import { type Id, readId, writeId } from '../../protocol/records.js';
import { decodeTxnPayload, type TxnEntry } from '../../storage/txnlogReader.js';
import { type Txn, type TxnDigest, type TxnHeader, writeTxn, writeTxnHeader } from '../../txn/records.js';
import { makeZxid } from './zxid.js';

export const PacketType = {
  REQUEST: 1,
  PROPOSAL: 2,
  ACK: 3,
  COMMIT: 4,
  PING: 5,
  REVALIDATE: 6,
  SYNC: 7,
  INFORM: 8,
  COMMITANDACTIVATE: 9,
  NEWLEADER: 10,
  FOLLOWERINFO: 11,
  UPTODATE: 12,
  DIFF: 13,
  TRUNC: 14,
  SNAP: 15,
  OBSERVERINFO: 16,
  LEADERINFO: 17,
  ACKEPOCH: 18,
  INFORMANDACTIVATE: 19,
} as const;
export type PacketTypeName = keyof typeof PacketType;

const NAMES = new Map<number, PacketTypeName>(Object.entries(PacketType).map(([k, v]) => [v, k as PacketTypeName]));

/** Leader.getPacketType: the name, or "UNKNOWN<n>". */
export function packetTypeName(type: number): string {
  return NAMES.get(type) ?? `UNKNOWN${type}`;
}

/** The protocol version of Zab 1.0 (LearnerInfo.protocolVersion, LEADERINFO data). */
export const ZAB_PROTOCOL_VERSION = 0x10000;

/**
 * The largest data buffer / authinfo count accepted from a peer: jute.maxbuffer (default 0xfffff) plus
 * zookeeper.jute.maxbuffer.extrasize (default 1024), as BinaryInputArchive.checkLength.
 */
export const DEFAULT_MAX_PACKET_BUFFER = JUTE_MAXBUFFER_DEFAULT + 1024;

export interface QuorumPacket {
  type: number;
  zxid: number;
  /** null is Java's null byte[] (length -1). */
  data: Buffer | null;
  /** null is Java's null List (count -1). */
  authinfo: Id[] | null;
}

export function writeQuorumPacket(w: Writer, p: QuorumPacket): void {
  w.int(p.type).longNum(p.zxid).buffer(p.data);
  w.vector(p.authinfo, writeId);
}

export function encodeQuorumPacket(p: QuorumPacket): Buffer {
  const w = new Writer(32 + (p.data?.length ?? 0));
  writeQuorumPacket(w, p);
  return w.toBuffer();
}

/** Reads one whole packet (throws JuteError when it is truncated or malformed). `data` is a copy. */
export function readQuorumPacket(r: Reader): QuorumPacket {
  const type = r.int();
  const zxid = r.longNum();
  const d = r.buffer();
  const authinfo = r.vector(readId);
  return { type, zxid, data: d === null ? null : Buffer.from(d), authinfo };
}

export function packetToString(p: QuorumPacket): string {
  const zx = p.zxid >= 0 ? p.zxid.toString(16) : BigInt.asUintN(64, BigInt(p.zxid)).toString(16);
  return `${packetTypeName(p.type)} zxid=0x${zx} data=${p.data === null ? 'null' : p.data.length + 'B'}`;
}

// ------------------------------------------------------------------------------------------------- stream decoder

/**
 * Splits a byte stream into QuorumPackets as chunks arrive (a packet may span any number of chunks, a chunk may hold
 * many packets). `push` buffers, `next` returns the next whole packet or undefined. After a SNAP packet the stream
 * carries a snapshot, not packets: the owner takes the bytes after it with `takeRest()` (snapstream.ts does this).
 */
export class QuorumPacketDecoder {
  private chunks: Buffer[] = [];
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private total = 0;

  constructor(readonly maxBuffer = DEFAULT_MAX_PACKET_BUFFER) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** Bytes received and not yet returned as packets. */
  get buffered(): number {
    return this.buf.length - this.pos + this.total;
  }

  private flatten(): void {
    if (this.chunks.length === 0) return;
    const rest = this.buf.subarray(this.pos);
    this.buf = Buffer.concat(rest.length > 0 ? [rest, ...this.chunks] : this.chunks);
    this.pos = 0;
    this.chunks = [];
    this.total = 0;
  }

  /** The length of the packet at `pos`, or -1 when more bytes are needed; throws JuteError when malformed. */
  private frameLength(): number {
    const b = this.buf;
    const start = this.pos;
    const avail = b.length - start;
    let off = 12; // int type + long zxid
    if (avail < off + 4) return -1;
    const dlen = b.readInt32BE(start + off);
    off += 4;
    if (dlen < -1 || dlen > this.maxBuffer) throw new JuteError(`quorum packet data length ${dlen} out of range`);
    if (dlen > 0) off += dlen;
    if (avail < off + 4) return -1;
    const n = b.readInt32BE(start + off);
    off += 4;
    if (n < -1 || n > this.maxBuffer) throw new JuteError(`quorum packet authinfo count ${n} out of range`);
    for (let i = 0; i < n; i++) {
      for (let s = 0; s < 2; s++) {
        if (avail < off + 4) return -1;
        const slen = b.readInt32BE(start + off);
        off += 4;
        if (slen < -1 || slen > this.maxBuffer) throw new JuteError(`quorum packet authinfo string length ${slen} out of range`);
        if (slen > 0) off += slen;
      }
    }
    return avail < off ? -1 : off;
  }

  next(): QuorumPacket | undefined {
    let len = this.frameLength();
    if (len < 0 && this.chunks.length > 0) {
      this.flatten();
      len = this.frameLength();
    }
    if (len < 0) return undefined;
    const r = new Reader(this.buf.subarray(this.pos, this.pos + len), 0, this.maxBuffer);
    const p = readQuorumPacket(r);
    this.pos += len;
    if (this.pos === this.buf.length && this.chunks.length === 0) {
      this.buf = Buffer.alloc(0);
      this.pos = 0;
    }
    return p;
  }

  /** Everything buffered and not yet decoded, removed from the decoder. */
  takeRest(): Buffer {
    this.flatten();
    const rest = Buffer.from(this.buf.subarray(this.pos));
    this.buf = Buffer.alloc(0);
    this.pos = 0;
    return rest;
  }
}

// ------------------------------------------------------------------------------------------------- payloads

const NO_AUTH = null;

function packet(type: number, zxid: number, data: Buffer | null = null, authinfo: Id[] | null = NO_AUTH): QuorumPacket {
  return { type, zxid, data, authinfo };
}

function need(p: QuorumPacket, n: number, what: string): Buffer {
  const d = p.data;
  if (d === null || d.length < n) throw new JuteError(`${packetTypeName(p.type)}: ${what} needs ${n} bytes of data, got ${d === null ? 'null' : d.length}`);
  return d;
}

export interface LearnerInfo {
  serverId: bigint;
  protocolVersion: number;
  configVersion: bigint;
}

/** FOLLOWERINFO (or OBSERVERINFO with `observer`): zxid makeZxid(acceptedEpoch, 0). */
export function learnerInfoPacket(acceptedEpoch: number, info: LearnerInfo, observer = false): QuorumPacket {
  const w = new Writer(20);
  w.long(info.serverId).int(info.protocolVersion).long(info.configVersion);
  return packet(observer ? PacketType.OBSERVERINFO : PacketType.FOLLOWERINFO, makeZxid(acceptedEpoch, 0), w.toBuffer());
}

/**
 * LearnerInfo as LearnerHandler reads it: the sid if there are 8 bytes, the protocol version if 12, the config
 * version if 20; missing fields are undefined (an old learner). null data: undefined (the leader then assigns an id).
 */
export function readLearnerInfo(p: QuorumPacket): Partial<LearnerInfo> | undefined {
  const d = p.data;
  if (d === null) return undefined;
  const out: Partial<LearnerInfo> = {};
  if (d.length >= 8) out.serverId = d.readBigInt64BE(0);
  if (d.length >= 12) out.protocolVersion = d.readInt32BE(8);
  if (d.length >= 20) out.configVersion = d.readBigInt64BE(12);
  return out;
}

function intData(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v | 0, 0);
  return b;
}

/** LEADERINFO: zxid makeZxid(newEpoch, 0), data the protocol version. */
export function leaderInfoPacket(newEpoch: number, protocolVersion = ZAB_PROTOCOL_VERSION): QuorumPacket {
  return packet(PacketType.LEADERINFO, makeZxid(newEpoch, 0), intData(protocolVersion));
}
export function readLeaderInfoVersion(p: QuorumPacket): number {
  return need(p, 4, 'protocol version').readInt32BE(0);
}

/** ACKEPOCH: zxid the learner's lastLoggedZxid, data its currentEpoch (-1 when it had already accepted the epoch). */
export function ackEpochPacket(lastLoggedZxid: number, currentEpoch: number): QuorumPacket {
  return packet(PacketType.ACKEPOCH, lastLoggedZxid, intData(currentEpoch));
}
export function readAckEpoch(p: QuorumPacket): number {
  return need(p, 4, 'current epoch').readInt32BE(0);
}

export function diffPacket(zxid: number): QuorumPacket {
  return packet(PacketType.DIFF, zxid);
}
export function truncPacket(zxid: number): QuorumPacket {
  return packet(PacketType.TRUNC, zxid);
}
export function snapPacket(zxid: number): QuorumPacket {
  return packet(PacketType.SNAP, zxid);
}

/** NEWLEADER: zxid makeZxid(newEpoch, 0), data QuorumVerifier.toString() (null for pre-1.0 learners). */
export function newLeaderPacket(newLeaderZxid: number, config: string | null): QuorumPacket {
  return packet(PacketType.NEWLEADER, newLeaderZxid, config === null ? null : Buffer.from(config, 'utf8'));
}
export function readNewLeaderConfig(p: QuorumPacket): string | null {
  return p.data === null ? null : p.data.toString('utf8');
}

export function upToDatePacket(): QuorumPacket {
  return packet(PacketType.UPTODATE, -1);
}
export function ackPacket(zxid: number): QuorumPacket {
  return packet(PacketType.ACK, zxid);
}
export function commitPacket(zxid: number): QuorumPacket {
  return packet(PacketType.COMMIT, zxid);
}
/** SYNC: the leader's answer to a forwarded sync (zxid 0). */
export function syncPacket(): QuorumPacket {
  return packet(PacketType.SYNC, 0);
}

/** Util.marshallTxnEntry: TxnHeader, then the txn record, then the TxnDigest when there is one. */
export function marshallTxnEntry(hdr: TxnHeader, txn: Txn | null, digest?: TxnDigest): Buffer {
  const w = new Writer(128);
  writeTxnHeader(w, hdr);
  if (txn !== null) writeTxn(w, txn);
  if (digest !== undefined) w.int(digest.version).long(digest.treeDigest);
  return w.toBuffer();
}

/** SerializeUtils.deserializeTxn of a PROPOSAL / INFORM payload (the txn-log record layout). */
export function decodeTxnEntry(data: Buffer): TxnEntry {
  return decodeTxnPayload(data);
}

/** PROPOSAL: zxid = the txn's zxid, data = marshallTxnEntry. */
export function proposalPacket(hdr: TxnHeader, txn: Txn | null, digest?: TxnDigest): QuorumPacket {
  return packet(PacketType.PROPOSAL, hdr.zxid, marshallTxnEntry(hdr, txn, digest));
}

/** INFORM (to observers in place of PROPOSAL + COMMIT): the proposal's bytes. */
export function informPacket(zxid: number, proposalData: Buffer): QuorumPacket {
  return packet(PacketType.INFORM, zxid, proposalData);
}

/** COMMITANDACTIVATE (Leader.commitAndActivate): data is the designated leader only. */
export function commitAndActivatePacket(zxid: number, designatedLeader: bigint): QuorumPacket {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(designatedLeader, 0);
  return packet(PacketType.COMMITANDACTIVATE, zxid, b);
}

/** INFORMANDACTIVATE (Leader.buildInformAndActivePacket): designated leader, then the proposal's bytes. */
export function informAndActivatePacket(zxid: number, designatedLeader: bigint, proposalData: Buffer): QuorumPacket {
  const b = Buffer.alloc(8 + proposalData.length);
  b.writeBigInt64BE(designatedLeader, 0);
  proposalData.copy(b, 8);
  return packet(PacketType.INFORMANDACTIVATE, zxid, b);
}

/** COMMITANDACTIVATE / INFORMANDACTIVATE: the designated leader and what follows it (empty for COMMITANDACTIVATE). */
export function readActivate(p: QuorumPacket): { designatedLeader: bigint; rest: Buffer } {
  const d = need(p, 8, 'designated leader');
  return { designatedLeader: d.readBigInt64BE(0), rest: d.subarray(8) };
}

export interface ForwardedRequest {
  sessionId: bigint;
  cxid: number;
  /** OpCode */
  type: number;
  /** The request record as the client sent it (after the RequestHeader). */
  request: Buffer;
  authinfo: Id[] | null;
}

/** REQUEST (Learner.request): zxid 0. */
export function requestPacket(r: ForwardedRequest): QuorumPacket {
  const b = Buffer.alloc(16 + r.request.length);
  b.writeBigInt64BE(r.sessionId, 0);
  b.writeInt32BE(r.cxid | 0, 8);
  b.writeInt32BE(r.type | 0, 12);
  r.request.copy(b, 16);
  return packet(PacketType.REQUEST, 0, b, r.authinfo);
}
export function readRequest(p: QuorumPacket): ForwardedRequest {
  const d = need(p, 16, 'request header');
  return {
    sessionId: d.readBigInt64BE(0),
    cxid: d.readInt32BE(8),
    type: d.readInt32BE(12),
    request: d.subarray(16),
    authinfo: p.authinfo,
  };
}

export interface SessionTouch {
  sessionId: bigint;
  timeoutMs: number;
}

/** PING from the leader: zxid = lastProposed. */
export function leaderPingPacket(lastProposed: number): QuorumPacket {
  return packet(PacketType.PING, lastProposed);
}

/** The learner's answer to a PING (Learner.ping): the same zxid and authinfo, data = its session touches. */
export function learnerPingPacket(ping: QuorumPacket, touches: readonly SessionTouch[]): QuorumPacket {
  const b = Buffer.alloc(12 * touches.length);
  touches.forEach((t, i) => {
    b.writeBigInt64BE(t.sessionId, i * 12);
    b.writeInt32BE(t.timeoutMs | 0, i * 12 + 8);
  });
  return packet(PacketType.PING, ping.zxid, b, ping.authinfo);
}

/** The touches of a learner's PING (LearnerHandler reads pairs while bytes remain; a torn pair is an error). */
export function readSessionTouches(p: QuorumPacket): SessionTouch[] {
  const d = p.data;
  if (d === null) return [];
  if (d.length % 12 !== 0) throw new JuteError(`PING data of ${d.length} bytes is not (long, int) pairs`);
  const out: SessionTouch[] = [];
  for (let off = 0; off < d.length; off += 12) out.push({ sessionId: d.readBigInt64BE(off), timeoutMs: d.readInt32BE(off + 8) });
  return out;
}

/** REVALIDATE from a learner (Learner.validateSession): zxid -1. */
export function revalidatePacket(sessionId: bigint, timeoutMs: number): QuorumPacket {
  const b = Buffer.alloc(12);
  b.writeBigInt64BE(sessionId, 0);
  b.writeInt32BE(timeoutMs | 0, 8);
  return packet(PacketType.REVALIDATE, -1, b);
}
export function readRevalidate(p: QuorumPacket): SessionTouch {
  const d = need(p, 12, 'session id and timeout');
  return { sessionId: d.readBigInt64BE(0), timeoutMs: d.readInt32BE(8) };
}

/** The leader's REVALIDATE answer (Leader.revalidateSession): the request packet with data (long id, bool valid). */
export function revalidateReplyPacket(request: QuorumPacket, sessionId: bigint, valid: boolean): QuorumPacket {
  const b = Buffer.alloc(9);
  b.writeBigInt64BE(sessionId, 0);
  b[8] = valid ? 1 : 0;
  return packet(PacketType.REVALIDATE, request.zxid, b, request.authinfo);
}
export function readRevalidateReply(p: QuorumPacket): { sessionId: bigint; valid: boolean } {
  const d = need(p, 9, 'session id and validity');
  return { sessionId: d.readBigInt64BE(0), valid: d[8] !== 0 };
}
