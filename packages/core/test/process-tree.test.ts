/** Process trees: hand-made events for each linking rule, and known parent → child links in real logs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { objectEvent } from '@firebreak/sigma';
import { sharedPath, sharedSkip } from '@firebreak/testkit';
import {
  FirebreakEvent,
  InputReader,
  ProcessTreeBuilder,
  baseName,
  lineage,
  parsePid,
  processRefOf,
  walkTrees,
  type ProcessForest,
  type ProcessNode,
} from '../src/index.js';

const SYSMON = 'Microsoft-Windows-Sysmon/Operational';
let recordNumber = 0;

function event(channel: string, eventId: number, time: string, fields: Record<string, unknown>, host = 'WS1'): FirebreakEvent {
  const origin = `made:${++recordNumber}`;
  const all = { Channel: channel, EventID: eventId, Computer: host, TimeCreated_SystemTime: `2024-05-01T10:${time}Z`, ...fields };
  return new FirebreakEvent(objectEvent(all), { file: 'made', format: 'json', origin }, () => all);
}

const sysmonStart = (
  time: string,
  guid: string,
  pid: number,
  image: string,
  parent: { guid?: string; pid?: number; image?: string; commandLine?: string },
) =>
  event(SYSMON, 1, time, {
    ProcessGuid: guid,
    ProcessId: pid,
    Image: image,
    CommandLine: `"${image}" /run`,
    User: 'CORP\\alice',
    ParentProcessGuid: parent.guid ?? '00000000-0000-0000-0000-000000000000',
    ParentProcessId: parent.pid,
    ParentImage: parent.image,
    ParentCommandLine: parent.commandLine,
  });

const securityStart = (time: string, pid: string, image: string, parentPid: string, parentImage?: string, host?: string) =>
  event(
    'Security',
    4688,
    time,
    {
      NewProcessId: pid,
      NewProcessName: image,
      ProcessId: parentPid,
      ParentProcessName: parentImage,
      SubjectUserName: 'alice',
      SubjectDomainName: 'CORP',
      CommandLine: '',
    },
    host,
  );

const securityEnd = (time: string, pid: string, image: string) => event('Security', 4689, time, { ProcessId: pid, ProcessName: image });

function forestOf(events: FirebreakEvent[]): ProcessForest {
  const builder = new ProcessTreeBuilder();
  for (const e of events) builder.add(e);
  return builder.build();
}

function only(forest: ProcessForest, selector: { pid?: number; guid?: string; host?: string }): ProcessNode {
  const found = forest.find(selector);
  assert.equal(found.length, 1, `one process for ${JSON.stringify(selector)}, got ${found.length}`);
  return found[0]!;
}

const name = (node: ProcessNode | undefined): string | undefined => (node?.image === undefined ? undefined : baseName(node.image));

test('PIDs are read as numbers from decimal and Security hex strings', () => {
  assert.equal(parsePid('0x1f4'), 500);
  assert.equal(parsePid('0X1F4'), 500);
  assert.equal(parsePid('500'), 500);
  assert.equal(parsePid(500), 500);
  assert.equal(parsePid('0x'), undefined);
  assert.equal(parsePid('12ab'), undefined);
  assert.equal(parsePid('-'), undefined);
  assert.equal(parsePid(-1), undefined);
});

test('Sysmon: children hang from their parent by process GUID (any case, braces or not), even when the PID says otherwise', () => {
  const forest = forestOf([
    sysmonStart('00:01', 'AAAAAAAA-0000-0000-0000-000000000001', 100, 'C:\\Windows\\explorer.exe', { pid: 4 }),
    sysmonStart('00:02', 'AAAAAAAA-0000-0000-0000-000000000002', 200, 'C:\\Windows\\System32\\cmd.exe', {
      guid: '{aaaaaaaa-0000-0000-0000-000000000001}',
      pid: 100,
    }),
    // Another process holds PID 300; the GUID names the real parent (cmd.exe, PID 200).
    sysmonStart('00:03', 'AAAAAAAA-0000-0000-0000-000000000003', 300, 'C:\\Windows\\System32\\notepad.exe', {}),
    sysmonStart('00:04', 'AAAAAAAA-0000-0000-0000-000000000004', 400, 'C:\\Windows\\System32\\whoami.exe', {
      guid: 'AAAAAAAA-0000-0000-0000-000000000002',
      pid: 300,
    }),
  ]);
  const whoami = only(forest, { pid: 400 });
  assert.equal(name(whoami.parent), 'cmd.exe');
  assert.equal(name(whoami.parent?.parent), 'explorer.exe');
  assert.equal(whoami.user, 'CORP\\alice');
  assert.equal(whoami.commandLine, '"C:\\Windows\\System32\\whoami.exe" /run');
  assert.equal(only(forest, { pid: 300 }).parent, undefined, 'no parent named at all: a root');
});

test('a parent whose creation was not read is a placeholder with what its children say, shared by siblings', () => {
  const parent = {
    guid: 'BBBBBBBB-0000-0000-0000-000000000001',
    pid: 700,
    image: 'C:\\Windows\\System32\\svchost.exe',
    commandLine: 'svchost.exe -k netsvcs',
  };
  const forest = forestOf([
    sysmonStart('00:01', 'BBBBBBBB-0000-0000-0000-000000000002', 701, 'C:\\a.exe', parent),
    sysmonStart('00:02', 'BBBBBBBB-0000-0000-0000-000000000003', 702, 'C:\\b.exe', parent),
    securityStart('00:03', '0x2c0', 'C:\\c.exe', '0x2bf', 'C:\\Windows\\System32\\services.exe'),
    securityStart('00:04', '0x2c1', 'C:\\d.exe', '0x2bf', 'C:\\Windows\\System32\\services.exe'),
  ]);
  const svchost = only(forest, { guid: parent.guid });
  assert.equal(svchost.placeholder, true);
  assert.deepEqual([svchost.pid, svchost.image, svchost.commandLine, svchost.start], [700, parent.image, parent.commandLine, undefined]);
  assert.deepEqual(svchost.children.map(name), ['a.exe', 'b.exe']);
  const services = only(forest, { pid: 0x2bf });
  assert.equal(services.placeholder, true);
  assert.equal(name(services), 'services.exe');
  assert.deepEqual(services.children.map(name), ['c.exe', 'd.exe']);
  assert.deepEqual(
    forest.trees()[0]!.roots.map((r) => r.id),
    [svchost.id, services.id],
    'roots in time order',
  );
});

test('Security: hex PIDs link within the parent lifetime; a PID is reused after 4689 or a new creation', () => {
  const forest = forestOf([
    securityStart('00:00', '0x100', 'C:\\first.exe', '0x4'),
    securityStart('00:01', '0x101', 'C:\\child-of-first.exe', '0x100'),
    securityEnd('00:02', '0x100', 'C:\\first.exe'),
    securityStart('00:03', '0x102', 'C:\\orphan.exe', '0x100'),
    securityStart('00:04', '0x100', 'C:\\second.exe', '0x4'),
    securityStart('00:05', '0x103', 'C:\\child-of-second.exe', '0x100'),
    // No termination of 0x200 is logged: its reuse by a new creation ends the first holder.
    securityStart('00:06', '0x200', 'C:\\third.exe', '0x4'),
    securityStart('00:07', '0x201', 'C:\\child-of-third.exe', '0x200'),
    securityStart('00:08', '0x200', 'C:\\fourth.exe', '0x4'),
    securityStart('00:09', '0x202', 'C:\\child-of-fourth.exe', '0x200'),
  ]);
  const parentOf = (image: string): string | undefined => name(forest.nodes.find((n) => name(n) === image)?.parent);
  assert.equal(parentOf('child-of-first.exe'), 'first.exe');
  assert.equal(parentOf('child-of-second.exe'), 'second.exe');
  assert.equal(parentOf('child-of-third.exe'), 'third.exe');
  assert.equal(parentOf('child-of-fourth.exe'), 'fourth.exe');
  const orphanParent = forest.nodes.find((n) => name(n) === 'orphan.exe')!.parent!;
  assert.equal(orphanParent.placeholder, true, 'PID 0x100 was free: its holder then is unknown');
  assert.equal(orphanParent.pid, 0x100);
  const first = forest.nodes.find((n) => name(n) === 'first.exe')!;
  assert.equal(first.end, Date.parse('2024-05-01T10:00:02Z'));
  assert.equal(first.parent, forest.nodes.find((n) => name(n) === 'second.exe')!.parent, 'both children of the one placeholder 0x4');

  // Which process produced an event at a given time, by PID.
  const at = (time: string) => forest.processOf({ host: 'ws1', pid: 0x100, time: Date.parse(`2024-05-01T10:${time}Z`) });
  assert.equal(name(at('00:01')), 'first.exe');
  assert.equal(at('00:03'), orphanParent);
  assert.equal(name(at('00:04')), 'second.exe');
  assert.equal(name(forest.processOf({ host: 'WS1', pid: 0x200, time: Date.parse('2024-05-01T10:00:07Z') })), 'third.exe');
});

test('the same PID on two hosts is two processes', () => {
  const forest = forestOf([
    securityStart('00:00', '0x100', 'C:\\a.exe', '0x4', undefined, 'WS1'),
    securityStart('00:00', '0x100', 'C:\\b.exe', '0x4', undefined, 'WS2'),
    securityStart('00:01', '0x101', 'C:\\child.exe', '0x100', undefined, 'ws2'),
  ]);
  assert.equal(name(only(forest, { pid: 0x101 }).parent), 'b.exe');
  assert.deepEqual(
    forest.trees().map((t) => t.host),
    ['WS1', 'WS2'],
  );
});

test('Sysmon and Security records of one creation become one process; a record read twice is one process', () => {
  const guid = 'CCCCCCCC-0000-0000-0000-000000000001';
  const sysmon = sysmonStart('00:01.012', guid, 0x21a4, '\\\\server\\share\\tool.exe', {
    guid: 'CCCCCCCC-0000-0000-0000-000000000000',
    pid: 0x2480,
    image: 'C:\\Windows\\System32\\cmd.exe',
  });
  const forest = forestOf([
    securityStart('00:01', '0x21a4', '\\Device\\Mup\\server\\share\\tool.exe', '0x2480', 'C:\\Windows\\System32\\cmd.exe'),
    sysmon,
    sysmon,
    // A later Sysmon child of cmd.exe names it by GUID: it finds the process the Security record made.
    sysmonStart('00:02', 'CCCCCCCC-0000-0000-0000-000000000002', 0x3000, 'C:\\x.exe', {
      guid: 'CCCCCCCC-0000-0000-0000-000000000000',
      pid: 0x2480,
    }),
  ]);
  const tool = only(forest, { pid: 0x21a4 });
  assert.deepEqual(tool.sources, ['security', 'sysmon']);
  assert.equal(tool.guid, guid);
  assert.equal(tool.image, '\\\\server\\share\\tool.exe', "Sysmon's path");
  assert.equal(tool.commandLine, '"\\\\server\\share\\tool.exe" /run');
  assert.equal(tool.origins.length, 3);
  const cmd = tool.parent!;
  assert.equal(cmd.placeholder, true);
  assert.equal(cmd.guid, 'CCCCCCCC-0000-0000-0000-000000000000');
  assert.deepEqual(cmd.children.map(name), ['tool.exe', 'x.exe']);
  assert.equal(forest.nodes.length, 3);
});

test('the result does not depend on the order events are added in; bad links cannot make loops', () => {
  const events = [
    securityStart('00:00', '0x10', 'C:\\a.exe', '0x4'),
    securityStart('00:01', '0x11', 'C:\\b.exe', '0x10'),
    securityStart('00:02', '0x12', 'C:\\c.exe', '0x11'),
    // A creation naming itself as parent, by GUID and by PID.
    sysmonStart('00:03', 'DDDDDDDD-0000-0000-0000-000000000001', 0x13, 'C:\\self.exe', {
      guid: 'DDDDDDDD-0000-0000-0000-000000000001',
      pid: 0x13,
    }),
  ];
  const links = (forest: ProcessForest): string[] =>
    forest.nodes.map((n) => `${name(n) ?? n.pid}<-${name(n.parent) ?? n.parent?.pid ?? ''}`).sort();
  const forward = forestOf(events);
  assert.deepEqual(links(forward), links(forestOf([...events].reverse())));
  const self = only(forward, { pid: 0x13 });
  assert.equal(self.parent, undefined, 'a record naming itself as parent names no parent');
  const walked = [...walkTrees(forward.trees()[0]!.roots)];
  assert.equal(walked.length, forward.nodes.length, 'every process once');
});

test('lineage is the ancestors and descendants; the walk goes depth first with each branch marked', () => {
  const forest = forestOf([
    securityStart('00:00', '0x10', 'C:\\root.exe', '0x4'),
    securityStart('00:01', '0x11', 'C:\\mid.exe', '0x10'),
    securityStart('00:02', '0x12', 'C:\\leaf1.exe', '0x11'),
    securityStart('00:03', '0x13', 'C:\\leaf2.exe', '0x11'),
    securityStart('00:04', '0x14', 'C:\\sibling.exe', '0x10'),
  ]);
  const family = lineage([only(forest, { pid: 0x11 })]);
  assert.deepEqual(
    [...forest.nodes].filter((n) => family.has(n)).map((n) => name(n) ?? n.pid),
    [4, 'root.exe', 'mid.exe', 'leaf1.exe', 'leaf2.exe'],
  );
  const steps = [...walkTrees(forest.trees()[0]!.roots)].map((s) => `${s.depth}${s.last ? 'L' : ''} ${name(s.node) ?? s.node.pid}`);
  assert.deepEqual(steps, ['0L 4', '1L root.exe', '2 mid.exe', '3 leaf1.exe', '3L leaf2.exe', '2L sibling.exe']);
});

test('events are attributed to the process that produced them', () => {
  const guid = 'EEEEEEEE-0000-0000-0000-000000000001';
  const start = sysmonStart('00:00', guid, 900, 'C:\\tool.exe', { pid: 4 });
  const network = event(SYSMON, 3, '00:01', { ProcessGuid: guid, ProcessId: 900, Image: 'C:\\tool.exe', DestinationIp: '10.0.0.1' });
  const access = event(SYSMON, 10, '00:02', {
    SourceProcessGUID: `{${guid.toLowerCase()}}`,
    SourceProcessId: 900,
    TargetImage: 'lsass.exe',
  });
  // Security names the same process in hex: 0x384 is 900.
  const logon = event('Security', 4648, '00:03', { ProcessId: '0x384', TargetUserName: 'bob' });
  const other = event('Security', 4648, '00:03', { ProcessId: '0x385', TargetUserName: 'bob' });
  const forest = forestOf([start, network, access, logon, other]);
  const tool = only(forest, { pid: 900 });
  assert.equal(forest.processOf(processRefOf(network)!), tool);
  assert.equal(forest.processOf(processRefOf(access)!), tool);
  assert.equal(forest.processOf(processRefOf(logon)!), tool);
  assert.equal(forest.processOf(processRefOf(other)!), undefined);
});

// ---- Real logs ------------------------------------------------------------------------------

const SAMPLES = 'evtx-attack-samples';

async function forestOfFiles(...files: string[]): Promise<ProcessForest> {
  const builder = new ProcessTreeBuilder();
  const reader = new InputReader(
    files.map((f) => sharedPath(`${SAMPLES}/${f}`)),
    { onProblem: () => {}, onFileError: (file, message) => assert.fail(`${file}: ${message}`) },
  );
  for await (const e of reader.events()) builder.add(e);
  return builder.build();
}

const children = (node: ProcessNode): string[] => node.children.map((c) => `${name(c)}:${c.pid}`);

test('Security 4688 (hex PIDs): the session start-up chains of an RDP tunnel log', { skip: sharedSkip(SAMPLES) }, async () => {
  const forest = await forestOfFiles('Command and Control/DE_RDP_Tunnel_5156.evtx');
  assert.equal(forest.nodes.filter((n) => !n.placeholder).length, 17, 'one process per 4688');
  const smssParent = only(forest, { pid: 0x124 });
  assert.equal(smssParent.placeholder, true);
  assert.deepEqual(children(smssParent), [`smss.exe:${0x38c}`, `smss.exe:${0x62c}`]);
  const smss = only(forest, { pid: 0x38c });
  assert.deepEqual(children(smss), [`csrss.exe:${0x9d4}`, `winlogon.exe:${0x4b8}`]);
  assert.deepEqual(children(only(forest, { pid: 0x4b8 })), [`LogonUI.exe:${0xc70}`]);
  assert.deepEqual(children(only(forest, { pid: 0x62c })), [`csrss.exe:${0xadc}`, `winlogon.exe:${0x768}`]);
  assert.deepEqual(children(only(forest, { pid: 0x768 })), [`LogonUI.exe:${0xce0}`]);
  const placeholder278 = only(forest, { pid: 0x278 });
  assert.deepEqual(children(placeholder278), [
    `TSTheme.exe:${0x1fc}`,
    `slui.exe:${0xa38}`,
    `rundll32.exe:${0x410}`,
    `TSTheme.exe:${0x9fc}`,
  ]);
  assert.equal(only(forest, { pid: 0xcfc }).user, 'EXAMPLE\\user01');
});

test('Sysmon 1/5: GUID links and terminations in an RDP tunnelling log', { skip: sharedSkip(SAMPLES) }, async () => {
  const forest = await forestOfFiles('Command and Control/DE_sysmon-3-rdp-tun.evtx');
  const sessionManager = only(forest, { guid: '365ABB72-5517-5C68-0000-0010732A0000' });
  assert.equal(sessionManager.placeholder, true);
  assert.deepEqual([sessionManager.pid, name(sessionManager)], [292, 'smss.exe']);
  assert.deepEqual(children(sessionManager), ['smss.exe:3444', 'smss.exe:3064']);
  const smss = only(forest, { pid: 3444 });
  assert.equal(smss.guid, '365ABB72-E014-5C67-0000-0010FCA01500');
  assert.deepEqual(children(smss), ['csrss.exe:3344', 'winlogon.exe:2516']);
  assert.equal(smss.end, Date.parse('2019-02-16T10:04:04.221Z'));
  assert.deepEqual(children(only(forest, { pid: 2516 })), ['LogonUI.exe:3780']);
  assert.equal(only(forest, { pid: 3780 }).end, Date.parse('2019-02-16T10:05:06.200Z'));
  const plink = only(forest, { pid: 2312 });
  assert.deepEqual([name(plink.parent), plink.parent?.pid, plink.parent?.placeholder], ['cmd.exe', 3904, true]);
  assert.match(plink.commandLine!, /-R 127\.0\.0\.3:4444:127\.0\.0\.2:3389/);
});

test('Sysmon: a UAC bypass tool and the elevated shells under consent.exe', { skip: sharedSkip(SAMPLES) }, async () => {
  const forest = await forestOfFiles('Privilege Escalation/Sysmon_UACME_22.evtx');
  const uacme = only(forest, { pid: 5336 });
  assert.equal(name(uacme), 'UACME.exe');
  assert.deepEqual(children(uacme), ['eventvwr.exe:4604', 'eventvwr.exe:4964']);
  assert.equal(uacme.end, Date.parse('2019-08-03T12:08:25.165Z'));
  assert.deepEqual(children(only(forest, { pid: 4740 })), ['WerFault.exe:6388', 'cmd.exe:6000']);
  assert.deepEqual(children(only(forest, { pid: 7564 })), ['WerFault.exe:7324', 'cmd.exe:4192']);
  const svchost = only(forest, { pid: 896 });
  assert.equal(svchost.placeholder, true);
  assert.deepEqual(new Set(svchost.children.map(name)), new Set(['consent.exe']));
  assert.equal(svchost.children.length, 7);
});

test(
  'Sysmon and Security in one log: each creation once, with the GUID and the fuller command line',
  { skip: sharedSkip(SAMPLES) },
  async () => {
    const forest = await forestOfFiles('Credential Access/tutto_malseclogon.evtx');
    const first = only(forest, { pid: 8612 });
    assert.deepEqual(first.sources, ['security', 'sysmon']);
    assert.equal(first.guid, '747F3D96-9ACD-61AF-D301-000000000102');
    assert.equal(first.commandLine, 'MalSeclogon.exe  -p 636 -d 2');
    assert.deepEqual([name(first.parent), first.parent?.pid, first.parent?.placeholder], ['cmd.exe', 9344, true]);
    const second = only(forest, { pid: 6072 });
    assert.deepEqual([name(second.parent), second.parent?.pid], ['lsass.exe', 636]);
    assert.deepEqual(children(second), [`conhost.exe:${0x11e4}`]);
    assert.equal(forest.find({ pid: 6072 }).length, 1);
  },
);
