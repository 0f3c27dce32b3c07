// Interop proof for src/quorum/zab: a 3-server ensemble where servers 1 and 2 are Apache ZooKeeper 3.8 (they elect a
// leader between them) and server 3 is test/quorum/zab/learner-harness.ts, which joins the elected leader's quorum
// port as sid 3 without election and runs the learner handshake with our codec. Covered: SNAP (claiming zxid 0 while
// the leader holds data; the streamed tree is compared with the leader's tree read by a client), DIFF with proposals
// (claiming a zxid inside the leader's committed log), empty DIFF (claiming the leader's last zxid), TRUNC (claiming
// a zxid beyond it), and the broadcast (a client write arrives as a PROPOSAL with a decodable create txn, is ACKed and
// COMMITted). Every received packet re-encodes to the exact bytes received. Loopback only; every process is killed.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ZooKeeperClient } from '../../../src/client/index.js';
import { NULL_BUFFER } from '../../../src/jute/codec.js';
import { OpCode, Perms } from '../../../src/protocol/constants.js';
import { decodeTxnEntry, encodeQuorumPacket, PacketType, type QuorumPacket } from '../../../src/quorum/zab/packets.js';
import { planSync } from '../../../src/quorum/zab/sync.js';
import { dirTxnLogSource } from '../../../src/quorum/zab/txnlogSource.js';
import { listSnapshots } from '../../../src/storage/snapshot.js';
import { readTxns } from '../../../src/storage/txnlogReader.js';
import { epochOf, makeZxid, zxidHex } from '../../../src/quorum/zab/zxid.js';
import type { DataTree } from '../../../src/tree/datatree.js';
import { silentLogger } from '../../../src/util/log.js';
import { fourLetter, freePort, waitFor } from '../../support/ports.js';
import { ORACLE_CLASSPATH, oracleAvailable } from '../../support/servers.js';
import { diffTrees, dumpTree, type TreeDump } from '../../support/treecompare.js';
import { HarnessLearner } from './learner-harness.js';

interface Peer {
  sid: number;
  clientPort: number;
  quorumPort: number;
  electionPort: number;
  dir?: string;
  proc?: ChildProcess;
  out: string;
  exited: boolean;
}

const TICK = 500;

async function startEnsemble(): Promise<Peer[]> {
  const peers: Peer[] = [];
  for (let sid = 1; sid <= 3; sid++) {
    peers.push({ sid, clientPort: await freePort(), quorumPort: await freePort(), electionPort: await freePort(), out: '', exited: false });
  }
  const servers = peers.map((p) => `server.${p.sid}=127.0.0.1:${p.quorumPort}:${p.electionPort}`);
  for (const p of peers.slice(0, 2)) {
    p.dir = fs.mkdtempSync(path.join(os.tmpdir(), `zkts-zab-${p.sid}-`));
    const dataDir = path.join(p.dir, 'data');
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'myid'), `${p.sid}\n`);
    const cfg = path.join(p.dir, 'zoo.cfg');
    fs.writeFileSync(cfg, [
      `tickTime=${TICK}`, 'initLimit=10', 'syncLimit=5', `dataDir=${dataDir}`, `clientPort=${p.clientPort}`,
      'clientPortAddress=127.0.0.1', 'admin.enableServer=false', '4lw.commands.whitelist=*', ...servers,
    ].join('\n') + '\n');
    const proc = spawn('java', ['-Xmx256m', '-Dzookeeper.jmx.log4j.disable=true', '-cp', ORACLE_CLASSPATH,
      'org.apache.zookeeper.server.quorum.QuorumPeerMain', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.proc = proc;
    proc.stdout?.on('data', (d: Buffer) => (p.out += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (p.out += d.toString()));
    proc.on('exit', () => (p.exited = true));
  }
  return peers;
}

async function stopEnsemble(peers: Peer[]): Promise<void> {
  for (const p of peers) {
    if (p.proc !== undefined && !p.exited) {
      p.proc.kill('SIGKILL');
      await waitFor(`server ${p.sid} exit`, () => p.exited, 10_000, 20).catch(() => undefined);
    }
    if (p.dir !== undefined) fs.rmSync(p.dir, { recursive: true, force: true });
  }
}

async function mode(port: number): Promise<string | undefined> {
  const s = await fourLetter(port, 'srvr', '127.0.0.1', 1000);
  return /Mode: (\w+)/.exec(s)?.[1];
}

/** The client's view of a tree we decoded, in test/support/treecompare's dump format. */
function dumpDataTree(tree: DataTree): TreeDump {
  const out: TreeDump = new Map();
  const hex = (v: bigint): string => '0x' + BigInt.asUintN(64, v).toString(16);
  for (const [p, node] of tree.nodeEntries()) {
    const s = tree.statOf(node);
    out.set(p, {
      data: node.data === NULL_BUFFER ? null : node.data.toString('base64'),
      stat: {
        czxid: s.czxid, mzxid: s.mzxid, pzxid: s.pzxid, ctime: s.ctime, mtime: s.mtime, version: s.version,
        cversion: s.cversion, aversion: s.aversion, ephemeralOwner: hex(s.ephemeralOwner), dataLength: s.dataLength,
        numChildren: s.numChildren,
      },
      acl: node.acl.map((a) => `${a.id.scheme}:${a.id.id}:${a.perms}`),
      ephemeralOwner: hex(s.ephemeralOwner),
      children: [...node.children].sort(),
    });
  }
  return out;
}

const logs: string[] = [];
const note = (s: string): void => {
  logs.push(s);
};

void describe('ZAB interop: harness learner (sid 3) against an Apache ZooKeeper 3.8 leader', { skip: !oracleAvailable(), timeout: 180_000 }, () => {
  let peers: Peer[] = [];
  let leader: Peer;
  let client: ZooKeeperClient;
  const learners: HarnessLearner[] = [];
  let epoch = 0;

  before(async () => {
    peers = await startEnsemble();
    await waitFor('a leader and a follower among servers 1 and 2', async () => {
      for (const p of peers.slice(0, 2)) if (p.exited) throw new Error(`server ${p.sid} exited:\n${p.out}`);
      const modes = await Promise.all(peers.slice(0, 2).map((p) => mode(p.clientPort).catch(() => undefined)));
      return modes.includes('leader') && modes.includes('follower');
    }, 60_000, 200);
    for (const p of peers.slice(0, 2)) if ((await mode(p.clientPort)) === 'leader') leader = p;
    note(`leader is server ${leader.sid}`);
    client = new ZooKeeperClient(`127.0.0.1:${leader.clientPort}`, { sessionTimeoutMs: 10_000, logger: silentLogger });
    await client.connect(10_000);
    await client.create('/zab', Buffer.from('root of the interop data'));
    await client.create('/zab/a', Buffer.from('alpha'));
    await client.create('/zab/b', null);
    await client.create('/zab/ro', Buffer.from('read only'), { acl: [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }] });
    await client.create('/zab/seq-', Buffer.from('s'), { mode: 2 /* PERSISTENT_SEQUENTIAL */ });
    await client.setData('/zab/a', Buffer.from('alpha v1'));
    await client.create('/zab/eph', Buffer.from('e'), { mode: 1 /* EPHEMERAL */ });
  });

  after(async () => {
    for (const l of learners) l.close();
    await client?.close().catch(() => undefined);
    await stopEnsemble(peers);
    if (process.env.ZAB_INTEROP_VERBOSE) for (const s of logs) console.log(s);
    if (process.env.ZAB_INTEROP_VERBOSE) for (const p of peers) console.log(`--- server ${p.sid} ---\n${p.out.split('\n').filter((l) => /DIFF|TRUNC|snapshot|Learner|sid: 3/.test(l)).join('\n')}`);
  });

  void it('SNAP: a learner claiming zxid 0 gets the leader tree, then follows a write', async () => {
    const l = await HarnessLearner.connect(leader.quorumPort, { sid: 3n, acceptedEpoch: 0, currentEpoch: 0, lastLoggedZxid: 0 });
    learners.push(l);
    const s = await l.synced();
    epoch = s.newEpoch;
    const first = l.received[0];
    if (first.kind === 'packet') note(`LEADERINFO on the wire: ${encodeQuorumPacket(first.packet).toString('hex')}`);
    const opener = l.received[1];
    if (opener.kind === 'packet') note(`SNAP on the wire: ${encodeQuorumPacket(opener.packet).toString('hex')}`);
    note(`SNAP sync: opener ${s.opener.type} zxid ${zxidHex(s.opener.zxid)}, epoch ${s.newEpoch}, ${s.proposals.length} proposals; NEWLEADER zxid ${zxidHex(s.newLeader.zxid)} config:\n${s.config}`);
    assert.equal(s.leaderProtocolVersion, 0x10000);
    assert.equal(s.opener.type, PacketType.SNAP, 'the leader chose SNAP');
    assert.equal(s.newLeader.zxid, makeZxid(s.newEpoch, 0));
    assert.match(s.config, /server\.3=127\.0\.0\.1:\d+:\d+:participant/);
    assert.ok(s.snapshot, 'a snapshot followed the SNAP packet');
    const tree = s.snapshot.result.tree;
    assert.equal(tree.lastProcessedZxid, s.opener.zxid);
    assert.ok(s.snapshot.result.sessions.has(client.sessionId), 'our client session is in the streamed session table');
    // Nothing is written meanwhile, so the leader's tree as a client reads it must equal the streamed one.
    const leaderDump = await dumpTree(client);
    const ours = dumpDataTree(tree);
    assert.deepEqual(diffTrees(ours, leaderDump, {}, ['snapshot', 'leader']), []);
    note(`snapshot stream: ${s.snapshot.result.nodes} nodes, ${s.snapshot.result.bytes} bytes, ${s.snapshot.result.sessions.size} sessions`);

    // Broadcast: a write through the client comes to us as PROPOSAL (ACKed by the harness) then COMMIT.
    const created = await client.create('/zab/after-snap', Buffer.from('broadcast'));
    const stat = await client.exists(created);
    assert.ok(stat);
    await l.until('PROPOSAL and COMMIT of the create', () => l.commits.includes(stat.czxid), 10_000);
    const prop = l.proposals.find((p) => p.zxid === stat.czxid) as QuorumPacket;
    assert.ok(prop.data);
    const entry = decodeTxnEntry(prop.data);
    assert.equal(entry.hdr.zxid, stat.czxid);
    assert.equal(entry.hdr.type, OpCode.create);
    assert.equal(entry.txn.type, OpCode.create);
    assert.equal((entry.txn as { path: string }).path, '/zab/after-snap');
    assert.ok(entry.digest, 'a 3.8 leader proposes with a TxnDigest');
    // Applying the proposal to the streamed tree keeps it equal to the leader's (and the digests agree).
    tree.processTxn(entry.hdr, entry.txn);
    assert.equal(tree.treeDigest, entry.digest.treeDigest, 'tree digest after applying the proposal');
    const after = dumpDataTree(tree);
    const leaderAfter = await dumpTree(client);
    assert.deepEqual(diffTrees(after, leaderAfter, {}, ['snapshot+proposal', 'leader']), []);
    await l.until('a PING from the leader', () => l.pings > 0, 5_000);
    const v = l.verifyReencoding();
    assert.deepEqual(v.mismatches, []);
    assert.equal(v.bytesChecked, l.rawBytes().length, 'every received byte was accounted for');
    note(`SNAP run: ${v.bytesChecked} bytes re-encoded exactly; ${l.proposals.length} proposals, ${l.commits.length} commits, ${l.pings} pings`);
    l.close();
  });

  void it('DIFF: a learner claiming a zxid inside the committed log gets the missing proposals', async () => {
    const a = await client.exists('/zab/a');
    assert.ok(a);
    const from = a.czxid; // the learner "has" everything up to the create of /zab/a
    const l = await HarnessLearner.connect(leader.quorumPort, { sid: 3n, acceptedEpoch: epoch, currentEpoch: epoch, lastLoggedZxid: from });
    learners.push(l);
    const s = await l.synced();
    note(`DIFF sync: opener ${s.opener.type} zxid ${zxidHex(s.opener.zxid)}, proposals ${s.proposals.map((p) => zxidHex(p.zxid)).join(',')}`);
    assert.equal(s.opener.type, PacketType.DIFF);
    assert.ok(s.proposals.length >= 5, 'the writes after /zab/a came as proposals');
    assert.equal(s.proposals[0].zxid, from + 1);
    assert.deepEqual(s.commits, s.proposals.map((p) => p.zxid), 'each proposal is followed by its COMMIT');
    assert.equal(s.opener.zxid, s.proposals[s.proposals.length - 1].zxid, 'DIFF carries maxCommittedLog');
    const paths = s.proposals.map((p) => decodeTxnEntry(p.data as Buffer)).map((e) => ('path' in e.txn ? e.txn.path : `type ${e.txn.type}`));
    note(`DIFF proposal txns: ${JSON.stringify(paths)}`);
    assert.ok(paths.includes('/zab/after-snap'));
    // Our planner, given the same committed log (what we have plus what was sent), picks the same.
    const committedLog: QuorumPacket[] = [{ type: PacketType.PROPOSAL, zxid: from, data: null, authinfo: null }, ...s.proposals];
    const plan = planSync({ peerLastZxid: from, lastProcessedZxid: s.opener.zxid, committedLog });
    assert.equal(plan.kind, 'DIFF');
    assert.equal(plan.zxid, s.opener.zxid);
    assert.deepEqual(plan.kind === 'DIFF' && plan.proposals.map((p) => p.zxid), s.proposals.map((p) => p.zxid));

    const created = await client.create('/zab/after-diff', Buffer.from('x'));
    const stat = await client.exists(created);
    assert.ok(stat);
    await l.until('COMMIT of the create', () => l.commits.includes(stat.czxid), 10_000);
    const e = decodeTxnEntry(l.proposals.find((p) => p.zxid === stat.czxid)?.data as Buffer);
    assert.equal((e.txn as { path: string }).path, '/zab/after-diff');
    assert.deepEqual(l.verifyReencoding().mismatches, []);
    l.close();
  });

  void it('empty DIFF: a learner at the leader last zxid', async () => {
    const st = await client.exists('/zab/after-diff');
    assert.ok(st);
    const last = st.czxid;
    const l = await HarnessLearner.connect(leader.quorumPort, { sid: 3n, acceptedEpoch: epoch, currentEpoch: epoch, lastLoggedZxid: last });
    learners.push(l);
    const s = await l.synced();
    note(`in-sync: opener ${s.opener.type} zxid ${zxidHex(s.opener.zxid)}, ${s.proposals.length} proposals`);
    assert.equal(s.opener.type, PacketType.DIFF);
    assert.equal(s.opener.zxid, last);
    assert.equal(s.proposals.length, 0);
    assert.deepEqual(l.verifyReencoding().mismatches, []);
    l.close();
  });

  void it('TRUNC: a learner ahead of the leader in the same epoch is cut back to maxCommittedLog', async () => {
    const st = await client.exists('/zab/after-diff');
    assert.ok(st);
    const max = st.czxid;
    assert.equal(epochOf(max), epoch);
    const l = await HarnessLearner.connect(leader.quorumPort, { sid: 3n, acceptedEpoch: epoch, currentEpoch: epoch, lastLoggedZxid: max + 5 });
    learners.push(l);
    const s = await l.synced();
    note(`TRUNC sync: opener ${s.opener.type} zxid ${zxidHex(s.opener.zxid)}, ${s.proposals.length} proposals`);
    assert.equal(s.opener.type, PacketType.TRUNC);
    assert.equal(s.opener.zxid, max);
    assert.equal(s.proposals.length, 0);
    const plan = planSync({ peerLastZxid: max + 5, lastProcessedZxid: max, committedLog: [{ type: PacketType.PROPOSAL, zxid: max, data: null, authinfo: null }] });
    assert.deepEqual([plan.kind, plan.zxid], ['TRUNC', max]);
    assert.deepEqual(l.verifyReencoding().mismatches, []);
    l.close();
  });

  void it('DIFF from the on-disk txn log: a learner below minCommittedLog; our planner on the leader data dir agrees', async () => {
    const root = await client.exists('/zab');
    assert.ok(root);
    const peer = root.czxid;
    // Push the peer below the 500-entry committed log (zookeeper.commitLogCount).
    for (let i = 0; i < 6; i++) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => client.create(`/zab/bulk-${i}-${j}`, Buffer.from(`v${j}`))));
    }
    const last = await client.exists('/zab/bulk-5-99');
    assert.ok(last);
    const l = await HarnessLearner.connect(leader.quorumPort, { sid: 3n, acceptedEpoch: epoch, currentEpoch: epoch, lastLoggedZxid: peer });
    learners.push(l);
    const s = await l.synced();
    note(`txn-log DIFF: opener ${s.opener.type} zxid ${zxidHex(s.opener.zxid)}, ${s.proposals.length} proposals ${zxidHex(s.proposals[0]?.zxid ?? -1)}..${zxidHex(s.proposals.at(-1)?.zxid ?? -1)}`);
    assert.equal(s.opener.type, PacketType.DIFF);
    assert.equal(s.opener.zxid, last.czxid);
    assert.equal(s.proposals[0].zxid, peer + 1);
    assert.equal(s.proposals.length, last.czxid - peer);
    assert.deepEqual(s.commits, s.proposals.map((p) => p.zxid));
    await waitFor('the leader log line', () => /Use txnlog and committedLog for peer sid: 3/.test(leader.out), 5_000, 50);

    // The same decision from our pure planner, fed from the leader's own data directory.
    const logDir = path.join(leader.dir as string, 'data', 'version-2');
    const all = [...readTxns(logDir, 0)].map((t): QuorumPacket => ({ type: PacketType.PROPOSAL, zxid: t.hdr.zxid, data: null, authinfo: null }));
    const committedLog = all.slice(-500);
    const snaps = listSnapshots(logDir);
    const plan = planSync({
      peerLastZxid: peer,
      lastProcessedZxid: last.czxid,
      committedLog,
      snapshotSizeBytes: snaps.length > 0 ? fs.statSync(snaps[0].file).size : 0,
      txnLog: dirTxnLogSource(logDir),
    });
    assert.equal(plan.kind, 'DIFF');
    assert.equal(plan.reason, 'txn-log');
    assert.equal(plan.zxid, s.opener.zxid);
    assert.ok(plan.kind === 'DIFF');
    assert.deepEqual(plan.proposals.map((p) => p.zxid), s.proposals.map((p) => p.zxid));
    // Proposals read from the log carry the logged payload: byte-identical to what the leader re-marshalled.
    const fromLog = plan.proposals.filter((p) => p.data !== null);
    assert.ok(fromLog.length > 0);
    for (const p of fromLog) {
      const sent = s.proposals.find((q) => q.zxid === p.zxid) as QuorumPacket;
      assert.ok(sent.data?.equals(p.data as Buffer), `proposal ${zxidHex(p.zxid)} bytes`);
    }
    assert.deepEqual(l.verifyReencoding().mismatches, []);
    l.close();
  });
});
