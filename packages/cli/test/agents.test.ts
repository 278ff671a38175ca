/** `firebreak agents enroll-token` and `agents list` against a real server on loopback. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { startServer, type RunningServer } from '@firebreak/server';
import { BIN } from './support/cli.js';

const ADMIN = 'fbk_cli-agents-test-admin';
let server: RunningServer;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'firebreak-cli-agents-'));
  server = await startServer({ dataDir: dir, listen: { host: '127.0.0.1', port: 0 }, adminToken: ADMIN, threads: 1, log: () => undefined });
});
after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

/** The binary, run without blocking this process (the server answers it from here). */
async function firebreak(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

test('enroll-token mints a one-time token an agent enrolls with, with its tags; agents list shows the agent', async () => {
  const minted = await firebreak(['agents', 'enroll-token', '--server', server.url, '--tag', 'pbx', '--ttl-hours', '2'], {
    FIREBREAK_TOKEN: ADMIN,
  });
  assert.equal(minted.code, 0, minted.stderr);
  const token = minted.stdout.trim();
  assert.match(token, /^fbe_/);
  assert.match(minted.stderr, /one-time enrollment token, valid until .*\(tags: pbx\)/);
  const enroll = await fetch(`${server.url}/api/v1/agents/enroll`, { method: 'POST', body: JSON.stringify({ token, hostname: 'pbx-01' }) });
  assert.equal(enroll.status, 201);

  const listed = await firebreak(['agents', 'list', '--server', server.url, '--token', ADMIN]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^ID\s+HOSTNAME\s+STATUS\s+ISOLATION\s+LAST SEEN$/m);
  assert.match(listed.stdout, /pbx-01\s+offline\s+-/);
  assert.match(listed.stderr, /1 agents, 0 online, 0 isolated/);
  const json = JSON.parse((await firebreak(['agents', 'list', '--server', server.url, '--token', ADMIN, '--json'])).stdout);
  assert.deepEqual(json.agents[0].tags, ['pbx']);
});

test('clear errors: no token, a refused token, an unreachable server', async () => {
  const noToken = await firebreak(['agents', 'list', '--server', server.url], { FIREBREAK_TOKEN: '' });
  assert.equal(noToken.code, 2);
  assert.match(noToken.stderr, /an API token is needed/);
  const refused = await firebreak(['agents', 'enroll-token', '--server', server.url, '--token', 'fbk_wrong']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /HTTP 401/);
  const away = await firebreak(['agents', 'list', '--server', 'http://127.0.0.1:9', '--token', ADMIN]);
  assert.equal(away.code, 1);
  assert.match(away.stderr, /cannot reach http:\/\/127\.0\.0\.1:9/);
});

test('agent without enrollment says what it needs', async () => {
  const result = await firebreak(['agent', '--state-dir', join(dir, 'agent-state')]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /holds no enrollment: give --server URL and --enroll-token TOKEN/);
});

test('software: who runs a product version, and where a hash is', async () => {
  const sha256 = 'c'.repeat(64);
  const event = {
    Channel: 'Microsoft-Windows-Sysmon/Operational',
    EventID: 1,
    Computer: 'ws-07',
    '@timestamp': '2026-03-22T10:00:00Z',
    Image: 'C:\\Program Files\\3CX\\3CXDesktopApp.exe\u001b[2J',
    Company: '3CX Ltd',
    Product: '3CX Desktop App',
    FileVersion: '18.12.416',
    Hashes: `SHA256=${sha256}`,
  };
  const ingest = await fetch(`${server.url}/api/v1/ingest?format=flat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}` },
    body: JSON.stringify(event),
  });
  assert.equal(ingest.status, 200);
  await server.parts.pipeline.drained();
  const listed = await firebreak(['software', '--server', server.url, '--token', ADMIN, '--product', '3cx', '--version', '416']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^VENDOR\s+PRODUCT\s+VERSION\s+HOSTS\s+FIRST SEEN\s+LAST SEEN\s+SIGNERS$/m);
  assert.match(listed.stdout, /3CX Ltd\s+3CX Desktop App\s+18\.12\.416\s+1\s+2026-03-22T10:00:00\.000Z/);
  const where = await firebreak(['software', '--server', server.url, '--token', ADMIN, '--hash', sha256]);
  assert.ok(
    !where.stdout.includes('\u001b') && where.stdout.includes('\\u001b[2J'),
    'terminal escapes from event data are shown, not sent',
  );
  assert.match(where.stdout, /ws-07\s+C:\\Program Files\\3CX\\3CXDesktopApp\.exe/);
  assert.match(where.stderr, /seen on 1 hosts/);
});
