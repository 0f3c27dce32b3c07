// tree/acl.ts: ACL checks, ACL fix-up at create/setACL, and the built-in auth schemes (digest, ip), following
// ZooKeeperServer.checkACL, PrepRequestProcessor.fixupACL and server/auth/{Digest,IP}AuthenticationProvider.
//
// Only the providers ZooKeeper registers by default exist here: "ip" and "digest" (plus the "world:anyone" id and
// the "super" auth id). sasl and x509 are registered upstream only through configuration; add them here when the
// server grows them.
//
// Deliberate extension: upstream's ip provider parses only IPv4 (its IPv6 branch is a TODO), so upstream treats an
// IPv6 ACL id as invalid. We accept and match IPv6 ids too, and we see IPv4-mapped IPv6 remote addresses
// ("::ffff:10.0.0.1", what Node reports on a dual-stack socket) as the IPv4 address Java would report.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { ACL, Id } from '../protocol/records.js';

export const SCHEME_WORLD = 'world';
export const SCHEME_AUTH = 'auth';
export const SCHEME_DIGEST = 'digest';
export const SCHEME_IP = 'ip';
export const SCHEME_SUPER = 'super';
export const ID_ANYONE = 'anyone';

/** Schemes whose ids stand for an authenticated user ("auth" ACL entries expand to these). ip is not one. */
const AUTHENTICATED_SCHEMES: ReadonlySet<string> = new Set([SCHEME_DIGEST]);

export function isSuper(authIds: readonly Id[]): boolean {
  return authIds.some((id) => id.scheme === SCHEME_SUPER);
}

/**
 * True when some entry grants `perm` to one of `authIds`. An empty ACL list allows everything (upstream treats a
 * node without ACL as open); a "super" auth id passes every check.
 */
export function checkACL(acl: readonly ACL[], perm: number, authIds: readonly Id[]): boolean {
  if (acl.length === 0 || isSuper(authIds)) return true;
  for (const a of acl) {
    if ((a.perms & perm) === 0) continue;
    if (a.id.scheme === SCHEME_WORLD && a.id.id === ID_ANYONE) return true;
    for (const who of authIds) {
      if (who.scheme === a.id.scheme && idMatches(a.id.scheme, who.id, a.id.id)) return true;
    }
  }
  return false;
}

function idMatches(scheme: string, authId: string, aclId: string): boolean {
  if (scheme === SCHEME_DIGEST) return authId === aclId;
  if (scheme === SCHEME_IP) return ipMatches(authId, aclId);
  return false; // no provider registered for this scheme: upstream never matches it
}

// ---------------------------------------------------------------- digest

/** "user:password" -> "user:" + base64(sha1("user:password")), as DigestAuthenticationProvider.generateDigest. */
export function digestId(userColonPassword: string): string {
  const user = userColonPassword.split(':', 1)[0];
  const hash = createHash('sha1').update(userColonPassword, 'utf8').digest('base64');
  return `${user}:${hash}`;
}

/** digest ids are "user:hash": exactly two parts after Java's split (which drops trailing empty parts). */
function isValidDigestId(id: string): boolean {
  return javaSplit(id, ':').length === 2;
}

/** String.split(regex) for a literal separator: trailing empty strings removed. */
function javaSplit(s: string, sep: string): string[] {
  const parts = s.split(sep);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

// ---------------------------------------------------------------- ip

/** Parses an IPv4 or IPv6 address to bytes; IPv4-mapped IPv6 becomes 4 bytes. undefined if not an address. */
export function ipBytes(addr: string): Uint8Array | undefined {
  const v4 = ipv4Bytes(addr);
  if (v4 !== undefined) return v4;
  if (isIP(addr) !== 6) return undefined;
  const v6 = ipv6Bytes(addr);
  if (v6 === undefined) return undefined;
  const mapped = v6.slice(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? v6.slice(12) : v6;
}

/** Java's v4addr2Bytes: four dot-separated Integer.parseInt values 0..255 ("010" is 10, "+1" is 1). */
function ipv4Bytes(addr: string): Uint8Array | undefined {
  const parts = addr.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const v = parseJavaInt(parts[i]);
    if (v === undefined || v < 0 || v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

const JAVA_INT = /^[+-]?\d{1,10}$/;
function parseJavaInt(s: string): number | undefined {
  if (!JAVA_INT.test(s)) return undefined;
  const v = Number(s);
  return v >= -0x80000000 && v <= 0x7fffffff ? v : undefined;
}

const IPV6_BYTES = 16;
function ipv6Bytes(addr: string): Uint8Array | undefined {
  let text = addr;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // A trailing dotted IPv4 part ("::ffff:1.2.3.4") stands for two groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipv4Bytes(tail);
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}${((v4[0] << 8) | v4[1]).toString(16)}:${((v4[2] << 8) | v4[3]).toString(16)}`;
  }
  const [head, rest] = text.split('::', 2) as [string, string | undefined];
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const fill = 8 - headGroups.length - tailGroups.length;
  if (rest === undefined ? fill !== 0 : fill < 0) return undefined;
  const groups = [...headGroups, ...new Array<string>(fill).fill('0'), ...tailGroups];
  const out = new Uint8Array(IPV6_BYTES);
  for (let i = 0; i < 8; i++) {
    const g = parseInt(groups[i], 16);
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  }
  return out;
}

/** Zeroes every bit after the first `bits`, as IPAuthenticationProvider.mask. */
function maskBytes(b: Uint8Array, bits: number): void {
  for (let i = 0; i < b.length; i++) {
    const keep = Math.min(8, Math.max(0, bits - i * 8));
    b[i] &= (0xff << (8 - keep)) & 0xff;
  }
}

/** Parses an ip ACL id "addr[/bits]"; undefined if invalid. */
function parseIpAcl(aclExpr: string): { addr: Uint8Array; bits: number } | undefined {
  const slash = aclExpr.indexOf('/');
  const addr = ipBytes(slash < 0 ? aclExpr : aclExpr.slice(0, slash));
  if (addr === undefined) return undefined;
  let bits = addr.length * 8;
  if (slash >= 0) {
    const b = parseJavaInt(aclExpr.slice(slash + 1));
    if (b === undefined || b < 0 || b > addr.length * 8) return undefined;
    bits = b;
  }
  return { addr, bits };
}

/** Does the client address `remote` fall in the ACL's "addr/bits" range? Families must agree. */
export function ipMatches(remote: string, aclExpr: string): boolean {
  const acl = parseIpAcl(aclExpr);
  const client = ipBytes(remote);
  if (acl === undefined || client === undefined || client.length !== acl.addr.length) return false;
  maskBytes(acl.addr, acl.bits);
  maskBytes(client, acl.bits);
  return acl.addr.every((b, i) => b === client[i]);
}

// ---------------------------------------------------------------- authentication

/**
 * The outcome of an AuthPacket. On success `ids` are the auth ids to add to the connection, in upstream's order:
 * a digest whose hash form equals the configured superDigest first yields `super:""`, then the `digest:` id.
 */
export type AuthResult = { ok: true; ids: Id[] } | { ok: false };

/**
 * Handles AuthPacket(scheme, auth). digest: always succeeds (the id is whatever the password hashes to).
 * ip: succeeds with the connection's address when `remoteAddress` is given. Any other scheme: no such provider,
 * which upstream answers with AUTHFAILED.
 */
export function authenticate(scheme: string, auth: Buffer, superDigest: string | undefined, remoteAddress?: string): AuthResult {
  if (scheme === SCHEME_DIGEST) {
    const id = digestId(auth.toString('utf8'));
    const ids: Id[] = [];
    if (superDigest !== undefined && id === superDigest) ids.push({ scheme: SCHEME_SUPER, id: '' });
    ids.push({ scheme: SCHEME_DIGEST, id });
    return { ok: true, ids };
  }
  if (scheme === SCHEME_IP && remoteAddress !== undefined) {
    return { ok: true, ids: [ipAuthId(remoteAddress)] };
  }
  return { ok: false };
}

/** The "ip" auth id every connection carries. IPv4-mapped addresses are shown as plain IPv4, as Java does. */
export function ipAuthId(remoteAddress: string): Id {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress);
  return { scheme: SCHEME_IP, id: mapped ? mapped[1] : remoteAddress };
}

// ---------------------------------------------------------------- fixupACL

function sameACL(a: ACL, b: ACL): boolean {
  return a.perms === b.perms && a.id.scheme === b.id.scheme && a.id.id === b.id.id;
}

/** Is this a valid id for a scheme that has a provider? */
function isValidId(id: Id): boolean {
  if (id.scheme === SCHEME_DIGEST) return isValidDigestId(id.id);
  if (id.scheme === SCHEME_IP) return parseIpAcl(id.id) !== undefined;
  return false;
}

/**
 * The ACL list a create or setACL stores, or undefined for INVALIDACL. Removes exact duplicates first; keeps
 * world:anyone; expands each "auth" entry into one entry per authenticated id of the caller (digest ids; ip ids do
 * not count), failing when there is none; every other entry must be a valid ip or digest id. Like upstream, perms
 * are not checked and entries produced by "auth" expansion are not de-duplicated again.
 */
export function fixupACL(acl: readonly ACL[] | null, authIds: readonly Id[]): ACL[] | undefined {
  if (acl === null) return undefined;
  const unique: ACL[] = [];
  for (const a of acl) if (!unique.some((u) => sameACL(u, a))) unique.push(a);
  if (unique.length === 0) return undefined;
  const out: ACL[] = [];
  for (const a of unique) {
    if (a.id.scheme === SCHEME_WORLD && a.id.id === ID_ANYONE) {
      out.push(a);
    } else if (a.id.scheme === SCHEME_AUTH) {
      const mine = authIds.filter((id) => AUTHENTICATED_SCHEMES.has(id.scheme));
      if (mine.length === 0) return undefined;
      for (const id of mine) out.push({ perms: a.perms, id: { scheme: id.scheme, id: id.id } });
    } else if (isValidId(a.id)) {
      out.push(a);
    } else {
      return undefined;
    }
  }
  return out;
}
