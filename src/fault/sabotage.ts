// A self-test of the suite, not a fault a correct server survives: "rollback" copies every node's data dir aside
// halfway through the run (as a crash would leave it: a torn last record, a half-written snapshot) and, after the
// workload, kills every node, puts the copies back and restarts. Whatever was acknowledged in the second half is
// gone on every server, as if the ensemble had forgotten committed txns; the checks must say so. A suite that
// passes a sabotaged run cannot be trusted with a real one.
import fs from 'node:fs';
import path from 'node:path';
import type { Ensemble } from '../bench/ensemble.js';
import { logRecords } from './corrupt.js';

export type Sabotage = 'rollback';

const SAVED = 'data-rollback';

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
      const buf = fs.readFileSync(src);
      const records = logRecords(buf);
      fs.writeFileSync(dst, buf.subarray(0, records.length > 0 ? records[records.length - 1].end : Math.min(buf.length, 16)));
    } else fs.copyFileSync(src, dst);
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
