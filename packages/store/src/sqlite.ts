/**
 * The embedded store: one SQLite file through better-sqlite3. WAL with synchronous=FULL, so a commit
 * (hence a resolved write) has been fsynced and survives `kill -9` and power loss. better-sqlite3 is
 * synchronous: the async methods exist for the interface the PostgreSQL store shares.
 */
import { writeFileSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import Database from 'better-sqlite3';
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
import { SQLITE_MIGRATIONS } from './sqlite-schema.js';
import type {
  AlertBucket,
  AlertHistogramQuery,
  AlertKind,
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
  IncidentStatus,
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

/** How long a write waits for another process's write lock before failing. */
const BUSY_TIMEOUT_MS = 10_000;
/** The WAL is truncated back to this after checkpoints, so one burst does not keep a huge file. */
const WAL_SIZE_LIMIT = 64 * 1024 * 1024;
/** Distinct query shapes kept prepared; beyond it the cache starts over rather than grow without end. */
const STATEMENT_CACHE_SIZE = 200;

const INSERT_EVENT = 'INSERT INTO events (time, received, host, format, channel, event_id, origin, fields) VALUES (?, ?, ?, ?, ?, ?, ?, ?)';
const EVENT_COLUMNS = 'id, time, received, host, format, channel, event_id, origin, fields';
/** A flat field's value as text, the way PostgreSQL's `->>` gives it (booleans as true/false, JSON null as none). */
const FIELD_TEXT = `CASE field.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(field.value AS TEXT) END`;

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly insertEventsTransaction: (
    events: readonly (EventRecord | SerializedEventRecord)[],
    times: readonly number[],
    received: number,
  ) => number[];
  private readonly appendAuditTransaction: { immediate(record: AuditRecord): AuditEntry };

  /** `path` is a database file (created private to its owner when absent) or `:memory:`. */
  constructor(readonly path: string) {
    if (path !== ':memory:') writeFileSync(path, '', { flag: 'a', mode: 0o600 });
    this.db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
    // Only takes effect on a new database (before its first table): lets prune give space back.
    this.db.pragma('auto_vacuum = INCREMENTAL');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
    this.insertEventsTransaction = this.db.transaction(this.insertEvents.bind(this));
    this.appendAuditTransaction = this.db.transaction(this.insertAudit.bind(this));
  }

  async migrate(): Promise<void> {
    const upgrade = this.db.transaction(() => {
      this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)');
      const { version } = this.db.prepare('SELECT coalesce(max(version), 0) AS version FROM schema_migrations').get() as {
        version: number;
      };
      const latest = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1].version;
      if (version > latest) throw new Error(`${this.path}: schema version ${version} is newer than this Firebreak knows (${latest})`);
      for (const migration of SQLITE_MIGRATIONS.filter((m) => m.version > version)) {
        this.db.exec(migration.sql);
        this.db.prepare('INSERT INTO schema_migrations (version, applied) VALUES (?, ?)').run(migration.version, Date.now());
      }
    });
    upgrade.immediate();
  }

  async close(): Promise<void> {
    this.statements.clear();
    this.db.close();
  }

  async appendEvents(events: readonly (EventRecord | SerializedEventRecord)[]): Promise<number[]> {
    const times = events.map(checkedEventTime);
    return this.insertEventsTransaction(events, times, Date.now());
  }

  private insertEvents(events: readonly (EventRecord | SerializedEventRecord)[], times: readonly number[], received: number): number[] {
    const insert = this.statement(INSERT_EVENT);
    const ids = new Array<number>(events.length);
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      const fields = 'fieldsJson' in e ? e.fieldsJson : JSON.stringify(e.fields);
      ids[i] = Number(
        insert.run(times[i], received, e.host ?? null, e.format, e.channel ?? null, e.eventId ?? null, e.origin ?? null, fields)
          .lastInsertRowid,
      );
    }
    return ids;
  }

  async searchEvents(query: EventQuery): Promise<StoredEvent[]> {
    const where = new Where(() => '?');
    rangeConditions(where, query, 'time', idInList);
    if (query.host !== undefined) where.and(`host = ${where.param(query.host)}`);
    for (const [name, value] of Object.entries(query.fields ?? {})) {
      // An indexed field is looked up by its expression index (the name is one of a fixed list, written as the index has it).
      if (isIndexedField(name))
        where.and(`json_extract(fields, '$.${name.includes('.') ? `"${name}"` : name}') = ${where.param(String(value))}`);
      // json_each takes the name as a plain bound value: no JSON path to escape, whatever the name holds.
      else
        where.and(
          `EXISTS (SELECT 1 FROM json_each(events.fields) AS field WHERE field.key = ${where.param(name)} AND ${FIELD_TEXT} = ${where.param(String(value))})`,
        );
    }
    const sql = `SELECT ${EVENT_COLUMNS} FROM events${where.sql} ORDER BY id ${idOrder(query.order)} LIMIT ${where.param(checkedLimit(query.limit))}`;
    return (this.statement(sql).all(...where.values) as EventRow[]).map(eventOf);
  }

  async insertAlerts(alerts: readonly AlertRecord[]): Promise<StoredAlert[]> {
    const timestamps = alerts.map((alert, i) => storedMs(alert.timestamp, `alert ${i}`));
    const insertNew = this.db.transaction((created: number) => {
      const insert = this.statement(
        `INSERT INTO alerts (dedup_key, kind, rule_id, rule_title, level, timestamp, computer, event_ids, matched, tags, details, created)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING RETURNING id`,
      );
      const stored: StoredAlert[] = [];
      alerts.forEach((a, i) => {
        const row = insert.get(
          ...[a.dedupKey, a.kind, a.ruleId, a.ruleTitle, a.level, timestamps[i], a.computer ?? null],
          ...[JSON.stringify(a.eventIds), JSON.stringify(a.matched), JSON.stringify(a.tags), JSON.stringify(a.details), created],
        ) as { id: number } | undefined;
        // What was written, as written: reading the row back would only parse its JSON again.
        if (row) stored.push({ ...a, computer: a.computer ?? null, timestamp: timestamps[i]!, id: row.id, incidentId: null, created });
      });
      return stored;
    });
    return insertNew(Date.now());
  }

  async listAlerts(query: AlertQuery): Promise<StoredAlert[]> {
    const where = new Where(() => '?');
    rangeConditions(where, query, 'timestamp', idInList);
    if (query.computer !== undefined) where.and(`computer = ${where.param(query.computer)}`);
    if (query.ruleId !== undefined) where.and(`rule_id = ${where.param(query.ruleId)}`);
    if (query.level !== undefined) where.and(`level = ${where.param(query.level)}`);
    if (query.kind !== undefined) where.and(`kind = ${where.param(query.kind)}`);
    if (query.incidentId !== undefined) where.and(`incident_id = ${where.param(query.incidentId)}`);
    if (query.unassigned) where.and('incident_id IS NULL');
    const sql = `SELECT * FROM alerts${where.sql} ORDER BY id ${idOrder(query.order)} LIMIT ${where.param(checkedLimit(query.limit))}`;
    return (this.statement(sql).all(...where.values) as AlertRow[]).map(alertOf);
  }

  async alertHistogram(query: AlertHistogramQuery): Promise<AlertBucket[]> {
    const { from, to, bucketMs } = checkedHistogram(query);
    // Numbers are bound as REAL: the casts make the division an integer one (the bucket's number).
    const sql = `SELECT (timestamp - CAST(@from AS INTEGER)) / CAST(@bucketMs AS INTEGER) AS n, level, count(*) AS count FROM alerts
      WHERE timestamp >= @from AND timestamp < @to GROUP BY n, level ORDER BY n, level`;
    const rows = this.statement(sql).all({ from, to, bucketMs }) as { n: number; level: string; count: number }[];
    return rows.map(({ n, level, count }) => ({ bucket: from + n * bucketMs, level, count }));
  }

  async setAlertIncident(alertIds: readonly number[], incidentId: number): Promise<void> {
    this.statement('UPDATE alerts SET incident_id = ? WHERE id IN (SELECT value FROM json_each(?))').run(
      incidentId,
      JSON.stringify(alertIds),
    );
  }

  async createIncident(incident: IncidentRecord): Promise<StoredIncident> {
    const now = Date.now();
    const row = this.statement(
      `INSERT INTO incidents (title, status, severity, score, hosts, first_alert, last_alert, alert_count, grouping_state, notes, created, updated)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
    ).get(...incidentValues(incident), now, now) as IncidentRow;
    return incidentOf(row);
  }

  async updateIncident(id: number, incident: IncidentRecord): Promise<StoredIncident | undefined> {
    const row = this.statement(
      `UPDATE incidents SET title = ?, status = ?, severity = ?, score = ?, hosts = ?, first_alert = ?, last_alert = ?, alert_count = ?,
       grouping_state = ?, notes = ?, updated = ? WHERE id = ? RETURNING *`,
    ).get(...incidentValues(incident), Date.now(), id) as IncidentRow | undefined;
    return row && incidentOf(row);
  }

  async getIncident(id: number): Promise<StoredIncident | undefined> {
    const row = this.statement('SELECT * FROM incidents WHERE id = ?').get(id) as IncidentRow | undefined;
    return row && incidentOf(row);
  }

  async listIncidents(query: IncidentQuery): Promise<StoredIncident[]> {
    const where = new Where(() => '?');
    if (query.status !== undefined) where.and(`status = ${where.param(query.status)}`);
    if (query.host !== undefined)
      where.and(`EXISTS (SELECT 1 FROM json_each(incidents.hosts) AS host WHERE host.value = ${where.param(query.host)})`);
    if (query.activeSince !== undefined) where.and(`last_alert >= ${where.param(query.activeSince)}`);
    if (query.before !== undefined) {
      const [last, id] = checkedIncidentKeyset(query.before);
      where.and(`(last_alert, id) < (${where.param(last)}, ${where.param(id)})`);
    }
    const sql = `SELECT * FROM incidents${where.sql} ORDER BY last_alert DESC, id DESC LIMIT ${where.param(checkedLimit(query.limit))}`;
    return (this.statement(sql).all(...where.values) as IncidentRow[]).map(incidentOf);
  }

  async incidentCounts(): Promise<IncidentCount[]> {
    const sql = 'SELECT status, severity, count(*) AS count FROM incidents GROUP BY status, severity ORDER BY status, severity';
    return this.statement(sql).all() as IncidentCount[];
  }

  async createToken(token: TokenRecord): Promise<StoredToken> {
    const sql = 'INSERT INTO tokens (name, role, hash, created) VALUES (?, ?, ?, ?) RETURNING *';
    return this.statement(sql).get(token.name, token.role, token.hash, Date.now()) as StoredToken;
  }

  async findToken(hash: string): Promise<StoredToken | undefined> {
    return this.statement('SELECT * FROM tokens WHERE hash = ? AND revoked IS NULL').get(hash) as StoredToken | undefined;
  }

  async listTokens(): Promise<StoredToken[]> {
    return this.statement('SELECT * FROM tokens ORDER BY id').all() as StoredToken[];
  }

  async revokeToken(id: number): Promise<boolean> {
    return this.statement('UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL').run(Date.now(), id).changes > 0;
  }

  async appendAudit(record: AuditRecord): Promise<AuditEntry> {
    // IMMEDIATE takes the write lock before reading the chain head, so another process cannot append in between.
    return this.appendAuditTransaction.immediate(record);
  }

  private insertAudit(record: AuditRecord): AuditEntry {
    const head = this.statement('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
    const entry = nextAuditEntry(head, record);
    this.statement('INSERT INTO audit (seq, time, actor, action, target, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
      ...[entry.seq, entry.time, entry.actor, entry.action, entry.target, JSON.stringify(entry.details), entry.prevHash, entry.hash],
    );
    return entry;
  }

  async listAudit(options: { afterSeq?: number; limit: number }): Promise<AuditEntry[]> {
    const sql = 'SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?';
    return (this.statement(sql).all(options.afterSeq ?? 0, checkedLimit(options.limit)) as AuditRow[]).map(auditOf);
  }

  async putRecord<T>(kind: string, record: { key?: string | null; tag?: string | null; body: T }): Promise<StoredRecord<T>> {
    const now = Date.now();
    const sql = 'INSERT INTO records (kind, key, tag, body, version, created, updated) VALUES (?, ?, ?, ?, 1, ?, ?) RETURNING *';
    try {
      return recordOf<T>(
        this.statement(sql).get(kind, record.key ?? null, record.tag ?? null, JSON.stringify(record.body), now, now) as RecordRow,
      );
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new DuplicateKeyError(kind, String(record.key));
      throw error;
    }
  }

  async getRecord<T>(kind: string, id: number): Promise<StoredRecord<T> | undefined> {
    const row = this.statement('SELECT * FROM records WHERE kind = ? AND id = ?').get(kind, id) as RecordRow | undefined;
    return row && recordOf<T>(row);
  }

  async findRecord<T>(kind: string, key: string): Promise<StoredRecord<T> | undefined> {
    const row = this.statement('SELECT * FROM records WHERE kind = ? AND key = ?').get(kind, key) as RecordRow | undefined;
    return row && recordOf<T>(row);
  }

  async updateRecord<T>(
    kind: string,
    id: number,
    body: T,
    options: { expectVersion?: number; tag?: string | null } = {},
  ): Promise<StoredRecord<T> | undefined> {
    const sql =
      'UPDATE records SET body = ?, tag = CASE WHEN ? THEN ? ELSE tag END, version = version + 1, updated = ? ' +
      'WHERE kind = ? AND id = ? AND (? IS NULL OR version = ?) RETURNING *';
    const expect = options.expectVersion ?? null;
    const setTag = options.tag !== undefined ? 1 : 0;
    const row = this.statement(sql).get(JSON.stringify(body), setTag, options.tag ?? null, Date.now(), kind, id, expect, expect) as
      RecordRow | undefined;
    return row && recordOf<T>(row);
  }

  async listRecords<T>(kind: string, query: RecordQuery): Promise<StoredRecord<T>[]> {
    const where = new Where(() => '?');
    recordConditions(where, kind, query);
    const sql = `SELECT * FROM records${where.sql} ORDER BY id ${idOrder(query.order)} LIMIT ${checkedLimit(query.limit)}`;
    return (this.statement(sql).all(...where.values) as RecordRow[]).map((row) => recordOf<T>(row));
  }

  async deleteRecord(kind: string, id: number): Promise<boolean> {
    return this.statement('DELETE FROM records WHERE kind = ? AND id = ?').run(kind, id).changes > 0;
  }

  async getMeta(key: string): Promise<string | undefined> {
    const row = this.statement('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.statement('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  async prune(policy: RetentionPolicy): Promise<number> {
    let deleted = 0;
    if (policy.before !== undefined) {
      deleted += await this.deleteInBatches('SELECT id FROM events WHERE time < ? LIMIT ?', [storedMs(policy.before, 'prune')], Infinity);
    }
    if (policy.maxBytes !== undefined) {
      deleted += await pruneToSize(policy.maxBytes, {
        measure: async () => ({ bytes: this.bytes(), events: this.eventCount() }),
        deleteOldest: (count) => this.deleteInBatches('SELECT id FROM events ORDER BY id LIMIT ?', [], count),
      });
    }
    // Hands the freed pages back to the file system (auto_vacuum=INCREMENTAL keeps them until asked).
    if (deleted > 0) this.db.pragma('incremental_vacuum');
    return deleted;
  }

  /** Deletes up to `count` events that `selectIds` (its last parameter is the batch size) picks, a batch per transaction. */
  private async deleteInBatches(selectIds: string, values: unknown[], count: number): Promise<number> {
    const remove = this.statement(`DELETE FROM events WHERE id IN (${selectIds})`);
    let deleted = 0;
    while (deleted < count) {
      const changes = remove.run(...values, Math.min(PRUNE_BATCH, count - deleted)).changes;
      deleted += changes;
      if (changes < PRUNE_BATCH) break;
      await nextTurn();
    }
    return deleted;
  }

  async stats(): Promise<StoreStats> {
    const counts = this.statement(
      `SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM alerts) AS alerts, (SELECT count(*) FROM incidents) AS incidents,
              (SELECT min(time) FROM events) AS oldestEvent, (SELECT max(time) FROM events) AS newestEvent`,
    ).get() as Omit<StoreStats, 'bytes'>;
    return { ...counts, bytes: this.bytes() };
  }

  /** Pages in use (free pages awaiting incremental vacuum do not count): exact, and it drops as soon as rows go. */
  private bytes(): number {
    const sql =
      'SELECT (page_count - freelist_count) * page_size AS bytes FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()';
    return (this.statement(sql).get() as { bytes: number }).bytes;
  }

  private eventCount(): number {
    return (this.statement('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  }

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      if (this.statements.size >= STATEMENT_CACHE_SIZE) this.statements.clear();
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

interface EventRow {
  id: number;
  time: number;
  received: number;
  host: string | null;
  format: string;
  channel: string | null;
  event_id: number | null;
  origin: string | null;
  fields: string;
}

function eventOf(row: EventRow): StoredEvent {
  const { id, time, received, host, format, channel, origin } = row;
  return { id, time, received, host, format, channel, eventId: row.event_id, origin, fields: JSON.parse(row.fields) };
}

interface AlertRow {
  id: number;
  dedup_key: string;
  kind: AlertKind;
  rule_id: string;
  rule_title: string;
  level: string;
  timestamp: number;
  computer: string | null;
  event_ids: string;
  matched: string;
  tags: string;
  details: string;
  incident_id: number | null;
  created: number;
}

function alertOf(row: AlertRow): StoredAlert {
  return {
    id: row.id,
    dedupKey: row.dedup_key,
    kind: row.kind,
    ruleId: row.rule_id,
    ruleTitle: row.rule_title,
    level: row.level,
    timestamp: row.timestamp,
    computer: row.computer,
    eventIds: JSON.parse(row.event_ids),
    matched: JSON.parse(row.matched),
    tags: JSON.parse(row.tags),
    details: JSON.parse(row.details),
    incidentId: row.incident_id,
    created: row.created,
  };
}

interface IncidentRow {
  id: number;
  title: string;
  status: IncidentStatus;
  severity: string;
  score: number;
  hosts: string;
  first_alert: number;
  last_alert: number;
  alert_count: number;
  grouping_state: string;
  notes: string;
  created: number;
  updated: number;
}

/** The incident's columns from title to notes, in table order. */
function incidentValues(incident: IncidentRecord): unknown[] {
  const { title, status, severity, score, alertCount } = incident;
  const [first, last] = checkedIncidentTimes(incident);
  const [hosts, grouping, notes] = [JSON.stringify(incident.hosts), JSON.stringify(incident.grouping), JSON.stringify(incident.notes)];
  return [title, status, severity, score, hosts, first, last, alertCount, grouping, notes];
}

function incidentOf(row: IncidentRow): StoredIncident {
  return {
    id: row.id,
    title: row.title,
    status: row.status,
    severity: row.severity,
    score: row.score,
    hosts: JSON.parse(row.hosts),
    first: row.first_alert,
    last: row.last_alert,
    alertCount: row.alert_count,
    grouping: JSON.parse(row.grouping_state),
    notes: JSON.parse(row.notes),
    created: row.created,
    updated: row.updated,
  };
}

interface AuditRow {
  seq: number;
  time: number;
  actor: string;
  action: string;
  target: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

function auditOf(row: AuditRow): AuditEntry {
  const { seq, time, actor, action, target, hash } = row;
  return { seq, time, actor, action, target, details: JSON.parse(row.details), prevHash: row.prev_hash, hash };
}

/** `id` is in a list of ids, bound as one JSON array: one statement shape whatever the list's length. */
function idInList(where: Where, ids: readonly number[]): string {
  return `id IN (SELECT value FROM json_each(${where.param(JSON.stringify(ids))}))`;
}

interface RecordRow {
  kind: string;
  id: number;
  key: string | null;
  tag: string | null;
  body: string;
  version: number;
  created: number;
  updated: number;
}

function recordOf<T>(row: RecordRow): StoredRecord<T> {
  return { ...row, body: JSON.parse(row.body) as T };
}
