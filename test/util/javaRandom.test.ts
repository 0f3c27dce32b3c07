// Golden values for JavaRandom, printed by OpenJDK 17's java.util.Random (a throwaway Java program; see the
// comment on each table). If any of these fail, session passwords no longer match a Java ZooKeeper server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JavaRandom } from '../../src/util/javaRandom.js';

interface Golden {
  seed: bigint;
  ints: number[]; // 3 x nextInt()
  longs: bigint[]; // then 2 x nextLong()
  bounded: number[]; // then nextInt(b) for b in BOUNDS
  bytes13: string; // then nextBytes(new byte[13]), hex
  double: number; // then nextDouble()
}

const BOUNDS = [1, 7, 16, 1000, 1 << 30, 0x7fffffff];

const GOLDEN: Golden[] = [
  { seed: 0n, ints: [-1155484576, -723955400, 1033096058], longs: [-7261648964369397258n, 5700976833288827063n],
    bounded: [0, 6, 12, 77, 271416338, 827187473], bytes13: '4de9ef9c2f931efc580f9afb08', double: 0.023081853110331063 },
  { seed: 1n, ints: [-1155869325, 431529176, 1761283695], longs: [7515937759503895804n, 668424937071768037n],
    bounded: [0, 3, 11, 569, 163999236, 2069540317], bytes13: '7e1bda28b4049bf0e4aed78db1', double: 0.910950480954083 },
  { seed: 42n, ints: [-1170105035, 234785527, -1360544799], longs: [884324181205335268n, -1068554554583376509n],
    bounded: [0, 6, 1, 182, 484533751, 791955276], bytes13: '885cb361f86c974620bebfb011', double: 0.762090173108902 },
  { seed: -1n, ints: [1155099827, 1887904451, 52699159], longs: [-8337289232527761815n, -7364023878800395366n],
    bounded: [0, 3, 0, 808, 332610256, 121954317], bytes13: '89fed211cc4316153534aab09a', double: 0.9026164048806323 },
  { seed: 123456789012345n, ints: [-1421006947, -2071311287, -583755257],
    longs: [-7209970155878752358n, -2963259256110309240n], bounded: [0, 3, 6, 823, 661740015, 1564685156],
    bytes13: '61d3841101e6a047b202f6ab47', double: 0.23116079973416226 },
  // Long.MIN_VALUE and Long.MAX_VALUE: only the low 48 bits of the seed matter, so they equal seeds 0 and -1.
  { seed: -9223372036854775808n, ints: [-1155484576, -723955400, 1033096058],
    longs: [-7261648964369397258n, 5700976833288827063n], bounded: [0, 6, 12, 77, 271416338, 827187473],
    bytes13: '4de9ef9c2f931efc580f9afb08', double: 0.023081853110331063 },
  { seed: 9223372036854775807n, ints: [1155099827, 1887904451, 52699159],
    longs: [-8337289232527761815n, -7364023878800395366n], bounded: [0, 3, 0, 808, 332610256, 121954317],
    bytes13: '89fed211cc4316153534aab09a', double: 0.9026164048806323 },
  // 0x100000000000001L ^ 0xB3415C00L, the seed of session 0x100000000000001's password.
  { seed: 72057597045332993n, ints: [1254575109, -1300417993, -503126251],
    longs: [427968458003620847n, -1332835924008561531n], bounded: [0, 3, 11, 608, 417580494, 2063000188],
    bytes13: 'eb38fd41b5254c19827fb8335c', double: 0.43285037409787774 },
];

for (const g of GOLDEN) {
  void test(`java.util.Random sequence for seed ${g.seed}`, () => {
    const r = new JavaRandom(g.seed);
    assert.deepEqual([r.nextInt(), r.nextInt(), r.nextInt()], g.ints);
    assert.deepEqual([r.nextLong(), r.nextLong()], g.longs);
    assert.deepEqual(BOUNDS.map((b) => r.nextInt(b)), g.bounded);
    const bytes = Buffer.alloc(13);
    r.nextBytes(bytes);
    assert.equal(bytes.toString('hex'), g.bytes13);
    assert.equal(r.nextDouble(), g.double);
  });
}

void test('seeds outside the Java long range wrap modulo 2^64 like a Java long', () => {
  const a = new JavaRandom(2n ** 64n + 42n);
  const b = new JavaRandom(42n);
  assert.equal(a.nextInt(), b.nextInt());
});

void test('setSeed restarts the sequence', () => {
  const r = new JavaRandom(7n);
  const first = r.nextLong();
  r.setSeed(7n);
  assert.equal(r.nextLong(), first);
});

void test('argument checks', () => {
  const r = new JavaRandom(0n);
  assert.throws(() => r.nextInt(0), RangeError);
  assert.throws(() => r.nextInt(-5), RangeError);
  assert.throws(() => r.next(33), RangeError);
  const empty = Buffer.alloc(0);
  r.nextBytes(empty);
  assert.equal(empty.length, 0);
});
