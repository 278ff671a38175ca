import { parseFragment, type ContentNode } from './binxml.js';
import type { Chunk, RecordLocation } from './chunk.js';
import { FlatView, type EventFields, type FlatEvent } from './render-flat.js';
import { writeJsonText } from './json-skeleton.js';
import { renderJson, type JsonObject } from './render-json.js';
import { renderXml } from './render-xml.js';
import { formatFiletime } from './values.js';

const RECORD_HEADER_SIZE = 24;

/**
 * One event record. The id and write time come from the record header; BinXML is decoded
 * only when a rendering is asked for, and each rendering is computed on demand.
 */
export class EvtxRecord {
  private nodes: ContentNode[] | undefined;

  constructor(
    readonly chunk: Chunk,
    private readonly location: RecordLocation,
  ) {}

  /** EventRecordID from the record header. */
  get id(): number {
    return this.location.id;
  }

  /** Absolute byte offset of the record in its file. */
  get fileOffset(): number {
    return this.chunk.fileOffset + this.location.offset;
  }

  /** Record write time (header FILETIME) as ISO 8601 UTC with microseconds, like evtx_dump. */
  get timestamp(): string {
    return formatFiletime(this.location.filetimeLo, this.location.filetimeHi, 6);
  }

  /** The record's BinXML as parsed nodes. Throws BinXmlError when the record is damaged. */
  tree(): ContentNode[] {
    const { offset, size } = this.location;
    this.nodes ??= parseFragment(this.chunk, offset + RECORD_HEADER_SIZE, offset + size - 4);
    return this.nodes;
  }

  xml(): string {
    return renderXml(this.tree());
  }

  /** The evtx_dump JSON object. */
  json(): JsonObject {
    return renderJson(this.tree());
  }

  /** The evtx_dump JSON as compact text (exact for 64-bit integers). */
  jsonText(): string {
    return writeJsonText(this.tree());
  }

  /** The flat field view for detection: each field is decoded when first read. */
  fields(): EventFields {
    return new FlatView(this.tree());
  }

  /** Every flat field as a plain object. */
  flat(): FlatEvent {
    return new FlatView(this.tree()).toObject();
  }
}
