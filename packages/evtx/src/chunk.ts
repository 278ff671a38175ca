import type { ChunkContext, Template } from './binxml.js';
import { crc32 } from './crc32.js';
import { CHUNK_SIZE } from './file-header.js';
import type { EvtxWarning } from './warnings.js';

const CHUNK_SIGNATURE = 'ElfChnk\0';
const RECORD_SIGNATURE = 0x00002a2a;
const RECORD_HEADER_SIZE = 24;
/** Chunk header (128) + common string offsets (64 × 4) + template pointers (32 × 4). */
export const RECORDS_START = 512;

export interface ChunkHeader {
  firstRecordNumber: number;
  lastRecordNumber: number;
  firstRecordId: number;
  lastRecordId: number;
  headerSize: number;
  lastRecordOffset: number;
  freeSpaceOffset: number;
  recordsChecksum: number;
  flags: number;
  checksum: number;
}

/** Where one record lies in its chunk, and what can be known without decoding BinXML. */
export interface RecordLocation {
  /** Chunk-relative offset of the record header. */
  offset: number;
  size: number;
  id: number;
  /** FILETIME of the record header (100 ns ticks since 1601), low and high 32 bits. */
  filetimeLo: number;
  filetimeHi: number;
}

function u64(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset) + buf.readUInt32LE(offset + 4) * 0x1_0000_0000;
}

/** True when `buf` starts with a chunk signature (false for the zeroed slots of preallocated logs). */
export function hasChunkSignature(buf: Buffer): boolean {
  return buf.length >= RECORDS_START && buf.toString('latin1', 0, 8) === CHUNK_SIGNATURE;
}

/** One 64 KiB chunk: its own string and template tables make it readable on its own. */
export class Chunk implements ChunkContext {
  readonly names = new Map<number, string>();
  readonly templates = new Map<number, Template>();
  readonly header: ChunkHeader;
  readonly warnings: EvtxWarning[] = [];

  constructor(
    readonly buf: Buffer,
    readonly index: number,
    /** Absolute offset of the chunk in its file. */
    readonly fileOffset: number,
  ) {
    this.header = {
      firstRecordNumber: u64(buf, 8),
      lastRecordNumber: u64(buf, 16),
      firstRecordId: u64(buf, 24),
      lastRecordId: u64(buf, 32),
      headerSize: buf.readUInt32LE(40),
      lastRecordOffset: buf.readUInt32LE(44),
      freeSpaceOffset: buf.readUInt32LE(48),
      recordsChecksum: buf.readUInt32LE(52),
      flags: buf.readUInt32LE(120),
      checksum: buf.readUInt32LE(124),
    };
    this.verifyChecksums();
  }

  warn(offset: number, message: string): void {
    this.warnings.push({ chunk: this.index, offset: this.fileOffset + offset, message });
  }

  private verifyChecksums(): void {
    const { buf, header } = this;
    const headerCrc = crc32(buf, 128, RECORDS_START, crc32(buf, 0, 120));
    if (headerCrc !== header.checksum) {
      this.warn(124, `chunk header checksum mismatch (stored 0x${hex32(header.checksum)}, computed 0x${hex32(headerCrc)})`);
    }
    if (this.recordsEnd() === header.freeSpaceOffset) {
      const recordsCrc = crc32(buf, RECORDS_START, header.freeSpaceOffset);
      if (recordsCrc !== header.recordsChecksum) {
        this.warn(52, `event records checksum mismatch (stored 0x${hex32(header.recordsChecksum)}, computed 0x${hex32(recordsCrc)})`);
      }
    }
  }

  /** End of record data: the header's free-space offset when sane, else the whole chunk. */
  private recordsEnd(): number {
    const free = this.header.freeSpaceOffset;
    return free >= RECORDS_START && free <= this.buf.length ? free : this.buf.length;
  }

  /**
   * Locates every record. A damaged record is reported and skipped by scanning for the next
   * record signature, so one bad record never costs the records after it.
   */
  locateRecords(): RecordLocation[] {
    const { buf } = this;
    const end = this.recordsEnd();
    const found: RecordLocation[] = [];
    let pos = RECORDS_START;
    while (pos + RECORD_HEADER_SIZE + 4 <= end) {
      const size = validRecordSize(buf, pos, end);
      if (size > 0) {
        found.push({
          offset: pos,
          size,
          id: u64(buf, pos + 8),
          filetimeLo: buf.readUInt32LE(pos + 16),
          filetimeHi: buf.readUInt32LE(pos + 20),
        });
        pos += size;
        continue;
      }
      if (buf.readUInt32LE(pos) !== RECORD_SIGNATURE && isZero(buf, pos, end)) break;
      const next = nextRecord(buf, pos + 1, end);
      this.warn(pos, `damaged record skipped (${(next < 0 ? end : next) - pos} bytes)`);
      if (next < 0) break;
      pos = next;
    }
    return found;
  }
}

/** The record size at `pos` when signature, size and trailing size copy agree; else 0. */
function validRecordSize(buf: Buffer, pos: number, end: number): number {
  if (buf.readUInt32LE(pos) !== RECORD_SIGNATURE) return 0;
  const size = buf.readUInt32LE(pos + 4);
  if (size < RECORD_HEADER_SIZE + 4 || size > end - pos) return 0;
  return buf.readUInt32LE(pos + size - 4) === size ? size : 0;
}

function nextRecord(buf: Buffer, from: number, end: number): number {
  for (let pos = buf.indexOf('**\0\0', from, 'latin1'); pos >= 0 && pos + 28 <= end; pos = buf.indexOf('**\0\0', pos + 1, 'latin1')) {
    if (validRecordSize(buf, pos, end) > 0) return pos;
  }
  return -1;
}

function isZero(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}

export { CHUNK_SIZE };
