/**
 * PostgreSQL schema, as numbered migrations (never edited once released; a change is a new one).
 * Tables are created in the store's schema (search_path). Times are bigint ms since the epoch.
 */
export const POSTGRES_MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        time bigint NOT NULL,
        received bigint NOT NULL,
        host text,
        format text NOT NULL,
        channel text,
        event_id integer,
        origin text,
        fields jsonb NOT NULL
      );
      CREATE INDEX events_time ON events (time);
      CREATE INDEX events_host_time ON events (host, time);
      CREATE INDEX events_event_id_channel ON events (event_id, channel);

      CREATE TABLE incidents (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        title text NOT NULL,
        status text NOT NULL CHECK (status IN ('new', 'investigating', 'contained', 'resolved', 'false_positive')),
        severity text NOT NULL,
        score double precision NOT NULL,
        hosts jsonb NOT NULL,
        first_alert bigint NOT NULL,
        last_alert bigint NOT NULL,
        alert_count integer NOT NULL,
        grouping_state jsonb NOT NULL,
        notes jsonb NOT NULL,
        created bigint NOT NULL,
        updated bigint NOT NULL
      );
      CREATE INDEX incidents_last ON incidents (last_alert);
      CREATE INDEX incidents_status_last ON incidents (status, last_alert);

      CREATE TABLE alerts (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        dedup_key text NOT NULL UNIQUE,
        kind text NOT NULL,
        rule_id text NOT NULL,
        rule_title text NOT NULL,
        level text NOT NULL,
        timestamp bigint NOT NULL,
        computer text,
        event_ids jsonb NOT NULL,
        matched jsonb NOT NULL,
        tags jsonb NOT NULL,
        details jsonb NOT NULL,
        incident_id bigint REFERENCES incidents (id),
        created bigint NOT NULL
      );
      CREATE INDEX alerts_timestamp ON alerts (timestamp);
      CREATE INDEX alerts_computer_timestamp ON alerts (computer, timestamp);
      CREATE INDEX alerts_rule_timestamp ON alerts (rule_id, timestamp);
      CREATE INDEX alerts_incident ON alerts (incident_id);

      CREATE TABLE tokens (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name text NOT NULL,
        role text NOT NULL CHECK (role IN ('ingest', 'viewer', 'analyst', 'responder', 'admin')),
        hash text NOT NULL UNIQUE,
        created bigint NOT NULL,
        revoked bigint
      );

      CREATE TABLE audit (
        seq bigint PRIMARY KEY,
        time bigint NOT NULL,
        actor text NOT NULL,
        action text NOT NULL,
        target text,
        details jsonb NOT NULL,
        prev_hash text NOT NULL,
        hash text NOT NULL
      );

      CREATE TABLE meta (
        key text PRIMARY KEY,
        value text NOT NULL
      );
    `,
  },
  {
    version: 2,
    sql: `
      CREATE TABLE records (
        kind text NOT NULL,
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        key text,
        tag text,
        body jsonb NOT NULL,
        version integer NOT NULL,
        created bigint NOT NULL,
        updated bigint NOT NULL,
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
      CREATE INDEX events_destination_ip ON events ((fields ->> 'DestinationIp'));
      CREATE INDEX events_destination_hostname ON events ((fields ->> 'DestinationHostname'));
      CREATE INDEX events_query_name ON events ((fields ->> 'QueryName'));
      CREATE INDEX events_ecs_destination_ip ON events ((fields ->> 'destination.ip'));
      CREATE INDEX events_ecs_dns_question_name ON events ((fields ->> 'dns.question.name'));
    `,
  },
];
