/**
 * What both backends share: the checks on what they are given (so both reject the same input with
 * the same message) and the size-retention loop.
 */
import { AUDIT_GENESIS_HASH, auditHash } from './audit.js';
import type {
  AlertHistogramQuery,
  AlertQuery,
  AuditEntry,
  AuditRecord,
  EventQuery,
  EventRecord,
  IncidentQuery,
  IncidentRecord,
  RecordQuery,
  SerializedEventRecord,
} from './types.js';

/** Rows deleted per statement when pruning: short write transactions let ingest carry on in between. */
export const PRUNE_BATCH = 10_000;

/** Event ids are 32-bit (PostgreSQL integer): Windows ids are 16-bit, and nothing else numbers events higher. */
const MAX_EVENT_ID = 2 ** 31 - 1;

/** A time in whole milliseconds, or an error naming what was wrong and where. */
export function storedMs(value: number, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new Error(`${where}: time must be a finite number of ms, got ${String(value)}`);
  return Math.round(value);
}

/** The event's time in whole milliseconds, after checking the fields the indexes hold. */
export function checkedEventTime(event: EventRecord | SerializedEventRecord, index: number): number {
  const where = `event ${index}`;
  if (event.eventId !== null && !(Number.isInteger(event.eventId) && Math.abs(event.eventId) <= MAX_EVENT_ID)) {
    throw new Error(`${where}: eventId must be a 32-bit integer or null, got ${String(event.eventId)}`);
  }
  if (typeof event.format !== 'string' || event.format === '') throw new Error(`${where}: format must be a non-empty string`);
  if ('fieldsJson' in event ? !event.fieldsJson.startsWith('{') : event.fields === null || typeof event.fields !== 'object')
    throw new Error(`${where}: fields must be an object`);
  return storedMs(event.time, where);
}

/** The incident's first and last alert times in whole ms, after checking the numbers a database would mangle. */
export function checkedIncidentTimes(incident: IncidentRecord): [first: number, last: number] {
  if (!Number.isFinite(incident.score)) throw new Error(`incident "${incident.title}": score must be a finite number`);
  if (!Number.isSafeInteger(incident.alertCount)) throw new Error(`incident "${incident.title}": alertCount must be an integer`);
  return [storedMs(incident.first, `incident "${incident.title}" first`), storedMs(incident.last, `incident "${incident.title}" last`)];
}

/** A limit or an error: a negative or fractional one is a caller's bug that would otherwise mean "all". */
export function checkedLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new Error(`limit must be a non-negative integer, got ${String(limit)}`);
  return limit;
}

/** An incident listing's keyset (`before`), checked: whole ms and an id, so both backends compare the same numbers. */
export function checkedIncidentKeyset(before: NonNullable<IncidentQuery['before']>): [last: number, id: number] {
  if (!Number.isSafeInteger(before.id)) throw new Error(`before.id must be an integer, got ${String(before.id)}`);
  return [storedMs(before.last, 'before.last'), before.id];
}

/** A histogram's bounds in whole ms and its bucket size, checked (a bucket of less than 1 ms would divide by zero). */
export function checkedHistogram(query: AlertHistogramQuery): AlertHistogramQuery {
  const [from, to] = [storedMs(query.from, 'histogram from'), storedMs(query.to, 'histogram to')];
  if (!Number.isSafeInteger(query.bucketMs) || query.bucketMs < 1)
    throw new Error(`bucketMs must be a positive integer, got ${String(query.bucketMs)}`);
  return { from, to, bucketMs: query.bucketMs };
}

/** `ORDER BY id …` from the query's order, never from caller text. */
export function idOrder(order: 'asc' | 'desc' | undefined): 'ASC' | 'DESC' {
  return order === 'desc' ? 'DESC' : 'ASC';
}

/**
 * The next audit entry after `previous` (undefined for the first). The content goes through JSON and
 * the backend's `storable` cleaning first, so what is hashed is exactly what is stored and read back.
 */
export function nextAuditEntry(
  previous: { seq: number; hash: string } | undefined,
  record: AuditRecord,
  storable: (value: unknown) => unknown = (value) => value,
): AuditEntry {
  const seq = (previous?.seq ?? 0) + 1;
  const time = storedMs(record.time, `audit entry ${seq}`);
  const { actor, action } = record;
  if (typeof actor !== 'string' || typeof action !== 'string') throw new Error(`audit entry ${seq}: actor and action must be strings`);
  const target = record.target ?? null;
  const content = storable(JSON.parse(JSON.stringify({ seq, time, actor, action, target, details: record.details ?? {} })));
  const prevHash = previous?.hash ?? AUDIT_GENESIS_HASH;
  const entry = content as AuditRecord & { seq: number };
  return { ...entry, prevHash, hash: auditHash(prevHash, entry) };
}

/** How the size-retention loop sees a backend. */
export interface SizedEvents {
  /** Bytes the store occupies, and how many events it holds. */
  measure(): Promise<{ bytes: number; events: number }>;
  /** Deletes the `count` earliest-stored events (lowest ids: they fill whole pages); resolves with how many went. */
  deleteOldest(count: number): Promise<number>;
}

/**
 * Deletes the oldest events until the store is within `maxBytes`. Each round deletes the share of
 * events the excess represents, then measures again (other tables count too, so one round may not
 * be enough). It stops when a round frees nothing measurable: PostgreSQL only makes deleted rows'
 * space reusable (after vacuum) rather than smaller, so there one estimated round is all there is.
 */
export async function pruneToSize(maxBytes: number, store: SizedEvents): Promise<number> {
  let deleted = 0;
  let { bytes, events } = await store.measure();
  while (bytes > maxBytes && events > 0) {
    const keep = Math.floor((events * maxBytes) / bytes);
    deleted += await store.deleteOldest(events - keep);
    const after = await store.measure();
    if (after.bytes >= bytes) break;
    ({ bytes, events } = after);
  }
  return deleted;
}

/**
 * A WHERE clause built from a query's options: values are always bound parameters, never text in
 * the SQL. `placeholder` is the backend's spelling of the nth parameter (`?` or `$n`).
 */
export class Where {
  private readonly clauses: string[] = [];
  readonly values: unknown[] = [];

  constructor(private readonly placeholder: (n: number) => string) {}

  /** Binds a value and returns its placeholder (values must be bound in the order they appear). */
  param(value: unknown): string {
    this.values.push(value);
    return this.placeholder(this.values.length);
  }

  /** Adds a condition written with `param` for its values. */
  and(condition: string): void {
    this.clauses.push(condition);
  }

  get sql(): string {
    return this.clauses.length === 0 ? '' : ` WHERE ${this.clauses.join(' AND ')}`;
  }
}

/**
 * The conditions events and alerts share: a time range (on `timeColumn`), id bounds, and a list of
 * ids (`idIn` spells "id is in the bound list" for the backend).
 */
export function rangeConditions(
  where: Where,
  query: EventQuery | AlertQuery,
  timeColumn: string,
  idIn: (where: Where, ids: readonly number[]) => string,
): void {
  if (query.from !== undefined) where.and(`${timeColumn} >= ${where.param(query.from)}`);
  if (query.to !== undefined) where.and(`${timeColumn} <= ${where.param(query.to)}`);
  if (query.afterId !== undefined) where.and(`id > ${where.param(query.afterId)}`);
  if (query.beforeId !== undefined) where.and(`id < ${where.param(query.beforeId)}`);
  if (query.ids !== undefined) where.and(idIn(where, query.ids));
}

/** The conditions of a record listing. */
export function recordConditions(where: Where, kind: string, query: RecordQuery): void {
  where.and(`kind = ${where.param(kind)}`);
  if (query.tag !== undefined) where.and(`tag = ${where.param(query.tag)}`);
  if (query.afterId !== undefined) where.and(`id > ${where.param(query.afterId)}`);
  if (query.beforeId !== undefined) where.and(`id < ${where.param(query.beforeId)}`);
}

/**
 * Fields searched by value across long spans (retro-hunts for an advisory's domains and IPs): the
 * stores index them, so such a search reads the matching events only. Their values are text.
 */
export const INDEXED_FIELDS = ['DestinationIp', 'DestinationHostname', 'QueryName', 'destination.ip', 'dns.question.name'] as const;

export function isIndexedField(name: string): name is (typeof INDEXED_FIELDS)[number] {
  return (INDEXED_FIELDS as readonly string[]).includes(name);
}
