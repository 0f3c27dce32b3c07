// tree/watches.ts: one table of watches (ZooKeeper's WatchManager). The DataTree keeps two: data watches (getData,
// exists, and the data side of persistent watches) and child watches (getChildren, and the child side of persistent
// watches).
//
// Semantics follow upstream's WatchManager, with one deliberate choice: a watcher may hold several modes on one
// path at once (standard + persistent, say), as in ZooKeeper 3.9 (ZOOKEEPER-4466). 3.8 kept one mode per
// (watcher, path), so a later getData(watch) silently turned a persistent watch into a one-time one; clients never
// expect that. Firing removes only the standard mode; a watcher gets at most one event per trigger.
import { EventType, KeeperState } from '../protocol/constants.js';
import type { ACL, WatcherEvent } from '../protocol/records.js';
import { parentOf } from './path.js';

/** A connection as the tree sees it. `acl` is the ACL of the node the event is about (absent for setWatches). */
export interface Watcher {
  readonly sessionId: bigint;
  deliver(event: WatcherEvent, acl?: readonly ACL[]): void;
}

export type WatchKind = 'data' | 'exist' | 'child' | 'persistent' | 'persistentRecursive';

/** Watch modes as bits, so one (watcher, path) entry can hold several. */
export const WatchMode = { standard: 1, persistent: 2, persistentRecursive: 4 } as const;
export type WatchModeBits = number;
export const ALL_MODES: WatchModeBits = 7;

export class WatchTable {
  /** path -> watchers with any mode on it */
  private readonly byPath = new Map<string, Set<Watcher>>();
  /** watcher -> path -> mode bits (never 0) */
  private readonly byWatcher = new Map<Watcher, Map<string, WatchModeBits>>();
  /** How many (watcher, path) entries hold the recursive mode: when 0, triggers skip the ancestor walk. */
  private recursiveCount = 0;

  /** Adds `mode` for (watcher, path); false if it was already there. */
  add(path: string, watcher: Watcher, mode: WatchModeBits): boolean {
    let paths = this.byWatcher.get(watcher);
    if (paths === undefined) this.byWatcher.set(watcher, (paths = new Map()));
    const old = paths.get(path) ?? 0;
    if ((old & mode) === mode) return false;
    paths.set(path, old | mode);
    let set = this.byPath.get(path);
    if (set === undefined) this.byPath.set(path, (set = new Set()));
    set.add(watcher);
    this.countRecursive(old, old | mode);
    return true;
  }

  /** Removes the given modes of (watcher, path); true if any was there. */
  remove(path: string, watcher: Watcher, modes: WatchModeBits = ALL_MODES): boolean {
    const paths = this.byWatcher.get(watcher);
    const old = paths?.get(path) ?? 0;
    if (paths === undefined || (old & modes) === 0) return false;
    this.setModes(path, watcher, paths, old & ~modes);
    return true;
  }

  /** Does (watcher, path) hold any of `modes`? */
  contains(path: string, watcher: Watcher, modes: WatchModeBits = ALL_MODES): boolean {
    return ((this.byWatcher.get(watcher)?.get(path) ?? 0) & modes) !== 0;
  }

  /** Connection closed: forget every watch of this watcher. */
  removeWatcher(watcher: Watcher): void {
    const paths = this.byWatcher.get(watcher);
    if (paths === undefined) return;
    for (const [path, mode] of paths) {
      this.countRecursive(mode, 0);
      const set = this.byPath.get(path);
      set?.delete(watcher);
      if (set?.size === 0) this.byPath.delete(path);
    }
    this.byWatcher.delete(watcher);
  }

  /**
   * Fires `type` at `path`: standard and persistent watches on the path itself, recursive watches on the path and
   * its ancestors (never for NodeChildrenChanged). Standard modes are consumed. Watchers in `suppress` are
   * consumed but not notified (a delete fires the data table first, then the child table suppressing those).
   * Returns the set of watchers that matched.
   */
  trigger(path: string, type: number, acl?: readonly ACL[], suppress?: ReadonlySet<Watcher>): Set<Watcher> {
    const matched = new Set<Watcher>();
    this.collectAt(path, true, type, matched);
    if (this.recursiveCount > 0 && path !== '/') {
      for (let p = parentOf(path); ; p = parentOf(p)) {
        this.collectAt(p, false, type, matched);
        if (p === '/') break;
      }
    }
    const event: WatcherEvent = { type, state: KeeperState.SyncConnected, path };
    for (const w of matched) if (suppress === undefined || !suppress.has(w)) w.deliver(event, acl);
    return matched;
  }

  private collectAt(path: string, atPath: boolean, type: number, out: Set<Watcher>): void {
    const set = this.byPath.get(path);
    if (set === undefined) return;
    for (const w of [...set]) {
      const paths = this.byWatcher.get(w);
      const mode = paths?.get(path) ?? 0;
      if (paths === undefined || mode === 0) continue;
      if (atPath) {
        out.add(w);
        if (mode & WatchMode.standard) this.setModes(path, w, paths, mode & ~WatchMode.standard);
      } else if (mode & WatchMode.persistentRecursive && type !== EventType.NodeChildrenChanged) {
        out.add(w);
      }
    }
  }

  private setModes(path: string, watcher: Watcher, paths: Map<string, WatchModeBits>, mode: WatchModeBits): void {
    const old = paths.get(path) ?? 0;
    this.countRecursive(old, mode);
    if (mode !== 0) {
      paths.set(path, mode);
      return;
    }
    paths.delete(path);
    if (paths.size === 0) this.byWatcher.delete(watcher);
    const set = this.byPath.get(path);
    set?.delete(watcher);
    if (set?.size === 0) this.byPath.delete(path);
  }

  private countRecursive(oldMode: WatchModeBits, newMode: WatchModeBits): void {
    const had = (oldMode & WatchMode.persistentRecursive) !== 0;
    const has = (newMode & WatchMode.persistentRecursive) !== 0;
    if (had !== has) this.recursiveCount += has ? 1 : -1;
  }

  /** Watchers summed over paths (upstream's WatchManager.size()). */
  get size(): number {
    let n = 0;
    for (const set of this.byPath.values()) n += set.size;
    return n;
  }

  /** For wchs: connections, watched paths, total (watcher, path) pairs. */
  summary(): { connections: number; paths: number; watches: number } {
    let watches = 0;
    for (const paths of this.byWatcher.values()) watches += paths.size;
    return { connections: this.byWatcher.size, paths: this.byPath.size, watches };
  }

  /** For wchc: session -> watched paths. Watchers of one session (e.g. after a reconnect) are merged. */
  bySession(): Map<bigint, string[]> {
    const out = new Map<bigint, string[]>();
    for (const [w, paths] of this.byWatcher) {
      const list = out.get(w.sessionId) ?? [];
      for (const p of paths.keys()) if (!list.includes(p)) list.push(p);
      out.set(w.sessionId, list);
    }
    return out;
  }

  /** For wchp: path -> sessions watching it. */
  byPathReport(): Map<string, bigint[]> {
    const out = new Map<string, bigint[]>();
    for (const [p, set] of this.byPath) out.set(p, [...new Set([...set].map((w) => w.sessionId))]);
    return out;
  }
}
