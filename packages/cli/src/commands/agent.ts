/** `firebreak agent`: the Linux agent. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_STATE_DIR, runAgent } from '@firebreak/agent';
import { UsageError, parsePositiveInt, withUsage } from '../output.js';
import { untilSignal } from './signals.js';

const AGENT_USAGE =
  'Usage: firebreak agent --server URL --enroll-token TOKEN [--state-dir DIR] [--hostname NAME] [--sample-ms N] [--auditd auto|off] [--ca FILE]';

export const AGENT_HELP = `${AGENT_USAGE}

Runs the Linux agent: it enrolls with the server once (the enrollment token, from
"firebreak agents enroll-token", is traded for the agent's own credential, kept in
--state-dir), then keeps one outbound WebSocket to the server with heartbeats. While the
server is unreachable, events wait in a bounded queue on disk and are sent on reconnect.

Telemetry: processes (executable SHA-256, parent, user, command line) and network
connections from /proc; execve, connect and writes under sensitive paths from auditd
when kernel auditing is on (the agent installs its rules; off inside a network namespace,
where auditd cannot tell hosts apart); the inventory (packages, running executables,
listening ports, persistence points) whenever it changes.

Response: commands signed by the server (Ed25519; the agent refuses unsigned, replayed
or expired ones): isolate and release (nftables, the server always reachable; isolation
survives a restart), kill_process, quarantine_file and restore_file (a vault under
--state-dir), block_ip, block_domain, block_hash, collect_evidence. Each is verified by
the agent and reported with its result. Needs root (nftables, /proc of every process).

Options:
  --server URL          the Firebreak server (http:// or https://), for enrollment
  --enroll-token TOKEN  a one-time enrollment token (first start only)
  --state-dir DIR       credential, queue, vault, isolation and blocklist state
                        (default ${DEFAULT_STATE_DIR})
  --hostname NAME       the name the server knows this host by, set at enrollment
                        (default: the host name; refused if another agent holds it)
  --sample-ms N         how often /proc is sampled, in ms (default 500)
  --auditd auto|off     use auditd when available (default auto)
  --ca FILE             a CA certificate (PEM) to trust for an https server
  -h, --help            show this help

Stops on Ctrl-C (SIGINT) or SIGTERM; isolation and blocks stay in force.`;

const OPTIONS = {
  server: { type: 'string' },
  'enroll-token': { type: 'string' },
  'state-dir': { type: 'string' },
  hostname: { type: 'string' },
  'sample-ms': { type: 'string' },
  auditd: { type: 'string' },
  ca: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function agent(args: string[]): Promise<number> {
  const options = await withUsage(AGENT_USAGE, async () => {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: OPTIONS });
    if (values.help) return undefined;
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (values.auditd !== undefined && values.auditd !== 'auto' && values.auditd !== 'off')
      throw new UsageError('--auditd must be auto or off');
    return {
      serverUrl: values.server,
      enrollToken: values['enroll-token'],
      stateDir: values['state-dir'],
      hostname: values.hostname,
      sampleIntervalMs: parsePositiveInt(values['sample-ms'], '--sample-ms'),
      auditd: values.auditd as 'auto' | 'off' | undefined,
      ca: values.ca === undefined ? undefined : readFileSync(values.ca, 'utf8'),
    };
  });
  if (!options) {
    process.stdout.write(AGENT_HELP + '\n');
    return 0;
  }
  const running = await runAgent(options);
  await untilSignal();
  process.stderr.write('firebreak: agent stopping…\n');
  await running.close();
  return 0;
}
