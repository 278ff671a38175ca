/** `firebreak timeline` end to end: the real binary on real logs and on hand-made events. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readEvtx } from '@firebreak/evtx';
import { sharedPath, sharedSkip } from '@firebreak/testkit';
import { isoTime } from '@firebreak/core';
import { firebreak } from './support/cli.js';

const work = mkdtempSync(join(tmpdir(), 'firebreak-timeline-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

const SAMPLES = 'evtx-attack-samples';
const SYSMON = sharedPath(`${SAMPLES}/Command and Control/DE_sysmon-3-rdp-tun.evtx`);
const SECURITY = sharedPath(`${SAMPLES}/Command and Control/DE_RDP_Tunnel_5156.evtx`);
const LOGONS = sharedPath(`${SAMPLES}/Credential Access/CA_4624_4625_LogonType2_LogonProc_chrome.evtx`);
const skip = sharedSkip(SAMPLES);

const PLINK_RULE = `title: Plink tunnel
id: 6f0d2a44-7a36-4a55-9e0c-0d3f6b1c2a10
logsource: { product: windows, category: process_creation }
detection:
  selection: { Image|endswith: '\\plink.exe' }
  condition: selection
level: high
`;

function ruleFile(): string {
  const path = join(work, 'plink.yml');
  writeFileSync(path, PLINK_RULE);
  return path;
}

async function recordCount(...files: string[]): Promise<number> {
  let n = 0;
  for (const file of files) for await (const record of readEvtx(file)) n += record.fields().get('EventID') === undefined ? 0 : 1;
  return n;
}

const TEXT_TIME = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}) {2}/;

test('text: every event of several files in time order, detections inline', { skip }, async () => {
  const result = firebreak('timeline', '--rules', ruleFile(), SECURITY, SYSMON, LOGONS);
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.trimEnd().split('\n');
  assert.equal(lines.length, await recordCount(SECURITY, SYSMON, LOGONS));
  const times = lines.map((l) => TEXT_TIME.exec(l)?.[1]);
  assert.ok(times.every((t) => t !== undefined));
  assert.deepEqual(times, [...times].sort(), 'time order');
  assert.ok(
    lines.includes(
      '2019-02-16 10:02:21.934  PC01.example.corp  Sysmon/1  C:\\Users\\IEUser\\Desktop\\plink.exe  plink.exe  10.0.2.18 -P 80 -C -R 127.0.0.3:4444:127.0.0.2:3389 -l test -pw test (pid 2312, parent 3904 cmd.exe)  ⚑ high: Plink tunnel',
    ),
  );
  // The Sysmon and the Security record of a plink.exe creation.
  assert.deepEqual(
    lines.filter((l) => l.includes('⚑')).map((l) => / {2}(\S+\/\d+) {2}.*plink\.exe/.exec(l)?.[1]),
    ['Security/4688', 'Sysmon/1'],
  );
  assert.ok(lines.includes('2020-09-09 13:18:23.627  MSEDGEWIN10  Security/4625  failed logon MSEDGEWIN10\\IEUser type 2 (Interactive)'));
});

test('jsonl: the record of each event with all its fields and its detections', { skip }, async () => {
  const result = firebreak('timeline', '--format', 'jsonl', '--rules', ruleFile(), SYSMON);
  assert.equal(result.status, 0, result.stderr);
  const records = result.stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(records.length, await recordCount(SYSMON));
  assert.deepEqual(Object.keys(records[0]!), [
    'timestamp',
    'computer',
    'channel',
    'event_id',
    'record_id',
    'file',
    'summary',
    'fields',
    'detections',
  ]);
  const plink = records.find((r) => (r.fields as Record<string, unknown>).ProcessId === 2312 && r.event_id === 1)!;
  assert.deepEqual(
    [plink.timestamp, plink.computer, plink.channel, plink.file],
    ['2019-02-16T10:02:21.934Z', 'PC01.example.corp', 'Microsoft-Windows-Sysmon/Operational', SYSMON],
  );
  assert.equal(typeof plink.record_id, 'number');
  assert.equal(
    (plink.fields as Record<string, unknown>).CommandLine,
    'plink.exe  10.0.2.18 -P 80 -C -R 127.0.0.3:4444:127.0.0.2:3389 -l test -pw test',
  );
  assert.deepEqual(plink.detections, [{ rule_id: '6f0d2a44-7a36-4a55-9e0c-0d3f6b1c2a10', rule_title: 'Plink tunnel', level: 'high' }]);
  const times = records.map((r) => r.timestamp as string);
  assert.deepEqual(times, [...times].sort());
});

test('csv: a header, a row per event, and cells a spreadsheet would run as formulas defused', () => {
  const events = join(work, 'formula.jsonl');
  const base = { Channel: 'Application', EventID: 1000, TimeCreated_SystemTime: '2024-05-01T10:00:00Z' };
  writeFileSync(
    events,
    [
      { ...base, Computer: '=HYPERLINK("http://x")', Data: 'a' },
      { ...base, Computer: 'ws1', Data: 'b,"c"', TimeCreated_SystemTime: '2024-05-01T09:00:00Z' },
    ]
      .map((e) => JSON.stringify(e))
      .join('\n') + '\n',
  );
  const result = firebreak('timeline', '--format', 'csv', '--rules', ruleFile(), events);
  assert.equal(result.status, 0, result.stderr);
  const rows = result.stdout.split('\r\n');
  assert.equal(rows[0], 'timestamp,computer,channel,event_id,record_id,file,summary,detections,fields');
  assert.equal(rows.length, 4);
  assert.ok(rows[1]!.startsWith(`2024-05-01T09:00:00.000Z,ws1,Application,1000,,${events},"Data=b,""c""",[],`));
  assert.ok(rows[2]!.startsWith(`2024-05-01T10:00:00.000Z,"'=HYPERLINK(""http://x"")",Application,`));
});

test('--process-tree: each host’s trees, children under their parents, placeholders for unseen parents', { skip }, () => {
  const result = firebreak('timeline', '--process-tree', '--rules', ruleFile(), SECURITY, SYSMON);
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.split('\n');
  assert.equal(lines[0], 'PC01.example.corp');
  const at = (text: string): number => {
    const i = lines.findIndex((l) => l.includes(text));
    assert.ok(i >= 0, `a line with ${text}`);
    return i;
  };
  // The session manager (PID 292 = 0x124) is never created in these logs: Security's children name it
  // by PID, Sysmon's by GUID with its path; both logs are of PC01, so it is one placeholder.
  const smss = at('smss.exe  pid 292');
  assert.match(lines[smss]!, /^├─ -\s+ smss\.exe {2}pid 292 {2}\(creation not in the logs\) \\SystemRoot\\System32\\smss\.exe$/);
  assert.equal(lines[smss + 1], '│  ├─ 2019-02-13 18:04:57.462  smss.exe  pid 0x38c  EXAMPLE\\PC01$  C:\\Windows\\System32\\smss.exe');
  assert.match(lines[smss + 2]!, /^│ {2}│ {2}├─ 2019-02-13 18:04:57\.462 {2}csrss\.exe {2}pid 0x9d4 /);
  assert.match(lines[smss + 3]!, /^│ {2}│ {2}└─ 2019-02-13 18:04:57\.542 {2}winlogon\.exe {2}pid 0x4b8 /);
  assert.match(lines[smss + 4]!, /^│ {2}│ {5}└─ 2019-02-13 18:04:57\.672 {2}LogonUI\.exe {2}pid 0xc70 /);
  assert.match(
    lines[at('smss.exe  pid 3444')]!,
    /^│ {2}├─ 2019-02-16 10:04:04\.141 {2}smss\.exe {2}pid 3444 {2}NT AUTHORITY\\SYSTEM {2}\\SystemRoot/,
  );
  // Detections are marked on the process that produced the event.
  const plink = at('plink.exe  pid 2312');
  assert.match(
    lines[plink]!,
    /^│ {2}└─ 2019-02-16 10:02:21\.934 {2}plink\.exe {2}pid 2312 {2}PC01\\IEUser {2}⚑ high: Plink tunnel {2}plink\.exe {2}10\.0\.2\.18 /,
  );
  assert.match(lines[plink - 1]!, /^├─ -\s+ cmd\.exe {2}pid 3904 {2}\(creation not in the logs\) "C:\\Windows\\system32\\cmd\.exe"$/);
  assert.match(
    lines[at('plink.exe  pid 0xcfc')]!,
    /^│ {2}└─ 2019-02-13 18:03:28\.318 {2}plink\.exe {2}pid 0xcfc {2}EXAMPLE\\user01 {2}⚑ high: Plink tunnel {2}C:\\Users/,
  );
});

test('--process-tree --pid: only that process, its ancestors and descendants; jsonl gives the nodes with their links', { skip }, () => {
  const text = firebreak('timeline', '--process-tree', '--pid', '0x4b8', '--rules', ruleFile(), SECURITY);
  assert.equal(text.status, 0, text.stderr);
  const shown = text.stdout.trimEnd().split('\n');
  assert.deepEqual(
    shown.map((l) => /(\S+) {2}pid (\S+)/.exec(l)?.slice(1).join(' ') ?? l),
    ['PC01.example.corp', '? 0x124', 'smss.exe 0x38c', 'winlogon.exe 0x4b8', 'LogonUI.exe 0xc70'],
  );

  const json = firebreak('timeline', '--process-tree', '--format', 'jsonl', '--pid', '1208', '--rules', ruleFile(), SECURITY);
  assert.equal(json.status, 0, json.stderr);
  const nodes = json.stdout
    .trimEnd()
    .split('\n')
    .map(
      (l) =>
        JSON.parse(l) as { id: number; pid: number; image: string | null; parent: number | null; children: number[]; placeholder: boolean },
    );
  assert.deepEqual(
    nodes.map((n) => [n.pid, n.image, n.placeholder]),
    [
      [0x124, null, true],
      [0x38c, 'C:\\Windows\\System32\\smss.exe', false],
      [0x4b8, 'C:\\Windows\\System32\\winlogon.exe', false],
      [0xc70, 'C:\\Windows\\System32\\LogonUI.exe', false],
    ],
  );
  for (let i = 1; i < nodes.length; i++) {
    assert.equal(nodes[i]!.parent, nodes[i - 1]!.id);
    assert.deepEqual(nodes[i - 1]!.children, [nodes[i]!.id]);
  }
});

test('--guid: the events of a process tree, in time order', { skip }, async () => {
  const plink = '365ABB72-DFAD-5C67-0000-0010E0811500';
  const cmd = '365ABB72-D92A-5C67-0000-0010CB580900';
  let expected = 0;
  for await (const record of readEvtx(SYSMON)) {
    const guid = String(record.fields().get('ProcessGuid') ?? '').toUpperCase();
    if (guid === plink || guid === cmd) expected++;
  }
  const result = firebreak('timeline', '--guid', `{${plink.toLowerCase()}}`, '--rules', ruleFile(), SYSMON);
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.trimEnd().split('\n');
  assert.equal(lines.length, expected);
  assert.ok(lines.every((l) => l.includes('plink.exe')));
  assert.match(lines[0]!, /Sysmon\/1 /);
});

test('--host, --from and --to select events; dates mean whole days, times without a zone are UTC', { skip }, () => {
  const run = (...args: string[]): string[] => {
    const result = firebreak('timeline', '--rules', ruleFile(), ...args, SECURITY, LOGONS);
    assert.equal(result.status, 0, result.stderr);
    return result.stdout.trimEnd().split('\n').filter(Boolean);
  };
  assert.equal(run('--host', 'msedgewin10').length, 4);
  assert.deepEqual(run('--from', '2020-09-09T13:18:25', '--to', '2020-09-09 13:18:26'), [
    '2020-09-09 13:18:25.377  MSEDGEWIN10  Security/4624  logon NT AUTHORITY\\SYSTEM type 5 (Service)',
  ]);
  assert.equal(run('--from', '2020-09-09T15:18:24+02:00', '--to', '2020-09-09').length, 3);
  assert.equal(run('--to', '2019-02-13').length, run('--host', 'PC01.EXAMPLE.CORP').length);
});

test('--output writes the timeline to a file', { skip }, () => {
  const out = join(work, 'timeline.jsonl');
  const result = firebreak('timeline', '--format', 'jsonl', '--output', out, '--rules', ruleFile(), LOGONS);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, '');
  assert.equal(readFileSync(out, 'utf8').trimEnd().split('\n').length, 4);
});

test('a corrupt file among good ones is a warning; nothing readable exits 2; an unknown PID exits 1', { skip }, () => {
  const broken = join(work, 'broken.evtx');
  writeFileSync(broken, Buffer.alloc(8192, 0x41));
  const result = firebreak('timeline', '--rules', ruleFile(), broken, LOGONS);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /^warning: .*broken\.evtx: /m);
  assert.equal(result.stdout.trimEnd().split('\n').length, 4);

  const nothing = firebreak('timeline', '--rules', ruleFile(), broken, join(work, 'missing.evtx'));
  assert.equal(nothing.status, 2);
  assert.match(nothing.stderr, /warning: .*missing\.evtx/);
  assert.match(nothing.stderr, /firebreak: nothing readable in .*broken\.evtx, .*missing\.evtx/);

  const unknown = firebreak('timeline', '--pid', '77777', '--rules', ruleFile(), LOGONS);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /no process with PID 77777/);
});

test('usage errors exit 2 and show the usage; --help documents the options, memory and exit status', () => {
  const events = join(work, 'one.jsonl');
  writeFileSync(events, '{"EventID": 1}\n');
  for (const args of [
    [],
    ['--format', 'xml', events],
    ['--pid', '1', '--guid', 'A-B', events],
    ['--pid', 'twelve', events],
    ['--process-tree', '--format', 'csv', events],
    ['--from', 'yesterday', events],
    ['--no-such-option', events],
    ['--rules', join(work, 'no-such-rules'), events],
  ]) {
    const result = firebreak('timeline', ...args);
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, /Usage: firebreak timeline PATH\.\.\./, args.join(' '));
  }
  const help = firebreak('timeline', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--process-tree/);
  assert.match(help.stdout, /Memory: /);
  assert.match(help.stdout, /Exit status: 0 .* 2 when nothing at all could be read/s);
});

test('warnings quote the logs printable: escape sequences in a bad line and in a file name are shown as \\u001b', () => {
  const folder = join(work, 'escapes');
  mkdirSync(folder, { recursive: true });
  const file = join(folder, 'x\u001b[2Jy.jsonl');
  writeFileSync(file, '{"EventID": 1, "Data": "good"}\n{"b": \u001b]0;PWNED\u0007\u001b[31mRED}\n');
  const result = firebreak('timeline', '--rules', ruleFile(), folder);
  assert.equal(result.status, 0, result.stderr);
  assert.ok(!result.stderr.includes('\u001b') && !result.stderr.includes('\u0007'), result.stderr);
  assert.match(result.stderr, /^warning: .*escapes\/x\\u001b\[2Jy\.jsonl:2: .*\\u001b\]/m);
  assert.match(result.stdout, /^- +- +-\/1 {2}Data=good$/m);
});

test('values nested deeper than the stack goes: every format shows them to a depth, with the events around them', () => {
  const deep = (open: string, close: string): string => open.repeat(100_000) + '"x"' + close.repeat(100_000);
  const events = join(work, 'deep.jsonl');
  writeFileSync(
    events,
    [
      '{"EventID": 1, "Data": "before", "TimeCreated_SystemTime": "2024-05-01T10:00:00Z"}',
      `{"EventID": 2, "Data": "list", "List": ${deep('[', ']')}, "TimeCreated_SystemTime": "2024-05-01T10:00:01Z"}`,
      `{"EventID": 3, "Data": "object", "Object": ${deep('{"a":', '}')}, "TimeCreated_SystemTime": "2024-05-01T10:00:02Z"}`,
      '{"EventID": 4, "Data": "after", "TimeCreated_SystemTime": "2024-05-01T10:00:03Z"}',
    ].join('\n') + '\n',
  );
  const text = firebreak('timeline', '--rules', ruleFile(), events);
  assert.equal(text.status, 0, text.stderr);
  const lines = text.stdout.trimEnd().split('\n');
  assert.deepEqual(
    lines.map((l) => / {2}-\/(\d) {2}Data=(\w+)/.exec(l)?.slice(1).join(' ')),
    ['1 before', '2 list', '3 object', '4 after'],
  );
  assert.ok(lines[1]!.includes(`List=${'['.repeat(64)}"[nested deeper than 64 levels]"`), lines[1]);

  for (const format of ['jsonl', 'csv']) {
    const result = firebreak('timeline', '--format', format, '--rules', ruleFile(), events);
    assert.equal(result.status, 0, `${format}: ${result.stderr}`);
    assert.equal(result.stderr, '');
    // The list in its event's summary and fields, the object in its fields.
    assert.equal((result.stdout.match(/nested deeper than 64 levels/g) ?? []).length, 3, format);
  }
  const jsonl = firebreak('timeline', '--format', 'jsonl', '--rules', ruleFile(), events);
  const records = jsonl.stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { event_id: number; fields: Record<string, unknown> });
  assert.deepEqual(
    records.map((r) => r.event_id),
    [1, 2, 3, 4],
  );
  let object = records[2]!.fields.Object;
  let depth = 0;
  for (; typeof object === 'object' && object !== null; depth++) object = (object as { a: unknown }).a;
  // 64 levels counted from the record: the record, its fields, then 62 of the object's.
  assert.deepEqual([depth, object], [62, '[nested deeper than 64 levels]']);
});

test('an event that cannot be handled is a warning naming its file and line, and the others are handled', () => {
  const events = join(work, 'three.jsonl');
  writeFileSync(events, ['{"EventID": 1}', '{"EventID": 2}', '{"EventID": 3}'].join('\n') + '\n');
  // eachEvent in a process of its own, as the commands run it: with its warnings on that process's stderr.
  const script = `
    import { eachEvent } from ${JSON.stringify(new URL('../src/events.js', import.meta.url).href)};
    const handled = [];
    const problems = [];
    const use = (event) => {
      if (event.eventId === 2) throw new RangeError('Invalid time value');
      handled.push(event.origin);
    };
    const readable = await eachEvent([${JSON.stringify(events)}], use, { onProblem: (file) => problems.push(file) });
    console.log(JSON.stringify({ readable, handled, problems }));
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), { readable: 1, handled: [`${events}:1`, `${events}:3`], problems: [events] });
  assert.equal(result.stderr, `warning: ${events}:2: event left out: Invalid time value\n`);
});

test('a time no date can be made of is shown as none', () => {
  assert.equal(isoTime(8.64e15), '+275760-09-13T00:00:00.000Z');
  assert.equal(isoTime(0), '1970-01-01T00:00:00.000Z');
  for (const time of [8.64e15 + 1, -8.64e15 - 1, 1e300, NaN, Infinity, undefined, null]) assert.equal(isoTime(time), null, String(time));
});
