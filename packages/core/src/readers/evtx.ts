/**
 * EVTX records as events: from a file by the reader's random access, or from a stream of bytes
 * (a gzipped `.evtx`): the 4 KiB file header, then 64 KiB chunks, each read and released in turn.
 */
import {
  BinXmlError,
  CHUNK_SIZE,
  EvtxRecord,
  FILE_HEADER_SIZE,
  chunkFromBytes,
  parseFileHeader,
  readEvtx,
  type Chunk,
  type EvtxWarning,
  type FileHeader,
} from '@firebreak/evtx';
import { FirebreakEvent } from '../event.js';
import type { ReadProblem } from '../event-files.js';
import { EventFileError, errorText } from './content.js';

/** Every record of the EVTX file at `path`; damage is reported with its chunk and offset. */
export async function* evtxFileEvents(path: string, onProblem: (p: ReadProblem) => void): AsyncGenerator<FirebreakEvent> {
  const onWarning = warningReporter(path, onProblem);
  for await (const record of readEvtx(path, { onWarning })) {
    const event = recordEvent(path, record, onWarning);
    if (event) yield event;
  }
}

/** Every record of EVTX content arriving as bytes; memory holds one chunk at a time. */
export async function* evtxStreamEvents(
  path: string,
  bytes: AsyncIterable<Buffer>,
  onProblem: (p: ReadProblem) => void,
): AsyncGenerator<FirebreakEvent> {
  const onWarning = warningReporter(path, onProblem);
  let index = -1;
  for await (const block of fixedBlocks(bytes)) {
    if (index < 0) {
      const header = fileHeader(path, block);
      if (!header.checksumValid) onWarning({ chunk: -1, offset: 124, message: 'file header checksum mismatch' });
    } else {
      const chunk = chunkFromBytes(block, index, FILE_HEADER_SIZE + index * CHUNK_SIZE, onWarning);
      if (chunk) yield* chunkEvents(path, chunk, onWarning);
    }
    index++;
  }
}

function fileHeader(path: string, block: Buffer): FileHeader {
  try {
    return parseFileHeader(block);
  } catch (error) {
    throw new EventFileError(`${path}: ${(error as Error).message}`);
  }
}

function* chunkEvents(path: string, chunk: Chunk, onWarning: (w: EvtxWarning) => void): Generator<FirebreakEvent> {
  const locations = chunk.locateRecords();
  for (const w of chunk.warnings.splice(0)) onWarning(w);
  for (const location of locations) {
    const event = recordEvent(path, new EvtxRecord(chunk, location), onWarning);
    if (event) yield event;
  }
}

/**
 * The record's event, or undefined (with a warning) when it cannot be read: damaged BinXML, or
 * anything else a crafted record breaks, costs that record and not the rest of the file.
 */
function recordEvent(path: string, record: EvtxRecord, onWarning: (w: EvtxWarning) => void): FirebreakEvent | undefined {
  try {
    return new FirebreakEvent(record.fields(), { file: path, format: 'evtx', origin: `${path}#${record.id}` }, () => record.json(), {
      recordId: Number(record.id),
    });
  } catch (error) {
    const message = error instanceof BinXmlError ? error.message : `cannot read it (${errorText(error)})`;
    onWarning({ chunk: record.chunk.index, offset: record.fileOffset, message: `record ${record.id}: ${message}; skipped` });
    return undefined;
  }
}

function warningReporter(path: string, onProblem: (p: ReadProblem) => void): (w: EvtxWarning) => void {
  return (w) => onProblem({ origin: `${path} ${w.chunk < 0 ? 'file header' : `chunk ${w.chunk}`} offset ${w.offset}`, message: w.message });
}

/**
 * The file header, then every chunk slot, each in a buffer of its own (records keep a reference to
 * their chunk's bytes while their fields are read). A short last slot comes out short.
 */
async function* fixedBlocks(bytes: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let block = Buffer.allocUnsafe(FILE_HEADER_SIZE);
  let filled = 0;
  for await (const piece of bytes) {
    let at = 0;
    while (at < piece.length) {
      const n = Math.min(block.length - filled, piece.length - at);
      piece.copy(block, filled, at, at + n);
      filled += n;
      at += n;
      if (filled === block.length) {
        yield block;
        block = Buffer.allocUnsafe(CHUNK_SIZE);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield block.subarray(0, filled);
}
