/**
 * One JSON line of a body (or one Elasticsearch bulk document) as an event, with the fields the file
 * readers give the same object: evtx_dump JSON flattened as readers/json.ts flattens it, Winlogbeat
 * and Elastic Agent documents under the EVTX names (readers/ecs.ts), other objects by their own keys.
 */
import { flattenEvtxJson, type JsonObject } from '@firebreak/evtx';
import { objectEvent, type SigmaEvent } from '@firebreak/sigma';
import { FirebreakEvent } from '../event.js';
import { eventTime } from '../event-time.js';
import { errorText } from '../readers/content.js';
import { ecsFields, isEcsWindows } from '../readers/ecs.js';
import type { IngestContext } from './lines.js';

export type JsonIngestFormat = 'evtx-json' | 'ecs' | 'flat';

/**
 * The event of line `line`, or why there is none. `warn` hears of content left out of a kept event.
 * The event's time is its own (the fields eventTime reads), else the context's `receivedAt`.
 */
export function jsonLineEvent(
  format: JsonIngestFormat,
  text: string,
  line: number,
  context: IngestContext,
  warn: (message: string) => void,
): FirebreakEvent | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return `not JSON: ${errorText(error)}`;
  }
  if (!isObject(parsed)) return `not a JSON object but ${jsonKind(parsed)}`;
  if (format === 'evtx-json' && !isEvtxJson(parsed)) return 'not an evtx_dump event: no "Event" object holding a "System" object';
  try {
    const fields = fieldsOf(format, parsed, warn);
    const timestamp = eventTime(fields) ?? context.receivedAt;
    return new FirebreakEvent(fields, { file: context.origin, format, origin: `${context.origin}:${line}` }, () => parsed, { timestamp });
  } catch (error) {
    // A crafted object can break what no real log does (a stack overflow, say): that line is lost, not the body.
    return `cannot read this event (${errorText(error)})`;
  }
}

function fieldsOf(format: JsonIngestFormat, object: JsonObject, warn: (message: string) => void): SigmaEvent {
  if (format === 'evtx-json') return objectEvent(flattenEvtxJson(object, warn));
  if (format === 'ecs' && isEcsWindows(object)) return ecsFields(object);
  return objectEvent(object);
}

/** `{"Event": {"System": {…}, …}}`, as evtx_dump writes a record. */
function isEvtxJson(object: JsonObject): boolean {
  const event = object.Event;
  return isObject(event) && isObject(event.System);
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
