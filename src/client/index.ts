// client/: a Promise-based ZooKeeper client library. This file is its public surface.
export { ZooKeeperClient, type AddWatchModeName, type StateStream, type WatchStream } from './client.js';
export { MultiError, ReadTransaction, Transaction, type MultiResult, type Op, type ReadOp } from './multi.js';
export { EventStream } from './stream.js';
export { parseConnectString, validatePath, Chroot, type ConnectString, type HostPort } from './connect-string.js';
export { WatcherTypeExt as WatcherType } from './watch-manager.js';
export {
  AbortError, ANYONE_ID_UNSAFE, AUTH_IDS, CREATOR_ALL_ACL, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, digestAcl, digestId,
  toConnectionState, type ACL, type AuthInfo, type CallOptions, type ClientOptions, type ClientState,
  type ConnectionState, type CreateOptions, type Data, type Id, type MkdirpOptions, type Stat, type WatchArg,
  type WatchedEvent, type Watcher, type WatchKind, type WatchOptions,
} from './types.js';
export { CreateMode, EventType, KeeperState, Perms, AddWatchMode } from '../protocol/constants.js';
export { Code, ZkError, codeName } from '../protocol/errors.js';
