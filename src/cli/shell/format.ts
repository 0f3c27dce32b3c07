// cli/shell/format.ts: zkCli's printed forms: the Stat block (Java Date and hex), ACL ids (jute's CSV text) and
// permission letters, the ACL argument parser, Java's client-side path check with its messages, quota records
// (StatsTrack) and the names of states and events.
import { EventType, KeeperState, Perms } from '../../protocol/constants.js';
import type { ACL, Id, Stat } from '../../protocol/records.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function tzName(d: Date): string {
  try {
    const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName');
    if (part) return part.value === 'GMT' && d.getTimezoneOffset() === 0 ? 'UTC' : part.value;
  } catch {
    // fall through
  }
  return 'UTC';
}

/** java.util.Date.toString(): "Sun Nov 22 00:21:36 UTC 2026" in the local time zone. */
export function javaDate(ms: number): string {
  const d = new Date(ms);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${tzName(d)} ${d.getFullYear()}`;
}

/** Long.toHexString: unsigned 64-bit hex. */
export function javaHex(v: number | bigint): string {
  return BigInt.asUintN(64, BigInt(v)).toString(16);
}

/** StatPrinter's eleven lines. */
export function formatStat(s: Stat): string {
  return [
    `cZxid = 0x${javaHex(s.czxid)}`,
    `ctime = ${javaDate(s.ctime)}`,
    `mZxid = 0x${javaHex(s.mzxid)}`,
    `mtime = ${javaDate(s.mtime)}`,
    `pZxid = 0x${javaHex(s.pzxid)}`,
    `cversion = ${s.cversion}`,
    `dataVersion = ${s.version}`,
    `aclVersion = ${s.aversion}`,
    `ephemeralOwner = 0x${javaHex(s.ephemeralOwner)}`,
    `dataLength = ${s.dataLength}`,
    `numChildren = ${s.numChildren}`,
  ].join('\n') + '\n';
}

/** A string as jute's CSV text form: a leading quote, and , % } newline CR NUL escaped as %XX. */
function csvString(s: string): string {
  let out = "'";
  for (const c of s) {
    switch (c) {
      case '\0': out += '%00'; break;
      case '\n': out += '%0A'; break;
      case '\r': out += '%0D'; break;
      case ',': out += '%2C'; break;
      case '}': out += '%7D'; break;
      case '%': out += '%25'; break;
      default: out += c;
    }
  }
  return out;
}

/** Id.toString() as zkCli's getAcl prints it: 'world,'anyone */
export function idText(id: Id): string {
  return `${csvString(id.scheme)},${csvString(id.id)}`;
}

/** ZKUtil.getPermString: the letters c d r w a in that order. */
export function permString(perms: number): string {
  let s = '';
  if (perms & Perms.CREATE) s += 'c';
  if (perms & Perms.DELETE) s += 'd';
  if (perms & Perms.READ) s += 'r';
  if (perms & Perms.WRITE) s += 'w';
  if (perms & Perms.ADMIN) s += 'a';
  return s;
}

/**
 * AclParser.parse: "scheme:id:perms[,...]"; the id is everything between the first and last colon. Malformed entries
 * and unknown permission letters are reported through `warn` (zkCli prints them to stderr) and skipped.
 */
export function parseAcl(text: string, warn: (line: string) => void): ACL[] {
  const out: ACL[] = [];
  for (const a of javaSplit(text, ',')) {
    const first = a.indexOf(':');
    const last = a.lastIndexOf(':');
    if (first === -1 || first === last) {
      warn(`${a} does not have the form scheme:id:perm`);
      continue;
    }
    let perms = 0;
    for (const ch of a.slice(last + 1)) {
      switch (ch) {
        case 'r': perms |= Perms.READ; break;
        case 'w': perms |= Perms.WRITE; break;
        case 'c': perms |= Perms.CREATE; break;
        case 'd': perms |= Perms.DELETE; break;
        case 'a': perms |= Perms.ADMIN; break;
        default: warn(`Unknown perm type: ${ch}`);
      }
    }
    out.push({ perms, id: { scheme: a.slice(0, first), id: a.slice(first + 1, last) } });
  }
  return out;
}

/** String.split(sep) in Java: trailing empty strings are dropped. */
export function javaSplit(s: string, sep: string): string[] {
  const parts = s.split(sep);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts.length === 0 ? [''] : parts;
}

/** Java's PathUtils.validatePath: returns the IllegalArgumentException message, or undefined when the path is valid. */
export function pathProblem(path: string, sequential = false): string | undefined {
  const p = sequential ? path + '1' : path;
  if (p.length === 0) return 'Path length must be > 0';
  if (p[0] !== '/') return 'Path must start with / character';
  if (p.length === 1) return undefined;
  if (p[p.length - 1] === '/') return 'Path must not end with / character';
  let reason: string | undefined;
  let last = '/';
  for (let i = 1; i < p.length; last = p[i], i++) {
    const c = p[i];
    const code = p.charCodeAt(i);
    if (code === 0) {
      reason = `null character not allowed @${i}`;
    } else if (c === '/' && last === '/') {
      reason = `empty node name specified @${i}`;
    } else if (c === '.' && last === '.') {
      if (p[i - 2] === '/' && (i + 1 === p.length || p[i + 1] === '/')) reason = `relative paths not allowed @${i}`;
    } else if (c === '.') {
      if (p[i - 1] === '/' && (i + 1 === p.length || p[i + 1] === '/')) reason = `relative paths not allowed @${i}`;
    } else if ((code > 0 && code <= 0x1f) || (code >= 0x7f && code <= 0x9f) || (code >= 0xd800 && code <= 0xf8ff) || (code >= 0xfff0 && code <= 0xffff)) {
      reason = `invalid character @${i}`;
    }
    if (reason) break;
  }
  return reason ? `Invalid path string "${p}" caused by ${reason}` : undefined;
}

const STATE_NAMES = new Map<number, string>(Object.entries(KeeperState).map(([k, v]) => [v, k]));
const EVENT_NAMES = new Map<number, string>(Object.entries(EventType).map(([k, v]) => [v, k]));

/** WatchedEvent.toString(). */
export function eventText(ev: { type: number; state: number; path: string | null }): string {
  return `WatchedEvent state:${STATE_NAMES.get(ev.state) ?? ev.state} type:${EVENT_NAMES.get(ev.type) ?? ev.type} path:${ev.path ?? 'null'}`;
}

// ---------------------------------------------------------------- quotas

export const QUOTA_ROOT = '/zookeeper/quota';
export const LIMIT_NODE = 'zookeeper_limits';
export const STAT_NODE = 'zookeeper_stats';

/** A quota record ("count=5,bytes=100=;byteHardLimit=-1;countHardLimit=1"), as ZooKeeper's StatsTrack. */
export class StatsTrack {
  readonly stats = new Map<string, number>();

  constructor(text = '') {
    if (!text) return;
    for (const pair of text.split(/[,;]+/)) {
      if (pair === '') continue;
      const kv = pair.split('=');
      const v = kv[1] === undefined || kv[1] === '' ? -1 : Number(kv[1]);
      this.stats.set(kv[0], Number.isFinite(v) ? v : -1);
    }
  }

  get(key: string): number {
    return this.stats.get(key) ?? -1;
  }
  set(key: string, v: number): void {
    this.stats.set(key, v);
  }

  toString(): string {
    let s = `count=${this.get('count')},bytes=${this.get('bytes')}`;
    const others = [...this.stats.keys()].filter((k) => k !== 'count' && k !== 'bytes').sort();
    if (others.length > 0) {
      s += '=';
      for (const k of others) s += `;${k}=${this.stats.get(k)}`;
    }
    return s;
  }
}
