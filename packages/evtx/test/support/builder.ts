/**
 * Test-only writer of synthetic EVTX bytes: BinXML tokens, substitution values, records, chunks
 * and files. Names and template definitions inside BinXML are addressed by chunk-relative
 * offsets, so every piece is written knowing where in its chunk it lands: the first use of a
 * name or template in a chunk stores it inline (its offset is the position right after the
 * offset field), later uses refer back to that offset.
 */
import { CHUNK_SIZE, FILE_HEADER_SIZE, crc32 } from '../../src/index.js';

/** Value types of substitutions (EVTX "value types"); `| Type.Array` makes an array type. */
export const Type = {
  Null: 0x00,
  String: 0x01,
  AnsiString: 0x02,
  Int8: 0x03,
  UInt8: 0x04,
  Int16: 0x05,
  UInt16: 0x06,
  Int32: 0x07,
  UInt32: 0x08,
  Int64: 0x09,
  UInt64: 0x0a,
  Real32: 0x0b,
  Real64: 0x0c,
  Bool: 0x0d,
  Binary: 0x0e,
  Guid: 0x0f,
  SizeT: 0x10,
  FileTime: 0x11,
  SysTime: 0x12,
  Sid: 0x13,
  HexInt32: 0x14,
  HexInt64: 0x15,
  EvtHandle: 0x20,
  BinXml: 0x21,
  EvtXml: 0x23,
  Array: 0x80,
} as const;

const RECORDS_START = 512;
const RECORD_HEADER_SIZE = 24;

/** A growable little-endian byte buffer. */
class Bytes {
  private buf = Buffer.alloc(256);
  length = 0;

  private reserve(n: number): number {
    if (this.length + n > this.buf.length) {
      const bigger = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
      this.buf.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  u8(v: number): this {
    const at = this.reserve(1); // reserve first: it may replace this.buf
    this.buf.writeUInt8(v, at);
    return this;
  }
  u16(v: number): this {
    const at = this.reserve(2);
    this.buf.writeUInt16LE(v, at);
    return this;
  }
  u32(v: number): this {
    const at = this.reserve(4);
    this.buf.writeUInt32LE(v, at);
    return this;
  }
  raw(bytes: Uint8Array): this {
    const at = this.reserve(bytes.length);
    this.buf.set(bytes, at);
    return this;
  }
  utf16(text: string): this {
    return this.raw(Buffer.from(text, 'utf16le'));
  }
  patchU32(at: number, v: number): void {
    this.buf.writeUInt32LE(v, at);
  }
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}

/** What a chunk remembers while it is written: where each name and template was first stored. */
export interface ChunkTables {
  readonly names: Map<string, number>;
  readonly templates: Map<TemplateDefinition, number>;
}

/** A piece of BinXML content: writes its own tokens. */
export type Node = (x: BinXmlWriter) => void;

export interface TemplateDefinition {
  guid: string;
  nodes: Node[];
}

/** A substitution value; `encode` learns its chunk offset because nested BinXML needs it. */
export interface SubstitutionValue {
  type: number;
  encode(tables: ChunkTables, at: number): Uint8Array;
}

interface OpenElement {
  dataSizeAt: number;
  attributeListSizeAt: number | undefined;
}

/** Writes BinXML tokens starting at chunk offset `start`. */
export class BinXmlWriter {
  private readonly out = new Bytes();
  private readonly open: OpenElement[] = [];

  constructor(
    private readonly tables: ChunkTables,
    readonly start: number,
  ) {}

  /** Chunk offset of the next byte written. */
  get position(): number {
    return this.start + this.out.length;
  }

  write(...nodes: Node[]): this {
    for (const node of nodes) node(this);
    return this;
  }

  bytes(): Buffer {
    return this.out.toBuffer();
  }

  fragmentHeader(): this {
    this.out.u8(0x0f).u8(1).u8(1).u8(0); // token, major 1, minor 1, flags
    return this;
  }

  openStart(name: string, hasAttributes: boolean): this {
    this.out.u8(hasAttributes ? 0x41 : 0x01).u16(0xffff); // dependency identifier: none
    const dataSizeAt = this.out.length;
    this.out.u32(0);
    this.name(name);
    let attributeListSizeAt: number | undefined;
    if (hasAttributes) {
      attributeListSizeAt = this.out.length;
      this.out.u32(0);
    }
    this.open.push({ dataSizeAt, attributeListSizeAt });
    return this;
  }

  /** An attribute name; its value tokens follow. `more` sets the flag saying another attribute follows. */
  attribute(name: string, more = false): this {
    this.out.u8(more ? 0x46 : 0x06);
    this.name(name);
    return this;
  }

  closeStart(): this {
    this.endAttributeList();
    this.out.u8(0x02);
    return this;
  }

  closeEmpty(): this {
    this.endAttributeList();
    this.out.u8(0x03);
    this.endElementData();
    return this;
  }

  endElement(): this {
    this.out.u8(0x04);
    this.endElementData();
    return this;
  }

  /** A Value token holding UTF-16 text. */
  value(text: string): this {
    this.out.u8(0x05).u8(Type.String).u16(text.length).utf16(text);
    return this;
  }

  /** A Value token holding ANSI (single-byte) text. */
  ansiValue(text: string): this {
    this.out.u8(0x05).u8(Type.AnsiString).u16(text.length).raw(Buffer.from(text, 'latin1'));
    return this;
  }

  cdata(text: string): this {
    this.out.u8(0x07).u16(text.length).utf16(text);
    return this;
  }

  charRef(code: number): this {
    this.out.u8(0x08).u16(code);
    return this;
  }

  entityRef(name: string): this {
    this.out.u8(0x09);
    this.name(name);
    return this;
  }

  piTarget(name: string): this {
    this.out.u8(0x0a);
    this.name(name);
    return this;
  }

  piData(text: string): this {
    this.out.u8(0x0b).u16(text.length).utf16(text);
    return this;
  }

  substitution(index: number, type: number): this {
    this.out.u8(0x0d).u16(index).u8(type);
    return this;
  }

  optionalSubstitution(index: number, type: number): this {
    this.out.u8(0x0e).u16(index).u8(type);
    return this;
  }

  /** A template instance: the definition inline on first use in the chunk, else a reference to it. */
  templateInstance(template: TemplateDefinition, values: SubstitutionValue[]): this {
    const guid = guidBytes(template.guid);
    this.out.u8(0x0c).u8(1).raw(guid.subarray(0, 4)); // token, unknown (1), template id
    const defined = this.tables.templates.get(template);
    if (defined === undefined) this.inlineDefinition(template, guid);
    else this.out.u32(defined);
    this.templateValues(values);
    return this;
  }

  eof(): this {
    this.out.u8(0x00);
    return this;
  }

  /** A name reference; the name structure itself follows when this is its first use in the chunk. */
  private name(name: string): void {
    const defined = this.tables.names.get(name);
    if (defined !== undefined) {
      this.out.u32(defined);
      return;
    }
    const offset = this.position + 4;
    this.tables.names.set(name, offset);
    // next name in the hash bucket, hash, character count, text, NUL
    this.out.u32(offset).u32(0).u16(nameHash(name)).u16(name.length).utf16(name).u16(0);
  }

  private inlineDefinition(template: TemplateDefinition, guid: Buffer): void {
    const offset = this.position + 4;
    this.out.u32(offset).u32(0).raw(guid); // next template in the hash bucket, GUID
    const sizeAt = this.out.length;
    this.out.u32(0);
    this.fragmentHeader()
      .write(...template.nodes)
      .eof();
    this.out.patchU32(sizeAt, this.out.length - sizeAt - 4);
    this.tables.templates.set(template, offset);
  }

  /** Value count, one (size, type) descriptor per value, then the values back to back. */
  private templateValues(values: SubstitutionValue[]): void {
    this.out.u32(values.length);
    let at = this.position + values.length * 4;
    const encoded = values.map((value) => {
      const bytes = value.encode(this.tables, at);
      at += bytes.length;
      return bytes;
    });
    values.forEach((value, i) => this.out.u16(encoded[i].length).u8(value.type).u8(0));
    for (const bytes of encoded) this.out.raw(bytes);
  }

  private endAttributeList(): void {
    const at = this.open[this.open.length - 1]?.attributeListSizeAt;
    if (at !== undefined) this.out.patchU32(at, this.out.length - at - 4);
  }

  /** The element's data size counts everything after its size field, end token included. */
  private endElementData(): void {
    const element = this.open.pop();
    if (element === undefined) throw new Error('no open element to close');
    this.out.patchU32(element.dataSizeAt, this.out.length - element.dataSizeAt - 4);
  }
}

/** The 16-bit name hash Windows stores next to each name (the reader does not check it). */
function nameHash(name: string): number {
  let hash = 0;
  for (let i = 0; i < name.length; i++) hash = (Math.imul(hash, 65599) + name.charCodeAt(i)) >>> 0;
  return hash & 0xffff;
}

// ---- Node helpers: BinXML content written declaratively ----

/** Attribute values by name, in order; each value is one or more content nodes. */
export type Attributes = Record<string, Node | Node[]>;

/** An element: empty when it has no children, attribute "more" flags set as Windows does. */
export function el(name: string, attributes: Attributes = {}, ...children: Node[]): Node {
  return (x) => {
    const entries = Object.entries(attributes);
    x.openStart(name, entries.length > 0);
    entries.forEach(([attribute, value], i) => x.attribute(attribute, i < entries.length - 1).write(...[value].flat()));
    if (children.length === 0) {
      x.closeEmpty();
      return;
    }
    x.closeStart()
      .write(...children)
      .endElement();
  };
}

export const text =
  (value: string): Node =>
  (x) =>
    x.value(value);
export const ansiText =
  (value: string): Node =>
  (x) =>
    x.ansiValue(value);
export const cdata =
  (value: string): Node =>
  (x) =>
    x.cdata(value);
export const charRef =
  (code: number): Node =>
  (x) =>
    x.charRef(code);
export const entityRef =
  (name: string): Node =>
  (x) =>
    x.entityRef(name);
export const pi =
  (target: string, data: string): Node =>
  (x) =>
    x.piTarget(target).piData(data);
export const sub =
  (index: number, type: number): Node =>
  (x) =>
    x.substitution(index, type);
export const optionalSub =
  (index: number, type: number): Node =>
  (x) =>
    x.optionalSubstitution(index, type);
export const instance =
  (template: TemplateDefinition, values: SubstitutionValue[]): Node =>
  (x) =>
    x.templateInstance(template, values);

/** A whole fragment: header, content, EOF. */
export const fragment =
  (...nodes: Node[]): Node =>
  (x) =>
    x
      .fragmentHeader()
      .write(...nodes)
      .eof();

export function defineTemplate(guid: string, ...nodes: Node[]): TemplateDefinition {
  return { guid, nodes };
}

// ---- Substitution values ----

/** A value whose bytes are given as is (also for deliberately odd sizes). */
export function rawValue(type: number, bytes: Uint8Array): SubstitutionValue {
  return { type, encode: () => bytes };
}

function littleEndian(size: number, write: (buf: Buffer) => void): Buffer {
  const buf = Buffer.alloc(size);
  write(buf);
  return buf;
}

export const nullValue = (): SubstitutionValue => rawValue(Type.Null, Buffer.alloc(0));
/** UTF-16 text, no terminator added (put a `\0` in `text` to have one). */
export const stringValue = (text: string): SubstitutionValue => rawValue(Type.String, Buffer.from(text, 'utf16le'));
/** Single-byte text: each character's code is one byte (so `\x80` is the byte 0x80). */
export const ansiStringValue = (text: string): SubstitutionValue => rawValue(Type.AnsiString, Buffer.from(text, 'latin1'));
export const int8 = (v: number) =>
  rawValue(
    Type.Int8,
    littleEndian(1, (b) => b.writeInt8(v)),
  );
export const uint8 = (v: number) =>
  rawValue(
    Type.UInt8,
    littleEndian(1, (b) => b.writeUInt8(v)),
  );
export const int16 = (v: number) =>
  rawValue(
    Type.Int16,
    littleEndian(2, (b) => b.writeInt16LE(v)),
  );
export const uint16 = (v: number) =>
  rawValue(
    Type.UInt16,
    littleEndian(2, (b) => b.writeUInt16LE(v)),
  );
export const int32 = (v: number) =>
  rawValue(
    Type.Int32,
    littleEndian(4, (b) => b.writeInt32LE(v)),
  );
export const uint32 = (v: number) =>
  rawValue(
    Type.UInt32,
    littleEndian(4, (b) => b.writeUInt32LE(v)),
  );
export const int64 = (v: bigint) =>
  rawValue(
    Type.Int64,
    littleEndian(8, (b) => b.writeBigInt64LE(v)),
  );
export const uint64 = (v: bigint) =>
  rawValue(
    Type.UInt64,
    littleEndian(8, (b) => b.writeBigUInt64LE(v)),
  );
export const real32 = (v: number) =>
  rawValue(
    Type.Real32,
    littleEndian(4, (b) => b.writeFloatLE(v)),
  );
export const real64 = (v: number) =>
  rawValue(
    Type.Real64,
    littleEndian(8, (b) => b.writeDoubleLE(v)),
  );
/** EVTX booleans are 32-bit integers. */
export const bool = (v: boolean) =>
  rawValue(
    Type.Bool,
    littleEndian(4, (b) => b.writeUInt32LE(v ? 1 : 0)),
  );
export const binary = (bytes: number[]) => rawValue(Type.Binary, Buffer.from(bytes));
export const guid = (text: string) => rawValue(Type.Guid, guidBytes(text));
export const sizeT = (v: bigint, width: 4 | 8) =>
  rawValue(
    Type.SizeT,
    littleEndian(width, (b) => (width === 4 ? b.writeUInt32LE(Number(v)) : b.writeBigUInt64LE(v))),
  );
export const filetime = (ticks: bigint) =>
  rawValue(
    Type.FileTime,
    littleEndian(8, (b) => b.writeBigUInt64LE(ticks)),
  );
export const systemtime = (t: SystemTime) => rawValue(Type.SysTime, systemtimeBytes(t));
export const sid = (text: string) => rawValue(Type.Sid, sidBytes(text));
export const hexInt32 = (v: number) =>
  rawValue(
    Type.HexInt32,
    littleEndian(4, (b) => b.writeUInt32LE(v)),
  );
export const hexInt64 = (v: bigint) =>
  rawValue(
    Type.HexInt64,
    littleEndian(8, (b) => b.writeBigUInt64LE(v)),
  );
export const evtHandle = (v: bigint, width: 4 | 8) =>
  rawValue(
    Type.EvtHandle,
    littleEndian(width, (b) => (width === 4 ? b.writeUInt32LE(Number(v)) : b.writeBigUInt64LE(v))),
  );
/** An XML text value (UTF-16, NUL-terminated). */
export const evtXml = (xml: string) => rawValue(Type.EvtXml, Buffer.from(xml + '\0', 'utf16le'));

/** A nested BinXML fragment, written at the chunk offset where the value lands. */
export function binXmlValue(...nodes: Node[]): SubstitutionValue {
  return { type: Type.BinXml, encode: (tables, at) => new BinXmlWriter(tables, at).write(fragment(...nodes)).bytes() };
}

/** A string array: each item NUL-terminated. */
export const stringArray = (items: string[]) =>
  rawValue(Type.String | Type.Array, Buffer.from(items.map((s) => s + '\0').join(''), 'utf16le'));
export const ansiStringArray = (items: string[]) =>
  rawValue(Type.AnsiString | Type.Array, Buffer.from(items.map((s) => s + '\0').join(''), 'latin1'));

/** An array of fixed-size (or SID) items: the items' bytes back to back. */
export function arrayOf(type: number, items: SubstitutionValue[]): SubstitutionValue {
  for (const item of items)
    if (item.type !== type) throw new Error(`array of type 0x${type.toString(16)} holds 0x${item.type.toString(16)}`);
  return { type: type | Type.Array, encode: (tables, at) => Buffer.concat(items.map((item) => item.encode(tables, at))) };
}

export interface SystemTime {
  year: number;
  month: number;
  dayOfWeek: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  milliseconds: number;
}

function systemtimeBytes(t: SystemTime): Buffer {
  const fields = [t.year, t.month, t.dayOfWeek, t.day, t.hour, t.minute, t.second, t.milliseconds];
  return littleEndian(16, (b) => fields.forEach((v, i) => b.writeUInt16LE(v, i * 2)));
}

/** A GUID's 16 bytes as Windows stores it: the first three groups little-endian. */
export function guidBytes(text: string): Buffer {
  const hex = text.replace(/[{}-]/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not a GUID: ${text}`);
  const bytes = Buffer.from(hex, 'hex');
  bytes.subarray(0, 4).reverse();
  bytes.subarray(4, 6).reverse();
  bytes.subarray(6, 8).reverse();
  return bytes;
}

/** A SID `S-R-A-S1-S2…`: revision, sub-authority count, 48-bit big-endian authority, little-endian sub-authorities. */
export function sidBytes(text: string): Buffer {
  const [s, revision, authority, ...subs] = text.split('-');
  if (s !== 'S' || authority === undefined) throw new Error(`not a SID: ${text}`);
  return littleEndian(8 + subs.length * 4, (b) => {
    b.writeUInt8(Number(revision), 0);
    b.writeUInt8(subs.length, 1);
    b.writeUIntBE(Number(authority), 2, 6);
    subs.forEach((sub, i) => b.writeUInt32LE(Number(sub), 8 + i * 4));
  });
}

const FILETIME_UNIX_EPOCH = 116444736000000000n;

/** FILETIME ticks (100 ns since 1601) of an ISO time, plus sub-millisecond ticks ISO strings cannot carry. */
export function filetimeTicks(iso: string, extraTicks = 0n): bigint {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`not a time: ${iso}`);
  return FILETIME_UNIX_EPOCH + BigInt(ms) * 10_000n + extraTicks;
}

// ---- Records, chunks, files ----

export const DEFAULT_WRITTEN = filetimeTicks('2024-05-06T07:08:09.123Z', 4567n);

/** Writes records into one 64 KiB chunk; `bytes()` adds the header and both checksums. */
export class ChunkBuilder implements ChunkTables {
  readonly names = new Map<string, number>();
  readonly templates = new Map<TemplateDefinition, number>();
  private readonly buf = Buffer.alloc(CHUNK_SIZE);
  private end = RECORDS_START;
  private firstId = 0;
  private lastId = 0;
  private lastRecordOffset = 0;

  /** Appends a record whose BinXML is `body`; returns the record's chunk-relative offset. */
  addRecord(id: number, body: Node, written = DEFAULT_WRITTEN): number {
    const offset = this.end;
    const binxml = new BinXmlWriter(this, offset + RECORD_HEADER_SIZE).write(body).bytes();
    const size = RECORD_HEADER_SIZE + binxml.length + 4;
    if (offset + size > CHUNK_SIZE) throw new Error(`record ${id} does not fit in the chunk`);
    this.buf.writeUInt32LE(0x2a2a, offset); // "**\0\0"
    this.buf.writeUInt32LE(size, offset + 4);
    this.buf.writeBigUInt64LE(BigInt(id), offset + 8);
    this.buf.writeBigUInt64LE(written, offset + 16);
    binxml.copy(this.buf, offset + RECORD_HEADER_SIZE);
    this.buf.writeUInt32LE(size, offset + size - 4); // size copy closing the record
    if (this.firstId === 0) this.firstId = id;
    this.lastId = id;
    this.lastRecordOffset = offset;
    this.end = offset + size;
    return offset;
  }

  bytes(): Buffer {
    const buf = Buffer.from(this.buf);
    buf.write('ElfChnk\0', 0, 'latin1');
    // Record numbers count records in the log; a synthetic log numbers them like their ids.
    buf.writeBigUInt64LE(BigInt(this.firstId), 8);
    buf.writeBigUInt64LE(BigInt(this.lastId), 16);
    buf.writeBigUInt64LE(BigInt(this.firstId), 24);
    buf.writeBigUInt64LE(BigInt(this.lastId), 32);
    buf.writeUInt32LE(128, 40); // header size
    buf.writeUInt32LE(this.lastRecordOffset, 44);
    buf.writeUInt32LE(this.end, 48); // free space offset
    return sealChunk(buf);
  }
}

/** Recomputes a chunk's checksums, e.g. after a test damaged a record on purpose. */
export function sealChunk(chunk: Buffer): Buffer {
  const freeSpaceOffset = chunk.readUInt32LE(48);
  chunk.writeUInt32LE(crc32(chunk, RECORDS_START, freeSpaceOffset), 52);
  chunk.writeUInt32LE(crc32(chunk, 128, RECORDS_START, crc32(chunk, 0, 120)), 124);
  return chunk;
}

export interface FileOptions {
  /** Chunk count stored in the header; defaults to the number of slots. */
  chunkCount?: number;
  /** Header flags; defaults to 1 (dirty: the log was not closed cleanly). */
  flags?: number;
}

/** An EVTX file: a 4096-byte file header, then the given chunk slots as they are (zeroed, truncated…). */
export function evtxFile(slots: Buffer[], options: FileOptions = {}): Buffer {
  const chunkCount = options.chunkCount ?? slots.length;
  const header = Buffer.alloc(FILE_HEADER_SIZE);
  header.write('ElfFile\0', 0, 'latin1');
  header.writeBigUInt64LE(0n, 8); // first chunk number
  header.writeBigUInt64LE(BigInt(Math.max(chunkCount - 1, 0)), 16); // last chunk number
  header.writeBigUInt64LE(nextRecordId(slots), 24);
  header.writeUInt32LE(128, 32); // header size
  header.writeUInt16LE(1, 36); // minor version
  header.writeUInt16LE(3, 38); // major version
  header.writeUInt16LE(FILE_HEADER_SIZE, 40); // header block size
  header.writeUInt16LE(chunkCount, 42);
  header.writeUInt32LE(options.flags ?? 1, 120);
  header.writeUInt32LE(crc32(header, 0, 120), 124);
  return Buffer.concat([header, ...slots]);
}

/** One past the highest last-record id of the slots that hold a chunk. */
function nextRecordId(slots: Buffer[]): bigint {
  let last = 0n;
  for (const slot of slots) {
    if (slot.length >= 40 && slot.toString('latin1', 0, 8) === 'ElfChnk\0') {
      const id = slot.readBigUInt64LE(32);
      if (id > last) last = id;
    }
  }
  return last + 1n;
}
