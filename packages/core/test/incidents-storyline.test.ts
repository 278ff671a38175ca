/** Storylines: edge dedup, truncation, Security 4688 and auditd process creation, a real Sysmon log; incident timelines. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sharedPath, sharedSkip } from '@firebreak/testkit';
import { buildStoryline, incidentTimeline, readEventFile, type StoryEvent } from '../src/index.js';

const SYSMON = 'Microsoft-Windows-Sysmon/Operational';
const T0 = Date.UTC(2024, 4, 1, 10, 0, 0);
const APP_GUID = '5E1F0A22-7C10-6632-4A01-000000002B00';

function event(id: number, second: number, fields: Record<string, unknown>, host = 'WS1'): StoryEvent {
  return { id, time: T0 + second * 1000, host, fields: { Computer: host, ...fields } };
}

const connect = (id: number, second: number, ip: string): StoryEvent =>
  event(id, second, {
    Channel: SYSMON,
    EventID: 3,
    ProcessGuid: APP_GUID,
    ProcessId: 812,
    Image: 'C:\\Tools\\beacon.exe',
    DestinationIp: ip,
    DestinationHostname: '-',
  });

test('the same from, to and type is one edge listing every event, in time order', () => {
  const story = buildStoryline([connect(9, 30, '203.0.113.7'), connect(4, 10, '203.0.113.7'), connect(6, 20, '198.51.100.2')]);
  const edges = story.edges.filter((e) => e.type === 'connected');
  assert.deepEqual(
    edges.map((e) => [e.to, e.time, e.eventIds]),
    [
      ['ip:203.0.113.7', T0 + 10_000, [4, 9]],
      ['ip:198.51.100.2', T0 + 20_000, [6]],
    ],
  );
  const ip = story.nodes.find((n) => n.id === 'ip:203.0.113.7')!;
  assert.deepEqual([ip.first, ip.last], [T0 + 10_000, T0 + 30_000]);
  assert.equal(story.nodes.filter((n) => n.type === 'domain').length, 0, 'Sysmon writes - for an unknown host name');
});

test('past maxNodes the earliest events are kept and the storyline says it was truncated', () => {
  const events = Array.from({ length: 20 }, (_, i) => connect(i + 1, i, `203.0.113.${i + 1}`));
  const story = buildStoryline(events, { maxNodes: 4 });
  assert.equal(story.truncated, true);
  assert.deepEqual(
    story.nodes.map((n) => n.id),
    [`process:${APP_GUID}`, 'host:ws1', 'ip:203.0.113.1', 'ip:203.0.113.2'],
  );
  assert.equal(story.edges.length, 3);
  const ids = new Set(story.nodes.map((n) => n.id));
  for (const edge of story.edges) assert.ok(ids.has(edge.from) && ids.has(edge.to), `${edge.from} → ${edge.to} has both ends`);
  assert.equal(buildStoryline(events, { maxNodes: 30 }).truncated, false);
  assert.equal(buildStoryline(events, { maxNodes: 30, maxEdges: 5 }).edges.length, 5);
  assert.throws(() => buildStoryline(events, { maxNodes: Number.NaN }), /maxNodes must be a whole number ≥ 0, not NaN/);
});

test('Security 4688: hex PIDs, the parent by name, the new process’s account', () => {
  const story = buildStoryline([
    event(1, 0, {
      Channel: 'Security',
      EventID: 4688,
      NewProcessId: '0x1a2c',
      NewProcessName: 'C:\\Windows\\System32\\whoami.exe',
      ProcessId: '0x3e8',
      ParentProcessName: 'C:\\Windows\\System32\\cmd.exe',
      CommandLine: 'whoami /priv',
      SubjectDomainName: 'CORP',
      SubjectUserName: 'alice',
      TargetUserName: '-',
    }),
  ]);
  const parent = 'process:ws1|1000|c:\\windows\\system32\\cmd.exe';
  const child = 'process:ws1|6700|c:\\windows\\system32\\whoami.exe';
  assert.deepEqual(
    story.edges.map((e) => `${e.from} ${e.type} ${e.to}`),
    [`${parent} ran_on host:ws1`, `${child} ran_on host:ws1`, `${parent} spawned ${child}`, `${child} ran_as user:corp\\alice`],
  );
  assert.deepEqual(story.nodes.find((n) => n.id === child)!.props, {
    image: 'C:\\Windows\\System32\\whoami.exe',
    pid: 6700,
    commandLine: 'whoami /priv',
    host: 'WS1',
  });
});

test('auditd execve: a parent known by PID alone is the process last seen with it', () => {
  const execve = (id: number, pid: string, ppid: string, exe: string): StoryEvent =>
    event(
      id,
      id,
      { _source: 'auditd', type: ['SYSCALL', 'EXECVE', 'CWD', 'PATH', 'PROCTITLE'], pid, ppid, exe, proctitle: exe, UID: 'root' },
      'web-01',
    );
  const story = buildStoryline([execve(1, '900', '850', '/usr/bin/bash'), execve(2, '901', '900', '/usr/bin/curl')]);
  const spawned = story.edges.filter((e) => e.type === 'spawned').map((e) => `${e.from} → ${e.to}`);
  assert.deepEqual(spawned, [
    'process:web-01|850| → process:web-01|900|/usr/bin/bash',
    'process:web-01|900|/usr/bin/bash → process:web-01|901|/usr/bin/curl',
  ]);
  assert.equal(story.nodes.find((n) => n.id === 'process:web-01|850|')!.label, 'PID 850');
  assert.ok(
    story.edges.some((e) => e.type === 'ran_as' && e.to === 'user:web-01|root'),
    'root is a local account',
  );
});

test('events that tell no process story add nothing', () => {
  const story = buildStoryline([
    event(1, 0, { Channel: 'Security', EventID: 4624, TargetUserName: 'alice' }),
    event(2, 1, { Channel: SYSMON, EventID: 13, ProcessGuid: APP_GUID, TargetObject: 'HKLM\\Software\\Run' }),
  ]);
  assert.deepEqual(story, { nodes: [], edges: [], truncated: false });
});

const WMIC_LOG = 'evtx-attack-samples/Execution/exec_wmic_xsl_internet_sysmon_3_1_11.evtx';

test('a real Sysmon log: WMIC fetches an XSL over the internet and starts cmd.exe', { skip: sharedSkip(WMIC_LOG) }, async () => {
  const events: StoryEvent[] = [];
  for await (const e of readEventFile(sharedPath(WMIC_LOG))) {
    assert.ok(e.timestamp !== undefined, `${e.origin} has a time`);
    events.push({ id: events.length + 1, time: e.timestamp, host: e.host ?? null, fields: e.plainFields() });
  }
  const story = buildStoryline(events);
  assert.equal(story.truncated, false);
  const wmic = 'process:365ABB72-CF01-5CE6-0000-00105DA50C00';
  const from = (id: string): string[] =>
    story.edges.filter((e) => e.from === id).map((e) => `${e.type} ${story.nodes.find((n) => n.id === e.to)!.label}`);
  assert.deepEqual(from(wmic).sort(), [
    'connected 105.73.6.105',
    'connected 45-76-12-27.static.afterburst.com',
    'connected 45.76.12.27',
    'connected aka105.inwitelecom.net',
    'loaded msxml3.dll',
    'ran_as IEWIN7\\IEUser',
    'ran_on IEWIN7',
    'spawned cmd.exe',
    'wrote x50IGVBRfr55_test[1].xsl',
  ]);
  const parent = story.edges.find((e) => e.type === 'spawned' && e.to === wmic)!;
  assert.equal(story.nodes.find((n) => n.id === parent.from)!.props.image, 'C:\\Windows\\System32\\cmd.exe');
  assert.ok(
    story.nodes.some((n) => n.id === 'user:iewin7|iewin7\\ieuser'),
    'an account of the host’s own realm is local',
  );
  for (const edge of story.edges)
    for (const id of edge.eventIds) assert.ok(id >= 1 && id <= events.length, `edge ${edge.from} → ${edge.to} cites a real event`);
});

test('an incident timeline merges events and alerts by time, an event before the alert it raised', () => {
  const events = [
    { id: 3, time: 300 },
    { id: 1, time: 100 },
    { id: 2, time: 100 },
  ];
  const alerts = [
    { id: 11, timestamp: 200 },
    { id: 10, timestamp: 100 },
  ];
  const order = incidentTimeline(events, alerts).map((entry) =>
    'event' in entry ? `e${entry.event.id}@${entry.time}` : `a${entry.alert.id}@${entry.time}`,
  );
  assert.deepEqual(order, ['e1@100', 'e2@100', 'a10@100', 'a11@200', 'e3@300']);
});
