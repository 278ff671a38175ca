import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import {
  BufferedWriter,
  isoTime,
  ProcessTreeBuilder,
  TimedLines,
  baseName,
  channelShortName,
  csvCell,
  eventFilter,
  eventHeader,
  ruleIdentity,
  eventSummary,
  jsonText,
  levelRank,
  lineage,
  loadHuntRules,
  normalizeGuid,
  parsePid,
  printable,
  processRefOf,
  summarizeRules,
  terminalWidth,
  truncate,
  walkTrees,
  type FirebreakEvent,
  type ProcessForest,
  type ProcessNode,
  type ProcessRef,
  type TreeStep,
} from '@firebreak/core';
import { RULE_PACK_DIR } from '@firebreak/rules';
import type { RuleSet } from '@firebreak/sigma';
import { eachEvent } from '../events.js';
import { UsageError, openOutput, withUsage, write } from '../output.js';
import { parseTimeRange } from '../hunt/time.js';

const TIMELINE_USAGE = `Usage: firebreak timeline PATH... [--format text|csv|jsonl] [--process-tree] [--host H]
         [--pid P | --guid G] [--rules PATH]... [--from T] [--to T] [--output FILE]`;

export const TIMELINE_HELP = `${TIMELINE_USAGE}

Every event of the files and folders given (searched recursively), in time order,
with the Sigma detections of each event inline. With --process-tree, the process
trees rebuilt from Sysmon 1/5 and Security 4688/4689 instead.

Options:
  --format F          text (default): a line per event: time (UTC), computer,
                      channel/EventID, what happened, and "⚑ level: rule" for each
                      detection;
                      csv: timestamp, computer, channel, event_id, record_id, file,
                      summary, detections and fields (JSON) per row;
                      jsonl: one object per event with timestamp, computer, channel,
                      event_id, record_id, file, summary, fields and detections
                      [{rule_id, rule_title, level}]
  --process-tree      print process trees per computer, roots first in time order:
                      time, image, PID, user, detections and command line of each
                      process (cut to the terminal's width); parents whose creation
                      is not in the logs are shown from what their children say.
                      Children link to parents by process GUID (Sysmon), else by
                      PID within the parent's lifetime (PIDs are reused). With
                      --format jsonl: one object per process with its children's ids
  --host H            only events of computer H (case-insensitive)
  --pid P             only the process tree of the process with PID P (decimal or
                      0x hex): its ancestors, its descendants, and the events they
                      produced (several processes may have had P: all are shown)
  --guid G            the same for the process with process GUID G (Sysmon)
  --rules PATH        Sigma rule file or folder (repeatable); default: Firebreak's
                      bundled rule pack. Correlation rules are not run here (use hunt)
  --from T, --to T    only events from/until T: an ISO 8601 time (UTC unless it
                      names a zone) or a date (--to DATE includes that whole day);
                      events without a time are then left out
  --output FILE       write there instead of standard output
  -h, --help          show this help

Order: oldest first; equal times keep the order of the files (as listed, folders
sorted by path) and of the records in them; events without a time come last.
The filters apply before process trees are built.

Memory: sorting needs every event, so each one is kept until the end as its output
line and no more: about the size of the output, plus 20 bytes per event (and its
process with --pid/--guid). --process-tree keeps only the process events.

Errors: a file that cannot be read, a damaged record, a bad line or an event that
cannot be shown is a warning on stderr (naming the file and record or line) and the
rest is read. Exit status: 0 when events were read, 1 when --pid or --guid matches
no process, 2 when nothing at all could be read or for a usage error.`;

const OPTIONS = {
  format: { type: 'string' },
  'process-tree': { type: 'boolean' },
  host: { type: 'string' },
  pid: { type: 'string' },
  guid: { type: 'string' },
  rules: { type: 'string', multiple: true },
  from: { type: 'string' },
  to: { type: 'string' },
  output: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Format = 'text' | 'csv' | 'jsonl';

interface TimelineOptions {
  paths: string[];
  format: Format;
  tree: boolean;
  host?: string;
  pid?: number;
  guid?: string;
  rules: string[];
  from?: number;
  to?: number;
  output?: string;
}

/** A detection as the timeline shows it: which rule, at what level. */
interface Mark {
  rule_id: string;
  rule_title: string;
  level: string;
}

export async function timeline(args: string[]): Promise<number> {
  const setup = await withUsage(TIMELINE_USAGE, async () => {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: OPTIONS });
    if (values.help) return undefined;
    const options = timelineOptions(values, positionals);
    return { options, ruleSet: loadTimelineRules(options.rules) };
  });
  if (!setup) {
    await write(process.stdout, TIMELINE_HELP + '\n');
    return 0;
  }
  const { options, ruleSet } = setup;
  const out = await openOutput(options.output);
  const read = await readTimeline(options, ruleSet);
  if (read.readable === 0) {
    await write(process.stderr, `firebreak: nothing readable in ${printable(options.paths.join(', '))}\n`);
    return 2;
  }
  const forest = read.builder?.build();
  const selected = forest && (options.pid !== undefined || options.guid !== undefined) ? forest.find(options) : undefined;
  if (selected?.length === 0) {
    const what = options.pid !== undefined ? `PID ${options.pid}` : `process GUID ${options.guid}`;
    await write(process.stderr, `firebreak: no process with ${what} among the processes read\n`);
    return 1;
  }
  const family = selected && lineage(selected);
  if (forest && options.tree) {
    const output = new BufferedWriter(out);
    await printForest(output, forest, family, attribute(forest, read.marked), options.format, terminalWidth(out));
    await output.flush();
  } else {
    const producers = read.producers;
    const keep = forest && family ? (i: number) => producedBy(forest, producers[i], family) : undefined;
    await printLines(out, read.lines, keep, options.format);
  }
  if (options.output) {
    out.end();
    await finished(out);
  }
  return 0;
}

/**
 * What reading keeps: an output line per event, and which process produced it when the output
 * is limited to a process tree; for trees, only the process events and the detections.
 */
interface TimelineRead {
  readable: number;
  lines: TimedLines;
  producers: (ProcessRef | undefined)[];
  marked: { process: ProcessRef; marks: Mark[] }[];
  builder?: ProcessTreeBuilder;
}

async function readTimeline(options: TimelineOptions, ruleSet: RuleSet): Promise<TimelineRead> {
  const keep = eventFilter({ from: options.from, to: options.to, computers: options.host === undefined ? undefined : [options.host] });
  const limited = options.pid !== undefined || options.guid !== undefined;
  const builder = options.tree || limited ? new ProcessTreeBuilder() : undefined;
  const read: TimelineRead = { readable: 0, lines: new TimedLines(), producers: [], marked: [], builder };
  const format = options.tree ? undefined : lineFormat(options.format);
  read.readable = await eachEvent(options.paths, (event) => {
    if (keep && !keep(event)) return;
    // What can fail is worked out before anything is kept, so that an event left out is left out of everything.
    const marks = ruleSet.size > 0 ? detectionsOf(ruleSet, event) : [];
    const line = format?.(event, marks);
    const producer = limited || (!format && marks.length > 0) ? processRefOf(event) : undefined;
    read.builder?.add(event);
    if (line !== undefined) {
      read.lines.add(event.timestamp, line);
      if (limited) read.producers.push(producer);
    } else if (producer && marks.length > 0) read.marked.push({ process: producer, marks });
  });
  return read;
}

type Values = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: typeof OPTIONS }>>['values'];

function timelineOptions(values: Values, paths: string[]): TimelineOptions {
  if (paths.length === 0) throw new UsageError('timeline needs at least one PATH');
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'csv' && format !== 'jsonl')
    throw new UsageError(`--format must be text, csv or jsonl, got "${format}"`);
  const tree = values['process-tree'] === true;
  if (tree && format === 'csv') throw new UsageError('--process-tree prints text or jsonl, not csv');
  if (values.pid !== undefined && values.guid !== undefined) throw new UsageError('--pid and --guid exclude each other');
  const pid = values.pid === undefined ? undefined : parsePid(values.pid);
  if (values.pid !== undefined && pid === undefined)
    throw new UsageError(`--pid must be a process id (decimal or 0x hex), got "${values.pid}"`);
  const guid = values.guid === undefined ? undefined : normalizeGuid(values.guid);
  if (values.guid !== undefined && guid === undefined) throw new UsageError(`--guid must be a process GUID, got "${values.guid}"`);
  const { from, to } = parseTimeRange(values);
  return { paths, format, tree, host: values.host, pid, guid, rules: values.rules ?? [RULE_PACK_DIR], from, to, output: values.output };
}

/** The rules' detection part; a path that cannot be read is a usage error, rules that do not load are counted on stderr. */
function loadTimelineRules(paths: string[]): RuleSet {
  let loaded;
  try {
    loaded = loadHuntRules({ rules: paths });
  } catch (error) {
    throw new UsageError(`--rules: ${(error as Error).message}`);
  }
  const summary = summarizeRules(loaded);
  if (summary.skipped > 0) {
    const reasons = Object.entries(summary.reasons)
      .map(([reason, n]) => `${n} ${reason}`)
      .join(', ');
    process.stderr.write(
      `firebreak: ${loaded.ruleSet.size} rules loaded, ${summary.skipped} not used (${reasons}; "firebreak rules check" tells why)\n`,
    );
  }
  return loaded.ruleSet;
}

function detectionsOf(ruleSet: RuleSet, event: FirebreakEvent): Mark[] {
  return ruleSet
    .match(event.fields)
    .map(({ rule }) => ruleIdentity(rule))
    .sort((a, b) => levelRank(b.level) - levelRank(a.level));
}

// ---- Event lines ------------------------------------------------------------------------

const CSV_HEADER = 'timestamp,computer,channel,event_id,record_id,file,summary,detections,fields\r\n';

/** How an event becomes its output line, built as it is read so that only the line is kept. */
function lineFormat(format: Format): (event: FirebreakEvent, marks: Mark[]) => string {
  switch (format) {
    case 'text':
      return (event, marks) => {
        const where = `${channelShortName(event.channel ?? null)}/${event.eventId ?? '-'}`;
        const flags = marks.map((m) => `  ⚑ ${m.level}: ${m.rule_title}`).join('');
        return printable(`${textTime(event.timestamp)}  ${event.host ?? '-'}  ${where}  ${eventSummary(event)}${flags}`) + '\n';
      };
    case 'csv':
      return (event, marks) => {
        const r = record(event, marks);
        const cells = [r.timestamp, r.computer, r.channel, r.event_id, r.record_id, r.file, r.summary, r.detections, r.fields];
        return cells.map(csvCell).join(',') + '\r\n';
      };
    case 'jsonl':
      return (event, marks) => jsonText(record(event, marks)) + '\n';
  }
}

/** The timeline's record of an event: the names of the CSV columns and JSON keys. */
function record(event: FirebreakEvent, marks: Mark[]) {
  return { ...eventHeader(event), summary: eventSummary(event), fields: event.plainFields(), detections: marks };
}

function producedBy(forest: ProcessForest, producer: ProcessRef | undefined, family: Set<ProcessNode>): boolean {
  const node = producer && forest.processOf(producer);
  return node !== undefined && family.has(node);
}

/** Bytes gathered per write: one write per line would cost more than the line. */
const WRITE_BYTES = 64 * 1024;

async function printLines(out: Writable, lines: TimedLines, keep: ((index: number) => boolean) | undefined, format: Format): Promise<void> {
  if (format === 'csv') await write(out, CSV_HEADER);
  let batch: Buffer[] = [];
  let size = 0;
  for (const line of lines.ordered(keep)) {
    batch.push(line);
    size += line.length;
    if (size < WRITE_BYTES) continue;
    await write(out, Buffer.concat(batch, size));
    batch = [];
    size = 0;
  }
  await write(out, Buffer.concat(batch, size));
}

/** "2019-02-16 10:02:21.934" (UTC), or a dash as wide when the event has no time. */
function textTime(time: number | undefined): string {
  const iso = isoTime(time);
  return iso === null ? '-'.padEnd(23) : `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

// ---- Process trees ----------------------------------------------------------------------

/** A rule and how many of a process's events it matched. */
type CountedMark = Mark & { count: number };
type ProcessMarks = Map<ProcessNode, CountedMark[]>;

function attribute(forest: ProcessForest, marked: { process: ProcessRef; marks: Mark[] }[]): ProcessMarks {
  const out: ProcessMarks = new Map();
  for (const { process, marks } of marked) {
    const node = forest.processOf(process);
    if (!node) continue;
    const list = out.get(node) ?? [];
    for (const mark of marks) {
      const seen = list.find((m) => m.rule_id === mark.rule_id);
      if (seen) seen.count++;
      else list.push({ ...mark, count: 1 });
    }
    out.set(
      node,
      list.sort((a, b) => levelRank(b.level) - levelRank(a.level)),
    );
  }
  return out;
}

async function printForest(
  output: BufferedWriter,
  forest: ProcessForest,
  family: Set<ProcessNode> | undefined,
  marks: ProcessMarks,
  format: Format,
  width: number | undefined,
): Promise<void> {
  const keep = family ? (node: ProcessNode) => family.has(node) : () => true;
  let first = true;
  for (const { host, roots } of forest.trees()) {
    const shown = roots.filter(keep);
    if (shown.length === 0) continue;
    if (format === 'jsonl') {
      for (const step of walkTrees(shown, keep)) await output.add(jsonText(nodeRecord(step.node, keep, marks.get(step.node))) + '\n');
      continue;
    }
    await output.add(`${first ? '' : '\n'}${printable(host || '(no computer name)')}\n`);
    first = false;
    for (const step of walkTrees(shown, keep)) await output.add(nodeLine(step, marks.get(step.node), width) + '\n');
  }
}

/** Tree prefixes deeper than this are cut from the left, so an endless chain cannot make endless lines. */
const MAX_INDENT = 40;

function nodeLine(step: TreeStep, marks: CountedMark[] | undefined, width: number | undefined): string {
  const node = step.node;
  const name = node.image ? baseName(node.image) : '?';
  const user = node.user ? `  ${node.user}` : '';
  const flags = (marks ?? []).map((m) => `  ⚑ ${m.level}: ${m.rule_title}${m.count > 1 ? ` ×${m.count}` : ''}`).join('');
  const what = node.placeholder
    ? `(creation not in the logs)${node.commandLine ? ` ${node.commandLine}` : ''}`
    : node.commandLine || node.image || '';
  // The command line comes last, so it is what a narrow terminal cuts first.
  const line = printable(`${treePrefix(step)}${textTime(node.start)}  ${name}  pid ${pidLabel(node)}${user}${flags}  ${what}`);
  return width === undefined ? line : truncate(line, width);
}

/** "│  │  └─ ": one column per ancestor (a bar while it has siblings below), then the node's own branch. */
function treePrefix(step: TreeStep): string {
  const parts: string[] = [step.last ? '└─ ' : '├─ '];
  let up = step.up;
  for (let level = 1; up && level < MAX_INDENT; level++, up = up.up) parts.push(up.last ? '   ' : '│  ');
  if (up) parts.push('… ');
  return parts.reverse().join('');
}

/**
 * Security auditing writes PIDs in hex: a process only it told of (a placeholder: only its
 * children's Security records) is shown that way, so that it can be searched for.
 */
function pidLabel(node: ProcessNode): string {
  if (node.pid === undefined) return '?';
  const tellers = node.placeholder ? node.children.flatMap((c) => c.sources) : node.sources;
  return tellers.length > 0 && tellers.every((s) => s === 'security') ? `0x${node.pid.toString(16)}` : String(node.pid);
}

function nodeRecord(node: ProcessNode, keep: (node: ProcessNode) => boolean, marks: CountedMark[] | undefined) {
  return {
    id: node.id,
    computer: node.host || null,
    pid: node.pid ?? null,
    guid: node.guid ?? null,
    image: node.image ?? null,
    command_line: node.commandLine ?? null,
    user: node.user ?? null,
    start: isoTime(node.start),
    end: isoTime(node.end),
    placeholder: node.placeholder,
    parent: node.parent?.id ?? null,
    children: node.children.filter(keep).map((c) => c.id),
    parent_pid: node.parentPid ?? null,
    parent_image: node.parentImage ?? null,
    sources: node.sources,
    origins: node.origins,
    detections: marks ?? [],
  };
}
