/** The server over HTTPS: an agent enrolls with the server's CA and connects over wss://. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AgentConnection, AgentState, DiskQueue, enroll } from '@firebreak/agent';
import { opensslSkip, selfSignedCertificate } from '@firebreak/testkit';
import { startServer } from '../src/index.js';

test('over TLS: enrollment trusts the given CA only, and the agent socket is wss://', { skip: opensslSkip }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'firebreak-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const certificate = await selfSignedCertificate(dir);
  const admin = 'fbk_tls-test-admin';
  const server = await startServer({
    dataDir: join(dir, 'data'),
    listen: { host: '127.0.0.1', port: 0 },
    tls: { certFile: certificate.certFile, keyFile: certificate.keyFile },
    adminToken: admin,
    threads: 1,
    log: () => undefined,
  });
  t.after(() => server.close());
  assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const mint = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const options = { method: 'POST', ca: certificate.cert, headers: { authorization: `Bearer ${admin}` } };
      const request = httpsRequest(`${server.url}/api/v1/agents/enroll-tokens`, options, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve(JSON.parse(body).token));
      });
      request.on('error', reject).end();
    });
  const token = await mint();
  await assert.rejects(
    enroll({ serverUrl: server.url, enrollToken: token, hostname: 'tls-host', os: 'linux' }),
    /certificate/i,
    'an unknown CA is refused',
  );
  const identity = await enroll({ serverUrl: server.url, enrollToken: token, hostname: 'tls-host', os: 'linux', ca: certificate.cert });
  const state = await AgentState.open(join(dir, 'agent'));
  await state.setIdentity(identity);
  const queue = await DiskQueue.open(join(dir, 'agent', 'queue'));
  const connection = new AgentConnection({
    state,
    queue,
    ca: certificate.cert,
    log: () => undefined,
    hello: () => ({ version: 'test', hostname: 'tls-host', os: 'linux', isolated: false, blocks: { sha256: 0, addresses: 0, domains: 0 } }),
    onCommand: async (command) => ({ commandId: command.id, actionId: command.actionId, status: 'succeeded', verification: [] }),
  });
  const connected = new Promise((resolve) => connection.once('connected', resolve));
  connection.start();
  t.after(async () => {
    await connection.close();
    await queue.close();
  });
  await connected;
  const seq = await connection.sendEvents([{ _kind: 'process_creation', Image: '/usr/bin/id', '@timestamp': new Date().toISOString() }]);
  assert.equal(seq, 1);
  for (let i = 0; i < 100 && (await server.parts.store.searchEvents({ host: 'tls-host', limit: 1 })).length === 0; i++)
    await new Promise((r) => setTimeout(r, 50));
  assert.equal((await server.parts.store.searchEvents({ host: 'tls-host', limit: 1 })).length, 1, 'events arrive over wss');
});
