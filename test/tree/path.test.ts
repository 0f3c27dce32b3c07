import assert from 'node:assert/strict';
import { test } from 'node:test';
import { baseName, parentOf, validatePath } from '../../src/tree/path.js';

void test('valid paths', () => {
  for (const p of ['/', '/a', '/a/b', '/a.b', '/.a', '/a/...', '/a/b.', '/zookeeper', '/ü']) assert.equal(validatePath(p), undefined, p);
});

void test('invalid paths give PathUtils reasons', () => {
  assert.equal(validatePath(''), 'Path length must be > 0');
  assert.equal(validatePath('a'), 'Path must start with / character');
  assert.equal(validatePath('/a/'), 'Path must not end with / character');
  assert.match(validatePath('//a') ?? '', /empty node name specified @1/);
  assert.match(validatePath('/a//b') ?? '', /empty node name specified @3/);
  assert.match(validatePath('/a/.') ?? '', /relative paths not allowed @3/);
  assert.match(validatePath('/a/./b') ?? '', /relative paths not allowed @3/);
  assert.match(validatePath('/a/..') ?? '', /relative paths not allowed @4/);
  assert.match(validatePath('/a\u0000b') ?? '', /null character not allowed @2/);
  for (const c of ['\u0001', '\u001f', '\u007f', '\u009f', '\ud800', '\uf8ff', '\ufff0', '\uffff']) {
    assert.match(validatePath(`/a${c}`) ?? '', /invalid character @2/, JSON.stringify(c));
  }
});

void test('sequential paths are validated with a "1" appended', () => {
  assert.equal(validatePath('/a/', true), undefined);
  assert.equal(validatePath('/a/', false), 'Path must not end with / character');
  assert.match(validatePath('/a/.', true) ?? 'ok', /ok/); // "/a/.1" is a fine name
});

void test('parentOf and baseName', () => {
  assert.equal(parentOf('/a/b'), '/a');
  assert.equal(parentOf('/a'), '/');
  assert.equal(baseName('/a/b'), 'b');
  assert.equal(baseName('/a'), 'a');
});
