// recipes/counter.ts: a shared counter (Curator's SharedCount / DistributedAtomicInteger for behaviour). The value
// is a 4-byte big-endian signed int at the start of one node (as Curator's SharedCount stores it), followed by a
// 16-byte random tag of the write that set it. Every change is a compare-and-set on the node's version (setData with
// the version read); add() retries on BADVERSION until its write lands, so concurrent add()s never lose an update and
// each returns a distinct post-value. After a connection loss the tag tells whether our write landed; when that
// cannot be known (it landed or not, and others wrote since) add() rejects with CONNECTIONLOSS "outcome unknown"
// rather than risk counting twice.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { WatchedEvent, ZooKeeperClient } from '../client/index.js';
import { Code, EventType, ZkError } from '../client/index.js';
import { isCode, mkdirp, retry } from './util.js';

export interface VersionedValue {
  value: number;
  version: number;
}

function encode(v: number, tag: Buffer = randomBytes(16)): Buffer {
  const b = Buffer.alloc(4 + tag.length);
  b.writeInt32BE(v);
  tag.copy(b, 4);
  return b;
}

function tagOf(b: Buffer | null): Buffer {
  return b && b.length > 4 ? b.subarray(4) : Buffer.alloc(0);
}

function decode(b: Buffer | null): number {
  return b && b.length >= 4 ? b.readInt32BE(0) : 0;
}

/** Events: 'change' (VersionedValue) while watching (see watch()). */
export class SharedCounter extends EventEmitter {
  private watching = false;
  private readonly watcher = (e: WatchedEvent): void => {
    if (e.type !== EventType.None && this.watching) void this.readAndWatch().catch(() => undefined);
  };

  constructor(readonly client: ZooKeeperClient, readonly path: string, readonly initial = 0) {
    super();
  }

  /** Creates the node with the initial value when missing. */
  async ensure(): Promise<void> {
    if (await retry(this.client, () => this.client.exists(this.path))) return;
    const parent = this.path.slice(0, this.path.lastIndexOf('/')) || '/';
    await mkdirp(this.client, parent);
    try {
      await retry(this.client, () => this.client.create(this.path, encode(this.initial)));
    } catch (e) {
      if (!isCode(e, Code.NODEEXISTS)) throw e;
    }
  }

  async get(): Promise<VersionedValue> {
    for (;;) {
      try {
        const { data, stat } = await retry(this.client, () => this.client.getData(this.path));
        return { value: decode(data), version: stat.version };
      } catch (e) {
        if (!isCode(e, Code.NONODE)) throw e;
        await this.ensure();
      }
    }
  }

  /**
   * Sets `value` if the counter is still at `version`; false when someone changed it first. A connection loss is
   * passed to the caller (the write may or may not have happened; get() tells).
   */
  async trySet(value: number, version: number): Promise<boolean> {
    return this.trySetTagged(value, version, randomBytes(16));
  }

  private async trySetTagged(value: number, version: number, tag: Buffer): Promise<boolean> {
    try {
      await this.client.setData(this.path, encode(value, tag), version);
      return true;
    } catch (e) {
      if (isCode(e, Code.BADVERSION)) return false;
      throw e;
    }
  }

  /** Adds `delta` with a compare-and-set retry loop; returns the value after this add. */
  async add(delta: number): Promise<number> {
    for (;;) {
      const cur = await this.get();
      const next = (cur.value + delta) | 0;
      const tag = randomBytes(16);
      try {
        if (await this.trySetTagged(next, cur.version, tag)) return next;
      } catch (e) {
        if (!isCode(e, Code.CONNECTIONLOSS)) throw e;
        const { data, stat } = await retry(this.client, () => this.client.getData(this.path));
        if (tagOf(data).equals(tag)) return next; // ours landed and is the latest
        if (stat.version === cur.version || stat.version === cur.version + 1) continue; // ours did not land
        throw new ZkError(Code.CONNECTIONLOSS, this.path, 'outcome unknown');
      }
    }
  }

  increment(): Promise<number> {
    return this.add(1);
  }

  /** Keeps a data watch on the counter and emits 'change' on every change seen. */
  async watch(): Promise<VersionedValue> {
    this.watching = true;
    return this.readAndWatch();
  }

  unwatch(): void {
    this.watching = false;
  }

  private async readAndWatch(): Promise<VersionedValue> {
    const { data, stat } = await retry(this.client, () => this.client.getData(this.path, this.watcher));
    const v = { value: decode(data), version: stat.version };
    this.emit('change', v);
    return v;
  }
}
