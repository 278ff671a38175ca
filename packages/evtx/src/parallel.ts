/**
 * Parallel reading: chunks are independent (each has its own string and template tables),
 * so worker threads render them while the main thread puts the results back in file order.
 * At most `2 × threads` chunks are in flight, which bounds memory whatever the file size.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CHUNK_SIZE, FILE_HEADER_SIZE } from './file-header.js';
import { EvtxFile, chunkFromBytes } from './reader.js';
import { emptyChunkResult, renderChunk, type ChunkResult, type RenderMode } from './render-chunk.js';
import type { ChunkTask } from './worker.js';
import type { EvtxWarning } from './warnings.js';

export interface ParallelOptions {
  /** Worker threads; 1 renders on the calling thread. Default: all cores. */
  threads?: number;
  mode: RenderMode;
}

export function defaultThreads(): number {
  return availableParallelism();
}

/** Every chunk of `path`, rendered in `mode`, in file order. Throws EvtxError for a non-EVTX file. */
export async function* readChunks(path: string, options: ParallelOptions): AsyncGenerator<ChunkResult> {
  const file = await EvtxFile.open(path);
  const slots = file.chunkSlots;
  const threads = Math.max(1, Math.min(options.threads ?? defaultThreads(), slots));
  let open = true;
  try {
    if (file.headerWarnings.length > 0) yield emptyChunkResult(-1, file.headerWarnings);
    if (threads > 1) {
      await file.close();
      open = false;
      yield* inWorkers(path, slots, threads, options.mode);
      return;
    }
    for await (const slot of file.slots()) {
      const warnings: EvtxWarning[] = [];
      const chunk = chunkFromBytes(slot.bytes, slot.index, slot.offset, (w) => warnings.push(w));
      yield chunk ? renderChunk(chunk, options.mode, warnings) : emptyChunkResult(slot.index, warnings);
    }
  } finally {
    if (open) await file.close();
  }
}

async function* inWorkers(path: string, slots: number, threads: number, mode: RenderMode): AsyncGenerator<ChunkResult> {
  const pool = new WorkerPool(threads);
  try {
    const window = threads * 2;
    const pending = new Map<number, Promise<ChunkResult>>();
    let next = 0;
    for (let yielded = 0; yielded < slots; yielded++) {
      while (next < slots && next - yielded < window) {
        pending.set(next, pool.run({ path, index: next, mode }));
        next++;
      }
      const result = await pending.get(yielded)!;
      pending.delete(yielded);
      yield result;
    }
  } finally {
    await pool.close();
  }
}

/** A fixed set of workers, each serving its tasks in the order given. */
class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly queues: Pending[][] = [];
  /** Why a worker stopped, once it has: its tasks are then answered with a warning at once. */
  private readonly failures: (string | undefined)[] = [];
  private turn = 0;

  constructor(size: number) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL('./worker.js', import.meta.url));
      const queue: Pending[] = [];
      worker.on('message', (result: ChunkResult) => queue.shift()?.resolve(result));
      const fail = (reason: string): void => {
        this.failures[i] ??= reason;
        for (const pending of queue.splice(0)) pending.resolve(failedChunk(pending.index, reason));
      };
      worker.on('error', (error) => fail(error.message));
      worker.on('exit', (code) => fail(`worker exited with code ${code}`));
      this.workers.push(worker);
      this.queues.push(queue);
    }
  }

  run(task: ChunkTask): Promise<ChunkResult> {
    const i = this.turn++ % this.workers.length;
    const failure = this.failures[i];
    if (failure !== undefined) return Promise.resolve(failedChunk(task.index, failure));
    return new Promise((resolve) => {
      this.queues[i].push({ index: task.index, resolve });
      this.workers[i].postMessage(task);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

interface Pending {
  index: number;
  resolve: (result: ChunkResult) => void;
}

function failedChunk(index: number, reason: string): ChunkResult {
  return emptyChunkResult(index, [{ chunk: index, offset: FILE_HEADER_SIZE + index * CHUNK_SIZE, message: `chunk skipped: ${reason}` }]);
}
