// Network fuzzing of the peer ports of a 3-node zkts ensemble: random bytes, and valid learner handshakes (FOLLOWERINFO
// / OBSERVERINFO) followed by mutated quorum packets, sent to the leader's quorum port; random bytes and mutated
// initial messages sent to every election port. Afterwards the same leader still leads, every node is still running
// and a write through each node is read on all. Fixed seeds, bounded runs; each connection lives at most ~40 ms.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { type Ensemble, killEnsembles, startEnsemble } from '../../src/bench/ensemble.js';
import { encodeInitialMessage } from '../../src/quorum/election/cnxmanager.js';
import { encodeQuorumPacket, learnerInfoPacket, ZAB_PROTOCOL_VERSION } from '../../src/quorum/zab/packets.js';
import { assertSameTrees, onNode } from '../support/ensembleops.js';

const SEEDS = { quorumRandom: 0x9a01, quorumMutated: 0x9a02, electionRandom: 0x9a03, electionMutated: 0x9a04 } as const;
const RUNS = 60;

after(() => killEnsembles());

/** Connects, sends `bytes`, waits up to `lingerMs` (less if the peer closes), then destroys the socket. */
function blast(port: number, bytes: Buffer, lingerMs = 40): Promise<void> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = (): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve();
    };
    const timer = setTimeout(done, lingerMs + 1000);
    sock.on('error', done);
    sock.on('data', () => undefined);
    sock.once('close', done);
    sock.once('connect', () => {
      sock.write(bytes);
      setTimeout(done, lingerMs);
    });
  });
}

function mutate(base: Buffer, at: number, xor: number, keep: number): Buffer {
  const b = Buffer.from(base);
  if (b.length > 0) b[at % b.length] ^= xor;
  return b.subarray(0, Math.max(1, keep % (b.length + 1)));
}

/** A plausible learner handshake for a sid, then one packet of a random type with random fields. */
const learnerScript = fc.record({
  sid: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: -5, max: 1000 })),
  observer: fc.boolean(),
  epoch: fc.integer({ min: 0, max: 10 }),
  type: fc.integer({ min: -2, max: 25 }),
  zxid: fc.integer({ min: -1, max: 2 ** 40 }),
  data: fc.option(fc.uint8Array({ maxLength: 64 }), { nil: null }),
  at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }), keep: fc.nat(),
});

void describe('peer-port fuzzing (zkts ensemble)', { timeout: 180_000 }, () => {
  void test('garbage and mutated packets on the quorum and election ports leave the ensemble serving', async () => {
    const e: Ensemble = await startEnsemble({ kind: 'zkts', voters: 3, tickTime: 200 });
    try {
      const leader = await e.leader();
      const quorumPort = leader.ports.quorum;
      await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), async (bytes) => {
        await blast(quorumPort, Buffer.from(bytes));
      }), { seed: SEEDS.quorumRandom, numRuns: RUNS });
      await fc.assert(fc.asyncProperty(learnerScript, async (s) => {
        const hello = encodeQuorumPacket(learnerInfoPacket(s.epoch, { serverId: BigInt(s.sid), protocolVersion: ZAB_PROTOCOL_VERSION, configVersion: 0n }, s.observer));
        const next = encodeQuorumPacket({ type: s.type, zxid: s.zxid, data: s.data === null ? null : Buffer.from(s.data), authinfo: null });
        await blast(quorumPort, Buffer.concat([hello, mutate(next, s.at, s.xor, s.keep)]));
      }), { seed: SEEDS.quorumMutated, numRuns: RUNS });
      for (const n of e.nodes) {
        await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (bytes) => {
          await blast(n.ports.election, Buffer.from(bytes));
        }), { seed: SEEDS.electionRandom + n.id, numRuns: RUNS / 3 });
        await fc.assert(fc.asyncProperty(fc.integer({ min: -3, max: 9 }), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.nat(), async (sid, at, xor, keep) => {
          await blast(n.ports.election, mutate(encodeInitialMessage(sid, '127.0.0.1', 1), at, xor, keep));
        }), { seed: SEEDS.electionMutated + n.id, numRuns: RUNS / 3 });
      }
      for (const n of e.nodes) assert.ok(n.running, `node ${n.id} exited:\n${n.describe()}`);
      assert.equal((await e.leader()).id, leader.id, 'the fuzzing must not have unseated the leader');
      for (const n of e.nodes) await onNode(n, (c) => c.create(`/after-fuzz-${n.id}`, ''));
      const tree = await assertSameTrees(e, [1, 2, 3]);
      assert.ok(tree.has('/after-fuzz-1') && tree.has('/after-fuzz-3'));
    } finally {
      await e.stop();
    }
  });
});
