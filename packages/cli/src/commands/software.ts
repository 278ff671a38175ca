/** `firebreak software`: who runs which application version, and where a hash was seen. */
import { parseArgs } from 'node:util';
import { UsageError, withUsage } from '../output.js';
import { call, connection, CONNECTION, CONNECTION_OPTIONS, printTable } from './api-client.js';

const SOFTWARE_USAGE =
  'Usage: firebreak software [--server URL] [--token TOKEN] [--vendor V] [--product P] [--version X] [--host H] [--hash SHA256] [--json]';

export const SOFTWARE_HELP = `${SOFTWARE_USAGE}

The fleet's software inventory, from Sysmon process creations and image loads, the Linux
agent's processes and agents' package inventories: every application identity (vendor,
product, version, signers, hashes) with the hosts that run it and when they were first and last
seen. With --hash, where that executable or module hash was seen instead.

Options:
${CONNECTION_OPTIONS}
  --vendor V           vendor (Company) containing V, case-insensitive
  --product P          product containing P
  --version X          version containing X
  --host H             only identities seen on host H
  --hash SHA256        where this executable or module hash was seen
  --json               the API's JSON instead of a table
  -h, --help           show this help

Example: who runs 3CX's trojanized build
  firebreak software --product 3CX --version 18.12.416`;

const OPTIONS = {
  ...CONNECTION,
  vendor: { type: 'string' },
  product: { type: 'string' },
  version: { type: 'string' },
  host: { type: 'string' },
  hash: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export async function software(args: string[]): Promise<number> {
  const parsed = await withUsage(SOFTWARE_USAGE, async () => {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: OPTIONS });
    if (values.help) return undefined;
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    return { values, connection: connection(values) };
  });
  if (!parsed) {
    process.stdout.write(SOFTWARE_HELP + '\n');
    return 0;
  }
  const { values } = parsed;
  if (values.hash) {
    const found = (await call(parsed.connection, 'GET', `/api/v1/software/hashes/${encodeURIComponent(values.hash)}`)) as HashAnswer;
    if (values.json) return json(found);
    printTable(
      ['HOST', 'PATH', 'FIRST SEEN', 'LAST SEEN'],
      found.hosts.map((h) => [h.host, h.path, h.first_seen, h.last_seen]),
    );
    process.stderr.write(`${found.sha256}: seen on ${found.host_count} hosts\n`);
    return 0;
  }
  const query = new URLSearchParams();
  for (const name of ['vendor', 'product', 'version', 'host'] as const) if (values[name]) query.set(name, values[name]!);
  query.set('limit', '1000');
  const found = (await call(parsed.connection, 'GET', `/api/v1/software?${query}`)) as SoftwareAnswer;
  if (values.json) return json(found);
  printTable(
    ['VENDOR', 'PRODUCT', 'VERSION', 'HOSTS', 'FIRST SEEN', 'LAST SEEN', 'SIGNERS'],
    found.software.map((s) => [
      s.vendor,
      s.product,
      s.version,
      String(s.host_count),
      s.first_seen,
      s.last_seen,
      s.signers.join(', ') || '-',
    ]),
  );
  process.stderr.write(`${found.total} identities, ${new Set(found.software.flatMap((s) => s.hosts.map((h) => h.host))).size} hosts\n`);
  return 0;
}

interface SoftwareAnswer {
  total: number;
  software: {
    vendor: string;
    product: string;
    version: string;
    signers: string[];
    host_count: number;
    first_seen: string;
    last_seen: string;
    hosts: { host: string }[];
  }[];
}

interface HashAnswer {
  sha256: string;
  host_count: number;
  hosts: { host: string; path: string; first_seen: string; last_seen: string }[];
}

function json(value: unknown): number {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  return 0;
}
