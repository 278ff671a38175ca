/**
 * Windows XML event exports: `wevtutil qe /f:xml` (<Event> elements one after another, no root)
 * and Event Viewer's "Save as XML" (<Events><Event>…</Event></Events>). Each <Event> element is cut
 * out of the stream and parsed on its own, so a damaged event is reported and the next one read.
 *
 * The parser is written for this one shape rather than taken from a general XML library: elements,
 * attributes, text, CDATA, comments. The five predefined entities and character references are the
 * only references it expands; a DTD is skipped, never read, so no entity can be defined or fetched.
 * Unlike an XML parser, it keeps carriage returns in values: Windows writes a value's CRLF as it is,
 * and the EVTX record holds it, so the rules see the same text whichever way the event came.
 */
import type { FlatEvent, FlatValue } from '@firebreak/evtx';
import { objectEvent } from '@firebreak/sigma';
import { FirebreakEvent } from '../event.js';
import type { ReadProblem } from '../event-files.js';
import { trimTrailingSpace } from '@firebreak/evtx';
import { errorText, excerpt } from './content.js';

/** An event longer than this is skipped with a problem: one endless element must not exhaust memory. */
export const MAX_EVENT_XML = 4 * 1024 * 1024;

export async function* windowsXmlEvents(
  path: string,
  text: AsyncIterable<string>,
  onProblem: (p: ReadProblem) => void,
): AsyncGenerator<FirebreakEvent> {
  const report = (line: number, message: string): void => onProblem({ origin: `${path}:${line}`, message });
  const splitter = new EventSplitter();
  const events = function* (pieces: Piece[]): Generator<FirebreakEvent> {
    for (const piece of pieces) {
      if ('problem' in piece) report(piece.line, piece.problem);
      else {
        const event = xmlEvent(path, piece.xml, piece.line, report);
        if (event) yield event;
      }
    }
  };
  for await (const piece of text) yield* events(splitter.feed(piece));
  yield* events(splitter.end());
}

/**
 * The event `xml` holds. When it does not parse because an event was cut short and the next one
 * began inside it (the splitter only looks for end tags), the broken part is reported and the rest
 * read as the event it is (a loop, not recursion: a crafted file can hold a hundred thousand such starts).
 */
function xmlEvent(path: string, xml: string, line: number, report: (line: number, message: string) => void): FirebreakEvent | undefined {
  let rest = xml;
  let restLine = line;
  for (;;) {
    const event = parsedEvent(path, rest, restLine);
    if (event instanceof FirebreakEvent) return event;
    const next = event instanceof XmlError ? nextEventStart(rest) : -1;
    if (next < 0) {
      const what = event instanceof XmlError ? 'malformed event XML' : 'cannot read this event';
      report(restLine, `${what}: ${errorText(event)}; skipped`);
      return undefined;
    }
    report(restLine, 'this <Event> element is not closed before the next one; skipped');
    restLine += countLines(rest, next);
    rest = rest.slice(next);
  }
}

/** The event of one <Event> element, or what went wrong: any error stays with its event. */
function parsedEvent(path: string, xml: string, line: number): FirebreakEvent | Error {
  try {
    const fields = objectEvent(flattenEventXml(parseXml(xml)));
    return new FirebreakEvent(fields, { file: path, format: 'windows-xml', origin: `${path}:${line}` }, () => xml);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** Where a second <Event> start tag is in `xml` (which starts with one), or -1. */
function nextEventStart(xml: string): number {
  for (let at = xml.indexOf('<Event', 1); at >= 0; at = xml.indexOf('<Event', at + 1)) if (isTagStart(xml, at, 'Event')) return at;
  return -1;
}

/** Line breaks in text[0, end), looking no further (a search for the next one could run to the end of the text, once per retry). */
function countLines(text: string, end: number): number {
  let lines = 0;
  for (let i = 0; i < end; i++) if (text.charCodeAt(i) === 10) lines++;
  return lines;
}

// ---- Cutting <Event> elements out of the stream ----------------------------------------------------

/** An event's XML, or a problem, in file order. */
type Piece = { xml: string; line: number } | { problem: string; line: number };

const enum State {
  /** Between events: declarations, the <Events> root, comments. */
  Outside,
  /** Inside an <Event> element, which starts at buf[0]. */
  Event,
  /** Inside an event too long to keep, until its end tag. */
  Skip,
}

/** Enough text to tell `<![CDATA[`, `<!--` and `</Event>` apart. */
const LOOKAHEAD = 9;

/**
 * Searches for one token in a buffer that grows at its end and is cut at its front, remembering
 * how far it has looked: asked again from a later place, it does not read the same text again. An
 * event of half a million comments asks once per comment, and searching from each comment to the
 * end of the text took minutes.
 */
class TokenSearch {
  /** No accepted match starts in buf[start, end); when `hit`, one starts at `end`. */
  private start = 0;
  private end = 0;
  private hit = false;

  constructor(
    private readonly token: string,
    /** Whether the match at `at` counts; undefined when the text so far cannot tell. */
    private readonly accept: (buf: string, at: number) => boolean | undefined = () => true,
  ) {}

  /** The first accepted match at or after `from` (or one the text cannot tell yet), or -1. */
  next(buf: string, from: number): number {
    if (from < this.start || from > this.end) {
      this.start = this.end = from;
      this.hit = false;
    }
    if (this.hit) return this.end;
    for (let at = buf.indexOf(this.token, this.end); ; at = buf.indexOf(this.token, at + 1)) {
      if (at < 0) {
        // A match can still begin in the last characters, once more text arrives.
        this.end = Math.max(this.end, buf.length - this.token.length + 1);
        return -1;
      }
      const accepted = this.accept(buf, at);
      if (accepted === false) continue;
      this.end = at;
      this.hit = accepted === true;
      return at;
    }
  }

  /** The first `by` characters of the buffer were dropped. */
  shift(by: number): void {
    this.start = Math.max(0, this.start - by);
    this.end -= by;
    if (this.end < 0) {
      this.start = this.end = 0;
      this.hit = false;
    }
  }
}

class EventSplitter {
  private buf = '';
  /** Where scanning resumes in buf. */
  private pos = 0;
  /** The line buf[0] is on. */
  private line = 1;
  private state = State.Outside;
  /** Text outside events was reported since the last event (reported once per stretch). */
  private strayReported = false;
  private ended = false;
  private out: Piece[] = [];
  /** `</Event>` end tags, and a `</Event` at the end of the text that may still become one. */
  private readonly endTags = new TokenSearch('</Event', (buf, at) => (at + 7 >= buf.length ? undefined : isTagStart(buf, at, '/Event')));
  /** Other searches, by token. */
  private readonly searches = new Map<string, TokenSearch>();

  feed(text: string): Piece[] {
    this.buf += text;
    return this.scan();
  }

  end(): Piece[] {
    this.ended = true;
    const out = this.scan();
    if (this.state === State.Event) out.push({ problem: 'the file ends inside this <Event> element; skipped', line: this.line });
    return out;
  }

  private report(line: number, problem: string): void {
    this.out.push({ problem, line });
  }

  private scan(): Piece[] {
    for (;;) {
      const progressed =
        this.state === State.Outside ? this.scanOutside() : this.state === State.Event ? this.scanEvent() : this.scanSkipped();
      if (!progressed) break;
    }
    const out = this.out;
    this.out = [];
    return out;
  }

  /** Where `token` next starts in buf at or after `from`, or -1. */
  private find(token: string, from: number): number {
    let search = this.searches.get(token);
    if (search === undefined) this.searches.set(token, (search = new TokenSearch(token)));
    return search.next(this.buf, from);
  }

  /** Index just past `token` found from `from`, or -1. */
  private after(token: string, from: number): number {
    const at = this.find(token, from);
    return at < 0 ? -1 : at + token.length;
  }

  /** Drops buf[0..to) (counting its lines); scanning goes on from `to`. */
  private consume(to: number): void {
    this.line += this.linesBefore(to);
    this.buf = this.buf.slice(to);
    this.pos = 0;
    this.endTags.shift(to);
    for (const search of this.searches.values()) search.shift(to);
  }

  /** Whether there is enough text after `at` to decide, or the input has ended. */
  private canDecide(at: number): boolean {
    return this.ended || this.buf.length - at >= LOOKAHEAD;
  }

  private scanOutside(): boolean {
    const lt = this.find('<', this.pos);
    this.checkStray(this.pos, lt < 0 ? this.buf.length : lt);
    if (lt < 0 || !this.canDecide(lt)) {
      this.consume(lt < 0 ? this.buf.length : lt);
      return false;
    }
    if (isTagStart(this.buf, lt, 'Event')) {
      this.consume(lt);
      this.state = State.Event;
      this.strayReported = false;
      this.pos = 1;
      return true;
    }
    const end = this.markupEnd(lt);
    if (end < 0) {
      const tooLong = this.buf.length - lt > MAX_EVENT_XML;
      if (this.ended || tooLong) this.report(this.lineAt(lt), tooLong ? 'markup too long; skipped' : 'the file ends inside markup');
      this.consume(this.ended || tooLong ? this.buf.length : lt);
      return false;
    }
    this.pos = end;
    return true;
  }

  /** Just past the declaration, comment, processing instruction or tag at `lt` (-1: not in buf yet). */
  private markupEnd(lt: number): number {
    const buf = this.buf;
    if (buf.startsWith('<!--', lt)) return this.after('-->', lt + 4);
    if (buf.startsWith('<?', lt)) return this.after('?>', lt + 2);
    const gt = this.find('>', lt);
    // A DOCTYPE's internal subset holds `>`; it is skipped whole and never interpreted.
    const bracket = buf.startsWith('<!', lt) ? this.find('[', lt) : -1;
    if (bracket >= 0 && (gt < 0 || bracket < gt)) return this.after(']>', bracket);
    return gt < 0 ? -1 : gt + 1;
  }

  /** Looks for the end tag; comments and CDATA (which may hold one) are passed over. */
  private scanEvent(): boolean {
    const buf = this.buf;
    if (buf.length > MAX_EVENT_XML) {
      this.report(this.line, `<Event> element longer than ${MAX_EVENT_XML} characters; skipped`);
      this.state = State.Skip;
      return true;
    }
    const close = this.endTags.next(buf, this.pos);
    // A comment or CDATA before the end tag.
    const nextBang = this.find('<!', this.pos);
    const bang = close >= 0 && nextBang > close ? -1 : nextBang;
    const first = bang >= 0 ? bang : close;
    if (first < 0 || !this.canDecide(first)) {
      // Resume where a tag split between pieces could start.
      this.pos = Math.max(this.pos, first < 0 ? buf.length - LOOKAHEAD : first);
      return false;
    }
    const end = first === bang ? this.skipDeclaration(bang) : this.after('>', close);
    if (end < 0) return false;
    if (first === close) {
      this.out.push({ xml: buf.slice(0, end), line: this.line });
      this.consume(end);
      this.state = State.Outside;
    } else this.pos = end;
    return true;
  }

  /** Just past a comment or CDATA section at `bang` (-1: its end is not in buf yet); other `<!` is left to the parser. */
  private skipDeclaration(bang: number): number {
    if (this.buf.startsWith('<!--', bang)) return this.after('-->', bang + 4);
    if (this.buf.startsWith('<![CDATA[', bang)) return this.after(']]>', bang + 9);
    return bang + 2;
  }

  private scanSkipped(): boolean {
    for (let lt = this.buf.indexOf('</Event', this.pos); lt >= 0; lt = this.buf.indexOf('</Event', lt + 1)) {
      if (!isTagStart(this.buf, lt, '/Event')) continue;
      const end = after(this.buf, '>', lt);
      if (end < 0) break;
      this.consume(end);
      this.state = State.Outside;
      return true;
    }
    // Keep only what could be the start of the end tag.
    this.consume(Math.max(0, this.buf.length - LOOKAHEAD));
    return false;
  }

  private checkStray(from: number, to: number): void {
    if (this.strayReported) return;
    for (let i = from; i < to; i++) {
      const c = this.buf.charCodeAt(i);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) {
        this.report(this.lineAt(i), 'text outside <Event> elements; ignored');
        this.strayReported = true;
        return;
      }
    }
  }

  private lineAt(index: number): number {
    return this.line + this.linesBefore(index);
  }

  /** Line breaks in buf[0, end). */
  private linesBefore(end: number): number {
    let lines = 0;
    for (let lf = this.find('\n', 0); lf >= 0 && lf < end; lf = this.find('\n', lf + 1)) lines++;
    return lines;
  }
}

/** `<name` (or `</name` with name '/…') at `lt`, followed by whitespace, `>` or `/`. */
function isTagStart(buf: string, lt: number, name: string): boolean {
  if (!buf.startsWith(name, lt + 1)) return false;
  const next = buf[lt + 1 + name.length];
  return next === '>' || next === '/' || next === ' ' || next === '\t' || next === '\r' || next === '\n';
}

/** Index just past `token` found from `from`, or -1. */
function after(text: string, token: string, from: number): number {
  const at = text.indexOf(token, from);
  return at < 0 ? -1 : at + token.length;
}

// ---- Parsing one event --------------------------------------------------------------------------

interface XmlElement {
  name: string;
  attributes: [string, string][];
  children: (XmlElement | string)[];
}

class XmlError extends Error {}

const MAX_DEPTH = 64;

/** One element (with comments, processing instructions and whitespace around it); throws XmlError. */
function parseXml(xml: string): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let pos = 0;
  while (pos < xml.length) {
    const lt = xml.indexOf('<', pos);
    const textEnd = lt < 0 ? xml.length : lt;
    if (textEnd > pos) addText(stack, decodeReferences(xml.slice(pos, textEnd)));
    if (lt < 0) break;
    if (xml.startsWith('<!--', lt)) pos = required(after(xml, '-->', lt + 4), 'comment');
    else if (xml.startsWith('<![CDATA[', lt)) {
      const end = required(after(xml, ']]>', lt + 9), 'CDATA section');
      addText(stack, xml.slice(lt + 9, end - 3));
      pos = end;
    } else if (xml.startsWith('<?', lt)) pos = required(after(xml, '?>', lt + 2), 'processing instruction');
    else if (xml.startsWith('<!', lt)) throw new XmlError('a declaration inside an event');
    else if (xml.startsWith('</', lt)) {
      const { name, end } = readName(xml, lt + 2);
      const gt = skipSpace(xml, end);
      if (xml[gt] !== '>') throw new XmlError(`end tag </${shown(name)}> is not closed`);
      const open = stack.pop();
      if (open?.name !== name) throw new XmlError(`</${shown(name)}> does not close ${open ? `<${shown(open.name)}>` : 'any element'}`);
      if (stack.length === 0) root = open;
      pos = gt + 1;
    } else {
      if (root !== undefined) throw new XmlError('content after the element');
      const { element, end, empty } = readStartTag(xml, lt + 1);
      stack.at(-1)?.children.push(element);
      if (empty) {
        if (stack.length === 0) root = element;
      } else if (stack.push(element) > MAX_DEPTH) throw new XmlError(`elements nested more than ${MAX_DEPTH} deep`);
      pos = end;
    }
  }
  if (stack.length > 0) throw new XmlError(`<${shown(stack.at(-1)!.name)}> is not closed`);
  if (root === undefined) throw new XmlError('no element');
  return root;
}

function addText(stack: XmlElement[], text: string): void {
  const parent = stack.at(-1);
  if (parent) parent.children.push(text);
  else if (text.trim() !== '') throw new XmlError('text outside the element');
}

/** A name from the log as a message quotes it: a crafted name can be megabytes long. */
function shown(name: string): string {
  return excerpt(name, 40);
}

function required(index: number, what: string): number {
  if (index < 0) throw new XmlError(`unterminated ${what}`);
  return index;
}

function readStartTag(xml: string, from: number): { element: XmlElement; end: number; empty: boolean } {
  const { name, end } = readName(xml, from);
  const element: XmlElement = { name, attributes: [], children: [] };
  let pos = end;
  for (;;) {
    pos = skipSpace(xml, pos);
    if (xml[pos] === '>') return { element, end: pos + 1, empty: false };
    if (xml.startsWith('/>', pos)) return { element, end: pos + 2, empty: true };
    const attribute = readName(xml, pos);
    pos = skipSpace(xml, attribute.end);
    if (xml[pos] !== '=') throw new XmlError(`attribute ${shown(attribute.name)} of <${shown(name)}> has no value`);
    pos = skipSpace(xml, pos + 1);
    const quote = xml[pos];
    if (quote !== '"' && quote !== "'") throw new XmlError(`attribute ${shown(attribute.name)} of <${shown(name)}> is not quoted`);
    const close = xml.indexOf(quote, pos + 1);
    if (close < 0) throw new XmlError(`attribute ${shown(attribute.name)} of <${shown(name)}> is not closed`);
    const raw = xml.slice(pos + 1, close);
    if (raw.includes('<')) throw new XmlError(`attribute ${shown(attribute.name)} of <${shown(name)}> holds "<"`);
    element.attributes.push([attribute.name, decodeReferences(raw)]);
    pos = close + 1;
  }
}

function readName(xml: string, from: number): { name: string; end: number } {
  let end = from;
  while (end < xml.length && !isNameEnd(xml.charCodeAt(end))) end++;
  if (end === from) throw new XmlError(`a name is missing at offset ${from}`);
  return { name: xml.slice(from, end), end };
}

/** White space, `/`, `>`, `=`, `<` and quotes end a name. */
function isNameEnd(c: number): boolean {
  return c <= 32 || c === 47 || c === 62 || c === 61 || c === 60 || c === 34 || c === 39;
}

function skipSpace(xml: string, from: number): number {
  let pos = from;
  while (xml[pos] === ' ' || xml[pos] === '\t' || xml[pos] === '\r' || xml[pos] === '\n') pos++;
  return pos;
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Expands the predefined entities and character references; any other reference is an error. */
function decodeReferences(text: string): string {
  let amp = text.indexOf('&');
  if (amp < 0) return text;
  let out = '';
  let from = 0;
  for (; amp >= 0; amp = text.indexOf('&', from)) {
    const semicolon = text.indexOf(';', amp);
    if (semicolon < 0 || semicolon - amp > 12) throw new XmlError('"&" that starts no reference');
    out += text.slice(from, amp) + reference(text.slice(amp + 1, semicolon));
    from = semicolon + 1;
  }
  return out + text.slice(from);
}

function reference(name: string): string {
  if (Object.hasOwn(PREDEFINED, name)) return PREDEFINED[name]!;
  if (name.startsWith('#')) {
    const hex = name[1] === 'x';
    const digits = name.slice(hex ? 2 : 1);
    const code = digits !== '' && (hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(digits) ? parseInt(digits, hex ? 16 : 10) : NaN;
    if (code <= 0x10ffff) return String.fromCodePoint(code);
  }
  throw new XmlError(`reference &${name}; is not one XML predefines`);
}

// ---- The flat view --------------------------------------------------------------------------------

/**
 * Sections whose fields get a prefix so they cannot collide with System fields (as in the EVTX view).
 * A Map, not an object: section names come from the log, and `<constructor>` must not find Object's.
 */
const SECTION_PREFIXES = new Map([['RenderingInfo', 'RenderingInfo_']]);

/** System values the EVTX record holds as numbers. */
const NUMERIC_SYSTEM_FIELDS = new Set([
  'EventID',
  'EventID_Qualifiers',
  'Version',
  'Level',
  'Task',
  'Opcode',
  'EventRecordID',
  'Execution_ProcessID',
  'Execution_ThreadID',
]);

/**
 * An <Event> element → the fields of the EVTX flat view: System element text by element name,
 * System attributes as Element_Attribute, data by `Name` attribute or else by element name (so
 * unnamed <Data> elements make one `Data` list), nested elements walked.
 */
function flattenEventXml(event: XmlElement): FlatEvent {
  const out = Object.create(null) as FlatEvent;
  for (const section of elements(event)) {
    if (section.name === 'System') flattenSystem(out, section);
    else for (const child of elements(section)) flattenData(out, child, SECTION_PREFIXES.get(section.name) ?? '');
  }
  return out;
}

function flattenSystem(out: FlatEvent, parent: XmlElement): void {
  for (const el of elements(parent)) {
    if (hasElements(el)) {
      flattenSystem(out, el);
      continue;
    }
    if (el.children.length > 0) add(out, el.name, systemValue(el.name, text(el)));
    for (const [attribute, value] of el.attributes) {
      const name = `${el.name}_${attribute}`;
      add(out, name, systemValue(name, value));
    }
  }
}

function flattenData(out: FlatEvent, el: XmlElement, prefix: string): void {
  const named = el.attributes.find(([attribute]) => attribute === 'Name');
  if (named) add(out, prefix + named[1], text(el));
  else if (hasElements(el)) for (const child of elements(el)) flattenData(out, child, prefix);
  else add(out, prefix + el.name, text(el));
}

function systemValue(name: string, value: string): string | number {
  return NUMERIC_SYSTEM_FIELDS.has(name) && /^\d{1,15}$/.test(value) ? Number(value) : value;
}

/** A repeated name collects its values in a list (made here, so appending in place is safe). */
function add(out: FlatEvent, name: string, value: string | number): void {
  const existing = out[name];
  if (existing === undefined) out[name] = value;
  else if (Array.isArray(existing)) (existing as (string | number)[]).push(value);
  else out[name] = [existing, value] as FlatValue;
}

function elements(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c !== 'string');
}

function hasElements(el: XmlElement): boolean {
  return el.children.some((c) => typeof c !== 'string');
}

/**
 * An element's text, trimmed at the end as the EVTX view trims values. An empty element is an empty
 * string: most often it was one in the record (a NULL value is the rarer cause).
 */
function text(el: XmlElement): string {
  let s = '';
  for (const c of el.children) if (typeof c === 'string') s += c;
  return trimTrailingSpace(s);
}
