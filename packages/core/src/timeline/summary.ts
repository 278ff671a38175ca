/** One line that says what an event is about, for timelines. */
import type { FirebreakEvent } from '../event.js';
import { jsonText } from '../hunt/output/text.js';
import { logonTypeName } from '../metrics/event-descriptions.js';
import { account, baseName, processEnd, processStart } from './process-events.js';

/** A value longer than this is cut with "…": a summary is a line to read, the fields hold the rest. */
const MAX_VALUE = 240;
/** Fields shown for an event no rule below knows. */
const GENERIC_FIELDS = 4;

/** Fields that say little about an event: the EVTX System fields every Windows event has, SIDs, logon ids. */
const NOISE_FIELDS = new Set([
  'Provider_Name',
  'Provider_Guid',
  'Provider_EventSourceName',
  'EventID',
  'EventID_Qualifiers',
  'Version',
  'Level',
  'Task',
  'Opcode',
  'Keywords',
  'TimeCreated_SystemTime',
  'EventRecordID',
  'Correlation_ActivityID',
  'Correlation_RelatedActivityID',
  'Execution_ProcessID',
  'Execution_ThreadID',
  'Channel',
  'Computer',
  'Security_UserID',
  'RuleName',
  'UtcTime',
  'SubjectUserSid',
  'SubjectDomainName',
  'SubjectLogonId',
  'TargetUserSid',
  'TargetLogonId',
  'LogonGuid',
]);

/** Fields that tell what an otherwise unknown event is about, shown before the others. */
const TELLING_FIELDS = [
  'SubjectUserName',
  'TaskName',
  'ServiceName',
  'ServiceFileName',
  'ObjectName',
  'ShareName',
  'RelativeTargetName',
  'TargetUserName',
  'MemberName',
  'ProcessName',
  'IpAddress',
];

/**
 * What happened, in one line: for a process creation "Image CommandLine (pid P, parent PP
 * ParentImage)", for a network connection "Image → DestinationIp:DestinationPort", for a logon
 * "user from IpAddress type N (Name)", for a few other well-known events their telling fields,
 * otherwise the first event-specific fields as `name=value`. Control characters (line breaks
 * included) become spaces, so attacker-written text can neither break the line nor drive a terminal.
 */
export function eventSummary(event: FirebreakEvent): string {
  return oneLine(describe(event));
}

function describe(event: FirebreakEvent): string {
  const get = (name: string): string | undefined => textOf(event.fields.get(name));
  const start = processStart(event);
  if (start) {
    const parent = [start.parentPid === undefined ? undefined : pidText(event, 'parent'), start.parentImage && baseName(start.parentImage)]
      .filter(Boolean)
      .join(' ');
    const command = start.commandLine ? `  ${cut(start.commandLine)}` : '';
    return `${cut(start.image ?? '?')}${command} (pid ${pidText(event, 'self')}${parent ? `, parent ${parent}` : ''})`;
  }
  const end = processEnd(event);
  if (end) return `exited: ${cut(end.image ?? '?')} (pid ${textOf(event.fields.get('ProcessId')) ?? '?'})`;
  const id = event.eventId;
  const channel = event.channel?.toLowerCase();
  if (channel === 'security' && (id === 4624 || id === 4625 || id === 4648)) return logon(event, get);
  const image = get('Image') ?? get('Application');
  const destination = get('DestinationIp') ?? get('DestAddress');
  if (image && destination) {
    const port = get('DestinationPort') ?? get('DestPort');
    const host = get('DestinationHostname');
    const address = destination.includes(':') && port ? `[${destination}]` : destination;
    return `${cut(image)} → ${address}${port ? `:${port}` : ''}${host ? ` (${host})` : ''}`;
  }
  return known(get) ?? generic(event);
}

function logon(event: FirebreakEvent, get: (name: string) => string | undefined): string {
  const id = event.eventId;
  const user = account(get('TargetDomainName'), get('TargetUserName')) ?? '?';
  const from = get('IpAddress');
  const type = get('LogonType');
  const name = type === undefined ? undefined : logonTypeName(Number(type));
  const what = id === 4625 ? 'failed logon' : id === 4648 ? 'explicit credentials' : 'logon';
  const target = id === 4648 && get('TargetServerName') ? ` to ${get('TargetServerName')}` : '';
  return `${what} ${user}${target}${from && from !== '-' ? ` from ${from}` : ''}${type !== undefined ? ` type ${type}${name ? ` (${name})` : ''}` : ''}`;
}

/** Events whose telling fields are not their first ones: what file, key, query, target. */
function known(get: (name: string) => string | undefined): string | undefined {
  const image = get('Image') ?? get('SourceImage');
  const target =
    get('TargetFilename') ?? get('TargetObject') ?? get('QueryName') ?? get('ImageLoaded') ?? get('TargetImage') ?? get('PipeName');
  if (image && target) {
    const details = get('Details') ?? get('GrantedAccess');
    return `${cut(image)} → ${cut(target)}${details ? ` = ${cut(details)}` : ''}`;
  }
  const script = get('ScriptBlockText');
  if (script) return cut(script);
  const service = get('ServiceName');
  if (service && get('ImagePath')) return `service ${service}: ${cut(get('ImagePath')!)}`;
  return undefined;
}

function generic(event: FirebreakEvent): string {
  const parts: string[] = [];
  const seen = new Set<string>();
  for (const key of [...TELLING_FIELDS, ...event.fields.keys()]) {
    if (NOISE_FIELDS.has(key) || seen.has(key)) continue;
    seen.add(key);
    const value = textOf(event.fields.get(key));
    if (value === undefined || value === '' || value === '-') continue;
    parts.push(`${key}=${cut(value)}`);
    if (parts.length === GENERIC_FIELDS) break;
  }
  return parts.join(' ');
}

/** The PID as the event writes it (Security's hex kept, as people search for it). */
function pidText(event: FirebreakEvent, which: 'self' | 'parent'): string {
  const security = event.channel?.toLowerCase() === 'security';
  const name = which === 'self' ? (security ? 'NewProcessId' : 'ProcessId') : security ? 'ProcessId' : 'ParentProcessId';
  return textOf(event.fields.get(name)) ?? '?';
}

function cut(text: string): string {
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE)}…` : text;
}

function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  // Nested lists and objects as JSON: String() would recurse into them, as deep as a log nests them.
  if (Array.isArray(value))
    return value.map((item: unknown) => (item !== null && typeof item === 'object' ? jsonText(item) : String(item))).join(',');
  return undefined;
}

/** Control characters (C0, DEL, C1) and line/paragraph separators become spaces. */
export function oneLine(text: string): string {
  let out: string[] | undefined;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029) {
      (out ??= []).push(text.slice(from, i), ' ');
      from = i + 1;
    }
  }
  return out ? out.join('') + text.slice(from) : text;
}
