/** Uploads of real log files over HTTP, read with the hunt readers: counts, problems with where, provenance, limits. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { sharedPath, sharedSkip } from '@firebreak/testkit';
import { DEMO_DIR } from '@firebreak/server';
import { startTestServer, type TestServer } from './support/server.js';

const EVTX = 'evtx-attack-samples/Lateral Movement/LM_sysmon_3_12_13_1_SharpRDP.evtx';

let t: TestServer;
before(async () => {
  t = await startTestServer({ uploadLimit: 4 * 1024 * 1024 });
});
after(() => t.close());

test('an evtx_dump JSON log, gzipped, with a damaged line: the rest is stored and the problem named', async () => {
  const lines = readFileSync(join(DEMO_DIR, 'windows-sysmon.ndjson'), 'utf8').trimEnd().split('\n');
  const body = gzipSync([...lines.slice(0, 10), '{"Event": broken', ...lines.slice(10, 20)].join('\n'));
  const res = await t.request('POST', '/api/v1/uploads?name=../../etc/sysmon.json.gz', { token: t.tokens.analyst, body });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.file, 'sysmon.json.gz', 'no directories in the name');
  assert.equal(res.json.accepted, 20);
  assert.equal(res.json.problem_count, 1);
  assert.match(res.json.problems[0].origin, /^sysmon\.json\.gz:11$/);
  const { events } = (await t.request('GET', '/api/v1/events?limit=1', { token: t.tokens.viewer })).json;
  assert.match(events[0].origin, /^upload:sysmon\.json\.gz:21$/);
  const audit = (await t.request('GET', '/api/v1/audit?limit=1000')).json.entries;
  assert.deepEqual(audit.at(-1).details, { accepted: 20, problems: 1 });
});

test('a real EVTX file is read record by record', { skip: sharedSkip(EVTX) }, async () => {
  const res = await t.request('POST', '/api/v1/uploads?name=SharpRDP.evtx', {
    token: t.tokens.ingest,
    body: readFileSync(sharedPath(EVTX)),
  });
  assert.equal(res.status, 200, res.text);
  assert.ok(res.json.accepted > 0);
  const { events } = (
    await t.request('GET', `/api/v1/events?limit=1000&field.Channel=${encodeURIComponent('Microsoft-Windows-Sysmon/Operational')}`, {
      token: t.tokens.viewer,
    })
  ).json;
  assert.ok(
    events.some((e: { origin: string }) => /^upload:SharpRDP\.evtx#\d+$/.test(e.origin)),
    'EVTX records keep their record number',
  );
});

test('an upload past the limit is refused, a viewer may not upload, a file that is no event log is refused with the reason', async () => {
  const big = Buffer.alloc(5 * 1024 * 1024, 0x41);
  assert.equal((await t.request('POST', '/api/v1/uploads?name=big.log', { token: t.tokens.ingest, body: big })).status, 413);
  assert.equal((await t.request('POST', '/api/v1/uploads?name=x.log', { token: t.tokens.viewer, body: 'x' })).status, 403);
  const res = await t.request('POST', '/api/v1/uploads?name=notes.txt', { token: t.tokens.ingest, body: 'just some words\n' });
  assert.equal(res.status, 415);
  assert.match(res.json.error, /^notes\.txt: not a recognised event log \(starts with "just some words"\)$/);
});
