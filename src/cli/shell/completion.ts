// cli/shell/completion.ts: tab completion for the interactive shell (node:readline's completer), as zkCli's
// JLineZNodeCompleter: the first word completes to command names, a later word starting with "/" to the children
// of the node it names so far.
import type { ZooKeeperClient } from '../../client/index.js';

const COMPLETION_TIMEOUT_MS = 2000;

/** Returns [candidates, the part of the line being completed] for readline. */
export async function completeLine(line: string, commands: string[], client: ZooKeeperClient | undefined): Promise<[string[], string]> {
  const lastSpace = line.lastIndexOf(' ');
  const token = line.slice(lastSpace + 1);
  if (line.trimStart().indexOf(' ') === -1) {
    const hits = commands.filter((c) => c.startsWith(token));
    return [hits.map((c) => c + ' '), token];
  }
  if (!token.startsWith('/') || !client) return [[], token];
  const slash = token.lastIndexOf('/');
  const dir = slash === 0 ? '/' : token.slice(0, slash);
  const prefix = token.slice(slash + 1);
  let timer: NodeJS.Timeout | undefined;
  try {
    const children = await Promise.race([
      client.getChildren(dir),
      new Promise<string[]>((resolve) => (timer = setTimeout(() => resolve([]), COMPLETION_TIMEOUT_MS))),
    ]);
    const base = dir === '/' ? '/' : dir + '/';
    const hits = children.filter((c) => c.startsWith(prefix)).sort().map((c) => base + c);
    return [hits, token];
  } catch {
    return [[], token];
  } finally {
    clearTimeout(timer);
  }
}
