/**
 * Where a hunt's detections go: one sink per output format, all with the same two calls.
 * Detections arrive in input order (files sorted by path, records in file order), not sorted,
 * and there may be millions: every sink but the HTML report writes as it goes, through a
 * `BufferedWriter`, so memory stays flat whatever the count.
 */
import type { Writable } from 'node:stream';
import type { Detection } from '../detection.js';
import type { HuntSummary } from '../summary.js';
import { CsvSink } from './csv.js';
import { HtmlSink } from './html/html-sink.js';
import { JsonlSink, JsonSink } from './json.js';
import { TableSink } from './table.js';

export { useColor, isTerminal, terminalWidth } from './terminal.js';

export interface DetectionSink {
  /** Takes one detection. When it returns a promise (it wrote to a full stream), await it before the next. */
  write(detection: Detection): Promise<void> | undefined;
  /** Writes what remains (the JSON summary, the whole HTML report). It does not end the stream: its owner does. */
  end(summary: HuntSummary): Promise<void>;
}

export const OUTPUT_FORMATS = ['table', 'csv', 'json', 'jsonl', 'html'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface SinkOptions {
  /** Table: colour levels with ANSI codes (decide with `useColor`). Default: false. */
  color?: boolean;
  /** Table: columns to fit in; 0 for no limit. Default: the terminal's width on a TTY, else no limit. */
  width?: number;
  /** HTML: detections the report's table keeps (the highest levels, then the earliest). Default: 20,000. */
  maxRows?: number;
  /** HTML: the time printed as "generated at". Default: now. */
  generatedAt?: Date;
}

export function createSink(format: OutputFormat, stream: Writable, options: SinkOptions = {}): DetectionSink {
  switch (format) {
    case 'table':
      return new TableSink(stream, options);
    case 'csv':
      return new CsvSink(stream);
    case 'json':
      return new JsonSink(stream);
    case 'jsonl':
      return new JsonlSink(stream);
    case 'html':
      return new HtmlSink(stream, options);
  }
}
