// What the servers' own logs say about a run. Some lines mean a server found itself inconsistent (its tree digest
// disagrees with the one logged with a txn, a session closed with ephemerals the txn did not name): on zkts those
// fail the run even when the client-visible checks pass. Apache ZooKeeper 3.8 logs "First digest mismatch" when a
// restart replays log records older than its snapshot (FileTxnSnapLog "highestZxid > next log"), a known noise of
// the reference that its later sync repairs; for Apache they are reported, not failed on. Other lines are counted
// so a report can say what recovery happened (torn tails cut, snapshots skipped, learners synced by DIFF/TRUNC/SNAP).
import fs from 'node:fs';
import type { CheckResult } from '../check/history.js';
import { verdict } from './worker.js';

/** Lines that mean an inconsistency (zkts messages, and Apache's digest mismatch). */
const SUSPECT: RegExp[] = [
  /digest mismatch/i,
  /prep and apply disagree/,
  /unexpected extra ephemerals/,
  /zxid not above the last one appended/,
];

/** Lines counted for the report (zkts messages; Apache logs differ and are not counted). */
const NOTABLE: Record<string, RegExp> = {
  tornTailCut: /txn log had a torn tail/,
  snapshotSkipped: /invalid snapshot: trying an older one/,
  refusedToLoad: /cannot load the data directory/,
  syncDiff: /"syncing learner".*"mode":"DIFF"/,
  syncTrunc: /"syncing learner".*"mode":"TRUNC"/,
  syncSnap: /"syncing learner".*"mode":"SNAP"/,
};

/** Suspect lines quoted per node: the first few tell what happened. */
const QUOTED = 3;
/** An unjudged report stays one readable line. */
const SUMMARY_CHARS = 300;

export function scanNodeLogs(logs: { id: number; file: string }[], failOnSuspect = true): CheckResult {
  const problems: string[] = [];
  const counts: Record<string, number> = Object.fromEntries(Object.keys(NOTABLE).map((k) => [k, 0]));
  for (const { id, file } of logs) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const lines = text.split('\n');
    const suspect = lines.filter((l) => SUSPECT.some((re) => re.test(l)));
    if (suspect.length > 0) problems.push(`node ${id}: ${suspect.length} inconsistency line(s): ${suspect.slice(0, QUOTED).join(' | ')}`);
    for (const [k, re] of Object.entries(NOTABLE)) counts[k] += lines.filter((l) => re.test(l)).length;
  }
  const seen = Object.entries(counts).filter(([, n]) => n > 0).map(([k, n]) => `${k}=${n}`).join(' ');
  if (!failOnSuspect && problems.length > 0) {
    return verdict('node-logs', [], `not judged (reference server): ${problems.join('; ').slice(0, SUMMARY_CHARS)}`, { counts, problems });
  }
  return verdict('node-logs', problems, `no inconsistency logged${seen ? ` (${seen})` : ''}`, counts);
}
