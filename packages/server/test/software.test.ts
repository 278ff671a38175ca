/** The software inventory over the API: who runs product X version Y, where hash H is; kept across a restart. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { eventually, ndjson, startTestServer, type TestServer } from './support/server.js';

const SYSMON = 'Microsoft-Windows-Sysmon/Operational';
const IMAGE = 'C:\\Users\\alice\\AppData\\Local\\Programs\\3CXDesktopApp\\app\\3CXDesktopApp.exe';
const hash = (n: number): string => n.toString(16).padStart(64, '0');

function processStart(host: string, version: string, sha256: string, minute: number): Record<string, unknown> {
  return {
    Channel: SYSMON,
    EventID: 1,
    Computer: host,
    '@timestamp': `2026-03-22T10:${String(minute).padStart(2, '0')}:00.000Z`,
    Image: IMAGE,
    Company: '3CX Ltd',
    Product: '3CX Desktop App',
    FileVersion: version,
    Hashes: `MD5=00,SHA256=${sha256.toUpperCase()}`,
  };
}

function imageLoad(host: string, module: string, sha256: string, signed: boolean): Record<string, unknown> {
  return {
    Channel: SYSMON,
    EventID: 7,
    Computer: host,
    '@timestamp': '2026-03-22T10:00:00.500Z',
    Image: IMAGE,
    ImageLoaded: module,
    Hashes: `SHA256=${sha256}`,
    Signed: signed ? 'true' : 'false',
    Signature: signed ? '3CX Ltd' : '',
  };
}

let t: TestServer;
after(() => t?.close());

test('who runs 3CX 18.12.416, where a module hash is, and both again after a restart', async () => {
  t = await startTestServer();
  const events = [
    imageLoad('ws-01', IMAGE, hash(1), true),
    processStart('ws-01', '18.12.407', hash(1), 0),
    processStart('ws-02', '18.12.407', hash(1), 1),
    processStart('ws-03', '18.12.416', hash(2), 2),
    processStart('ws-04', '18.12.416', hash(2), 3),
    imageLoad('ws-03', 'C:\\Users\\bob\\AppData\\Local\\Programs\\3CXDesktopApp\\app\\ffmpeg.dll', hash(3), false),
    imageLoad('ws-04', 'C:\\Users\\eve\\AppData\\Local\\Programs\\3CXDesktopApp\\app\\ffmpeg.dll', hash(3), false),
  ];
  const ingested = await t.request('POST', '/api/v1/ingest?format=flat', { token: t.tokens.ingest, body: ndjson(events) });
  assert.equal(ingested.json.accepted, events.length);
  const query = async (path: string): Promise<any> => (await t.request('GET', path, { token: t.tokens.viewer })).json; // eslint-disable-line @typescript-eslint/no-explicit-any
  const bad = await eventually(async () => {
    const found = await query('/api/v1/software?product=3cx&version=18.12.416');
    return found.total === 1 && found.software[0].host_count === 2 ? found.software[0] : undefined;
  });
  assert.deepEqual(
    bad.hosts.map((h: { host: string }) => h.host),
    ['ws-03', 'ws-04'],
  );
  assert.equal(bad.vendor, '3CX Ltd');
  assert.deepEqual(bad.hashes, [hash(2)]);
  const good = (await query('/api/v1/software?product=3CX%20Desktop&version=18.12.407')).software[0];
  assert.deepEqual(good.signers, ['3CX Ltd'], 'the signer comes from the image load of the executable itself');
  assert.equal(good.first_seen, '2026-03-22T10:00:00.000Z');
  const where = await query(`/api/v1/software/hashes/${hash(3).toUpperCase()}`);
  assert.deepEqual(
    where.hosts.map((h: { host: string; path: string }) => [h.host, h.path.split('\\').pop()]),
    [
      ['ws-03', 'ffmpeg.dll'],
      ['ws-04', 'ffmpeg.dll'],
    ],
  );
  assert.equal((await t.request('GET', '/api/v1/software/hashes/not-a-hash', { token: t.tokens.viewer })).status, 400);

  const dataDir = t.server.parts.uploadDir.replace(/\/uploads$/, '');
  await t.server.close();
  t = await startTestServer({ dataDir });
  const again = await query('/api/v1/software?product=3cx&version=18.12.416');
  assert.equal(again.software[0]?.host_count, 2, 'the inventory is kept in the store');
  assert.equal((await query(`/api/v1/software/hashes/${hash(3)}`)).host_count, 2);
});
