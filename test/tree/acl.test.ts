import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Perms } from '../../src/protocol/constants.js';
import type { ACL, Id } from '../../src/protocol/records.js';
import { authenticate, checkACL, digestId, fixupACL, ipAuthId, ipMatches, isSuper } from '../../src/tree/acl.js';

const world = (perms: number): ACL => ({ perms, id: { scheme: 'world', id: 'anyone' } });
const acl = (perms: number, scheme: string, id: string): ACL => ({ perms, id: { scheme, id } });
const ip = (id: string): Id => ({ scheme: 'ip', id });

void test('digestId matches ZooKeeper (zkCli/DigestAuthenticationProvider output)', () => {
  // Known value: DigestAuthenticationProvider.generateDigest("super:test").
  assert.equal(digestId('super:test'), 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
  assert.equal(digestId('user:pw').startsWith('user:'), true);
  assert.equal(digestId('nocolon').startsWith('nocolon:'), true);
});

void test('world:anyone and perms bits', () => {
  assert.equal(checkACL([world(Perms.READ)], Perms.READ, []), true);
  assert.equal(checkACL([world(Perms.READ)], Perms.WRITE, []), false);
  assert.equal(checkACL([], Perms.ADMIN, []), true, 'empty ACL allows');
});

void test('digest: exact id match', () => {
  const id = digestId('bob:secret');
  const a = [acl(Perms.ALL, 'digest', id)];
  assert.equal(checkACL(a, Perms.READ, [{ scheme: 'digest', id }]), true);
  assert.equal(checkACL(a, Perms.READ, [{ scheme: 'digest', id: digestId('bob:wrong') }]), false);
  assert.equal(checkACL(a, Perms.READ, [ip('127.0.0.1')]), false);
});

void test('super passes everything', () => {
  const a = [acl(Perms.READ, 'digest', digestId('bob:secret'))];
  const ids = [{ scheme: 'super', id: '' }];
  assert.equal(isSuper(ids), true);
  assert.equal(checkACL(a, Perms.ADMIN, ids), true);
});

void test('ip: exact, prefix bits, IPv6, mapped IPv4', () => {
  assert.equal(ipMatches('10.1.2.3', '10.1.2.3'), true);
  assert.equal(ipMatches('10.1.2.3', '10.1.2.4'), false);
  assert.equal(ipMatches('10.1.2.3', '10.0.0.0/8'), true);
  assert.equal(ipMatches('11.1.2.3', '10.0.0.0/8'), false);
  assert.equal(ipMatches('10.1.2.3', '10.1.2.0/23'), true);
  assert.equal(ipMatches('10.1.4.3', '10.1.2.0/23'), false);
  assert.equal(ipMatches('1.2.3.4', '0.0.0.0/0'), true);
  assert.equal(ipMatches('10.1.2.3', '10.1.2.3/33'), false);
  assert.equal(ipMatches('::ffff:10.1.2.3', '10.1.0.0/16'), true);
  assert.equal(ipMatches('2001:db8::1', '2001:db8::/32'), true);
  assert.equal(ipMatches('2001:db9::1', '2001:db8::/32'), false);
  assert.equal(ipMatches('::1', '::1'), true);
  assert.equal(ipMatches('::1', '127.0.0.1'), false);
  assert.equal(checkACL([acl(Perms.READ, 'ip', '127.0.0.0/8')], Perms.READ, [ip('127.0.0.1')]), true);
  assert.deepEqual(ipAuthId('::ffff:127.0.0.1'), ip('127.0.0.1'));
});

void test('authenticate: digest, superDigest, unknown scheme', () => {
  const sup = digestId('super:test');
  assert.deepEqual(authenticate('digest', Buffer.from('bob:pw'), sup), { ok: true, ids: [{ scheme: 'digest', id: digestId('bob:pw') }] });
  assert.deepEqual(authenticate('digest', Buffer.from('super:test'), sup), {
    ok: true, ids: [{ scheme: 'super', id: '' }, { scheme: 'digest', id: sup }],
  });
  assert.deepEqual(authenticate('foo', Buffer.from('x'), sup), { ok: false });
  assert.deepEqual(authenticate('ip', Buffer.from(''), undefined, '10.0.0.1'), { ok: true, ids: [ip('10.0.0.1')] });
});

void test('fixupACL: invalid inputs', () => {
  assert.equal(fixupACL(null, []), undefined);
  assert.equal(fixupACL([], []), undefined);
  assert.equal(fixupACL([acl(31, 'auth', '')], [ip('127.0.0.1')]), undefined, 'ip ids are not authenticated');
  assert.equal(fixupACL([acl(31, 'digest', 'nohash')], []), undefined);
  assert.equal(fixupACL([acl(31, 'digest', 'a:b:c')], []), undefined);
  assert.equal(fixupACL([acl(31, 'ip', '300.0.0.1')], []), undefined);
  assert.equal(fixupACL([acl(31, 'ip', '10.0.0.1/40')], []), undefined);
  assert.equal(fixupACL([acl(31, 'world', 'someone')], []), undefined);
  assert.equal(fixupACL([acl(31, 'sasl', 'bob')], []), undefined, 'no sasl provider by default');
});

void test('fixupACL: expands auth, keeps valid ids, removes duplicates, ignores perms', () => {
  const d = { scheme: 'digest', id: digestId('bob:pw') };
  const out = fixupACL([world(1), world(1), acl(3, 'auth', ''), acl(1, 'ip', '10.0.0.0/8'), acl(99, 'digest', 'x:y')], [ip('1.2.3.4'), d]);
  assert.deepEqual(out, [world(1), { perms: 3, id: d }, acl(1, 'ip', '10.0.0.0/8'), acl(99, 'digest', 'x:y')]);
});
