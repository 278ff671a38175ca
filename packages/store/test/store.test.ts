/**
 * One suite, run against both backends: SQLite in a temporary directory and PostgreSQL in a fresh
 * schema per store (dropped afterwards). PostgreSQL is skipped, saying why, only when unreachable.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import {
  DuplicateKeyError,
  openStore,
  verifyAuditChain,
  type AlertRecord,
  type EventRecord,
  type IncidentRecord,
  type Store,
} from '../src/index.js';

const POSTGRES_URL = process.env.FIREBREAK_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const BASE_TIME = Date.UTC(2024, 0, 1);

interface Backend {
  name: 'sqlite' | 'postgres';
  /** A URL where openStore makes a new, empty store. */
  freshUrl(): string;
  /** Runs SQL on a store's tables behind its back (to tamper with them). */
  execute(url: string, sql: string): Promise<void>;
  /** Removes what the stores left behind. */
  cleanup(): Promise<void>;
}

function sqliteBackend(): Backend {
  const dir = mkdtempSync(join(tmpdir(), 'firebreak-store-'));
  let count = 0;
  return {
    name: 'sqlite',
    freshUrl: () => `sqlite:${join(dir, `store-${++count}.db`)}`,
    async execute(url, sql) {
      const db = new Database(url.slice('sqlite:'.length));
      db.exec(sql);
      db.close();
    },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresBackend(): Backend {
  const prefix = `fb_test_${randomBytes(4).toString('hex')}`;
  const schemas: string[] = [];
  const withClient = async (work: (client: pg.Client) => Promise<unknown>): Promise<void> => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      await work(client);
    } finally {
      await client.end();
    }
  };
  return {
    name: 'postgres',
    freshUrl() {
      schemas.push(`${prefix}_${schemas.length + 1}`);
      return `${POSTGRES_URL}?schema=${schemas[schemas.length - 1]}`;
    },
    execute: (url, sql) => withClient((client) => client.query(`SET search_path TO ${new URL(url).searchParams.get('schema')}; ${sql}`)),
    cleanup: () => withClient((client) => client.query(schemas.map((schema) => `DROP SCHEMA IF EXISTS ${schema} CASCADE;`).join('\n'))),
  };
}

/** Why the PostgreSQL suite cannot run, or false when the server answers. */
async function postgresSkip(): Promise<string | false> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.end();
    return false;
  } catch (error) {
    return `PostgreSQL unreachable at ${POSTGRES_URL}: ${(error as Error).message}`;
  }
}

function event(n: number, overrides: Partial<EventRecord> = {}): EventRecord {
  return {
    time: BASE_TIME + n * 1000,
    host: `host-${n % 3}`,
    format: 'evtx-json',
    channel: 'Security',
    eventId: 4688,
    origin: `upload:test.json#${n}`,
    fields: { n, Image: `C:\\Windows\\proc${n}.exe`, Elevated: n % 2 === 0 },
    ...overrides,
  };
}

function alert(key: string, overrides: Partial<AlertRecord> = {}): AlertRecord {
  return {
    dedupKey: key,
    kind: 'sigma',
    ruleId: 'rule-a',
    ruleTitle: 'Rule A',
    level: 'high',
    timestamp: BASE_TIME,
    computer: 'host-0',
    eventIds: [1, 2],
    matched: { Image: 'C:\\x.exe' },
    tags: ['attack.t1059'],
    details: { count: 2 },
    ...overrides,
  };
}

function incident(overrides: Partial<IncidentRecord> = {}): IncidentRecord {
  return {
    title: 'Credential dumping on host-0',
    status: 'new',
    severity: 'high',
    score: 72.5,
    hosts: ['host-0'],
    first: BASE_TIME,
    last: BASE_TIME + 60_000,
    alertCount: 2,
    grouping: { keys: ['host-0'], indicators: { ip: ['10.0.0.1'] } },
    notes: [],
    ...overrides,
  };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function storeSuite(backend: Backend): void {
  const open: Store[] = [];
  const fresh = async (): Promise<{ store: Store; url: string }> => {
    const url = backend.freshUrl();
    const store = await openStore({ url, dataDir: tmpdir() });
    open.push(store);
    return { store, url };
  };
  const close = async (store: Store): Promise<void> => {
    open.splice(open.indexOf(store), 1);
    await store.close();
  };
  after(async () => {
    for (const store of open) await store.close();
    await backend.cleanup();
  });

  test('appended events come back as stored, with ids increasing in the order given', async () => {
    const { store } = await fresh();
    assert.deepEqual(await store.appendEvents([]), []);
    const first = await store.appendEvents(range(1, 500).map((n) => event(n)));
    const second = await store.appendEvents([event(501), event(502)]);
    const ids = [...first, ...second];
    assert.equal(ids.length, 502);
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], `id ${ids[i]} after ${ids[i - 1]}`);
    const stored = await store.searchEvents({ limit: 1000 });
    assert.deepEqual(
      stored.map((e) => e.id),
      ids,
    );
    const { id, received, ...record } = stored[41];
    assert.equal(id, ids[41]);
    assert.ok(Math.abs(received - Date.now()) < 60_000);
    assert.deepEqual(record, event(42));
  });

  test('search: time bounds (inclusive), host, id bounds, ids, order and limit', async () => {
    const { store } = await fresh();
    const ids = await store.appendEvents(range(1, 30).map((n) => event(n)));
    const numbers = async (query: Parameters<Store['searchEvents']>[0]): Promise<unknown[]> =>
      (await store.searchEvents(query)).map((e) => e.fields.n);
    assert.deepEqual(await numbers({ from: BASE_TIME + 5000, to: BASE_TIME + 8000, limit: 100 }), [5, 6, 7, 8]);
    assert.deepEqual(await numbers({ host: 'host-1', to: BASE_TIME + 10_000, limit: 100 }), [1, 4, 7, 10]);
    assert.deepEqual(await numbers({ afterId: ids[26], limit: 100 }), [28, 29, 30]);
    assert.deepEqual(await numbers({ beforeId: ids[3], order: 'desc', limit: 2 }), [3, 2]);
    assert.deepEqual(await numbers({ order: 'desc', limit: 3 }), [30, 29, 28]);
    assert.deepEqual(await numbers({ ids: [ids[9], ids[0], ids[19]], limit: 100 }), [1, 10, 20]);
    assert.deepEqual(await numbers({ ids: [], limit: 100 }), []);
    assert.deepEqual(await numbers({ limit: 0 }), []);
    await assert.rejects(store.searchEvents({ limit: -1 }), /limit must be a non-negative integer/);
  });

  test('search: fields compared as text, whatever their names hold', async () => {
    const { store } = await fresh();
    const odd = `Name "with" quotes.and.dots'$[0]\\`;
    await store.appendEvents([
      event(1, { fields: { [odd]: 'yes', EventID: 4688, Elevated: true, Empty: null, Image: 'a.exe' } }),
      event(2, { fields: { 'Name "with" quotes': 'yes', EventID: '4688', Elevated: false, Image: 'A.EXE' } }),
      event(3, { fields: { Name: { with: 'yes' }, EventID: 4624, Image: "a.exe' OR '1'='1" } }),
    ]);
    const matching = async (fields: Record<string, string>): Promise<number[]> =>
      (await store.searchEvents({ fields, limit: 10 })).map((e) => (e.time - BASE_TIME) / 1000);
    assert.deepEqual(await matching({ [odd]: 'yes' }), [1]);
    assert.deepEqual(await matching({ 'Name "with" quotes': 'yes' }), [2]);
    assert.deepEqual(await matching({ EventID: '4688' }), [1, 2], 'a number matches its text');
    assert.deepEqual(await matching({ Elevated: 'true' }), [1]);
    assert.deepEqual(await matching({ Elevated: 'false' }), [2]);
    assert.deepEqual(await matching({ Empty: 'null' }), [], 'JSON null is no value');
    assert.deepEqual(await matching({ Image: 'a.exe' }), [1], 'equality is case-sensitive');
    assert.deepEqual(await matching({ Image: 'a.exe', EventID: '4688' }), [1]);
    assert.deepEqual(await matching({ Image: "a.exe' OR '1'='1" }), [3]);
    assert.deepEqual(await matching({ 'Name.with': 'yes' }), [], 'a dot is part of the name, not a path');
  });

  test('search: indexed fields (DestinationIp, QueryName, ECS names) found by value among many events', async () => {
    const { store } = await fresh();
    const many = Array.from({ length: 500 }, (_, i) => ({
      ...event(i),
      fields: {
        EventID: 22,
        QueryName: i === 250 ? 'akamaicontainer.com' : `host-${i}.example`,
        'dns.question.name': `q${i}`,
        DestinationIp: `10.0.0.${i % 200}`,
      },
    }));
    await store.appendEvents(many);
    const byName = await store.searchEvents({ fields: { QueryName: 'akamaicontainer.com' }, limit: 10 });
    assert.deepEqual(
      byName.map((e) => e.fields.QueryName),
      ['akamaicontainer.com'],
    );
    assert.equal((await store.searchEvents({ fields: { 'dns.question.name': 'q7' }, limit: 10 })).length, 1);
    assert.equal((await store.searchEvents({ fields: { DestinationIp: '10.0.0.7' }, limit: 10 })).length, 3);
    assert.equal((await store.searchEvents({ fields: { DestinationIp: '10.0.0.7', QueryName: 'host-207.example' }, limit: 10 })).length, 1);
    assert.equal((await store.searchEvents({ fields: { QueryName: "x' OR '1'='1" }, limit: 10 })).length, 0);
  });

  test('text a database may refuse (NUL, lone surrogates) is stored with the rest of its batch', async () => {
    const { store } = await fresh();
    const hostile = event(2, { host: 'ho\0st', fields: { CommandLine: 'a\0b', Broken: 'x\uD800y', 'Key\0': 1 } });
    const ids = await store.appendEvents([event(1), hostile, event(3)]);
    const stored = await store.searchEvents({ ids, limit: 10 });
    assert.deepEqual(
      stored.map((e) => e.fields.n),
      [1, undefined, 3],
    );
    const expected =
      backend.name === 'sqlite'
        ? { host: 'ho\0st', fields: { CommandLine: 'a\0b', Broken: 'x\uD800y', 'Key\0': 1 } }
        : { host: 'ho\u2400st', fields: { CommandLine: 'a\u2400b', Broken: 'x\uFFFDy', 'Key\u2400': 1 } };
    assert.deepEqual({ host: stored[1].host, fields: stored[1].fields }, expected);
  });

  test('a batch with a bad event is refused whole, naming the event, and the store carries on', async () => {
    const { store } = await fresh();
    await assert.rejects(store.appendEvents([event(1), event(2, { time: Number.NaN })]), /event 1: time must be a finite number/);
    await assert.rejects(store.appendEvents([event(1, { eventId: 1.5 })]), /event 0: eventId must be a 32-bit integer/);
    assert.equal((await store.stats()).events, 0);
    assert.equal((await store.appendEvents([event(3)])).length, 1);
  });

  test('alerts: one per dedup key, a repeated key stores nothing and returns nothing', async () => {
    const { store } = await fresh();
    const stored = await store.insertAlerts([
      alert('k1'),
      alert('k2', { ruleId: 'rule-b' }),
      alert('k1', { ruleTitle: 'again in the batch' }),
    ]);
    assert.deepEqual(
      stored.map((a) => a.dedupKey),
      ['k1', 'k2'],
    );
    assert.ok(stored[1].id > stored[0].id);
    const { id, created, incidentId, ...record } = stored[0];
    assert.deepEqual(record, alert('k1'));
    assert.equal(incidentId, null);
    assert.ok(id > 0 && created > 0);
    assert.deepEqual(await store.insertAlerts([alert('k1')]), []);
    assert.deepEqual(await store.insertAlerts([alert('k2'), alert('k3')]).then((a) => a.map((x) => x.dedupKey)), ['k3']);
    assert.equal((await store.listAlerts({ limit: 10 })).length, 3);
  });

  test('alerts: every list filter, and attaching alerts to an incident', async () => {
    const { store } = await fresh();
    const stored = await store.insertAlerts([
      alert('a', { timestamp: BASE_TIME + 1000, computer: 'web-1', level: 'low' }),
      alert('b', { timestamp: BASE_TIME + 2000, ruleId: 'rule-b', kind: 'correlation' }),
      alert('c', { timestamp: BASE_TIME + 3000, computer: null, kind: 'ioc', level: 'critical' }),
    ]);
    const keys = async (query: Partial<Parameters<Store['listAlerts']>[0]>): Promise<string[]> =>
      (await store.listAlerts({ limit: 10, ...query })).map((a) => a.dedupKey);
    assert.deepEqual(await keys({ from: BASE_TIME + 2000 }), ['b', 'c']);
    assert.deepEqual(await keys({ to: BASE_TIME + 2000 }), ['a', 'b']);
    assert.deepEqual(await keys({ computer: 'web-1' }), ['a']);
    assert.deepEqual(await keys({ ruleId: 'rule-b' }), ['b']);
    assert.deepEqual(await keys({ level: 'critical' }), ['c']);
    assert.deepEqual(await keys({ kind: 'correlation' }), ['b']);
    assert.deepEqual(await keys({ ids: [stored[2].id, stored[0].id] }), ['a', 'c']);
    assert.deepEqual(await keys({ afterId: stored[0].id }), ['b', 'c']);
    assert.deepEqual(await keys({ beforeId: stored[2].id, order: 'desc', limit: 1 }), ['b']);
    const { id: incidentId } = await store.createIncident(incident());
    await store.setAlertIncident([stored[0].id, stored[2].id], incidentId);
    assert.deepEqual(await keys({ incidentId }), ['a', 'c']);
    assert.equal((await store.listAlerts({ limit: 10, ids: [stored[1].id] }))[0].incidentId, null);
    await assert.rejects(store.setAlertIncident([stored[1].id], incidentId + 1000), /foreign key/i);
  });

  test('incidents: create, replace, get, and list by status, host and activity', async () => {
    const { store } = await fresh();
    const created = await store.createIncident(incident());
    assert.equal(created.updated, created.created);
    const { id, created: createdAt, updated, ...record } = created;
    assert.deepEqual(record, incident());
    assert.deepEqual(await store.getIncident(id), created);
    assert.equal(await store.getIncident(id + 1000), undefined);

    const note = { time: BASE_TIME + 120_000, author: 'alice', text: 'isolated the host' };
    const changed = incident({ status: 'contained', hosts: ['host-0', 'db-1'], last: BASE_TIME + 90_000, alertCount: 3, notes: [note] });
    const replaced = await store.updateIncident(id, changed);
    assert.deepEqual({ ...replaced, updated: 0 }, { ...changed, id, created: createdAt, updated: 0 });
    assert.ok(replaced!.updated >= updated);
    assert.deepEqual(await store.getIncident(id), replaced);
    assert.equal(await store.updateIncident(id + 1000, changed), undefined);

    const older = await store.createIncident(
      incident({ title: 'old', hosts: ['host-9'], first: BASE_TIME - 10_000, last: BASE_TIME - 5000 }),
    );
    const titles = async (query: Partial<Parameters<Store['listIncidents']>[0]>): Promise<string[]> =>
      (await store.listIncidents({ limit: 10, ...query })).map((i) => i.title);
    assert.deepEqual(await titles({}), [changed.title, 'old'], 'most recently active first');
    assert.deepEqual(await titles({ status: 'contained' }), [changed.title]);
    assert.deepEqual(await titles({ status: 'new' }), ['old']);
    assert.deepEqual(await titles({ host: 'db-1' }), [changed.title]);
    assert.deepEqual(await titles({ host: 'db' }), [], 'a host matches whole');
    assert.deepEqual(await titles({ activeSince: BASE_TIME }), [changed.title]);
    assert.deepEqual(await titles({ limit: 1 }), [changed.title]);
    await assert.rejects(store.createIncident(incident({ status: 'closed' as never })), /check constraint/i);
    assert.equal((await store.getIncident(older.id))?.title, 'old');
  });

  test('incidents: keyset paging by (last, id) lists every incident once, ties on last included', async () => {
    const { store } = await fresh();
    // Four incidents share each `last`, so pages split ties and only the id tells them apart.
    for (const n of range(1, 23))
      await store.createIncident(
        incident({ title: `i${n}`, status: n % 3 === 0 ? 'resolved' : 'new', last: BASE_TIME + Math.floor(n / 4) * 1000 }),
      );
    const all = await store.listIncidents({ limit: 100 });
    assert.equal(all.length, 23);
    const pages = async (query: { status?: 'resolved' }): Promise<string[][]> => {
      const out: string[][] = [];
      let before: { last: number; id: number } | undefined;
      for (;;) {
        const page = await store.listIncidents({ ...query, before, limit: 5 });
        if (page.length > 0) out.push(page.map((i) => i.title));
        if (page.length < 5) return out;
        before = { last: page.at(-1)!.last, id: page.at(-1)!.id };
      }
    };
    const paged = await pages({});
    assert.deepEqual(
      paged.map((page) => page.length),
      [5, 5, 5, 5, 3],
    );
    assert.deepEqual(
      paged.flat(),
      all.map((i) => i.title),
    );
    const resolved = (await store.listIncidents({ status: 'resolved', limit: 100 })).map((i) => i.title);
    assert.equal(resolved.length, 7);
    assert.deepEqual((await pages({ status: 'resolved' })).flat(), resolved);
    const [first, second] = all;
    assert.equal(first!.last, second!.last, 'the newest two share their last alert');
    assert.deepEqual(
      (await store.listIncidents({ before: { last: first!.last, id: first!.id }, limit: 1 })).map((i) => i.id),
      [second!.id],
    );
    assert.deepEqual(await store.listIncidents({ before: { last: BASE_TIME, id: 1 }, limit: 10 }), []);
    await assert.rejects(store.listIncidents({ before: { last: Number.NaN, id: 1 }, limit: 10 }), /before\.last/);
    await assert.rejects(store.listIncidents({ before: { last: BASE_TIME, id: 1.5 }, limit: 10 }), /before\.id/);
  });

  test('incidents: counted by status and severity', async () => {
    const { store } = await fresh();
    assert.deepEqual(await store.incidentCounts(), []);
    const made: [IncidentRecord['status'], string][] = [
      ['new', 'high'],
      ['new', 'high'],
      ['new', 'critical'],
      ['investigating', 'high'],
      ['resolved', 'low'],
      ['resolved', 'low'],
      ['false_positive', 'medium'],
    ];
    for (const [status, severity] of made) await store.createIncident(incident({ status, severity }));
    const expected = new Map<string, number>();
    for (const [status, severity] of made) expected.set(`${status}/${severity}`, (expected.get(`${status}/${severity}`) ?? 0) + 1);
    const counts = await store.incidentCounts();
    assert.deepEqual(new Map(counts.map((c) => [`${c.status}/${c.severity}`, c.count])), expected);
    assert.ok(counts.every((c) => typeof c.count === 'number'));
  });

  test('alerts: counted per level in time buckets, from inclusive, to exclusive, empty buckets left out', async () => {
    const { store } = await fresh();
    const hour = 3_600_000;
    const from = BASE_TIME;
    const at: [offset: number, level: string][] = [
      [-1, 'high'], // before the first bucket
      [0, 'high'], // on the first bucket's start
      [hour - 1, 'high'],
      [hour - 1, 'critical'],
      [hour, 'low'], // the second bucket's start
      [3 * hour + 5, 'critical'],
      [3 * hour + 6, 'critical'],
      [4 * hour - 1, 'medium'],
      [4 * hour, 'critical'], // on `to`: left out
    ];
    await store.insertAlerts(at.map(([offset, level], i) => alert(`h${i}`, { timestamp: from + offset, level })));
    const rows = await store.alertHistogram({ from, to: from + 4 * hour, bucketMs: hour });
    const sorted = [...rows].sort((a, b) => a.bucket - b.bucket || (a.level < b.level ? -1 : 1));
    assert.deepEqual(rows, sorted, 'by bucket, then level');
    assert.deepEqual(sorted, [
      { bucket: from, level: 'critical', count: 1 },
      { bucket: from, level: 'high', count: 2 },
      { bucket: from + hour, level: 'low', count: 1 },
      { bucket: from + 3 * hour, level: 'critical', count: 2 },
      { bucket: from + 3 * hour, level: 'medium', count: 1 },
    ]);
    // Buckets start at `from` whatever it is, not at multiples of the bucket size.
    assert.deepEqual(await store.alertHistogram({ from: from + 7, to: from + hour + 7, bucketMs: hour }), [
      { bucket: from + 7, level: 'critical', count: 1 },
      { bucket: from + 7, level: 'high', count: 1 },
      { bucket: from + 7, level: 'low', count: 1 },
    ]);
    assert.deepEqual(await store.alertHistogram({ from: from + 10 * hour, to: from + 20 * hour, bucketMs: hour }), []);
    await assert.rejects(store.alertHistogram({ from, to: from + hour, bucketMs: 0 }), /bucketMs/);
  });

  test('tokens: found by hash until revoked, listed with their revocation', async () => {
    const { store } = await fresh();
    const token = await store.createToken({ name: 'ci', role: 'analyst', hash: 'a'.repeat(64) });
    assert.deepEqual(
      { ...token, created: 0 },
      { id: token.id, name: 'ci', role: 'analyst', hash: 'a'.repeat(64), created: 0, revoked: null },
    );
    assert.deepEqual(await store.findToken('a'.repeat(64)), token);
    assert.equal(await store.findToken('b'.repeat(64)), undefined);
    await assert.rejects(store.createToken({ name: 'copy', role: 'admin', hash: 'a'.repeat(64) }), /unique/i);
    await store.createToken({ name: 'admin', role: 'admin', hash: 'c'.repeat(64) });
    assert.equal(await store.revokeToken(token.id), true);
    assert.equal(await store.revokeToken(token.id), false, 'already revoked');
    assert.equal(await store.revokeToken(token.id + 1000), false);
    assert.equal(await store.findToken('a'.repeat(64)), undefined);
    const listed = await store.listTokens();
    assert.deepEqual(
      listed.map((t) => [t.name, t.revoked !== null]),
      [
        ['ci', true],
        ['admin', false],
      ],
    );
  });

  test('audit: 50 concurrent appends from two store instances make one verifiable chain', async () => {
    const { store, url } = await fresh();
    const other = await openStore({ url, dataDir: tmpdir() });
    open.push(other);
    const appended = await Promise.all(
      range(1, 50).map((n) =>
        (n % 2 ? store : other).appendAudit({
          time: BASE_TIME + n,
          actor: `user-${n}`,
          action: 'incident.update',
          target: `incident/${n}`,
          details: { n, nested: { b: 1, a: [n] } },
        }),
      ),
    );
    assert.deepEqual(
      appended.map((e) => e.seq).sort((a, b) => a - b),
      range(1, 50),
    );
    const entries = await store.listAudit({ limit: 100 });
    assert.deepEqual(
      entries.map((e) => e.seq),
      range(1, 50),
    );
    assert.deepEqual(verifyAuditChain(entries), { ok: true, count: 50 });
    assert.deepEqual(
      entries.find((e) => e.seq === appended[6].seq),
      appended[6],
      'what appendAudit returns is what is stored',
    );
    const firstPage = await store.listAudit({ limit: 20 });
    const secondPage = await store.listAudit({ afterSeq: 20, limit: 100 });
    assert.deepEqual(verifyAuditChain(secondPage, firstPage[19].hash), { ok: true, count: 30 });
  });

  test('audit: an entry changed or removed in the database is caught', async () => {
    const { store, url } = await fresh();
    for (const n of range(1, 6))
      await store.appendAudit({ time: BASE_TIME + n, actor: 'admin', action: 'token.create', target: null, details: {} });
    await backend.execute(url, "UPDATE audit SET actor = 'mallory' WHERE seq = 3");
    assert.deepEqual(verifyAuditChain(await store.listAudit({ limit: 10 })), {
      ok: false,
      seq: 3,
      reason: 'its content does not match its hash',
    });
    await backend.execute(url, 'DELETE FROM audit WHERE seq = 3');
    const verdict = verifyAuditChain(await store.listAudit({ limit: 10 }));
    assert.equal(verdict.ok, false);
    assert.equal(!verdict.ok && verdict.seq, 4);
  });

  test('meta: absent, set, replaced', async () => {
    const { store } = await fresh();
    assert.equal(await store.getMeta('detection.cursor'), undefined);
    await store.setMeta('detection.cursor', '17');
    await store.setMeta('detection.cursor', '42');
    assert.equal(await store.getMeta('detection.cursor'), '42');
  });

  test('records: unique keys per kind, tags, compare-and-set updates, listing and deletion', async () => {
    const { store } = await fresh();
    const a = await store.putRecord('agent', { key: 'a1', tag: 'online', body: { hostname: 'web-1', nul: 'x\u0000y' } });
    assert.equal(a.version, 1);
    assert.equal(typeof a.id, 'number');
    await assert.rejects(store.putRecord('agent', { key: 'a1', body: {} }), DuplicateKeyError);
    const other = await store.putRecord('action', { key: 'a1', tag: '7', body: { type: 'isolate' } });
    assert.notEqual(other.id, a.id, 'the same key in another kind is another record');
    assert.deepEqual((await store.findRecord<{ hostname: string }>('agent', 'a1'))?.body.hostname, 'web-1');
    assert.equal(await store.getRecord('action', a.id), undefined, 'ids are looked up within their kind');

    const updated = await store.updateRecord('agent', a.id, { hostname: 'web-2' }, { expectVersion: 1, tag: 'offline' });
    assert.equal(updated?.version, 2);
    assert.equal(updated?.tag, 'offline');
    assert.equal(await store.updateRecord('agent', a.id, { hostname: 'lost' }, { expectVersion: 1 }), undefined, 'stale version refused');
    const kept = await store.updateRecord('agent', a.id, { hostname: 'web-3' });
    assert.equal(kept?.tag, 'offline', 'the tag stays unless given');

    for (let i = 0; i < 5; i++) await store.putRecord('action', { tag: i % 2 ? 'odd' : 'even', body: { i } });
    const odd = await store.listRecords<{ i: number }>('action', { tag: 'odd', limit: 10, order: 'desc' });
    assert.deepEqual(
      odd.map((r) => r.body.i),
      [3, 1],
    );
    const page = await store.listRecords('action', { afterId: other.id, limit: 2 });
    assert.equal(page.length, 2);
    assert.equal(await store.deleteRecord('action', other.id), true);
    assert.equal(await store.deleteRecord('action', other.id), false);
    assert.equal((await store.listRecords('action', { limit: 10 })).length, 5);
  });

  test('stats: counts, time span and size', async () => {
    const { store } = await fresh();
    const empty = await store.stats();
    assert.deepEqual({ ...empty, bytes: 0 }, { events: 0, alerts: 0, incidents: 0, bytes: 0, oldestEvent: null, newestEvent: null });
    assert.ok(empty.bytes > 0);
    await store.appendEvents([event(5), event(2), event(9)]);
    await store.insertAlerts([alert('x')]);
    await store.createIncident(incident());
    const stats = await store.stats();
    assert.deepEqual(
      { ...stats, bytes: 0 },
      { events: 3, alerts: 1, incidents: 1, bytes: 0, oldestEvent: BASE_TIME + 2000, newestEvent: BASE_TIME + 9000 },
    );
  });

  test('prune by age deletes events before the time and leaves their alerts', async () => {
    const { store } = await fresh();
    await store.appendEvents(range(1, 100).map((n) => event(n)));
    await store.insertAlerts([alert('kept', { eventIds: [1] })]);
    assert.equal(await store.prune({ before: BASE_TIME + 51_000 }), 50);
    const stats = await store.stats();
    assert.equal(stats.events, 50);
    assert.equal(stats.oldestEvent, BASE_TIME + 51_000);
    assert.equal(stats.alerts, 1);
    assert.equal(await store.prune({ before: BASE_TIME + 51_000 }), 0);
  });

  test('prune by size deletes the earliest-stored events until the store fits', async () => {
    const { store } = await fresh();
    const padding = 'x'.repeat(2000);
    for (let batch = 0; batch < 10; batch++) {
      await store.appendEvents(range(batch * 200 + 1, batch * 200 + 200).map((n) => event(n, { fields: { n, padding } })));
    }
    const before = await store.stats();
    assert.equal(await store.prune({ maxBytes: before.bytes * 2 }), 0, 'nothing to do when it fits');
    const maxBytes = Math.floor(before.bytes / 2);
    const deleted = await store.prune({ maxBytes });
    const after = await store.stats();
    assert.ok(deleted > 0 && deleted < 2000, `deleted ${deleted}`);
    assert.equal(after.events, 2000 - deleted);
    assert.equal(after.newestEvent, before.newestEvent);
    assert.equal(after.oldestEvent, BASE_TIME + (deleted + 1) * 1000, 'the earliest-stored went first');
    if (backend.name === 'sqlite') assert.ok(after.bytes <= maxBytes, `${after.bytes} bytes over ${maxBytes}`);
    // PostgreSQL keeps deleted rows' space for reuse: one round deletes the estimated share.
    else assert.ok(after.events <= Math.ceil((2000 * maxBytes) / before.bytes), `${after.events} events left`);
  });

  test('a reopened store has its data, and new ids continue after the old', async () => {
    const { store, url } = await fresh();
    const [first] = await store.appendEvents([event(1)]);
    await store.setMeta('k', 'v');
    await close(store);
    const reopened = await openStore({ url, dataDir: tmpdir() });
    open.push(reopened);
    assert.deepEqual(
      (await reopened.searchEvents({ limit: 10 })).map((e) => e.id),
      [first],
    );
    assert.equal(await reopened.getMeta('k'), 'v');
    const [next] = await reopened.appendEvents([event(2)]);
    assert.ok(next > first);
  });

  test('migrating again changes nothing', async () => {
    const { store } = await fresh();
    await store.appendEvents([event(1)]);
    await store.migrate();
    await store.migrate();
    assert.equal((await store.stats()).events, 1);
  });
}

describe('SQLite store', () => storeSuite(sqliteBackend()));

const skip = await postgresSkip();
describe('PostgreSQL store', { skip }, () => {
  if (!skip) storeSuite(postgresBackend());
});
