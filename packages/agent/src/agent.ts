/**
 * `firebreak agent`: enrolls once, then keeps one connection to the server, sends what the host
 * does (the /proc sampler always; auditd when the kernel audits and the agent is not confined to a
 * network namespace), sends its inventory when it changes, and carries out signed commands.
 */
import { readdir, stat } from 'node:fs/promises';
import { hostname as osHostname, release as osRelease } from 'node:os';
import { join } from 'node:path';
import type { Inventory, ProcessInfo } from '@firebreak/core';
import { Executor, serverEndpoint } from './executor.js';
import { AuditTelemetry } from './host/auditd.js';
import { collectInventory, inventoryDigest } from './host/inventory.js';
import { ExecutableHasher, ProcSampler } from './host/proc.js';
import { AgentConnection } from './runtime/connection.js';
import { enroll } from './runtime/enroll.js';
import { stderrLog, type Log } from './runtime/log.js';
import { DiskQueue } from './runtime/queue.js';
import { AgentState, DEFAULT_STATE_DIR } from './runtime/state.js';
import { agentVersion } from './runtime/version.js';

export interface AgentOptions {
  /** Needed for the first start (enrollment); later the state dir's identity names the server. */
  serverUrl?: string;
  enrollToken?: string;
  stateDir?: string;
  /** Default: the machine's host name. */
  hostname?: string;
  /** How often /proc is sampled (default 500 ms). */
  sampleIntervalMs?: number;
  /** How often the inventory is taken (default 5 minutes); sent only when it changed. */
  inventoryIntervalMs?: number;
  /** auditd telemetry: `auto` uses it when kernel auditing is on (default), `off` never. */
  auditd?: 'auto' | 'off';
  /** PEM of a CA to trust for an https server. */
  ca?: string;
  /** Offline event queue on disk, bytes at most (default 256 MiB). */
  queueBytes?: number;
  log?: Log;
}

export interface RunningAgent {
  agentId: string;
  hostname: string;
  connection: AgentConnection;
  /** Whether auditd feeds the agent (else the /proc sampler alone). */
  auditd: boolean;
  close(): Promise<void>;
}

/**
 * How often /proc is sampled by default. Without auditd this bounds how soon a new process or
 * connection is seen: at 500 ms containment stays within a second (bench/contain), for about 8 ms
 * of CPU a sample on a host with ~90 processes (under 2% of a core).
 */
export const DEFAULT_SAMPLE_MS = 500;

export class AgentError extends Error {
  override name = 'AgentError';
}

export async function runAgent(options: AgentOptions): Promise<RunningAgent> {
  const log = options.log ?? stderrLog;
  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  const state = await AgentState.open(stateDir);
  const identity = state.identity ?? (await enrollNow(state, options));
  const hostname = identity.hostname;
  const hasher = new ExecutableHasher();
  const queue = await DiskQueue.open(join(stateDir, 'queue'), { maxBytes: options.queueBytes, onWarning: log });
  // The connection is made first and started last: commands reach the executor only once it has put back what was in force.
  const live: AgentConnection = new AgentConnection({
    state,
    queue,
    log,
    ca: options.ca,
    isolated: () => executor.isolated,
    hello: () => ({
      version: agentVersion(),
      hostname,
      os: `linux ${osRelease()}`,
      isolated: executor.isolated,
      blocks: { sha256: state.blocks.sha256.length, addresses: state.blocks.addresses.length, domains: state.blocks.domains.length },
    }),
    onCommand: (command) => executor.execute(command),
  });
  const executor = new Executor({
    state,
    hasher,
    server: await serverEndpoint(identity.serverUrl),
    hostname,
    sendEvidence: (message) => live.sendEvidence(message),
    reportBlockedExecution: (process, killed, error) => void live.sendEvents([blockedExecutionEvent(hostname, process, killed, error)]),
    log,
  });
  await executor.restore();
  live.on('revoked', (message) => log(`credential refused by the server: ${message}; enroll again`));
  live.start();

  const send = (events: Record<string, unknown>[]): void =>
    void live.sendEvents(events).catch((error: Error) => log(`events not queued: ${error.message}`));
  const sampler = new ProcSampler({
    hostname,
    intervalMs: options.sampleIntervalMs ?? DEFAULT_SAMPLE_MS,
    hasher,
    onEvents: send,
    onProcess: (process) => executor.onProcess(process),
    onError: (error) => log(`/proc sample: ${error.message}`),
  });
  sampler.start();
  const audit = await startAuditd(options.auditd ?? 'auto', hostname, send, log);
  const inventory = inventoryLoop(hasher, options.inventoryIntervalMs ?? 5 * 60_000, (inv) => live.sendInventory(inv), log);
  log(`agent ${identity.agentId} (${hostname}) reporting to ${identity.serverUrl}${audit ? ' with auditd' : ''}`);
  return {
    agentId: identity.agentId,
    hostname,
    connection: live,
    auditd: audit !== undefined,
    close: async () => {
      clearInterval(inventory);
      await sampler.stop();
      await audit?.stop();
      executor.stop();
      await live.close();
      await queue.close();
    },
  };
}

async function enrollNow(state: AgentState, options: AgentOptions): Promise<NonNullable<AgentState['identity']>> {
  if (!options.serverUrl || !options.enrollToken)
    throw new AgentError(
      `${state.dir} holds no enrollment: give --server URL and --enroll-token TOKEN (from "firebreak agents enroll-token")`,
    );
  const identity = await enroll({
    serverUrl: options.serverUrl,
    enrollToken: options.enrollToken,
    hostname: options.hostname ?? osHostname(),
    os: 'linux',
    ca: options.ca,
  }).catch((error: Error) => {
    throw new AgentError(error.message);
  });
  await state.setIdentity(identity);
  return identity;
}

/**
 * auditd is machine-wide: inside a network namespace (one of several "hosts" on a machine) its
 * events would belong to every host at once, so there the sampler speaks alone.
 */
async function startAuditd(
  mode: 'auto' | 'off',
  hostname: string,
  send: (events: Record<string, unknown>[]) => void,
  log: Log,
): Promise<AuditTelemetry | undefined> {
  if (mode === 'off') return undefined;
  if (await inNetworkNamespace()) {
    log('auditd telemetry off: the agent runs in a network namespace of its own; the /proc sampler reports this host');
    return undefined;
  }
  const available = await AuditTelemetry.available();
  if (!available.ok) {
    log(`auditd telemetry off: ${available.reason}; the /proc sampler reports processes and connections`);
    return undefined;
  }
  const audit = new AuditTelemetry({ hostname, onEvents: send, onError: (error) => log(`auditd: ${error.message}`) });
  await audit.start();
  return audit;
}

/**
 * Whether the agent runs in a network namespace of its own: another one than pid 1's, or (where pid 1's
 * cannot be read, as in some sandboxes) one of the named namespaces `ip netns` keeps under /run/netns.
 */
async function inNetworkNamespace(): Promise<boolean> {
  const own = await stat('/proc/self/ns/net');
  const init = await stat('/proc/1/ns/net').catch(() => null);
  if (init) return own.ino !== init.ino;
  const named = await readdir('/run/netns').catch(() => [] as string[]);
  for (const name of named) if ((await stat(join('/run/netns', name)).catch(() => null))?.ino === own.ino) return true;
  return false;
}

function inventoryLoop(hasher: ExecutableHasher, everyMs: number, send: (inventory: Inventory) => void, log: Log): NodeJS.Timeout {
  let last = '';
  const take = async (): Promise<void> => {
    const inventory = await collectInventory({ hasher });
    const digest = inventoryDigest(inventory);
    if (digest === last) return;
    last = digest;
    send(inventory);
  };
  const run = (): void => void take().catch((error: Error) => log(`inventory: ${error.message}`));
  run();
  return setInterval(run, everyMs).unref();
}

function blockedExecutionEvent(hostname: string, process: ProcessInfo, killed: boolean, error?: string): Record<string, unknown> {
  return {
    _source: 'firebreak-agent',
    _kind: 'blocked_execution',
    '@timestamp': new Date().toISOString(),
    Computer: hostname,
    Image: process.image,
    CommandLine: process.commandLine,
    ProcessId: process.pid,
    Hashes: `SHA256=${process.sha256}`,
    Killed: killed,
    ...(error ? { Error: error } : {}),
  };
}
