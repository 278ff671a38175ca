/**
 * An agent inside a network namespace (one "host" of several on a machine, the pid namespace
 * shared): it must see its own processes and sockets only. A script runs in a namespace made for
 * the test, next to a `sleep` started there, while the test's own process, server and `sleep` stay
 * outside.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { ProcessInfo, SocketInfo } from '@firebreak/core';
import { AuditTelemetry } from '../src/host/auditd.js';
import { exeOf, startProgram, stopChild, waitFor } from './support/host.js';

const run = promisify(execFile);
const NS = `fb${randomBytes(2).toString('hex')}host`;
const SLEEP = realpathSync('/bin/sleep');
const work = mkdtempSync(join(tmpdir(), 'firebreak-netns-'));

function skipReason(): string | false {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  if (process.getuid?.() !== 0) return 'needs root to create a network namespace';
  const added = spawnSync('ip', ['netns', 'add', NS], { encoding: 'utf8' });
  if (added.error || added.status !== 0) return `cannot create a network namespace here: ${(added.stderr || String(added.error)).trim()}`;
  return false;
}
const skip = skipReason();
// Also at exit: a test that dies must not leave the namespace behind.
process.on('exit', () => spawnSync('ip', ['netns', 'del', NS]));

const children: ChildProcess[] = [];
let rootServer: Server;
let rootPort = 0;
let rootSleep: ChildProcess;
let nsSleep: ChildProcess;

before(async () => {
  if (skip) return;
  await run('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  rootServer = createServer();
  await new Promise<void>((resolve) => rootServer.listen(0, '127.0.0.1', resolve));
  rootPort = (rootServer.address() as AddressInfo).port;
  rootSleep = await startProgram('/bin/sleep', ['30']);
  children.push(rootSleep);
  nsSleep = spawn('ip', ['netns', 'exec', NS, '/bin/sleep', '30'], { stdio: 'ignore' });
  children.push(nsSleep);
  // `ip netns exec` enters the namespace, then becomes sleep (same pid).
  await waitFor(async () => (await exeOf(nsSleep.pid!)) === SLEEP, 'sleep to start in the namespace');
});

after(async () => {
  await Promise.all(children.map(stopChild));
  rootServer?.close();
  spawnSync('ip', ['netns', 'del', NS]);
  rmSync(work, { recursive: true, force: true });
});

/** Whether `pid` runs in the test's namespace, as read from outside; true when it is gone. */
function inNamespaceOrGone(pid: number): boolean {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`) === readlinkSync(`/proc/${nsSleep.pid}/ns/net`);
  } catch {
    return true;
  }
}

interface InsideView {
  self: number;
  port: number;
  processes: ProcessInfo[];
  machine: number[];
  sockets: SocketInfo[];
  events: Record<string, unknown>[];
  audited: Record<string, unknown>[];
}

/** A program run as the audit log has it (auditd's RAW format), by `pid`. */
const auditRun = (pid: number, serial: number): string =>
  [
    `type=SYSCALL msg=audit(1796058132.874:${serial}): arch=c000003e syscall=59 success=yes exit=0 a0=7ffdfbf9a220 a1=448c53f0 a2=448bd1f0 a3=8 items=2 ppid=1 pid=${pid} auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="id" exe="/usr/bin/id" key="firebreak"`,
    `type=EXECVE msg=audit(1796058132.874:${serial}): argc=2 a0="id" a1="${pid}"`,
    `type=CWD msg=audit(1796058132.874:${serial}): cwd="/"`,
  ].join('\n') + '\n';

/** What the host modules see from inside the namespace: processes, sockets, a sampler's first events, audit events kept. */
async function insideView(): Promise<InsideView> {
  const proc = new URL('../src/host/proc.js', import.meta.url).href;
  const auditd = new URL('../src/host/auditd.js', import.meta.url).href;
  const log = join(work, 'inside-audit.log');
  writeFileSync(log, '');
  const script = join(work, 'inside.mjs');
  writeFileSync(
    script,
    `
    import { createServer, connect } from 'node:net';
    import { appendFileSync } from 'node:fs';
    import { ExecutableHasher, listProcesses, listSockets, ProcSampler } from ${JSON.stringify(proc)};
    import { AuditTelemetry } from ${JSON.stringify(auditd)};
    const server = createServer((s) => s.on('error', () => {}));
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = server.address().port;
    const client = connect(port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    const events = [];
    const sampler = new ProcSampler({ hostname: 'ns-host', intervalMs: 60000, hasher: new ExecutableHasher(), onEvents: (e) => events.push(...e) });
    await sampler.sampleOnce();
    // Audit events: one of this process, one of a process gone (which no namespace's agent can place).
    const audited = [];
    const telemetry = new AuditTelemetry({ hostname: 'ns-host', logPath: ${JSON.stringify(log)}, pollMs: 20, onEvents: (e) => audited.push(...e) });
    await telemetry.start();
    const line = ${auditRun.toString()};
    appendFileSync(${JSON.stringify(log)}, line(2147483600, 1) + line(process.pid, 2));
    while (audited.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await telemetry.stop();
    const view = {
      self: process.pid,
      port,
      processes: await listProcesses(),
      machine: (await listProcesses({ sameNetns: false })).map((p) => p.pid),
      sockets: await listSockets(),
      events,
      audited,
    };
    process.stdout.write(JSON.stringify(view));
    process.exit(0);
    `,
  );
  const { stdout } = await run('ip', ['netns', 'exec', NS, process.execPath, script], { timeout: 30_000 });
  return JSON.parse(stdout) as InsideView;
}

test('inside a network namespace: its processes, its sockets, its events, and nothing of the machine around', { skip }, async () => {
  const inside = await insideView();
  const pids = inside.processes.map((p) => p.pid);
  assert.ok(pids.includes(nsSleep.pid!), `the namespace's sleep (${nsSleep.pid}) in ${pids.join(',')}`);
  assert.ok(pids.includes(inside.self), 'the agent itself');
  assert.ok(!pids.includes(process.pid), 'not the test process outside');
  assert.ok(!pids.includes(rootSleep.pid!), 'not the sleep outside');
  // Read from outside, apart: each process listed is in the namespace (when it still runs).
  for (const pid of pids) assert.ok(inNamespaceOrGone(pid), `pid ${pid} is in the namespace`);
  assert.equal(inside.processes.find((p) => p.pid === nsSleep.pid)?.image, SLEEP);
  assert.ok(inside.machine.includes(process.pid) && inside.machine.includes(rootSleep.pid!), 'sameNetns: false sees the whole machine');

  const listener = inside.sockets.find((s) => s.state === 'LISTEN' && s.localPort === inside.port);
  assert.equal(listener?.pid, inside.self);
  if (inside.port !== rootPort) assert.ok(!inside.sockets.some((s) => s.localPort === rootPort), 'the server outside is not seen');

  const created = inside.events.filter((e) => e._kind === 'process_creation').map((e) => e.ProcessId);
  assert.ok(created.includes(nsSleep.pid) && created.includes(inside.self));
  assert.ok(!created.includes(process.pid) && !created.includes(rootSleep.pid));
  for (const pid of created) assert.ok(inNamespaceOrGone(pid as number), `process_creation of pid ${pid}, in the namespace`);
  const outbound = inside.events.find(
    (e) => e._kind === 'network_connection' && e.Initiated === 'true' && e.DestinationPort === inside.port,
  );
  assert.deepEqual([outbound?.ProcessId, outbound?.Computer, outbound?.Baseline], [inside.self, 'ns-host', true]);

  // The audit log is the machine's: inside a namespace, an event of a process gone cannot be placed, and is dropped.
  assert.deepEqual(
    inside.audited.map((e) => e.ProcessId),
    [inside.self],
  );
});

test("auditd events outside the namespace: a process of the namespace is not this host's", { skip }, async () => {
  const log = join(work, 'outside-audit.log');
  writeFileSync(log, '');
  const events: Record<string, unknown>[] = [];
  const telemetry = new AuditTelemetry({ hostname: 'machine', logPath: log, pollMs: 20, onEvents: (batch) => events.push(...batch) });
  await telemetry.start();
  try {
    writeFileSync(log, auditRun(nsSleep.pid!, 1) + auditRun(rootSleep.pid!, 2) + auditRun(2147483600, 3), { flag: 'a' });
    await waitFor(() => events.length >= 2, 'the audit events of this host');
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The machine's own agent keeps an event it cannot place: a process gone ran on the machine.
    assert.deepEqual(
      events.map((e) => e.ProcessId),
      [rootSleep.pid, 2147483600],
    );
  } finally {
    await telemetry.stop();
  }
});
