import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { Chunk, hasChunkSignature } from './chunk.js';
import { CHUNK_SIZE, FILE_HEADER_SIZE, parseFileHeader, type FileHeader } from './file-header.js';
import { EvtxRecord } from './record.js';
import { EvtxError, type EvtxWarning } from './warnings.js';

export interface ReadOptions {
  /** Called for every problem that did not stop the reading. */
  onWarning?: (warning: EvtxWarning) => void;
}

/**
 * An open EVTX file. Chunks are read one at a time, so memory stays flat whatever the file
 * size. Every chunk slot in the file is visited, not only the ones the header counts, because
 * dirty logs (not closed cleanly) often have a header that undercounts.
 *
 * Reads are synchronous behind the async interface: a hunt reads thousands of small logs, and
 * each asynchronous file operation costs a round trip through libuv's thread pool (about 0.1 ms
 * here, a quarter of a hunt's time), while a 1 MiB read from the page cache takes less. Reading
 * in parallel is done with worker threads instead.
 */
export class EvtxFile {
  private constructor(
    readonly path: string,
    private readonly fd: number,
    readonly header: FileHeader,
    readonly size: number,
    readonly headerWarnings: EvtxWarning[],
  ) {}

  /** Opens `path`; throws EvtxError when it cannot be opened or is not EVTX. */
  static async open(path: string): Promise<EvtxFile> {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      throw new EvtxError(`cannot open ${path}: ${(error as Error).message}`);
    }
    try {
      const { size } = fstatSync(fd);
      const bytes = Buffer.alloc(FILE_HEADER_SIZE);
      const bytesRead = readSync(fd, bytes, 0, FILE_HEADER_SIZE, 0);
      const header = parseFileHeader(bytes.subarray(0, bytesRead));
      return new EvtxFile(path, fd, header, size, checkHeader(header, size));
    } catch (error) {
      closeSync(fd);
      if (error instanceof EvtxError) throw new EvtxError(`${path}: ${error.message}`);
      throw new EvtxError(`cannot read ${path}: ${(error as Error).message}`);
    }
  }

  /** Number of 64 KiB chunk slots present in the file (valid or not). */
  get chunkSlots(): number {
    return chunkSlots(this.size);
  }

  /** The raw bytes of every chunk slot in file order, read a block of slots at a time. */
  async *slots(): AsyncGenerator<{ index: number; offset: number; bytes: Buffer }> {
    const count = this.chunkSlots;
    for (let first = 0; first < count; first += SLOTS_PER_READ) {
      const block = this.readBlock(first);
      for (let i = 0; i * CHUNK_SIZE < block.length; i++) {
        const index = first + i;
        yield { index, offset: FILE_HEADER_SIZE + index * CHUNK_SIZE, bytes: block.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE) };
      }
    }
  }

  private readBlock(first: number): Buffer {
    const slots = Math.min(SLOTS_PER_READ, this.chunkSlots - first);
    const buf = Buffer.allocUnsafe(slots * CHUNK_SIZE);
    const bytesRead = readSync(this.fd, buf, 0, buf.length, FILE_HEADER_SIZE + first * CHUNK_SIZE);
    return buf.subarray(0, bytesRead);
  }

  /** Every valid chunk in file order; empty and damaged slots are skipped (damaged ones with a warning). */
  async *chunks(options: ReadOptions = {}): AsyncGenerator<Chunk> {
    for (const w of this.headerWarnings) options.onWarning?.(w);
    for await (const slot of this.slots()) {
      const chunk = chunkFromBytes(slot.bytes, slot.index, slot.offset, options.onWarning);
      if (chunk) yield chunk;
    }
  }

  /** Every record in file order; renderings are computed lazily on each record. */
  async *records(options: ReadOptions = {}): AsyncGenerator<EvtxRecord> {
    for await (const chunk of this.chunks(options)) {
      const locations = chunk.locateRecords();
      flushWarnings(chunk, options.onWarning);
      for (const location of locations) yield new EvtxRecord(chunk, location);
    }
  }

  async close(): Promise<void> {
    closeSync(this.fd);
  }
}

/** Opens, iterates and closes: the simplest way to read a file record by record. */
export async function* readEvtx(path: string, options: ReadOptions = {}): AsyncGenerator<EvtxRecord> {
  const file = await EvtxFile.open(path);
  try {
    yield* file.records(options);
  } finally {
    await file.close();
  }
}

/** Chunk slots per read: 1 MiB, few enough system calls, little memory. */
const SLOTS_PER_READ = 16;

export function chunkSlots(fileSize: number): number {
  // A partial last slot counts: it is read and reported as truncated.
  return Math.max(0, Math.ceil((fileSize - FILE_HEADER_SIZE) / CHUNK_SIZE));
}

/** Builds a chunk from its bytes, or reports why the slot holds none. */
export function chunkFromBytes(buf: Buffer, index: number, offset: number, onWarning?: (w: EvtxWarning) => void): Chunk | undefined {
  if (buf.length < CHUNK_SIZE) {
    onWarning?.({ chunk: index, offset, message: `chunk truncated at ${buf.length} of ${CHUNK_SIZE} bytes; skipped` });
    return undefined;
  }
  if (!hasChunkSignature(buf)) {
    if (!isZeroed(buf)) onWarning?.({ chunk: index, offset, message: 'chunk signature missing; chunk skipped' });
    return undefined;
  }
  const chunk = new Chunk(buf, index, offset);
  flushWarnings(chunk, onWarning);
  return chunk;
}

/** Hands over the warnings a chunk has collected so far. */
export function flushWarnings(chunk: Chunk, onWarning?: (w: EvtxWarning) => void): void {
  if (onWarning) for (const w of chunk.warnings) onWarning(w);
  chunk.warnings.length = 0;
}

function isZeroed(buf: Buffer): boolean {
  for (let i = 0; i < 512; i++) if (buf[i] !== 0) return false;
  return true;
}

function checkHeader(header: FileHeader, size: number): EvtxWarning[] {
  const warnings: EvtxWarning[] = [];
  if (!header.checksumValid) warnings.push({ chunk: -1, offset: 124, message: 'file header checksum mismatch' });
  if (header.majorVersion !== 3) warnings.push({ chunk: -1, offset: 38, message: `unknown EVTX major version ${header.majorVersion}` });
  const slots = chunkSlots(size);
  if (header.chunkCount > slots) {
    warnings.push({ chunk: -1, offset: 42, message: `header counts ${header.chunkCount} chunks but the file holds ${slots}` });
  }
  return warnings;
}
