/**
 * What is installed and what would run again: packages (dpkg, rpm), the executables running and
 * their hashes, listening ports, and persistence points (files whose content makes code run at boot,
 * at login or on a schedule), each with its hash and modification time. The agent sends the
 * inventory when its digest changes, and tells persistence added or changed between two.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Inventory, PersistencePoint, ProcessInfo, SocketInfo } from '@firebreak/core';
import { parsePasswd, unlessGone } from './files.js';
import { listProcesses, listSockets, type ExecutableHasher } from './proc.js';

const run = promisify(execFile);

export interface InventoryOptions {
  hasher: ExecutableHasher;
  /** The processes to describe (default: listProcesses of the agent's namespace). */
  processes?: ProcessInfo[];
  /** The sockets to describe (default: listSockets). */
  sockets?: SocketInfo[];
  /** Where the file system to look at is mounted (default '/'): packages and persistence are read under it. */
  root?: string;
}

export async function collectInventory(options: InventoryOptions): Promise<Inventory> {
  const root = options.root ?? '/';
  const processes = options.processes ?? (await listProcesses({ hasher: options.hasher }));
  const sockets = options.sockets ?? (await listSockets());
  const [dpkg, rpm, executables, persistence] = await Promise.all([
    dpkgPackages(root),
    rpmPackages(root),
    runningExecutables(processes, options.hasher),
    collectPersistence({ root, hasher: options.hasher }),
  ]);
  return {
    collectedAt: Date.now(),
    packages: [...dpkg, ...rpm].sort((a, b) => compareText(a.name, b.name) || compareText(a.version, b.version)),
    executables,
    listening: listeningSockets(sockets, processes),
    persistence,
  };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---- Packages --------------------------------------------------------------------------------------

type Package = Inventory['packages'][number];

/** Installed packages of dpkg's status file; [] without one. */
async function dpkgPackages(root: string): Promise<Package[]> {
  const text = await unlessGone(() => readFile(join(root, 'var/lib/dpkg/status'), 'utf8'), null);
  return text === null ? [] : parseDpkgStatus(text);
}

/**
 * The packages of a dpkg status file whose state is "installed" (not removed with its config files
 * left, nor half-installed). Stanzas are separated by blank lines; continuation lines start with a space.
 */
export function parseDpkgStatus(text: string): Package[] {
  const packages: Package[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      if (line === '' || line.startsWith(' ') || line.startsWith('\t')) continue;
      const colon = line.indexOf(':');
      if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
    }
    const name = fields.get('Package');
    const version = fields.get('Version');
    // Status: want flag state, e.g. "install ok installed".
    const state = fields.get('Status')?.split(/\s+/)[2];
    if (name && version && state === 'installed') packages.push({ name, version, manager: 'dpkg' });
  }
  return packages;
}

const RPM_QUERY_FORMAT = '%{NAME}\\t%|EPOCH?{%{EPOCH}:}|%{VERSION}-%{RELEASE}\\n';

/** Installed rpm packages, when rpm is there and has a database under `root`; [] otherwise. */
async function rpmPackages(root: string): Promise<Package[]> {
  const rpm = await findExecutable('rpm');
  const hasDatabase = (await exists(join(root, 'var/lib/rpm'))) || (await exists(join(root, 'usr/lib/sysimage/rpm')));
  if (!rpm || !hasDatabase) return [];
  const args = root === '/' ? ['-qa', '--qf', RPM_QUERY_FORMAT] : ['--root', root, '-qa', '--qf', RPM_QUERY_FORMAT];
  const { stdout } = await run(rpm, args, { maxBuffer: 64 * 1024 * 1024 });
  return parseRpmList(stdout);
}

/** `name<TAB>version` lines, as RPM_QUERY_FORMAT prints them. */
export function parseRpmList(text: string): Package[] {
  const packages: Package[] = [];
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) packages.push({ name: line.slice(0, tab), version: line.slice(tab + 1), manager: 'rpm' });
  }
  return packages;
}

async function findExecutable(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (await unlessGone(() => access(candidate, constants.X_OK).then(() => true), false)) return candidate;
  }
  return null;
}

function exists(path: string): Promise<boolean> {
  return unlessGone(() => stat(path).then(() => true), false);
}

// ---- Running executables and listening ports -------------------------------------------------------

/** Each executable running, with its hash and the pids running it (a process without a hash is hashed now). */
async function runningExecutables(processes: ProcessInfo[], hasher: ExecutableHasher): Promise<Inventory['executables']> {
  const hashes = await Promise.all(processes.map((p) => p.sha256 ?? hasher.hash(`/proc/${p.pid}/exe`)));
  const byFile = new Map<string, Inventory['executables'][number]>();
  processes.forEach((p, i) => {
    const sha256 = hashes[i];
    if (!sha256) return;
    const key = `${p.image}\n${sha256}`;
    const entry = byFile.get(key);
    if (entry) entry.pids.push(p.pid);
    else byFile.set(key, { path: p.image, sha256, pids: [p.pid] });
  });
  const executables = [...byFile.values()];
  for (const e of executables) e.pids.sort((a, b) => a - b);
  return executables.sort((a, b) => compareText(a.path, b.path) || compareText(a.sha256, b.sha256));
}

/** TCP listeners and bound, unconnected UDP sockets, with the owner's image. */
function listeningSockets(sockets: SocketInfo[], processes: ProcessInfo[]): Inventory['listening'] {
  const images = new Map(processes.map((p) => [p.pid, p.image]));
  return sockets
    .filter((s) => s.state === 'LISTEN' || (s.state === 'UNCONN' && s.localPort !== 0))
    .map((s) => ({
      protocol: s.protocol,
      address: s.localAddress,
      port: s.localPort,
      pid: s.pid,
      image: s.pid === null ? null : (images.get(s.pid) ?? null),
    }))
    .sort((a, b) => compareText(a.protocol, b.protocol) || compareText(a.address, b.address) || a.port - b.port);
}

// ---- Persistence -----------------------------------------------------------------------------------

/** Where persistence lives, as paths on the host; `~` is every account's home (and /root). */
interface PersistenceSource {
  kind: PersistencePoint['kind'];
  /** A file, or a directory whose files (to `depth` levels of subdirectories) count. */
  path: string;
  depth?: number;
  /** Only the directory's files whose name starts with this. */
  prefix?: string;
}

const PERSISTENCE_SOURCES: PersistenceSource[] = [
  // Units and the .wants/.requires links that enable them.
  { kind: 'systemd', path: '/etc/systemd/system', depth: 2 },
  { kind: 'systemd', path: '/lib/systemd/system', depth: 2 },
  { kind: 'systemd', path: '/usr/lib/systemd/system', depth: 2 },
  { kind: 'systemd', path: '~/.config/systemd/user', depth: 2 },
  { kind: 'cron', path: '/etc/crontab' },
  { kind: 'cron', path: '/etc/cron.d' },
  { kind: 'cron', path: '/etc/cron.hourly' },
  { kind: 'cron', path: '/etc/cron.daily' },
  { kind: 'cron', path: '/etc/cron.weekly' },
  { kind: 'cron', path: '/etc/cron.monthly' },
  // /var/spool/cron/USER (Red Hat) and /var/spool/cron/crontabs/USER (Debian).
  { kind: 'cron', path: '/var/spool/cron', depth: 3 },
  { kind: 'authorized_keys', path: '~/.ssh', prefix: 'authorized_keys' },
  { kind: 'ld.so.preload', path: '/etc/ld.so.preload' },
  { kind: 'shell_rc', path: '/etc/profile' },
  { kind: 'shell_rc', path: '/etc/profile.d' },
  { kind: 'shell_rc', path: '/etc/bash.bashrc' },
  { kind: 'shell_rc', path: '~/.bashrc' },
  { kind: 'shell_rc', path: '~/.profile' },
  { kind: 'shell_rc', path: '~/.bash_profile' },
  { kind: 'shell_rc', path: '~/.zshrc' },
  { kind: 'rc_local', path: '/etc/rc.local' },
  { kind: 'init', path: '/etc/init.d' },
];

export interface PersistenceOptions {
  hasher: ExecutableHasher;
  /** Where the file system to look at is mounted (default '/'); points are named by their path on the host. */
  root?: string;
}

/**
 * Every persistence point, sorted by path. A symbolic link counts as the file it leads to (its hash
 * and time), under its own path; a link leading nowhere is passed over, as are files that vanish
 * while read. A directory reached twice (/lib → /usr/lib) is read once.
 */
export async function collectPersistence(options: PersistenceOptions): Promise<PersistencePoint[]> {
  const root = options.root ?? '/';
  const homes = await homeDirectories(root);
  const walk: Walk = { root, hasher: options.hasher, visited: new Set(), points: new Map() };
  for (const source of PERSISTENCE_SOURCES) {
    const paths = source.path.startsWith('~/') ? homes.map((home) => join(home, source.path.slice(2))) : [source.path];
    for (const path of paths) await collectPath(walk, source, path, source.depth ?? 0);
  }
  return [...walk.points.values()].sort((a, b) => compareText(a.path, b.path));
}

interface Walk {
  root: string;
  hasher: ExecutableHasher;
  /** Real paths of the directories read. */
  visited: Set<string>;
  points: Map<string, PersistencePoint>;
}

/** The home directories of /etc/passwd's accounts, and /root, each once. */
async function homeDirectories(root: string): Promise<string[]> {
  const passwd = await unlessGone(() => readFile(join(root, 'etc/passwd'), 'utf8'), '');
  const homes = new Set(['/root']);
  for (const account of parsePasswd(passwd)) if (account.home.startsWith('/') && account.home !== '/') homes.add(account.home);
  return [...homes];
}

async function collectPath(walk: Walk, source: PersistenceSource, path: string, depth: number): Promise<void> {
  const onDisk = join(walk.root, path);
  const info = await unlessGone(() => stat(onDisk), null);
  if (!info) return;
  if (info.isFile()) {
    if (walk.points.has(path)) return;
    const sha256 = await walk.hasher.hash(onDisk);
    if (sha256 !== null) walk.points.set(path, { kind: source.kind, path, sha256, mtime: Math.floor(info.mtimeMs) });
    return;
  }
  if (!info.isDirectory()) return;
  const real = await unlessGone(() => realpath(onDisk), null);
  if (real === null || walk.visited.has(real)) return;
  walk.visited.add(real);
  const entries = await unlessGone(() => readdir(onDisk, { withFileTypes: true }), []);
  for (const entry of entries.sort((a, b) => compareText(a.name, b.name))) {
    if (source.prefix && !entry.name.startsWith(source.prefix)) continue;
    const child = join(path, entry.name);
    if (entry.isDirectory()) {
      if (depth > 0) await collectPath(walk, source, child, depth - 1);
    } else await collectPath(walk, source, child, 0);
  }
}

// ---- Comparing inventories -------------------------------------------------------------------------

/**
 * A digest of what the inventory says about the host, leaving out what changes without the host
 * changing (when it was collected, which pids run an executable): equal digests, nothing to send.
 */
export function inventoryDigest(inventory: Inventory): string {
  const stable = {
    packages: inventory.packages.map((p) => [p.manager, p.name, p.version]).sort(compareJson),
    executables: inventory.executables.map((e) => [e.path, e.sha256]).sort(compareJson),
    listening: inventory.listening.map((l) => [l.protocol, l.address, l.port, l.image]).sort(compareJson),
    persistence: inventory.persistence.map((p) => [p.kind, p.path, p.sha256, p.mtime]).sort(compareJson),
  };
  return createHash('sha256').update(JSON.stringify(stable)).digest('hex');
}

function compareJson(a: unknown, b: unknown): number {
  return compareText(JSON.stringify(a), JSON.stringify(b));
}

export interface PersistenceChanges {
  added: PersistencePoint[];
  /** The points as they are now, whose content changed. */
  changed: PersistencePoint[];
  removed: PersistencePoint[];
}

/** What changed between two lists of persistence points: content, not a mere touch (same hash, new time). */
export function persistenceChanges(before: readonly PersistencePoint[], after: readonly PersistencePoint[]): PersistenceChanges {
  const key = (p: PersistencePoint): string => `${p.kind}\n${p.path}`;
  const old = new Map(before.map((p) => [key(p), p]));
  const now = new Map(after.map((p) => [key(p), p]));
  const changes: PersistenceChanges = { added: [], changed: [], removed: [] };
  for (const [k, p] of now) {
    const previous = old.get(k);
    if (!previous) changes.added.push(p);
    else if (previous.sha256 !== p.sha256) changes.changed.push(p);
  }
  for (const [k, p] of old) if (!now.has(k)) changes.removed.push(p);
  return changes;
}
