/**
 * A hunt: every event of the input files through the selected rules. Files are hunted in
 * parallel by worker threads (each loads the rules once) and their results handed on in input
 * order — files sorted by path, events in file order — with correlations applied on the way.
 * A worker holds back once a few of its batches wait to be taken, so memory does not grow with
 * the input or with a slow output.
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ReadProblem } from '../event-files.js';
import { listInputFiles } from '../readers/inputs.js';
import { CorrelationStage } from './correlation-stage.js';
import type { Detection } from './detection.js';
import { FileHunter, type FileBatch } from './file-hunter.js';
import { eventFilter, loadHuntRules, type EventFilterOptions, type RuleOptions } from './options.js';
import { summarizeRules, type RuleSummary } from './rules-summary.js';
import type { FromWorker, ToWorker } from './worker.js';

export interface HuntOptions {
  /** Files and folders (searched recursively). */
  inputs: string[];
  rules: RuleOptions;
  events: EventFilterOptions;
  /** Worker threads; 1 hunts on the calling thread. */
  threads: number;
}

export type HuntUpdate =
  | { kind: 'rules'; rules: RuleSummary }
  | { kind: 'files'; files: string[]; bytes: number }
  | { kind: 'detections'; file: string; detections: Detection[]; events: number; filtered: number; problems: ReadProblem[] }
  /** A file is finished; `failed` says why nothing of it could be read. */
  | { kind: 'file-done'; file: string; bytes: number; failed?: string }
  /** The hunt is over; `untimedCorrelated`: matches of correlated rules that had no readable time, so could not be correlated. */
  | { kind: 'end'; untimedCorrelated: number };

/**
 * Threads a hunt uses unless told otherwise: one core is left to the main thread, which puts
 * results in order and writes them; on two cores or fewer the main thread hunts alone. Each
 * thread holds its own copy of the rules (130–200 MB with every SigmaHQ rule), so this is a
 * memory choice too.
 */
export function defaultHuntThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

export async function* hunt(options: HuntOptions): AsyncGenerator<HuntUpdate> {
  const problems: ReadProblem[] = [];
  const files = listInputFiles(options.inputs, (p) => problems.push(p));
  const sizes = files.map(sizeOf);
  // Paths that are not there come first, so the file count that follows is of files to read.
  for (const p of problems) yield { kind: 'file-done', file: p.origin, bytes: 0, failed: p.message };
  yield { kind: 'files', files, bytes: sizes.reduce((a, b) => a + b, 0) };
  const source = options.threads > 1 && files.length > 1 ? inWorkers(files, options) : inProcess(files, options);
  let stage: CorrelationStage | undefined;
  for await (const result of source) {
    if ('rules' in result) {
      stage = new CorrelationStage(result.rules.correlations);
      yield { kind: 'rules', rules: result.rules };
      continue;
    }
    const { task, batch } = result;
    const file = files[task]!;
    const detections = stage!.process(batch.items);
    if (batch.events > 0 || detections.length > 0 || batch.problems.length > 0)
      yield { kind: 'detections', file, detections, events: batch.events, filtered: batch.filtered, problems: batch.problems };
    if (batch.done) yield { kind: 'file-done', file, bytes: sizes[task]!, failed: batch.failed };
  }
  yield { kind: 'end', untimedCorrelated: stage?.untimed ?? 0 };
}

type Result = { rules: RuleSummary } | { task: number; batch: FileBatch };

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

async function* inProcess(files: string[], options: HuntOptions): AsyncGenerator<Result> {
  const loaded = loadHuntRules(options.rules);
  yield { rules: summarizeRules(loaded) };
  const hunter = new FileHunter(loaded.ruleSet, eventFilter(options.events));
  for (let task = 0; task < files.length; task++) for await (const batch of hunter.hunt(files[task]!)) yield { task, batch };
}

const YOUNG_GENERATION_MB = 8;

/**
 * Files per thread in flight. Small logs take less time than a message round trip, so each thread
 * is kept supplied; memory stays bounded because workers hold back once MAX_UNACKED batches wait.
 */
const FILES_PER_THREAD = 16;

async function* inWorkers(files: string[], options: HuntOptions): AsyncGenerator<Result> {
  const pool = new HuntPool(Math.min(options.threads, files.length), options);
  try {
    yield { rules: await pool.ready };
    let next = 0;
    for (let task = 0; task < files.length; task++) {
      while (next < files.length && next < task + pool.size * FILES_PER_THREAD) pool.send(next, files[next++]!);
      for (;;) {
        const batch = await pool.take(task);
        yield { task, batch };
        if (batch.done) break;
      }
    }
  } finally {
    await pool.close();
  }
}

/**
 * Worker threads that each hunt the files sent to them in turn. Results wait, per file, until the
 * hunt takes them; taking a batch gives its worker the credit to post another. A worker that
 * dies fails the file it was hunting; the files it had not started go to its replacement.
 */
class HuntPool {
  readonly ready: Promise<RuleSummary>;
  private readonly workers = new Set<PooledWorker>();
  private readonly results = new Map<number, { batches: FileBatch[]; worker: PooledWorker }>();
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private rulesLoaded = false;
  private resolveReady!: (rules: RuleSummary) => void;
  private rejectReady!: (error: Error) => void;

  constructor(
    readonly size: number,
    private readonly options: HuntOptions,
  ) {
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    for (let i = 0; i < size; i++) this.spawn();
  }

  send(task: number, file: string): void {
    const worker = [...this.workers].reduce((a, b) => (b.tasks.size < a.tasks.size ? b : a));
    this.assign(worker, task, file);
  }

  /** The next batch of `task`'s results, waiting for it. */
  async take(task: number): Promise<FileBatch> {
    for (;;) {
      if (this.failure) throw this.failure;
      const entry = this.results.get(task);
      const batch = entry?.batches.shift();
      if (entry && batch) {
        if (batch.done) this.results.delete(task);
        if (!batch.lost) entry.worker.thread.postMessage({ kind: 'ack' } satisfies ToWorker);
        return batch;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  async close(): Promise<void> {
    const workers = [...this.workers];
    this.workers.clear();
    await Promise.all(workers.map((w) => w.thread.terminate()));
  }

  private assign(worker: PooledWorker, task: number, file: string): void {
    worker.tasks.set(task, file);
    this.results.set(task, { batches: [], worker });
    worker.thread.postMessage({ kind: 'hunt', task, file } satisfies ToWorker);
  }

  private spawn(): PooledWorker {
    const thread = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: { rules: this.options.rules, events: this.options.events },
      // A small young generation keeps each thread's garbage, and so the process's memory, low.
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    const worker: PooledWorker = { thread, tasks: new Map(), running: undefined };
    this.workers.add(worker);
    thread.on('message', (message: FromWorker) => this.receive(worker, message));
    thread.on('error', (error) => this.onDeath(worker, error));
    thread.on('exit', (code) => this.onDeath(worker, new Error(`hunt worker exited with code ${code}`)));
    return worker;
  }

  private receive(worker: PooledWorker, message: FromWorker): void {
    if (message.kind === 'ready') {
      this.rulesLoaded = true;
      this.resolveReady(message.rules);
    } else if (message.kind === 'start') worker.running = message.task;
    else {
      this.results.get(message.task)?.batches.push(message.batch);
      if (message.batch.done) worker.tasks.delete(message.task);
    }
    this.notify();
  }

  private onDeath(worker: PooledWorker, error: Error): void {
    if (!this.workers.delete(worker)) return; // closing, or already handled
    if (!this.rulesLoaded) {
      this.failure = error;
      this.rejectReady(error);
    } else {
      const replacement = this.spawn();
      for (const [task, file] of worker.tasks) {
        if (task === worker.running) {
          const failed = { items: [], events: 0, filtered: 0, problems: [], done: true, lost: true };
          this.results.get(task)?.batches.push({ ...failed, failed: `the hunt worker died while reading it: ${error.message}` });
        } else this.assign(replacement, task, file);
      }
    }
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

interface PooledWorker {
  thread: Worker;
  /** Files sent and not finished: task → path. */
  tasks: Map<number, string>;
  /** The task it is hunting now. */
  running: number | undefined;
}
