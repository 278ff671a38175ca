/**
 * Linux audit logs: auditd's audit.log (RAW or ENRICHED format, with or without `node=`) and
 * `ausearch --raw` output. The kernel writes one event as several records (SYSCALL, EXECVE, CWD,
 * PATH, PROCTITLE…) sharing `msg=audit(time:serial)`, possibly interleaved with other events'
 * records; they are assembled into one event, and events are handed out in the order they
 * complete (see EventAssembler), which is not always the order they started.
 *
 * Fields, under auditd's own names (which the SigmaHQ auditd rules use): `_source: auditd`, `type`
 * (the record types in record order), every key=value of every record, and the ENRICHED format's
 * uppercase translations (SYSCALL=execve, UID="root"…). A key found in several records (a0 in SYSCALL
 * and EXECVE, name in each PATH) becomes a list in record order. Values auditd hex-encodes (command
 * arguments, paths, comm, exe, proctitle…) are decoded; proctitle's arguments are joined by spaces.
 */
import { objectEvent } from '@firebreak/sigma';
import { FirebreakEvent } from '../event.js';
import type { ReadProblem } from '../event-files.js';
import { errorText, textLines } from './content.js';

/** A line beyond this is no audit record (the kernel's limit is under 9 KiB; ENRICHED adds a little). */
export const MAX_AUDIT_LINE = 1024 * 1024;
/** An event still open this many lines after its last record is complete (auditd does not log EOE). */
const EVENT_WINDOW = 256;
/** Records one event may gather: a runaway serial must not hold the file in memory. */
const MAX_RECORDS = 4096;
/**
 * Characters of record text the open events may hold together; past it, the event that has waited
 * longest for a record is handed out before its end (and reported), so memory stays bounded.
 */
export const MAX_OPEN_TEXT = 4 * 1024 * 1024;

/**
 * Fields auditd hex-encodes when their text holds a space, a quote or a control character (auparse's
 * "escaped" fields); other fields are quoted or plain.
 */
const ENCODED_FIELDS = new Set([
  'path',
  'comm',
  'exe',
  'file',
  'name',
  'watch',
  'cwd',
  'cmd',
  'acct',
  'dir',
  'key',
  'vm',
  'old-chardev',
  'new-chardev',
  'old-disk',
  'new-disk',
  'old-fs',
  'new-fs',
  'old-net',
  'new-net',
  'device',
  'cgroup',
  'ocomm',
  'grp',
  'new_group',
  'old-rng',
  'new-rng',
  'invalid_context',
  'sw',
  'root_dir',
  'proctitle',
]);
/** Keys the assembled event sets itself; a record cannot override them. */
const RESERVED_KEYS = new Set(['_source', 'type', 'node']);
/** Separates several keys of one audit rule inside the decoded `key`. */
const KEY_SEPARATOR = '\x01';

interface AuditRecord {
  type: string;
  node?: string;
  /** `seconds.millis:serial`. */
  stamp: string;
  timestamp: number;
  serial: number;
  fields: [string, string][];
  text: string;
}

export async function* auditdEvents(
  path: string,
  text: AsyncIterable<string>,
  onProblem: (p: ReadProblem) => void,
): AsyncGenerator<FirebreakEvent> {
  const report = (line: number, message: string): void => onProblem({ origin: `${path}:${line}`, message });
  const assembly = new AuditdAssembly(path, report);
  const tooLong = (line: number): void => report(line, `line longer than ${MAX_AUDIT_LINE} characters; skipped`);
  for await (const lines of textLines(text, MAX_AUDIT_LINE, tooLong)) {
    // The events these lines complete, handed out after the batch: no generator per line.
    const complete: FirebreakEvent[] = [];
    for (const line of lines) assembly.add(line.text, line.number, complete);
    yield* complete;
  }
  const rest: FirebreakEvent[] = [];
  assembly.end(rest);
  yield* rest;
}

/** Whether a problem cost data (the line or event is lost) or only delayed it (an event handed out before its end). */
export type AuditProblemKind = 'rejected' | 'warning';

/**
 * Audit log lines, one at a time, into events: what both the file reader and the ingest endpoint use.
 * The events' source is `file`, their origin `file:line` of their first record.
 */
export class AuditdAssembly {
  private readonly assembler: EventAssembler;
  /** The events the last line completed, reused from line to line. */
  private readonly complete: OpenEvent[] = [];

  constructor(
    private readonly file: string,
    private readonly report: (line: number, message: string, kind: AuditProblemKind) => void,
  ) {
    this.assembler = new EventAssembler((event) =>
      report(event.line, `open audit events hold more than ${MAX_OPEN_TEXT} characters; this one is handed out before its end`, 'warning'),
    );
  }

  /** Reads line `number`; the events it completes go to `out`. */
  add(text: string, number: number, out: FirebreakEvent[]): void {
    if (isSeparator(text)) return;
    const record = recordOf(text);
    if (typeof record === 'string') {
      this.report(number, `not an audit record: ${record}`, 'rejected');
      return;
    }
    this.assembler.add(record, number, this.complete);
    this.build(this.complete, out);
    this.complete.length = 0;
  }

  /** Ends the input: every event still open goes to `out`, in the order they started. */
  end(out: FirebreakEvent[]): void {
    this.build(this.assembler.flush(), out);
  }

  private build(events: readonly OpenEvent[], out: FirebreakEvent[]): void {
    for (const event of events) {
      const built = auditEvent(this.file, event);
      if (built instanceof FirebreakEvent) out.push(built);
      else this.report(event.line, `cannot read this event (${errorText(built)}); skipped`, 'rejected');
    }
  }
}

/**
 * The line as a string of its own. A line cut from a piece of the file (or from a request body)
 * keeps the whole piece in memory for as long as it lives, and an open event's records are kept
 * for many lines: one event with a record every hundred lines would hold the entire file.
 */
export function ownCopy(text: string): string {
  // The joined string is flattened into a fresh copy before it is sliced (V8 keeps a slice's parent alive).
  return (' ' + text).slice(1);
}

/** The line's record, or why it is none (whatever goes wrong with a line costs that line only). */
function recordOf(text: string): AuditRecord | string {
  try {
    return parseAuditRecord(ownCopy(text));
  } catch (error) {
    return `cannot read it (${errorText(error)})`;
  }
}

/** Blank lines, and the `----` and `time->` lines ausearch puts between events. */
function isSeparator(text: string): boolean {
  return text.startsWith('----') || text.startsWith('time->') || text.trim() === '';
}

/** The event of assembled records, or what went wrong: a crafted event must cost only itself. */
function auditEvent(path: string, event: OpenEvent): FirebreakEvent | Error {
  try {
    const first = event.records[0]!;
    const fields = Object.create(null) as Record<string, unknown>;
    fields._source = 'auditd';
    fields.type = event.records.map((r) => r.type);
    if (first.node !== undefined) fields.node = first.node;
    for (const record of event.records) for (const [key, value] of record.fields) add(fields, key, value);
    return new FirebreakEvent(
      objectEvent(fields),
      { file: path, format: 'auditd', origin: `${path}:${event.line}` },
      () => event.records.map((r) => r.text).join('\n'),
      { host: first.node, timestamp: first.timestamp, channel: 'auditd', layer: 'server', recordId: first.serial },
    );
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

function add(fields: Record<string, unknown>, key: string, value: string): void {
  if (RESERVED_KEYS.has(key)) return;
  if (key === 'key' && value.includes(KEY_SEPARATOR)) for (const one of value.split(KEY_SEPARATOR)) addValue(fields, key, one);
  else addValue(fields, key, value);
}

function addValue(fields: Record<string, unknown>, key: string, value: string): void {
  const existing = fields[key] as string | string[] | undefined;
  if (existing === undefined) fields[key] = value;
  else if (typeof existing === 'string') fields[key] = [existing, value];
  else existing.push(value);
}

// ---- Assembling events ---------------------------------------------------------------------------------

interface OpenEvent {
  id: string;
  records: AuditRecord[];
  /** The line of the first record. */
  line: number;
  lastLine: number;
  /** Characters of its records' text. */
  text: number;
  /** Handed out already. */
  done: boolean;
}

/**
 * Events open by their `node` and stamp. Each is handed out as soon as it is complete: at its EOE
 * record, once EVENT_WINDOW lines have passed without a record of its own, at MAX_RECORDS, or at
 * the end of the file (the ones left then in the order they started). So events come out in the
 * order they complete, not the order they started: an event that keeps getting records must not
 * hold back every event after it (and all of their memory).
 *
 * No more than EVENT_WINDOW + 1 events can be open, since each line adds at most one record and an
 * event with no record in the window is handed out; MAX_OPEN_TEXT bounds what they hold.
 */
class EventAssembler {
  private readonly open = new Map<string, OpenEvent>();
  private openText = 0;
  /**
   * Every record's event and line, oldest first, from `head` on. An entry is stale once its event
   * has had a later record or is handed out, so the first live entry is the event waiting longest
   * (found without reordering a Map on every record).
   */
  private readonly waiting: OpenEvent[] = [];
  private readonly waitingLines: number[] = [];
  private head = 0;

  /** `onEarly` hears of an event handed out before its end to keep within MAX_OPEN_TEXT. */
  constructor(private readonly onEarly: (event: OpenEvent) => void) {}

  /** Adds a record; the events complete by now go to `complete`. */
  add(record: AuditRecord, line: number, complete: OpenEvent[]): void {
    for (let old = this.longestWaiting(); old && line - old.lastLine > EVENT_WINDOW; old = this.longestWaiting()) {
      complete.push(this.handOut(old));
    }
    const id = `${record.node ?? ''} ${record.stamp}`;
    let event = this.open.get(id);
    if (!event) this.open.set(id, (event = { id, records: [], line, lastLine: line, text: 0, done: false }));
    event.lastLine = line;
    if (record.type !== 'EOE') {
      event.records.push(record);
      event.text += record.text.length;
      this.openText += record.text.length;
    }
    if (record.type === 'EOE' || event.records.length >= MAX_RECORDS) {
      this.handOut(event);
      // An EOE whose records were handed out already (or never came) ends nothing.
      if (event.records.length > 0) complete.push(event);
    } else {
      this.waiting.push(event);
      this.waitingLines.push(line);
    }
    for (let old = this.longestWaiting(); old && this.openText > MAX_OPEN_TEXT; old = this.longestWaiting()) {
      this.onEarly(old);
      complete.push(this.handOut(old));
    }
  }

  /** Every event still open (at the end of the file), in the order they started. */
  flush(): OpenEvent[] {
    return [...this.open.values()].sort((a, b) => a.line - b.line);
  }

  private longestWaiting(): OpenEvent | undefined {
    for (; this.head < this.waiting.length; this.head++) {
      const event = this.waiting[this.head]!;
      if (!event.done && event.lastLine === this.waitingLines[this.head]) break;
    }
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.waitingLines.splice(0, this.head);
      this.head = 0;
    }
    return this.waiting[this.head];
  }

  private handOut(event: OpenEvent): OpenEvent {
    this.open.delete(event.id);
    this.openText -= event.text;
    event.done = true;
    return event;
  }
}

// ---- One record ------------------------------------------------------------------------------------------

/** `[node=N ]type=T msg=audit(S.MS:SERIAL): key=value…[\x1dKEY=value…]`, or why the line is not that. */
function parseAuditRecord(text: string): AuditRecord | string {
  let pos = 0;
  let node: string | undefined;
  if (text.startsWith('node=')) {
    const space = text.indexOf(' ');
    if (space < 0) return 'nothing after node=';
    node = text.slice(5, space);
    pos = space + 1;
  }
  if (!text.startsWith('type=', pos)) return 'no type=';
  const typeEnd = text.indexOf(' ', pos);
  if (typeEnd < 0 || !text.startsWith('msg=audit(', typeEnd + 1)) return 'no msg=audit(…) after the type';
  const type = text.slice(pos + 5, typeEnd);
  const stampStart = typeEnd + 1 + 'msg=audit('.length;
  const stampEnd = text.indexOf(')', stampStart);
  if (stampEnd < 0 || text[stampEnd + 1] !== ':') return 'msg=audit( is not closed by "):"';
  const stamp = text.slice(stampStart, stampEnd);
  const time = parseStamp(stamp);
  if (!time) return `"${stamp.slice(0, 40)}" is not time:serial`;
  const body = text.slice(stampEnd + 2);
  const separator = body.indexOf('\x1d');
  const fields: [string, string][] = [];
  readPairs(separator < 0 ? body : body.slice(0, separator), type, fields, false);
  if (separator >= 0) readPairs(body.slice(separator + 1), type, fields, true);
  return { type, node, stamp, ...time, fields, text };
}

/** `1700000000.123:456` → milliseconds since the epoch and the serial. */
function parseStamp(stamp: string): { timestamp: number; serial: number } | undefined {
  const colon = stamp.indexOf(':');
  const dot = stamp.indexOf('.');
  if (colon < 0 || dot < 0 || dot > colon) return undefined;
  const seconds = stamp.slice(0, dot);
  const millis = stamp.slice(dot + 1, colon);
  const serial = stamp.slice(colon + 1);
  if (!isDigits(seconds, 12) || !isDigits(millis, 9) || !isDigits(serial, 15)) return undefined;
  return { timestamp: Number(seconds) * 1000 + Number(millis.padEnd(3, '0').slice(0, 3)), serial: Number(serial) };
}

function isDigits(s: string, max: number): boolean {
  if (s.length === 0 || s.length > max) return false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 48 || s.charCodeAt(i) > 57) return false;
  return true;
}

/**
 * key=value pairs separated by spaces: values plain, "double-quoted", 'single-quoted' (user-space
 * messages nest their own pairs in msg='…') or, in the ENRICHED part, { braced }. Words without `=`
 * (AVC's "avc:  denied  { read } for") are passed over. Plain values are decoded where auditd
 * hex-encodes them; long EXECVE arguments come in pieces (a1[0]=…, a1[1]=…) and are joined first.
 */
function readPairs(text: string, type: string, out: [string, string][], interpreted: boolean): void {
  let pieces: Map<string, { index: number; text: string; quoted: boolean }> | undefined;
  let i = 0;
  // The next `=`, found once for a run of words without one (a search per word would be quadratic).
  let eq = -1;
  while (i < text.length) {
    while (text.charCodeAt(i) === 32) i++;
    if (i >= text.length) break;
    const space = indexOrEnd(text, ' ', i);
    if (eq < i) eq = indexOrEnd(text, '=', i);
    if (eq >= space) {
      i = space;
      continue;
    }
    const key = text.slice(i, eq);
    const open = text[eq + 1];
    let value: string;
    let quoted = false;
    if (open === '"' || open === "'" || open === '{') {
      const close = indexOrEnd(text, open === '{' ? '}' : open, eq + 2);
      value = open === '{' ? text.slice(eq + 1, close + 1) : text.slice(eq + 2, close);
      quoted = true;
      i = close + 1;
    } else {
      i = indexOrEnd(text, ' ', eq + 1);
      value = text.slice(eq + 1, i);
    }
    if (key === 'msg' && open === "'") readPairs(value, type, out, interpreted);
    else if (interpreted) out.push([key, value]);
    else if (type === 'EXECVE' && key.endsWith(']') && isArgument(key)) {
      const arg = key.slice(0, key.indexOf('['));
      const piece = (pieces ??= new Map()).get(arg);
      if (piece) piece.text += value;
      else pieces.set(arg, { index: out.push([arg, '']) - 1, text: value, quoted });
    } else out.push([key, quoted ? value : decodeValue(type, key, value)]);
  }
  if (pieces) for (const [arg, piece] of pieces) out[piece.index] = [arg, piece.quoted ? piece.text : decodeValue(type, arg, piece.text)];
}

function indexOrEnd(text: string, token: string, from: number): number {
  const at = text.indexOf(token, from);
  return at < 0 ? text.length : at;
}

/** An unquoted value, hex-decoded where auditd hex-encodes that field. */
function decodeValue(type: string, key: string, value: string): string {
  const encoded = ENCODED_FIELDS.has(key) || (type === 'EXECVE' && isArgument(key)) || (key === 'data' && type.endsWith('TTY'));
  if (!encoded) return value;
  const bytes = hexBytes(value);
  if (!bytes) return value;
  if (key !== 'proctitle') return bytes.toString('utf8');
  // The command line's arguments, NUL-separated.
  return bytes
    .toString('utf8')
    .split('\0')
    .filter((arg, i, args) => arg !== '' || i < args.length - 1)
    .join(' ');
}

/** a0, a1, … and the pieces of a long one (a1[0]). */
function isArgument(key: string): boolean {
  if (key.length < 2 || key[0] !== 'a') return false;
  const end = key.indexOf('[');
  return isDigits(end < 0 ? key.slice(1) : key.slice(1, end), 6);
}

function hexBytes(value: string): Buffer | undefined {
  if (value.length === 0 || value.length % 2 !== 0) return undefined;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102))) return undefined;
  }
  return Buffer.from(value, 'hex');
}
