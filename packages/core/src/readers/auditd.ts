/**
 * Linux audit logs: auditd's audit.log (RAW or ENRICHED format, with or without `node=`) and
 * `ausearch --raw` output. The kernel writes one event as several records (SYSCALL, EXECVE, CWD,
 * PATH, PROCTITLE…) sharing `msg=audit(time:serial)`, possibly interleaved with other events'
 * records; they are assembled into one event.
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
import { textLines } from './content.js';

/** A line beyond this is no audit record (the kernel's limit is under 9 KiB; ENRICHED adds a little). */
const MAX_LINE = 1024 * 1024;
/** An event still open this many lines after its last record is complete (auditd does not log EOE). */
const EVENT_WINDOW = 256;
/** Records one event may gather: a runaway serial must not hold the file in memory. */
const MAX_RECORDS = 4096;

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
  const assembler = new EventAssembler();
  for await (const lines of textLines(text, MAX_LINE, (n) => report(n, `line longer than ${MAX_LINE} characters; skipped`))) {
    for (const line of lines) {
      if (isSeparator(line.text)) continue;
      const record = parseAuditRecord(line.text);
      if (typeof record === 'string') report(line.number, `not an audit record: ${record}`);
      else for (const event of assembler.add(record, line.number)) yield auditEvent(path, event);
    }
  }
  for (const event of assembler.flush()) yield auditEvent(path, event);
}

/** Blank lines, and the `----` and `time->` lines ausearch puts between events. */
function isSeparator(text: string): boolean {
  return text.startsWith('----') || text.startsWith('time->') || text.trim() === '';
}

function auditEvent(path: string, event: OpenEvent): FirebreakEvent {
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
  records: AuditRecord[];
  /** The line of the first record. */
  line: number;
  lastLine: number;
  /** Its EOE record arrived. */
  complete: boolean;
}

/**
 * Events open by their `node` and stamp, handed out in the order they started once complete (EOE),
 * or once EVENT_WINDOW lines have passed without a record of theirs.
 */
class EventAssembler {
  private readonly open = new Map<string, OpenEvent>();

  add(record: AuditRecord, line: number): OpenEvent[] {
    const id = `${record.node ?? ''} ${record.stamp}`;
    let event = this.open.get(id);
    if (!event) this.open.set(id, (event = { records: [], line, lastLine: line, complete: false }));
    if (record.type === 'EOE') event.complete = true;
    else event.records.push(record);
    event.lastLine = line;
    return this.ready(line);
  }

  /** Every event still open (at the end of the file). */
  flush(): OpenEvent[] {
    return this.ready(Infinity);
  }

  private ready(line: number): OpenEvent[] {
    const out: OpenEvent[] = [];
    for (const [id, event] of this.open) {
      const done = event.complete || line - event.lastLine > EVENT_WINDOW || event.records.length >= MAX_RECORDS;
      if (!done) break;
      this.open.delete(id);
      if (event.records.length > 0) out.push(event);
    }
    return out;
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
