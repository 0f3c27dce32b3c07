// admin/ environment.ts: the `envi` lines. ZooKeeper prints Java system properties under fixed keys, and tools
// (zkServer.sh, monitoring scripts) grep for them, so zkts keeps every key and fills it with the Node analogue.
// environmentEntries is pure; gatherEnvironmentFacts reads the process and the OS, for the shell to call.
import os from 'node:os';
import v8 from 'node:v8';

export interface EnvironmentFacts {
  version: string;
  hostName: string;
  runtimeVersion: string;
  runtimeVendor: string;
  runtimeHome: string;
  classPath: string;
  libraryPath: string;
  tmpDir: string;
  osName: string;
  osArch: string;
  osVersion: string;
  userName: string;
  userHome: string;
  userDir: string;
  memoryFreeMb: number;
  memoryMaxMb: number;
  memoryTotalMb: number;
}

/** The envi key/value list in ZooKeeper's order (Environment.list()). */
export function environmentEntries(f: EnvironmentFacts): Array<[string, string]> {
  return [
    ['zookeeper.version', f.version],
    ['host.name', f.hostName],
    ['java.version', f.runtimeVersion],
    ['java.vendor', f.runtimeVendor],
    ['java.home', f.runtimeHome],
    ['java.class.path', f.classPath],
    ['java.library.path', f.libraryPath],
    ['java.io.tmpdir', f.tmpDir],
    ['java.compiler', '<NA>'],
    ['os.name', f.osName],
    ['os.arch', f.osArch],
    ['os.version', f.osVersion],
    ['user.name', f.userName],
    ['user.home', f.userHome],
    ['user.dir', f.userDir],
    ['os.memory.free', `${f.memoryFreeMb}MB`],
    ['os.memory.max', `${f.memoryMaxMb}MB`],
    ['os.memory.total', `${f.memoryTotalMb}MB`],
  ];
}

/** Java's os.arch names for Node's process.arch values. */
const JAVA_ARCH: Record<string, string> = { x64: 'amd64', ia32: 'x86', arm64: 'aarch64' };

/**
 * Node's answers to Java's questions: java.version is Node's version, java.vendor "Node.js", java.home the
 * directory of the node binary, java.class.path the main script, memory figures from the V8 heap (free = total -
 * used, max = the heap size limit, total = the heap allocated).
 */
export function gatherEnvironmentFacts(version: string): EnvironmentFacts {
  const mb = 1024 * 1024;
  const heap = process.memoryUsage();
  let userName = '<NA>';
  try {
    userName = os.userInfo().username;
  } catch {
    // no passwd entry for this uid (containers): keep <NA> as Java would
  }
  const execDir = process.execPath.replace(/[/\\][^/\\]*$/, '');
  return {
    version,
    hostName: os.hostname() || '<NA>',
    runtimeVersion: process.versions.node,
    runtimeVendor: 'Node.js',
    runtimeHome: execDir.replace(/[/\\]bin$/, '') || execDir,
    classPath: process.argv[1] ?? '<NA>',
    libraryPath: process.env.NODE_PATH ?? '',
    tmpDir: os.tmpdir(),
    osName: os.type(),
    osArch: JAVA_ARCH[process.arch] ?? process.arch,
    osVersion: os.release(),
    userName,
    userHome: os.homedir(),
    userDir: process.cwd(),
    memoryFreeMb: Math.floor((heap.heapTotal - heap.heapUsed) / mb),
    memoryMaxMb: Math.floor(v8.getHeapStatistics().heap_size_limit / mb),
    memoryTotalMb: Math.floor(heap.heapTotal / mb),
  };
}
