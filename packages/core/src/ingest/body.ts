/**
 * Request bodies of the ingest endpoints into events, line by line: a bad line is rejected with its
 * number and reason, and the lines around it are kept.
 */
import type { FirebreakEvent } from '../event.js';
import { AuditdAssembly, MAX_AUDIT_LINE, ownCopy } from '../readers/auditd.js';
import { MAX_JSON_VALUE } from '../readers/json.js';
import { jsonLineEvent, type JsonIngestFormat } from './json-lines.js';
import { forEachLine, type IngestContext, type LineRejection, type LineWarning } from './lines.js';
import { MAX_SYSLOG_LENGTH, parseSyslog, syslogEvent } from './syslog.js';

export type IngestFormat = 'evtx-json' | 'ecs' | 'flat' | 'auditd' | 'syslog';

export const INGEST_FORMATS: readonly IngestFormat[] = Object.freeze(['evtx-json', 'ecs', 'flat', 'auditd', 'syslog']);

export function isIngestFormat(name: string): name is IngestFormat {
  return (INGEST_FORMATS as readonly string[]).includes(name);
}

export interface ParsedBatch {
  /** In the order of their lines (auditd: in the order they complete, see readers/auditd.ts). */
  events: FirebreakEvent[];
  rejected: LineRejection[];
  /** Lines whose event was kept with something left out, or handed out early. */
  warnings: LineWarning[];
}

/** The longest line each format reads; a longer one is rejected. */
const MAX_LINE: Record<IngestFormat, number> = {
  'evtx-json': MAX_JSON_VALUE,
  ecs: MAX_JSON_VALUE,
  flat: MAX_JSON_VALUE,
  auditd: MAX_AUDIT_LINE,
  syslog: MAX_SYSLOG_LENGTH,
};

/**
 * The events of `body`, one per line (auditd: one per group of records sharing `msg=audit(…)`; the
 * events still open at the end of the body are handed out then). Events' source is the context's
 * origin, their origin `${origin}:${line}`; an event without a time of its own is timed `receivedAt`.
 */
export function parseIngestBody(format: IngestFormat, body: string, context: IngestContext): ParsedBatch {
  const batch: ParsedBatch = { events: [], rejected: [], warnings: [] };
  const reject = (line: number, error: string): void => void batch.rejected.push({ line, error });
  const tooLong = (line: number): void => reject(line, `line longer than ${MAX_LINE[format]} characters`);
  if (format === 'auditd') {
    const assembly = new AuditdAssembly(context.origin, (line, message, kind) =>
      kind === 'rejected' ? reject(line, message) : batch.warnings.push({ line, warning: message }),
    );
    forEachLine(body, MAX_LINE.auditd, (text, line) => assembly.add(text, line, batch.events), tooLong);
    assembly.end(batch.events);
  } else if (format === 'syslog') {
    forEachLine(body, MAX_LINE.syslog, (text, line) => addSyslogLine(batch, text, line, context), tooLong);
  } else {
    forEachLine(body, MAX_LINE[format], (text, line) => addJsonLine(batch, format, text, line, context), tooLong);
  }
  return batch;
}

function addJsonLine(batch: ParsedBatch, format: JsonIngestFormat, text: string, line: number, context: IngestContext): void {
  const event = jsonLineEvent(format, text, line, context, (warning) => batch.warnings.push({ line, warning }));
  if (typeof event === 'string') batch.rejected.push({ line, error: event });
  else batch.events.push(event);
}

function addSyslogLine(batch: ParsedBatch, text: string, line: number, context: IngestContext): void {
  // The event keeps the line (its raw record and message): a copy, so it does not keep the whole body.
  const own = ownCopy(text);
  const message = parseSyslog(own, { receivedAt: context.receivedAt });
  if ('error' in message) batch.rejected.push({ line, error: message.error });
  else batch.events.push(syslogEvent(message, { file: context.origin, origin: `${context.origin}:${line}` }, own));
}
