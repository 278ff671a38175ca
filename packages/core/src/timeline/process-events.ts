/**
 * What process events say about processes: Sysmon 1/5 and Security 4688/4689 start and end a
 * process; any event naming a ProcessGuid or ProcessId was produced by that process. Sysmon
 * writes PIDs as numbers, Security auditing as hex strings (`0x1f4`); both become numbers here.
 */
import type { FirebreakEvent } from '../event.js';

/** Who logged a process event: Sysmon, or Windows Security auditing. */
export type ProcessSource = 'sysmon' | 'security';

/** A process creation as an event tells it. */
export interface ProcessStart {
  kind: 'start';
  source: ProcessSource;
  host: string;
  time: number | undefined;
  guid?: string;
  pid?: number;
  image?: string;
  commandLine?: string;
  user?: string;
  parentGuid?: string;
  parentPid?: number;
  parentImage?: string;
  parentCommandLine?: string;
  parentUser?: string;
  /** Where the event was read (`file#record`, `file:line`). */
  origin: string;
}

/** A process termination as an event tells it. */
export interface ProcessEnd {
  kind: 'end';
  source: ProcessSource;
  host: string;
  time: number | undefined;
  guid?: string;
  pid?: number;
  image?: string;
  origin: string;
}

/** The process that produced an event, as far as the event names it. */
export interface ProcessRef {
  host: string;
  time: number | undefined;
  guid?: string;
  pid?: number;
}

const SYSMON_CHANNEL = 'microsoft-windows-sysmon/operational';
const SYSMON_PROVIDER = 'microsoft-windows-sysmon';

function sourceOf(event: FirebreakEvent): ProcessSource | undefined {
  const channel = event.channel?.toLowerCase();
  if (channel === 'security') return 'security';
  if (channel === SYSMON_CHANNEL) return 'sysmon';
  const provider = event.fields.get('Provider_Name');
  return typeof provider === 'string' && provider.toLowerCase() === SYSMON_PROVIDER ? 'sysmon' : undefined;
}

/** The process creation an event tells of (Sysmon 1, Security 4688), or undefined. */
export function processStart(event: FirebreakEvent): ProcessStart | undefined {
  const source = sourceOf(event);
  const id = event.eventId;
  const base = { kind: 'start' as const, host: event.host ?? '', time: event.timestamp, origin: event.origin };
  const get = (name: string): string | undefined => meaningful(event.fields.get(name));
  if (source === 'sysmon' && id === 1)
    return {
      ...base,
      source,
      guid: normalizeGuid(event.fields.get('ProcessGuid')),
      pid: parsePid(event.fields.get('ProcessId')),
      image: get('Image'),
      commandLine: get('CommandLine'),
      user: get('User'),
      parentGuid: normalizeGuid(event.fields.get('ParentProcessGuid')),
      parentPid: parsePid(event.fields.get('ParentProcessId')),
      parentImage: get('ParentImage'),
      parentCommandLine: get('ParentCommandLine'),
      parentUser: get('ParentUser'),
    };
  if (source === 'security' && id === 4688)
    return {
      ...base,
      source,
      pid: parsePid(event.fields.get('NewProcessId')),
      image: get('NewProcessName'),
      commandLine: get('CommandLine'),
      // Version 2 names the new process's account (Target*); version 1 only its creator's (Subject*).
      user: account(get('TargetDomainName'), get('TargetUserName')) ?? account(get('SubjectDomainName'), get('SubjectUserName')),
      parentPid: parsePid(event.fields.get('ProcessId')),
      parentImage: get('ParentProcessName'),
    };
  return undefined;
}

/** The process termination an event tells of (Sysmon 5, Security 4689), or undefined. */
export function processEnd(event: FirebreakEvent): ProcessEnd | undefined {
  const source = sourceOf(event);
  const id = event.eventId;
  if ((source === 'sysmon' && id === 5) || (source === 'security' && id === 4689))
    return {
      kind: 'end',
      source,
      host: event.host ?? '',
      time: event.timestamp,
      guid: source === 'sysmon' ? normalizeGuid(event.fields.get('ProcessGuid')) : undefined,
      pid: parsePid(event.fields.get('ProcessId')),
      image: meaningful(event.fields.get(source === 'sysmon' ? 'Image' : 'ProcessName')),
      origin: event.origin,
    };
  return undefined;
}

/**
 * The process that produced an event: the new process for a creation; the acting (source)
 * process for Sysmon's process access and remote thread events; otherwise ProcessGuid/ProcessId.
 * Other channels (PowerShell, System…) are written by the process that acts, so the logging
 * process (`Execution_ProcessID`) is it; Sysmon's and Security's are written by the logging
 * service, never by the actor. Undefined when the event names no process.
 */
export function processRefOf(event: FirebreakEvent): ProcessRef | undefined {
  const fields = event.fields;
  const guid = normalizeGuid(fields.get('ProcessGuid') ?? fields.get('SourceProcessGuid') ?? fields.get('SourceProcessGUID'));
  let pid = parsePid(fields.get('NewProcessId') ?? fields.get('ProcessId') ?? fields.get('SourceProcessId'));
  if (guid === undefined && pid === undefined && sourceOf(event) === undefined) pid = parsePid(fields.get('Execution_ProcessID'));
  if (guid === undefined && pid === undefined) return undefined;
  return { host: event.host ?? '', time: event.timestamp, guid, pid };
}

/** A PID from a number, a decimal string or a hex string (`0x1f4`); undefined for anything else. */
export function parsePid(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'bigint') return value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const s = value.trim().toLowerCase();
  // PIDs are 32-bit: a longer string is not one (and is not worth scanning).
  if (s === '' || s.length > 12) return undefined;
  const hex = s.startsWith('0x');
  const digits = hex ? s.slice(2) : s;
  if (digits === '' || ![...digits].every((c) => (hex ? isHexDigit(c) : c >= '0' && c <= '9'))) return undefined;
  return parseInt(digits, hex ? 16 : 10);
}

function isHexDigit(c: string): boolean {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

/** A process GUID in one spelling (upper case, no braces); undefined for none or the all-zero GUID Sysmon writes for "unknown". */
export function normalizeGuid(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  let s = value.trim();
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1);
  s = s.toUpperCase();
  return s === '' || s === ZERO_GUID ? undefined : s;
}

/** `DOMAIN\user`, or `user` alone when the domain is empty; undefined when the user is empty or `-`. */
export function account(domain: string | undefined, user: string | undefined): string | undefined {
  if (user === undefined || user === '' || user === '-') return undefined;
  return domain && domain !== '-' ? `${domain}\\${user}` : user;
}

/** The file name of a Windows or POSIX path. */
export function baseName(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('\\'), path.lastIndexOf('/')) + 1);
}

/** A value as text; Windows writes `-` (and sometimes nothing) for "none". */
function meaningful(value: unknown): string | undefined {
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'bigint' ? String(value) : undefined;
  return text === '' || text === '-' ? undefined : text;
}
