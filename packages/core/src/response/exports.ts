/**
 * Blocklists for network devices: a DNS response policy zone (RPZ) for resolvers (BIND, Unbound,
 * PowerDNS, Knot) and plain-text lists (one entry a line, `#` comments) for firewalls and proxies.
 * Entries are normalized, checked, sorted and unique; an entry that is not valid is left out
 * rather than written, since a device may reject a whole list over one bad line.
 */
import { isIP } from 'node:net';
import { normalizeDomain, normalizeIp, unblockableIpReason } from './indicators.js';

export interface RpzOptions {
  /**
   * The zone's name. When given, a `$ORIGIN` line pins the names to it (it must then be the zone
   * name the resolver loads the file as); omitted, the names are relative to whatever zone loads it.
   */
  origin?: string;
  /** The SOA serial: resolvers reload the zone when it grows. 0..4294967295. */
  serial: number;
  /** Seconds; default 300. */
  ttl?: number;
}

const MAX_SERIAL = 4_294_967_295;
const MAX_TTL = 2_147_483_647;

/**
 * An RPZ zone answering NXDOMAIN (`CNAME .`) for each domain and every name under it. The SOA
 * and NS records are placeholders: an RPZ zone is never delegated, but a zone file must have them.
 */
export function rpzZone(domains: string[], options: RpzOptions): string {
  const { serial, ttl = 300 } = options;
  if (!Number.isInteger(serial) || serial < 0 || serial > MAX_SERIAL)
    throw new RangeError(`RPZ serial ${serial} is not an integer from 0 to ${MAX_SERIAL}`);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL) throw new RangeError(`RPZ TTL ${ttl} is not an integer from 1 to ${MAX_TTL}`);
  const origin = options.origin === undefined ? null : zoneOrigin(options.origin);
  // With a known origin the full name of `*.domain.origin` must still fit in 253 characters.
  const fits = (domain: string): boolean => origin === null || domain.length + origin.length + 2 <= 253;
  const names = uniqueSorted(domains.map(normalizeDomain).filter((d): d is string => d !== null && fits(d)));
  const lines = [
    `; Firebreak response policy zone: ${names.length} blocked domain${names.length === 1 ? '' : 's'}`,
    ...(origin === null ? [] : [`$ORIGIN ${origin}.`]),
    `$TTL ${ttl}`,
    `@ IN SOA localhost. hostmaster.localhost. ${serial} 3600 600 86400 ${ttl}`,
    '@ IN NS localhost.',
    ...names.flatMap((name) => [`${name} CNAME .`, `*.${name} CNAME .`]),
  ];
  return `${lines.join('\n')}\n`;
}

/** A zone name lower-case without its trailing dot; a single label (`rpz`) is a valid zone. */
function zoneOrigin(text: string): string {
  const origin = text.trim().toLowerCase().replace(/\.$/, '');
  const valid = origin.length <= 200 && origin.split('.').every((label) => /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/.test(label));
  if (!valid) throw new RangeError(`RPZ origin "${text}" is not a domain name`);
  return origin;
}

/** IP addresses a firewall can drop: IPv4 first, each family in numeric order. */
export function ipBlocklist(addresses: string[], generatedAt: Date): string {
  const blockable = addresses.filter((a) => unblockableIpReason(a) === null).map((a) => normalizeIp(a)!);
  const sorted = [...new Set(blockable)].sort(compareIps);
  return plainList(sorted, `${sorted.length} IP address${sorted.length === 1 ? '' : 'es'}`, generatedAt);
}

export function domainBlocklist(domains: string[], generatedAt: Date): string {
  const names = uniqueSorted(domains.map(normalizeDomain).filter((d) => d !== null));
  return plainList(names, `${names.length} domain${names.length === 1 ? '' : 's'}`, generatedAt);
}

/** http and https URLs in their normalized form (lower-case host, punycode, no fragment). */
export function urlBlocklist(urls: string[], generatedAt: Date): string {
  const normalized = urls.map(normalizeUrl).filter((u) => u !== null);
  const sorted = uniqueSorted(normalized);
  return plainList(sorted, `${sorted.length} URL${sorted.length === 1 ? '' : 's'}`, generatedAt);
}

function normalizeUrl(text: string): string | null {
  // The URL parser silently drops tabs and newlines; a value holding any is not a URL we were given.
  if (/[\s\x00-\x1f\x7f]/.test(text.trim())) return null;
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  url.hash = '';
  return url.href;
}

function plainList(entries: string[], what: string, generatedAt: Date): string {
  if (Number.isNaN(generatedAt.getTime())) throw new RangeError('generatedAt is not a valid date');
  return [`# Firebreak blocklist, generated ${generatedAt.toISOString()}: ${what}`, ...entries].join('\n') + '\n';
}

function uniqueSorted(values: string[]): string[] {
  return [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function compareIps(a: string, b: string): number {
  const [x, y] = [ipBytes(a), ipBytes(b)];
  if (x.length !== y.length) return x.length - y.length;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

/** The address's bytes: 4 for IPv4, 16 for IPv6 (canonical, hexadecimal groups only). */
function ipBytes(ip: string): number[] {
  if (isIP(ip) === 4) return ip.split('.').map(Number);
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const groups = (part: string | undefined): number[] => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const left = groups(head);
  const right = groups(tail);
  const words = [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
  return words.flatMap((word) => [word >> 8, word & 255]);
}
