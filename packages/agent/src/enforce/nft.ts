/**
 * The agent's door to nftables. Scripts go to `nft -f -` on stdin (one script is one kernel
 * transaction: it applies whole or not at all), and every value placed in a script is validated
 * here first (addresses parsed, ports and names checked), so a command's parameters cannot add rules.
 */
import { spawn } from 'node:child_process';
import { isIP } from 'node:net';

export type NftFamily = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';
const FAMILIES: readonly string[] = ['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev'];

/** What `nft -j` prints: a list of objects keyed by kind (`table`, `chain`, `set`, `rule`, …). */
export interface NftJson {
  nftables: Record<string, unknown>[];
}

/** A program that does not answer in this time is stuck (nft waits on the netlink lock at most). */
const NFT_TIMEOUT_MS = 15_000;

/** Applies an nft script as one transaction; the error carries nft's own message. */
export async function runNft(script: string): Promise<void> {
  const { code, stderr } = await nft(['-f', '-'], script);
  if (code !== 0) throw new Error(`nft -f - failed (exit ${code}): ${stderr.trim() || 'no message'}`);
}

/** `nft -j list table FAMILY NAME`, or null when there is no such table. */
export async function listTable(family: NftFamily, name: string): Promise<NftJson | null> {
  if (!FAMILIES.includes(family)) throw new Error(`nft family ${JSON.stringify(family)} is not one of ${FAMILIES.join(', ')}`);
  checkNftName(name, 'nft table name');
  const { code, stdout, stderr } = await nft(['-j', 'list', 'table', family, name]);
  if (code !== 0) {
    if (/No such file or directory/.test(stderr)) return null;
    throw new Error(`nft list table ${family} ${name} failed (exit ${code}): ${stderr.trim()}`);
  }
  return JSON.parse(stdout) as NftJson;
}

/** Table, chain and set names the agent writes into scripts. */
export function checkNftName(name: string, where: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(name)) throw new Error(`${where}: ${quote(name)} is not a valid nft name`);
  return name;
}

function nft(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('nft', args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: NFT_TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => reject(new Error(`cannot run nft: ${error.message}`)));
    child.on('close', (code, signal) =>
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr: signal ? `${stderr}killed by ${signal}` : stderr }),
    );
    // nft may exit before reading everything (a parse error): the write error is the exit code's business.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

/** An IPv4 or IPv6 network: its address (host bits zero) and prefix length. A single address has the full length. */
export interface IpPrefix {
  version: 4 | 6;
  bytes: Uint8Array;
  length: number;
}

/** One IP address, no prefix (`where` names the parameter in the error). */
export function parseAddress(text: unknown, where: string): IpPrefix {
  if (typeof text === 'string' && text.includes('/')) throw new Error(`${where}: ${quote(text)} must be a single IP address, not a prefix`);
  return parsePrefix(text, where);
}

/** An IP address or CIDR prefix (`10.0.0.0/8`, `2001:db8::/32`); host bits set after the prefix are refused. */
export function parsePrefix(text: unknown, where: string): IpPrefix {
  if (typeof text !== 'string') throw new Error(`${where}: expected an IP address or CIDR prefix, got ${typeof text}`);
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const version = addressText.includes('%') ? 0 : isIP(addressText);
  if (version !== 4 && version !== 6) throw new Error(`${where}: ${quote(text)} is not an IP address or CIDR prefix`);
  const bytes = version === 4 ? ipv4Bytes(addressText) : ipv6Bytes(addressText);
  const full = bytes.length * 8;
  let length = full;
  if (slash >= 0) {
    const lengthText = text.slice(slash + 1);
    length = /^\d{1,3}$/.test(lengthText) ? Number(lengthText) : NaN;
    if (!(length <= full)) throw new Error(`${where}: ${quote(text)} has a bad prefix length (0 to ${full} for IPv${version})`);
  }
  const prefix: IpPrefix = { version, bytes, length };
  const network = maskPrefix(prefix);
  if (!network.bytes.every((byte, i) => byte === bytes[i])) {
    throw new Error(`${where}: ${quote(text)} has bits set after its /${length} prefix (the network is ${formatPrefix(network)})`);
  }
  return prefix;
}

/** A TCP/UDP port number 1-65535. */
export function checkPort(port: unknown, where: string): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${where}: ${quote(port)} is not a port number (1-65535)`);
  }
  return port;
}

/** Canonical text: `1.2.3.4` or `10.0.0.0/8`; IPv6 in RFC 5952 form (lower case, longest zero run as `::`). */
export function formatPrefix(prefix: IpPrefix): string {
  const address = prefix.version === 4 ? [...prefix.bytes].join('.') : formatIpv6(prefix.bytes);
  return prefix.length === prefix.bytes.length * 8 ? address : `${address}/${prefix.length}`;
}

/** Whether `inner` lies inside `outer` (same family, `outer`'s prefix bits equal). */
export function prefixContains(outer: IpPrefix, inner: IpPrefix): boolean {
  if (outer.version !== inner.version || outer.length > inner.length) return false;
  const masked = maskPrefix({ ...inner, length: outer.length });
  return masked.bytes.every((byte, i) => byte === outer.bytes[i]);
}

/** Sorts by family, then address, then prefix length (a network before the networks inside it). */
export function comparePrefixes(a: IpPrefix, b: IpPrefix): number {
  if (a.version !== b.version) return a.version - b.version;
  for (let i = 0; i < a.bytes.length; i++) if (a.bytes[i] !== b.bytes[i]) return a.bytes[i] - b.bytes[i];
  return a.length - b.length;
}

/** The nft payload keyword for addresses of this family: `ip` or `ip6`. */
export function nftAddressFamily(prefix: IpPrefix): 'ip' | 'ip6' {
  return prefix.version === 4 ? 'ip' : 'ip6';
}

function maskPrefix(prefix: IpPrefix): IpPrefix {
  const bytes = prefix.bytes.map((byte, i) => {
    const bitsHere = Math.max(0, Math.min(8, prefix.length - i * 8));
    return byte & ((0xff << (8 - bitsHere)) & 0xff);
  });
  return { ...prefix, bytes };
}

/** Bytes of an address `isIP` accepted as IPv4. */
function ipv4Bytes(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number));
}

/** Bytes of an address `isIP` accepted as IPv6 (with `::` and an optional dotted IPv4 tail). */
function ipv6Bytes(text: string): Uint8Array {
  const groupsOf = (part: string): number[] => {
    if (part === '') return [];
    return part.split(':').flatMap((group) => {
      if (!group.includes('.')) return [parseInt(group, 16)];
      const [a, b, c, d] = ipv4Bytes(group);
      return [(a << 8) | b, (c << 8) | d];
    });
  };
  const [head, tail] = text.split('::');
  const headGroups = groupsOf(head);
  const tailGroups = tail === undefined ? [] : groupsOf(tail);
  const groups = [...headGroups, ...new Array<number>(8 - headGroups.length - tailGroups.length).fill(0), ...tailGroups];
  return Uint8Array.from(groups.flatMap((group) => [group >> 8, group & 0xff]));
}

function formatIpv6(bytes: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i] << 8) | bytes[2 * i + 1]);
  // The longest run of two or more zero groups (the first of equals) becomes `::`.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (list: number[]): string => list.map((group) => group.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/** A value shown in an error message, cut to a readable length. */
export function quote(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
