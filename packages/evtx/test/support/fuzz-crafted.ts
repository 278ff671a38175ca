/**
 * Hand-built hostile chunks for the fuzz test: structures that random mutation of real files
 * practically never produces, but that an attacker who plants a log file can write at will.
 * Each one is legal enough to pass the reader's checks (checksums included) and targets one
 * weakness found by reading the reader.
 */
import { CHUNK_SIZE, FILE_HEADER_SIZE, crc32 } from '../../src/index.js';
import type { Mutation } from './fuzz-mutations.js';

interface Value {
  type: number;
  bytes: Buffer;
}

const BINXML_VALUE = 0x21;
const STRING_VALUE = 0x01;
const SIZE_T_VALUE = 0x10;

/** Writes BinXML at a known chunk offset, so that offsets inside it can point where they must. */
class Emitter {
  private readonly out: number[] = [];

  constructor(
    private readonly start: number,
    /** Chunk offsets of the names written so far: first use stores a name inline, later uses refer to it. */
    private readonly names: Map<string, number>,
  ) {}

  get pos(): number {
    return this.start + this.out.length;
  }

  bytes(): Buffer {
    return Buffer.from(this.out);
  }

  u8(...values: number[]): this {
    this.out.push(...values);
    return this;
  }

  u16(value: number): this {
    return this.u8(value & 0xff, value >>> 8);
  }

  u32(value: number): this {
    return this.u16(value & 0xffff).u16(value >>> 16);
  }

  raw(bytes: Buffer): this {
    for (const byte of bytes) this.out.push(byte); // no spread: templates run to tens of KiB
    return this;
  }

  fragmentHeader(): this {
    return this.u8(0x0f, 1, 1, 0);
  }

  eof(): this {
    return this.u8(0x00);
  }

  /** `name` is the text (stored inline on first use) or the chunk offset of a name structure. */
  element(name: string | number, children: () => void = () => undefined): this {
    this.u8(0x01).u16(0).u32(0).name(name).u8(0x02);
    children();
    return this.u8(0x04);
  }

  emptyElement(name: string): this {
    return this.u8(0x01).u16(0).u32(0).name(name).u8(0x03);
  }

  substitution(index: number, type: number): this {
    return this.u8(0x0d).u16(index).u8(type);
  }

  /** A template instance referring to the definition at `definition`, with its values. */
  instance(definition: number, values: Value[] = []): this {
    this.u8(0x0c, 1).u32(0).u32(definition).u32(values.length);
    for (const value of values) this.u16(value.bytes.length).u8(value.type, 0);
    for (const value of values) this.raw(value.bytes);
    return this;
  }

  /** A template definition here: next offset, GUID, data size (`declaredSize` when lying), data. */
  templateDefinition(data: (e: Emitter) => void, declaredSize?: number): this {
    const body = new Emitter(this.pos + 24, this.names);
    data(body);
    const bytes = body.bytes();
    return this.u32(0)
      .raw(Buffer.alloc(16, 0x5a))
      .u32(declaredSize ?? bytes.length)
      .raw(bytes);
  }

  private name(text: string | number): this {
    if (typeof text === 'number') return this.u32(text);
    const known = this.names.get(text);
    if (known !== undefined) return this.u32(known);
    const offset = this.pos + 4;
    this.names.set(text, offset);
    this.u32(offset).u32(0).u16(0).u16(text.length);
    for (let i = 0; i < text.length; i++) this.u16(text.charCodeAt(i));
    return this.u16(0);
  }
}

/** A chunk with records appended from offset 512 and free-form BinXML placed anywhere after them. */
class ChunkWriter {
  private readonly buf = Buffer.alloc(CHUNK_SIZE);
  private readonly names = new Map<string, number>();
  private recordsEnd = 512;
  private lastRecord = 512;
  private records = 0;

  place(offset: number, write: (e: Emitter) => void): void {
    const emitter = new Emitter(offset, this.names);
    write(emitter);
    emitter.bytes().copy(this.buf, offset);
  }

  record(body: (e: Emitter) => void): void {
    const at = this.recordsEnd;
    const emitter = new Emitter(at + 24, this.names);
    body(emitter);
    const bytes = emitter.bytes();
    const size = 24 + bytes.length + 4;
    this.records++;
    this.buf.writeUInt32LE(0x2a2a, at);
    this.buf.writeUInt32LE(size, at + 4);
    this.buf.writeUInt32LE(this.records, at + 8);
    bytes.copy(this.buf, at + 24);
    this.buf.writeUInt32LE(size, at + size - 4);
    this.lastRecord = at;
    this.recordsEnd = at + size;
  }

  /** The chunk with a consistent header, so the reader has no reason to distrust it. */
  finish(): Buffer {
    const { buf } = this;
    buf.write('ElfChnk\0', 0, 'latin1');
    for (const field of [8, 24]) buf.writeUInt32LE(1, field); // first record number and id
    for (const field of [16, 32]) buf.writeUInt32LE(this.records, field); // last record number and id
    buf.writeUInt32LE(128, 40);
    buf.writeUInt32LE(this.lastRecord, 44);
    buf.writeUInt32LE(this.recordsEnd, 48);
    buf.writeUInt32LE(crc32(buf, 512, this.recordsEnd), 52);
    buf.writeUInt32LE(crc32(buf, 128, 512, crc32(buf, 0, 120)), 124);
    return buf;
  }
}

const TEMPLATES_AT = 0x4000;

/**
 * Templates are cached per chunk and shared, so a template instantiating the next one four
 * times, forty levels deep, is a few KiB that renders to 4^40 elements.
 */
function templateFanOut(): Buffer {
  const levels = 40;
  const stride = 0x100;
  const chunk = new ChunkWriter();
  for (let level = 0; level < levels; level++) {
    const next = TEMPLATES_AT + (level + 1) * stride;
    chunk.place(TEMPLATES_AT + level * stride, (e) =>
      e.templateDefinition((t) => {
        t.fragmentHeader().element('E', () => {
          if (level + 1 < levels) for (let i = 0; i < 4; i++) t.instance(next);
        });
        t.eof();
      }),
    );
  }
  chunk.record((e) => e.fragmentHeader().instance(TEMPLATES_AT).eof());
  return chunk.finish();
}

/**
 * A template that substitutes the same BinXML value sixteen times, the value instantiating the
 * same template again, eight levels deep (the nesting limit): 16^9 elements from ~300 bytes.
 */
function substitutionFanOut(): Buffer {
  const chunk = new ChunkWriter();
  chunk.place(TEMPLATES_AT, (e) =>
    e.templateDefinition((t) => {
      t.fragmentHeader().element('E', () => {
        for (let i = 0; i < 16; i++) t.substitution(0, BINXML_VALUE);
      });
      t.eof();
    }),
  );
  const nested = (depth: number): Value => {
    if (depth === 0) return { type: STRING_VALUE, bytes: Buffer.from('x', 'utf16le') };
    const fragment = new Emitter(0, new Map())
      .fragmentHeader()
      .instance(TEMPLATES_AT, [nested(depth - 1)])
      .eof();
    return { type: BINXML_VALUE, bytes: fragment.bytes() };
  };
  chunk.record((e) =>
    e
      .fragmentHeader()
      .instance(TEMPLATES_AT, [nested(8)])
      .eof(),
  );
  return chunk.finish();
}

/** 4000 same-named siblings in one template, used by 200 records: the JSON rendering renames repeats (`E_1`, `E_2`…). */
function sameNameSiblings(): Buffer {
  const chunk = new ChunkWriter();
  const template = 0x3000;
  chunk.place(template, (e) =>
    e.templateDefinition((t) => {
      t.fragmentHeader().element('R', () => {
        for (let i = 0; i < 4000; i++) t.emptyElement('E');
      });
      t.eof();
    }),
  );
  for (let i = 0; i < 200; i++) chunk.record((e) => e.fragmentHeader().instance(template).eof());
  return chunk.finish();
}

/**
 * A template whose declared data size runs past the chunk (the parser clips it to the chunk)
 * and whose last byte is a 1-byte SizeT value: decoding reads 4 bytes from the chunk's last byte.
 */
function shortValueAtChunkEnd(): Buffer {
  const chunk = new ChunkWriter();
  chunk.place(TEMPLATES_AT, (e) =>
    e.templateDefinition((t) => {
      t.fragmentHeader().element('E', () => t.substitution(0, SIZE_T_VALUE));
      t.eof();
    }),
  );
  const lastByte = { type: SIZE_T_VALUE, bytes: Buffer.from([0x41]) };
  const data = new Emitter(0, new Map()).fragmentHeader().instance(TEMPLATES_AT, [lastByte]).bytes();
  const outer = CHUNK_SIZE - 24 - data.length;
  chunk.place(outer, (e) => e.templateDefinition((t) => t.raw(data), 0xffffffff));
  chunk.record((e) => e.fragmentHeader().instance(outer).eof());
  return chunk.finish();
}

/**
 * One name of 24000 characters (a name's length field is taken as is), used by 60 nested
 * elements of a template that 300 records instantiate: ~1.4 M characters of JSON per 47-byte record.
 */
function longNames(): Buffer {
  const chunk = new ChunkWriter();
  const name = 0x4000;
  const length = 24000;
  // Name structure: next offset, hash, length in characters, UTF-16 text, NUL.
  chunk.place(name, (e) =>
    e
      .u32(0)
      .u16(0)
      .u16(length)
      .raw(Buffer.from('A'.repeat(length), 'utf16le'))
      .u16(0),
  );
  const template = 0x3a00;
  const nest = (t: Emitter, depth: number): void => {
    t.element(name, () => {
      if (depth > 1) nest(t, depth - 1);
    });
  };
  chunk.place(template, (e) => e.templateDefinition((t) => nest(t.fragmentHeader(), 60)));
  for (let i = 0; i < 300; i++) chunk.record((e) => e.fragmentHeader().instance(template).eof());
  return chunk.finish();
}

const CRAFTED: [description: string, build: () => Buffer][] = [
  ['template instantiating the next template 4 times, 40 levels deep', templateFanOut],
  ['template substituting one BinXML value 16 times, 8 levels deep', substitutionFanOut],
  ['200 records of a template with 4000 same-named sibling elements', sameNameSiblings],
  ['300 records of a template nesting 60 elements named by one 24000-character name', longNames],
  ['1-byte SizeT value in the last byte of the chunk, inside a template whose size runs past the chunk', shortValueAtChunkEnd],
];

export const CRAFTED_COUNT = CRAFTED.length;

/** Crafted case `index`, replacing chunk slot 1 of `host`: chunk 0 must read as before. */
export function craftedMutation(index: number, host: Buffer): Mutation {
  const [description, build] = CRAFTED[index];
  const slot = FILE_HEADER_SIZE + CHUNK_SIZE;
  const bytes = Buffer.from(host);
  build().copy(bytes, slot);
  return { description: `crafted chunk 1: ${description}`, bytes, touched: [[slot, slot + CHUNK_SIZE]] };
}
