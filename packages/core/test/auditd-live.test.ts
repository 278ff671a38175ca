/**
 * Linux audit logs written by a real auditd during the test: a private auditd (its own config and
 * log in a temporary folder) records the commands this test runs, and the reader must assemble them.
 * The only test file that drives auditd: the kernel has one audit daemon at a time.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { loadRules } from '@firebreak/sigma';
import { sharedPath, sharedSkip } from '@firebreak/testkit';
import { readEventFile, type FirebreakEvent, type ReadProblem } from '../src/index.js';

const AUDITD = '/usr/sbin/auditd';
const AUDITCTL = '/usr/sbin/auditctl';
const NODE_NAME = 'firebreak-test-node';
const run = promisify(execFile);

/** Why this machine cannot run the test, or false. */
function skipReason(): string | false {
  if (process.platform !== 'linux') return 'auditd is Linux only';
  if (process.getuid?.() !== 0) return 'needs root to run auditd and load audit rules';
  if (!existsSync(AUDITD) || !existsSync(AUDITCTL)) return `needs ${AUDITD} and ${AUDITCTL} (apt-get install auditd)`;
  const status = spawnSync(AUDITCTL, ['-s'], { encoding: 'utf8', timeout: 5000 });
  if (status.status !== 0) return `the kernel's audit system is not available here: ${(status.stderr || status.stdout).trim()}`;
  const enabled = /^enabled (\d+)$/m.exec(status.stdout)?.[1];
  if (enabled === '0') return 'kernel auditing is switched off (auditctl -e 0); the test does not switch it on';
  if (enabled === '2') return 'the audit configuration is locked (auditctl -e 2): no rule can be added';
  const pid = /^pid (\d+)$/m.exec(status.stdout)?.[1];
  if (pid !== undefined && pid !== '0') return `an audit daemon already runs (pid ${pid}); the test does not take its place`;
  return false;
}
const skip = skipReason();

const work = mkdtempSync(join(tmpdir(), 'firebreak-auditd-live-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** auditd.conf for a private daemon: the machine's settings, with the log, plugins and disk actions made harmless. */
function writeConfig(dir: string): string {
  const log = join(dir, 'audit.log');
  mkdirSync(join(dir, 'plugins'));
  const overrides: Record<string, string> = {
    log_file: log,
    log_format: 'ENRICHED',
    log_group: 'root',
    write_logs: 'yes',
    local_events: 'yes',
    name_format: 'USER',
    name: NODE_NAME,
    plugin_dir: join(dir, 'plugins'),
    max_log_file_action: 'IGNORE',
    space_left_action: 'IGNORE',
    admin_space_left_action: 'IGNORE',
    disk_full_action: 'IGNORE',
    disk_error_action: 'IGNORE',
  };
  const base = existsSync('/etc/audit/auditd.conf') ? readFileSync('/etc/audit/auditd.conf', 'utf8').split('\n') : [];
  const lines = base.filter((line) => !Object.hasOwn(overrides, line.split('=')[0]!.trim()));
  for (const [key, value] of Object.entries(overrides)) lines.push(`${key} = ${value}`);
  // auditd refuses a config others can write.
  writeFileSync(join(dir, 'auditd.conf'), lines.join('\n') + '\n', { mode: 0o640 });
  return log;
}

async function startAuditd(dir: string): Promise<ChildProcess> {
  const daemon = spawn(AUDITD, ['-n', '-s', 'nochange', '-c', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  daemon.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (daemon.exitCode !== null) throw new Error(`auditd exited with ${daemon.exitCode}: ${stderr}`);
    const { stdout } = await run(AUDITCTL, ['-s']);
    if (new RegExp(`^pid ${daemon.pid}$`, 'm').test(stdout)) return daemon;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  daemon.kill('SIGKILL');
  throw new Error(`auditd did not register with the kernel: ${stderr}`);
}

async function stop(daemon: ChildProcess): Promise<void> {
  if (daemon.exitCode !== null) return;
  const exited = new Promise((resolve) => daemon.once('exit', resolve));
  daemon.kill('SIGTERM');
  const timer = setTimeout(() => daemon.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

const fields = (event: FirebreakEvent): Record<string, unknown> =>
  Object.fromEntries([...event.fields.keys()].map((k) => [k, event.fields.get(k)]));
const values = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

const ECHO_ARGS = ['firebreak probe', 'quote"d', 'tab\there'];

interface Recording {
  events: FirebreakEvent[];
  problems: ReadProblem[];
  watched: string;
  started: number;
  finished: number;
}

/** Runs a private auditd while this process runs `echo`, `id` and writes a watched file; reads its log. */
async function record(): Promise<Recording> {
  const log = writeConfig(work);
  const watched = join(work, 'watched.txt');
  writeFileSync(watched, '');
  // Only the processes this test starts: other tests run at the same time.
  const execRule = ['always,exit', '-F', 'arch=b64', '-S', 'execve', '-F', `ppid=${process.pid}`, '-k', 'firebreak-test'];
  const watchRule = ['-p', 'wa', '-k', 'firebreak-watch'];
  const started = Date.now();
  const daemon = await startAuditd(work);
  try {
    await run(AUDITCTL, ['-a', ...execRule]);
    try {
      await run(AUDITCTL, ['-w', watched, ...watchRule]);
      try {
        await run('/bin/echo', ECHO_ARGS);
        await run('id', []);
        appendFileSync(watched, 'changed\n');
      } finally {
        await run(AUDITCTL, ['-W', watched, ...watchRule]);
      }
    } finally {
      // The same rule spec deletes just this rule: the machine's own rules stay as they were.
      await run(AUDITCTL, ['-d', ...execRule]);
    }
  } finally {
    await stop(daemon);
  }
  const finished = Date.now();
  const problems: ReadProblem[] = [];
  const events: FirebreakEvent[] = [];
  for await (const event of readEventFile(log, (p) => problems.push(p))) events.push(event);
  return { events, problems, watched, started, finished };
}

let recording: Promise<Recording> | undefined;
const recorded = (): Promise<Recording> => (recording ??= record());

/** The event of the command whose argv[0] was `argv0`. */
function executed(events: FirebreakEvent[], argv0: string): FirebreakEvent {
  const found = events.find((e) => values(e.fields.get('type')).includes('EXECVE') && values(e.fields.get('a0')).includes(argv0));
  assert.ok(found, `no EXECVE of ${argv0} among ${events.length} events`);
  return found;
}

test('a real auditd log: each command is one event with its decoded arguments, type list, exe, key and hints', { skip }, async () => {
  const { events, problems, watched, started, finished } = await recorded();
  assert.deepEqual(problems, []);
  const echo = executed(events, '/bin/echo');
  const f = fields(echo);
  const types = f.type as string[];
  let at = -1;
  for (const type of ['SYSCALL', 'EXECVE', 'CWD', 'PATH', 'PROCTITLE']) {
    assert.ok(types.indexOf(type, at + 1) > at, `${type} in order in ${types.join(',')}`);
    at = types.indexOf(type, at + 1);
  }
  // EXECVE's arguments, hex-decoded where auditd encoded them, after the SYSCALL record's registers.
  ECHO_ARGS.forEach((arg, i) => assert.equal(values(f[`a${i + 1}`]).at(-1), arg));
  assert.equal(f.argc, '4');
  assert.equal(f.proctitle, ['/bin/echo', ...ECHO_ARGS].join(' '));
  assert.equal(f.exe, realpathSync('/bin/echo'));
  assert.equal(f.key, 'firebreak-test');
  assert.equal(f.SYSCALL, 'execve', 'the ENRICHED translation');
  assert.equal(f.ppid, String(process.pid));
  assert.equal(f.cwd, process.cwd());
  assert.equal(f._source, 'auditd');
  assert.equal(echo.host, NODE_NAME);
  assert.ok(echo.timestamp! >= started - 1000 && echo.timestamp! <= finished + 1000, `${echo.timestamp} within the test`);
  assert.equal(echo.channel, 'auditd');
  assert.equal(echo.layer, 'server');
  assert.equal(typeof echo.recordId, 'number');
  assert.deepEqual(echo.logsource, { product: 'linux', service: 'auditd' });

  const write = events.find((e) => e.fields.get('key') === 'firebreak-watch');
  assert.ok(write, 'the watched file was written');
  assert.ok(values(write.fields.get('name')).includes(watched));
});

const RULES = 'sigma/rules/linux/auditd';

test('a SigmaHQ auditd rule fires on a command run under a real auditd', { skip: skip || sharedSkip(RULES) }, async () => {
  const { events } = await recorded();
  const { ruleSet } = loadRules([sharedPath(RULES)]);
  const fired = (event: FirebreakEvent): string[] => ruleSet.match(event.fields).map((m) => m.rule.title);
  const id = fired(executed(events, 'id'));
  assert.ok(id.includes('System Owner or User Discovery - Linux'), JSON.stringify(id));
  assert.ok(!fired(executed(events, '/bin/echo')).includes('System Owner or User Discovery - Linux'));
});
