/**
 * The PostgreSQL store, through a `pg` pool, in its own schema (`?schema=NAME` in the URL, default
 * `firebreak`). Writes resolve after COMMIT with synchronous_commit on, so a resolved write is on
 * the server's disk. A batch goes in as one INSERT of a JSON array.
 */
import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import pg from 'pg';
import {
  checkedEventTime,
  checkedHistogram,
  checkedIncidentKeyset,
  checkedIncidentTimes,
  checkedLimit,
  idOrder,
  nextAuditEntry,
  PRUNE_BATCH,
  pruneToSize,
  isIndexedField,
  rangeConditions,
  recordConditions,
  storedMs,
  Where,
} from './records.js';
import { POSTGRES_MIGRATIONS } from './postgres-schema.js';
import type {
  AlertBucket,
  AlertHistogramQuery,
  AlertQuery,
  AlertRecord,
  AuditEntry,
  AuditRecord,
  EventQuery,
  EventRecord,
  SerializedEventRecord,
  IncidentCount,
  IncidentQuery,
  IncidentRecord,
  RetentionPolicy,
  Store,
  StoredAlert,
  StoredEvent,
  StoredIncident,
  StoredToken,
  StoreStats,
  TokenRecord,
} from './types.js';
import { DuplicateKeyError, type RecordQuery, type StoredRecord } from './types.js';

/** SQLSTATE of a unique constraint violation. */
const UNIQUE_VIOLATION = '23505';

export const DEFAULT_POSTGRES_SCHEMA = 'firebreak';
/** A schema name that needs no quoting (and cannot smuggle SQL into the statements that name it). */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** bigint columns (ids, ms times, counts) as numbers: every value the store holds is below 2^53. */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * A batch goes in as one JSON array expanded by jsonb_to_recordset: one JSON.stringify per batch
 * instead of an escaped array literal per column (pg's array escaping tripled the insert time).
 * ORDER BY ordinality draws the ids in the batch's order.
 */
const INSERT_EVENTS = `
  INSERT INTO events (time, received, host, format, channel, event_id, origin, fields)
  SELECT e.time, $2, e.host, e.format, e.channel, e."eventId", e.origin, e.fields
  FROM ROWS FROM (jsonb_to_recordset($1::jsonb)
    AS (time bigint, host text, format text, channel text, "eventId" integer, origin text, fields jsonb)) WITH ORDINALITY AS e
  ORDER BY e.ordinality
  RETURNING id`;

const INSERT_ALERTS = `
  INSERT INTO alerts (dedup_key, kind, rule_id, rule_title, level, timestamp, computer, event_ids, matched, tags, details, created)
  SELECT a."dedupKey", a.kind, a."ruleId", a."ruleTitle", a.level, a.timestamp, a.computer, a."eventIds", a.matched, a.tags, a.details, $2
  FROM ROWS FROM (jsonb_to_recordset($1::jsonb)
    AS ("dedupKey" text, kind text, "ruleId" text, "ruleTitle" text, level text, timestamp bigint, computer text,
        "eventIds" jsonb, matched jsonb, tags jsonb, details jsonb)) WITH ORDINALITY AS a
  ORDER BY a.ordinality
  ON CONFLICT (dedup_key) DO NOTHING
  RETURNING *`;

/** On-disk size of the tables of schema $1, with their indexes and TOAST (space freed by deletes stays until reused). */
const SCHEMA_BYTES = `(SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r')`;

const ALERT_COLUMNS = `id, dedup_key AS "dedupKey", kind, rule_id AS "ruleId", rule_title AS "ruleTitle", level, timestamp, computer,
  event_ids AS "eventIds", matched, tags, details, incident_id AS "incidentId", created`;
const INCIDENT_COLUMNS = `id, title, status, severity, score, hosts, first_alert AS first, last_alert AS last, alert_count AS "alertCount",
  grouping_state AS grouping, notes, created, updated`;
const AUDIT_COLUMNS = 'seq, time, actor, action, target, details, prev_hash AS "prevHash", hash';

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly schema: string;
  private readonly pool: pg.Pool;

  /** `url` is a postgres:// or postgresql:// URL; its `schema` parameter names the schema to keep the tables in. */
  constructor(url: string, options: { poolSize?: number } = {}) {
    // The query is taken apart by hand: `new URL` refuses what pg accepts, like postgres://user@/db?host=/run/postgresql.
    const queryAt = url.indexOf('?');
    const params = new URLSearchParams(queryAt < 0 ? '' : url.slice(queryAt + 1));
    this.schema = params.get('schema') ?? DEFAULT_POSTGRES_SCHEMA;
    if (!SCHEMA_NAME.test(this.schema)) {
      throw new Error(
        `PostgreSQL schema "${this.schema}": use lower-case letters, digits and underscores (at most 63, not starting with a digit)`,
      );
    }
    // Our settings go after any `options` the URL has, so they win: the tables' schema, and durable commits.
    const userOptions = params.get('options') ?? '';
    params.delete('schema');
    params.delete('options');
    const base = queryAt < 0 ? url : url.slice(0, queryAt);
    this.pool = new pg.Pool({
      connectionString: params.size > 0 ? `${base}?${params}` : base,
      options: `${userOptions} -c search_path=${this.schema} -c synchronous_commit=on`.trim(),
      max: options.poolSize ?? 10,
      types: TYPES,
    });
    // An idle connection that breaks (server restart) is dropped by the pool; without a listener it would crash the process.
    this.pool.on('error', () => undefined);
  }

  async migrate(): Promise<void> {
    await this.transaction(async (client) => {
      await this.lock(client, 'migrate');
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied bigint NOT NULL)');
      const { rows } = await client.query<{ version: number }>('SELECT coalesce(max(version), 0) AS version FROM schema_migrations');
      const version = rows[0].version;
      const latest = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1].version;
      if (version > latest)
        throw new Error(`PostgreSQL schema ${this.schema}: version ${version} is newer than this Firebreak knows (${latest})`);
      for (const migration of POSTGRES_MIGRATIONS.filter((m) => m.version > version)) {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)', [migration.version, Date.now()]);
      }
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  async appendEvents(events: readonly (EventRecord | SerializedEventRecord)[]): Promise<number[]> {
    const times = events.map(checkedEventTime);
    if (events.length === 0) return [];
    const rows = events.map((event, i) => ({
      time: times[i],
      host: event.host,
      format: event.format,
      channel: event.channel,
      eventId: event.eventId,
      origin: event.origin,
      // Parsed again so that storableJson can clean what PostgreSQL refuses (NUL, lone surrogates).
      fields: 'fieldsJson' in event ? (JSON.parse(event.fieldsJson) as unknown) : event.fields,
    }));
    const values = [storableJson(rows), Date.now()];
    return this.transaction(async (client) => {
      // One appender at a time: ids then become visible in id order, so a reader paging by afterId
      // never passes an id whose transaction has not committed yet.
      await this.lock(client, 'events');
      const { rows: inserted } = await client.query<{ id: number }>({ name: 'firebreak-insert-events', text: INSERT_EVENTS, values });
      // Ids are drawn in the batch's order; sorting makes the result not depend on RETURNING's row order.
      return inserted.map((row) => row.id).sort((a, b) => a - b);
    });
  }

  async searchEvents(query: EventQuery): Promise<StoredEvent[]> {
    const where = new Where((n) => `$${n}`);
    rangeConditions(where, query, 'time', idInList);
    if (query.host !== undefined) where.and(`host = ${where.param(storableText(query.host))}`);
    for (const [name, value] of Object.entries(query.fields ?? {})) {
      // An indexed field's name is written as its expression index has it (it is one of a fixed list), so the index serves.
      const field = isIndexedField(name) ? `'${name}'` : where.param(storableText(name));
      where.and(`fields ->> ${field} = ${where.param(storableText(String(value)))}`);
    }
    const sql = `SELECT id, time, received, host, format, channel, event_id AS "eventId", origin, fields FROM events${where.sql}
      ORDER BY id ${idOrder(query.order)} LIMIT ${where.param(checkedLimit(query.limit))}`;
    return (await this.pool.query<StoredEvent>(sql, where.values)).rows;
  }

  async insertAlerts(alerts: readonly AlertRecord[]): Promise<StoredAlert[]> {
    const timestamps = alerts.map((alert, i) => storedMs(alert.timestamp, `alert ${i}`));
    if (alerts.length === 0) return [];
    const rows = alerts.map((alert, i) => ({ ...alert, timestamp: timestamps[i] }));
    const values = [storableJson(rows), Date.now()];
    const sql = `WITH inserted AS (${INSERT_ALERTS}) SELECT ${ALERT_COLUMNS} FROM inserted ORDER BY id`;
    return (await this.pool.query<StoredAlert>(sql, values)).rows;
  }

  async listAlerts(query: AlertQuery): Promise<StoredAlert[]> {
    const where = new Where((n) => `$${n}`);
    rangeConditions(where, query, 'timestamp', idInList);
    if (query.computer !== undefined) where.and(`computer = ${where.param(storableText(query.computer))}`);
    if (query.ruleId !== undefined) where.and(`rule_id = ${where.param(storableText(query.ruleId))}`);
    if (query.level !== undefined) where.and(`level = ${where.param(storableText(query.level))}`);
    if (query.kind !== undefined) where.and(`kind = ${where.param(storableText(query.kind))}`);
    if (query.incidentId !== undefined) where.and(`incident_id = ${where.param(query.incidentId)}`);
    if (query.unassigned) where.and('incident_id IS NULL');
    const sql = `SELECT ${ALERT_COLUMNS} FROM alerts${where.sql} ORDER BY id ${idOrder(query.order)} LIMIT ${where.param(checkedLimit(query.limit))}`;
    return (await this.pool.query<StoredAlert>(sql, where.values)).rows;
  }

  async alertHistogram(query: AlertHistogramQuery): Promise<AlertBucket[]> {
    const { from, to, bucketMs } = checkedHistogram(query);
    const sql = `SELECT $1::bigint + (timestamp - $1::bigint) / $2::bigint * $2::bigint AS bucket, level, count(*) AS count FROM alerts
      WHERE timestamp >= $1 AND timestamp < $3 GROUP BY 1, 2 ORDER BY 1, 2`;
    return (await this.pool.query<AlertBucket>(sql, [from, bucketMs, to])).rows;
  }

  async setAlertIncident(alertIds: readonly number[], incidentId: number): Promise<void> {
    await this.pool.query('UPDATE alerts SET incident_id = $1 WHERE id = ANY($2::bigint[])', [incidentId, alertIds]);
  }

  async createIncident(incident: IncidentRecord): Promise<StoredIncident> {
    const now = Date.now();
    const sql = `INSERT INTO incidents (title, status, severity, score, hosts, first_alert, last_alert, alert_count, grouping_state, notes, created, updated)
      VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9::jsonb, $10::jsonb, $11, $11) RETURNING ${INCIDENT_COLUMNS}`;
    return (await this.pool.query<StoredIncident>(sql, [...incidentValues(incident), now])).rows[0];
  }

  async updateIncident(id: number, incident: IncidentRecord): Promise<StoredIncident | undefined> {
    const sql = `UPDATE incidents SET title = $1, status = $2, severity = $3, score = $4, hosts = $5::jsonb, first_alert = $6, last_alert = $7,
      alert_count = $8, grouping_state = $9::jsonb, notes = $10::jsonb, updated = $11 WHERE id = $12 RETURNING ${INCIDENT_COLUMNS}`;
    return (await this.pool.query<StoredIncident>(sql, [...incidentValues(incident), Date.now(), id])).rows[0];
  }

  async getIncident(id: number): Promise<StoredIncident | undefined> {
    return (await this.pool.query<StoredIncident>(`SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE id = $1`, [id])).rows[0];
  }

  async listIncidents(query: IncidentQuery): Promise<StoredIncident[]> {
    const where = new Where((n) => `$${n}`);
    if (query.status !== undefined) where.and(`status = ${where.param(query.status)}`);
    if (query.host !== undefined) where.and(`hosts @> jsonb_build_array(${where.param(storableText(query.host))}::text)`);
    if (query.activeSince !== undefined) where.and(`last_alert >= ${where.param(query.activeSince)}`);
    if (query.before !== undefined) {
      const [last, id] = checkedIncidentKeyset(query.before);
      where.and(`(last_alert, id) < (${where.param(last)}::bigint, ${where.param(id)}::bigint)`);
    }
    const sql = `SELECT ${INCIDENT_COLUMNS} FROM incidents${where.sql} ORDER BY last_alert DESC, id DESC LIMIT ${where.param(checkedLimit(query.limit))}`;
    return (await this.pool.query<StoredIncident>(sql, where.values)).rows;
  }

  async incidentCounts(): Promise<IncidentCount[]> {
    const sql = 'SELECT status, severity, count(*) AS count FROM incidents GROUP BY status, severity ORDER BY status, severity';
    return (await this.pool.query<IncidentCount>(sql)).rows;
  }

  async createToken(token: TokenRecord): Promise<StoredToken> {
    const sql = 'INSERT INTO tokens (name, role, hash, created) VALUES ($1, $2, $3, $4) RETURNING *';
    return (await this.pool.query<StoredToken>(sql, [storableText(token.name), token.role, storableText(token.hash), Date.now()])).rows[0];
  }

  async findToken(hash: string): Promise<StoredToken | undefined> {
    return (await this.pool.query<StoredToken>('SELECT * FROM tokens WHERE hash = $1 AND revoked IS NULL', [storableText(hash)])).rows[0];
  }

  async listTokens(): Promise<StoredToken[]> {
    return (await this.pool.query<StoredToken>('SELECT * FROM tokens ORDER BY id')).rows;
  }

  async revokeToken(id: number): Promise<boolean> {
    const result = await this.pool.query('UPDATE tokens SET revoked = $1 WHERE id = $2 AND revoked IS NULL', [Date.now(), id]);
    return result.rowCount === 1;
  }

  async appendAudit(record: AuditRecord): Promise<AuditEntry> {
    return this.transaction(async (client) => {
      // Held until COMMIT: the next appender reads the head only once this entry is committed.
      await this.lock(client, 'audit');
      const { rows } = await client.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
      const entry = nextAuditEntry(rows[0], record, storableValue);
      await client.query(
        'INSERT INTO audit (seq, time, actor, action, target, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)',
        [entry.seq, entry.time, entry.actor, entry.action, entry.target, JSON.stringify(entry.details), entry.prevHash, entry.hash],
      );
      return entry;
    });
  }

  async listAudit(options: { afterSeq?: number; limit: number }): Promise<AuditEntry[]> {
    const sql = `SELECT ${AUDIT_COLUMNS} FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2`;
    return (await this.pool.query<AuditEntry>(sql, [options.afterSeq ?? 0, checkedLimit(options.limit)])).rows;
  }

  async putRecord<T>(kind: string, record: { key?: string | null; tag?: string | null; body: T }): Promise<StoredRecord<T>> {
    const now = Date.now();
    const sql = 'INSERT INTO records (kind, key, tag, body, version, created, updated) VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING *';
    const key = record.key == null ? null : storableText(record.key);
    const tag = record.tag == null ? null : storableText(record.tag);
    try {
      return (await this.pool.query<StoredRecord<T>>(sql, [kind, key, tag, storableJson(record.body), now])).rows[0];
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) throw new DuplicateKeyError(kind, String(record.key));
      throw error;
    }
  }

  async getRecord<T>(kind: string, id: number): Promise<StoredRecord<T> | undefined> {
    return (await this.pool.query<StoredRecord<T>>('SELECT * FROM records WHERE kind = $1 AND id = $2', [kind, id])).rows[0];
  }

  async findRecord<T>(kind: string, key: string): Promise<StoredRecord<T> | undefined> {
    const sql = 'SELECT * FROM records WHERE kind = $1 AND key = $2';
    return (await this.pool.query<StoredRecord<T>>(sql, [kind, storableText(key)])).rows[0];
  }

  async updateRecord<T>(
    kind: string,
    id: number,
    body: T,
    options: { expectVersion?: number; tag?: string | null } = {},
  ): Promise<StoredRecord<T> | undefined> {
    const sql =
      'UPDATE records SET body = $1, tag = CASE WHEN $2 THEN $3 ELSE tag END, version = version + 1, updated = $4 ' +
      'WHERE kind = $5 AND id = $6 AND ($7::integer IS NULL OR version = $7) RETURNING *';
    const tag = options.tag == null ? null : storableText(options.tag);
    const values = [storableJson(body), options.tag !== undefined, tag, Date.now(), kind, id, options.expectVersion ?? null];
    return (await this.pool.query<StoredRecord<T>>(sql, values)).rows[0];
  }

  async listRecords<T>(kind: string, query: RecordQuery): Promise<StoredRecord<T>[]> {
    const where = new Where((n) => `$${n}`);
    recordConditions(where, kind, query);
    const sql = `SELECT * FROM records${where.sql} ORDER BY id ${idOrder(query.order)} LIMIT ${checkedLimit(query.limit)}`;
    return (await this.pool.query<StoredRecord<T>>(sql, where.values)).rows;
  }

  async deleteRecord(kind: string, id: number): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM records WHERE kind = $1 AND id = $2', [kind, id])).rowCount ?? 0) > 0;
  }

  async getMeta(key: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [storableText(key)]);
    return rows[0]?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    const sql = 'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value';
    await this.pool.query(sql, [storableText(key), storableText(value)]);
  }

  async prune(policy: RetentionPolicy): Promise<number> {
    let deleted = 0;
    if (policy.before !== undefined) {
      deleted += await this.deleteInBatches('SELECT id FROM events WHERE time < $1 LIMIT $2', [storedMs(policy.before, 'prune')], Infinity);
    }
    if (policy.maxBytes !== undefined) {
      deleted += await pruneToSize(policy.maxBytes, {
        measure: async () => {
          const sql = `SELECT ${SCHEMA_BYTES} AS bytes, (SELECT count(*) FROM events) AS events`;
          return (await this.pool.query<{ bytes: number; events: number }>(sql, [this.schema])).rows[0];
        },
        deleteOldest: (count) => this.deleteInBatches('SELECT id FROM events ORDER BY id LIMIT $1', [], count),
      });
    }
    return deleted;
  }

  /** Deletes up to `count` events that `selectIds` (its last parameter is the batch size) picks, a batch per statement. */
  private async deleteInBatches(selectIds: string, values: unknown[], count: number): Promise<number> {
    let deleted = 0;
    while (deleted < count) {
      const result = await this.pool.query(`DELETE FROM events WHERE id IN (${selectIds})`, [
        ...values,
        Math.min(PRUNE_BATCH, count - deleted),
      ]);
      const changes = result.rowCount ?? 0;
      deleted += changes;
      if (changes < PRUNE_BATCH) break;
      await nextTurn();
    }
    return deleted;
  }

  async stats(): Promise<StoreStats> {
    const sql = `SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM alerts) AS alerts, (SELECT count(*) FROM incidents) AS incidents,
      ${SCHEMA_BYTES} AS bytes, (SELECT min(time) FROM events) AS "oldestEvent", (SELECT max(time) FROM events) AS "newestEvent"`;
    return (await this.pool.query<StoreStats>(sql, [this.schema])).rows[0];
  }

  /** Runs `work` in a transaction on one connection; a connection whose ROLLBACK fails is discarded, not reused. */
  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** A transaction-scoped advisory lock, one per purpose and schema (several stores can share a database). */
  private async lock(client: pg.PoolClient, purpose: string): Promise<void> {
    const digest = createHash('sha256').update(`firebreak:${this.schema}:${purpose}`).digest();
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [digest.readBigInt64BE(0).toString()]);
  }
}

/** The incident's columns from title to notes, in table order. */
function incidentValues(incident: IncidentRecord): unknown[] {
  const { status, score, alertCount } = incident;
  const [first, last] = checkedIncidentTimes(incident);
  const [title, severity] = [storableText(incident.title), storableText(incident.severity)];
  return [
    title,
    status,
    severity,
    score,
    storableJson(incident.hosts),
    first,
    last,
    alertCount,
    storableJson(incident.grouping),
    storableJson(incident.notes),
  ];
}

/**
 * PostgreSQL text cannot hold NUL, and jsonb rejects unpaired UTF-16 surrogates: either would fail a
 * whole batch of good events. NUL is stored as U+2400 (␀, "symbol for null"), a lone surrogate as U+FFFD.
 */
const UNSTORABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** How JSON.stringify writes NUL and lone surrogates: only JSON containing these needs cleaning. */
const UNSTORABLE_ESCAPE = /\\u(?:0000|d[89a-f])/i;

function storableText(text: string): string {
  return text.replace(UNSTORABLE, (char) => (char === '\0' ? '\u2400' : '\uFFFD'));
}

function storableJson(value: unknown): string {
  const json = JSON.stringify(value);
  return UNSTORABLE_ESCAPE.test(json) ? JSON.stringify(storableValue(JSON.parse(json))) : json;
}

/** A JSON value with every string (keys too) made storable. */
function storableValue(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.map(storableValue);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [storableText(key), storableValue(inner)]));
}

/** `id` is in a list of ids, bound as one array: one statement shape whatever the list's length. */
function idInList(where: Where, ids: readonly number[]): string {
  return `id = ANY(${where.param(ids)}::bigint[])`;
}
