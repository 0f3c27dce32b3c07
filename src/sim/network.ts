// sim/network.ts: the simulated network. An object shaped like `node:net` (swapped in with setSys({ net })) whose
// sockets and servers follow Node's semantics closely enough that the real shells (election sockets, leader/learner
// links, client connections, the client library) run on it unchanged, plus the faults the nemesis injects.
//
// Model: a connection is two endpoints (SimSocket) and two pipes, one per direction. A pipe is a FIFO of TCP
// segments (syn, synack, data, fin, rst), each due at max(previous due, now + latency): delivery is in order and
// exactly once. One pump event per pipe delivers the head when it is due, as an event of the receiving socket's
// owner (a stopped process reads nothing), or of "sim" (the kernel) when there is no live receiver. A blocked pair
// holds its pipes (TCP retransmits): the held segments are delivered in order after unblock. Kernel behaviour
// follows Linux: a connect to nothing is refused, a closed socket sends FIN (RST when it had unread data), data
// arriving at a closed socket is answered with RST, a SYN to a blocked peer times out (connectTimeoutMs).
//
// Every event reaches the code through loop.schedule, never inside the call that caused it. Sockets and servers
// belong to loop.current when created (an accepted socket to its server's owner); crash(owner) makes them vanish
// without a word to their owner, while their peers see what the kernel of a killed process sends.
//
// Deterministic: latencies and chunking come from the Rng given; ports from counters; collections are iterated in
// insertion order.

import { EventEmitter } from 'node:events';
import realNet from 'node:net';
import type { Owner, SimEvent, SimLoop } from './loop.js';
import type { Rng } from '../util/rng.js';

export interface SimNetworkOptions {
  /** One-way latency of a segment, in ms, drawn uniformly (integers). Default [1, 5]. */
  latencyMs?: [number, number];
  /** A connect whose SYN gets no answer (blocked pair) fails with ETIMEDOUT after this long. Default 3000. */
  connectTimeoutMs?: number;
  /** Probability that a write is delivered as two 'data' chunks. Default 0.1. */
  splitChance?: number;
}

export interface SimNetworkStats {
  /** Connections accepted by a listener. */
  connections: number;
  /** Bytes handed to a receiving socket. */
  bytesDelivered: number;
  /** Connections broken by reset() or by an RST. */
  resets: number;
  /** Connects refused (nobody listening). */
  refused: number;
  /** Connects timed out (blocked pair). */
  timeouts: number;
}

type Listener = (...args: any[]) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

// ------------------------------------------------------------------------------------------------ errors

type SysCode = 'ECONNREFUSED' | 'ECONNRESET' | 'ETIMEDOUT' | 'EADDRINUSE' | 'EPIPE';
const ERRNO: Record<SysCode, number> = { ECONNREFUSED: -111, ECONNRESET: -104, ETIMEDOUT: -110, EADDRINUSE: -98, EPIPE: -32 };

export interface SysError extends Error {
  code: string;
  errno?: number;
  syscall?: string;
  address?: string;
  port?: number;
}

/** The errors libuv reports, worded as Node words them ("connect ECONNREFUSED 127.0.0.1:2181"). */
function sysError(code: SysCode, syscall: string, address?: string, port?: number): SysError {
  const detail = code === 'EADDRINUSE' ? ': address already in use' : '';
  const where = address === undefined ? '' : ` ${address}${port === undefined ? '' : `:${port}`}`;
  const e = new Error(`${syscall} ${code}${detail}${where}`) as SysError;
  e.errno = ERRNO[code];
  e.code = code;
  e.syscall = syscall;
  if (address !== undefined) e.address = address;
  if (port !== undefined) e.port = port;
  return e;
}

/** Node's own (non-libuv) errors: ERR_STREAM_DESTROYED, ERR_STREAM_WRITE_AFTER_END, ... */
function nodeError(code: string, message: string): SysError {
  const e = new Error(message) as SysError;
  e.code = code;
  return e;
}

// ------------------------------------------------------------------------------------------------ addresses

const WILDCARDS = new Set(['0.0.0.0', '::']);
const EPHEMERAL_FIRST = 32768;
const EPHEMERAL_LAST = 60999;

function normalizeHost(host: string | undefined): string {
  if (host === undefined || host === 'localhost') return '127.0.0.1';
  return host;
}

function familyOf(host: string): 'IPv4' | 'IPv6' {
  return realNet.isIPv6(host) ? 'IPv6' : 'IPv4';
}

/** How an IPv4 peer looks on a dual-stack ("::") socket. */
function onListener(listenHost: string, ip: string): string {
  return listenHost === '::' && realNet.isIPv4(ip) ? `::ffff:${ip}` : ip;
}

function hostPort(host: string, port: number): string {
  return `${host}|${port}`;
}

function pairKey(a: Owner, b: Owner): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}

function toBuffer(data: unknown, encoding?: BufferEncoding): Buffer {
  if (typeof data === 'string') return Buffer.from(data, encoding ?? 'utf8');
  if (data instanceof Uint8Array) return Buffer.from(data); // a copy: the caller may reuse its buffer
  throw nodeError('ERR_INVALID_ARG_TYPE', 'The "chunk" argument must be of type string or an instance of Buffer or Uint8Array');
}

// ------------------------------------------------------------------------------------------------ wire

type SegKind = 'syn' | 'synack' | 'data' | 'fin' | 'rst';

interface Segment {
  kind: SegKind;
  due: number;
  data?: Buffer;
  /** The second half of a split write: delivered as its own 'data', never merged into the first half. */
  splitTail?: boolean;
}

/** One direction of a connection. */
class Pipe {
  segs: Segment[] = [];
  lastDue = 0;
  /** The head came due while the pair was blocked: waiting for unblock. */
  held = false;
  event: SimEvent | undefined;
  /** An RST was already sent back for data this pipe brought to a closed socket. */
  bounced = false;

  constructor(readonly conn: Conn, readonly up: boolean) {}

  get from(): SimSocket | undefined {
    return this.up ? this.conn.client : this.conn.server;
  }

  get to(): SimSocket | undefined {
    return this.up ? this.conn.server : this.conn.client;
  }

  get reverse(): Pipe {
    return this.up ? this.conn.down : this.conn.up;
  }
}

/** A connection from its SYN on: the client end, the accepted end once the SYN arrived, and the two pipes. */
class Conn {
  server: SimSocket | undefined;
  readonly up: Pipe;
  readonly down: Pipe;

  constructor(
    readonly client: SimSocket,
    readonly host: string,
    readonly port: number,
    /** Whose port the SYN goes to (for blocking), before a listener accepted it. */
    public target: Owner | undefined,
  ) {
    this.up = new Pipe(this, true);
    this.down = new Pipe(this, false);
  }

  get serverOwner(): Owner | undefined {
    return this.server?.owner ?? this.target;
  }

  pipeFrom(s: SimSocket): Pipe {
    return s === this.client ? this.up : this.down;
  }

  between(a: Owner, b: Owner | undefined): boolean {
    const x = this.client.owner;
    const y = this.serverOwner;
    return (x === a && (b === undefined || y === b)) || (y === a && (b === undefined || x === b));
  }
}

// ------------------------------------------------------------------------------------------------ the kernel

/** The shared state and the TCP machinery; sockets and servers call into it. Not exported: SimNetwork is the API. */
class Kernel {
  readonly latency: [number, number];
  readonly connectTimeoutMs: number;
  readonly splitChance: number;
  readonly stats: SimNetworkStats = { connections: 0, bytesDelivered: 0, resets: 0, refused: 0, timeouts: 0 };
  readonly listeners = new Map<string, SimServer>();
  /** Who last listened on host:port: a connect to it when it is gone still crosses (or not) that owner's links. */
  readonly lastOwner = new Map<string, Owner>();
  readonly conns = new Set<Conn>();
  /** Sockets that may still emit: crash() makes its owner's vanish. */
  readonly sockets = new Set<SimSocket>();
  readonly blocked = new Set<string>();
  readonly addresses = new Map<Owner, string>();
  private nextPort = EPHEMERAL_FIRST;

  constructor(readonly loop: SimLoop, readonly rng: Rng, opts: SimNetworkOptions) {
    this.latency = opts.latencyMs ?? [1, 5];
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 3000;
    this.splitChance = opts.splitChance ?? 0.1;
  }

  isBlocked(a: Owner, b: Owner): boolean {
    return a !== b && this.blocked.has(pairKey(a, b));
  }

  addressOf(owner: Owner): string {
    return this.addresses.get(owner) ?? '127.0.0.1';
  }

  ephemeralPort(): number {
    for (;;) {
      const p = this.nextPort;
      this.nextPort = p >= EPHEMERAL_LAST ? EPHEMERAL_FIRST : p + 1;
      if (!this.portTaken('0.0.0.0', p)) return p;
    }
  }

  // --- listeners

  portTaken(host: string, port: number): boolean {
    for (const l of this.listeners.values()) {
      const b = l.bound!;
      if (b.port === port && (b.host === host || WILDCARDS.has(b.host) || WILDCARDS.has(host))) return true;
    }
    return false;
  }

  lookup(host: string, port: number): SimServer | undefined {
    return this.listeners.get(hostPort(host, port)) ?? this.listeners.get(hostPort('0.0.0.0', port)) ?? this.listeners.get(hostPort('::', port));
  }

  bind(server: SimServer, host: string, port: number): SysError | undefined {
    if (port === 0) port = this.ephemeralPort();
    if (this.portTaken(host, port)) return sysError('EADDRINUSE', 'listen', host, port);
    server.bound = { host, port };
    this.listeners.set(hostPort(host, port), server);
    this.lastOwner.set(hostPort(host, port), server.owner);
    if (!WILDCARDS.has(host) && !this.addresses.has(server.owner)) this.addresses.set(server.owner, host);
    return undefined;
  }

  unbind(server: SimServer): void {
    const b = server.bound;
    if (b && this.listeners.get(hostPort(b.host, b.port)) === server) this.listeners.delete(hostPort(b.host, b.port));
    server.bound = undefined;
  }

  // --- connecting

  connect(sock: SimSocket, rawHost: string | undefined, port: number): void {
    const host = normalizeHost(rawHost);
    const target = this.lookup(host, port)?.owner ?? this.lastOwner.get(hostPort(host, port)) ??
      this.lastOwner.get(hostPort('0.0.0.0', port)) ?? this.lastOwner.get(hostPort('::', port));
    const conn = new Conn(sock, host, port, target);
    sock.conn = conn;
    sock.connecting = true;
    sock.localAddress = this.addressOf(sock.owner);
    sock.localPort = this.ephemeralPort();
    this.conns.add(conn);
    this.enqueue(conn.up, 'syn');
    sock.connectTimer = this.loop.schedule(this.connectTimeoutMs, () => this.connectTimedOut(sock, host, port), sock.owner);
  }

  private connectTimedOut(sock: SimSocket, host: string, port: number): void {
    sock.connectTimer = undefined;
    if (!sock.connecting || sock.destroyed) return;
    this.stats.timeouts++;
    sock.destroy(sysError('ETIMEDOUT', 'connect', host, port));
  }

  /** The SYN reached host:port: accept (the kernel completes the handshake) or refuse. */
  private arriveSyn(conn: Conn): void {
    const c = conn.client;
    // The caller gave up before the SYN got there: its kernel will RST the SYN-ACK and the listener never sees it.
    if (c.destroyed) return;
    const l = this.lookup(conn.host, conn.port);
    if (!l) {
      this.stats.refused++;
      c.destroy(sysError('ECONNREFUSED', 'connect', conn.host, conn.port));
      return;
    }
    const s = new SimSocket(this, { allowHalfOpen: l.allowHalfOpen }, l.owner);
    if (l.pauseOnConnect) s.pause();
    s.conn = conn;
    s.acceptedBy = l;
    s.remoteAddress = onListener(l.bound!.host, c.localAddress!);
    s.remoteFamily = familyOf(s.remoteAddress);
    s.remotePort = c.localPort;
    s.localAddress = onListener(l.bound!.host, conn.host);
    s.localPort = conn.port;
    conn.server = s;
    conn.target = l.owner;
    l.connections++;
    this.stats.connections++;
    this.enqueue(conn.down, 'synack');
    this.loop.schedule(0, () => l.accepted(s), l.owner);
  }

  // --- sending

  enqueue(p: Pipe, kind: SegKind, data?: Buffer): void {
    const due = Math.max(p.lastDue, this.loop.now + this.rng.int(this.latency[0], this.latency[1]));
    p.lastDue = due;
    p.segs.push({ kind, due, data });
    this.arm(p);
  }

  send(from: SimSocket, buf: Buffer): void {
    const p = from.conn!.pipeFrom(from);
    if (buf.length >= 2 && this.rng.chance(this.splitChance)) {
      const at = this.rng.int(1, buf.length - 1);
      this.enqueue(p, 'data', buf.subarray(0, at));
      // Same due time, own pump event: the receiver sees (and settles on) the first half alone.
      p.segs.push({ kind: 'data', due: p.lastDue, data: buf.subarray(at), splitTail: true });
      return;
    }
    this.enqueue(p, 'data', buf);
  }

  /** What the kernel sends when a connected socket is closed: FIN, or RST when data was left unread. */
  kernelClose(sock: SimSocket, unread: boolean): void {
    const conn = sock.conn;
    if (!conn || !sock.established || sock.finSent) return;
    sock.finSent = true;
    this.enqueue(conn.pipeFrom(sock), unread ? 'rst' : 'fin');
  }

  // --- delivering

  private receiverOwner(p: Pipe): Owner {
    const to = p.to;
    return to && !to.vanished ? to.owner : 'sim';
  }

  arm(p: Pipe): void {
    if (p.event || p.held || p.segs.length === 0) return;
    const delay = p.segs[0].due - this.loop.now;
    p.event = this.loop.schedule(delay, () => this.pump(p), this.receiverOwner(p));
  }

  /** Cancels the pump event and schedules it again (its receiver changed owner, or the pipe was emptied). */
  rearm(p: Pipe): void {
    this.loop.cancel(p.event);
    p.event = undefined;
    this.arm(p);
  }

  private blockedPipe(p: Pipe): boolean {
    const b = p.conn.serverOwner;
    return b !== undefined && this.isBlocked(p.conn.client.owner, b);
  }

  private pump(p: Pipe): void {
    p.event = undefined;
    if (p.segs.length === 0) return;
    // Armed before its receiver existed (data written before the SYN was accepted) or before it vanished: deliver as
    // the receiver's owner, or a process's handlers would run as the kernel and outlive a kill of that process.
    if (this.loop.current !== this.receiverOwner(p)) {
      this.arm(p);
      return;
    }
    if (this.blockedPipe(p)) {
      p.held = true;
      return;
    }
    const seg = this.takeHead(p);
    this.arrive(p, seg);
    this.arm(p);
    this.maybeForget(p.conn);
  }

  /** The head segment; data segments due by now follow it into the same 'data' (as TCP coalesces). */
  private takeHead(p: Pipe): Segment {
    const head = p.segs.shift()!;
    if (head.kind !== 'data') return head;
    const parts = [head.data!];
    while (p.segs.length > 0) {
      const next = p.segs[0];
      if (next.kind !== 'data' || next.splitTail || next.due > this.loop.now) break;
      parts.push(next.data!);
      p.segs.shift();
    }
    return parts.length === 1 ? head : { ...head, data: Buffer.concat(parts) };
  }

  private arrive(p: Pipe, seg: Segment): void {
    const to = p.to;
    switch (seg.kind) {
      case 'syn':
        return this.arriveSyn(p.conn);
      case 'synack':
        if (!to || to.destroyed) return this.bounce(p);
        return to.connected(p.conn.host, p.conn.port);
      case 'data':
        if (!to || to.destroyed) return this.bounce(p);
        this.stats.bytesDelivered += seg.data!.length;
        return to.deliverData(seg.data!);
      case 'fin':
        if (to && !to.destroyed) to.deliverFin();
        return;
      case 'rst':
        if (!to || to.destroyed) return;
        this.stats.resets++;
        return to.resetBy(to.readEnded ? 'EPIPE' : 'ECONNRESET');
    }
  }

  /** A segment reached a closed socket: its kernel answers RST (once), unless the sender is gone too. */
  private bounce(p: Pipe): void {
    const from = p.from;
    if (p.bounced || !from || from.destroyed) return;
    p.bounced = true;
    this.enqueue(p.reverse, 'rst');
  }

  /** Held pipes go again after unblock: the held segments are retransmitted, in order. */
  release(p: Pipe): void {
    if (!p.held) return;
    p.held = false;
    const now = this.loop.now;
    let t = now;
    for (const seg of p.segs) {
      seg.due = seg.splitTail ? t : Math.max(t, now + this.rng.int(this.latency[0], this.latency[1]));
      t = seg.due;
    }
    p.lastDue = Math.max(p.lastDue, t);
    this.arm(p);
  }

  clearPipe(p: Pipe): void {
    p.segs = [];
    p.held = false;
    this.loop.cancel(p.event);
    p.event = undefined;
  }

  /** Forgets a connection nothing can happen on any more. */
  maybeForget(conn: Conn): void {
    if (!conn.client.destroyed || (conn.server !== undefined && !conn.server.destroyed)) return;
    if (conn.up.segs.length > 0 || conn.down.segs.length > 0) return;
    this.conns.delete(conn);
  }
}

// ------------------------------------------------------------------------------------------------ sockets

interface SocketOptions {
  allowHalfOpen?: boolean;
}

interface ConnectOptions extends SocketOptions {
  host?: string;
  port?: number | string;
  timeout?: number;
  path?: string;
}

/** A TCP socket with net.Socket's events and methods (the ones the project uses, and their neighbours). */
class SimSocket extends EventEmitter {
  readonly owner: Owner;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  remoteFamily: string | undefined;
  localAddress: string | undefined;
  localPort: number | undefined;
  bytesRead = 0;
  bytesWritten = 0;
  connecting = false;
  destroyed = false;
  readonly allowHalfOpen: boolean;

  /** @internal The kernel's view. */
  conn: Conn | undefined;
  /** @internal */
  acceptedBy: SimServer | undefined;
  /** @internal */
  connectTimer: SimEvent | undefined;
  /** @internal Gone with a crashed owner: emits nothing any more. */
  vanished = false;
  /** @internal Our FIN (or RST) is on the wire: the kernel sends nothing more. */
  finSent = false;
  /** @internal The peer's FIN arrived. */
  readEnded = false;

  private writeEnded = false;
  /** Ended because the peer did (allowHalfOpen false): a write then is EPIPE, as Node's writeAfterFIN. */
  private endedByPeer = false;
  private finishEmitted = false;
  private endEmitted = false;
  /** null: no 'data' listener yet (Node's initial paused-but-not-paused state). */
  private flowing: boolean | null = null;
  private inbuf: Buffer[] = [];
  private draining = false;
  private pendingOut: Buffer[] = [];
  private timeoutMs = 0;
  private idleTimer: SimEvent | undefined;

  constructor(private readonly k: Kernel, opts: SocketOptions = {}, owner: Owner = k.loop.current) {
    super();
    this.owner = owner;
    this.allowHalfOpen = opts.allowHalfOpen ?? false;
    k.sockets.add(this);
  }

  /** @internal Connected (the client after SYN-ACK, an accepted socket at once). */
  get established(): boolean {
    return this.conn !== undefined && !this.connecting && (this.conn.server === this || this.remotePort !== undefined);
  }

  get pending(): boolean {
    return !this.established;
  }

  get writable(): boolean {
    return !this.destroyed && !this.writeEnded;
  }

  get readable(): boolean {
    return !this.destroyed && !this.endEmitted;
  }

  get readyState(): string {
    if (this.connecting) return 'opening';
    if (this.destroyed || !this.established) return 'closed';
    if (this.readable && this.writable) return 'open';
    return this.readable ? 'readOnly' : 'writeOnly';
  }

  // --- listeners: a 'data' listener starts the flow, as on a Node Readable

  override on(event: string | symbol, listener: Listener): this {
    super.on(event, listener);
    if (event === 'data' && this.flowing === null) this.resume();
    return this;
  }

  override addListener(event: string | symbol, listener: Listener): this {
    return this.on(event, listener);
  }

  override prependListener(event: string | symbol, listener: Listener): this {
    super.prependListener(event, listener);
    if (event === 'data' && this.flowing === null) this.resume();
    return this;
  }

  // --- connecting

  /** socket.connect(options | port[, host][, listener]). */
  connect(...args: unknown[]): this {
    const cb = typeof args[args.length - 1] === 'function' ? (args.pop() as Listener) : undefined;
    const o: ConnectOptions = typeof args[0] === 'object' && args[0] !== null ? args[0] : { port: args[0] as number, host: args[1] as string | undefined };
    if (o.path !== undefined) throw new Error('SimNetwork: unix sockets are not simulated');
    const port = Number(o.port);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
      throw Object.assign(new RangeError(`Port should be > 0 and < 65536. Received ${String(o.port)}.`), { code: 'ERR_SOCKET_BAD_PORT' });
    }
    if (cb) this.once('connect', cb);
    if (o.timeout !== undefined) this.setTimeout(o.timeout);
    this.k.connect(this, o.host, port);
    return this;
  }

  /** @internal SYN-ACK arrived: queued writes and a queued end go out, then 'connect' and 'ready'. */
  connected(host: string, port: number): void {
    this.k.loop.cancel(this.connectTimer);
    this.connectTimer = undefined;
    this.connecting = false;
    this.remoteAddress = host;
    this.remotePort = port;
    this.remoteFamily = familyOf(host);
    for (const b of this.pendingOut.splice(0)) this.k.send(this, b);
    if (this.writeEnded) this.finishWrite();
    this.touch();
    this.emit('connect');
    this.emit('ready');
  }

  // --- writing

  write(data: unknown, encoding?: BufferEncoding | Listener, cb?: Listener): boolean {
    if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    const refused = this.writeRefusal();
    if (refused) {
      if (cb) this.later(() => cb(refused));
      if (!this.destroyed) this.destroy(refused);
      return false;
    }
    const buf = toBuffer(data, encoding);
    if (buf.length > 0) {
      this.bytesWritten += buf.length;
      if (this.connecting) this.pendingOut.push(buf);
      else this.k.send(this, buf);
    }
    this.touch();
    if (cb) this.later(() => cb());
    return true;
  }

  /** Why a write cannot go, in Node's words; undefined when it can. */
  private writeRefusal(): SysError | undefined {
    if (this.destroyed) return nodeError('ERR_STREAM_DESTROYED', 'Cannot call write after a stream was destroyed');
    if (this.endedByPeer) return Object.assign(nodeError('EPIPE', 'This socket has been ended by the other party'), { errno: ERRNO.EPIPE });
    if (this.writeEnded) return nodeError('ERR_STREAM_WRITE_AFTER_END', 'write after end');
    if (!this.conn && !this.connecting) return nodeError('ERR_SOCKET_CLOSED', 'Socket is closed');
    return undefined;
  }

  /** end([data][, encoding][, cb]): sends FIN after the data (after connecting, if still connecting). */
  end(data?: unknown, encoding?: BufferEncoding | Listener, cb?: Listener): this {
    if (typeof data === 'function') {
      cb = data as Listener;
      data = undefined;
    } else if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (data !== undefined && data !== null) this.write(data, encoding);
    if (cb) this.once('finish', cb);
    if (this.destroyed || this.writeEnded) return this;
    this.writeEnded = true;
    if (!this.connecting) this.finishWrite();
    return this;
  }

  /** Our side is done writing: FIN goes out, 'finish' follows, and the socket closes once the peer's FIN came too. */
  private finishWrite(): void {
    if (this.conn && this.established) this.k.kernelClose(this, false);
    this.later(() => {
      if (this.destroyed) return;
      this.finishEmitted = true;
      this.emit('finish');
      this.maybeClose();
    });
  }

  /** autoDestroy: both directions done. */
  private maybeClose(): void {
    if (this.finishEmitted && this.endEmitted && !this.destroyed) this.destroy();
  }

  destroySoon(): void {
    if (this.writable) this.end();
    if (this.finishEmitted || this.destroyed) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  destroy(err?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.connecting = false;
    this.clearTimers();
    const unread = this.inbuf.length > 0;
    this.inbuf = [];
    this.pendingOut = [];
    this.k.kernelClose(this, unread);
    this.acceptedBy?.connectionClosed();
    this.acceptedBy = undefined;
    if (this.conn) this.k.maybeForget(this.conn);
    if (err) this.later(() => this.emit('error', err));
    this.later(() => {
      this.k.sockets.delete(this);
      this.emit('close', err !== undefined);
    });
    return this;
  }

  /** @internal An RST arrived (or reset()): nothing more goes on the wire; 'error' then 'close'. */
  resetBy(code: 'ECONNRESET' | 'EPIPE'): void {
    this.finSent = true;
    this.destroy(sysError(code, code === 'EPIPE' ? 'write' : 'read'));
  }

  /** @internal The owner crashed: the kernel closes the socket; the owner hears nothing. */
  vanish(): void {
    if (this.vanished) return;
    this.vanished = true;
    const wasOpen = !this.destroyed;
    this.destroyed = true;
    this.connecting = false;
    this.clearTimers();
    if (wasOpen) this.k.kernelClose(this, this.inbuf.length > 0);
    this.inbuf = [];
    this.k.sockets.delete(this);
  }

  // --- reading

  /** @internal */
  deliverData(buf: Buffer): void {
    if (this.flowing === true && this.inbuf.length === 0) {
      this.bytesRead += buf.length;
      this.touch();
      this.emit('data', buf);
      return;
    }
    this.inbuf.push(buf);
  }

  /** @internal The peer's FIN: 'end' once every byte before it was read. */
  deliverFin(): void {
    if (this.readEnded) return;
    this.readEnded = true;
    if (this.inbuf.length === 0) this.emitEnd();
  }

  private emitEnd(): void {
    if (this.endEmitted || this.destroyed) return;
    this.endEmitted = true;
    this.emit('end');
    if (this.destroyed) return;
    if (!this.allowHalfOpen && !this.writeEnded) {
      this.endedByPeer = true;
      this.end();
    }
    this.maybeClose();
  }

  pause(): this {
    this.flowing = false;
    return this;
  }

  resume(): this {
    this.flowing = true;
    if (!this.draining && (this.inbuf.length > 0 || (this.readEnded && !this.endEmitted))) {
      this.draining = true;
      this.later(() => this.drain());
    }
    return this;
  }

  isPaused(): boolean {
    return this.flowing === false;
  }

  /** Data held while paused, then the held 'end', emitted after a resume (on a later tick, as Node does). */
  private drain(): void {
    this.draining = false;
    while (this.flowing === true && !this.destroyed && this.inbuf.length > 0) {
      const buf = this.inbuf.shift()!;
      this.bytesRead += buf.length;
      this.touch();
      this.emit('data', buf);
    }
    if (this.flowing === true && this.inbuf.length === 0 && this.readEnded) this.emitEnd();
  }

  // --- timers and options

  /** Idle timeout: 'timeout' after ms without reads or writes (once per idle period); 0 disables. */
  setTimeout(ms: number, cb?: Listener): this {
    if (cb) {
      if (ms === 0) this.off('timeout', cb);
      else this.once('timeout', cb);
    }
    this.timeoutMs = ms;
    this.touch();
    return this;
  }

  /** Activity: the idle timer starts over. */
  private touch(): void {
    this.k.loop.cancel(this.idleTimer);
    this.idleTimer = undefined;
    if (this.timeoutMs <= 0 || this.destroyed) return;
    this.idleTimer = this.k.loop.schedule(this.timeoutMs, () => {
      this.idleTimer = undefined;
      if (!this.vanished && !this.destroyed) this.emit('timeout');
    }, this.owner);
  }

  private clearTimers(): void {
    this.k.loop.cancel(this.idleTimer);
    this.idleTimer = undefined;
    this.k.loop.cancel(this.connectTimer);
    this.connectTimer = undefined;
  }

  setNoDelay(_noDelay?: boolean): this {
    return this;
  }

  setKeepAlive(_enable?: boolean, _initialDelay?: number): this {
    return this;
  }

  setEncoding(_encoding?: BufferEncoding): this {
    throw new Error('SimNetwork: setEncoding is not simulated (the project reads Buffers)');
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  address(): { address: string; family: string; port: number } | Record<string, never> {
    if (this.localAddress === undefined || this.localPort === undefined) return {};
    return { address: this.localAddress, family: familyOf(this.localAddress), port: this.localPort };
  }

  /** Emits on a later tick, as the owner, unless the owner crashed meanwhile. */
  private later(fn: () => void): void {
    this.k.loop.schedule(0, () => {
      if (!this.vanished) fn();
    }, this.owner);
  }
}

// ------------------------------------------------------------------------------------------------ servers

interface ServerOptions {
  allowHalfOpen?: boolean;
  pauseOnConnect?: boolean;
}

interface ListenOptions {
  port?: number | string;
  host?: string;
  backlog?: number;
  path?: string;
}

/** A listening socket with net.Server's events and methods. */
class SimServer extends EventEmitter {
  readonly owner: Owner;
  readonly allowHalfOpen: boolean;
  readonly pauseOnConnect: boolean;
  maxConnections: number | undefined;
  /** @internal Where it listens. */
  bound: { host: string; port: number } | undefined;
  /** @internal Accepted sockets not yet destroyed. */
  connections = 0;
  /** @internal Gone with a crashed owner. */
  vanished = false;

  constructor(private readonly k: Kernel, opts: ServerOptions = {}, listener?: Listener) {
    super();
    this.owner = k.loop.current;
    this.allowHalfOpen = opts.allowHalfOpen ?? false;
    this.pauseOnConnect = opts.pauseOnConnect ?? false;
    if (listener) this.on('connection', listener);
  }

  get listening(): boolean {
    return this.bound !== undefined;
  }

  /** listen([port[, host[, backlog]]][, cb]) or listen(options[, cb]); port 0 picks an unused one. */
  listen(...args: unknown[]): this {
    const cb = typeof args[args.length - 1] === 'function' ? (args.pop() as Listener) : undefined;
    if (this.bound) throw nodeError('ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.');
    const { host, port } = parseListenArgs(args);
    if (cb) this.once('listening', cb);
    const err = this.k.bind(this, host, port);
    this.later(() => (err ? this.emit('error', err) : this.emit('listening')));
    return this;
  }

  address(): { address: string; family: string; port: number } | null {
    const b = this.bound;
    return b ? { address: b.host, family: familyOf(b.host), port: b.port } : null;
  }

  /** Stops accepting at once; 'close' (and cb) once the accepted connections are gone too. */
  close(cb?: (err?: Error) => void): this {
    if (cb) {
      if (this.bound) this.once('close', cb);
      else this.once('close', () => cb(nodeError('ERR_SERVER_NOT_RUNNING', 'Server is not running.')));
    }
    this.k.unbind(this);
    this.emitCloseIfDrained();
    return this;
  }

  getConnections(cb: (err: Error | null, count: number) => void): this {
    this.later(() => cb(null, this.connections));
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  /** @internal The kernel accepted a connection. */
  accepted(s: SimSocket): void {
    if (s.vanished) return;
    if (this.maxConnections !== undefined && this.connections > this.maxConnections) {
      s.destroy(); // Node closes connections over the limit right away
      return;
    }
    this.emit('connection', s);
  }

  /** @internal */
  connectionClosed(): void {
    this.connections--;
    this.emitCloseIfDrained();
  }

  private emitCloseIfDrained(): void {
    if (this.bound || this.connections > 0) return;
    this.later(() => this.emit('close'));
  }

  /** @internal The owner crashed: the port is free and nothing is emitted any more. */
  vanish(): void {
    this.vanished = true;
    this.k.unbind(this);
  }

  private later(fn: () => void): void {
    this.k.loop.schedule(0, () => {
      if (!this.vanished) fn();
    }, this.owner);
  }
}

function parseListenArgs(args: unknown[]): { host: string; port: number } {
  let host: string | undefined;
  let rawPort: unknown;
  if (typeof args[0] === 'object' && args[0] !== null) {
    const o = args[0] as ListenOptions;
    if (o.path !== undefined) throw new Error('SimNetwork: unix sockets are not simulated');
    rawPort = o.port;
    host = o.host;
  } else {
    rawPort = args[0];
    if (typeof args[1] === 'string') host = args[1];
  }
  const port = rawPort === undefined || rawPort === null ? 0 : Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw Object.assign(new RangeError(`options.port should be >= 0 and < 65536. Received ${String(rawPort)}.`), { code: 'ERR_SOCKET_BAD_PORT' });
  }
  // Node binds "::" (dual stack) when no host is given.
  return { host: host === undefined ? '::' : normalizeHost(host), port };
}

// ------------------------------------------------------------------------------------------------ the network

/** The simulated network: `net` for the code under test, faults and counters for the simulator. */
export class SimNetwork {
  readonly net: typeof realNet;
  private readonly k: Kernel;

  constructor(loop: SimLoop, rng: Rng, opts: SimNetworkOptions = {}) {
    const k = new Kernel(loop, rng, opts);
    this.k = k;
    this.net = makeNet(k);
  }

  get stats(): SimNetworkStats {
    return { ...this.k.stats };
  }

  /** Connections not yet forgotten (open, closing, or with segments still on the wire). */
  get openConnections(): number {
    return this.k.conns.size;
  }

  /** The source address of `owner`'s outgoing connections (default: the first host it listened on, or 127.0.0.1). */
  setAddress(owner: Owner, ip: string): void {
    this.k.addresses.set(owner, ip);
  }

  // --- partitions

  block(a: Owner, b: Owner): void {
    if (a !== b) this.k.blocked.add(pairKey(a, b));
  }

  unblock(a: Owner, b: Owner): void {
    if (!this.k.blocked.delete(pairKey(a, b))) return;
    for (const conn of this.k.conns) {
      if (!conn.between(a, b)) continue;
      this.k.release(conn.up);
      this.k.release(conn.down);
    }
  }

  isBlocked(a: Owner, b: Owner): boolean {
    return this.k.isBlocked(a, b);
  }

  /** Blocks every pair of owners in different groups (owners not listed are unaffected; existing blocks stay). */
  partition(groups: Owner[][]): void {
    for (let i = 0; i < groups.length; i++) {
      for (let j = i + 1; j < groups.length; j++) {
        for (const a of groups[i]) for (const b of groups[j]) this.block(a, b);
      }
    }
  }

  /** Unblocks every pair: held segments go again, in order. */
  heal(): void {
    for (const key of [...this.k.blocked]) {
      const [a, b] = key.split('\u0000') as [Owner, Owner];
      this.unblock(a, b);
    }
  }

  // --- breaking things

  /** Breaks every established connection between a and b (or all of a's): both ends get ECONNRESET, then 'close'. */
  reset(a: Owner, b?: Owner): void {
    for (const conn of [...this.k.conns]) {
      if (!conn.server || !conn.between(a, b)) continue;
      this.k.clearPipe(conn.up);
      this.k.clearPipe(conn.down);
      let broke = false;
      for (const s of [conn.client, conn.server]) {
        if (s.destroyed) continue;
        s.resetBy('ECONNRESET');
        broke = true;
      }
      if (broke) this.k.stats.resets++;
      this.k.maybeForget(conn);
    }
  }

  /**
   * The owner's process died (kill -9): its listeners are gone (their ports free), its sockets vanish without an
   * event on its side, and its kernel closes them: peers get FIN (or RST) after a latency, across blocks only when
   * unblocked. Call it together with loop.kill(owner).
   */
  crash(owner: Owner): void {
    for (const l of [...this.k.listeners.values()]) if (l.owner === owner) l.vanish();
    for (const s of [...this.k.sockets]) if (s.owner === owner) s.vanish();
    for (const conn of [...this.k.conns]) {
      if (conn.client.owner !== owner && conn.server?.owner !== owner) continue;
      // Pump events toward the dead sockets belonged to the dead owner: the kernel ("sim") handles them now.
      this.k.rearm(conn.up);
      this.k.rearm(conn.down);
      this.k.maybeForget(conn);
    }
  }
}

/** The `node:net` look-alike bound to one kernel. */
function makeNet(k: Kernel): typeof realNet {
  class Socket extends SimSocket {
    constructor(opts: SocketOptions = {}) {
      super(k, opts);
    }
  }
  class Server extends SimServer {
    constructor(opts?: ServerOptions | Listener, listener?: Listener) {
      super(k, typeof opts === 'object' ? opts : {}, typeof opts === 'function' ? opts : listener);
    }
  }
  const connect = (...args: unknown[]): SimSocket => {
    const o = typeof args[0] === 'object' && args[0] !== null ? (args[0] as SocketOptions) : {};
    return new Socket(o).connect(...args);
  };
  const net = {
    Socket,
    Server,
    Stream: Socket,
    createServer: (opts?: ServerOptions | Listener, listener?: Listener) => new Server(opts, listener),
    connect,
    createConnection: connect,
    isIP: (s: string) => realNet.isIP(s),
    isIPv4: (s: string) => realNet.isIPv4(s),
    isIPv6: (s: string) => realNet.isIPv6(s),
  };
  return net as unknown as typeof realNet;
}
