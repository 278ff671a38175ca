import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  BufferedWriter,
  LogMetrics,
  METRICS_REPORTS,
  csvCell,
  displayWidth,
  jsonText,
  metricsReport,
  pad,
  printable,
  type ComputerRow,
  type EventIdRow,
  type LogRow,
  type LogonRow,
  type MetricsReportName,
} from '@firebreak/core';
import { UsageError, write } from '../output.js';
import { readInputs, withUsage } from './timeline.js';

const METRICS_USAGE = 'Usage: firebreak metrics PATH... eids|computers|logons|logs [--format table|csv|json]';

export const METRICS_HELP = `${METRICS_USAGE}

Counts what the event files and folders given (searched recursively) hold.

Reports:
  eids       events per channel and EventID, most frequent first, with their share
             of all events and what the well-known EventIDs mean
  computers  events per computer, with the first and last event's time and the
             channels
  logons     Security logons (4624) and failed logons (4625) per account
             (TargetDomainName\\TargetUserName), source address (IpAddress) and logon
             type (2 Interactive, 3 Network, 10 RemoteInteractive…): successes,
             failures, first and last time
  logs       per file: the format it was read as, records, problems (damaged
             records, bad lines, or the file could not be read), first and last
             time, channels

The report's name comes after the paths; it may come first instead when no file or
folder of that name exists ("firebreak metrics eids logs/" works too).

Options:
  --format F  table (default): aligned columns; csv (lists joined with "; ");
              json: {report, files, events, rows} with times in ISO 8601 UTC
  -h, --help  show this help

Memory does not grow with the number of events: only counts per key are kept.

Errors: a file that cannot be read, a damaged record or a bad line is a warning on
stderr and the rest is read. Exit status: 0 when events were read, 2 when nothing at
all could be read or for a usage error.`;

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
  const inputs = readInputs(
    paths,
    (file) => logs?.addFile(file),
    (file) => logs?.addProblem(file),
  );
  let events = 0;
  for await (const event of inputs.events()) {
    events++;
    report.add(event);
  }
  if (inputs.readable === 0) {
    await write(process.stderr, `firebreak: nothing readable in ${paths.join(', ')}\n`);
    return 2;
  }
  const table = TABLES[name] as Table<object>;
  const rows = report.rows();
  const output = new BufferedWriter(process.stdout);
  if (format === 'json') await output.add(jsonText({ report: name, files: inputs.readable, events, rows: rows.map(jsonRow) }) + '\n');
  else if (format === 'csv') await output.add(csvTable(table, rows));
  else await output.add(textTable(table, rows) + `\n${events} events in ${inputs.readable} files\n`);
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
}
type Table<Row> = Column<Row>[];

const time = (value: number | null): string => (value === null ? '-' : new Date(value).toISOString().replace('T', ' ').replace('Z', ''));
const list = (items: string[]): string => items.join(', ') || '-';

const TABLES: { [name in MetricsReportName]: Table<RowOf<name>> } = {
  eids: [
    { title: 'Count', key: 'count', numeric: true },
    { title: '%', key: 'percent', numeric: true, text: (r) => r.percent.toFixed(2) },
    { title: 'Channel', key: 'channel', text: (r) => r.channel ?? '-' },
    { title: 'EventID', key: 'event_id', numeric: true, text: (r) => (r.event_id === null ? '-' : String(r.event_id)) },
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

/** Aligned columns under a header and a rule; field values are attacker-controlled, so shown printable. */
function textTable<Row extends object>(table: Table<Row>, rows: Row[]): string {
  const cells = rows.map((row) => table.map((c) => printable(c.text ? c.text(row) : String(row[c.key]))));
  // reduce, not Math.max(...): a report may have more rows than a call takes arguments.
  const widths = table.map((c, i) => cells.reduce((width, r) => Math.max(width, displayWidth(r[i]!)), displayWidth(c.title)));
  const line = (values: string[]): string =>
    values
      .map((v, i) =>
        table[i]!.numeric ? ' '.repeat(Math.max(0, widths[i]! - displayWidth(v))) + v : i === values.length - 1 ? v : pad(v, widths[i]!),
      )
      .join('  ')
      .trimEnd() + '\n';
  return line(table.map((c) => c.title)) + line(widths.map((w) => '─'.repeat(w))) + cells.map(line).join('');
}

/** The JSON rows' values under the JSON names; lists joined with "; ". */
function csvTable<Row extends object>(table: Table<Row>, rows: Row[]): string {
  const cell = (value: unknown): string => csvCell(Array.isArray(value) ? value.join('; ') : value);
  const values = rows.map(jsonRow).map((row) => table.map((c) => row[c.key]));
  return [table.map((c) => c.key), ...values].map((r) => r.map(cell).join(',') + '\r\n').join('');
}

/** Times as ISO 8601 UTC, the rest as it is; percentages to two decimals. */
function jsonRow(row: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if ((key === 'first' || key === 'last') && typeof value === 'number') out[key] = new Date(value).toISOString();
    else if (key === 'percent' && typeof value === 'number') out[key] = Math.round(value * 100) / 100;
    else out[key] = value;
  }
  return out;
}
