/** `firebreak agents enroll-token` and `firebreak agents list`: the fleet, through the server's API. */
import { parseArgs } from 'node:util';
import { UsageError, parsePositiveInt, withUsage } from '../output.js';
import { call, connection, CONNECTION, CONNECTION_OPTIONS, printTable } from './api-client.js';

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
  printTable(
    ['ID', 'HOSTNAME', 'STATUS', 'ISOLATION', 'LAST SEEN'],
    agents.map((a) => [String(a.id), String(a.hostname), String(a.status), a.isolated ? 'isolated' : '-', String(a.last_seen)]),
  );
  process.stderr.write(
    `${agents.length} agents, ${agents.filter((a) => a.status === 'online').length} online, ${agents.filter((a) => a.isolated).length} isolated\n`,
  );
  return 0;
}

function help(text: string): number {
  process.stdout.write(text + '\n');
  return 0;
}
