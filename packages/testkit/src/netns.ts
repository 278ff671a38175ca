/**
 * Several hosts on one machine, for tests that need a network: one network namespace per host,
 * each joined by a veth pair to a bridge in the root namespace, addresses from a private /24 (the
 * bridge gets .1, the hosts .2, .3, …). Hosts have no default route: nothing they send leaves the LAN.
 *
 * Programs run inside a host with `ip netns exec`, which also bind-mounts the files of
 * /etc/netns/NS/ over /etc (`writeHosts` uses that for name resolution).
 *
 * When br_netfilter is loaded with bridge-nf-call-iptables=1 (a global, per-namespace sysctl this kit
 * does not change), traffic between hosts also passes the root namespace's netfilter forward hooks:
 * a root firewall that drops forwarded traffic would cut hosts off from each other. `Lan.bridgeNetfilter`
 * tells when that is the case.
 *
 * Every name starts with `fb` and 4 random hex digits; `close()` removes it all, and so does the
 * process's exit if a test forgot (or died before) `close()`.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { constants } from 'node:os';

export interface LanHost {
  /** The network namespace's name (for `ip netns exec`, `ip -n`). */
  ns: string;
  address: string;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit code; 128 + signal number when killed by a signal. */
  code: number;
}

export interface ExecOptions {
  /** Written to the program's stdin. */
  input?: string;
  /** Killed after this long (default 30 s). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface Lan {
  /** The bridge interface in the root namespace. */
  bridge: string;
  /** The bridge's address: the root namespace as seen from the hosts. */
  bridgeAddress: string;
  hosts: Record<string, LanHost>;
  /** Whether host-to-host traffic passes the root namespace's netfilter hooks (br_netfilter). */
  bridgeNetfilter: boolean;
  /** Runs a program inside a host to its end. */
  exec(host: string, command: string, args: string[], options?: ExecOptions): Promise<ExecResult>;
  /** Starts a program inside a host; `close()` kills it if it still runs. */
  spawn(host: string, command: string, args: string[], options?: SpawnOptions): ChildProcess;
  /** Writes /etc/netns/NS/hosts (name → address) for the programs started in that host from now on. */
  writeHosts(host: string, entries: Record<string, string>): Promise<void>;
  /** Kills what runs in the hosts and removes namespaces, veths, the bridge and /etc/netns/NS. */
  close(): Promise<void>;
}

/** What `createLan` made, for cleanup at close or at process exit. */
interface LanParts {
  bridge: string;
  namespaces: string[];
  veths: string[];
  subnet: string;
}

const open = new Set<LanParts>();
let exitHookInstalled = false;

/** `false` when this machine can build a LAN, else why not (for `test(name, { skip }, fn)`). */
export function netnsSkip(): string | false {
  skipReason ??= findSkipReason();
  return skipReason;
}
let skipReason: string | false | undefined;

function findSkipReason(): string | false {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces, veths and nftables rules';
  if (spawnSync('ip', ['-V']).status !== 0) return 'needs the ip command (apt-get install iproute2)';
  if (spawnSync('nft', ['-v']).status !== 0) return 'needs the nft command (apt-get install nftables)';
  const probe = `fb${randomBytes(2).toString('hex')}probe`;
  const added = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (added.status !== 0) return `cannot create a network namespace here: ${added.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return false;
}

/** Builds the LAN; on failure removes what it had made and throws. */
export async function createLan(names: string[], options: { subnet?: string } = {}): Promise<Lan> {
  const unique = new Set(names);
  if (unique.size !== names.length) throw new Error(`createLan: host names repeat: ${names.join(', ')}`);
  for (const name of names)
    if (!/^[a-z0-9][a-z0-9-]{0,30}$/i.test(name)) throw new Error(`createLan: ${JSON.stringify(name)} is not a host name`);
  if (names.length > 250) throw new Error('createLan: a /24 has room for 250 hosts');

  const prefix = `fb${randomBytes(2).toString('hex')}`;
  const subnet = options.subnet ?? freeSubnet();
  const base = /^(\d{1,3}\.\d{1,3}\.\d{1,3})\.0\/24$/.exec(subnet)?.[1];
  if (!base || isIP(`${base}.0`) !== 4) throw new Error(`createLan: subnet ${JSON.stringify(subnet)} is not of the form a.b.c.0/24`);

  const parts: LanParts = { bridge: `${prefix}br`, namespaces: [], veths: [], subnet };
  open.add(parts);
  installExitHook();
  const hosts: Record<string, LanHost> = {};
  const children = new Set<ChildProcess>();
  const nsOf = (host: string): string => {
    const entry = hosts[host];
    if (!entry) throw new Error(`no host ${JSON.stringify(host)} on this LAN (hosts: ${Object.keys(hosts).join(', ')})`);
    return entry.ns;
  };

  const lan: Lan = {
    bridge: parts.bridge,
    bridgeAddress: `${base}.1`,
    hosts,
    bridgeNetfilter: readSysctl('/proc/sys/net/bridge/bridge-nf-call-iptables') === '1',
    exec: (host, command, args, execOptions = {}) => execIn(nsOf(host), command, args, execOptions),
    spawn: (host, command, args, spawnOptions = {}) => {
      const child = spawn('ip', ['netns', 'exec', nsOf(host), command, ...args], spawnOptions);
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    writeHosts: async (host, entries) => {
      const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost'];
      for (const [name, address] of Object.entries(entries)) {
        if (!isIP(address) || !/^[A-Za-z0-9.-]+$/.test(name))
          throw new Error(`writeHosts: bad entry ${JSON.stringify(name)} → ${JSON.stringify(address)}`);
        lines.push(`${address}\t${name}`);
      }
      await mkdir(`/etc/netns/${nsOf(host)}`, { recursive: true });
      await writeFile(`/etc/netns/${nsOf(host)}/hosts`, `${lines.join('\n')}\n`);
    },
    close: async () => {
      await Promise.all([...children].map(killChild));
      await removeParts(parts);
      open.delete(parts);
    },
  };

  try {
    await ip(['link', 'add', parts.bridge, 'type', 'bridge']);
    await ip(['addr', 'add', `${base}.1/24`, 'dev', parts.bridge]);
    await ip(['link', 'set', parts.bridge, 'up']);
    await Promise.all(
      names.map(async (name, i) => {
        const ns = `${prefix}-${name}`;
        const veth = `${prefix}v${i}`;
        const address = `${base}.${i + 2}`;
        parts.namespaces.push(ns);
        await ip(['netns', 'add', ns]);
        parts.veths.push(veth);
        await ip(['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
        await ip(['link', 'set', veth, 'master', parts.bridge]);
        await ip(['link', 'set', veth, 'up']);
        await ip(['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
        await ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
        await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
        hosts[name] = { ns, address };
      }),
    );
  } catch (error) {
    await lan.close().catch(() => undefined);
    throw error;
  }
  return lan;
}

async function ip(args: string[]): Promise<void> {
  const result = await run('ip', args, {});
  if (result.code !== 0) throw new Error(`ip ${args.join(' ')} failed: ${result.stderr.trim()}`);
}

function execIn(ns: string, command: string, args: string[], options: ExecOptions): Promise<ExecResult> {
  return run('ip', ['netns', 'exec', ns, command, ...args], options);
}

function run(command: string, args: string[], options: ExecOptions): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, timeout: options.timeoutMs ?? 30_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ stdout, stderr, code: code ?? 128 + signalNumber(signal) }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? constants.signals[signal] : 0;
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** Kills whatever still runs in the namespaces, then deletes them, the veths, the bridge and /etc/netns entries. */
async function removeParts(parts: LanParts): Promise<void> {
  for (const ns of parts.namespaces) killNamespaceProcesses(ns);
  const quiet = (args: string[]): Promise<ExecResult> => run('ip', args, {});
  await Promise.all(parts.namespaces.map((ns) => quiet(['netns', 'del', ns])));
  // Deleting a namespace deletes its veth end and so the pair; these catch a veth whose namespace never came.
  await Promise.all(parts.veths.map((veth) => quiet(['link', 'del', veth])));
  await quiet(['link', 'del', parts.bridge]);
  await Promise.all(parts.namespaces.map((ns) => rm(`/etc/netns/${ns}`, { recursive: true, force: true })));
}

function killNamespaceProcesses(ns: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
  for (const pid of pids.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
}

/** At exit, removes what tests left (synchronously: an exit handler cannot wait). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const parts of open) {
      for (const ns of parts.namespaces) {
        killNamespaceProcesses(ns);
        spawnSync('ip', ['netns', 'del', ns]);
        rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
      }
      for (const veth of parts.veths) spawnSync('ip', ['link', 'del', veth]);
      spawnSync('ip', ['link', 'del', parts.bridge]);
    }
  });
}

/** A 10.x.y.0/24 that no route of the root namespace, no resolver and no other LAN of this process overlaps. */
function freeSubnet(): string {
  const routes = spawnSync('ip', ['-4', '-j', 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
  const taken = (JSON.parse(routes.stdout || '[]') as { dst: string }[])
    .map((route) => route.dst)
    .filter((dst) => dst !== 'default')
    .map((dst) => (dst.includes('/') ? dst : `${dst}/32`));
  const resolvers = existsSync('/etc/resolv.conf')
    ? [...readFileSync('/etc/resolv.conf', 'utf8').matchAll(/^nameserver\s+(\S+)/gm)].map((m) => `${m[1]}/32`)
    : [];
  const inUse = [...taken, ...resolvers.filter((r) => isIP(r.slice(0, -3)) === 4), ...[...open].map((parts) => parts.subnet)];
  for (let attempt = 0; attempt < 100; attempt++) {
    const candidate = `10.${64 + Math.floor(Math.random() * 190)}.${Math.floor(Math.random() * 256)}.0/24`;
    if (!inUse.some((other) => overlaps(candidate, other))) return candidate;
  }
  throw new Error('createLan: found no free 10.x.y.0/24');
}

function overlaps(a: string, b: string): boolean {
  const [addressA, lengthA] = a.split('/');
  const [addressB, lengthB] = b.split('/');
  // Two networks overlap when they agree on the bits of the shorter prefix.
  const bits = Math.min(Number(lengthA), Number(lengthB));
  const network = (address: string): number =>
    Math.floor(address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0) / 2 ** (32 - bits));
  return network(addressA) === network(addressB);
}

function readSysctl(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}
