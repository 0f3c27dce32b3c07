// A self-test of the suite, not a fault a correct server survives: "rollback" copies every node's data dir aside
// during the run (as a crash would leave it: a torn last record, a half-written snapshot) and, after the workload,
// kills every node, puts the copies back and restarts. Whatever was acknowledged after the copy is gone on every
// server, as if the ensemble had forgotten committed txns; the checks must say so. A suite that passes a sabotaged
// run cannot be trusted with a real one. The copy waits for acknowledged writes before and after it (a loaded
// machine may manage only a few per second), so that there is always something to lose.
import fs from 'node:fs';
import path from 'node:path';
import type { Ensemble } from '../bench/ensemble.js';

export type Sabotage = 'rollback';

const SAVED = 'data-rollback';
const LOG_HEADER_BYTES = 16;
/** crc (8) and length (4) before a record's payload; 'B' after it. */
const RECORD_PREFIX = 12;
const END_OF_RECORD = 0x42;
/** Acknowledged writes wanted before the copy and after it. */
export const SABOTAGE_ACKS = 50;
/** Bound on each of those waits. */
const SABOTAGE_WAIT_MS = 60_000;
const POLL_MS = 100;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function untilAcked(acked: () => number, target: number): Promise<void> {
  const deadline = Date.now() + SABOTAGE_WAIT_MS;
  while (acked() < target && Date.now() < deadline) await sleep(POLL_MS);
}

/**
 * Runs alongside the workload: waits for SABOTAGE_ACKS acknowledged writes, copies the data dirs, waits for as many
 * more. The caller keeps the workload going until this resolves.
 */
export async function saveDuringRun(e: Ensemble, acked: () => number): Promise<void> {
  await untilAcked(acked, SABOTAGE_ACKS);
  saveDataDirs(e);
  await untilAcked(acked, acked() + SABOTAGE_ACKS);
}

/** Copies each node's data dir to <node dir>/data-rollback; logs only up to their last record (they are sparse). */
export function saveDataDirs(e: Ensemble): void {
  for (const n of e.nodes) copyDir(n.dataDir, path.join(path.dirname(n.dataDir), SAVED));
}

function copyDir(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) copyDir(src, dst);
    else if (entry.name.startsWith('log.')) {
      // Preallocated to 64 MB of zeros: keep the records only (a log ending at EOF is as valid as one ending in zeros).
      fs.writeFileSync(dst, readRecords(src));
    } else fs.copyFileSync(src, dst);
  }
}

/** The header and whole records of a txn log, read record by record (not the whole preallocated file). */
function readRecords(file: string): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(RECORD_PREFIX);
    let end = LOG_HEADER_BYTES;
    for (;;) {
      if (fs.readSync(fd, head, 0, RECORD_PREFIX, end) < RECORD_PREFIX) break;
      const len = head.readInt32BE(8);
      if (len <= 0) break;
      const tail = Buffer.alloc(1);
      if (fs.readSync(fd, tail, 0, 1, end + RECORD_PREFIX + len) < 1 || tail[0] !== END_OF_RECORD) break;
      end += RECORD_PREFIX + len + 1;
    }
    const out = Buffer.alloc(end);
    fs.readSync(fd, out, 0, end, 0);
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

/** Kills every node, replaces each data dir with its saved copy and starts them all again (not waiting). */
export async function restoreDataDirs(e: Ensemble): Promise<void> {
  await Promise.all(e.nodes.map((n) => n.kill('SIGKILL')));
  for (const n of e.nodes) {
    fs.rmSync(n.dataDir, { recursive: true, force: true });
    fs.renameSync(path.join(path.dirname(n.dataDir), SAVED), n.dataDir);
  }
  for (const n of e.nodes) n.spawn();
}
