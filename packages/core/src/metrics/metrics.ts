/**
 * What a pile of logs holds, counted as the events stream past: events per channel and EventID,
 * per computer, logons per user/source/type, and per file. Memory grows with the number of
 * distinct keys (ids, computers, users, files), never with the number of events; and as the keys
 * are whatever the logs say, each report counts at most MAX_METRICS_ROWS of them one by one, with
 * names cut to MAX_NAME_LENGTH and at most MAX_CHANNELS_PER_ROW channels listed per row.
 */
import type { FirebreakEvent, SourceFormat } from '../event.js';
import { account } from '../timeline/process-events.js';
import { describeEvent, logonTypeName } from './event-descriptions.js';

export const METRICS_REPORTS = ['eids', 'computers', 'logons', 'logs'] as const;
export type MetricsReportName = (typeof METRICS_REPORTS)[number];

/** Keys a report counts one by one; the events of keys met after that add up in one row named OTHER_ROW. */
export const MAX_METRICS_ROWS = 100_000;
/** The row of the keys past a report's limit. */
export const OTHER_ROW = '(other)';
/** Channels listed per row; a row that saw more ends its list with MORE_CHANNELS. */
export const MAX_CHANNELS_PER_ROW = 100;
export const MORE_CHANNELS = '(more)';
/** Names (computers, channels, accounts, addresses, record types) longer than this are cut, ending in "…". */
export const MAX_NAME_LENGTH = 256;

/** A report is fed every event, then asked for its rows. */
export interface MetricsReport<Row> {
  add(event: FirebreakEvent): void;
  rows(): Row[];
}

/** First and last time seen (ms since the epoch), ignoring events without a time. */
class TimeSpan {
  first: number | undefined;
  last: number | undefined;

  see(time: number | undefined): void {
    if (time === undefined) return;
    if (this.first === undefined || time < this.first) this.first = time;
    if (this.last === undefined || time > this.last) this.last = time;
  }
}

/** Entries by key, at most `limit` of them; the keys met after that share one entry, the "(other)" row. */
class BoundedTally<Entry> {
  private readonly byKey = new Map<string, Entry>();
  /** The entry of the keys past the limit, once there are any. */
  other: Entry | undefined;

  constructor(private readonly limit: number) {}

  /** The key's entry; `create(false)` makes a new key's, `create(true)` the "(other)" one. */
  entry(key: string, create: (other: boolean) => Entry): Entry {
    let entry = this.byKey.get(key);
    if (entry) return entry;
    if (this.byKey.size >= this.limit) return (this.other ??= create(true));
    this.byKey.set(ownCopy(key), (entry = create(false)));
    return entry;
  }

  /** The entries counted one by one, in the order their keys were met. */
  entries(): Entry[] {
    return [...this.byKey.values()];
  }
}

/** Each channel name once per report, so that rows listing the same channels share the text. */
class ChannelNames {
  private readonly names = new Map<string, string>();

  /** The shared copy of `name`; undefined once MAX_METRICS_ROWS names are known. */
  shared(name: string): string | undefined {
    const cut = cutName(name);
    let known = this.names.get(cut);
    if (known === undefined && this.names.size < MAX_METRICS_ROWS) this.names.set(cut, (known = ownCopy(cut)));
    return known;
  }
}

/** The channels of a row: at most MAX_CHANNELS_PER_ROW, and whether there were more. */
class ChannelList {
  private readonly names: string[] = [];
  private more = false;

  constructor(private readonly shared: ChannelNames) {}

  add(channel: string | undefined): void {
    if (channel === undefined || this.more) return;
    const name = this.shared.shared(channel);
    if (name !== undefined && this.names.includes(name)) return;
    if (name !== undefined && this.names.length < MAX_CHANNELS_PER_ROW) this.names.push(name);
    else this.more = true;
  }

  /** Sorted, then MORE_CHANNELS when some were not listed. */
  list(): string[] {
    // Sorted in place: a copy per row would double what the report holds, when it holds the most.
    this.names.sort(compareText);
    return this.more ? this.names.concat(MORE_CHANNELS) : this.names;
  }
}

export interface EventIdRow {
  channel: string | null;
  event_id: number | null;
  /** For an event without an EventID: its `type` field (auditd: the first record's type, e.g. SYSCALL); else null. */
  record_type: string | null;
  count: number;
  /** Share of all events, in percent. */
  percent: number;
  description: string | null;
}

/** Events per (channel, EventID), or (channel, record type) for events without an EventID; most frequent first. */
export class EventIdMetrics implements MetricsReport<EventIdRow> {
  private readonly counts: BoundedTally<{
    channel: string | undefined;
    eventId: number | undefined;
    type: string | undefined;
    count: number;
  }>;
  private total = 0;

  constructor(maxRows = MAX_METRICS_ROWS) {
    this.counts = new BoundedTally(maxRows);
  }

  add(event: FirebreakEvent): void {
    const channel = optionalName(event.channel);
    const eventId = event.eventId;
    const type = eventId === undefined ? recordType(event) : undefined;
    const key = JSON.stringify([channel ?? null, eventId ?? null, type ?? null]);
    const create = (other: boolean) =>
      other
        ? { channel: OTHER_ROW, eventId: undefined, type: undefined, count: 0 }
        : { channel: optionalCopy(channel), eventId, type: optionalCopy(type), count: 0 };
    this.counts.entry(key, create).count++;
    this.total++;
  }

  rows(): EventIdRow[] {
    const row = ({ channel, eventId, type, count }: { channel?: string; eventId?: number; type?: string; count: number }): EventIdRow => ({
      channel: channel ?? null,
      event_id: eventId ?? null,
      record_type: type ?? null,
      count,
      percent: (100 * count) / this.total,
      description: describeEvent(channel, eventId) ?? null,
    });
    const rows = this.counts
      .entries()
      .sort(
        (a, b) =>
          b.count - a.count || compareText(a.channel, b.channel) || (a.eventId ?? -1) - (b.eventId ?? -1) || compareText(a.type, b.type),
      )
      .map(row);
    const other = this.counts.other;
    if (other) rows.push({ ...row(other), description: 'the other channels and EventIDs, counted together' });
    return rows;
  }
}

export interface ComputerRow {
  computer: string | null;
  events: number;
  first: number | null;
  last: number | null;
  channels: string[];
}

/** Events per computer (case-insensitive; shown as first written), with their time span and channels. */
export class ComputerMetrics implements MetricsReport<ComputerRow> {
  private readonly computers: BoundedTally<{ name: string | undefined; events: number; span: TimeSpan; channels: ChannelList }>;
  private readonly channelNames = new ChannelNames();

  constructor(maxRows = MAX_METRICS_ROWS) {
    this.computers = new BoundedTally(maxRows);
  }

  add(event: FirebreakEvent): void {
    const name = optionalName(event.host);
    const create = (other: boolean) => ({
      name: other ? OTHER_ROW : optionalCopy(name),
      events: 0,
      span: new TimeSpan(),
      channels: new ChannelList(this.channelNames),
    });
    const entry = this.computers.entry(name?.toLowerCase() ?? '', create);
    entry.events++;
    entry.span.see(event.timestamp);
    entry.channels.add(event.channel);
  }

  rows(): ComputerRow[] {
    const row = ({
      name,
      events,
      span,
      channels,
    }: {
      name?: string;
      events: number;
      span: TimeSpan;
      channels: ChannelList;
    }): ComputerRow => ({
      computer: name ?? null,
      events,
      first: span.first ?? null,
      last: span.last ?? null,
      channels: channels.list(),
    });
    const rows = this.computers
      .entries()
      .sort((a, b) => b.events - a.events || compareText(a.name, b.name))
      .map(row);
    return withOther(rows, this.computers.other, row);
  }
}

export interface LogonRow {
  /** `DOMAIN\user` of the account logged on (TargetDomainName\TargetUserName). */
  user: string;
  /** IpAddress, `-` when the logon came from no network address. */
  source: string;
  logon_type: number | null;
  logon_type_name: string | null;
  successes: number;
  failures: number;
  first: number | null;
  last: number | null;
}

/** Successful (Security 4624) and failed (4625) logons per account, source address and logon type; most logons first. */
export class LogonMetrics implements MetricsReport<LogonRow> {
  private readonly logons: BoundedTally<Omit<LogonRow, 'first' | 'last'> & { span: TimeSpan }>;

  constructor(maxRows = MAX_METRICS_ROWS) {
    this.logons = new BoundedTally(maxRows);
  }

  add(event: FirebreakEvent): void {
    const id = event.eventId;
    if ((id !== 4624 && id !== 4625) || event.channel?.toLowerCase() !== 'security') return;
    const text = (name: string): string | undefined => {
      const value = event.fields.get(name);
      return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
    };
    const user = cutName(account(text('TargetDomainName'), text('TargetUserName')) ?? '-');
    const source = cutName(text('IpAddress') || '-');
    const type = Number(text('LogonType') ?? NaN);
    const logonType = Number.isInteger(type) ? type : null;
    const create = (other: boolean) => ({
      user: other ? OTHER_ROW : ownCopy(user),
      source: other ? '-' : ownCopy(source),
      logon_type: other ? null : logonType,
      logon_type_name: other ? null : (logonTypeName(logonType ?? undefined) ?? null),
      successes: 0,
      failures: 0,
      span: new TimeSpan(),
    });
    const entry = this.logons.entry(`${user.toLowerCase()}\n${source}\n${logonType}`, create);
    if (id === 4624) entry.successes++;
    else entry.failures++;
    entry.span.see(event.timestamp);
  }

  rows(): LogonRow[] {
    const row = ({ span, ...counts }: Omit<LogonRow, 'first' | 'last'> & { span: TimeSpan }): LogonRow => ({
      ...counts,
      first: span.first ?? null,
      last: span.last ?? null,
    });
    const rows = this.logons
      .entries()
      .sort(
        (a, b) =>
          b.successes + b.failures - (a.successes + a.failures) ||
          compareText(a.user, b.user) ||
          compareText(a.source, b.source) ||
          (a.logon_type ?? -1) - (b.logon_type ?? -1),
      )
      .map(row);
    return withOther(rows, this.logons.other, row);
  }
}

export interface LogRow {
  file: string;
  /** The format the file was read as; null when it gave no event. */
  format: SourceFormat | null;
  records: number;
  /** Damaged records, bad lines and the like, reported while reading the file. */
  problems: number;
  first: number | null;
  last: number | null;
  channels: string[];
}

/** Per input file, in the order the files were read. */
export class LogMetrics implements MetricsReport<LogRow> {
  private readonly files: BoundedTally<{
    file: string;
    format: SourceFormat | undefined;
    records: number;
    problems: number;
    span: TimeSpan;
    channels: ChannelList;
  }>;
  private readonly channelNames = new ChannelNames();

  constructor(maxRows = MAX_METRICS_ROWS) {
    this.files = new BoundedTally(maxRows);
  }

  /** Lists a file even when it gives no event. */
  addFile(file: string): void {
    this.entry(file);
  }

  /** Counts a problem met while reading the file. */
  addProblem(file: string): void {
    this.entry(file).problems++;
  }

  add(event: FirebreakEvent): void {
    const entry = this.entry(event.file);
    entry.format ??= event.source.format;
    entry.records++;
    entry.span.see(event.timestamp);
    entry.channels.add(event.channel);
  }

  rows(): LogRow[] {
    const row = ({ file, format, records, problems, span, channels }: ReturnType<LogMetrics['entry']>): LogRow => ({
      file,
      format: format ?? null,
      records,
      problems,
      first: span.first ?? null,
      last: span.last ?? null,
      channels: channels.list(),
    });
    // A file path is kept whole: it names what to open, and there are as many as the folders given hold.
    return withOther(this.files.entries().map(row), this.files.other, row);
  }

  private entry(file: string) {
    return this.files.entry(file, (other) => ({
      file: other ? OTHER_ROW : file,
      format: undefined,
      records: 0,
      problems: 0,
      span: new TimeSpan(),
      channels: new ChannelList(this.channelNames),
    }));
  }
}

/** The report of that name. */
export function metricsReport(name: MetricsReportName): EventIdMetrics | ComputerMetrics | LogonMetrics | LogMetrics {
  switch (name) {
    case 'eids':
      return new EventIdMetrics();
    case 'computers':
      return new ComputerMetrics();
    case 'logons':
      return new LogonMetrics();
    case 'logs':
      return new LogMetrics();
  }
}

/** `rows`, then the row of the keys past the limit when there were any. */
function withOther<Entry, Row>(rows: Row[], other: Entry | undefined, row: (entry: Entry) => Row): Row[] {
  if (other) rows.push(row(other));
  return rows;
}

/** For an event without an EventID, what kind it is: its `type` field, or the first of them (auditd lists a type per record). */
function recordType(event: FirebreakEvent): string | undefined {
  const type = event.fields.get('type');
  const first: unknown = Array.isArray(type) ? type[0] : type;
  return typeof first === 'string' && first !== '' ? cutName(first) : undefined;
}

/** A name cut to MAX_NAME_LENGTH, "…" ending a cut one. */
function cutName(name: string): string {
  return name.length > MAX_NAME_LENGTH ? name.slice(0, MAX_NAME_LENGTH) + '…' : name;
}

function optionalName(name: string | undefined): string | undefined {
  return name === undefined ? undefined : cutName(name);
}

/**
 * A copy of `text` that shares no memory with it. A name read from a log may be a slice of a much
 * longer string (its line, a cut name's original), which a row keeping the slice would keep alive.
 */
function ownCopy(text: string): string {
  return Buffer.from(text, 'utf16le').toString('utf16le');
}

function optionalCopy(text: string | undefined): string | undefined {
  return text === undefined ? undefined : ownCopy(text);
}

function compareText(a: string | null | undefined, b: string | null | undefined): number {
  const x = a ?? '';
  const y = b ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}
