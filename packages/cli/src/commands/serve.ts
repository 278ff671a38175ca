import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, parseHostPort, startServer, DEFAULTS, type HostPort, type RunningServer, type ServerOptions } from '@firebreak/server';
import { CONSOLE_DIR } from '@firebreak/console';
import { UsageError, parsePositiveInt, withUsage } from '../output.js';
import { untilSignal } from './signals.js';

const SERVE_USAGE =
  'Usage: firebreak serve [--data DIR] [--listen HOST:PORT] [--rules PATH]... [--playbooks DIR]... [--store URL] [--tls-cert FILE --tls-key FILE] [--config FILE] [--no-console]';

export const SERVE_HELP = `${SERVE_USAGE}

Runs the Firebreak server: live ingest from every layer, Sigma detection on every event
as it arrives (correlations included), indicator hits and behaviour drift of trusted
applications, alerts grouped into incidents, agents and automatic response (playbooks),
the software inventory and vendor advisories, the REST API (OpenAPI document at
/api/v1/openapi.json) and the web console at / (sign in with a token).

Options:
  --data DIR           where the embedded store (SQLite) and uploads live
                       (default ./firebreak-data)
  --listen HOST:PORT   HTTP address (default 127.0.0.1:8080)
  --rules PATH         Sigma rule file or folder; repeat for several (default: the
                       bundled rule pack)
  --playbooks DIR      response playbooks (YAML): alerts that match one are answered
                       automatically or after approval; repeat for several
  --store URL          postgres://user@host:port/db[?schema=NAME] to store in
                       PostgreSQL instead (default: SQLite under --data)
  --config FILE        YAML or JSON settings (the options above as data, listen,
                       rules, store; and threads, max_queued, body_limit,
                       upload_limit, rate_limit {per_second, burst}, retention
                       {max_age_days, max_bytes}, incident_window_minutes, syslog {udp,
                       tcp: HOST:PORT, tls: {listen, cert, key}}, tls {cert, key},
                       playbooks,
                       agent_heartbeat_seconds, response {server_addresses,
                       isolation {allow: [{address, port, protocol}], allow_dns}});
                       options given on the command line win
  --tls-cert FILE      serve HTTPS (and wss:// to agents) with this certificate (PEM)
  --tls-key FILE       the certificate's private key (PEM)
  --syslog-udp HOST:PORT   receive syslog (RFC 5424 and 3164) over UDP
  --syslog-tcp HOST:PORT   receive syslog over TCP (octet counting or newlines)
  --threads N          ingest threads, which parse events and run the rules
                       (default: one per core but one)
  --no-console         serve the API alone, without the web console at /
  -h, --help           show this help

Security: every route but GET /api/v1/health needs "Authorization: Bearer TOKEN".
If FIREBREAK_ADMIN_TOKEN is set, a token with that value and the admin role exists.
Otherwise, on the first start with an empty store, an admin token is made and printed
once. Tokens are stored as SHA-256 hashes; create more with POST /api/v1/tokens
(roles: ingest, viewer, analyst, responder, admin).

Ingest: POST /api/v1/ingest?format=evtx-json|ecs|flat|auditd|syslog (NDJSON or raw
lines), POST /api/v1/uploads?name=FILE (EVTX and other log files), the Elasticsearch
bulk API (POST /_bulk: point Winlogbeat, Filebeat, Elastic Agent or Logstash at
http://HOST:PORT with the token as password or API key), syslog listeners, and
Firebreak agents (WebSocket at /api/v1/agents/connect; enroll them with a token from
"firebreak agents enroll-token"). "Accepted" means durably stored; a full queue
answers 429 with Retry-After.

Response: agents carry out actions (isolate, release, kill_process, quarantine_file,
block_ip, block_domain, block_hash, collect_evidence) signed with the server's Ed25519
key (DATA/agent-signing-key.pem, made at the first start). GET/POST /api/v1/actions,
POST /api/v1/actions/ID/approve and /cancel, GET /api/v1/agents, the fleet blocklist at
/api/v1/indicators and its exports /api/v1/export/rpz, ips.txt, domains.txt, urls.txt.

Stops cleanly on Ctrl-C (SIGINT) or SIGTERM.`;

const OPTIONS = {
  data: { type: 'string' },
  listen: { type: 'string' },
  rules: { type: 'string', multiple: true },
  playbooks: { type: 'string', multiple: true },
  store: { type: 'string' },
  config: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'syslog-udp': { type: 'string' },
  'syslog-tcp': { type: 'string' },
  threads: { type: 'string' },
  'no-console': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function serve(args: string[]): Promise<number> {
  const options = await withUsage(SERVE_USAGE, async () => {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: OPTIONS });
    if (values.help) return undefined;
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    return serverOptions(values);
  });
  if (!options) {
    process.stdout.write(SERVE_HELP + '\n');
    return 0;
  }
  const server = await startServer(options);
  announce(server, options);
  await untilStopped(server);
  return 0;
}

type Values = {
  [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K] extends { multiple: true }
    ? string[]
    : (typeof OPTIONS)[K]['type'] extends 'boolean'
      ? boolean
      : string;
};

/** Defaults, then the configuration file, then the command line. */
export function serverOptions(values: Values): ServerOptions {
  const config = values.config ? loadConfig(values.config) : {};
  const syslog = { ...config.syslog };
  if (values['syslog-udp']) syslog.udp = hostPortFlag(values['syslog-udp'], '--syslog-udp');
  if (values['syslog-tcp']) syslog.tcp = hostPortFlag(values['syslog-tcp'], '--syslog-tcp');
  return {
    ...config,
    dataDir: resolve(values.data ?? config.dataDir ?? 'firebreak-data'),
    listen: values.listen ? hostPortFlag(values.listen, '--listen') : (config.listen ?? { host: '127.0.0.1', port: 8080 }),
    rules: values.rules?.map((r) => resolve(r)) ?? config.rules,
    playbooks: values.playbooks?.map((p) => resolve(p)) ?? config.playbooks,
    tls: tlsFlags(values['tls-cert'], values['tls-key']) ?? config.tls,
    store: values.store ?? config.store,
    threads: parsePositiveInt(values.threads, '--threads') ?? config.threads,
    syslog: Object.keys(syslog).length > 0 ? syslog : undefined,
    adminToken: process.env.FIREBREAK_ADMIN_TOKEN || undefined,
    consoleDir: values['no-console'] ? undefined : CONSOLE_DIR,
  };
}

function tlsFlags(cert: string | undefined, key: string | undefined): ServerOptions['tls'] {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) throw new UsageError('--tls-cert and --tls-key go together');
  return { certFile: resolve(cert), keyFile: resolve(key) };
}

/** A command-line address: a bad one is a usage error (a bad one in the configuration file is the file's error). */
function hostPortFlag(value: string, flag: string): HostPort {
  try {
    return parseHostPort(value, flag);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function announce(server: RunningServer, options: ServerOptions): void {
  const { parts } = server;
  const lines = [
    `firebreak: serving on ${server.url} (store: ${parts.store.kind}${parts.store.kind === 'sqlite' ? ` in ${options.dataDir}` : ''})`,
    `firebreak: ${parts.threads.summary?.loaded ?? 0} rules in use on ${parts.threads.size} ingest thread(s); queue ${options.maxQueued ?? DEFAULTS.maxQueued} events`,
  ];
  for (const [name, address] of Object.entries(server.syslog))
    if (address) lines.push(`firebreak: syslog over ${name} on ${address.address}:${address.port}`);
  if (options.consoleDir) lines.push(`firebreak: web console at ${server.url}/`);
  if (server.firstAdminToken)
    lines.push(`firebreak: first start: admin token (shown only now, stored hashed):`, `  ${server.firstAdminToken}`);
  process.stderr.write(lines.join('\n') + '\n');
}

/** Resolves after SIGINT or SIGTERM, once the server has stored and detected what it accepted. */
export async function untilStopped(server: RunningServer): Promise<void> {
  await untilSignal();
  process.stderr.write('firebreak: stopping…\n');
  await server.close();
}
