/** Metrics over real logs, checked against counts made independently with the EVTX reader alone. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readEvtx } from '@firebreak/evtx';
import { findFiles, sharedPath, sharedSkip } from '@firebreak/testkit';
import { ComputerMetrics, EventIdMetrics, InputReader, LogMetrics, LogonMetrics, describeEvent, logonTypeName } from '../src/index.js';
import { MAX_CHANNELS_PER_ROW, MAX_NAME_LENGTH, MORE_CHANNELS, OTHER_ROW } from '../src/metrics/metrics.js';

const work = mkdtempSync(join(tmpdir(), 'firebreak-metrics-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** A JSONL file of these events in the work folder. */
function jsonl(name: string, events: object[]): string {
  const path = join(work, name);
  writeFileSync(path, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  return path;
}

const FOLDER = 'evtx-attack-samples/Lateral Movement';
const LOGON_FILE = 'evtx-attack-samples/Credential Access/CA_4624_4625_LogonType2_LogonProc_chrome.evtx';

/** Independent counts: straight from the EVTX records' fields. */
interface Expected {
  byEventId: Map<string, number>;
  byComputer: Map<string, { events: number; first: number; last: number; channels: Set<string> }>;
  byFile: Map<string, number>;
  total: number;
}

async function countDirectly(files: string[]): Promise<Expected> {
  const expected: Expected = { byEventId: new Map(), byComputer: new Map(), byFile: new Map(), total: 0 };
  for (const file of files)
    for await (const record of readEvtx(file)) {
      const fields = record.fields();
      const channel = String(fields.get('Channel') ?? '');
      const key = `${channel}/${fields.get('EventID')}`;
      expected.byEventId.set(key, (expected.byEventId.get(key) ?? 0) + 1);
      const computer = String(fields.get('Computer')).toLowerCase();
      const time = Date.parse(String(fields.get('TimeCreated_SystemTime')));
      const c = expected.byComputer.get(computer) ?? { events: 0, first: Infinity, last: -Infinity, channels: new Set<string>() };
      c.events++;
      c.first = Math.min(c.first, time);
      c.last = Math.max(c.last, time);
      if (channel) c.channels.add(channel);
      expected.byComputer.set(computer, c);
      expected.byFile.set(file, (expected.byFile.get(file) ?? 0) + 1);
      expected.total++;
    }
  return expected;
}

async function feed(paths: string[], ...reports: { add: LogMetrics['add'] }[]): Promise<void> {
  const reader = new InputReader(paths, { onProblem: () => {}, onFileError: (f, m) => assert.fail(`${f}: ${m}`) });
  for await (const event of reader.events()) for (const report of reports) report.add(event);
}

test('eids, computers and logs match counts made with the EVTX reader alone', { skip: sharedSkip(FOLDER) }, async () => {
  const files = findFiles(sharedPath(FOLDER), '.evtx');
  const expected = await countDirectly(files);
  const [eids, computers, logs] = [new EventIdMetrics(), new ComputerMetrics(), new LogMetrics()];
  await feed([sharedPath(FOLDER)], eids, computers, logs);

  const eidRows = eids.rows();
  assert.deepEqual(new Map(eidRows.map((r) => [`${r.channel ?? ''}/${r.event_id}`, r.count])), expected.byEventId);
  for (let i = 1; i < eidRows.length; i++) assert.ok(eidRows[i - 1]!.count >= eidRows[i]!.count, 'most frequent first');
  assert.ok(Math.abs(eidRows.reduce((sum, r) => sum + r.percent, 0) - 100) < 1e-9, 'shares add up to 100%');
  const top = eidRows[0]!;
  assert.equal(top.percent, (100 * top.count) / expected.total);
  const processCreation = eidRows.find((r) => r.channel === 'Security' && r.event_id === 4688);
  assert.equal(processCreation?.description, 'A new process has been created');

  const computerRows = computers.rows();
  assert.equal(computerRows.length, expected.byComputer.size);
  for (const row of computerRows) {
    const want = expected.byComputer.get(row.computer!.toLowerCase())!;
    assert.deepEqual(
      [row.events, row.first, row.last, row.channels],
      [want.events, want.first, want.last, [...want.channels].sort()],
      row.computer!,
    );
  }

  const logRows = logs.rows();
  assert.deepEqual(
    logRows.map((r) => [r.file, r.records]),
    [...expected.byFile],
  );
  assert.ok(logRows.every((r) => r.format === 'evtx' && r.problems === 0));
});

test(
  'logons: a known user, source and logon type from a real Security log with 4624 and 4625',
  { skip: sharedSkip(LOGON_FILE) },
  async () => {
    const logons = new LogonMetrics();
    await feed([sharedPath(LOGON_FILE)], logons);
    assert.deepEqual(logons.rows(), [
      {
        user: 'MSEDGEWIN10\\IEUser',
        source: '-',
        logon_type: 2,
        logon_type_name: 'Interactive',
        successes: 2,
        failures: 1,
        first: Date.parse('2020-09-09T13:18:23.627Z'),
        last: Date.parse('2020-09-09T13:18:27.714Z'),
      },
      {
        user: 'NT AUTHORITY\\SYSTEM',
        source: '-',
        logon_type: 5,
        logon_type_name: 'Service',
        successes: 1,
        failures: 0,
        first: Date.parse('2020-09-09T13:18:25.377Z'),
        last: Date.parse('2020-09-09T13:18:25.377Z'),
      },
    ]);
  },
);

test('logons over a folder: each 4624/4625 counted once, under its user, address and type', { skip: sharedSkip(FOLDER) }, async () => {
  const files = findFiles(sharedPath(FOLDER), '.evtx');
  const expected = new Map<string, [number, number]>();
  for (const file of files)
    for await (const record of readEvtx(file)) {
      const f = record.fields();
      const id = f.get('EventID');
      if (f.get('Channel') !== 'Security' || (id !== 4624 && id !== 4625)) continue;
      const key = `${f.get('TargetDomainName')}\\${f.get('TargetUserName')}|${f.get('IpAddress')}|${f.get('LogonType')}`;
      const counts = expected.get(key) ?? [0, 0];
      counts[id === 4624 ? 0 : 1]++;
      expected.set(key, counts);
    }
  assert.ok(expected.size > 3, `${expected.size} logon keys`);
  const logons = new LogonMetrics();
  await feed([sharedPath(FOLDER)], logons);
  assert.deepEqual(new Map(logons.rows().map((r) => [`${r.user}|${r.source}|${r.logon_type}`, [r.successes, r.failures]])), expected);
});

test('descriptions of well-known ids and logon type names', () => {
  assert.equal(describeEvent('Microsoft-Windows-Sysmon/Operational', 1), 'Process creation');
  assert.equal(describeEvent('SECURITY', 4625), 'An account failed to log on');
  assert.equal(describeEvent('System', 7045), 'A service was installed in the system');
  assert.equal(describeEvent('Security', 1), undefined);
  assert.deepEqual([2, 3, 10, 99].map(logonTypeName), ['Interactive', 'Network', 'RemoteInteractive', undefined]);
});

test('past its limit of keys a report counts the events of later keys together, in a last "(other)" row', async () => {
  const logon = (computer: string, id: number, user: string) => ({
    Computer: computer,
    Channel: 'Security',
    EventID: id,
    TargetDomainName: 'CORP',
    TargetUserName: user,
    IpAddress: '10.0.0.1',
    LogonType: 3,
    TimeCreated_SystemTime: '2024-05-01T10:00:00Z',
  });
  const first = jsonl('first.jsonl', [
    logon('A', 4624, 'u1'),
    logon('B', 4625, 'u2'),
    { Computer: 'C', Channel: 'System', EventID: 7045, TimeCreated_SystemTime: '2024-05-01T09:00:00Z' },
    { Computer: 'D', Channel: 'Application', EventID: 1000 },
    { Computer: 'D', Channel: 'Application', EventID: 1000 },
  ]);
  const second = jsonl('second.jsonl', [logon('A', 4624, 'u3')]);
  const [eids, computers, logons, logs] = [new EventIdMetrics(2), new ComputerMetrics(2), new LogonMetrics(1), new LogMetrics(1)];
  await feed([first, second], eids, computers, logons, logs);
  logs.addFile(second);

  assert.deepEqual(
    eids.rows().map((r) => [r.channel, r.event_id, r.count, r.percent]),
    [
      ['Security', 4624, 2, (100 * 2) / 6],
      ['Security', 4625, 1, (100 * 1) / 6],
      [OTHER_ROW, null, 3, (100 * 3) / 6],
    ],
  );
  assert.deepEqual(
    computers.rows().map((r) => [r.computer, r.events, r.first, r.channels]),
    [
      ['A', 2, Date.parse('2024-05-01T10:00:00Z'), ['Security']],
      ['B', 1, Date.parse('2024-05-01T10:00:00Z'), ['Security']],
      [OTHER_ROW, 3, Date.parse('2024-05-01T09:00:00Z'), ['Application', 'System']],
    ],
  );
  assert.deepEqual(
    logons.rows().map((r) => [r.user, r.source, r.logon_type, r.successes, r.failures]),
    [
      ['CORP\\u1', '10.0.0.1', 3, 1, 0],
      [OTHER_ROW, '-', null, 1, 1],
    ],
  );
  assert.deepEqual(
    logs.rows().map((r) => [r.file, r.records]),
    [
      [first, 5],
      [OTHER_ROW, 1],
    ],
  );
});

test('a row lists its first channels and then "(more)"; long names are cut, and count as one', async () => {
  const long = (prefix: string, last: string) => prefix.repeat(MAX_NAME_LENGTH) + last;
  const events = Array.from({ length: MAX_CHANNELS_PER_ROW + 1 }, (_, i) => ({
    Computer: long('h', String(i % 2)),
    Channel: `Channel-${String(i).padStart(3, '0')}`,
    EventID: 1,
  }));
  events.push({ Computer: 'other', Channel: long('c', '1'), EventID: 1 }, { Computer: 'other', Channel: long('c', '2'), EventID: 1 });
  const [eids, computers] = [new EventIdMetrics(), new ComputerMetrics()];
  await feed([jsonl('channels.jsonl', events)], eids, computers);

  const [many, other] = computers.rows();
  assert.equal(many!.computer, 'h'.repeat(MAX_NAME_LENGTH) + '…');
  assert.equal(many!.events, MAX_CHANNELS_PER_ROW + 1);
  assert.deepEqual(many!.channels, [...events.slice(0, MAX_CHANNELS_PER_ROW).map((e) => e.Channel), MORE_CHANNELS]);
  assert.deepEqual(other!.channels, ['c'.repeat(MAX_NAME_LENGTH) + '…']);
  assert.deepEqual(eids.rows().at(0), {
    channel: 'c'.repeat(MAX_NAME_LENGTH) + '…',
    event_id: 1,
    record_type: null,
    count: 2,
    percent: (100 * 2) / events.length,
    description: null,
  });
});

test("eids: events without an EventID counted by record type (auditd: the first record's), beside those with one", async () => {
  const audit = join(work, 'audit.log');
  writeFileSync(
    audit,
    [
      'type=SYSCALL msg=audit(1714557600.123:42): arch=c000003e syscall=59 success=yes exit=0 pid=901 comm="ls" exe="/usr/bin/ls"',
      'type=EXECVE msg=audit(1714557600.123:42): argc=1 a0="ls"',
      'type=SYSCALL msg=audit(1714557601.000:43): arch=c000003e syscall=2 success=yes exit=3 pid=902 comm="cat" exe="/usr/bin/cat"',
      'type=USER_LOGIN msg=audit(1714557602.000:44): pid=903 uid=0 auid=1000 ses=4 msg=\'op=login acct="root" exe="/usr/sbin/sshd" res=success\'',
    ].join('\n') + '\n',
  );
  const windows = jsonl('windows.jsonl', [{ Channel: 'Security', EventID: 4624 }]);
  const eids = new EventIdMetrics();
  await feed([audit, windows], eids);
  assert.deepEqual(
    eids.rows().map((r) => [r.channel, r.event_id, r.record_type, r.count]),
    [
      ['auditd', null, 'SYSCALL', 2],
      ['Security', 4624, null, 1],
      ['auditd', null, 'USER_LOGIN', 1],
    ],
  );
});
