// util/ holds small leaf helpers with no project imports. sys.ts: the one place the server, client and storage code
// touch the outside world: the file system, sockets, the clock, timers and randomness. Production uses Node's own;
// the deterministic simulator (src/sim) swaps in a simulated disk, network and clock with `setSys`, so the same
// shell code (peer, leader, learner, election sockets, connections, txn log, snapshots) runs N servers in one process
// from one seed. The bindings are ES live bindings: importers see the swap.

import realFs from 'node:fs';
import realNet from 'node:net';

/** A timer handle; Node's Timeout and Immediate satisfy it, so does the simulator's. */
export interface Timer {
  unref(): Timer;
}

export interface Clock {
  /** Wall-clock milliseconds (Date.now()). */
  now(): number;
  /** Monotonic milliseconds with a fraction (performance.now()). */
  monotonic(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  setInterval(fn: () => void, ms: number): Timer;
  setImmediate(fn: () => void): Timer;
  clear(t: Timer | undefined): void;
}

const nodeClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  setInterval: (fn, ms) => setInterval(fn, ms),
  setImmediate: (fn) => setImmediate(fn),
  clear: (t) => {
    if (t === undefined) return;
    // clearTimeout/clearInterval accept each other's handles; an Immediate needs clearImmediate.
    if (t instanceof Object && 'hasRef' in t && !('refresh' in t)) clearImmediate(t as NodeJS.Immediate);
    else clearTimeout(t as NodeJS.Timeout);
  },
};

export let fs: typeof realFs = realFs;
export let net: typeof realNet = realNet;
export let clock: Clock = nodeClock;
export let random: () => number = Math.random;

export interface Sys {
  fs: typeof realFs;
  net: typeof realNet;
  clock: Clock;
  random: () => number;
}

/** Replaces the world (the simulator); returns a function restoring the previous one. */
export function setSys(s: Partial<Sys>): () => void {
  const before: Sys = { fs, net, clock, random };
  if (s.fs) fs = s.fs;
  if (s.net) net = s.net;
  if (s.clock) clock = s.clock;
  if (s.random) random = s.random;
  return () => {
    ({ fs, net, clock, random } = before);
  };
}

/** AbortSignal.timeout on the current clock (the simulator's timers, not the process's). */
export function timeoutSignal(ms: number): AbortSignal {
  if (clock === nodeClock) return AbortSignal.timeout(ms);
  const ac = new AbortController();
  clock.setTimeout(() => ac.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
  return ac.signal;
}
