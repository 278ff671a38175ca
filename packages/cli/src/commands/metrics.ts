import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  BufferedWriter,
  isoTime,
  LogMetrics,
  METRICS_REPORTS,
  csvCell,
  displayWidth,
  jsonText,
  metricsReport,
  pad,
  printable,
  type ComputerRow,
  type FirebreakEvent,
  type EventIdRow,
  type LogRow,
  type LogonRow,
  type MetricsReportName,
} from '@firebreak/core';
import { UsageError, withUsage, write } from '../output.js';
import { eachEvent } from '../events.js';

const METRICS_USAGE = 'Usage: firebreak metrics PATH... eids|computers|logons|logs [--format table|csv|json]';

export const METRICS_HELP = `${METRICS_USAGE}

Counts what the event files and folders given (searched recursively) hold.

Reports:
  eids       events per channel and EventID, most frequent first, with their share
             of all events and what the well-known EventIDs mean. Events without an
             EventID are counted by their record type instead (auditd: the type of
             the event's first record, e.g. SYSCALL; other logs: a "type" field),
             shown in the EventID column; csv and json give it as record_type, with
             event_id null (record_type is null for events with an EventID)
  computers  events per computer, with the first and last event's time and the
             channels
  logons     Security logons (4624) and failed logons (4625) per account
             (TargetDomainName\\TargetUserName), source address (IpAddress) and logon
             type (2 Interactive, 3 Network, 10 RemoteInteractive…): successes,
             failures, first and last time
  logs       per file: the format it was read as, records, problems (damaged
             records, bad lines, events that could not be counted, or the file or
             path could not be read), first and last time, channels

The report's name comes after the paths; it may come first instead when no file or
folder of that name exists ("firebreak metrics eids logs/" works too).

Options:
  --format F  table (default): aligned columns; csv (lists joined with "; ");
              json: {report, files, events, rows} with times in ISO 8601 UTC
  -h, --help  show this help

Memory does not grow with the number of events, nor past a bound with what the logs
say: a report counts at most 100,000 keys (channel and EventID pairs, computers,
logon triples, files) one by one, and the events of keys met after that together
in a last row named "(other)"; a row lists at most 100 channels, then "(more)";
names longer than 256 characters are cut, ending in "…" (file paths are kept whole).

Errors: a file that cannot be read, a damaged record, a bad line or an event that
cannot be counted is a warning on stderr (naming the file and record or line) and the
rest is read. Exit status: 0 when events were read, 2 when nothing at all could be
read or for a usage error.`;

const OPTIONS = {
  format: { type: 'string', default: 'table' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function metrics(args: string[]): Promise<number> {
  const setup = await withUsage(METRICS_USAGE, async () => {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: OPTIONS });
    if (values.help) return undefined;
    const format = values.format;
    if (format !== 'table' && format !== 'csv' && format !== 'json')
      throw new UsageError(`--format must be table, csv or json, got "${format}"`);
    return { format, ...reportAndPaths(positionals) };
  });
  if (!setup) {
    await write(process.stdout, METRICS_HELP + '\n');
    return 0;
  }
  const { format, report: name, paths } = setup;
  const report = metricsReport(name);
  const logs = report instanceof LogMetrics ? report : undefined;
  let events = 0;
  const use = (event: FirebreakEvent): void => {
    report.add(event);
    events++;
  };
  const readable = await eachEvent(paths, use, { onFile: (file) => logs?.addFile(file), onProblem: (file) => logs?.addProblem(file) });
  if (readable === 0) {
    await write(process.stderr, `firebreak: nothing readable in ${printable(paths.join(', '))}\n`);
    return 2;
  }
  const table = TABLES[name] as Table<object>;
  const rows = report.rows();
  // Row by row: a report's text may be far larger than its counts (100 channels of 256 characters a row).
  const pieces =
    format === 'json'
      ? jsonLines({ report: name, files: readable, events }, rows)
      : format === 'csv'
        ? csvLines(table, rows)
        : textLines(table, rows, `\n${events} events in ${readable} files\n`);
  const output = new BufferedWriter(process.stdout);
  for (const piece of pieces) await output.add(piece);
  await output.flush();
  return 0;
}

const REPORTS = new Set<string>(METRICS_REPORTS);

/** The report named last, or first when no file or folder has that name; the rest are paths. */
function reportAndPaths(positionals: string[]): { report: MetricsReportName; paths: string[] } {
  const first = positionals[0];
  const last = positionals[positionals.length - 1];
  const firstIsReport = positionals.length > 1 && REPORTS.has(first!) && !existsSync(first!);
  const lastIsReport = positionals.length > 1 && REPORTS.has(last!);
  // "metrics eids logs" with a folder named logs: the report is the word that is not a path.
  if (lastIsReport && !(firstIsReport && existsSync(last!))) return { report: last as MetricsReportName, paths: positionals.slice(0, -1) };
  if (firstIsReport) return { report: first as MetricsReportName, paths: positionals.slice(1) };
  if (positionals.length === 1 && REPORTS.has(first!)) throw new UsageError(`metrics ${first} needs at least one PATH`);
  throw new UsageError(`metrics needs PATH... and a report: ${METRICS_REPORTS.join(', ')}`);
}

// ---- Tables -------------------------------------------------------------------------------

interface Column<Row> {
  title: string;
  /** The CSV/JSON name (the row's key) */
  key: keyof Row & string;
  /** Numbers are right-aligned in the table. */
  numeric?: boolean;
  text?: (row: Row) => string;
  /** Shown within another column of the table: only CSV has a column of its own for it. */
  csvOnly?: boolean;
}
type Table<Row> = Column<Row>[];

const time = (value: number | null): string => isoTime(value)?.replace('T', ' ').replace('Z', '') ?? '-';
const list = (items: string[]): string => items.join(', ') || '-';

const TABLES: { [name in MetricsReportName]: Table<RowOf<name>> } = {
  eids: [
    { title: 'Count', key: 'count', numeric: true },
    { title: '%', key: 'percent', numeric: true, text: (r) => r.percent.toFixed(2) },
    { title: 'Channel', key: 'channel', text: (r) => r.channel ?? '-' },
    { title: 'EventID', key: 'event_id', numeric: true, text: (r) => (r.event_id === null ? (r.record_type ?? '-') : String(r.event_id)) },
    { title: 'Record type', key: 'record_type', csvOnly: true },
    { title: 'Event', key: 'description', text: (r) => r.description ?? '' },
  ],
  computers: [
    { title: 'Computer', key: 'computer', text: (r) => r.computer ?? '-' },
    { title: 'Events', key: 'events', numeric: true },
    { title: 'First (UTC)', key: 'first', text: (r) => time(r.first) },
    { title: 'Last (UTC)', key: 'last', text: (r) => time(r.last) },
    { title: 'Channels', key: 'channels', text: (r) => list(r.channels) },
  ],
  logons: [
    { title: 'User', key: 'user' },
    { title: 'Source', key: 'source' },
    { title: 'Type', key: 'logon_type', numeric: true, text: (r) => (r.logon_type === null ? '-' : String(r.logon_type)) },
    { title: 'Logon type', key: 'logon_type_name', text: (r) => r.logon_type_name ?? '-' },
    { title: 'Success', key: 'successes', numeric: true },
    { title: 'Failed', key: 'failures', numeric: true },
    { title: 'First (UTC)', key: 'first', text: (r) => time(r.first) },
    { title: 'Last (UTC)', key: 'last', text: (r) => time(r.last) },
  ],
  logs: [
    { title: 'File', key: 'file' },
    { title: 'Format', key: 'format', text: (r) => r.format ?? '-' },
    { title: 'Records', key: 'records', numeric: true },
    { title: 'Problems', key: 'problems', numeric: true },
    { title: 'First (UTC)', key: 'first', text: (r) => time(r.first) },
    { title: 'Last (UTC)', key: 'last', text: (r) => time(r.last) },
    { title: 'Channels', key: 'channels', text: (r) => list(r.channels) },
  ],
};

type RowOf<Name extends MetricsReportName> = { eids: EventIdRow; computers: ComputerRow; logons: LogonRow; logs: LogRow }[Name];

/** Aligned columns under a header and a rule, then `footer`; field values are attacker-controlled, so shown printable. */
function* textLines<Row extends object>(columns: Table<Row>, rows: Row[], footer: string): Generator<string> {
  const table = columns.filter((c) => !c.csvOnly);
  const cellsOf = (row: Row): string[] => table.map((c) => printable(c.text ? c.text(row) : String(row[c.key])));
  // Widths first and lines after, each row's cells made twice rather than every row's kept at once.
  const widths = table.map((c) => displayWidth(c.title));
  for (const row of rows) cellsOf(row).forEach((cell, i) => (widths[i] = Math.max(widths[i]!, displayWidth(cell))));
  const line = (values: string[]): string =>
    values
      .map((v, i) =>
        table[i]!.numeric ? ' '.repeat(Math.max(0, widths[i]! - displayWidth(v))) + v : i === values.length - 1 ? v : pad(v, widths[i]!),
      )
      .join('  ')
      .trimEnd() + '\n';
  yield line(table.map((c) => c.title));
  yield line(widths.map((w) => '─'.repeat(w)));
  for (const row of rows) yield line(cellsOf(row));
  yield footer;
}

/** A header of the JSON names, then each row's values; lists joined with "; ". */
function* csvLines<Row extends object>(table: Table<Row>, rows: Row[]): Generator<string> {
  const cell = (value: unknown): string => csvCell(Array.isArray(value) ? value.join('; ') : value);
  yield table.map((c) => c.key).join(',') + '\r\n';
  for (const row of rows) {
    const values = jsonRow(row);
    yield table.map((c) => cell(values[c.key])).join(',') + '\r\n';
  }
}

/** One JSON object, `head`'s members then "rows", written a row at a time. */
function* jsonLines(head: Record<string, unknown>, rows: object[]): Generator<string> {
  yield jsonText(head).slice(0, -1) + ',"rows":[';
  for (let i = 0; i < rows.length; i++) yield (i === 0 ? '' : ',') + jsonText(jsonRow(rows[i]!));
  yield ']}\n';
}

/** Times as ISO 8601 UTC, the rest as it is; percentages to two decimals. */
function jsonRow(row: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if ((key === 'first' || key === 'last') && typeof value === 'number') out[key] = isoTime(value);
    else if (key === 'percent' && typeof value === 'number') out[key] = Math.round(value * 100) / 100;
    else out[key] = value;
  }
  return out;
}
