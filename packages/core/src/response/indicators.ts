/**
 * The values responses act on — IP addresses, domain names, SHA-256 hashes, executable paths —
 * read from event fields and checked before anything is blocked. Playbooks, the forensic verdict
 * and the blocklist exports share these checks, so a value refused in one place is refused in all.
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';

/**
 * An IP address in one canonical text form (IPv6 compressed and lower-case; an IPv4-mapped IPv6
 * address as plain IPv4), or null when `text` is not an IP address.
 */
export function normalizeIp(text: string): string | null {
  const trimmed = text.trim();
  const version = isIP(trimmed);
  if (version === 4) return trimmed;
  if (version !== 6) return null;
  // The URL parser compresses and lower-cases IPv6; it writes a mapped IPv4 address as ::ffff:7f00:1.
  const canonical = new URL(`http://[${trimmed}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mapped) return canonical;
  const high = parseInt(mapped[1]!, 16);
  const low = parseInt(mapped[2]!, 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/**
 * Why an address must never be blocked, or null when it may be: loopback, the unspecified
 * address, multicast and broadcast are not destinations an attacker owns, and blocking them
 * breaks the host (and the server's own addresses would cut every agent off).
 */
export function unblockableIpReason(address: string, protectedAddresses: readonly string[] = []): string | null {
  const ip = normalizeIp(address);
  if (ip === null) return `"${address}" is not an IP address`;
  if (protectedAddresses.some((other) => normalizeIp(other) === ip)) return `${ip} is the Firebreak server's own address`;
  if (ip === '0.0.0.0' || ip === '::') return `${ip} is the unspecified address`;
  if (ip.startsWith('127.') || ip === '::1') return `${ip} is a loopback address`;
  if (ip === '255.255.255.255') return `${ip} is the broadcast address`;
  const first = Number(ip.split('.')[0]);
  if ((isIP(ip) === 4 && first >= 224 && first <= 239) || /^ff[0-9a-f]{2}:/.test(ip)) return `${ip} is a multicast address`;
  return null;
}

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/**
 * A domain name lower-case, without a trailing dot, internationalized names in their ASCII
 * (punycode) form; null when it is not a usable name: empty labels, characters a DNS name cannot
 * hold, longer than 253 characters, a single label (`localhost`, `wpad`) or an IP address.
 */
export function normalizeDomain(text: string): string | null {
  const trimmed = text.trim().replace(/\.$/, '');
  if (trimmed === '' || isIP(trimmed) !== 0) return null;
  const ascii = domainToASCII(trimmed.toLowerCase());
  if (ascii === '' || ascii.length > 253) return null;
  const labels = ascii.split('.');
  if (labels.length < 2 || !labels.every((label) => LABEL.test(label))) return null;
  // A numeric top-level label means an address in disguise (`10.0.0.300`), not a name.
  if (/^\d+$/.test(labels.at(-1)!)) return null;
  return ascii;
}

const SHA256 = /^[0-9a-f]{64}$/;

/** A SHA-256 in lower-case hex, or null. */
export function normalizeSha256(text: string): string | null {
  const value = text.trim().toLowerCase();
  return SHA256.test(value) ? value : null;
}

/** The SHA-256 in a Sysmon `Hashes` field (`SHA256=…` or `MD5=…,SHA256=…,IMPHASH=…`), or null. */
export function sha256FromHashes(hashes: unknown): string | null {
  if (typeof hashes !== 'string') return null;
  for (const part of hashes.split(',')) {
    const [algorithm, value] = part.split('=');
    if (algorithm?.trim().toUpperCase() === 'SHA256' && value !== undefined) return normalizeSha256(value);
  }
  return null;
}

/** Where the operating system's packaged programs and libraries live. */
const SYSTEM_DIRECTORIES = ['/bin/', '/sbin/', '/usr/bin/', '/usr/sbin/', '/lib/', '/lib64/', '/usr/lib/', '/usr/lib64/', '/usr/libexec/'];

/**
 * Whether `path` is a packaged system program or library: quarantining it, or blocking its hash,
 * would break every legitimate use of it (an attacker's curl is everyone's curl).
 */
export function isSystemPath(path: string): boolean {
  return SYSTEM_DIRECTORIES.some((directory) => path.startsWith(directory));
}

/** Directories any user can write to, where droppers put their payloads. */
const WRITABLE_DIRECTORIES = ['/tmp/', '/var/tmp/', '/dev/shm/', '/run/shm/'];

/** Why `path` is an unusual place for a program (a world-writable or hidden directory), or null. */
export function suspiciousLocation(path: string): string | null {
  const writable = WRITABLE_DIRECTORIES.find((directory) => path.startsWith(directory));
  if (writable) return `in the world-writable directory ${writable.slice(0, -1)}`;
  const hidden = path
    .split('/')
    .slice(0, -1)
    .find((component) => component.startsWith('.') && component !== '.' && component !== '..');
  return hidden ? `in the hidden directory ${hidden}` : null;
}

/** A field's value as a positive integer (Sysmon writes numbers as text), or null. */
export function positiveInteger(value: unknown): number | null {
  const number = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  return typeof number === 'number' && Number.isSafeInteger(number) && number > 0 ? number : null;
}

/** A field's value as non-empty text, or null. */
export function textField(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

/** A hash cut for reading (`ab12cd34…`): enough to tell hashes apart in a sentence. */
export function shortHash(sha256: string): string {
  return `${sha256.slice(0, 12)}…`;
}
