// quorum/zab/zxid.ts: ZooKeeper's zxid arithmetic (ZxidUtils): zxid = epoch << 32 | counter.
//
// Zxids travel as JavaScript numbers, as everywhere else in zkts (jute Writer.longNum / Reader.longNum). A number is
// exact up to 2^53, so the epoch must stay below 2^21 (2,097,152 elections): MAX_EPOCH. A real ensemble moves to a
// new epoch once per leader election (or when the counter wraps, ZOOKEEPER-1277), so the bound is far away; the
// helpers throw rather than round when it is crossed. The special values -1 (UPTODATE, REVALIDATE) and 0 are
// representable as well.

/** The largest epoch whose zxids are still exact numbers: (2^53 - 1) >> 32. */
export const MAX_EPOCH = 0x1fffff;
/** The largest counter (ZOOKEEPER-1277: reaching it forces a new election). */
export const MAX_COUNTER = 0xffffffff;
const TWO32 = 0x100000000;

/** ZxidUtils.makeZxid. */
export function makeZxid(epoch: number, counter: number): number {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > MAX_EPOCH) throw new RangeError(`epoch ${epoch} outside [0, ${MAX_EPOCH}]`);
  if (!Number.isInteger(counter) || counter < 0 || counter > MAX_COUNTER) throw new RangeError(`zxid counter ${counter} outside [0, 0xffffffff]`);
  return epoch * TWO32 + counter;
}

/** ZxidUtils.getEpochFromZxid (-1 for the zxid -1, as Java's arithmetic shift). */
export function epochOf(zxid: number): number {
  return Math.floor(zxid / TWO32);
}

/** ZxidUtils.getCounterFromZxid. */
export function counterOf(zxid: number): number {
  return zxid - Math.floor(zxid / TWO32) * TWO32;
}

/** A zxid whose counter is 0: what a server sets its lastProcessedZxid to when it starts an epoch. */
export function isNewEpochZxid(zxid: number): boolean {
  return counterOf(zxid) === 0;
}

/** ZxidUtils.zxidToString / Long.toHexString: "0x" + hex, two's complement for negatives (-1 -> 0xffffffffffffffff). */
export function zxidHex(zxid: number): string {
  return '0x' + (zxid >= 0 ? zxid.toString(16) : BigInt.asUintN(64, BigInt(zxid)).toString(16));
}
