// Measurement, not a regular test (ZKTS_SNAPSHOT_BENCH=1 to run; ZKTS_SNAPSHOT_BENCH_NODES to size it): writes a
// snapshot of a 1M-node tree (100-byte data) while txns keep applying, and reports the time taken and the longest
// event-loop block during the write, then reads it back.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { it } from 'node:test';
import { OpCode } from '../../src/protocol/constants.js';
import { readSnapshot, snapshotFileName, writeSnapshot } from '../../src/storage/snapshot.js';
import { DataTree } from '../../src/tree/datatree.js';
import { createLogger } from '../../src/util/log.js';

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

void it('1M-node snapshot: write time and longest event-loop block', { skip: process.env.ZKTS_SNAPSHOT_BENCH ? false : 'set ZKTS_SNAPSHOT_BENCH=1', timeout: 600_000 }, async () => {
  const total = Number(process.env.ZKTS_SNAPSHOT_BENCH_NODES ?? 1_000_000);
  const fanout = 1000;
  const tree = new DataTree();
  // Build through the restore API (fast), as if loaded.
  tree.beginRestore();
  const blank = (data: Buffer, zxid: number) => ({
    data, acl: OPEN, czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: 1_700_000_000_000, mtime: 1_700_000_000_000,
    version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n, children: new Set<string>(),
  });
  tree.restoreNode('', blank(Buffer.alloc(0), 0));
  tree.restoreNode('/zookeeper', blank(Buffer.alloc(0), 0));
  tree.restoreNode('/zookeeper/quota', blank(Buffer.alloc(0), 0));
  let zxid = 0;
  for (let d = 0; d * fanout < total; d++) {
    tree.restoreNode(`/dir${d}`, blank(Buffer.alloc(100, d), ++zxid));
    for (let i = 0; i < fanout && d * fanout + i < total; i++) tree.restoreNode(`/dir${d}/node${i}`, blank(Buffer.alloc(100, i), ++zxid));
  }
  tree.finishRestore();
  tree.lastProcessedZxid = zxid;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-snapbench-'));
  try {
    for (const compression of ['', 'gz'] as const) {
      const file = path.join(dir, snapshotFileName(tree.lastProcessedZxid, compression));
      // Txns keep coming during the write (setData on random nodes), and a 1 ms timer measures the loop's blocks.
      let maxGap = 0;
      let last = performance.now();
      const timer = setInterval(() => {
        const now = performance.now();
        maxGap = Math.max(maxGap, now - last);
        last = now;
      }, 1);
      let txns = 0;
      const churn = setInterval(() => {
        for (let k = 0; k < 50; k++) {
          const p = `/dir${(txns * 7) % Math.ceil(total / fanout)}/node${(txns * 13) % fanout}`;
          zxid++;
          tree.processTxn({ clientId: 1n, cxid: zxid, zxid, time: Date.now(), type: OpCode.setData },
            { type: OpCode.setData, path: p, data: Buffer.alloc(100, txns & 0xff), version: 1 });
          txns++;
        }
      }, 2);
      const h = monitorEventLoopDelay({ resolution: 1 });
      h.enable();
      const t0 = performance.now();
      const r = await writeSnapshot({ tree, sessions: [], file, compression, logger: createLogger({ level: 'debug', sink: (l) => console.log(l) }) });
      const ms = performance.now() - t0;
      h.disable();
      clearInterval(timer);
      clearInterval(churn);
      const t1 = performance.now();
      const back = await readSnapshot(file);
      const readMs = performance.now() - t1;
      const report = {
        compression: compression || 'plain', nodes: r.nodes, bytes: r.bytes, writeMs: Math.round(ms),
        maxTimerGapMs: Math.round(maxGap * 10) / 10, loopDelayMaxMs: Math.round(h.max / 1e5) / 10,
        loopDelayP99Ms: Math.round(h.percentile(99) / 1e5) / 10, txnsDuringWrite: txns, readMs: Math.round(readMs),
        heapMB: Math.round(process.memoryUsage().heapUsed / 1e6),
      };
      console.log(JSON.stringify(report));
      assert.equal(back.tree.nodeCount, tree.nodeCount);
      fs.rmSync(file);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
