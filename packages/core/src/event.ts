/**
 * Firebreak's one event model. Every reader (EVTX, evtx_dump JSON, ECS/Winlogbeat, Windows XML
 * exports, auditd) yields `FirebreakEvent`s: the flat fields under Sigma's names, which is what
 * rules read, plus where the event came from and what it is. The descriptive properties are
 * worked out on first use, because a hunt reads them only for the few events a rule matched.
 */
import { loadMapping, type LogSource, type LogSourceMapping, type SigmaEvent } from '@firebreak/sigma';
import { eventTime } from './event-time.js';

/** Which layer of the estate an event tells about. */
export type Layer = 'endpoint' | 'network' | 'server' | 'identity';

/** The format a file was recognised as (by its content, not its name), or an ingest endpoint was sent. */
export type SourceFormat = 'evtx' | 'evtx-json' | 'ecs' | 'windows-xml' | 'auditd' | 'json' | 'flat' | 'syslog';

/** Where an event was read. */
export interface EventSource {
  /** The input file's path as given (inside a folder: the folder's path joined with the file's). */
  file: string;
  format: SourceFormat;
  /** `file#record` for EVTX, `file:line` for line-based formats. */
  origin: string;
}

/** What a reader knows better than the generic rules below (e.g. auditd's node, a Zeek log's layer). */
export interface EventHints {
  host?: string;
  timestamp?: number;
  channel?: string;
  eventId?: number;
  recordId?: number;
  layer?: Layer;
}

/** Shared by events whose reader has no hints: an event is built per record, so nothing is allocated that need not be. */
const NO_HINTS: EventHints = Object.freeze({});

export class FirebreakEvent {
  /** Worked out on first read; null: looked for and not found. */
  private cachedLogsource: LogSource | null | undefined;
  private cachedTimestamp: number | null | undefined;

  constructor(
    /** The flat fields under Sigma's names: what rules and output read. */
    readonly fields: SigmaEvent,
    readonly source: EventSource,
    /** The record as the file holds it (a JSON object, XML text, auditd lines), built on demand. */
    readonly raw: () => unknown,
    private readonly hints: EventHints = NO_HINTS,
  ) {}

  get file(): string {
    return this.source.file;
  }

  get origin(): string {
    return this.source.origin;
  }

  get host(): string | undefined {
    return this.hints.host ?? text(this.fields.get('Computer')) ?? text(this.fields.get('host.name'));
  }

  /** Milliseconds since the epoch (UTC), or undefined when the record carries no readable time. */
  get timestamp(): number | undefined {
    if (this.hints.timestamp !== undefined) return this.hints.timestamp;
    if (this.cachedTimestamp === undefined) this.cachedTimestamp = eventTime(this.fields) ?? null;
    return this.cachedTimestamp ?? undefined;
  }

  get channel(): string | undefined {
    return this.hints.channel ?? text(this.fields.get('Channel'));
  }

  get eventId(): number | undefined {
    return this.hints.eventId ?? integer(this.fields.get('EventID'));
  }

  /** The record's EventRecordID (what Event Viewer and other tools show), else the reader's own record number. */
  get recordId(): number | undefined {
    return integer(this.fields.get('EventRecordID')) ?? this.hints.recordId;
  }

  /** The Sigma logsource the event is an instance of (category where one fits, else service), per the shipped mapping. */
  get logsource(): LogSource | undefined {
    if (this.cachedLogsource === undefined) this.cachedLogsource = shippedMapping().logSourceOf(this.fields) ?? null;
    return this.cachedLogsource ?? undefined;
  }

  get category(): string | undefined {
    return this.logsource?.category;
  }

  get layer(): Layer {
    return this.hints.layer ?? layerOf(this.channel, this.eventId, this.logsource);
  }

  /** Every field in a plain, prototype-less object (a field named `__proto__` is a field like any other), e.g. to cross a thread. */
  plainFields(): Record<string, unknown> {
    const out = Object.create(null) as Record<string, unknown>;
    for (const key of this.fields.keys()) out[key] = this.fields.get(key);
    return out;
  }
}

let mapping: LogSourceMapping | undefined;
function shippedMapping(): LogSourceMapping {
  return (mapping ??= loadMapping());
}

/** Logons, Kerberos/NTLM and account management. */
const IDENTITY_EVENTS = new Set([
  4624, 4625, 4634, 4647, 4648, 4672, 4720, 4722, 4723, 4724, 4725, 4726, 4728, 4732, 4738, 4740, 4756, 4767, 4768, 4769, 4770, 4771, 4776,
  4778, 4779,
]);
const NETWORK_CATEGORIES = new Set(['network_connection', 'dns_query', 'firewall', 'dns', 'proxy', 'webserver']);

function layerOf(channel: string | undefined, eventId: number | undefined, logsource: LogSource | undefined): Layer {
  const lower = channel?.toLowerCase();
  if (lower === 'security' && eventId !== undefined && (IDENTITY_EVENTS.has(eventId) || (eventId >= 5156 && eventId <= 5159)))
    return eventId >= 5156 ? 'network' : 'identity';
  if (lower?.includes('firewall') || lower?.includes('dns-client') || lower?.includes('smbclient')) return 'network';
  if (logsource?.category && NETWORK_CATEGORIES.has(logsource.category)) return 'network';
  if (logsource?.product === 'linux' || lower === 'auditd') return 'server';
  return 'endpoint';
}

/** A field's text; of a list (a name repeated in the record, e.g. UserData's own Channel), the first. */
function text(value: unknown): string | undefined {
  if (Array.isArray(value)) return text(value[0]);
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

function integer(value: unknown): number | undefined {
  if (Array.isArray(value)) return integer(value[0]);
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : undefined;
}
