/**
 * The server's configuration file (YAML or JSON): the same settings as the command line, which
 * overrides it. Unknown keys and wrong types are errors that name the key, so a typo cannot
 * silently leave a default (an open bind address, say) in place.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import type { HostPort, ServerOptions } from './server.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (loopback). */
export function parseHostPort(text: string, what: string): HostPort {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new ConfigError(`${what}: "${text}" is not HOST:PORT`);
  return { host: match[1] ?? (match[2] || '127.0.0.1'), port };
}

type Settings = Partial<ServerOptions>;

const KEYS = [
  'data',
  'listen',
  'rules',
  'store',
  'threads',
  'max_queued',
  'body_limit',
  'upload_limit',
  'rate_limit',
  'retention',
  'syslog',
  'incident_window_minutes',
  'tls',
  'playbooks',
  'response',
  'agent_heartbeat_seconds',
  'drift_learning_days',
];

export function loadConfig(path: string): Settings {
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`cannot read the configuration ${path}: ${(error as Error).message}`);
  }
  const config = table(doc ?? {}, path, KEYS);
  const at = (key: string): string => `${path}: ${key}`;
  const base = dirname(resolve(path));
  const settings: Settings = {};
  if (config.data !== undefined) settings.dataDir = resolve(base, text(config.data, at('data')));
  if (config.listen !== undefined) settings.listen = parseHostPort(text(config.listen, at('listen')), at('listen'));
  if (config.rules !== undefined) settings.rules = list(config.rules, at('rules')).map((r) => resolve(base, r));
  if (config.store !== undefined) settings.store = text(config.store, at('store'));
  if (config.threads !== undefined) settings.threads = count(config.threads, at('threads'));
  if (config.max_queued !== undefined) settings.maxQueued = count(config.max_queued, at('max_queued'));
  if (config.body_limit !== undefined) settings.bodyLimit = count(config.body_limit, at('body_limit'));
  if (config.upload_limit !== undefined) settings.uploadLimit = count(config.upload_limit, at('upload_limit'));
  if (config.incident_window_minutes !== undefined)
    settings.incidentWindowMs = count(config.incident_window_minutes, at('incident_window_minutes')) * 60_000;
  if (config.rate_limit !== undefined) {
    const rate = table(config.rate_limit, at('rate_limit'), ['per_second', 'burst']);
    settings.rateLimit = {
      perSecond: count(rate.per_second, at('rate_limit.per_second')),
      burst: count(rate.burst, at('rate_limit.burst')),
    };
  }
  if (config.retention !== undefined) {
    const retention = table(config.retention, at('retention'), ['max_age_days', 'max_bytes']);
    settings.retention = {
      maxAgeDays: retention.max_age_days === undefined ? undefined : count(retention.max_age_days, at('retention.max_age_days')),
      maxBytes: retention.max_bytes === undefined ? undefined : count(retention.max_bytes, at('retention.max_bytes')),
    };
  }
  if (config.syslog !== undefined)
    settings.syslog = syslogSettings(table(config.syslog, at('syslog'), ['udp', 'tcp', 'tls']), at('syslog'), base);
  if (config.tls !== undefined) {
    const tls = table(config.tls, at('tls'), ['cert', 'key']);
    settings.tls = { certFile: resolve(base, text(tls.cert, at('tls.cert'))), keyFile: resolve(base, text(tls.key, at('tls.key'))) };
  }
  if (config.playbooks !== undefined) settings.playbooks = list(config.playbooks, at('playbooks')).map((p) => resolve(base, p));
  if (config.drift_learning_days !== undefined) settings.driftLearningDays = count(config.drift_learning_days, at('drift_learning_days'));
  if (config.agent_heartbeat_seconds !== undefined)
    settings.agentHeartbeatMs = count(config.agent_heartbeat_seconds, at('agent_heartbeat_seconds')) * 1000;
  if (config.response !== undefined)
    settings.response = responseSettings(table(config.response, at('response'), ['isolation', 'server_addresses']), at('response'));
  return settings;
}

function syslogSettings(syslog: Record<string, unknown>, where: string, base: string): ServerOptions['syslog'] {
  const out: NonNullable<ServerOptions['syslog']> = {};
  if (syslog.udp !== undefined) out.udp = parseHostPort(text(syslog.udp, `${where}.udp`), `${where}.udp`);
  if (syslog.tcp !== undefined) out.tcp = parseHostPort(text(syslog.tcp, `${where}.tcp`), `${where}.tcp`);
  if (syslog.tls !== undefined) {
    const tls = table(syslog.tls, `${where}.tls`, ['listen', 'cert', 'key']);
    out.tls = {
      ...parseHostPort(text(tls.listen, `${where}.tls.listen`), `${where}.tls.listen`),
      certFile: resolve(base, text(tls.cert, `${where}.tls.cert`)),
      keyFile: resolve(base, text(tls.key, `${where}.tls.key`)),
    };
  }
  return out;
}

/** `response: { isolation: { allow: [ADDRESS[:PORT] | {address, port, protocol}], allow_dns }, server_addresses: [...] }` */
function responseSettings(response: Record<string, unknown>, where: string): ServerOptions['response'] {
  const out: NonNullable<ServerOptions['response']> = {};
  if (response.server_addresses !== undefined) out.serverAddresses = list(response.server_addresses, `${where}.server_addresses`);
  if (response.isolation !== undefined) {
    const isolation = table(response.isolation, `${where}.isolation`, ['allow', 'allow_dns']);
    const allow = isolation.allow === undefined ? [] : Array.isArray(isolation.allow) ? isolation.allow : [isolation.allow];
    out.isolation = {
      allow: allow.map((entry, i) => allowedDestination(entry, `${where}.isolation.allow[${i}]`)),
      allowDns: isolation.allow_dns === undefined ? false : flag(isolation.allow_dns, `${where}.isolation.allow_dns`),
    };
  }
  return out;
}

function allowedDestination(entry: unknown, where: string): { address: string; port?: number; protocol?: 'tcp' | 'udp' } {
  const item = table(entry, where, ['address', 'port', 'protocol']);
  const protocol = item.protocol === undefined ? undefined : text(item.protocol, `${where}.protocol`);
  if (protocol !== undefined && protocol !== 'tcp' && protocol !== 'udp') throw new ConfigError(`${where}.protocol: expected tcp or udp`);
  return {
    address: text(item.address, `${where}.address`),
    port: item.port === undefined ? undefined : count(item.port, `${where}.port`),
    protocol,
  };
}

function flag(value: unknown, where: string): boolean {
  if (typeof value !== 'boolean') throw new ConfigError(`${where}: expected true or false`);
  return value;
}

/** A mapping with only the `known` keys: a misspelt one must not leave its default in place unnoticed. */
function table(value: unknown, where: string, known: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`${where}: expected a mapping`);
  for (const key of Object.keys(value))
    if (!known.includes(key)) throw new ConfigError(`${where}: unknown setting "${key}" (known: ${known.join(', ')})`);
  return value as Record<string, unknown>;
}

function text(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') throw new ConfigError(`${where}: expected text`);
  return value;
}

function list(value: unknown, where: string): string[] {
  const items = Array.isArray(value) ? value : [value];
  return items.map((item, i) => text(item, `${where}[${i}]`));
}

function count(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw new ConfigError(`${where}: expected a positive whole number`);
  return value;
}
