// The stat a znode keeps (ZooKeeper's StatPersisted): what snapshots store and the digest hashes. The client's Stat
// (protocol/records.ts) adds dataLength and numChildren and shows cversion as stored*2 - numChildren.
export interface StatPersisted {
  czxid: number;
  mzxid: number;
  pzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  /** As stored: counts child creations. */
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
}
