/** CRC-32 (IEEE 802.3), as EVTX headers use; zlib's native implementation. */
import { crc32 as zlibCrc32 } from 'node:zlib';

/** CRC-32 of `bytes[start, end)`, continuing from `seed` (the CRC of preceding bytes). */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length, seed = 0): number {
  return zlibCrc32(bytes.subarray(start, end), seed);
}
