import { crc32 } from './crc32.js';
import { EvtxError } from './warnings.js';

export const FILE_HEADER_SIZE = 4096;
export const CHUNK_SIZE = 65536;
const FILE_SIGNATURE = 'ElfFile\0';

export interface FileHeader {
  firstChunkNumber: bigint;
  lastChunkNumber: bigint;
  nextRecordId: bigint;
  headerSize: number;
  minorVersion: number;
  majorVersion: number;
  headerBlockSize: number;
  /** Chunk count the header claims; dirty files may undercount, so readers scan the whole file. */
  chunkCount: number;
  flags: number;
  /** Set while the log is open and not cleanly closed. */
  dirty: boolean;
  /** Set when the log reached its maximum size. */
  full: boolean;
  checksum: number;
  checksumValid: boolean;
}

/** Parses the 4096-byte file header; throws EvtxError when the bytes are not an EVTX header. */
export function parseFileHeader(bytes: Buffer): FileHeader {
  if (bytes.length < 128 || bytes.toString('latin1', 0, 8) !== FILE_SIGNATURE) {
    throw new EvtxError('not an EVTX file (missing "ElfFile" signature)');
  }
  const flags = bytes.readUInt32LE(120);
  const checksum = bytes.readUInt32LE(124);
  return {
    firstChunkNumber: bytes.readBigUInt64LE(8),
    lastChunkNumber: bytes.readBigUInt64LE(16),
    nextRecordId: bytes.readBigUInt64LE(24),
    headerSize: bytes.readUInt32LE(32),
    minorVersion: bytes.readUInt16LE(36),
    majorVersion: bytes.readUInt16LE(38),
    headerBlockSize: bytes.readUInt16LE(40),
    chunkCount: bytes.readUInt16LE(42),
    flags,
    dirty: (flags & 1) !== 0,
    full: (flags & 2) !== 0,
    checksum,
    checksumValid: crc32(bytes, 0, 120) === checksum,
  };
}
