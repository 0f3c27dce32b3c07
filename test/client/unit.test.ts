// Pure parts of the client: connection strings, chroot mapping, path validation, watch tables, framing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Chroot, parseConnectString, validatePath } from '../../src/client/connect-string.js';
import { FrameError, FrameReader } from '../../src/client/framing.js';
import { digestId } from '../../src/client/types.js';
import { WatchManager, WatcherTypeExt } from '../../src/client/watch-manager.js';
import { EventType } from '../../src/protocol/constants.js';
import { Code, ZkError } from '../../src/protocol/errors.js';

void describe('connection string', () => {
  void it('parses hosts, default port, IPv6 and chroot', () => {
    assert.deepEqual(parseConnectString('a:1,b,[::1]:3/app/x'), {
      hosts: [{ host: 'a', port: 1 }, { host: 'b', port: 2181 }, { host: '::1', port: 3 }],
      chroot: '/app/x',
    });
    assert.equal(parseConnectString('h:1/').chroot, '');
    assert.throws(() => parseConnectString('h:notaport'), (e: unknown) => ZkError.is(e, Code.BADARGUMENTS));
    assert.throws(() => parseConnectString('h:1/bad/'), (e: unknown) => ZkError.is(e, Code.BADARGUMENTS));
    assert.throws(() => parseConnectString(''), (e: unknown) => ZkError.is(e, Code.BADARGUMENTS));
  });

  void it('maps paths through a chroot both ways', () => {
    const c = new Chroot('/app');
    assert.equal(c.toServer('/'), '/app');
    assert.equal(c.toServer('/x/y'), '/app/x/y');
    assert.equal(c.toClient('/app'), '/');
    assert.equal(c.toClient('/app/x'), '/x');
    assert.equal(c.toClient('/apple'), '/apple');
    const none = new Chroot('');
    assert.equal(none.toServer('/x'), '/x');
    assert.equal(none.toClient('/x'), '/x');
  });

  void it('validates paths as PathUtils does', () => {
    for (const ok of ['/', '/a', '/a/b', '/a.b/..c']) validatePath(ok, false);
    validatePath('/seq/', true);
    for (const bad of ['', 'a', '/a/', '//', '/a//b', '/./a', '/a/..', '/a\u0000', '/a\u0085', '/\ud800x', '/\ufff5']) {
      assert.throws(() => validatePath(bad, false), (e: unknown) => ZkError.is(e, Code.BADARGUMENTS), JSON.stringify(bad));
    }
  });

  void it('digest ids are user:base64(sha1(user:password))', () => {
    // The value ZooKeeper's DigestAuthenticationProvider.generateDigest gives for super:test.
    assert.deepEqual(digestId('super', 'test'), { scheme: 'digest', id: 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=' });
  });
});

void describe('watch manager', () => {
  const w1 = (): void => undefined;
  const w2 = (): void => undefined;

  void it('one-time watches fire once to each distinct watcher', () => {
    const m = new WatchManager(undefined);
    m.addOneTime('data', '/a', w1);
    m.addOneTime('exist', '/a', w1);
    m.addOneTime('data', '/a', w2);
    m.addOneTime('child', '/a', w2);
    assert.deepEqual([...m.materialize(EventType.NodeDataChanged, '/a')], [w1, w2]);
    assert.deepEqual([...m.materialize(EventType.NodeDataChanged, '/a')], []);
    assert.deepEqual([...m.materialize(EventType.NodeChildrenChanged, '/a')], [w2]);
    m.addOneTime('data', '/b', w1);
    m.addOneTime('child', '/b', w2);
    assert.deepEqual(new Set(m.materialize(EventType.NodeDeleted, '/b')), new Set([w1, w2]));
    assert.ok(m.isEmpty());
  });

  void it('persistent watches stay; recursive ones match descendants but not child events', () => {
    const m = new WatchManager(undefined);
    m.addPersistent('/a', w1, false);
    m.addPersistent('/', w2, true);
    assert.deepEqual([...m.materialize(EventType.NodeChildrenChanged, '/a')], [w1]);
    assert.deepEqual([...m.materialize(EventType.NodeDataChanged, '/a')], [w1, w2]);
    assert.deepEqual([...m.materialize(EventType.NodeCreated, '/a/b/c')], [w2]);
    assert.deepEqual(m.paths(), { data: [], exist: [], child: [], persistent: ['/a'], recursive: ['/'] });
  });

  void it('removal reports what was removed and what the server must drop', () => {
    const m = new WatchManager(undefined);
    m.addOneTime('data', '/a', w1);
    m.addOneTime('data', '/a', w2);
    m.addOneTime('child', '/a', w1);
    assert.ok(m.contains('/a', w2, WatcherTypeExt.Data));
    assert.ok(!m.contains('/a', w2, WatcherTypeExt.Children));
    // w1's data watch goes, w2 still needs the server's data watch and w1 the child watch.
    assert.equal(m.serverRemovalType('/a', w1, WatcherTypeExt.Data), undefined);
    assert.equal(m.serverRemovalType('/a', w1, WatcherTypeExt.Children), WatcherTypeExt.Children);
    assert.equal(m.serverRemovalType('/a', undefined, WatcherTypeExt.Any), WatcherTypeExt.Any);
    const removed = m.remove('/a', w1, WatcherTypeExt.Any);
    assert.deepEqual([...removed.keys()].sort(), [EventType.DataWatchRemoved, EventType.ChildWatchRemoved].sort());
    assert.ok(m.contains('/a', w2, WatcherTypeExt.Data));
    assert.ok(!m.contains('/a', w1, WatcherTypeExt.Any));
  });

  void it('session events go to the default watcher and every registered one', () => {
    const d = (): void => undefined;
    const m = new WatchManager(d);
    m.addOneTime('data', '/a', w1);
    m.addPersistent('/b', w2, true);
    m.addOneTime('child', '/c', d);
    assert.deepEqual([...m.all()], [d, w1, w2]);
  });
});

void describe('framing', () => {
  const frame = (body: string): Buffer => {
    const b = Buffer.alloc(4 + body.length);
    b.writeInt32BE(body.length, 0);
    b.write(body, 4);
    return b;
  };

  void it('splits many frames in one chunk and joins one frame across chunks', () => {
    const r = new FrameReader(1000);
    const all = Buffer.concat([frame('one'), frame(''), frame('three'), frame('four')]);
    assert.deepEqual(r.push(all.subarray(0, 20)).map(String), ['one', '', 'three']);
    assert.deepEqual(r.push(all.subarray(20, 22)).map(String), []);
    assert.deepEqual(r.push(all.subarray(22)).map(String), ['four']);
    for (const byte of frame('bytewise')) {
      const out = r.push(Buffer.from([byte]));
      if (out.length) assert.deepEqual(out.map(String), ['bytewise']);
    }
  });

  void it('rejects lengths out of range', () => {
    const r = new FrameReader(10);
    assert.throws(() => r.push(frame('x'.repeat(11))), FrameError);
    const neg = Buffer.alloc(4);
    neg.writeInt32BE(-1, 0);
    assert.throws(() => new FrameReader(10).push(neg), FrameError);
  });
});
