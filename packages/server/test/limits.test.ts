/**
 * The limits that keep a client from taking the server's memory: compressed bodies counted after
 * decompression, bodies held at once, live-feed subscribers, uploads read at once.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { ndjson, processEvent, startTestServer, type TestServer } from './support/server.js';

const BODY_LIMIT = 64 * 1024;

let t: TestServer;
before(async () => {
  t = await startTestServer({ bodyLimit: BODY_LIMIT });
});
after(() => t.close());

/** A request whose body is announced and never finished: the server holds it open. */
function heldRequest(path: string, token: string, declared: number): http.ClientRequest {
  const req = http.request(`${t.url}${path}`, {
    method: 'POST',
    agent: false,
    headers: { authorization: `Bearer ${token}`, 'content-length': String(declared) },
  });
  req.on('error', () => {}); // destroyed at the end of the test
  req.write('{');
  return req;
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 500));

test('a gzipped body is read, and its size limit holds for what it decompresses to', async () => {
  const body = gzipSync(ndjson([processEvent(1, 'C:\\gz.exe', { Marker: 'gzip' }), processEvent(2, 'C:\\gz.exe', { Marker: 'gzip' })]));
  const ok = await t.request('POST', '/api/v1/ingest?format=flat', {
    token: t.tokens.ingest,
    body,
    headers: { 'content-encoding': 'gzip' },
  });
  assert.equal(ok.json.accepted, 2);
  const bomb = gzipSync(Buffer.alloc(4 * BODY_LIMIT, 0x20));
  assert.ok(bomb.length < BODY_LIMIT);
  const refused = await t.request('POST', '/api/v1/ingest?format=flat', {
    token: t.tokens.ingest,
    body: bomb,
    headers: { 'content-encoding': 'gzip' },
  });
  assert.equal(refused.status, 413);
  const unknown = await t.request('POST', '/api/v1/ingest?format=flat', {
    token: t.tokens.ingest,
    body: 'x',
    headers: { 'content-encoding': 'br' },
  });
  assert.equal(unknown.status, 415);
});

test('bodies held at once are capped: past 8 × the body limit a request gets 429', async () => {
  const held = Array.from({ length: 8 }, () => heldRequest('/api/v1/ingest?format=flat', t.tokens.ingest, BODY_LIMIT));
  try {
    await settle();
    const refused = await t.request('POST', '/api/v1/ingest?format=flat', {
      token: t.tokens.ingest,
      body: ndjson([processEvent(3, 'C:\\x.exe')]),
    });
    assert.equal(refused.status, 429);
    assert.match(refused.json.error, /as many request bodies as it holds at once/);
  } finally {
    for (const req of held) req.destroy();
  }
  await settle();
  assert.equal(
    (await t.request('POST', '/api/v1/ingest?format=flat', { token: t.tokens.ingest, body: ndjson([processEvent(4, 'C:\\x.exe')]) }))
      .status,
    200,
  );
});

test('uploads read at once are capped at 4', async () => {
  const held = Array.from({ length: 4 }, (_, i) => heldRequest(`/api/v1/uploads?name=held${i}.log`, t.tokens.ingest, 1024 * 1024));
  try {
    await settle();
    const refused = await t.request('POST', '/api/v1/uploads?name=fifth.log', { token: t.tokens.ingest, body: 'x' });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '5');
  } finally {
    for (const req of held) req.destroy();
  }
});

test('live-feed subscribers are capped at 64', async () => {
  const controller = new AbortController();
  const headers = { authorization: `Bearer ${t.tokens.viewer}` };
  try {
    for (let i = 0; i < 64; i++) assert.equal((await fetch(`${t.url}/api/v1/live`, { headers, signal: controller.signal })).status, 200);
    const refused = await fetch(`${t.url}/api/v1/live`, { headers });
    assert.equal(refused.status, 429);
  } finally {
    controller.abort();
  }
});
