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

/** Each command's module is loaded only when it runs: `evtx dump` need not load the server to start. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  hunt: async () => (await import('./commands/hunt.js')).huntCommand,
  timeline: async () => (await import('./commands/timeline.js')).timeline,
  metrics: async () => (await import('./commands/metrics.js')).metrics,
  'evtx dump': async () => (await import('./commands/evtx-dump.js')).evtxDump,
  'rules check': async () => (await import('./commands/rules.js')).rulesCheck,
  'rules test': async () => (await import('./commands/rules.js')).rulesTest,
  serve: async () => (await import('./commands/serve.js')).serve,
  demo: async () => (await import('./commands/demo.js')).demo,
  'audit verify': async () => (await import('./commands/audit.js')).auditVerify,
  agent: async () => (await import('./commands/agent.js')).agent,
  'agents enroll-token': async () => (await import('./commands/agents.js')).agentsEnrollToken,
  'agents list': async () => (await import('./commands/agents.js')).agentsList,
  software: async () => (await import('./commands/software.js')).software,
  'advisory add': async () => (await import('./commands/advisory.js')).advisoryAdd,
};

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    await write(process.stdout, HELP + '\n');
    return 0;
  }
  const name = COMMANDS[`${argv[0]} ${argv[1]}`] ? `${argv[0]} ${argv[1]}` : argv[0];
  const load = COMMANDS[name];
  if (!load) throw new UsageError(`unknown command "${argv.slice(0, 2).join(' ')}"`);
  return (await load())(argv.slice(name.split(' ').length));
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
