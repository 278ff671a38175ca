/**
 * Host isolation: one nftables table that lets the host talk to the Firebreak server (and, per
 * policy, its DNS resolvers and named business-critical destinations) and stops everything else,
 * connections already established included.
 *
 * The table lives in the kernel, not in the agent: it stays when the agent exits or restarts. The
 * caller keeps the policy in its state dir; a restarted agent asks `isolationActive()` and applies it
 * again (which replaces the table in one transaction).
 */
import type { VerificationCheck } from '@firebreak/core';
import { checkPort, formatPrefix, nftAddressFamily, parseAddress, parsePrefix, quote, listTable, runNft } from './nft.js';
import { canConnect } from './reach.js';

export const ISOLATION_TABLE = 'firebreak_isolation';

export interface IsolationPolicy {
  /** The Firebreak server the agent is connected to: TCP to and from this address and port always passes. */
  server: { address: string; port: number };
  /** Destinations the host may still connect to (IP or CIDR; optional port and protocol). */
  allow?: { address: string; port?: number; protocol?: 'tcp' | 'udp' }[];
  /** DNS resolvers (IP addresses) that stay reachable on port 53, UDP and TCP. */
  dnsResolvers?: string[];
}

/** Isolates the host (or replaces the current isolation with this policy), in one nft transaction. */
export async function isolate(policy: IsolationPolicy): Promise<void> {
  await runNft(isolationScript(policy));
}

/** Ends isolation. Releasing a host that is not isolated is not an error. */
export async function release(): Promise<void> {
  // Declaring the table first makes the delete valid whether or not it exists (nft 1.0.6 has no `destroy`).
  await runNft(`table inet ${ISOLATION_TABLE} {}\ndelete table inet ${ISOLATION_TABLE}\n`);
}

/** Whether the isolation table is in the kernel (for a restarted agent: isolated hosts stay isolated). */
export async function isolationActive(): Promise<boolean> {
  return (await listTable('inet', ISOLATION_TABLE)) !== null;
}

/**
 * The checks that show isolation took: the table is there, the server answers, and the probe
 * address (one the host could reach before) does not.
 */
export async function verifyIsolation(options: {
  server: { address: string; port: number };
  probe?: { address: string; port: number };
  timeoutMs?: number;
}): Promise<VerificationCheck[]> {
  const timeoutMs = options.timeoutMs ?? 2000;
  const { server, probe } = options;
  const [active, serverReached, probeReached] = await Promise.all([
    isolationActive(),
    canConnect(server.address, server.port, timeoutMs),
    probe ? canConnect(probe.address, probe.port, timeoutMs) : Promise.resolve(false),
  ]);
  const checks: VerificationCheck[] = [
    { name: 'isolation table present', ok: active },
    { name: 'server reachable', ok: serverReached, detail: `${server.address}:${server.port}` },
  ];
  if (probe) checks.push({ name: 'probe unreachable', ok: !probeReached, detail: `${probe.address}:${probe.port}` });
  return checks;
}

/** The nft script: delete and recreate the table, so a new policy replaces the old one atomically. */
function isolationScript(policy: IsolationPolicy): string {
  const server = parseAddress(policy?.server?.address, 'isolation server.address');
  const serverPort = checkPort(policy.server.port, 'isolation server.port');
  const resolvers = (policy.dnsResolvers ?? []).map((address, i) => parseAddress(address, `isolation dnsResolvers[${i}]`));
  const allowed = (policy.allow ?? []).map((entry, i) => allowedEndpoint(entry, `isolation allow[${i}]`));

  const serverFamily = nftAddressFamily(server);
  const input: string[] = [
    'iif "lo" accept',
    // The server connection passes without conntrack: whatever state conntrack holds (or loses), it stays up.
    `${serverFamily} saddr ${formatPrefix(server)} tcp sport ${serverPort} accept`,
  ];
  const output: string[] = ['oif "lo" accept', `${serverFamily} daddr ${formatPrefix(server)} tcp dport ${serverPort} accept`];
  for (const resolver of resolvers) {
    const family = nftAddressFamily(resolver);
    for (const protocol of ['udp', 'tcp']) {
      input.push(`${family} saddr ${formatPrefix(resolver)} ${protocol} sport 53 accept`);
      output.push(`${family} daddr ${formatPrefix(resolver)} ${protocol} dport 53 accept`);
    }
  }
  for (const endpoint of allowed) {
    // Allowed destinations are for the host to connect to: inbound only what answers its connections.
    input.push(`${endpoint.family} saddr ${endpoint.address}${endpoint.match('sport')} ct state established,related accept`);
    output.push(`${endpoint.family} daddr ${endpoint.address}${endpoint.match('dport')} accept`);
  }
  input.push(
    // Without a DHCP lease or IPv6 neighbour discovery the host would lose its address or its neighbours, server included.
    'udp sport 67 udp dport 68 accept',
    'udp sport 547 udp dport 546 accept',
    'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } accept',
    // ICMP errors about the host's own flows (path MTU towards the server among them).
    'meta l4proto { icmp, ipv6-icmp } ct state related accept',
  );
  output.push(
    'udp sport 68 udp dport 67 accept',
    'udp sport 546 udp dport 547 accept',
    'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } accept',
    // Refused rather than dropped: local programs fail at once, and established connections elsewhere die on their next send.
    'meta l4proto tcp reject with tcp reset',
    'reject with icmpx type admin-prohibited',
  );
  const chain = (hook: string, rules: string[]): string =>
    [`  chain ${hook} {`, `    type filter hook ${hook} priority -100; policy drop;`, ...rules.map((rule) => `    ${rule}`), '  }'].join(
      '\n',
    );
  return [
    `table inet ${ISOLATION_TABLE} {}`,
    `delete table inet ${ISOLATION_TABLE}`,
    `table inet ${ISOLATION_TABLE} {`,
    chain('input', input),
    chain('output', output),
    // An isolated host routes nothing (containers and VMs behind it included).
    chain('forward', []),
    '}',
    '',
  ].join('\n');
}

interface AllowedEndpoint {
  family: 'ip' | 'ip6';
  address: string;
  /** The protocol and port part of a rule, for the remote side's port (`dport` out, `sport` in). */
  match: (direction: 'sport' | 'dport') => string;
}

function allowedEndpoint(entry: NonNullable<IsolationPolicy['allow']>[number], where: string): AllowedEndpoint {
  const prefix = parsePrefix(entry?.address, `${where}.address`);
  const port = entry.port === undefined ? undefined : checkPort(entry.port, `${where}.port`);
  const protocol = entry.protocol;
  if (protocol !== undefined && protocol !== 'tcp' && protocol !== 'udp')
    throw new Error(`${where}.protocol: ${quote(protocol)} is not tcp or udp`);
  const protocols = protocol ?? '{ tcp, udp }';
  const match = (direction: 'sport' | 'dport'): string => {
    if (port !== undefined) return ` meta l4proto ${protocols} th ${direction} ${port}`;
    return protocol ? ` meta l4proto ${protocol}` : '';
  };
  return { family: nftAddressFamily(prefix), address: formatPrefix(prefix), match };
}
