/**
 * The table a responder reads at a glance, one detection per line as found (like Hayabusa's and
 * Chainsaw's terminal output): time, level, computer, channel, event id, rule and the fields that
 * matched. One header line, no borders: cheap to write and easy to grep.
 *
 * Width: on a terminal the rows fit its width (at least 80 columns), long values cut with "…";
 * elsewhere (a file, a pipe) nothing is cut, so grep sees whole command lines. Every value is
 * made printable first: attacker-controlled text never reaches the terminal as escape sequences.
 */
import type { Writable } from 'node:stream';
import type { Detection, DetectionLevel } from '../detection.js';
import type { DetectionSink, SinkOptions } from './sink.js';
import { isTerminal, terminalWidth } from './terminal.js';
import { channelShortName, fieldsText, pad, printable, truncate, utcTime } from './text.js';
import { BufferedWriter } from './write.js';

/** How each level is shown: short names as Hayabusa prints them, and their ANSI colours. */
export const LEVEL_STYLE: Record<DetectionLevel, { short: string; ansi: string }> = {
  critical: { short: 'crit', ansi: '\x1b[1;91m' },
  high: { short: 'high', ansi: '\x1b[31m' },
  medium: { short: 'med', ansi: '\x1b[33m' },
  low: { short: 'low', ansi: '\x1b[32m' },
  informational: { short: 'info', ansi: '\x1b[2m' },
};
const RESET = '\x1b[0m';
const BOLD = '\x1b[1m';

const GAP = '  ';
const TIME = 19;
const LEVEL = 5;
const EVENT_ID = 5;
/** Narrower terminals get rows of this width (they wrap) rather than columns too thin to read. */
export const MIN_TABLE_WIDTH = 80;

interface Layout {
  computer: number;
  channel: number;
  title: number;
  /** Columns left for the fields; Infinity when nothing is cut. */
  details: number;
  cut: boolean;
}

export function tableLayout(width: number): Layout {
  if (width <= 0) return { computer: 20, channel: 12, title: 50, details: Infinity, cut: false };
  const w = Math.max(width, MIN_TABLE_WIDTH);
  const computer = w >= 140 ? 20 : w >= 100 ? 15 : 10;
  const channel = w >= 140 ? 12 : 8;
  const rest = w - (TIME + LEVEL + computer + channel + EVENT_ID + 6 * GAP.length);
  // The rule title tells a responder more than the matched fields: it gets the larger share.
  const title = Math.min(60, Math.max(10, Math.floor(rest * 0.65)));
  return { computer, channel, title, details: rest - title, cut: true };
}

export class TableSink implements DetectionSink {
  private readonly out: BufferedWriter;
  private readonly layout: Layout;
  private readonly color: boolean;
  private rows = 0;

  constructor(stream: Writable, options: SinkOptions = {}) {
    // On a terminal rows appear as they are found; elsewhere they are gathered into larger writes.
    this.out = new BufferedWriter(stream, isTerminal(stream) ? 1 : undefined);
    this.layout = tableLayout(options.width ?? terminalWidth(stream) ?? 0);
    this.color = options.color ?? false;
  }

  write(d: Detection): Promise<void> | undefined {
    const header = this.rows++ === 0 ? this.header() : '';
    const style = LEVEL_STYLE[d.level];
    const line = this.line([
      pad(utcTime(d.timestamp), TIME),
      this.paint(style.ansi, this.cell(style.short, LEVEL)),
      this.cell(printable(d.computer ?? '-'), this.layout.computer),
      this.cell(printable(channelShortName(d.channel)), this.layout.channel),
      this.cell(d.event_id === null ? '-' : String(d.event_id), EVENT_ID),
      this.paint(style.ansi, this.cell(printable(d.rule_title), this.layout.title)),
      this.fit(printable(fieldsText(d.fields)), this.layout.details),
    ]);
    return this.out.add(header + line);
  }

  async end(): Promise<void> {
    if (this.rows === 0) await this.out.add(this.header() + 'No detections.\n');
    await this.out.flush();
  }

  private header(): string {
    const { computer, channel, title } = this.layout;
    const names = [
      pad('Timestamp (UTC)', TIME),
      pad('Level', LEVEL),
      pad('Computer', computer),
      pad('Channel', channel),
      pad('EID', EVENT_ID),
      pad('Rule', title),
      'Details',
    ];
    return this.paint(BOLD, this.line(names).trimEnd()) + '\n';
  }

  private line(cells: string[]): string {
    return cells.join(GAP).trimEnd() + '\n';
  }

  /** Cut to the column when rows fit a width; padded to it either way, so columns line up. */
  private cell(text: string, width: number): string {
    return pad(this.fit(text, width), width);
  }

  private fit(text: string, width: number): string {
    return this.layout.cut ? truncate(text, width) : text;
  }

  private paint(ansi: string, text: string): string {
    return this.color ? ansi + text + RESET : text;
  }
}
