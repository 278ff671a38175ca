/** What may enter an nft script: addresses, networks, ports, names and domain names, checked before use. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkDomain } from '../src/enforce/blocks.js';
import { checkNftName, checkPort, formatPrefix, parseAddress, parsePrefix, prefixContains } from '../src/enforce/nft.js';

test('addresses and networks come out in canonical form', () => {
  const cases: [string, string][] = [
    ['192.0.2.1', '192.0.2.1'],
    ['192.0.2.1/32', '192.0.2.1'],
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0000/32', '2001:db8::/32'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['fe80::/10', 'fe80::/10'],
  ];
  for (const [input, canonical] of cases) assert.equal(formatPrefix(parsePrefix(input, 'test')), canonical, input);
});

test('anything else is refused, naming the parameter', () => {
  const refused: [unknown, RegExp][] = [
    ['10.0.0.1; flush ruleset', /^Error: where: "10\.0\.0\.1; flush ruleset" is not an IP address or CIDR prefix$/],
    ['10.0.0.1 } table', /is not an IP address/],
    ['example.com', /is not an IP address/],
    ['1.2.3.4/', /bad prefix length/],
    ['1.2.3.4/33', /bad prefix length \(0 to 32 for IPv4\)/],
    ['::/129', /bad prefix length \(0 to 128 for IPv6\)/],
    ['1.2.3.4/+8', /bad prefix length/],
    ['1.2.3.4/8', /has bits set after its \/8 prefix \(the network is 1\.0\.0\.0\/8\)/],
    ['fe80::1%eth0', /is not an IP address/],
    ['01.2.3.4', /is not an IP address/],
    [42, /expected an IP address or CIDR prefix, got number/],
  ];
  for (const [input, message] of refused) assert.throws(() => parsePrefix(input, 'where'), message, String(input));
  assert.throws(() => parseAddress('10.0.0.0/8', 'server'), /server: "10\.0\.0\.0\/8" must be a single IP address, not a prefix/);
});

test('network containment', () => {
  const p = (text: string) => parsePrefix(text, 'test');
  assert.equal(prefixContains(p('10.0.0.0/8'), p('10.1.0.0/16')), true);
  assert.equal(prefixContains(p('10.0.0.0/8'), p('10.0.0.0/8')), true);
  assert.equal(prefixContains(p('10.1.0.0/16'), p('10.0.0.0/8')), false);
  assert.equal(prefixContains(p('10.0.0.0/8'), p('11.0.0.1')), false);
  assert.equal(prefixContains(p('0.0.0.0/0'), p('2001:db8::1')), false);
  assert.equal(prefixContains(p('2001:db8::/32'), p('2001:db8:ffff::1')), true);
});

test('ports and names', () => {
  assert.equal(checkPort(443, 'port'), 443);
  for (const bad of [0, 65536, 1.5, '443', NaN])
    assert.throws(() => checkPort(bad, 'allow[0].port'), /^Error: allow\[0\]\.port: .* is not a port number \(1-65535\)$/);
  assert.equal(checkNftName('firebreak_block', 'table'), 'firebreak_block');
  assert.throws(() => checkNftName('x; flush ruleset', 'table'), /table: "x; flush ruleset" is not a valid nft name/);
});

test('domain names: LDH labels (and underscores, as the server takes them), 253 characters at most', () => {
  assert.equal(checkDomain('C2.Example.COM.', 'd'), 'c2.example.com');
  assert.equal(checkDomain('_dmarc.my_host.example', 'd'), '_dmarc.my_host.example');
  assert.equal(checkDomain('xn--bcher-kva.example', 'd'), 'xn--bcher-kva.example');
  assert.equal(checkDomain(`${'a'.repeat(63)}.example`, 'd'), `${'a'.repeat(63)}.example`);
  const tooLong = Array.from({ length: 4 }, () => 'a'.repeat(63)).join('.');
  const refused = [
    '',
    '.',
    'bad/label.example',
    '-lead.example',
    'trail-.example',
    'a..b',
    `${'a'.repeat(64)}.example`,
    tooLong,
    'bücher.example',
    'a b.example',
    'x;y',
  ];
  for (const name of refused) assert.throws(() => checkDomain(name, 'domains[3]'), /^Error: domains\[3\]: .* is not a domain name/, name);
  assert.throws(() => checkDomain('192.0.2.1', 'domains[0]'), /is an IP address, not a domain name/);
  assert.throws(() => checkDomain(7, 'domains[0]'), /expected a domain name, got number/);
});
