// cli/shell/commands.ts: zkCli 3.8's commands that talk to ZooKeeper (create, ls, get, set, quotas, ACLs,
// watches...): their option specs, usage strings, checks, calls and printed output. Each runs against a
// CommandContext (the client and the two output streams) and reports failure by throwing a CliError.
import fs from 'node:fs';
import type { ZooKeeperClient } from '../../client/index.js';
import { CreateMode, OpCode } from '../../protocol/constants.js';
import { Code, ZkError } from '../../protocol/errors.js';
import type { ACL, Stat } from '../../protocol/records.js';
import type { Watcher } from '../../client/types.js';
import { CliError, keeperText, wrap } from './errors.js';
import {
  LIMIT_NODE, QUOTA_ROOT, STAT_NODE, StatsTrack, formatStat, idText, javaSplit, parseAcl, pathProblem, permString,
} from './format.js';
import { type OptionsSpec, type ParsedCommand, parseOptions } from './parser.js';

export interface CommandContext {
  client: ZooKeeperClient;
  out(text: string): void;
  err(text: string): void;
  /** The shell's watcher, for persistent watches (one-time watches use the client's default watcher). */
  watcher: Watcher;
}

export interface ZkCommand {
  name: string;
  /** The option string zkCli shows in its usage list. */
  options: string;
  run(ctx: CommandContext, words: string[]): Promise<void>;
}

const OPEN_ACL: ACL[] = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const TTL_MAX = 0xffffffffff;
const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

function usage(cmd: ZkCommand): string {
  return `${cmd.name} ${cmd.options}`;
}

function parse(spec: OptionsSpec, words: string[]): ParsedCommand {
  try {
    return parseOptions(spec, words);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

function flags(...names: string[]): OptionsSpec {
  return { options: names.map((n) => ({ name: n, hasArg: false, description: '' })) };
}

/** Integer.parseInt; zkCli lets the NumberFormatException escape, we report it as a command failure. */
function javaInt(s: string | undefined): number {
  const t = s ?? 'null';
  if (/^[+-]?\d+$/.test(t)) {
    const v = Number(t);
    if (v >= INT_MIN && v <= INT_MAX) return v;
  }
  throw new NumberFormatError(t);
}

class NumberFormatError extends CliError {
  constructor(input: string) {
    super(`java.lang.NumberFormatException: For input string: "${input}"`);
  }
}

function javaLong(s: string | undefined): number | undefined {
  const t = s ?? '';
  if (!/^[+-]?\d+$/.test(t)) return undefined;
  const v = BigInt(t);
  if (v < -(2n ** 63n) || v >= 2n ** 63n) return undefined;
  return Number(v);
}

/** Java's client-side path check: an invalid path fails before anything is sent. */
function checkPath(path: string, sequential = false): void {
  const why = pathProblem(path, sequential);
  if (why) throw new CliError(why);
}

async function call<T>(p: () => Promise<T>, path?: string): Promise<T> {
  try {
    return await p();
  } catch (e) {
    throw wrap(e, path);
  }
}

/** ZKUtil.visitSubTreeDFS: the root, then each node's sorted children, then recursion into each. */
async function visitSubTree(client: ZooKeeperClient, root: string, watch: boolean, visit: (path: string) => Promise<void> | void): Promise<void> {
  checkPath(root);
  await call(() => client.getData(root, watch || undefined), root);
  await visit(root);
  const helper = async (path: string): Promise<void> => {
    let children: string[];
    try {
      children = await client.getChildren(path, watch || undefined);
    } catch (e) {
      if (ZkError.is(e, Code.NONODE)) return;
      throw wrap(e, path);
    }
    children.sort(javaCompare);
    const prefix = path === '/' ? '/' : path + '/';
    for (const c of children) await visit(prefix + c);
    for (const c of children) await helper(prefix + c);
  };
  await helper(root);
}

/** String.compareTo: by UTF-16 code units. */
function javaCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function javaList(items: string[]): string {
  return `[${items.join(', ')}]`;
}

// ---------------------------------------------------------------- the commands

const createSpec: OptionsSpec = {
  options: [
    { name: 'e', hasArg: false, description: 'ephemeral' },
    { name: 's', hasArg: false, description: 'sequential' },
    { name: 'c', hasArg: false, description: 'container' },
    { name: 't', hasArg: true, description: 'ttl' },
  ],
};

const create: ZkCommand = {
  name: 'create',
  options: '[-s] [-e] [-c] [-t ttl] path [data] [acl]',
  async run(ctx, words) {
    const cl = parse(createSpec, words);
    if (cl.args.length < 2) throw new CliError(usage(this));
    const e = cl.has('e');
    const s = cl.has('s');
    const c = cl.has('c');
    const t = cl.has('t');
    if (c && (e || s)) throw new CliError('-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.');
    let ttl = 0;
    if (t) {
      const v = javaLong(cl.value('t'));
      if (v === undefined) throw new CliError('-t argument must be a long value');
      ttl = v;
    }
    if (t && e) throw new CliError('TTLs cannot be used with Ephemeral znodes');
    if (t && c) throw new CliError('TTLs cannot be used with Container znodes');
    let mode: number;
    if (e && s) mode = CreateMode.EPHEMERAL_SEQUENTIAL;
    else if (e) mode = CreateMode.EPHEMERAL;
    else if (s) mode = t ? CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL : CreateMode.PERSISTENT_SEQUENTIAL;
    else if (c) mode = CreateMode.CONTAINER;
    else mode = t ? CreateMode.PERSISTENT_WITH_TTL : CreateMode.PERSISTENT;
    if (t && (ttl <= 0 || ttl > TTL_MAX)) throw new CliError(`ttl must be positive and cannot be larger than: ${TTL_MAX}`);
    const path = cl.args[1];
    const data = cl.args.length > 2 ? Buffer.from(cl.args[2], 'utf8') : null;
    const acl = cl.args.length > 3 ? parseAcl(cl.args[3], (l) => ctx.err(l + '\n')) : OPEN_ACL;
    checkPath(path, s);
    if (acl.length === 0) {
      ctx.err(keeperText(Code.INVALIDACL, undefined) + '\n');
      throw new CliError('Acl is not valid : null');
    }
    try {
      const created = await ctx.client.create(path, data, { mode, acl, ttl: t ? ttl : undefined });
      ctx.err(`Created ${created}\n`);
    } catch (err) {
      if (ZkError.is(err, Code.EPHEMERALONLOCALSESSION)) ctx.err('Unable to create ephemeral node on a local session\n');
      else if (ZkError.is(err, Code.INVALIDACL)) ctx.err(keeperText(Code.INVALIDACL, err.path) + '\n');
      throw wrap(err, path);
    }
  },
};

const vSpec: OptionsSpec = { options: [{ name: 'v', hasArg: true, description: 'version' }] };

const del: ZkCommand = {
  name: 'delete',
  options: '[-v version] path',
  async run(ctx, words) {
    const cl = parse(vSpec, words);
    if (cl.args.length < 2) throw new CliError(usage(this));
    if (cl.args.length > 2) ctx.err("'delete path [version]' has been deprecated. Please use 'delete [-v version] path' instead.\n");
    const version = cl.has('v') ? javaInt(cl.value('v')) : -1;
    const path = cl.args[1];
    checkPath(path);
    await call(() => ctx.client.delete(path, version), path);
  },
};

const deleteall: ZkCommand = {
  name: 'deleteall',
  options: 'path [-b batch size]',
  async run(ctx, words) {
    const cl = parse({ options: [{ name: 'b', hasArg: true, description: 'batch size' }] }, words);
    if (cl.args.length < 2) throw new CliError(usage(this));
    let batch = 1000;
    if (cl.has('b')) {
      const v = cl.value('b');
      if (!/^[+-]?\d+$/.test(v ?? '') || Number(v) < INT_MIN || Number(v) > INT_MAX) throw new CliError('-b argument must be an int value');
      batch = Number(v);
    }
    const root = cl.args[1];
    checkPath(root);
    // ZKUtil.deleteRecursive: list the subtree breadth first, delete it deepest first in multis of `batch` ops.
    const tree: string[] = [root];
    for (let i = 0; i < tree.length; i++) {
      const node = tree[i];
      const children = await call(() => ctx.client.getChildren(node), node);
      for (const c of children) tree.push((node === '/' ? '' : node) + '/' + c);
    }
    let ok = true;
    let ops: Array<{ type: 'delete'; path: string; version: number }> = [];
    const pending: Array<Promise<void>> = [];
    for (let i = tree.length - 1; i >= 0; i--) {
      ops.push({ type: 'delete', path: tree[i], version: -1 });
      if (ops.length === batch || i === 0) {
        if (!ok) break;
        const batchOps = ops;
        ops = [];
        pending.push(ctx.client.multi(batchOps).then(() => undefined, () => { ok = false; }));
        // at most 10 multis in flight, as ZKUtil's semaphore
        if (pending.length >= 10) await pending.shift();
      }
    }
    await Promise.all(pending);
    if (!ok) ctx.err('Failed to delete some node(s) in the subtree!\n');
  },
};

const lsSpec: OptionsSpec = {
  options: [
    { name: '?', hasArg: false, description: 'help' },
    { name: 's', hasArg: false, description: 'stat' },
    { name: 'w', hasArg: false, description: 'watch' },
    { name: 'R', hasArg: false, description: 'recurse' },
  ],
};

const ls: ZkCommand = {
  name: 'ls',
  options: '[-s] [-w] [-R] path',
  async run(ctx, words) {
    let cl = parse(lsSpec, words);
    if (cl.has('?')) {
      ctx.out('usage: ls [options] path\n -?   help\n -R   recurse\n -s   stat\n -w   watch\n');
    }
    if (cl.args.length > 2) {
      const w = [...words];
      w[2] = '-w';
      ctx.err("'ls path [watch]' has been deprecated. Please use 'ls [-w] path' instead.\n");
      cl = parse(lsSpec, w);
    }
    if (cl.args.length < 2) throw new CliError(usage(this));
    const path = cl.args[1];
    const watch = cl.has('w');
    if (cl.has('R')) {
      await visitSubTree(ctx.client, path, watch, (p) => ctx.out(p + '\n'));
      return;
    }
    checkPath(path);
    const { children, stat } = await call(() => ctx.client.getChildren2(path, watch || undefined), path);
    children.sort(javaCompare);
    ctx.out(javaList(children) + '\n' + (cl.has('s') ? formatStat(stat) : ''));
  },
};

const getSpec: OptionsSpec = flagsWithDesc([['s', 'stats'], ['w', 'watch']]);

function flagsWithDesc(list: Array<[string, string]>): OptionsSpec {
  return { options: list.map(([name, description]) => ({ name, hasArg: false, description })) };
}

const get: ZkCommand = {
  name: 'get',
  options: '[-s] [-w] path',
  async run(ctx, words) {
    let cl = parse(getSpec, words);
    if (cl.args.length < 2) throw new CliError(usage(this));
    if (cl.args.length > 2) {
      const w = [...words];
      w[2] = '-w';
      ctx.err("'get path [watch]' has been deprecated. Please use 'get [-s] [-w] path' instead.\n");
      cl = parse(getSpec, w);
    }
    const path = cl.args[1];
    checkPath(path);
    const { data, stat } = await call(() => ctx.client.getData(path, cl.has('w') || undefined), path);
    ctx.out((data === null ? 'null' : data.toString('utf8')) + '\n' + (cl.has('s') ? formatStat(stat) : ''));
  },
};

const set: ZkCommand = {
  name: 'set',
  options: '[-s] [-v version] path data',
  async run(ctx, words) {
    const cl = parse({ options: [{ name: 's', hasArg: false, description: 'stats' }, { name: 'v', hasArg: true, description: 'version' }] }, words);
    if (cl.args.length < 3) throw new CliError(usage(this));
    const path = cl.args[1];
    const data = Buffer.from(cl.args[2], 'utf8');
    const version = cl.has('v') ? javaInt(cl.value('v')) : -1;
    checkPath(path);
    const stat = await call(() => ctx.client.setData(path, data, version), path);
    if (cl.has('s')) ctx.out(formatStat(stat));
  },
};

const statSpec: OptionsSpec = flagsWithDesc([['w', 'watch']]);

const stat: ZkCommand = {
  name: 'stat',
  options: '[-w] path',
  async run(ctx, words) {
    let cl = parse(statSpec, words);
    if (cl.args.length < 2) throw new CliError(usage(this));
    if (cl.args.length > 2) {
      const w = [...words];
      w[2] = '-w';
      ctx.err("'stat path [watch]' has been deprecated. Please use 'stat [-w] path' instead.\n");
      cl = parse(statSpec, w);
    }
    const path = cl.args[1];
    checkPath(path);
    const s = await call(() => ctx.client.exists(path, cl.has('w') || undefined), path);
    if (s === null) throw new CliError(`Node does not exist: ${path}`);
    ctx.out(formatStat(s));
  },
};

const getAcl: ZkCommand = {
  name: 'getAcl',
  options: '[-s] path',
  async run(ctx, words) {
    const cl = parse(flagsWithDesc([['s', 'stats']]), words);
    if (cl.args.length < 2) throw new CliError(usage(this));
    const path = cl.args[1];
    checkPath(path);
    const { acl, stat: st } = await call(() => ctx.client.getACL(path), path);
    let text = '';
    // Id.toString() is jute's CSV form, which ends with a newline: the perms land on the next line.
    for (const a of acl) text += `${idText(a.id)}\n: ${permString(a.perms)}\n`;
    ctx.out(text + (cl.has('s') ? formatStat(st) : ''));
  },
};

const setAcl: ZkCommand = {
  name: 'setAcl',
  options: '[-s] [-v version] [-R] path acl',
  async run(ctx, words) {
    const cl = parse({
      options: [
        { name: 's', hasArg: false, description: 'stats' },
        { name: 'v', hasArg: true, description: 'version' },
        { name: 'R', hasArg: false, description: 'recursive' },
      ],
    }, words);
    if (cl.args.length < 3) throw new CliError(usage(this));
    const path = cl.args[1];
    const acl = parseAcl(cl.args[2], (l) => ctx.err(l + '\n'));
    const version = cl.has('v') ? javaInt(cl.value('v')) : -1;
    if (cl.has('R')) {
      await visitSubTree(ctx.client, path, false, async (p) => {
        try {
          if (acl.length === 0) throw new ZkError(Code.INVALIDACL);
          await ctx.client.setACL(p, acl, version);
        } catch (e) {
          ctx.out(ZkError.is(e) ? keeperText(e.code, e.path) : (e as Error).message);
        }
      });
      return;
    }
    checkPath(path);
    if (acl.length === 0) throw new CliError('Acl is not valid : null');
    const st = await call(() => ctx.client.setACL(path, acl, version), path);
    if (cl.has('s')) ctx.out(formatStat(st));
  },
};

const sync: ZkCommand = {
  name: 'sync',
  options: 'path',
  async run(ctx, words) {
    const cl = parse({ options: [] }, words);
    if (cl.args.length < 2) throw new CliError(usage(this));
    const path = cl.args[1];
    checkPath(path);
    try {
      await ctx.client.sync(path);
      ctx.out('Sync is OK\n');
    } catch (e) {
      if (!ZkError.is(e)) throw wrap(e, path);
      ctx.out(`Sync has failed. rc=${e.code}\n`);
    }
  },
};

// ---------------------------------------------------------------- quotas

const quotaPath = (p: string): string => QUOTA_ROOT + p;
const limitPath = (p: string): string => `${QUOTA_ROOT}${p}/${LIMIT_NODE}`;
const statPath = (p: string): string => `${QUOTA_ROOT}${p}/${STAT_NODE}`;

async function existsOrNull(client: ZooKeeperClient, path: string): Promise<Stat | null> {
  return client.exists(path);
}

async function createIgnoringExists(client: ZooKeeperClient, path: string, data: string | null = null): Promise<void> {
  try {
    await client.create(path, data === null ? null : Buffer.from(data, 'utf8'), { acl: OPEN_ACL });
  } catch (e) {
    if (!ZkError.is(e, Code.NODEEXISTS)) throw e;
  }
}

async function readTrack(client: ZooKeeperClient, path: string): Promise<StatsTrack> {
  const { data } = await client.getData(path);
  return new StatsTrack(data ? data.toString('utf8') : '');
}

async function createQuota(ctx: CommandContext, path: string, quota: StatsTrack): Promise<void> {
  const { client } = ctx;
  checkPath(path);
  if ((await existsOrNull(client, path)) === null) throw new CliError(`${path} does not exist.`);
  // A quota may not sit above or below another one.
  const realPath = quotaPath(path);
  try {
    await visitSubTreeNoCheck(client, realPath, async (qp) => {
      let children: string[];
      try {
        children = await client.getChildren(qp);
      } catch (e) {
        if (ZkError.is(e, Code.NONODE)) return;
        throw e;
      }
      for (const child of children) {
        if (qp !== QUOTA_ROOT + path && child === LIMIT_NODE) {
          throw new CliError(`${path} has a child ${qp.slice(QUOTA_ROOT.length)} which has a quota`);
        }
      }
    });
  } catch (e) {
    if (!ZkError.is(e, Code.NONODE)) throw e;
  }
  const splits = javaSplit(path, '/');
  let qp = QUOTA_ROOT;
  for (let i = 1; i < splits.length - 1; i++) {
    qp += '/' + splits[i];
    let children: string[];
    try {
      children = await client.getChildren(qp);
    } catch (e) {
      if (ZkError.is(e, Code.NONODE)) break;
      throw e;
    }
    if (children.length === 0) break;
    if (children.some((c) => qp !== quotaPath(path) && c === LIMIT_NODE)) {
      throw new CliError(`${path} has a parent ${qp.slice(QUOTA_ROOT.length)} which has a quota`);
    }
  }
  if ((await client.exists(QUOTA_ROOT)) === null) {
    await createIgnoringExists(client, '/zookeeper');
    await createIgnoringExists(client, QUOTA_ROOT);
  }
  let node = QUOTA_ROOT;
  for (let i = 1; i < splits.length; i++) {
    node += '/' + splits[i];
    if ((await client.exists(node)) === null) await createIgnoringExists(client, node);
  }
  const sp = `${node}/${STAT_NODE}`;
  const lp = `${node}/${LIMIT_NODE}`;
  let limits: StatsTrack;
  if ((await client.exists(lp)) === null) {
    await client.create(lp, Buffer.from(quota.toString(), 'utf8'), { acl: OPEN_ACL });
    const zero = new StatsTrack();
    zero.set('count', 0);
    zero.set('bytes', 0);
    await client.create(sp, Buffer.from(zero.toString(), 'utf8'), { acl: OPEN_ACL });
    limits = await readTrack(client, lp);
    checkQuota(ctx, limits, await readTrack(client, sp));
  } else {
    limits = await readTrack(client, lp);
    for (const k of ['count', 'bytes', 'countHardLimit', 'byteHardLimit']) {
      if (quota.get(k) > -1) limits.set(k, quota.get(k));
    }
    checkQuota(ctx, limits, await readTrack(client, sp));
    await client.setData(lp, Buffer.from(limits.toString(), 'utf8'), -1);
  }
}

/** visitSubTreeDFS without the client-side path check (quota paths are built, not typed). */
async function visitSubTreeNoCheck(client: ZooKeeperClient, root: string, visit: (p: string) => Promise<void>): Promise<void> {
  await client.getData(root);
  await visit(root);
  const helper = async (path: string): Promise<void> => {
    let children: string[];
    try {
      children = await client.getChildren(path);
    } catch (e) {
      if (ZkError.is(e, Code.NONODE)) return;
      throw e;
    }
    children.sort(javaCompare);
    for (const c of children) await visit(`${path}/${c}`);
    for (const c of children) await helper(`${path}/${c}`);
  };
  await helper(root);
}

function checkQuota(ctx: CommandContext, q: StatsTrack, s: StatsTrack): void {
  const count = s.get('count');
  const bytes = s.get('bytes');
  if ((q.get('count') > -1 && q.get('count') < count) || (q.get('countHardLimit') > -1 && q.get('countHardLimit') < count)) {
    ctx.out(`[Warning]: the count quota you create is less than the existing count:${count}\n`);
  }
  if ((q.get('bytes') > -1 && q.get('bytes') < bytes) || (q.get('byteHardLimit') > -1 && q.get('byteHardLimit') < bytes)) {
    ctx.out(`[Warning]: the bytes quota you create is less than the existing bytes:${bytes}\n`);
  }
}

/** setquota's and delquota's options: the same four limits, with a value (set) or without (del). */
function quotaOptions(hasArg: boolean) {
  return [
    { name: 'n', hasArg, description: 'num soft quota' },
    { name: 'b', hasArg, description: 'bytes soft quota' },
    { name: 'N', hasArg, description: 'num hard quota' },
    { name: 'B', hasArg, description: 'bytes hard quota' },
  ];
}

const setquota: ZkCommand = {
  name: 'setquota',
  options: '-n|-b|-N|-B val path',
  async run(ctx, words) {
    const cl = parse({
      options: quotaOptions(true),
      group: { names: ['n', 'b', 'N', 'B'], required: true },
    }, words);
    if (cl.args.length < 2) throw new CliError(usage(this));
    const path = cl.args[1];
    if (path.startsWith(QUOTA_ROOT)) {
      ctx.err(`cannot set a quota under the path: ${QUOTA_ROOT}\n`);
      return;
    }
    const quota = new StatsTrack();
    quota.set('count', -1);
    quota.set('bytes', -1);
    quota.set('countHardLimit', -1);
    quota.set('byteHardLimit', -1);
    const fields: Array<[string, string, boolean]> = [['n', 'count', true], ['b', 'bytes', false], ['N', 'countHardLimit', true], ['B', 'byteHardLimit', false]];
    for (const [opt, key, isCount] of fields) {
      if (!cl.has(opt)) continue;
      const raw = cl.value(opt) ?? '';
      const v = isCount ? (/^[+-]?\d+$/.test(raw) && Math.abs(Number(raw)) <= INT_MAX ? Number(raw) : undefined) : javaLong(raw);
      if (v === undefined) {
        ctx.err('NumberFormatException happens when parsing the option value\n');
        return;
      }
      if (isCount ? v <= 0 : v < 0) {
        ctx.err(isCount ? 'the num quota must be greater than zero\n' : 'the bytes quota must be greater than or equal to zero\n');
        return;
      }
      quota.set(key, v);
    }
    try {
      await createQuota(ctx, path, quota);
    } catch (e) {
      throw wrap(e);
    }
  },
};

const listquota: ZkCommand = {
  name: 'listquota',
  options: 'path',
  async run(ctx, words) {
    const cl = parse({ options: [] }, words);
    if (cl.args.length < 2) throw new CliError(usage(this));
    const path = cl.args[1];
    ctx.err(`absolute path is ${limitPath(path)}\n`);
    try {
      checkPath(limitPath(path));
      const limits = await readTrack(ctx.client, limitPath(path));
      const stats = await readTrack(ctx.client, statPath(path));
      ctx.out(`Output quota for ${path} ${limits.toString()}\nOutput stat for ${path} ${stats.toString()}\n`);
    } catch (e) {
      if (ZkError.is(e, Code.NONODE)) {
        ctx.err(`quota for ${path} does not exist.\n`);
        return;
      }
      throw wrap(e);
    }
  },
};

const delquota: ZkCommand = {
  name: 'delquota',
  options: '[-n|-b|-N|-B] path',
  async run(ctx, words) {
    const cl = parse({
      options: quotaOptions(false),
      group: { names: ['n', 'b', 'N', 'B'], required: false },
    }, words);
    if (cl.args.length < 2) throw new CliError(usage(this));
    const path = cl.args[1];
    const { client } = ctx;
    const parent = quotaPath(path);
    const lp = limitPath(path);
    try {
      checkPath(lp);
      if ((await client.exists(lp)) === null) {
        ctx.out(`Quota does not exist for ${path}\n`);
        return;
      }
      const track = await readTrack(client, lp);
      const chosen = [['n', 'count'], ['b', 'bytes'], ['N', 'countHardLimit'], ['B', 'byteHardLimit']].filter(([o]) => cl.has(o));
      if (chosen.length === 0) {
        for (const child of await client.getChildren(parent)) await client.delete(`${parent}/${child}`, -1);
        // trim empty quota nodes up to /zookeeper/quota
        let p = parent;
        while (p !== QUOTA_ROOT) {
          if ((await client.getChildren(p)).length !== 0) break;
          await client.delete(p, -1);
          p = p.slice(0, p.lastIndexOf('/'));
        }
      } else {
        for (const [, key] of chosen) track.set(key, -1);
        await client.setData(lp, Buffer.from(track.toString(), 'utf8'), -1);
      }
    } catch (e) {
      if (ZkError.is(e, Code.NONODE)) {
        ctx.err(`quota for ${path} does not exist.\n`);
        return;
      }
      throw wrap(e);
    }
  },
};

// ---------------------------------------------------------------- auth, watches, misc

const addauth: ZkCommand = {
  name: 'addauth',
  options: 'scheme auth',
  async run(ctx, words) {
    const cl = parse({ options: [] }, words);
    if (cl.args.length < 2) throw new CliError(usage(this));
    const auth = cl.args.length >= 3 ? Buffer.from(cl.args[2], 'utf8') : Buffer.alloc(0);
    // zkCli does not wait for the answer; a refusal shows up as an AuthFailed event.
    await ctx.client.addAuth(cl.args[1], auth).catch(() => undefined);
  },
};

const addWatch: ZkCommand = {
  name: 'addWatch',
  options: '[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE',
  async run(ctx, words) {
    const cl = parse({ options: [{ name: 'm', hasArg: true, description: '' }] }, words);
    if (cl.args.length !== 2) throw new CliError(usage(this));
    let mode: 'persistent' | 'recursive' = 'recursive';
    if (cl.has('m')) {
      const m = (cl.value('m') ?? '').toUpperCase();
      if (m === 'PERSISTENT') mode = 'persistent';
      else if (m !== 'PERSISTENT_RECURSIVE') throw new CliError(usage(this));
    }
    const path = cl.args[1];
    checkPath(path);
    await call(() => ctx.client.addWatch(path, ctx.watcher, mode), path);
  },
};

const removewatches: ZkCommand = {
  name: 'removewatches',
  options: 'path [-c|-d|-a] [-l]',
  async run(ctx, words) {
    const cl = parse(flagsWithDesc([
      ['c', 'child watcher type'], ['d', 'data watcher type'], ['a', 'any watcher type'],
      ['l', 'remove locally when there is no server connection'],
    ]), words);
    if (cl.args.length < 2) throw new CliError(usage(this));
    const path = cl.args[1];
    const type = cl.has('c') ? 1 : cl.has('d') ? 2 : 3;
    checkPath(path);
    await call(() => ctx.client.removeAllWatches(path, type, cl.has('l')), path);
  },
};

const getEphemerals: ZkCommand = {
  name: 'getEphemerals',
  options: 'path',
  async run(ctx, words) {
    const cl = parse({ options: [] }, words);
    const path = cl.args.length < 2 ? '/' : cl.args[1];
    checkPath(path);
    const list = await call(() => ctx.client.getEphemerals(path), path);
    ctx.out(javaList(list) + '\n');
  },
};

const getAllChildrenNumber: ZkCommand = {
  name: 'getAllChildrenNumber',
  options: 'path',
  async run(ctx, words) {
    const cl = parse({ options: [] }, words);
    if (cl.args.length < 2) throw new CliError(usage(this));
    const path = cl.args[1];
    checkPath(path);
    const n = await call(() => ctx.client.getAllChildrenNumber(path), path);
    ctx.out(`${n}\n`);
  },
};

const whoami: ZkCommand = {
  name: 'whoami',
  options: '',
  async run(ctx) {
    const infos = await call(() => ctx.client.whoAmI());
    ctx.out('Auth scheme: User\n' + infos.map((i) => `${i.authScheme}: ${i.user}\n`).join(''));
  },
};

/** ConfigUtils.getClientConfigStr: "version host:port,host:port" from the dynamic config text. */
function clientConfig(text: string): string {
  let version = '';
  const addrs: string[] = [];
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq === -1) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key === 'version') version = value;
    else if (key.startsWith('server.')) {
      const semi = value.indexOf(';');
      if (semi === -1) continue;
      let client = value.slice(semi + 1);
      if (!client.includes(':')) client = `${value.split(':')[0]}:${client}`;
      else if (client.startsWith('0.0.0.0:')) client = `${value.split(':')[0]}${client.slice('0.0.0.0'.length)}`;
      addrs.push(client);
    }
  }
  return `${version} ${addrs.join(',')}`;
}

const config: ZkCommand = {
  name: 'config',
  options: '[-c] [-w] [-s]',
  async run(ctx, words) {
    const cl = parse(flagsWithDesc([['s', 'stats'], ['w', 'watch'], ['c', 'client connection string']]), words);
    const { data, stat: st } = await call(() => ctx.client.getData('/zookeeper/config', cl.has('w') || undefined), '/zookeeper/config');
    const text = data === null ? 'null' : data.toString('utf8');
    ctx.out((cl.has('c') ? clientConfig(text) : text) + '\n' + (cl.has('s') ? formatStat(st) : ''));
  },
};

interface RawCaller {
  simple(req: unknown, path: string | undefined, map: (resp: unknown) => unknown): Promise<unknown>;
}

const reconfig: ZkCommand = {
  name: 'reconfig',
  options: '[-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | '
    + '[-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]',
  async run(ctx, words) {
    const cl = parse({
      options: [
        { name: 's', hasArg: false, description: 'stats' },
        { name: 'v', hasArg: true, description: 'required current config version' },
        { name: 'file', hasArg: true, description: 'path of config file to parse for membership' },
        { name: 'members', hasArg: true, description: 'comma-separated list of config strings for non-incremental reconfig' },
        { name: 'add', hasArg: true, description: 'comma-separated list of config strings for new servers' },
        { name: 'remove', hasArg: true, description: 'comma-separated list of server IDs to remove' },
      ],
    }, words);
    const nonIncremental = cl.has('file') || cl.has('members');
    if (!nonIncremental && !cl.has('add') && !cl.has('remove')) throw new CliError(usage(this));
    let version = -1;
    if (cl.has('v')) {
      const v = cl.value('v') ?? '';
      if (!/^[+-]?[0-9a-fA-F]+$/.test(v)) throw new CliError('-v must be followed by a long (configuration version)');
      version = Number(BigInt.asIntN(64, BigInt(v.startsWith('-') ? '-0x' + v.slice(1) : '0x' + v.replace(/^\+/, ''))));
    }
    if (nonIncremental && (cl.has('add') || cl.has('remove'))) {
      throw new CliError('Can\'t use -file or -members together with -add or -remove (mixing incremental and non-incremental modes is not allowed)');
    }
    if (cl.has('file') && cl.has('members')) throw new CliError('Can\'t use -file and -members together (conflicting non-incremental modes)');
    const joining = cl.value('add')?.toLowerCase() ?? null;
    const leaving = cl.value('remove')?.toLowerCase() ?? null;
    let members = cl.value('members')?.toLowerCase() ?? null;
    if (cl.has('file')) {
      const file = cl.value('file') ?? '';
      try {
        const lines = fs.readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => /^server\.\d+\s*=/.test(l));
        members = lines.map((l) => l.replace(/\s*=\s*/, '=')).join(',');
      } catch (e) {
        throw new CliError(`Error processing ${file}${(e as Error).message}`);
      }
    }
    const raw = ctx.client as unknown as RawCaller;
    if (typeof raw.simple !== 'function') throw new CliError(keeperText(Code.UNIMPLEMENTED, undefined));
    const resp = await call(() => raw.simple(
      { op: OpCode.reconfig, reconfig: { joiningServers: joining, leavingServers: leaving, newMembers: members, curConfigId: version } },
      undefined, (r) => r,
    )) as { data: Buffer | null; stat: Stat };
    ctx.out(`Committed new configuration:\n${resp.data ? resp.data.toString('utf8') : 'null'}\n`);
    if (cl.has('s')) ctx.out(formatStat(resp.stat));
  },
};

const close: ZkCommand = {
  name: 'close',
  options: '',
  async run(ctx) {
    await call(() => ctx.client.close());
  },
};

/** The ZooKeeper commands, keyed by name (the shell adds connect, history, redo, printwatches, quit, version). */
export const ZK_COMMANDS: ReadonlyMap<string, ZkCommand> = new Map(
  [
    close, create, del, deleteall, set, get, ls, getAcl, setAcl, stat, sync, setquota, listquota, delquota, addauth,
    reconfig, config, removewatches, getEphemerals, getAllChildrenNumber, addWatch, whoami,
  ].map((c) => [c.name, c]),
);

export { flags };
