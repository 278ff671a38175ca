/**
 * Reading events from files into the one flat event model: EVTX records through the reader's
 * lazy field view, evtx_dump JSON flattened the same way, other JSON objects as they are.
 * A bad JSON value is reported with its line and the rest of the file is still read.
 */
import { readFile } from 'node:fs/promises';
import { flattenEvtxJson, readEvtx, type JsonObject } from '@firebreak/evtx';
import { objectEvent, type SigmaEvent } from '@firebreak/sigma';

export interface FileEvent {
  fields: SigmaEvent;
  /** Where the event is: `file:line` for JSON, `file#record` for EVTX. */
  origin: string;
}

export interface ReadProblem {
  origin: string;
  message: string;
}

/** Events of an `.evtx`, `.json` or `.jsonl` file; JSON problems go to `onProblem`. */
export async function* readEventFile(path: string, onProblem: (p: ReadProblem) => void = () => {}): AsyncGenerator<FileEvent> {
  if (/\.evtx$/i.test(path)) {
    for await (const record of readEvtx(path)) yield { fields: record.fields(), origin: `${path}#${record.id}` };
    return;
  }
  const text = await readFile(path, 'utf8');
  for (const value of jsonValues(text)) {
    const origin = `${path}:${value.line}`;
    if ('error' in value) onProblem({ origin, message: value.error });
    else if (value.object === null || typeof value.object !== 'object' || Array.isArray(value.object))
      onProblem({ origin, message: 'not a JSON object' });
    else yield { fields: toFields(value.object as JsonObject), origin };
  }
}

/** evtx_dump JSON (`{"Event": {"System": …}}`) is flattened; anything else is read by path. */
export function toFields(object: JsonObject): SigmaEvent {
  const event = object.Event;
  if (event !== null && typeof event === 'object' && !Array.isArray(event) && 'System' in event)
    return objectEvent(flattenEvtxJson(object));
  return objectEvent(object);
}

type JsonValueAt = { line: number; object: unknown } | { line: number; error: string };

/**
 * Top-level JSON values one after another: JSON lines, or pretty-printed objects concatenated
 * (as evtx_dump writes them). A value that does not parse is reported and skipped.
 */
export function* jsonValues(text: string): Generator<JsonValueAt> {
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') line++;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
      continue;
    }
    const end = valueEnd(text, i);
    const startLine = line;
    const chunk = text.slice(i, end);
    for (let k = 0; k < chunk.length; k++) if (chunk.charCodeAt(k) === 10) line++;
    i = end;
    try {
      yield { line: startLine, object: JSON.parse(chunk) };
    } catch (e) {
      yield { line: startLine, error: (e as Error).message };
    }
  }
}

/** End of the value starting at `start`: its closing brace, or the end of the line for anything else. */
function valueEnd(text: string, start: number): number {
  if (text[start] !== '{' && text[start] !== '[') {
    const nl = text.indexOf('\n', start);
    return nl < 0 ? text.length : nl;
  }
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      if (--depth === 0) return i + 1;
    } else if (c === '\n' && depth > 0 && text[start] === '{' && looksLikeNewValue(text, i + 1)) {
      // An unterminated object followed by a new line-value: stop here so the damage stays local.
      return i;
    }
  }
  return text.length;
}

/** A new top-level object at the start of a line after a broken one (JSON lines). */
function looksLikeNewValue(text: string, at: number): boolean {
  return text[at] === '{' && text[at + 1] === '"';
}
