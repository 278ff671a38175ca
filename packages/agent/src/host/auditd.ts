/**
 * Telemetry from the kernel's audit system: the agent adds its own audit rules (program runs,
 * outbound connections, writes under sensitive paths), follows the audit log auditd writes,
 * assembles each event's records with core's AuditdAssembly and turns them into normalized events
 * (process_creation, network_connection, file_event) under Sysmon's field names.
 *
 * Kernel auditing is machine-wide and often off in containers: then the agent lives on the /proc
 * sampler alone (see AuditTelemetry.available).
 */
import { execFile } from 'node:child_process';
import { readdir, readlink, stat, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { posix } from 'node:path';
import { promisify } from 'node:util';
import { AGENT_EVENT_SOURCE, AuditdAssembly, type FirebreakEvent } from '@firebreak/core';
import { openToRead, unlessGone, UserNames } from './files.js';
import { ExecutableHasher, formatIpv6, ownNetns, processIdentity } from './proc.js';

const run = promisify(execFile);

/** The key of every audit rule the agent adds (auditctl -k): how its rules and their events are told apart. */
export const AUDIT_KEY = 'firebreak';
export const AUDIT_LOG = '/var/log/audit/audit.log';

/** Files and directories whose writes and attribute changes are audited: where persistence and privilege live. */
export const WATCHED_PATHS = [
  '/etc/passwd',
  '/etc/shadow',
  '/etc/sudoers',
  '/etc/sudoers.d',
  '/etc/ld.so.preload',
  '/etc/cron.d',
  '/etc/crontab',
  '/etc/systemd/system',
  '/root/.ssh',
];

/** An audit rule as auditctl's arguments: the ones that add it and the ones that delete exactly it. */
export interface AuditRule {
  add: string[];
  remove: string[];
}

/**
 * The agent's rules: execve and connect for 64- and 32-bit programs, and a watch per sensitive path.
 * connect leaves out addresses 110 bytes long (a Unix socket path's sockaddr_un, by far the most
 * frequent connect on a host and never a network connection).
 */
export function auditRules(): AuditRule[] {
  const rules: AuditRule[] = [];
  const syscall = (spec: string[]): void => void rules.push({ add: ['-a', ...spec], remove: ['-d', ...spec] });
  for (const arch of ['b64', 'b32']) {
    syscall(['always,exit', '-F', `arch=${arch}`, '-S', 'execve', '-k', AUDIT_KEY]);
    syscall(['always,exit', '-F', `arch=${arch}`, '-S', 'connect', '-F', 'a2!=110', '-k', AUDIT_KEY]);
  }
  for (const path of WATCHED_PATHS) {
    const spec = [path, '-p', 'wa', '-k', AUDIT_KEY];
    rules.push({ add: ['-w', ...spec], remove: ['-W', ...spec] });
  }
  return rules;
}

export type AuditAvailability = { ok: true } | { ok: false; reason: string };

export interface RulesReport {
  /** The rules added (auditctl's add arguments, joined by spaces). */
  installed: string[];
  failed: { rule: string; error: string }[];
}

export interface AuditTelemetryOptions {
  hostname: string;
  /** Hashes the executables of new processes (default: one of its own; share the agent's to hash each file once). */
  hasher?: ExecutableHasher;
  onEvents(events: Record<string, unknown>[]): void;
  /** A problem reading or assembling the log (the stream goes on); default: a process warning. */
  onError?(error: Error): void;
  /** Default /var/log/audit/audit.log. */
  logPath?: string;
  /** How often the log is looked at; events come out within two periods. Default 100 ms. */
  pollMs?: number;
  /** Default `auditctl` from PATH. */
  auditctl?: string;
}

export class AuditTelemetry {
  private readonly logPath: string;
  private readonly auditctl: string;
  private readonly users = new UserNames();
  private readonly hasher: ExecutableHasher;
  private installed: AuditRule[] = [];
  private follower: LogFollower | undefined;
  /** Where the agent stands, to tell which processes are its host's (set by start). */
  private placement: Placement = { netns: '', machineWide: true };
  private assembly: AuditdAssembly;
  /** Lines fed to the assembly since it was last ended. */
  private open = false;
  private lineNumber = 0;
  /** Conversions run one batch at a time, so events keep their order. */
  private delivery: Promise<void> = Promise.resolve();

  /** Whether kernel auditing can feed the agent here, or why not. */
  static async available(auditctl = 'auditctl'): Promise<AuditAvailability> {
    if (process.platform !== 'linux') return { ok: false, reason: 'kernel auditing is Linux only' };
    let status: string;
    try {
      status = (await run(auditctl, ['-s'], { timeout: 5000 })).stdout;
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') return { ok: false, reason: `${auditctl} is not installed (package auditd)` };
      return { ok: false, reason: `the kernel's audit system is not available: ${(e.stderr || e.message).trim()}` };
    }
    const enabled = /^enabled (\d+)$/m.exec(status)?.[1];
    if (enabled !== '1' && enabled !== '2') return { ok: false, reason: `kernel auditing is off (auditctl -s: enabled ${enabled ?? '?'})` };
    const pid = /^pid (\d+)$/m.exec(status)?.[1];
    if (pid === undefined || pid === '0') return { ok: false, reason: 'no audit daemon runs (auditd): nothing writes the audit log' };
    return { ok: true };
  }

  constructor(private readonly options: AuditTelemetryOptions) {
    this.logPath = options.logPath ?? AUDIT_LOG;
    this.auditctl = options.auditctl ?? 'auditctl';
    this.hasher = options.hasher ?? new ExecutableHasher();
    this.assembly = this.newAssembly();
  }

  /**
   * Adds the agent's rules. A rule the kernel has already (an earlier run's) counts as added. A rule
   * the kernel refuses (a 32-bit rule on a kernel without 32-bit support, a watch whose directory
   * does not exist) is reported; the others are added all the same.
   */
  async installRules(): Promise<RulesReport> {
    const report: RulesReport = { installed: [], failed: [] };
    for (const rule of auditRules()) {
      const text = rule.add.join(' ');
      try {
        await run(this.auditctl, rule.add, { timeout: 5000 });
      } catch (error) {
        const message = auditctlError(error);
        if (!message.includes('Rule exists')) {
          report.failed.push({ rule: text, error: message });
          continue;
        }
      }
      this.installed.push(rule);
      report.installed.push(text);
    }
    return report;
  }

  /** Deletes the rules installRules added, and only those; throws, after trying each, if any stays. */
  async removeRules(): Promise<void> {
    const failures: string[] = [];
    for (const rule of this.installed) {
      try {
        await run(this.auditctl, rule.remove, { timeout: 5000 });
      } catch (error) {
        failures.push(`${rule.remove.join(' ')}: ${auditctlError(error)}`);
      }
    }
    this.installed = [];
    if (failures.length > 0) throw new Error(`audit rules not removed: ${failures.join('; ')}`);
  }

  /** Follows the audit log from its current end (surviving rotation). */
  async start(): Promise<void> {
    if (this.follower) return;
    const netns = await ownNetns();
    this.placement = { netns, machineWide: await isMachineNetns(netns) };
    this.follower = new LogFollower(this.logPath, this.options.pollMs ?? 100, {
      lines: (lines) => this.read(lines),
      quiet: () => this.flush(),
      problem: (message) => this.problem(message),
    });
    await this.follower.start();
  }

  /** Stops following; events of the lines read so far are delivered first. */
  async stop(): Promise<void> {
    await this.follower?.stop();
    this.follower = undefined;
    this.flush();
    await this.delivery;
  }

  private newAssembly(): AuditdAssembly {
    return new AuditdAssembly(this.logPath, (line, message) => this.problem(`${this.logPath} line ${line}: ${message}`));
  }

  private problem(message: string): void {
    if (this.options.onError) this.options.onError(new Error(message));
    else process.emitWarning(`firebreak agent: ${message}`);
  }

  private read(lines: string[]): void {
    const complete: FirebreakEvent[] = [];
    for (const line of lines) this.assembly.add(line, ++this.lineNumber, complete);
    this.open = true;
    this.deliver(complete);
  }

  /**
   * No new line for a poll: the kernel writes an event's records together, so every event still
   * open is complete (auditd does not log the EOE record that would say so).
   */
  private flush(): void {
    if (!this.open) return;
    const rest: FirebreakEvent[] = [];
    this.assembly.end(rest);
    this.assembly = this.newAssembly();
    this.open = false;
    this.deliver(rest);
  }

  private deliver(events: FirebreakEvent[]): void {
    if (events.length === 0) return;
    this.delivery = this.delivery
      .then(async () => {
        await this.users.refresh();
        const userName = (uid: number): string | undefined => this.users.known(uid);
        const converted = events.flatMap((e) => auditEventToAgentEvents(e, this.options.hostname, { userName }));
        const kept = await Promise.all(converted.map((e) => this.placeAndEnrich(e, this.placement)));
        const out = kept.filter((e) => e !== null);
        if (out.length > 0) this.options.onEvents(out);
      })
      .catch((error: unknown) => this.problem(`audit events lost: ${error instanceof Error ? error.message : String(error)}`));
  }

  /**
   * Keeps an event when its process is in the agent's network namespace, or gone while the agent is
   * the machine's (a namespace's agent cannot place a process that is gone: the audit log is the
   * whole machine's, other namespaces' hosts included). Adds what /proc still knows: the start time
   * that names the process for kill_process, the executable's hash, the parent.
   */
  private async placeAndEnrich(event: Record<string, unknown>, placement: Placement): Promise<Record<string, unknown> | null> {
    const pid = event.ProcessId;
    if (typeof pid !== 'number') return placement.machineWide ? event : null;
    const now = await processIdentity(pid);
    if (now ? now.netns !== placement.netns : !placement.machineWide) return null;
    const image = typeof event.Image === 'string' ? event.Image : undefined;
    const runsImage = now !== null && now.image === image;
    if (runsImage) event.ProcessStartTicks = now.startTime;
    if (event._kind === 'process_creation') {
      // The file the process runs, through /proc while it runs (even if deleted since), else its path.
      const sha256 = runsImage ? await this.hasher.hash(`/proc/${pid}/exe`) : image ? await this.hasher.hash(image) : null;
      if (sha256) event.Hashes = `SHA256=${sha256}`;
      const parent = typeof event.ParentProcessId === 'number' ? await processIdentity(event.ParentProcessId) : null;
      if (parent) Object.assign(event, { ParentImage: parent.image, ParentCommandLine: parent.commandLine });
    }
    return event;
  }
}

interface Placement {
  netns: string;
  /** The agent is in the machine's own network namespace (pid 1's): it is the host. */
  machineWide: boolean;
}

/**
 * Whether `netns` is the machine's own network namespace: pid 1's; where pid 1 is hidden (a sandbox
 * denies reading its links), any namespace but those `ip netns` made (/run/netns/NAME, whose inode
 * number is the namespace's).
 */
async function isMachineNetns(netns: string): Promise<boolean> {
  const init = await unlessGone(() => readlink('/proc/1/ns/net'), null);
  if (init !== null) return init === netns;
  const inode = Number(/\[(\d+)\]/.exec(netns)?.[1]);
  for (const name of await unlessGone(() => readdir('/run/netns'), [] as string[])) {
    if ((await unlessGone(() => stat(`/run/netns/${name}`), null))?.ino === inode) return false;
  }
  return true;
}

function auditctlError(error: unknown): string {
  const e = error as { stderr?: string; message?: string };
  return (e.stderr || e.message || String(error)).trim();
}

// ---- Following the log -----------------------------------------------------------------------------

interface FollowerHandlers {
  lines(lines: string[]): void;
  /** A poll found nothing new. */
  quiet(): void;
  problem(message: string): void;
}

const READ_CHUNK = 256 * 1024;

/**
 * Follows a log file by polling: reads what was appended since the last poll, line by line. When
 * the file at the path is another one (auditd rotated it: renamed, and created anew), the old one
 * is read to its end and the new one from its start; a file cut shorter is read again from its start.
 */
class LogFollower {
  private handle: FileHandle | null = null;
  private inode = -1;
  private position = 0;
  /** The start of a line whose end was not written yet. */
  private partial = Buffer.alloc(0);
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private polling: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly pollMs: number,
    private readonly handlers: FollowerHandlers,
  ) {}

  /** Starts at the file's current end (what is there already was written before the agent looked). */
  async start(): Promise<void> {
    const info = await unlessGone(() => stat(this.path), null);
    if (info) {
      await this.openFile(info.ino);
      this.position = info.size;
    }
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.polling;
    await this.handle?.close();
    this.handle = null;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.polling = this.poll()
        .catch((error: unknown) => this.handlers.problem(`reading ${this.path}: ${error instanceof Error ? error.message : String(error)}`))
        .finally(() => this.schedule());
    }, this.pollMs).unref();
  }

  private async poll(): Promise<void> {
    const info = await unlessGone(() => stat(this.path), null);
    let read = 0;
    if (info && info.ino !== this.inode) {
      // Rotated: what the old file got after the last poll, then the new file from its start.
      read += await this.readToEnd();
      await this.handle?.close();
      await this.openFile(info.ino);
      this.position = 0;
      this.partial = Buffer.alloc(0);
    } else if (info && info.size < this.position) {
      this.position = 0;
      this.partial = Buffer.alloc(0);
    }
    read += await this.readToEnd();
    if (read === 0) this.handlers.quiet();
  }

  private async openFile(inode: number): Promise<void> {
    this.handle = await openToRead(this.path);
    this.inode = this.handle ? inode : -1;
  }

  /** Reads from the position to the end; hands out the whole lines; returns the bytes read. */
  private async readToEnd(): Promise<number> {
    if (!this.handle) return 0;
    let total = 0;
    const buffer = Buffer.allocUnsafe(READ_CHUNK);
    for (;;) {
      const { bytesRead } = await this.handle.read(buffer, 0, READ_CHUNK, this.position);
      if (bytesRead === 0) break;
      this.position += bytesRead;
      total += bytesRead;
      const data = Buffer.concat([this.partial, buffer.subarray(0, bytesRead)]);
      const lastNewline = data.lastIndexOf(0x0a);
      if (lastNewline < 0) {
        this.partial = data;
        continue;
      }
      this.partial = Buffer.from(data.subarray(lastNewline + 1));
      this.handlers.lines(data.subarray(0, lastNewline).toString('utf8').split('\n'));
    }
    return total;
  }
}

// ---- Audit events into normalized events -----------------------------------------------------------

export interface ConversionOptions {
  /** The account name of a uid (when the log does not carry it, as the ENRICHED format does). */
  userName?(uid: number): string | undefined;
}

/** connect's syscall number per audit arch (x86_64, i386, aarch64), for logs without the ENRICHED name. */
const CONNECT_SYSCALLS: Record<string, string> = { c000003e: '42', '40000003': '362', c00000b7: '203' };
/** connect(2) of a non-blocking socket: the connection is under way, not refused. */
const EINPROGRESS = '-115';
const UNSET_ID = '4294967295';

/**
 * The normalized events an assembled audit event stands for: a program run (EXECVE) → one
 * process_creation; a connect to an IPv4/IPv6 address → one network_connection; a write under a
 * path the agent watches → one file_event per file created or written. Anything else → [].
 */
export function auditEventToAgentEvents(
  event: FirebreakEvent,
  hostname: string,
  options: ConversionOptions = {},
): Record<string, unknown>[] {
  const fields = new AuditFields(event);
  const timestamp = event.timestamp;
  if (timestamp === undefined) return [];
  const base = { _source: AGENT_EVENT_SOURCE, '@timestamp': new Date(timestamp).toISOString(), Computer: hostname };
  const types = fields.all('type');
  if (types.includes('EXECVE')) return fields.first('success') === 'no' ? [] : [processCreation(fields, base, options)];
  if (types.includes('SOCKADDR') && isConnect(fields)) {
    const event = networkConnection(fields, base, options);
    return event ? [event] : [];
  }
  if (types.includes('PATH') && fields.all('key').includes(AUDIT_KEY)) return fileEvents(fields, base, options);
  return [];
}

/** An assembled event's fields: auditd's names, a name found in several records being a list. */
class AuditFields {
  constructor(private readonly event: FirebreakEvent) {}

  all(name: string): string[] {
    const value = this.event.fields.get(name);
    if (value === undefined) return [];
    return (Array.isArray(value) ? value : [value]).map(String);
  }

  first(name: string): string | undefined {
    return this.all(name)[0];
  }

  number(name: string): number | undefined {
    const text = this.first(name);
    const n = text === undefined ? NaN : Number(text);
    return Number.isSafeInteger(n) ? n : undefined;
  }

  /**
   * The program's arguments of the EXECVE record. Its a0, a1… share their names with the SYSCALL
   * record's first four registers: for those, the EXECVE value is the one after (or before) the
   * register, as the records came.
   */
  arguments(): string[] | undefined {
    const argc = this.number('argc');
    if (argc === undefined) return undefined;
    const types = this.all('type');
    const syscallAt = types.indexOf('SYSCALL');
    const execveAt = types.indexOf('EXECVE');
    const args: string[] = [];
    for (let i = 0; i < argc; i++) {
      const values = this.all(`a${i}`);
      const at = i < 4 && syscallAt >= 0 ? (syscallAt < execveAt ? 1 : 0) : 0;
      const arg = values[at];
      if (arg === undefined) break;
      args.push(arg);
    }
    return args;
  }
}

type Base = Record<string, unknown>;

function userOf(fields: AuditFields, idField: 'uid' | 'auid', options: ConversionOptions): string | undefined {
  const id = fields.first(idField);
  if (id === undefined || id === UNSET_ID) return undefined;
  // The ENRICHED format's translation (UID="root") is the name when the event happened.
  return fields.first(idField.toUpperCase()) ?? options.userName?.(Number(id)) ?? id;
}

/** The fields every event of a process carries: image, pid, user (and the login user behind it). */
function processFields(fields: AuditFields, options: ConversionOptions): Base {
  const out: Base = {};
  const image = fields.first('exe');
  if (image !== undefined) out.Image = image;
  const pid = fields.number('pid');
  if (pid !== undefined) out.ProcessId = pid;
  const user = userOf(fields, 'uid', options);
  if (user !== undefined) out.User = user;
  const loginUser = userOf(fields, 'auid', options);
  if (loginUser !== undefined) out.LoginUser = loginUser;
  return out;
}

function processCreation(fields: AuditFields, base: Base, options: ConversionOptions): Base {
  const event: Base = { ...base, _kind: 'process_creation', ...processFields(fields, options) };
  if (event.Image === undefined) {
    // Without exe (a truncated event), the file the PATH record of the program names.
    const name = fields.first('name');
    if (name !== undefined && name !== '(null)') event.Image = name;
  }
  const args = fields.arguments();
  const commandLine = args ? args.join(' ') : fields.first('proctitle');
  if (commandLine !== undefined) event.CommandLine = commandLine;
  const ppid = fields.number('ppid');
  if (ppid !== undefined) event.ParentProcessId = ppid;
  const cwd = fields.first('cwd');
  if (cwd !== undefined) event.CurrentDirectory = cwd;
  return event;
}

function isConnect(fields: AuditFields): boolean {
  const name = fields.first('SYSCALL');
  if (name !== undefined) return name === 'connect';
  const arch = fields.first('arch');
  return arch !== undefined && CONNECT_SYSCALLS[arch] === fields.first('syscall');
}

function networkConnection(fields: AuditFields, base: Base, options: ConversionOptions): Base | null {
  // A refused or failed connect is no connection; one under way (non-blocking) is.
  if (fields.first('success') === 'no' && fields.first('exit') !== EINPROGRESS) return null;
  const address = fields.first('saddr');
  const destination = address === undefined ? null : decodeSockaddr(address);
  if (!destination) return null;
  return {
    ...base,
    _kind: 'network_connection',
    ...processFields(fields, options),
    Initiated: 'true',
    DestinationIp: destination.address,
    DestinationPort: destination.port,
    DestinationIsIpv6: destination.address.includes(':') ? 'true' : 'false',
  };
}

const AF_INET = 2;
const AF_INET6 = 10;
const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';

/**
 * An IPv4 or IPv6 socket address of a SOCKADDR record (the sockaddr's bytes in hex: the family in
 * host order, then the port in network order and the address); null for other families.
 */
export function decodeSockaddr(hex: string): { address: string; port: number } | null {
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) return null;
  const bytes = Buffer.from(hex, 'hex');
  if (bytes.length < 2) return null;
  const family = HOST_IS_LITTLE_ENDIAN ? bytes.readUInt16LE(0) : bytes.readUInt16BE(0);
  if (family === AF_INET && bytes.length >= 8) return { address: [...bytes.subarray(4, 8)].join('.'), port: bytes.readUInt16BE(2) };
  if (family === AF_INET6 && bytes.length >= 24) return { address: formatIpv6(bytes.subarray(8, 24)), port: bytes.readUInt16BE(2) };
  return null;
}

/**
 * The files a watched write created or wrote (PATH items CREATE or NORMAL), one event each; none
 * for a write that failed. A relative name is relative to the one directory the event names (its
 * PARENT item: the directory of an openat), else to the working directory.
 */
function fileEvents(fields: AuditFields, base: Base, options: ConversionOptions): Base[] {
  if (fields.first('success') === 'no') return [];
  const names = fields.all('name');
  const nametypes = fields.all('nametype');
  // Fields of the PATH records are lists in record order; without a nametype per name, they cannot be paired.
  if (names.length !== nametypes.length) return [];
  const parents = names.filter((name, i) => nametypes[i] === 'PARENT' && name.startsWith('/'));
  const directory = parents.length === 1 ? parents[0]! : (fields.first('cwd') ?? '/');
  const targets = new Set<string>();
  names.forEach((name, i) => {
    if ((nametypes[i] === 'CREATE' || nametypes[i] === 'NORMAL') && name !== '(null)') targets.add(posix.resolve(directory, name));
  });
  const actor = processFields(fields, options);
  return [...targets].map((target) => ({ ...base, _kind: 'file_event', ...actor, TargetFilename: target }));
}
