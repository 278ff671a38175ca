/** A vendor advisory: the blast radius from the software inventory and a 30-day retro-hunt, and an alert per affected host. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { eventually, ndjson, startTestServer, type TestServer } from './support/server.js';

const SYSMON = 'Microsoft-Windows-Sysmon/Operational';
const DAY = 24 * 60 * 60 * 1000;
const hash = (n: number): string => n.toString(16).padStart(64, '0');
const at = (daysAgo: number): string => new Date(Date.now() - daysAgo * DAY).toISOString();

const app = (host: string, version: string, daysAgo: number): Record<string, unknown> => ({
  Channel: SYSMON,
  EventID: 1,
  Computer: host,
  '@timestamp': at(daysAgo),
  Image: 'C:\\Program Files\\3CXDesktopApp\\3CXDesktopApp.exe',
  Company: '3CX Ltd',
  Product: '3CX Desktop App',
  FileVersion: version,
  Hashes: `SHA256=${hash(version === '18.12.416' ? 2 : 1)}`,
});
const dns = (host: string, name: string, daysAgo: number): Record<string, unknown> => ({
  Channel: SYSMON,
  EventID: 22,
  Computer: host,
  '@timestamp': at(daysAgo),
  Image: 'C:\\Program Files\\3CXDesktopApp\\3CXDesktopApp.exe',
  QueryName: name,
});
const connection = (host: string, ip: string, daysAgo: number): Record<string, unknown> => ({
  Channel: SYSMON,
  EventID: 3,
  Computer: host,
  '@timestamp': at(daysAgo),
  Image: 'C:\\Windows\\System32\\rundll32.exe',
  DestinationIp: ip,
  DestinationPort: 443,
});
const load = (host: string, sha256: string): Record<string, unknown> => ({
  Channel: SYSMON,
  EventID: 7,
  Computer: host,
  '@timestamp': at(2),
  Image: 'C:\\Program Files\\3CXDesktopApp\\3CXDesktopApp.exe',
  ImageLoaded: 'C:\\Program Files\\3CXDesktopApp\\ffmpeg.dll',
  Hashes: `SHA256=${sha256}`,
  Signed: 'false',
});

let t: TestServer;
after(() => t?.close());

test('an advisory returns exactly the affected hosts, with evidence, and opens incidents for them', async () => {
  t = await startTestServer();
  const events = [
    app('ws-01', '18.12.407', 20),
    app('ws-02', '18.12.407', 20),
    app('ws-03', '18.12.416', 3), // an affected version
    app('ws-04', '18.12.416', 2),
    dns('ws-05', 'akamaicontainer.com', 5), // contacted the C2 domain, no 3CX at all
    connection('ws-06', '203.0.113.66', 1), // contacted the C2 address
    load('ws-07', hash(9)), // has the trojanized module
    dns('ws-08', 'akamaicontainer.com', 40), // too long ago: outside the 30-day retro-hunt
    dns('ws-01', 'www.3cx.com', 1), // an ordinary lookup
  ];
  // ws-05 has an agent, and a playbook answers indicator hits with evidence collection (after approval).
  const minted = await t.request('POST', '/api/v1/agents/enroll-tokens', { body: {} });
  const enrolled = await t.request('POST', '/api/v1/agents/enroll', { token: null, body: { token: minted.json.token, hostname: 'ws-05' } });
  assert.equal(enrolled.status, 201);
  const playbook =
    'id: evidence-on-ioc\ntitle: Evidence from hosts an advisory names\nwhen:\n  indicator_hit: true\nmode: approval\nactions: [collect_evidence]\n';
  assert.equal((await t.request('POST', '/api/v1/playbooks', { body: playbook })).status, 201);
  const ingested = await t.request('POST', '/api/v1/ingest?format=flat', { token: t.tokens.ingest, body: ndjson(events) });
  assert.equal(ingested.json.accepted, events.length);
  await t.server.parts.pipeline.drained();
  const advisory = {
    title: '3CX DesktopApp supply-chain compromise',
    vendor: '3CX Ltd',
    product: '3CX Desktop App',
    versions: ['18.12.416'],
    hashes: [hash(9)],
    domains: ['AkamaiContainer.com'],
    ips: ['203.0.113.66'],
  };
  assert.equal((await t.request('POST', '/api/v1/advisories', { token: t.tokens.analyst, body: advisory })).status, 403);
  const bad = await t.request('POST', '/api/v1/advisories', { token: t.tokens.responder, body: { ...advisory, ips: ['300.1.1.1'] } });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error, /ips\[0\]/);
  const answer = await t.request('POST', '/api/v1/advisories', { token: t.tokens.responder, body: advisory });
  assert.equal(answer.status, 201, answer.text);
  const hosts = answer.json.affected_hosts.map((h: { host: string }) => h.host);
  assert.deepEqual(hosts, ['ws-03', 'ws-04', 'ws-05', 'ws-06', 'ws-07']);
  const evidence = (host: string): string[] =>
    answer.json.affected_hosts
      .find((h: { host: string }) => h.host === host)
      .evidence.map((e: { kind: string; value: string }) => `${e.kind}:${e.value}`);
  assert.deepEqual(evidence('ws-03'), ['version:18.12.416']);
  assert.deepEqual(evidence('ws-05'), ['domain:akamaicontainer.com']);
  assert.deepEqual(evidence('ws-06'), ['ip:203.0.113.66']);
  assert.deepEqual(evidence('ws-07'), [`hash:${hash(9)}`]);
  assert.equal(answer.json.alerts, 5);
  const alerts = await eventually(async () => {
    const list = (await t.request('GET', `/api/v1/alerts?rule_id=advisory:${answer.json.id}&limit=50`)).json.alerts;
    return list.length === 5 && list.every((a: { incident_id: number | null }) => a.incident_id !== null) ? list : undefined;
  });
  assert.deepEqual(alerts.map((a: { computer: string }) => a.computer).sort(), hosts);
  assert.equal(
    alerts.find((a: { computer: string }) => a.computer === 'ws-05').level,
    'critical',
    'contact with the C2 is worse than running the version',
  );
  const action = await eventually(async () =>
    (await t.request('GET', '/api/v1/actions?limit=50')).json.actions.find(
      (a: { playbook_id: string }) => a.playbook_id === 'evidence-on-ioc',
    ),
  );
  assert.equal(action.hostname, 'ws-05', 'the playbook answered the advisory on the host with an agent');
  assert.equal(action.status, 'pending_approval');
  const again = await t.request('POST', '/api/v1/advisories', { token: t.tokens.responder, body: advisory });
  assert.deepEqual(
    again.json.affected_hosts.map((h: { host: string }) => h.host),
    hosts,
    'the same answer a second time',
  );
});
