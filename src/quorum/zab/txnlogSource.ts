// quorum/zab/txnlogSource.ts: the shell half of txn-log sync. Binds sync.ts's TxnLogSource to a data-log directory
// the way FileTxnSnapLog.readTxnLog(zxid, false) + TxnLogProposalIterator read it in ZooKeeper 3.8:
//   - the files: newest first, every log named >= zxid, plus the first one named < zxid (FileTxnIterator.init; note
//     `<`, so a log named exactly zxid still brings its predecessor);
//   - the proposals: every txn from the first record of the oldest of those files (no fast-forward), each as a
//     PROPOSAL packet whose data is the record's payload (TxnHeader + txn + digest, as Util.marshallTxnEntry);
//   - getStorageSize: the sizes of the files still queued once the first txn was read (the file holding it, and any
//     empty ones before it, are no longer counted).
import { fs } from '../../util/sys.js';
import { listTxnLogs, scanLogFile } from '../../storage/txnlogReader.js';
import { PacketType, type QuorumPacket } from './packets.js';
import type { TxnLogSource } from './sync.js';

/** payload bytes 12..20: TxnHeader.zxid (after long clientId, int cxid). */
function payloadZxid(payload: Buffer): number {
  return payload.readInt32BE(12) * 0x100000000 + payload.readUInt32BE(16);
}

export function dirTxnLogSource(dir: string): TxnLogSource {
  return {
    read(fromZxid: number) {
      const all = listTxnLogs(dir); // oldest first
      const picked: typeof all = [];
      for (let i = all.length - 1; i >= 0; i--) {
        picked.unshift(all[i]);
        if (all[i].zxid < fromZxid) break;
      }
      const newest = all.length > 0 ? all[all.length - 1].file : '';
      const sizes = picked.map((l) => fs.statSync(l.file).size);
      // The index of the file holding the first txn decides the storage size; find it without decoding.
      let firstIdx = picked.length;
      for (let i = 0; i < picked.length && firstIdx === picked.length; i++) {
        const it = scanLogFile(picked[i].file, { newest: picked[i].file === newest });
        const r = it.next();
        if (r.done !== true) firstIdx = i;
        void it.return(undefined as never);
      }
      let storageSize = 0;
      for (let i = firstIdx + 1; i < picked.length; i++) storageSize += sizes[i];
      function* proposals(): Generator<QuorumPacket> {
        for (const l of picked) {
          for (const rec of scanLogFile(l.file, { newest: l.file === newest })) {
            const data = Buffer.from(rec.payload);
            yield { type: PacketType.PROPOSAL, zxid: payloadZxid(data), data, authinfo: null };
          }
        }
      }
      return { storageSize, proposals: proposals() };
    },
  };
}
