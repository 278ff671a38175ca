/**
 * CSV (RFC 4180: CRLF line ends, fields with a comma, quote or line break quoted, quotes doubled),
 * for spreadsheets and scripts. A header row of the contract's names in a fixed order (new
 * columns are only ever appended). `tags`, `attack` and `fields` hold compact JSON, so nothing is
 * lost and a script reads them back with one call; missing values are empty cells.
 *
 * Field values are attacker-controlled, and a spreadsheet runs a cell that begins with = + - @
 * (or a tab or line break before them) as a formula: such a cell gets a leading `'` (OWASP's
 * advice for CSV injection). A value that itself begins with `'` gets one too, so the rule reads
 * back without ambiguity: a cell beginning with `'` lost its first character on the way out.
 */
import type { Writable } from 'node:stream';
import type { Detection } from '../detection.js';
import type { DetectionSink } from './sink.js';
import { jsonText } from './text.js';
import { BufferedWriter } from './write.js';

export const CSV_COLUMNS = [
  'timestamp',
  'level',
  'rule_title',
  'computer',
  'channel',
  'event_id',
  'record_id',
  'fields',
  'rule_id',
  'status',
  'tags',
  'attack',
  'file',
  'kind',
  'rule_file',
  'layer',
  'category',
] as const satisfies readonly (keyof Detection)[];

/** First characters that make a spreadsheet read a cell as a formula, and the escape itself. */
const FORMULA_START = new Set(['=', '+', '-', '@', '\t', '\r', '\n', "'"]);

export class CsvSink implements DetectionSink {
  private readonly out: BufferedWriter;
  private started = false;

  constructor(stream: Writable) {
    this.out = new BufferedWriter(stream);
  }

  write(d: Detection): Promise<void> | undefined {
    const header = this.header();
    return this.out.add(header + CSV_COLUMNS.map((column) => csvCell(d[column])).join(',') + '\r\n');
  }

  async end(): Promise<void> {
    await this.out.add(this.header());
    await this.out.flush();
  }

  /** The header row the first time, then nothing. */
  private header(): string {
    if (this.started) return '';
    this.started = true;
    return CSV_COLUMNS.join(',') + '\r\n';
  }
}

/** One value as a CSV field: null empty, numbers as digits, lists and objects as JSON, text defused. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);
  let text = typeof value === 'string' ? value : jsonText(value);
  if (text !== '' && FORMULA_START.has(text[0]!)) text = "'" + text;
  return needsQuotes(text) ? '"' + text.replaceAll('"', '""') + '"' : text;
}

function needsQuotes(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2c || c === 0x22 || c === 0x0a || c === 0x0d) return true;
  }
  return false;
}
