// tree/ owns the data tree: znodes, their Stat, ACL checks, quotas and watches, and how txns apply to them. It is a
// pure core (no I/O, no clock: time arrives in the txn header). It may import util/, protocol/ and txn/ only.
//
// path.ts: znode path rules (ZooKeeper's PathUtils) and the two splitters every layer needs.

/**
 * Checks a znode path as PathUtils.validatePath does. Returns undefined when valid, else the reason (the same words
 * ZooKeeper puts in its IllegalArgumentException). For a sequential create the server validates `path + "1"`,
 * because the suffix is appended later and "/a/" is then a fine prefix.
 */
export function validatePath(path: string, isSequential = false): string | undefined {
  const p = isSequential ? path + '1' : path;
  if (p.length === 0) return 'Path length must be > 0';
  if (p.charCodeAt(0) !== SLASH) return 'Path must start with / character';
  if (p.length === 1) return undefined;
  if (p.charCodeAt(p.length - 1) === SLASH) return 'Path must not end with / character';
  const reason = firstBadChar(p);
  return reason === undefined ? undefined : `Invalid path string "${p}" caused by ${reason}`;
}

const SLASH = 0x2f;
const DOT = 0x2e;

/** Scans UTF-16 code units as Java's char[] loop does, so surrogates count as invalid exactly like upstream. */
function firstBadChar(p: string): string | undefined {
  let last = SLASH;
  for (let i = 1; i < p.length; last = p.charCodeAt(i), i++) {
    const c = p.charCodeAt(i);
    if (c === 0) return `null character not allowed @${i}`;
    if (c === SLASH && last === SLASH) return `empty node name specified @${i}`;
    if (c === DOT && isWholeSegment(p, i, last === DOT ? 2 : 1)) return `relative paths not allowed @${i}`;
    if (isInvalidChar(c)) return `invalid character @${i}`;
  }
  return undefined;
}

/** True when the `len` characters ending at index `end` form a whole segment ("." or ".."). */
function isWholeSegment(p: string, end: number, len: number): boolean {
  const before = end - len;
  const after = end + 1;
  return p.charCodeAt(before) === SLASH && (after === p.length || p.charCodeAt(after) === SLASH);
}

function isInvalidChar(c: number): boolean {
  return (c > 0x00 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) || (c >= 0xfff0 && c <= 0xffff);
}

/** "/a/b" -> "/a", "/a" -> "/". The root has no parent; parentOf("/") is "/" so callers need no special case. */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** "/a/b" -> "b"; "/" -> "". */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Joins a parent path and a child name without doubling the root's slash. */
export function childPath(parent: string, name: string): string {
  return parent === '/' ? '/' + name : parent + '/' + name;
}
