/**
 * Parallel reading: chunks are independent (each has its own string and template tables),
 * so worker threads render them while the main thread puts the results back in file order.
 * Chunks travel in batches (fewer messages); at most `3 × threads` batches are in flight,
 * which bounds memory whatever the file size. The workers are kept between files: starting
 * a thread costs tens of milliseconds, more than reading a small log.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { EvtxFile } from './reader.js';
import { emptyChunkResult, type ChunkResult, type RenderMode } from './render-chunk.js';
import { renderSlotBytes, skippedChunks, type ChunkTask } from './render-batch.js';

export interface ParallelOptions {
  /** Worker threads; 1 renders on the calling thread. Default: all cores. */
  threads?: number;
  mode: RenderMode;
  /** Text modes: deliver `utf8` bytes instead of `text` (what a writer to a file or pipe wants). */
  utf8?: boolean;
}

/** Chunks per message to a worker. */
const BATCH = 2;

export function defaultThreads(): number {
  return availableParallelism();
}

/** Every chunk of `path`, rendered in `mode`, in file order. Throws EvtxError for a non-EVTX file. */
export async function* readChunks(path: string, options: ParallelOptions): AsyncGenerator<ChunkResult> {
  const file = await EvtxFile.open(path);
  const slots = file.chunkSlots;
  // A file of a batch or less gains nothing from a round trip to a worker.
  const threads = slots <= BATCH ? 1 : Math.max(1, options.threads ?? defaultThreads());
  let open = true;
  try {
    if (file.headerWarnings.length > 0) yield emptyChunkResult(-1, file.headerWarnings);
    if (threads > 1) {
      await file.close();
      open = false;
      yield* inWorkers(path, slots, threads, options.mode, options.utf8 ?? false);
      return;
    }
    for await (const slot of file.slots()) yield renderSlotBytes(slot.bytes, slot.index, options.mode, options.utf8);
  } finally {
    if (open) await file.close();
  }
}

async function* inWorkers(path: string, slots: number, threads: number, mode: RenderMode, utf8: boolean): AsyncGenerator<ChunkResult> {
  const pool = sharedPool(threads);
  const window = threads * 3;
  const pending: Promise<ChunkResult[]>[] = [];
  let next = 0;
  const dispatch = (): void => {
    while (next < slots && pending.length < window) {
      const count = Math.min(BATCH, slots - next);
      pending.push(pool.run({ path, first: next, count, mode, utf8 }));
      next += count;
    }
  };
  dispatch();
  while (pending.length > 0) {
    const batch = await pending.shift()!;
    dispatch();
    yield* batch;
  }
}

const pools = new Map<number, WorkerPool>();

function sharedPool(threads: number): WorkerPool {
  let pool = pools.get(threads);
  if (pool === undefined) pools.set(threads, (pool = new WorkerPool(threads)));
  return pool;
}

/**
 * A fixed set of workers, each serving its tasks in the order given. Idle workers do not keep
 * the process alive (they are unref'd whenever their queue is empty); a worker that dies answers its tasks with warnings and is replaced.
 */
export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly queues: Pending[][] = [];
  private turn = 0;

  /** `script`: the worker module (tests give one that fails on purpose). */
  constructor(
    size: number,
    private readonly script = new URL('./worker.js', import.meta.url),
  ) {
    for (let i = 0; i < size; i++) this.start(i);
  }

  private start(i: number): void {
    // A small young generation keeps each worker's memory flat; rendering allocates short-lived objects.
    // Workers print nothing; not piping their stdio into ours saves a listener per worker on it.
    const worker = new Worker(this.script, {
      resourceLimits: { maxYoungGenerationSizeMb: 8 },
      stdout: true,
      stderr: true,
    });
    const queue: Pending[] = [];
    worker.on('message', (results: ChunkResult[]) => {
      queue.shift()?.resolve(results);
      if (queue.length === 0) worker.unref();
    });
    const fail = (reason: string): void => {
      if (this.workers[i] !== worker) return;
      const [running, ...waiting] = queue.splice(0);
      this.start(i);
      // The batch in progress is retried chunk by chunk, so only a chunk that kills a worker
      // is given up; batches that were only waiting go to the workers again as they are.
      if (running !== undefined) {
        const { task, resolve } = running;
        if (task.count === 1) resolve(skippedChunks(task, reason));
        else void Promise.all(singleChunks(task).map((t) => this.run(t))).then((parts) => resolve(parts.flat()));
      }
      for (const { task, resolve } of waiting) void this.run(task).then(resolve);
    };
    worker.on('error', (error) => fail(error.message));
    worker.on('exit', (code) => fail(`worker exited with code ${code}`));
    // After the listeners: adding a message listener refs the worker again.
    worker.unref();
    this.workers[i] = worker;
    this.queues[i] = queue;
  }

  run(task: ChunkTask): Promise<ChunkResult[]> {
    const i = this.turn++ % this.workers.length;
    return new Promise((resolve) => {
      if (this.queues[i].length === 0) this.workers[i].ref();
      this.queues[i].push({ task, resolve });
      this.workers[i].postMessage(task);
    });
  }
}

interface Pending {
  task: ChunkTask;
  resolve: (results: ChunkResult[]) => void;
}

function singleChunks(task: ChunkTask): ChunkTask[] {
  return Array.from({ length: task.count }, (_, k) => ({ ...task, first: task.first + k, count: 1 }));
}
