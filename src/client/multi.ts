// client/multi.ts: multi (14) and multiRead (22): the op descriptions users build, their wire requests, the
// per-op results, and MultiError, the ZkError a failed multi throws with every op's result attached.
import { CreateMode, OpCode } from '../protocol/constants.js';
import { Code, ZkError } from '../protocol/errors.js';
import type { ACL, Stat } from '../protocol/records.js';
import type { OpResult, Request } from '../protocol/requests.js';
import type { Chroot } from './connect-string.js';
import { validatePath } from './connect-string.js';
import { type CallOptions, type CreateOptions, type Data, OPEN_ACL_UNSAFE, toBuffer } from './types.js';

export type Op =
  | { type: 'create'; path: string; data?: Data; acl?: ACL[]; mode?: number; ttl?: number; /** Use create2 (returns Stat). */ stat?: boolean }
  | { type: 'delete'; path: string; version?: number }
  | { type: 'setData'; path: string; data: Data; version?: number }
  | { type: 'check'; path: string; version: number };

export type ReadOp = { type: 'getData'; path: string } | { type: 'getChildren'; path: string };

/** One op's result as ZooKeeper reports it; `error` carries the op's code (0 for ops before the failing one). */
export type MultiResult =
  | { type: 'create'; path: string; stat?: Stat }
  | { type: 'delete' }
  | { type: 'setData'; stat: Stat }
  | { type: 'check' }
  | { type: 'getData'; data: Buffer | null; stat: Stat }
  | { type: 'getChildren'; children: string[] }
  | { type: 'error'; err: number };

/** A failed multi: `code`/`path` name the op that failed, `results` hold every op's result (all type 'error'). */
export class MultiError extends ZkError {
  constructor(
    code: number,
    path: string | undefined,
    readonly results: MultiResult[],
  ) {
    super(code, path, 'multi failed');
  }
}

/** The create opcode for a mode: containers and TTL nodes have their own; `stat` asks for create2. */
export function createOpcode(mode: number, wantStat: boolean): Request['op'] {
  if (mode === CreateMode.CONTAINER) return OpCode.createContainer;
  if (mode === CreateMode.PERSISTENT_WITH_TTL || mode === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL) return OpCode.createTTL;
  return wantStat ? OpCode.create2 : OpCode.create;
}

export function isSequential(mode: number): boolean {
  return mode === CreateMode.PERSISTENT_SEQUENTIAL || mode === CreateMode.EPHEMERAL_SEQUENTIAL ||
    mode === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL;
}

export function createRequest(chroot: Chroot, path: string, data: Data, opts: CreateOptions, wantStat: boolean): Request {
  const mode = opts.mode ?? CreateMode.PERSISTENT;
  validatePath(path, isSequential(mode));
  const op = createOpcode(mode, wantStat) as typeof OpCode.create;
  const isTtl = (op as number) === OpCode.createTTL;
  if (isTtl && (opts.ttl === undefined || opts.ttl <= 0)) throw new ZkError(Code.BADARGUMENTS, path, 'TTL mode needs ttl > 0');
  if (!isTtl && opts.ttl !== undefined) throw new ZkError(Code.BADARGUMENTS, path, 'ttl given for a mode without TTL');
  const acl = opts.acl ?? OPEN_ACL_UNSAFE;
  if (acl.length === 0) throw new ZkError(Code.INVALIDACL, path);
  return {
    op,
    create: { path: chroot.toServer(path), data: toBuffer(data), acl, flags: mode, ...(isTtl ? { ttl: opts.ttl } : {}) },
  };
}

export function opRequest(chroot: Chroot, op: Op): Request {
  switch (op.type) {
    case 'create':
      return createRequest(chroot, op.path, op.data, op, op.stat ?? false);
    case 'delete':
      validatePath(op.path, false);
      return { op: OpCode.delete, path: chroot.toServer(op.path), version: op.version ?? -1 };
    case 'setData':
      validatePath(op.path, false);
      return { op: OpCode.setData, path: chroot.toServer(op.path), data: toBuffer(op.data), version: op.version ?? -1 };
    case 'check':
      validatePath(op.path, false);
      return { op: OpCode.check, path: chroot.toServer(op.path), version: op.version };
  }
}

export function readOpRequest(chroot: Chroot, op: ReadOp): Request {
  validatePath(op.path, false);
  const code = op.type === 'getData' ? OpCode.getData : OpCode.getChildren;
  return { op: code, path: chroot.toServer(op.path), watch: false };
}

export function toMultiResult(chroot: Chroot, r: OpResult): MultiResult {
  switch (r.op) {
    case OpCode.create: return { type: 'create', path: chroot.toClient(r.path) };
    case OpCode.create2: case OpCode.createContainer: case OpCode.createTTL:
      return { type: 'create', path: chroot.toClient(r.path), stat: r.stat };
    case OpCode.delete: return { type: 'delete' };
    case OpCode.check: return { type: 'check' };
    case OpCode.setData: return { type: 'setData', stat: r.stat };
    case OpCode.getData: return { type: 'getData', data: r.data, stat: r.stat };
    case OpCode.getChildren: return { type: 'getChildren', children: r.children };
    case OpCode.error: return { type: 'error', err: r.err };
  }
}

/** The first op whose error is not OK: the op that made the multi fail. */
export function firstFailure(results: MultiResult[]): { index: number; err: number } | undefined {
  for (let i = 0; i < results.length; i++) {
    const r = results[i];
    if (r.type === 'error' && r.err !== Code.OK) return { index: i, err: r.err };
  }
  return undefined;
}

/** A fluent builder over multi: `client.transaction().create(...).delete(...).commit()`. */
export class Transaction {
  private readonly ops: Op[] = [];

  constructor(private readonly run: (ops: Op[], opts?: CallOptions) => Promise<MultiResult[]>) {}

  create(path: string, data?: Data, opts: CreateOptions & { stat?: boolean } = {}): this {
    this.ops.push({ type: 'create', path, data, ...opts });
    return this;
  }

  delete(path: string, version = -1): this {
    this.ops.push({ type: 'delete', path, version });
    return this;
  }

  setData(path: string, data: Data, version = -1): this {
    this.ops.push({ type: 'setData', path, data, version });
    return this;
  }

  check(path: string, version: number): this {
    this.ops.push({ type: 'check', path, version });
    return this;
  }

  /** Adds ops given as Op values. */
  add(...ops: Op[]): this {
    this.ops.push(...ops);
    return this;
  }

  /** The ops so far, in order (a copy). */
  get operations(): Op[] {
    return [...this.ops];
  }

  get length(): number {
    return this.ops.length;
  }

  /**
   * Runs the ops atomically: one result per op, in order ('create' with path, 'setData' with Stat...). On failure
   * rejects with MultiError: `code`/`path` of the op that failed, `results` every op's error code.
   */
  commit(opts: CallOptions = {}): Promise<MultiResult[]> {
    return this.run([...this.ops], opts);
  }
}

/** A fluent builder over multiRead: `client.readTransaction().getData(a).getChildren(b).commit()`. */
export class ReadTransaction {
  private readonly ops: ReadOp[] = [];

  constructor(private readonly run: (ops: ReadOp[], opts?: CallOptions) => Promise<MultiResult[]>) {}

  getData(path: string): this {
    this.ops.push({ type: 'getData', path });
    return this;
  }

  getChildren(path: string): this {
    this.ops.push({ type: 'getChildren', path });
    return this;
  }

  get operations(): ReadOp[] {
    return [...this.ops];
  }

  get length(): number {
    return this.ops.length;
  }

  /**
   * Reads in one round trip, not atomically: one result per op, each independent ('getData' with data and Stat,
   * 'getChildren' with names, or 'error' with the op's code).
   */
  commit(opts: CallOptions = {}): Promise<MultiResult[]> {
    return this.run([...this.ops], opts);
  }
}
