// The no-unhandled-rejections scenario shared by unhandled.test.ts (fake server, dead port) and api.test.ts (live
// servers): a process-wide 'unhandledRejection' recorder, and a scenario that leaves many promises behind.
import assert from 'node:assert/strict';
import { ZooKeeperClient } from '../../src/client/index.js';
import { silentLogger } from '../../src/util/log.js';
import { sleep, waitState } from './helpers.js';

export const unhandled: unknown[] = [];
export const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

/** Lets every settled promise's rejection tracking run (unhandled rejections are reported after a macrotask). */
export async function settleAndCheck(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  await sleep(50);
  assert.deepEqual(unhandled.map(String), [], 'unhandled rejections');
}

export function mk(cs: string, opts: ConstructorParameters<typeof ZooKeeperClient>[1] = {}): ZooKeeperClient {
  return new ZooKeeperClient(cs, { logger: silentLogger, sessionTimeoutMs: 3000, reconnectDelayMs: 50, ...opts });
}

/** The scenario: `c` is connected; everything it creates is settled by allSettled or left unread on purpose. */
export async function scenario(c: ZooKeeperClient, base: string): Promise<void> {
  const created = c.create(base).catch(() => undefined);
  await created;
  // Watch iterators never read: one whose registration fails (NONODE), others ended by the close below.
  c.watch(`${base}/missing`, { kind: 'data' });
  c.watch(`${base}/missing`, { kind: 'children' });
  c.watch(base, { kind: 'persistent' });
  const ac0 = new AbortController();
  c.watch(base, { kind: 'recursive', signal: ac0.signal });
  ac0.abort();
  c.states();
  const st = c.states();
  void st.return();
  // Pending calls when the connection is lost.
  const lost: Array<Promise<unknown>> = Array.from({ length: 20 }, (_, i) => c.getData(i % 2 ? base : `${base}/nope${i}`));
  lost.push(c.mkdirp(`${base}/x/y/z`), c.deleteRecursive(`${base}/x`));
  c.dropConnectionForTest(100);
  // Aborted calls: while queued (disconnected), before the call, and in flight after the reconnect.
  const ac1 = new AbortController();
  const aborted = [
    c.setData(base, 'x', -1, { signal: ac1.signal }), c.exists(base, () => undefined, { signal: ac1.signal }),
    c.multi([{ type: 'check', path: base, version: 0 }], { signal: ac1.signal }),
    c.getData(base, undefined, { signal: AbortSignal.abort() }),
  ];
  ac1.abort();
  await Promise.allSettled([...lost, ...aborted]);
  await waitState(c, 'connected');
  const ac2 = new AbortController();
  const inflight = [
    c.getChildren(base, undefined, { signal: ac2.signal }), c.addWatch(base, () => undefined, 'persistent', { signal: ac2.signal }),
    c.addAuth('digest', 'u:p', { signal: ac2.signal }), c.whoAmI({ signal: ac2.signal }),
    c.transaction().create(`${base}/t`).commit({ signal: ac2.signal }),
  ];
  ac2.abort();
  await Promise.allSettled(inflight);
  // An iterator waiting in next() when the client closes, and calls pending at the close.
  const waiting = c.watch(base, { kind: 'persistent' });
  const next = waiting.next();
  const atClose = Array.from({ length: 10 }, () => c.exists(base));
  const closing = c.close();
  await Promise.allSettled([next, ...atClose, closing]);
  assert.equal((await next).done, true);
  // Calls after the close reject (handled by the caller).
  await Promise.allSettled([c.getData(base), c.mkdirp(`${base}/q`), c.connect()]);
}

