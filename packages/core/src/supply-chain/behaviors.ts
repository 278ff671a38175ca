/**
 * What an application does, in the forms baselines compare: the file name of a child process, a
 * network destination (DNS name, else IP address), a loaded module, and the folder pattern of a file
 * written outside the application's own folder (user names and random parts normalised, so that
 * `C:\Users\jdoe\AppData\Roaming\App\Logs` on one host is the same behaviour as on another).
 */
import { isIP } from 'node:net';
import { normalizeDomain, normalizeIp } from '../response/indicators.js';

export type BehaviorKind = 'child' | 'destination' | 'module' | 'file';
export const BEHAVIOR_KINDS: readonly BehaviorKind[] = ['child', 'destination', 'module', 'file'];

/**
 * Shells, script hosts and living-off-the-land binaries: an application that never started one and
 * now does is doing something else than before (the 3CX payload's hands-on stage ran cmd.exe).
 */
const SHELLS_AND_LOLBINS = new Set([
  'cmd.exe',
  'powershell.exe',
  'pwsh.exe',
  'powershell_ise.exe',
  'wscript.exe',
  'cscript.exe',
  'mshta.exe',
  'rundll32.exe',
  'regsvr32.exe',
  'certutil.exe',
  'bitsadmin.exe',
  'schtasks.exe',
  'wmic.exe',
  'msbuild.exe',
  'installutil.exe',
  'regasm.exe',
  'regsvcs.exe',
  'cmstp.exe',
  'msiexec.exe',
  'curl.exe',
  'ftp.exe',
  'nltest.exe',
  'whoami.exe',
  'net.exe',
  'net1.exe',
  'reg.exe',
  'sh',
  'bash',
  'dash',
  'zsh',
  'ksh',
  'busybox',
  'curl',
  'wget',
  'nc',
  'ncat',
  'socat',
  'python',
  'python3',
  'perl',
  'base64',
]);

/** Whether a child process's file name is a shell, script host or LOLBin. */
export function isShellOrLolbin(fileName: string): boolean {
  return SHELLS_AND_LOLBINS.has(fileName.toLowerCase());
}

/**
 * Whether an IP address (canonical, see normalizeIp) is not on the internet: private (RFC 1918,
 * RFC 4193), shared (RFC 6598), loopback, link-local, unspecified, multicast or broadcast.
 */
export function isLocalAddress(ip: string): boolean {
  if (isIP(ip) === 4) {
    const [a, b] = ip.split('.').map(Number) as [number, number];
    return (
      a === 10 ||
      a === 127 ||
      a === 0 ||
      a >= 224 ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  return ip === '::' || ip === '::1' || /^(fe[89ab]|f[cd]|ff)/.test(ip);
}

/** Name suffixes that only resolve inside an organisation. */
const LOCAL_SUFFIXES = ['.local', '.lan', '.internal', '.intranet', '.corp', '.home.arpa', '.localdomain', '.in-addr.arpa', '.ip6.arpa'];

/** Whether a DNS name belongs to the organisation's own network: a local suffix, or answers that are all local addresses. */
export function isLocalName(name: string, answers: readonly string[]): boolean {
  if (LOCAL_SUFFIXES.some((suffix) => name.endsWith(suffix))) return true;
  return answers.length > 0 && answers.every(isLocalAddress);
}

/** The addresses in Sysmon 22's QueryResults (`::ffff:192.0.2.1;type:  5 cdn.example;…`), canonical. */
export function dnsAnswers(queryResults: unknown): string[] {
  if (typeof queryResults !== 'string') return [];
  const addresses: string[] = [];
  for (const part of queryResults.split(';')) {
    const ip = normalizeIp(part);
    if (ip !== null) addresses.push(ip);
  }
  return addresses;
}

/** A DNS name as destinations are kept (lower-case, ASCII), or null when it is no usable name. */
export function destinationName(text: unknown): string | null {
  return typeof text === 'string' ? normalizeDomain(text) : null;
}

/** Folder levels a file pattern keeps: deeper folders are one behaviour with their ancestor at this depth. */
const MAX_FOLDER_DEPTH = 8;
const GUID = /^\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?$/;
const LONG_HEX = /^[0-9a-f]{16,}$/;
/** Folders whose next level is a user's name. */
const HOME_PARENTS = new Set(['users', 'home', 'documents and settings']);

/**
 * The folder a file was written to, as a pattern shared by every host: lower-case, the user's name
 * after `Users`/`home` as `*`, GUIDs as `{guid}`, long hex names as `<hex>`, runs of two digits or
 * more as `#` (versions, dates, counters; `3CX` stays), at
 * most 8 levels deep. Null for a path without a folder.
 */
export function folderPattern(path: string): string | null {
  const windows = path.includes('\\') || /^[a-z]:/i.test(path);
  const separator = windows ? '\\' : '/';
  const parts = path.toLowerCase().split(/[\\/]+/);
  parts.pop();
  if (parts.length === 0 || (parts.length === 1 && parts[0] === '')) return null;
  const pattern = parts.map((part, index) => {
    if (index > 0 && HOME_PARENTS.has(parts[index - 1]!) && index <= 2) return '*';
    if (index === 0) return part;
    if (GUID.test(part)) return '{guid}';
    if (LONG_HEX.test(part)) return '<hex>';
    return part.replace(/\d{2,}/g, '#');
  });
  const deep = pattern.length > MAX_FOLDER_DEPTH;
  return pattern.slice(0, MAX_FOLDER_DEPTH).join(separator) + (deep ? `${separator}…` : '');
}

/** Whether `path` is in `folder` (lower-case, with its trailing separator) or below it. */
export function isInsideFolder(path: string, folder: string): boolean {
  return folder !== '' && path.toLowerCase().startsWith(folder);
}
