/**
 * Sysmon-shaped telemetry of a fleet of Windows workstations over weeks, for the behaviour-drift
 * tests and bench: the 3CX supply-chain compromise of March 2023 at fleet scale.
 *
 * Every host runs the 3CX Desktop App (3CX Ltd), Google Chrome and Outlook, started by explorer.exe
 * each morning. For `baselineDays` they do what they always do: 3CX loads its own DLLs signed by
 * 3CX Ltd, registers with the company's PBX, checks its update server, starts its GPU helper and
 * writes its log; Chrome resolves popular sites and, now and then, a site nobody visited before;
 * Outlook talks to Microsoft 365 and saves attachments to random cache folders. Along the way,
 * ordinary change: a Chrome update (day 10), a Windows patch (day 14: new explorer.exe version, new
 * ntdll/kernel32 hashes in every process), a few hosts where Outlook does something new once.
 *
 * Then 3CX's legitimate update 18.12.407 → 18.12.410 rolls out to every host (new FileVersion, new
 * hashes of its signed DLLs, same destinations), and a week later the trojanized 18.12.416 reaches a
 * subset of hosts: its ffmpeg.dll has a hash no host had and no signature; hours later the app
 * resolves raw.githubusercontent.com, fetches from it, then resolves and connects to a fresh domain.
 *
 * Deterministic: one seeded generator, drawn in a fixed order; events come out in event-time order,
 * one day at a time (the fleet's days are never all in memory). Each event carries ground truth the
 * detector never reads: whether it is part of the trojan's malicious behaviour.
 */
import { createHash } from 'node:crypto';
import { seededRandom } from './random.js';

export const SYSMON_CHANNEL = 'Microsoft-Windows-Sysmon/Operational';
export const VENDOR = '3CX Ltd';
export const PRODUCT = '3CX Desktop App';
export const VERSIONS = { baseline: '18.12.407.0', legit: '18.12.410.0', trojan: '18.12.416.0' } as const;
/** Published SHA-256 of the trojanized 3CX 18.12.416 files (every other hash here is made up). */
export const TROJAN_SHA256 = {
  exe: 'FAD482DED2E25CE9E1DD3D3ECC3227AF714BDFBBDE04347DBC1B21D6A3670405',
  ffmpeg: '7986BBAEE8940DA11CE089383521AB420C443AB7B15ED42AED91FD31CE833896',
};
export const GITHUB_RAW = { name: 'raw.githubusercontent.com', ips: ['185.199.108.133', '185.199.109.133', '185.199.110.133'] };
/** Fresh domains on documentation addresses (RFC 5737), as the actor's were. */
export const C2_DOMAINS = [
  { name: 'akamaicontainer.com', ip: '203.0.113.47' },
  { name: 'msstorageazure.com', ip: '203.0.113.89' },
  { name: 'azureonlinecloud.com', ip: '203.0.113.121' },
];

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;

export interface TelemetryOptions {
  /** Hosts in the fleet (default 200). */
  hosts?: number;
  /** Hosts the trojanized update reaches (default 12). */
  trojanHosts?: number;
  seed?: number;
  /** Event time of the first day's midnight (default 2023-02-20). */
  start?: number;
  /** Days before the legitimate update starts rolling out (default 21). */
  baselineDays?: number;
  /** Days the legitimate update takes to reach every host (default 3). */
  updateDays?: number;
  /** Day the trojanized update ships (default baselineDays + 7); it reaches its hosts over trojanDays. */
  trojanDay?: number;
  trojanDays?: number;
  /** Days in all (default: two after the trojan's last host). */
  days?: number;
}

export interface TelemetryEvent {
  host: string;
  time: number;
  fields: Record<string, unknown>;
  /** Ground truth: part of the trojan's malicious behaviour (its unsigned module, its fetches, its C2). */
  malicious: boolean;
}

export interface SupplyChainScenario {
  hosts: string[];
  trojanHosts: string[];
  /** Hosts where an ordinary application does one new, harmless thing after learning. */
  noveltyHosts: string[];
  start: number;
  end: number;
  /** When each host moves to the legitimate update, and (trojan hosts) to the trojanized one. */
  legitUpdateAt: Map<string, number>;
  trojanAt: Map<string, number>;
  events(): Generator<TelemetryEvent>;
}

/** A made-up but stable SHA-256 of a file at a version. */
function fakeHash(file: string, version: string): string {
  return createHash('sha256').update(`firebreak-telemetry:${file.toLowerCase()}:${version}`).digest('hex').toUpperCase();
}

const sysmonUtc = (time: number): string => new Date(time).toISOString().replace('T', ' ').slice(0, 23);

type Signature = [signed: 'true' | 'false', signature: string, status: string];
const SIGNED_3CX: Signature = ['true', '3CX Ltd', 'Valid'];
const SIGNED_GOOGLE: Signature = ['true', 'Google LLC', 'Valid'];
const SIGNED_MICROSOFT: Signature = ['true', 'Microsoft Corporation', 'Valid'];
const SIGNED_WINDOWS: Signature = ['true', 'Microsoft Windows', 'Valid'];
const UNSIGNED: Signature = ['false', '-', 'Unavailable'];

const PBX = { name: 'acme.3cx.eu', ip: '198.51.100.20' };
const UPDATES = { name: 'downloads-global.3cx.com', ip: '198.51.100.31' };
const M365 = [
  { name: 'outlook.office365.com', ip: '52.97.146.162' },
  { name: 'login.microsoftonline.com', ip: '20.190.160.20' },
];
const CHROME_VERSIONS = ['110.0.5481.178', '110.0.5481.180'];
const EXPLORER_VERSIONS = ['10.0.19041.2728', '10.0.19041.2788'];
const OUTLOOK_VERSION = '16.0.16026.20146';
const OFFICE = 'C:\\Program Files\\Microsoft Office\\root\\Office16';
const CHROME_FOLDER = 'C:\\Program Files\\Google\\Chrome\\Application';
const WORDS = [
  'news',
  'shop',
  'travel',
  'recipes',
  'sports',
  'weather',
  'blog',
  'forum',
  'cloud',
  'music',
  'games',
  'maps',
  'docs',
  'photo',
];
const TLDS = ['com', 'net', 'org', 'io', 'de', 'fr', 'co.uk'];
/** The sites everyone visits, most popular first (Zipf-like draws). */
const POPULAR = Array.from(
  { length: 120 },
  (_, i) => `${WORDS[i % WORDS.length]}${Math.floor(i / WORDS.length) || ''}.example-${TLDS[i % TLDS.length]}.com`,
);

interface Host {
  name: string;
  index: number;
  user: string;
  profile: string;
  ip: string;
  tag: string;
  nextPid: number;
  nextPort: number;
  legitAt: number;
  trojanAt: number | null;
  patchAt: number;
  chromeUpdateAt: number;
  novelty: 'child' | 'destination' | null;
}

interface Proc {
  host: Host;
  guid: string;
  pid: number;
  image: string;
  commandLine: string;
}

/** A scenario with its options filled in; events() streams it from the start each time it is called. */
export function supplyChainScenario(options: TelemetryOptions = {}): SupplyChainScenario {
  const hostCount = options.hosts ?? 200;
  const trojanCount = Math.min(options.trojanHosts ?? 12, hostCount);
  const seed = options.seed ?? 0x3c3c2023;
  const start = options.start ?? Date.UTC(2023, 1, 20);
  const baselineDays = options.baselineDays ?? 21;
  const updateDays = options.updateDays ?? 3;
  const trojanDay = options.trojanDay ?? baselineDays + 7;
  const trojanDays = options.trojanDays ?? 2;
  const days = options.days ?? trojanDay + trojanDays + 2;

  const random = seededRandom(seed);
  const between = (low: number, high: number): number => low + random() * (high - low);
  const hosts: Host[] = [];
  for (let i = 0; i < hostCount; i++) {
    const name = `WS-${String(i + 1).padStart(4, '0')}.acme.local`;
    const user = `user${String(i + 1).padStart(4, '0')}`;
    hosts.push({
      name,
      index: i,
      user,
      profile: `C:\\Users\\${user}`,
      ip: `10.20.${1 + Math.floor(i / 250)}.${10 + (i % 250)}`,
      tag: createHash('sha256').update(name).digest('hex').slice(0, 8).toUpperCase(),
      nextPid: 4000 + Math.floor(random() * 2000) * 4,
      nextPort: 49700 + Math.floor(random() * 500),
      legitAt: start + Math.floor(between(baselineDays, baselineDays + updateDays) * DAY),
      trojanAt: null,
      patchAt: start + Math.floor(between(14, 16) * DAY),
      chromeUpdateAt: start + Math.floor(between(10, 12) * DAY),
      novelty: null,
    });
  }
  // The trojan's hosts and the harmless-novelty hosts: drawn without replacement, in a fixed order.
  const order = hosts.map((h) => h.index);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (const index of order.slice(0, trojanCount))
    hosts[index]!.trojanAt = start + Math.floor((trojanDay + random() * trojanDays) * DAY) + 9 * HOUR;
  const noveltyIndexes = order.slice(trojanCount, trojanCount + 5);
  noveltyIndexes.forEach((index, n) => (hosts[index]!.novelty = n < 3 ? 'child' : 'destination'));

  const sorted = (list: Host[]): string[] => list.map((h) => h.name).sort();
  return {
    hosts: hosts.map((h) => h.name),
    trojanHosts: sorted(hosts.filter((h) => h.trojanAt !== null)),
    noveltyHosts: sorted(noveltyIndexes.map((i) => hosts[i]!)),
    start,
    end: start + days * DAY,
    legitUpdateAt: new Map(hosts.map((h) => [h.name, h.legitAt])),
    trojanAt: new Map(hosts.filter((h) => h.trojanAt !== null).map((h) => [h.name, h.trojanAt!])),
    events: () => streamEvents(hosts, start, days, baselineDays, seed),
  };
}

function* streamEvents(hosts: Host[], start: number, days: number, baselineDays: number, seed: number): Generator<TelemetryEvent> {
  const random = seededRandom(seed ^ 0x5eed);
  for (let day = 0; day < days; day++) {
    const events: TelemetryEvent[] = [];
    const dayStart = start + day * DAY;
    for (const host of hosts) hostDay(host, dayStart, day, baselineDays, random, events);
    events.sort((a, b) => a.time - b.time);
    yield* events;
  }
}

/** One working day of one host. */
function hostDay(host: Host, dayStart: number, day: number, baselineDays: number, random: () => number, out: TelemetryEvent[]): void {
  const between = (low: number, high: number): number => low + random() * (high - low);
  const emit = (time: number, eventId: number, proc: Proc, data: Record<string, unknown>, malicious = false): void => {
    out.push({
      host: host.name,
      time,
      malicious,
      fields: {
        EventID: eventId,
        Channel: SYSMON_CHANNEL,
        Computer: host.name,
        RuleName: '-',
        UtcTime: sysmonUtc(time),
        ProcessGuid: proc.guid,
        ProcessId: proc.pid,
        Image: proc.image,
        User: `ACME\\${host.user}`,
        ...data,
      },
    });
  };

  const newProc = (time: number, image: string, commandLine: string): Proc => {
    host.nextPid += 4 * (1 + Math.floor(random() * 60));
    const seconds = Math.floor(time / 1000);
    const hex = (n: number, width: number): string => n.toString(16).toUpperCase().padStart(width, '0').slice(-width);
    const tail = Array.from({ length: 12 }, () => hex(Math.floor(random() * 16), 1)).join('');
    return {
      host,
      guid: `{${host.tag}-${hex(seconds & 0xffff, 4)}-${hex(seconds >>> 16, 4)}-${hex(Math.floor(random() * 0xffff), 4)}-${tail}}`,
      pid: host.nextPid,
      image,
      commandLine,
    };
  };

  const start = (time: number, parent: Proc | null, image: string, commandLine: string, info: VersionInfo): Proc => {
    const proc = newProc(time, image, commandLine);
    emit(time, 1, proc, {
      FileVersion: info.version,
      Description: info.description,
      Product: info.product,
      Company: info.company,
      OriginalFileName: image.slice(image.lastIndexOf('\\') + 1),
      CommandLine: commandLine,
      CurrentDirectory: `${host.profile}\\`,
      IntegrityLevel: 'Medium',
      Hashes: `SHA256=${info.sha256}`,
      ParentProcessGuid: parent?.guid ?? `{${host.tag}-0000-0000-0000-000000000001}`,
      ParentProcessId: parent?.pid ?? 1234,
      ParentImage: parent?.image ?? 'C:\\Windows\\System32\\userinit.exe',
      ParentCommandLine: parent?.commandLine ?? 'C:\\Windows\\system32\\userinit.exe',
    });
    return proc;
  };

  const load = (
    time: number,
    proc: Proc,
    path: string,
    sha256: string,
    [signed, signature, status]: Signature,
    malicious = false,
  ): void => {
    emit(
      time,
      7,
      proc,
      {
        ImageLoaded: path,
        FileVersion: '-',
        Description: '-',
        Product: '-',
        Company: '-',
        Hashes: `SHA256=${sha256}`,
        Signed: signed,
        Signature: signature,
        SignatureStatus: status,
      },
      malicious,
    );
  };

  const resolve = (time: number, proc: Proc, name: string, ips: readonly string[], malicious = false): void => {
    emit(time, 22, proc, { QueryName: name, QueryStatus: '0', QueryResults: ips.map((ip) => `::ffff:${ip};`).join('') }, malicious);
  };

  const connect = (time: number, proc: Proc, ip: string, port: number, protocol = 'tcp', malicious = false): void => {
    host.nextPort = host.nextPort >= 65000 ? 49700 : host.nextPort + 1 + Math.floor(random() * 9);
    emit(
      time,
      3,
      proc,
      {
        Protocol: protocol,
        Initiated: 'true',
        SourceIsIpv6: 'false',
        SourceIp: host.ip,
        SourceHostname: host.name,
        SourcePort: host.nextPort,
        DestinationIsIpv6: 'false',
        DestinationIp: ip,
        DestinationHostname: '-',
        DestinationPort: port,
      },
      malicious,
    );
  };

  const createFile = (time: number, proc: Proc, path: string): void => {
    emit(time, 11, proc, { TargetFilename: path, CreationUtcTime: sysmonUtc(time) });
  };

  const morning = dayStart + 8 * HOUR + Math.floor(between(0, 90) * MINUTE);
  const evening = dayStart + 18 * HOUR;
  const patched = morning >= host.patchAt;
  const windowsBuild = EXPLORER_VERSIONS[patched ? 1 : 0]!;
  const systemDlls = (time: number, proc: Proc): void => {
    for (const dll of ['ntdll.dll', 'kernel32.dll'])
      load(time, proc, `C:\\Windows\\System32\\${dll}`, fakeHash(dll, windowsBuild), SIGNED_WINDOWS);
  };

  // explorer.exe: one of the operating system's programs, so an application of its own.
  const explorer = start(morning, null, 'C:\\Windows\\explorer.exe', 'C:\\Windows\\Explorer.EXE', {
    version: `${windowsBuild} (WinBuild.160101.0800)`,
    description: 'Windows Explorer',
    product: 'Microsoft® Windows® Operating System',
    company: 'Microsoft Corporation',
    sha256: fakeHash('explorer.exe', windowsBuild),
  });
  systemDlls(morning + 150, explorer);

  // 3CX: every morning, and again when an update (legitimate or not) installs.
  const launches: number[] = [morning + Math.floor(between(1, 5) * MINUTE)];
  for (const at of [host.legitAt, host.trojanAt]) if (at !== null && at >= dayStart && at < dayStart + DAY) launches.push(at);
  launches.sort((a, b) => a - b);
  for (const [n, at] of launches.entries()) {
    const until = n + 1 < launches.length ? launches[n + 1]! : evening;
    run3cx(at, until);
  }

  function run3cx(at: number, until: number): void {
    const trojan = host.trojanAt !== null && at >= host.trojanAt;
    const version = trojan ? VERSIONS.trojan : at >= host.legitAt ? VERSIONS.legit : VERSIONS.baseline;
    const folder = `${host.profile}\\AppData\\Local\\Programs\\3CXDesktopApp\\app`;
    const image = `${folder}\\3CXDesktopApp.exe`;
    const exeHash = trojan ? TROJAN_SHA256.exe : fakeHash('3cxdesktopapp.exe', version);
    const app = start(at, explorer, image, `"${image}" `, {
      version,
      description: '3CX Desktop App',
      product: PRODUCT,
      company: VENDOR,
      sha256: exeHash,
    });
    let t = at + 200;
    const step = (): number => (t += 20 + Math.floor(random() * 60));
    load(step(), app, image, exeHash, SIGNED_3CX);
    load(step(), app, `${folder}\\libEGL.dll`, fakeHash('libegl.dll', version), SIGNED_3CX);
    // The trojanized build shipped an ffmpeg.dll of its own: no host had its hash, and it carries no signature.
    if (trojan) load(step(), app, `${folder}\\ffmpeg.dll`, TROJAN_SHA256.ffmpeg, UNSIGNED, true);
    else load(step(), app, `${folder}\\ffmpeg.dll`, fakeHash('ffmpeg.dll', version), SIGNED_3CX);
    load(step(), app, `${folder}\\libGLESv2.dll`, fakeHash('libglesv2.dll', version), SIGNED_3CX);
    // d3dcompiler_47.dll changes only in 18.12.416 (payload appended, Microsoft's signature still valid).
    load(step(), app, `${folder}\\d3dcompiler_47.dll`, fakeHash('d3dcompiler_47.dll', trojan ? 'trojan' : 'stock'), SIGNED_MICROSOFT);
    systemDlls(step(), app);
    const gpu = start(step(), app, image, `"${image}" --type=gpu-process --field-trial-handle=1736`, {
      version,
      description: '3CX Desktop App',
      product: PRODUCT,
      company: VENDOR,
      sha256: exeHash,
    });
    load(step(), gpu, image, exeHash, SIGNED_3CX);
    resolve(step(), app, UPDATES.name, [UPDATES.ip]);
    connect(step(), app, UPDATES.ip, 443);
    createFile(step(), app, `${host.profile}\\AppData\\Roaming\\3CXDesktopApp\\Logs\\3CXDesktopApp-${sysmonUtc(at).slice(0, 10)}.log`);
    createFile(step(), app, `${folder}\\resources\\app-update.yml`);
    // Registers with the PBX every couple of hours.
    for (let r = step(); r < until; r += Math.floor(between(90, 150) * MINUTE)) {
      resolve(r, app, PBX.name, [PBX.ip]);
      connect(r + 80, app, PBX.ip, 5001);
      connect(r + 160, app, PBX.ip, 5060, 'udp');
    }
    if (trojan) beacon(app, at + Math.floor(between(60, 180) * MINUTE), until);
  }

  /** The payload: an icon file from GitHub hides the C2 address; then check-ins about once an hour. */
  function beacon(app: Proc, from: number, until: number): void {
    if (from >= until) return;
    const github = GITHUB_RAW.ips[Math.floor(random() * GITHUB_RAW.ips.length)]!;
    resolve(from, app, GITHUB_RAW.name, GITHUB_RAW.ips, true);
    connect(from + 120, app, github, 443, 'tcp', true);
    const c2 = C2_DOMAINS[Math.floor(random() * C2_DOMAINS.length)]!;
    for (let at = from + Math.floor(between(1, 3) * MINUTE); at < until; at += Math.floor(between(50, 70) * MINUTE)) {
      resolve(at, app, c2.name, [c2.ip], true);
      connect(at + 90, app, c2.ip, 443, 'tcp', true);
    }
  }

  // Chrome: popular sites, and now and then one nobody visited before.
  const chromeVersion = CHROME_VERSIONS[morning >= host.chromeUpdateAt ? 1 : 0]!;
  const chromeImage = `${CHROME_FOLDER}\\chrome.exe`;
  const chromeInfo: VersionInfo = {
    version: chromeVersion,
    description: 'Google Chrome',
    product: 'Google Chrome',
    company: 'Google LLC',
    sha256: fakeHash('chrome.exe', chromeVersion),
  };
  const chromeAt = morning + Math.floor(between(3, 15) * MINUTE);
  const chrome = start(chromeAt, explorer, chromeImage, `"${chromeImage}" `, chromeInfo);
  load(chromeAt + 100, chrome, chromeImage, chromeInfo.sha256, SIGNED_GOOGLE);
  load(chromeAt + 140, chrome, `${CHROME_FOLDER}\\${chromeVersion}\\chrome.dll`, fakeHash('chrome.dll', chromeVersion), SIGNED_GOOGLE);
  load(
    chromeAt + 180,
    chrome,
    `${CHROME_FOLDER}\\${chromeVersion}\\chrome_elf.dll`,
    fakeHash('chrome_elf.dll', chromeVersion),
    SIGNED_GOOGLE,
  );
  systemDlls(chromeAt + 220, chrome);
  const renderer = start(chromeAt + 400, chrome, chromeImage, `"${chromeImage}" --type=renderer`, chromeInfo);
  let browsing = chromeAt + 10 * MINUTE;
  for (let visit = 0; visit < 10; visit++) {
    browsing += Math.floor(between(10, 50) * MINUTE);
    const fresh = random() < 0.08;
    const site = fresh
      ? `${WORDS[Math.floor(random() * WORDS.length)]}-${Math.floor(random() * 1e6)}.example.${TLDS[Math.floor(random() * TLDS.length)]}`
      : POPULAR[Math.min(POPULAR.length - 1, Math.floor(POPULAR.length ** random()) - 1)]!;
    const ip = `198.18.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 254)}`;
    resolve(browsing, chrome, site, [ip]);
    connect(browsing + 40, renderer, ip, 443);
  }
  if (random() < 0.3) createFile(browsing + 30 * MINUTE, chrome, `${host.profile}\\Downloads\\report-${Math.floor(random() * 1000)}.pdf`);

  // Outlook: Microsoft 365, attachments saved to a random cache folder, links opened in Chrome.
  const outlookImage = `${OFFICE}\\OUTLOOK.EXE`;
  const outlookAt = morning + Math.floor(between(2, 10) * MINUTE);
  const outlook = start(outlookAt, explorer, outlookImage, `"${outlookImage}" `, {
    version: OUTLOOK_VERSION,
    description: 'Microsoft Outlook',
    product: 'Microsoft Outlook',
    company: 'Microsoft Corporation',
    sha256: fakeHash('outlook.exe', OUTLOOK_VERSION),
  });
  load(outlookAt + 100, outlook, outlookImage, fakeHash('outlook.exe', OUTLOOK_VERSION), SIGNED_MICROSOFT);
  load(outlookAt + 150, outlook, `${OFFICE}\\mso.dll`, fakeHash('mso.dll', OUTLOOK_VERSION), SIGNED_MICROSOFT);
  systemDlls(outlookAt + 200, outlook);
  for (const [n, service] of M365.entries()) {
    resolve(outlookAt + 300 + n * 30, outlook, service.name, [service.ip]);
    connect(outlookAt + 310 + n * 30, outlook, service.ip, 443);
  }
  if (random() < 0.5) {
    const cache = Array.from({ length: 8 }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[Math.floor(random() * 36)]).join('');
    const at = outlookAt + Math.floor(between(30, 300) * MINUTE);
    createFile(at, outlook, `${host.profile}\\AppData\\Local\\Microsoft\\Windows\\INetCache\\Content.Outlook\\${cache}\\invoice.pdf`);
  }
  if (random() < 0.3)
    start(
      outlookAt + Math.floor(between(30, 300) * MINUTE),
      outlook,
      chromeImage,
      `"${chromeImage}" --single-argument https://intranet.example`,
      chromeInfo,
    );

  // Once, on a few hosts, Outlook does something new and harmless: prints, or reaches Teams.
  if (host.novelty !== null && day === baselineDays - 4) {
    const at = outlookAt + 2 * HOUR;
    if (host.novelty === 'child')
      start(at, outlook, 'C:\\Windows\\splwow64.exe', 'C:\\Windows\\splwow64.exe 12288', {
        version: `${windowsBuild} (WinBuild.160101.0800)`,
        description: 'Print driver host for applications',
        product: 'Microsoft® Windows® Operating System',
        company: 'Microsoft Corporation',
        sha256: fakeHash('splwow64.exe', windowsBuild),
      });
    else {
      resolve(at, outlook, 'teams.microsoft.com', ['52.113.194.132']);
      connect(at + 60, outlook, '52.113.194.132', 443);
    }
  }
}

interface VersionInfo {
  version: string;
  description: string;
  product: string;
  company: string;
  sha256: string;
}
