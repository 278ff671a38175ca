/**
 * What a pile of logs holds, counted as the events stream past: events per channel and EventID,
 * per computer, logons per user/source/type, and per file. Memory grows with the number of
 * distinct keys (ids, computers, users, files), never with the number of events.
 */
import type { FirebreakEvent, SourceFormat } from '../event.js';
import { account } from '../timeline/process-events.js';
import { describeEvent, logonTypeName } from './event-descriptions.js';

export const METRICS_REPORTS = ['eids', 'computers', 'logons', 'logs'] as const;
export type MetricsReportName = (typeof METRICS_REPORTS)[number];

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

export interface EventIdRow {
  channel: string | null;
  event_id: number | null;
  count: number;
  /** Share of all events, in percent. */
  percent: number;
  description: string | null;
}

/** Events per (channel, EventID), most frequent first. */
export class EventIdMetrics implements MetricsReport<EventIdRow> {
  private readonly counts = new Map<string, { channel: string | undefined; eventId: number | undefined; count: number }>();
  private total = 0;

  add(event: FirebreakEvent): void {
    const channel = event.channel;
    const eventId = event.eventId;
    const key = `${channel ?? ''}\n${eventId ?? ''}`;
    const entry = this.counts.get(key);
    if (entry) entry.count++;
    else this.counts.set(key, { channel, eventId, count: 1 });
    this.total++;
  }

  rows(): EventIdRow[] {
    return [...this.counts.values()]
      .sort((a, b) => b.count - a.count || compareText(a.channel, b.channel) || (a.eventId ?? -1) - (b.eventId ?? -1))
      .map(({ channel, eventId, count }) => ({
        channel: channel ?? null,
        event_id: eventId ?? null,
        count,
        percent: (100 * count) / this.total,
        description: describeEvent(channel, eventId) ?? null,
      }));
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
  private readonly computers = new Map<string, { name: string | undefined; events: number; span: TimeSpan; channels: Set<string> }>();

  add(event: FirebreakEvent): void {
    const name = event.host;
    const key = name?.toLowerCase() ?? '';
    let entry = this.computers.get(key);
    if (!entry) this.computers.set(key, (entry = { name, events: 0, span: new TimeSpan(), channels: new Set() }));
    entry.events++;
    entry.span.see(event.timestamp);
    const channel = event.channel;
    if (channel !== undefined) entry.channels.add(channel);
  }

  rows(): ComputerRow[] {
    return [...this.computers.values()]
      .sort((a, b) => b.events - a.events || compareText(a.name, b.name))
      .map(({ name, events, span, channels }) => ({
        computer: name ?? null,
        events,
        first: span.first ?? null,
        last: span.last ?? null,
        channels: [...channels].sort(compareText),
      }));
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
  private readonly logons = new Map<string, Omit<LogonRow, 'first' | 'last'> & { span: TimeSpan }>();

  add(event: FirebreakEvent): void {
    const id = event.eventId;
    if ((id !== 4624 && id !== 4625) || event.channel?.toLowerCase() !== 'security') return;
    const text = (name: string): string | undefined => {
      const value = event.fields.get(name);
      return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
    };
    const user = account(text('TargetDomainName'), text('TargetUserName')) ?? '-';
    const source = text('IpAddress') || '-';
    const type = Number(text('LogonType') ?? NaN);
    const logonType = Number.isInteger(type) ? type : null;
    const key = `${user.toLowerCase()}\n${source}\n${logonType}`;
    let entry = this.logons.get(key);
    if (!entry) {
      const name = logonTypeName(logonType ?? undefined) ?? null;
      entry = { user, source, logon_type: logonType, logon_type_name: name, successes: 0, failures: 0, span: new TimeSpan() };
      this.logons.set(key, entry);
    }
    if (id === 4624) entry.successes++;
    else entry.failures++;
    entry.span.see(event.timestamp);
  }

  rows(): LogonRow[] {
    return [...this.logons.values()]
      .sort(
        (a, b) =>
          b.successes + b.failures - (a.successes + a.failures) ||
          compareText(a.user, b.user) ||
          compareText(a.source, b.source) ||
          (a.logon_type ?? -1) - (b.logon_type ?? -1),
      )
      .map(({ span, ...row }) => ({ ...row, first: span.first ?? null, last: span.last ?? null }));
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
  private readonly files = new Map<
    string,
    { format: SourceFormat | undefined; records: number; problems: number; span: TimeSpan; channels: Set<string> }
  >();

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
    const channel = event.channel;
    if (channel !== undefined) entry.channels.add(channel);
  }

  rows(): LogRow[] {
    return [...this.files.entries()].map(([file, { format, records, problems, span, channels }]) => ({
      file,
      format: format ?? null,
      records,
      problems,
      first: span.first ?? null,
      last: span.last ?? null,
      channels: [...channels].sort(compareText),
    }));
  }

  private entry(file: string) {
    let entry = this.files.get(file);
    if (!entry) this.files.set(file, (entry = { format: undefined, records: 0, problems: 0, span: new TimeSpan(), channels: new Set() }));
    return entry;
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

function compareText(a: string | null | undefined, b: string | null | undefined): number {
  const x = a ?? '';
  const y = b ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}
