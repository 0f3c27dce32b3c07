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

void test('persistent recursive watch: whole subtree, never NodeChildrenChanged', () => {
  const d = new Driver();
  const w = new Recorder();
  d.tree.addWatch('/a', w, 'persistentRecursive');
  d.create('/a');
  d.create('/a/b');
  d.create('/a/b/c');
  d.set('/a/b/c', 'x');
  d.del('/a/b/c');
  d.create('/other');
  assert.deepEqual(w.take(), ['1 /a', '1 /a/b', '1 /a/b/c', '3 /a/b/c', '2 /a/b/c']);
});

void test('a watcher registered several ways gets one event per trigger; persistent survives the standard one', () => {
  const d = new Driver();
  d.create('/a');
  const w = new Recorder();
  d.tree.addWatch('/a', w, 'persistent');
  d.tree.addWatch('/', w, 'persistentRecursive');
  d.tree.addWatch('/a', w, 'data');
  d.set('/a', 'x');
  assert.deepEqual(w.take(), ['3 /a']);
  assert.equal(d.tree.hasWatch('/a', w, WatcherType.Data), false, 'standard mode consumed');
  d.set('/a', 'y');
  assert.deepEqual(w.take(), ['3 /a']);
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

void test('removeWatches / hasWatch by WatcherType; removeWatcher drops everything', () => {
  const d = new Driver();
  d.create('/a');
  const w = new Recorder();
  const other = new Recorder(2n);
  d.tree.addWatch('/a', other, 'data');
  assert.equal(d.tree.hasWatch('/a', w, WatcherType.Data), false, 'another session\'s watch does not count');
  d.tree.addWatch('/a', w, 'data');
  d.tree.addWatch('/a', w, 'child');
  assert.equal(d.tree.hasWatch('/a', w, WatcherType.Children), true);
  assert.equal(d.tree.removeWatches('/a', w, WatcherType.Children), true);
  assert.equal(d.tree.removeWatches('/a', w, WatcherType.Children), false);
  assert.equal(d.tree.hasWatch('/a', w, WatcherType.Data), true);
  d.tree.addWatch('/a', w, 'persistent');
  assert.equal(d.tree.removeWatches('/a', w, WatcherType.Data), true);
  assert.equal(d.tree.hasWatch('/a', w, WatcherType.Any), true, 'persistent one remains');
  assert.equal(d.tree.removeWatches('/a', w, WatcherType.Any), true);
  assert.equal(d.tree.hasWatch('/a', w, WatcherType.Any), false);
  d.tree.addWatch('/x', w, 'persistentRecursive');
  d.tree.removeWatcher(w);
  d.create('/x');
  assert.deepEqual(w.take(), []);
  assert.equal(d.tree.watchCount(), 1);
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
