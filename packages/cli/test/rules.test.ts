/** `firebreak rules check` and `rules test` end to end: the real binary on real files. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { findFiles, sharedPath, sharedSkip } from '@firebreak/testkit';
import { firebreak } from './support/cli.js';

const work = mkdtempSync(join(tmpdir(), 'firebreak-rules-'));
after(() => rmSync(work, { recursive: true, force: true }));

const GOOD = `title: Whoami
id: 0b6a2a9e-6a0f-4c56-9a52-3a1f0b0c9d11
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\\whoami.exe'
  condition: selection
level: medium
`;

function ruleFolder(): string {
  const dir = join(work, 'rules');
  mkdirSync(join(dir, 'nested'), { recursive: true });
  writeFileSync(join(dir, 'good.yml'), GOOD);
  writeFileSync(join(dir, 'nested', 'invalid.yml'), GOOD.replace('level: medium', 'level: severe'));
  writeFileSync(join(dir, 'nested', 'unsupported.yml'), GOOD.replace("Image|endswith: '\\whoami.exe'", "Image|re: '(?<=x)whoami'"));
  writeFileSync(join(dir, 'notes.txt'), 'not a rule');
  return dir;
}

test('rules check: a line per file, a summary, exit 1 when some file did not load', () => {
  const result = firebreak('rules', 'check', ruleFolder());
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stdout, /^loaded\s+\S*good\.yml$/m);
  assert.match(result.stdout, /^invalid\s+\S*invalid\.yml:\d+\s+level "severe" is not one of/m);
  assert.match(result.stdout, /^unsupported\s+\S*unsupported\.yml:\d+\s+search "selection": .*lookbehind/m);
  assert.match(result.stdout, /3 files: 1 loaded, 1 unsupported, 1 invalid/);
});

test('rules check --format json: counts and the per-file list', () => {
  const result = firebreak('rules', 'check', '--format', 'json', ruleFolder());
  const report = JSON.parse(result.stdout) as {
    files: number;
    loaded: number;
    unsupported: number;
    invalid: number;
    results: { file: string; status: string; reason?: string; line?: number }[];
  };
  assert.deepEqual([report.files, report.loaded, report.unsupported, report.invalid], [3, 1, 1, 1]);
  const invalid = report.results.find((r) => r.status === 'invalid')!;
  assert.equal(invalid.line, 10);
  assert.match(invalid.reason!, /level "severe"/);
});

test('rules check exits 0 when everything loads, 2 on usage errors', () => {
  const file = join(work, 'one.yml');
  writeFileSync(file, GOOD);
  assert.equal(firebreak('rules', 'check', file).status, 0);
  assert.equal(firebreak('rules', 'check').status, 2);
  assert.equal(firebreak('rules', 'check', '--format', 'xml', file).status, 2);
  assert.match(firebreak('rules', 'check', '--help').stdout, /--format table\|json/);
});

test('rules test explains which searches matched on JSON lines, with a bad line reported', () => {
  const rule = join(work, 'whoami.yml');
  writeFileSync(rule, GOOD);
  const events = join(work, 'events.jsonl');
  const sysmon = { Channel: 'Microsoft-Windows-Sysmon/Operational', EventID: 1, Image: 'C:\\Windows\\System32\\whoami.exe' };
  const security = { Channel: 'Security', EventID: 4688, NewProcessName: 'C:\\Windows\\System32\\WHOAMI.EXE' };
  writeFileSync(
    events,
    [JSON.stringify(sysmon), '{"broken": ', JSON.stringify({ ...sysmon, Image: 'C:\\x\\cmd.exe' }), JSON.stringify(security)].join('\n') +
      '\n',
  );
  const result = firebreak('rules', 'test', rule, events);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /events\.jsonl:2: /);
  assert.match(
    result.stdout,
    /MATCH\s+\S*events\.jsonl:1\n\s+variant sysmon: matched\n\s+✔ selection\s+Image="C:\\\\Windows\\\\System32\\\\whoami\.exe"/,
  );
  assert.match(result.stdout, /MATCH\s+\S*events\.jsonl:4\n(.*\n)*\s+variant security-4688: matched/);
  assert.doesNotMatch(result.stdout, /events\.jsonl:3/);
  assert.match(result.stdout, /Whoami: matched 2 of 3 events/);
  const none = join(work, 'none.jsonl');
  writeFileSync(none, JSON.stringify({ ...sysmon, Image: 'C:\\x\\cmd.exe' }) + '\n');
  const miss = firebreak('rules', 'test', '--all', rule, none);
  assert.equal(miss.status, 1);
  assert.match(miss.stdout, /no match\s+\S*none\.jsonl:1\n\s+variant sysmon: applies, condition false\n\s+✘ selection/);
});

const PAIR = 'evtx-json-pairs/rules/windows/process_creation/proc_creation_win_dism_remove';

test('rules test on a real EVTX and its evtx_dump JSON', { skip: sharedSkip(PAIR) || sharedSkip('sigma') }, () => {
  const rule = sharedPath('sigma/rules/windows/process_creation/proc_creation_win_dism_remove.yml');
  const [evtx] = findFiles(sharedPath(PAIR), '.evtx');
  for (const events of [evtx!, evtx!.replace(/\.evtx$/, '.json')]) {
    const result = firebreak('rules', 'test', rule, events);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /matched 1 of 1 events/);
  }
});

test('--placeholders, --mapping and --raw change how rules load and meet events', () => {
  const rule = join(work, 'expand.yml');
  writeFileSync(
    rule,
    GOOD.replace("Image|endswith: '\\whoami.exe'", "User|expand: '%admins%'").replace(
      'category: process_creation',
      'category: process_creation',
    ),
  );
  const events = join(work, 'admins.jsonl');
  writeFileSync(events, JSON.stringify({ Channel: 'Microsoft-Windows-Sysmon/Operational', EventID: 1, User: 'CORP\\root' }) + '\n');
  const missing = firebreak('rules', 'check', rule);
  assert.equal(missing.status, 1);
  assert.match(missing.stdout, /unsupported\s+\S*expand\.yml:\d+\s+search "selection": placeholder %admins% has no value/);
  const placeholders = join(work, 'placeholders.yml');
  writeFileSync(placeholders, 'admins:\n  - CORP\\root\n  - CORP\\admin\n');
  assert.equal(firebreak('rules', 'check', '--placeholders', placeholders, rule).status, 0);
  assert.equal(firebreak('rules', 'test', '--placeholders', placeholders, rule, events).status, 0);

  // A log source no shipped mapping knows: noted, and it meets events only through a mapping or --raw.
  const mac = join(work, 'mac.yml');
  writeFileSync(mac, GOOD.replace('product: windows', 'product: macos'));
  const macEvents = join(work, 'mac.jsonl');
  writeFileSync(macEvents, JSON.stringify({ _source: 'esf', Image: 'x\\whoami.exe' }) + '\n');
  assert.match(
    firebreak('rules', 'check', mac).stdout,
    /loaded\s+\S*mac\.yml\s+no log source mapping for product=macos, category=process_creation/,
  );
  assert.equal(firebreak('rules', 'test', mac, macEvents).status, 1);
  assert.equal(firebreak('rules', 'test', '--raw', mac, macEvents).status, 0);
  const mapping = join(work, 'macos.yml');
  writeFileSync(
    mapping,
    'logsources:\n  - logsource: { product: macos, category: process_creation }\n    variants:\n      - name: esf\n        when: { _source: esf }\n',
  );
  const mapped = firebreak('rules', 'test', '--mapping', mapping, mac, macEvents);
  assert.equal(mapped.status, 0, mapped.stderr);
  assert.match(mapped.stdout, /variant esf: matched/);
  const bad = firebreak('rules', 'check', '--mapping', join(work, 'nope.yml'), mac);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /nope\.yml/);
});

test('rules test runs every rule of a file and its correlations; missing files are clean errors', () => {
  const rules = join(work, 'brute.yml');
  writeFileSync(
    rules,
    `title: Failed logon\nname: failed\nlogsource: { product: windows, service: security }\ndetection: { s: { EventID: 4625 }, condition: s }\n---\n` +
      `title: Logon\nname: logon\nlogsource: { product: windows, service: security }\ndetection: { s: { EventID: 4624 }, condition: s }\n---\n` +
      `title: Many failures\ncorrelation: { type: event_count, rules: [failed], group-by: [IpAddress], timespan: 1m, condition: { gte: 2 } }\n`,
  );
  const events = join(work, 'logons.jsonl');
  const at = (s: number) => `2024-05-01T10:00:0${s}Z`;
  writeFileSync(
    events,
    [4625, 4625, 4624]
      .map((id, i) => JSON.stringify({ Channel: 'Security', EventID: id, IpAddress: '10.0.0.1', TimeCreated_SystemTime: at(i) }))
      .join('\n') + '\n',
  );
  const result = firebreak('rules', 'test', rules, events);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /CORRELATION\s+\S*logons\.jsonl:2\s+Many failures: event_count 2 for \{"IpAddress":"10\.0\.0\.1"\}/);
  assert.match(result.stdout, /Failed logon: matched 2 of 3 events\nLogon: matched 1 of 3 events\n1 correlation alerts/);
  const missingRule = firebreak('rules', 'test', join(work, 'none.yml'), events);
  assert.equal(missingRule.status, 1);
  assert.match(missingRule.stderr, /^firebreak: ENOENT: .*none\.yml/);
  assert.doesNotMatch(missingRule.stderr, /at \w+ \(/, 'no stack trace');
  const missingEvents = firebreak('rules', 'test', rules, join(work, 'none.evtx'));
  assert.equal(missingEvents.status, 1);
  assert.match(missingEvents.stderr, /^firebreak: cannot open .*none\.evtx/);
});
