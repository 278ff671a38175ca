/**
 * Renders every record of a chunk in one of the output modes. The same function runs on the
 * main thread and inside workers, so parallel and serial reading give identical output.
 */
import type { Chunk } from './chunk.js';
import { EvtxRecord } from './record.js';
import type { FlatEvent } from './render-flat.js';
import type { EvtxWarning } from './warnings.js';

export type RenderMode = 'jsonl' | 'xml' | 'flat';

/** A record in the flat view, with what the record header says about it. */
export interface FlatRecord {
  id: number;
  timestamp: string;
  fields: FlatEvent;
}

export interface ChunkResult {
  index: number;
  records: number;
  /** `jsonl`: one JSON object per line; `xml`: the XML documents one after another. */
  text?: string;
  /** The same text as UTF-8 bytes, instead of `text`, when asked for (ready to write, cheap to move between threads). */
  utf8?: Uint8Array;
  /** `flat`: the flat records in file order. */
  flat?: FlatRecord[];
  warnings: EvtxWarning[];
}

const encoder = new TextEncoder();

export function renderChunk(chunk: Chunk, mode: RenderMode, warnings: EvtxWarning[] = [], utf8 = false): ChunkResult {
  const locations = chunk.locateRecords();
  warnings.push(...chunk.warnings);
  chunk.warnings.length = 0;
  const parts: string[] = [];
  const flat: FlatRecord[] = [];
  for (const location of locations) {
    const record = new EvtxRecord(chunk, location);
    try {
      if (mode === 'flat') flat.push({ id: record.id, timestamp: record.timestamp, fields: record.flat() });
      else parts.push(boundedText(mode === 'xml' ? record.xml() : record.jsonText() + '\n'));
    } catch (error) {
      warnings.push({
        chunk: chunk.index,
        offset: record.fileOffset,
        message: `record ${record.id} skipped: ${(error as Error).message}`,
      });
    }
  }
  const result: ChunkResult = { index: chunk.index, records: mode === 'flat' ? flat.length : parts.length, warnings };
  if (mode === 'flat') result.flat = flat;
  else if (utf8) result.utf8 = encoder.encode(parts.join(''));
  else result.text = parts.join('');
  return result;
}

/**
 * A record is at most a chunk (64 KiB); templates make its text larger, but not by this much.
 * Anything bigger is damage or an attack and would exhaust memory for the whole chunk.
 */
const MAX_RECORD_TEXT = 16 * 1024 * 1024;

function boundedText(text: string): string {
  if (text.length > MAX_RECORD_TEXT) throw new Error(`rendering is ${text.length} characters, over the ${MAX_RECORD_TEXT} limit`);
  return text;
}

export function emptyChunkResult(index: number, warnings: EvtxWarning[]): ChunkResult {
  return { index, records: 0, warnings, text: '', flat: [] };
}
