/** Reading back chunks made by the builder, in memory, and checking all three renderings at once. */
import assert from 'node:assert/strict';
import { EvtxRecord, FILE_HEADER_SIZE, chunkFromBytes, type EvtxWarning, type FlatEvent, type JsonObject } from '../../src/index.js';
import { ChunkBuilder, type Node } from './builder.js';

/** The records of `chunk` read as the first chunk of a file, with the warnings the reading gave. */
export function readChunk(chunk: Buffer): { records: EvtxRecord[]; warnings: EvtxWarning[] } {
  const warnings: EvtxWarning[] = [];
  const parsed = chunkFromBytes(chunk, 0, FILE_HEADER_SIZE, (w) => warnings.push(w));
  if (parsed === undefined) return { records: [], warnings };
  const records = parsed.locateRecords().map((location) => new EvtxRecord(parsed, location));
  warnings.push(...parsed.warnings);
  return { records, warnings };
}

/** The only record of a chunk holding one record with BinXML `body`. */
export function singleRecord(body: Node): EvtxRecord {
  const chunk = new ChunkBuilder();
  chunk.addRecord(1, body);
  const { records, warnings } = readChunk(chunk.bytes());
  assert.deepEqual(warnings, []);
  assert.equal(records.length, 1);
  return records[0];
}

export interface Renderings {
  /** `jsonText()` exactly. */
  json: string;
  /** `json()`, when it differs from `JSON.parse(json)` (64-bit integers stay bigint there). */
  jsonObject?: JsonObject;
  xml: string;
  flat: FlatEvent;
}

/** Asserts the exact JSON text, JSON object, XML and flat view of a record. */
export function assertRenders(record: EvtxRecord, expected: Renderings): void {
  assert.equal(record.jsonText(), expected.json);
  assert.deepEqual(record.json(), expected.jsonObject ?? JSON.parse(expected.json));
  assert.equal(record.xml(), expected.xml);
  assert.deepEqual(record.flat(), expected.flat);
}

/** XML documents start with this declaration. */
export const XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n';

/** Joins indented lines into an XML document as the reader prints it. */
export function xmlDocument(...lines: string[]): string {
  return XML_DECLARATION + lines.map((line) => line + '\n').join('');
}
