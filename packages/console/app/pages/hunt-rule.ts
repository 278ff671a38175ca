/**
 * Sigma YAML the Hunt page writes: an id for a rule about to be saved, and the rule equivalent to
 * a field query. Plain text work (the console carries no YAML library); the server loads the result
 * and says exactly what is wrong if anything is.
 */
import type { Level, StoredEvent } from '../api';

export const STARTER_RULE = `title: Programs started from a user's AppData folder
# logsource picks the events: product windows or linux, a category (process_creation,
# network_connection, dns_query, file_event ...) or a service (security, sysmon, sshd ...)
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|contains: '\\AppData\\'
  condition: selection
level: medium
`;

/** A v4 UUID; crypto.randomUUID exists only in secure contexts (a console over plain http on a LAN address has none). */
export function newRuleId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const TOP_LEVEL_ID = /^id[ \t]*:(.*)$/m;
const TOP_LEVEL_TITLE = /^title[ \t]*:.*$/m;

/** The rule with a top-level `id` (the server needs one to name the rule); `added` is the id put in, if any. */
export function withRuleId(yaml: string): { yaml: string; added?: string } {
  const existing = TOP_LEVEL_ID.exec(yaml);
  const value = existing?.[1]!.trim() ?? '';
  if (existing && value !== '' && !value.startsWith('#')) return { yaml };
  const id = newRuleId();
  if (existing) return { yaml: yaml.replace(TOP_LEVEL_ID, `id: ${id}`), added: id };
  const title = TOP_LEVEL_TITLE.exec(yaml);
  if (!title) return { yaml: `id: ${id}\n${yaml}`, added: id };
  const end = title.index + title[0].length;
  return { yaml: `${yaml.slice(0, end)}\nid: ${id}${yaml.slice(end)}`, added: id };
}

export interface LogSourceChoice {
  key: string;
  label: string;
  logsource: Record<string, string>;
}

/**
 * Log sources a saved field query can apply to. A Sigma rule must name one (the loader refuses an
 * empty logsource) and the mapping decides which events it covers: these are the broad entries.
 */
export const LOG_SOURCES: LogSourceChoice[] = [
  { key: 'windows', label: 'Windows event logs (product: windows)', logsource: { product: 'windows' } },
  { key: 'linux', label: 'Linux: syslog, auditd, agent (product: linux)', logsource: { product: 'linux' } },
  { key: 'dns', label: 'DNS server logs (category: dns)', logsource: { category: 'dns' } },
  { key: 'proxy', label: 'Proxy logs (category: proxy)', logsource: { category: 'proxy' } },
  { key: 'firewall', label: 'Firewall logs (category: firewall)', logsource: { category: 'firewall' } },
  { key: 'webserver', label: 'Web server logs (category: webserver)', logsource: { category: 'webserver' } },
];

const LINUX_SOURCES = new Set(['syslog', 'auditd', 'firebreak-agent']);

/** The log source the events a query found most likely belong to (the first one decides). */
export function guessLogSource(event: StoredEvent | undefined): string {
  const source = event?.fields._source;
  if (typeof source === 'string') {
    if (LINUX_SOURCES.has(source)) return 'linux';
    if (LOG_SOURCES.some((choice) => choice.key === source)) return source;
  }
  return 'windows';
}

export interface FieldRuleSpec {
  id: string;
  title: string;
  level: Level;
  logsource: Record<string, string>;
  fields: [string, string][];
  author: string;
}

/** Why `fields` cannot become a Sigma selection, or undefined when they can. */
export function fieldRuleProblem(fields: [string, string][]): string | undefined {
  if (fields.length === 0) return 'add at least one field to save the query as a rule';
  const piped = fields.find(([name]) => name.includes('|'));
  if (piped) return `the field name "${piped[0]}" holds "|", which Sigma reads as a modifier: it cannot be saved as a rule`;
  return undefined;
}

/** A Sigma rule matching the events whose fields have these values. */
export function fieldQueryRule(spec: FieldRuleSpec): string {
  const lines = [
    `title: ${quoted(spec.title)}`,
    `id: ${spec.id}`,
    'status: experimental',
    "description: Saved from a field query on the console's Hunt page.",
    `author: ${quoted(spec.author)}`,
    `date: ${new Date().toISOString().slice(0, 10)}`,
    'logsource:',
    ...Object.entries(spec.logsource).map(([key, value]) => `  ${key}: ${value}`),
    'detection:',
    '  selection:',
    ...spec.fields.map(([name, value]) => `    ${yamlKey(name)}: ${quoted(sigmaLiteral(value))}`),
    '  condition: selection',
    `level: ${spec.level}`,
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * A value Sigma reads as exactly `value`: `*` and `?` are wildcards unless escaped, and a
 * backslash escapes only `*`, `?` and another backslash (so `C:\Windows` stays as it is).
 */
export function sigmaLiteral(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '*' || c === '?') out += `\\${c}`;
    else if (c === '\\' && '*?\\'.includes(value[i + 1] ?? '')) out += '\\\\';
    else out += c;
  }
  return out;
}

/** A YAML scalar: single-quoted (backslashes stay literal, readable paths), double-quoted JSON when it holds control characters. */
function quoted(value: string): string {
  if (/[\u0000-\u001f\u007f]/.test(value)) return JSON.stringify(value);
  return `'${value.replaceAll("'", "''")}'`;
}

function yamlKey(name: string): string {
  return /^[A-Za-z_][\w.-]*$/.test(name) ? name : quoted(name);
}
