// config/ reads zoo.cfg and the files next to it; it may import util/ only. properties.ts: the java.util.Properties
// text format (Properties.load), which is what zoo.cfg is. Pure: text in, ordered entries out.
//
// The rules, from the Properties.load javadoc:
// - natural lines end at \n, \r or \r\n; a line whose first non-blank character is # or ! is a comment;
// - a line ending in an odd number of backslashes continues on the next, whose leading blanks are dropped;
// - the key runs to the first unescaped '=', ':' or blank; then blanks, at most one '=' or ':', blanks; the rest
//   of the logical line is the value;
// - escapes: \t \n \r \f, \uXXXX (exactly four hex digits, else an error), and \x for any other x means x;
// - blanks are space, tab and form feed; a later duplicate key replaces an earlier one.

export class PropertiesSyntaxError extends Error {
  constructor(message: string, readonly line: number) {
    super(`${message} (line ${line})`);
    this.name = 'PropertiesSyntaxError';
  }
}

const isBlank = (c: string): boolean => c === ' ' || c === '\t' || c === '\f';

/** Logical lines with their starting natural line number; comments and blank lines dropped. */
function logicalLines(text: string): Array<{ text: string; line: number }> {
  const natural = text.split(/\r\n|\r|\n/);
  const out: Array<{ text: string; line: number }> = [];
  let pending: { text: string; line: number } | undefined;
  for (let i = 0; i < natural.length; i++) {
    let s = natural[i];
    let start = 0;
    while (start < s.length && isBlank(s[start])) start++;
    s = s.slice(start);
    if (!pending) {
      if (s.length === 0 || s[0] === '#' || s[0] === '!') continue;
    }
    let slashes = 0;
    for (let j = s.length - 1; j >= 0 && s[j] === '\\'; j--) slashes++;
    const continues = slashes % 2 === 1;
    const body = continues ? s.slice(0, -1) : s;
    if (pending) pending.text += body;
    else pending = { text: body, line: i + 1 };
    if (!continues) {
      out.push(pending);
      pending = undefined;
    }
  }
  // A continuation on the last line of the file just ends the logical line.
  if (pending) out.push(pending);
  return out;
}

function unescape(s: string, line: number): string {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    i++;
    if (i >= s.length) break; // cannot happen after continuation handling, kept for safety
    const e = s[i];
    if (e === 'u') {
      const hex = s.slice(i + 1, i + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new PropertiesSyntaxError('Malformed \\uxxxx encoding', line);
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
    } else if (e === 't') out += '\t';
    else if (e === 'n') out += '\n';
    else if (e === 'r') out += '\r';
    else if (e === 'f') out += '\f';
    else out += e;
  }
  return out;
}

/** Splits one logical line into its raw (still escaped) key and value. */
function splitKeyValue(s: string): { key: string; value: string } {
  let i = 0;
  let keyEnd = s.length;
  let valueStart = s.length;
  let sawSeparator = false;
  for (; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') {
      i++; // the escaped character belongs to the key
      continue;
    }
    if (c === '=' || c === ':') {
      keyEnd = i;
      valueStart = i + 1;
      sawSeparator = true;
      break;
    }
    if (isBlank(c)) {
      keyEnd = i;
      valueStart = i + 1;
      break;
    }
  }
  while (valueStart < s.length && isBlank(s[valueStart])) valueStart++;
  if (!sawSeparator && valueStart < s.length && (s[valueStart] === '=' || s[valueStart] === ':')) {
    valueStart++;
    while (valueStart < s.length && isBlank(s[valueStart])) valueStart++;
  }
  return { key: s.slice(0, Math.min(keyEnd, s.length)), value: s.slice(valueStart) };
}

/**
 * Parses Java Properties text. Returns the entries in first-appearance order (a later duplicate replaces the value
 * but keeps the first position), each with the line it came from.
 */
export function parseProperties(text: string): Map<string, { value: string; line: number }> {
  const out = new Map<string, { value: string; line: number }>();
  for (const { text: logical, line } of logicalLines(text)) {
    const { key, value } = splitKeyValue(logical);
    out.set(unescape(key, line), { value: unescape(value, line), line });
  }
  return out;
}
