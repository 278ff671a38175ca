/** The /proc reader and sampler, on real processes and sockets of this machine. */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ProcessInfo } from '@firebreak/core';
import { ExecutableHasher, listProcesses, listSockets, ProcSampler } from '../src/host/proc.js';
import { exeOf, sha256Of, startNodeScript, startProgram, startTicksOf, stopChild, waitFor } from './support/host.js';

const skip = process.platform !== 'linux' ? '/proc is Linux only' : false;
const work = mkdtempSync(join(tmpdir(), 'firebreak-proc-'));
const NODE = realpathSync(process.execPath);
const SLEEP = realpathSync('/bin/sleep');
let nodeHash = '';
let server: Server;
let serverPort = 0;
/** Client ports the server saw, in order of connection. */
const accepted: number[] = [];
let udp: UdpSocket;
let udpPort = 0;
const children: ChildProcess[] = [];

before(async () => {
  nodeHash = sha256Of(NODE);
  server = createServer((socket) => {
    accepted.push(socket.remotePort!);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serverPort = (server.address() as AddressInfo).port;
  udp = createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  udpPort = udp.address().port;
});

after(async () => {
  await Promise.all(children.map(stopChild));
  server?.close();
  udp?.close();
  rmSync(work, { recursive: true, force: true });
});

/** A node child connected over TCP to the test's server and over UDP to its UDP socket, until killed. */
async function connectedClient(cwd: string): Promise<ChildProcess> {
  const script = `
    const socket = require('net').connect(${serverPort}, '127.0.0.1', () => {
      const udp = require('dgram').createSocket('udp4');
      udp.connect(${udpPort}, '127.0.0.1', () => console.log('ready'));
    });
    setInterval(() => {}, 1000);`;
  const child = await startNodeScript(script, { cwd });
  children.push(child);
  return child;
}

test('listProcesses: a child with its image, command line, parent, start ticks, user, directory and hash', { skip }, async () => {
  const dir = join(work, 'cwd of sleep');
  mkdirSync(dir);
  const sleep = await startProgram('/bin/sleep', ['30', '0.5'], { cwd: dir });
  children.push(sleep);
  const hasher = new ExecutableHasher();
  const processes = await listProcesses({ hasher });
  const found = processes.find((p) => p.pid === sleep.pid);
  assert.ok(found, `pid ${sleep.pid} among ${processes.length} processes`);
  assert.deepEqual(found, {
    pid: sleep.pid,
    ppid: process.pid,
    startTime: startTicksOf(sleep.pid!),
    image: SLEEP,
    commandLine: '/bin/sleep 30 0.5',
    user: 'root',
    uid: process.getuid!(),
    sha256: sha256Of(SLEEP),
    cwd: dir,
  });
  const self = processes.find((p) => p.pid === process.pid);
  assert.equal(self?.image, NODE);
  assert.equal(self?.sha256, nodeHash);
  assert.ok(
    processes.every((p) => p.image !== ''),
    'kernel threads have no executable and are left out',
  );
  const unhashed = await listProcesses();
  assert.equal(unhashed.find((p) => p.pid === sleep.pid)?.sha256, null, 'without a hasher, no hash');
  await stopChild(sleep);
});

test('a process whose executable was deleted keeps its path, is flagged, and is hashed through /proc', { skip }, async () => {
  const copy = join(work, 'dropper');
  copyFileSync(SLEEP, copy);
  const child = await startProgram(copy, ['30']);
  children.push(child);
  unlinkSync(copy);
  await waitFor(async () => (await exeOf(child.pid!))?.endsWith(' (deleted)') ?? false, 'the kernel to see the deletion');
  const found = (await listProcesses({ hasher: new ExecutableHasher() })).find((p) => p.pid === child.pid);
  assert.equal(found?.image, copy);
  assert.equal(found?.imageDeleted, true);
  assert.equal(found?.sha256, sha256Of(SLEEP));
  await stopChild(child);
});

test('ExecutableHasher: the file hash, once per file version, none past the cap or for what is no file', async () => {
  const file = join(work, 'tool');
  writeFileSync(file, 'first version');
  const hasher = new ExecutableHasher({ maxBytes: 64 });
  assert.equal(await hasher.hash(file), sha256Of(file));
  assert.equal(await hasher.hash(file), sha256Of(file));
  assert.equal(hasher.size, 1, 'the second call is answered from the cache');
  writeFileSync(file, 'second version, longer');
  // A different modification time, even within the file system's time resolution.
  utimesSync(file, new Date(), new Date(Date.now() + 5000));
  assert.equal(await hasher.hash(file), sha256Of(file), 'a changed file is hashed again');
  assert.equal(hasher.size, 2);
  writeFileSync(file, 'x'.repeat(65));
  assert.equal(await hasher.hash(file), null, 'larger than maxBytes');
  assert.equal(await hasher.hash(work), null, 'a directory');
  assert.equal(await hasher.hash(join(work, 'missing')), null, 'a missing file');
  const fifo = join(work, 'fifo');
  execFileSync('mkfifo', [fifo]);
  assert.equal(await hasher.hash(fifo), null, 'a FIFO (without waiting for a writer)');
  const [a, b] = await Promise.all([hasher.hash(SLEEP), new ExecutableHasher().hash(SLEEP)]);
  assert.equal(a, null, 'sleep is larger than 64 bytes');
  assert.equal(b, sha256Of(SLEEP));
});

test('listSockets: listeners and connections with their owning pids, IPv4-mapped addresses as IPv4', { skip }, async () => {
  const dual = createServer((socket) => socket.on('error', () => undefined));
  await new Promise<void>((resolve) => dual.listen(0, '::', resolve));
  const dualPort = (dual.address() as AddressInfo).port;
  const script = `
    let open = 0;
    const ready = () => ++open === 2 && console.log('ready');
    require('net').connect(${serverPort}, '127.0.0.1', ready);
    require('net').connect(${dualPort}, '127.0.0.1', ready);
    setInterval(() => {}, 1000);`;
  const client = await startNodeScript(script);
  children.push(client);
  try {
    const sockets = await listSockets();
    const listener = sockets.find((s) => s.state === 'LISTEN' && s.localPort === serverPort);
    assert.deepEqual(listener, {
      protocol: 'tcp',
      localAddress: '127.0.0.1',
      localPort: serverPort,
      remoteAddress: '0.0.0.0',
      remotePort: 0,
      state: 'LISTEN',
      pid: process.pid,
    });
    const outbound = sockets.find((s) => s.protocol === 'tcp' && s.state === 'ESTABLISHED' && s.remotePort === serverPort);
    assert.equal(outbound?.pid, client.pid);
    assert.equal(outbound?.remoteAddress, '127.0.0.1');
    const dualListener = sockets.find((s) => s.state === 'LISTEN' && s.localPort === dualPort);
    assert.deepEqual([dualListener?.protocol, dualListener?.localAddress, dualListener?.pid], ['tcp6', '::', process.pid]);
    // The accepted side of an IPv4 connection to a dual-stack listener is an IPv6 socket with mapped addresses.
    const mapped = sockets.find((s) => s.protocol === 'tcp6' && s.state === 'ESTABLISHED' && s.localPort === dualPort);
    assert.deepEqual([mapped?.localAddress, mapped?.remoteAddress, mapped?.pid], ['127.0.0.1', '127.0.0.1', process.pid]);
    const udpSocket = sockets.find((s) => s.protocol === 'udp' && s.localPort === udpPort);
    assert.deepEqual([udpSocket?.state, udpSocket?.pid], ['UNCONN', process.pid]);
    const withoutOwners = await listSockets({ owners: false });
    assert.ok(withoutOwners.length > 0 && withoutOwners.every((s) => s.pid === null));
  } finally {
    await stopChild(client);
    dual.close();
  }
});

test('ProcSampler: baseline, then new processes, their connections and their end, as events', { skip }, async (t) => {
  const events: Record<string, unknown>[] = [];
  const created: ProcessInfo[] = [];
  const sampler = new ProcSampler({
    hostname: 'test-host',
    intervalMs: 60_000,
    hasher: new ExecutableHasher(),
    onEvents: (batch) => events.push(...batch),
    onProcess: (p) => created.push(p),
  });
  await sampler.sampleOnce();
  const self = events.find((e) => e._kind === 'process_creation' && e.ProcessId === process.pid);
  assert.equal(self?.Baseline, true, 'what runs already is reported once, as the baseline');
  assert.equal(self?.Hashes, `SHA256=${nodeHash}`);
  assert.ok(
    events.every((e) => e.Baseline === true),
    'every baseline event is flagged',
  );
  assert.ok(created.some((p) => p.pid === process.pid));
  events.length = 0;
  created.length = 0;

  const dir = realpathSync(work);
  const spawnedAt = Date.now();
  const acceptedBefore = accepted.length;
  const client = await connectedClient(dir);
  await waitFor(() => accepted.length > acceptedBefore, 'the server to accept the client');
  const clientPort = accepted[acceptedBefore]!;
  await sampler.sampleOnce();
  const creation = events.find((e) => e._kind === 'process_creation' && e.ProcessId === client.pid);
  assert.ok(creation, `a process_creation for pid ${client.pid} in ${JSON.stringify(events.map((e) => [e._kind, e.ProcessId]))}`);
  const { '@timestamp': timestamp, CommandLine: commandLine, ...rest } = creation;
  assert.deepEqual(rest, {
    _source: 'firebreak-agent',
    _kind: 'process_creation',
    Computer: 'test-host',
    Image: NODE,
    ProcessId: client.pid,
    ProcessStartTicks: startTicksOf(client.pid!),
    ParentProcessId: process.pid,
    ParentImage: NODE,
    ParentCommandLine: readFileSync('/proc/self/cmdline', 'utf8').replace(/\0$/, '').replaceAll('\0', ' '),
    User: 'root',
    CurrentDirectory: dir,
    Hashes: `SHA256=${nodeHash}`,
  });
  assert.match(String(commandLine), /^\S+ -e .*require\('net'\)\.connect/s);
  const started = Date.parse(String(timestamp));
  assert.ok(Math.abs(started - spawnedAt) < 1500, `start time ${timestamp} near the spawn (${new Date(spawnedAt).toISOString()})`);
  assert.deepEqual(
    created.map((p) => p.pid),
    events.filter((e) => e._kind === 'process_creation').map((e) => e.ProcessId),
    'onProcess hears of each new process',
  );

  const outbound = events.find((e) => e._kind === 'network_connection' && e.ProcessId === client.pid && e.Protocol === 'tcp');
  assert.deepEqual(outbound && { ...outbound, '@timestamp': undefined }, {
    _source: 'firebreak-agent',
    _kind: 'network_connection',
    '@timestamp': undefined,
    Computer: 'test-host',
    Image: NODE,
    ProcessId: client.pid,
    ProcessStartTicks: creation.ProcessStartTicks,
    User: 'root',
    Protocol: 'tcp',
    Initiated: 'true',
    SourceIp: '127.0.0.1',
    SourcePort: clientPort,
    DestinationIp: '127.0.0.1',
    DestinationPort: serverPort,
    DestinationIsIpv6: 'false',
  });
  const inbound = events.find((e) => e._kind === 'network_connection' && e.ProcessId === process.pid && e.SourcePort === clientPort);
  assert.deepEqual(
    inbound && [inbound.Initiated, inbound.DestinationPort, inbound.Image],
    ['false', serverPort, NODE],
    'the accepted end: the remote side initiated it',
  );
  const udpEvent = events.find((e) => e._kind === 'network_connection' && e.ProcessId === client.pid && e.Protocol === 'udp');
  assert.deepEqual(udpEvent && [udpEvent.Initiated, udpEvent.DestinationIp, udpEvent.DestinationPort], ['true', '127.0.0.1', udpPort]);

  events.length = 0;
  await sampler.sampleOnce();
  assert.equal(events.filter((e) => e.ProcessId === client.pid).length, 0, 'nothing new about the client: no event again');

  await stopChild(client);
  await sampler.sampleOnce();
  const end = events.find((e) => e._kind === 'process_termination' && e.ProcessId === client.pid);
  assert.deepEqual(end && [end.Image, end.ProcessStartTicks, end.Computer], [NODE, creation.ProcessStartTicks, 'test-host']);

  // What a sample costs here, steady state (nothing new but what the machine itself does).
  const durations: number[] = [];
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < 20; i++) {
    const start = performance.now();
    await sampler.sampleOnce();
    durations.push(performance.now() - start);
  }
  const cpu = process.cpuUsage(cpuBefore);
  durations.sort((a, b) => a - b);
  const processes = (await listProcesses()).length;
  t.diagnostic(
    `sample cost: p50 ${durations[10]!.toFixed(1)} ms, max ${durations[19]!.toFixed(1)} ms, CPU ${((cpu.user + cpu.system) / 1000 / 20).toFixed(1)} ms per sample, ${processes} processes`,
  );
  assert.ok(durations[10]! < 1000, 'a sample takes well under a second');
});

test('ProcSampler: a process that execs another program is reported again, not as ended', { skip }, async () => {
  const events: Record<string, unknown>[] = [];
  const sampler = new ProcSampler({
    hostname: 'h',
    intervalMs: 60_000,
    hasher: new ExecutableHasher(),
    onEvents: (b) => events.push(...b),
  });
  await sampler.sampleOnce();
  const shell = spawn('/bin/sh', ['-c', 'read line; exec /bin/sleep 30'], { stdio: ['pipe', 'ignore', 'ignore'] });
  children.push(shell);
  const sh = realpathSync('/bin/sh');
  await waitFor(async () => (await exeOf(shell.pid!)) === sh, 'the shell to start');
  events.length = 0;
  await sampler.sampleOnce();
  assert.equal(events.find((e) => e.ProcessId === shell.pid)?.Image, sh);
  // Long enough after the fork that a time taken from the start ticks would show.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const execAt = Date.now();
  shell.stdin!.end('go\n');
  await waitFor(async () => (await exeOf(shell.pid!)) === SLEEP, 'the exec');
  events.length = 0;
  await sampler.sampleOnce();
  const mine = events.filter((e) => e.ProcessId === shell.pid);
  assert.deepEqual(
    mine.map((e) => [e._kind, e.Image, e.ProcessStartTicks]),
    [['process_creation', SLEEP, startTicksOf(shell.pid!)]],
  );
  assert.ok(Date.parse(String(mine[0]!['@timestamp'])) >= execAt, 'timed when the exec was seen, not at the fork');
  await stopChild(shell);
});

test('ProcSampler.start samples on its own until stopped', { skip }, async () => {
  let batches = 0;
  const sampler = new ProcSampler({ hostname: 'h', intervalMs: 20, hasher: new ExecutableHasher(), onEvents: () => batches++ });
  sampler.start();
  await waitFor(() => batches >= 1, 'the baseline batch');
  await sampler.stop();
  const sleep = await startProgram('/bin/sleep', ['30']);
  children.push(sleep);
  const before = batches;
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(batches, before, 'no sample after stop()');
  await stopChild(sleep);
});
