// The worker process of `zkts bench`: forked by the driver (main.ts) with an IPC channel, it runs its share of the
// clients through the phases the driver sends (start -> go -> measure -> stop) and answers with its counters.
// It exits when the driver says so or disconnects.
import type { BenchOptions } from './args.js';
import { Load, type WorkerResult } from './workload.js';

export type ToWorker =
  | { type: 'start'; opts: BenchOptions; root: string; clients: number[] }
  | { type: 'go' }
  | { type: 'measure' }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'result'; result: WorkerResult }
  | { type: 'error'; message: string };

export const WORKER_ENV = 'ZKTS_BENCH_WORKER';

function send(m: FromWorker, then?: () => void): void {
  process.send?.(m, undefined, {}, () => then?.());
}

function runWorker(): void {
  let load: Load | undefined;
  process.on('disconnect', () => process.exit(0));
  // The driver handles Ctrl-C and tells us to stop; a terminal's SIGINT to the process group must not kill us first.
  process.on('SIGINT', () => undefined);
  process.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'start':
        load = new Load(m.opts, m.root, m.clients);
        load.connect().then(() => send({ type: 'ready' }), (e: Error) => {
          send({ type: 'error', message: e.message }, () => process.exit(1));
        });
        return;
      case 'go':
        load?.go();
        return;
      case 'measure':
        load?.measure();
        return;
      case 'stop':
        if (!load) return;
        load.stop().then((result) => {
          send({ type: 'result', result }, () => process.exit(0));
        }, (e: Error) => {
          send({ type: 'error', message: e.message }, () => process.exit(1));
        });
        return;
    }
  });
}

if (process.env[WORKER_ENV] === '1' && process.send) runWorker();
