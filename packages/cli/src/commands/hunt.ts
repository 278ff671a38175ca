import { existsSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import {
  LEVELS,
  OUTPUT_FORMATS,
  createSink,
  defaultHuntThreads,
  hunt,
  isLevel,
  isTerminal,
  terminalWidth,
  useColor,
  printable,
  type Detection,
  type DetectionLevel,
  type DetectionSink,
  type HuntSummary,
  type HuntUpdate,
  type OutputFormat,
  type RuleSummary,
} from '@firebreak/core';
import { RULE_PACK_DIR } from '@firebreak/rules';
import { loadMapping, loadPlaceholders } from '@firebreak/sigma';
import { UsageError, openOutput, parsePositiveInt, withUsage, write } from '../output.js';
import { FileWarnings } from '../warnings.js';
import { ProgressLine } from '../hunt/progress.js';
import { printSummary } from '../hunt/summary.js';
import { DetectionTally } from '../hunt/tally.js';
import { parseTimeRange } from '../hunt/time.js';

export const HUNT_HELP = `Usage: firebreak hunt PATH... [options]

Runs Sigma rules over every event of the files and folders given (searched recursively;
EVTX, evtx_dump JSON, Winlogbeat/ECS JSON, Windows XML exports and Linux audit.log,
recognised by content, gzipped or not) and prints what fired, in input order.

Rules:
  --rules PATH        Sigma rule file or folder (repeatable); default: Firebreak's
                      bundled rule pack
  --min-level L       only rules of level L or above: informational, low, medium,
                      high, critical
  --status S          only rules with one of these statuses (comma-separated or
                      repeated): stable, test, experimental, deprecated, unsupported
  --tags T            only rules with one of these tags (comma-separated or repeated);
                      a tag selects its sub-tags: attack.t1059 selects attack.t1059.001;
                      attack.defense-evasion also selects ATT&CK v18's attack.stealth
                      and attack.defense-impairment
  --mapping FILE      a log source mapping file that overrides or extends the shipped
                      ones (repeatable)
  --raw               no log source mapping: every rule meets every event
  --placeholders FILE YAML map of placeholder → values for rules using "expand"

Events:
  --from T, --to T    only events from/until T: an ISO 8601 time ("2023-03-29T14:00",
                      UTC unless it names a zone) or a date (--to DATE includes that
                      whole day); events without a readable time are left out
  --computer C        only events of computer C (comma-separated or repeated)
  --eid N             only events with EventID N (comma-separated or repeated)

Output:
  --format F          table (default), csv, json, jsonl or html (a self-contained
                      report with charts, an ATT&CK matrix and a filterable table)
  --output FILE       write there instead of standard output
  --sort              detections oldest first (those without a time last) instead of
                      in input order; they are held until the end, so memory grows
                      with their number
  --no-color          no colours in the table (also when NO_COLOR is set)
  -q, --quiet         no progress line, no summary
  --threads N         worker threads hunting files in parallel (default: one less
                      than the cores, ${defaultHuntThreads()} here); 1 hunts on the main thread.
                      Each thread holds its own copy of the rules (130–200 MB
                      with every SigmaHQ rule)
  -h, --help          show this help

Each detection names rule_id, rule_title, level, status, tags, attack (tactics and
techniques), timestamp (UTC), computer, channel, event_id, record_id, file and the
fields that matched. On a terminal a progress line is drawn on stderr; a summary
follows at the end (files, events, detections by level, the period from the first
to the last detection, the top rules and computers, rules loaded and skipped with
their reasons, time, events/s, peak memory).

Errors: a file that cannot be read, or is no event log Firebreak knows, is a warning
and the hunt goes on. Exit status: 0 when the hunt ran (with or without detections),
2 for a usage error or when nothing at all could be read, 1 for anything else.`;

const OPTIONS = {
  rules: { type: 'string', multiple: true },
  'min-level': { type: 'string' },
  status: { type: 'string', multiple: true },
  tags: { type: 'string', multiple: true },
  mapping: { type: 'string', multiple: true },
  raw: { type: 'boolean' },
  placeholders: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  computer: { type: 'string', multiple: true },
  eid: { type: 'string', multiple: true },
  format: { type: 'string', default: 'table' },
  output: { type: 'string' },
  sort: { type: 'boolean' },
  'no-color': { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  threads: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The statuses the Sigma specification defines. */
const STATUSES = ['stable', 'test', 'experimental', 'deprecated', 'unsupported'];

const HUNT_USAGE = HUNT_HELP.split('\n')[0]!;

export async function huntCommand(args: string[]): Promise<number> {
  const parsed = await withUsage(HUNT_USAGE, async () => {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: OPTIONS });
    if (values.help) return undefined;
    if (positionals.length === 0) throw new UsageError('hunt needs at least one PATH');
    return { values, positionals, options: huntOptions(values, positionals) };
  });
  if (!parsed) {
    await write(process.stdout, HUNT_HELP + '\n');
    return 0;
  }
  const run = new HuntRun(parsed.values, parsed.positionals);
  for await (const update of hunt(parsed.options)) await run.apply(update);
  return run.finish();
}

/** One hunt as the terminal sees it: the output sink, the progress line, warnings and the summary. */
class HuntRun {
  private readonly summary: HuntSummary;
  private readonly started = performance.now();
  private readonly warnings = new FileWarnings(() => this.progress?.clear());
  private readonly tally = new DetectionTally();
  /** With --sort: every detection, written at the end. */
  private readonly held: Detection[] = [];
  private progress: ProgressLine | undefined;
  private out: Writable | undefined;
  private sink: DetectionSink | undefined;

  constructor(
    private readonly values: Values,
    private readonly inputs: string[],
  ) {
    this.summary = emptySummary(inputs);
  }

  async apply(update: HuntUpdate): Promise<void> {
    switch (update.kind) {
      case 'files':
        if (!this.values.quiet && isTerminal(process.stderr))
          this.progress = new ProgressLine(process.stderr, update.files.length, update.bytes);
        return;
      case 'rules':
        return this.rulesLoaded(update.rules);
      case 'detections':
        return this.detections(update);
      case 'file-done':
        return this.fileDone(update);
      case 'end':
        if (update.untimedCorrelated > 0)
          this.warnings.warn(
            'correlations',
            `${update.untimedCorrelated} matches of correlated rules had no readable time and were not correlated`,
          );
    }
  }

  async finish(): Promise<number> {
    const { summary, values } = this;
    this.progress?.clear();
    this.warnings.finish();
    summary.elapsedMs = performance.now() - this.started;
    summary.eventsPerSecond = summary.events / Math.max(summary.elapsedMs / 1000, 1e-3);
    summary.peakRssBytes = process.resourceUsage().maxRSS * 1024;
    if (values.sort) for (const detection of sortedByTime(this.held)) await this.sink?.write(detection);
    await this.sink?.end(summary);
    if (values.output && this.out) {
      this.out.end();
      await finished(this.out);
    }
    if (!values.quiet) await printSummary(process.stderr, summary, this.tally, !values['no-color'] && useColor(process.stderr));
    if (summary.files > 0) return 0;
    await write(process.stderr, `firebreak: nothing readable in ${printable(this.inputs.join(', '))}\n`);
    return 2;
  }

  /** The output opens once the rules are known to load, so a failed start leaves an existing --output file alone. */
  private async rulesLoaded(rules: RuleSummary): Promise<void> {
    for (const f of rules.failures) this.warnings.warn('rules', `${f.file}${f.line ? `:${f.line}` : ''}: ${f.status}: ${f.reason}`);
    if (rules.loaded === 0) {
      const why = Object.entries(rules.reasons).map(([reason, count]) => `${reason}: ${count}`);
      const from = this.values.rules?.join(', ') ?? 'the bundled rule pack';
      throw new UsageError(`no rule loaded from ${from}${why.length ? ` (left out: ${why.join(', ')})` : ''}\n${HUNT_USAGE}`);
    }
    Object.assign(this.summary, { rulesLoaded: rules.loaded, rulesSkipped: rules.skipped, skipReasons: rules.reasons });
    this.out = await openOutput(this.values.output);
    this.sink = createSink(this.values.format as OutputFormat, this.out, {
      color: !this.values['no-color'] && useColor(this.out),
      width: terminalWidth(this.out),
    });
  }

  private async detections(update: Extract<HuntUpdate, { kind: 'detections' }>): Promise<void> {
    const { summary } = this;
    summary.events += update.events;
    summary.eventsFiltered += update.filtered;
    summary.warnings += update.problems.length;
    for (const p of update.problems) this.warnings.warn(update.file, `${p.origin}: ${p.message}`);
    // Table rows on the terminal would otherwise land in the middle of the progress line.
    if (update.detections.length > 0 && !this.values.output) this.progress?.clear();
    for (const detection of update.detections) {
      summary.detections++;
      summary.byLevel[detection.level]++;
      this.tally.add(detection);
      if (this.values.sort) this.held.push(detection);
      else await this.sink!.write(detection);
    }
    this.progress?.addEvents(update.events);
  }

  private async fileDone(update: Extract<HuntUpdate, { kind: 'file-done' }>): Promise<void> {
    if (update.failed) {
      this.summary.filesSkipped++;
      this.summary.warnings++;
      this.warnings.warn(update.file, update.failed);
    } else this.summary.files++;
    this.progress?.fileDone(update.bytes);
  }
}

/** Oldest first; equal times keep input order (the sort is stable); detections without a time last. */
function sortedByTime(detections: Detection[]): Detection[] {
  const key = (d: Detection): string => d.timestamp ?? '\uffff';
  return detections.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

type Values = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: typeof OPTIONS }>>['values'];

function huntOptions(values: Values, inputs: string[]): Parameters<typeof hunt>[0] {
  if (!(OUTPUT_FORMATS as readonly string[]).includes(values.format!))
    throw new UsageError(`--format must be one of ${OUTPUT_FORMATS.join(', ')}, got "${values.format}"`);
  const minLevel = values['min-level'];
  if (minLevel !== undefined && !isLevel(minLevel))
    throw new UsageError(`--min-level must be one of ${LEVELS.join(', ')}, got "${minLevel}"`);
  const statuses = list(values.status);
  const unknown = statuses?.find((status) => !STATUSES.includes(status.toLowerCase()));
  if (unknown !== undefined) throw new UsageError(`--status must be among ${STATUSES.join(', ')}, got "${unknown}"`);
  if (values.raw && values.mapping) throw new UsageError('--raw and --mapping exclude each other');
  checkEngineFiles(values);
  for (const path of values.rules ?? []) if (!existsSync(path)) throw new UsageError(`--rules ${path}: no such file or folder`);
  const { from, to } = parseTimeRange(values);
  return {
    inputs,
    rules: {
      rules: values.rules ?? [RULE_PACK_DIR],
      mappingFiles: values.mapping,
      raw: values.raw,
      placeholdersFile: values.placeholders,
      minLevel: minLevel as DetectionLevel | undefined,
      statuses,
      tags: list(values.tags),
    },
    events: { from, to, computers: list(values.computer), eventIds: list(values.eid)?.map((n) => eventId(n)) },
    threads: parsePositiveInt(values.threads, '--threads') ?? defaultHuntThreads(),
  };
}

/** Mapping and placeholder files are checked here, so a mistake is a usage error rather than a failed worker. */
function checkEngineFiles(values: Values): void {
  try {
    loadMapping({ files: values.mapping, raw: values.raw });
    if (values.placeholders) loadPlaceholders(values.placeholders);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function list(values: string[] | undefined): string[] | undefined {
  const items = values
    ?.flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  return items?.length ? items : undefined;
}

function eventId(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--eid must be an event id (a whole number), got "${text}"`);
  return n;
}

function emptySummary(inputs: string[]): HuntSummary {
  return {
    files: 0,
    filesSkipped: 0,
    events: 0,
    eventsFiltered: 0,
    detections: 0,
    byLevel: Object.fromEntries(LEVELS.map((l) => [l, 0])) as Record<DetectionLevel, number>,
    rulesLoaded: 0,
    rulesSkipped: 0,
    skipReasons: {},
    warnings: 0,
    inputs,
    startedAt: new Date().toISOString(),
    elapsedMs: 0,
    eventsPerSecond: 0,
    peakRssBytes: 0,
  };
}
