// Glue between the server and admin/'s four-letter-word renderer (temporary: ruok only until admin/ lands).
import type { ZooKeeperServer } from './zkserver.js';

export function fourLetterCommand(firstFour: Buffer): string | undefined {
  const s = firstFour.toString('latin1');
  return s === 'ruok' ? s : undefined;
}

export function renderFourLetter(cmd: string, _server: ZooKeeperServer): string {
  return cmd === 'ruok' ? 'imok' : '';
}
