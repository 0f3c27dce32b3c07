// Network fuzzing of the client port, against each server kind in testKinds(): (a) random bytes, (b) a valid
// ConnectRequest followed by mutated golden request frames (flipped/truncated/extended bytes, random opcodes,
// negative, huge and above-jute.maxbuffer lengths), (c) garbage in place of the ConnectRequest. After each batch a
// fresh raw session must still create and read back a node; for zkts the process must still be running.
// Bounded: fixed seeds, 100 runs per property (300 per kind), each connection lives at most ~40 ms.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { waitFor } from '../support/ports.js';
import { PROJECT_ROOT, type RunningServer, startServer, testKinds } from '../support/servers.js';
import { connectRequestFrame, frame, healthCheck, openSocket } from './raw-session.js';

const SEEDS = { randomBytes: 0x5eed01, mutatedFrames: 0x5eed02, garbageConnect: 0x5eed03 } as const;
const RUNS = 100;
const HEALTH_EVERY = 50;
const JUTE_MAXBUFFER = 0xfffff;

/** Client request payloads (after the ConnectRequest) recorded from the Java client: the mutation corpus. */
function goldenRequests(): Buffer[] {
  const file = path.join(PROJECT_ROOT, 'test', 'fixtures', 'golden', 'java', '00.json');
  const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { frames: Array<{ dir: string; hex: string }> };
  return doc.frames.filter((f) => f.dir === 'c2s').slice(1).map((f) => Buffer.from(f.hex, 'hex'));
}

type Mutation =
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'truncate'; keep: number }
  | { kind: 'extend'; extra: Uint8Array }
  | { kind: 'opcode'; op: number }
  | { kind: 'innerLength'; at: number; value: number }
  | { kind: 'none' };
type LengthMode = 'exact' | 'negative' | 'huge' | 'aboveMax' | 'short' | 'long';

const interestingInt = fc.oneof(
  fc.constantFrom(-1, -2, 0, 1, 0x7fffffff, -0x80000000, JUTE_MAXBUFFER, JUTE_MAXBUFFER + 1, 2 * JUTE_MAXBUFFER + 1),
  fc.integer({ min: -0x80000000, max: 0x7fffffff }),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ kind: fc.constant('opcode' as const), op: fc.oneof(fc.integer({ min: -12, max: 110 }), interestingInt) }),
  fc.record({ kind: fc.constant('innerLength' as const), at: fc.nat(), value: interestingInt }),
  fc.constant({ kind: 'none' as const }),
);
const lengthMode = fc.constantFrom<LengthMode>('exact', 'exact', 'exact', 'negative', 'huge', 'aboveMax', 'short', 'long');

function mutate(base: Buffer, m: Mutation): Buffer {
  const b = Buffer.from(base);
  switch (m.kind) {
    case 'flip':
      if (b.length > 0) b[m.at % b.length] = (b[m.at % b.length] ?? 0) ^ m.xor;
      return b;
    case 'truncate': return b.subarray(0, m.keep % (b.length + 1));
    case 'extend': return Buffer.concat([b, m.extra]);
    case 'opcode':
      if (b.length >= 8) b.writeInt32BE(m.op | 0, 4);
      return b;
    case 'innerLength':
      // Overwrite an int inside the body (often a string/buffer/vector length).
      if (b.length >= 12) b.writeInt32BE(m.value | 0, 8 + ((m.at % (b.length - 11)) & ~3));
      return b;
    case 'none': return b;
  }
}

function withLength(payload: Buffer, mode: LengthMode): Buffer {
  const head = Buffer.alloc(4);
  switch (mode) {
    case 'exact': return frame(payload);
    case 'negative': head.writeInt32BE(-1 - (payload.length % 1000)); break;
    case 'huge': head.writeInt32BE(0x7fffffff); break;
    case 'aboveMax': head.writeInt32BE(JUTE_MAXBUFFER + 1 + payload.length); break;
    case 'short': head.writeInt32BE(Math.max(0, payload.length - 3)); break;
    case 'long': head.writeInt32BE(payload.length + 5); break;
  }
  return Buffer.concat([head, payload]);
}

/** Opens a connection, sends `bytes`, waits up to `lingerMs` (less if the server closes first), then destroys it. */
async function blast(port: number, bytes: Buffer, lingerMs = 40): Promise<void> {
  const sock = await openSocket(port);
  sock.on('error', () => undefined);
  sock.on('data', () => undefined);
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, lingerMs);
    sock.once('close', () => {
      clearTimeout(t);
      resolve();
    });
    sock.write(bytes);
  });
  sock.destroy();
}

for (const kind of testKinds()) {
  void describe(`client-port fuzzing (${kind})`, { timeout: 120_000 }, () => {
    let server: RunningServer;
    let checks = 0;
    const corpus = goldenRequests();

    const assertHealthy = async (): Promise<void> => {
      if (kind === 'zkts') assert.equal(server.proc.exitCode, null, `zkts exited:\n${server.output()}`);
      checks++;
      await healthCheck(server.port, `/fuzz-health-${checks}`, Buffer.from(`ok ${checks}`));
      if (kind === 'zkts') assert.equal(server.proc.exitCode, null, `zkts exited:\n${server.output()}`);
    };

    before(async () => {
      server = await startServer(kind);
      // Apache answers ruok before it takes sessions (a connect in that window is closed without a reply): wait
      // until a raw session works before fuzzing.
      await waitFor(`${kind} takes sessions`, async () => {
        await healthCheck(server.port, '/fuzz-ready', Buffer.from('ready'), 2000).catch((e: unknown) => {
          if (String(e).includes('NodeExists') || String(e).includes('-110')) return;
          throw e;
        });
        return true;
      }, 20_000, 200);
    });
    after(async () => {
      await server?.stop();
    });

    void test('the harness works: a fresh server is healthy', async () => {
      assert.ok(corpus.length > 20);
      await assertHealthy();
    });

    void test(`(a) random bytes (seed ${SEEDS.randomBytes})`, async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 512 }), async (bytes) => {
          await blast(server.port, Buffer.from(bytes));
          if (++run % HEALTH_EVERY === 0) await assertHealthy();
        }),
        { seed: SEEDS.randomBytes, numRuns: RUNS },
      );
      await assertHealthy();
    });

    void test(`(b) valid ConnectRequest then mutated golden frames (seed ${SEEDS.mutatedFrames})`, async () => {
      let run = 0;
      const one = fc.record({ base: fc.nat({ max: corpus.length - 1 }), m: mutation, m2: mutation, len: lengthMode });
      await fc.assert(
        fc.asyncProperty(fc.array(one, { minLength: 1, maxLength: 6 }), fc.boolean(), async (frames, waitForConnect) => {
          const parts = frames.map((f) => withLength(mutate(mutate(corpus[f.base] ?? Buffer.alloc(0), f.m), f.m2), f.len));
          const sock = await openSocket(server.port);
          sock.on('error', () => undefined);
          sock.on('data', () => undefined);
          sock.write(connectRequestFrame(4000));
          if (waitForConnect) await new Promise((r) => setTimeout(r, 5));
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, 40);
            sock.once('close', () => {
              clearTimeout(t);
              resolve();
            });
            sock.write(Buffer.concat(parts));
          });
          sock.destroy();
          if (++run % HEALTH_EVERY === 0) await assertHealthy();
        }),
        { seed: SEEDS.mutatedFrames, numRuns: RUNS },
      );
      await assertHealthy();
    });

    void test(`(c) garbage in place of the ConnectRequest (seed ${SEEDS.garbageConnect})`, async () => {
      let run = 0;
      const valid = connectRequestFrame().subarray(4);
      const garbage = fc.oneof(
        // a random payload with a correct frame length
        fc.uint8Array({ maxLength: 64 }).map((b) => frame(b)),
        // a mutated ConnectRequest (negative/huge passwd length, flipped bytes, truncated, extended)
        fc.tuple(mutation, lengthMode).map(([m, len]) => withLength(mutate(valid, m), len)),
        // a ConnectRequest with hostile field values
        fc.record({ pv: interestingInt, zxid: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), to: interestingInt,
          sid: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), pwLen: interestingInt, ro: fc.integer({ min: -1, max: 255 }) })
          .map(({ pv, zxid, to, sid, pwLen, ro }) => {
            const b = Buffer.alloc(4 + 8 + 4 + 8 + 4 + 16 + (ro >= 0 ? 1 : 0));
            b.writeInt32BE(pv | 0, 0);
            b.writeBigInt64BE(zxid, 4);
            b.writeInt32BE(to | 0, 12);
            b.writeBigInt64BE(sid, 16);
            b.writeInt32BE(pwLen | 0, 24);
            if (ro >= 0) b.writeUInt8(ro, 44);
            return frame(b);
          }),
      );
      await fc.assert(
        fc.asyncProperty(garbage, fc.option(fc.nat({ max: corpus.length - 1 })), async (first, follow) => {
          const rest = follow === null ? Buffer.alloc(0) : frame(corpus[follow] ?? Buffer.alloc(0));
          await blast(server.port, Buffer.concat([first, rest]));
          if (++run % HEALTH_EVERY === 0) await assertHealthy();
        }),
        { seed: SEEDS.garbageConnect, numRuns: RUNS },
      );
      await assertHealthy();
    });
  });
}
