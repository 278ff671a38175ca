/**
 * SQLite schema, as numbered migrations: a migration, once released, is never edited; a change is a
 * new one. Times are integer ms since the epoch; JSON columns hold JSON text. AUTOINCREMENT never
 * reuses an id, even once pruning has deleted the highest ones, so "after id N" always means "newer".
 */
export const SQLITE_MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time INTEGER NOT NULL,
        received INTEGER NOT NULL,
        host TEXT,
        format TEXT NOT NULL,
        channel TEXT,
        event_id INTEGER,
        origin TEXT,
        fields TEXT NOT NULL
      );
      CREATE INDEX events_time ON events (time);
      CREATE INDEX events_host_time ON events (host, time);
      CREATE INDEX events_event_id_channel ON events (event_id, channel);

      CREATE TABLE incidents (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        title TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('new', 'investigating', 'contained', 'resolved', 'false_positive')),
        severity TEXT NOT NULL,
        score REAL NOT NULL,
        hosts TEXT NOT NULL,
        first_alert INTEGER NOT NULL,
        last_alert INTEGER NOT NULL,
        alert_count INTEGER NOT NULL,
        grouping_state TEXT NOT NULL,
        notes TEXT NOT NULL,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL
      );
      CREATE INDEX incidents_last ON incidents (last_alert);
      CREATE INDEX incidents_status_last ON incidents (status, last_alert);

      CREATE TABLE alerts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dedup_key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        rule_title TEXT NOT NULL,
        level TEXT NOT NULL,
        timestamp INTEGER NOT NULL,
        computer TEXT,
        event_ids TEXT NOT NULL,
        matched TEXT NOT NULL,
        tags TEXT NOT NULL,
        details TEXT NOT NULL,
        incident_id INTEGER REFERENCES incidents (id),
        created INTEGER NOT NULL
      );
      CREATE INDEX alerts_timestamp ON alerts (timestamp);
      CREATE INDEX alerts_computer_timestamp ON alerts (computer, timestamp);
      CREATE INDEX alerts_rule_timestamp ON alerts (rule_id, timestamp);
      CREATE INDEX alerts_incident ON alerts (incident_id);

      CREATE TABLE tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('ingest', 'viewer', 'analyst', 'responder', 'admin')),
        hash TEXT NOT NULL UNIQUE,
        created INTEGER NOT NULL,
        revoked INTEGER
      );

      CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        time INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );

      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    sql: `
      CREATE TABLE records (
        kind TEXT NOT NULL,
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT,
        tag TEXT,
        body TEXT NOT NULL,
        version INTEGER NOT NULL,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL,
        UNIQUE (kind, key)
      );
      CREATE INDEX records_kind_tag ON records (kind, tag, id);
      CREATE INDEX records_kind_id ON records (kind, id);
    `,
  },
  {
    // Value look-ups on the fields retro-hunts search (records.ts INDEXED_FIELDS).
    version: 3,
    sql: `
      CREATE INDEX events_destination_ip ON events (json_extract(fields, '$.DestinationIp'));
      CREATE INDEX events_destination_hostname ON events (json_extract(fields, '$.DestinationHostname'));
      CREATE INDEX events_query_name ON events (json_extract(fields, '$.QueryName'));
      CREATE INDEX events_ecs_destination_ip ON events (json_extract(fields, '$."destination.ip"'));
      CREATE INDEX events_ecs_dns_question_name ON events (json_extract(fields, '$."dns.question.name"'));
    `,
  },
];
