// Helpers for client tests: clients that are always closed, and watchers that record events.
import { ZooKeeperClient } from '../../src/client/index.js';
import type { ClientOptions, ClientState, WatchedEvent, Watcher } from '../../src/client/index.js';
import { silentLogger } from '../../src/util/log.js';

/** Records events and lets a test wait for them, with a bound. */
export class EventLog {
  readonly events: WatchedEvent[] = [];
  private waiters: Array<() => void> = [];
  readonly watcher: Watcher = (e) => {
    this.events.push(e);
    for (const w of this.waiters.splice(0)) w();
  };

  /** Waits until `count` events were recorded (or `pred` holds), at most `timeoutMs`. */
  async wait(pred: number | ((events: WatchedEvent[]) => boolean), timeoutMs = 5000): Promise<WatchedEvent[]> {
    const ok = typeof pred === 'number' ? (ev: WatchedEvent[]) => ev.length >= pred : pred;
    const deadline = Date.now() + timeoutMs;
    while (!ok(this.events)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for events; have ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.events;
  }

  /** The events without their state, as [type, path] pairs. */
  pairs(): Array<[number, string | null]> {
    return this.events.map((e) => [e.type, e.path]);
  }
}

/** Creates clients for one test file and closes them all at the end. */
export class ClientPool {
  private readonly clients: ZooKeeperClient[] = [];

  constructor(private readonly connectString: () => string) {}

  make(opts: ClientOptions = {}, suffix = ''): ZooKeeperClient {
    return this.makeTo(this.connectString() + suffix, opts);
  }

  makeTo(connectString: string, opts: ClientOptions = {}): ZooKeeperClient {
    const c = new ZooKeeperClient(connectString, { sessionTimeoutMs: 10_000, logger: silentLogger, ...opts });
    this.clients.push(c);
    return c;
  }

  async connect(opts: ClientOptions = {}, suffix = ''): Promise<ZooKeeperClient> {
    const c = this.make(opts, suffix);
    await c.connect();
    return c;
  }

  async connectTo(connectString: string, opts: ClientOptions = {}): Promise<ZooKeeperClient> {
    const c = this.makeTo(connectString, opts);
    await c.connect();
    return c;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.close().catch(() => undefined)));
  }
}

/** Waits until the client reaches `state`, at most `timeoutMs`. */
export function waitState(c: ZooKeeperClient, state: ClientState, timeoutMs = 10_000): Promise<void> {
  if (c.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      c.off('state', on);
      reject(new Error(`timed out waiting for state ${state}; now ${c.state}`));
    }, timeoutMs);
    const on = (s: ClientState): void => {
      if (s !== state) return;
      clearTimeout(t);
      c.off('state', on);
      resolve();
    };
    c.on('state', on);
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
