/**
 * The routes the web console needs, over real HTTP on loopback, on both stores: who am I, the
 * overview (alert chart, incident counts, agents, ingest rate), incident paging by cursor, and
 * custom rules saved through the API, run on the live stream at once and kept across a restart.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServer, type RunningServer } from '@firebreak/server';
import type { IncidentRecord, IncidentStatus } from '@firebreak/store';
import WebSocket from 'ws';
import { Stats } from '../src/stats.js';
import { backends } from './support/backends.js';
import { ADMIN_SECRET, eventually, ndjson, processEvent, send, startTestServer, TEST_RULE, type TestServer } from './support/server.js';

const EVIL_RULE_ID = /^id: (\S+)$/m.exec(TEST_RULE)![1]!;
const CUSTOM_ID = '5d0c3a9e-1111-4000-8000-00000000c001';
const OTHER_ID = '5d0c3a9e-1111-4000-8000-00000000c002';
const CUSTOM_RULE = `title: Custom Marker Tool
id: ${CUSTOM_ID}
status: experimental
level: critical
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\\custom-marker.exe'
  condition: selection
`;

/** Sysmon's UtcTime for a time in ms. */
const utcTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/** An enrolled agent's socket, saying hello with its isolation state (as the real agent does). */
async function connectAgent(t: TestServer, enrolled: { agent_id: string; secret: string }, isolated: boolean): Promise<WebSocket> {
  const socket = new WebSocket(`${t.url.replace('http', 'ws')}/api/v1/agents/connect`, {
    headers: { authorization: `Bearer ${enrolled.agent_id}.${enrolled.secret}` },
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const hello = { type: 'hello', version: 'test', hostname: 'x', os: 'linux', isolated, blocks: { sha256: 0, addresses: 0, domains: 0 } };
  socket.send(JSON.stringify(hello));
  return socket;
}

async function enrollAgent(t: TestServer, hostname: string): Promise<{ agent_id: string; secret: string }> {
  const minted = await t.request('POST', '/api/v1/agents/enroll-tokens', { body: {} });
  const enrolled = await t.request('POST', '/api/v1/agents/enroll', {
    token: null,
    body: { token: minted.json.token, hostname, os: 'linux' },
  });
  assert.equal(enrolled.status, 201, enrolled.text);
  return enrolled.json;
}

for (const backend of backends) {
  const skip = await backend.skip();

  describe(`console API on ${backend.name}`, { skip }, () => {
    let t: TestServer;
    let storeUrl: string | undefined;
    const sockets: WebSocket[] = [];
    before(async () => {
      storeUrl = backend.store();
      t = await startTestServer({ store: storeUrl, threads: 2 });
    });
    after(async () => {
      for (const socket of sockets) socket.close();
      await t?.close();
      await backend.cleanup(storeUrl);
    });

    test('GET /api/v1/me names the calling token, whatever its role', async () => {
      const { tokens } = (await t.request('GET', '/api/v1/tokens')).json as { tokens: { id: number; name: string; role: string }[] };
      for (const role of ['ingest', 'viewer', 'analyst', 'responder', 'admin'] as const) {
        const me = await t.request('GET', '/api/v1/me', { token: t.tokens[role] });
        assert.equal(me.status, 200, `${role}: ${me.text}`);
        const token = tokens.find((candidate) => candidate.id === me.json.token_id)!;
        assert.deepEqual(me.json, { token_id: token.id, name: token.name, role });
      }
      assert.equal((await t.request('GET', '/api/v1/me', { token: null })).status, 401);
      assert.equal((await t.request('GET', '/api/v1/me', { token: 'fbk_unknown' })).status, 401);
    });

    test('overview: alerts per level in 49 continuous buckets, incident counts, agents and ingest', async () => {
      const now = Date.now();
      const at = [now - 30 * 60_000, now - 90 * 60_000, now - 30 * 3_600_000];
      const ingested = await t.request('POST', '/api/v1/ingest?format=flat', {
        token: t.tokens.ingest,
        body: ndjson(at.map((time, i) => processEvent(100 + i, `C:\\overview\\${i}\\evil.exe`, { UtcTime: utcTime(time) }))),
      });
      assert.equal(ingested.json.accepted, 3);
      await eventually(async () => ((await t.request('GET', '/api/v1/stats')).json.detection.queued === 0 ? true : undefined));
      const incidents = await eventually(async () => {
        const list = (await t.request('GET', '/api/v1/incidents', { token: t.tokens.viewer })).json.incidents;
        return list.length > 0 ? list : undefined;
      });

      for (const hours of [24, 48]) {
        const asked = Date.now();
        const res = await t.request('GET', `/api/v1/overview?hours=${hours}`, { token: t.tokens.viewer });
        const answered = Date.now();
        assert.equal(res.status, 200, res.text);
        const { alerts } = res.json;
        assert.equal(alerts.bucket_ms, (hours * 3_600_000) / 48);
        assert.equal(alerts.buckets.length, 49);
        const from = Date.parse(alerts.from);
        assert.equal(Date.parse(alerts.to), from + 49 * alerts.bucket_ms);
        assert.equal(from % alerts.bucket_ms, 0, 'buckets are aligned on their size');
        const window = hours * 3_600_000;
        assert.ok(
          from <= answered - window && from > asked - window - alerts.bucket_ms,
          'the first bucket holds the start of the hours asked',
        );
        const lastStart = Date.parse(alerts.to) - alerts.bucket_ms;
        assert.ok(lastStart <= answered && lastStart + alerts.bucket_ms > asked, 'the last bucket holds now');
        alerts.buckets.forEach((bucket: { time: string; counts: Record<string, number> }, i: number) => {
          assert.equal(Date.parse(bucket.time), from + i * alerts.bucket_ms, 'no bucket is missing');
          assert.deepEqual(Object.keys(bucket.counts).slice(0, 5), ['critical', 'high', 'medium', 'low', 'informational']);
        });
        const expected = new Array<number>(49).fill(0);
        for (const time of at) if (time >= from) expected[Math.floor((time - from) / alerts.bucket_ms)]!++;
        assert.deepEqual(
          alerts.buckets.map((bucket: { counts: Record<string, number> }) => bucket.counts.high),
          expected,
        );
        assert.equal(
          expected.reduce((a, b) => a + b),
          hours === 24 ? 2 : 3,
        );
      }
      assert.equal((await t.request('GET', '/api/v1/overview?hours=0', { token: t.tokens.viewer })).status, 400);
      assert.equal((await t.request('GET', '/api/v1/overview?hours=721', { token: t.tokens.viewer })).status, 400);
      assert.equal((await t.request('GET', '/api/v1/overview?hours=day', { token: t.tokens.viewer })).status, 400);
      assert.equal((await t.request('GET', '/api/v1/overview', { token: t.tokens.ingest })).status, 403);

      const countsOf = (list: { status: IncidentStatus; severity: string }[]) => {
        const open = list.filter((i) => i.status !== 'resolved' && i.status !== 'false_positive');
        const bySeverity: Record<string, number> = { critical: 0, high: 0, medium: 0, low: 0, informational: 0 };
        for (const i of open) bySeverity[i.severity] = (bySeverity[i.severity] ?? 0) + 1;
        const byStatus: Record<string, number> = { new: 0, investigating: 0, contained: 0, resolved: 0, false_positive: 0 };
        for (const i of list) byStatus[i.status]!++;
        return { open: open.length, open_by_severity: bySeverity, by_status: byStatus };
      };
      const overview = async () => (await t.request('GET', '/api/v1/overview', { token: t.tokens.viewer })).json;
      assert.deepEqual((await overview()).incidents, countsOf(incidents));
      const closed = await t.request('PATCH', `/api/v1/incidents/${incidents[0].id}`, {
        token: t.tokens.analyst,
        body: { status: 'resolved' },
      });
      assert.equal(closed.status, 200);
      const changed = (await t.request('GET', '/api/v1/incidents', { token: t.tokens.viewer })).json.incidents;
      const figures = (await overview()).incidents;
      assert.deepEqual(figures, countsOf(changed));
      assert.equal(figures.by_status.resolved, 1);
      assert.equal(figures.open, incidents.length - 1);

      assert.deepEqual((await overview()).hosts, { agents: 0, online: 0, isolated: 0 });
      const [isolatedHost, onlineHost, offlineHost, revokedHost] = [
        await enrollAgent(t, 'ov-isolated'),
        await enrollAgent(t, 'ov-online'),
        await enrollAgent(t, 'ov-offline'),
        await enrollAgent(t, 'ov-revoked'),
      ];
      assert.ok(offlineHost);
      sockets.push(await connectAgent(t, isolatedHost, true), await connectAgent(t, onlineHost, false));
      await t.request('PATCH', `/api/v1/agents/${revokedHost.agent_id}`, { body: { revoked: true } });
      const hosts = await eventually(async () => {
        const figures = (await overview()).hosts;
        return figures.online === 2 && figures.isolated === 1 ? figures : undefined;
      });
      const { agents } = (await t.request('GET', '/api/v1/agents', { token: t.tokens.viewer })).json as {
        agents: { status: string; isolated: boolean }[];
      };
      const enrolled = agents.filter((a) => a.status !== 'revoked');
      assert.deepEqual(hosts, {
        agents: enrolled.length,
        online: enrolled.filter((a) => a.status === 'online').length,
        isolated: enrolled.filter((a) => a.isolated).length,
      });
      assert.equal(hosts.agents, 3);

      const { ingest } = await overview();
      assert.equal(ingest.accepted_total, (await t.request('GET', '/api/v1/stats')).json.ingest.accepted);
      assert.ok(ingest.accepted_total >= 3);
      assert.ok(ingest.events_per_second > 0, 'events came in within the last minute');
    });

    test('custom rules: checked, saved, run on the live stream at once, listed, deleted', async () => {
      const post = (yaml: unknown, token = t.tokens.analyst) => t.request('POST', '/api/v1/rules', { token, body: { yaml } });
      assert.equal((await post(CUSTOM_RULE, t.tokens.viewer)).status, 403);
      const broken = await post(CUSTOM_RULE.replace('endswith', 'nosuchmodifier'));
      assert.equal(broken.status, 400);
      assert.match(broken.json.error, /the rule did not load: .*nosuchmodifier.* \(line \d+\)/);
      const unparsable = await post('title: x\ndetection: [unclosed\n');
      assert.equal(unparsable.status, 400);
      assert.match(unparsable.json.error, /the rule did not load/);
      const noId = await post(CUSTOM_RULE.replace(/^id: .*\n/m, ''));
      assert.equal(noId.status, 400);
      assert.match(noId.json.error, /needs an "id"/);
      const twoRules = await post(`${CUSTOM_RULE}---\n${CUSTOM_RULE.replace(CUSTOM_ID, OTHER_ID)}`);
      assert.equal(twoRules.status, 400);
      assert.match(twoRules.json.error, /one Sigma detection rule/);
      assert.equal((await post(undefined)).status, 400);
      assert.equal((await post(42)).status, 400);
      const clash = await post(CUSTOM_RULE.replace(CUSTOM_ID, EVIL_RULE_ID));
      assert.equal(clash.status, 409);
      assert.match(clash.json.error, new RegExp(EVIL_RULE_ID));

      const saved = await post(CUSTOM_RULE);
      assert.equal(saved.status, 201, saved.text);
      assert.deepEqual(saved.json, {
        id: CUSTOM_ID,
        title: 'Custom Marker Tool',
        level: 'critical',
        status: 'experimental',
        tags: [],
        file: `custom:${CUSTOM_ID}`,
        logsource: { product: 'windows', category: 'process_creation' },
        custom: true,
      });
      assert.equal((await post(CUSTOM_RULE)).status, 409, 'an id is saved once');
      const listed = (await t.request('GET', '/api/v1/rules', { token: t.tokens.viewer })).json;
      assert.equal(listed.loaded, 2);
      assert.deepEqual(
        listed.rules.find((r: { id: string }) => r.id === CUSTOM_ID),
        saved.json,
      );
      assert.equal(listed.rules.find((r: { id: string }) => r.id === EVIL_RULE_ID).custom, false);

      const ingest = (n: number, image: string) =>
        t.request('POST', '/api/v1/ingest?format=flat', {
          token: t.tokens.ingest,
          body: ndjson([processEvent(n, image, { Marker: `custom-${n}` })]),
        });
      const alertsOf = async (ruleId: string, marker: string): Promise<{ id: number; details: Record<string, unknown> }[]> => {
        const { alerts } = (await t.request('GET', `/api/v1/alerts?rule_id=${ruleId}&limit=1000`, { token: t.tokens.viewer })).json;
        const evidence = await Promise.all(
          alerts.map(async (a: { id: number }) => (await t.request('GET', `/api/v1/alerts/${a.id}`, { token: t.tokens.viewer })).json),
        );
        return evidence.filter((a) => a.evidence.some((e: { fields: { Marker?: string } }) => e.fields.Marker === marker));
      };
      assert.equal((await ingest(200, 'C:\\Tools\\custom-marker.exe')).json.accepted, 1);
      const [raised] = await eventually(async () => {
        const found = await alertsOf(CUSTOM_ID, 'custom-200');
        return found.length > 0 ? found : undefined;
      });
      assert.equal(raised!.details.rule_file, `custom:${CUSTOM_ID}:1`, 'the rule named as custom, with its line');
      const audit = (await t.request('GET', '/api/v1/audit?limit=1000')).json.entries as {
        action: string;
        actor: string;
        target: string;
      }[];
      assert.ok(audit.some((e) => e.action === 'rule.create' && e.target === `rule:${CUSTOM_ID}` && e.actor === 'analyst token'));

      assert.equal((await t.request('DELETE', `/api/v1/rules/${CUSTOM_ID}`, { token: t.tokens.viewer })).status, 403);
      assert.equal((await t.request('DELETE', `/api/v1/rules/${EVIL_RULE_ID}`, { token: t.tokens.analyst })).status, 409);
      assert.equal((await t.request('DELETE', '/api/v1/rules/no-such-rule', { token: t.tokens.analyst })).status, 404);
      const deleted = await t.request('DELETE', `/api/v1/rules/${CUSTOM_ID}`, { token: t.tokens.analyst });
      assert.equal(deleted.status, 200, deleted.text);
      assert.deepEqual(deleted.json, { deleted: CUSTOM_ID });
      assert.equal((await t.request('DELETE', `/api/v1/rules/${CUSTOM_ID}`, { token: t.tokens.analyst })).status, 404);
      assert.ok(!(await t.request('GET', '/api/v1/rules')).json.rules.some((r: { id: string }) => r.id === CUSTOM_ID));

      // One batch: once the bundled rule's alert for it is there, the batch has been through detection.
      await t.request('POST', '/api/v1/ingest?format=flat', {
        token: t.tokens.ingest,
        body: ndjson([
          processEvent(201, 'C:\\Tools\\custom-marker.exe', { Marker: 'custom-201' }),
          processEvent(202, 'C:\\x\\evil.exe', { Marker: 'custom-201' }),
        ]),
      });
      await eventually(async () => ((await alertsOf(EVIL_RULE_ID, 'custom-201')).length > 0 ? true : undefined));
      assert.deepEqual(await alertsOf(CUSTOM_ID, 'custom-201'), [], 'a deleted rule raises nothing');
      const trail = (await t.request('GET', '/api/v1/audit?limit=1000')).json.entries.map((e: { action: string }) => e.action);
      assert.ok(trail.includes('rule.delete'));
    });

    test('custom rules: saving one while events stream in loses none and detects every event', async () => {
      const batch = (n: number) =>
        t.request('POST', '/api/v1/ingest?format=flat', {
          token: t.tokens.ingest,
          body: ndjson(Array.from({ length: 50 }, (_, i) => processEvent(1000 + n * 50 + i, 'C:\\stream\\evil.exe', { Marker: 'stream' }))),
        });
      const stats = async (): Promise<{ detected: number; alerts: number; queued: number }> =>
        (await t.request('GET', '/api/v1/stats')).json.detection;
      const before = await stats();
      const streaming = Array.from({ length: 20 }, (_, n) => batch(n));
      const saved = await t.request('POST', '/api/v1/rules', {
        token: t.tokens.analyst,
        body: { yaml: CUSTOM_RULE.replace(CUSTOM_ID, OTHER_ID) },
      });
      assert.equal(saved.status, 201, saved.text);
      const answers = await Promise.all(streaming);
      assert.deepEqual(
        answers.map((a) => a.json.accepted),
        new Array(20).fill(50),
      );
      const done = await eventually(async () => {
        const now = await stats();
        return now.queued === 0 ? now : undefined;
      });
      assert.equal(done.detected - before.detected, 1000, 'every event went through detection');
      assert.equal(done.alerts - before.alerts, 1000, 'every event met the bundled rule, on the old threads or the new');
      assert.equal((await t.request('DELETE', `/api/v1/rules/${OTHER_ID}`, { token: t.tokens.analyst })).status, 200);
    });
  });

  describe(`custom rules across a restart on ${backend.name}`, { skip }, () => {
    test('a saved rule is loaded again at start and detects', async () => {
      const storeUrl = backend.store();
      const t = await startTestServer({ store: storeUrl });
      let restarted: RunningServer | undefined;
      try {
        const saved = await t.request('POST', '/api/v1/rules', { token: t.tokens.analyst, body: { yaml: CUSTOM_RULE } });
        assert.equal(saved.status, 201, saved.text);
        await t.server.close();
        restarted = await startServer({
          dataDir: join(t.dir, 'data'),
          store: storeUrl,
          listen: { host: '127.0.0.1', port: 0 },
          rules: [join(t.dir, 'rules')],
          adminToken: ADMIN_SECRET,
          threads: 1,
          log: () => {},
        });
        const request = (method: string, path: string, body?: unknown) => send(restarted!.url, method, path, ADMIN_SECRET, body, {});
        const { rules } = (await request('GET', '/api/v1/rules')).json;
        assert.deepEqual(
          rules.find((r: { id: string }) => r.id === CUSTOM_ID),
          saved.json,
        );
        await request('POST', '/api/v1/ingest?format=flat', ndjson([processEvent(300, 'C:\\Tools\\custom-marker.exe')]));
        const alert = await eventually(async () => (await request('GET', `/api/v1/alerts?rule_id=${CUSTOM_ID}`)).json.alerts[0]);
        assert.equal(alert.level, 'critical');
      } finally {
        await t.server.close();
        await restarted?.close();
        await rm(t.dir, { recursive: true, force: true });
        await backend.cleanup(storeUrl);
      }
    });
  });

  describe(`incident paging on ${backend.name}`, { skip }, () => {
    let t: TestServer;
    let storeUrl: string | undefined;
    const made: { id: number; last: number; status: IncidentStatus }[] = [];
    const base = Date.UTC(2026, 5, 1);
    before(async () => {
      storeUrl = backend.store();
      t = await startTestServer({ store: storeUrl });
      const store = t.server.parts.store;
      // Seven incidents share each last-alert time, so page ends fall inside runs of equal times.
      const records = Array.from({ length: 2100 }, (_, i): IncidentRecord => ({
        title: `paged ${i}`,
        status: i % 5 === 0 ? 'resolved' : 'new',
        severity: 'high',
        score: 50,
        hosts: [`host-${i % 4}`],
        first: base,
        last: base + Math.floor(((i * 37) % 2100) / 7) * 1000,
        alertCount: 1,
        grouping: {},
        notes: [],
      }));
      for (let i = 0; i < records.length; i += 50) {
        const created = await Promise.all(records.slice(i, i + 50).map((record) => store.createIncident(record)));
        made.push(...created.map(({ id, last, status }) => ({ id, last, status })));
      }
    });
    after(async () => {
      await t?.close();
      await backend.cleanup(storeUrl);
    });

    /** Every page of a listing, following next_before. */
    const pages = async (query: string): Promise<{ ids: number[]; next: string | null }[]> => {
      const out: { ids: number[]; next: string | null }[] = [];
      let before: string | null = null;
      do {
        const res = await t.request('GET', `/api/v1/incidents?${query}${before ? `&before=${before}` : ''}`, { token: t.tokens.viewer });
        assert.equal(res.status, 200, res.text);
        out.push({ ids: res.json.incidents.map((i: { id: number }) => i.id), next: res.json.next_before });
        before = res.json.next_before;
      } while (before !== null);
      return out;
    };
    const newestFirst = (list: typeof made): number[] => [...list].sort((a, b) => b.last - a.last || b.id - a.id).map((i) => i.id);

    test('next_before pages through every incident once, newest first', async () => {
      const paged = await pages('limit=1000');
      assert.deepEqual(
        paged.map((p) => p.ids.length),
        [1000, 1000, 100],
      );
      assert.deepEqual(
        paged.flatMap((p) => p.ids),
        newestFirst(made),
      );
      const lastOfFirst = made.find((i) => i.id === paged[0]!.ids.at(-1))!;
      assert.equal(paged[0]!.next, `${lastOfFirst.last}.${lastOfFirst.id}`);
      assert.equal(paged[2]!.next, null);
    });

    test('a full last page is followed by an empty one; filters page too', async () => {
      const exact = await pages('limit=700');
      assert.deepEqual(
        exact.map((p) => p.ids.length),
        [700, 700, 700, 0],
      );
      assert.deepEqual(
        exact.flatMap((p) => p.ids),
        newestFirst(made),
      );
      const resolved = await pages('status=resolved&limit=150');
      assert.deepEqual(
        resolved.flatMap((p) => p.ids),
        newestFirst(made.filter((i) => i.status === 'resolved')),
      );
      assert.equal(resolved.length, 3);
    });

    test('a before that is no next_before is refused', async () => {
      for (const bad of [
        'abc',
        '1764504000000',
        '1764504000000.',
        '.5',
        '1.2.3',
        '1764504000000.0',
        '1e3.5',
        '99999999999999999.1',
        '1.-2',
      ]) {
        const res = await t.request('GET', `/api/v1/incidents?before=${encodeURIComponent(bad)}`, { token: t.tokens.viewer });
        assert.equal(res.status, 400, bad);
        assert.match(res.json.error, /"before"/);
      }
    });
  });
}

describe('ingest rate', () => {
  test('events per second: accepted over the time sampled', () => {
    const stats = new Stats(() => {});
    try {
      assert.equal(stats.eventsPerSecond(stats.started), 0);
      stats.accepted = 500;
      assert.equal(stats.eventsPerSecond(stats.started + 10_000), 50);
    } finally {
      stats.close();
    }
  });
});
