// Checks the fault suite adds to src/check/: properties of ZooKeeper that are not linearizability.
//  - agreement: after the faults, on a quiet ensemble, every server (after sync) holds the same state;
//  - acked-present: every acknowledged name is in every final read (sequential names, which checkSet cannot use:
//    an unknown create adds a name nobody was told);
//  - session order: ZooKeeper's per-session guarantee for reads without sync. A session never sees a znode go back
//    to an older version than it already saw (read or wrote), across reconnects too: a server behind the session's
//    last zxid refuses it. Plain reads on a follower may lag the leader, so they are not linearizable; this is what
//    they do promise.
import type { CheckResult, Operation } from '../check/history.js';
import { verdict } from './worker.js';

export function checkAgreement(finals: unknown[], missing: string[] = []): CheckResult {
  const problems = missing.map((m) => `no final read from ${m}`);
  const first = JSON.stringify(finals[0]);
  finals.forEach((f, i) => {
    if (i > 0 && JSON.stringify(f) !== first) problems.push(`server #${i + 1}'s final state differs from server #1's`);
  });
  return verdict('agreement', problems, `${finals.length} servers agree`);
}

export function checkAckedPresent(checker: string, acked: string[], finals: string[][]): CheckResult {
  const problems = finals.flatMap((f, i) => {
    const have = new Set(f);
    const lost = acked.filter((a) => !have.has(a));
    return lost.length === 0 ? [] : [`server #${i + 1} lacks ${lost.length} acknowledged: ${lost.slice(0, 5).join(', ')}`];
  });
  return verdict(checker, problems, `${acked.length} acknowledged, all in ${finals.length} final reads`);
}

/** Violations named in a summary. */
const SHOWN = 3;

/**
 * `sessions[i]` is the session that issued `ops[i]`; ops of one session are in issue order. An op whose output has
 * a `version` saw (or made) that version of znode `input.key`.
 */
export function checkSessionOrder(ops: Operation<{ key?: string }, unknown>[], sessions: (string | undefined)[]): CheckResult {
  const seen = new Map<string, { version: number; op: number }>();
  const problems: string[] = [];
  let checked = 0;
  ops.forEach((op, i) => {
    const key = op.input.key;
    const version = (op.output as { version?: unknown } | undefined)?.version;
    if (op.status !== 'ok' || key === undefined || typeof version !== 'number' || sessions[i] === undefined) return;
    checked++;
    const slot = `${sessions[i]} ${key}`;
    const before = seen.get(slot);
    if (before && version < before.version) {
      problems.push(`session ${sessions[i]}: op #${i} saw ${key} at v${version} after op #${before.op} saw v${before.version}`);
    }
    if (!before || version > before.version) seen.set(slot, { version, op: i });
  });
  const shown = problems.length > SHOWN ? [...problems.slice(0, SHOWN), `(+${problems.length - SHOWN} more)`] : problems;
  return verdict('session-order', shown, `${checked} versioned ops, no session went back in time`);
}
