/**
 * What the server keeps, behind one interface: events, alerts, incidents, API tokens, the audit
 * log and a little state. SQLite (embedded default) and PostgreSQL implement it and pass the same
 * test suite. Every write resolves only once it is durable: "accepted" means stored.
 *
 * PostgreSQL text cannot hold NUL and its JSON rejects unpaired UTF-16 surrogates, so that backend
 * stores NUL as U+2400 (␀) and a lone surrogate as U+FFFD rather than refuse the data around them.
 */
import type { IncidentRecord, IncidentStatus } from '@firebreak/core';

/** What the server indexes an event by, besides its fields. */
export interface EventHeader {
  /** The event's own time in ms since the epoch; the time it was received when it carries none. */
  time: number;
  host: string | null;
  /** The ingest format or reader format: evtx-json, ecs, flat, auditd, syslog, evtx, windows-xml, json. */
  format: string;
  channel: string | null;
  eventId: number | null;
  /** Where it came from: `upload:NAME#record`, `syslog:udp:PEER`, `http:TOKEN-NAME:LINE`. */
  origin: string | null;
}

/** An event as the server stores it: flat fields under Sigma's names plus what it is indexed by. */
export interface EventRecord extends EventHeader {
  /** Flat fields (what rules and search read). JSON-serialisable. */
  fields: Record<string, unknown>;
}

/** An event whose fields are already JSON text (serialised where they were parsed, off the store's thread). */
export interface SerializedEventRecord extends EventHeader {
  /** A JSON object. */
  fieldsJson: string;
}

export interface StoredEvent extends EventRecord {
  /** Increasing in the order events were stored, never reused, and committed in that order: paging by afterId misses none. */
  id: number;
  /** When it was stored (ms since the epoch). */
  received: number;
}

export interface EventQuery {
  /** Event time bounds in ms, inclusive. */
  from?: number;
  to?: number;
  host?: string;
  /**
   * Exact, case-sensitive equality on top-level fields, by name (any text: dots and quotes are part of
   * the name). Values compare as text: numbers as JSON writes them, booleans as `true`/`false`; a
   * JSON null matches nothing. The fields of INDEXED_FIELDS (DestinationIp, QueryName…) are looked
   * up through an index and match text values only.
   */
  fields?: Record<string, string>;
  /** Only events stored after this id (for paging and replay). */
  afterId?: number;
  /** Only events stored before this id (paging newest first). */
  beforeId?: number;
  ids?: number[];
  limit: number;
  /** By id: `asc` oldest first (default), `desc` newest first. */
  order?: 'asc' | 'desc';
}

export type AlertKind = 'sigma' | 'correlation' | 'ioc' | 'behavior';

export interface AlertRecord {
  /** Alerts with the same key are one alert: a replayed event cannot raise it twice. */
  dedupKey: string;
  kind: AlertKind;
  ruleId: string;
  ruleTitle: string;
  level: string;
  /** The time of the event (or last event) that raised it, ms since the epoch. */
  timestamp: number;
  computer: string | null;
  /** The evidence: stored events that raised it. */
  eventIds: number[];
  /** The fields of the evidence that the rule matched (name → value). */
  matched: Record<string, unknown>;
  tags: string[];
  /** Anything else the kind has to say (correlation group, counts…). */
  details: Record<string, unknown>;
}

export interface StoredAlert extends AlertRecord {
  id: number;
  incidentId: number | null;
  created: number;
}

export interface AlertQuery {
  from?: number;
  to?: number;
  computer?: string;
  ruleId?: string;
  level?: string;
  kind?: AlertKind;
  incidentId?: number;
  /** Only alerts in no incident yet. */
  unassigned?: boolean;
  ids?: number[];
  afterId?: number;
  beforeId?: number;
  limit: number;
  order?: 'asc' | 'desc';
}

// Incidents are the core model's (core/incidents): the store keeps them as they are.
export { INCIDENT_STATUSES, type IncidentNote, type IncidentRecord, type IncidentStatus } from '@firebreak/core';
export interface StoredIncident extends IncidentRecord {
  id: number;
  created: number;
  updated: number;
}

/** Incidents come most recently active (latest `last`) first. */
export interface IncidentQuery {
  status?: IncidentStatus;
  host?: string;
  /** Incidents whose last alert is at or after this time. */
  activeSince?: number;
  /**
   * Keyset paging: only incidents that come after this one in the listing order, i.e. whose
   * `(last, id)` is less than this pair (the `last` and `id` of the previous page's final incident).
   */
  before?: { last: number; id: number };
  limit: number;
}

/** Alerts counted per level in equal time buckets (by the alert's `timestamp`). */
export interface AlertHistogramQuery {
  /** The first bucket starts here (ms since the epoch); alerts from here (inclusive) to `to` (exclusive). */
  from: number;
  to: number;
  bucketMs: number;
}

/** The alerts of one level in one bucket; buckets without alerts have no row. */
export interface AlertBucket {
  /** The bucket's start: `from + n × bucketMs`. */
  bucket: number;
  level: string;
  count: number;
}

export interface IncidentCount {
  status: IncidentStatus;
  severity: string;
  count: number;
}

/** `ingest`: may only send events (shippers); the others are ranked viewer < analyst < responder < admin. */
export type Role = 'ingest' | 'viewer' | 'analyst' | 'responder' | 'admin';
export const ROLES: readonly Role[] = ['ingest', 'viewer', 'analyst', 'responder', 'admin'];

export interface TokenRecord {
  name: string;
  role: Role;
  /** SHA-256 of the secret, hex: the secret itself is never stored. */
  hash: string;
}

export interface StoredToken extends TokenRecord {
  id: number;
  created: number;
  revoked: number | null;
}

export interface AuditRecord {
  time: number;
  /** Token name, or `system`. */
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
}

export interface AuditEntry extends AuditRecord {
  seq: number;
  /** The previous entry's hash (64 zeros for the first). */
  prevHash: string;
  /** sha256(prevHash + canonical entry): see auditHash. */
  hash: string;
}

export interface StoreStats {
  events: number;
  alerts: number;
  incidents: number;
  /**
   * Bytes the store occupies. SQLite: pages in use (exact; it drops as soon as rows are deleted).
   * PostgreSQL: the on-disk size of the schema's tables and indexes, which deleted rows' space stays
   * part of (reused by later inserts).
   */
  bytes: number;
  oldestEvent: number | null;
  newestEvent: number | null;
}

export interface RetentionPolicy {
  /** Delete events whose time is older than this (ms since the epoch). */
  before?: number;
  /**
   * Delete the earliest-stored events until the store is within this many bytes. SQLite measures
   * again after each round and gets under it. PostgreSQL keeps deleted rows' space for reuse rather
   * than shrinking, so there one round deletes the events' estimated share of the excess.
   */
  maxBytes?: number;
}

/**
 * Small collections the response side keeps (agents, enrollment tokens, actions, indicators,
 * evidence, playbooks): a JSON body per record, optionally a unique key and one indexed tag per
 * kind. `version` grows with each update, so a compare-and-set (`expectVersion`) makes one-time use
 * (an enrollment token) and concurrent updates safe across processes.
 */
export interface StoredRecord<T = unknown> {
  kind: string;
  id: number;
  key: string | null;
  tag: string | null;
  body: T;
  version: number;
  created: number;
  updated: number;
}

export interface RecordQuery {
  tag?: string;
  afterId?: number;
  beforeId?: number;
  limit: number;
  order?: 'asc' | 'desc';
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Creates or upgrades the schema (idempotent); called by openStore. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  /** Stores events in one transaction; resolves with their ids (in order) once durable. */
  appendEvents(events: readonly (EventRecord | SerializedEventRecord)[]): Promise<number[]>;
  searchEvents(query: EventQuery): Promise<StoredEvent[]>;

  /** Stores the alerts whose dedupKey is new; resolves with those (others are ignored). */
  insertAlerts(alerts: readonly AlertRecord[]): Promise<StoredAlert[]>;
  listAlerts(query: AlertQuery): Promise<StoredAlert[]>;
  /** Alerts counted per bucket and level (in the database: no alert is read), by bucket then level. */
  alertHistogram(query: AlertHistogramQuery): Promise<AlertBucket[]>;
  setAlertIncident(alertIds: readonly number[], incidentId: number): Promise<void>;

  createIncident(incident: IncidentRecord): Promise<StoredIncident>;
  /** Replaces the incident's record (and bumps `updated`); undefined when there is no such incident. */
  updateIncident(id: number, incident: IncidentRecord): Promise<StoredIncident | undefined>;
  getIncident(id: number): Promise<StoredIncident | undefined>;
  listIncidents(query: IncidentQuery): Promise<StoredIncident[]>;
  /** Incidents counted by status and severity (counted in the database: no incident is read). */
  incidentCounts(): Promise<IncidentCount[]>;

  createToken(token: TokenRecord): Promise<StoredToken>;
  /** The unrevoked token with this hash. */
  findToken(hash: string): Promise<StoredToken | undefined>;
  listTokens(): Promise<StoredToken[]>;
  revokeToken(id: number): Promise<boolean>;

  /** Appends to the hash chain atomically (concurrent appends from several processes stay one chain). */
  appendAudit(entry: AuditRecord): Promise<AuditEntry>;
  listAudit(options: { afterSeq?: number; limit: number }): Promise<AuditEntry[]>;

  /** Inserts a record; a key already used by this kind is an error (`DuplicateKeyError`). */
  putRecord<T>(kind: string, record: { key?: string | null; tag?: string | null; body: T }): Promise<StoredRecord<T>>;
  getRecord<T>(kind: string, id: number): Promise<StoredRecord<T> | undefined>;
  findRecord<T>(kind: string, key: string): Promise<StoredRecord<T> | undefined>;
  /** Replaces the body (and tag when given); undefined when there is no such record or its version is not `expectVersion`. */
  updateRecord<T>(
    kind: string,
    id: number,
    body: T,
    options?: { expectVersion?: number; tag?: string | null },
  ): Promise<StoredRecord<T> | undefined>;
  listRecords<T>(kind: string, query: RecordQuery): Promise<StoredRecord<T>[]>;
  deleteRecord(kind: string, id: number): Promise<boolean>;

  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;

  /** Applies a retention policy; resolves with the number of events deleted (their alerts stay). */
  prune(policy: RetentionPolicy): Promise<number>;
  stats(): Promise<StoreStats>;
}

/** A record's key is already taken by another record of its kind. */
export class DuplicateKeyError extends Error {
  constructor(
    readonly kind: string,
    readonly key: string,
  ) {
    super(`${kind} "${key}" exists already`);
    this.name = 'DuplicateKeyError';
  }
}
