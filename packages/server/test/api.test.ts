/**
 * The API over real HTTP on loopback, on both stores: ingest with bad lines, limits, tokens and
 * roles, alerts with evidence, incidents and their workflow, audit, OpenAPI, the live feed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { backends, PG_URL, postgresSkip } from './support/backends.js';
import { eventually, ndjson, processEvent, startTestServer, type TestServer } from './support/server.js';

for (const backend of backends) {
  const skip = await backend.skip();
  describe(`API on ${backend.name}`, { skip }, () => {
    let t: TestServer;
    let storeUrl: string | undefined;
    before(async () => {
      storeUrl = backend.store();
      t = await startTestServer({ store: storeUrl, bodyLimit: 64 * 1024 });
    });
    after(async () => {
      await t?.close();
      await backend.cleanup(storeUrl);
    });

    test('health needs no token; everything else does', async () => {
      assert.equal((await t.request('GET', '/api/v1/health', { token: null })).status, 200);
      const missing = await t.request('GET', '/api/v1/alerts', { token: null });
      assert.equal(missing.status, 401);
      assert.match(missing.headers.get('www-authenticate') ?? '', /Bearer/);
      assert.equal((await t.request('GET', '/api/v1/alerts', { token: 'fbk_wrong' })).status, 401);
      assert.equal((await t.request('POST', '/_bulk', { token: null, body: '{}' })).status, 401);
    });

    test('roles are enforced per route', async () => {
      const { tokens } = t;
      assert.equal((await t.request('GET', '/api/v1/alerts', { token: tokens.ingest })).status, 403, 'ingest token cannot read');
      assert.equal(
        (await t.request('POST', '/api/v1/ingest?format=flat', { token: tokens.viewer, body: '{}' })).status,
        403,
        'viewer cannot ingest',
      );
      assert.equal((await t.request('GET', '/api/v1/alerts', { token: tokens.viewer })).status, 200);
      assert.equal((await t.request('GET', '/api/v1/tokens', { token: tokens.responder })).status, 403, 'only admin lists tokens');
      assert.equal((await t.request('GET', '/api/v1/audit', { token: tokens.analyst })).status, 403);
      assert.equal((await t.request('PATCH', '/api/v1/incidents/1', { token: tokens.viewer, body: { status: 'resolved' } })).status, 403);
    });

    test('tokens are stored hashed and can be revoked', async () => {
      const created = await t.request('POST', '/api/v1/tokens', { body: { name: 'temp', role: 'viewer' } });
      assert.equal(created.status, 201);
      assert.match(created.json.secret, /^fbk_/);
      const listed = await t.request('GET', '/api/v1/tokens');
      assert.ok(listed.json.tokens.every((tok: Record<string, unknown>) => !('secret' in tok) && !('hash' in tok)));
      assert.equal((await t.request('GET', '/api/v1/alerts', { token: created.json.secret })).status, 200);
      assert.equal((await t.request('DELETE', `/api/v1/tokens/${created.json.id}`)).status, 200);
      assert.equal((await t.request('GET', '/api/v1/alerts', { token: created.json.secret })).status, 401);
      assert.equal((await t.request('POST', '/api/v1/tokens', { body: { name: 'x', role: 'root' } })).status, 400);
    });

    test('a bad line is rejected with its number and the good lines around it are stored', async () => {
      const body = [
        JSON.stringify(processEvent(1, 'C:\\Users\\jdoe\\evil.exe', { Marker: 'batch-a' })),
        '{"EventID": 1, broken',
        JSON.stringify(processEvent(2, 'C:\\Windows\\notepad.exe', { Marker: 'batch-a' })),
        '[1, 2]',
      ].join('\n');
      const res = await t.request('POST', '/api/v1/ingest?format=flat', { token: t.tokens.ingest, body });
      assert.equal(res.status, 200);
      assert.equal(res.json.accepted, 2);
      assert.deepEqual(
        res.json.rejected.map((r: { line: number }) => r.line),
        [2, 4],
      );
      const stored = await t.request('GET', '/api/v1/events?field.Marker=batch-a', { token: t.tokens.viewer });
      assert.equal(stored.json.events.length, 2);
    });

    test('a line no store can hold is rejected alone, and the server goes on', async () => {
      const deep = `{"EventID": 1, "Marker": "deep", "x": ${'['.repeat(25_000)}${']'.repeat(25_000)}}`;
      const body = [
        JSON.stringify(processEvent(50, 'C:\\ok.exe', { Marker: 'deep' })),
        deep,
        JSON.stringify({ EventID: 2 ** 32, Marker: 'deep' }),
      ].join('\n');
      const res = await t.request('POST', '/api/v1/ingest?format=flat', { token: t.tokens.ingest, body });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.accepted, 2);
      assert.deepEqual(
        res.json.rejected.map((r: { line: number; error: string }) => [r.line, r.error.startsWith('cannot store this event')]),
        [[2, true]],
      );
      const { events } = (await t.request('GET', '/api/v1/events?field.Marker=deep', { token: t.tokens.viewer })).json;
      assert.deepEqual(
        events.map((e: { eventId: number | null }) => e.eventId),
        [null, 1],
        'an EventID past 32 bits stays in the fields only',
      );
      const again = await t.request('POST', '/api/v1/ingest?format=flat', {
        token: t.tokens.ingest,
        body: ndjson([processEvent(51, 'C:\\ok.exe')]),
      });
      assert.equal(again.json.accepted, 1);
    });

    test('an alert is raised with its evidence and placed in an incident', async () => {
      const res = await t.request('POST', '/api/v1/ingest?format=flat', {
        token: t.tokens.ingest,
        body: ndjson([processEvent(10, 'C:\\Users\\jdoe\\AppData\\evil.exe', { Marker: 'alert-1' })]),
      });
      assert.equal(res.json.accepted, 1);
      const alert = await eventually(async () => {
        const list = await t.request('GET', '/api/v1/alerts?rule_id=7f1c2d3e-0000-4000-8000-000000000001', { token: t.tokens.viewer });
        return list.json.alerts.find((a: { matched: Record<string, string> }) => a.matched.Image?.endsWith('AppData\\evil.exe'));
      });
      for (const key of ['id', 'rule_id', 'rule_title', 'level', 'kind', 'timestamp', 'computer', 'incident_id'])
        assert.ok(key in alert, key);
      assert.equal(alert.kind, 'sigma');
      assert.equal(alert.level, 'high');
      assert.equal(alert.computer, 'WS-TEST-01');
      const detail = await t.request('GET', `/api/v1/alerts/${alert.id}`, { token: t.tokens.viewer });
      assert.equal(detail.json.evidence[0].fields.Marker, 'alert-1');
      const incidentId = await eventually(async () => {
        const a = await t.request('GET', `/api/v1/alerts/${alert.id}`, { token: t.tokens.viewer });
        return a.json.incident_id ?? undefined;
      });
      const incident = await t.request('GET', `/api/v1/incidents/${incidentId}`, { token: t.tokens.viewer });
      assert.deepEqual(incident.json.hosts, ['WS-TEST-01']);
      assert.equal(incident.json.status, 'new');
      assert.ok(incident.json.alerts.some((a: { id: number }) => a.id === alert.id));
      const graph = await t.request('GET', `/api/v1/incidents/${incidentId}/graph`, { token: t.tokens.viewer });
      assert.ok(graph.json.nodes.some((n: { type: string; label: string }) => n.type === 'process' && /evil\.exe/i.test(n.label)));
      assert.ok(graph.json.edges.some((e: { type: string }) => e.type === 'spawned'));
      const timeline = await t.request('GET', `/api/v1/incidents/${incidentId}/timeline`, { token: t.tokens.viewer });
      assert.ok(timeline.json.entries.some((e: { alert?: unknown }) => e.alert));
    });

    test('incident workflow: analysts change status and write notes, each change is audited', async () => {
      await t.request('POST', '/api/v1/ingest?format=flat', {
        token: t.tokens.ingest,
        body: ndjson([processEvent(20, 'C:\\temp\\evil.exe')]),
      });
      const incident = await eventually(
        async () => (await t.request('GET', '/api/v1/incidents', { token: t.tokens.viewer })).json.incidents[0],
      );
      const bad = await t.request('PATCH', `/api/v1/incidents/${incident.id}`, { token: t.tokens.analyst, body: { status: 'closed' } });
      assert.equal(bad.status, 400);
      const moved = await t.request('PATCH', `/api/v1/incidents/${incident.id}`, {
        token: t.tokens.analyst,
        body: { status: 'investigating', note: 'looking at the parent process' },
      });
      assert.equal(moved.status, 200);
      assert.equal(moved.json.status, 'investigating');
      assert.equal(moved.json.notes.at(-1).author, 'analyst token');
      const noted = await t.request('POST', `/api/v1/incidents/${incident.id}/notes`, {
        token: t.tokens.analyst,
        body: { text: 'hash matches' },
      });
      assert.equal(noted.status, 201);
      assert.equal(noted.json.notes.length, 2);
      assert.equal(
        (await t.request('GET', '/api/v1/incidents?status=investigating', { token: t.tokens.viewer })).json.incidents[0].id,
        incident.id,
      );
      const audit = await t.request('GET', '/api/v1/audit?limit=1000');
      const actions = audit.json.entries.map((e: { action: string }) => e.action);
      assert.ok(actions.includes('incident.status') && actions.includes('incident.note') && actions.includes('token.create'));
      const verdict = await t.request('GET', '/api/v1/audit/verify');
      assert.deepEqual(verdict.json, { ok: true, count: audit.json.entries.length });
    });

    test('oversized and malformed requests get clear errors', async () => {
      const big = 'x'.repeat(70 * 1024);
      const res = await t.request('POST', '/api/v1/ingest?format=flat', { token: t.tokens.ingest, body: big });
      assert.equal(res.status, 413);
      assert.match(res.json.error, /larger than 65536 bytes/);
      assert.equal((await t.request('POST', '/api/v1/ingest?format=csv', { token: t.tokens.ingest, body: '{}' })).status, 400);
      assert.equal((await t.request('GET', '/api/v1/alerts?limit=0', { token: t.tokens.viewer })).status, 400);
      assert.equal((await t.request('GET', '/api/v1/nothing-here', { token: t.tokens.viewer })).status, 404);
      assert.equal((await t.request('DELETE', '/api/v1/alerts', { token: t.tokens.admin })).status, 405);
    });

    test('time bounds are read as event times are: ISO 8601 in UTC, or seconds or ms since the epoch', async () => {
      const at = Date.UTC(2026, 0, 1, 10, 0, 0);
      await t.request('POST', '/api/v1/ingest?format=flat', {
        token: t.tokens.ingest,
        body: ndjson([
          { '@timestamp': new Date(at).toISOString(), Marker: 'time-q' },
          { '@timestamp': new Date(at + 60_000).toISOString(), Marker: 'time-q' },
        ]),
      });
      const count = async (query: string): Promise<number> =>
        (await t.request('GET', `/api/v1/events?field.Marker=time-q&${query}`, { token: t.tokens.viewer })).json.events.length;
      assert.equal(await count('from=2026-01-01T10:00:00&to=2026-01-01T10:00:30'), 1);
      assert.equal(await count(`from=${at / 1000}&to=${at / 1000}`), 1);
      assert.equal(await count(`from=${at}`), 2);
      assert.equal((await t.request('GET', '/api/v1/events?from=yesterday', { token: t.tokens.viewer })).status, 400);
    });

    test('events are searched by a Sigma rule', async () => {
      await t.request('POST', '/api/v1/ingest?format=flat', {
        token: t.tokens.ingest,
        body: ndjson([
          processEvent(30, 'C:\\Windows\\System32\\whoami.exe', { Marker: 'rule-q' }),
          processEvent(31, 'C:\\Windows\\System32\\hostname.exe', { Marker: 'rule-q' }),
        ]),
      });
      const rule =
        'title: q\nlogsource: {product: windows, category: process_creation}\ndetection:\n  s: {Image|endswith: whoami.exe}\n  condition: s\n';
      const found = await t.request('POST', '/api/v1/events/search', {
        token: t.tokens.viewer,
        body: { rule, fields: { Marker: 'rule-q' } },
      });
      assert.equal(found.status, 200);
      assert.deepEqual(
        found.json.events.map((e: { fields: { Image: string } }) => e.fields.Image),
        ['C:\\Windows\\System32\\whoami.exe'],
      );
      const broken = await t.request('POST', '/api/v1/events/search', {
        token: t.tokens.viewer,
        body: { rule: 'title: x\ndetection: {}' },
      });
      assert.equal(broken.status, 400);
      assert.match(broken.json.error, /query rule did not load/);
    });

    test('rules, stats and the OpenAPI document', async () => {
      const rules = await t.request('GET', '/api/v1/rules', { token: t.tokens.viewer });
      assert.equal(rules.json.loaded, 1);
      assert.equal(rules.json.rules[0].title, 'Evil Process');
      const stats = await t.request('GET', '/api/v1/stats', { token: t.tokens.viewer });
      assert.equal(stats.json.store.kind, backend.name === 'SQLite' ? 'sqlite' : 'postgres');
      assert.ok(stats.json.ingest.accepted >= 4);
      const doc = await t.request('GET', '/api/v1/openapi.json', { token: t.tokens.viewer });
      assert.equal(doc.json.openapi, '3.1.0');
      for (const path of [
        '/api/v1/ingest',
        '/api/v1/alerts',
        '/api/v1/incidents/{id}/graph',
        '/api/v1/events/search',
        '/_bulk',
        '/api/v1/live',
      ])
        assert.ok(doc.json.paths[path], path);
      assert.deepEqual(doc.json.paths['/api/v1/health'].get.security, []);
    });

    test('the live feed pushes alerts as they are raised', async () => {
      const controller = new AbortController();
      const res = await fetch(`${t.url}/api/v1/live`, {
        headers: { authorization: `Bearer ${t.tokens.viewer}` },
        signal: controller.signal,
      });
      assert.equal(res.headers.get('content-type'), 'text/event-stream');
      const reader = res.body!.getReader();
      await t.request('POST', '/api/v1/ingest?format=flat', {
        token: t.tokens.ingest,
        body: ndjson([processEvent(40, 'D:\\live\\evil.exe')]),
      });
      let text = '';
      while (!text.includes('live\\\\evil.exe')) text += new TextDecoder().decode((await reader.read()).value);
      assert.match(text, /event: alert\ndata: \{"id":\d+,"rule_id":"7f1c2d3e/);
      controller.abort();
    });
  });
}

const postgresSkipped = await postgresSkip();

describe('limits', () => {
  test('a token over its rate limit gets 429 with Retry-After', async () => {
    const t = await startTestServer({ rateLimit: { perSecond: 1, burst: 3 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await t.request('GET', '/api/v1/alerts', { token: t.tokens.viewer })).status);
      assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
      const limited = await t.request('GET', '/api/v1/alerts', { token: t.tokens.viewer });
      assert.equal(limited.status, 429);
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    } finally {
      await t.close();
    }
  });

  test('a full ingest queue answers 429 with Retry-After and stores nothing of the refused batch', { skip: postgresSkipped }, async () => {
    const store = `${PG_URL}?schema=fb_queue_${randomBytes(4).toString('hex')}`;
    const t = await startTestServer({ maxQueued: 5, store });
    // Holding the store's own lock on event appends (the key postgres.ts derives) keeps the first batch in the queue.
    const holder = new pg.Client(PG_URL);
    await holder.connect();
    const key = createHash('sha256')
      .update(`firebreak:${new URL(store).searchParams.get('schema')}:events`)
      .digest()
      .readBigInt64BE(0);
    try {
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [key.toString()]);
      const batch = (marker: string): string =>
        ndjson(Array.from({ length: 3 }, (_, i) => processEvent(i, 'C:\\a.exe', { Marker: marker })));
      const first = t.request('POST', '/api/v1/ingest?format=flat', { token: t.tokens.ingest, body: batch('first') });
      await eventually(async () =>
        (await t.request('GET', '/api/v1/stats', { token: t.tokens.viewer })).json.detection.queued === 3 ? true : undefined,
      );
      const refused = await t.request('POST', '/api/v1/ingest?format=flat', { token: t.tokens.ingest, body: batch('refused') });
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get('retry-after'), '1');
      await holder.query('SELECT pg_advisory_unlock($1::bigint)', [key.toString()]);
      assert.equal((await first).json.accepted, 3);
      assert.equal((await t.request('GET', '/api/v1/events?field.Marker=refused', { token: t.tokens.viewer })).json.events.length, 0);
      const large = await t.request('POST', '/api/v1/ingest?format=flat', {
        token: t.tokens.ingest,
        body: ndjson(Array.from({ length: 8 }, (_, i) => processEvent(i, 'C:\\a.exe'))),
      });
      assert.equal(large.json.accepted, 8, 'a batch larger than the queue is taken when the queue is empty');
    } finally {
      await holder.end();
      await t.close();
      await backends[1]!.cleanup(store);
    }
  });
});
