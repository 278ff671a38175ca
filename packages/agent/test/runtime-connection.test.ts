/**
 * The agent's connection against a WebSocket server on loopback speaking protocol.ts (see
 * support/fake-agent-server.ts), with a real disk queue and state, and commands really signed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { CommandSigner, generateSigningKeys, type CommandPayload, type CommandResult, type SigningKeys } from '@firebreak/core';
import { AgentConnection, agentSocketUrl, type AgentConnectionOptions } from '../src/runtime/connection.js';
import { DiskQueue } from '../src/runtime/queue.js';
import { AgentState } from '../src/runtime/state.js';
import { EventStore, FakeAgentServer, type FakeServerOptions } from './support/fake-agent-server.js';
import { delay, onCleanup, opensslSkip, selfSignedCertificate, until } from './support/runtime.js';

const AGENT_ID = 'agt-0001';
const SECRET = 'secret-0001';

interface Agent {
  connection: AgentConnection;
  state: AgentState;
  queue: DiskQueue;
  log: string[];
  commands: CommandPayload[];
  events: string[];
  stop(): Promise<void>;
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'firebreak-agent-conn-'));
  onCleanup(t, () => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function startServer(t: TestContext, options: Partial<FakeServerOptions> = {}, port = 0): Promise<FakeAgentServer> {
  const server = await new FakeAgentServer({ agentId: AGENT_ID, secret: SECRET, heartbeatMs: 100, ...options }).start(port);
  onCleanup(t, () => server.kill());
  return server;
}

/** An enrolled agent (state, queue, connection) in `dir`, connecting to `server`; reopening `dir` is a restart. */
async function startAgent(
  t: TestContext,
  dir: string,
  server: FakeAgentServer,
  keys: SigningKeys,
  options: Partial<AgentConnectionOptions> & { secret?: string } = {},
): Promise<Agent> {
  const state = await AgentState.open(dir);
  await state.setIdentity({
    agentId: AGENT_ID,
    secret: options.secret ?? SECRET,
    serverUrl: server.url,
    serverPublicKeyPem: keys.publicKeyPem,
    hostname: 'web-1',
    enrolledAt: Date.now(),
  });
  const queue = await DiskQueue.open(join(dir, 'queue'));
  const log: string[] = [];
  const commands: CommandPayload[] = [];
  const events: string[] = [];
  const connection = new AgentConnection({
    state,
    queue,
    hello: () => ({ version: '0.1.0', hostname: 'web-1', os: 'linux', isolated: false, blocks: { sha256: 0, addresses: 0, domains: 0 } }),
    onCommand: async (command) => {
      commands.push(command);
      return { commandId: command.id, actionId: command.actionId, status: 'succeeded', enforcedAt: Date.now(), verification: [] };
    },
    initialBackoffMs: 20,
    maxBackoffMs: 100,
    log: (message) => log.push(message),
    ...options,
  });
  connection.on('connected', () => events.push('connected'));
  connection.on('disconnected', () => events.push('disconnected'));
  connection.on('revoked', () => events.push('revoked'));
  connection.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await connection.close();
    await queue.close();
  };
  onCleanup(t, stop);
  return { connection, state, queue, log, commands, events, stop };
}

function batch(n: number): Record<string, unknown>[] {
  return [
    { _source: 'firebreak-agent', _kind: 'process_creation', Image: `/tmp/step-${n}`, ProcessId: 1000 + n },
    { _source: 'firebreak-agent', _kind: 'network_connection', DestinationIp: '192.0.2.1', DestinationPort: n },
  ];
}

function payload(overrides: Partial<CommandPayload> = {}): CommandPayload {
  const now = Date.now();
  return {
    id: `cmd-${Math.random().toString(36).slice(2)}`,
    actionId: 7,
    agentId: AGENT_ID,
    type: 'isolate',
    params: { allowDns: true },
    issuedAt: now,
    expiresAt: now + 60_000,
    ...overrides,
  } as CommandPayload;
}

test('the socket URL follows the server URL', () => {
  assert.equal(agentSocketUrl('http://127.0.0.1:8080'), 'ws://127.0.0.1:8080/api/v1/agents/connect');
  assert.equal(agentSocketUrl('https://fb.example/prefix'), 'wss://fb.example/prefix/api/v1/agents/connect');
});

test('hello on connect with the bearer credential, events acknowledged and forgotten, heartbeats', async (t) => {
  const server = await startServer(t);
  const agent = await startAgent(t, await tempDir(t), server, generateSigningKeys());
  await until(() => agent.connection.connected, 'the welcome');
  assert.deepEqual(server.upgrades, [{ authorization: `Bearer ${AGENT_ID}.${SECRET}`, accepted: true }]);
  assert.deepEqual(server.hellos, [
    { type: 'hello', version: '0.1.0', hostname: 'web-1', os: 'linux', isolated: false, blocks: { sha256: 0, addresses: 0, domains: 0 } },
  ]);
  assert.deepEqual(agent.events, ['connected']);

  for (let n = 1; n <= 3; n++) assert.equal(await agent.connection.sendEvents(batch(n)), n);
  await until(() => agent.queue.ackedSeq === 3, 'acknowledgements');
  assert.deepEqual(
    [...server.store.batches.entries()],
    [1, 2, 3].map((n) => [n, batch(n)]),
  );
  assert.equal(agent.queue.queued, 0);

  // The welcome set a 100 ms period; heartbeats say what the agent has waiting. The second heartbeat
  // to arrive from now on was sent after the acknowledgements.
  const before = server.heartbeats.length;
  await until(() => server.heartbeats.length >= before + 2, 'heartbeats', 2000);
  const heartbeat = server.heartbeats.at(-1)!;
  assert.equal(heartbeat.isolated, false);
  assert.equal(heartbeat.queued, 0);
  assert.equal((heartbeat as { dropped?: number }).dropped, 0);
  assert.ok(Math.abs(heartbeat.time - Date.now()) < 5000);
  assert.deepEqual(server.violations, []);
});

test('a killed server: events wait on disk, then are replayed in order after it is back, without loss or duplicates', async (t) => {
  const store = new EventStore();
  const first = await startServer(t, { store });
  const dir = await tempDir(t);
  const agent = await startAgent(t, dir, first, generateSigningKeys());
  await until(() => agent.connection.connected, 'the welcome');
  for (let n = 1; n <= 5; n++) await agent.connection.sendEvents(batch(n));
  await until(() => agent.queue.ackedSeq === 5, 'acknowledgement of 1-5');
  // 6 and 7 reach the server, but their acknowledgements are lost with it.
  first.acknowledge = false;
  for (let n = 6; n <= 7; n++) await agent.connection.sendEvents(batch(n));
  await until(() => first.received.length === 7, 'batches 6 and 7 at the server');
  const port = Number(new URL(first.url).port);

  await first.kill();
  await until(() => agent.events.includes('disconnected'), 'the agent to notice');
  for (let n = 8; n <= 15; n++) await agent.connection.sendEvents(batch(n));
  assert.equal(agent.queue.queued, 20);
  const waiting = (await readdir(join(dir, 'queue'))).filter((name) => name.endsWith('.jsonl'));
  assert.ok(waiting.length > 0, 'the offline batches are in segment files');
  const onDisk: number[] = [];
  for (const name of waiting) {
    const lines = (await readFile(join(dir, 'queue', name), 'utf8')).split('\n').filter(Boolean);
    onDisk.push(...lines.map((line) => (JSON.parse(line) as { seq: number }).seq));
  }
  assert.deepEqual(
    onDisk.filter((seq) => seq > 5),
    [6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  );

  const second = await startServer(t, { store }, port);
  // New batches while the backlog is being replayed go after it.
  await until(() => agent.connection.connected, 'the reconnection', 5000);
  for (let n = 16; n <= 18; n++) await agent.connection.sendEvents(batch(n));
  await until(() => agent.queue.ackedSeq === 18, 'acknowledgement of everything');
  // Resolves once the acknowledged segments are deleted.
  await agent.queue.ack(18);

  assert.deepEqual(
    first.received.map((message) => message.seq),
    [1, 2, 3, 4, 5, 6, 7],
  );
  assert.deepEqual(
    second.received.map((message) => message.seq),
    [6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18],
  );
  assert.deepEqual(
    [...store.batches.keys()],
    Array.from({ length: 18 }, (_, i) => i + 1),
  );
  for (const [seq, events] of store.batches) assert.deepEqual(events, batch(seq));
  assert.equal(agent.queue.queued, 0);
  assert.deepEqual(
    (await readdir(join(dir, 'queue'))).filter((name) => name.endsWith('.jsonl')),
    [],
  );
  assert.deepEqual([...first.violations, ...second.violations], []);
});

test('batches never acknowledged are sent again after an agent restart, and acknowledged ones are not', async (t) => {
  const server = await startServer(t);
  const dir = await tempDir(t);
  const keys = generateSigningKeys();
  server.acknowledge = false;
  const first = await startAgent(t, dir, server, keys);
  await until(() => first.connection.connected, 'the welcome');
  for (let n = 1; n <= 3; n++) await first.connection.sendEvents(batch(n));
  await until(() => server.received.length === 3, 'three batches');
  await first.stop();

  server.acknowledge = true;
  const second = await startAgent(t, dir, server, keys);
  await until(() => second.queue.ackedSeq === 3, 'acknowledgement after the restart');
  assert.deepEqual(
    server.received.map((message) => message.seq),
    [1, 2, 3, 1, 2, 3],
  );
  await second.stop();

  const third = await startAgent(t, dir, server, keys);
  await until(() => third.connection.connected, 'the third connection');
  assert.equal(await third.connection.sendEvents(batch(4)), 4);
  await until(() => third.queue.ackedSeq === 4, 'batch 4');
  assert.deepEqual(
    server.received.map((message) => message.seq),
    [1, 2, 3, 1, 2, 3, 4],
  );
});

test('a verified command is remembered before it is carried out, and its result sent back', async (t) => {
  const keys = generateSigningKeys();
  const signer = new CommandSigner(keys.privateKeyPem);
  const server = await startServer(t);
  const dir = await tempDir(t);
  let seenBeforeActing: unknown = null;
  const agent = await startAgent(t, dir, server, keys, {
    onCommand: async (command): Promise<CommandResult> => {
      seenBeforeActing = JSON.parse(await readFile(join(dir, 'seen-commands.json'), 'utf8')).commands[command.id];
      return {
        commandId: command.id,
        actionId: command.actionId,
        status: 'succeeded',
        enforcedAt: 1234,
        verification: [{ name: 'server reachable', ok: true }],
        output: { table: 'firebreak_isolation' },
      };
    },
  });
  await until(() => agent.connection.connected, 'the welcome');
  const command = payload();
  server.sendCommand(signer.sign(command));
  await until(() => server.results.length === 1, 'the result');
  assert.equal(seenBeforeActing, command.expiresAt);
  assert.deepEqual(server.results[0], {
    commandId: command.id,
    actionId: 7,
    status: 'succeeded',
    enforcedAt: 1234,
    verification: [{ name: 'server reachable', ok: true }],
    output: { table: 'firebreak_isolation' },
  });
});

test('a command whose handler throws is reported as failed', async (t) => {
  const keys = generateSigningKeys();
  const server = await startServer(t);
  const agent = await startAgent(t, await tempDir(t), server, keys, {
    onCommand: async () => {
      throw new Error('nft: no such table');
    },
  });
  await until(() => agent.connection.connected, 'the welcome');
  const command = payload({ actionId: 9 });
  server.sendCommand(new CommandSigner(keys.privateKeyPem).sign(command));
  await until(() => server.results.length === 1, 'the result');
  assert.deepEqual(server.results[0], {
    commandId: command.id,
    actionId: 9,
    status: 'failed',
    error: 'nft: no such table',
    verification: [],
  });
});

test('unsigned, wrongly signed, misaddressed, expired and replayed commands are refused with reasons and never acted on', async (t) => {
  const keys = generateSigningKeys();
  const signer = new CommandSigner(keys.privateKeyPem);
  const impostor = new CommandSigner(generateSigningKeys().privateKeyPem);
  const server = await startServer(t);
  const dir = await tempDir(t);
  const agent = await startAgent(t, dir, server, keys);
  await until(() => agent.connection.connected, 'the welcome');

  const accepted = payload({ actionId: 1 });
  server.sendCommand(signer.sign(accepted));
  await until(() => server.results.length === 1, 'the accepted command');
  assert.equal(server.results[0].status, 'succeeded');

  const unsigned = payload({ actionId: 2 });
  const forged = payload({ actionId: 3 });
  const elsewhere = payload({ actionId: 4, agentId: 'agt-other' });
  const expired = payload({ actionId: 5, issuedAt: Date.now() - 600_000, expiresAt: Date.now() - 300_000 });
  const tampered = payload({ actionId: 6 });
  const signedTampered = signer.sign(tampered);
  const swapped = Buffer.from(JSON.stringify({ ...tampered, type: 'release' })).toString('base64');
  server.sendCommand({ payload: Buffer.from(JSON.stringify(unsigned)).toString('base64') } as never);
  server.sendCommand(impostor.sign(forged));
  server.sendCommand(signer.sign(elsewhere));
  server.sendCommand(signer.sign(expired));
  server.sendCommand({ payload: swapped, signature: signedTampered.signature });
  server.sendCommand(signer.sign(accepted));
  await until(() => server.results.length === 7, 'six refusals');

  const refusals = server.results.slice(1).map(({ commandId, actionId, status, error }) => ({ commandId, actionId, status, error }));
  assert.deepEqual(refusals, [
    { commandId: unsigned.id, actionId: 2, status: 'refused', error: 'unsigned command' },
    { commandId: forged.id, actionId: 3, status: 'refused', error: 'bad signature' },
    { commandId: elsewhere.id, actionId: 4, status: 'refused', error: 'command for agent agt-other' },
    { commandId: expired.id, actionId: 5, status: 'refused', error: 'expired command' },
    { commandId: tampered.id, actionId: 6, status: 'refused', error: 'bad signature' },
    { commandId: accepted.id, actionId: 1, status: 'refused', error: 'replayed command' },
  ]);
  assert.deepEqual(
    agent.commands.map((command) => command.id),
    [accepted.id],
  );
  assert.ok(agent.log.some((line) => line === `refused command ${forged.id}: bad signature`));
  assert.deepEqual(Object.keys(JSON.parse(await readFile(join(dir, 'seen-commands.json'), 'utf8')).commands), [accepted.id]);
});

test('the replay memory survives an agent restart', async (t) => {
  const keys = generateSigningKeys();
  const signer = new CommandSigner(keys.privateKeyPem);
  const server = await startServer(t);
  const dir = await tempDir(t);
  const command = signer.sign(payload());
  const first = await startAgent(t, dir, server, keys);
  await until(() => first.connection.connected, 'the welcome');
  server.sendCommand(command);
  await until(() => server.results.length === 1, 'the first result');
  await first.stop();

  const second = await startAgent(t, dir, server, keys);
  await until(() => second.connection.connected, 'the welcome after the restart');
  server.sendCommand(command);
  await until(() => server.results.length === 2, 'the second result');
  assert.equal(server.results[1].status, 'refused');
  assert.equal(server.results[1].error, 'replayed command');
  assert.equal(first.commands.length, 1);
  assert.equal(second.commands.length, 0);
});

test('a result ready while the connection is down is sent after reconnecting', async (t) => {
  const keys = generateSigningKeys();
  const store = new EventStore();
  const first = await startServer(t, { store });
  let finish: (result: CommandResult) => void = () => undefined;
  const agent = await startAgent(t, await tempDir(t), first, keys, {
    onCommand: (command) => {
      agent.commands.push(command);
      return new Promise((resolve) => (finish = resolve));
    },
  });
  await until(() => agent.connection.connected, 'the welcome');
  const command = payload({ type: 'collect_evidence', params: { pid: 1 } });
  first.sendCommand(new CommandSigner(keys.privateKeyPem).sign(command));
  await until(() => agent.commands.length === 1, 'the command to start');
  const port = Number(new URL(first.url).port);
  await first.kill();
  await until(() => !agent.connection.connected, 'the disconnection');

  agent.connection.sendEvidence({ commandId: command.id, actionId: 7, sha256: 'ab'.repeat(32), bundle: '{"processes":[]}' });
  finish({ commandId: command.id, actionId: 7, status: 'succeeded', verification: [], output: { sha256: 'ab'.repeat(32) } });
  await delay(50);
  assert.deepEqual(first.results, []);

  const second = await startServer(t, { store }, port);
  await until(() => second.results.length === 1, 'the result after reconnecting', 5000);
  assert.equal(second.results[0].commandId, command.id);
  assert.equal(second.results[0].status, 'succeeded');
  assert.deepEqual(second.evidence, [{ commandId: command.id, actionId: 7, sha256: 'ab'.repeat(32), bundle: '{"processes":[]}' }]);
});

test('the latest inventory given while disconnected is sent once connected', async (t) => {
  const keys = generateSigningKeys();
  const server = await startServer(t);
  const port = Number(new URL(server.url).port);
  await server.kill();
  const agent = await startAgent(t, await tempDir(t), server, keys);
  const inventory = (collectedAt: number) => ({ collectedAt, packages: [], executables: [], listening: [], persistence: [] });
  agent.connection.sendInventory(inventory(1));
  agent.connection.sendInventory(inventory(2));
  const back = await startServer(t, {}, port);
  await until(() => back.inventories.length === 1, 'the inventory', 5000);
  assert.deepEqual(back.inventories, [inventory(2)]);
  agent.connection.sendInventory(inventory(3));
  await until(() => back.inventories.length === 2, 'the live inventory');
  assert.deepEqual(back.inventories[1], inventory(3));
});

test('a server silent for three heartbeats is dropped and connected to again; a talking one is kept', async (t) => {
  const keys = generateSigningKeys();
  const talking = await startServer(t, { heartbeatMs: 50 });
  const steady = await startAgent(t, await tempDir(t), talking, keys);
  await delay(600);
  assert.equal(talking.connections, 1);
  assert.ok(talking.heartbeats.length >= 5, `${talking.heartbeats.length} heartbeats`);
  assert.deepEqual(steady.events, ['connected']);
  await steady.stop();

  const hung = await startServer(t, { heartbeatMs: 50 });
  const agent = await startAgent(t, await tempDir(t), hung, keys);
  await until(() => agent.connection.connected, 'the welcome');
  hung.silent = true;
  const silentSince = Date.now();
  await until(() => hung.connections === 2, 'a new connection', 3000);
  // The last word came at most one period before `silentSince`: three periods of silence end 100 ms after it at the earliest.
  const took = Date.now() - silentSince;
  assert.ok(took >= 100, `reconnected after ${took} ms, before three heartbeats of silence`);
  assert.ok(agent.log.some((line) => /no word from the server for \d+ ms/.test(line)));
  assert.deepEqual(agent.events.slice(0, 2), ['connected', 'disconnected']);
});

test('a credential refused with 401 stops the agent from connecting', async (t) => {
  const server = await startServer(t);
  const agent = await startAgent(t, await tempDir(t), server, generateSigningKeys(), { secret: 'revoked-secret' });
  await until(() => agent.events.includes('revoked'), 'the revocation');
  await delay(300);
  // With a 20 ms backoff, retrying would have made several more attempts by now.
  const attempts = server.upgrades.filter((upgrade) => upgrade.authorization === `Bearer ${AGENT_ID}.revoked-secret`);
  assert.deepEqual(attempts, [{ authorization: `Bearer ${AGENT_ID}.revoked-secret`, accepted: false }]);
  assert.ok(agent.log.some((line) => /HTTP 401.*refused this agent's credential/.test(line)));
  assert.equal(agent.connection.connected, false);
});

test('a server that is down is tried again with growing delays', async (t) => {
  const server = await startServer(t);
  const port = Number(new URL(server.url).port);
  await server.kill();
  const agent = await startAgent(t, await tempDir(t), server, generateSigningKeys(), { initialBackoffMs: 20, maxBackoffMs: 160 });
  await until(() => agent.log.length >= 5, 'five failed attempts', 5000);
  const delays = agent.log.slice(0, 5).map((line) => Number(/connecting again in (\d+) ms/.exec(line)?.[1]));
  // Each line names the URL and why the attempt failed (ECONNREFUSED, unless another process took the port meanwhile).
  for (const line of agent.log.slice(0, 5)) {
    assert.match(line, new RegExp(`^ws://127\\.0\\.0\\.1:${port}/api/v1/agents/connect: \\S.*; connecting again in \\d+ ms$`));
  }
  // Each between half and all of 20 × 2^n ms, capped at 160.
  delays.forEach((ms, n) => {
    const ceiling = Math.min(160, 20 * 2 ** n);
    assert.ok(ms >= ceiling / 2 && ms <= ceiling, `attempt ${n}: ${ms} ms`);
  });
  const back = await startServer(t, {}, port);
  await until(() => agent.connection.connected, 'the connection once the server is up', 5000);
  assert.equal(back.connections, 1);
});

test('a batch refused for good is dropped with its reason; one the server could not take yet is sent again', async (t) => {
  const server = await startServer(t);
  const agent = await startAgent(t, await tempDir(t), server, generateSigningKeys());
  await until(() => agent.connection.connected, 'the welcome');
  await agent.connection.sendEvents(batch(1));
  await until(() => agent.queue.ackedSeq === 1, 'batch 1');

  server.nacks.push({ error: 'events are not objects', retry: false });
  await agent.connection.sendEvents(batch(2));
  await agent.connection.sendEvents(batch(3));
  await until(() => agent.queue.ackedSeq === 3, 'batch 3');
  assert.deepEqual([...server.store.batches.keys()], [1, 3]);
  assert.ok(agent.log.some((line) => line === 'server refused event batch 2 (events are not objects); dropped'));

  server.nacks.push({ error: 'store busy', retry: true });
  await agent.connection.sendEvents(batch(4));
  await agent.connection.sendEvents(batch(5));
  await until(() => agent.queue.ackedSeq === 5, 'batches 4 and 5');
  assert.deepEqual([...server.store.batches.keys()], [1, 3, 4, 5]);
  assert.deepEqual(server.store.batches.get(4), batch(4));
  assert.ok(agent.log.some((line) => line.startsWith('server could not take event batch 4 (store busy)')));
  assert.deepEqual(server.violations, []);
});

test('wss: the agent trusts the CA it is given', { skip: opensslSkip }, async (t) => {
  const dir = await tempDir(t);
  const tls = await selfSignedCertificate(dir);
  const server = await startServer(t, { tls });
  const untrusting = await startAgent(t, join(dir, 'untrusting'), server, generateSigningKeys());
  await until(() => untrusting.log.length > 0, 'a refused certificate');
  assert.match(untrusting.log[0], /self.signed/i);
  assert.equal(server.connections, 0);
  await untrusting.stop();

  const agent = await startAgent(t, join(dir, 'trusting'), server, generateSigningKeys(), { ca: tls.cert });
  await until(() => agent.connection.connected, 'the welcome over TLS');
  await agent.connection.sendEvents(batch(1));
  await until(() => agent.queue.ackedSeq === 1, 'batch 1 over TLS');
});
