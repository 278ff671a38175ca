import { EVTX_DUMP_HELP, evtxDump } from './commands/evtx-dump.js';
import { HUNT_HELP, huntCommand } from './commands/hunt.js';
import { METRICS_HELP, metrics } from './commands/metrics.js';
import { SERVE_HELP, serve } from './commands/serve.js';
import { DEMO_HELP, demo } from './commands/demo.js';
import { AUDIT_VERIFY_HELP, auditVerify } from './commands/audit.js';
import { AGENT_HELP, agent } from './commands/agent.js';
import { AGENTS_LIST_HELP, ENROLL_TOKEN_HELP, agentsEnrollToken, agentsList } from './commands/agents.js';
import { SOFTWARE_HELP, software } from './commands/software.js';
import { ADVISORY_HELP, advisoryAdd } from './commands/advisory.js';
import { RULES_CHECK_HELP, RULES_TEST_HELP, rulesCheck, rulesTest } from './commands/rules.js';
import { TIMELINE_HELP, timeline } from './commands/timeline.js';
import { UsageError, write } from './output.js';

const HELP = `firebreak — read, hunt and contain across endpoints, servers and the network

Usage: firebreak <command> [options]

Commands:
  hunt PATH...             run Sigma rules over logs (EVTX, JSON, ECS, XML, auditd) and
                           report what fired: table, CSV, JSON, JSON lines or HTML
  timeline PATH...         every event in time order with its detections, or the
                           process trees (--process-tree)
  metrics PATH... REPORT   counts: eids, computers, logons or logs
  evtx dump FILE...        print every record of EVTX files as JSON lines or XML
  rules check PATH...      load Sigma rules and report each file: loaded, unsupported or invalid
  rules test RULE EVENTS   run one rule on an event file and explain what matched
  serve                    run the server: live ingest, streaming detection, incidents,
                           agents and automatic response, behaviour drift, REST API
  demo                     run the server with the recorded 3CX demo scenario loaded
  audit verify             check the server's hash-chained audit log
  agent                    run the Linux agent: telemetry to the server, signed response
                           actions (isolate, kill, quarantine, block, collect evidence)
  agents enroll-token      mint a one-time token an agent enrolls with
  agents list              the enrolled agents: status, isolation, last seen
  software                 who runs which application version; where a hash was seen
  advisory add FILE        a vendor compromise: its blast radius across the fleet

Run "firebreak <command> --help" for the options of a command.`;

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, { run: Command; help: string }> = {
  hunt: { run: huntCommand, help: HUNT_HELP },
  timeline: { run: timeline, help: TIMELINE_HELP },
  metrics: { run: metrics, help: METRICS_HELP },
  'evtx dump': { run: evtxDump, help: EVTX_DUMP_HELP },
  'rules check': { run: rulesCheck, help: RULES_CHECK_HELP },
  'rules test': { run: rulesTest, help: RULES_TEST_HELP },
  serve: { run: serve, help: SERVE_HELP },
  demo: { run: demo, help: DEMO_HELP },
  'audit verify': { run: auditVerify, help: AUDIT_VERIFY_HELP },
  agent: { run: agent, help: AGENT_HELP },
  'agents enroll-token': { run: agentsEnrollToken, help: ENROLL_TOKEN_HELP },
  'agents list': { run: agentsList, help: AGENTS_LIST_HELP },
  software: { run: software, help: SOFTWARE_HELP },
  'advisory add': { run: advisoryAdd, help: ADVISORY_HELP },
};

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    await write(process.stdout, HELP + '\n');
    return 0;
  }
  const name = COMMANDS[`${argv[0]} ${argv[1]}`] ? `${argv[0]} ${argv[1]}` : argv[0];
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command "${argv.slice(0, 2).join(' ')}"`);
  return command.run(argv.slice(name.split(' ').length));
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`firebreak: ${(error as Error).message}\nRun "firebreak --help" for usage.\n`);
      process.exitCode = 2;
    } else if (isInputError(error)) {
      // A file that is missing, unreadable or not what it should be: the message says which.
      process.stderr.write(`firebreak: ${(error as Error).message}\n`);
      process.exitCode = 1;
    } else if ((error as { code?: string }).code === 'EPIPE') {
      process.exitCode = 0; // the reader went away (e.g. piped into head): not an error
    } else {
      process.stderr.write(`firebreak: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    }
  },
);

function isInputError(error: unknown): boolean {
  const { code, name } = error as { code?: unknown; name?: unknown };
  return (
    (typeof code === 'string' && ['ENOENT', 'EACCES', 'EISDIR', 'ENOTDIR', 'EADDRINUSE', 'EADDRNOTAVAIL'].includes(code)) ||
    name === 'EvtxError' ||
    name === 'EventFileError' ||
    name === 'InvalidRuleError' ||
    name === 'ConfigError' ||
    name === 'CommandError' ||
    name === 'AgentError'
  );
}
