/**
 * BinXML: the binary XML of EVTX records. This module turns token streams into a small node
 * tree; templates are parsed once per chunk and shared by every record that instantiates them,
 * so a record costs only the reading of its substitution values.
 */
import { BinXmlError } from './warnings.js';
import { CHUNK_SIZE } from './file-header.js';

export const enum Kind {
  Element,
  Text,
  Subst,
  CharRef,
  EntityRef,
  CData,
  PI,
  Template,
}

export interface ElementNode {
  kind: Kind.Element;
  name: string;
  attrs: AttributeNode[];
  children: ContentNode[];
}
export interface AttributeNode {
  name: string;
  value: ContentNode[];
}
export interface TextNode {
  kind: Kind.Text;
  text: string;
}
export interface SubstNode {
  kind: Kind.Subst;
  index: number;
  /** Value type declared by the template; the instance's own descriptor is authoritative. */
  type: number;
  /** Optional substitutions disappear (with their attribute) when the value is null. */
  optional: boolean;
}
export interface CharRefNode {
  kind: Kind.CharRef;
  code: number;
}
export interface EntityRefNode {
  kind: Kind.EntityRef;
  name: string;
}
export interface CDataNode {
  kind: Kind.CData;
  text: string;
}
export interface PINode {
  kind: Kind.PI;
  target: string;
  data: string;
}
export interface TemplateNode {
  kind: Kind.Template;
  template: Template;
  values: Values;
}
export type ContentNode = ElementNode | TextNode | SubstNode | CharRefNode | EntityRefNode | CDataNode | PINode | TemplateNode;

export interface Template {
  guid: string;
  nodes: ContentNode[];
  /** Per-template caches owned by renderers (e.g. the compiled flat plan). */
  cache: Map<string, unknown>;
}

/**
 * Substitution values of one template instance, read in place from the chunk buffer: the
 * descriptors (size u16, type u8, padding u8) stay in the buffer, only value offsets are kept.
 */
export class Values {
  /** Nested BinXML values, parsed on first use. */
  private nested: (ContentNode[] | undefined)[] | undefined;
  constructor(
    readonly chunk: ChunkContext,
    /** Chunk offset of the first value descriptor. */
    private readonly descriptors: number,
    readonly offsets: number[],
    /** Nesting depth of this instance and the record's budget, bounding work on BinXML values. */
    private readonly scope: Scope,
  ) {}
  get count(): number {
    return this.offsets.length;
  }
  type(index: number): number {
    return this.chunk.buf[this.descriptors + index * 4 + 2];
  }
  size(index: number): number {
    const p = this.descriptors + index * 4;
    return this.chunk.buf[p] | (this.chunk.buf[p + 1] << 8);
  }
  /**
   * Counts a use of value `index` against the record's budget: a value used many times (through
   * templates and BinXML values that repeat it) could otherwise turn a few kilobytes into
   * gigabytes of rendering.
   */
  charge(index: number): void {
    const budget = this.scope.budget;
    budget.bytes += this.size(index) + 16;
    if (budget.bytes > MAX_VALUE_BYTES)
      throw new BinXmlError(`record renders more than ${MAX_VALUE_BYTES} bytes of values`, this.offsets[index]);
  }

  /**
   * The fragment inside a BinXML-typed value (type 0x21). Every use counts against the record's
   * budget: a value used many times by templates that use it again would otherwise make a
   * record of a few hundred bytes expand exponentially.
   */
  nestedNodes(index: number): ContentNode[] {
    const budget = this.scope.budget;
    if (++budget.expansions > MAX_EXPANSIONS)
      throw new BinXmlError(`record expands BinXML values more than ${MAX_EXPANSIONS} times`, this.offsets[index]);
    this.charge(index);
    this.nested ??= [];
    let nodes = this.nested[index];
    if (nodes === undefined) {
      const start = this.offsets[index];
      nodes = parseFragment(this.chunk, start, start + this.size(index), { depth: this.scope.depth + 1, budget });
      this.nested[index] = nodes;
    }
    return nodes;
  }
}

/** What the parser needs from a chunk: its bytes and its caches. */
export interface ChunkContext {
  readonly buf: Buffer;
  readonly names: Map<number, string>;
  readonly templates: Map<number, Template>;
}

const MAX_ELEMENT_DEPTH = 64;
const MAX_NESTING = 8;
/** Uses of BinXML values per record (renderers also look at them to classify content). */
const MAX_EXPANSIONS = 1024;
/**
 * Bytes of values a record may render, all renderings together. A record holds at most 64 KiB;
 * the margin covers repeated renderings of one record and repeated uses of one value.
 */
const MAX_VALUE_BYTES = 16 * 1024 * 1024;
/** Element and attribute names are short identifiers; a long one is damage or an attack. */
export const MAX_NAME_LENGTH = 1024;

/** Work allowed for one record, shared by everything parsed for it. */
interface Budget {
  expansions: number;
  bytes: number;
}
export interface Scope {
  depth: number;
  budget: Budget;
  /** Set while parsing a template definition. */
  nameFields?: NameFields;
}

const enum Tok {
  EOF = 0x00,
  OpenStart = 0x01,
  CloseStart = 0x02,
  CloseEmpty = 0x03,
  End = 0x04,
  Value = 0x05,
  Attribute = 0x06,
  CData = 0x07,
  CharRef = 0x08,
  EntityRef = 0x09,
  PITarget = 0x0a,
  PIData = 0x0b,
  TemplateInstance = 0x0c,
  NormalSubst = 0x0d,
  OptionalSubst = 0x0e,
  FragmentHeader = 0x0f,
}

/**
 * Where a template definition refers to names, so an identical definition in another chunk
 * (at another offset) can be recognised without parsing it again.
 */
interface NameFields {
  start: number;
  end: number;
  /** Positions of name-offset fields, relative to `start`. */
  fields: number[];
  /** Where they point, relative to `start`; names stored earlier in the chunk are outside. */
  targets: number[];
  /** The names themselves, to check references to names stored outside the definition. */
  names: string[];
}

/** Parses a BinXML fragment in `chunk.buf[start, end)` into nodes; a record starts a new scope. */
export function parseFragment(
  chunk: ChunkContext,
  start: number,
  end: number,
  scope: Scope = { depth: 0, budget: { expansions: 0, bytes: 0 } },
): ContentNode[] {
  if (scope.depth > MAX_NESTING) throw new BinXmlError('BinXML nested too deeply', start);
  return new Parser(chunk, start, Math.min(end, chunk.buf.length), scope).fragment();
}

class Parser {
  private readonly nameFields: NameFields | undefined;
  constructor(
    private readonly chunk: ChunkContext,
    private pos: number,
    private readonly end: number,
    private readonly scope: Scope,
  ) {
    this.nameFields = scope.nameFields;
  }

  fragment(): ContentNode[] {
    const nodes: ContentNode[] = [];
    while (this.pos < this.end) {
      const token = this.buf[this.pos] & 0x0f;
      const raw = this.buf[this.pos];
      if (raw === Tok.EOF) break;
      if (token === Tok.FragmentHeader && raw === Tok.FragmentHeader) {
        this.need(4);
        this.pos += 4; // token, major, minor, flags
      } else if (raw === Tok.TemplateInstance) {
        nodes.push(this.templateInstance());
      } else if (token === Tok.OpenStart && (raw & 0xb0) === 0) {
        nodes.push(this.element(0));
      } else {
        this.content(nodes, raw);
      }
    }
    return nodes;
  }

  private get buf(): Buffer {
    return this.chunk.buf;
  }

  private fail(message: string): never {
    throw new BinXmlError(message, this.pos);
  }

  private need(bytes: number): void {
    if (this.pos + bytes > this.end) this.fail(`BinXML truncated: ${bytes} bytes needed`);
  }

  private u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  private u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  private u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  private utf16(chars: number): string {
    this.need(chars * 2);
    const s = this.buf.toString('utf16le', this.pos, this.pos + chars * 2);
    this.pos += chars * 2;
    return s;
  }

  /** Reads a name reference; a name stored right here (first use in the chunk) is skipped over. */
  private name(): string {
    const offset = this.u32();
    const name = readName(this.chunk, offset);
    const fields = this.nameFields;
    if (fields) {
      fields.fields.push(this.pos - 4 - fields.start);
      fields.targets.push(offset - fields.start);
      fields.names.push(name);
    }
    if (offset === this.pos) this.pos += 10 + name.length * 2;
    return name;
  }

  private element(depth: number): ElementNode {
    if (depth > MAX_ELEMENT_DEPTH) this.fail('BinXML elements nested too deeply');
    const hasAttributes = (this.u8() & 0x40) !== 0;
    this.u16(); // dependency identifier
    this.u32(); // data size
    const name = this.name();
    const attrs: AttributeNode[] = [];
    if (hasAttributes) {
      this.u32(); // attribute list size
      while (this.pos < this.end && (this.buf[this.pos] & 0x0f) === Tok.Attribute) {
        this.pos++;
        const attr: AttributeNode = { name: this.name(), value: [] };
        this.attributeValue(attr.value);
        attrs.push(attr);
      }
    }
    const node: ElementNode = { kind: Kind.Element, name, attrs, children: [] };
    const close = this.u8() & 0x0f;
    if (close === Tok.CloseEmpty) return node;
    if (close !== Tok.CloseStart) {
      this.pos--;
      this.fail(`expected end of start tag of <${name}>, found token 0x${close.toString(16)}`);
    }
    for (;;) {
      this.need(1);
      const raw = this.buf[this.pos];
      const token = raw & 0x0f;
      if (token === Tok.End) {
        this.pos++;
        return node;
      }
      if (token === Tok.OpenStart) node.children.push(this.element(depth + 1));
      else if (raw === Tok.TemplateInstance) node.children.push(this.templateInstance());
      else if (raw === Tok.EOF) this.fail(`BinXML ended inside <${name}>`);
      else this.content(node.children, raw);
    }
  }

  private attributeValue(out: ContentNode[]): void {
    while (this.pos < this.end) {
      const token = this.buf[this.pos] & 0x0f;
      if (
        token !== Tok.Value &&
        token !== Tok.NormalSubst &&
        token !== Tok.OptionalSubst &&
        token !== Tok.CharRef &&
        token !== Tok.EntityRef
      ) {
        return;
      }
      this.content(out, this.buf[this.pos]);
    }
  }

  /** Character data and substitutions: everything that can appear between tags. */
  private content(out: ContentNode[], raw: number): void {
    const token = raw & 0x0f;
    this.pos++;
    switch (token) {
      case Tok.Value: {
        const type = this.u8();
        out.push({ kind: Kind.Text, text: this.textValue(type) });
        return;
      }
      case Tok.NormalSubst:
      case Tok.OptionalSubst: {
        const index = this.u16();
        const type = this.u8();
        out.push({ kind: Kind.Subst, index, type, optional: token === Tok.OptionalSubst });
        return;
      }
      case Tok.CharRef:
        out.push({ kind: Kind.CharRef, code: this.u16() });
        return;
      case Tok.EntityRef:
        out.push({ kind: Kind.EntityRef, name: this.name() });
        return;
      case Tok.CData:
        out.push({ kind: Kind.CData, text: this.utf16(this.u16()) });
        return;
      case Tok.PITarget: {
        const target = this.name();
        let data = '';
        if (this.pos < this.end && (this.buf[this.pos] & 0x0f) === Tok.PIData) {
          this.pos++;
          data = this.utf16(this.u16());
        }
        out.push({ kind: Kind.PI, target, data });
        return;
      }
      default:
        this.pos--;
        this.fail(`unexpected BinXML token 0x${raw.toString(16)}`);
    }
  }

  /** A Value token's text: in practice always a length-prefixed UTF-16 string. */
  private textValue(type: number): string {
    if (type === 0x01) return this.utf16(this.u16());
    if (type === 0x02) {
      const length = this.u16();
      this.need(length);
      const s = this.buf.toString('latin1', this.pos, this.pos + length);
      this.pos += length;
      return s;
    }
    this.pos--;
    return this.fail(`unsupported value text type 0x${type.toString(16)}`);
  }

  private templateInstance(): TemplateNode {
    // Windows never nests instances in a definition; allowing it lets templates expand exponentially.
    if (this.nameFields) this.fail('template instance inside a template definition');
    this.pos++; // token
    this.u8(); // unknown, always 1
    this.u32(); // template id (the first bytes of the definition's GUID)
    const definitionOffset = this.u32();
    if (definitionOffset === this.pos) {
      // The definition follows inline: next-offset (4), GUID (16), data size (4), data.
      this.need(24);
      const dataSize = this.buf.readUInt32LE(this.pos + 20);
      this.pos += 24 + dataSize;
      if (this.pos > this.end) this.fail('template definition runs past the end of its record');
    }
    const template = this.template(definitionOffset);
    const count = this.u32();
    if (count * 4 > this.end - this.pos) this.fail(`template instance claims ${count} values`);
    const descriptors = this.pos;
    const offsets: number[] = new Array<number>(count);
    this.pos += count * 4;
    for (let i = 0; i < count; i++) {
      offsets[i] = this.pos;
      this.pos += this.buf[descriptors + i * 4] | (this.buf[descriptors + i * 4 + 1] << 8);
    }
    if (this.pos > this.end) this.fail('template values run past the end of their record');
    return { kind: Kind.Template, template, values: new Values(this.chunk, descriptors, offsets, this.scope) };
  }

  private template(offset: number): Template {
    const cached = this.chunk.templates.get(offset);
    if (cached) return cached;
    if (offset < 512 || offset + 24 > CHUNK_SIZE || offset + 24 > this.buf.length) {
      this.fail(`template definition offset 0x${offset.toString(16)} is outside the chunk`);
    }
    const dataSize = this.buf.readUInt32LE(offset + 20);
    const start = offset + 24;
    const end = Math.min(start + dataSize, this.buf.length);
    const sharedKey = this.buf.toString('latin1', offset + 4, offset + 24); // GUID and size
    const shared = SHARED_TEMPLATES.get(sharedKey);
    if (shared && sameDefinition(this.chunk, start, end, shared)) {
      this.chunk.templates.set(offset, shared.template);
      return shared.template;
    }
    // A definition holds no template instances (refused while parsing it), so it cannot recurse.
    const fields: NameFields = { start, end, fields: [], targets: [], names: [] };
    const nodes = parseFragment(this.chunk, start, end, { ...this.scope, nameFields: fields });
    const template: Template = { guid: formatGuid(this.buf, offset + 4), nodes, cache: new Map() };
    this.chunk.templates.set(offset, template);
    share(sharedKey, Buffer.from(this.buf.subarray(start, end)), fields, template);
    return template;
  }
}

/**
 * Templates seen in earlier chunks. The same event type is defined again in every chunk, at
 * another offset; a definition whose bytes match, whose inline names moved with it and whose
 * other name references read the same names, is the same template: its parse and compiled
 * plans are reused. Bounded, per thread.
 */
interface SharedTemplate {
  bytes: Buffer;
  fields: number[];
  targets: number[];
  names: string[];
  template: Template;
}
const SHARED_TEMPLATES = new Map<string, SharedTemplate>();
const MAX_SHARED_TEMPLATES = 4096;

function share(key: string, bytes: Buffer, fields: NameFields, template: Template): void {
  if (SHARED_TEMPLATES.size >= MAX_SHARED_TEMPLATES) SHARED_TEMPLATES.clear();
  SHARED_TEMPLATES.set(key, { bytes, fields: fields.fields, targets: fields.targets, names: fields.names, template });
}

function sameDefinition(chunk: ChunkContext, start: number, end: number, shared: SharedTemplate): boolean {
  const { bytes, fields, targets, names } = shared;
  const buf = chunk.buf;
  if (end - start !== bytes.length) return false;
  let from = 0;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i];
    if (buf.compare(bytes, from, field, start + from, start + field) !== 0) return false;
    const target = buf.readUInt32LE(start + field);
    const inside = targets[i] >= 0 && targets[i] < bytes.length;
    if (inside ? target !== start + targets[i] : !sameName(chunk, target, names[i])) return false;
    // An inline name is compared as bytes; skip only the offset field itself.
    from = field + 4;
  }
  return buf.compare(bytes, from, bytes.length, start + from, end) === 0;
}

function sameName(chunk: ChunkContext, offset: number, name: string): boolean {
  try {
    return readName(chunk, offset) === name;
  } catch {
    return false;
  }
}

/** Reads a name structure (next offset, hash, length, UTF-16 text, NUL) at a chunk offset. */
export function readName(chunk: ChunkContext, offset: number): string {
  let name = chunk.names.get(offset);
  if (name !== undefined) return name;
  const buf = chunk.buf;
  const where = `name at 0x${offset.toString(16)}`;
  if (offset < 128 || offset + 8 > buf.length) throw new BinXmlError(`${where} is outside the chunk`, offset);
  const length = buf.readUInt16LE(offset + 6);
  const end = offset + 8 + length * 2;
  if (length > MAX_NAME_LENGTH) throw new BinXmlError(`${where} is ${length} characters long`, offset);
  if (end + 2 > buf.length || buf[end] !== 0 || buf[end + 1] !== 0) throw new BinXmlError(`${where} is not terminated`, offset);
  name = buf.ucs2Slice(offset + 8, end);
  chunk.names.set(offset, name);
  return name;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0').toUpperCase());

/** Byte order of a GUID's text: the first three groups are little-endian; -1 is a dash. */
const GUID_ORDER = [3, 2, 1, 0, -1, 5, 4, -1, 7, 6, -1, 8, 9, -1, 10, 11, 12, 13, 14, 15];

/** A GUID as Windows structures it, uppercase, no braces. */
export function formatGuid(buf: Uint8Array, o: number): string {
  let s = '';
  for (const i of GUID_ORDER) s += i < 0 ? '-' : HEX[buf[o + i]];
  return s;
}

/** Uppercase hex of a byte range. */
export function hexUpper(buf: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += HEX[buf[i]];
  return s;
}
