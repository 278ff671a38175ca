/**
 * Runs the fuzz worker on one input at a time under a watchdog. A worker that overruns the time
 * limit or dies (an out-of-memory kill included) is replaced, so one bad input costs one result.
 */
import { Worker } from 'node:worker_threads';
import { READY, type ReadOutcome } from './fuzz-worker.js';

export type LaneResult =
  | { kind: 'finished'; outcome: ReadOutcome; elapsedMs: number }
  | { kind: 'timed-out'; elapsedMs: number }
  | { kind: 'died'; error: Error & { code?: string }; elapsedMs: number };

export interface LaneLimits {
  timeMs: number;
  /** V8 old-generation cap of the worker: an allocation bomb kills the worker, not the test. */
  heapMb: number;
}

export class Lane {
  private worker: Promise<Worker> | undefined;

  constructor(private readonly limits: LaneLimits) {}

  async run(path: string): Promise<LaneResult> {
    const worker = await (this.worker ??= this.spawn());
    const started = performance.now();
    const elapsed = (): number => performance.now() - started;
    return new Promise((resolve) => {
      const onMessage = (outcome: ReadOutcome): void => finish({ kind: 'finished', outcome, elapsedMs: elapsed() });
      const onError = (error: Error): void => die(error);
      const onExit = (code: number): void => die(new Error(`worker exited with code ${code}`));
      const watchdog = setTimeout(() => {
        this.discard(worker);
        finish({ kind: 'timed-out', elapsedMs: elapsed() });
      }, this.limits.timeMs);
      const die = (error: Error): void => {
        this.discard(worker);
        finish({ kind: 'died', error, elapsedMs: elapsed() });
      };
      const finish = (result: LaneResult): void => {
        clearTimeout(watchdog);
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
        resolve(result);
      };
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
      worker.postMessage(path);
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await (await worker).terminate();
  }

  private spawn(): Promise<Worker> {
    const worker = new Worker(new URL('./fuzz-worker.js', import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: this.limits.heapMb },
    });
    return new Promise((resolve, reject) => {
      worker.once('message', (message: unknown) =>
        message === READY ? resolve(worker) : reject(new Error(`unexpected first message ${String(message)}`)),
      );
      worker.once('error', reject);
    });
  }

  private discard(worker: Worker): void {
    this.worker = undefined;
    void worker.terminate();
  }
}
