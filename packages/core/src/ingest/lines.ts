/** The lines of a request body, and what is said about them. */

/** What was wrong with a line of a body, which was left out. `line` counts from 1. */
export interface LineRejection {
  line: number;
  error: string;
}

/** Something left out of an event that was kept (e.g. content nested too deep), or an event handed out early. */
export interface LineWarning {
  line: number;
  warning: string;
}

/** Who sent a body and when it arrived: events' source and origin name the sender, and an event without a time of its own gets this one. */
export interface IngestContext {
  /** The sender, e.g. `http:tokenname`; an event's origin is `${origin}:${line}`. */
  origin: string;
  /** Milliseconds since the epoch. */
  receivedAt: number;
}

const CR = 13;
const BOM = 0xfeff;

/**
 * Calls `each` with every line of `body` that is not blank (LF or CR LF ends a line; the last one
 * needs no end) and its number; a line longer than `maxLength` goes to `tooLong` instead, a blank
 * one to `blank`. A byte-order mark before the first line is dropped. Lines are slices of the
 * body: whatever keeps one for long should copy it (see ownCopy).
 */
export function forEachLine(
  body: string,
  maxLength: number,
  each: (text: string, line: number) => void,
  tooLong: (line: number) => void,
  blank: (line: number) => void = () => {},
): void {
  let start = body.charCodeAt(0) === BOM ? 1 : 0;
  for (let line = 1; start < body.length; line++) {
    let end = body.indexOf('\n', start);
    if (end < 0) end = body.length;
    const next = end + 1;
    if (end > start && body.charCodeAt(end - 1) === CR) end--;
    if (end - start > maxLength) tooLong(line);
    else if (isBlank(body, start, end)) blank(line);
    else each(body.slice(start, end), line);
    start = next;
  }
}

/** Whether `body[start, end)` is nothing but spaces, tabs and carriage returns. */
function isBlank(body: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = body.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== CR) return false;
  }
  return true;
}
