/**
 * The Elasticsearch-compatible API driven by the official Elasticsearch client: the handshake,
 * bulk with Winlogbeat-shaped documents (alerts follow), per-item errors, and the ways Beats and
 * Logstash authenticate (API key, basic auth with the token as password, bearer).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import { eventually, startTestServer, type TestServer } from './support/server.js';

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
after(() => t.close());

/** A Sysmon process creation as Winlogbeat 8 ships it. */
function winlogbeatDoc(n: number, image: string): Record<string, unknown> {
  return {
    '@timestamp': new Date(Date.UTC(2026, 10, 30, 9, 0, n)).toISOString(),
    event: { code: '1', provider: 'Microsoft-Windows-Sysmon', kind: 'event', module: 'sysmon' },
    host: { name: 'ws-elastic-01' },
    winlog: {
      channel: 'Microsoft-Windows-Sysmon/Operational',
      computer_name: 'WS-ELASTIC-01',
      event_id: '1',
      provider_name: 'Microsoft-Windows-Sysmon',
      record_id: String(1000 + n),
      event_data: { Image: image, CommandLine: `${image} /c whoami`, ProcessId: String(4000 + n), User: 'ACME\\jdoe' },
    },
  };
}

test('the client handshake answers as an Elasticsearch cluster', async () => {
  const client = new Client({ node: t.url, auth: { bearer: t.tokens.ingest } });
  const info = await client.info();
  assert.match(info.version.number, /^\d+\.\d+\.\d+$/);
  assert.equal(info.tagline, 'You Know, for Search');
  await client.close();
});

test('bulk from the official client stores documents, reports item errors and raises alerts', async () => {
  const apiKey = Buffer.from(`shipper:${t.tokens.ingest}`).toString('base64');
  const client = new Client({ node: t.url, auth: { apiKey } });
  const result = await client.bulk({
    operations: [
      { create: { _index: 'winlogbeat-8.19.0' } },
      winlogbeatDoc(1, 'C:\\Users\\jdoe\\Downloads\\evil.exe'),
      { create: { _index: 'winlogbeat-8.19.0' } },
      winlogbeatDoc(2, 'C:\\Windows\\System32\\svchost.exe'),
      { delete: { _index: 'winlogbeat-8.19.0', _id: 'x' } },
    ],
  });
  assert.equal(result.errors, true);
  assert.deepEqual(
    result.items.map((item) => Object.values(item)[0]!.status),
    [201, 201, 400],
  );
  const alert = await eventually(async () => {
    const res = await t.request('GET', '/api/v1/alerts?computer=WS-ELASTIC-01', { token: t.tokens.viewer });
    return res.json.alerts[0];
  });
  assert.equal(alert.rule_title, 'Evil Process');
  await client.close();
});

test('the bulk helper streams many documents; basic auth carries the token as password (as Beats send it)', async () => {
  const client = new Client({ node: t.url, auth: { username: 'winlogbeat', password: t.tokens.ingest } });
  const documents = Array.from({ length: 2500 }, (_, i) => winlogbeatDoc(i, `C:\\Program Files\\App\\app${i}.exe`));
  const stats = await client.helpers.bulk({
    datasource: documents,
    onDocument: () => ({ create: { _index: 'logs-windows' } }),
    flushBytes: 200_000,
  });
  assert.equal(stats.successful, 2500);
  assert.equal(stats.failed, 0);
  const wrong = new Client({ node: t.url, auth: { username: 'winlogbeat', password: 'nope' } });
  await assert.rejects(wrong.info(), (error: { meta?: { statusCode?: number } }) => error.meta?.statusCode === 401);
  await client.close();
  await wrong.close();
});
