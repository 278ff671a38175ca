/**
 * What the server and its agents say to each other over the agent WebSocket, and how commands are
 * signed. Both sides import this one module, so the wire format has one definition.
 *
 * A command is a JSON payload signed by the server's Ed25519 key; the agent pinned that key at
 * enrollment and refuses a command that is unsigned, signed by another key, meant for another
 * agent, expired, or already seen (its id).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

/** The WebSocket path agents connect to (with `Authorization: Bearer AGENT_ID.SECRET`). */
export const AGENT_SOCKET_PATH = '/api/v1/agents/connect';
/** Enrollment: an enrollment token for a per-agent credential. */
export const AGENT_ENROLL_PATH = '/api/v1/agents/enroll';

/** Everything an agent can be asked to do. */
export const ACTION_TYPES = [
  'isolate',
  'release',
  'kill_process',
  'quarantine_file',
  'restore_file',
  'block_hash',
  'block_ip',
  'block_domain',
  'unblock',
  'collect_evidence',
  'sync_blocks',
] as const;
export type ActionType = (typeof ACTION_TYPES)[number];

export function isActionType(name: string): name is ActionType {
  return (ACTION_TYPES as readonly string[]).includes(name);
}

/** Actions that take a host (or part of it) out of service: guardrails and verdict requirements apply to these. */
export const DISRUPTIVE_ACTIONS: ReadonlySet<ActionType> = new Set(['isolate', 'kill_process', 'quarantine_file']);

/** Parameters of each action type (what the agent reads). */
export interface ActionParams {
  isolate: {
    /** Where the agent may still connect besides the server: IPs or CIDRs, optional port. */
    allow?: { address: string; port?: number; protocol?: 'tcp' | 'udp' }[];
    /** Keep DNS to the host's resolvers (from /etc/resolv.conf) working. */
    allowDns?: boolean;
    /** An address that must NOT be reachable once isolated (verification); default: none tried. */
    probe?: { address: string; port: number };
  };
  release: Record<string, never>;
  kill_process: { pid: number; startTime?: number; tree?: boolean; image?: string };
  quarantine_file: { path: string; sha256?: string };
  restore_file: { vaultId: string };
  block_hash: { sha256: string[] };
  block_ip: { addresses: string[] };
  block_domain: { domains: string[] };
  unblock: { sha256?: string[]; addresses?: string[]; domains?: string[] };
  collect_evidence: { pid?: number; path?: string; since?: number };
  /** The full fleet blocklist: what the agent enforces afterwards is exactly this. */
  sync_blocks: { sha256: string[]; addresses: string[]; domains: string[] };
}

/** A command as signed: the agent acts on nothing it cannot verify. */
export interface CommandPayload<T extends ActionType = ActionType> {
  /** Unique; the agent refuses an id it has seen (replay). */
  id: string;
  /** The action record this command carries out (for results), or null for housekeeping (sync_blocks). */
  actionId: number | null;
  agentId: string;
  type: T;
  params: ActionParams[T];
  issuedAt: number;
  expiresAt: number;
}

export interface SignedCommand {
  /** The payload's JSON text, base64: the signature covers these exact bytes. */
  payload: string;
  /** Ed25519 signature of the payload bytes, base64. */
  signature: string;
}

/** One check an agent ran to see that an action took effect. */
export interface VerificationCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface CommandResult {
  commandId: string;
  actionId: number | null;
  status: 'succeeded' | 'failed' | 'refused';
  /** When the action took effect on the host (ms since the epoch). */
  enforcedAt?: number;
  error?: string;
  verification: VerificationCheck[];
  /** What the action produced: the vault entry of a quarantine, the killed pids, an evidence bundle's digest. */
  output?: Record<string, unknown>;
}

/** What the agent tells the server. */
export type AgentMessage =
  | { type: 'hello'; version: string; hostname: string; os: string; isolated: boolean; blocks: BlockCounts }
  | { type: 'heartbeat'; time: number; isolated: boolean; queued: number; dropped?: number }
  /**
   * Normalized events (flat fields under Sigma's names); acknowledged by `seq` once stored. An ack
   * acknowledges every batch up to its seq; seqs only grow, across agent restarts too.
   */
  | { type: 'events'; seq: number; events: Record<string, unknown>[] }
  | { type: 'inventory'; inventory: Inventory }
  | { type: 'result'; result: CommandResult }
  /** An evidence bundle for a collect_evidence command: its JSON text and that text's SHA-256. */
  | { type: 'evidence'; commandId: string; actionId: number | null; sha256: string; bundle: string };

export interface BlockCounts {
  sha256: number;
  addresses: number;
  domains: number;
}

/** What the server tells the agent. */
export type ServerMessage =
  | { type: 'welcome'; agentId: string; heartbeatMs: number }
  /** The answer to each agent heartbeat: a silent server is a dead one. */
  | { type: 'heartbeat'; time: number }
  | { type: 'ack'; seq: number }
  /** Events the server could not take; the agent drops them (they would fail again) and logs why. */
  | { type: 'nack'; seq: number; error: string; retry: boolean }
  | { type: 'command'; command: SignedCommand };

/** An Ed25519 key pair as PEM text (what the server keeps in its data dir). */
export interface SigningKeys {
  privateKeyPem: string;
  publicKeyPem: string;
}

export function generateSigningKeys(): SigningKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export class CommandSigner {
  private readonly key: KeyObject;
  constructor(privateKeyPem: string) {
    this.key = createPrivateKey(privateKeyPem);
  }

  sign(payload: CommandPayload): SignedCommand {
    const bytes = Buffer.from(JSON.stringify(payload));
    return { payload: bytes.toString('base64'), signature: sign(null, bytes, this.key).toString('base64') };
  }
}

export type CommandCheck = { ok: true; command: CommandPayload } | { ok: false; reason: string };

/** Why an agent refuses a command id it has seen: a server sending a command again takes this answer for "already received". */
export const REPLAYED_COMMAND = 'replayed command';

/**
 * Checks a signed command: signature by the pinned key, addressed to this agent, not expired, not
 * seen before (`seen` answers from the agent's replay memory). Clock skew of `skewMs` is tolerated.
 */
export function verifyCommand(
  signed: SignedCommand,
  options: { publicKeyPem: string; agentId: string; now: number; seen: (id: string) => boolean; skewMs?: number },
): CommandCheck {
  if (typeof signed?.payload !== 'string' || typeof signed.signature !== 'string') return { ok: false, reason: 'unsigned command' };
  const bytes = Buffer.from(signed.payload, 'base64');
  let valid = false;
  try {
    valid = verify(null, bytes, createPublicKey(options.publicKeyPem), Buffer.from(signed.signature, 'base64'));
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, reason: 'bad signature' };
  let command: CommandPayload;
  try {
    command = JSON.parse(bytes.toString('utf8')) as CommandPayload;
  } catch {
    return { ok: false, reason: 'payload is not JSON' };
  }
  const skew = options.skewMs ?? 30_000;
  if (typeof command.id !== 'string' || !isActionType(String(command.type))) return { ok: false, reason: 'malformed command' };
  if (command.agentId !== options.agentId) return { ok: false, reason: `command for agent ${command.agentId}` };
  if (!(command.expiresAt > options.now - skew)) return { ok: false, reason: 'expired command' };
  if (command.issuedAt > options.now + skew) return { ok: false, reason: 'command issued in the future' };
  if (options.seen(command.id)) return { ok: false, reason: REPLAYED_COMMAND };
  return { ok: true, command };
}

/**
 * Events the agent sends are flat objects under Sysmon's field names (see sigma/mappings/linux.yml):
 * `_source: 'firebreak-agent'`, `_kind` (process_creation, network_connection, file_event,
 * process_termination, inventory), `@timestamp` (ISO 8601), `Computer`, then e.g. Image,
 * CommandLine, ProcessId, ParentProcessId, ParentImage, User, Hashes (`SHA256=…`), CurrentDirectory;
 * DestinationIp, DestinationPort, SourceIp, SourcePort, Protocol, Initiated; TargetFilename.
 */
export const AGENT_EVENT_SOURCE = 'firebreak-agent';

/** A running process as the /proc sampler and evidence collection describe it. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Start time in clock ticks since boot (/proc/PID/stat field 22): with the pid, names one process for ever. */
  startTime: number;
  image: string;
  commandLine: string;
  user: string;
  uid: number;
  sha256: string | null;
  cwd: string | null;
  /** The executable file was deleted (or replaced) after the process started: /proc still reads it, its path no longer does. */
  imageDeleted?: boolean;
}

export interface SocketInfo {
  protocol: 'tcp' | 'udp' | 'tcp6' | 'udp6';
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  state: string;
  pid: number | null;
}

/** A persistence point: a file whose content makes code run at boot, login or on a schedule. */
export interface PersistencePoint {
  kind: 'systemd' | 'cron' | 'authorized_keys' | 'ld.so.preload' | 'shell_rc' | 'rc_local' | 'init';
  path: string;
  sha256: string;
  mtime: number;
}

/** What the agent reports on change (and at connect). */
export interface Inventory {
  collectedAt: number;
  packages: { name: string; version: string; manager: 'dpkg' | 'rpm' }[];
  executables: { path: string; sha256: string; pids: number[] }[];
  listening: { protocol: string; address: string; port: number; pid: number | null; image: string | null }[];
  persistence: PersistencePoint[];
}

/** A collect_evidence bundle: what a responder (and the verdict) needs from the host. */
export interface EvidenceBundle {
  agentId: string;
  hostname: string;
  collectedAt: number;
  /** The process asked about, its ancestors and descendants (when a pid was given and it still runs). */
  process: ProcessInfo | null;
  ancestors: ProcessInfo[];
  descendants: ProcessInfo[];
  openFiles: { pid: number; fd: number; target: string }[];
  sockets: SocketInfo[];
  /** The executable asked about (the process's, or `path`): content base64 up to a size cap. */
  executable: { path: string; sha256: string; size: number; mode: number; uid: number; contentBase64: string | null } | null;
  persistence: PersistencePoint[];
  /** Persistence points changed since `since` (or the last hour). */
  recentPersistence: PersistencePoint[];
  /** The last lines of the auth log (/var/log/auth.log or /var/log/secure). */
  authLog: string[];
  /** Every process on the host (in the agent's network namespace). */
  processes: ProcessInfo[];
}

/**
 * The agent assembles the audit records it follows with the audit log reader's own assembly.
 * (Exported here for the agent; its natural place is the package index, next to the other readers.)
 */
