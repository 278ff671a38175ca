/** Syslog from a real client (util-linux logger) over UDP and TCP, through the server into the store. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { eventually, startTestServer, type TestServer } from './support/server.js';

const run = promisify(execFile);
const LOGGER = '/usr/bin/logger';
const skip = existsSync(LOGGER) ? false : `needs ${LOGGER} (Debian package util-linux)`;

let t: TestServer;
before(async () => {
  if (skip) return;
  t = await startTestServer({ syslog: { udp: { host: '127.0.0.1', port: 0 }, tcp: { host: '127.0.0.1', port: 0 } } });
});
after(() => t?.close());

async function findMessage(text: string): Promise<Record<string, unknown>> {
  return eventually(async () => {
    const res = await t.request('GET', `/api/v1/events?field.message=${encodeURIComponent(text)}`, { token: t.tokens.viewer });
    return res.json.events[0];
  });
}

test('RFC 5424 over UDP', { skip }, async () => {
  const { port } = t.server.syslog.udp!;
  await run(LOGGER, [
    '--udp',
    '-n',
    '127.0.0.1',
    '-P',
    String(port),
    '--rfc5424',
    '-t',
    'sshd',
    '-p',
    'auth.info',
    'Accepted publickey for root from 10.1.2.3',
  ]);
  const event = await findMessage('Accepted publickey for root from 10.1.2.3');
  assert.equal(event.format, 'syslog');
  assert.equal((event.fields as Record<string, unknown>).app_name, 'sshd');
  assert.equal((event.fields as Record<string, unknown>).facility, 'auth');
  assert.ok(event.host);
});

test('RFC 3164 over TCP with octet counting, and newline framing', { skip }, async () => {
  const { port } = t.server.syslog.tcp!;
  await run(LOGGER, [
    '--tcp',
    '--octet-count',
    '-n',
    '127.0.0.1',
    '-P',
    String(port),
    '--rfc3164',
    '-t',
    'cron',
    'octet counted message 1',
  ]);
  await run(LOGGER, ['--tcp', '-n', '127.0.0.1', '-P', String(port), '--rfc5424', '-t', 'app', 'newline framed message 2']);
  assert.equal((await findMessage('octet counted message 1')).format, 'syslog');
  assert.equal(((await findMessage('newline framed message 2')).fields as Record<string, unknown>).app_name, 'app');
  const stats = await t.request('GET', '/api/v1/stats', { token: t.tokens.viewer });
  assert.ok(stats.json.ingest.syslog.received >= 3);
  assert.equal(stats.json.ingest.syslog.udpDropped, 0);
});
