// The election notification codec (FastLeaderElection.buildMsg / WorkerReceiver) and QuorumVerifier.toString(),
// against hand-built bytes laid out as ZooKeeper 3.8 writes them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  configVersionOf, decodeNotification, encodeNotification, LONG_MIN, quorumVerifierText, stateCode,
} from '../../../src/quorum/election/notification.js';

const hex = (...parts: string[]): Buffer => Buffer.from(parts.join(''), 'hex');
const long = (v: bigint): string => BigInt.asUintN(64, v).toString(16).padStart(16, '0');
const int = (v: number): string => (v >>> 0).toString(16).padStart(8, '0');

void describe('notification codec', () => {
  void test('buildMsg layout: state, leader, zxid, round, peerEpoch, version 2, config length + bytes', () => {
    const config = 'server.1=127.0.0.1:2888:3888:participant\nversion=0';
    const bytes = encodeNotification({ state: stateCode('FOLLOWING'), leader: 3n, zxid: 0x100000002n, electionEpoch: 7n, peerEpoch: 1n, version: 2, config });
    assert.deepEqual(bytes, hex(int(1), long(3n), long(0x100000002n), long(7n), long(1n), int(2), int(config.length), Buffer.from(config).toString('hex')));
    assert.equal(bytes.length, 44 + config.length);
    const d = decodeNotification(bytes);
    assert.ok(d.ok);
    assert.deepEqual(d.notification, { state: 1, leader: 3n, zxid: 0x100000002n, electionEpoch: 7n, peerEpoch: 1n, version: 2, config });
  });

  void test("an observer's vote (Long.MIN_VALUE) round-trips", () => {
    const n = { state: 0, leader: LONG_MIN, zxid: LONG_MIN, electionEpoch: 1n, peerEpoch: LONG_MIN, version: 2, config: '' };
    const bytes = encodeNotification(n);
    assert.equal(bytes.subarray(4, 12).toString('hex'), '8000000000000000');
    const d = decodeNotification(bytes);
    assert.ok(d.ok);
    assert.deepEqual(d.notification, n);
  });

  void test('28-byte legacy form: peerEpoch is the zxid epoch', () => {
    const d = decodeNotification(hex(int(0), long(2n), long(0x500000009n), long(4n)));
    assert.ok(d.ok);
    assert.deepEqual(d.notification, { state: 0, leader: 2n, zxid: 0x500000009n, electionEpoch: 4n, peerEpoch: 5n, version: 0 });
  });

  void test('40-byte 3.4 form: the trailing int is not taken as a version, no config', () => {
    const d = decodeNotification(hex(int(2), long(2n), long(9n), long(4n), long(3n), int(1)));
    assert.ok(d.ok);
    assert.deepEqual(d.notification, { state: 2, leader: 2n, zxid: 9n, electionEpoch: 4n, peerEpoch: 3n, version: 0 });
  });

  void test('version 1 (no config) is accepted; malformed messages are rejected, not thrown', () => {
    const v1 = decodeNotification(hex(int(0), long(1n), long(1n), long(1n), long(1n), int(1), '00'));
    assert.ok(v1.ok && v1.notification.version === 1 && v1.notification.config === undefined);
    assert.equal(decodeNotification(Buffer.alloc(27)).ok, false);
    assert.equal(decodeNotification(Buffer.alloc(36)).ok, false, 'between the legacy sizes');
    assert.equal(decodeNotification(hex(int(0), long(1n), long(1n), long(1n), long(1n), int(2), int(10), '41')).ok, false);
    assert.equal(decodeNotification(hex(int(0), long(1n), long(1n), long(1n), long(1n), int(2), int(-1))).ok, false);
    assert.equal(decodeNotification(hex(int(0), long(1n), long(1n), long(1n), long(1n), int(2), '0000')).ok, false, 'torn config length');
  });

  void test('an unknown state is decoded and left to the core to drop', () => {
    const d = decodeNotification(hex(int(9), long(1n), long(1n), long(1n), long(1n), int(2), int(0)));
    assert.ok(d.ok && d.notification.state === 9);
  });
});

void describe('QuorumVerifier.toString()', () => {
  void test('server lines in id order, role always named, client address only when the line had one, hex version', () => {
    const text = quorumVerifierText([
      { id: 3, host: '10.0.0.3', quorumPort: 2890, electionPort: 3890, role: 'observer' },
      { id: 1, host: '10.0.0.1', quorumPort: 2888, electionPort: 3888, role: 'participant', clientHost: '0.0.0.0', clientPort: 2181 },
      { id: 2, host: '::1', quorumPort: 2889, electionPort: 3889, role: 'participant' },
    ], 0x100000000n);
    assert.equal(text, [
      'server.1=10.0.0.1:2888:3888:participant;0.0.0.0:2181',
      'server.2=[::1]:2889:3889:participant',
      'server.3=10.0.0.3:2890:3890:observer',
      'version=100000000',
    ].join('\n'));
    assert.equal(configVersionOf(text), 0x100000000n);
    assert.equal(configVersionOf('server.1=a:1:2:participant\nversion=0'), 0n);
    assert.equal(configVersionOf('nothing'), undefined);
  });
});
