import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { findFiles, sharedPath, sharedSkip } from '@firebreak/testkit';
import { loadMapping, MappingError, type LogSourceMapping, type LogSourceVariant } from '../src/logsource.js';
import type { LogSource } from '../src/types.js';

const mapping = loadMapping();
const SYSMON = 'Microsoft-Windows-Sysmon/Operational';

function resolveNames(ls: LogSource, fields: string[] = [], using: LogSourceMapping = mapping): string[] | undefined {
  return using.resolve(ls, new Set(fields))?.map((v) => v.name);
}

function variant(ls: LogSource, name: string, fields: string[] = []): LogSourceVariant {
  const found = mapping.resolve(ls, new Set(fields))?.find((v) => v.name === name);
  assert.ok(found, `${name} variant for ${JSON.stringify(ls)}`);
  return found;
}

/** Plain copies: the mapping's maps have no prototype. */
function plain<T extends object>(record: T): T {
  return { ...record };
}

function writeTemp(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'logsource-')), name);
  writeFileSync(file, text);
  return file;
}

test('process_creation: Sysmon 1 and Security 4688 with renames', () => {
  const ls = { product: 'windows', category: 'process_creation' };
  assert.deepEqual(resolveNames(ls, ['Image', 'CommandLine', 'ParentImage']), ['sysmon', 'security-4688']);
  const sysmon = variant(ls, 'sysmon');
  assert.deepEqual(plain(sysmon.conditions), { Channel: [SYSMON], EventID: [1] });
  assert.deepEqual(plain(sysmon.fields), {});
  assert.equal(sysmon.onlyFields, undefined);
  const security = variant(ls, 'security-4688');
  assert.deepEqual(plain(security.conditions), { Channel: ['Security'], EventID: [4688] });
  assert.equal(security.fields.Image, 'NewProcessName');
  assert.equal(security.fields.ParentImage, 'ParentProcessName');
  assert.equal(security.fields.ProcessId, 'NewProcessId');
  assert.equal(security.fields.ParentProcessId, 'ProcessId');
  assert.equal(security.fields.User, 'SubjectUserName');
  assert.equal(security.fields.LogonId, 'SubjectLogonId');
  assert.equal(security.fields.CommandLine, undefined, 'CommandLine keeps its name');
});

test('onlyFields: rules needing Sysmon-only fields get no 4688 variant', () => {
  const ls = { product: 'windows', category: 'process_creation' };
  for (const sysmonOnly of ['OriginalFileName', 'Hashes', 'Description', 'Product', 'Company', 'ParentCommandLine', 'CurrentDirectory']) {
    assert.deepEqual(resolveNames(ls, ['Image', sysmonOnly]), ['sysmon'], sysmonOnly);
  }
  // Renamed fields, the event's own names and System fields are all served.
  assert.deepEqual(resolveNames(ls, ['ParentImage', 'TokenElevationType', 'EventID', 'Provider_Name']), ['sysmon', 'security-4688']);
  // A keyword rule names no field: every variant applies.
  assert.deepEqual(resolveNames(ls, []), ['sysmon', 'security-4688']);
  const only = variant(ls, 'security-4688').onlyFields;
  assert.ok(only?.has('Image') && only.has('CommandLine') && !only.has('OriginalFileName'));
});

test('network_connection and registry: Security 5156 and 4657 variants', () => {
  const net = { product: 'windows', category: 'network_connection' };
  assert.deepEqual(resolveNames(net, ['Image', 'DestinationIp', 'DestinationPort']), ['sysmon', 'security-5156']);
  assert.deepEqual(resolveNames(net, ['Image', 'Initiated']), ['sysmon'], 'Direction values differ from Initiated');
  assert.deepEqual(resolveNames(net, ['DestinationHostname']), ['sysmon']);
  assert.deepEqual(
    resolveNames(net, ['DestinationPort', 'EventID', 'Computer']),
    ['sysmon', 'security-5156'],
    'System fields, reused by alias',
  );
  const wfp = variant(net, 'security-5156');
  assert.deepEqual([wfp.fields.Image, wfp.fields.DestinationIp, wfp.fields.DestinationPort], ['Application', 'DestAddress', 'DestPort']);

  const set = { product: 'windows', category: 'registry_set' };
  assert.deepEqual(resolveNames(set, ['TargetObject', 'Details']), ['sysmon', 'security-4657']);
  assert.deepEqual(resolveNames(set, ['TargetObject', 'EventType']), ['sysmon']);
  const audit = variant(set, 'security-4657');
  assert.deepEqual([audit.fields.TargetObject, audit.fields.Details, audit.fields.Image], ['ObjectName', 'NewValue', 'ProcessName']);
  assert.ok(audit.conditions.OperationType?.includes('%%1905'));
  assert.deepEqual(variant({ product: 'windows', category: 'registry_event' }, 'sysmon').conditions.EventID, [12, 13, 14]);
});

test('Sysmon and PowerShell categories by EventID', () => {
  const cases: [string, (string | number)[], (string | number)[]][] = [
    ['file_event', [SYSMON], [11]],
    ['image_load', [SYSMON], [7]],
    ['pipe_created', [SYSMON], [17, 18]],
    ['wmi_event', [SYSMON], [19, 20, 21]],
    ['file_delete', [SYSMON], [23, 26]],
    ['sysmon_error', [SYSMON], [255]],
    ['ps_script', ['Microsoft-Windows-PowerShell/Operational', 'PowerShellCore/Operational'], [4104]],
    ['ps_module', ['Microsoft-Windows-PowerShell/Operational', 'PowerShellCore/Operational'], [4103]],
    ['ps_classic_start', ['Windows PowerShell'], [400]],
    ['ps_classic_provider_start', ['Windows PowerShell'], [600]],
    ['ps_classic_script', ['Windows PowerShell'], [800]],
  ];
  for (const [category, channels, eventIds] of cases) {
    const variants = mapping.resolve({ product: 'windows', category }, new Set());
    assert.equal(variants?.length, 1, category);
    assert.deepEqual(plain(variants[0]!.conditions), { Channel: channels, EventID: eventIds }, category);
  }
});

test('Windows services map to their channels', () => {
  const channels = (service: string): readonly (string | number)[] | undefined =>
    mapping.resolve({ product: 'windows', service }, new Set())?.[0]?.conditions.Channel;
  assert.deepEqual(channels('security'), ['Security']);
  assert.deepEqual(channels('system'), ['System']);
  assert.deepEqual(channels('windefend'), ['Microsoft-Windows-Windows Defender/Operational']);
  assert.deepEqual(channels('powershell'), ['Microsoft-Windows-PowerShell/Operational', 'PowerShellCore/Operational']);
  assert.deepEqual(channels('taskscheduler'), ['Microsoft-Windows-TaskScheduler/Operational']);
  assert.equal(channels('applocker')?.length, 4);
  assert.deepEqual(channels('dns-client'), ['Microsoft-Windows-DNS Client Events/Operational']);
  // A service condition is the channel alone: every event of the log.
  assert.deepEqual(Object.keys(variant({ product: 'windows', service: 'security' }, 'security').conditions), ['Channel']);
});

test('logsource values compare case-insensitively; unknown Windows logsources are undefined', () => {
  assert.deepEqual(resolveNames({ product: 'Windows', category: 'Process_Creation' }), ['sysmon', 'security-4688']);
  assert.deepEqual(resolveNames({ product: 'WINDOWS', service: 'Security' }), ['security']);
  assert.equal(resolveNames({ product: 'windows', service: 'no-such-service' }), undefined);
  assert.equal(resolveNames({ product: 'windows', category: 'file_access' }), undefined, 'ETW only');
  assert.equal(resolveNames({ product: 'windows', category: 'process_creation', service: 'sysmon' }), undefined);
  assert.equal(resolveNames({ product: 'aws', service: 'cloudtrail' }), undefined);
});

test('product alone: every Windows channel, every Linux source', () => {
  const windows = variant({ product: 'windows' }, 'windows');
  assert.deepEqual(Object.keys(windows.conditions), ['Channel']);
  // The product-wide list must not fall behind the entries: collect every channel the file names.
  const file = fileURLToPath(new URL('../../mappings/windows.yml', import.meta.url));
  const named = new Set<string>();
  for (const entry of parse(readFileSync(file, 'utf8')).logsources as {
    logsource: LogSource;
    variants: { when?: { Channel?: unknown } }[];
  }[]) {
    if (entry.logsource.product !== 'windows') continue;
    for (const v of entry.variants) for (const channel of [v.when?.Channel ?? []].flat()) named.add(String(channel));
  }
  assert.deepEqual(new Set(windows.conditions.Channel), named);
  assert.deepEqual(plain(variant({ product: 'linux' }, 'linux').conditions), { _source: ['syslog', 'auditd', 'firebreak-agent'] });
});

test('Linux: agent categories by _kind, auditd, syslog services', () => {
  assert.deepEqual(plain(variant({ product: 'linux', category: 'process_creation' }, 'firebreak-agent').conditions), {
    _source: ['firebreak-agent'],
    _kind: ['process_creation'],
  });
  assert.deepEqual(variant({ product: 'linux', category: 'network_connection' }, 'firebreak-agent').conditions._kind, [
    'network_connection',
  ]);
  assert.deepEqual(plain(variant({ product: 'linux', service: 'auditd' }, 'auditd').conditions), { _source: ['auditd'] });
  for (const service of ['syslog', 'guacamole']) {
    assert.deepEqual(plain(variant({ product: 'linux', service }, 'syslog').conditions), { _source: ['syslog'] }, service);
  }
  // The other services are told by the program that logged, or the facility.
  assert.deepEqual(plain(variant({ product: 'linux', service: 'sshd' }, 'syslog').conditions), {
    _source: ['syslog'],
    app_name: ['sshd', 'sshd-session'],
  });
  assert.deepEqual(plain(variant({ product: 'linux', service: 'sudo' }, 'syslog').conditions), { _source: ['syslog'], app_name: ['sudo'] });
  assert.deepEqual(plain(variant({ product: 'linux', service: 'auth' }, 'syslog-auth-facility').conditions), {
    _source: ['syslog'],
    facility: ['auth', 'authpriv'],
  });
  assert.deepEqual(plain(variant({ product: 'linux', service: 'cron' }, 'syslog-cron-facility').conditions), {
    _source: ['syslog'],
    facility: ['cron'],
  });
});

test('network categories: own sources plus Zeek logs with renames', () => {
  assert.deepEqual(resolveNames({ category: 'proxy' }, ['c-uri', 'cs-method']), ['proxy', 'zeek-http']);
  assert.deepEqual(resolveNames({ category: 'proxy' }, ['c-uri-extension']), ['proxy'], 'Zeek has no URI extension');
  const http = variant({ category: 'proxy' }, 'zeek-http');
  assert.deepEqual(plain(http.conditions), { _source: ['zeek'], _path: ['http'] });
  assert.deepEqual(
    ['c-uri', 'cs-host', 'c-useragent', 'cs-method', 'sc-status', 'cs-referrer'].map((f) => http.fields[f]),
    ['uri', 'host', 'user_agent', 'method', 'status_code', 'referrer'],
  );
  assert.deepEqual(plain(variant({ category: 'proxy' }, 'proxy').fields), {}, 'the proxy parser emits the W3C names');

  assert.deepEqual(resolveNames({ category: 'firewall' }, ['src_ip', 'dst_port']), ['firewall', 'zeek-conn']);
  assert.deepEqual(resolveNames({ category: 'firewall' }, ['action']), ['firewall']);
  const conn = variant({ category: 'firewall' }, 'zeek-conn');
  assert.deepEqual(
    ['src_ip', 'dst_ip', 'src_port', 'dst_port'].map((f) => conn.fields[f]),
    ['id.orig_h', 'id.resp_h', 'id.orig_p', 'id.resp_p'],
  );

  assert.deepEqual(resolveNames({ category: 'dns' }, ['query']), ['dns', 'zeek-dns']);
  assert.deepEqual(plain(variant({ category: 'webserver' }, 'webserver').conditions), { _source: ['webserver'] });
  assert.deepEqual(plain(variant({ product: 'zeek', service: 'smb_files' }, 'zeek-smb_files').conditions), {
    _source: ['zeek'],
    _path: ['smb_files'],
  });
  assert.equal(variant({ product: 'zeek', service: 'http' }, 'zeek-http', ['c-uri']).fields['c-uri'], 'uri');
});

test('an entry without product serves any product; a rule without product every product', () => {
  assert.deepEqual(resolveNames({ product: 'windows', category: 'antivirus' }), ['windefend']);
  assert.deepEqual(resolveNames({ product: 'zeek', category: 'dns' }), ['dns', 'zeek-dns']);
  assert.deepEqual(resolveNames({ category: 'process_creation' })?.sort(), ['firebreak-agent', 'security-4688', 'sysmon']);
  assert.deepEqual(resolveNames({ service: 'security' }), ['security']);
  assert.equal(resolveNames({ category: 'no-such-category' }), undefined);
});

test('user files replace shipped entries for the same logsource and add new ones', () => {
  const first = writeTemp(
    'first.yml',
    `logsources:
  - logsource: { product: Windows, service: SECURITY }
    variants:
      - name: forwarded-security
        when: { Channel: ForwardedEvents, Provider_Name: Microsoft-Windows-Security-Auditing }
  - logsource: { product: macos, category: process_creation }
    variants:
      - name: esf
        when: { _source: esf, event_type: exec }
        fields: { Image: process.executable }
`,
  );
  const second = writeTemp(
    'second.yml',
    `logsources:
  - logsource: { product: macos, category: process_creation }
    variants:
      - name: esf-v2
        when: { _source: esf }
`,
  );
  const custom = loadMapping({ files: [first] });
  assert.deepEqual(resolveNames({ product: 'windows', service: 'security' }, [], custom), ['forwarded-security']);
  assert.deepEqual(plain(custom.resolve({ product: 'windows', service: 'security' }, new Set())![0]!.conditions), {
    Channel: ['ForwardedEvents'],
    Provider_Name: ['Microsoft-Windows-Security-Auditing'],
  });
  assert.equal(custom.resolve({ product: 'macos', category: 'process_creation' }, new Set())![0]!.fields.Image, 'process.executable');
  assert.deepEqual(
    resolveNames({ product: 'windows', category: 'process_creation' }, [], custom),
    ['sysmon', 'security-4688'],
    'others stay',
  );
  assert.deepEqual(resolveNames({ product: 'macos', category: 'process_creation' }, [], loadMapping({ files: [first, second] })), [
    'esf-v2',
  ]);
  assert.deepEqual(resolveNames({ product: 'macos', category: 'process_creation' }), undefined, 'the default mapping is untouched');
});

test('raw mode: one unconditional variant with no renames for every logsource', () => {
  const raw = loadMapping({ raw: true });
  for (const ls of [
    { product: 'windows', category: 'process_creation' },
    { product: 'aws', service: 'cloudtrail' },
    { category: 'nothing' },
  ]) {
    const variants = raw.resolve(ls, new Set(['OriginalFileName']));
    assert.equal(variants?.length, 1);
    assert.deepEqual(variants[0]!.conditions, {});
    assert.deepEqual(variants[0]!.fields, {});
    assert.equal(variants[0]!.onlyFields, undefined);
  }
});

test('a bad mapping file throws naming the file, the entry and the problem', () => {
  const entry = (variant: string): string =>
    `logsources:\n  - logsource: { product: windows, service: security }\n    variants:\n      - name: x\n        when: { Channel: Security }\n${variant}`;
  const cases: [string, string, RegExp][] = [
    ['not YAML', 'logsources: [\n', /bad\.yml: .*flow collection/i],
    ['a list at the top', '- a\n- b\n', /bad\.yml: expected a map with a `logsources` list, got a list/],
    ['no logsources', 'entries: []\n', /bad\.yml: unknown key 'entries'/],
    ['logsources not a list', 'logsources: {}\n', /bad\.yml: logsources: expected a list/],
    [
      'unknown logsource key',
      'logsources:\n  - logsource: { product: windows, definition: x }\n    variants: [{ name: a }]\n',
      /bad\.yml: logsources\[0\]\.logsource: unknown key 'definition'/,
    ],
    [
      'empty logsource',
      'logsources:\n  - logsource: {}\n    variants: [{ name: a }]\n',
      /logsources\[0\]\.logsource: expected at least one of product/,
    ],
    [
      'no variants',
      'logsources:\n  - logsource: { category: dns }\n',
      /logsources\[0\] \(category: dns\): variants: expected a non-empty list/,
    ],
    [
      'variant without name',
      entry('      - when: { Channel: System }\n'),
      /\(product: windows, service: security\): variants\[1\]\.name: expected a non-empty string, got nothing/,
    ],
    [
      'boolean condition',
      entry('      - name: y\n        when: { Initiated: true }\n'),
      /variants\[1\] \(y\)\.when\.Initiated: expected a string or a number, got boolean true/,
    ],
    [
      'map condition',
      entry('      - name: y\n        when: { EventID: { a: 1 } }\n'),
      /variants\[1\] \(y\)\.when\.EventID: expected a string or a number, got a map/,
    ],
    [
      'empty condition list',
      entry('      - name: y\n        when: { EventID: [] }\n'),
      /\(y\)\.when\.EventID: expected at least one value/,
    ],
    [
      'rename to a number',
      entry('      - name: y\n        fields: { Image: 4 }\n'),
      /\(y\)\.fields\.Image: expected a non-empty string, got number 4/,
    ],
    [
      'only-fields not a list',
      entry('      - name: y\n        only-fields: Image\n'),
      /\(y\)\.only-fields: expected a list of field names/,
    ],
    [
      'nested only-fields item',
      entry('      - name: y\n        only-fields: [Image, [Details, 4]]\n'),
      /\(y\)\.only-fields\[1\]\[1\]: expected a non-empty string/,
    ],
    ['misspelt key', entry('      - name: y\n        only_fields: [Image]\n'), /variants\[1\]: unknown key 'only_fields'/],
    ['variant name twice', entry('      - name: x\n'), /\(product: windows, service: security\): variant name 'x' is used twice/],
    [
      'logsource twice',
      'logsources:\n  - logsource: { category: dns }\n    variants: [{ name: a }]\n  - logsource: { category: DNS }\n    variants: [{ name: b }]\n',
      /logsources\[1\] \(category: DNS\): mapped twice in this file/,
    ],
  ];
  for (const [what, text, message] of cases) {
    const file = writeTemp('bad.yml', text);
    assert.throws(
      () => loadMapping({ files: [file] }),
      (error: unknown) => {
        assert.ok(error instanceof MappingError, what);
        assert.ok(error.message.startsWith(file), `${what}: ${error.message}`);
        assert.match(error.message, message, what);
        return true;
      },
    );
  }
  assert.throws(() => loadMapping({ files: ['/nonexistent/mapping.yml'] }), /\/nonexistent\/mapping\.yml: ENOENT/);
});

/** Field names a detection uses (without modifiers), as the rule set passes them to `resolve`. */
function detectionFields(detection: Record<string, unknown>): Set<string> {
  const fields = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value !== null && typeof value === 'object') {
      for (const key of Object.keys(value)) if (key.split('|')[0]) fields.add(key.split('|')[0]!);
    }
  };
  for (const [name, search] of Object.entries(detection)) if (name !== 'condition') visit(search);
  return fields;
}

const IN_SCOPE_PRODUCTS = new Set(['windows', 'linux', 'zeek']);
const IN_SCOPE_CATEGORIES = new Set(['dns', 'proxy', 'firewall', 'webserver']);
/** Windows logsources no event log channel carries (Microsoft-Windows-Kernel-File ETW only). */
const KNOWN_UNMAPPED = new Set(['windows/file_access/', 'windows/file_rename/']);

test('every Windows, Linux and network rule in SigmaHQ resolves', { skip: sharedSkip('sigma') }, (t) => {
  const unresolved = new Map<string, number>();
  const failures: string[] = [];
  let rules = 0;
  let with4688 = 0;
  for (const dir of ['rules', 'rules-emerging-threats', 'rules-threat-hunting']) {
    for (const file of findFiles(sharedPath(`sigma/${dir}`), '.yml')) {
      for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) {
        const rule = document.toJS() as { logsource?: LogSource; detection?: Record<string, unknown> } | null;
        if (!rule?.logsource || !rule.detection) continue;
        rules++;
        const { product, category, service } = rule.logsource;
        const key = `${product ?? ''}/${category ?? ''}/${service ?? ''}`;
        const variants = mapping.resolve(rule.logsource, detectionFields(rule.detection));
        if (variants?.some((v) => v.name === 'security-4688')) with4688++;
        const inScope = IN_SCOPE_PRODUCTS.has(product ?? '') || IN_SCOPE_CATEGORIES.has(category ?? '');
        if (variants === undefined) {
          unresolved.set(key, (unresolved.get(key) ?? 0) + 1);
          if (inScope && !KNOWN_UNMAPPED.has(key)) failures.push(`${file}: ${key} does not resolve`);
        } else if (variants.length === 0 && inScope) {
          failures.push(`${file}: ${key} resolves to no variant`);
        }
      }
    }
  }
  t.diagnostic(`${rules} rules; ${with4688} process_creation rules also run on Security 4688`);
  for (const [key, count] of [...unresolved].sort((a, b) => b[1] - a[1])) t.diagnostic(`unmapped ${key}: ${count} rules`);
  assert.ok(rules > 3000, `found ${rules} rules`);
  assert.ok(with4688 > 100, 'a good share of process_creation rules fit 4688');
  assert.deepEqual(failures, []);
});

test('logSourceOf tells what an event is: a category where one fits, else a service', async () => {
  const { objectEvent } = await import('../src/event.js');
  const of = (fields: Record<string, unknown>, using: LogSourceMapping = mapping): LogSource | undefined =>
    using.logSourceOf(objectEvent(fields));
  assert.deepEqual(of({ Channel: SYSMON, EventID: 1 }), { product: 'windows', category: 'process_creation' });
  assert.deepEqual(of({ Channel: 'security', EventID: '4688' }), { product: 'windows', category: 'process_creation' });
  assert.deepEqual(of({ Channel: 'Security', EventID: 4624 }), { product: 'windows', service: 'security' });
  // Asked again (answered from what it remembers): the same answers.
  assert.deepEqual(of({ Channel: SYSMON, EventID: 1, Image: 'x' }), { product: 'windows', category: 'process_creation' });
  assert.deepEqual(of({ Channel: SYSMON, EventID: 3 }), { product: 'windows', category: 'network_connection' });
  assert.equal(of({ Channel: 'Nobody/Knows', EventID: 1 }), undefined);
  assert.equal(of({ Channel: SYSMON, EventID: 1 }, loadMapping({ raw: true })), undefined);
});
