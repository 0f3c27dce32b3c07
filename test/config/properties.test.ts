// java.util.Properties parsing. The expected values in the first test were printed by OpenJDK 17's
// Properties.load on the same text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProperties, PropertiesSyntaxError } from '../../src/config/properties.js';

const EDGE = [
  '# comment',
  '  ! also comment',
  'key1=value1',
  'key2 = value2  ',
  '  key3:value3',
  'key4 value4',
  'key5\t=\t v5',
  'key6',
  'multi=line one \\',
  '     line two \\',
  '\tline three',
  'esc=a\\tb\\nc\\u0041\\q\\\\',
  'key\\ with\\=odd\\:chars=ok',
  '',
  '   ',
  'dup=1',
  'dup=2',
  'empty=',
  'colon:=x',
  'eq==y',
  'end=cont\\',
  '# not a comment',
  'trail=x\\\\',
  'sp  :  val',
  'last=ends\\',
].join('\n');

const JAVA: Record<string, string> = {
  colon: '=x',
  dup: '2',
  empty: '',
  end: 'cont# not a comment',
  eq: '=y',
  esc: 'a\tb\ncAq\\',
  'key with=odd:chars': 'ok',
  key1: 'value1',
  key2: 'value2  ',
  key3: 'value3',
  key4: 'value4',
  key5: 'v5',
  key6: '',
  last: 'ends',
  multi: 'line one line two line three',
  sp: 'val',
  trail: 'x\\',
};

void test('parses like java.util.Properties.load', () => {
  const got = Object.fromEntries([...parseProperties(EDGE)].map(([k, v]) => [k, v.value]));
  assert.deepEqual(got, JAVA);
});

void test('CRLF and CR line endings', () => {
  const got = parseProperties('a=1\r\nb=2\rc=3\r\n');
  assert.deepEqual([...got].map(([k, v]) => [k, v.value]), [['a', '1'], ['b', '2'], ['c', '3']]);
});

void test('line numbers and first-appearance order', () => {
  const got = parseProperties('# x\nb=1\n\na=2\nb=3\n');
  assert.deepEqual([...got.keys()], ['b', 'a']);
  assert.equal(got.get('b')?.line, 5);
  assert.equal(got.get('a')?.line, 4);
});

void test('malformed \\u escape is an error with its line', () => {
  assert.throws(() => parseProperties('ok=1\nbad=\\u12G4\n'), (e: unknown) => {
    assert.ok(e instanceof PropertiesSyntaxError);
    assert.equal(e.line, 2);
    return true;
  });
});
