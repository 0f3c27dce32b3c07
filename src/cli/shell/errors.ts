// cli/shell/errors.ts: the failures a zkCli command reports. A CliError carries the line zkCli prints on stderr
// and the process exit code (1, or 127 for an unknown command); `keeperMessage` renders a ZooKeeper error the way
// zkCli's CliWrapperException does.
import { Code, ZkError } from '../../protocol/errors.js';

export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CliError';
  }
}

/** KeeperException.getMessage(): "KeeperErrorCode = NoNode for /x" (no extra detail). */
export function keeperText(code: number, path: string | undefined): string {
  return new ZkError(code, path).message;
}

/** What zkCli prints for a ZooKeeper error (CliWrapperException). `path` stands in when the error carries none. */
export function keeperMessage(e: ZkError, fallbackPath?: string): string {
  const path = e.path ?? fallbackPath;
  const p = path ?? 'null';
  switch (e.code) {
    case Code.NONODE: return `Node does not exist: ${p}`;
    case Code.NOCHILDRENFOREPHEMERALS: return `Ephemerals cannot have children: ${p}`;
    case Code.NODEEXISTS: return `Node already exists: ${p}`;
    case Code.NOTEMPTY: return `Node not empty: ${p}`;
    case Code.NOTREADONLY: return `Not a read-only call: ${p}`;
    case Code.INVALIDACL: return `Acl is not valid : ${p}`;
    case Code.NOAUTH: return `Insufficient permission : ${p}`;
    case Code.BADARGUMENTS: return `Arguments are not valid : ${p}`;
    case Code.BADVERSION: return `version No is not valid : ${p}`;
    case Code.RECONFIGINPROGRESS: return 'Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)';
    case Code.NEWCONFIGNOQUORUM:
      return 'No quorum of new config is connected and up-to-date with the leader of last commmitted config - try '
        + 'invoking reconfiguration after new servers are connected and synced';
    case Code.QUOTAEXCEEDED: return `Quota has exceeded : ${p}`;
    default: return keeperText(e.code, path);
  }
}

/** Turns any failure of a client call into the CliError zkCli would report. */
export function wrap(e: unknown, fallbackPath?: string): CliError {
  if (e instanceof CliError) return e;
  if (ZkError.is(e)) return new CliError(keeperMessage(e, fallbackPath));
  return new CliError((e as Error)?.message ?? String(e));
}
