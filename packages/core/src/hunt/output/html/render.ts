/**
 * The report's HTML, section by section. Everything drawn here (summary, charts, tables, the
 * ATT&CK matrix) is static markup with every value HTML-escaped; the detections table is built
 * in the page by script.ts from the JSON data block. Nothing refers to anything outside the file.
 */
import { createHash } from 'node:crypto';
import { TACTICS } from '../../attack.js';
import { LEVELS } from '../../detection.js';
import type { HuntSummary } from '../../summary.js';
import { printable, utcTime } from '../text.js';
import type { ReportAggregate, RuleTally, TacticTally } from './aggregate.js';
import { REPORT_SCRIPT } from './script.js';
import { REPORT_STYLE } from './style.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TOP = 25;
const MAX_BARS = 96;
const MAX_INPUTS_LISTED = 20;

const hash = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
/** Only this stylesheet and this script may run; nothing may be fetched, framed, submitted or based elsewhere. */
export const CONTENT_SECURITY_POLICY = `default-src 'none'; style-src ${hash(REPORT_STYLE)}; script-src ${hash(REPORT_SCRIPT)}; base-uri 'none'; form-action 'none'`;

export function escapeHtml(text: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const entity = c === 0x26 ? '&amp;' : c === 0x3c ? '&lt;' : c === 0x3e ? '&gt;' : c === 0x22 ? '&quot;' : c === 0x27 ? '&#39;' : '';
    if (entity) {
      out += text.slice(from, i) + entity;
      from = i + 1;
    }
  }
  return from === 0 ? text : out + text.slice(from);
}

/** Attacker-controlled text for the page: invisible and direction-changing characters shown, then escaped. */
const html = (text: string): string => escapeHtml(printable(text));

/** JSON inside `<script type="application/json">`: no `<` at all, so `</script>` or `<!--` in a value cannot end or bend the block. */
export function scriptJson(json: string): string {
  return json.replaceAll('<', '\\u003c');
}

const NUMBER = new Intl.NumberFormat('en-US');
const n = (value: number): string => NUMBER.format(value);
/** "1 detection", "2 detections". */
const count = (value: number, noun: string): string => `${n(value)} ${noun}${value === 1 ? '' : 's'}`;

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

const mebibytes = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

export function pageStart(generatedAt: Date): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>Firebreak hunt report, ${escapeHtml(utcTime(generatedAt.toISOString()))} UTC</title>
<style>${REPORT_STYLE}</style>
</head>
<body>
`;
}

export function header(summary: HuntSummary, generatedAt: Date): string {
  return `<header class="top"><h1>Firebreak hunt report</h1>
<p>Generated ${escapeHtml(utcTime(generatedAt.toISOString()))} UTC &middot; hunt started ${escapeHtml(utcTime(summary.startedAt))} UTC &middot; all times UTC</p></header>
<main>
`;
}

export function summarySection(summary: HuntSummary, agg: ReportAggregate): string {
  const card = (key: string, value: string, sub = ''): string =>
    `<div class="card"><div class="k">${key}</div><div class="v">${value}</div>${sub ? `<div class="s">${sub}</div>` : ''}</div>`;
  const reasons = Object.entries(summary.skipReasons)
    .sort((a, b) => b[1] - a[1])
    .map(([reason, count]) => `${n(count)} ${html(reason)}`)
    .join(', ');
  const levels = [...LEVELS]
    .reverse()
    .map((level) => `${n(summary.byLevel[level] ?? 0)} ${level}`)
    .join(' &middot; ');
  const inputs = summary.inputs.slice(0, MAX_INPUTS_LISTED).map((input) => `<li class="mono">${html(input)}</li>`);
  if (summary.inputs.length > MAX_INPUTS_LISTED) inputs.push(`<li>and ${n(summary.inputs.length - MAX_INPUTS_LISTED)} more</li>`);
  return `<section id="summary"><h2>Summary</h2><div class="cards">
${card('Detections', n(summary.detections), levels)}
${card('Files read', n(summary.files), summary.filesSkipped ? `${n(summary.filesSkipped)} skipped` : 'none skipped')}
${card('Events', n(summary.events), summary.eventsFiltered ? `${n(summary.eventsFiltered)} filtered out` : '')}
${card('Rules loaded', n(summary.rulesLoaded), summary.rulesSkipped ? `${n(summary.rulesSkipped)} skipped${reasons ? `: ${reasons}` : ''}` : 'none skipped')}
${card('Elapsed', duration(summary.elapsedMs))}
${card('Events per second', n(Math.round(summary.eventsPerSecond)))}
${card('Peak memory', mebibytes(summary.peakRssBytes))}
${card('Read warnings', n(summary.warnings))}
${card('Computers', n(agg.computers.size + (agg.otherComputers ? 1 : 0)), agg.otherComputers ? `over ${n(agg.computers.size)}` : '')}
${card('Rules that fired', n(agg.rules.length))}
</div>
<ul class="inputs">${inputs.join('')}</ul></section>
`;
}

/** Levels, most severe first, as horizontal bars. */
export function levelSection(agg: ReportAggregate): string {
  const max = Math.max(1, ...agg.byLevel);
  const rows = [...LEVELS].reverse().map((level) => {
    const count = agg.byLevel[LEVELS.indexOf(level)]!;
    return `<tr><td><span class="badge b-${level}">${level}</span></td><td class="num">${n(count)}</td><td class="bar">${bar(count, max, `f-${level}`)}</td></tr>`;
  });
  return `<section id="levels"><h2>Detections by level</h2><table><thead><tr><th>Level</th><th class="num">Detections</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table></section>\n`;
}

function bar(count: number, max: number, fill: string): string {
  const width = ((count / max) * 100).toFixed(2);
  return `<svg viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true"><rect class="${fill}" width="${width}" height="10"/></svg>`;
}

/** A stacked histogram of detections over time, bars by level, bar width chosen from the time range. */
export function timelineSection(agg: ReportAggregate): string {
  const histogram = agg.timeline.histogram(MAX_BARS);
  const untimed = agg.untimed
    ? `<p class="note">${count(agg.untimed, 'detection')} without a timestamp ${agg.untimed === 1 ? 'is' : 'are'} not drawn.</p>`
    : '';
  if (!histogram)
    return `<section id="timeline"><h2>Detections over time</h2><p class="note">No detection has a timestamp.</p>${untimed}</section>\n`;
  const { barSize, start, bars } = histogram;
  const [width, height, left, right, top, bottom] = [960, 220, 52, 10, 10, 34];
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const totals = bars.map((b) => b.reduce((sum, c) => sum + c, 0));
  const scaleTop = niceCeiling(Math.max(...totals));
  const barWidth = plotWidth / bars.length;
  const gap = barWidth > 4 ? 1 : 0;
  const label = (t: number): string => utcTime(new Date(t).toISOString()).slice(0, barSize < DAY ? 16 : 10);
  const y = (count: number): number => top + plotHeight - (count / scaleTop) * plotHeight;
  const parts: string[] = [];
  for (const fraction of [0, 0.5, 1]) {
    const value = scaleTop * fraction;
    parts.push(
      `<line class="grid" x1="${left}" x2="${width - right}" y1="${y(value).toFixed(1)}" y2="${y(value).toFixed(1)}"/>`,
      `<text x="${left - 6}" y="${(y(value) + 4).toFixed(1)}" text-anchor="end">${n(value)}</text>`,
    );
  }
  bars.forEach((counts, i) => {
    if (totals[i] === 0) return;
    const x = left + i * barWidth;
    const from = start + i * barSize;
    const breakdown = LEVELS.map((level, rank) => (counts[rank] ? `${counts[rank]} ${level}` : ''))
      .filter(Boolean)
      .reverse()
      .join(', ');
    let base = 0;
    const rects = [...LEVELS].reverse().map((level) => {
      const count = counts[LEVELS.indexOf(level)]!;
      if (count === 0) return '';
      const rect = `<rect class="f-${level}" x="${(x + gap / 2).toFixed(2)}" width="${Math.max(0.5, barWidth - gap).toFixed(2)}" y="${y(base + count).toFixed(2)}" height="${(y(base) - y(base + count)).toFixed(2)}"/>`;
      base += count;
      return rect;
    });
    parts.push(`<g><title>${label(from)}: ${n(totals[i]!)} (${breakdown})</title>${rects.join('')}</g>`);
  });
  const tickEvery = Math.max(1, Math.ceil(bars.length / 6));
  for (let i = 0; i < bars.length; i += tickEvery)
    parts.push(`<text x="${(left + i * barWidth).toFixed(1)}" y="${height - bottom + 16}">${label(start + i * barSize)}</text>`);
  const legend = [...LEVELS]
    .reverse()
    .map((level) => `<span class="l-${level}">${level}</span>`)
    .join('');
  return `<section id="timeline"><h2>Detections over time <span class="sub">(bars of ${barLabel(barSize)}, UTC)</span></h2>
<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="Detections over time">${parts.join('')}</svg>
<div class="legend">${legend}</div>${untimed}</section>
`;
}

function barLabel(size: number): string {
  if (size < DAY) return size === HOUR ? '1 hour' : `${size / HOUR} hours`;
  return size === DAY ? '1 day' : `${size / DAY} days`;
}

/** A round number at least `value`, for the top of a scale: 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten. */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(1, value)));
  return [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map((m) => m * power).find((v) => v >= value)!;
}

export function topRulesSection(agg: ReportAggregate): string {
  const rules = [...agg.rules].sort(
    (a, b) => b.count - a.count || LEVELS.indexOf(b.level) - LEVELS.indexOf(a.level) || a.title.localeCompare(b.title),
  );
  const max = Math.max(1, ...rules.map((r) => r.count));
  const rows = rules.slice(0, TOP).map((rule: RuleTally) => {
    const id = rule.id === rule.title ? '' : `<div class="sub mono">${html(rule.id)}</div>`;
    return `<tr><td><span class="badge b-${rule.level}">${rule.level}</span></td><td>${html(rule.title)}${id}</td><td class="num">${n(rule.count)}</td><td class="bar">${bar(rule.count, max, 'f-bar')}</td></tr>`;
  });
  const more = rules.length > TOP ? `<p class="note">${count(rules.length - TOP, 'more rule')} fired.</p>` : '';
  return `<section id="rules"><h2>Top rules</h2><table><thead><tr><th>Level</th><th>Rule</th><th class="num">Detections</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>${more}</section>\n`;
}

export function topComputersSection(agg: ReportAggregate): string {
  const computers = [...agg.computers].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (agg.noComputer) computers.push(['', agg.noComputer]);
  const max = Math.max(1, ...computers.map(([, count]) => count));
  const rows = computers.slice(0, TOP).map(([name, count]) => {
    const label = name === '' ? '<span class="sub">(no computer name)</span>' : `<span class="mono">${html(name)}</span>`;
    return `<tr><td>${label}</td><td class="num">${n(count)}</td><td class="bar">${bar(count, max, 'f-bar')}</td></tr>`;
  });
  const notes = [
    computers.length > TOP ? `${count(computers.length - TOP, 'more computer')}.` : '',
    agg.otherComputers
      ? `${n(agg.otherComputers)} detections on computers beyond the first ${n(agg.computers.size)} are not counted by name.`
      : '',
  ].filter(Boolean);
  const note = notes.length ? `<p class="note">${notes.join(' ')}</p>` : '';
  return `<section id="computers"><h2>Top computers</h2><table><thead><tr><th>Computer</th><th class="num">Detections</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>${note}</section>\n`;
}

/** Tactics in kill-chain order as columns, their techniques as cells shaded by count. */
export function matrixSection(agg: ReportAggregate): string {
  const columns: TacticTally[] = TACTICS.map(([, name]) => agg.tactics.get(name)!);
  const untagged = agg.tactics.get('');
  if (untagged) columns.push(untagged);
  const max = Math.max(1, ...columns.flatMap((c) => [...c.techniques.values()]));
  const shade = (count: number): number => Math.max(1, Math.ceil(Math.sqrt(count / max) * 5));
  const cells = columns.map((column) => {
    const name = column.tactic === '' ? 'No tactic tag' : column.tactic;
    const techniques = [...column.techniques].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const items = techniques.map(
      ([id, count]) => `<li class="s${shade(count)}"><span class="mono">${escapeHtml(id)}</span><b>${n(count)}</b></li>`,
    );
    const detections = column.count ? count(column.count, 'detection') : 'none';
    const title = column.count ? '' : ` title="${escapeHtml(name)}: no detections"`;
    return `<div class="tactic${column.count ? '' : ' empty'}" data-tactic="${escapeHtml(name)}"${title}><h3>${escapeHtml(name)}<span>${detections}</span></h3><ul>${items.join('')}</ul></div>`;
  });
  const note = agg.noAttack ? `<p class="note">${count(agg.noAttack, 'detection')} from rules without ATT&amp;CK tags.</p>` : '';
  return `<section id="attack"><h2>ATT&amp;CK tactics and techniques</h2><div class="matrix">${cells.join('')}</div>${note}</section>\n`;
}

/** The table's frame: controls hidden until the script shows them, and a note for readers without script. */
export function detectionsSectionStart(kept: number, total: number): string {
  const levelOptions = LEVELS.slice(1)
    .reverse()
    .map((level) => `<option value="${level}">${level === 'critical' ? 'critical' : `${level} and above`}</option>`)
    .join('');
  const limited =
    kept < total
      ? `<p class="warn">The report keeps ${n(kept)} of ${n(total)} detections (the highest levels first, then the earliest). Use --format jsonl for all.</p>`
      : '';
  const headings = [
    ['timestamp', 'Time (UTC)'],
    ['level', 'Level'],
    ['computer', 'Computer'],
    ['channel', 'Channel'],
    ['eventId', 'EID'],
    ['rule', 'Rule'],
    ['details', 'Details'],
  ]
    .map(([key, label]) => `<th data-key="${key}"${key === 'eventId' ? ' class="num"' : ''}>${label}</th>`)
    .join('');
  const columns = ['time', 'level', 'computer', 'channel', 'eid', 'rule', 'details'].map((c) => `<col class="c-${c}">`).join('');
  return `<section id="detections-section"><h2>Detections</h2>${limited}
<div class="controls" id="table-controls" hidden><input type="search" id="filter-text" placeholder="Filter: words that must all appear" aria-label="Filter text">
<select id="filter-level" aria-label="Level"><option value="informational">all levels</option>${levelOptions}</select>
<select id="filter-computer" aria-label="Computer"><option value="">all computers</option></select>
<span id="table-status" class="sub"></span></div>
<noscript><p class="note">The detections table needs JavaScript; the sections above do not.</p></noscript>
<table id="detections"><colgroup>${columns}</colgroup><thead><tr>${headings}</tr></thead><tbody></tbody></table>
<p><button type="button" id="show-more" hidden>Show more</button></p></section>
`;
}

/** The page's end: the data block is written before it by the sink, row by row. */
export function pageEnd(): string {
  return `</main>
<script>${REPORT_SCRIPT}</script>
</body>
</html>
`;
}
