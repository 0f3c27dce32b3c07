// client/watch-manager.ts: which watcher functions wait on which paths, as ZooKeeper's ZKWatchManager keeps them.
// One-time watches (data, exist, child) are removed when they fire; persistent and recursive watches stay until
// removed. Paths here are client paths (chroot stripped). Pure bookkeeping: no I/O, no timers.
import { EventType, WatcherType } from '../protocol/constants.js';
import type { Watcher } from './types.js';

export type OneTimeKind = 'data' | 'exist' | 'child';

/** WatcherType values: 3.8 knows Children 1, Data 2, Any 3; 3.9 adds Persistent 4, PersistentRecursive 5. */
export const WatcherTypeExt = { ...WatcherType, Persistent: 4, PersistentRecursive: 5 } as const;

type WatchMap = Map<string, Set<Watcher>>;

export interface WatchPaths {
  data: string[];
  exist: string[];
  child: string[];
  persistent: string[];
  recursive: string[];
}

/** Watchers taken out by a removal, grouped by the event each is told (DataWatchRemoved…). */
export type RemovedWatchers = Map<number, Set<Watcher>>;

function add(map: WatchMap, path: string, w: Watcher): void {
  let set = map.get(path);
  if (!set) map.set(path, (set = new Set()));
  set.add(w);
}

function takeAll(map: WatchMap, path: string, into: Set<Watcher>): void {
  const set = map.get(path);
  if (!set) return;
  for (const w of set) into.add(w);
  map.delete(path);
}

/** "/a/b/c" -> "/a/b/c", "/a/b", "/a", "/". */
function* selfAndAncestors(path: string): Generator<string> {
  let p = path;
  for (;;) {
    yield p;
    if (p === '/') return;
    const cut = p.lastIndexOf('/');
    p = cut <= 0 ? '/' : p.slice(0, cut);
  }
}

export class WatchManager {
  private readonly data: WatchMap = new Map();
  private readonly exist: WatchMap = new Map();
  private readonly child: WatchMap = new Map();
  private readonly persistent: WatchMap = new Map();
  private readonly recursive: WatchMap = new Map();

  constructor(public defaultWatcher: Watcher | undefined) {}

  addOneTime(kind: OneTimeKind, path: string, w: Watcher): void {
    add(kind === 'data' ? this.data : kind === 'exist' ? this.exist : this.child, path, w);
  }

  addPersistent(path: string, w: Watcher, recursive: boolean): void {
    add(recursive ? this.recursive : this.persistent, path, w);
  }

  /** The distinct watchers a node event goes to; one-time watches that fire are removed. */
  materialize(type: number, path: string): Set<Watcher> {
    const out = new Set<Watcher>();
    switch (type) {
      case EventType.NodeDataChanged:
      case EventType.NodeCreated:
        takeAll(this.data, path, out);
        takeAll(this.exist, path, out);
        break;
      case EventType.NodeChildrenChanged:
        takeAll(this.child, path, out);
        break;
      case EventType.NodeDeleted:
        takeAll(this.data, path, out);
        // An exist watch set after a reply raced with the delete may still be here; ZooKeeper fires it too.
        takeAll(this.exist, path, out);
        takeAll(this.child, path, out);
        break;
      default:
        return out;
    }
    for (const w of this.persistent.get(path) ?? []) out.add(w);
    // Recursive watches never see NodeChildrenChanged (the server does not send it for them either).
    if (type !== EventType.NodeChildrenChanged) {
      for (const p of selfAndAncestors(path)) for (const w of this.recursive.get(p) ?? []) out.add(w);
    }
    return out;
  }

  /** Every distinct watcher (the default one first): session events go to all of them, as in ZooKeeper. */
  all(): Set<Watcher> {
    const out = new Set<Watcher>();
    if (this.defaultWatcher) out.add(this.defaultWatcher);
    for (const map of [this.data, this.exist, this.child, this.persistent, this.recursive]) {
      for (const set of map.values()) for (const w of set) out.add(w);
    }
    return out;
  }

  clear(): void {
    for (const map of [this.data, this.exist, this.child, this.persistent, this.recursive]) map.clear();
  }

  isEmpty(): boolean {
    return this.data.size + this.exist.size + this.child.size + this.persistent.size + this.recursive.size === 0;
  }

  /** Paths per kind, for SetWatches after a reconnect. */
  paths(): WatchPaths {
    return {
      data: [...this.data.keys()],
      exist: [...this.exist.keys()],
      child: [...this.child.keys()],
      persistent: [...this.persistent.keys()],
      recursive: [...this.recursive.keys()],
    };
  }

  /** The maps a WatcherType covers, each with the event its removed watchers are told. */
  private mapsFor(type: number): Array<[WatchMap, number]> {
    const dataMaps: Array<[WatchMap, number]> = [[this.data, EventType.DataWatchRemoved], [this.exist, EventType.DataWatchRemoved]];
    const childMaps: Array<[WatchMap, number]> = [[this.child, EventType.ChildWatchRemoved]];
    const persistentMaps: Array<[WatchMap, number]> = [[this.persistent, EventType.PersistentWatchRemoved]];
    const recursiveMaps: Array<[WatchMap, number]> = [[this.recursive, EventType.PersistentWatchRemoved]];
    switch (type) {
      case WatcherTypeExt.Children: return childMaps;
      case WatcherTypeExt.Data: return dataMaps;
      case WatcherTypeExt.Persistent: return persistentMaps;
      case WatcherTypeExt.PersistentRecursive: return recursiveMaps;
      case WatcherTypeExt.Any: return [...dataMaps, ...childMaps, ...persistentMaps, ...recursiveMaps];
      default: return [];
    }
  }

  /** Whether `watcher` (or any watcher, when undefined) watches `path` with a watch of `type`. */
  contains(path: string, watcher: Watcher | undefined, type: number): boolean {
    for (const [map] of this.mapsFor(type)) {
      const set = map.get(path);
      if (set && (watcher === undefined ? set.size > 0 : set.has(watcher))) return true;
    }
    return false;
  }

  /** Removes `watcher` (or all, when undefined) from `path` for `type`; returns who was removed, by event type. */
  remove(path: string, watcher: Watcher | undefined, type: number): RemovedWatchers {
    const removed: RemovedWatchers = new Map();
    for (const [map, eventType] of this.mapsFor(type)) {
      const set = map.get(path);
      if (!set) continue;
      const taken = watcher === undefined ? [...set] : set.has(watcher) ? [watcher] : [];
      for (const w of taken) {
        set.delete(w);
        let bucket = removed.get(eventType);
        if (!bucket) removed.set(eventType, (bucket = new Set()));
        bucket.add(w);
      }
      if (set.size === 0) map.delete(path);
    }
    return removed;
  }

  /**
   * The WatcherType to ask the server to remove if `watcher` (or all) were removed from `path` for `type`, or
   * undefined when other watchers on the path still need the server-side watch (the server keeps one watch per
   * path and kind per session). Does not change the tables.
   */
  serverRemovalType(path: string, watcher: Watcher | undefined, type: number): number | undefined {
    const covered = new Set(this.mapsFor(type).map(([m]) => m));
    const left = (map: WatchMap): boolean => {
      const set = map.get(path);
      if (!set || set.size === 0) return false;
      if (!covered.has(map)) return true;
      if (watcher === undefined) return false;
      return set.size > (set.has(watcher) ? 1 : 0);
    };
    const persists = left(this.persistent) || left(this.recursive);
    const dataLeft = left(this.data) || left(this.exist) || persists;
    const childLeft = left(this.child) || persists;
    if (!dataLeft && !childLeft) return WatcherTypeExt.Any;
    if ((type === WatcherTypeExt.Data || type === WatcherTypeExt.Any) && !dataLeft) return WatcherTypeExt.Data;
    if ((type === WatcherTypeExt.Children || type === WatcherTypeExt.Any) && !childLeft) return WatcherTypeExt.Children;
    return undefined;
  }
}
