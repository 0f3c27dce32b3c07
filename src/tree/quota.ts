// tree/quota.ts: ZooKeeper's quota bookkeeping (Quotas, StatsTrack, the PathTrie of quota roots).
//
// A quota on /app lives in /zookeeper/quota/app/zookeeper_limits (the limits) and
// /zookeeper/quota/app/zookeeper_stats (current usage, kept up to date by the tree as txns apply). Both hold
// StatsTrack text: "count=N,bytes=M" and, since 3.7, hard limits appended after a "=" that old parsers ignore:
// "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=3". -1 means "no limit".

export const PROC_ZOOKEEPER = '/zookeeper';
export const QUOTA_ZOOKEEPER = '/zookeeper/quota';
export const CONFIG_ZOOKEEPER = '/zookeeper/config';
export const LIMIT_NODE = 'zookeeper_limits';
export const STAT_NODE = 'zookeeper_stats';

export function limitPath(path: string): string {
  return QUOTA_ZOOKEEPER + path + '/' + LIMIT_NODE;
}
export function statPath(path: string): string {
  return QUOTA_ZOOKEEPER + path + '/' + STAT_NODE;
}
/** "/zookeeper/quota/app" -> "/app" (no check that the prefix is there, as upstream). */
export function trimQuotaPath(quotaPath: string): string {
  return quotaPath.slice(QUOTA_ZOOKEEPER.length);
}

const COUNT = 'count';
const BYTES = 'bytes';
export const COUNT_HARD_LIMIT = 'countHardLimit';
export const BYTE_HARD_LIMIT = 'byteHardLimit';
const UNSET = -1;
const JAVA_LONG = /^[+-]?\d+$/;

/** StatsTrack: a bag of named longs. Missing keys read as -1. */
export class StatsTrack {
  private readonly stats = new Map<string, number>();

  /** Parses StatsTrack text; pairs are split on runs of ',' or ';'; an unparsable value is skipped. */
  static parse(text: string): StatsTrack {
    const st = new StatsTrack();
    if (text.length === 0) return st;
    for (const pair of text.split(/[,;]+/)) {
      const kv = pair.split('=');
      while (kv.length > 1 && kv[kv.length - 1] === '') kv.pop(); // Java's split drops trailing empties
      if (kv.length < 2) continue;
      const value = kv[1] === '' ? UNSET : JAVA_LONG.test(kv[1]) ? Number(kv[1]) : NaN;
      if (Number.isSafeInteger(value)) st.stats.set(kv[0], value);
    }
    return st;
  }

  get(key: string): number {
    return this.stats.get(key) ?? UNSET;
  }
  set(key: string, value: number): this {
    this.stats.set(key, value);
    return this;
  }
  get count(): number {
    return this.get(COUNT);
  }
  set count(v: number) {
    this.set(COUNT, v);
  }
  get bytes(): number {
    return this.get(BYTES);
  }
  set bytes(v: number) {
    this.set(BYTES, v);
  }
  get countHardLimit(): number {
    return this.get(COUNT_HARD_LIMIT);
  }
  get byteHardLimit(): number {
    return this.get(BYTE_HARD_LIMIT);
  }

  /** count and bytes first (old parsers read only those), then "=" and the other keys sorted, ';'-separated. */
  toString(): string {
    let s = `${COUNT}=${this.count},${BYTES}=${this.bytes}`;
    const extra = [...this.stats.keys()].filter((k) => k !== COUNT && k !== BYTES).sort();
    if (extra.length > 0) s += '=' + extra.map((k) => `;${k}=${this.stats.get(k)}`).join('');
    return s;
  }
}

/**
 * The set of paths that have a quota (upstream's PathTrie with a property on each quota root). Lookups walk the
 * path's prefixes; quota roots are few, so a Set does what the trie does.
 */
export class QuotaRoots {
  private readonly roots = new Set<string>();

  /** Normalises as PathTrie.split does: empty components dropped, so "app", "/app" and "/app/" are one path. */
  private static norm(path: string): string {
    return '/' + path.split('/').filter((c) => c.trim() !== '').join('/');
  }

  add(path: string): void {
    this.roots.add(QuotaRoots.norm(path));
  }

  /** PathTrie.deletePath drops the trie node and so every quota root below it as well. */
  delete(path: string): void {
    const p = QuotaRoots.norm(path);
    if (p === '/') return;
    for (const r of [...this.roots]) if (r === p || r.startsWith(p + '/')) this.roots.delete(r);
  }

  clear(): void {
    this.roots.clear();
  }

  /** The deepest quota root that is `path` or an ancestor of it; undefined if none. A quota on "/" is ignored. */
  maxPrefix(path: string): string | undefined {
    if (this.roots.size === 0) return undefined;
    let p = QuotaRoots.norm(path);
    while (p !== '/') {
      if (this.roots.has(p)) return p;
      p = p.slice(0, p.lastIndexOf('/')) || '/';
    }
    return undefined;
  }
}
