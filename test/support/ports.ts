// Test support: free loopback ports and bounded waiting. Tests bind 127.0.0.1 only.
import net from 'node:net';

/** A port that was free on 127.0.0.1 a moment ago (the OS picks it); one implementation, shared with bench/. */
export { freePort } from '../../src/bench/launch.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Thrown by a waitFor probe to stop waiting at once (the thing waited for can no longer happen). */
export class GiveUp extends Error {
  override name = 'GiveUp';
}

/** Polls `probe` until it returns true, at most `timeoutMs`; throws with `what` on timeout. */
export async function waitFor(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 20_000, stepMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return;
    } catch (e) {
      // A probe error means "not ready yet", unless the probe says waiting is pointless.
      if (e instanceof GiveUp) throw e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

/** Sends a four-letter word to host:port and returns the whole answer (the server closes after it). */
export async function fourLetter(port: number, cmd: string, host = '127.0.0.1', timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`4lw ${cmd} timed out`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(cmd));
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}
