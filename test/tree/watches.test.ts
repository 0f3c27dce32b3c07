import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WatcherType } from '../../src/protocol/constants.js';
import { Driver, Recorder } from './helpers.js';

// Event type numbers: 1 created, 2 deleted, 3 data changed, 4 children changed.

void test('standard watches fire once: data, exist, child', () => {
  const d = new Driver();
  const w = new Recorder();
  d.tree.addWatch('/a', w, 'exist');
  d.tree.addWatch('/', w, 'child');
  d.create('/a');
  assert.deepEqual(w.take(), ['1 /a', '4 /']);
  d.create('/b');
  assert.deepEqual(w.take(), [], 'one-time');
  d.tree.addWatch('/a', w, 'data');
  d.set('/a', 'x');
  d.set('/a', 'y');
  assert.deepEqual(w.take(), ['3 /a']);
});

void test('delete fires NodeDeleted once for data+child watches on the path, and children-changed on the parent', () => {
  const d = new Driver();
  d.create('/a');
  d.create('/a/b');
  const w = new Recorder();
  d.tree.addWatch('/a/b', w, 'data');
  d.tree.addWatch('/a/b', w, 'child');
  d.tree.addWatch('/a', w, 'child');
  d.del('/a/b');
  assert.deepEqual(w.take(), ['2 /a/b', '4 /a']);
  assert.equal(d.tree.watchCount(), 0);
});

void test('persistent watch: data, children and delete events, never removed', () => {
  const d = new Driver();
  const w = new Recorder();
  d.tree.addWatch('/a', w, 'persistent');
  d.create('/a');
  d.set('/a', 'x');
  d.create('/a/b');
  d.create('/a/b/c');
  d.del('/a/b/c');
  d.del('/a/b');
  d.del('/a');
  d.create('/a');
  assert.deepEqual(w.take(), ['1 /a', '3 /a', '4 /a', '4 /a', '2 /a', '1 /a']);
  assert.equal(d.tree.watchCount(), 2, 'counted in both tables, as upstream');
});

void test('persistent recursive watch: whole subtree, never NodeChildrenChanged; in both tables', () => {
  const d = new Driver();
  const w = new Recorder();
  d.tree.addWatch('/a', w, 'persistentRecursive');
  assert.equal(d.tree.watchCount(), 2, 'data and child table, as 3.8');
  d.create('/a');
  d.create('/a/b');
  d.create('/a/b/c');
  d.set('/a/b/c', 'x');
  d.del('/a/b/c');
  d.create('/other');
  assert.deepEqual(w.take(), ['1 /a', '1 /a/b', '1 /a/b/c', '3 /a/b/c', '2 /a/b/c']);
});

void test('3.8: a one-time registration replaces a persistent mode in its own table only', () => {
  const d = new Driver();
  const w = new Recorder();
  d.tree.addWatch('/pw', w, 'persistent');
  d.create('/pw');
  d.tree.addWatch('/pw', w, 'data');
  d.set('/pw', '1');
  d.set('/pw', '2');
  assert.deepEqual(w.take(), ['1 /pw', '3 /pw'], 'the data side became one-time');
  assert.equal(d.tree.hasWatch('/pw', w, WatcherType.Data), false);
  assert.equal(d.tree.hasWatch('/pw', w, WatcherType.Children), true);
  d.create('/pw/c');
  d.create('/pw/d');
  assert.deepEqual(w.take(), ['4 /pw', '4 /pw'], 'the child side stays persistent');
  d.tree.addWatch('/pw', w, 'child');
  d.create('/pw/e');
  d.create('/pw/f');
  assert.deepEqual(w.take(), ['4 /pw'], 'now the child side is one-time too');
  assert.equal(d.tree.watchCount(), 0);
  assert.equal(d.tree.hasWatch('/pw', w, WatcherType.Any), false);
});

void test('3.8: a persistent registration replaces a one-time one', () => {
  const d = new Driver();
  d.create('/a');
  const w = new Recorder();
  d.tree.addWatch('/a', w, 'data');
  d.tree.addWatch('/a', w, 'child');
  d.tree.addWatch('/a', w, 'persistent');
  d.set('/a', '1');
  d.set('/a', '2');
  d.create('/a/b');
  d.create('/a/c');
  assert.deepEqual(w.take(), ['3 /a', '3 /a', '4 /a', '4 /a']);
  assert.equal(d.tree.watchCount(), 2);
});

void test('3.8: getChildren(watch) over a recursive watch makes its child side one-time', () => {
  const d = new Driver();
  const w = new Recorder();
  d.tree.addWatch('/rw', w, 'persistentRecursive');
  d.create('/rw');
  d.create('/rw/a');
  d.tree.addWatch('/rw', w, 'child');
  d.create('/rw/a2');
  assert.deepEqual(w.take(), ['1 /rw', '1 /rw/a', '1 /rw/a2', '4 /rw']);
  d.create('/rw/a3');
  d.del('/rw/a');
  assert.deepEqual(w.take(), ['1 /rw/a3', '2 /rw/a'], 'the data side is still recursive; no more children events');
  assert.equal(d.tree.hasWatch('/rw', w, WatcherType.Children), false);
  assert.equal(d.tree.removeWatches('/rw', w, WatcherType.Data), true);
  d.set('/rw', 'x');
  assert.deepEqual(w.take(), []);
  assert.equal(d.tree.removeWatches('/rw', w, WatcherType.Any), false);
});

void test('3.8: the child side of a recursive watch alone still fires NodeDeleted for the subtree', () => {
  const d = new Driver();
  const w = new Recorder();
  d.tree.addWatch('/r', w, 'persistentRecursive');
  assert.equal(d.tree.removeWatches('/r', w, WatcherType.Data), true);
  assert.equal(d.tree.hasWatch('/r', w, WatcherType.Children), true);
  assert.equal(d.tree.hasWatch('/r', w, WatcherType.Data), false);
  d.create('/r');
  d.create('/r/a');
  d.set('/r/a', '1');
  d.del('/r/a');
  d.del('/r');
  assert.deepEqual(w.take(), ['2 /r/a', '2 /r']);
});

void test('a watcher registered several ways gets one event per trigger', () => {
  const d = new Driver();
  d.create('/a');
  const w = new Recorder();
  d.tree.addWatch('/a', w, 'persistent');
  d.tree.addWatch('/', w, 'persistentRecursive');
  d.tree.addWatch('/a', w, 'data');
  d.set('/a', 'x');
  assert.deepEqual(w.take(), ['3 /a']);
  assert.equal(d.tree.hasWatch('/a', w, WatcherType.Data), false, 'the one-time data entry was consumed');
  d.set('/a', 'y');
  assert.deepEqual(w.take(), ['3 /a'], 'from the recursive watch on /');
  d.create('/a/b');
  assert.deepEqual(w.take(), ['1 /a/b', '4 /a']);
  d.tree.addWatch('/a/b', w, 'data');
  d.tree.addWatch('/a/b', w, 'child');
  d.del('/a/b');
  assert.deepEqual(w.take(), ['2 /a/b', '4 /a'], 'persistent child side of /a still there');
});

void test('watchers are independent per connection', () => {
  const d = new Driver();
  const w1 = new Recorder(1n);
  const w2 = new Recorder(2n);
  d.tree.addWatch('/a', w1, 'exist');
  d.tree.addWatch('/a', w2, 'exist');
  d.create('/a');
  assert.deepEqual([w1.take(), w2.take()], [['1 /a'], ['1 /a']]);
});

void test('removeWatches / hasWatch by WatcherType (3.8 tables); removeWatcher drops everything', () => {
  const d = new Driver();
  d.create('/a');
  const w = new Recorder();
  d.tree.addWatch('/a', w, 'data');
  d.tree.addWatch('/a', w, 'child');
  assert.equal(d.tree.hasWatch('/a', w, WatcherType.Children), true);
  assert.equal(d.tree.removeWatches('/a', w, WatcherType.Children), true);
  assert.equal(d.tree.removeWatches('/a', w, WatcherType.Children), false);
  assert.equal(d.tree.hasWatch('/a', w, WatcherType.Children), false);
  assert.equal(d.tree.hasWatch('/a', w, WatcherType.Data), true);
  assert.equal(d.tree.hasWatch('/a', w, WatcherType.Any), true);
  d.tree.addWatch('/a', w, 'persistent');
  assert.equal(d.tree.hasWatch('/a', w, WatcherType.Data), true, 'a persistent watch is in both tables');
  assert.equal(d.tree.hasWatch('/a', w, WatcherType.Children), true);
  assert.equal(d.tree.removeWatches('/a', w, WatcherType.Data), true, 'removes the data side whatever its mode');
  d.set('/a', 'x');
  d.create('/a/b');
  assert.deepEqual(w.take(), ['4 /a'], 'the child side remains');
  assert.equal(d.tree.removeWatches('/a', w, WatcherType.Any), true);
  assert.equal(d.tree.removeWatches('/a', w, WatcherType.Any), false);
  assert.equal(d.tree.hasWatch('/a', w, WatcherType.Any), false);
  d.tree.addWatch('/a', w, 'persistent');
  assert.equal(d.tree.removeWatches('/a', w, 4), false, '3.9 WatcherTypes are unknown to 3.8');
  assert.equal(d.tree.removeWatches('/a', w, 5), false);
  assert.equal(d.tree.hasWatch('/a', w, 4), false);
  assert.equal(d.tree.hasWatch('/a', w, 0), false);
  d.tree.addWatch('/x', w, 'persistentRecursive');
  assert.equal(d.tree.hasWatch('/x/y', w, WatcherType.Any), false, 'a recursive watch on an ancestor does not count');
  d.tree.removeWatcher(w);
  d.create('/x');
  d.set('/a', 'y');
  assert.deepEqual(w.take(), []);
  assert.equal(d.tree.watchCount(), 0);
});

void test('3.8: checkWatches counts any session\'s watch on the path; removeWatches only the caller\'s', () => {
  const d = new Driver();
  d.create('/a');
  const w = new Recorder(1n);
  const other = new Recorder(2n);
  d.tree.addWatch('/a', other, 'data');
  assert.equal(d.tree.hasWatch('/a', w, WatcherType.Data), true);
  assert.equal(d.tree.hasWatch('/a', w, WatcherType.Any), true);
  assert.equal(d.tree.hasWatch('/a', w, WatcherType.Children), false);
  assert.equal(d.tree.removeWatches('/a', w, WatcherType.Data), false);
  assert.equal(d.tree.removeWatches('/a', w, WatcherType.Any), false);
  d.set('/a', 'x');
  assert.deepEqual([w.take(), other.take()], [[], ['3 /a']]);
  assert.equal(d.tree.hasWatch('/a', w, WatcherType.Data), false);
});

void test('setWatches on reconnect: fires for missed changes, re-registers the rest', () => {
  const d = new Driver();
  d.create('/same'); // 1
  d.create('/changed'); // 2
  d.create('/kids'); // 3
  d.set('/changed', 'x'); // 4
  d.create('/kids/k'); // 5
  const w = new Recorder();
  d.tree.setWatches(3, {
    relativeZxid: 3,
    dataWatches: ['/same', '/changed', '/gone'],
    existWatches: ['/same', '/notyet'],
    childWatches: ['/kids', '/same', '/gone'],
    persistentWatches: ['/p'],
    persistentRecursiveWatches: ['/r'],
  }, w);
  assert.deepEqual(w.take(), ['3 /changed', '2 /gone', '1 /same', '4 /kids', '2 /gone']);
  d.set('/same', 'y');
  d.create('/notyet');
  d.create('/same/c');
  d.create('/p');
  d.create('/r');
  d.create('/r/s');
  assert.deepEqual(w.take(), ['3 /same', '1 /notyet', '4 /same', '1 /p', '1 /r', '1 /r/s']);
});

void test('setWatches: persistent and recursive go to both tables and win over one-time watches on their path', () => {
  const d = new Driver();
  d.create('/p'); // 1
  d.create('/r'); // 2
  const w = new Recorder();
  d.tree.setWatches(2, {
    relativeZxid: 2,
    dataWatches: ['/p'],
    existWatches: [],
    childWatches: ['/p', '/r'],
    persistentWatches: ['/p'],
    persistentRecursiveWatches: ['/r'],
  }, w);
  assert.deepEqual(w.take(), []);
  assert.equal(d.tree.watchCount(), 4);
  d.set('/p', '1');
  d.set('/p', '2');
  d.create('/p/c');
  d.create('/p/d');
  d.create('/r/s');
  assert.deepEqual(w.take(), ['3 /p', '3 /p', '4 /p', '4 /p', '1 /r/s']);
});

void test('wchc/wchp views list the data table per session and per path', () => {
  const d = new Driver();
  const w1 = new Recorder(0x10n);
  const w2 = new Recorder(0x20n);
  d.tree.addWatch('/a', w1, 'data');
  d.tree.addWatch('/b', w1, 'exist');
  d.tree.addWatch('/a', w2, 'data');
  d.tree.addWatch('/c', w2, 'child');
  assert.deepEqual(d.tree.watchesBySession(), new Map([[0x10n, ['/a', '/b']], [0x20n, ['/a']]]));
  assert.deepEqual(d.tree.watchesByPath(), new Map([['/a', [0x10n, 0x20n]], ['/b', [0x10n]]]));
  assert.deepEqual(d.tree.watchSummary(), { connections: 2, paths: 2, watches: 3 });
  assert.equal(d.tree.watchCount(), 4);
});

void test('3.8: a watcher stays in wchs/wchc with no paths until its connection goes; recursive counts twice', () => {
  const d = new Driver();
  const w = new Recorder(0x10n);
  d.create('/x');
  d.tree.addWatch('/x', w, 'data');
  d.set('/x', '1');
  assert.deepEqual(w.take(), ['3 /x']);
  assert.deepEqual(d.tree.watchSummary(), { connections: 1, paths: 0, watches: 0 });
  assert.deepEqual(d.tree.watchesBySession(), new Map([[0x10n, []]]));
  assert.deepEqual(d.tree.watchesByPath(), new Map());
  d.tree.addWatch('/p', w, 'persistent');
  d.tree.addWatch('/r', w, 'persistentRecursive');
  d.tree.addWatch('/x', w, 'child');
  assert.equal(d.tree.watchCount(), 5, 'as the 3.8.0 server reports zk_watch_count');
  assert.deepEqual(d.tree.watchSummary(), { connections: 1, paths: 2, watches: 2 });
  assert.equal(d.tree.removeWatches('/p', w, WatcherType.Any), true);
  assert.equal(d.tree.removeWatches('/r', w, WatcherType.Any), true);
  assert.equal(d.tree.removeWatches('/x', w, WatcherType.Children), true);
  assert.equal(d.tree.watchCount(), 0);
  assert.deepEqual(d.tree.watchSummary(), { connections: 1, paths: 0, watches: 0 });
  d.tree.removeWatcher(w);
  assert.deepEqual(d.tree.watchSummary(), { connections: 0, paths: 0, watches: 0 });
  assert.deepEqual(d.tree.watchesBySession(), new Map());
});
