/**
 * Batches of chunks, as worker threads render them: the task, its rendering, the answer for
 * chunks given up, and the message loop a worker runs.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { CHUNK_SIZE, FILE_HEADER_SIZE } from './file-header.js';
import { chunkFromBytes } from './reader.js';
import { emptyChunkResult, renderChunk, type ChunkResult, type RenderMode } from './render-chunk.js';
import type { EvtxWarning } from './warnings.js';

/** Render chunk slots `first` … `first + count - 1` of `path`. */
export interface ChunkTask {
  path: string;
  first: number;
  count: number;
  mode: RenderMode;
  utf8: boolean;
}

function renderSlot(fd: number, index: number, mode: RenderMode, utf8: boolean): ChunkResult {
  try {
    const buf = Buffer.allocUnsafe(CHUNK_SIZE);
    const bytesRead = readSync(fd, buf, 0, CHUNK_SIZE, FILE_HEADER_SIZE + index * CHUNK_SIZE);
    return renderSlotBytes(buf.subarray(0, bytesRead), index, mode, utf8);
  } catch (error) {
    return skippedChunks({ first: index, count: 1 }, (error as Error).message)[0];
  }
}

/** The rendering of chunk slot `index` from its bytes; an empty or damaged slot yields no records. */
export function renderSlotBytes(bytes: Buffer, index: number, mode: RenderMode, utf8 = false): ChunkResult {
  const warnings: EvtxWarning[] = [];
  const chunk = chunkFromBytes(bytes, index, FILE_HEADER_SIZE + index * CHUNK_SIZE, (w) => warnings.push(w));
  return chunk ? renderChunk(chunk, mode, warnings, utf8) : emptyChunkResult(index, warnings);
}

/** The file is opened per batch: a worker outlives the read, and the file may change or go. */
export function renderBatch(task: ChunkTask): ChunkResult[] {
  const results: ChunkResult[] = [];
  let fd: number;
  try {
    fd = openSync(task.path, 'r');
  } catch (error) {
    return skippedChunks(task, (error as Error).message);
  }
  try {
    for (let index = task.first; index < task.first + task.count; index++) results.push(renderSlot(fd, index, task.mode, task.utf8));
  } finally {
    closeSync(fd);
  }
  return results;
}

/** Every chunk of `task`, skipped with `reason`. */
export function skippedChunks(task: Pick<ChunkTask, 'first' | 'count'>, reason: string): ChunkResult[] {
  return Array.from({ length: task.count }, (_, k) => {
    const index = task.first + k;
    return emptyChunkResult(index, [{ chunk: index, offset: FILE_HEADER_SIZE + index * CHUNK_SIZE, message: `chunk skipped: ${reason}` }]);
  });
}

/** Inside a worker thread: answers each task with `render`'s results. */
export function serveBatches(render: (task: ChunkTask) => ChunkResult[]): void {
  parentPort?.on('message', (task: ChunkTask) => {
    const results = render(task);
    // UTF-8 output moves to the main thread without a copy.
    const transfer = results.flatMap((r) => (r.utf8 ? [r.utf8.buffer as ArrayBuffer] : []));
    parentPort?.postMessage(results, transfer);
  });
}
