// Capture driver (not a test; the test runner imports it and it does nothing without --capture). It records golden
// client-port frames from Apache ZooKeeper 3.8 talking to real clients, through RecordingProxy, into
// test/fixtures/golden/<client>/<nn>.json. Rerun with scripts/capture/capture.sh (or, after a build,
// `node dist/test/protocol/capture/main.js --capture [java|kazoo|cmt|raw ...]`).
//
// Clients: java (scripts/capture/GoldenSession.java, the 3.8 Java client), kazoo (scripts/capture/kazoo_session.py),
// cmt (the C client shell cli_mt fed a command script, once without and once with -r), raw (our own records: a
// ConnectRequest without the readOnly byte, which no installed client sends, then ping and closeSession).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Reader, Writer } from '../../../src/jute/codec.js';
import { OpCode, Xid } from '../../../src/protocol/constants.js';
import { writeConnectRequest, writeRequestHeader } from '../../../src/protocol/records.js';
import { ORACLE_CLASSPATH, PROJECT_ROOT, type RunningServer, startOracle } from '../../support/servers.js';
import { fourLetter, sleep, waitFor } from '../../support/ports.js';
import { type RecordedConnection, RecordingProxy } from './recorder.js';

const GOLDEN_DIR = path.join(PROJECT_ROOT, 'test', 'fixtures', 'golden');
const SCRIPTS = path.join(PROJECT_ROOT, 'scripts', 'capture');
const DROP_MARKER = '/golden-drop';

interface Capture {
  client: string;
  description: string;
  run(proxy: string, direct: string): Promise<void>;
}

function runProcess(cmd: string, args: string[], timeoutMs: number, input?: (stdin: NodeJS.WritableStream) => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], cwd: PROJECT_ROOT });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`${cmd} timed out after ${timeoutMs} ms\n${out}`));
    }, timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(timer);
      if (process.env.CAPTURE_VERBOSE) process.stdout.write(out);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} exited with ${code}\n${out}`));
    });
    if (input) {
      input(p.stdin).then(() => p.stdin.end(), (e: unknown) => {
        p.kill('SIGKILL');
        reject(e instanceof Error ? e : new Error(String(e)));
      });
    } else {
      p.stdin.end();
    }
  });
}

const CMT_SCRIPT = [
  'create /golden-c',
  'create +e /golden-c/eph',
  'create +s /golden-c/seq-',
  'create +es /golden-c/eseq-',
  'create +c /golden-c/container',
  'create +t=60000 /golden-c/ttl',
  'create +st=60000 /golden-c/ttlseq-',
  'create2 /golden-c/c2',
  'create /golden-c',
  'exists /golden-c',
  'wexists /golden-c/later',
  'create /golden-c/later',
  'get /golden-c',
  'set /golden-c newdata',
  'get /golden-c/missing',
  'ls /golden-c',
  'create /golden-c/child',
  'ls2 /golden-c',
  'sync /golden-c',
  'addauth digest golden:secret',
  'config',
  'reconfig -add 2=127.0.0.1:2888:3888;2181',
  'delete /golden-c/child',
  'delete /golden-c',
  'myid',
];

async function feed(stdin: NodeJS.WritableStream, lines: string[], gapMs: number): Promise<void> {
  await sleep(1500); // connect
  for (const line of lines) {
    stdin.write(line + '\n');
    await sleep(gapMs);
  }
  await sleep(3500); // pings
  stdin.write('quit\n');
  await sleep(500);
}

/** A socket that collects bytes and can await a number of whole frames. */
async function rawSession(hostPort: string, frames: Buffer[], expectReplies: number): Promise<void> {
  const [host, port] = hostPort.split(':');
  const sock = net.connect({ host, port: Number(port) });
  let got = Buffer.alloc(0);
  sock.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', () => resolve());
    sock.once('error', reject);
  });
  const count = (): number => {
    let n = 0;
    let off = 0;
    while (got.length >= off + 4 && got.length >= off + 4 + got.readInt32BE(off)) {
      off += 4 + got.readInt32BE(off);
      n++;
    }
    return n;
  };
  for (const f of frames) {
    const w = new Writer();
    w.int(f.length).raw(f);
    sock.write(w.toBuffer());
    const want = Math.min(expectReplies, frames.indexOf(f) + 1);
    const deadline = Date.now() + 5000;
    while (count() < want && Date.now() < deadline) await sleep(20);
  }
  await sleep(300);
  sock.destroy();
}

function connectFrame(readOnly: boolean | undefined, sessionId = 0n, passwd = Buffer.alloc(16)): Buffer {
  const w = new Writer();
  writeConnectRequest(w, { protocolVersion: 0, lastZxidSeen: 0, timeOut: 10000, sessionId, passwd, readOnly });
  return w.toBuffer();
}
function headerFrame(xid: number, type: number, body?: (w: Writer) => void): Buffer {
  const w = new Writer();
  writeRequestHeader(w, { xid, type });
  body?.(w);
  return w.toBuffer();
}

const captures: Capture[] = [
  {
    client: 'java',
    description: 'Java client 3.8 (scripts/capture/GoldenSession.java)',
    run: (proxy, direct) =>
      runProcess('java', ['-cp', ORACLE_CLASSPATH, path.join(SCRIPTS, 'GoldenSession.java'), proxy, direct], 120_000),
  },
  {
    client: 'kazoo',
    description: 'kazoo (scripts/capture/kazoo_session.py)',
    run: (proxy, direct) => runProcess('/usr/bin/python3', [path.join(SCRIPTS, 'kazoo_session.py'), proxy, direct], 120_000),
  },
  {
    client: 'cmt',
    description: 'C client shell cli_mt, without and with -r',
    run: async (proxy) => {
      await runProcess('/usr/lib/zookeeper/bin/cli_mt', ['-h', proxy], 60_000, (stdin) => feed(stdin, CMT_SCRIPT, 400));
      await runProcess('/usr/lib/zookeeper/bin/cli_mt', ['-r', '-h', proxy], 60_000,
        (stdin) => feed(stdin, ['create /golden-c-ro', 'get /golden-c-ro', 'delete /golden-c-ro'], 400));
    },
  },
  {
    client: 'raw',
    description: 'hand-built frames (our records): ConnectRequest without / with the readOnly byte, ping, closeSession',
    run: async (proxy) => {
      await rawSession(proxy, [connectFrame(undefined), headerFrame(Xid.ping, OpCode.ping),
        headerFrame(1, OpCode.exists, (w) => w.string('/').bool(false)), headerFrame(2, OpCode.closeSession)], 4);
      await rawSession(proxy, [connectFrame(true), headerFrame(Xid.ping, OpCode.ping), headerFrame(1, OpCode.closeSession)], 3);
      // An unknown session without the readOnly byte: expired reply in the old format.
      await rawSession(proxy, [connectFrame(undefined, 0x7777n, Buffer.alloc(16, 1))], 1);
    },
  },
];

function describeConnection(c: RecordedConnection): string {
  const ops: string[] = [];
  for (const f of c.frames.slice(1)) {
    if (f.dir !== 'c2s') continue;
    const r = new Reader(Buffer.from(f.hex, 'hex'));
    r.int();
    ops.push(String(r.int()));
  }
  return `ops ${ops.join(',')}`;
}

/**
 * Copies the oracle's txn log (the used part: file header plus whole records, without the zero preallocation) to
 * test/fixtures/golden/txnlog/<client>.log, for the txn record tests.
 */
function saveTxnLog(oracle: RunningServer, client: string): void {
  const dir = path.join(oracle.dataDir, 'version-2');
  const logs = fs.readdirSync(dir).filter((f) => f.startsWith('log.')).sort();
  if (logs.length === 0) return;
  const buf = fs.readFileSync(path.join(dir, logs[0] ?? ''));
  let off = 16; // FileHeader{int magic, int version, long dbid}
  for (;;) {
    if (off + 12 > buf.length) break;
    const len = buf.readInt32BE(off + 8);
    if (len <= 0 || off + 12 + len + 1 > buf.length || buf[off + 12 + len] !== 0x42) break;
    off += 12 + len + 1;
  }
  const out = path.join(GOLDEN_DIR, 'txnlog');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, `${client}.log`), buf.subarray(0, off));
}

async function captureOne(cap: Capture): Promise<number> {
  let oracle: RunningServer | undefined;
  let proxy: RecordingProxy | undefined;
  try {
    oracle = await startOracle({ systemProperties: { 'zookeeper.extendedTypesEnabled': 'true' } });
    // ruok answers before the server takes sessions; a connect in that window is closed without a reply.
    const port0 = oracle.port;
    await waitFor('oracle serving', async () => (await fourLetter(port0, 'srvr')).includes('Mode:'), 20_000, 100);
    await sleep(500);
    proxy = new RecordingProxy({ targetHost: oracle.host, targetPort: oracle.port, dropMarker: DROP_MARKER, holdMs: 1500 });
    const port = await proxy.listen();
    await cap.run(`127.0.0.1:${port}`, oracle.connectString);
    await sleep(500);
    const dir = path.join(GOLDEN_DIR, cap.client);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    let n = 0;
    for (const c of proxy.connections) {
      if (c.frames.length === 0) continue;
      const file = path.join(dir, `${String(n).padStart(2, '0')}.json`);
      const doc = {
        client: cap.client, description: cap.description, server: 'Apache ZooKeeper 3.8 (Debian), extendedTypesEnabled',
        connection: n, endedBy: c.endedBy ?? 'open', summary: describeConnection(c), partial: c.partial, frames: c.frames,
      };
      fs.writeFileSync(file, JSON.stringify(doc, null, 1) + '\n');
      n++;
    }
    saveTxnLog(oracle, cap.client);
    return n;
  } finally {
    await proxy?.close();
    await oracle?.stop();
  }
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  for (const cap of captures) {
    if (wanted.length > 0 && !wanted.includes(cap.client)) continue;
    const n = await captureOne(cap);
    console.log(`${cap.client}: ${n} connections recorded`);
  }
}

if (process.argv.includes('--capture')) {
  main().then(() => process.exit(0), (e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
