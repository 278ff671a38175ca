/**
 * Isolation in real network namespaces with real nft: a host, a peer and the server (a TCP echo
 * server on the bridge address, in the root namespace). The enforcement code runs inside the host.
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { createLan, netnsSkip, type Lan } from '@firebreak/testkit';
import type { VerificationCheck } from '@firebreak/core';
import { EnforceHost } from './support/host-driver.js';

const skip = netnsSkip();
let lan: Lan;
let host: EnforceHost;
let peerHost: EnforceHost;
let echoServer: Server;
let server: { address: string; port: number };
let peer: { address: string; port: number };
const PEER_PORT = 7000;
const PEER_OTHER_PORT = 7001;
const TIMEOUT_MS = 1000;

before(async () => {
  if (skip) return;
  lan = await createLan(['host', 'peer']);
  echoServer = createServer((socket) => socket.on('error', () => undefined).pipe(socket));
  await new Promise<void>((resolve) => echoServer.listen(0, lan.bridgeAddress, resolve));
  server = { address: lan.bridgeAddress, port: (echoServer.address() as AddressInfo).port };
  peer = { address: lan.hosts.peer.address, port: PEER_PORT };
  peerHost = EnforceHost.start(lan, 'peer');
  for (const port of [PEER_PORT, PEER_OTHER_PORT, 53]) {
    await peerHost.call('listen', port);
    await peerHost.call('listenUdp', port);
  }
  host = EnforceHost.start(lan, 'host');
});

after(async () => {
  if (skip) return;
  echoServer?.close();
  await lan?.close();
});

const reach = (address: string, port: number): Promise<boolean> => host.call('canConnect', address, port, TIMEOUT_MS);
const udpAnswered = (address: string, port: number): Promise<boolean> => host.call('udpEcho', address, port, TIMEOUT_MS);
const echo = (connection: number, text: string): Promise<{ echoed: boolean; error: string | null }> =>
  host.call('echo', connection, text, TIMEOUT_MS);

test('isolation keeps the server, established connection included, and stops everything else', { skip }, async (t) => {
  assert.equal(await reach(server.address, server.port), true, 'server reachable before');
  assert.equal(await reach(peer.address, peer.port), true, 'peer reachable before');
  assert.equal(await udpAnswered(peer.address, PEER_PORT), true, 'peer answers UDP before');
  const toServer = await host.call<number>('open', server.address, server.port);
  const toPeer = await host.call<number>('open', peer.address, peer.port);
  assert.equal((await echo(toServer, 'before-1')).echoed, true);
  assert.equal((await echo(toPeer, 'before-2')).echoed, true);

  const started = performance.now();
  await host.call('isolate', { server });
  const applyMs = host.lastMs;
  const checks = await host.call<VerificationCheck[]>('verifyIsolation', { server, probe: peer, timeoutMs: TIMEOUT_MS });
  const verifiedMs = performance.now() - started;
  t.diagnostic(`nft apply ${applyMs.toFixed(1)} ms; isolate → verified ${verifiedMs.toFixed(1)} ms`);
  assert.deepEqual(
    checks.map((check) => [check.name, check.ok]),
    [
      ['isolation table present', true],
      ['server reachable', true],
      ['probe unreachable', true],
    ],
  );

  for (let i = 0; i < 5; i++)
    assert.deepEqual(
      await echo(toServer, `during-${i}`),
      { echoed: true, error: null },
      'the connection opened before isolation keeps working',
    );
  const peerAfter = await echo(toPeer, 'after');
  assert.equal(peerAfter.echoed, false, 'the connection to the peer stops');
  assert.match(peerAfter.error ?? '', /ECONNRESET|closed/);
  assert.equal(await reach(server.address, server.port), true, 'a new connection to the server');
  assert.equal(await reach(peer.address, PEER_OTHER_PORT), false);
  const datagramsBefore = await peerHost.call<number>('udpReceived', PEER_PORT);
  assert.equal(await udpAnswered(peer.address, PEER_PORT), false, 'UDP stops too');
  assert.equal(await peerHost.call('udpReceived', PEER_PORT), datagramsBefore, 'nothing leaves the host');
  assert.equal(await host.call('isolationActive'), true);

  // Inbound: the peer cannot open a connection to the isolated host either.
  const hostListens = await host.call<number>('listen', 7100);
  assert.equal(await peerHost.call('canConnect', lan.hosts.host.address, hostListens, TIMEOUT_MS), false);

  // Applied again (an agent restarting): same rules, the server connection never drops.
  const rules = await host.call<number>('ruleCount', 'firebreak_isolation');
  await host.call('isolate', { server });
  assert.equal(await host.call('ruleCount', 'firebreak_isolation'), rules);
  assert.deepEqual(await echo(toServer, 'reapplied'), { echoed: true, error: null });
  assert.equal(await reach(peer.address, peer.port), false);
});

test('isolation outlives the process that applied it', { skip }, async () => {
  const agent = EnforceHost.start(lan, 'host');
  await agent.call('isolate', { server });
  await agent.stop();
  const restarted = EnforceHost.start(lan, 'host');
  assert.equal(await restarted.call('isolationActive'), true);
  assert.equal(await restarted.call('canConnect', peer.address, peer.port, TIMEOUT_MS), false);
  await restarted.stop();
});

test('allowed destinations and DNS resolvers stay reachable, nothing else on them', { skip }, async () => {
  await host.call('isolate', { server, allow: [{ address: `${peer.address}/32`, port: PEER_PORT, protocol: 'tcp' }] });
  assert.equal(await reach(peer.address, PEER_PORT), true);
  assert.equal(await reach(peer.address, PEER_OTHER_PORT), false);
  assert.equal(await reach(peer.address, 53), false);

  await host.call('isolate', { server, dnsResolvers: [peer.address] });
  assert.equal(await reach(peer.address, 53), true, 'DNS over TCP to the resolver');
  assert.equal(await udpAnswered(peer.address, 53), true, 'DNS over UDP to the resolver');
  assert.equal(await udpAnswered(peer.address, PEER_PORT), false);
  assert.equal(await reach(peer.address, PEER_PORT), false, 'the previous policy is gone');

  await host.call('isolate', { server, allow: [{ address: peer.address }] });
  assert.equal(await reach(peer.address, PEER_PORT), true);
  assert.equal(await reach(peer.address, PEER_OTHER_PORT), true);
  assert.equal(await udpAnswered(peer.address, PEER_PORT), true);

  await host.call('isolate', { server, allow: [{ address: peer.address, port: PEER_PORT, protocol: 'udp' }] });
  assert.equal(await udpAnswered(peer.address, PEER_PORT), true);
  assert.equal(await reach(peer.address, PEER_PORT), false, 'only UDP was allowed');
});

test('bad policies are refused with the parameter named, and the isolation in place stays', { skip }, async () => {
  await host.call('isolate', { server });
  const refusals: [unknown, RegExp][] = [
    [
      { server: { address: '10.0.0.1; flush ruleset', port: 80 } },
      /isolation server\.address: "10\.0\.0\.1; flush ruleset" is not an IP address/,
    ],
    [{ server: { address: '10.0.0.0/8', port: 80 } }, /server\.address: "10\.0\.0\.0\/8" must be a single IP address/],
    [{ server: { address: server.address, port: 70000 } }, /isolation server\.port: 70000 is not a port number/],
    [
      { server, allow: [{ address: '10.1.2.3/8' }] },
      /allow\[0\]\.address: "10\.1\.2\.3\/8" has bits set after its \/8 prefix \(the network is 10\.0\.0\.0\/8\)/,
    ],
    [{ server, allow: [{ address: '10.0.0.0/8', protocol: 'icmp' }] }, /allow\[0\]\.protocol: "icmp" is not tcp or udp/],
    [{ server, dnsResolvers: ['dns.example'] }, /dnsResolvers\[0\]: "dns\.example" is not an IP address/],
  ];
  for (const [policy, message] of refusals) await assert.rejects(host.call('isolate', policy), message);
  assert.equal(await host.call('isolationActive'), true);
  assert.equal(await reach(server.address, server.port), true);
  assert.equal(await reach(peer.address, peer.port), false);
});

test('release restores the network and can be repeated', { skip }, async () => {
  await host.call('isolate', { server });
  await host.call('release');
  assert.equal(await host.call('isolationActive'), false);
  assert.equal(await reach(peer.address, peer.port), true);
  const connection = await host.call<number>('open', peer.address, peer.port);
  assert.equal((await echo(connection, 'released')).echoed, true);
  await host.call('release');
  assert.equal(await host.call('isolationActive'), false);
});
