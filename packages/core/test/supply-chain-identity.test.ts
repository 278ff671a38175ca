/**
 * Application identity and attribution: which application an event belongs to, read from the
 * process creation that started its process, and the behaviour each event adds to that application.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  appIdentity,
  appKey,
  dnsAnswers,
  DriftDetector,
  folderPattern,
  isLocalAddress,
  isLocalName,
  moduleWhat,
  ProcessTable,
} from '../src/index.js';

const SYSMON = 'Microsoft-Windows-Sysmon/Operational';
const T0 = Date.UTC(2023, 2, 1, 9);
const HOST = 'WS-0001.acme.local';
const APP_FOLDER = 'C:\\Users\\jdoe\\AppData\\Local\\Programs\\3CXDesktopApp\\app';
const APP_IMAGE = `${APP_FOLDER}\\3CXDesktopApp.exe`;
const CHROME = 'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe';
const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);
const THREECX = appKey('3CX Ltd', '3CX Desktop App');

function sysmon(eventId: number, time: number, fields: Record<string, unknown>) {
  return { host: HOST, time, fields: { EventID: eventId, Channel: SYSMON, Computer: HOST, ...fields } };
}

function processStart(time: number, guid: string, image: string, extra: Record<string, unknown> = {}) {
  return sysmon(1, time, { ProcessGuid: guid, ProcessId: 4000, Image: image, ...extra });
}

const threeCx = (version: string) => ({ Company: '3CX Ltd', Product: '3CX Desktop App', FileVersion: version, Hashes: `SHA256=${HASH_A}` });

test('appKey is vendor|product, lower-case', () => {
  assert.equal(appKey(' 3CX Ltd', '3CX Desktop App '), '3cx ltd|3cx desktop app');
});

test('identity from a process creation: version resources, build lab cut, OS programs and unversioned executables apart', () => {
  const app = appIdentity(APP_IMAGE, { ...threeCx('18.12.407.0'), Description: '3CX Desktop App' });
  assert.deepEqual(app, {
    key: THREECX,
    vendor: '3CX Ltd',
    product: '3CX Desktop App',
    version: '18.12.407.0',
    image: APP_IMAGE,
    sha256: HASH_A,
    description: '3CX Desktop App',
  });
  const explorer = appIdentity('C:\\Windows\\explorer.exe', {
    Company: 'Microsoft Corporation',
    Product: 'Microsoft® Windows® Operating System',
    FileVersion: '10.0.19041.2728 (WinBuild.160101.0800)',
  });
  assert.equal(explorer?.key, 'microsoft corporation|explorer.exe');
  assert.equal(explorer?.version, '10.0.19041.2728');
  // Sysmon writes `?` and `-` where a file has no version resource; the Linux agent has none at all.
  const tool = appIdentity('C:\\Tools\\tool.exe', { Company: '?', Product: '-', FileVersion: '?', Hashes: `MD5=00,SHA256=${HASH_B}` });
  assert.equal(tool?.key, 'unknown|tool.exe');
  assert.equal(tool?.version, `sha256:${HASH_B.slice(0, 12)}`);
  assert.equal(appIdentity('/usr/bin/curl', {})?.version, 'unknown');
  assert.equal(appIdentity(null, threeCx('1')), null);
});

test('image loads, DNS and connections are attributed through ProcessGuid, to the version that process runs', () => {
  const detector = new DriftDetector();
  // Two 3CX processes on one host, an old one still running next to the updated one, and Chrome.
  detector.observe(processStart(T0, '{11111111-0000-0000-0000-000000000001}', APP_IMAGE, threeCx('18.12.407.0')));
  detector.observe(processStart(T0 + 1000, '{11111111-0000-0000-0000-000000000002}', APP_IMAGE, threeCx('18.12.410.0')));
  detector.observe(
    processStart(T0 + 2000, '{11111111-0000-0000-0000-000000000003}', CHROME, {
      Company: 'Google LLC',
      Product: 'Google Chrome',
      FileVersion: '110.0',
    }),
  );
  const old = { ProcessGuid: '{11111111-0000-0000-0000-000000000001}', Image: APP_IMAGE };
  detector.observe(
    sysmon(7, T0 + 3000, {
      ...old,
      ImageLoaded: `${APP_FOLDER}\\ffmpeg.dll`,
      Hashes: `SHA256=${HASH_B}`,
      Signed: 'true',
      Signature: '3CX Ltd',
      SignatureStatus: 'Valid',
    }),
  );
  detector.observe(sysmon(22, T0 + 4000, { ...old, QueryName: 'acme.3cx.eu', QueryResults: '::ffff:198.51.100.20;' }));
  // A connection names only the address: the lookup before it names the destination.
  detector.observe(
    sysmon(3, T0 + 5000, { ...old, DestinationIp: '198.51.100.20', DestinationHostname: '-', DestinationPort: 5001, Initiated: 'true' }),
  );
  // The new process, by its own GUID (an uppercase GUID without braces is the same GUID).
  detector.observe(
    sysmon(22, T0 + 6000, { ProcessGuid: '11111111-0000-0000-0000-000000000002', Image: APP_IMAGE, QueryName: 'downloads-global.3cx.com' }),
  );
  // Chrome's lookup, though its Image field says 3CX: the GUID decides.
  detector.observe(
    sysmon(22, T0 + 7000, { ProcessGuid: '{11111111-0000-0000-0000-000000000003}', Image: APP_IMAGE, QueryName: 'www.example.com' }),
  );
  // An inbound connection is nobody's destination.
  detector.observe(sysmon(3, T0 + 8000, { ...old, DestinationIp: '192.0.2.9', DestinationPort: 443, Initiated: 'false' }));

  const baselines = detector.baselines;
  assert.deepEqual(baselines.lookup(THREECX, 'module', moduleWhat('ffmpeg.dll', HASH_B))?.versions, ['18.12.407.0']);
  const pbx = baselines.get(THREECX)!.behavior('destination', 'acme.3cx.eu')!;
  assert.deepEqual([pbx.hosts.size, pbx.ports, pbx.versions], [1, [5001], [0]]);
  assert.deepEqual(baselines.lookup(THREECX, 'destination', 'downloads-global.3cx.com')?.versions, ['18.12.410.0']);
  assert.equal(baselines.lookup(THREECX, 'destination', 'www.example.com')?.known, false);
  assert.equal(baselines.lookup(appKey('Google LLC', 'Google Chrome'), 'destination', 'www.example.com')?.known, true);
  assert.equal(baselines.lookup(THREECX, 'destination', '192.0.2.9')?.known, false);
  assert.deepEqual(baselines.get(THREECX)!.signers, ['3CX Ltd']);
});

test('a process creation is the child of the application that started it', () => {
  const detector = new DriftDetector();
  detector.observe(processStart(T0, '{22222222-0000-0000-0000-000000000001}', APP_IMAGE, threeCx('18.12.407.0')));
  detector.observe(
    processStart(T0 + 1000, '{22222222-0000-0000-0000-000000000002}', 'C:\\Windows\\System32\\cmd.exe', {
      ParentProcessGuid: '{22222222-0000-0000-0000-000000000001}',
      ParentImage: APP_IMAGE,
    }),
  );
  // A parent whose start was not seen, known only by the image path last started on the host.
  detector.observe(
    processStart(T0 + 2000, '{22222222-0000-0000-0000-000000000003}', 'C:\\Windows\\System32\\whoami.exe', {
      ParentProcessGuid: '{22222222-0000-0000-0000-0000000000FF}',
      ParentImage: APP_IMAGE.toUpperCase(),
    }),
  );
  const app = detector.baselines.get(THREECX)!;
  assert.deepEqual(
    [...app.behaviors.values()].filter((b) => b.kind === 'child').map((b) => b.what),
    ['cmd.exe', 'whoami.exe'],
  );
  assert.equal(detector.baselines.get('microsoft corporation|cmd.exe'), undefined, 'cmd.exe here has no version resources');
  assert.ok(detector.baselines.get('unknown|cmd.exe'));
});

test('an image load of the executable itself identifies a process whose start was not seen', () => {
  const detector = new DriftDetector();
  const guid = '{33333333-0000-0000-0000-000000000001}';
  // A library load from a process nobody saw start, and no image to go by: attributed to nothing.
  detector.observe(sysmon(7, T0, { ProcessGuid: guid, ImageLoaded: `${APP_FOLDER}\\libEGL.dll`, Hashes: `SHA256=${HASH_B}` }));
  assert.equal(detector.baselines.size, 0);
  detector.observe(
    sysmon(7, T0 + 1000, {
      ProcessGuid: guid,
      Image: APP_IMAGE,
      ImageLoaded: APP_IMAGE,
      ...threeCx('18.12.407.0'),
      Signed: 'true',
      Signature: '3CX Ltd',
      SignatureStatus: 'Valid',
    }),
  );
  detector.observe(
    sysmon(7, T0 + 2000, { ProcessGuid: guid, Image: APP_IMAGE, ImageLoaded: `${APP_FOLDER}\\libEGL.dll`, Hashes: `SHA256=${HASH_B}` }),
  );
  const app = detector.baselines.get(THREECX)!;
  assert.deepEqual(
    app.versions.map((v) => v.name),
    ['18.12.407.0'],
  );
  assert.deepEqual([...app.modules.keys()], ['3cxdesktopapp.exe', 'libegl.dll']);
  assert.deepEqual(app.signers, ['3CX Ltd']);
});

test('the Linux agent: processes by host and PID, their connections and files outside their folder', () => {
  const detector = new DriftDetector();
  const agent = (kind: string, time: number, fields: Record<string, unknown>) => ({
    host: 'web-01',
    time,
    fields: { _source: 'firebreak-agent', _kind: kind, Computer: 'web-01', '@timestamp': new Date(time).toISOString(), ...fields },
  });
  detector.observe(
    agent('process_creation', T0, { Image: '/opt/app/bin/server', ProcessId: 812, ParentProcessId: 1, Hashes: `SHA256=${HASH_A}` }),
  );
  detector.observe(
    agent('process_creation', T0 + 10, {
      Image: '/usr/bin/curl',
      ProcessId: 900,
      ParentProcessId: 812,
      ParentImage: '/opt/app/bin/server',
    }),
  );
  detector.observe(
    agent('network_connection', T0 + 20, {
      Image: '/opt/app/bin/server',
      ProcessId: 812,
      DestinationIp: '203.0.113.5',
      DestinationPort: 443,
    }),
  );
  detector.observe(agent('file_event', T0 + 30, { Image: '/opt/app/bin/server', ProcessId: 812, TargetFilename: '/opt/app/bin/cache.db' }));
  detector.observe(
    agent('file_event', T0 + 40, { Image: '/opt/app/bin/server', ProcessId: 812, TargetFilename: '/home/deploy/.config/app/state.json' }),
  );
  // The same PID on another host is another process.
  detector.observe({
    ...agent('network_connection', T0 + 50, { ProcessId: 812, DestinationIp: '203.0.113.99', DestinationPort: 443 }),
    host: 'web-02',
  });
  const app = detector.baselines.get('unknown|server')!;
  assert.deepEqual(
    app.versions.map((v) => v.name),
    [`sha256:${HASH_A.slice(0, 12)}`],
  );
  assert.deepEqual(
    [...app.behaviors.values()].map((b) => `${b.kind} ${b.what}`),
    ['child curl', 'destination 203.0.113.5', 'file /home/*/.config/app'],
  );
});

test('events that are not Sysmon or agent events, or lack a host or time, are left alone', () => {
  const detector = new DriftDetector();
  const start = processStart(T0, '{44444444-0000-0000-0000-000000000001}', APP_IMAGE, threeCx('1'));
  assert.deepEqual(detector.observe({ ...start, fields: { ...start.fields, Channel: 'Security' } }), []);
  assert.deepEqual(detector.observe({ ...start, host: '' }), []);
  assert.deepEqual(detector.observe({ ...start, time: Number.NaN }), []);
  assert.equal(detector.baselines.size, 0);
  // The store's header may carry the channel and event id instead of the fields.
  const bare = { ProcessGuid: '{44444444-0000-0000-0000-000000000001}', Image: APP_IMAGE, ...threeCx('1') };
  detector.observe({ host: HOST, time: T0, fields: bare, channel: SYSMON, eventId: 1 });
  assert.equal(detector.baselines.size, 1);
});

test('the process table keeps a bounded number of processes, least recently active out first', () => {
  const table = new ProcessTable<string>(3);
  for (let pid = 1; pid <= 5; pid++) table.remember(0, { pid }, `p${pid}`);
  assert.equal(table.size, 3);
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((pid) => table.find(0, { pid }) ?? null),
    [null, null, 'p3', 'p4', 'p5'],
  );
  table.find(0, { pid: 3 });
  table.remember(0, { pid: 6 }, 'p6');
  assert.deepEqual(
    [3, 4, 6].map((pid) => table.find(0, { pid }) ?? null),
    ['p3', null, 'p6'],
  );
  assert.equal(table.find(1, { pid: 3 }), undefined, 'another host');
  const json = JSON.parse(JSON.stringify(table.toJSON()));
  assert.equal(ProcessTable.fromJSON<string>(json, 3).find(0, { pid: 6 }), 'p6');
});

test('file folders as patterns every host shares', () => {
  const cases: [string, string | null][] = [
    ['C:\\Users\\jdoe\\AppData\\Roaming\\3CXDesktopApp\\Logs\\app-2023-03-01.log', 'c:\\users\\*\\appdata\\roaming\\3cxdesktopapp\\logs'],
    [
      'C:\\Users\\msmith\\AppData\\Local\\Temp\\{8A2F0C11-5D2B-4F7E-9C3A-1B2C3D4E5F60}\\x.tmp',
      'c:\\users\\*\\appdata\\local\\temp\\{guid}',
    ],
    ['C:\\ProgramData\\App\\cache\\0123456789abcdef0123\\blob', 'c:\\programdata\\app\\cache\\<hex>'],
    ['C:\\ProgramData\\App\\v18.12.416\\x.dll', 'c:\\programdata\\app\\v#.#.#'],
    ['/home/deploy/.cache/tool/file', '/home/*/.cache/tool'],
    ['C:\\a\\b\\c\\d\\e\\f\\g\\h\\i\\j\\file', 'c:\\a\\b\\c\\d\\e\\f\\g\\…'],
    ['file.txt', null],
  ];
  for (const [path, pattern] of cases) assert.equal(folderPattern(path), pattern, path);
});

test('local and internet destinations', () => {
  for (const ip of [
    '10.1.2.3',
    '172.20.0.1',
    '192.168.1.1',
    '127.0.0.1',
    '169.254.1.1',
    '100.64.0.1',
    '224.0.0.251',
    '::1',
    'fe80::1',
    'fd00::1',
  ])
    assert.equal(isLocalAddress(ip), true, ip);
  for (const ip of ['8.8.8.8', '172.32.0.1', '203.0.113.5', '2001:db8::1']) assert.equal(isLocalAddress(ip), false, ip);
  assert.equal(isLocalName('pbx.acme.local', []), true);
  assert.equal(isLocalName('intranet.acme.com', ['10.0.0.5']), true);
  assert.equal(isLocalName('acme.3cx.eu', ['198.51.100.20', '10.0.0.5']), false);
  assert.deepEqual(dnsAnswers('type:  5 cdn.example.net;::ffff:185.199.108.133;2606:50c0:8000::154;'), [
    '185.199.108.133',
    '2606:50c0:8000::154',
  ]);
});
