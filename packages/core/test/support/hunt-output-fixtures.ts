/**
 * Detections for the output tests: real ones, from hunting real EVTX samples with real SigmaHQ
 * rules, and hand-made ones whose values attack each format (CSV and formula injection, HTML and
 * script breakout, terminal escapes, direction overrides, 64-bit integers, very long text).
 */
import { Writable } from 'node:stream';
import { loadRules } from '@firebreak/sigma';
import { sharedPath, sharedSkip } from '@firebreak/testkit';
import { attackOf } from '../../src/hunt/attack.js';
import { LEVELS, ruleDetection, type Detection, type DetectionLevel } from '../../src/hunt/detection.js';
import type { HuntSummary } from '../../src/hunt/summary.js';
import { readEventFile } from '../../src/event-files.js';

export const SAMPLE_FILES = [
  'evtx-attack-samples/Credential Access/discovery_sysmon_1_iis_pwd_and_config_discovery_appcmd.evtx',
  'evtx-attack-samples/Credential Access/sysmon_10_1_memdump_comsvcs_minidump.evtx',
  'evtx-attack-samples/Defense Evasion/de_portforward_netsh_rdp_sysmon_13_1.evtx',
];
export const SAMPLE_RULES = [
  'sigma/rules/windows/process_creation/proc_creation_win_rundll32_process_dump_via_comsvcs.yml',
  'sigma/rules/windows/process_creation/proc_creation_win_netsh_port_forwarding.yml',
  'sigma/rules/windows/registry/registry_event/registry_event_portproxy_registry_key.yml',
  'sigma/rules/windows/process_creation/proc_creation_win_webshell_recon_commands_and_processes.yml',
  'sigma/rules/windows/process_creation/proc_creation_win_iis_appcmd_service_account_password_dumped.yml',
  'sigma/rules/windows/process_creation/proc_creation_win_powershell_base64_encoded_cmd.yml',
];

/** `false` when the samples and rules are there, else why the test skips. */
export const samplesSkip: string | false = [...SAMPLE_FILES, ...SAMPLE_RULES].map(sharedSkip).find((reason) => reason !== false) ?? false;

let hunted: Promise<Detection[]> | undefined;

/** The detections of the sample rules on the sample files, in input order (files sorted, records in file order). */
export function huntSamples(): Promise<Detection[]> {
  return (hunted ??= (async () => {
    const { ruleSet, files } = loadRules(SAMPLE_RULES.map(sharedPath));
    const broken = files.filter((f) => f.status !== 'loaded');
    if (broken.length > 0) throw new Error(`sample rules did not load: ${JSON.stringify(broken)}`);
    const detections: Detection[] = [];
    for (const file of SAMPLE_FILES.map(sharedPath).sort())
      for await (const event of readEventFile(file))
        for (const match of ruleSet.match(event.fields)) detections.push(ruleDetection(match, event));
    return detections;
  })());
}

/** A plain detection to vary. */
export function detection(overrides: Partial<Detection> = {}): Detection {
  const tags = overrides.tags ?? ['attack.execution', 'attack.t1059.001'];
  return {
    rule_id: '00000000-0000-4000-8000-000000000001',
    rule_title: 'Hand-made rule',
    level: 'medium',
    status: 'test',
    tags,
    attack: attackOf(tags),
    timestamp: '2023-03-29T14:02:11.123Z',
    computer: 'WS01.corp.example',
    channel: 'Microsoft-Windows-Sysmon/Operational',
    event_id: 1,
    record_id: 42,
    file: '/cases/3cx/Sysmon.evtx',
    fields: { Image: 'C:\\Windows\\System32\\cmd.exe', CommandLine: 'cmd.exe /c whoami' },
    kind: 'rule',
    rule_file: '/rules/hand-made.yml:1',
    layer: 'endpoint',
    category: 'process_creation',
    ...overrides,
  };
}

export const LONG_VALUE = 'A'.repeat(50_000) + 'END';

/** Values that try to break out of each format. */
export function hostileDetections(): Detection[] {
  return [
    detection({
      rule_id: 'hostile-csv',
      rule_title: 'Rule, with "quotes"\nand a second line',
      level: 'critical',
      computer: '=HYPERLINK("http://127.0.0.1:9/x","click")',
      fields: { CommandLine: "=cmd|' /C calc'!A0", ParentCommandLine: '+1+2', User: '@SUM(A1:A9)', Minus: '-2+3', Tab: '\t=1', Cr: '\r=1' },
      status: "'already quoted",
    }),
    detection({
      rule_id: 'hostile-html',
      rule_title: '</script><script>alert(1)</script>',
      level: 'high',
      computer: '<img src=http://127.0.0.1:9/x onerror=alert(1)>',
      channel: '<!--<script>',
      fields: { Image: '</SCRIPT><svg onload=alert(1)>', Quote: '" onmouseover="alert(1)', Amp: '&lt;b&gt; &amp;' },
    }),
    detection({
      rule_id: 'hostile-terminal',
      rule_title: 'Escape \x1b[2J\x1b[31mred\x1b[0m and bell\x07',
      level: 'low',
      computer: '服务器-Ж-😀',
      fields: { TargetFilename: 'C:\\Users\\x\\invoice\u202Etxt.exe', Script: 'line one\nline two\r\n\tindented', Zero: 'a\u200bb' },
    }),
    detection({
      rule_id: 'long-and-wide',
      rule_title: 'Very long value '.repeat(20),
      level: 'informational',
      timestamp: null,
      computer: null,
      channel: null,
      event_id: null,
      record_id: null,
      category: null,
      rule_file: null,
      tags: [],
      fields: { CommandLine: LONG_VALUE, Keywords: 9223372036854775808n, Sizes: [1, 'two', null], Nested: { a: [1, 2] } },
    }),
  ];
}

/** What a JSON reader sees for a value: BigInts become (rounded) numbers, undefined properties vanish. */
export function asJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)));
}

export function summaryOf(detections: readonly Detection[], inputs = ['../shared/data/evtx-attack-samples']): HuntSummary {
  const byLevel = Object.fromEntries(LEVELS.map((level) => [level, 0])) as Record<DetectionLevel, number>;
  for (const d of detections) byLevel[d.level]++;
  return {
    files: 3,
    filesSkipped: 1,
    events: 1234,
    eventsFiltered: 5,
    detections: detections.length,
    byLevel,
    rulesLoaded: 6,
    rulesSkipped: 2,
    skipReasons: { unsupported: 1, '<b>invalid</b>': 1 },
    warnings: 0,
    inputs,
    startedAt: '2024-05-01T10:00:00.000Z',
    elapsedMs: 1500,
    eventsPerSecond: 822.7,
    peakRssBytes: 80 * 1024 * 1024,
  };
}

/**
 * A writable that keeps what it is given, optionally slowly (each write completes on a later
 * turn of the event loop), and records the largest amount ever waiting in its buffer.
 */
export class TextCollector extends Writable {
  private readonly chunks: Buffer[] = [];
  maxBuffered = 0;
  received = 0;

  constructor(
    private readonly slow = false,
    highWaterMark = 16 * 1024,
  ) {
    super({ highWaterMark });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.maxBuffered = Math.max(this.maxBuffered, this.writableLength);
    this.chunks.push(chunk);
    this.received += chunk.length;
    if (this.slow) setImmediate(done);
    else done();
  }

  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** An RFC 4180 reader, written from the RFC: records of fields, quoted fields may hold commas, quotes ("") and line breaks. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else if (c === '"' || c === '\r' || c === '\n') throw new Error(`bare ${JSON.stringify(c)} outside quotes at offset ${i}`);
    else field += c;
    i++;
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (field !== '' || record.length > 0) throw new Error('last record has no CRLF');
  return records;
}
