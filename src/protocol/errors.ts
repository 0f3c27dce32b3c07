// One table of ZooKeeper's KeeperException codes, used by the server (to answer) and the client (to throw).

export const Code = {
  OK: 0,
  SYSTEMERROR: -1,
  RUNTIMEINCONSISTENCY: -2,
  DATAINCONSISTENCY: -3,
  CONNECTIONLOSS: -4,
  MARSHALLINGERROR: -5,
  UNIMPLEMENTED: -6,
  OPERATIONTIMEOUT: -7,
  BADARGUMENTS: -8,
  UNKNOWNSESSION: -12,
  NEWCONFIGNOQUORUM: -13,
  RECONFIGINPROGRESS: -14,
  APIERROR: -100,
  NONODE: -101,
  NOAUTH: -102,
  BADVERSION: -103,
  NOCHILDRENFOREPHEMERALS: -108,
  NODEEXISTS: -110,
  NOTEMPTY: -111,
  SESSIONEXPIRED: -112,
  INVALIDCALLBACK: -113,
  INVALIDACL: -114,
  AUTHFAILED: -115,
  SESSIONMOVED: -118,
  NOTREADONLY: -119,
  EPHEMERALONLOCALSESSION: -120,
  NOWATCHER: -121,
  REQUESTTIMEOUT: -122,
  RECONFIGDISABLED: -123,
  SESSIONCLOSEDREQUIRESASLAUTH: -124,
  QUOTAEXCEEDED: -125,
  THROTTLEDOP: -127,
} as const;
export type CodeName = keyof typeof Code;
export type CodeNumber = (typeof Code)[CodeName];

const names = new Map<number, CodeName>(Object.entries(Code).map(([k, v]) => [v, k as CodeName]));

/** Human text as KeeperException.getCodeMessage gives it. */
const messages: Partial<Record<CodeName, string>> = {
  SYSTEMERROR: 'SystemError',
  RUNTIMEINCONSISTENCY: 'RuntimeInconsistency',
  DATAINCONSISTENCY: 'DataInconsistency',
  CONNECTIONLOSS: 'ConnectionLoss',
  MARSHALLINGERROR: 'MarshallingError',
  UNIMPLEMENTED: 'Unimplemented',
  OPERATIONTIMEOUT: 'OperationTimeout',
  BADARGUMENTS: 'BadArguments',
  UNKNOWNSESSION: 'Unknown session',
  APIERROR: 'APIError',
  NONODE: 'NoNode',
  NOAUTH: 'NoAuth',
  BADVERSION: 'BadVersion',
  NOCHILDRENFOREPHEMERALS: 'NoChildrenForEphemerals',
  NODEEXISTS: 'NodeExists',
  NOTEMPTY: 'Directory not empty',
  SESSIONEXPIRED: 'Session expired',
  INVALIDCALLBACK: 'Invalid callback',
  INVALIDACL: 'InvalidACL',
  AUTHFAILED: 'AuthFailed',
  SESSIONMOVED: 'Session moved',
  NOTREADONLY: 'Not a read-only call',
  NOWATCHER: 'No such watcher',
  REQUESTTIMEOUT: 'Request timeout',
  RECONFIGDISABLED: 'Reconfig is disabled',
  QUOTAEXCEEDED: 'Quota has exceeded',
  THROTTLEDOP: 'Op throttled due to high load',
};

export function codeName(code: number): string {
  return names.get(code) ?? `UNKNOWN(${code})`;
}

/** A ZooKeeper error: `code` is the wire number, `name` the KeeperException.Code name. */
export class ZkError extends Error {
  readonly code: number;
  readonly codeName: string;
  readonly path: string | undefined;

  constructor(code: number, path?: string, detail?: string) {
    const name = codeName(code);
    const text = messages[name as CodeName] ?? name;
    super(`KeeperErrorCode = ${text}${path !== undefined ? ` for ${path}` : ''}${detail ? `: ${detail}` : ''}`);
    this.name = 'ZkError';
    this.code = code;
    this.codeName = name;
    this.path = path;
  }

  /** Brand check that works across module copies. */
  static is(e: unknown, code?: number): e is ZkError {
    return (
      typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'ZkError' &&
      (code === undefined || (e as ZkError).code === code)
    );
  }
}
