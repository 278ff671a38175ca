import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { eventTime, printable, readEventFile } from '@firebreak/core';
import {
  DetectionStream,
  loadMapping,
  loadPlaceholders,
  loadRules,
  type Explanation,
  type FileReport,
  type LoadOptions,
  type RuleInfo,
} from '@firebreak/sigma';
import { UsageError, write } from '../output.js';

const ENGINE_OPTIONS = `  --mapping FILE      a log source mapping file that overrides or extends the shipped
                      ones (repeatable)
  --raw               no log source mapping: every rule meets every event, field
                      names as written
  --placeholders FILE YAML map of placeholder → values for rules using "expand"`;

export const RULES_CHECK_HELP = `Usage: firebreak rules check PATH... [--format table|json] [options]

Loads Sigma rules (files, or folders searched recursively for .yml/.yaml) and reports
each file as loaded, unsupported (valid Sigma this engine cannot evaluate) or invalid
(breaks the specification), with the reason and line.

Options:
  --format table|json table (default): one line per file and a summary; json: counts
                      files, loaded, unsupported, invalid and the per-file list
${ENGINE_OPTIONS}
  -h, --help          show this help

Exit status: 0 when every file loaded, 1 when some did not (or there were none),
2 for a usage error.`;

export const RULES_TEST_HELP = `Usage: firebreak rules test RULE EVENTFILE [options]

Runs the Sigma rules of RULE (a file or folder) on the events of EVENTFILE (.evtx,
evtx_dump JSON, or JSON lines) and explains, event by event, which log source
variant applied and which searches matched with the fields they read. The rules'
matches go, in the file's order, through the correlations RULE holds, timed by the
events' own times.

Options:
  --all               explain every event, not only those the rule matched
${ENGINE_OPTIONS}
  -h, --help          show this help

Exit status: 0 when a rule matched at least one event (or a correlation fired), 1
when none did or no rule could load, 2 for a usage error.`;

const ENGINE_ARGS = {
  mapping: { type: 'string', multiple: true },
  raw: { type: 'boolean' },
  placeholders: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function engineOptions(values: { mapping?: string[]; raw?: boolean; placeholders?: string }): LoadOptions {
  if (values.raw && values.mapping) throw new UsageError('--raw and --mapping exclude each other');
  try {
    const mapping = loadMapping({ files: values.mapping, raw: values.raw });
    return { mapping, placeholders: values.placeholders ? loadPlaceholders(values.placeholders) : undefined };
  } catch (error) {
    // A mapping or placeholder file that cannot be used is a problem with the command line.
    throw new UsageError((error as Error).message);
  }
}

export async function rulesCheck(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...ENGINE_ARGS, format: { type: 'string', default: 'table' } },
  });
  if (values.help) {
    await write(process.stdout, RULES_CHECK_HELP + '\n');
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('rules check needs at least one PATH');
  if (values.format !== 'table' && values.format !== 'json') throw new UsageError(`--format must be table or json, got "${values.format}"`);
  const started = performance.now();
  const { files } = loadRules(positionals, engineOptions(values));
  if (files.length === 0) {
    await write(process.stderr, `firebreak: no .yml or .yaml rule file under ${positionals.join(', ')}\n`);
    return 1;
  }
  const counts = { files: files.length, loaded: 0, unsupported: 0, invalid: 0 };
  for (const f of files) counts[f.status]++;
  if (values.format === 'json') {
    await write(process.stdout, JSON.stringify({ ...counts, results: files }, null, 2) + '\n');
  } else {
    for (const f of files) await write(process.stdout, tableLine(f));
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    await write(
      process.stdout,
      `\n${counts.files} files: ${counts.loaded} loaded, ${counts.unsupported} unsupported, ${counts.invalid} invalid (${seconds} s)\n`,
    );
  }
  return counts.loaded === counts.files ? 0 : 1;
}

function tableLine(f: FileReport): string {
  const where = f.line ? `${shortPath(f.file)}:${f.line}` : shortPath(f.file);
  const why = f.reason ?? f.notes.join('; ');
  return `${f.status.padEnd(12)} ${where}${why ? `  ${why}` : ''}\n`;
}

function shortPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}

export async function rulesTest(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...ENGINE_ARGS, all: { type: 'boolean' } } });
  if (values.help) {
    await write(process.stdout, RULES_TEST_HELP + '\n');
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError('rules test needs RULE and EVENTFILE');
  const [rulePath, eventPath] = positionals as [string, string];
  const { ruleSet, files } = loadRules([rulePath], engineOptions(values));
  for (const f of files.filter((f) => f.status !== 'loaded')) {
    await write(process.stderr, `firebreak: ${shortPath(f.file)}${f.line ? `:${f.line}` : ''}: ${f.status}: ${f.reason}\n`);
  }
  if (ruleSet.size === 0) {
    await write(process.stderr, `firebreak: no detection rule loaded from ${rulePath}\n`);
    return 1;
  }
  const rules = ruleSet.ruleInfos;
  const matched = new Map<RuleInfo, number>(rules.map((r) => [r, 0]));
  const stream = ruleSet.correlations.length > 0 ? new DetectionStream(ruleSet) : undefined;
  let events = 0;
  let alerts = 0;
  let untimed = 0;
  const problems = (p: { origin: string; message: string }): void =>
    void process.stderr.write(`warning: ${printable(`${p.origin}: ${p.message}`)}\n`);
  for await (const { fields, origin } of readEventFile(eventPath, problems)) {
    events++;
    for (const rule of rules) {
      const explanation = ruleSet.explain(rule.id ?? rule.name ?? rule.title, fields)!;
      if (explanation.matched) matched.set(rule, matched.get(rule)! + 1);
      if (explanation.matched || values.all) await write(process.stdout, explain(origin, explanation, rules.length > 1));
    }
    if (!stream) continue;
    const time = eventTime(fields);
    if (time === undefined) untimed++;
    else
      for (const alert of stream.push(fields, time).correlations) {
        alerts++;
        await write(
          process.stdout,
          `CORRELATION  ${origin}  ${alert.correlation.title}: ${alert.correlation.type} ${alert.value} for ${JSON.stringify(alert.group)}\n`,
        );
      }
  }
  await write(process.stdout, '\n' + rules.map((r) => `${r.title}: matched ${matched.get(r)} of ${events} events\n`).join(''));
  if (stream)
    await write(
      process.stdout,
      `${alerts} correlation alerts${untimed ? ` (${untimed} events without a readable time were not correlated)` : ''}\n`,
    );
  return alerts > 0 || [...matched.values()].some((n) => n > 0) ? 0 : 1;
}

function explain(origin: string, e: Explanation, named: boolean): string {
  const lines = [`${e.matched ? 'MATCH' : 'no match'}  ${origin}${named ? `  ${e.rule.title}` : ''}`];
  for (const v of e.variants) {
    lines.push(`  variant ${v.variant}: ${v.applies ? (v.matched ? 'matched' : 'applies, condition false') : 'not this kind of event'}`);
    if (!v.applies) continue;
    for (const s of v.searches) {
      const fields = Object.entries(s.fields)
        .map(([k, val]) => `${k}=${JSON.stringify(val)}`)
        .join(' ');
      lines.push(`    ${s.matched ? '✔' : '✘'} ${s.name}${fields ? `  ${fields}` : ''}`);
    }
  }
  return lines.join('\n') + '\n';
}
