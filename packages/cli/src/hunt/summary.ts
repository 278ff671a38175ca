/** The summary a hunt ends with, for a responder to read at a glance. */
import type { Writable } from 'node:stream';
import { LEVELS, LEVEL_STYLE, printable, type DetectionLevel, type HuntSummary } from '@firebreak/core';
import { write } from '../output.js';
import { formatDuration } from './progress.js';
import type { DetectionTally } from './tally.js';

const TOP = 5;

export async function printSummary(stream: Writable, s: HuntSummary, tally: DetectionTally, color: boolean): Promise<void> {
  const n = (x: number): string => Math.round(x).toLocaleString('en-US');
  const paint = (level: string, text: string): string => (color ? `${LEVEL_STYLE[level as DetectionLevel].ansi}${text}\x1b[0m` : text);
  const levels = [...LEVELS]
    .reverse()
    .map((l) => paint(l, `${l} ${n(s.byLevel[l])}`))
    .join(', ');
  const reasons = Object.entries(s.skipReasons)
    .sort((a, b) => b[1] - a[1])
    .map(([reason, count]) => `${reason} ${n(count)}`)
    .join(', ');
  const seconds = s.elapsedMs / 1000;
  const lines = [
    '',
    'Summary',
    `  Files       ${n(s.files)} read${s.filesSkipped ? `, ${n(s.filesSkipped)} skipped` : ''}`,
    `  Events      ${n(s.events)}${s.eventsFiltered ? ` (${n(s.eventsFiltered)} left out by the event filters)` : ''}`,
    `  Detections  ${n(s.detections)}: ${levels}`,
    ...detectionLines(tally, n, paint),
    `  Rules       ${n(s.rulesLoaded)} loaded${s.rulesSkipped ? `, ${n(s.rulesSkipped)} skipped (${reasons})` : ''}`,
    `  Time        ${seconds < 60 ? `${seconds.toFixed(2)} s` : formatDuration(seconds)}, ${n(s.eventsPerSecond)} events/s, peak memory ${n(s.peakRssBytes / 1048576)} MB`,
  ];
  if (s.warnings) lines.push(`  Warnings    ${n(s.warnings)} (on stderr above)`);
  await write(stream, lines.join('\n') + '\n');
}

/** When detections start and end, and the rules and computers with the most, for a first look. */
function detectionLines(tally: DetectionTally, n: (x: number) => string, paint: (level: string, text: string) => string): string[] {
  if (tally.rules.size === 0) return [];
  const lines: string[] = [];
  const day = (iso: string): string => iso.slice(0, 19).replace('T', ' ');
  if (tally.first && tally.last) lines.push(`  Period      ${day(tally.first)} to ${day(tally.last)} UTC (first and last detection)`);
  tally
    .topRules(TOP)
    .forEach((rule, i) =>
      lines.push(
        `  ${i === 0 ? 'Top rules  ' : '           '} ${n(rule.count).padStart(7)}  ${paint(rule.level, LEVEL_STYLE[rule.level as DetectionLevel].short.padEnd(4))}  ${printable(rule.title)}`,
      ),
    );
  const computers = tally.topComputers(TOP).map(([name, count]) => `${printable(name)} ${n(count)}`);
  if (computers.length > 0)
    lines.push(`  Computers   ${computers.join(', ')}${tally.computers.size > TOP ? `, … (${n(tally.computers.size)} in all)` : ''}`);
  return lines;
}
