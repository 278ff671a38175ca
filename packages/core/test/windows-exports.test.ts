/**
 * Windows XML exports and Winlogbeat (ECS) documents made from real EVTX samples read as the same
 * events as the EVTX: the same flat fields, up to the differences the formats themselves make, and
 * the same SigmaHQ rules firing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readEvtx, type FlatEvent, type FlatValue } from '@firebreak/evtx';
import { loadRules, objectEvent, type RuleSet, type SigmaEvent } from '@firebreak/sigma';
import { sharedPath, sharedSkip } from '@firebreak/testkit';
import { readEventFile, type FirebreakEvent, type ReadProblem } from '../src/index.js';
import { eventViewerExport, utf16le, wevtutilExport, winlogbeatDocument } from './support/windows-exports.js';

const SAMPLES = [
  // Sysmon: process access with an empty StartModule, LSASS dumps, process creation, registry.
  'Credential Access/CA_sysmon_hashdump_cmd_meterpreter.evtx',
  'Credential Access/sysmon_10_11_outlfank_dumpert_and_andrewspecial_memdump.evtx',
  'Execution/exec_persist_rundll32_mshta_scheduledtask_sysmon_1_3_11.evtx',
  'Defense Evasion/sysmon_13_rdp_settings_tampering.evtx',
  // Security: logons with padded LogonProcessName ("seclogo "), 4688, the 1102 UserData event, object access.
  'Credential Access/tutto_malseclogon.evtx',
  'Defense Evasion/DE_1102_security_log_cleared.evtx',
  'Credential Access/CA_hashdump_4663_4656_lsass_access.evtx',
  // PowerShell: 4104 script blocks (multi-line), classic 800 (unnamed <Data>).
  'Credential Access/phish_windows_credentials_powershell_scriptblockLog_4104.evtx',
  'Credential Access/Powershell_4104_MiniDumpWriteDump_Lsass.evtx',
  'Other/emotet/exec_emotet_ps_800_new-object.evtx',
  // MSSQL: string-array values.
  'Credential Access/MSSQL_multiple_failed_logon_EventID_18456.evtx',
];
const skip = sharedSkip('evtx-attack-samples') || sharedSkip('sigma/rules/windows');

const work = mkdtempSync(join(tmpdir(), 'firebreak-exports-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface Sample {
  file: string;
  evtx: FlatEvent[];
  xml: FirebreakEvent[];
  ecs: FirebreakEvent[];
}

let rules: RuleSet | undefined;
function windowsRules(): RuleSet {
  return (rules ??= loadRules([sharedPath('sigma/rules/windows')]).ruleSet);
}

/** Each sample's records, and the events read back from its XML export and its Winlogbeat documents. */
async function samples(): Promise<Sample[]> {
  const out: Sample[] = [];
  for (const [i, relative] of SAMPLES.entries()) {
    const evtx: FlatEvent[] = [];
    const xmls: string[] = [];
    for await (const record of readEvtx(sharedPath(`evtx-attack-samples/${relative}`))) {
      evtx.push(record.flat());
      xmls.push(record.xml());
    }
    const documents = xmls.map(winlogbeatDocument);
    // Both export shapes and encodings of each format, alternating over the samples.
    const xmlFile = write(`${i}.xml`, i % 2 === 0 ? wevtutilExport(xmls) : utf16le(eventViewerExport(xmls)));
    const ecsText = i % 2 === 0 ? documents.map((d) => JSON.stringify(d)).join('\n') : JSON.stringify(documents, null, 2);
    const ecsFile = write(`${i}.json`, ecsText);
    out.push({ file: relative, evtx, xml: await events(xmlFile), ecs: await events(ecsFile) });
  }
  return out;
}

function write(name: string, content: string | Buffer): string {
  const path = join(work, name);
  writeFileSync(path, content);
  return path;
}

async function events(path: string): Promise<FirebreakEvent[]> {
  const problems: ReadProblem[] = [];
  const out: FirebreakEvent[] = [];
  for await (const event of readEventFile(path, (p) => problems.push(p))) out.push(event);
  assert.deepEqual(problems, [], path);
  return out;
}

let loaded: Promise<Sample[]> | undefined;
const allSamples = (): Promise<Sample[]> => (loaded ??= samples());

/**
 * A value as the formats can all carry it. XML is text: numbers and booleans are their text, a
 * string-array value is its items joined by commas (the EVTX view does not trim an array's items,
 * the XML reader trims the text, so white space before a comma or at the end does not count). Windows writes GUIDs {lowercase} where
 * evtx_dump writes them UPPERCASE, and times with 7 fractional digits where it writes 6. Elasticsearch
 * keeps times to the millisecond, and Winlogbeat turns CRLF into LF.
 */
function comparable(value: FlatValue | unknown, format: 'xml' | 'ecs', array = false): string | undefined {
  if (value === undefined || value === null) return format === 'xml' ? '' : undefined;
  if (Array.isArray(value)) return comparable(value.map((v) => comparable(v, format) ?? '').join(','), format, true);
  if (array) return String(value).replace(/\s+,/g, ',').trimEnd();
  let text = String(value);
  if (/^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$/.test(text))
    text = text.replace(/[{}]/g, '').toUpperCase();
  const time = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d+)Z$/.exec(text);
  if (time) text = `${time[1]}.${time[2]!.slice(0, format === 'xml' ? 6 : 3)}Z`;
  if (format === 'ecs') text = text.replaceAll('\r\n', '\n');
  return text;
}

/** What Winlogbeat does not ship: names Windows renders from message tables, and empty values. */
const NOT_IN_WINLOGBEAT = new Set(['Task', 'Opcode', 'Keywords', 'Level', 'EventID_Qualifiers', 'Provider_EventSourceName']);

test('Windows XML exports read as the same fields as the EVTX records', { skip }, async () => {
  let fields = 0;
  for (const sample of await allSamples()) {
    assert.equal(sample.xml.length, sample.evtx.length, sample.file);
    sample.evtx.forEach((record, i) => {
      const event = sample.xml[i]!;
      assert.equal(event.source.format, 'windows-xml');
      assert.deepEqual(new Set(event.fields.keys()), new Set(Object.keys(record)), `${sample.file} #${i}: field names`);
      for (const [name, value] of Object.entries(record)) {
        fields++;
        const array = Array.isArray(value);
        assert.equal(comparable(event.fields.get(name), 'xml', array), comparable(value, 'xml'), `${sample.file} #${i} ${name}`);
      }
      assert.equal(event.recordId, record.EventRecordID);
      assert.equal(event.host, record.Computer);
    });
  }
  assert.ok(fields > 5000, `${fields} fields compared`);
});

test('Winlogbeat documents read as the same fields as the EVTX records, under the EVTX names', { skip }, async () => {
  let fields = 0;
  for (const sample of await allSamples()) {
    assert.equal(sample.ecs.length, sample.evtx.length, sample.file);
    sample.evtx.forEach((record, i) => {
      const event = sample.ecs[i]!;
      assert.equal(event.source.format, 'ecs');
      for (const [name, value] of Object.entries(record)) {
        const expected = NOT_IN_WINLOGBEAT.has(name) || comparable(value, 'ecs') === '' ? undefined : comparable(value, 'ecs');
        const array = Array.isArray(value);
        assert.equal(comparable(event.fields.get(name), 'ecs', array), expected, `${sample.file} #${i} ${name}`);
        fields++;
      }
      const params = [...event.fields.keys()].filter((name) => /^param\d+$/.test(name));
      for (const name of event.fields.keys()) {
        if (Object.hasOwn(record, name)) continue;
        // ECS's own fields by their path; Winlogbeat's param1… for unnamed <Data>, whose list the EVTX view calls Data.
        const allowed = name.includes('.') || params.includes(name) || (name === 'Data' && params.length > 0);
        assert.ok(allowed, `${sample.file} #${i}: unexpected field ${name}`);
      }
      assert.equal(event.fields.get('winlog.channel'), record.Channel);
      assert.equal(event.timestamp, Math.floor(Date.parse(String(record.TimeCreated_SystemTime))));
      assert.equal(event.recordId, record.EventRecordID);
    });
  }
  assert.ok(fields > 5000, `${fields} fields compared`);
});

test('the same SigmaHQ rules fire on the EVTX records, their XML and their Winlogbeat documents', { skip }, async () => {
  const ruleSet = windowsRules();
  const fired = (event: SigmaEvent): Map<string, Record<string, unknown>> =>
    new Map(ruleSet.match(event).map((m) => [m.rule.id ?? m.rule.title, m.fields]));
  let total = 0;
  let onlyEvtx = 0;
  for (const sample of await allSamples()) {
    sample.evtx.forEach((record, i) => {
      const where = `${sample.file} #${i}`;
      const evtx = fired(objectEvent(record));
      total += evtx.size;
      assert.deepEqual([...fired(sample.xml[i]!.fields).keys()].sort(), [...evtx.keys()].sort(), `${where}: XML`);
      const ecs = fired(sample.ecs[i]!.fields);
      for (const rule of ecs.keys()) assert.ok(evtx.has(rule), `${where}: ${rule} fires on the Winlogbeat document only`);
      for (const [rule, matched] of evtx) {
        if (ecs.has(rule)) continue;
        // Winlogbeat drops empty values, so a rule that wants a field empty cannot fire on its documents.
        assert.ok(Object.values(matched).includes(''), `${where}: ${rule} does not fire on the Winlogbeat document`);
        onlyEvtx++;
      }
    });
  }
  assert.ok(total >= 40, `${total} rule matches on the samples`);
  assert.equal(onlyEvtx, 2, 'Password Dumper Remote Thread in LSASS (StartModule empty) on two records');
});
