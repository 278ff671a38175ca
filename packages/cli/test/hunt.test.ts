/** `firebreak hunt` end to end: the real binary on real logs and real SigmaHQ rules. */
import assert from 'node:assert/strict';
import { existsSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, test } from 'node:test';
import { load } from 'js-yaml';
import { REPO_ROOT, findFiles, sharedPath, sharedSkip } from '@firebreak/testkit';
import { BIN, firebreak } from './support/cli.js';

const SAMPLES = 'evtx-attack-samples';
const PAIRS = 'evtx-json-pairs';
const work = mkdtempSync(join(tmpdir(), 'firebreak-hunt-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface Detection {
  rule_id: string;
  rule_title: string;
  level: string;
  status: string;
  tags: string[];
  attack: { tactics: string[]; techniques: string[] };
  timestamp: string | null;
  computer: string | null;
  channel: string | null;
  event_id: number | null;
  record_id: number | null;
  file: string;
  fields: Record<string, unknown>;
}

const jsonl = (text: string): Detection[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Detection);

const sigmaRule = (path: string): string => join(sharedPath('sigma'), 'rules', path);

/** SigmaHQ rules and where each must fire in the attack samples (file relative to the samples, EventRecordID). */
const EXPECTED = [
  {
    rule: 'windows/builtin/security/win_security_audit_log_cleared.yml',
    file: 'Command and Control/DE_RDP_Tunnel_5156.evtx',
    record: 227693,
  },
  {
    rule: 'windows/file/file_event/file_event_win_taskmgr_lsass_dump.yml',
    file: 'Credential Access/sysmon_10_11_lsass_memdump.evtx',
    record: 4441,
  },
  {
    rule: 'windows/builtin/system/service_control_manager/win_system_service_install_susp.yml',
    file: 'Privilege Escalation/System_7045_namedpipe_privesc.evtx',
    record: 10446,
  },
  {
    rule: 'windows/registry/registry_set/registry_set_change_rdp_port.yml',
    file: 'Defense Evasion/sysmon_13_rdp_settings_tampering.evtx',
    record: 5329,
  },
  {
    rule: 'windows/builtin/security/account_management/win_security_admin_rdp_login.yml',
    file: 'Command and Control/DE_RDP_Tunnel_5156.evtx',
    record: 227762,
  },
  {
    rule: 'windows/powershell/powershell_script/posh_ps_malicious_keywords.yml',
    file: 'Credential Access/Powershell_4104_MiniDumpWriteDump_Lsass.evtx',
    record: 971,
  },
];
const expectedRules = (): string[] => EXPECTED.flatMap((e) => ['--rules', sigmaRule(e.rule)]);
const skipSamples = sharedSkip(SAMPLES) || sharedSkip('sigma');

test('hunting the attack samples fires specific SigmaHQ rules on specific records, with the contract fields', { skip: skipSamples }, () => {
  const run = firebreak('hunt', sharedPath(SAMPLES), ...expectedRules(), '--format', 'jsonl');
  assert.equal(run.status, 0, run.stderr);
  const detections = jsonl(run.stdout);
  for (const { rule, file, record } of EXPECTED) {
    const id = (load(readFileSync(sigmaRule(rule), 'utf8')) as { id: string }).id;
    const hit = detections.find((d) => d.rule_id === id && d.file === join(sharedPath(SAMPLES), file) && d.record_id === record);
    assert.ok(hit, `${rule} on ${file}#${record}`);
    assert.match(hit.timestamp!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    for (const key of ['rule_title', 'level', 'status', 'computer', 'channel'] as const) assert.equal(typeof hit[key], 'string', key);
    assert.equal(typeof hit.event_id, 'number');
    assert.ok(Array.isArray(hit.tags) && Array.isArray(hit.attack.tactics) && Array.isArray(hit.attack.techniques));
    assert.ok(Object.keys(hit.fields).length > 0);
  }
  assert.match(run.stderr, /Summary[\s\S]*Events\s+[\d,]+[\s\S]*Rules\s+6 loaded/);
});

test('one thread and two give the same detections in the same order', { skip: skipSamples }, () => {
  const one = firebreak('hunt', sharedPath(SAMPLES), ...expectedRules(), '--format', 'jsonl', '--threads', '1');
  const two = firebreak('hunt', sharedPath(SAMPLES), ...expectedRules(), '--format', 'jsonl', '--threads', '2');
  assert.equal(one.status, 0, one.stderr);
  assert.ok(jsonl(one.stdout).length >= EXPECTED.length);
  assert.equal(two.stdout, one.stdout);
});

test(
  'every regression pair fires its rule on its EVTX and on its evtx_dump JSON',
  { skip: sharedSkip(PAIRS) || sharedSkip('sigma') },
  () => {
    const pairs = findFiles(sharedPath(PAIRS), 'info.yml').map((info) => {
      const rel = relative(sharedPath(PAIRS), dirname(info));
      const meta = load(readFileSync(info, 'utf8')) as { rule_metadata: { id: string }[] };
      return { folder: dirname(info), id: meta.rule_metadata[0]!.id, rule: join(sharedPath('sigma'), `${rel}.yml`) };
    });
    assert.equal(pairs.length, 20);
    const run = firebreak('hunt', sharedPath(PAIRS), ...pairs.flatMap((p) => ['--rules', p.rule]), '--format', 'jsonl');
    assert.equal(run.status, 0, run.stderr);
    const detections = jsonl(run.stdout);
    for (const pair of pairs) {
      const [evtx] = findFiles(pair.folder, '.evtx');
      for (const file of [evtx!, evtx!.replace(/\.evtx$/, '.json')])
        assert.ok(
          detections.some((d) => d.rule_id === pair.id && d.file === file),
          `${relative(sharedPath(PAIRS), file)} fires ${pair.id}`,
        );
    }
  },
);

test('event filters: --eid, --computer, --from/--to; rule filters: --min-level, --tags', { skip: skipSamples }, () => {
  const hunt = (...args: string[]): Detection[] => {
    const run = firebreak('hunt', sharedPath(SAMPLES), ...expectedRules(), '--format', 'jsonl', ...args);
    assert.equal(run.status, 0, run.stderr);
    return jsonl(run.stdout);
  };
  const all = hunt();
  const cleared = all.filter((d) => d.event_id === 1102);
  assert.ok(cleared.length > 0 && cleared.length < all.length);
  assert.deepEqual(hunt('--eid', '1102'), cleared);
  const computer = all[0]!.computer!;
  assert.deepEqual(
    hunt('--computer', computer.toUpperCase()),
    all.filter((d) => d.computer === computer),
  );
  const day = all[0]!.timestamp!.slice(0, 10);
  assert.deepEqual(
    hunt('--from', day, '--to', day),
    all.filter((d) => d.timestamp!.startsWith(day)),
  );
  const levels = new Set(all.map((d) => d.level));
  assert.ok(levels.has('high') && levels.size > 1, 'the expected rules span levels');
  assert.deepEqual(
    hunt('--min-level', 'high'),
    all.filter((d) => d.level === 'high' || d.level === 'critical'),
  );
  const noneStable = firebreak('hunt', sharedPath(SAMPLES), ...expectedRules(), '--status', 'stable');
  assert.equal(noneStable.status, 2, 'none of the rules is stable');
  assert.match(noneStable.stderr, /no rule loaded .*left out: status not selected: 6/);
  assert.deepEqual(
    hunt('--status', 'test,stable'),
    all.filter((d) => d.status === 'test' || d.status === 'stable'),
  );
  const tag = all[0]!.tags[0]!;
  assert.deepEqual(
    hunt('--tags', tag),
    all.filter((d) => d.tags.includes(tag)),
  );
});

test('csv, json and html outputs', { skip: skipSamples }, () => {
  const file = join(sharedPath(SAMPLES), EXPECTED[0]!.file);
  const rule = sigmaRule(EXPECTED[0]!.rule);
  const csv = firebreak('hunt', file, '--rules', rule, '--format', 'csv');
  assert.equal(csv.status, 0, csv.stderr);
  const header = csv.stdout.split('\r\n')[0]!.split(',');
  for (const name of ['rule_id', 'rule_title', 'level', 'timestamp', 'computer', 'event_id', 'record_id', 'file', 'fields'])
    assert.ok(header.includes(name), name);
  assert.match(csv.stdout, /Security Eventlog Cleared/);
  const json = firebreak('hunt', file, '--rules', rule, '--format', 'json');
  const parsed = JSON.parse(json.stdout) as { detections: Detection[]; summary: { events: number } };
  assert.equal(parsed.detections[0]!.rule_title, 'Security Eventlog Cleared');
  assert.ok(parsed.summary.events > 0);
  const report = join(work, 'report.html');
  const html = firebreak('hunt', file, '--rules', rule, '--format', 'html', '--output', report);
  assert.equal(html.status, 0, html.stderr);
  const text = readFileSync(report, 'utf8');
  assert.match(text, /^<!doctype html>/i);
  assert.match(text, /Security Eventlog Cleared/);
  assert.doesNotMatch(text, /\b(src|href)\s*=\s*["']?https?:/i);
});

test('without --rules the bundled pack runs', { skip: sharedSkip(SAMPLES) }, () => {
  const run = firebreak('hunt', join(sharedPath(SAMPLES), 'Lateral Movement'), '--format', 'jsonl');
  assert.equal(run.status, 0, run.stderr);
  const detections = jsonl(run.stdout);
  assert.ok(detections.length > 0);
  assert.ok(detections.every((d) => d.rule_id.length > 0));
  assert.doesNotMatch(run.stderr, /Rules\s+0 loaded/);
});

test('a corrupt file among good ones is a warning; nothing readable at all exits 2', { skip: skipSamples }, () => {
  const folder = join(work, 'mixed');
  const good = join(sharedPath(SAMPLES), EXPECTED[0]!.file);
  mkdirSync(folder, { recursive: true });
  copyFileSync(good, join(folder, 'good.evtx'));
  writeFileSync(join(folder, 'junk.evtx'), Buffer.from('ElfFile\0 but nothing after the magic'));
  const run = firebreak('hunt', folder, '--rules', sigmaRule(EXPECTED[0]!.rule), '--format', 'jsonl');
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /warning: .*junk\.evtx/);
  assert.ok(jsonl(run.stdout).some((d) => d.file.endsWith('good.evtx')));

  const nothing = firebreak('hunt', join(folder, 'junk.evtx'), '--rules', sigmaRule(EXPECTED[0]!.rule));
  assert.equal(nothing.status, 2);
  assert.match(nothing.stderr, /nothing readable/);
});

test('usage errors exit 2 and point to --help', () => {
  for (const args of [
    ['hunt'],
    ['hunt', '.', '--min-level', 'severe'],
    ['hunt', '.', '--format', 'xml'],
    ['hunt', '.', '--from', 'yesterday'],
    ['hunt', '.', '--status', 'shiny'],
    ['hunt', '.', '--rules', join(work, 'no-such-rules')],
  ]) {
    const run = firebreak(...args);
    assert.equal(run.status, 2, args.join(' '));
    assert.match(run.stderr, /firebreak --help/);
  }
  const help = firebreak('hunt', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--min-level/);
});

test('crafted values: an impossible time loses no event, escape sequences never reach the terminal', () => {
  const rule = join(work, 'any-image.yml');
  writeFileSync(
    rule,
    'title: Any Image\nid: 5b0c4e0e-9d1e-4f55-9a53-1f2d6c1d8a01\nstatus: test\nlevel: high\nlogsource: { product: windows }\ndetection:\n  selection: { Image|contains: evil }\n  condition: selection\n',
  );
  const events = join(work, 'crafted.jsonl');
  const lines = [
    { Image: 'evil1', time: '2023-01-01T00:00:00Z' },
    { Image: 'evil2', time: 1e300 },
    { Image: 'evil3', time: '2023-01-01T00:00:02' },
  ].map((e) => JSON.stringify(e));
  writeFileSync(events, [...lines, '{"b": \u001b]0;PWNED\u0007\u001b[31mRED}'].join('\n') + '\n');
  const run = firebreak('hunt', events, '--raw', '--rules', rule, '--format', 'jsonl');
  assert.equal(run.status, 0, run.stderr);
  const detections = jsonl(run.stdout);
  assert.deepEqual(
    detections.map((d) => [d.fields.Image, d.timestamp]),
    [
      ['evil1', '2023-01-01T00:00:00.000Z'],
      ['evil2', null],
      ['evil3', '2023-01-01T00:00:02.000Z'],
    ],
  );
  assert.match(run.stderr, /warning: .*crafted\.jsonl:4/);
  assert.doesNotMatch(run.stderr, /\u001b|\u0007/);
});

test('--sort gives the same detections oldest first; the summary names the top rules and the period', { skip: skipSamples }, () => {
  const plain = firebreak('hunt', sharedPath(SAMPLES), ...expectedRules(), '--format', 'jsonl');
  const sorted = firebreak('hunt', sharedPath(SAMPLES), ...expectedRules(), '--format', 'jsonl', '--sort');
  assert.equal(sorted.status, 0, sorted.stderr);
  const times = jsonl(sorted.stdout).map((d) => d.timestamp!);
  assert.deepEqual(times, [...times].sort());
  assert.notDeepEqual(
    times,
    jsonl(plain.stdout).map((d) => d.timestamp!),
    'input order is not time order here',
  );
  assert.deepEqual(sorted.stdout.split('\n').sort(), plain.stdout.split('\n').sort());
  assert.match(sorted.stderr, /Period\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d to \d{4}-/);
  assert.match(sorted.stderr, /Top rules\s+\d+\s+\w+\s+\S/);
});

test('rule filters keep what a selected correlation counts: the bundled beaconing correlation fires with --min-level medium', () => {
  const image = 'C:\\Users\\alice\\AppData\\Local\\Programs\\3CXDesktopApp\\3CXDesktopApp.exe';
  const beacon = (minute: number): string =>
    JSON.stringify({
      Event: {
        System: {
          Provider: { '#attributes': { Name: 'Microsoft-Windows-Sysmon' } },
          EventID: 3,
          Channel: 'Microsoft-Windows-Sysmon/Operational',
          Computer: 'WS01.corp.example',
          TimeCreated: { '#attributes': { SystemTime: `2023-04-05T10:${String(minute).padStart(2, '0')}:00.000Z` } },
        },
        EventData: { Image: image, Protocol: 'tcp', Initiated: 'true', DestinationIp: '104.21.3.9', DestinationPort: '8443' },
      },
    });
  const events = join(work, 'beacon.jsonl');
  writeFileSync(events, Array.from({ length: 10 }, (_, i) => beacon(i)).join('\n') + '\n');
  const all = firebreak('hunt', events, '--format', 'jsonl');
  const medium = firebreak('hunt', events, '--format', 'jsonl', '--min-level', 'medium');
  for (const run of [all, medium]) {
    assert.equal(run.status, 0, run.stderr);
    const kinds = jsonl(run.stdout).map((d) => (d as Detection & { kind: string }).kind);
    assert.ok(kinds.includes('event_count'), run.stderr);
    assert.doesNotMatch(run.stderr, /invalid/);
  }
  // The building blocks (level low) stay for the correlation, and still go unreported on their own.
  assert.ok(jsonl(medium.stdout).every((d) => d.level !== 'low'));
});

test('correlations see the matches of every file, also when two threads hunt them', () => {
  const events = (minutes: number[]): string =>
    minutes
      .map((m) =>
        JSON.stringify({
          Channel: 'Microsoft-Windows-Sysmon/Operational',
          EventID: 3,
          Computer: 'WS01',
          TimeCreated_SystemTime: `2023-04-05T10:${String(m).padStart(2, '0')}:00.000Z`,
          Image: 'C:\\Users\\alice\\AppData\\Local\\Programs\\3CXDesktopApp\\3CXDesktopApp.exe',
          Initiated: 'true',
          DestinationIp: '104.21.3.9',
          DestinationPort: '8443',
        }),
      )
      .join('\n') + '\n';
  const folder = join(work, 'split-beacon');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'a.jsonl'), events([0, 1, 2, 3, 4]));
  writeFileSync(join(folder, 'b.jsonl'), events([5, 6, 7, 8, 9]));
  for (const threads of ['1', '2']) {
    const run = firebreak('hunt', folder, '--format', 'jsonl', '--threads', threads);
    assert.equal(run.status, 0, run.stderr);
    const alerts = jsonl(run.stdout).filter((d) => (d as Detection & { kind: string }).kind === 'event_count');
    assert.equal(alerts.length, 1, `threads ${threads}`);
    assert.ok(alerts[0]!.file.endsWith('b.jsonl'), 'told at the match that completed it');
  }
});

test('warnings: five per file, then a count', () => {
  const file = join(work, 'bad-lines.jsonl');
  writeFileSync(file, '{"EventID": 1}\n' + Array.from({ length: 8 }, (_, i) => `not json ${i}`).join('\n') + '\n');
  const run = firebreak('hunt', file, '--format', 'jsonl');
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stderr.match(/^warning: .*bad-lines\.jsonl:\d+/gm)?.length, 5);
  assert.match(run.stderr, /warning: .*bad-lines\.jsonl: 3 more warnings not shown/);
});

test(
  'on a terminal, a progress line on stderr and the summary',
  { skip: existsSync('/usr/bin/script') ? false : 'needs script(1) to give the hunt a terminal' },
  () => {
    // Without the shared samples: the server's demo scenario, real logs that are always in the repository.
    const samples = sharedSkip(SAMPLES) ? join(REPO_ROOT, 'packages', 'server', 'demo') : join(sharedPath(SAMPLES), 'Lateral Movement');
    const command = [process.execPath, BIN, 'hunt', samples, '--format', 'jsonl', '--output', '/dev/null']
      .map((a) => `'${a.replaceAll("'", "'\\''")}'`)
      .join(' ');
    const run = spawnSync('/usr/bin/script', ['-qec', command, '/dev/null'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stdout);
    assert.match(run.stdout, /\[[= ]+\] \d+\/\d+ files {2}[\d,]+ events {2}[\d,]+ events\/s {2}ETA/);
    assert.match(run.stdout, /Summary[\s\S]*Events/);
  },
);
