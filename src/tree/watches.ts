// tree/watches.ts: one table of watches (ZooKeeper's WatchManager). The DataTree keeps two: data watches (getData,
// exists, and the data side of persistent and recursive watches) and child watches (getChildren, and the child side
// of persistent and recursive watches).
//
// Semantics follow ZooKeeper 3.8.0's WatchManager exactly, quirks included (3.9's ZOOKEEPER-4466 changed them):
// - A (watcher, path) entry holds ONE mode. Registering again replaces it: addWatch(persistent) then getData(watch)
//   leaves a one-time watch in the data table (the child table, untouched, stays persistent).
// - A watcher keeps its (possibly empty) entry from its first watch until its connection goes: wchs/wchc count and
//   list it with no paths after its last watch fired or was removed.
// - `watched(path)` (checkWatches) asks whether ANY watcher holds an entry on the path, not the asking one.
// A watcher gets at most one event per trigger.
import { EventType, KeeperState } from '../protocol/constants.js';
import type { ACL, WatcherEvent } from '../protocol/records.js';
import { parentOf } from './path.js';

/** A connection as the tree sees it. `acl` is the ACL of the node the event is about (absent for setWatches). */
export interface Watcher {
  readonly sessionId: bigint;
  deliver(event: WatcherEvent, acl?: readonly ACL[]): void;
}

export type WatchKind = 'data' | 'exist' | 'child' | 'persistent' | 'persistentRecursive';

/** The mode of one (watcher, path) entry (upstream's WatcherMode). */
export type WatchMode = 'standard' | 'persistent' | 'persistentRecursive';

export class WatchTable {
  /** path -> watchers with an entry on it (never empty) */
  private readonly byPath = new Map<string, Set<Watcher>>();
  /** watcher -> path -> mode; a watcher's map may be empty (kept until removeWatcher, as upstream) */
  private readonly byWatcher = new Map<Watcher, Map<string, WatchMode>>();
  /** How many entries are recursive: when 0, triggers skip the ancestor walk. */
  private recursiveCount = 0;

  /** Sets the mode of (watcher, path), replacing any earlier one; false if the entry already existed. */
  add(path: string, watcher: Watcher, mode: WatchMode): boolean {
    let paths = this.byWatcher.get(watcher);
    if (paths === undefined) this.byWatcher.set(watcher, (paths = new Map()));
    const old = paths.get(path);
    paths.set(path, mode);
    this.countRecursive(old, mode);
    let set = this.byPath.get(path);
    if (set === undefined) this.byPath.set(path, (set = new Set()));
    set.add(watcher);
    return old === undefined;
  }

  /** Removes (watcher, path) whatever its mode; false if there was no such entry. */
  remove(path: string, watcher: Watcher): boolean {
    const paths = this.byWatcher.get(watcher);
    const mode = paths?.get(path);
    if (paths === undefined || mode === undefined) return false;
    this.drop(path, watcher, paths, mode);
    return true;
  }

  /** The mode of (watcher, path), if it has an entry. */
  modeOf(path: string, watcher: Watcher): WatchMode | undefined {
    return this.byWatcher.get(watcher)?.get(path);
  }

  /** Does any watcher hold an entry on exactly this path? (3.8's containsWatcher, which ignores its watcher.) */
  watched(path: string): boolean {
    return this.byPath.has(path);
  }

  /** Connection closed: forget every watch of this watcher, and the watcher itself. */
  removeWatcher(watcher: Watcher): void {
    const paths = this.byWatcher.get(watcher);
    if (paths === undefined) return;
    for (const [path, mode] of paths) {
      this.countRecursive(mode, undefined);
      this.unlinkPath(path, watcher);
    }
    this.byWatcher.delete(watcher);
  }

  /**
   * Fires `type` at `path`: every entry on the path itself (standard ones are consumed), and recursive entries on
   * its ancestors. Recursive entries never fire NodeChildrenChanged, on the path or above. Watchers in `suppress`
   * are matched (and consumed) but not notified: a delete fires the data table first, then the child table
   * suppressing those. Returns the set of watchers that matched.
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
      const mode = paths?.get(path);
      if (paths === undefined || mode === undefined) continue;
      if (mode === 'persistentRecursive') {
        if (type !== EventType.NodeChildrenChanged) out.add(w);
      } else if (atPath) {
        out.add(w);
        if (mode === 'standard') this.drop(path, w, paths, mode);
      }
    }
  }

  /** Removes one entry; the watcher's (maybe now empty) map stays. */
  private drop(path: string, watcher: Watcher, paths: Map<string, WatchMode>, mode: WatchMode): void {
    paths.delete(path);
    this.countRecursive(mode, undefined);
    this.unlinkPath(path, watcher);
  }

  private unlinkPath(path: string, watcher: Watcher): void {
    const set = this.byPath.get(path);
    set?.delete(watcher);
    if (set?.size === 0) this.byPath.delete(path);
  }

  private countRecursive(oldMode: WatchMode | undefined, newMode: WatchMode | undefined): void {
    const had = oldMode === 'persistentRecursive';
    const has = newMode === 'persistentRecursive';
    if (had !== has) this.recursiveCount += has ? 1 : -1;
  }

  /** Watchers summed over paths (upstream's WatchManager.size()). */
  get size(): number {
    let n = 0;
    for (const set of this.byPath.values()) n += set.size;
    return n;
  }

  /** For wchs: watchers (including those left with no watch), watched paths, total (watcher, path) entries. */
  summary(): { connections: number; paths: number; watches: number } {
    let watches = 0;
    for (const paths of this.byWatcher.values()) watches += paths.size;
    return { connections: this.byWatcher.size, paths: this.byPath.size, watches };
  }

  /** For wchc: session -> watched paths (possibly none). Watchers of one session (after a reconnect) are merged. */
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
