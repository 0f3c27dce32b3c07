// Test helpers for tree/: txn builders and a recording watcher.
import { OpCode, Perms } from '../../src/protocol/constants.js';
import type { ACL, WatcherEvent } from '../../src/protocol/records.js';
import { DataTree, type TxnResult } from '../../src/tree/datatree.js';
import type { Watcher } from '../../src/tree/watches.js';
import type { Txn, TxnHeader } from '../../src/txn/records.js';

export const OPEN: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];

/** Applies txns with consecutive zxids; time = zxid * 1000. */
export class Driver {
  zxid: number;
  constructor(readonly tree = new DataTree(), start = 0) {
    this.zxid = start;
  }
  apply(txn: Txn, clientId = 0x100n): TxnResult {
    this.zxid++;
    const hdr: TxnHeader = { clientId, cxid: this.zxid, zxid: this.zxid, time: this.zxid * 1000, type: txn.type };
    return this.tree.processTxn(hdr, txn);
  }
  /** A create with the parent cversion prep would compute (stored + 1). */
  create(path: string, data = '', opts: { ephemeral?: boolean; clientId?: bigint; type?: 1 | 15 } = {}): TxnResult {
    return this.apply(createTxn(this.tree, path, data, opts.ephemeral ?? false, opts.type ?? OpCode.create), opts.clientId);
  }
  del(path: string): TxnResult {
    return this.apply({ type: OpCode.delete, path });
  }
  set(path: string, data: string, version?: number): TxnResult {
    const v = version ?? (this.tree.getNode(path)?.version ?? 0) + 1;
    return this.apply({ type: OpCode.setData, path, data: Buffer.from(data), version: v });
  }
}

export function createTxn(tree: DataTree, path: string, data: string, ephemeral: boolean, type: 1 | 15 = OpCode.create): Txn {
  const parent = tree.getNode(path.slice(0, path.lastIndexOf('/')) || '/');
  return { type, path, data: Buffer.from(data), acl: OPEN, ephemeral, parentCVersion: (parent?.cversion ?? 0) + 1 };
}

export class Recorder implements Watcher {
  readonly events: WatcherEvent[] = [];
  constructor(readonly sessionId = 1n) {}
  deliver(event: WatcherEvent): void {
    this.events.push(event);
  }
  /** "type path" strings, then clears. */
  take(): string[] {
    const out = this.events.map((e) => `${e.type} ${e.path}`);
    this.events.length = 0;
    return out;
  }
}
