/**
 * Enrollment against a real HTTP(S) server on loopback that implements the enrollment contract:
 * one-time tokens traded for an agent id, a secret and the server's public key.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { AGENT_ENROLL_PATH, generateSigningKeys } from '@firebreak/core';
import { enroll, normalizeServerUrl } from '../src/runtime/enroll.js';
import { AgentState } from '../src/runtime/state.js';
import { agentVersion } from '../src/runtime/version.js';
import { opensslSkip, selfSignedCertificate } from './support/runtime.js';

interface Enrollment {
  token: string;
  hostname: string;
  os: string;
  version: string;
  tags?: string[];
}

/** The server side of enrollment: each token works once. */
class EnrollmentDesk {
  readonly keys = generateSigningKeys();
  readonly tokens = new Set<string>();
  readonly enrolled: (Enrollment & { agentId: string; secret: string })[] = [];
  /** When set, the body every enrollment is answered with (to see the agent refuse a bad answer). */
  answer: string | null = null;

  mint(): string {
    const token = `fbe_${randomBytes(12).toString('hex')}`;
    this.tokens.add(token);
    return token;
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== AGENT_ENROLL_PATH || req.headers['content-type'] !== 'application/json') {
        return reply(res, 404, { error: `no ${req.method} ${req.url}` });
      }
      const request = JSON.parse(body) as Enrollment;
      if (!this.tokens.delete(request.token)) return reply(res, 401, { error: 'enrollment token refused' });
      const agentId = `agt-${randomBytes(6).toString('hex')}`;
      const secret = randomBytes(24).toString('base64url');
      this.enrolled.push({ ...request, agentId, secret });
      if (this.answer !== null) return void res.writeHead(201, { 'content-type': 'application/json' }).end(this.answer);
      reply(res, 201, { agent_id: agentId, secret, server_public_key: this.keys.publicKeyPem });
    });
  };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function listen(t: TestContext, server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as AddressInfo).port;
}

test('an enrollment token is traded for a credential once, and refused the second time', async (t) => {
  const desk = new EnrollmentDesk();
  const port = await listen(t, createHttpServer(desk.handle));
  const token = desk.mint();
  const options = { serverUrl: `http://127.0.0.1:${port}/`, enrollToken: token, hostname: 'web-1', os: 'linux', tags: ['dmz'] };

  const identity = await enroll(options);
  assert.equal(desk.enrolled.length, 1);
  const [record] = desk.enrolled;
  assert.deepEqual(
    { token: record.token, hostname: record.hostname, os: record.os, version: record.version, tags: record.tags },
    { token, hostname: 'web-1', os: 'linux', version: agentVersion(), tags: ['dmz'] },
  );
  assert.equal(identity.agentId, record.agentId);
  assert.equal(identity.secret, record.secret);
  assert.equal(identity.serverPublicKeyPem, desk.keys.publicKeyPem);
  assert.equal(identity.serverUrl, `http://127.0.0.1:${port}`);
  assert.equal(identity.hostname, 'web-1');
  assert.ok(Math.abs(identity.enrolledAt - Date.now()) < 10_000);

  // The identity is what the state keeps.
  const dir = await mkdtemp(join(tmpdir(), 'firebreak-agent-enroll-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const state = await AgentState.open(dir);
  await state.setIdentity(identity);
  assert.deepEqual((await AgentState.open(dir)).identity, identity);

  await assert.rejects(enroll(options), {
    message: `enrollment token refused (used, expired or unknown) by http://127.0.0.1:${port}${AGENT_ENROLL_PATH}`,
  });
  await assert.rejects(enroll({ ...options, enrollToken: 'fbe_never-minted' }), /enrollment token refused/);
  assert.equal(desk.enrolled.length, 1);
});

test('an unreachable server is named in the error', async (t) => {
  // A port that was just free: nothing listens on it.
  const probe = createHttpServer();
  const port = await listen(t, probe);
  await new Promise((resolve) => probe.close(resolve));
  await assert.rejects(
    enroll({ serverUrl: `http://127.0.0.1:${port}`, enrollToken: 't', hostname: 'h', os: 'linux' }),
    (error: Error) =>
      error.message.startsWith(`cannot reach http://127.0.0.1:${port}${AGENT_ENROLL_PATH} to enroll: `) &&
      /ECONNREFUSED/.test(error.message),
  );
});

test('an answer without a usable credential is refused with what is wrong', async (t) => {
  const desk = new EnrollmentDesk();
  const port = await listen(t, createHttpServer(desk.handle));
  const attempt = (answer: string) => {
    desk.answer = answer;
    return enroll({ serverUrl: `http://127.0.0.1:${port}`, enrollToken: desk.mint(), hostname: 'h', os: 'linux' });
  };
  await assert.rejects(attempt('<html>'), /answered 201 with a body that is not JSON: <html>/);
  await assert.rejects(
    attempt(JSON.stringify({ agent_id: 'a.b', secret: 's', server_public_key: desk.keys.publicKeyPem })),
    /unusable agent_id: "a.b"/,
  );
  await assert.rejects(attempt(JSON.stringify({ agent_id: 'a', secret: 's' })), /no server_public_key/);
  await assert.rejects(attempt(JSON.stringify({ agent_id: 'a', secret: 's', server_public_key: 'nope' })), /not a PEM public key/);
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ecPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  await assert.rejects(
    attempt(JSON.stringify({ agent_id: 'a', secret: 's', server_public_key: ecPem })),
    /ec server_public_key, not Ed25519/,
  );

  const missing = createHttpServer((_req, res) => reply(res, 404, { error: 'no such route' }));
  const missingPort = await listen(t, missing);
  await assert.rejects(
    enroll({ serverUrl: `http://127.0.0.1:${missingPort}`, enrollToken: 't', hostname: 'h', os: 'linux' }),
    /failed: HTTP 404 \{"error":"no such route"\}/,
  );
});

test('server URLs: http(s) only, trailing slashes dropped, a path prefix kept', () => {
  assert.equal(normalizeServerUrl('https://fb.example:8443/'), 'https://fb.example:8443');
  assert.equal(normalizeServerUrl('http://10.0.0.5/firebreak//'), 'http://10.0.0.5/firebreak');
  assert.throws(() => normalizeServerUrl('ftp://fb.example'), /must be http:\/\/ or https:\/\/: ftp:\/\/fb.example/);
  assert.throws(() => normalizeServerUrl('fb.example'), /not a URL: fb.example/);
});

test('https enrollment trusts the CA it is given, and only then', { skip: opensslSkip }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'firebreak-agent-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { key, cert } = await selfSignedCertificate(dir);
  const desk = new EnrollmentDesk();
  const port = await listen(t, createHttpsServer({ key, cert }, desk.handle));
  const serverUrl = `https://127.0.0.1:${port}`;

  await assert.rejects(
    enroll({ serverUrl, enrollToken: desk.mint(), hostname: 'h', os: 'linux' }),
    (error: Error) =>
      error.message.startsWith(`cannot reach ${serverUrl}${AGENT_ENROLL_PATH} to enroll: `) && /self.signed/i.test(error.message),
  );
  assert.equal(desk.enrolled.length, 0);
  const identity = await enroll({ serverUrl, enrollToken: desk.mint(), hostname: 'h', os: 'linux', ca: cert });
  assert.equal(identity.agentId, desk.enrolled[0].agentId);
  assert.equal(identity.serverUrl, serverUrl);
});
