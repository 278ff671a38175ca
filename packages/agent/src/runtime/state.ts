/**
 * What the agent keeps across restarts, in its state directory (mode 0700, files 0600, each file
 * replaced atomically):
 *
 * - `identity.json`: the credential and pinned server key from enrollment;
 * - `isolation.json`: the isolation policy in force, absent when the host is not isolated (so a
 *   restarted agent re-applies isolation);
 * - `blocks.json`: the last blocklist the server synced;
 * - `seen-commands.json`: the replay memory, command id → expiresAt.
 *
 * The replay memory forgets a command once it could no longer pass the expiry check (expiresAt + clock
 * skew, plus a margin against the clock stepping back). It is bounded: when full of unexpired ids it
 * forgets those expiring first and remembers the latest expiry it forgot (`forgottenUntil`); a command
 * expiring at or before that can no longer be vouched for and is refused.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { REPLAYED_COMMAND, type ActionParams } from '@firebreak/core';
import { ensurePrivateDir, errorCode, isAtomicTemporary, writeFileAtomic } from './files.js';

export const DEFAULT_STATE_DIR = '/var/lib/firebreak-agent';
/** The clock skew verifyCommand tolerates by default; the replay memory must outlive it. */
export const COMMAND_SKEW_MS = 30_000;
const CLOCK_STEP_MARGIN_MS = 5 * 60_000;
const DEFAULT_MAX_SEEN_COMMANDS = 100_000;

/** The agent's credential and the server key it pinned at enrollment. */
export interface Identity {
  agentId: string;
  secret: string;
  /** http(s)://host[:port][/prefix], without a trailing slash. */
  serverUrl: string;
  serverPublicKeyPem: string;
  hostname: string;
  /** ms since the epoch. */
  enrolledAt: number;
}

export type IsolationPolicy = ActionParams['isolate'];
export type Blocklist = ActionParams['sync_blocks'];

export interface AgentStateOptions {
  /** Must match the skew commands are verified with (default COMMAND_SKEW_MS). */
  skewMs?: number;
  /** Most command ids remembered at once (default 100,000). */
  maxSeenCommands?: number;
  now?: () => number;
}

interface ReplayMemoryFile {
  forgottenUntil: number;
  commands: Record<string, number>;
}

const FILES = {
  identity: 'identity.json',
  isolation: 'isolation.json',
  blocks: 'blocks.json',
  seen: 'seen-commands.json',
} as const;

export class AgentState {
  private identityValue: Identity | null;
  private isolationValue: IsolationPolicy | null;
  private blocksValue: Blocklist;
  private readonly seen: Map<string, number>;
  private forgottenUntil: number;
  /** Writes of one file run one after another, each writing the latest value. */
  private readonly writes = new Map<string, Promise<void>>();
  private readonly skewMs: number;
  private readonly maxSeen: number;
  private readonly now: () => number;

  private constructor(
    readonly dir: string,
    loaded: { identity: Identity | null; isolation: IsolationPolicy | null; blocks: Blocklist; replay: ReplayMemoryFile },
    options: AgentStateOptions,
  ) {
    this.identityValue = loaded.identity;
    this.isolationValue = loaded.isolation;
    this.blocksValue = loaded.blocks;
    this.seen = new Map(Object.entries(loaded.replay.commands));
    this.forgottenUntil = loaded.replay.forgottenUntil;
    this.skewMs = options.skewMs ?? COMMAND_SKEW_MS;
    this.maxSeen = options.maxSeenCommands ?? DEFAULT_MAX_SEEN_COMMANDS;
    this.now = options.now ?? Date.now;
  }

  /** Opens (creating if needed) the state in `dir`; a state file that cannot be read is an error naming it. */
  static async open(dir: string = DEFAULT_STATE_DIR, options: AgentStateOptions = {}): Promise<AgentState> {
    await ensurePrivateDir(dir);
    await removeStaleTemporaries(dir);
    const identityJson = await readJson(join(dir, FILES.identity));
    const isolationJson = await readJson(join(dir, FILES.isolation));
    const blocksJson = await readJson(join(dir, FILES.blocks));
    const replayJson = await readJson(join(dir, FILES.seen));
    const state = new AgentState(
      dir,
      {
        identity: identityJson === undefined ? null : parseIdentity(identityJson, join(dir, FILES.identity)),
        isolation: isolationJson === undefined ? null : parseIsolation(isolationJson, join(dir, FILES.isolation)),
        blocks: blocksJson === undefined ? emptyBlocklist() : parseBlocklist(blocksJson, join(dir, FILES.blocks)),
        replay: replayJson === undefined ? { forgottenUntil: 0, commands: {} } : parseReplayMemory(replayJson, join(dir, FILES.seen)),
      },
      options,
    );
    state.prune();
    return state;
  }

  get identity(): Identity | null {
    return this.identityValue;
  }

  async setIdentity(identity: Identity): Promise<void> {
    this.identityValue = parseIdentity(identity, 'identity');
    await this.write(FILES.identity, () => this.identityValue);
  }

  /** The isolation policy in force, or null when the host is not isolated. */
  get isolation(): IsolationPolicy | null {
    return this.isolationValue;
  }

  /** Records the isolation policy now enforced, or null (the file removed) once released. */
  async setIsolation(policy: IsolationPolicy | null): Promise<void> {
    this.isolationValue = policy === null ? null : structuredClone(policy);
    await this.write(FILES.isolation, () => this.isolationValue);
  }

  /** The last synced blocklist (empty lists before any sync). */
  get blocks(): Readonly<Blocklist> {
    return this.blocksValue;
  }

  async setBlocks(blocks: Blocklist): Promise<void> {
    this.blocksValue = parseBlocklist(structuredClone(blocks), 'blocklist');
    await this.write(FILES.blocks, () => this.blocksValue);
  }

  /** Whether a command id is in the replay memory (what verifyCommand's `seen` asks). */
  seenCommand(id: string): boolean {
    return this.seen.has(id);
  }

  /**
   * Remembers an accepted command's id, durably, before the agent acts on it. Rejects (and remembers
   * nothing) when the id is already known, or when the command expires no later than ids the bounded
   * memory had to forget, so it could be a replay of one of them.
   */
  async rememberCommand(id: string, expiresAt: number): Promise<void> {
    if (this.seen.has(id)) throw new Error(REPLAYED_COMMAND);
    if (expiresAt <= this.forgottenUntil) {
      throw new Error(`replay memory full: cannot vouch for a command expiring at ${expiresAt}, before ids it had to forget`);
    }
    // Added before the write is awaited, so a copy arriving meanwhile is already seen.
    this.seen.set(id, expiresAt);
    this.prune();
    await this.write(FILES.seen, () => this.replayMemory());
  }

  /** Forgets ids that can no longer pass verification, then the soonest-expiring ones beyond the bound. */
  private prune(): void {
    const horizon = this.now() - this.skewMs - CLOCK_STEP_MARGIN_MS;
    for (const [id, expiresAt] of this.seen) if (expiresAt < horizon) this.seen.delete(id);
    if (this.seen.size <= this.maxSeen) return;
    // Forget a tenth more than needed so a full memory is not re-sorted on every command.
    const excess = this.seen.size - this.maxSeen + Math.ceil(this.maxSeen / 10);
    const byExpiry = [...this.seen].sort((a, b) => a[1] - b[1]);
    for (const [id, expiresAt] of byExpiry.slice(0, excess)) {
      this.seen.delete(id);
      this.forgottenUntil = Math.max(this.forgottenUntil, expiresAt);
    }
  }

  private replayMemory(): ReplayMemoryFile {
    return { forgottenUntil: this.forgottenUntil, commands: Object.fromEntries(this.seen) };
  }

  /** Writes `value()` (or removes the file for null) after the writes of that file already queued. */
  private write(name: string, value: () => unknown): Promise<void> {
    const path = join(this.dir, name);
    const previous = this.writes.get(name) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        const current = value();
        if (current === null) await rm(path, { force: true });
        else await writeFileAtomic(path, `${JSON.stringify(current, null, 2)}\n`);
      });
    this.writes.set(name, next);
    return next;
  }
}

function emptyBlocklist(): Blocklist {
  return { sha256: [], addresses: [], domains: [] };
}

async function removeStaleTemporaries(dir: string): Promise<void> {
  for (const name of await readdir(dir)) if (isAtomicTemporary(name)) await rm(join(dir, name), { force: true });
}

/** The parsed content of a JSON file, or undefined when there is none. */
async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw new Error(`cannot read agent state ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`agent state ${path} is not valid JSON: ${(error as Error).message}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseIdentity(value: unknown, where: string): Identity {
  if (!isObject(value)) throw new Error(`${where}: identity must be an object`);
  for (const key of ['agentId', 'secret', 'serverUrl', 'serverPublicKeyPem', 'hostname'] as const) {
    if (typeof value[key] !== 'string' || value[key] === '') throw new Error(`${where}: identity has no ${key}`);
  }
  if (typeof value.enrolledAt !== 'number') throw new Error(`${where}: identity has no enrolledAt`);
  const { agentId, secret, serverUrl, serverPublicKeyPem, hostname, enrolledAt } = value as unknown as Identity;
  return { agentId, secret, serverUrl, serverPublicKeyPem, hostname, enrolledAt };
}

function parseIsolation(value: unknown, where: string): IsolationPolicy {
  if (!isObject(value)) throw new Error(`${where}: isolation policy must be an object`);
  if (value.allow !== undefined && !Array.isArray(value.allow)) throw new Error(`${where}: isolation policy's allow must be a list`);
  return value as IsolationPolicy;
}

function parseBlocklist(value: unknown, where: string): Blocklist {
  if (!isObject(value)) throw new Error(`${where}: blocklist must be an object`);
  const list = (key: keyof Blocklist): string[] => {
    const entries = value[key] ?? [];
    if (!Array.isArray(entries) || !entries.every((entry) => typeof entry === 'string')) {
      throw new Error(`${where}: blocklist's ${key} must be a list of strings`);
    }
    return entries;
  };
  return { sha256: list('sha256'), addresses: list('addresses'), domains: list('domains') };
}

function parseReplayMemory(value: unknown, where: string): ReplayMemoryFile {
  if (!isObject(value) || !isObject(value.commands) || typeof value.forgottenUntil !== 'number') {
    throw new Error(`${where}: replay memory must be { forgottenUntil, commands }`);
  }
  for (const [id, expiresAt] of Object.entries(value.commands)) {
    if (typeof expiresAt !== 'number') throw new Error(`${where}: command ${id} has no expiry time`);
  }
  return value as unknown as ReplayMemoryFile;
}
