/** File-level reading of synthetic logs: chunk slots, damaged headers and records, foreign and truncated files. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CHUNK_SIZE, EvtxError, EvtxFile, FILE_HEADER_SIZE, crc32, readEvtx, type ChunkHeader, type EvtxWarning } from '../src/index.js';
import {
  ChunkBuilder,
  Type,
  defineTemplate,
  el,
  evtxFile,
  filetimeTicks,
  fragment,
  instance,
  sealChunk,
  sub,
  uint64,
} from './support/builder.js';

const work = mkdtempSync(join(tmpdir(), 'evtx-file-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

let files = 0;
function writeTemp(bytes: Buffer): string {
  const path = join(work, `log-${++files}.evtx`);
  writeFileSync(path, bytes);
  return path;
}

const RECORD_TEMPLATE = defineTemplate(
  '12345678-9ABC-DEF0-1234-56789ABCDEF0',
  el('Event', {}, el('System', {}, el('EventRecordID', {}, sub(0, Type.UInt64)))),
);

/** A chunk of records with these ids; returns the bytes and each record's chunk-relative offset. */
function chunkOf(...ids: number[]): { bytes: Buffer; offsets: number[] } {
  const chunk = new ChunkBuilder();
  const offsets = ids.map((id) => chunk.addRecord(id, fragment(instance(RECORD_TEMPLATE, [uint64(BigInt(id))]))));
  return { bytes: chunk.bytes(), offsets };
}

/** Record ids in file order (each checked against the id its BinXML carries) and every warning. */
async function readAll(path: string): Promise<{ ids: number[]; warnings: EvtxWarning[] }> {
  const ids: number[] = [];
  const warnings: EvtxWarning[] = [];
  for await (const record of readEvtx(path, { onWarning: (w) => warnings.push(w) })) {
    assert.equal(record.flat().EventRecordID, record.id);
    ids.push(record.id);
  }
  return { ids, warnings };
}

function chunkOffset(index: number): number {
  return FILE_HEADER_SIZE + index * CHUNK_SIZE;
}

test('record ids and write times come from the record headers', async () => {
  const chunk = new ChunkBuilder();
  chunk.addRecord(7, fragment(instance(RECORD_TEMPLATE, [uint64(7n)])));
  chunk.addRecord(8, fragment(instance(RECORD_TEMPLATE, [uint64(8n)])), filetimeTicks('2023-12-31T23:59:59.999Z', 9999n));
  const records: { id: number; timestamp: string }[] = [];
  for await (const record of readEvtx(writeTemp(evtxFile([chunk.bytes()])))) records.push({ id: record.id, timestamp: record.timestamp });
  assert.deepEqual(records, [
    { id: 7, timestamp: '2024-05-06T07:08:09.123456Z' },
    { id: 8, timestamp: '2023-12-31T23:59:59.999999Z' },
  ]);
});

test('chunk headers give the record numbers and ids, the last record offset and the free space offset', async () => {
  const { bytes, offsets } = chunkOf(5, 6, 7);
  const file = await EvtxFile.open(writeTemp(evtxFile([bytes])));
  try {
    const headers: ChunkHeader[] = [];
    for await (const chunk of file.chunks()) headers.push(chunk.header);
    assert.equal(headers.length, 1);
    const lastSize = bytes.readUInt32LE(offsets[2] + 4);
    assert.deepEqual(headers[0], {
      firstRecordNumber: 5,
      lastRecordNumber: 7,
      firstRecordId: 5,
      lastRecordId: 7,
      headerSize: 128,
      lastRecordOffset: offsets[2],
      freeSpaceOffset: offsets[2] + lastSize,
      recordsChecksum: crc32(bytes, 512, offsets[2] + lastSize),
      flags: 0,
      checksum: crc32(bytes, 128, 512, crc32(bytes, 0, 120)),
    });
    assert.equal(file.header.nextRecordId, 8n);
  } finally {
    await file.close();
  }
});

test('a dirty file whose header undercounts its chunks: every chunk is read', async () => {
  const path = writeTemp(evtxFile([chunkOf(1, 2).bytes, chunkOf(3, 4).bytes, chunkOf(5).bytes], { chunkCount: 1, flags: 1 }));
  const file = await EvtxFile.open(path);
  try {
    assert.equal(file.header.dirty, true);
    assert.equal(file.header.chunkCount, 1);
    assert.equal(file.header.checksumValid, true);
  } finally {
    await file.close();
  }
  assert.deepEqual(await readAll(path), { ids: [1, 2, 3, 4, 5], warnings: [] });
});

test('a chunk with a bad header checksum is reported by index and offset; its records are still read', async () => {
  const damaged = chunkOf(3, 4).bytes;
  damaged[100] ^= 0xff; // a reserved header byte: only the checksum notices
  const stored = damaged.readUInt32LE(124);
  const computed = crc32(damaged, 128, 512, crc32(damaged, 0, 120));
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  const path = writeTemp(evtxFile([chunkOf(1, 2).bytes, damaged]));
  assert.deepEqual(await readAll(path), {
    ids: [1, 2, 3, 4],
    warnings: [
      {
        chunk: 1,
        offset: chunkOffset(1) + 124,
        message: `chunk header checksum mismatch (stored 0x${hex(stored)}, computed 0x${hex(computed)})`,
      },
    ],
  });
});

test('a damaged record in the middle of a chunk is reported and skipped; the records after it are read', async () => {
  const { bytes, offsets } = chunkOf(1, 2, 3);
  const size = bytes.readUInt32LE(offsets[1] + 4);
  bytes.writeUInt32LE(size + 8, offsets[1] + size - 4); // the closing size copy no longer matches
  const path = writeTemp(evtxFile([sealChunk(bytes)]));
  assert.deepEqual(await readAll(path), {
    ids: [1, 3],
    warnings: [{ chunk: 0, offset: chunkOffset(0) + offsets[1], message: `damaged record skipped (${offsets[2] - offsets[1]} bytes)` }],
  });
});

test('changed record bytes fail the records checksum; the record is still read', async () => {
  const { bytes, offsets } = chunkOf(1, 2);
  bytes[offsets[1] + 16] ^= 0x01; // the record header's write time
  const path = writeTemp(evtxFile([bytes]));
  const { ids, warnings } = await readAll(path);
  assert.deepEqual(ids, [1, 2]);
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0].chunk, 0);
  assert.equal(warnings[0].offset, chunkOffset(0) + 52);
  assert.match(warnings[0].message, /^event records checksum mismatch/);
});

test('a file that is not EVTX is refused with EvtxError', async () => {
  const path = writeTemp(Buffer.from('MZ' + 'not an event log '.repeat(300)));
  const isNotEvtx = (error: unknown) =>
    error instanceof EvtxError && error.message === `${path}: not an EVTX file (missing "ElfFile" signature)`;
  await assert.rejects(EvtxFile.open(path), isNotEvtx);
  await assert.rejects(readAll(path), isNotEvtx);
});

test('zeroed preallocated chunk slots are skipped without a warning', async () => {
  const zeroed = Buffer.alloc(CHUNK_SIZE);
  const path = writeTemp(evtxFile([chunkOf(1, 2).bytes, zeroed, zeroed], { chunkCount: 1 }));
  assert.deepEqual(await readAll(path), { ids: [1, 2], warnings: [] });
});

test('a truncated last chunk is reported; the chunks before it are read', async () => {
  const truncated = chunkOf(3, 4).bytes.subarray(0, 1000);
  const path = writeTemp(evtxFile([chunkOf(1, 2).bytes, truncated]));
  assert.deepEqual(await readAll(path), {
    ids: [1, 2],
    warnings: [{ chunk: 1, offset: chunkOffset(1), message: `chunk truncated at 1000 of ${CHUNK_SIZE} bytes; skipped` }],
  });
});

test('a truncated last chunk the dirty header does not count is reported too', async () => {
  const truncated = chunkOf(3, 4).bytes.subarray(0, 1000);
  const path = writeTemp(evtxFile([chunkOf(1, 2).bytes, truncated], { chunkCount: 1 }));
  assert.deepEqual(await readAll(path), {
    ids: [1, 2],
    warnings: [{ chunk: 1, offset: chunkOffset(1), message: `chunk truncated at 1000 of ${CHUNK_SIZE} bytes; skipped` }],
  });
});
