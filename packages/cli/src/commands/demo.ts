import { parseArgs } from 'node:util';
import { loadDemo, startServer } from '@firebreak/server';
import { UsageError, withUsage } from '../output.js';
import { announce, serverOptions, untilStopped } from './serve.js';

const DEMO_USAGE = 'Usage: firebreak demo [--data DIR] [--listen HOST:PORT]';

export const DEMO_HELP = `${DEMO_USAGE}

Runs the server (as "firebreak serve" with the bundled rule pack) and loads the demo
scenario shipped with it: the 3CX supply-chain compromise on a small company (two
Windows workstations with Sysmon, a Linux file server with auditd and syslog), shifted
so that it ends now. Within seconds the web console (at /) and the API show its
alerts and incidents. The scenario is loaded once per store; run it again on the same
--data to look again.

Options:
  --data DIR           store and uploads (default ./firebreak-data)
  --listen HOST:PORT   HTTP address (default 127.0.0.1:8080)
  -h, --help           show this help

The admin token is FIREBREAK_ADMIN_TOKEN's value when set; otherwise the first start
on an empty store makes one and prints it once.`;

const OPTIONS = {
  data: { type: 'string' },
  listen: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function demo(args: string[]): Promise<number> {
  const options = await withUsage(DEMO_USAGE, async () => {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: OPTIONS });
    if (values.help) return undefined;
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    return serverOptions(values);
  });
  if (!options) {
    process.stdout.write(DEMO_HELP + '\n');
    return 0;
  }
  const server = await startServer(options);
  announce(server, options);
  const started = Date.now();
  const result = await loadDemo(server.parts);
  const stats = await server.parts.store.stats();
  const incidents = await server.parts.store.listIncidents({ limit: 3 });
  const token = server.firstAdminToken ?? (options.adminToken ? '$FIREBREAK_ADMIN_TOKEN' : 'YOUR_TOKEN');
  process.stderr.write(
    [
      result.loaded
        ? `firebreak: demo loaded: ${result.events} events in ${Date.now() - started} ms → ${plural(stats.alerts, 'alert')}, ${plural(stats.incidents, 'incident')}`
        : `firebreak: the demo is already in this store: ${plural(stats.events, 'event')}, ${plural(stats.alerts, 'alert')}, ${plural(stats.incidents, 'incident')}`,
      ...incidents.map((i) => `  incident ${i.id} · ${i.severity} · score ${i.score} · ${i.hosts.join(', ')}: ${i.title}`),
      'Look at it:',
      `  in a browser: ${server.url}/ and sign in with the admin token${server.firstAdminToken ? ` ${token}` : ''}`,
      `  curl -H "Authorization: Bearer ${token}" ${server.url}/api/v1/incidents`,
      `  curl -H "Authorization: Bearer ${token}" ${server.url}/api/v1/alerts`,
      `  curl -H "Authorization: Bearer ${token}" ${server.url}/api/v1/incidents/1/graph`,
      'Ctrl-C stops the server.',
      '',
    ].join('\n'),
  );
  await untilStopped(server);
  return 0;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
