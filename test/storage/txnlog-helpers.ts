// Helpers shared by the txn log tests: temp dirs, a varied stream of txns, logs written through FileTxnLog, and an
// injectable I/O layer whose fdatasync can be slowed down or made to fail.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OpCode } from '../../src/protocol/constants.js';
import { FileTxnLog, nodeTxnLogIO, type TxnLogIO } from '../../src/storage/txnlog.js';
import type { Txn, TxnDigest, TxnHeader } from '../../src/txn/records.js';
import { silentLogger } from '../../src/util/log.js';

export function tempDir(tag = 'txnlog'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `zkts-${tag}-`));
}

const open = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

/** The i-th txn of a deterministic stream covering every txn type the log stores. */
export function sampleTxn(i: number, zxid: number): { hdr: TxnHeader; txn: Txn; digest?: TxnDigest } {
  const session = 0x100000e78cc0000n + BigInt(i % 3);
  const kinds: Array<() => Txn> = [
    () => ({ type: OpCode.createSession, timeOut: 30000 }),
    () => ({ type: OpCode.create, path: `/n${i}`, data: Buffer.from(`data-${i}`), acl: open, ephemeral: i % 2 === 0, parentCVersion: i }),
    () => ({ type: OpCode.setData, path: `/n${i}`, data: Buffer.alloc(i % 50, i & 0xff), version: i }),
    () => ({ type: OpCode.delete, path: `/n${i}` }),
    () => ({ type: OpCode.error, err: -101 }),
    () => ({ type: OpCode.createContainer, path: `/c${i}`, data: Buffer.from('c'), acl: open, parentCVersion: 1 }),
    () => ({ type: OpCode.createTTL, path: `/t${i}`, data: Buffer.from('t'), acl: open, parentCVersion: 2, ttl: 60000 }),
    () => ({ type: OpCode.setACL, path: `/n${i}`, acl: [{ perms: 1, id: { scheme: 'ip', id: '127.0.0.1' } }], version: 0 }),
    () => ({
      type: OpCode.multi,
      txns: [
        { type: OpCode.create, path: `/m${i}`, data: Buffer.from('m'), acl: open, ephemeral: false, parentCVersion: 1 },
        { type: OpCode.check, path: `/m${i}`, version: 0 },
        { type: OpCode.setData, path: `/m${i}`, data: Buffer.from('mm'), version: 0 },
      ],
    }),
    () => ({ type: OpCode.closeSession, paths2Delete: [`/e${i}`] }),
    () => ({ type: OpCode.create2, path: `/n${i}`, data: Buffer.from('ü'), acl: open, ephemeral: false, parentCVersion: 0 }),
  ];
  const txn = kinds[i % kinds.length]();
  const hdr: TxnHeader = { clientId: session, cxid: i, zxid, time: 1_700_000_000_000 + i * 1000, type: txn.type };
  const digest = i % 4 === 3 ? undefined : { version: 2, treeDigest: BigInt(i) * 0x9e3779b97f4a7c15n & 0xffffffffffffffffn };
  return { hdr, txn, digest };
}

/** Writes txns with zxids `zxids` into `dir` through FileTxnLog (one flush per `batch`), optionally rolling. */
export async function writeLog(dir: string, zxids: number[], o: { batch?: number; rollAt?: number[]; preAllocSize?: number } = {}): Promise<Array<ReturnType<typeof sampleTxn>>> {
  const written: Array<ReturnType<typeof sampleTxn>> = [];
  let durable = -1;
  const log = await FileTxnLog.open({
    dir, preAllocSize: o.preAllocSize ?? 0, logger: silentLogger, onDurable: (z) => (durable = z),
    onError: (e) => {
      throw e;
    },
  });
  const batch = o.batch ?? 7;
  for (let i = 0; i < zxids.length; i++) {
    if (o.rollAt?.includes(i)) log.roll();
    const t = sampleTxn(i, zxids[i]);
    log.append(t.hdr, t.txn, t.digest);
    written.push(t);
    if (i % batch === batch - 1) log.flush();
  }
  await log.close();
  if (zxids.length > 0 && durable !== zxids[zxids.length - 1]) throw new Error(`durable ${durable} after close`);
  return written;
}

/** An I/O layer over the real one whose calls can be delayed or failed by the test. */
export interface FakeIO extends TxnLogIO {
  calls: { writev: number; fdatasync: number; ftruncate: number; create: number; fsyncDir: number };
  /** Resolvers of fdatasyncs held back while `holdSyncs` is true. */
  held: Array<() => void>;
  holdSyncs: boolean;
  failWrite?: NodeJS.ErrnoException;
  failSync?: NodeJS.ErrnoException;
}

export function errno(code: string, message: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`${code}: ${message}`);
  e.code = code;
  return e;
}

export function fakeIO(): FakeIO {
  const io: FakeIO = {
    calls: { writev: 0, fdatasync: 0, ftruncate: 0, create: 0, fsyncDir: 0 },
    held: [],
    holdSyncs: false,
    create: (f) => {
      io.calls.create++;
      return nodeTxnLogIO.create(f);
    },
    overwrite: (f) => nodeTxnLogIO.overwrite(f),
    writev: (fd, bufs, pos) => {
      io.calls.writev++;
      if (io.failWrite) return Promise.reject(io.failWrite);
      return nodeTxnLogIO.writev(fd, bufs, pos);
    },
    ftruncate: (fd, len) => {
      io.calls.ftruncate++;
      return nodeTxnLogIO.ftruncate(fd, len);
    },
    fdatasync: async (fd) => {
      io.calls.fdatasync++;
      if (io.holdSyncs) await new Promise<void>((r) => io.held.push(r));
      if (io.failSync) throw io.failSync;
      return nodeTxnLogIO.fdatasync(fd);
    },
    fsyncDir: (d) => {
      io.calls.fsyncDir++;
      return nodeTxnLogIO.fsyncDir(d);
    },
    close: (fd) => nodeTxnLogIO.close(fd),
  };
  return io;
}

/** Lets pending I/O callbacks and promise continuations run. */
export async function settle(ms = 20): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

export async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
