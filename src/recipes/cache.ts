// recipes/cache.ts: NodeCache and TreeCache (Curator's NodeCache / TreeCache for behaviour): local copies of one
// node, or of a whole subtree, kept current from one-time watches. Every watch event makes the cache re-read the
// node it names (reads of one path are serialized: at most one in flight, and one more queued behind it); after a
// reconnect the whole cache is re-read (the client also re-arms its watches, but changes made while disconnected are
// only certain to be seen by reading again). Events follow the reads, so they may coalesce several changes.
import { EventEmitter } from 'node:events';
import type { Stat, WatchedEvent, ZooKeeperClient } from '../client/index.js';
import { Code, EventType } from '../client/index.js';
import { isCode, isConnected, joinPath, TERMINAL } from './util.js';

export interface NodeSnapshot {
  data: Buffer | null;
  stat: Stat;
}

/** Runs refreshes per key one at a time, coalescing requests that arrive while one runs. */
class Refresher {
  private readonly running = new Map<string, boolean>(); // key -> dirty
  private inflight = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly run: (key: string) => Promise<void>) {}

  request(key: string): void {
    if (this.running.has(key)) {
      this.running.set(key, true);
      return;
    }
    this.running.set(key, false);
    this.inflight++;
    void this.loop(key);
  }

  private async loop(key: string): Promise<void> {
    try {
      for (;;) {
        this.running.set(key, false);
        try {
          await this.run(key);
        } catch {
          // Connection loss and the like: the reconnect handler refreshes everything.
        }
        if (!this.running.get(key)) break;
      }
    } finally {
      this.running.delete(key);
      if (--this.inflight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Resolves when no refresh is running. */
  idle(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}

function sameStat(a: Stat, b: Stat): boolean {
  return a.mzxid === b.mzxid && a.version === b.version && a.czxid === b.czxid;
}

/** Watches the client's state: calls `onReconnect` after a reconnect, `onEnd` when the session is gone. */
function followSession(client: ZooKeeperClient, onReconnect: () => void, onEnd: () => void): () => void {
  let wasConnected = isConnected(client);
  const on = (): void => {
    if (TERMINAL.has(client.state)) {
      onEnd();
      return;
    }
    const now = isConnected(client);
    if (now && !wasConnected) onReconnect();
    wasConnected = now;
  };
  client.on('state', on);
  return () => client.off('state', on);
}

/** Events: 'change' (NodeSnapshot | null) whenever the cached node changes (or appears / disappears). */
export class NodeCache extends EventEmitter {
  private value: NodeSnapshot | null = null;
  private readonly refresher = new Refresher(() => this.refresh());
  private stopFollowing: (() => void) | undefined;
  private closed = false;
  private readonly watcher = (e: WatchedEvent): void => {
    if (e.type !== EventType.None && !this.closed) this.refresher.request('');
  };

  constructor(readonly client: ZooKeeperClient, readonly path: string) {
    super();
  }

  /** Loads the node and starts following it. */
  async start(): Promise<void> {
    this.stopFollowing = followSession(this.client, () => this.refresher.request(''), () => void this.close());
    this.refresher.request('');
    await this.refresher.idle();
  }

  /** The cached node, or null when it does not exist. */
  current(): NodeSnapshot | null {
    return this.value;
  }

  /** Resolves when no re-read is in progress. */
  settled(): Promise<void> {
    return this.refresher.idle();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopFollowing?.();
    await Promise.resolve();
  }

  private async refresh(): Promise<void> {
    if (this.closed) return;
    let next: NodeSnapshot | null;
    try {
      const r = await this.client.getData(this.path, this.watcher);
      next = { data: r.data, stat: r.stat };
    } catch (e) {
      if (!isCode(e, Code.NONODE)) throw e;
      // Watch for its creation; if it appeared meanwhile, read again.
      if (await this.client.exists(this.path, this.watcher)) {
        this.refresher.request('');
        return;
      }
      next = null;
    }
    if (this.closed) return;
    const prev = this.value;
    if (prev === null && next === null) return;
    if (prev && next && sameStat(prev.stat, next.stat)) return;
    this.value = next;
    this.emit('change', next);
  }
}

interface TreeEntry extends NodeSnapshot {
  children: Set<string>;
}

/**
 * Events: 'nodeAdded' (path, NodeSnapshot), 'nodeUpdated' (path, NodeSnapshot), 'nodeRemoved' (path),
 * 'initialized' once the first full load is done.
 */
export class TreeCache extends EventEmitter {
  private readonly nodes = new Map<string, TreeEntry>();
  private readonly refresher = new Refresher((p) => this.refresh(p));
  private stopFollowing: (() => void) | undefined;
  private closed = false;
  private readonly watcher = (e: WatchedEvent): void => {
    if (this.closed || e.type === EventType.None || e.path === null) return;
    // Not filtered by what is cached: an event may come for a node whose first read is still in flight.
    if (e.path === this.root || e.path.startsWith(this.root === '/' ? '/' : `${this.root}/`)) this.refresher.request(e.path);
  };

  constructor(readonly client: ZooKeeperClient, readonly root: string) {
    super();
  }

  async start(): Promise<void> {
    this.stopFollowing = followSession(this.client, () => this.rebuild(), () => void this.close());
    this.refresher.request(this.root);
    await this.refresher.idle();
    this.emit('initialized');
  }

  /** Re-reads every known node (done after each reconnect). */
  rebuild(): void {
    this.refresher.request(this.root);
    for (const p of this.nodes.keys()) this.refresher.request(p);
  }

  /** Resolves when no re-read is in progress. */
  settled(): Promise<void> {
    return this.refresher.idle();
  }

  get(path: string): NodeSnapshot | undefined {
    const e = this.nodes.get(path);
    return e ? { data: e.data, stat: e.stat } : undefined;
  }

  children(path: string): string[] | undefined {
    const e = this.nodes.get(path);
    return e ? [...e.children].sort() : undefined;
  }

  /** Every cached path with its data. */
  snapshot(): Map<string, Buffer | null> {
    return new Map([...this.nodes].map(([p, e]) => [p, e.data]));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopFollowing?.();
    await Promise.resolve();
  }

  private parentOf(path: string): string {
    const i = path.lastIndexOf('/');
    return i <= 0 ? '/' : path.slice(0, i);
  }

  private async refresh(path: string): Promise<void> {
    if (this.closed) return;
    // Not the root and the parent no longer lists it: nothing to do (a parent refresh adds it back if needed).
    if (path !== this.root && !this.nodes.get(this.parentOf(path))?.children.has(path.slice(path.lastIndexOf('/') + 1))) {
      this.remove(path);
      return;
    }
    let data: { data: Buffer | null; stat: Stat };
    let children: string[];
    try {
      data = await this.client.getData(path, this.watcher);
      children = await this.client.getChildren(path, this.watcher);
    } catch (e) {
      if (!isCode(e, Code.NONODE)) throw e;
      this.remove(path);
      if (path === this.root && (await this.client.exists(path, this.watcher))) this.refresher.request(path);
      return;
    }
    if (this.closed) return;
    if (path !== this.root && !this.nodes.get(this.parentOf(path))?.children.has(path.slice(path.lastIndexOf('/') + 1))) {
      this.remove(path);
      return;
    }
    const prev = this.nodes.get(path);
    const kids = new Set(children);
    const entry: TreeEntry = { data: data.data, stat: data.stat, children: kids };
    this.nodes.set(path, entry);
    if (!prev) this.emit('nodeAdded', path, { data: entry.data, stat: entry.stat });
    else if (!sameStat(prev.stat, entry.stat)) this.emit('nodeUpdated', path, { data: entry.data, stat: entry.stat });
    if (prev) for (const c of prev.children) if (!kids.has(c)) this.remove(joinPath(path, c));
    for (const c of kids) if (!this.nodes.has(joinPath(path, c))) this.refresher.request(joinPath(path, c));
  }

  private remove(path: string): void {
    const e = this.nodes.get(path);
    if (!e) return;
    for (const c of e.children) this.remove(joinPath(path, c));
    this.nodes.delete(path);
    const parent = this.nodes.get(this.parentOf(path));
    parent?.children.delete(path.slice(path.lastIndexOf('/') + 1));
    this.emit('nodeRemoved', path);
  }
}
