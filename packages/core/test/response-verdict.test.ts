/** forensicVerdict on evidence bundles as an agent collects them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  VERDICT_THRESHOLDS,
  forensicVerdict,
  type EvidenceBundle,
  type ProcessInfo,
  type SocketInfo,
  type VerdictContext,
} from '../src/index.js';

const TROJAN_SHA = 'ab12cd34ef56a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6';
const CURL_SHA = '5f9e0c1d2b3a49586776a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0';
const C2 = '198.51.100.23';
const SERVER = '10.9.0.1';

function processInfo(changes: Partial<ProcessInfo>): ProcessInfo {
  return {
    pid: 4242,
    ppid: 1,
    startTime: 918273,
    image: '/tmp/.x/upd',
    commandLine: '/tmp/.x/upd --quiet',
    user: 'www-data',
    uid: 33,
    sha256: TROJAN_SHA,
    cwd: '/tmp/.x',
    ...changes,
  };
}

function socket(remoteAddress: string, changes: Partial<SocketInfo> = {}): SocketInfo {
  return {
    protocol: 'tcp',
    localAddress: '10.0.0.11',
    localPort: 51514,
    remoteAddress,
    remotePort: 443,
    state: 'ESTABLISHED',
    pid: 4242,
    ...changes,
  };
}

const SSHD = processInfo({
  pid: 812,
  image: '/usr/sbin/sshd',
  commandLine: 'sshd: /usr/sbin/sshd -D',
  user: 'root',
  uid: 0,
  sha256: 'e'.repeat(64),
  cwd: '/',
});

/** The trojanized vendor helper: dropped in a hidden folder under /tmp, beaconing, with a cron entry. */
function trojanBundle(): EvidenceBundle {
  const process = processInfo({});
  const child = processInfo({ pid: 4250, ppid: 4242, image: '/usr/bin/sh', commandLine: 'sh -c id', sha256: 'c'.repeat(64) });
  return {
    agentId: 'agent-1',
    hostname: 'web-1',
    collectedAt: 1_700_000_000_000,
    process,
    ancestors: [processInfo({ pid: 4100, image: '/opt/vendor/bin/vendor-agent', sha256: 'd'.repeat(64) })],
    descendants: [child],
    openFiles: [{ pid: 4242, fd: 3, target: 'socket:[99123]' }],
    sockets: [
      socket(C2),
      socket('10.0.0.12', { pid: 4250, remotePort: 22, state: 'SYN_SENT' }),
      socket('127.0.0.1', { remotePort: 8080 }),
      socket(SERVER, { pid: 901, remotePort: 8443 }),
      socket('0.0.0.0', { pid: 812, remotePort: 0, state: 'LISTEN', localPort: 22 }),
    ],
    executable: {
      path: '/tmp/.x/upd',
      sha256: TROJAN_SHA,
      size: 18_432,
      mode: 0o755,
      uid: 33,
      contentBase64: Buffer.from('#!/bin/sh\n').toString('base64'),
    },
    persistence: [{ kind: 'cron', path: '/etc/cron.d/vendor-update', sha256: 'f'.repeat(64), mtime: 1_699_999_990_000 }],
    recentPersistence: [{ kind: 'cron', path: '/etc/cron.d/vendor-update', sha256: 'f'.repeat(64), mtime: 1_699_999_990_000 }],
    authLog: ['Nov 14 22:13:01 web-1 CRON[4200]: pam_unix(cron:session): session opened for user www-data'],
    processes: [SSHD, process, child],
  };
}

/** curl, as every host has it, fetching from a mirror the fleet uses daily. */
function curlBundle(): EvidenceBundle {
  const curl = processInfo({
    pid: 3100,
    image: '/usr/bin/curl',
    commandLine: 'curl -fsSL https://deb.example.org/key.asc',
    user: 'root',
    uid: 0,
    sha256: CURL_SHA,
    cwd: '/root',
  });
  return {
    ...trojanBundle(),
    process: curl,
    ancestors: [],
    descendants: [],
    openFiles: [],
    sockets: [socket('203.0.113.80', { pid: 3100 })],
    executable: { path: '/usr/bin/curl', sha256: CURL_SHA, size: 260_328, mode: 0o755, uid: 0, contentBase64: null },
    persistence: [],
    recentPersistence: [],
    processes: [SSHD, curl],
  };
}

/** A fleet of `size` hosts that knows `hashes` (hash → other hosts with it) and `seen` destinations. */
function fleet(
  size: number,
  hashes: Record<string, number>,
  seen: string[],
  fields: Record<string, unknown>,
): VerdictContext & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    fields,
    fleetSize: size,
    hostsWithHash: (sha256) => hashes[sha256] ?? 0,
    destinationSeenBefore: (address) => {
      asked.push(address);
      return seen.includes(address);
    },
    protectedAddresses: [SERVER],
  };
}

const TROJAN_FIELDS = {
  ProcessId: 4242,
  Image: '/tmp/.x/upd',
  Hashes: `SHA256=${TROJAN_SHA}`,
  DestinationIp: C2,
  DestinationPort: 443,
  DestinationHostname: 'cdn-update.example.net',
};
const CURL_FIELDS = {
  ProcessId: 3100,
  Image: '/usr/bin/curl',
  Hashes: `SHA256=${CURL_SHA}`,
  DestinationIp: '203.0.113.80',
  DestinationPort: 443,
};

const codes = (reasons: { code: string }[]) => reasons.map((r) => r.code).sort();

test('a trojanized helper in /tmp with an unknown hash beaconing to a first-seen destination is confirmed', () => {
  const context = fleet(4, {}, ['10.0.0.12'], TROJAN_FIELDS);
  const verdict = forensicVerdict(trojanBundle(), context);
  assert.equal(verdict.verdict, 'confirmed');
  assert.deepEqual(codes(verdict.reasons), [
    'destination-first-seen',
    'hash-unknown',
    'persistence-recent',
    'still-connected',
    'suspicious-location',
  ]);
  assert.equal(verdict.score, 100);
  const text = (code: string) => verdict.reasons.find((r) => r.code === code)!.text;
  assert.equal(text('hash-unknown'), 'executable /tmp/.x/upd (sha256 ab12cd34ef56…) seen on no other of 3 hosts');
  assert.equal(text('suspicious-location'), 'executable /tmp/.x/upd (sha256 ab12cd34ef56…) is in the world-writable directory /tmp');
  assert.equal(
    text('destination-first-seen'),
    `connection to ${C2}:443 (cdn-update.example.net): never contacted by the fleet before the alert`,
  );
  assert.equal(text('persistence-recent'), 'persistence added or changed recently: cron /etc/cron.d/vendor-update');
  assert.equal(text('still-connected'), `process 4242 (/tmp/.x/upd) still runs, connected to ${C2}:443`);
  assert.deepEqual(verdict.indicators, [
    { type: 'sha256', value: TROJAN_SHA },
    { type: 'ip', value: C2 },
    { type: 'domain', value: 'cdn-update.example.net' },
  ]);
  // Loopback, the server and sockets of other processes are not destinations of this process.
  assert.ok(!context.asked.includes('127.0.0.1'));
  assert.ok(!context.asked.includes(SERVER));
  assert.ok(context.asked.includes('10.0.0.12'), "the child's connection attempt is looked at");
});

test('packaged curl, common across the fleet, fetching from a known destination is refuted', () => {
  const verdict = forensicVerdict(curlBundle(), fleet(9, { [CURL_SHA]: 7 }, ['203.0.113.80'], CURL_FIELDS));
  assert.equal(verdict.verdict, 'refuted');
  assert.deepEqual(codes(verdict.reasons), ['destination-known', 'hash-common', 'packaged-binary', 'still-connected']);
  assert.equal(verdict.score, -30 - 25 - 20 + 15);
  assert.ok(verdict.score <= VERDICT_THRESHOLDS.refuted);
  assert.equal(
    verdict.reasons.find((r) => r.code === 'hash-common')!.text,
    'executable /usr/bin/curl (sha256 5f9e0c1d2b3a…) is common across the fleet: seen on 7 other of 8 hosts',
  );
  assert.equal(
    verdict.reasons.find((r) => r.code === 'packaged-binary')!.text,
    'executable /usr/bin/curl (sha256 5f9e0c1d2b3a…) is a system program, identical on 7 other hosts',
  );
  assert.equal(
    verdict.reasons.find((r) => r.code === 'destination-known')!.text,
    '203.0.113.80:443 had been contacted by the fleet before the alert',
  );
  assert.deepEqual(verdict.indicators, []);
  // Finished downloading: nothing but benign signals.
  const done = forensicVerdict({ ...curlBundle(), process: null, sockets: [] }, fleet(9, { [CURL_SHA]: 7 }, ['203.0.113.80'], CURL_FIELDS));
  assert.deepEqual(codes(done.reasons), ['destination-known', 'hash-common', 'packaged-binary']);
  assert.equal(done.score, -75);
  assert.equal(done.verdict, 'refuted');
});

test('common curl talking to a first-seen destination is inconclusive, and names no indicator', () => {
  const verdict = forensicVerdict(curlBundle(), fleet(9, { [CURL_SHA]: 7 }, [], CURL_FIELDS));
  assert.equal(verdict.verdict, 'inconclusive');
  assert.deepEqual(codes(verdict.reasons), ['destination-first-seen', 'hash-common', 'packaged-binary', 'still-connected']);
  assert.ok(verdict.score > VERDICT_THRESHOLDS.refuted && verdict.score < VERDICT_THRESHOLDS.confirmed, String(verdict.score));
  assert.deepEqual(verdict.indicators, []);
});

test("a confirmed verdict never names a shared program's hash", () => {
  // python3 is on one other host: rare, but not unknown; the script it runs reached a new destination and added a unit.
  const bundle = curlBundle();
  const python = processInfo({ pid: 5000, image: '/usr/bin/python3.11', sha256: 'a'.repeat(64) });
  bundle.process = python;
  bundle.executable = { path: '/usr/bin/python3.11', sha256: 'a'.repeat(64), size: 6_000_000, mode: 0o755, uid: 0, contentBase64: null };
  bundle.sockets = [socket(C2, { pid: 5000 })];
  bundle.recentPersistence = [{ kind: 'systemd', path: '/etc/systemd/system/dbus-helper.service', sha256: 'b'.repeat(64), mtime: 1 }];
  const verdict = forensicVerdict(bundle, fleet(10, { ['a'.repeat(64)]: 1 }, [], { ProcessId: 5000, DestinationIp: C2 }));
  assert.equal(verdict.verdict, 'confirmed');
  assert.deepEqual(codes(verdict.reasons), ['destination-first-seen', 'packaged-binary', 'persistence-recent', 'still-connected']);
  assert.deepEqual(verdict.indicators, [{ type: 'ip', value: C2 }]);
});

test('an executable deleted while running, from a process that is still up', () => {
  const bundle = trojanBundle();
  bundle.process = processInfo({ image: '/dev/shm/kworker (deleted)' });
  bundle.executable = null;
  bundle.recentPersistence = [];
  bundle.sockets = [];
  const verdict = forensicVerdict(bundle, fleet(1, {}, [], {}));
  assert.deepEqual(codes(verdict.reasons), ['deleted-while-running', 'suspicious-location']);
  assert.equal(
    verdict.reasons.find((r) => r.code === 'deleted-while-running')!.text,
    'executable /dev/shm/kworker (sha256 ab12cd34ef56…) was deleted while its process ran',
  );
  // 45 without a strong signal: suspicious, not proven.
  assert.equal(verdict.score, 45);
  assert.equal(verdict.verdict, 'inconclusive');
});

test('a process already gone with nothing on disk weighs little; the hash comes from the alert', () => {
  const bundle = { ...trojanBundle(), process: null, descendants: [], executable: null, recentPersistence: [], sockets: [] };
  const fields = { ...TROJAN_FIELDS, Image: '/home/deploy/.local/share/x/upd' };
  const verdict = forensicVerdict(bundle, fleet(5, {}, [], fields));
  assert.deepEqual(codes(verdict.reasons), ['destination-first-seen', 'gone-no-trace', 'hash-unknown', 'suspicious-location']);
  assert.equal(verdict.reasons.find((r) => r.code === 'gone-no-trace')!.weight, 5);
  assert.match(verdict.reasons.find((r) => r.code === 'suspicious-location')!.text, /is in the hidden directory \.local$/);
  assert.equal(verdict.verdict, 'confirmed');
  assert.deepEqual(
    verdict.indicators.map((i) => i.type),
    ['sha256', 'ip', 'domain'],
  );
});

test('a destination is known when either its address or its name was seen before', () => {
  const bundle = { ...curlBundle(), sockets: [] };
  const fields = { ...CURL_FIELDS, DestinationHostname: 'deb.example.org' };
  const byName = forensicVerdict(bundle, fleet(9, { [CURL_SHA]: 7 }, ['deb.example.org'], fields));
  assert.ok(codes(byName.reasons).includes('destination-known'));
  const byAddress = forensicVerdict(bundle, fleet(9, { [CURL_SHA]: 7 }, ['203.0.113.80'], fields));
  assert.ok(codes(byAddress.reasons).includes('destination-known'));
  const neither = forensicVerdict(bundle, fleet(9, { [CURL_SHA]: 7 }, [], fields));
  assert.ok(codes(neither.reasons).includes('destination-first-seen'));
});

test('the server, loopback and the unspecified address are never destinations or indicators', () => {
  const bundle = trojanBundle();
  bundle.sockets = [socket(SERVER), socket('::1'), socket('::ffff:127.0.0.1'), socket('0.0.0.0')];
  const verdict = forensicVerdict(bundle, fleet(4, {}, [], { ...TROJAN_FIELDS, DestinationIp: SERVER, DestinationHostname: undefined }));
  assert.ok(!codes(verdict.reasons).some((c) => c.startsWith('destination') || c === 'still-connected'));
  assert.equal(verdict.verdict, 'confirmed', 'hash, location and persistence still confirm');
  assert.deepEqual(verdict.indicators, [{ type: 'sha256', value: TROJAN_SHA }]);
});

test('with no other host to compare, the hash says nothing', () => {
  const verdict = forensicVerdict(trojanBundle(), fleet(1, {}, [], TROJAN_FIELDS));
  assert.ok(!codes(verdict.reasons).some((c) => c.startsWith('hash')));
  assert.ok(!verdict.indicators.some((i) => i.type === 'sha256'));
});

test('a hash on a few hosts of a large fleet is neither unknown nor common', () => {
  const verdict = forensicVerdict(curlBundle(), fleet(40, { [CURL_SHA]: 5 }, ['203.0.113.80'], CURL_FIELDS));
  assert.deepEqual(codes(verdict.reasons), ['destination-known', 'packaged-binary', 'still-connected']);
  const small = forensicVerdict(curlBundle(), fleet(3, { [CURL_SHA]: 1 }, ['203.0.113.80'], CURL_FIELDS));
  assert.ok(!codes(small.reasons).includes('hash-common'), 'two hosts are not "at least 3"');
});
