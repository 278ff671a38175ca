/** Output formats of `firebreak hunt`: one sink per format behind `DetectionSink`. */
export { useColor, isTerminal, terminalWidth } from './terminal.js';
export { createSink, OUTPUT_FORMATS, type DetectionSink, type OutputFormat, type SinkOptions } from './sink.js';
export { TableSink, tableLayout, LEVEL_STYLE, MIN_TABLE_WIDTH } from './table.js';
export { CsvSink, CSV_COLUMNS, csvCell } from './csv.js';
export { JsonSink, JsonlSink } from './json.js';
export { HtmlSink } from './html/html-sink.js';
export { write, BufferedWriter } from './write.js';
export { displayWidth, printable } from './text.js';
