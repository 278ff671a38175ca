/**
 * Reading events from files into the one flat event model: EVTX records through the reader's
 * lazy field view, evtx_dump JSON flattened the same way, other JSON objects as they are.
 * Files are streamed, so their size is not limited by memory. Damage is reported with where it
 * is, and the events around it are still read.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { flattenEvtxJson, readEvtx, type EvtxWarning, type JsonObject } from '@firebreak/evtx';
import { objectEvent, type SigmaEvent } from '@firebreak/sigma';
import { FirebreakEvent } from './event.js';

export interface ReadProblem {
  origin: string;
  message: string;
}

/** Events of an `.evtx`, `.json` or `.jsonl` file; damaged records and bad JSON go to `onProblem`. */
export async function* readEventFile(path: string, onProblem: (p: ReadProblem) => void = () => {}): AsyncGenerator<FirebreakEvent> {
  if (/\.evtx$/i.test(path)) {
    const onWarning = (w: EvtxWarning): void =>
      onProblem({ origin: `${path} ${w.chunk < 0 ? 'file header' : `chunk ${w.chunk}`} offset ${w.offset}`, message: w.message });
    for await (const record of readEvtx(path, { onWarning }))
      yield new FirebreakEvent(record.fields(), { file: path, format: 'evtx', origin: `${path}#${record.id}` }, () => record.json(), {
        recordId: Number(record.id),
      });
    return;
  }
  // Line by line: memory holds one value at a time, whatever the file's size.
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const value of jsonValues(lines)) yield* eventOf(path, value, onProblem);
}

function* eventOf(path: string, value: JsonText, onProblem: (p: ReadProblem) => void): Generator<FirebreakEvent> {
  const origin = `${path}:${value.line}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.text);
  } catch (e) {
    onProblem({ origin, message: (e as Error).message });
    return;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) onProblem({ origin, message: 'not a JSON object' });
  else {
    const object = parsed as JsonObject;
    const evtxJson = isEvtxJson(object);
    const fields = evtxJson ? objectEvent(flattenEvtxJson(object)) : objectEvent(object);
    yield new FirebreakEvent(fields, { file: path, format: evtxJson ? 'evtx-json' : 'json', origin }, () => object);
  }
}

/** evtx_dump JSON (`{"Event": {"System": …}}`) is flattened; anything else is read by path. */
export function toFields(object: JsonObject): SigmaEvent {
  return isEvtxJson(object) ? objectEvent(flattenEvtxJson(object)) : objectEvent(object);
}

function isEvtxJson(object: JsonObject): boolean {
  const event = object.Event;
  return event !== null && typeof event === 'object' && !Array.isArray(event) && 'System' in event;
}

/** The text of one top-level JSON value and the line it starts on. */
export interface JsonText {
  text: string;
  line: number;
}

/**
 * Top-level JSON values from lines of text: JSON lines, or pretty-printed objects one after
 * another (as evtx_dump writes them). Damage stays local: a string still open at the end of a line
 * (JSON strings cannot hold a line break), or a `{` opening a line inside an object (pretty
 * printers indent nested objects), ends the broken value there and the next one is read. A
 * byte-order mark, blank lines and evtx_dump's `Record N` lines are skipped.
 */
export async function* jsonValues(lines: AsyncIterable<string> | Iterable<string>): AsyncGenerator<JsonText> {
  let value: string[] = [];
  let start = 0;
  let lineNumber = 0;
  const scan = new BracketScan();
  for await (let line of lines) {
    lineNumber++;
    if (lineNumber === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    if (value.length > 0 && line.startsWith('{') && scan.depth > 0) {
      yield { text: value.join('\n'), line: start };
      value = [];
      scan.reset();
    }
    while (line !== '') {
      if (value.length === 0) {
        const trimmed = line.trim();
        if (trimmed === '' || /^Record \d+$/.test(trimmed)) break;
        start = lineNumber;
        if (trimmed[0] !== '{' && trimmed[0] !== '[') {
          yield { text: line, line: lineNumber };
          break;
        }
      }
      const end = scan.feed(line);
      if (end === BracketScan.OPEN) {
        value.push(line);
        break;
      }
      value.push(line.slice(0, end));
      yield { text: value.join('\n'), line: start };
      value = [];
      scan.reset();
      line = line.slice(end);
    }
  }
  if (value.length > 0) yield { text: value.join('\n'), line: start };
}

/** Tracks brackets and strings across the lines of one value. */
class BracketScan {
  static readonly OPEN = -1;
  depth = 0;
  private inString = false;
  private escaped = false;

  reset(): void {
    this.depth = 0;
    this.inString = this.escaped = false;
  }

  /** Index just past the value's closing bracket in `line`, or OPEN while the value goes on. */
  feed(line: string): number {
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
      } else if (c === '"') this.inString = true;
      else if (c === '{' || c === '[') this.depth++;
      else if ((c === '}' || c === ']') && --this.depth === 0) return i + 1;
    }
    // A string cannot span lines: the value is broken, and ends here.
    return this.inString ? line.length : BracketScan.OPEN;
  }
}
