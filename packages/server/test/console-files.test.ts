/**
 * The server's side of the web console: the built files served at / to browsers (gzip, caching,
 * security headers), the Elasticsearch handshake at / kept for shippers, and a clear error when the
 * console is not built. The files here stand in for a Vite build (an index page and a hashed asset).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { startServer } from '@firebreak/server';
import { ADMIN_SECRET, startTestServer, type TestServer } from './support/server.js';

const PAGE = '<!doctype html><title>Firebreak</title><script type="module" src="/assets/index-abc123.js"></script>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(5000))});`;

let consoleDir: string;
let server: TestServer;

before(async () => {
  consoleDir = await mkdtemp(join(tmpdir(), 'firebreak-console-'));
  await mkdir(join(consoleDir, 'assets'));
  await writeFile(join(consoleDir, 'index.html'), PAGE);
  await writeFile(join(consoleDir, 'assets', 'index-abc123.js'), SCRIPT);
  await writeFile(join(consoleDir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  server = await startTestServer({ consoleDir });
});

after(async () => {
  await server.close();
  await rm(consoleDir, { recursive: true, force: true });
});

test('a browser asking for / gets the console page, uncached, with a content security policy and no framing', async () => {
  const response = await fetch(`${server.url}/`, { headers: { accept: 'text/html,application/xhtml+xml' } });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(response.headers.get('cache-control'), 'no-cache');
  assert.match(response.headers.get('content-security-policy')!, /script-src 'self';.*frame-ancestors 'none'/);
  assert.equal(response.headers.get('x-frame-options'), 'DENY');
  assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(await response.text(), PAGE);
});

test('hashed assets are cached for good and sent gzipped to clients that take gzip', async () => {
  const url = `${server.url}/assets/index-abc123.js`;
  const plain = await fetch(url, { headers: { 'accept-encoding': 'identity' } });
  assert.equal(plain.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.equal(plain.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.equal(plain.headers.get('content-encoding'), null);
  assert.equal(await plain.text(), SCRIPT);
  // fetch would unzip on its own: read the raw bytes over node:http to see what travels.
  const { request } = await import('node:http');
  const raw = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
    request(url, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
    })
      .on('error', reject)
      .end();
  });
  assert.equal(raw.encoding, 'gzip');
  assert.ok(raw.body.length < SCRIPT.length / 10, `gzipped ${raw.body.length} bytes of ${SCRIPT.length}`);
  assert.equal(gunzipSync(raw.body).toString(), SCRIPT);
});

test('/ still answers the Elasticsearch handshake to shippers, and the API and unknown paths are untouched', async () => {
  const handshake = await server.request('GET', '/', { token: server.tokens.ingest, headers: { accept: 'application/json' } });
  assert.equal(handshake.status, 200);
  assert.equal((handshake.json as { tagline: string }).tagline, 'You Know, for Search');
  assert.equal((await fetch(`${server.url}/`)).status, 401, 'no token, no browser: the handshake route, which needs a token');
  assert.equal((await fetch(`${server.url}/assets/missing.js`)).status, 404, 'a file the console does not have is not served');
  assert.equal((await fetch(`${server.url}/api/v1/incidents`, { headers: { accept: 'text/html' } })).status, 401);
  assert.equal((await fetch(`${server.url}/favicon.svg`)).status, 200);
  const post = await fetch(`${server.url}/`, { method: 'POST', headers: { accept: 'text/html' } });
  assert.notEqual(post.headers.get('content-type'), 'text/html; charset=utf-8');
});

test('a console folder that is not built stops the start with the folder named and the command to run', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'firebreak-console-empty-'));
  try {
    await assert.rejects(
      startServer({
        dataDir: join(empty, 'data'),
        listen: { host: '127.0.0.1', port: 0 },
        adminToken: ADMIN_SECRET,
        consoleDir: join(empty, 'web'),
      }),
      new RegExp(`the web console is not built \\(no ${join(empty, 'web', 'index.html')}\\): run "npm run build"`),
    );
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
});
