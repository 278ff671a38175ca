/**
 * Syslog framing for stream transports (RFC 6587), decided afresh at the start of every frame:
 * - octet counting: `LEN SP MSG`, LEN bytes of MSG follow the space;
 * - non-transparent framing: MSG ends at LF or NUL (a CR before the LF is dropped).
 *
 * A frame is octet counted only when it starts with 1-9 digits (no leading zero), one space and the '<' that opens
 * the PRI of every RFC 5424 message. The '<' is what tells a count from an RFC 3164 line without PRI that happens
 * to start with digits (`10 apples`). The count is not capped at the message limit: an octet-counted frame longer
 * than the limit is still read to its end, so the stream stays in step and only that message is truncated.
 *
 * Messages longer than the limit are truncated to it (RFC 5424 §6.1 prefers truncation to discarding: the header,
 * which says who sent what, survives), on a UTF-8 character boundary, and counted as oversized. A line that exceeds
 * the limit is delivered as soon as the limit is reached and the rest up to its terminator is skipped, so a peer that
 * never sends a terminator holds at most the limit (plus the chunk being read) in memory.
 */

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const SPACE = 0x20;
const LESS_THAN = 0x3c;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
/** 999,999,999 bytes: far beyond any real message, small enough to stay an exact integer while it is read. */
const MAX_COUNT_DIGITS = 9;
/** readCountHeader's answers besides a message start. */
const NOT_COUNTED = -1;
const INCOMPLETE = -2;
/** Below every position, so TerminatorFinder's first question always searches. */
const NOT_SEARCHED = -2;

/** Problems seen while framing, shared by every connection of a listener. */
export interface FramingCounters {
  /** Messages truncated to the size limit. */
  oversized: number;
  /** Octet-counted frames cut short by the end of the connection (what arrived is still delivered). */
  framingErrors: number;
}

type Mode = 'frame-start' | 'line' | 'counted' | 'skip-line';

/** Splits one connection's byte stream into message texts. One instance per connection. */
export class StreamFramer {
  private mode: Mode = 'frame-start';
  /** Bytes of the current message kept so far (slices of the chunks they came in). */
  private parts: Buffer[] = [];
  private partBytes = 0;
  /** Bytes of the current octet-counted frame not read yet, whether they will be kept or skipped. */
  private countRemaining = 0;
  private countTruncated = false;
  /** The start of a frame that could still become an octet-count header once more bytes arrive (at most 11 bytes). */
  private headerPrefix: Buffer | null = null;

  constructor(
    private readonly maxBytes: number,
    private readonly counters: FramingCounters,
  ) {}

  /** Frames a chunk read from the connection; complete messages are appended to `out`. */
  write(chunk: Buffer, out: string[]): void {
    const buffer = this.headerPrefix === null ? chunk : Buffer.concat([this.headerPrefix, chunk]);
    this.headerPrefix = null;
    const terminators = new TerminatorFinder(buffer);
    let position = 0;
    while (position < buffer.length) {
      switch (this.mode) {
        case 'frame-start':
          position = this.startFrame(buffer, position);
          break;
        case 'counted':
          position = this.readCounted(buffer, position, out);
          break;
        case 'line':
          position = this.readLine(buffer, position, terminators.next(position), out);
          break;
        case 'skip-line':
          position = this.skipLine(buffer, terminators.next(position));
          break;
      }
    }
  }

  /** The connection ended: whatever message was in progress is delivered as it is. */
  end(out: string[]): void {
    if (this.headerPrefix !== null) pushText(this.headerPrefix.toString('utf8'), out);
    if (this.mode === 'line') this.emit(out, false);
    if (this.mode === 'counted') {
      this.counters.framingErrors++;
      if (this.partBytes > 0) this.emit(out, this.countTruncated);
    }
    this.headerPrefix = null;
    this.reset();
  }

  /** Decides how the frame at `position` is framed; returns where its message bytes begin. */
  private startFrame(buffer: Buffer, position: number): number {
    const first = buffer[position];
    if (first === LF || first === NUL) return position + 1; // an empty line, or the LF some senders add after a counted frame
    const messageStart = this.readCountHeader(buffer, position);
    if (messageStart === INCOMPLETE) {
      this.headerPrefix = Buffer.from(buffer.subarray(position)); // a copy: keeps these few bytes, not the whole chunk
      return buffer.length;
    }
    if (messageStart === NOT_COUNTED) {
      this.mode = 'line';
      return position;
    }
    this.mode = 'counted';
    this.countTruncated = this.countRemaining > this.maxBytes;
    return messageStart;
  }

  /** The index after an octet-count header at `position` (its count goes to countRemaining), NOT_COUNTED or INCOMPLETE. */
  private readCountHeader(buffer: Buffer, position: number): number {
    if (buffer[position] === DIGIT_0) return NOT_COUNTED;
    let count = 0;
    let cursor = position;
    while (cursor < buffer.length && isDigit(buffer[cursor])) {
      if (cursor - position === MAX_COUNT_DIGITS) return NOT_COUNTED;
      count = count * 10 + (buffer[cursor] - DIGIT_0);
      cursor++;
    }
    if (cursor === position) return NOT_COUNTED;
    if (cursor === buffer.length) return INCOMPLETE;
    if (buffer[cursor] !== SPACE) return NOT_COUNTED;
    if (cursor + 1 === buffer.length) return INCOMPLETE;
    if (buffer[cursor + 1] !== LESS_THAN) return NOT_COUNTED;
    this.countRemaining = count;
    return cursor + 1;
  }

  private readCounted(buffer: Buffer, position: number, out: string[]): number {
    const available = Math.min(this.countRemaining, buffer.length - position);
    const kept = Math.min(available, this.maxBytes - this.partBytes);
    if (kept > 0) this.keep(buffer.subarray(position, position + kept));
    this.countRemaining -= available;
    if (this.countRemaining === 0) {
      this.emit(out, this.countTruncated);
      this.reset();
    }
    return position + available;
  }

  /**
   * Keeps line bytes up to the terminator at `terminator` (-1: not in this chunk). One byte more than the limit is
   * kept so that a line of exactly the limit followed by CR LF is not mistaken for an oversized one.
   */
  private readLine(buffer: Buffer, position: number, terminator: number, out: string[]): number {
    const end = terminator === -1 ? buffer.length : terminator;
    const room = this.maxBytes + 1 - this.partBytes;
    if (end - position > room) {
      this.keep(buffer.subarray(position, position + room));
      this.emit(out, true);
      this.reset();
      if (terminator === -1) {
        this.mode = 'skip-line';
        return buffer.length;
      }
      return terminator + 1;
    }
    if (end > position) this.keep(buffer.subarray(position, end));
    if (terminator === -1) return buffer.length;
    this.emit(out, false);
    this.reset();
    return terminator + 1;
  }

  private skipLine(buffer: Buffer, terminator: number): number {
    if (terminator === -1) return buffer.length;
    this.mode = 'frame-start';
    return terminator + 1;
  }

  private keep(bytes: Buffer): void {
    this.parts.push(bytes);
    this.partBytes += bytes.length;
  }

  /** Delivers the kept bytes without their trailing newline, truncated to the limit when `cut` or longer than it. */
  private emit(out: string[], cut: boolean): void {
    const bytes = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.partBytes);
    let end = withoutTrailingNewline(bytes, bytes.length);
    if (cut || end > this.maxBytes) {
      this.counters.oversized++;
      end = utf8Boundary(bytes, Math.min(end, this.maxBytes));
    }
    pushText(bytes.toString('utf8', 0, end), out);
  }

  private reset(): void {
    this.mode = 'frame-start';
    this.parts = [];
    this.partBytes = 0;
    this.countRemaining = 0;
    this.countTruncated = false;
  }
}

/** Finds the next LF or NUL, remembering where each was last found so a chunk full of frames is scanned once. */
class TerminatorFinder {
  /** Index of the next LF / NUL at or after the last search; -1 when there is none left; NOT_SEARCHED at first. */
  private nextLf = NOT_SEARCHED;
  private nextNul = NOT_SEARCHED;

  constructor(private readonly buffer: Buffer) {}

  next(from: number): number {
    if (this.nextLf !== -1 && this.nextLf < from) this.nextLf = this.buffer.indexOf(LF, from);
    if (this.nextNul !== -1 && this.nextNul < from) this.nextNul = this.buffer.indexOf(NUL, from);
    if (this.nextNul === -1) return this.nextLf;
    if (this.nextLf === -1) return this.nextNul;
    return Math.min(this.nextLf, this.nextNul);
  }
}

/** Where `bytes[0, end)` ends once one trailing LF, and then one CR, are left out. */
export function withoutTrailingNewline(bytes: Buffer, end: number): number {
  if (end > 0 && bytes[end - 1] === LF) end--;
  if (end > 0 && bytes[end - 1] === CR) end--;
  return end;
}

/** `end` moved back so that it does not split a UTF-8 character (a cut character would decode as U+FFFD). */
export function utf8Boundary(bytes: Buffer, end: number): number {
  if (end >= bytes.length) return end;
  let start = end;
  while (start > 0 && (bytes[start] & 0xc0) === 0x80 && end - start < 3) start--;
  return (bytes[start] & 0xc0) === 0x80 ? end : start;
}

/** Empty messages (blank lines, a lone CR) carry nothing and are not delivered. */
function pushText(text: string, out: string[]): void {
  if (text.length > 0) out.push(text);
}

function isDigit(byte: number): boolean {
  return byte >= DIGIT_0 && byte <= DIGIT_9;
}
