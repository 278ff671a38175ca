/** `firebreak advisory add FILE`: a vendor compromise in, its blast radius out. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { CommandError, UsageError, withUsage } from '../output.js';
import { call, connection, CONNECTION, CONNECTION_OPTIONS, printTable } from './api-client.js';

const ADVISORY_USAGE = 'Usage: firebreak advisory add FILE [--server URL] [--token TOKEN] [--json]';

export const ADVISORY_HELP = `${ADVISORY_USAGE}

Sends a vendor-compromise advisory (YAML or JSON) to the server and prints its blast radius:
the hosts that run an affected version or hash, and the hosts that contacted its domains or
IPs in the last 30 days of stored events, each with its evidence. Each affected host also gets
an alert (an incident opens; playbooks with indicator_hit answer it). Needs a responder token.

  title: 3CX DesktopApp supply-chain compromise
  vendor: 3CX Ltd
  product: 3CX Desktop App
  versions: [18.12.407, 18.12.416]
  hashes: [<sha256>…]
  domains: [raw.githubusercontent.com, akamaicontainer.com]
  ips: [203.0.113.66]
  references: [https://www.3cx.com/blog/news/desktopapp-security-alert/]

Options:
${CONNECTION_OPTIONS}
  --json               the API's JSON instead of a table
  -h, --help           show this help`;

export async function advisoryAdd(args: string[]): Promise<number> {
  const parsed = await withUsage(ADVISORY_USAGE, async () => {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...CONNECTION, json: { type: 'boolean' } } });
    if (values.help) return undefined;
    if (positionals.length !== 1) throw new UsageError('give one advisory file');
    return { file: positionals[0]!, json: values.json === true, connection: connection(values) };
  });
  if (!parsed) {
    process.stdout.write(ADVISORY_HELP + '\n');
    return 0;
  }
  let advisory: unknown;
  try {
    advisory = parse(readFileSync(parsed.file, 'utf8'));
  } catch (error) {
    throw new CommandError(`${parsed.file}: ${(error as Error).message}`);
  }
  const answer = (await call(parsed.connection, 'POST', '/api/v1/advisories', advisory)) as Answer;
  if (parsed.json) {
    process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    return 0;
  }
  printTable(
    ['HOST', 'EVIDENCE'],
    answer.affected_hosts.map((h) => [h.host, h.evidence.map((e) => `${e.kind} ${e.detail}`).join('; ')]),
  );
  process.stderr.write(
    `advisory ${answer.id}: ${answer.affected_hosts.length} affected hosts, ${answer.alerts} alerts raised (${answer.took_ms} ms)\n`,
  );
  return 0;
}

interface Answer {
  id: number;
  alerts: number;
  took_ms: number;
  affected_hosts: { host: string; evidence: { kind: string; detail: string }[] }[];
}
