/**
 * Seeded mutations of EVTX files for the fuzz test. Each mutation works on an in-memory copy,
 * knows which bytes it touched (so the test can tell which chunks must still read identically)
 * and describes itself precisely enough to be understood from a failure report.
 */
import { CHUNK_SIZE, FILE_HEADER_SIZE, chunkFromBytes, crc32 } from '../../src/index.js';
import { seededRandom } from '@firebreak/testkit';

export type Rng = () => number;
/** Seeded, so a failing mutation can be replayed. */
export const mulberry32: (seed: number) => Rng = seededRandom;

/** Every iteration has its own stream, so a different iteration count never changes earlier cases. */
export function iterationRng(seed: number, iteration: number): Rng {
  return mulberry32((seed ^ Math.imul(iteration + 1, 0x9e3779b9)) >>> 0);
}

export function below(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[below(rng, items.length)];
}

/** Absolute byte range [start, end). */
export type Range = [number, number];

export interface Mutation {
  description: string;
  bytes: Buffer;
  touched: Range[];
}

// ---------------------------------------------------------------------------------------------
// Layout: where the structures worth corrupting are in the unmutated file.

/** Fields of a record's top-level template instance, as absolute offsets. */
interface InstanceFields {
  definitionOffset: number;
  /** Present when the template definition is stored inline (first use in the chunk). */
  definitionDataSize?: number;
  /** Name offset of the template's first element, when the definition is inline. */
  firstNameOffset?: number;
  valueCount: number;
  /** One 4-byte descriptor (u16 size, u8 type, u8 padding) per value. */
  valueDescriptors: number[];
}

interface RecordLayout {
  offset: number;
  size: number;
  instance?: InstanceFields;
}

interface ChunkLayout {
  index: number;
  offset: number;
  records: RecordLayout[];
}

export interface FileLayout {
  bytes: Buffer;
  /** Chunks holding at least one record. */
  chunks: ChunkLayout[];
}

export function layoutOf(bytes: Buffer): FileLayout {
  const chunks: ChunkLayout[] = [];
  for (let offset = FILE_HEADER_SIZE, index = 0; offset + CHUNK_SIZE <= bytes.length; offset += CHUNK_SIZE, index++) {
    const chunk = chunkFromBytes(bytes.subarray(offset, offset + CHUNK_SIZE), index, offset);
    const records = chunk?.locateRecords().map((r) => recordLayout(chunk.buf, offset, r.offset, r.size)) ?? [];
    if (records.length > 0) chunks.push({ index, offset, records });
  }
  return { bytes, chunks };
}

const FRAGMENT_HEADER = 0x0f;
const TEMPLATE_INSTANCE = 0x0c;

/** Finds the template instance every real record starts with: fragment header, then token 0x0c. */
function recordLayout(chunk: Buffer, chunkOffset: number, offset: number, size: number): RecordLayout {
  const record: RecordLayout = { offset: chunkOffset + offset, size };
  const body = offset + 24;
  if (chunk[body] !== FRAGMENT_HEADER || chunk[body + 4] !== TEMPLATE_INSTANCE) return record;
  const definitionOffset = body + 10;
  let next = body + 14;
  const instance: Partial<InstanceFields> = { definitionOffset: chunkOffset + definitionOffset };
  if (chunk.readUInt32LE(definitionOffset) === next) {
    instance.definitionDataSize = chunkOffset + next + 20;
    const data = next + 24;
    if ((chunk[data + 4] & 0x0f) === 0x01) instance.firstNameOffset = chunkOffset + data + 11;
    next = data + chunk.readUInt32LE(next + 20);
  }
  if (next + 4 > offset + size) return record;
  const count = chunk.readUInt32LE(next);
  if (count > (offset + size - next) / 4) return record;
  instance.valueCount = chunkOffset + next;
  instance.valueDescriptors = Array.from({ length: count }, (_, i) => chunkOffset + next + 4 + i * 4);
  record.instance = instance as InstanceFields;
  return record;
}

// ---------------------------------------------------------------------------------------------
// Drafting a mutation.

const hex = (n: number): string => '0x' + n.toString(16);

class Draft {
  readonly bytes: Buffer;
  readonly touched: Range[] = [];
  private readonly notes: string[] = [];

  constructor(original: Buffer) {
    this.bytes = Buffer.from(original);
  }

  private touch(at: number, length: number, note: string): void {
    this.touched.push([at, at + length]);
    this.notes.push(note);
  }

  u32(at: number, value: number, what: string): void {
    this.bytes.writeUInt32LE(value >>> 0, at);
    this.touch(at, 4, `${what} @${hex(at)} = ${hex(value >>> 0)}`);
  }

  u16(at: number, value: number, what: string): void {
    this.bytes.writeUInt16LE(value & 0xffff, at);
    this.touch(at, 2, `${what} @${hex(at)} = ${hex(value & 0xffff)}`);
  }

  u8(at: number, value: number, what: string): void {
    this.bytes[at] = value & 0xff;
    this.touch(at, 1, `${what} @${hex(at)} = ${hex(value & 0xff)}`);
  }

  flipBit(at: number, bit: number): void {
    this.bytes[at] ^= 1 << bit;
    this.touch(at, 1, `bit ${bit} @${hex(at)}`);
  }

  /** Writes the file header checksum the reader would compute, so the damage looks legitimate. */
  resealFileHeader(): void {
    this.u32(124, crc32(this.bytes, 0, 120), 'file header checksum recomputed');
  }

  resealChunkHeader(chunkOffset: number): void {
    const chunk = this.bytes.subarray(chunkOffset, chunkOffset + 512);
    this.u32(chunkOffset + 124, crc32(chunk, 128, 512, crc32(chunk, 0, 120)), 'chunk header checksum recomputed');
  }

  done(kind: string, length = this.bytes.length): Mutation {
    const bytes = length < this.bytes.length ? this.bytes.subarray(0, length) : this.bytes;
    const description = this.notes.length > 0 ? `${kind}: ${this.notes.join(', ')}` : kind;
    return { description, bytes, touched: this.touched };
  }
}

// ---------------------------------------------------------------------------------------------
// Value choices: the extremes and the near-misses parsers get wrong.

/** Absurd values for a 32-bit size or offset field at chunk-relative position `self`. */
function absurdU32(rng: Rng, original: number, self: number): number {
  return pick(rng, [
    0,
    1,
    0xffffffff,
    0x7fffffff,
    0x80000000,
    511,
    512,
    CHUNK_SIZE - 1,
    CHUNK_SIZE,
    CHUNK_SIZE + 1,
    self, // points into itself
    self + 4, // claims the structure follows inline
    original + 1,
    original - 1,
    below(rng, CHUNK_SIZE),
    below(rng, 2 ** 32),
  ]);
}

function absurdU16(rng: Rng, original: number): number {
  return pick(rng, [0, 1, 0xffff, 0x8000, 0x7fff, original + 1, original - 1, original * 2, below(rng, 0x10000)]);
}

/** Value types that make the renderers take a different path than the bytes were written for. */
function confusingValueType(rng: Rng): number {
  return pick(rng, [
    0x00,
    0x01,
    0x02,
    0x0e,
    0x0f,
    0x10,
    0x11,
    0x12,
    0x13,
    0x15,
    0x20,
    0x21,
    0x23,
    0x81,
    0x8f,
    0x93,
    0xa1,
    0xff,
    below(rng, 256),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Mutators. Each returns undefined when the file lacks the structure it needs.

type Mutator = (rng: Rng, layout: FileLayout) => Mutation | undefined;

const CHUNK_HEADER_FIELDS: [offset: number, name: string][] = [
  [8, 'first record number'],
  [16, 'last record number'],
  [24, 'first record id'],
  [32, 'last record id'],
  [40, 'header size'],
  [44, 'last record offset'],
  [48, 'free space offset'],
  [52, 'records checksum'],
  [120, 'flags'],
  [124, 'header checksum'],
];

function flips(region: string, choose: (rng: Rng, chunk: ChunkLayout) => number): Mutator {
  return (rng, layout) => {
    if (layout.chunks.length === 0) return undefined;
    const chunk = pick(rng, layout.chunks);
    const draft = new Draft(layout.bytes);
    for (let n = 1 + below(rng, 8); n > 0; n--) draft.flipBit(choose(rng, chunk), below(rng, 8));
    return draft.done(`bit flips in ${region} of chunk ${chunk.index}`);
  };
}

function flipsAnywhere(rng: Rng, layout: FileLayout): Mutation {
  const draft = new Draft(layout.bytes);
  for (let n = 1 + below(rng, 16); n > 0; n--) draft.flipBit(below(rng, layout.bytes.length), below(rng, 8));
  return draft.done('bit flips anywhere');
}

const flipsInChunkHeader = flips('the chunk header and tables', (rng, chunk) => chunk.offset + below(rng, 512));

const flipsInRecordHeaders = flips('record headers', (rng, chunk) => {
  const record = pick(rng, chunk.records);
  const at = below(rng, 28); // 24-byte header, then the 4-byte trailing size copy
  return record.offset + (at < 24 ? at : record.size - 28 + at);
});

const flipsInBinXml = flips('BinXML', (rng, chunk) => {
  const record = pick(rng, chunk.records);
  return record.offset + 24 + below(rng, record.size - 28);
});

const truncate: Mutator = (rng, layout) => {
  const { bytes } = layout;
  const points: [where: string, length: number][] = [
    ['inside the file header', below(rng, FILE_HEADER_SIZE)],
    ['anywhere', below(rng, bytes.length)],
  ];
  if (layout.chunks.length > 0) {
    const chunk = pick(rng, layout.chunks);
    const record = pick(rng, chunk.records);
    points.push([`inside the header of chunk ${chunk.index}`, chunk.offset + below(rng, 512)]);
    points.push([`inside the record at ${hex(record.offset)}`, record.offset + 1 + below(rng, record.size - 1)]);
  }
  const [where, length] = pick(rng, points);
  return new Draft(bytes).done(`truncated to ${length} of ${bytes.length} bytes, ${where}`, length);
};

const corruptChunkHeader: Mutator = (rng, layout) => {
  if (layout.chunks.length === 0) return undefined;
  const chunk = pick(rng, layout.chunks);
  const draft = new Draft(layout.bytes);
  const choice = below(rng, CHUNK_HEADER_FIELDS.length + 3);
  if (choice < CHUNK_HEADER_FIELDS.length) {
    const [field, name] = CHUNK_HEADER_FIELDS[choice];
    const at = chunk.offset + field;
    draft.u32(at, absurdU32(rng, layout.bytes.readUInt32LE(at), field), name);
  } else if (choice === CHUNK_HEADER_FIELDS.length) {
    draft.u8(chunk.offset + below(rng, 8), 0x20 + below(rng, 0x5f), 'chunk signature byte');
  } else {
    // The string and template tables: 64 + 32 offsets into the chunk.
    const slot = 128 + 4 * below(rng, 96);
    draft.u32(
      chunk.offset + slot,
      absurdU32(rng, layout.bytes.readUInt32LE(chunk.offset + slot), slot),
      slot < 384 ? 'common string offset' : 'template pointer',
    );
  }
  if (rng() < 0.5) draft.resealChunkHeader(chunk.offset);
  return draft.done(`chunk ${chunk.index} header corrupted`);
};

const corruptRecordHeader: Mutator = (rng, layout) => {
  if (layout.chunks.length === 0) return undefined;
  const chunk = pick(rng, layout.chunks);
  const i = below(rng, chunk.records.length);
  const record = chunk.records[i];
  const nextSize = chunk.records[i + 1]?.size ?? 0;
  const toChunkEnd = chunk.offset + CHUNK_SIZE - record.offset;
  const size = pick(rng, [
    0,
    1,
    27,
    28,
    0xffffffff,
    0x80000000,
    record.size - 1,
    record.size + 1,
    record.size - 4,
    record.size + 4,
    toChunkEnd,
    toChunkEnd + 4,
    record.size + nextSize,
  ]);
  const draft = new Draft(layout.bytes);
  switch (below(rng, 5)) {
    case 0:
      draft.u32(record.offset, pick(rng, [0, 0x01002a2a, 0x2a2a0000, below(rng, 2 ** 32)]), 'record signature');
      break;
    case 1:
      draft.u32(record.offset + 4, size, 'record size');
      break;
    case 2:
      draft.u32(record.offset + record.size - 4, size, 'trailing size copy');
      break;
    case 3:
      // Both copies agree on the wrong size, so the record passes the reader's sanity check.
      draft.u32(record.offset + 4, size, 'record size');
      if (size >= 4 && record.offset + size <= chunk.offset + CHUNK_SIZE)
        draft.u32(record.offset + size - 4, size, 'matching trailing size copy');
      break;
    default:
      draft.u32(record.offset + 8 + 4 * below(rng, 2), pick(rng, [0, 0xffffffff, below(rng, 2 ** 32)]), 'record id half');
  }
  return draft.done(`record at ${hex(record.offset)} in chunk ${chunk.index} corrupted`);
};

/** Size, offset and count fields of the BinXML itself: template and name offsets, value counts and sizes. */
const corruptBinXmlField: Mutator = (rng, layout) => {
  const candidates = layout.chunks.flatMap((chunk) => chunk.records.filter((r) => r.instance).map((record) => ({ chunk, record })));
  if (candidates.length === 0) return undefined;
  const { chunk, record } = pick(rng, candidates);
  const instance = record.instance!;
  const { bytes } = layout;
  const draft = new Draft(bytes);
  const absurd32 = (at: number, what: string): void => draft.u32(at, absurdU32(rng, bytes.readUInt32LE(at), at - chunk.offset), what);
  const fields: (() => void)[] = [
    () => absurd32(instance.definitionOffset, 'template definition offset'),
    () =>
      draft.u32(
        instance.valueCount,
        pick(rng, [0, 0xffffffff, 0x3fffffff, 0x40000000, 0xffff, bytes.readUInt32LE(instance.valueCount) + 1]),
        'value count',
      ),
    // A random 4-byte-aligned field of the record body: reaches the name offsets and sizes the layout does not map.
    () => absurd32(record.offset + 24 + 4 * below(rng, (record.size - 28) / 4), 'u32 in BinXML'),
  ];
  if (instance.definitionDataSize !== undefined) fields.push(() => absurd32(instance.definitionDataSize!, 'template data size'));
  if (instance.firstNameOffset !== undefined) fields.push(() => absurd32(instance.firstNameOffset!, 'element name offset'));
  if (instance.valueDescriptors.length > 0) {
    const descriptor = pick(rng, instance.valueDescriptors);
    fields.push(() => draft.u16(descriptor, absurdU16(rng, bytes.readUInt16LE(descriptor)), 'value size'));
    fields.push(() => draft.u8(descriptor + 2, confusingValueType(rng), 'value type'));
  }
  pick(rng, fields)();
  return draft.done(`BinXML of record at ${hex(record.offset)} in chunk ${chunk.index} corrupted`);
};

const corruptFileHeader: Mutator = (rng, layout) => {
  const { bytes } = layout;
  const draft = new Draft(bytes);
  const slots = Math.floor((bytes.length - FILE_HEADER_SIZE) / CHUNK_SIZE);
  switch (below(rng, 4)) {
    case 0:
      draft.u16(42, pick(rng, [0, 1, slots - 1, slots + 1, 0xffff, below(rng, 0x10000)]), 'chunk count');
      break;
    case 1:
      draft.u32(120, bytes.readUInt32LE(120) | pick(rng, [1, 2, 3]), 'flags (dirty/full)');
      break;
    case 2:
      draft.u16(38, pick(rng, [0, 2, 4, 0xffff]), 'major version');
      break;
    default:
      draft.u8(below(rng, 8), 0x20 + below(rng, 0x5f), 'file signature byte');
  }
  if (rng() < 0.5) draft.resealFileHeader();
  return draft.done('file header corrupted');
};

const MUTATORS: [weight: number, mutator: Mutator][] = [
  [6, flipsAnywhere],
  [8, flipsInChunkHeader],
  [8, flipsInRecordHeaders],
  [14, flipsInBinXml],
  [10, truncate],
  [14, corruptChunkHeader],
  [14, corruptRecordHeader],
  [20, corruptBinXmlField],
  [6, corruptFileHeader],
];
const TOTAL_WEIGHT = MUTATORS.reduce((sum, [weight]) => sum + weight, 0);

/** One random mutation of the file; bit flips anywhere when the chosen kind finds nothing to work on. */
export function mutate(rng: Rng, layout: FileLayout): Mutation {
  let roll = rng() * TOTAL_WEIGHT;
  const [, mutator] = MUTATORS.find(([weight]) => (roll -= weight) < 0) ?? MUTATORS[0];
  return mutator(rng, layout) ?? flipsAnywhere(rng, layout);
}

/** True when the mutation leaves the chunk slot at `chunkOffset` byte for byte as it was. */
export function leavesIntact(mutation: Mutation, chunkOffset: number): boolean {
  const end = chunkOffset + CHUNK_SIZE;
  return end <= mutation.bytes.length && mutation.touched.every(([start, stop]) => stop <= chunkOffset || start >= end);
}

/** True when the mutation may legitimately make `EvtxFile.open` reject the file as not EVTX. */
export function destroysFileHeader(mutation: Mutation): boolean {
  return mutation.bytes.length < 128 || mutation.touched.some(([start]) => start < 8);
}
