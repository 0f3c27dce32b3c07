// recipes/: coordination recipes on top of the client library (ZooKeeper's recipes; Apache Curator's for
// behaviour). Each file's header documents its protocol and its semantics under connection loss.
export { DistributedLock, ReadWriteLock, lockDecision } from './lock.js';
export { Semaphore, Lease } from './semaphore.js';
export { LeaderLatch, LeaderElection, currentLeader, type LeadershipContext } from './leader.js';
export { Barrier, DoubleBarrier } from './barrier.js';
export { DistributedQueue, LockingQueue, type QueueItem } from './queue.js';
export { SharedCounter, type VersionedValue } from './counter.js';
export { NodeCache, TreeCache, type NodeSnapshot } from './cache.js';
export { GroupMember } from './group.js';
export { TimedLease, type TimedLeaseOptions } from './lease.js';
export { type AcquireOptions, type HoldState, Hold, sortedContenders } from './hold.js';
export { mkdirp, retry, waitConnected, createProtected, sortBySequence, sequenceOf } from './util.js';
