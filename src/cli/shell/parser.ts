// cli/shell/parser.ts: how zkCli reads a line and a command's options. A line splits into words at whitespace,
// a word may be quoted with ' or " (the quotes are dropped). Options follow Apache commons-cli's DefaultParser, which
// zkCli 3.8 uses: flags and valued options anywhere among the arguments, "-v5" as well as "-v 5", concatenated flags
// ("-se"), "--" ending the options, and its error messages (which zkCli prints with the Java class name in front).

/** Splits a command line into words as zkCli does: runs of non-space, or a whole '...' / "..." group. */
export function tokenize(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  const n = line.length;
  const isSpace = (c: string): boolean => /\s/.test(c);
  while (i < n) {
    while (i < n && isSpace(line[i])) i++;
    if (i >= n) break;
    const c = line[i];
    if (c === '"' || c === "'") {
      const close = line.indexOf(c, i + 1);
      if (close !== -1) {
        words.push(line.slice(i + 1, close));
        i = close + 1;
        continue;
      }
      // An unmatched quote: the quote character alone is not a word start for zkCli's pattern; skip it.
      i++;
      continue;
    }
    let j = i;
    while (j < n && !isSpace(line[j])) j++;
    let w = line.slice(i, j);
    // A word that happens to be wholly quoted after the first character ("a'b'" stays as is), as zkCli.
    if (w.length >= 2 && (w[0] === '"' || w[0] === "'") && w[w.length - 1] === w[0]) w = w.slice(1, -1);
    words.push(w);
    i = j;
  }
  return words;
}

export interface OptionSpec {
  /** The option's name without the dash ("s", "v", "members"). */
  name: string;
  hasArg: boolean;
  description: string;
}

export interface OptionsSpec {
  options: OptionSpec[];
  /** A mutually exclusive group (setquota/delquota), optionally required. */
  group?: { names: string[]; required: boolean };
}

/** A commons-cli ParseException; `message` is what zkCli prints (class name included). */
export class OptionParseError extends Error {
  constructor(kind: string, detail: string) {
    super(`org.apache.commons.cli.${kind}: ${detail}`);
  }
}

export interface ParsedCommand {
  /** The non-option words, the command name first. */
  args: string[];
  has(name: string): boolean;
  value(name: string): string | undefined;
}

/** Parses `words` (the command name first) against `spec`, as DefaultParser.parse(options, words). */
export function parseOptions(spec: OptionsSpec, words: string[]): ParsedCommand {
  const byName = new Map(spec.options.map((o) => [o.name, o]));
  const values = new Map<string, string | true>();
  const args: string[] = [];
  let pending: OptionSpec | undefined;
  let selected: string | undefined;

  const isNegativeNumber = (t: string): boolean => /^-\d+(\.\d+)?$/.test(t) || /^-\.\d+$/.test(t);
  const isShortOption = (t: string): boolean => {
    if (!t.startsWith('-') || t.length === 1) return false;
    const eq = t.indexOf('=');
    const name = eq === -1 ? t.slice(1) : t.slice(1, eq);
    return byName.has(name) || (name.length > 0 && byName.has(name[0]));
  };
  const isArgument = (t: string): boolean => !(t.startsWith('-') && t.length > 1 && (t.startsWith('--') || isShortOption(t))) || isNegativeNumber(t);

  const checkPending = (): void => {
    if (pending) throw new OptionParseError('MissingArgumentException', `Missing argument for option: ${pending.name}`);
  };
  const take = (o: OptionSpec): void => {
    checkPending();
    if (spec.group?.names.includes(o.name)) {
      if (selected !== undefined && selected !== o.name) {
        throw new OptionParseError(
          'AlreadySelectedException',
          `The option '${o.name}' was specified but an option from this group has already been selected: '${selected}'`,
        );
      }
      selected = o.name;
    }
    if (o.hasArg) pending = o;
    else values.set(o.name, true);
  };
  const unknown = (t: string): never => {
    throw new OptionParseError('UnrecognizedOptionException', `Unrecognized option: ${t}`);
  };

  let rest = false;
  for (const t of words) {
    if (rest) {
      args.push(t);
      continue;
    }
    if (pending && isArgument(t)) {
      values.set(pending.name, stripQuotes(t));
      pending = undefined;
      continue;
    }
    if (t === '--') {
      rest = true;
      continue;
    }
    if (t === '-') {
      args.push(t);
      continue;
    }
    if (t.startsWith('--')) {
      const name = t.slice(2).split('=')[0];
      // zkCli's options have no long names; commons-cli would match prefixes of them, which none are.
      unknown(name === '' ? t : t);
    }
    if (t.startsWith('-')) {
      const body = t.slice(1);
      const exact = byName.get(body);
      if (exact) {
        take(exact);
        continue;
      }
      const eq = body.indexOf('=');
      if (eq > 0 && byName.get(body.slice(0, eq))?.hasArg) {
        const o = byName.get(body.slice(0, eq))!;
        take(o);
        values.set(o.name, body.slice(eq + 1));
        pending = undefined;
        continue;
      }
      const first = byName.get(body[0]);
      if (body.length > 1 && first?.hasArg) {
        take(first);
        values.set(first.name, body.slice(1));
        pending = undefined;
        continue;
      }
      if (body.length === 1) unknown(t);
      // concatenated flags: -se
      for (let i = 0; i < body.length; i++) {
        const o = byName.get(body[i]);
        if (!o) unknown(t);
        take(o!);
        if (o!.hasArg && i + 1 < body.length) {
          values.set(o!.name, body.slice(i + 1));
          pending = undefined;
          break;
        }
      }
      continue;
    }
    checkPending();
    args.push(t);
  }
  checkPending();
  if (spec.group?.required && selected === undefined) {
    const list = spec.group.names.map((n) => {
      const o = byName.get(n)!;
      return `-${o.name}${o.description ? ` ${o.description}` : ''}`;
    });
    throw new OptionParseError('MissingOptionException', `Missing required option: [${list.join(', ')}]`);
  }
  return {
    args,
    has: (name) => values.has(name),
    value: (name) => {
      const v = values.get(name);
      return typeof v === 'string' ? v : undefined;
    },
  };
}

function stripQuotes(t: string): string {
  let s = t;
  if (s.startsWith('"')) s = s.slice(1);
  if (s.endsWith('"') && s.length > 0) s = s.slice(0, -1);
  return s;
}
