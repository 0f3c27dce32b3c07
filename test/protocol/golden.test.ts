// Golden frames: every client-port frame recorded between real clients (Java 3.8, kazoo, the C client, hand-built)
// and Apache ZooKeeper 3.8 (test/fixtures/golden/, recorded by scripts/capture/capture.sh) must decode with our
// records and re-encode to the same bytes. Requests are decoded after their RequestHeader (the first frame of a
// connection as a ConnectRequest); replies by the opcode of the request with the same xid; xid -1 as a WatcherEvent.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Reader, Writer } from '../../src/jute/codec.js';
import { CreateMode, EventType, KeeperState, OpCode, Xid } from '../../src/protocol/constants.js';
import { Code } from '../../src/protocol/errors.js';
import * as R from '../../src/protocol/records.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, type Request, type Response } from '../../src/protocol/requests.js';
import { PROJECT_ROOT } from '../support/servers.js';

interface FixtureFrame {
  dir: 'c2s' | 's2c';
  hex: string;
}
interface Fixture {
  client: string;
  connection: number;
  file: string;
  frames: FixtureFrame[];
}

const GOLDEN = path.join(PROJECT_ROOT, 'test', 'fixtures', 'golden');

function loadFixtures(): Fixture[] {
  const out: Fixture[] = [];
  for (const client of fs.readdirSync(GOLDEN).sort()) {
    const dir = path.join(GOLDEN, client);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
      const doc = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Omit<Fixture, 'file'>;
      out.push({ ...doc, client, file: `${client}/${f}` });
    }
  }
  return out;
}

/** One exchange as decoded from a recorded connection. */
interface Exchange {
  xid: number;
  op: number;
  request: Request;
  reply?: R.ReplyHeader;
  response?: Response;
  /** Bytes after the ReplyHeader when err != 0 (normally none). */
  errorBody?: Buffer;
}
interface Decoded {
  connect?: R.ConnectRequest;
  connectResponse?: R.ConnectResponse;
  exchanges: Exchange[];
  notifications: Array<{ header: R.ReplyHeader; event: R.WatcherEvent }>;
  frames: number;
}

function reencode(write: (w: Writer) => void): Buffer {
  const w = new Writer(16);
  write(w);
  return w.toBuffer();
}

function assertSame(actual: Buffer, expected: Buffer, where: string): void {
  if (actual.equals(expected)) return;
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  assert.fail(`${where}: re-encoded bytes differ at offset ${i}\n  got:  ${actual.toString('hex')}\n  want: ${expected.toString('hex')}`);
}

/** Decodes a recorded connection frame by frame and checks every re-encoding; returns what it decoded. */
function decodeConnection(fx: Fixture): Decoded {
  const d: Decoded = { exchanges: [], notifications: [], frames: 0 };
  const pending: Exchange[] = [];
  let first = { c2s: true, s2c: true };
  for (const [i, frame] of fx.frames.entries()) {
    const bytes = Buffer.from(frame.hex, 'hex');
    const where = `${fx.file} frame ${i} (${frame.dir})`;
    const r = new Reader(bytes);
    d.frames++;
    if (frame.dir === 'c2s' && first.c2s) {
      first = { ...first, c2s: false };
      const c = R.readConnectRequest(r);
      R.assertRecordConsumed(r, 'ConnectRequest');
      assertSame(reencode((w) => R.writeConnectRequest(w, c)), bytes, where);
      d.connect = c;
      continue;
    }
    if (frame.dir === 's2c' && first.s2c) {
      first = { ...first, s2c: false };
      const c = R.readConnectResponse(r);
      R.assertRecordConsumed(r, 'ConnectResponse');
      assertSame(reencode((w) => R.writeConnectResponse(w, c)), bytes, where);
      d.connectResponse = c;
      continue;
    }
    if (frame.dir === 'c2s') {
      const h = R.readRequestHeader(r);
      const request = decodeRequest(h.type, r);
      R.assertRecordConsumed(r, `request ${h.type}`);
      assertSame(reencode((w) => {
        R.writeRequestHeader(w, h);
        encodeRequest(w, request);
      }), bytes, where);
      const ex: Exchange = { xid: h.xid, op: h.type, request };
      pending.push(ex);
      d.exchanges.push(ex);
      continue;
    }
    const h = R.readReplyHeader(r);
    if (h.xid === Xid.notification) {
      const event = R.readWatcherEvent(r);
      R.assertRecordConsumed(r, 'WatcherEvent');
      assertSame(reencode((w) => {
        R.writeReplyHeader(w, h);
        R.writeWatcherEvent(w, event);
      }), bytes, where);
      d.notifications.push({ header: h, event });
      continue;
    }
    // Replies come back in request order; pings, auth and setWatches included.
    const ex = pending.shift();
    assert.ok(ex, `${where}: reply xid ${h.xid} with no request outstanding`);
    assert.equal(h.xid, ex.xid, `${where}: reply out of order`);
    ex.reply = h;
    if (h.err === 0) {
      const response = decodeResponse(ex.op, r);
      R.assertRecordConsumed(r, `response ${ex.op}`);
      assertSame(reencode((w) => {
        R.writeReplyHeader(w, h);
        encodeResponse(w, response);
      }), bytes, where);
      ex.response = response;
    } else {
      ex.errorBody = r.rest();
      assertSame(reencode((w) => {
        R.writeReplyHeader(w, h);
        w.raw(ex.errorBody ?? Buffer.alloc(0));
      }), bytes, where);
    }
  }
  return d;
}

const fixtures = loadFixtures();
const decoded = new Map<string, Decoded>();

void describe('golden frames from Apache ZooKeeper 3.8', () => {
  void test('fixtures are present for every client', () => {
    const clients = new Set(fixtures.map((f) => f.client));
    for (const c of ['java', 'kazoo', 'cmt', 'raw']) assert.ok(clients.has(c), `no golden fixtures for ${c}`);
  });

  for (const fx of fixtures) {
    void test(`${fx.file}: every frame decodes and re-encodes byte for byte`, () => {
      const d = decodeConnection(fx);
      decoded.set(fx.file, d);
      assert.equal(d.frames, fx.frames.length);
    });
  }

  const get = (file: string): Decoded => {
    const d = decoded.get(file) ?? decodeConnection(fixtures.find((f) => f.file === file) ?? assert.fail(`missing ${file}`));
    decoded.set(file, d);
    return d;
  };
  const all = (client: string): Decoded[] => fixtures.filter((f) => f.client === client).map((f) => get(f.file));
  const exchanges = (client: string): Exchange[] => all(client).flatMap((d) => d.exchanges);
  const find = (client: string, op: number, p?: string): Exchange[] =>
    exchanges(client).filter((e) => e.op === op && (p === undefined || requestPath(e.request) === p));

  void test('the recorded sessions cover every opcode the clients send', () => {
    const seen = new Set(fixtures.map((f) => get(f.file)).flatMap((d) => d.exchanges.map((e) => e.op)));
    for (const op of [
      OpCode.create, OpCode.delete, OpCode.exists, OpCode.getData, OpCode.setData, OpCode.getACL, OpCode.setACL,
      OpCode.getChildren, OpCode.sync, OpCode.ping, OpCode.getChildren2, OpCode.multi, OpCode.create2, OpCode.reconfig,
      OpCode.checkWatches, OpCode.removeWatches, OpCode.createContainer, OpCode.createTTL, OpCode.multiRead, OpCode.auth,
      OpCode.setWatches, OpCode.getEphemerals, OpCode.getAllChildrenNumber, OpCode.setWatches2, OpCode.addWatch,
      OpCode.whoAmI, OpCode.closeSession,
    ]) {
      assert.ok(seen.has(op), `no golden frame for opcode ${op}`);
    }
  });

  void test('connect: Java sends readOnly=false and gets a 16-byte password back; the C shell -r sends readOnly=true', () => {
    const java = get('java/00.json');
    assert.equal(java.connect?.protocolVersion, 0);
    assert.equal(java.connect?.sessionId, 0n);
    assert.equal(java.connect?.readOnly, false);
    assert.equal(java.connectResponse?.timeOut, 6000);
    assert.equal(java.connectResponse?.passwd.length, 16);
    assert.equal(java.connectResponse?.readOnly, false);
    // The reconnect presents the same session and password.
    const again = get('java/01.json');
    assert.equal(again.connect?.sessionId, java.connectResponse?.sessionId);
    assert.deepEqual(again.connect?.passwd, java.connectResponse?.passwd);
    assert.ok((again.connect?.lastZxidSeen ?? 0) > 0);
    const ro = all('cmt').find((d) => d.connect?.readOnly === true);
    assert.ok(ro, 'cli_mt -r connection');
    assert.equal(ro.connectResponse?.readOnly, false);
  });

  void test('connect without the readOnly byte gets a reply without it; an unknown session gets timeOut 0', () => {
    const old = get('raw/00.json');
    assert.equal(old.connect?.readOnly, undefined);
    assert.ok(old.connectResponse);
    assert.equal(old.connectResponse.readOnly, undefined);
    assert.ok(old.connectResponse.timeOut > 0);
    const expired = get('raw/02.json');
    assert.equal(expired.connect?.sessionId, 0x7777n);
    assert.deepEqual(expired.connectResponse, {
      protocolVersion: 0, timeOut: 0, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: undefined,
    });
    const javaExpired = get('java/04.json');
    assert.equal(javaExpired.connect?.sessionId, 0x1234567890abcdefn);
    assert.equal(javaExpired.connectResponse?.timeOut, 0);
    assert.equal(javaExpired.connectResponse?.sessionId, 0n);
    assert.equal(javaExpired.connectResponse?.readOnly, false);
  });

  void test('create modes, TTL and the Stat of TTL and container nodes', () => {
    const flags = new Map(exchanges('java').flatMap((e) => ('create' in e.request ? [[e.request.create.path, e.request.create.flags]] : [])));
    assert.equal(flags.get('/golden-java'), CreateMode.PERSISTENT);
    assert.equal(flags.get('/golden-java/eph'), CreateMode.EPHEMERAL);
    assert.equal(flags.get('/golden-java/pseq-'), CreateMode.PERSISTENT_SEQUENTIAL);
    assert.equal(flags.get('/golden-java/eseq-'), CreateMode.EPHEMERAL_SEQUENTIAL);
    assert.equal(flags.get('/golden-java/container'), CreateMode.CONTAINER);
    assert.equal(flags.get('/golden-java/ttl'), CreateMode.PERSISTENT_WITH_TTL);
    assert.equal(flags.get('/golden-java/ttlseq-'), CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL);

    const [ttl] = find('java', OpCode.createTTL, '/golden-java/ttl');
    assert.ok(ttl && 'create' in ttl.request);
    assert.equal(ttl.request.create.ttl, 60000);
    assert.equal(ttl.response?.op, OpCode.createTTL);
    assert.ok(ttl.response && 'stat' in ttl.response && 'path' in ttl.response);
    assert.equal(ttl.response.path, '/golden-java/ttl');
    assert.equal(ttl.response.stat.ephemeralOwner, 0n, 'TTL nodes report ephemeralOwner 0');

    const [ttlSeq] = find('java', OpCode.createTTL, '/golden-java/ttlseq-');
    assert.ok(ttlSeq?.response && 'path' in ttlSeq.response);
    assert.match(ttlSeq.response.path, /^\/golden-java\/ttlseq-\d{10}$/);

    // 4-argument create of a container: opcode 19, the server still answers with path + Stat.
    const [container] = find('java', OpCode.createContainer, '/golden-java/container');
    assert.ok(container?.response && 'stat' in container.response);
    assert.equal(container.response.stat.ephemeralOwner, 0n, 'containers report ephemeralOwner 0');

    // Java sends null data as -1, empty data as length 0.
    const [nullData] = find('java', OpCode.create, '/golden-java/nulldata');
    assert.ok(nullData && 'create' in nullData.request);
    assert.equal(nullData.request.create.data, null);
    const [empty] = find('java', OpCode.create, '/golden-java/eseq-');
    assert.ok(empty && 'create' in empty.request);
    assert.deepEqual(empty.request.create.data, Buffer.alloc(0));

    const [eph] = find('java', OpCode.create2, '/golden-java/c2eph');
    assert.ok(eph?.response && 'stat' in eph.response);
    assert.equal(eph.response.stat.ephemeralOwner, get('java/00.json').connectResponse?.sessionId);

    const dup = find('java', OpCode.create, '/golden-java').filter((e) => e.reply?.err !== 0);
    assert.equal(dup[0]?.reply?.err, Code.NODEEXISTS);
    assert.equal(dup[0]?.errorBody?.length, 0);
  });

  void test('setData, versions and errors', () => {
    const sets = find('java', OpCode.setData, '/golden-java');
    assert.equal(sets.length, 2);
    assert.ok(sets[0] && 'version' in sets[0].request);
    assert.equal(sets[0].request.version, 0);
    assert.ok(sets[0].response && 'stat' in sets[0].response);
    assert.equal(sets[0].response.stat.version, 1);
    assert.equal(sets[0].response.stat.dataLength, 2);
    assert.equal(sets[1]?.reply?.err, Code.BADVERSION);
    const [missing] = find('java', OpCode.getData, '/golden-java/missing');
    assert.equal(missing?.reply?.err, Code.NONODE);
    const ex = find('java', OpCode.exists, '/golden-java/later')[0];
    assert.ok(ex && 'watch' in ex.request);
    assert.equal(ex.request.watch, true);
    assert.equal(ex.reply?.err, Code.NONODE);
  });

  void test('ACLs: getACL of an open node, setACL with digest/world/ip ids', () => {
    const [open] = find('java', OpCode.getACL, '/golden-java');
    assert.ok(open?.response && 'acl' in open.response);
    assert.deepEqual(open.response.acl, [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }]);
    const [set] = find('java', OpCode.setACL, '/golden-java/secret');
    assert.ok(set && 'acl' in set.request);
    assert.deepEqual(set.request.acl.map((a) => `${a.perms}:${a.id.scheme}`), ['31:digest', '1:world', '3:ip']);
    const [auth] = find('java', OpCode.auth);
    assert.ok(auth && 'auth' in auth.request);
    assert.equal(auth.xid, Xid.auth);
    assert.equal(auth.request.auth.scheme, 'digest');
    assert.equal(auth.request.auth.auth.toString(), 'golden:secret');
    const [who] = find('java', OpCode.whoAmI);
    assert.ok(who?.response && 'clients' in who.response);
    assert.ok(who.response.clients.some((c) => c.authScheme === 'digest' && c.user === 'golden'));
    const failed = get('java/03.json').exchanges.find((e) => e.op === OpCode.auth);
    assert.equal(failed?.reply?.err, Code.AUTHFAILED);
  });

  void test('multi: success results, failure results, multiRead', () => {
    const [ok, failed] = find('java', OpCode.multi);
    assert.ok(ok?.response && 'results' in ok.response);
    // Inside multi the server reports container and TTL creates as create2 (15) results, plain creates as create (1).
    assert.deepEqual(ok.response.results.map((x) => x.op), [
      OpCode.create, OpCode.create, OpCode.create2, OpCode.create2, OpCode.setData, OpCode.check, OpCode.delete,
    ]);
    assert.ok('ops' in ok.request);
    assert.deepEqual(ok.request.ops.map((x) => x.op), [
      OpCode.create, OpCode.create, OpCode.createContainer, OpCode.createTTL, OpCode.setData, OpCode.check, OpCode.delete,
    ]);
    assert.equal(ok.reply?.err, 0);
    assert.ok(failed?.response && 'results' in failed.response);
    assert.equal(failed.reply?.err, 0, 'a failed multi keeps err 0 in the ReplyHeader');
    assert.deepEqual(failed.response.results, [
      { op: OpCode.error, err: 0 }, { op: OpCode.error, err: Code.BADVERSION }, { op: OpCode.error, err: Code.RUNTIMEINCONSISTENCY },
    ]);
    const [read] = find('java', OpCode.multiRead);
    assert.ok(read?.response && 'results' in read.response);
    assert.deepEqual(read.response.results.map((x) => x.op), [OpCode.getData, OpCode.getChildren, OpCode.error, OpCode.getChildren]);
    const kz = find('kazoo', OpCode.multi);
    assert.equal(kz.length, 2);
  });

  void test('watches: notifications, SetWatches on reconnect, persistent watches', () => {
    const events = all('java').flatMap((d) => d.notifications);
    for (const n of events) {
      assert.equal(n.header.zxid, -1, '3.8 sends notifications with zxid -1');
      assert.equal(n.header.err, 0);
      assert.equal(n.event.state, KeeperState.SyncConnected);
    }
    const seen = events.map((n) => `${n.event.type} ${n.event.path}`);
    assert.ok(seen.includes(`${EventType.NodeDataChanged} /golden-java`));
    assert.ok(seen.includes(`${EventType.NodeCreated} /golden-java/later`));
    assert.ok(seen.includes(`${EventType.NodeChildrenChanged} /golden-java`));
    assert.ok(seen.includes(`${EventType.NodeDeleted} /golden-java/pw`));

    const [sw] = find('java', OpCode.setWatches);
    assert.ok(sw && 'watches' in sw.request);
    // The 3.8 Java client sends SetWatches with an ordinary xid (not -8), right after the auth packets, and the
    // server may send the events it fires before the SetWatches reply.
    assert.ok(sw.xid > 0, `SetWatches xid ${sw.xid}`);
    assert.ok(sw.request.watches.relativeZxid > 0);
    assert.deepEqual(sw.request.watches.dataWatches, ['/golden-java/w']);
    assert.deepEqual(sw.request.watches.existWatches, ['/golden-java/w-missing']);
    assert.deepEqual(sw.request.watches.childWatches, ['/golden-java/w']);
    const [sw2] = find('java', OpCode.setWatches2);
    assert.ok(sw2 && 'watches' in sw2.request);
    assert.deepEqual(sw2.request.watches.persistentWatches, ['/golden-java/pw']);
    assert.deepEqual(sw2.request.watches.persistentRecursiveWatches, ['/golden-java']);
    const [add] = find('java', OpCode.addWatch, '/golden-java');
    assert.ok(add && 'type' in add.request);
    assert.equal(add.request.type, 1);
    // SetWatches fires what changed while the client was away.
    const after = get('java/01.json').notifications.map((n) => `${n.event.type} ${n.event.path}`);
    assert.equal(after[0], `${EventType.NodeDataChanged} /golden-java/w`);
    const after2 = get('java/02.json').notifications.map((n) => `${n.event.type} ${n.event.path}`);
    assert.equal(after2[0], `${EventType.NodeCreated} /golden-java/w-missing`);
  });

  void test('pings and closeSession', () => {
    const pings = exchanges('java').filter((e) => e.op === OpCode.ping);
    assert.ok(pings.length >= 2);
    for (const p of pings) {
      assert.equal(p.xid, Xid.ping);
      assert.equal(p.reply?.xid, Xid.ping);
      assert.ok((p.reply?.zxid ?? 0) > 0);
    }
    for (const client of ['java', 'kazoo', 'cmt', 'raw']) {
      const close = exchanges(client).filter((e) => e.op === OpCode.closeSession);
      assert.ok(close.length >= 1, `${client} closeSession`);
      assert.equal(close[0]?.reply?.err, 0);
    }
  });

  void test('kazoo and the C client: null vs empty data, sequential names', () => {
    const [eseq] = find('kazoo', OpCode.create, '/golden-kazoo/eseq-');
    assert.ok(eseq && 'create' in eseq.request);
    assert.deepEqual(eseq.request.create.data, Buffer.alloc(0));
    assert.ok(eseq.response && 'path' in eseq.response);
    assert.match(eseq.response.path, /^\/golden-kazoo\/eseq-\d{10}$/);
    const [c2] = find('kazoo', OpCode.create2, '/golden-kazoo/c2');
    assert.ok(c2?.response && 'stat' in c2.response);
    const cTtl = find('cmt', OpCode.createTTL);
    assert.ok(cTtl.length >= 2);
    const [cContainer] = find('cmt', OpCode.createContainer);
    assert.ok(cContainer && 'create' in cContainer.request);
    assert.equal(cContainer.request.create.flags, CreateMode.CONTAINER);
  });
});

function requestPath(q: Request): string | undefined {
  if ('create' in q) return q.create.path;
  if ('path' in q) return q.path;
  return undefined;
}
