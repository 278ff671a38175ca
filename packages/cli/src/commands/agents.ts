/** `firebreak agents enroll-token` and `firebreak agents list`: the fleet, through the server's API. */
import { parseArgs } from 'node:util';
import { CommandError, UsageError, parsePositiveInt, withUsage } from '../output.js';

const CONNECTION_OPTIONS = `  --server URL         the Firebreak server (default http://127.0.0.1:8080)
  --token TOKEN        an API token (default: $FIREBREAK_TOKEN)`;

const ENROLL_USAGE = 'Usage: firebreak agents enroll-token [--server URL] [--token TOKEN] [--tag TAG]... [--ttl-hours N]';

export const ENROLL_TOKEN_HELP = `${ENROLL_USAGE}

Mints a one-time enrollment token (needs an admin token). Give it to one agent:
  firebreak agent --server URL --enroll-token TOKEN
The agent trades it for its own credential; the token cannot be used again.

Options:
${CONNECTION_OPTIONS}
  --tag TAG            an asset tag the enrolled agent gets (repeat for several); hosts
                       with a playbook's protected tags get surgical containment
  --ttl-hours N        how long the token can be used (default 24)
  -h, --help           show this help`;

const LIST_USAGE = 'Usage: firebreak agents list [--server URL] [--token TOKEN] [--json]';

export const AGENTS_LIST_HELP = `${LIST_USAGE}

Lists the enrolled agents: id, hostname, status, isolation, last seen.

Options:
${CONNECTION_OPTIONS}
  --json               one JSON document instead of a table
  -h, --help           show this help`;

const CONNECTION = { server: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

interface Connection {
  server: string;
  token: string;
}

export async function agentsEnrollToken(args: string[]): Promise<number> {
  const parsed = await withUsage(ENROLL_USAGE, async () => {
    const options = { ...CONNECTION, tag: { type: 'string', multiple: true }, 'ttl-hours': { type: 'string' } } as const;
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options });
    if (values.help) return undefined;
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    return { connection: connection(values), tags: values.tag ?? [], ttlHours: parsePositiveInt(values['ttl-hours'], '--ttl-hours') };
  });
  if (!parsed) return help(ENROLL_TOKEN_HELP);
  const body = { tags: parsed.tags, ...(parsed.ttlHours ? { ttl_hours: parsed.ttlHours } : {}) };
  const minted = (await call(parsed.connection, 'POST', '/api/v1/agents/enroll-tokens', body)) as { token: string; expires_at: string };
  process.stdout.write(`${minted.token}\n`);
  process.stderr.write(
    `firebreak: one-time enrollment token, valid until ${minted.expires_at}${parsed.tags.length ? ` (tags: ${parsed.tags.join(', ')})` : ''}\n`,
  );
  return 0;
}

export async function agentsList(args: string[]): Promise<number> {
  const parsed = await withUsage(LIST_USAGE, async () => {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...CONNECTION, json: { type: 'boolean' } } });
    if (values.help) return undefined;
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    return { connection: connection(values), json: values.json === true };
  });
  if (!parsed) return help(AGENTS_LIST_HELP);
  const { agents } = (await call(parsed.connection, 'GET', '/api/v1/agents')) as { agents: Record<string, unknown>[] };
  if (parsed.json) {
    process.stdout.write(`${JSON.stringify({ agents }, null, 2)}\n`);
    return 0;
  }
  const rows = agents.map((a) => [String(a.id), String(a.hostname), String(a.status), a.isolated ? 'isolated' : '-', String(a.last_seen)]);
  const header = ['ID', 'HOSTNAME', 'STATUS', 'ISOLATION', 'LAST SEEN'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows])
    process.stdout.write(
      `${row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd()}\n`,
    );
  process.stderr.write(
    `${agents.length} agents, ${agents.filter((a) => a.status === 'online').length} online, ${agents.filter((a) => a.isolated).length} isolated\n`,
  );
  return 0;
}

function connection(values: { server?: string; token?: string }): Connection {
  const token = values.token ?? process.env.FIREBREAK_TOKEN;
  if (!token) throw new UsageError('an API token is needed: --token TOKEN or FIREBREAK_TOKEN');
  return { server: (values.server ?? 'http://127.0.0.1:8080').replace(/\/+$/, ''), token };
}

async function call(connection: Connection, method: string, path: string, body?: unknown): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${connection.server}${path}`, {
      method,
      headers: { authorization: `Bearer ${connection.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (error) {
    throw new CommandError(
      `cannot reach ${connection.server}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}`,
    );
  }
  const text = await response.text();
  if (!response.ok) throw new CommandError(`${method} ${path}: HTTP ${response.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

function help(text: string): number {
  process.stdout.write(text + '\n');
  return 0;
}
