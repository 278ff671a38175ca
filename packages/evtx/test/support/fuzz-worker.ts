/**
 * Worker thread of the fuzz test: reads one (possibly damaged) EVTX file every way the reader
 * offers and reports what came out. It runs in its own thread so the test can kill it when an
 * input makes the reader loop forever or allocate without bound.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import {
  BinXmlError,
  EvtxError,
  EvtxFile,
  readChunks,
  serializeJson,
  type EvtxRecord,
  type JsonValue,
  type RenderMode,
} from '../../src/index.js';

const RENDER_MODES: readonly RenderMode[] = ['jsonl', 'xml', 'flat'];

/** What one chunk produced, as digests so that large files cross the thread boundary cheaply. */
export interface ChunkOutput {
  /** Per record from `EvtxFile.records()`: `<id> <sha1 of jsonText>`, or `<id> damaged` for a BinXmlError. */
  records: string[];
  /** sha1 of the `renderChunk` output in each mode, as `readChunks` delivers it. */
  rendered: Partial<Record<RenderMode, string>>;
}

export type ReadOutcome =
  /** `EvtxFile.open` refused the file (allowed only when the file header is destroyed). */
  | { kind: 'not-evtx'; message: string }
  /** An exception escaped the reader. */
  | { kind: 'threw'; phase: string; stack: string }
  | {
      kind: 'read';
      chunks: Record<number, ChunkOutput>;
      /** Record renderings that failed with something other than BinXmlError (a reader bug that `renderChunk` would hide). */
      wrongErrors: string[];
      /** Largest growth of heap plus array buffers seen while reading, in MiB. */
      peakGrowthMb: number;
    };

/** Sent once the worker listens, so that its start-up time is not charged to the first input. */
export const READY = 'ready';

/** Tracks the peak memory growth of this thread while one input is read. */
class MemoryWatch {
  private readonly base = MemoryWatch.used();
  peakMb = 0;

  private static used(): number {
    const { heapUsed, arrayBuffers } = process.memoryUsage();
    return heapUsed + arrayBuffers;
  }

  sample(): void {
    this.peakMb = Math.max(this.peakMb, (MemoryWatch.used() - this.base) / 2 ** 20);
  }
}

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

function stackOf(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

class Collector {
  readonly chunks: Record<number, ChunkOutput> = {};
  readonly wrongErrors: string[] = [];
  readonly memory = new MemoryWatch();

  chunk(index: number): ChunkOutput {
    return (this.chunks[index] ??= { records: [], rendered: {} });
  }

  /** Renders one record all three ways; BinXmlError is the only acceptable failure. */
  record(record: EvtxRecord): void {
    const json = this.attempt(record, 'jsonText', () => record.jsonText());
    this.attempt(record, 'xml', () => record.xml());
    this.attempt(record, 'flat', () => record.flat());
    this.chunk(record.chunk.index).records.push(`${record.id} ${json === undefined ? 'damaged' : sha1(json)}`);
    this.memory.sample();
  }

  private attempt<T>(record: EvtxRecord, rendering: string, render: () => T): T | undefined {
    try {
      return render();
    } catch (error) {
      if (!(error instanceof BinXmlError)) this.wrongErrors.push(`record ${record.id} ${rendering}(): ${stackOf(error)}`);
      return undefined;
    }
  }
}

async function renderChunks(path: string, mode: RenderMode, collector: Collector): Promise<void> {
  for await (const result of readChunks(path, { mode, threads: 1 })) {
    if (result.index < 0) continue; // file header warnings
    const text = mode === 'flat' ? serializeJson(result.flat as unknown as JsonValue) : (result.text ?? '');
    collector.chunk(result.index).rendered[mode] = sha1(text);
    collector.memory.sample();
  }
}

async function readEverything(path: string): Promise<ReadOutcome> {
  let file: EvtxFile;
  try {
    file = await EvtxFile.open(path);
  } catch (error) {
    if (error instanceof EvtxError) return { kind: 'not-evtx', message: error.message };
    return { kind: 'threw', phase: 'EvtxFile.open', stack: stackOf(error) };
  }
  const collector = new Collector();
  let phase = '';
  try {
    // Whole chunks first: their rendered text accumulates, so a memory bomb shows as one before it can time out.
    for (const mode of RENDER_MODES) {
      phase = `readChunks(mode '${mode}')`;
      await renderChunks(path, mode, collector);
    }
    phase = 'EvtxFile.records()';
    for await (const record of file.records()) collector.record(record);
  } catch (error) {
    return { kind: 'threw', phase, stack: stackOf(error) };
  } finally {
    await file.close();
  }
  return { kind: 'read', chunks: collector.chunks, wrongErrors: collector.wrongErrors, peakGrowthMb: collector.memory.peakMb };
}

parentPort?.on('message', (path: string) => {
  void readEverything(path).then((outcome) => parentPort?.postMessage(outcome));
});
parentPort?.postMessage(READY);
