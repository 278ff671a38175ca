/**
 * Syslog messages: RFC 5424, RFC 3164 (BSD) and the lines rsyslog writes to files (no PRI), told
 * apart per message, and the event of one. Framing (UDP datagrams, octet counting, newline-delimited
 * TCP) is the listener's: this reads one message.
 *
 * A sender cannot stall the parser: a message longer than MAX_SYSLOG_LENGTH is refused, the rest is
 * one pass with indexOf and character tests, and the only regular expression (isoTimeMs's, linear)
 * sees no more than a timestamp.
 */
import { objectEvent } from '@firebreak/sigma';
import { FirebreakEvent, type EventSource } from '../event.js';
import { isoTimeMs } from '../event-time.js';
import { excerpt } from '../readers/content.js';

/** rsyslog's default limit is 8 KiB; generous senders are configured up to 64 KiB. */
export const MAX_SYSLOG_LENGTH = 64 * 1024;

/** RFC 5424 structured data: `[id name="value" …]`. */
export interface SdElement {
  id: string;
  params: [name: string, value: string][];
}

export interface SyslogMessage {
  /** RFC 3164 also stands for messages without PRI and for BSD-style messages with an ISO time. */
  format: 'rfc5424' | 'rfc3164';
  /** PRI and its two parts; absent when the message has no PRI (as in files rsyslog writes). */
  priority?: number;
  facility?: number;
  severity?: number;
  /** Milliseconds since the epoch: the message's own time, else when it was received. */
  timestamp: number;
  /** The message's HOSTNAME, else the peer it came from. */
  hostname?: string;
  /** APP-NAME, or the program of an RFC 3164 TAG (`sshd` of `sshd[42]:`). */
  appName?: string;
  procId?: string;
  msgId?: string;
  structuredData: readonly SdElement[];
  message: string;
}

export interface SyslogError {
  error: string;
}

export interface SyslogContext {
  /** Milliseconds since the epoch: the time of a message without one, and what RFC 3164's year-less time is read near. */
  receivedAt: number;
  /** The sender's address, the host of a message that names none. */
  peer?: string;
}

/** The message in `text`, or why it is no syslog message. */
export function parseSyslog(text: string, context: SyslogContext): SyslogMessage | SyslogError {
  if (text.length > MAX_SYSLOG_LENGTH) return { error: `message longer than ${MAX_SYSLOG_LENGTH} characters` };
  const end = endOfMessage(text);
  if (end === 0) return { error: 'empty message' };
  if (text.charCodeAt(0) !== LT) return bsdMessage(text, 0, end, undefined, context);
  const pri = readPri(text, end);
  if (typeof pri === 'string') return { error: pri };
  const version = readVersion(text, pri.next, end);
  if (version === undefined) return bsdMessage(text, pri.next, end, pri.value, context);
  if (version.value !== 1) return { error: `syslog protocol version ${version.value} is not supported (only RFC 5424's 1)` };
  return rfc5424Message(text, version.next, end, pri.value, context);
}

const FACILITIES = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'cron',
  'authpriv',
  'ftp',
  'ntp',
  'audit',
  'alert',
  'clock',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
];
const SEVERITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];

/** Facility names as rsyslog writes them (`auth`, `authpriv`, `local0`…). */
export function facilityName(facility: number): string | undefined {
  return FACILITIES[facility];
}

export function severityName(severity: number): string | undefined {
  return SEVERITIES[severity];
}

/**
 * The event of a message: fields `_source: syslog`, `facility` and `severity` (names), `priority`,
 * `hostname`, `app_name`, `procid`, `msgid`, `message`, structured data as `sd.<id>.<param>`, and
 * sudo's `KEY=value ;` pairs (USER, TTY, PWD, COMMAND…), which SigmaHQ's sudo rules read. `text`
 * is what was received, the event's raw record.
 */
export function syslogEvent(message: SyslogMessage, source: Omit<EventSource, 'format'>, text: string): FirebreakEvent {
  const fields = Object.create(null) as Record<string, unknown>;
  fields._source = 'syslog';
  if (message.priority !== undefined) {
    fields.facility = facilityName(message.facility!);
    fields.severity = severityName(message.severity!);
    fields.priority = message.priority;
  }
  if (message.hostname !== undefined) fields.hostname = message.hostname;
  if (message.appName !== undefined) fields.app_name = message.appName;
  if (message.procId !== undefined) fields.procid = message.procId;
  if (message.msgId !== undefined) fields.msgid = message.msgId;
  fields.message = message.message;
  for (const { id, params } of message.structuredData) for (const [name, value] of params) addValue(fields, `sd.${id}.${name}`, value);
  if (message.appName === 'sudo') addSudoPairs(fields, message.message);
  return new FirebreakEvent(objectEvent(fields), { file: source.file, format: 'syslog', origin: source.origin }, () => text, {
    host: message.hostname,
    timestamp: message.timestamp,
    channel: 'syslog',
    layer: 'server',
  });
}

// ---- The parts every message has ---------------------------------------------------------------------

const LT = 60;
const GT = 62;
const SPACE = 32;
const COLON = 58;
const QUOTE = 34;
const BACKSLASH = 92;
const EQUALS = 61;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const HYPHEN = 45;
const BOM = 0xfeff;
const MAX_PRI = 191;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The end of the message proper: UDP senders and TCP framing leave line ends and NULs behind. */
function endOfMessage(text: string): number {
  let end = text.length;
  for (let c = text.charCodeAt(end - 1); c === 10 || c === 13 || c === 0; c = text.charCodeAt(end - 1)) end--;
  return end;
}

/** `<PRI>` at the start: 1 to 3 digits, at most 191. */
function readPri(text: string, end: number): { value: number; next: number } | string {
  let value = 0;
  let i = 1;
  for (; i < end && i <= 3 && isDigit(text.charCodeAt(i)); i++) value = value * 10 + text.charCodeAt(i) - 48;
  if (i === 1 || text.charCodeAt(i) !== GT) return `"${text.slice(0, 5)}" is no PRI: "<", 1 to 3 digits, ">"`;
  if (value > MAX_PRI) return `PRI ${value} is beyond ${MAX_PRI}`;
  return { value, next: i + 1 };
}

/** RFC 5424's VERSION: digits and a space before a TIMESTAMP (a digit) or its NILVALUE; undefined for RFC 3164. */
function readVersion(text: string, pos: number, end: number): { value: number; next: number } | undefined {
  let value = 0;
  let i = pos;
  for (; i < end && i - pos < 3 && isDigit(text.charCodeAt(i)); i++) value = value * 10 + text.charCodeAt(i) - 48;
  const after = text.charCodeAt(i + 1);
  if (i === pos || text.charCodeAt(i) !== SPACE || !(isDigit(after) || after === HYPHEN)) return undefined;
  return { value, next: i + 1 };
}

// ---- RFC 5424 ----------------------------------------------------------------------------------------

const HEADER_FIELDS = ['TIMESTAMP', 'HOSTNAME', 'APP-NAME', 'PROCID', 'MSGID'] as const;
const NO_STRUCTURED_DATA: readonly SdElement[] = Object.freeze([]);

/** `TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]` after `<PRI>1 `; `-` is a field's nil value. */
function rfc5424Message(text: string, pos: number, end: number, priority: number, context: SyslogContext): SyslogMessage | SyslogError {
  const header: (string | undefined)[] = [];
  for (const name of HEADER_FIELDS) {
    const space = text.indexOf(' ', pos);
    if (space < 0 || space >= end) return { error: `RFC 5424 header ends ${pos < end ? 'after' : 'before'} ${name}` };
    if (space === pos) return { error: `RFC 5424 ${name} is empty (two spaces in a row)` };
    header.push(space === pos + 1 && text.charCodeAt(pos) === HYPHEN ? undefined : text.slice(pos, space));
    pos = space + 1;
  }
  const [stamp, hostname, appName, procId, msgId] = header;
  const timestamp = stamp === undefined ? context.receivedAt : isoTimeMs(stamp);
  if (timestamp === undefined) return { error: `RFC 5424 TIMESTAMP "${excerpt(stamp!, 40)}" is not an RFC 3339 time` };
  const data = readStructuredData(text, pos, end);
  if (typeof data === 'string') return { error: data };
  if (data.next < end && text.charCodeAt(data.next) !== SPACE) return { error: 'no space between STRUCTURED-DATA and MSG' };
  // MSG may begin with a byte-order mark, which says it is UTF-8 and is no part of the text.
  const start = text.charCodeAt(data.next + 1) === BOM ? data.next + 2 : data.next + 1;
  return {
    format: 'rfc5424',
    priority,
    facility: priority >> 3,
    severity: priority & 7,
    timestamp,
    hostname: hostname ?? context.peer,
    appName,
    procId,
    msgId,
    structuredData: data.elements,
    message: start < end ? text.slice(start, end) : '',
  };
}

/** `-`, or `[id name="value" …]` elements one after another. */
function readStructuredData(text: string, pos: number, end: number): { elements: readonly SdElement[]; next: number } | string {
  if (pos >= end) return 'RFC 5424 header ends before STRUCTURED-DATA';
  if (text.charCodeAt(pos) === HYPHEN) return { elements: NO_STRUCTURED_DATA, next: pos + 1 };
  if (text.charCodeAt(pos) !== OPEN_BRACKET)
    return `STRUCTURED-DATA is neither "-" nor "[…]" but begins "${excerpt(text.slice(pos, end), 20)}"`;
  const elements: SdElement[] = [];
  while (pos < end && text.charCodeAt(pos) === OPEN_BRACKET) {
    const element = readSdElement(text, pos + 1, end);
    if (typeof element === 'string') return element;
    elements.push(element.element);
    pos = element.next;
  }
  return { elements, next: pos };
}

/** An element after its `[`: SD-ID, then ` name="value"` pairs, then `]`. */
function readSdElement(text: string, pos: number, end: number): { element: SdElement; next: number } | string {
  const idEnd = sdNameEnd(text, pos, end);
  if (idEnd === pos) return `structured data element at character ${pos} has no SD-ID`;
  const id = text.slice(pos, idEnd);
  const params: [string, string][] = [];
  for (let i = idEnd; i < end;) {
    const c = text.charCodeAt(i);
    if (c === CLOSE_BRACKET) return { element: { id, params }, next: i + 1 };
    if (c !== SPACE) return `unexpected "${text[i]}" in structured data element [${excerpt(id, 32)}]`;
    const nameEnd = sdNameEnd(text, i + 1, end);
    if (nameEnd === i + 1 || text.charCodeAt(nameEnd) !== EQUALS || text.charCodeAt(nameEnd + 1) !== QUOTE)
      return `a parameter of [${excerpt(id, 32)}] is not name="value"`;
    const value = readParamValue(text, nameEnd + 2, end);
    if (value === undefined) return `the value of ${excerpt(id, 32)} ${excerpt(text.slice(i + 1, nameEnd), 32)} has no closing quote`;
    params.push([text.slice(i + 1, nameEnd), value.text]);
    i = value.next;
  }
  return `structured data element [${excerpt(id, 32)} is not closed by "]"`;
}

/** SD-NAME: up to a space, `=`, `]` or `"`. */
function sdNameEnd(text: string, pos: number, end: number): number {
  let i = pos;
  for (let c = text.charCodeAt(i); i < end && c !== SPACE && c !== EQUALS && c !== CLOSE_BRACKET && c !== QUOTE; c = text.charCodeAt(++i));
  return i;
}

/** PARAM-VALUE up to its closing quote; `\"`, `\\` and `\]` are the escaped character, any other backslash is itself. */
function readParamValue(text: string, pos: number, end: number): { text: string; next: number } | undefined {
  let value = '';
  let from = pos;
  for (let i = pos; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) return { text: value + text.slice(from, i), next: i + 1 };
    if (c !== BACKSLASH || i + 1 >= end) continue;
    const escaped = text.charCodeAt(i + 1);
    if (escaped === QUOTE || escaped === BACKSLASH || escaped === CLOSE_BRACKET) {
      value += text.slice(from, i);
      from = ++i;
    }
  }
  return undefined;
}

// ---- RFC 3164 and rsyslog's file lines ----------------------------------------------------------------

/**
 * `TIMESTAMP HOSTNAME TAG: MSG`, where TIMESTAMP is `Mmm dd hh:mm:ss` (or ISO 8601, as rsyslog's
 * high-precision files and forwarders write it). HOSTNAME is left out by local senders, so a first
 * word that is a TAG is one. A message with no time it can read is all MSG, as RFC 3164 has relays
 * treat it, timed when it was received.
 */
function bsdMessage(
  text: string,
  pos: number,
  end: number,
  priority: number | undefined,
  context: SyslogContext,
): SyslogMessage | SyslogError {
  const message: SyslogMessage = {
    format: 'rfc3164',
    timestamp: context.receivedAt,
    hostname: context.peer,
    structuredData: NO_STRUCTURED_DATA,
    message: '',
  };
  if (priority !== undefined) {
    message.priority = priority;
    message.facility = priority >> 3;
    message.severity = priority & 7;
  }
  const time = readBsdTime(text, pos, end, context.receivedAt) ?? readIsoTime(text, pos, end);
  if (typeof time === 'string') return { error: time };
  if (time === undefined) {
    message.message = text.slice(pos, end);
    return message;
  }
  message.timestamp = time.timestamp;
  pos = skipSpaces(text, time.next, end);
  let tag = readTag(text, pos, end);
  if (!tag) {
    const space = indexOrEnd(text, ' ', pos, end);
    message.hostname = text.slice(pos, space);
    pos = skipSpaces(text, space, end);
    tag = readTag(text, pos, end);
  }
  if (tag) {
    message.appName = tag.appName;
    message.procId = tag.procId;
    pos = tag.next;
  }
  message.message = text.slice(pos, end);
  return message;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * `Mmm dd hh:mm:ss` (day padded with a space or not, optionally `.fraction` and a year before the
 * time as some devices write), UTC. Without a year it is the year that puts the time nearest to
 * `receivedAt` and no more than a day after it. Undefined when the text does not have this shape;
 * an error when it has and is no date (Feb 30).
 */
function readBsdTime(text: string, pos: number, end: number, receivedAt: number): { timestamp: number; next: number } | string | undefined {
  const month = MONTHS.indexOf(text.slice(pos, pos + 3).toLowerCase());
  if (month < 0 || text.charCodeAt(pos + 3) !== SPACE) return undefined;
  let i = text.charCodeAt(pos + 4) === SPACE ? pos + 5 : pos + 4;
  const day = readNumber(text, i, end, 1, 2);
  if (!day || text.charCodeAt(day.next) !== SPACE) return undefined;
  i = day.next + 1;
  const year = readNumber(text, i, end, 4, 4);
  if (year && text.charCodeAt(year.next) === SPACE) i = year.next + 1;
  const clock = readClock(text, i, end);
  if (!clock || (clock.next < end && text.charCodeAt(clock.next) !== SPACE)) return undefined;
  const stamp = excerpt(text.slice(pos, clock.next), 40);
  if (day.value < 1 || clock.hours > 23 || clock.minutes > 59 || clock.seconds > 59) return `"${stamp}" is no valid time`;
  const timestamp = year ? utcTime(year.value, month, day.value, clock) : nearestYearTime(month, day.value, clock, receivedAt);
  if (timestamp === undefined) return `"${stamp}" is no date${year ? '' : ' in the year before, of or after it was received'}`;
  return { timestamp, next: clock.next };
}

/** A year-less time in the year that puts it nearest to `receivedAt` and no more than a day after it. */
function nearestYearTime(month: number, day: number, clock: Clock, receivedAt: number): number | undefined {
  const thisYear = new Date(receivedAt).getUTCFullYear();
  // Of next year, this year and last year, the latest not in the future is the nearest.
  for (let year = thisYear + 1; year >= thisYear - 1; year--) {
    const time = utcTime(year, month, day, clock);
    if (time !== undefined && time <= receivedAt + DAY_MS) return time;
  }
  return undefined;
}

interface Clock {
  hours: number;
  minutes: number;
  seconds: number;
  millis: number;
  next: number;
}

/** `hh:mm:ss`, optionally `.` and 1 to 9 digits of fraction. */
function readClock(text: string, pos: number, end: number): Clock | undefined {
  const hours = readNumber(text, pos, end, 2, 2);
  if (!hours || text.charCodeAt(hours.next) !== COLON) return undefined;
  const minutes = readNumber(text, hours.next + 1, end, 2, 2);
  if (!minutes || text.charCodeAt(minutes.next) !== COLON) return undefined;
  const seconds = readNumber(text, minutes.next + 1, end, 2, 2);
  if (!seconds) return undefined;
  const clock = { hours: hours.value, minutes: minutes.value, seconds: seconds.value, millis: 0, next: seconds.next };
  const fraction = text.charCodeAt(seconds.next) === 46 ? readNumber(text, seconds.next + 1, end, 1, 9) : undefined;
  if (fraction) {
    clock.millis = Math.floor(Number(`0.${text.slice(seconds.next + 1, fraction.next)}`) * 1000);
    clock.next = fraction.next;
  }
  return clock;
}

/** The time, or undefined when that day is not in that year's month. */
function utcTime(year: number, month: number, day: number, clock: Clock): number | undefined {
  const time = Date.UTC(year, month, day, clock.hours, clock.minutes, clock.seconds, clock.millis);
  return new Date(time).getUTCDate() === day ? time : undefined;
}

/** An ISO 8601 time up to the next space (`2024-05-01T10:00:00.123456+02:00`), as rsyslog's RSYSLOG_FileFormat writes it. */
function readIsoTime(text: string, pos: number, end: number): { timestamp: number; next: number } | undefined {
  if (!isDigit(text.charCodeAt(pos)) || text.charCodeAt(pos + 4) !== HYPHEN) return undefined;
  const space = indexOrEnd(text, ' ', pos, end);
  const timestamp = isoTimeMs(text.slice(pos, space));
  return timestamp === undefined ? undefined : { timestamp, next: space };
}

/**
 * An RFC 3164 TAG: a program name, optionally `[pid]`, then `:` and a space (or the end). The name
 * runs to `[`, `:` or a space; a colon not followed by a space (`fe80::1`) ends no TAG.
 */
function readTag(text: string, pos: number, end: number): { appName: string; procId?: string; next: number } | undefined {
  let i = pos;
  for (let c = text.charCodeAt(i); i < end && c !== OPEN_BRACKET && c !== COLON && c !== SPACE; c = text.charCodeAt(++i));
  if (i === pos || i >= end) return undefined;
  const appName = text.slice(pos, i);
  let procId: string | undefined;
  if (text.charCodeAt(i) === OPEN_BRACKET) {
    const close = text.indexOf(']', i);
    const space = indexOrEnd(text, ' ', i, end);
    if (close < 0 || close > space) return undefined;
    procId = text.slice(i + 1, close);
    i = close + 1;
  }
  if (text.charCodeAt(i) !== COLON || (i + 1 < end && text.charCodeAt(i + 1) !== SPACE)) return undefined;
  return { appName, procId, next: Math.min(i + 2, end) };
}

// ---- Helpers -------------------------------------------------------------------------------------------

function readNumber(text: string, pos: number, end: number, min: number, max: number): { value: number; next: number } | undefined {
  let value = 0;
  let i = pos;
  for (; i < end && i - pos < max && isDigit(text.charCodeAt(i)); i++) value = value * 10 + text.charCodeAt(i) - 48;
  return i - pos < min || isDigit(text.charCodeAt(i)) ? undefined : { value, next: i };
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function skipSpaces(text: string, pos: number, end: number): number {
  while (pos < end && text.charCodeAt(pos) === SPACE) pos++;
  return pos;
}

function indexOrEnd(text: string, token: string, from: number, end: number): number {
  const at = text.indexOf(token, from);
  return at < 0 || at > end ? end : at;
}

/** A name given twice (a repeated SD parameter) collects a list. */
function addValue(fields: Record<string, unknown>, name: string, value: string): void {
  const existing = fields[name];
  if (existing === undefined) fields[name] = value;
  else if (Array.isArray(existing)) existing.push(value);
  else fields[name] = [existing, value];
}

/**
 * sudo logs `user : TTY=pts/0 ; PWD=/home/user ; USER=root ; COMMAND=/usr/bin/id`; the pairs become
 * fields under sudo's names. COMMAND comes last and is the rest of the text, ` ; ` and all.
 */
function addSudoPairs(fields: Record<string, unknown>, text: string): void {
  let pos = text.indexOf(' : ');
  if (pos < 0) return;
  pos += 3;
  // The next `=`, found once for a run of pairs without one (a search per pair would be quadratic).
  let eq = -1;
  while (pos < text.length) {
    const next = indexOrEnd(text, ' ; ', pos, text.length);
    if (eq < pos) eq = indexOrEnd(text, '=', pos, text.length);
    if (eq > pos && eq < next && isSudoKey(text, pos, eq)) {
      const key = text.slice(pos, eq);
      if (key === 'COMMAND') {
        fields[key] = text.slice(eq + 1);
        return;
      }
      if (fields[key] === undefined) fields[key] = text.slice(eq + 1, next);
    }
    pos = next + 3;
  }
}

/** sudo's keys are upper case (TTY, PWD, USER, GROUP, ENV, COMMAND, TSID). */
function isSudoKey(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || c === 95)) return false;
  }
  return true;
}
