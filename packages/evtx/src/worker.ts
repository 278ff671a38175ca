/** Worker thread: reads and renders the chunks the main thread asks for. */
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { CHUNK_SIZE, FILE_HEADER_SIZE } from './file-header.js';
import { chunkFromBytes } from './reader.js';
import { emptyChunkResult, renderChunk, type ChunkResult, type RenderMode } from './render-chunk.js';
import type { EvtxWarning } from './warnings.js';

export interface ChunkTask {
  path: string;
  index: number;
  mode: RenderMode;
}

let open: { path: string; fd: number } | undefined;

function fileDescriptor(path: string): number {
  if (open?.path !== path) {
    if (open) closeSync(open.fd);
    open = { path, fd: openSync(path, 'r') };
  }
  return open.fd;
}

export function runTask(task: ChunkTask): ChunkResult {
  const warnings: EvtxWarning[] = [];
  const offset = FILE_HEADER_SIZE + task.index * CHUNK_SIZE;
  const buf = Buffer.allocUnsafe(CHUNK_SIZE);
  const bytesRead = readSync(fileDescriptor(task.path), buf, 0, CHUNK_SIZE, offset);
  const chunk = chunkFromBytes(buf.subarray(0, bytesRead), task.index, offset, (w) => warnings.push(w));
  return chunk ? renderChunk(chunk, task.mode, warnings) : emptyChunkResult(task.index, warnings);
}

parentPort?.on('message', (task: ChunkTask | null) => {
  if (task === null) {
    if (open) closeSync(open.fd);
    parentPort?.close();
    return;
  }
  let result: ChunkResult;
  try {
    result = runTask(task);
  } catch (error) {
    result = emptyChunkResult(task.index, [
      { chunk: task.index, offset: FILE_HEADER_SIZE + task.index * CHUNK_SIZE, message: `chunk skipped: ${(error as Error).message}` },
    ]);
  }
  parentPort?.postMessage(result);
});
