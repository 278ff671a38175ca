/**
 * JSON event files: JSON lines, pretty-printed objects one after another (as evtx_dump writes
 * them), or one array of objects (as Elasticsearch exports are); each object is an event. The text
 * is scanned as it streams, so neither a large file nor one long line needs the file in memory.
 */
import { flattenEvtxJson, type JsonObject } from '@firebreak/evtx';
import { objectEvent, type SigmaEvent } from '@firebreak/sigma';
import { FirebreakEvent, type SourceFormat } from '../event.js';
import type { ReadProblem } from '../event-files.js';
import { errorText, isRecordLine } from './content.js';
import { ecsFields, isEcsWindows } from './ecs.js';

/** The text of one JSON value and the line it starts on. */
export interface JsonText {
  text: string;
  line: number;
}

/** A value beyond this is skipped with a problem: one endless value must not exhaust memory. */
export const MAX_JSON_VALUE = 16 * 1024 * 1024;

/** Events of JSON text; values that are not JSON objects are reported with their line. */
export async function* jsonEvents(
  path: string,
  text: AsyncIterable<string>,
  onProblem: (p: ReadProblem) => void,
): AsyncGenerator<FirebreakEvent> {
  const report = (line: number, message: string): void => onProblem({ origin: `${path}:${line}`, message });
  const scanner = new JsonScanner(report);
  const events = function* (values: JsonText[]): Generator<FirebreakEvent> {
    for (const value of values) {
      const event = jsonEvent(path, value, report);
      if (event) yield event;
    }
  };
  // The values each piece completes, without an await per value.
  for await (const piece of text) {
    scanner.feed(piece);
    yield* events(scanner.take());
  }
  scanner.end();
  yield* events(scanner.take());
}

/** The event of one JSON value; anything wrong with it is reported with its line, and the reading goes on. */
function jsonEvent(path: string, value: JsonText, report: (line: number, message: string) => void): FirebreakEvent | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.text);
  } catch (e) {
    report(value.line, (e as Error).message);
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    report(value.line, 'not a JSON object');
    return undefined;
  }
  const object = parsed as JsonObject;
  try {
    const format = jsonFormat(object);
    const fields = fieldsOf(object, format, (message) => report(value.line, message));
    return new FirebreakEvent(fields, { file: path, format, origin: `${path}:${value.line}` }, () => object);
  } catch (e) {
    // A crafted value can break what no real log does (a stack overflow, say): that event is lost, not the file.
    report(value.line, `cannot read this event (${errorText(e)}); skipped`);
    return undefined;
  }
}

/** evtx_dump JSON (`{"Event": {"System": …}}`), Winlogbeat/Elastic Agent ECS (`winlog`), or other JSON. */
function jsonFormat(object: JsonObject): 'evtx-json' | 'ecs' | 'json' {
  const event = object.Event;
  if (event !== null && typeof event === 'object' && !Array.isArray(event) && Object.hasOwn(event, 'System')) return 'evtx-json';
  return isEcsWindows(object) ? 'ecs' : 'json';
}

function fieldsOf(object: JsonObject, format: SourceFormat, onProblem?: (message: string) => void): SigmaEvent {
  if (format === 'evtx-json') return objectEvent(flattenEvtxJson(object, onProblem));
  if (format === 'ecs') return ecsFields(object);
  return objectEvent(object);
}

/**
 * Top-level JSON values from pieces of text (split anywhere). A top-level array's elements are the
 * values. Damage stays local: a string still open at the end of a line (JSON strings cannot hold a
 * line break), or a `{` opening a line inside a value (pretty printers indent nested objects), ends
 * the broken value there and the next one is read. Text that is not JSON is a value up to the end of
 * its line (so its parse error names it); blank lines, a byte-order mark and evtx_dump's `Record N`
 * lines are skipped. A value longer than MAX_JSON_VALUE is reported to `onProblem` and skipped.
 */
export async function* jsonValues(
  pieces: AsyncIterable<string> | Iterable<string>,
  onProblem: (line: number, message: string) => void = () => {},
): AsyncGenerator<JsonText> {
  const scanner = new JsonScanner(onProblem);
  for await (const piece of pieces) {
    scanner.feed(piece);
    yield* scanner.take();
  }
  scanner.end();
  yield* scanner.take();
}

const enum Mode {
  /** Between values. */
  Between,
  /** Inside an object or array. */
  Value,
  /** A value that is not an object or array: up to a delimiter or the end of its line. */
  Scalar,
}

const LF = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;
const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const BOM = 0xfeff;

class JsonScanner {
  private mode = Mode.Between;
  private line = 1;
  private atLineStart = true;
  /** Brackets open in the current value. */
  private depth = 0;
  /** Inside a top-level array, whose elements are the values. */
  private inArray = false;
  private inString = false;
  private escaped = false;
  /** The current value's text from earlier pieces. */
  private parts: string[] = [];
  private length = 0;
  private startLine = 0;
  /** The current value outgrew MAX_JSON_VALUE: scanned to its end, not kept. */
  private skipping = false;
  private done: JsonText[] = [];

  constructor(private readonly onProblem: (line: number, message: string) => void) {}

  take(): JsonText[] {
    const done = this.done;
    this.done = [];
    return done;
  }

  feed(s: string): void {
    let from = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      const lineStart = this.atLineStart;
      this.atLineStart = c === LF;
      if (this.mode === Mode.Between) {
        if (this.between(c)) {
          from = i;
          this.begin(c);
        }
      } else if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
        else if (c === LF) this.finish(s, from, i);
      } else if (c === QUOTE) this.inString = true;
      else if (this.mode === Mode.Scalar) {
        if (c === LF || (this.inArray && (c === COMMA || c === CLOSE_BRACKET))) {
          this.finish(s, from, i);
          if (c === CLOSE_BRACKET) this.inArray = false;
        }
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (c === OPEN_BRACE && lineStart) {
          // A `{` opening a line: the value before it is broken, and a new one starts here.
          this.finish(s, from, i);
          from = i;
          this.begin(c);
        } else this.depth++;
      } else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --this.depth === 0) this.finish(s, from, i + 1);
      if (c === LF) this.line++;
    }
    if (this.mode !== Mode.Between) this.keep(s.slice(from));
  }

  end(): void {
    if (this.mode !== Mode.Between) this.finish('', 0, 0);
  }

  /** Whether `c` starts a value; otherwise it is skipped (whitespace, array punctuation). */
  private between(c: number): boolean {
    if (c === SPACE || c === TAB || c === CR || c === LF || c === BOM) return false;
    if (this.inArray) {
      if (c === COMMA) return false;
      if (c === CLOSE_BRACKET) {
        this.inArray = false;
        return false;
      }
    } else if (c === OPEN_BRACKET) {
      this.inArray = true;
      return false;
    }
    return true;
  }

  private begin(c: number): void {
    this.startLine = this.line;
    this.mode = c === OPEN_BRACE || c === OPEN_BRACKET ? Mode.Value : Mode.Scalar;
    this.depth = this.mode === Mode.Value ? 1 : 0;
    this.inString = c === QUOTE;
  }

  private keep(text: string): void {
    if (!this.tooLong(text.length)) this.parts.push(text);
  }

  /** Whether the current value, `more` characters longer, is (or was already) too long to keep. */
  private tooLong(more: number): boolean {
    this.length += more;
    if (!this.skipping && this.length > MAX_JSON_VALUE) {
      this.skipping = true;
      this.parts = [];
      this.onProblem(this.startLine, `JSON value longer than ${MAX_JSON_VALUE} characters; skipped`);
    }
    return this.skipping;
  }

  /** Ends the current value at `s[to]`, its text starting at `s[from]` after the earlier parts. */
  private finish(s: string, from: number, to: number): void {
    if (!this.tooLong(to - from)) {
      const text = this.parts.length === 0 ? s.slice(from, to) : this.parts.join('') + s.slice(from, to);
      const skippedLine = this.mode === Mode.Scalar && !this.inArray && isRecordLine(text.trim());
      if (!skippedLine) this.done.push({ text, line: this.startLine });
    }
    this.mode = Mode.Between;
    this.depth = this.length = 0;
    this.parts = [];
    this.inString = this.escaped = this.skipping = false;
  }
}
