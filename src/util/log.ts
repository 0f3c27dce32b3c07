// util/ holds small leaf helpers with no project imports. log.ts: structured logs, one JSON object per line on
// stderr, so that operators can grep them and tools can parse them. Fields name the session (as 0x hex) and the
// remote address where they apply.

import { clock } from './sys.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export type LogSink = (line: string) => void;

const stderrSink: LogSink = (line) => process.stderr.write(line + '\n');

function render(value: unknown): unknown {
  if (typeof value === 'bigint') return '0x' + BigInt.asUintN(64, value).toString(16);
  if (value instanceof Error) return value.stack ?? value.message;
  return value;
}

export function createLogger(opts: { level?: LogLevel; sink?: LogSink; fields?: LogFields } = {}): Logger {
  const min = LEVELS[opts.level ?? (process.env.ZKTS_LOG_LEVEL as LogLevel | undefined) ?? 'info'] ?? LEVELS.info;
  const sink = opts.sink ?? stderrSink;
  const base = opts.fields ?? {};
  const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (LEVELS[level] < min) return;
    const rec: LogFields = { time: new Date(clock.now()).toISOString(), level, msg };
    for (const [k, v] of Object.entries(base)) rec[k] = render(v);
    if (fields) for (const [k, v] of Object.entries(fields)) rec[k] = render(v);
    sink(JSON.stringify(rec));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ level: (Object.keys(LEVELS) as LogLevel[]).find((l) => LEVELS[l] === min), sink, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything, for unit tests of cores that take a logger. */
export const silentLogger: Logger = createLogger({ sink: () => undefined, level: 'error' });

/** Session ids print as ZooKeeper prints them: 0x followed by unsigned hex. */
export function hexSession(id: bigint): string {
  return '0x' + BigInt.asUintN(64, id).toString(16);
}
