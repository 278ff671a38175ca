/**
 * Opening an event file: its bytes as a stream (gzip decompressed on the way, whatever the file is
 * called), and what kind of log they are, told from the first bytes rather than the file's name.
 */
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { ReadProblem } from '../event-files.js';

/** Raised when a file cannot be read at all or is no event log we know. */
export class EventFileError extends Error {
  override name = 'EventFileError';

  constructor(
    message: string,
    /** The system's error code (ENOENT, EACCES…) when the file could not be opened. */
    readonly code?: string,
  ) {
    super(message);
  }
}

/** What the content is; the JSON and XML readers tell the exact format per record. */
export type ContentKind = 'evtx' | 'json' | 'xml' | 'auditd';

export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be';

export interface Content {
  gzipped: boolean;
  /**
   * The first bytes of the content (decompressed): at least HEAD_BYTES unless the content is shorter,
   * and on past leading white space up to MAX_LEADING_SPACE, so that padding cannot hide the format.
   */
  head: Buffer;
  /** The head is all of the content. */
  complete: boolean;
  /** All of the content, head included, in pieces. A damaged gzip stream or a failing read ends it with a problem. */
  bytes: AsyncGenerator<Buffer>;
  /** Releases the file when the reader stops early. */
  close(): void;
}

const HEAD_BYTES = 4096;
/** Content that is still white space this far in is no event log we read (and is reported, not dropped). */
export const MAX_LEADING_SPACE = 1024 * 1024;
/** Decompressed bytes per piece: 4 EVTX chunks; larger pieces mean fewer waits on zlib's thread. */
const GUNZIP_CHUNK = 256 * 1024;

/** Opens `path`; throws EventFileError when it cannot be read. */
export async function openContent(path: string, onProblem: (p: ReadProblem) => void): Promise<Content> {
  const file = createReadStream(path);
  const fileBytes = file[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let first: IteratorResult<Buffer>;
  try {
    first = await fileBytes.next();
  } catch (error) {
    throw new EventFileError(`cannot open ${path}: ${(error as Error).message}`, (error as { code?: string }).code);
  }
  const gzipped = !first.done && first.value.length >= 2 && first.value[0] === 0x1f && first.value[1] === 0x8b;
  let source: AsyncIterable<Buffer> = prepend(first.done ? [] : [first.value], fileBytes);
  let close = (): void => void file.destroy();
  if (gzipped) {
    const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK });
    // pipeline passes a read error or a gzip error on to the gunzip stream, which throws it to its reader.
    pipeline(Readable.from(source), gunzip, () => {});
    source = gunzip;
    close = (): void => {
      gunzip.destroy();
      file.destroy();
    };
  }
  const bytes = reportingEnd(source, path, gzipped, onProblem);
  const head: Buffer[] = [];
  let headLength = 0;
  let blank = true;
  let complete = false;
  while (headLength < HEAD_BYTES || (blank && headLength < MAX_LEADING_SPACE)) {
    const next = await bytes.next();
    if (next.done) {
      complete = true;
      break;
    }
    head.push(next.value);
    headLength += next.value.length;
    blank &&= mayBeBlank(next.value);
  }
  return { gzipped, head: Buffer.concat(head), complete, bytes: prepend(head, bytes), close };
}

/**
 * Whether the bytes may be nothing but white space and byte-order marks, in UTF-8 or UTF-16 (whose
 * zero bytes are allowed too); sniff() decodes them to tell for sure.
 */
function mayBeBlank(bytes: Buffer): boolean {
  for (const b of bytes) {
    const blank =
      b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09 || b === 0 || b === 0xef || b === 0xbb || b === 0xbf || b === 0xfe || b === 0xff;
    if (!blank) return false;
  }
  return true;
}

/** The pieces already taken from `rest`, then the rest. */
async function* prepend<T>(first: readonly T[], rest: AsyncIterator<T>): AsyncGenerator<T> {
  yield* first;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
}

/** The pieces of `source`; an error ends them with a problem instead of losing what was read. */
async function* reportingEnd(
  source: AsyncIterable<Buffer>,
  path: string,
  gzipped: boolean,
  onProblem: (p: ReadProblem) => void,
): AsyncGenerator<Buffer> {
  let length = 0;
  try {
    for await (const piece of source) {
      length += piece.length;
      yield piece;
    }
  } catch (error) {
    const what = gzipped ? `gzip data damaged after ${length} decompressed bytes` : `read failed after ${length} bytes`;
    onProblem({ origin: path, message: `${what} (${(error as Error).message}); the events before it were read` });
  }
}

/** What the first bytes say the content is, or why it is none of the logs we read. */
const EVTX_MAGIC = Buffer.from('ElfFile\0', 'latin1');

/**
 * Whether `path` is a regular file that begins with the EVTX signature (read synchronously: eight
 * bytes cost less than a trip through the thread pool). A pipe is not opened here: opening and
 * closing it would block until its writer came, then leave the writer with no reader.
 */
export function startsWithEvtxMagic(path: string): boolean {
  let fd: number;
  try {
    if (!statSync(path).isFile()) return false;
    fd = openSync(path, 'r');
  } catch {
    return false; // openContent reports why the file cannot be opened
  }
  try {
    const head = Buffer.alloc(EVTX_MAGIC.length);
    return readSync(fd, head, 0, head.length, 0) === head.length && head.equals(EVTX_MAGIC);
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/** `blank`: the head holds nothing but white space. */
export function sniff(head: Buffer): { kind: ContentKind; encoding: TextEncoding } | { blank: true } | { unknown: string } {
  if (head.subarray(0, EVTX_MAGIC.length).equals(EVTX_MAGIC)) return { kind: 'evtx', encoding: 'utf-8' };
  const encoding = textEncoding(head);
  const text = new TextDecoder(encoding).decode(head);
  const start = firstNonSpace(text);
  if (start === text.length) return { blank: true };
  const kind = textKind(text, start);
  return kind ? { kind, encoding } : { unknown: describe(head, text.slice(start)) };
}

/** UTF-16 by its byte-order mark, or by the zero bytes ASCII markup has in UTF-16; else UTF-8. */
function textEncoding(head: Buffer): TextEncoding {
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  if (head.length >= 2 && head[0] !== 0 && head[1] === 0) return 'utf-16le';
  if (head.length >= 2 && head[0] === 0 && head[1] !== 0) return 'utf-16be';
  return 'utf-8';
}

function textKind(text: string, start: number): ContentKind | undefined {
  const c = text[start];
  if (c === '<') return text.includes('<Event') ? 'xml' : undefined;
  if (c === '{' || c === '[') return 'json';
  const lineEnd = text.indexOf('\n', start);
  const line = text.slice(start, lineEnd < 0 ? undefined : lineEnd).trim();
  if (isRecordLine(line)) return 'json';
  const auditd = (line.startsWith('type=') || line.startsWith('node=')) && line.includes(' msg=audit(');
  if (auditd || (line.startsWith('----') && text.includes(' msg=audit('))) return 'auditd';
  return undefined;
}

/** evtx_dump's text output puts `Record N` before each JSON object. */
export function isRecordLine(trimmed: string): boolean {
  if (!trimmed.startsWith('Record ') || trimmed.length === 7) return false;
  for (let i = 7; i < trimmed.length; i++) if (trimmed.charCodeAt(i) < 48 || trimmed.charCodeAt(i) > 57) return false;
  return true;
}

function firstNonSpace(text: string): number {
  let i = 0;
  while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\r' || text[i] === '\n' || text[i] === '\ufeff')) i++;
  return i;
}

/** The start of unknown content as a reader can see it: text quoted, binary as hex bytes. */
function describe(head: Buffer, text: string): string {
  const line = text.split('\n', 1)[0]!.slice(0, 40);
  const printable = [...line].every((ch) => ch >= ' ' && ch !== '\ufffd' && ch !== '\x7f');
  if (printable) return `starts with ${JSON.stringify(line)}`;
  const bytes = [...head.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `starts with bytes ${bytes}`;
}

/** Log text as a message may quote it: at most `max` characters. */
export function excerpt(text: string, max = 80): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** What a caught error says, short enough for one problem line. */
export function errorText(error: unknown): string {
  return excerpt(error instanceof Error ? error.message : String(error), 160);
}

/** Text pieces from byte pieces; a character split between pieces is kept whole, a byte-order mark dropped. */
export async function* decodeText(bytes: AsyncIterable<Buffer>, encoding: TextEncoding): AsyncGenerator<string> {
  const decoder = new TextDecoder(encoding);
  for await (const piece of bytes) {
    const text = decoder.decode(piece, { stream: true });
    if (text !== '') yield text;
  }
  const rest = decoder.decode();
  if (rest !== '') yield rest;
}

export interface Line {
  text: string;
  /** 1-based. */
  number: number;
}

/**
 * Lines of text without their line break (LF or CRLF), in batches (the lines each piece of text
 * completes: one await per piece, not per line). A line longer than `maxLength` is reported and
 * skipped, so one endless line cannot exhaust memory.
 */
export async function* textLines(
  pieces: AsyncIterable<string>,
  maxLength: number,
  onTooLong: (lineNumber: number) => void,
): AsyncGenerator<Line[]> {
  let partial: string[] = [];
  let partialLength = 0;
  let tooLong = false;
  let number = 1;
  for await (const piece of pieces) {
    const lines: Line[] = [];
    let from = 0;
    for (let lf = piece.indexOf('\n'); lf >= 0; lf = piece.indexOf('\n', from)) {
      if (!tooLong && partialLength + lf - from <= maxLength) {
        const text = partial.length === 0 ? piece.slice(from, lf) : partial.join('') + piece.slice(from, lf);
        lines.push({ text: text.endsWith('\r') ? text.slice(0, -1) : text, number });
      } else onTooLong(number);
      partial = [];
      partialLength = 0;
      tooLong = false;
      number++;
      from = lf + 1;
    }
    if (from < piece.length && !tooLong) {
      partial.push(piece.slice(from));
      partialLength += piece.length - from;
      if (partialLength > maxLength) {
        tooLong = true;
        partial = [];
      }
    }
    if (lines.length > 0) yield lines;
  }
  if (tooLong) onTooLong(number);
  else if (partialLength > 0) yield [{ text: partial.join(''), number }];
}
