/** `firebreak metrics` end to end: the real binary on real logs, counts checked against the EVTX reader alone. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readEvtx } from '@firebreak/evtx';
import { findFiles, sharedPath, sharedSkip } from '@firebreak/testkit';
import { BIN, firebreak } from './support/cli.js';

const work = mkdtempSync(join(tmpdir(), 'firebreak-metrics-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

const FOLDER = sharedPath('evtx-attack-samples/Lateral Movement');
const LOGONS = sharedPath('evtx-attack-samples/Credential Access/CA_4624_4625_LogonType2_LogonProc_chrome.evtx');
const skip = sharedSkip('evtx-attack-samples');

interface Json<Row> {
  report: string;
  files: number;
  events: number;
  rows: Row[];
}

function json<Row>(...args: string[]): Json<Row> {
  const result = firebreak('metrics', ...args, '--format', 'json');
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as Json<Row>;
}

async function eventIdCounts(files: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const file of files)
    for await (const record of readEvtx(file)) {
      const key = `${record.fields().get('Channel')}/${record.fields().get('EventID')}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  return counts;
}

test('eids: counts per channel and EventID equal the EVTX reader’s, in json, csv and table', { skip }, async () => {
  const expected = await eventIdCounts(findFiles(FOLDER, '.evtx'));
  const total = [...expected.values()].reduce((a, b) => a + b, 0);
  const report = json<{ channel: string; event_id: number; count: number; percent: number; description: string | null }>(FOLDER, 'eids');
  assert.equal(report.report, 'eids');
  assert.equal(report.events, total);
  assert.deepEqual(new Map(report.rows.map((r) => [`${r.channel}/${r.event_id}`, r.count])), expected);
  const top = report.rows[0]!;
  assert.equal(top.percent, Math.round((10000 * top.count) / total) / 100);

  const csv = firebreak('metrics', FOLDER, 'eids', '--format', 'csv');
  assert.equal(csv.status, 0, csv.stderr);
  const rows = csv.stdout.trimEnd().split('\r\n');
  assert.equal(rows[0], 'count,percent,channel,event_id,record_type,description');
  assert.equal(rows.length, expected.size + 1);
  const security4624 = report.rows.find((r) => r.channel === 'Security' && r.event_id === 4624)!;
  assert.ok(rows.includes(`${security4624.count},${security4624.percent},Security,4624,,An account was successfully logged on`));

  const table = firebreak('metrics', FOLDER, 'eids');
  assert.equal(table.status, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^Count\s+%\s+Channel\s+EventID\s+Event$/);
  assert.match(lines[1]!, /^─+ {2}─+ {2}─+ {2}─+ {2}─+$/);
  assert.match(
    lines.find((l) => / Security +4624 /.test(l))!,
    new RegExp(`^ *${security4624.count} +${security4624.percent.toFixed(2)}  Security +4624  An account was successfully logged on$`),
  );
  assert.equal(lines.at(-1), `${total} events in ${findFiles(FOLDER, '.evtx').length} files`);
});

test('the report may come first when no file or folder has its name', { skip }, () => {
  const last = firebreak('metrics', LOGONS, 'logons');
  const first = firebreak('metrics', 'logons', LOGONS);
  assert.equal(last.status, 0, last.stderr);
  assert.equal(first.stdout, last.stdout);

  // A folder named like a report: "logs" is a path, the other word is the report.
  mkdirSync(join(work, 'logs'), { recursive: true });
  writeFileSync(join(work, 'logs', 'a.jsonl'), '{"Channel": "Security", "EventID": 4624}\n');
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, 'metrics', ...args, '--format', 'json'], { cwd: work, encoding: 'utf8' });
  for (const args of [
    ['logs', 'eids'],
    ['eids', 'logs'],
  ]) {
    const result = run(...args);
    assert.equal(result.status, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as Json<unknown>).report, 'eids', args.join(' '));
  }
});

test('logons: a known account, source and logon type in table, json and csv', { skip }, () => {
  const table = firebreak('metrics', LOGONS, 'logons');
  assert.equal(table.status, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^User\s+Source\s+Type\s+Logon type\s+Success\s+Failed\s+First \(UTC\)\s+Last \(UTC\)$/);
  assert.match(lines[2]!, /^MSEDGEWIN10\\IEUser +- +2 {2}Interactive +2 +1 {2}2020-09-09 13:18:23\.627 {2}2020-09-09 13:18:27\.714$/);
  assert.match(lines[3]!, /^NT AUTHORITY\\SYSTEM +- +5 {2}Service +1 +0 {2}2020-09-09 13:18:25\.377 {2}2020-09-09 13:18:25\.377$/);
  assert.deepEqual(json(LOGONS, 'logons').rows[0], {
    user: 'MSEDGEWIN10\\IEUser',
    source: '-',
    logon_type: 2,
    logon_type_name: 'Interactive',
    successes: 2,
    failures: 1,
    first: '2020-09-09T13:18:23.627Z',
    last: '2020-09-09T13:18:27.714Z',
  });
  const csv = firebreak('metrics', LOGONS, 'logons', '--format', 'csv');
  // A dash alone would read as a formula's minus sign: it is defused.
  assert.equal(csv.stdout.split('\r\n')[1], "MSEDGEWIN10\\IEUser,'-,2,Interactive,2,1,2020-09-09T13:18:23.627Z,2020-09-09T13:18:27.714Z");
});

test('computers and logs: per computer and per file, a corrupt file counted as a problem', { skip }, async () => {
  const broken = join(work, 'broken.evtx');
  writeFileSync(broken, Buffer.alloc(8192, 0x41));
  const expected = new Map<string, { computer: string; events: number; first: string; last: string; channels: string[] }>();
  for (const file of [LOGONS, ...findFiles(FOLDER, '.evtx')])
    for await (const record of readEvtx(file)) {
      const fields = record.fields();
      const computer = String(fields.get('Computer'));
      const time = new Date(String(fields.get('TimeCreated_SystemTime'))).toISOString();
      const row = expected.get(computer) ?? { computer, events: 0, first: time, last: time, channels: [] };
      row.events++;
      if (time < row.first) row.first = time;
      if (time > row.last) row.last = time;
      const channel = String(fields.get('Channel'));
      if (!row.channels.includes(channel)) row.channels = [...row.channels, channel].sort();
      expected.set(computer, row);
    }
  const computers = json<{ computer: string }>(LOGONS, FOLDER, broken, 'computers');
  assert.deepEqual(new Map(computers.rows.map((r) => [r.computer, r])), expected);

  const result = firebreak('metrics', broken, LOGONS, 'logs', '--format', 'json');
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /^warning: .*broken\.evtx/m);
  const logs = JSON.parse(result.stdout) as Json<Record<string, unknown>>;
  assert.deepEqual(logs.rows, [
    { file: broken, format: null, records: 0, problems: 1, first: null, last: null, channels: [] },
    {
      file: LOGONS,
      format: 'evtx',
      records: 4,
      problems: 0,
      first: '2020-09-09T13:18:23.627Z',
      last: '2020-09-09T13:18:27.714Z',
      channels: ['Security'],
    },
  ]);
  assert.equal(logs.files, 1);
});

test('usage errors exit 2 with the usage; nothing readable exits 2', () => {
  const events = join(work, 'one.jsonl');
  writeFileSync(events, '{"EventID": 1}\n');
  for (const args of [[], [events], ['eids'], [events, 'eids', '--format', 'xml'], [events, 'eids', '--nope']]) {
    const result = firebreak('metrics', ...args);
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, /Usage: firebreak metrics PATH\.\.\. eids\|computers\|logons\|logs/, args.join(' '));
  }
  const broken = join(work, 'nothing.evtx');
  writeFileSync(broken, 'not an event log');
  const nothing = firebreak('metrics', broken, 'eids');
  assert.equal(nothing.status, 2);
  assert.match(nothing.stderr, /firebreak: nothing readable in .*nothing\.evtx/);
  const help = firebreak('metrics', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /logons +Security logons \(4624\) and failed logons \(4625\)/);
});

test('logs: a path that does not exist is a row of its own, named by the path, with its problem', () => {
  const missing = join(work, 'no-such-file.evtx');
  const events = join(work, 'present.jsonl');
  writeFileSync(events, '{"Channel": "Security", "EventID": 4624}\n');
  const result = firebreak('metrics', missing, events, 'logs', '--format', 'json');
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /^warning: .*no-such-file\.evtx: ENOENT/m);
  assert.deepEqual(
    (JSON.parse(result.stdout) as Json<{ file: string; records: number; problems: number }>).rows.map((r) => [
      r.file,
      r.records,
      r.problems,
    ]),
    [
      [missing, 0, 1],
      [events, 1, 0],
    ],
  );
});

test('eids: auditd events counted by record type, shown in the EventID column; csv and json give it as record_type', () => {
  const audit = join(work, 'audit.log');
  writeFileSync(
    audit,
    [
      'type=SYSCALL msg=audit(1714557600.123:42): arch=c000003e syscall=59 success=yes exit=0 pid=901 comm="ls" exe="/usr/bin/ls"',
      'type=EXECVE msg=audit(1714557600.123:42): argc=1 a0="ls"',
      'type=SYSCALL msg=audit(1714557601.000:43): arch=c000003e syscall=2 success=yes exit=3 pid=902 comm="cat" exe="/usr/bin/cat"',
      'type=USER_LOGIN msg=audit(1714557602.000:44): pid=903 uid=0 auid=1000 ses=4 msg=\'op=login acct="root" res=success\'',
    ].join('\n') + '\n',
  );
  const table = firebreak('metrics', audit, 'eids');
  assert.equal(table.status, 0, table.stderr);
  assert.deepEqual(table.stdout.split('\n').slice(2, 4), ['    2  66.67  auditd      SYSCALL', '    1  33.33  auditd   USER_LOGIN']);
  const csv = firebreak('metrics', audit, 'eids', '--format', 'csv');
  assert.deepEqual(csv.stdout.split('\r\n').slice(0, 3), [
    'count,percent,channel,event_id,record_type,description',
    '2,66.67,auditd,,SYSCALL,',
    '1,33.33,auditd,,USER_LOGIN,',
  ]);
  assert.deepEqual(json(audit, 'eids').rows[0], {
    channel: 'auditd',
    event_id: null,
    record_type: 'SYSCALL',
    count: 2,
    percent: 66.67,
    description: null,
  });
});

test('a report counts 100,000 keys one by one and the rest in an "(other)" row, as --help says', () => {
  const events = join(work, 'computers.jsonl');
  const computers = 100_001;
  writeFileSync(events, Array.from({ length: computers }, (_, i) => `{"Computer": "host-${i}", "EventID": 1}\n`).join(''));
  const report = json<{ computer: string; events: number }>(events, 'computers');
  assert.equal(report.events, computers);
  assert.equal(report.rows.length, 100_001);
  assert.deepEqual(report.rows.at(-1), { computer: '(other)', events: 1, first: null, last: null, channels: [] });
  assert.equal(new Set(report.rows.slice(0, -1).map((r) => r.computer)).size, 100_000);
  assert.match(
    firebreak('metrics', '--help').stdout,
    /at most 100,000 keys.*"\(other\)"; a row lists at most 100 channels, then "\(more\)"/s,
  );
});

test('warnings about the files read are printable: an escape sequence in a file name or a bad line is shown as \\u001b', () => {
  const file = join(work, 'x\u001b[2Jy.jsonl');
  writeFileSync(file, '{"Channel": "A\u001b[31m", "EventID": 1}\n{"b": \u001b]0;PWNED\u0007}\n');
  for (const report of ['logs', 'eids']) {
    const result = firebreak('metrics', file, report);
    assert.equal(result.status, 0, result.stderr);
    assert.ok(!(result.stdout + result.stderr).includes('\u001b'), result.stdout + result.stderr);
    assert.match(result.stderr, /^warning: .*x\\u001b\[2Jy\.jsonl:2: .*\\u001b\]/m);
  }
});
