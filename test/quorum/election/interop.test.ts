// Interop proof: zkts's election (shell + core, no ZAB) in one ensemble with Apache ZooKeeper 3.8 servers
// (QuorumPeerMain from the Debian package), all on 127.0.0.1.
//  (a) Apache servers 1 and 2 elect a leader; zkts server 3 then joins and learns the same leader and round.
//  (b) Only Apache server 1 and zkts server 3 are up: Apache cannot reach a quorum without zkts's vote, so its log
//      saying LEADING or FOLLOWING proves it decoded and counted our notifications.
// Every process started here is killed in `after`, and every wait is bounded.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { QuorumServerConfig } from '../../../src/config/zoocfg.js';
import type { Elected } from '../../../src/quorum/election/fle.js';
import { type Notification, quorumVerifierText, stateName } from '../../../src/quorum/election/notification.js';
import { ElectionRunner } from '../../../src/quorum/election/runner.js';
import { fourLetter, freePort, waitFor } from '../../support/ports.js';
import { ORACLE_CLASSPATH, oracleAvailable } from '../../support/servers.js';

interface Ports {
  client: number;
  quorum: number;
  election: number;
}

interface Apache {
  id: number;
  proc: ChildProcess;
  output(): string;
  exited(): boolean;
}

const procs: ChildProcess[] = [];
const dirs: string[] = [];
const runners: ElectionRunner[] = [];

after(async () => {
  for (const r of runners) await r.close();
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function allocate(): Promise<Ports[]> {
  const ports: Ports[] = [];
  const seen = new Set<number>();
  while (ports.length < 3) {
    const p = [await freePort(), await freePort(), await freePort()];
    if (p.some((x) => seen.has(x)) || new Set(p).size < 3) continue;
    p.forEach((x) => seen.add(x));
    ports.push({ client: p[0], quorum: p[1], election: p[2] });
  }
  return ports;
}

function serverLines(ports: Ports[]): QuorumServerConfig[] {
  return ports.map((p, i) => ({ id: i + 1, host: '127.0.0.1', quorumPort: p.quorum, electionPort: p.election, role: 'participant' }));
}

function startApache(id: number, ports: Ports[]): Apache {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `zkts-fle-apache${id}-`));
  dirs.push(dir);
  const data = path.join(dir, 'data');
  fs.mkdirSync(data);
  fs.writeFileSync(path.join(data, 'myid'), `${id}\n`);
  const lines = [
    'tickTime=500', 'initLimit=10', 'syncLimit=5', `dataDir=${data}`, `clientPort=${ports[id - 1].client}`,
    'clientPortAddress=127.0.0.1', 'admin.enableServer=false', '4lw.commands.whitelist=*',
    ...serverLines(ports).map((s) => `server.${s.id}=${s.host}:${s.quorumPort}:${s.electionPort}`),
  ];
  const cfg = path.join(dir, 'zoo.cfg');
  fs.writeFileSync(cfg, lines.join('\n') + '\n');
  const proc = spawn('java', ['-Xmx256m', '-Dzookeeper.jmx.log4j.disable=true', '-cp', ORACLE_CLASSPATH,
    'org.apache.zookeeper.server.quorum.QuorumPeerMain', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { id, proc, output: () => out, exited: () => proc.exitCode !== null || proc.signalCode !== null };
}

async function mode(port: number): Promise<string | undefined> {
  try {
    return /Mode: (\w+)/.exec(await fourLetter(port, 'srvr', '127.0.0.1', 1000))?.[1];
  } catch {
    return undefined;
  }
}

async function stop(a: Apache): Promise<void> {
  if (a.exited()) return;
  a.proc.kill('SIGKILL');
  await waitFor(`apache ${a.id} exit`, () => a.exited(), 10_000, 20);
}

interface Node3 {
  runner: ElectionRunner;
  received: Array<{ from: number; n: Notification }>;
  elected: Elected[];
}

async function startNode3(ports: Ports[]): Promise<Node3> {
  const received: Node3['received'] = [];
  const elected: Elected[] = [];
  const runner = new ElectionRunner({
    myId: 3,
    servers: serverLines(ports),
    log: { lastLoggedZxid: 0n, currentEpoch: 0n },
    onElected: (e) => elected.push(e),
    onNotification: (from, n) => received.push({ from, n }),
  });
  runners.push(runner);
  await runner.start();
  return { runner, received, elected };
}

const skip = oracleAvailable() ? false : 'Apache ZooKeeper (Debian package) is not installed';

void describe('leader election interop with Apache ZooKeeper 3.8', { skip, timeout: 180_000 }, () => {
  void test('(a) two Apache servers elect; zkts server 3 learns the same leader and round', async () => {
    const ports = await allocate();
    const a1 = startApache(1, ports);
    const a2 = startApache(2, ports);
    try {
      let modes: Array<string | undefined> = [];
      await waitFor('Apache 1 and 2 to elect a leader', async () => {
        modes = [await mode(ports[0].client), await mode(ports[1].client)];
        return modes.includes('leader') && modes.includes('follower');
      }, 60_000, 200);
      const apacheLeader = modes.indexOf('leader') + 1;
      const node = await startNode3(ports);
      await waitFor('zkts server 3 to join', () => node.elected.length > 0, 30_000, 50);
      const e = node.elected[0];
      assert.equal(e.role, 'FOLLOWING');
      assert.equal(e.leader, apacheLeader);
      assert.equal(node.runner.fle.state, 'FOLLOWING');
      // The leader's own LEADING answer carries the round and peerEpoch we must have adopted.
      const fromLeader = node.received.find((r) => r.from === apacheLeader && stateName(r.n.state) === 'LEADING');
      assert.ok(fromLeader, 'the Apache leader answered with LEADING');
      assert.equal(e.electionEpoch, fromLeader.n.electionEpoch);
      assert.equal(e.peerEpoch, fromLeader.n.peerEpoch);
      assert.equal(node.runner.fle.logicalClock, fromLeader.n.electionEpoch);
      // Byte-level agreement on the config text every notification carries.
      assert.equal(fromLeader.n.version, 2);
      assert.equal(fromLeader.n.config, quorumVerifierText(serverLines(ports), 0n));
      // Apache logged our notifications as well-formed (sid 3, format version 2).
      await waitFor('Apache to log a notification from 3', () => /n\.sid:3, n\.state:LOOKING/.test(a1.output() + a2.output()), 10_000, 50);
      assert.match(a1.output() + a2.output(), /n\.sid:3, n\.state:LOOKING, n\.leader:3, n\.round:0x1, n\.peerEpoch:0x0, n\.zxid:0x0, message format version:0x2, n\.config version:0x0/);
    } finally {
      await stop(a1);
      await stop(a2);
      for (const r of runners.splice(0)) await r.close();
    }
  });

  void test('(b) Apache server 1 + zkts server 3: Apache reaches a decision that needs our vote', async () => {
    const ports = await allocate();
    const node = await startNode3(ports);
    const a1 = startApache(1, ports);
    try {
      await waitFor('Apache 1 to leave LOOKING', () => /\bFOLLOWING\b|\bLEADING\b/.test(a1.output()), 60_000, 100);
      // Both servers start with zxid 0 and epoch 0, so the higher id (3, zkts) wins: Apache follows us.
      assert.match(a1.output(), /\bFOLLOWING\b/);
      await waitFor('zkts server 3 to decide', () => node.elected.length > 0, 10_000, 50);
      assert.equal(node.elected[0].role, 'LEADING');
      assert.equal(node.elected[0].leader, 3);
      const votesFor3 = node.received.filter((r) => r.from === 1 && r.n.leader === 3n && stateName(r.n.state) === 'LOOKING');
      assert.ok(votesFor3.length > 0, 'Apache 1 voted for server 3');
      // While following, Apache tries our (absent) quorum port; srvr must answer and not hang.
      const m = await fourLetter(ports[0].client, 'srvr', '127.0.0.1', 3000).catch((err: Error) => err.message);
      assert.equal(typeof m, 'string');
    } finally {
      await stop(a1);
      for (const r of runners.splice(0)) await r.close();
    }
  });
});
