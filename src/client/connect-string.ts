// client/connect-string.ts: the connection string ("h1:p1,h2:p2/chroot"), chroot path mapping and client-side path
// validation (ZooKeeper's PathUtils). Pure functions; imports only protocol/.
import { Code, ZkError } from '../protocol/errors.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface ConnectString {
  hosts: HostPort[];
  /** The chroot without a trailing slash, or "" for none. */
  chroot: string;
}

export const DEFAULT_PORT = 2181;

/** Parses "h1:p1,h2:p2/chroot"; IPv6 hosts in brackets ("[::1]:2181"); a missing port means 2181. */
export function parseConnectString(s: string): ConnectString {
  const slash = s.indexOf('/');
  const hostPart = slash === -1 ? s : s.slice(0, slash);
  let chroot = slash === -1 ? '' : s.slice(slash);
  if (chroot === '/') chroot = '';
  if (chroot !== '') validatePath(chroot, false);
  const hosts: HostPort[] = [];
  for (const raw of hostPart.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    hosts.push(parseHostPort(item));
  }
  if (hosts.length === 0) throw new ZkError(Code.BADARGUMENTS, undefined, `no hosts in connection string "${s}"`);
  return { hosts, chroot };
}

function parseHostPort(item: string): HostPort {
  let host: string;
  let portText: string | undefined;
  if (item.startsWith('[')) {
    const close = item.indexOf(']');
    if (close === -1) throw new ZkError(Code.BADARGUMENTS, undefined, `bad host "${item}"`);
    host = item.slice(1, close);
    const rest = item.slice(close + 1);
    portText = rest.startsWith(':') ? rest.slice(1) : undefined;
  } else {
    const colon = item.lastIndexOf(':');
    host = colon === -1 ? item : item.slice(0, colon);
    portText = colon === -1 ? undefined : item.slice(colon + 1);
  }
  const port = portText === undefined || portText === '' ? DEFAULT_PORT : Number(portText);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new ZkError(Code.BADARGUMENTS, undefined, `bad port in "${item}"`);
  }
  return { host, port };
}

/** Maps client paths to server paths and back under a chroot (ZooKeeper's prependChroot / stripChroot). */
export class Chroot {
  constructor(readonly root: string) {}

  toServer(clientPath: string): string {
    if (this.root === '') return clientPath;
    return clientPath === '/' ? this.root : this.root + clientPath;
  }

  toClient(serverPath: string): string {
    if (this.root === '') return serverPath;
    if (serverPath === this.root) return '/';
    if (serverPath.startsWith(this.root + '/')) return serverPath.slice(this.root.length);
    // Not under the chroot: ZooKeeper logs and passes it through unchanged.
    return serverPath;
  }
}

/**
 * Throws BADARGUMENTS for a path ZooKeeper would reject (PathUtils.validatePath). A sequential create may end in "/"
 * (the server appends the counter).
 */
export function validatePath(path: string, sequential: boolean): void {
  const bad = (why: string): never => {
    throw new ZkError(Code.BADARGUMENTS, path, `invalid path: ${why}`);
  };
  if (typeof path !== 'string' || path.length === 0) bad('empty');
  if (path[0] !== '/') bad('must start with /');
  if (path.length === 1) return;
  const checked = sequential && path.endsWith('/') ? path + 'x' : path;
  if (checked.endsWith('/')) bad('must not end with /');
  const segments = checked.slice(1).split('/');
  for (const seg of segments) {
    if (seg === '') bad('empty node name');
    if (seg === '.' || seg === '..') bad('relative paths not allowed');
  }
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (
      c === 0 || (c > 0 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) ||
      (c >= 0xd800 && c <= 0xf8ff) || (c >= 0xfff0 && c <= 0xffff)
    ) {
      bad(`invalid character \\u${c.toString(16).padStart(4, '0')} at ${i}`);
    }
  }
}
