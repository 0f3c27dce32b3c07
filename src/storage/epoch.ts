// storage/epoch.ts: the quorum epoch files dataDir/version-2/currentEpoch and acceptedEpoch (QuorumPeer
// readLongFromFile / writeLongToFile): a decimal number in ASCII with no newline, replaced atomically as
// AtomicFileOutputStream does (write <name>.tmp in the same directory, fsync it, rename it over the file), plus an
// fsync of the directory so the rename itself survives a crash. DESIGN.md §4: write them only after the txns they
// cover are durable.
import { fs } from '../util/sys.js';
import path from 'node:path';

export const CURRENT_EPOCH_FILE = 'currentEpoch';
export const ACCEPTED_EPOCH_FILE = 'acceptedEpoch';
/**
 * QuorumPeer.UPDATING_EPOCH_FILENAME: present while a learner finishes a sync (its synced txns or snapshot may be
 * on disk in the new epoch before currentEpoch says so). Found at startup, it means "the epoch of the last zxid is
 * current" (ZOOKEEPER-2354: without it such a server refuses to start, the current epoch being older than its data).
 */
export const UPDATING_EPOCH_FILE = 'updatingEpoch';

/**
 * The number in an epoch file, or undefined when the file does not exist. Like Java's readLine + Long.parseLong, one
 * line is read (a trailing newline is tolerated); anything else is an error naming the file.
 */
export function readEpochFile(file: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'latin1');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read epoch file ${file}: ${(e as Error).message}`, { cause: e });
  }
  const line = text.replace(/\r?\n[\s\S]*$/, '');
  if (!/^[-+]?\d{1,19}$/.test(line)) {
    throw new Error(`malformed epoch file ${file}: expected a decimal number, found ${JSON.stringify(text.slice(0, 40))}`);
  }
  const v = Number(line);
  if (!Number.isSafeInteger(v)) throw new Error(`malformed epoch file ${file}: ${line} is out of range`);
  return v;
}

function checkValue(file: string, value: number): string {
  if (!Number.isSafeInteger(value)) throw new Error(`epoch for ${file} must be an integer, got ${value}`);
  return String(value);
}

/** Replaces `file` with `value` atomically and durably (temp file, fsync, rename, fsync of the directory). */
export async function writeEpochFile(file: string, value: number): Promise<void> {
  const text = checkValue(file, value);
  const tmp = file + '.tmp';
  const h = await fs.promises.open(tmp, 'w', 0o644);
  try {
    await h.writeFile(text, 'latin1');
    await h.sync();
  } catch (e) {
    await h.close();
    await fs.promises.rm(tmp, { force: true });
    throw new Error(`cannot write epoch file ${file}: ${(e as Error).message}`, { cause: e });
  }
  await h.close();
  await fs.promises.rename(tmp, file);
  const d = await fs.promises.open(path.dirname(file), 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** writeEpochFile for code that may block (startup, tools). */
export function writeEpochFileSync(file: string, value: number): void {
  const text = checkValue(file, value);
  const tmp = file + '.tmp';
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    fs.writeSync(fd, text, 0, 'latin1');
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw new Error(`cannot write epoch file ${file}: ${(e as Error).message}`, { cause: e });
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  const d = fs.openSync(path.dirname(file), 'r');
  try {
    fs.fsyncSync(d);
  } finally {
    fs.closeSync(d);
  }
}

/** Creates the updatingEpoch marker in `dir` durably (the file, then the directory entry). */
export async function markEpochUpdate(dir: string): Promise<void> {
  const h = await fs.promises.open(path.join(dir, UPDATING_EPOCH_FILE), 'w', 0o644);
  try {
    await h.sync();
  } finally {
    await h.close();
  }
  await syncDir(dir);
}

/** Removes the updatingEpoch marker durably. */
export async function clearEpochUpdate(dir: string): Promise<void> {
  await fs.promises.rm(path.join(dir, UPDATING_EPOCH_FILE), { force: true });
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  const d = await fs.promises.open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
