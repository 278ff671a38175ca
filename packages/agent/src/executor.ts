/**
 * Carries out verified commands on this host and checks that each took effect: the result the
 * server records is what the agent saw afterwards, not what it meant to do.
 */
import { createHash } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { ActionParams, ActionType, CommandPayload, CommandResult, ProcessInfo, VerificationCheck } from '@firebreak/core';
import { BlockTable, DomainBlocker } from './enforce/blocks.js';
import { isolate, isolationActive, release, verifyIsolation, type IsolationPolicy } from './enforce/isolation.js';
import { killProcess } from './enforce/kill.js';
import { checkPort, parseAddress, parsePrefix, prefixContains } from './enforce/nft.js';
import { Vault } from './enforce/vault.js';
import { collectEvidence } from './host/evidence.js';
import { listProcesses, listSockets, type ExecutableHasher } from './host/proc.js';
import type { Log } from './runtime/log.js';
import type { AgentState } from './runtime/state.js';

export interface ExecutorOptions {
  state: AgentState;
  hasher: ExecutableHasher;
  /** The server as this host reaches it: isolation keeps it open, blocks never cover it. */
  server: { address: string; port: number };
  hostname: string;
  /** Sends an evidence bundle (the connection keeps it until it can). */
  sendEvidence(message: { commandId: string; actionId: number | null; sha256: string; bundle: string }): void;
  /** Tells the server about a process killed because its hash is blocked. */
  reportBlockedExecution(process: ProcessInfo, killed: boolean, error?: string): void;
  log: Log;
}

type Outcome = Omit<CommandResult, 'commandId' | 'actionId'>;

export class Executor {
  private readonly vault: Vault;
  private readonly blockTable: BlockTable;
  private readonly domains: DomainBlocker;
  private blockedHashes = new Set<string>();
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: ExecutorOptions) {
    this.vault = new Vault(join(options.state.dir, 'vault'));
    this.blockTable = new BlockTable({ keep: [options.server] });
    this.domains = new DomainBlocker(this.blockTable, {
      onRefresh: (outcome) => outcome instanceof Error && options.log(`domain block refresh: ${outcome.message}`),
    });
  }

  /** Puts back what the state dir says is in force: isolation survives a restart, and so do blocks. */
  async restore(): Promise<void> {
    const isolation = this.options.state.isolation;
    if (isolation && !(await isolationActive())) {
      await isolate(await this.policy(isolation));
      this.options.log('isolation re-applied from the state directory');
    }
    const blocks = this.options.state.blocks;
    this.blockedHashes = new Set(blocks.sha256);
    if (blocks.addresses.length + blocks.domains.length > 0)
      await this.domains.update({ addresses: blocks.addresses, domains: blocks.domains });
    this.domains.start();
  }

  get isolated(): boolean {
    return this.options.state.isolation !== null;
  }

  stop(): void {
    this.domains.stop();
  }

  /** A new process on the host: one whose executable hash is blocked is killed on sight. */
  onProcess(process: ProcessInfo): void {
    if (!process.sha256 || !this.blockedHashes.has(process.sha256)) return;
    killProcess({ pid: process.pid, startTime: process.startTime, tree: true }).then(
      () => this.options.reportBlockedExecution(process, true),
      (error: Error) => this.options.reportBlockedExecution(process, false, error.message),
    );
  }

  /** Commands are carried out one at a time, in the order they came: the server orders them (network first, evidence before a kill). */
  execute(command: CommandPayload): Promise<CommandResult> {
    const result = this.queue.then(() => this.attempt(command));
    this.queue = result.then(() => undefined);
    return result;
  }

  private async attempt(command: CommandPayload): Promise<CommandResult> {
    const base = { commandId: command.id, actionId: command.actionId };
    try {
      return { ...base, ...(await this.run(command)) };
    } catch (error) {
      return { ...base, status: 'failed', error: (error as Error).message, verification: [] };
    }
  }

  private run(command: CommandPayload): Promise<Outcome> {
    const params = command.params as ActionParams[ActionType];
    switch (command.type) {
      case 'isolate':
        return this.isolate(params as ActionParams['isolate']);
      case 'release':
        return this.release();
      case 'kill_process':
        return this.kill(params as ActionParams['kill_process']);
      case 'quarantine_file':
        return this.quarantine(params as ActionParams['quarantine_file']);
      case 'restore_file':
        return this.restoreFile(params as ActionParams['restore_file']);
      case 'collect_evidence':
        return this.evidence(command, params as ActionParams['collect_evidence']);
      case 'block_hash':
      case 'block_ip':
      case 'block_domain':
      case 'unblock':
      case 'sync_blocks':
        return this.blocks(command.type, params);
    }
  }

  private async isolate(params: ActionParams['isolate']): Promise<Outcome> {
    const policy = await this.policy(params);
    if (params.probe) {
      parseAddress(params.probe.address, 'isolate probe.address');
      checkPort(params.probe.port, 'isolate probe.port');
    }
    const probe = params.probe ?? (await this.probeAddress(policy));
    // Remembered first: an agent that dies right after applying it puts it back when it starts again.
    const previous = this.options.state.isolation;
    await this.options.state.setIsolation(params);
    try {
      await isolate(policy);
    } catch (error) {
      // Refused by nft (a bad address, say): the state goes back to what is in force, or a restart would fail on it for ever.
      await this.options.state.setIsolation(previous);
      throw error;
    }
    const enforcedAt = Date.now();
    const verification = await verifyIsolation({ server: this.options.server, probe });
    if (!probe)
      verification.push({ name: 'probe unreachable', ok: true, detail: 'no connection to another host before isolation to test with' });
    return outcome(verification, enforcedAt, { policy, probe });
  }

  /**
   * A test address for the verification when the command names none: the other end of a TCP
   * connection this host had open just before (the beacon being cut off, typically), which the
   * isolation must now make unreachable. Allowed destinations and the server are not tests.
   */
  private async probeAddress(policy: IsolationPolicy): Promise<{ address: string; port: number } | undefined> {
    const allowed = [policy.server.address, ...(policy.allow ?? []).map((a) => a.address), ...(policy.dnsResolvers ?? [])];
    const sockets = await listSockets({ owners: false });
    const listening = new Set(sockets.filter((s) => s.state === 'LISTEN').map((s) => s.localPort));
    const outbound = sockets.find(
      (s) =>
        s.protocol.startsWith('tcp') &&
        s.state === 'ESTABLISHED' &&
        !listening.has(s.localPort) &&
        !isLoopback(s.remoteAddress) &&
        !allowed.some((a) => coveredBy(s.remoteAddress, [a])),
    );
    return outbound && { address: outbound.remoteAddress, port: outbound.remotePort };
  }

  private async release(): Promise<Outcome> {
    await release();
    const enforcedAt = Date.now();
    await this.options.state.setIsolation(null);
    const stillActive = await isolationActive();
    return outcome([{ name: 'isolation table removed', ok: !stillActive }], enforcedAt);
  }

  private async kill(params: ActionParams['kill_process']): Promise<Outcome> {
    if (params.startTime === undefined)
      throw new Error('kill_process needs the start time of the process (pid alone may name a reused pid)');
    const killed = await killProcess({ pid: params.pid, startTime: params.startTime, tree: params.tree });
    return outcome(killed.verification, Date.now(), { killed: killed.killed });
  }

  private async quarantine(params: ActionParams['quarantine_file']): Promise<Outcome> {
    const { entry, verification } = await this.vault.quarantine(params.path, params.sha256);
    return outcome(verification, Date.now(), { vault: entry });
  }

  private async restoreFile(params: ActionParams['restore_file']): Promise<Outcome> {
    const { entry, verification } = await this.vault.restore(params.vaultId);
    return outcome(verification, Date.now(), { vault: entry });
  }

  private async evidence(command: CommandPayload, params: ActionParams['collect_evidence']): Promise<Outcome> {
    const bundle = await collectEvidence({
      agentId: command.agentId,
      hostname: this.options.hostname,
      pid: params.pid,
      path: params.path,
      since: params.since,
      hasher: this.options.hasher,
    });
    const text = JSON.stringify(bundle);
    const sha256 = createHash('sha256').update(text).digest('hex');
    this.options.sendEvidence({ commandId: command.id, actionId: command.actionId, sha256, bundle: text });
    const checks: VerificationCheck[] = [
      {
        name: 'process found',
        ok: params.pid === undefined || bundle.process !== null,
        detail: params.pid === undefined ? 'no pid asked' : `pid ${params.pid}`,
      },
      { name: 'bundle digest', ok: true, detail: sha256 },
    ];
    return { status: 'succeeded', enforcedAt: Date.now(), verification: checks, output: { sha256, size: Buffer.byteLength(text) } };
  }

  /** Every blocklist command ends in the same place: the state's list, enforced, and read back from the kernel. */
  private async blocks(type: ActionType, params: unknown): Promise<Outcome> {
    const current = this.options.state.blocks;
    const next = nextBlocklist(type, params, {
      sha256: [...current.sha256],
      addresses: [...current.addresses],
      domains: [...current.domains],
    });
    await this.options.state.setBlocks(next);
    this.blockedHashes = new Set(next.sha256);
    const report = await this.domains.update({ addresses: next.addresses, domains: next.domains });
    const enforcedAt = Date.now();
    const inKernel = await this.blockTable.addresses();
    const missing = next.addresses.filter((a) => !report.rejected.some((r) => r.value === a) && !coveredBy(a, inKernel));
    const verification: VerificationCheck[] = [
      {
        name: 'addresses in the block table',
        ok: missing.length === 0,
        detail: missing.length ? `missing: ${missing.join(', ')}` : `${inKernel.length} entries`,
      },
      {
        name: 'domains resolved',
        ok: report.unresolved.length === 0,
        detail: report.unresolved.map((u) => `${u.domain}: ${u.error}`).join('; ') || `${next.domains.length} domains`,
      },
    ];
    const killed = type === 'block_hash' || type === 'sync_blocks' ? await this.killBlockedRunning() : [];
    // An unresolvable domain stays listed and is tried again; it does not make the block fail.
    const failed = !verification[0]!.ok || report.rejected.length > 0;
    return {
      status: failed ? 'failed' : 'succeeded',
      enforcedAt,
      verification,
      error: report.rejected.length ? report.rejected.map((r) => `${r.value}: ${r.error}`).join('; ') : undefined,
      output: { addresses: report.addresses, unresolved: report.unresolved, killed },
    };
  }

  private async killBlockedRunning(): Promise<number[]> {
    if (this.blockedHashes.size === 0) return [];
    const killed: number[] = [];
    for (const process of await listProcesses({ hasher: this.options.hasher }))
      if (process.sha256 && this.blockedHashes.has(process.sha256)) {
        const outcome = await killProcess({ pid: process.pid, startTime: process.startTime, tree: true }).catch(() => undefined);
        if (outcome) killed.push(...outcome.killed);
      }
    return killed;
  }

  /** The isolation policy for nft: the server, what the params allow, and this host's resolvers when DNS stays open. */
  private async policy(params: ActionParams['isolate']): Promise<IsolationPolicy> {
    return {
      server: this.options.server,
      allow: params.allow ?? [],
      dnsResolvers: params.allowDns === false ? [] : await resolvers(),
    };
  }
}

function outcome(verification: VerificationCheck[], enforcedAt: number, output?: Record<string, unknown>): Outcome {
  const ok = verification.every((check) => check.ok);
  return { status: ok ? 'succeeded' : 'failed', enforcedAt, verification, output, error: ok ? undefined : failedChecks(verification) };
}

function failedChecks(verification: VerificationCheck[]): string {
  return `verification failed: ${verification
    .filter((c) => !c.ok)
    .map((c) => c.name + (c.detail ? ` (${c.detail})` : ''))
    .join(', ')}`;
}

function nextBlocklist(type: ActionType, params: unknown, list: ActionParams['sync_blocks']): ActionParams['sync_blocks'] {
  const p = params as Partial<ActionParams['sync_blocks']>;
  const union = (a: string[], b: string[] | undefined): string[] => [...new Set([...a, ...(b ?? [])])];
  const minus = (a: string[], b: string[] | undefined): string[] => a.filter((v) => !(b ?? []).includes(v));
  switch (type) {
    case 'sync_blocks':
      return { sha256: p.sha256 ?? [], addresses: p.addresses ?? [], domains: p.domains ?? [] };
    case 'block_hash':
      return {
        ...list,
        sha256: union(
          list.sha256,
          p.sha256?.map((h) => h.toLowerCase()),
        ),
      };
    case 'block_ip':
      return { ...list, addresses: union(list.addresses, p.addresses) };
    case 'block_domain':
      return { ...list, domains: union(list.domains, p.domains) };
    default:
      return {
        sha256: minus(list.sha256, p.sha256),
        addresses: minus(list.addresses, p.addresses),
        domains: minus(list.domains, p.domains),
      };
  }
}

/** Whether the kernel's block table holds the address (as itself, or inside a listed network). */
function coveredBy(address: string, inKernel: readonly string[]): boolean {
  const wanted = parsePrefix(address, 'blocked address');
  return inKernel.some((entry) => prefixContains(parsePrefix(entry, 'block table entry'), wanted));
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

/** The nameservers of /etc/resolv.conf (the host's resolvers). */
async function resolvers(): Promise<string[]> {
  const text = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  return [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]!).filter((address) => isIP(address) !== 0);
}

/** The server's address as this host reaches it (a name is resolved once, at start). */
export async function serverEndpoint(serverUrl: string): Promise<{ address: string; port: number }> {
  const url = new URL(serverUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const address = isIP(host) ? host : (await lookup(host)).address;
  return { address, port };
}
