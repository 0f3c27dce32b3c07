// recipes/group.ts: group membership (ZooKeeper's "out of the box" group recipe; Curator's GroupMember for
// behaviour). A member is an EPHEMERAL node `<dir>/<id>` holding the member's data: it goes away when the member
// leaves or its session ends. Every GroupMember also keeps a view of the whole group from a children watch on
// `<dir>` (member data read once when a member appears, and again on a data watch), re-read in full after a
// reconnect. If the member's own node is found missing while its session lives (someone deleted it), it is created
// again. Events: 'join' (id, data), 'leave' (id), 'update' (id, data), 'change' (ids: string[]).
import { EventEmitter } from 'node:events';
import type { Data, WatchedEvent, ZooKeeperClient } from '../client/index.js';
import { Code, CreateMode, EventType, ZkError } from '../client/index.js';
import { isCode, isConnected, joinPath, mkdirp, retry, TERMINAL } from './util.js';

export class GroupMember extends EventEmitter {
  private readonly members = new Map<string, Buffer | null>();
  private readonly ourPath: string;
  private joined = false;
  private refreshing: Promise<void> | undefined;
  private again = false;
  private wasConnected = false;
  private readonly childWatcher = (e: WatchedEvent): void => {
    if (e.type !== EventType.None && this.joined) this.requestRefresh();
  };
  private readonly dataWatcher = (e: WatchedEvent): void => {
    if (!this.joined || e.type !== EventType.NodeDataChanged || !e.path) return;
    void this.readMember(e.path.slice(e.path.lastIndexOf('/') + 1)).catch(() => undefined);
  };
  private readonly onState = (): void => {
    const now = isConnected(this.client);
    if (TERMINAL.has(this.client.state)) {
      this.joined = false;
      this.client.off('state', this.onState);
    } else if (now && !this.wasConnected) this.requestRefresh();
    this.wasConnected = now;
  };

  constructor(readonly client: ZooKeeperClient, readonly dir: string, readonly id: string, private data: Data = null) {
    super();
    this.ourPath = joinPath(dir, id);
  }

  /** Joins (creates our ephemeral node) and loads the current membership. */
  async join(): Promise<void> {
    await mkdirp(this.client, this.dir);
    await this.createOwn();
    this.joined = true;
    this.wasConnected = isConnected(this.client);
    this.client.on('state', this.onState);
    this.requestRefresh();
    await this.refreshing;
  }

  private async createOwn(): Promise<void> {
    try {
      await retry(this.client, () => this.client.create(this.ourPath, this.data, { mode: CreateMode.EPHEMERAL }));
    } catch (e) {
      if (!isCode(e, Code.NODEEXISTS)) throw e;
      // Ours from a create whose reply was lost, or another member with the same id.
      const st = await retry(this.client, () => this.client.exists(this.ourPath));
      if (st && st.ephemeralOwner !== this.client.sessionId) throw new ZkError(Code.NODEEXISTS, this.ourPath, 'member id taken');
    }
  }

  /** Changes this member's data. */
  async setData(data: Data): Promise<void> {
    this.data = data;
    await retry(this.client, () => this.client.setData(this.ourPath, data));
  }

  /** Leaves the group (deletes our node) and stops following it. */
  async leave(): Promise<void> {
    this.joined = false;
    this.client.off('state', this.onState);
    try {
      await retry(this.client, () => this.client.delete(this.ourPath));
    } catch (e) {
      if (!isCode(e, Code.NONODE) && !TERMINAL.has(this.client.state)) throw e;
    }
  }

  /** The current view: member id -> data. */
  currentMembers(): Map<string, Buffer | null> {
    return new Map(this.members);
  }

  /** Resolves when the view is not being re-read. */
  async settled(): Promise<void> {
    while (this.refreshing) await this.refreshing;
  }

  private requestRefresh(): void {
    if (this.refreshing) {
      this.again = true;
      return;
    }
    this.refreshing = (async () => {
      do {
        this.again = false;
        try {
          await this.refresh();
        } catch {
          // connection loss: the reconnect re-reads
        }
      } while (this.again && this.joined);
      this.refreshing = undefined;
    })();
  }

  private async refresh(): Promise<void> {
    const ids = await this.client.getChildren(this.dir, this.childWatcher);
    if (!this.joined) return;
    if (!ids.includes(this.id) && isConnected(this.client)) {
      await this.createOwn();
      this.again = true;
    }
    const set = new Set(ids);
    let changed = false;
    for (const old of [...this.members.keys()]) {
      if (!set.has(old)) {
        this.members.delete(old);
        this.emit('leave', old);
        changed = true;
      }
    }
    for (const id of ids) {
      if (this.members.has(id)) continue;
      if (await this.readMember(id)) changed = true;
    }
    if (changed) this.emit('change', [...this.members.keys()].sort());
  }

  /** Reads one member's data (and watches it); true if it was new. */
  private async readMember(id: string): Promise<boolean> {
    try {
      const { data } = await this.client.getData(joinPath(this.dir, id), this.dataWatcher);
      const isNew = !this.members.has(id);
      this.members.set(id, data);
      this.emit(isNew ? 'join' : 'update', id, data);
      return isNew;
    } catch (e) {
      if (isCode(e, Code.NONODE)) return false; // gone again: the child watch tells
      throw e;
    }
  }
}
