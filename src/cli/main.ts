#!/usr/bin/env node
// cli/ is the outermost layer: the `zkts` executable. It parses the command line and starts the piece asked for;
// it may import every other layer, and nothing imports it.
import { ConfigError, loadConfig } from '../config/zoocfg.js';
import type { ZkConfig } from '../config/zoocfg.js';
import { QuorumPeer } from '../quorum/peer.js';
import { ZooKeeperServer } from '../server/zkserver.js';
import type { Logger } from '../util/log.js';
import { createLogger } from '../util/log.js';

const USAGE = `usage: zkts <command> [args]

commands:
  server [zoo.cfg]     run a server: an ensemble member when zoo.cfg has server.N lines (myid in dataDir),
                       standalone otherwise; without a file, the embedded default config
                       (clientPort 2181, dataDir under the temp dir)
  bench [options]      drive load at a ZooKeeper-compatible server (zkts bench --help)
  bench failover [options]
                       time from kill -9 of a 3-node ensemble's leader to the next acknowledged write
  fault --workload W --fault F --seed S [--duration s] [--kind zkts|apache]
                       a Jepsen-style fault-injection run against a 3-node ensemble, history checked
  sim [--seed S] [--seeds N] [--workload W] [--mode safety|liveness]
                       deterministic simulation: N servers, clients and a nemesis on a simulated network,
                       disk and clock from one seed; invariants checked after every event
  snapshot <file> [--json] [-d]
                       print a snapshot file (summary; -d with data; --json full dump), as zkSnapShotToolkit
  txnlog <file> [--json]
                       print a txn log, one line per txn, as zkTxnLogToolkit
  cli [-server host:port[/chroot]] [-timeout ms] [-r] [-waitforconnection] [command args...]
                       a ZooKeeper shell, as zkCli.sh: one command, or interactive
`;

async function serverMain(args: string[]): Promise<number> {
  const logger = createLogger();
  let config;
  try {
    config = loadConfig(args[0], logger);
  } catch (e) {
    if (e instanceof ConfigError || (e as NodeJS.ErrnoException).code === 'ENOENT') {
      process.stderr.write(`zkts: invalid configuration: ${(e as Error).message}\n`);
      return 2;
    }
    throw e;
  }
  // QuorumPeerMain: an ensemble member when zoo.cfg has server lines, else ZooKeeperServerMain.
  return runUntilSignal(config, logger, () => (config.distributed ? QuorumPeer.open(config, logger) : ZooKeeperServer.open(config, logger)));
}

/** Loads the data directory, starts serving, and runs until SIGINT/SIGTERM. */
async function runUntilSignal(config: ZkConfig, logger: Logger, open: () => Promise<QuorumPeer | ZooKeeperServer>): Promise<number> {
  let server: QuorumPeer | ZooKeeperServer;
  try {
    server = await open();
  } catch (e) {
    logger.error('cannot load the data directory', { err: (e as Error).message, dataDir: config.dataDir });
    return 1;
  }
  try {
    await server.start();
  } catch (e) {
    logger.error('cannot open the client port or the election port', { err: (e as Error).message, port: config.clientPort });
    return 1;
  }
  const shutdown = (signal: string): void => {
    logger.info('shutting down', { signal });
    void server.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  return new Promise<number>(() => undefined);
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'server':
      return serverMain(rest);
    case 'bench': {
      if (rest[0] === 'failover') return (await import('../bench/failover.js')).failoverMain(rest.slice(1));
      const { benchMain } = await import('../bench/main.js');
      return benchMain(rest);
    }
    case 'snapshot': {
      const { snapshotMain } = await import('../storage/inspect-snapshot.js');
      return snapshotMain(rest);
    }
    case 'txnlog': {
      const { txnlogMain } = await import('../storage/inspect-txnlog.js');
      return txnlogMain(rest);
    }
    case 'fault': return (await import('../fault/main.js')).faultMain(rest);
    case 'sim': return (await import('../sim/main.js')).simMain(rest);
    case 'cli': {
      const { cliMain } = await import('./shell/shell.js');
      return cliMain(rest);
    }
    case undefined: case '-h': case '--help': case 'help':
      process.stdout.write(USAGE);
      return cmd === undefined ? 2 : 0;
    default:
      process.stderr.write(`zkts: unknown command '${cmd}'\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`zkts: fatal: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
