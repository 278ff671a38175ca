/**
 * Incident grouping on a 3CX-like supply-chain intrusion (Sysmon events as the server stores them,
 * alerts raised on them), then each grouping rule on its own: unrelated hosts, the window, closed
 * incidents, a restart, the memory caps.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  IncidentGrouper,
  MAX_INCIDENT_KEYS,
  buildStoryline,
  relationsOf,
  type AlertFacts,
  type IncidentDecision,
  type IncidentRecord,
  type StoryEvent,
} from '../src/index.js';

const SYSMON = 'Microsoft-Windows-Sysmon/Operational';
const T0 = Date.UTC(2023, 2, 29, 9, 0, 0);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const HOST_A = 'WS-FIN-01.corp.example';
const HOST_B = 'WS-HR-07.corp.example';
const APP = 'C:\\Users\\jdoe\\AppData\\Local\\Programs\\3CXDesktopApp\\app\\3CXDesktopApp.exe';
const FFMPEG = 'C:\\Users\\jdoe\\AppData\\Local\\Programs\\3CXDesktopApp\\app\\ffmpeg.dll';
const EXPLORER = 'C:\\Windows\\explorer.exe';
const CMD = 'C:\\Windows\\System32\\cmd.exe';
/** The trojanised ffmpeg.dll of the March 2023 3CX compromise. */
const FFMPEG_SHA256 = '7986bbaee8940da11ce089383521ab420c443ab7b15ed42aed91fd31ce833896';
const FFMPEG_HASHES = `SHA1=BF939C9C261D27EE7BB92325CC588624FCA75429,MD5=74BC2D0B6680FAA1A5A76B27E5479CBC,SHA256=${FFMPEG_SHA256.toUpperCase()},IMPHASH=F34D5F2D4577ED6D9CEEC516C1F5A744`;
const GUID = {
  explorerA: 'A1B2C3D4-1000-6424-0000-0010E1A20100',
  appA: 'A1B2C3D4-1100-6424-0000-0010F3B40200',
  cmdA: 'A1B2C3D4-1200-6424-0000-001012C30300',
  explorerB: 'B7C8D9E0-2000-6424-0000-0010A1B20100',
  appB: 'B7C8D9E0-2100-6424-0000-0010C3D40200',
};

function sysmon(id: number, eventId: number, minute: number, host: string, fields: Record<string, unknown>): StoryEvent {
  const time = T0 + minute * MINUTE;
  return {
    id,
    time,
    host,
    fields: {
      Provider_Name: 'Microsoft-Windows-Sysmon',
      EventID: eventId,
      Channel: SYSMON,
      Computer: host,
      UtcTime: new Date(time).toISOString(),
      ...fields,
    },
  };
}

/** Explorer starts the app, the app loads ffmpeg.dll, asks for raw.githubusercontent.com, connects, starts cmd.exe. */
const appStartA = sysmon(101, 1, 0, HOST_A, {
  ProcessGuid: GUID.appA,
  ProcessId: 4312,
  Image: APP,
  CommandLine: `"${APP}" --from-autorun`,
  User: 'CORP\\jdoe',
  ParentProcessGuid: GUID.explorerA,
  ParentProcessId: 3180,
  ParentImage: EXPLORER,
  ParentCommandLine: EXPLORER,
});
const dllLoadA = sysmon(102, 7, 1, HOST_A, {
  ProcessGuid: GUID.appA,
  ProcessId: 4312,
  Image: APP,
  ImageLoaded: FFMPEG,
  Hashes: FFMPEG_HASHES,
  Signed: 'false',
  User: 'CORP\\jdoe',
});
const dnsA = sysmon(103, 22, 2, HOST_A, {
  ProcessGuid: GUID.appA,
  ProcessId: 4312,
  Image: APP,
  QueryName: 'raw.githubusercontent.com',
  QueryStatus: '0',
  QueryResults: '::ffff:185.199.108.133;::ffff:185.199.109.133;',
  User: 'CORP\\jdoe',
});
const connectA = sysmon(104, 3, 2, HOST_A, {
  ProcessGuid: GUID.appA,
  ProcessId: 4312,
  Image: APP,
  User: 'CORP\\jdoe',
  Protocol: 'tcp',
  Initiated: true,
  SourceIp: '10.20.1.15',
  SourcePort: 50112,
  DestinationIp: '185.199.108.133',
  DestinationHostname: 'cdn-185-199-108-133.github.com',
  DestinationPort: 443,
});
const cmdStartA = sysmon(105, 1, 5, HOST_A, {
  ProcessGuid: GUID.cmdA,
  ProcessId: 6120,
  Image: CMD,
  CommandLine: 'cmd.exe /c whoami /all',
  User: 'CORP\\jdoe',
  ParentProcessGuid: GUID.appA,
  ParentProcessId: 4312,
  ParentImage: APP,
  ParentCommandLine: `"${APP}" --from-autorun`,
});
/** Twenty minutes later, another workstation: its own app process loads the same DLL and asks for the same domain. */
const appStartB = sysmon(201, 1, 20, HOST_B, {
  ProcessGuid: GUID.appB,
  ProcessId: 2208,
  Image: APP,
  CommandLine: `"${APP}"`,
  User: 'CORP\\asmith',
  ParentProcessGuid: GUID.explorerB,
  ParentProcessId: 1044,
  ParentImage: EXPLORER,
});
const dllLoadB = sysmon(202, 7, 21, HOST_B, {
  ProcessGuid: GUID.appB,
  ProcessId: 2208,
  Image: APP,
  ImageLoaded: FFMPEG,
  Hashes: FFMPEG_HASHES,
});
const dnsB = sysmon(203, 22, 22, HOST_B, {
  ProcessGuid: GUID.appB,
  ProcessId: 2208,
  Image: APP,
  QueryName: 'raw.githubusercontent.com',
  QueryResults: '::ffff:185.199.110.133;',
});

interface Rule {
  kind: string;
  ruleId: string;
  ruleTitle: string;
  level: string;
  tags: string[];
}

const IOC_FFMPEG: Rule = {
  kind: 'ioc',
  ruleId: 'ioc:sha256',
  ruleTitle: 'Known-bad file hash: 3CX ffmpeg.dll',
  level: 'high',
  tags: ['attack.initial_access', 'attack.t1195.002'],
};
const DNS_RAW_GITHUB: Rule = {
  kind: 'sigma',
  ruleId: 'dns-raw-github',
  ruleTitle: 'DNS Query To Raw GitHub From 3CXDesktopApp',
  level: 'medium',
  tags: ['attack.command_and_control', 'attack.t1071.004'],
};
const CONNECT_GITHUB: Rule = {
  kind: 'sigma',
  ruleId: 'net-3cx-github',
  ruleTitle: 'Network Connection To GitHub By 3CXDesktopApp',
  level: 'medium',
  tags: ['attack.command_and_control'],
};
const SHELL_CHILD: Rule = {
  kind: 'sigma',
  ruleId: 'proc-3cx-shell',
  ruleTitle: 'Shell Spawned By 3CXDesktopApp',
  level: 'high',
  tags: ['attack.execution', 'attack.t1059.003'],
};
const ENCODED_POWERSHELL: Rule = {
  kind: 'sigma',
  ruleId: 'proc-ps-encoded',
  ruleTitle: 'Suspicious Encoded PowerShell Command Line',
  level: 'high',
  tags: ['attack.execution'],
};

let alertIds = 0;
function alertOn(event: StoryEvent, rule: Rule): AlertFacts {
  return { id: ++alertIds, ...rule, timestamp: event.time, computer: event.host, fields: event.fields };
}

/** An alert on a process with nothing in common with any other. */
function standalone(host: string, minute: number, pid: number, rule: Rule = ENCODED_POWERSHELL): AlertFacts {
  const event = sysmon(9000 + pid, 1, minute, host, {
    ProcessGuid: `C0FFEE00-${String(pid).padStart(4, '0')}-6424-0000-001000000000`,
    ProcessId: pid,
    Image: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
    CommandLine: 'powershell -enc SQBFAFgA',
    User: `CORP\\user${pid}`,
    ParentProcessGuid: `C0FFEE00-${String(pid + 1).padStart(4, '0')}-6424-0000-001000000000`,
    ParentProcessId: pid + 1,
  });
  return alertOn(event, rule);
}

/** Assigns and, as the server does, stores new incidents under the next id and binds them. */
class Server {
  nextId = 1;
  constructor(readonly grouper: IncidentGrouper) {}

  assign(alert: AlertFacts): IncidentDecision & { incidentId: number } {
    const decision = this.grouper.assign(alert);
    if (decision.incidentId !== 'new') return { ...decision, incidentId: decision.incidentId };
    const id = this.nextId++;
    assert.equal(this.grouper.bind(decision.key, id), true);
    return { ...decision, incidentId: id };
  }
}

test('a 3CX-like intrusion on two hosts is one incident: lineage on the first, the DLL hash and the domain across', () => {
  const server = new Server(new IncidentGrouper({ windowMs: 2 * HOUR }));
  const steps = [
    { alert: alertOn(dllLoadA, IOC_FFMPEG), score: 30, severity: 'high' },
    { alert: alertOn(dnsA, DNS_RAW_GITHUB), score: 43, severity: 'high' },
    { alert: alertOn(connectA, CONNECT_GITHUB), score: 51, severity: 'high' },
    // A third tactic and a fourth rule: 30 + 8 + 8 + 20 + 2 × 5 = 76, past 70, so a step up.
    { alert: alertOn(cmdStartA, SHELL_CHILD), score: 76, severity: 'critical' },
    // The same IOC on a second host: no new rule, but the spread multiplies (×1.5) and caps at 100.
    { alert: alertOn(dllLoadB, IOC_FFMPEG), score: 100, severity: 'critical' },
    { alert: alertOn(dnsB, DNS_RAW_GITHUB), score: 100, severity: 'critical' },
  ];
  const decisions = steps.map((step) => {
    const decision = server.assign(step.alert);
    assert.equal(decision.record.score, step.score, `score after alert ${step.alert.id}`);
    assert.equal(decision.record.severity, step.severity, `severity after alert ${step.alert.id}`);
    return decision;
  });
  assert.deepEqual(new Set(decisions.map((d) => d.incidentId)), new Set([1]));
  const record = decisions.at(-1)!.record;
  assert.deepEqual(record.hosts, [HOST_A, HOST_B]);
  assert.equal(record.alertCount, 6);
  assert.equal(record.first, dllLoadA.time);
  assert.equal(record.last, dnsB.time);
  assert.equal(record.status, 'new');
  assert.equal(record.title, 'Known-bad file hash: 3CX ffmpeg.dll across 2 hosts (+3 more rules)');
  assert.deepEqual(record.grouping.tactics, ['Initial Access', 'Execution', 'Command and Control']);
  const keys = record.grouping.keys as string[];
  assert.ok(keys.includes(`h:${FFMPEG_SHA256}`));
  assert.ok(keys.includes('d:raw.githubusercontent.com'));
  assert.ok(keys.includes(`g:ws-hr-07.corp.example|${GUID.appB}`), 'the second host’s process joins the lineage');
  assert.equal(decisions[0]!.record.title, 'Known-bad file hash: 3CX ffmpeg.dll on WS-FIN-01.corp.example');
});

test('the storyline of the 3CX-like intrusion: who spawned, loaded, resolved and connected, on both hosts', () => {
  const story = buildStoryline([dnsB, appStartA, dllLoadA, dnsA, connectA, cmdStartA, appStartB, dllLoadB]);
  assert.equal(story.truncated, false);
  const module = `module:${FFMPEG_SHA256}`;
  const edges = story.edges.map((e) => `${e.from} ${e.type} ${e.to} [${e.eventIds.join(',')}]`);
  assert.deepEqual(
    edges.sort(),
    [
      `domain:raw.githubusercontent.com resolved ip:185.199.108.133 [103]`,
      `domain:raw.githubusercontent.com resolved ip:185.199.109.133 [103]`,
      `domain:raw.githubusercontent.com resolved ip:185.199.110.133 [203]`,
      `process:${GUID.appA} connected domain:cdn-185-199-108-133.github.com [104]`,
      `process:${GUID.appA} connected ip:185.199.108.133 [104]`,
      `process:${GUID.appA} loaded ${module} [102]`,
      `process:${GUID.appA} ran_as user:corp\\jdoe [101]`,
      `process:${GUID.appA} ran_on host:ws-fin-01.corp.example [101]`,
      `process:${GUID.appA} resolved domain:raw.githubusercontent.com [103]`,
      `process:${GUID.appA} spawned process:${GUID.cmdA} [105]`,
      `process:${GUID.appB} loaded ${module} [202]`,
      `process:${GUID.appB} ran_as user:corp\\asmith [201]`,
      `process:${GUID.appB} ran_on host:ws-hr-07.corp.example [201]`,
      `process:${GUID.appB} resolved domain:raw.githubusercontent.com [203]`,
      `process:${GUID.cmdA} ran_as user:corp\\jdoe [105]`,
      `process:${GUID.cmdA} ran_on host:ws-fin-01.corp.example [105]`,
      `process:${GUID.explorerA} ran_on host:ws-fin-01.corp.example [101]`,
      `process:${GUID.explorerA} spawned process:${GUID.appA} [101]`,
      `process:${GUID.explorerB} ran_on host:ws-hr-07.corp.example [201]`,
      `process:${GUID.explorerB} spawned process:${GUID.appB} [201]`,
    ].sort(),
  );
  const byId = new Map(story.nodes.map((n) => [n.id, n]));
  assert.deepEqual(byId.get(module), {
    id: module,
    type: 'module',
    label: 'ffmpeg.dll',
    first: dllLoadA.time,
    last: dllLoadB.time,
    props: { path: FFMPEG, hash: FFMPEG_SHA256 },
  });
  const app = byId.get(`process:${GUID.appA}`)!;
  assert.equal(app.label, '3CXDesktopApp.exe');
  assert.deepEqual(app.props, { image: APP, pid: 4312, guid: GUID.appA, commandLine: `"${APP}" --from-autorun`, host: HOST_A });
  assert.equal(app.first, appStartA.time);
  assert.equal(app.last, cmdStartA.time);
  const domain = byId.get('domain:raw.githubusercontent.com')!;
  assert.deepEqual([domain.first, domain.last], [dnsA.time, dnsB.time]);
  assert.deepEqual(
    story.nodes.map((n) => n.type).reduce((count, type) => count.set(type, (count.get(type) ?? 0) + 1), new Map<string, number>()),
    new Map([
      ['process', 5],
      ['host', 2],
      ['user', 2],
      ['module', 1],
      ['domain', 2],
      ['ip', 3],
    ]),
  );
});

test('unrelated alerts on two hosts are two incidents', () => {
  const server = new Server(new IncidentGrouper());
  const first = server.assign(standalone('WS-01', 0, 1200));
  const second = server.assign(standalone('WS-02', 1, 3400));
  assert.notEqual(first.incidentId, second.incidentId);
  assert.deepEqual(first.record.hosts, ['WS-01']);
  assert.deepEqual(second.record.hosts, ['WS-02']);
});

test('an unrelated alert joins its host’s only open incident, and opens its own when the host has two', () => {
  const server = new Server(new IncidentGrouper());
  const onA = server.assign(alertOn(appStartA, SHELL_CHILD));
  assert.equal(server.assign(standalone(HOST_A, 10, 5000)).incidentId, onA.incidentId, 'one incident on the host: joined');
  const onB = server.assign(alertOn(dllLoadB, IOC_FFMPEG));
  assert.notEqual(onB.incidentId, onA.incidentId);
  // Another process on host A loads the same DLL: related to B's incident by hash, which now spans A as well.
  const secondApp = sysmon(301, 7, 25, HOST_A, {
    ProcessGuid: 'A1B2C3D4-1300-6424-0000-0010AA000400',
    ProcessId: 9120,
    Image: APP,
    ImageLoaded: FFMPEG,
    Hashes: FFMPEG_HASHES,
  });
  const spread = server.assign(alertOn(secondApp, IOC_FFMPEG));
  assert.equal(spread.incidentId, onB.incidentId);
  assert.deepEqual(spread.record.hosts, [HOST_B, HOST_A]);
  const third = server.assign(standalone(HOST_A, 30, 7000));
  assert.notEqual(third.incidentId, onA.incidentId);
  assert.notEqual(third.incidentId, onB.incidentId);
});

test('alerts without a host join by indicator only', () => {
  const server = new Server(new IncidentGrouper());
  const dns = (minute: number, domain: string): AlertFacts =>
    alertOn(sysmon(500 + minute, 22, minute, '', { QueryName: domain, ProcessId: 4312 }), DNS_RAW_GITHUB);
  const hostless = (alert: AlertFacts): AlertFacts => ({ ...alert, computer: null });
  const first = server.assign(hostless(dns(0, 'raw.githubusercontent.com')));
  assert.equal(server.assign(hostless(dns(1, 'RAW.githubusercontent.com.'))).incidentId, first.incidentId);
  assert.notEqual(server.assign(hostless(dns(2, 'example.org'))).incidentId, first.incidentId);
  assert.deepEqual(first.record.hosts, []);
  assert.equal(first.record.title, 'DNS Query To Raw GitHub From 3CXDesktopApp');
});

test('past the window the same process opens a new incident; at its edge it joins', () => {
  const server = new Server(new IncidentGrouper({ windowMs: 2 * HOUR }));
  const first = server.assign(alertOn(dllLoadA, IOC_FFMPEG));
  const atEdge = { ...alertOn(dnsA, DNS_RAW_GITHUB), timestamp: dllLoadA.time + 2 * HOUR };
  assert.equal(server.assign(atEdge).incidentId, first.incidentId);
  const beyond = { ...alertOn(cmdStartA, SHELL_CHILD), timestamp: atEdge.timestamp + 2 * HOUR + 1 };
  const later = server.assign(beyond);
  assert.notEqual(later.incidentId, first.incidentId);
  assert.equal(later.record.alertCount, 1);
  assert.equal(server.grouper.size, 1, 'the expired incident left memory');
});

test('a resolved or false-positive incident is never joined again, and a reopened one is', () => {
  const server = new Server(new IncidentGrouper());
  const first = server.assign(alertOn(dllLoadA, IOC_FFMPEG));
  assert.deepEqual(server.grouper.update(first.incidentId, { ...first.record, status: 'resolved' }), []);
  const second = server.assign(alertOn(dnsA, DNS_RAW_GITHUB));
  assert.notEqual(second.incidentId, first.incidentId);
  assert.equal(second.record.alertCount, 1);
  server.grouper.update(second.incidentId, { ...second.record, status: 'false_positive' });
  const third = server.assign(alertOn(connectA, CONNECT_GITHUB));
  assert.deepEqual(new Set([first.incidentId, second.incidentId, third.incidentId]).size, 3);
  // An analyst reopens the first: it is joined again, its status and notes kept in the records handed out.
  const notes = [{ time: T0, author: 'alice', text: 'reopened: same DLL seen again' }];
  server.grouper.update(third.incidentId, { ...third.record, status: 'resolved' });
  server.grouper.update(first.incidentId, { ...first.record, status: 'investigating', notes });
  const rejoined = server.assign(alertOn(cmdStartA, SHELL_CHILD));
  assert.equal(rejoined.incidentId, first.incidentId);
  assert.equal(rejoined.record.status, 'investigating');
  assert.deepEqual(rejoined.record.notes, notes);
  assert.equal(rejoined.record.alertCount, 2);
});

test('after a restart, restored incidents keep joining (and closed ones stay closed)', () => {
  const before = new Server(new IncidentGrouper());
  before.assign(alertOn(dllLoadA, IOC_FFMPEG));
  const stored = before.assign(alertOn(dnsA, DNS_RAW_GITHUB));
  const other = before.assign(standalone('WS-77', 3, 8100));
  const resolvedRecord: IncidentRecord = { ...other.record, status: 'resolved' };
  // The store keeps records as JSON.
  const reread = (record: IncidentRecord): IncidentRecord => JSON.parse(JSON.stringify(record)) as IncidentRecord;

  const after = new Server(new IncidentGrouper());
  after.nextId = 10;
  const problems = after.grouper.restore([
    { id: stored.incidentId, record: reread(stored.record) },
    { id: other.incidentId, record: reread(resolvedRecord) },
  ]);
  assert.deepEqual(problems, []);
  assert.equal(after.grouper.size, 1);
  const joined = after.assign(alertOn(cmdStartA, SHELL_CHILD));
  assert.equal(joined.incidentId, stored.incidentId, 'joined by the app’s ProcessGuid, kept in the grouping document');
  assert.equal(joined.record.alertCount, 3);
  assert.equal(joined.record.score, 30 + 8 + 20 + 2 * 5);
  const again = after.assign(alertOn(dllLoadA, IOC_FFMPEG));
  assert.equal(again.record.score, joined.record.score, 'a rule already counted before the restart adds nothing');
  assert.equal(after.assign(standalone('WS-77', 4, 8100)).incidentId, 10, 'the resolved incident was not restored');
});

test('restore reports damaged records and grouping parts and keeps the rest', () => {
  const grouper = new IncidentGrouper();
  const good = grouper.assign(alertOn(dllLoadA, IOC_FFMPEG)).record;
  const fresh = new IncidentGrouper();
  const problems = fresh.restore([
    { id: 1, record: { ...good, status: 'closed' as IncidentRecord['status'] } },
    { id: 2, record: { ...good, grouping: { ...good.grouping, keys: 'h:abc', rules: [{ kind: 'ioc' }] } } },
    { id: 3, record: { ...good, hosts: ['WS-09'], grouping: { version: 99 } } },
  ]);
  assert.deepEqual(problems, [
    'incident 1: status "closed" is not an incident status; not restored',
    'incident 2: grouping.keys is not a list of text',
    'incident 2: grouping.rules[0] is not a rule tally (kind, id, title, level, alerts)',
    'incident 3: grouping is not a version 1 grouping document; the incident joins alerts by host only',
  ]);
  assert.equal(fresh.size, 2);
  const joined = fresh.assign(alertOn(dnsA, DNS_RAW_GITHUB));
  assert.equal(joined.incidentId, 2, 'host A’s only open incident, though its keys were lost');
  assert.equal(joined.record.alertCount, 2);
  assert.equal(fresh.assign(standalone('WS-09', 1, 4400)).incidentId, 3);
});

test('new incidents: one key until bound, then the id; binding is checked', () => {
  const grouper = new IncidentGrouper();
  const first = grouper.assign(alertOn(dllLoadA, IOC_FFMPEG));
  const second = grouper.assign(alertOn(dnsA, DNS_RAW_GITHUB));
  assert.equal(first.incidentId, 'new');
  assert.equal(second.incidentId, 'new', 'not stored yet: still new, under the same key');
  assert.equal(second.key, first.key);
  assert.equal(second.record.alertCount, 2);
  assert.equal(first.record.alertCount, 1, 'a decision’s record is its own copy');
  assert.equal(grouper.bind(first.key, 41), true);
  assert.equal(grouper.bind(first.key, 41), true, 'binding again to the same id is harmless');
  assert.throws(() => grouper.bind(first.key, 42), /already bound to id 41/);
  const other = grouper.assign(standalone('WS-50', 1, 6600));
  assert.throws(() => grouper.bind(other.key, 41), /id 41 is already bound/);
  assert.equal(grouper.bind('incident-999', 43), false);
  const third = grouper.assign(alertOn(cmdStartA, SHELL_CHILD));
  assert.deepEqual([third.incidentId, third.key], [41, first.key]);
});

test('memory stays bounded: keys per incident and incidents in memory are capped', () => {
  const grouper = new IncidentGrouper({ maxIncidents: 2 });
  let last: IncidentDecision | undefined;
  for (let i = 0; i < MAX_INCIDENT_KEYS + 50; i++) {
    const event = sysmon(i, 3, i / 100, 'WS-FLOOD', { ProcessId: 4312, DestinationIp: `10.${i >> 8}.${i & 255}.9`, Image: APP });
    last = grouper.assign(alertOn(event, CONNECT_GITHUB));
  }
  assert.equal(last!.record.alertCount, MAX_INCIDENT_KEYS + 50);
  assert.equal((last!.record.grouping.keys as string[]).length, MAX_INCIDENT_KEYS);

  const first = grouper.assign(alertOn(appStartA, SHELL_CHILD));
  grouper.assign(alertOn(appStartB, SHELL_CHILD));
  assert.equal(grouper.size, 2, 'the flood host’s incident, least recently active, left');
  grouper.assign(standalone('WS-03', 2, 9100));
  assert.equal(grouper.size, 2);
  assert.notEqual(grouper.assign(alertOn(cmdStartA, SHELL_CHILD)).key, first.key, 'host A’s incident had left memory');
});

test('an alert with no time is refused by name', () => {
  const grouper = new IncidentGrouper();
  assert.throws(
    () => grouper.assign({ ...alertOn(dnsA, DNS_RAW_GITHUB), id: 77, timestamp: Number.NaN }),
    /alert 77: timestamp NaN is not a time/,
  );
  assert.throws(() => new IncidentGrouper({ windowMs: 0 }), /windowMs must be a positive number/);
});

test('relations: what links alerts and what is too common to', () => {
  const keys = (host: string | null, fields: Record<string, unknown>): string[] => {
    const r = relationsOf({
      id: 1,
      kind: 'sigma',
      ruleId: 'r',
      ruleTitle: 'r',
      level: 'low',
      timestamp: T0,
      computer: host,
      tags: [],
      fields,
    });
    return [...r.lineage, ...r.indicators, ...r.written.map((k) => `written ${k}`)];
  };
  assert.deepEqual(keys('WS1', { Hashes: FFMPEG_HASHES }), [
    'h:bf939c9c261d27ee7bb92325cc588624fca75429',
    'h:74bc2d0b6680faa1a5a76b27e5479cbc',
    `h:${FFMPEG_SHA256}`,
  ]);
  // Security 4688: hex PIDs, the creator's account; the System process and SYSTEM account say nothing.
  assert.deepEqual(
    keys('WS1', { NewProcessId: '0x1a2c', ProcessId: '0x4', SubjectDomainName: 'CORP', SubjectUserName: 'alice', NewProcessName: CMD }),
    ['p:ws1|6700', 'u:ws1|corp\\alice', `written f:ws1|${CMD.toLowerCase()}`],
  );
  assert.deepEqual(keys('WS1', { User: 'NT AUTHORITY\\SYSTEM', DestinationIp: '127.0.0.1', QueryName: 'wpad' }), []);
  assert.deepEqual(keys('WS1', { DestinationIp: '::ffff:10.0.0.5', TargetFilename: 'C:\\Temp\\a.exe' }), [
    'i:10.0.0.5',
    'f:ws1|c:\\temp\\a.exe',
  ]);
  assert.deepEqual(keys(null, { ProcessGuid: GUID.appA, DestinationHostname: 'evil.example.' }), ['d:evil.example']);
  // auditd: pid/ppid, the login user (not the unset auid).
  assert.deepEqual(keys('web-01', { _source: 'auditd', pid: '901', ppid: '900', auid: '4294967295', exe: '/usr/bin/curl' }), [
    'p:web-01|901',
    'p:web-01|900',
    'written f:web-01|/usr/bin/curl',
  ]);
  assert.deepEqual(keys('web-01', { AUID: 'alice', pid: 'x'.repeat(2000) }), ['u:web-01|alice']);
});
