// Driving the simulator's loop from a test: run it until a promise settles, and start async work as an owner.
import type { SimLoop } from '../../src/sim/loop.js';

/**
 * Runs the loop until `p` settles (at most `limitMs` of simulated time) and returns its outcome. Between rounds a
 * real setImmediate lets work started outside any event (a stream's nextTick) schedule its first I/O.
 */
export async function drive<T>(loop: SimLoop, p: Promise<T>, limitMs = 60_000): Promise<T> {
  const box: { r?: { ok: true; v: T } | { ok: false; e: unknown } } = {};
  void p.then(
    (v) => (box.r = { ok: true, v }),
    (e: unknown) => (box.r = { ok: false, e }),
  );
  const deadline = loop.now + limitMs;
  while (box.r === undefined && loop.now < deadline) {
    await new Promise((r) => setImmediate(r));
    if (box.r !== undefined || loop.pending === 0) break;
    await loop.runUntil(deadline, () => box.r !== undefined || loop.pending === 0);
  }
  if (box.r === undefined) throw new Error(`did not settle within ${limitMs} simulated ms`);
  if (!box.r.ok) throw box.r.e;
  return box.r.v;
}

/**
 * Starts `fn` in an event of `owner`, so that its I/O and every continuation of it run as that owner (loop.as alone
 * covers only the synchronous part).
 */
export function runAs<T>(loop: SimLoop, owner: string, fn: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    loop.schedule(0, () => void fn().then(resolve, reject), owner);
  });
}
