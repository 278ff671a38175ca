/**
 * The host as /proc shows it: processes, their executables' hashes, sockets and their owners, and a
 * sampler that turns the differences between two looks into events.
 *
 * The agent may run inside a network namespace (`ip netns exec`) that stands for one host while the
 * pid namespace is the machine's: it then sees every process of the machine in /proc, and keeps only
 * those whose network namespace is its own. /proc/self/net shows the sockets of that namespace only.
 */
import { endianness } from 'node:os';
import { readFileSync, readlinkSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { AGENT_EVENT_SOURCE, type ProcessInfo, type SocketInfo } from '@firebreak/core';
import { isGone, openToRead, sha256OfHandle, unlessGone, UserNames } from './files.js';

/** USER_HZ: the unit of /proc's times, 100 on every Linux architecture user space sees. */
const CLOCK_TICKS_PER_SECOND = 100;
const DELETED_SUFFIX = ' (deleted)';

/** User names of /etc/passwd, shared by every reader of this module (reloaded when the file changes). */
const userNames = new UserNames();

// ---- Processes -------------------------------------------------------------------------------------

export interface ListProcessesOptions {
  /** Only processes in the agent's own network namespace (default true). */
  sameNetns?: boolean;
  /** Fills `sha256`; without it, `sha256` is null. */
  hasher?: ExecutableHasher;
}

/** Every process (in the agent's network namespace, by default), kernel threads left out, by pid. */
export async function listProcesses(options: ListProcessesOptions = {}): Promise<ProcessInfo[]> {
  await userNames.refresh();
  const netns = options.sameNetns === false ? null : await ownNetns();
  const found = await Promise.all((await processIds()).map((pid) => readProcess(pid, { netns, hasher: options.hasher })));
  return found.filter((p): p is ProcessInfo => p !== null);
}

/** One process by pid, whatever its network namespace; null when it is gone or a kernel thread. */
export async function processInfo(pid: number, options: { hasher?: ExecutableHasher } = {}): Promise<ProcessInfo | null> {
  await userNames.refresh();
  return readProcess(pid, { netns: null, hasher: options.hasher });
}

/** The files a process holds open (fd → what the link names: a path, `socket:[inode]`, `pipe:[…]`). */
export async function listOpenFiles(pid: number): Promise<{ pid: number; fd: number; target: string }[]> {
  const fds = await unlessGone(() => readdir(`/proc/${pid}/fd`), [] as string[]);
  const files = await Promise.all(
    fds.map(async (name) => {
      const target = await unlessGone(() => readlink(`/proc/${pid}/fd/${name}`), null);
      return target === null ? null : { pid, fd: Number(name), target };
    }),
  );
  return files.filter((f) => f !== null).sort((a, b) => a.fd - b.fd);
}

/** The network namespace of the agent (`net:[inode]`). */
export function ownNetns(): Promise<string> {
  return readlink('/proc/self/ns/net');
}

/** Who a pid is now: enough to tell a process that still runs (and where) from one that is gone. */
export interface ProcessIdentity {
  pid: number;
  ppid: number;
  startTime: number;
  image: string;
  commandLine: string;
  /** Its network namespace (`net:[inode]`). */
  netns: string;
}

/** The identity of a running process; null when it is gone or a kernel thread. */
export async function processIdentity(pid: number): Promise<ProcessIdentity | null> {
  const seen = glimpse(pid, null);
  if (!seen) return null;
  const [netns, cmdline] = await Promise.all([
    unlessGone(() => readlink(`/proc/${pid}/ns/net`), null),
    unlessGone(() => readFile(`/proc/${pid}/cmdline`), null),
  ]);
  if (netns === null || cmdline === null) return null;
  return { pid, ppid: seen.ppid, startTime: seen.startTime, image: imageOf(seen.exeLink), commandLine: commandLineOf(cmdline), netns };
}

/** The executable's path of a /proc/PID/exe link (without the " (deleted)" the kernel appends). */
function imageOf(exeLink: string): string {
  return exeLink.endsWith(DELETED_SUFFIX) ? exeLink.slice(0, -DELETED_SUFFIX.length) : exeLink;
}

/** The pids /proc lists (thread groups; threads are not listed). */
async function processIds(): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) if (isDigits(name)) pids.push(Number(name));
  return pids.sort((a, b) => a - b);
}

function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 48 || s.charCodeAt(i) > 57) return false;
  return true;
}

/** What a cheap look at a process tells: enough to know whether it is one seen before. */
interface Glimpse {
  pid: number;
  ppid: number;
  startTime: number;
  /** /proc/PID/exe as read (with " (deleted)" if so): a change means the process exec'd. */
  exeLink: string;
}

/**
 * A cheap look at a process: its stat line and two links. Null when it is gone, a kernel thread or
 * a zombie (no executable), or in another network namespace than `netns` (when given).
 *
 * Synchronous on purpose: a sample takes this look at every process, and each of these reads of
 * /proc costs the kernel less than handing it to the thread pool would (measured: a third of the
 * CPU time of the asynchronous calls); the event loop waits about 4 ms per hundred processes.
 */
function glimpse(pid: number, netns: string | null): Glimpse | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const exeLink = readlinkSync(`/proc/${pid}/exe`);
    if (netns !== null && readlinkSync(`/proc/${pid}/ns/net`) !== netns) return null;
    return { pid, ...parseStat(pid, text), exeLink };
  } catch (error) {
    if (isGone(error)) return null;
    throw error;
  }
}

function glimpseAll(pids: number[], netns: string | null): Glimpse[] {
  const seen: Glimpse[] = [];
  for (const pid of pids) {
    const g = glimpse(pid, netns);
    if (g) seen.push(g);
  }
  return seen;
}

/** The ppid and start time of a stat line. */
function parseStat(pid: number, text: string): { ppid: number; startTime: number } {
  // The command name (field 2) is in parentheses and may hold spaces and parentheses itself.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, starttime field 22.
  const ppid = Number(fields[1]);
  const startTime = Number(fields[19]);
  if (!Number.isSafeInteger(ppid) || !Number.isSafeInteger(startTime)) throw new Error(`/proc/${pid}/stat: cannot read "${text.trim()}"`);
  return { ppid, startTime };
}

interface ReadContext {
  netns: string | null;
  hasher?: ExecutableHasher;
}

async function readProcess(pid: number, context: ReadContext): Promise<ProcessInfo | null> {
  const seen = glimpse(pid, context.netns);
  return seen && describe(seen, context.hasher);
}

/** The full description of a glimpsed process; null when it went away meanwhile. */
async function describe(seen: Glimpse, hasher: ExecutableHasher | undefined): Promise<ProcessInfo | null> {
  const { pid } = seen;
  const [cmdline, status, cwd, sha256] = await Promise.all([
    unlessGone(() => readFile(`/proc/${pid}/cmdline`), null),
    unlessGone(() => readFile(`/proc/${pid}/status`, 'utf8'), null),
    unlessGone(() => readlink(`/proc/${pid}/cwd`), null),
    // Through /proc: the file the process runs, even deleted or in another mount namespace.
    hasher ? hasher.hash(`/proc/${pid}/exe`) : null,
  ]);
  if (cmdline === null || status === null) return null;
  const uid = effectiveUid(status);
  const deleted = seen.exeLink.endsWith(DELETED_SUFFIX);
  const info: ProcessInfo = {
    pid,
    ppid: seen.ppid,
    startTime: seen.startTime,
    image: imageOf(seen.exeLink),
    commandLine: commandLineOf(cmdline),
    user: userNames.name(uid),
    uid,
    sha256,
    cwd,
  };
  if (deleted) info.imageDeleted = true;
  return info;
}

/** The arguments, NUL-separated in /proc, joined by spaces. */
function commandLineOf(cmdline: Buffer): string {
  let end = cmdline.length;
  while (end > 0 && cmdline[end - 1] === 0) end--;
  return cmdline.subarray(0, end).toString('utf8').replaceAll('\0', ' ');
}

/** The effective uid (the second of status's `Uid:` line): whose rights the process has, as `ps` shows. */
function effectiveUid(status: string): number {
  const match = /^Uid:\s+\d+\s+(\d+)/m.exec(status);
  if (!match) throw new Error(`no Uid line in /proc status: "${status.slice(0, 200)}"`);
  return Number(match[1]);
}

// ---- Executable hashes -----------------------------------------------------------------------------

export interface ExecutableHasherOptions {
  /** Files larger than this are not hashed (null). Default 256 MiB. */
  maxBytes?: number;
  /** Hashes remembered; the oldest go first. Default 16384. */
  maxEntries?: number;
}

/**
 * SHA-256 of files, remembered by device, inode, size and modification time (ns): a file is read
 * once however many processes run it, and again once it changes. The file is opened once and
 * identified and read through that handle, so what is hashed is what was identified.
 */
export class ExecutableHasher {
  private readonly maxBytes: number;
  private readonly maxEntries: number;
  private readonly known = new Map<string, string>();
  /** Hashes being computed, so two callers of one new file read it once. */
  private readonly pending = new Map<string, Promise<string>>();

  constructor(options: ExecutableHasherOptions = {}) {
    this.maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.maxEntries = options.maxEntries ?? 16384;
  }

  /** The file's SHA-256 (hex); null when it is gone, not a regular file, or larger than the cap. */
  async hash(path: string): Promise<string | null> {
    const handle = await openToRead(path);
    if (!handle) return null;
    try {
      const info = await handle.stat({ bigint: true });
      if (!info.isFile() || info.size > BigInt(this.maxBytes)) return null;
      const key = `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}`;
      const known = this.known.get(key);
      if (known !== undefined) return known;
      let computing = this.pending.get(key);
      if (!computing) {
        computing = sha256OfHandle(handle);
        this.pending.set(key, computing);
      }
      try {
        const sha256 = await computing;
        this.remember(key, sha256);
        return sha256;
      } finally {
        this.pending.delete(key);
      }
    } finally {
      await handle.close();
    }
  }

  /** How many hashes are remembered. */
  get size(): number {
    return this.known.size;
  }

  private remember(key: string, sha256: string): void {
    this.known.set(key, sha256);
    if (this.known.size > this.maxEntries) this.known.delete(this.known.keys().next().value!);
  }
}

// ---- Sockets ---------------------------------------------------------------------------------------

const SOCKET_TABLES = ['tcp', 'tcp6', 'udp', 'udp6'] as const;

/** The kernel's socket states (include/net/tcp_states.h); UDP uses them too. */
const TCP_STATES: Record<number, string> = {
  1: 'ESTABLISHED',
  2: 'SYN_SENT',
  3: 'SYN_RECV',
  4: 'FIN_WAIT1',
  5: 'FIN_WAIT2',
  6: 'TIME_WAIT',
  7: 'CLOSE',
  8: 'CLOSE_WAIT',
  9: 'LAST_ACK',
  10: 'LISTEN',
  11: 'CLOSING',
  12: 'NEW_SYN_RECV',
};

/** A socket with the inode that names it in its owner's fd table. */
interface RawSocket extends SocketInfo {
  inode: number;
}

export interface ListSocketsOptions {
  /** Find each socket's owning process (default true): reads the fd tables of the namespace's processes. */
  owners?: boolean;
}

/** The TCP and UDP sockets of the agent's network namespace, with their owning pids. */
export async function listSockets(options: ListSocketsOptions = {}): Promise<SocketInfo[]> {
  const sockets = await readSocketTables();
  if (options.owners !== false) {
    const netns = await ownNetns();
    const seen = glimpseAll(await processIds(), netns);
    const owners = await socketOwners(new Set(sockets.map((s) => s.inode).filter((inode) => inode !== 0)), seen);
    for (const socket of sockets) socket.pid = owners.get(socket.inode) ?? null;
  }
  return sockets.map((s) => ({
    protocol: s.protocol,
    localAddress: s.localAddress,
    localPort: s.localPort,
    remoteAddress: s.remoteAddress,
    remotePort: s.remotePort,
    state: s.state,
    pid: s.pid,
  }));
}

/** Which sockets to decode, by protocol and kernel state code: a busy host's tables hold thousands in TIME_WAIT. */
type SocketFilter = (protocol: SocketInfo['protocol'], stateCode: number) => boolean;

async function readSocketTables(keep?: SocketFilter): Promise<RawSocket[]> {
  const tables = await Promise.all(
    SOCKET_TABLES.map(async (protocol) => parseSocketTable(await readSocketTable(protocol), protocol, keep)),
  );
  return tables.flat();
}

/** A table's text; '' when the kernel has none (IPv6 disabled). */
function readSocketTable(protocol: (typeof SOCKET_TABLES)[number]): Promise<string> {
  return unlessGone(() => readFile(`/proc/self/net/${protocol}`, 'latin1'), '');
}

/** `sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …`, a header first. */
function parseSocketTable(text: string, protocol: SocketInfo['protocol'], keep?: SocketFilter): RawSocket[] {
  const sockets: RawSocket[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const columns = lines[i]!.trim().split(/\s+/, 10);
    if (columns.length < 10) continue;
    const stateCode = parseInt(columns[3]!, 16);
    if (keep && !keep(protocol, stateCode)) continue;
    const [localAddress, localPort] = endpointOf(columns[1]!, protocol, i);
    const [remoteAddress, remotePort] = endpointOf(columns[2]!, protocol, i);
    const udp = protocol.startsWith('udp');
    // An unconnected UDP socket is in state CLOSE; `ss` calls it UNCONN, which says what it is.
    const state = udp && stateCode === 7 ? 'UNCONN' : (TCP_STATES[stateCode] ?? `UNKNOWN_${columns[3]}`);
    sockets.push({ protocol, localAddress, localPort, remoteAddress, remotePort, state, pid: null, inode: Number(columns[9]) });
  }
  return sockets;
}

const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';

/**
 * `ADDRESS:PORT` of a socket table: the address as the kernel's 32-bit words, each printed as a
 * host-order number (so byte-swapped on little-endian machines), the port as a plain number.
 */
function endpointOf(text: string, protocol: string, line: number): [string, number] {
  const colon = text.indexOf(':');
  const hex = text.slice(0, colon);
  if (colon < 0 || (hex.length !== 8 && hex.length !== 32))
    throw new Error(`/proc/self/net/${protocol} line ${line + 1}: bad endpoint "${text}"`);
  const port = parseInt(text.slice(colon + 1), 16);
  if (hex.length === 8) {
    const v = parseInt(hex, 16);
    const octets = HOST_IS_LITTLE_ENDIAN
      ? [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24]
      : [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
    return [octets.join('.'), port];
  }
  const bytes = Buffer.alloc(16);
  for (let word = 0; word < 4; word++) {
    const value = parseInt(hex.slice(word * 8, word * 8 + 8), 16);
    if (HOST_IS_LITTLE_ENDIAN) bytes.writeUInt32LE(value, word * 4);
    else bytes.writeUInt32BE(value, word * 4);
  }
  return [formatIpv6(bytes), port];
}

/** RFC 5952 text of an IPv6 address; an IPv4-mapped one (::ffff:a.b.c.d) as the IPv4 address it stands for. */
export function formatIpv6(bytes: Buffer): string {
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return [...bytes.subarray(12)].join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  // The longest run of two or more zero groups (the first of equals) becomes "::".
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const text = (from: number, to: number): string =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(':');
  return bestStart < 0 ? text(0, 8) : `${text(0, bestStart)}::${text(bestStart + bestLength, 8)}`;
}

/** Processes whose fd tables are read at once while looking for sockets' owners. */
const OWNER_SCAN_BATCH = 16;

/**
 * The pid holding each socket inode, read from the fd tables (`socket:[inode]`) of `processes` in
 * their order, stopping once every inode is placed. An inode no process holds is left out.
 */
async function socketOwners(inodes: ReadonlySet<number>, processes: readonly { pid: number }[]): Promise<Map<number, number>> {
  const owners = new Map<number, number>();
  for (let i = 0; i < processes.length && owners.size < inodes.size; i += OWNER_SCAN_BATCH) {
    const batch = processes.slice(i, i + OWNER_SCAN_BATCH);
    const tables = await Promise.all(batch.map((p) => socketInodesOf(p.pid)));
    tables.forEach((held, k) => {
      for (const inode of held) if (inodes.has(inode) && !owners.has(inode)) owners.set(inode, batch[k]!.pid);
    });
  }
  return owners;
}

async function socketInodesOf(pid: number): Promise<number[]> {
  const inodes: number[] = [];
  for (const { target } of await listOpenFiles(pid)) if (target.startsWith('socket:[')) inodes.push(Number(target.slice(8, -1)));
  return inodes;
}

// ---- Events ----------------------------------------------------------------------------------------

/** The fields of a process_creation event for `p` (parent's image and command line when known). */
function processCreationEvent(
  p: ProcessInfo,
  parent: { image: string; commandLine: string } | null,
  hostname: string,
  timestamp: number,
): Record<string, unknown> {
  const event: Record<string, unknown> = {
    _source: AGENT_EVENT_SOURCE,
    _kind: 'process_creation',
    '@timestamp': new Date(timestamp).toISOString(),
    Computer: hostname,
    Image: p.image,
    CommandLine: p.commandLine,
    ProcessId: p.pid,
    ProcessStartTicks: p.startTime,
    ParentProcessId: p.ppid,
    User: p.user,
    CurrentDirectory: p.cwd ?? '',
  };
  if (parent) {
    event.ParentImage = parent.image;
    event.ParentCommandLine = parent.commandLine;
  }
  if (p.sha256) event.Hashes = `SHA256=${p.sha256}`;
  if (p.imageDeleted) event.ImageDeleted = 'true';
  return event;
}

// ---- Sampler ---------------------------------------------------------------------------------------

export interface ProcSamplerOptions {
  hostname: string;
  intervalMs: number;
  hasher: ExecutableHasher;
  onEvents(events: Record<string, unknown>[]): void;
  /** Every new process, baseline included (the agent kills blocked hashes on sight). */
  onProcess?(p: ProcessInfo): void;
  /** A sample that failed (the next one runs all the same); default: a process warning. */
  onError?(error: Error): void;
}

interface Tracked {
  info: ProcessInfo;
  exeLink: string;
}

/**
 * Samples /proc every `intervalMs`: processes that appeared (or exec'd: same pid and start, another
 * executable) and ended, and TCP/UDP connections that appeared, as events. The first sample reports
 * what already runs and is connected, flagged `Baseline: true`.
 *
 * A sample costs a stat read and two readlinks per process; a new process is read in full and its
 * executable hashed (once per file, see ExecutableHasher); fd tables are read only to place a new
 * connection's socket, newest processes first, stopping once it is placed.
 */
export class ProcSampler {
  private readonly processes = new Map<number, Tracked>();
  /** Connections reported and still open (protocol, endpoints, inode). */
  private connections = new Set<string>();
  /** Socket inode → owning pid, for the sockets still open. */
  private owners = new Map<number, number>();
  private baselineTaken = false;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** Samples run one at a time, in call order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: ProcSamplerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    const tick = (): void => {
      void this.sampleOnce()
        .catch((error: unknown) => this.reportError(error))
        .finally(() => {
          if (this.running) this.timer = setTimeout(tick, this.options.intervalMs).unref();
        });
    };
    tick();
  }

  /** Stops sampling; resolves once a sample in progress is done. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.queue.catch(() => undefined);
  }

  sampleOnce(): Promise<void> {
    const next = this.queue.catch(() => undefined).then(() => this.sample());
    this.queue = next;
    return next;
  }

  private reportError(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    if (this.options.onError) this.options.onError(err);
    else process.emitWarning(`firebreak agent: /proc sample failed: ${err.message}`);
  }

  private async sample(): Promise<void> {
    const baseline = !this.baselineTaken;
    const now = Date.now();
    await userNames.refresh();
    const netns = await ownNetns();
    const bootTime = await bootTimeMs(now);
    const seen = glimpseAll(await processIds(), netns);
    const events: Record<string, unknown>[] = [];
    const { created, execd } = await this.updateProcesses(seen, now, events);
    for (const p of created) {
      const parent = this.processes.get(p.ppid)?.info ?? (await parentOf(p.ppid));
      // A new process is timed by its start; one that exec'd started long ago, and is timed when seen.
      const time = execd.has(p.pid) ? now : bootTime + (p.startTime * 1000) / CLOCK_TICKS_PER_SECOND;
      const event = processCreationEvent(p, parent, this.options.hostname, time);
      if (baseline) event.Baseline = true;
      events.push(event);
    }
    await this.updateConnections(seen, created, now, baseline, events);
    this.baselineTaken = true;
    if (events.length > 0) this.options.onEvents(events);
    if (this.options.onProcess) for (const p of created) this.options.onProcess(p);
  }

  /**
   * Brings the process table up to date with what /proc shows: ended processes become termination
   * events; the new ones (and those that exec'd, whose pids are `execd`) are read in full and
   * returned, oldest first.
   */
  private async updateProcesses(
    seen: Glimpse[],
    now: number,
    events: Record<string, unknown>[],
  ): Promise<{ created: ProcessInfo[]; execd: Set<number> }> {
    const present = new Set<number>();
    const execd = new Set<number>();
    const fresh: Glimpse[] = [];
    for (const g of seen) {
      const known = this.processes.get(g.pid);
      if (known && known.info.startTime === g.startTime) {
        present.add(g.pid);
        if (known.exeLink !== g.exeLink) {
          fresh.push(g);
          execd.add(g.pid);
        }
      } else fresh.push(g);
    }
    for (const [pid, { info }] of this.processes) {
      // Not there any more, or its pid now names a younger process: this one ended.
      if (present.has(pid)) continue;
      events.push(this.terminationEvent(info, now));
      this.processes.delete(pid);
    }
    const described = await Promise.all(fresh.map((g) => describe(g, this.options.hasher)));
    const created: ProcessInfo[] = [];
    described.forEach((info, i) => {
      if (!info) return;
      this.processes.set(info.pid, { info, exeLink: fresh[i]!.exeLink });
      created.push(info);
    });
    return { created: created.sort((a, b) => a.startTime - b.startTime || a.pid - b.pid), execd };
  }

  private terminationEvent(p: ProcessInfo, now: number): Record<string, unknown> {
    return {
      _source: AGENT_EVENT_SOURCE,
      _kind: 'process_termination',
      '@timestamp': new Date(now).toISOString(),
      Computer: this.options.hostname,
      Image: p.image,
      ProcessId: p.pid,
      ProcessStartTicks: p.startTime,
      User: p.user,
    };
  }

  /** New TCP connections (established or being set up) and connected UDP sockets, as events. */
  private async updateConnections(
    seen: Glimpse[],
    created: ProcessInfo[],
    now: number,
    baseline: boolean,
    events: Record<string, unknown>[],
  ): Promise<void> {
    const sockets = await readSocketTables(SAMPLED_SOCKETS);
    // Connections are timed when the table was read: a slow first sample (hashing every program) must not date them earlier.
    const readAt = Math.max(now, Date.now());
    const listening = listeningPorts(sockets);
    const open = new Set<string>();
    const fresh: RawSocket[] = [];
    for (const socket of sockets) {
      if (!isConnection(socket)) continue;
      const key = `${socket.protocol} ${socket.localAddress} ${socket.localPort} ${socket.remoteAddress} ${socket.remotePort} ${socket.inode}`;
      open.add(key);
      if (!this.connections.has(key)) fresh.push(socket);
    }
    this.connections = open;
    await this.placeSockets(sockets, fresh, seen, created);
    for (const socket of fresh) {
      const pid = this.owners.get(socket.inode);
      const owner = pid === undefined ? undefined : this.processes.get(pid)?.info;
      const event = connectionEvent(socket, owner, listening, this.options.hostname, readAt);
      if (baseline) event.Baseline = true;
      events.push(event);
    }
  }

  /** Finds the owners of new connections' sockets; forgets closed sockets' owners. */
  private async placeSockets(all: RawSocket[], fresh: RawSocket[], seen: Glimpse[], created: ProcessInfo[]): Promise<void> {
    const live = new Set(all.map((s) => s.inode));
    for (const inode of this.owners.keys()) if (!live.has(inode)) this.owners.delete(inode);
    const unplaced = new Set(fresh.map((s) => s.inode).filter((inode) => inode !== 0 && !this.owners.has(inode)));
    if (unplaced.size === 0) return;
    // A new connection most likely belongs to a new process, then to a young one.
    const newPids = new Set(created.map((p) => p.pid));
    const order = [...seen].sort((a, b) => Number(newPids.has(b.pid)) - Number(newPids.has(a.pid)) || b.startTime - a.startTime);
    for (const [inode, pid] of await socketOwners(unplaced, order)) this.owners.set(inode, pid);
  }
}

/** The parent's image and command line read directly (a parent in another namespace is not tracked). */
async function parentOf(ppid: number): Promise<{ image: string; commandLine: string } | null> {
  if (ppid === 0) return null;
  const [exe, cmdline] = await Promise.all([
    unlessGone(() => readlink(`/proc/${ppid}/exe`), null),
    unlessGone(() => readFile(`/proc/${ppid}/cmdline`), null),
  ]);
  if (exe === null || cmdline === null) return null;
  return { image: imageOf(exe), commandLine: commandLineOf(cmdline) };
}

/** When the machine booted (ms since the epoch), from its uptime: /proc's start times count from there. */
async function bootTimeMs(now: number): Promise<number> {
  const uptime = Number((await readFile('/proc/uptime', 'latin1')).split(' ')[0]);
  return Math.round(now - uptime * 1000);
}

/** What a sample needs: listeners (which ports accept), connections being made or made, and every UDP socket. */
const SAMPLED_SOCKETS: SocketFilter = (protocol, state) => protocol.startsWith('udp') || state === 1 || state === 2 || state === 10;

function isConnection(socket: RawSocket): boolean {
  if (socket.protocol.startsWith('tcp')) return socket.state === 'ESTABLISHED' || socket.state === 'SYN_SENT';
  return socket.remotePort !== 0;
}

/** Local ports that accept: TCP listeners and unconnected UDP sockets, per protocol family (tcp/udp). */
function listeningPorts(sockets: RawSocket[]): Set<string> {
  const ports = new Set<string>();
  for (const s of sockets) {
    if (s.state === 'LISTEN' || (s.state === 'UNCONN' && s.localPort !== 0)) ports.add(`${s.protocol.slice(0, 3)} ${s.localPort}`);
  }
  return ports;
}

/**
 * A network_connection event. As Sysmon writes it, the source is the side that initiated: for a
 * connection accepted on a listening port, the remote end is the source and the local port the destination.
 */
function connectionEvent(
  socket: RawSocket,
  owner: ProcessInfo | undefined,
  listening: Set<string>,
  hostname: string,
  now: number,
): Record<string, unknown> {
  const protocol = socket.protocol.slice(0, 3);
  const inbound = listening.has(`${protocol} ${socket.localPort}`);
  const local = { ip: socket.localAddress, port: socket.localPort };
  const remote = { ip: socket.remoteAddress, port: socket.remotePort };
  const [source, destination] = inbound ? [remote, local] : [local, remote];
  const event: Record<string, unknown> = {
    _source: AGENT_EVENT_SOURCE,
    _kind: 'network_connection',
    '@timestamp': new Date(now).toISOString(),
    Computer: hostname,
  };
  if (owner) Object.assign(event, { Image: owner.image, ProcessId: owner.pid, ProcessStartTicks: owner.startTime, User: owner.user });
  return Object.assign(event, {
    Protocol: protocol,
    Initiated: inbound ? 'false' : 'true',
    SourceIp: source.ip,
    SourcePort: source.port,
    DestinationIp: destination.ip,
    DestinationPort: destination.port,
    DestinationIsIpv6: destination.ip.includes(':') ? 'true' : 'false',
  });
}
