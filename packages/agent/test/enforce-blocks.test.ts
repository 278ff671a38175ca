/**
 * Fleet-wide blocks in real network namespaces with real nft: the block table and the domain
 * blocker run inside a host; two other hosts (a, b) run TCP echo servers; the server is an echo
 * server on the bridge address. Names resolve through /etc/netns/NS/hosts.
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { createLan, netnsSkip, type Lan } from '@firebreak/testkit';
import type { BlockReport } from '../src/enforce/blocks.js';
import { EnforceHost } from './support/host-driver.js';

const skip = netnsSkip();
const PORT = 7000;
const TIMEOUT_MS = 1000;
let lan: Lan;
let host: EnforceHost;
let echoServer: Server;
let otherService: Server;
let server: { address: string; port: number };
let a: string;
let b: string;

before(async () => {
  if (skip) return;
  lan = await createLan(['host', 'a', 'b']);
  [a, b] = [lan.hosts.a.address, lan.hosts.b.address];
  echoServer = createServer((socket) => socket.on('error', () => undefined).pipe(socket));
  await new Promise<void>((resolve) => echoServer.listen(0, lan.bridgeAddress, resolve));
  server = { address: lan.bridgeAddress, port: (echoServer.address() as AddressInfo).port };
  otherService = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => otherService.listen(0, lan.bridgeAddress, resolve));
  for (const name of ['a', 'b']) await EnforceHost.start(lan, name).call('listen', PORT);
  // Written before the host process starts: `ip netns exec` mounts the file over /etc/hosts at start.
  await lan.writeHosts('host', { 'c2.example.test': a, 'cdn.example.test': b, 'sinkhole.example.test': '127.0.0.1' });
  host = EnforceHost.start(lan, 'host');
  await host.call('blockTable', { keep: [server] });
});

after(async () => {
  if (skip) return;
  echoServer?.close();
  otherService?.close();
  await lan?.close();
});

const reach = (address: string, port = PORT): Promise<boolean> => host.call('canConnect', address, port, TIMEOUT_MS);

test('a blocked address is unreachable, others are not, and a new list replaces the old', { skip }, async (t) => {
  const connectionToA = await host.call<number>('open', a, PORT);
  assert.deepEqual(await host.call('blockSet', [a]), [a]);
  t.diagnostic(`nft apply (block table) ${host.lastMs.toFixed(1)} ms`);
  assert.equal(await reach(a), false);
  assert.equal(await reach(b), true);
  assert.deepEqual(await host.call('blockAddresses'), [a]);
  const echoed = await host.call<{ echoed: boolean; error: string | null }>('echo', connectionToA, 'after block', TIMEOUT_MS);
  assert.equal(echoed.echoed, false, 'an established connection to a blocked address stops');

  assert.deepEqual(await host.call('blockSet', [b, b, `${b}/32`]), [b], 'duplicates collapse');
  assert.equal(await reach(a), true);
  assert.equal(await reach(b), false);
  assert.deepEqual(await host.call('blockAddresses'), [b]);
});

test('a blocked network covers its hosts but not the server kept reachable', { skip }, async () => {
  const otherPort = (otherService.address() as AddressInfo).port;
  assert.equal(await reach(server.address, otherPort), true);
  const subnet = `${lan.bridgeAddress.replace(/\.1$/, '.0')}/24`;
  assert.deepEqual(await host.call('blockSet', [a, subnet]), [subnet], 'a network swallows the addresses inside it');
  assert.equal(await reach(a), false);
  assert.equal(await reach(b), false);
  assert.equal(await reach(server.address, server.port), true);
  assert.equal(await reach(server.address, otherPort), false, 'only the server port is kept');
});

test('IPv6 networks are stored and read back in canonical form', { skip }, async () => {
  const written = await host.call<string[]>('blockSet', ['2001:DB8:0:0::/32', '2001:db8:1::/48', 'fe80::1', '::ffff:192.0.2.1', a]);
  assert.deepEqual(written, [a, '::ffff:c000:201', '2001:db8::/32', 'fe80::1']);
  assert.deepEqual(await host.call('blockAddresses'), written);
});

test('a malformed address is refused by name and the table stays as it was', { skip }, async () => {
  await host.call('blockSet', [a]);
  await assert.rejects(
    host.call('blockSet', [b, '10.0.0.1 } flush ruleset']),
    /blocked address \[1\]: "10\.0\.0\.1 } flush ruleset" is not an IP address/,
  );
  await assert.rejects(host.call('blockSet', ['10.9.8.7/33']), /blocked address \[0\]: "10\.9\.8\.7\/33" has a bad prefix length/);
  assert.deepEqual(await host.call('blockAddresses'), [a]);
  await host.call('blockRemove');
  assert.deepEqual(await host.call('blockAddresses'), []);
  assert.equal(await reach(a), true);
  await host.call('blockRemove');
});

test('domains resolve into the table with the IPs; bad and unresolvable ones are reported', { skip }, async () => {
  const report = await host.call<BlockReport>('domainsUpdate', {
    addresses: [b],
    domains: ['C2.Example.Test.', 'nowhere.invalid', 'bad_domain!', 'sinkhole.example.test', '10.1.1.1'],
  });
  assert.deepEqual(report.addresses, [a, b]);
  assert.deepEqual(report.resolved, { 'c2.example.test': [a], 'sinkhole.example.test': [] });
  assert.deepEqual(report.ignored, [{ domain: 'sinkhole.example.test', address: '127.0.0.1' }]);
  assert.deepEqual(
    report.unresolved.map((entry) => entry.domain),
    ['nowhere.invalid'],
  );
  assert.deepEqual(
    report.rejected.map((entry) => entry.value),
    ['bad_domain!', '10.1.1.1'],
  );
  assert.match(report.rejected[0].error, /blocked domains\[2\]: "bad_domain!" is not a domain name/);
  assert.match(report.rejected[1].error, /is an IP address, not a domain name/);
  assert.equal(await reach(a), false);
  assert.equal(await reach(b), false);
  assert.equal(await reach(server.address, server.port), true);

  // The names move: a refresh follows them, and a name that now resolves gets blocked.
  await lan.writeHosts('host', { 'c2.example.test': b, 'nowhere.invalid': a, 'sinkhole.example.test': '127.0.0.1' });
  const refreshed = await host.call<BlockReport>('domainsRefresh');
  assert.deepEqual(refreshed.resolved['c2.example.test'], [b]);
  assert.deepEqual(refreshed.resolved['nowhere.invalid'], [a]);
  assert.deepEqual(refreshed.unresolved, []);
  assert.deepEqual(refreshed.addresses, [a, b]);

  const domainsOnly = await host.call<BlockReport>('domainsUpdate', { addresses: [], domains: ['c2.example.test'] });
  assert.deepEqual(domainsOnly.addresses, [b]);
  assert.equal(await reach(a), true);
  assert.equal(await reach(b), false);
});

test('a name that stops resolving stays blocked at its last addresses; timed refreshes follow changes', { skip }, async () => {
  await lan.writeHosts('host', { 'c2.example.test': a });
  await host.call('domainsStart', 100, { addresses: [], domains: ['c2.example.test'] });
  assert.deepEqual(await host.call('blockAddresses'), [a]);

  await lan.writeHosts('host', { 'c2.example.test': b });
  const deadline = Date.now() + 3000;
  let addresses: string[] = [];
  while (Date.now() < deadline && (addresses = await host.call<string[]>('blockAddresses'))[0] !== b)
    await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(addresses, [b], 'the timed refresh picked up the new address');

  await lan.writeHosts('host', {});
  const report = await host.call<BlockReport>('domainsRefresh');
  assert.deepEqual(
    report.unresolved.map((entry) => entry.domain),
    ['c2.example.test'],
  );
  assert.deepEqual(report.addresses, [b]);
  assert.equal(await reach(b), false);
  await host.call('domainsStop');
  await host.call('blockRemove');
});
