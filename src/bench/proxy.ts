// TCP link proxies between the peers of an ensemble, so tests can cut and heal peer-to-peer links (see ensemble.ts).
// A LinkProxy listens on a free 127.0.0.1 port and forwards every connection to a target port; cut() drops the
// connections it carries and closes new ones at once (peers notice immediately instead of waiting for timeouts),
// heal() lets them through again. A target that refuses is retried for a moment (see dial()). A Partitioner knows
// every directed link of an ensemble.
//
// Election links need one rewrite. A peer that dials another one opens with ZooKeeper's InitialMessage (protocol
// version, sid, "host:port" of the dialer's own election address). A receiver with the higher sid closes that
// connection and dials back the advertised address (QuorumCnxManager.handleConnection; zkts does the same), which
// would bypass the proxy. So the election proxy for i -> j replaces the advertised address with the proxy of j -> i.
import net from 'node:net';

export interface LinkProxyOptions {
  /** Port on 127.0.0.1 the connections are forwarded to. */
  target: number;
  /** Port on 127.0.0.1 to listen on (default: any free one). */
  port?: number;
  /** Rewrites the first bytes a dialer sends; returns undefined while more bytes are needed. */
  rewriteHead?: (head: Buffer) => Buffer | undefined;
  /** How long a refused connection to the target is retried while the dialer waits (default 1000 ms). */
  connectRetryMs?: number;
}

interface Pair {
  down: net.Socket;
  up?: net.Socket;
  retry?: NodeJS.Timeout;
}

export class LinkProxy {
  private readonly pairs = new Set<Pair>();
  private severed = false;
  private closed = false;
  /** Connections accepted (forwarded or refused), for tests that want to see the link was used. */
  accepted = 0;

  private constructor(private readonly server: net.Server, readonly port: number, readonly opts: LinkProxyOptions) {
    server.on('connection', (s) => this.onConnection(s));
  }

  static async start(opts: LinkProxyOptions): Promise<LinkProxy> {
    const server = net.createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('proxy has no port');
    return new LinkProxy(server, addr.port, opts);
  }

  get target(): number {
    return this.opts.target;
  }

  get isCut(): boolean {
    return this.severed;
  }

  /** Connections currently forwarded. */
  get connections(): number {
    return this.pairs.size;
  }

  /** Drops every forwarded connection and closes new ones on arrival until heal(). */
  cut(): void {
    this.severed = true;
    for (const p of [...this.pairs]) this.drop(p);
  }

  heal(): void {
    this.severed = false;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(down: net.Socket): void {
    this.accepted++;
    if (this.severed || this.closed) {
      down.destroy();
      return;
    }
    // Held (paused, its bytes buffered) until the target accepts.
    down.pause();
    const pair: Pair = { down };
    this.pairs.add(pair);
    down.on('error', () => this.drop(pair));
    down.on('close', () => this.drop(pair));
    this.dial(pair, Date.now() + (this.opts.connectRetryMs ?? 1000));
  }

  /**
   * Connects to the target, retrying a refusal until `deadline`. The dialer already saw its connection accepted by
   * the proxy, so a refusal passed on at once would look like a connection closed by the peer, which ZooKeeper
   * treats differently (a learner gives up on a leader whose port is not open yet, instead of retrying).
   */
  private dial(pair: Pair, deadline: number): void {
    const up = net.connect({ host: '127.0.0.1', port: this.opts.target, noDelay: true });
    pair.up = up;
    up.once('connect', () => this.splice(pair, up));
    up.once('error', (e: NodeJS.ErrnoException) => {
      if (!this.pairs.has(pair) || up.readyState === 'open') return;
      if (e.code !== 'ECONNREFUSED' || Date.now() >= deadline) return this.drop(pair);
      pair.retry = setTimeout(() => this.dial(pair, deadline), 25);
    });
  }

  private splice(pair: Pair, up: net.Socket): void {
    const { down } = pair;
    up.on('error', () => this.drop(pair));
    up.on('close', () => this.drop(pair));
    up.pipe(down);
    const rewrite = this.opts.rewriteHead;
    if (!rewrite) {
      down.pipe(up);
      return;
    }
    let head = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      head = Buffer.concat([head, d]);
      const out = rewrite(head);
      if (out === undefined) return;
      // Synchronous hand-over to pipe(): no 'data' event can fall between the two listeners.
      down.off('data', onData);
      up.write(out);
      down.pipe(up);
    };
    down.on('data', onData);
    down.resume();
  }

  private drop(p: Pair): void {
    if (!this.pairs.delete(p)) return;
    clearTimeout(p.retry);
    p.down.destroy();
    p.up?.destroy();
  }
}

/** InitialMessage protocol versions (QuorumCnxManager.PROTOCOL_VERSION_V1/V2) are negative; a sid is not. */
const MAX_ADDRESS_BYTES = 4096;

/**
 * A rewriteHead for election links: replaces the address in the dialer's InitialMessage
 * (long version < 0, long sid, int length, "host:port") with `advertise`. The legacy form (just a sid) and
 * anything malformed pass unchanged; the receiver judges those. `advertise` is read per connection, so a proxy can be
 * built before the reverse proxy whose port it names.
 */
export function electionHandshakeRewriter(advertise: () => string): (head: Buffer) => Buffer | undefined {
  return (head) => {
    if (head.length < 8) return undefined;
    if (head.readBigInt64BE(0) >= 0n) return head;
    if (head.length < 20) return undefined;
    const len = head.readInt32BE(16);
    if (len <= 0 || len > MAX_ADDRESS_BYTES) return head;
    if (head.length < 20 + len) return undefined;
    const addr = Buffer.from(advertise(), 'utf8');
    const out = Buffer.alloc(20 + addr.length);
    head.copy(out, 0, 0, 16);
    out.writeInt32BE(addr.length, 16);
    addr.copy(out, 20);
    return Buffer.concat([out, head.subarray(20 + len)]);
  };
}

export type LinkKind = 'quorum' | 'election';

/** One directed link: connections dialed by `from` to `to`'s quorum or election port. */
export interface PeerLink {
  from: number;
  to: number;
  kind: LinkKind;
  proxy: LinkProxy;
}

/** Cuts and heals the links of an ensemble. Links are cut in both directions between the two sides. */
export class Partitioner {
  constructor(readonly links: PeerLink[]) {}

  /** The proxy of one directed link. */
  link(from: number, to: number, kind: LinkKind): LinkProxy {
    const l = this.links.find((x) => x.from === from && x.to === to && x.kind === kind);
    if (!l) throw new Error(`no ${kind} link ${from} -> ${to}`);
    return l.proxy;
  }

  /** Cuts every link to and from `id`. */
  isolate(id: number): void {
    for (const l of this.links) if (l.from === id || l.to === id) l.proxy.cut();
  }

  /** Cuts every link between a node of `a` and a node of `b` (links within a side stay as they are). */
  partition(a: number[], b: number[]): void {
    const crosses = (x: number, y: number): boolean => (a.includes(x) && b.includes(y)) || (b.includes(x) && a.includes(y));
    for (const l of this.links) if (crosses(l.from, l.to)) l.proxy.cut();
  }

  /** Heals every link to and from `id`. */
  heal(id: number): void {
    for (const l of this.links) if (l.from === id || l.to === id) l.proxy.heal();
  }

  healAll(): void {
    for (const l of this.links) l.proxy.heal();
  }

  async close(): Promise<void> {
    await Promise.all(this.links.map((l) => l.proxy.close()));
  }
}
