// client/: a Promise-based ZooKeeper client library. This file is its public surface.
export { ZooKeeperClient, type AddWatchModeName } from './client.js';
export { MultiError, Transaction, type MultiResult, type Op, type ReadOp } from './multi.js';
export { parseConnectString, validatePath, Chroot, type ConnectString, type HostPort } from './connect-string.js';
export { WatcherTypeExt as WatcherType } from './watch-manager.js';
export {
  ANYONE_ID_UNSAFE, AUTH_IDS, CREATOR_ALL_ACL, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, digestId,
  type ACL, type AuthInfo, type ClientOptions, type ClientState, type CreateOptions, type Data, type Id, type Stat,
  type WatchArg, type WatchedEvent, type Watcher,
} from './types.js';
export { CreateMode, EventType, KeeperState, Perms, AddWatchMode } from '../protocol/constants.js';
export { Code, ZkError, codeName } from '../protocol/errors.js';
