// admin/ javaFormat.ts: the few Java toString formats that ZooKeeper's text output is made of, so that scripts
// written against ZooKeeper parse ours unchanged. Pure functions.

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number): string => String(n).padStart(2, '0');

/** java.util.Date.toString() ("EEE MMM dd HH:mm:ss zzz yyyy"), always in UTC: "Sat Nov 21 23:30:51 UTC 2026". */
export function javaDateString(epochMs: number): string {
  const d = new Date(epochMs);
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${pad2(d.getUTCDate())} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`;
}

/** Double.toString(): "0.0", "2.6", "1.0E7", "1.0E-4". JS's shortest round-trip digits match Java 19+. */
export function javaDouble(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(x);
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(x);
    return s.includes('.') ? s : s + '.0';
  }
  const [mantissa, exp] = x.toExponential().split('e');
  const m = mantissa.includes('.') ? mantissa : mantissa + '.0';
  return `${m}E${exp.startsWith('+') ? exp.slice(1) : exp}`;
}

/** Long.toHexString(): unsigned, lowercase, no padding. */
export function javaHex(n: bigint | number): string {
  return BigInt.asUintN(64, BigInt(n)).toString(16);
}

/** Long.toString() of a 64-bit value (signed decimal). */
export function javaLong(n: bigint): string {
  return BigInt.asIntN(64, n).toString();
}

/** Expands an IPv6 address to Java's form: eight groups, lowercase, no leading zeros, no "::". */
function javaIpv6(ip: string): string {
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (v4) {
    const b = v4.slice(1, 5).map(Number);
    ip = ip.slice(0, v4.index) + ((b[0] << 8) | b[1]).toString(16) + ':' + ((b[2] << 8) | b[3]).toString(16);
  }
  const halves = ip.split('::');
  const l = halves[0] ? halves[0].split(':') : [];
  const r = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const zeros = halves.length > 1 ? Array<string>(Math.max(8 - l.length - r.length, 0)).fill('0') : [];
  return [...l, ...zeros, ...r].map((g) => parseInt(g, 16).toString(16)).join(':');
}

/**
 * InetSocketAddress.toString() of an accepted socket as JDK 17 prints it: "/127.0.0.1:2181",
 * "/[0:0:0:0:0:0:0:1]:2181". IPv4-mapped IPv6 addresses print as IPv4, as Java presents them.
 */
export function javaSocketAddress(host: string, port: number): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  if (mapped) return `/${mapped[1]}:${port}`;
  if (host.includes(':')) return `/[${javaIpv6(host.replace(/%.*$/, ''))}]:${port}`;
  return `/${host}:${port}`;
}
