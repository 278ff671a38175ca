/**
 * Reading the values incidents link on — hashes, domains, addresses, accounts, process ids — out of
 * flat event fields (Sigma/Sysmon names, Security auditing, auditd), in one spelling each. Field
 * values come from attackers' machines: anything longer than any real value of its kind is
 * ignored rather than scanned.
 */
import { isIP } from 'node:net';
import { account } from '../timeline/process-events.js';

/** Longer than any path, hash, domain or account we link on (Windows paths stop at 32,767 UTF-16 units, but those are not worth indexing). */
const MAX_VALUE = 1024;

/** A field's text: strings and numbers; of a list (auditd repeats keys), the first; none for empty, `-` or over-long values. */
export function textOf(value: unknown): string | undefined {
  if (Array.isArray(value)) return textOf(value[0]);
  const text =
    typeof value === 'string' ? value.trim() : typeof value === 'number' || typeof value === 'bigint' ? String(value) : undefined;
  return text === undefined || text === '' || text === '-' || text.length > MAX_VALUE ? undefined : text;
}

/** Every text of a field that may be a list. */
export function textsOf(value: unknown): string[] {
  if (!Array.isArray(value)) {
    const text = textOf(value);
    return text === undefined ? [] : [text];
  }
  const out: string[] = [];
  for (const item of value) {
    const text = textOf(item);
    if (text !== undefined) out.push(text);
  }
  return out;
}

const HASH_LENGTHS = new Set([32, 40, 64]);
/** Labels in Sysmon's `Hashes` that name a file's content. IMPHASH names an import table, which unrelated binaries share (every .NET assembly has the same one). */
const CONTENT_HASHES = new Set(['md5', 'sha1', 'sha256']);
const HASH_FIELDS = ['md5', 'sha1', 'sha256'];

function hexHash(text: string): string | undefined {
  const lower = text.trim().toLowerCase();
  if (!HASH_LENGTHS.has(lower.length)) return undefined;
  for (let i = 0; i < lower.length; i++) {
    const c = lower.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return undefined;
  }
  return lower;
}

/** Content hashes (lower-case hex) from Sysmon's `Hashes` (`SHA1=…,MD5=…,SHA256=…,IMPHASH=…`) and md5/sha1/sha256 fields. */
export function contentHashes(fields: Record<string, unknown>): string[] {
  const out: string[] = [];
  const hashes = textOf(fields.Hashes);
  if (hashes !== undefined)
    for (const part of hashes.split(',')) {
      const eq = part.indexOf('=');
      const hash = eq > 0 && CONTENT_HASHES.has(part.slice(0, eq).trim().toLowerCase()) ? hexHash(part.slice(eq + 1)) : undefined;
      if (hash !== undefined) out.push(hash);
    }
  for (const name of HASH_FIELDS) {
    const hash = textOf(fields[name]);
    const hex = hash === undefined ? undefined : hexHash(hash);
    if (hex !== undefined && !out.includes(hex)) out.push(hex);
  }
  return out;
}

/** The strongest content hash of a Sysmon `Hashes` value (SHA256, else SHA1, else MD5), to name a module by its content. */
export function strongestHash(fields: Record<string, unknown>): string | undefined {
  let best: string | undefined;
  for (const hash of contentHashes(fields)) if (best === undefined || hash.length > best.length) best = hash;
  return best;
}

/** A DNS name in one spelling (lower case, no trailing dot); none for what cannot be one. */
export function domainOf(value: unknown): string | undefined {
  const text = textOf(value);
  if (text === undefined) return undefined;
  const name = (text.endsWith('.') ? text.slice(0, -1) : text).toLowerCase();
  return name === '' || name.length > 253 || name.includes(' ') ? undefined : name;
}

/** An IP address in one spelling (IPv4-mapped IPv6 as IPv4, lower case); none for what is not one. */
export function ipOf(value: unknown): string | undefined {
  const text = textOf(value);
  if (text === undefined) return undefined;
  const lower = text.toLowerCase();
  const mapped = lower.startsWith('::ffff:') ? lower.slice('::ffff:'.length) : lower;
  if (isIP(mapped) === 4) return mapped;
  return isIP(lower) === 6 ? lower : undefined;
}

/**
 * Whether an address says anything about an attack: loopback, unspecified, link-local, multicast
 * and broadcast addresses are on every machine. Private addresses do (lateral movement targets them).
 */
export function isTellingIp(ip: string): boolean {
  if (ip.includes(':')) return !(ip === '::' || ip === '::1' || ip.startsWith('fe80:') || ip.startsWith('ff'));
  const first = Number(ip.slice(0, ip.indexOf('.')));
  return !(first === 0 || first === 127 || (first >= 224 && first <= 255) || ip.startsWith('169.254.'));
}

/** IP addresses in Sysmon's DNS `QueryResults` (`type:  5 cname.example;::ffff:1.2.3.4;…`); CNAME entries are not addresses. */
export function queryResultIps(value: unknown): string[] {
  const text = textOf(value);
  if (text === undefined) return [];
  const out: string[] = [];
  for (const part of text.split(';')) {
    const ip = ipOf(part);
    if (ip !== undefined && !out.includes(ip)) out.push(ip);
  }
  return out;
}

/**
 * The account an event acts as: Sysmon's `User`, Security's new-process (Target*) or acting
 * (Subject*) account, auditd's login user (AUID, else auid). auid 4294967295 is "no login user".
 */
export function actingAccount(fields: Record<string, unknown>): string | undefined {
  const auid = textOf(fields.AUID) ?? textOf(fields.auid);
  return (
    textOf(fields.User) ??
    account(textOf(fields.TargetDomainName), textOf(fields.TargetUserName)) ??
    account(textOf(fields.SubjectDomainName), textOf(fields.SubjectUserName)) ??
    (auid === '4294967295' || auid === 'unset' ? undefined : auid)
  );
}

/** Accounts every machine runs things as: sharing one says nothing about two alerts. */
const SERVICE_ACCOUNTS = new Set([
  'system',
  'local service',
  'network service',
  'localservice',
  'networkservice',
  'anonymous logon',
  'root',
  '0',
]);

/** Whether an account is a person's or an attacker's, not a machine's own service account or computer account (`NAME$`). */
export function isPersonalAccount(qualified: string): boolean {
  const name = qualified.slice(qualified.lastIndexOf('\\') + 1).toLowerCase();
  return !SERVICE_ACCOUNTS.has(name) && !name.endsWith('$');
}
