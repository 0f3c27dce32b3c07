// Record layouts of zookeeper.jute used on the client port and in txns. Each record has an interface, a writer
// and a reader. Field order is the wire order.
import { JuteError, Reader, Writer } from '../jute/codec.js';

// ---------------------------------------------------------------- data

export interface Id {
  scheme: string;
  id: string;
}
export interface ACL {
  perms: number;
  id: Id;
}

export interface Stat {
  czxid: number;
  mzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  pzxid: number;
}

export const STAT_BYTES = 68;

export function writeId(w: Writer, v: Id): void {
  w.string(v.scheme).string(v.id);
}
export function readId(r: Reader): Id {
  return { scheme: r.str(), id: r.str() };
}
export function writeACL(w: Writer, v: ACL): void {
  w.int(v.perms);
  writeId(w, v.id);
}
export function readACL(r: Reader): ACL {
  return { perms: r.int(), id: readId(r) };
}
export function writeACLs(w: Writer, v: readonly ACL[] | null): void {
  w.vector(v, writeACL);
}
export function readACLs(r: Reader): ACL[] | null {
  return r.vector(readACL);
}

export function writeStat(w: Writer, s: Stat): void {
  w.longNum(s.czxid).longNum(s.mzxid).longNum(s.ctime).longNum(s.mtime);
  w.int(s.version).int(s.cversion).int(s.aversion);
  w.long(s.ephemeralOwner).int(s.dataLength).int(s.numChildren).longNum(s.pzxid);
}
export function readStat(r: Reader): Stat {
  return {
    czxid: r.longNum(),
    mzxid: r.longNum(),
    ctime: r.longNum(),
    mtime: r.longNum(),
    version: r.int(),
    cversion: r.int(),
    aversion: r.int(),
    ephemeralOwner: r.long(),
    dataLength: r.int(),
    numChildren: r.int(),
    pzxid: r.longNum(),
  };
}

// ---------------------------------------------------------------- session establishment

export interface ConnectRequest {
  protocolVersion: number;
  lastZxidSeen: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Buffer;
  /** undefined when the client is "old" and sent no readOnly byte. */
  readOnly: boolean | undefined;
}
export function writeConnectRequest(w: Writer, v: ConnectRequest): void {
  w.int(v.protocolVersion).longNum(v.lastZxidSeen).int(v.timeOut).long(v.sessionId).buffer(v.passwd);
  if (v.readOnly !== undefined) w.bool(v.readOnly);
}
export function readConnectRequest(r: Reader): ConnectRequest {
  const v = {
    protocolVersion: r.int(),
    lastZxidSeen: r.longNum(),
    timeOut: r.int(),
    sessionId: r.long(),
    passwd: r.buffer() ?? Buffer.alloc(0),
    readOnly: undefined as boolean | undefined,
  };
  if (r.remaining > 0) v.readOnly = r.bool();
  return v;
}

export interface ConnectResponse {
  protocolVersion: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Buffer;
  readOnly: boolean | undefined;
}
export function writeConnectResponse(w: Writer, v: ConnectResponse): void {
  w.int(v.protocolVersion).int(v.timeOut).long(v.sessionId).buffer(v.passwd);
  if (v.readOnly !== undefined) w.bool(v.readOnly);
}
export function readConnectResponse(r: Reader): ConnectResponse {
  const v = {
    protocolVersion: r.int(),
    timeOut: r.int(),
    sessionId: r.long(),
    passwd: r.buffer() ?? Buffer.alloc(0),
    readOnly: undefined as boolean | undefined,
  };
  if (r.remaining > 0) v.readOnly = r.bool();
  return v;
}

// ---------------------------------------------------------------- headers

export interface RequestHeader {
  xid: number;
  type: number;
}
export function writeRequestHeader(w: Writer, v: RequestHeader): void {
  w.int(v.xid).int(v.type);
}
export function readRequestHeader(r: Reader): RequestHeader {
  return { xid: r.int(), type: r.int() };
}

export interface ReplyHeader {
  xid: number;
  zxid: number;
  err: number;
}
export function writeReplyHeader(w: Writer, v: ReplyHeader): void {
  w.int(v.xid).longNum(v.zxid).int(v.err);
}
export function readReplyHeader(r: Reader): ReplyHeader {
  return { xid: r.int(), zxid: r.longNum(), err: r.int() };
}

export interface WatcherEvent {
  type: number;
  state: number;
  path: string;
}
export function writeWatcherEvent(w: Writer, v: WatcherEvent): void {
  w.int(v.type).int(v.state).string(v.path);
}
export function readWatcherEvent(r: Reader): WatcherEvent {
  return { type: r.int(), state: r.int(), path: r.str() };
}

export interface AuthPacket {
  type: number;
  scheme: string;
  auth: Buffer;
}
export function writeAuthPacket(w: Writer, v: AuthPacket): void {
  w.int(v.type).string(v.scheme).buffer(v.auth);
}
export function readAuthPacket(r: Reader): AuthPacket {
  return { type: r.int(), scheme: r.str(), auth: r.buffer() ?? Buffer.alloc(0) };
}

// ---------------------------------------------------------------- client requests (bodies after RequestHeader)

export interface CreateRequest {
  path: string;
  data: Buffer | null;
  acl: ACL[];
  flags: number;
  /** Only for createTTL (opcode 21). */
  ttl?: number;
}
export function writeCreateRequest(w: Writer, v: CreateRequest, withTtl: boolean): void {
  w.string(v.path).buffer(v.data);
  writeACLs(w, v.acl);
  w.int(v.flags);
  if (withTtl) w.longNum(v.ttl ?? 0);
}
export function readCreateRequest(r: Reader, withTtl: boolean): CreateRequest {
  const v: CreateRequest = { path: r.str(), data: r.buffer(), acl: readACLs(r) ?? [], flags: r.int() };
  if (withTtl) v.ttl = Number(r.long());
  return v;
}

export interface PathVersion {
  path: string;
  version: number;
}
/** DeleteRequest and CheckVersionRequest. */
export function writePathVersion(w: Writer, v: PathVersion): void {
  w.string(v.path).int(v.version);
}
export function readPathVersion(r: Reader): PathVersion {
  return { path: r.str(), version: r.int() };
}

export interface PathWatch {
  path: string;
  watch: boolean;
}
/** ExistsRequest, GetDataRequest, GetChildrenRequest, GetChildren2Request. */
export function writePathWatch(w: Writer, v: PathWatch): void {
  w.string(v.path).bool(v.watch);
}
export function readPathWatch(r: Reader): PathWatch {
  return { path: r.str(), watch: r.bool() };
}

export interface SetDataRequest {
  path: string;
  data: Buffer | null;
  version: number;
}
export function writeSetDataRequest(w: Writer, v: SetDataRequest): void {
  w.string(v.path).buffer(v.data).int(v.version);
}
export function readSetDataRequest(r: Reader): SetDataRequest {
  return { path: r.str(), data: r.buffer(), version: r.int() };
}

export interface SetACLRequest {
  path: string;
  acl: ACL[];
  version: number;
}
export function writeSetACLRequest(w: Writer, v: SetACLRequest): void {
  w.string(v.path);
  writeACLs(w, v.acl);
  w.int(v.version);
}
export function readSetACLRequest(r: Reader): SetACLRequest {
  return { path: r.str(), acl: readACLs(r) ?? [], version: r.int() };
}

/** GetACLRequest, SyncRequest, GetEphemeralsRequest, GetAllChildrenNumberRequest: a single path. */
export function writePath(w: Writer, path: string): void {
  w.string(path);
}
export function readPath(r: Reader): string {
  return r.str();
}

export interface PathType {
  path: string;
  type: number;
}
/** CheckWatchesRequest, RemoveWatchesRequest (type = WatcherType), AddWatchRequest (type = mode). */
export function writePathType(w: Writer, v: PathType): void {
  w.string(v.path).int(v.type);
}
export function readPathType(r: Reader): PathType {
  return { path: r.str(), type: r.int() };
}

export interface SetWatches {
  relativeZxid: number;
  dataWatches: string[];
  existWatches: string[];
  childWatches: string[];
  /** SetWatches2 only. */
  persistentWatches: string[];
  persistentRecursiveWatches: string[];
}
export function writeSetWatches(w: Writer, v: SetWatches, v2: boolean): void {
  w.longNum(v.relativeZxid).stringVector(v.dataWatches).stringVector(v.existWatches).stringVector(v.childWatches);
  if (v2) w.stringVector(v.persistentWatches).stringVector(v.persistentRecursiveWatches);
}
export function readSetWatches(r: Reader, v2: boolean): SetWatches {
  return {
    relativeZxid: r.longNum(),
    dataWatches: r.stringVector(),
    existWatches: r.stringVector(),
    childWatches: r.stringVector(),
    persistentWatches: v2 ? r.stringVector() : [],
    persistentRecursiveWatches: v2 ? r.stringVector() : [],
  };
}

export interface ReconfigRequest {
  joiningServers: string | null;
  leavingServers: string | null;
  newMembers: string | null;
  curConfigId: number;
}
export function writeReconfigRequest(w: Writer, v: ReconfigRequest): void {
  w.string(v.joiningServers).string(v.leavingServers).string(v.newMembers).longNum(v.curConfigId);
}
export function readReconfigRequest(r: Reader): ReconfigRequest {
  return { joiningServers: r.string(), leavingServers: r.string(), newMembers: r.string(), curConfigId: r.longNum() };
}

// ---------------------------------------------------------------- responses

export interface GetDataResponse {
  data: Buffer | null;
  stat: Stat;
}
export function writeGetDataResponse(w: Writer, v: GetDataResponse): void {
  w.buffer(v.data);
  writeStat(w, v.stat);
}
export function readGetDataResponse(r: Reader): GetDataResponse {
  return { data: r.buffer(), stat: readStat(r) };
}

export interface GetACLResponse {
  acl: ACL[];
  stat: Stat;
}
export function writeGetACLResponse(w: Writer, v: GetACLResponse): void {
  writeACLs(w, v.acl);
  writeStat(w, v.stat);
}
export function readGetACLResponse(r: Reader): GetACLResponse {
  return { acl: readACLs(r) ?? [], stat: readStat(r) };
}

export interface Create2Response {
  path: string;
  stat: Stat;
}
export function writeCreate2Response(w: Writer, v: Create2Response): void {
  w.string(v.path);
  writeStat(w, v.stat);
}
export function readCreate2Response(r: Reader): Create2Response {
  return { path: r.str(), stat: readStat(r) };
}

export interface GetChildren2Response {
  children: string[];
  stat: Stat;
}
export function writeGetChildren2Response(w: Writer, v: GetChildren2Response): void {
  w.stringVector(v.children);
  writeStat(w, v.stat);
}
export function readGetChildren2Response(r: Reader): GetChildren2Response {
  return { children: r.stringVector(), stat: readStat(r) };
}

export interface ClientInfo {
  authScheme: string;
  user: string;
}
export function writeWhoAmIResponse(w: Writer, v: ClientInfo[]): void {
  w.vector(v, (ww, c) => ww.string(c.authScheme).string(c.user));
}
export function readWhoAmIResponse(r: Reader): ClientInfo[] {
  return r.vector((rr) => ({ authScheme: rr.str(), user: rr.str() })) ?? [];
}

// ---------------------------------------------------------------- multi

export interface MultiHeader {
  type: number;
  done: boolean;
  err: number;
}
export function writeMultiHeader(w: Writer, v: MultiHeader): void {
  w.int(v.type).bool(v.done).int(v.err);
}
export function readMultiHeader(r: Reader): MultiHeader {
  return { type: r.int(), done: r.bool(), err: r.int() };
}
export const MULTI_END: MultiHeader = { type: -1, done: true, err: -1 };

/** Upper bound on ops in one multi, so a hostile frame cannot make the server loop without end. */
export const MULTI_OPS_MAX = 100_000;

export function assertRecordConsumed(r: Reader, what: string): void {
  if (r.remaining !== 0) throw new JuteError(`${r.remaining} trailing bytes after ${what}`);
}
