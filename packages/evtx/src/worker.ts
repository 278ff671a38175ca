/** Worker thread: reads and renders the chunks the main thread asks for. */
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
  const warnings: EvtxWarning[] = [];
  const offset = FILE_HEADER_SIZE + index * CHUNK_SIZE;
  try {
    const buf = Buffer.allocUnsafe(CHUNK_SIZE);
    const bytesRead = readSync(fd, buf, 0, CHUNK_SIZE, offset);
    const chunk = chunkFromBytes(buf.subarray(0, bytesRead), index, offset, (w) => warnings.push(w));
    return chunk ? renderChunk(chunk, mode, warnings, utf8) : emptyChunkResult(index, warnings);
  } catch (error) {
    warnings.push({ chunk: index, offset, message: `chunk skipped: ${(error as Error).message}` });
    return emptyChunkResult(index, warnings);
  }
}

/** The file is opened per batch: a worker outlives the read, and the file may change or go. */
function renderBatch(task: ChunkTask): ChunkResult[] {
  const results: ChunkResult[] = [];
  let fd: number;
  try {
    fd = openSync(task.path, 'r');
  } catch (error) {
    for (let index = task.first; index < task.first + task.count; index++) {
      const offset = FILE_HEADER_SIZE + index * CHUNK_SIZE;
      results.push(emptyChunkResult(index, [{ chunk: index, offset, message: `chunk skipped: ${(error as Error).message}` }]));
    }
    return results;
  }
  try {
    for (let index = task.first; index < task.first + task.count; index++) results.push(renderSlot(fd, index, task.mode, task.utf8));
  } finally {
    closeSync(fd);
  }
  return results;
}

parentPort?.on('message', (task: ChunkTask) => {
  const results = renderBatch(task);
  // UTF-8 output moves to the main thread without a copy.
  const transfer = results.flatMap((r) => (r.utf8 ? [r.utf8.buffer as ArrayBuffer] : []));
  parentPort?.postMessage(results, transfer);
});
