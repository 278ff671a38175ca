/** The value checks responses share: addresses, names, hashes, paths. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  isSystemPath,
  normalizeDomain,
  normalizeIp,
  normalizeSha256,
  sha256FromHashes,
  suspiciousLocation,
  unblockableIpReason,
} from '../src/index.js';

test('IP addresses in one spelling', () => {
  const cases: [string, string | null][] = [
    ['192.0.2.1', '192.0.2.1'],
    [' 192.0.2.1 ', '192.0.2.1'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::FFFF:192.0.2.1', '192.0.2.1'],
    ['::ffff:c000:0201', '192.0.2.1'],
    ['64:ff9b::192.0.2.1', '64:ff9b::c000:201'],
    ['192.0.2.256', null],
    ['010.0.0.1', null],
    ['evil.example', null],
    ['', null],
  ];
  for (const [input, expected] of cases) assert.equal(normalizeIp(input), expected, input);
});

test('addresses never to block, and why', () => {
  const cases: [string, RegExp | null][] = [
    ['198.51.100.23', null],
    ['10.0.0.5', null],
    ['fe80::1', null],
    ['127.0.0.1', /loopback/],
    ['127.8.9.10', /loopback/],
    ['::1', /loopback/],
    ['::ffff:127.0.0.1', /127\.0\.0\.1 is a loopback/],
    ['0.0.0.0', /unspecified/],
    ['0:0::0', /:: is the unspecified/],
    ['239.255.255.250', /multicast/],
    ['ff02::fb', /multicast/],
    ['255.255.255.255', /broadcast/],
    ['10.9.0.1', /Firebreak server's own address/],
    ['bogus', /"bogus" is not an IP address/],
  ];
  for (const [address, reason] of cases) {
    const why = unblockableIpReason(address, ['10.9.0.1']);
    if (reason === null) assert.equal(why, null, address);
    else assert.match(why ?? '', reason, address);
  }
});

test('domain names: lower-case, ASCII, no trailing dot; single labels and addresses refused', () => {
  const cases: [string, string | null][] = [
    ['Evil.Example.', 'evil.example'],
    ['_dmarc.example.com', '_dmarc.example.com'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['localhost', null],
    ['10.0.0.1', null],
    ['1.2.3.300', null],
    ['a..example', null],
    ['-a.example', null],
    ['a-.example', null],
    ['a b.example', null],
    [`${'a'.repeat(64)}.example`, null],
    [`${'a'.repeat(63)}.example`, `${'a'.repeat(63)}.example`],
    [Array(64).fill('abc').join('.'), null],
  ];
  for (const [input, expected] of cases) assert.equal(normalizeDomain(input), expected, input);
});

test('SHA-256 values, alone and in Sysmon Hashes', () => {
  const sha = 'AB'.repeat(32);
  assert.equal(normalizeSha256(sha), sha.toLowerCase());
  assert.equal(normalizeSha256(sha.slice(2)), null);
  assert.equal(sha256FromHashes(`SHA256=${sha}`), sha.toLowerCase());
  assert.equal(sha256FromHashes(`MD5=${'0'.repeat(32)},sha256=${sha},IMPHASH=${'1'.repeat(32)}`), sha.toLowerCase());
  assert.equal(sha256FromHashes(`MD5=${'0'.repeat(32)}`), null);
  assert.equal(sha256FromHashes('SHA256=nothex'), null);
  assert.equal(sha256FromHashes(42), null);
});

test('where programs live: system directories, writable and hidden ones', () => {
  assert.equal(isSystemPath('/usr/bin/curl'), true);
  assert.equal(isSystemPath('/lib/x86_64-linux-gnu/libc.so.6'), true);
  assert.equal(isSystemPath('/usr/local/bin/tool'), false);
  assert.equal(isSystemPath('/usr/binary'), false);
  assert.equal(suspiciousLocation('/tmp/x'), 'in the world-writable directory /tmp');
  assert.equal(suspiciousLocation('/dev/shm/.a/x'), 'in the world-writable directory /dev/shm');
  assert.equal(suspiciousLocation('/home/u/.cache/x'), 'in the hidden directory .cache');
  assert.equal(suspiciousLocation('/home/u/.bashrc'), null, 'a hidden file in a normal folder is not a hidden folder');
  assert.equal(suspiciousLocation('/opt/vendor/bin/helper'), null);
  assert.equal(suspiciousLocation('/tmpfoo/x'), null);
});
