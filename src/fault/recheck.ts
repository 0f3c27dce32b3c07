// Re-runs the checkers on a history.json that a run kept: after a checker was fixed, or to study a failure
// without re-running the processes. Unknown returns were written as null (JSON has no Infinity).
import fs from 'node:fs';
import type { CheckResult, Operation } from '../check/history.js';
import type { Hold } from '../check/workloads.js';
import { checkAgreement } from './checks.js';
import { History } from './worker.js';
import { isWorkload, workload } from './workloads.js';

interface HistoryDoc {
  options: { workload: string; sessionTimeoutMs: number };
  ops: (Omit<Operation, 'ret'> & { ret: number | null })[];
  sessions?: (string | null)[];
  holds: (Omit<Hold, 'released'> & { released: number | null })[];
  finals: unknown[];
}

/** The history a kept history.json holds, as the checkers take it. */
export function loadHistory(file: string): { doc: HistoryDoc; history: History } {
  const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as HistoryDoc;
  const history = new History();
  doc.ops.forEach((op, i) => history.push({ ...op, ret: op.ret ?? Infinity }, doc.sessions?.[i] ?? undefined));
  history.holds.push(...doc.holds.map((h) => ({ ...h, released: h.released ?? Infinity })));
  return { doc, history };
}

export function recheck(file: string): CheckResult[] {
  const { doc, history } = loadHistory(file);
  if (!isWorkload(doc.options.workload)) throw new Error(`${file}: unknown workload '${doc.options.workload}'`);
  const wl = workload(doc.options.workload, { sessionTimeoutMs: doc.options.sessionTimeoutMs });
  return [...wl.check(history, doc.finals), checkAgreement(doc.finals)];
}
