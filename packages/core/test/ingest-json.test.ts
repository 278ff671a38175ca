/** Ingest bodies of JSON lines (evtx-json, ecs, flat): the file readers' fields, bad lines rejected by number, the rest kept. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { findFiles, sharedPath, sharedSkip } from '@firebreak/testkit';
import {
  INGEST_FORMATS,
  isIngestFormat,
  jsonValues,
  parseIngestBody,
  readEventFile,
  type FirebreakEvent,
  type ReadProblem,
} from '../src/index.js';
import { MAX_JSON_VALUE } from '../src/readers/json.js';

const work = mkdtempSync(join(tmpdir(), 'firebreak-ingest-json-'));
after(() => rmSync(work, { recursive: true, force: true }));

const RECEIVED = Date.UTC(2024, 4, 1, 12, 0, 0);
const context = { origin: 'http:sensor', receivedAt: RECEIVED };

/** What the file reader makes of the same lines in a file. */
async function fileEvents(name: string, lines: string[]): Promise<{ events: FirebreakEvent[]; problems: ReadProblem[] }> {
  const path = join(work, name);
  writeFileSync(path, lines.join('\n') + '\n');
  const events: FirebreakEvent[] = [];
  const problems: ReadProblem[] = [];
  for await (const event of readEventFile(path, (p) => problems.push(p))) events.push(event);
  return { events, problems };
}

const sysmonRecord = (recordId: number, image: string): string =>
  JSON.stringify({
    Event: {
      '#attributes': { xmlns: 'http://schemas.microsoft.com/win/2004/08/events/event' },
      System: {
        Provider: { '#attributes': { Name: 'Microsoft-Windows-Sysmon', Guid: '5770385F-C22A-43E0-BF4C-06F5698FFBD9' } },
        EventID: 1,
        TimeCreated: { '#attributes': { SystemTime: '2024-04-30T08:00:00.000000Z' } },
        EventRecordID: recordId,
        Channel: 'Microsoft-Windows-Sysmon/Operational',
        Computer: 'ws-07',
      },
      EventData: { Image: image, CommandLine: `${image} /c whoami` },
    },
  });

const winlogbeatDocument = (recordId: string): string =>
  JSON.stringify({
    '@timestamp': '2024-04-30T09:00:00.000Z',
    event: { code: '4688', kind: 'event' },
    host: { name: 'dc-01' },
    winlog: {
      channel: 'Security',
      computer_name: 'dc-01.corp.example',
      event_id: '4688',
      record_id: recordId,
      provider_name: 'Microsoft-Windows-Security-Auditing',
      event_data: { NewProcessName: 'C:\\Windows\\System32\\cmd.exe', CommandLine: 'cmd.exe /c whoami ' },
    },
  });

test('the format names, and telling one from another name', () => {
  assert.deepEqual([...INGEST_FORMATS], ['evtx-json', 'ecs', 'flat', 'auditd', 'syslog']);
  assert.equal(isIngestFormat('ecs'), true);
  assert.equal(isIngestFormat('json'), false);
});

test('evtx-json: records as the file reader flattens them; bad lines rejected by number, the good around them kept', async () => {
  const lines = [
    sysmonRecord(1, 'C:\\Windows\\System32\\cmd.exe'),
    '{"Event": {"System": ',
    sysmonRecord(2, 'C:\\Windows\\System32\\whoami.exe'),
    '{"EventID": 1, "Image": "C:\\\\x.exe"}',
    '[1, 2]',
    '',
    sysmonRecord(3, 'C:\\Tools\\procdump64.exe'),
  ];
  const batch = parseIngestBody('evtx-json', lines.join('\r\n'), context);
  assert.deepEqual(
    batch.rejected.map((r) => r.line),
    [2, 4, 5],
  );
  assert.match(batch.rejected[0]!.error, /^not JSON: /);
  assert.equal(batch.rejected[1]!.error, 'not an evtx_dump event: no "Event" object holding a "System" object');
  assert.equal(batch.rejected[2]!.error, 'not a JSON object but an array');
  assert.deepEqual(
    batch.events.map((e) => [e.origin, e.recordId, e.fields.get('Image')]),
    [
      ['http:sensor:1', 1, 'C:\\Windows\\System32\\cmd.exe'],
      ['http:sensor:3', 2, 'C:\\Windows\\System32\\whoami.exe'],
      ['http:sensor:7', 3, 'C:\\Tools\\procdump64.exe'],
    ],
  );
  const event = batch.events[0]!;
  assert.equal(event.file, 'http:sensor');
  assert.equal(event.source.format, 'evtx-json');
  assert.equal(event.timestamp, Date.UTC(2024, 3, 30, 8));
  assert.deepEqual(event.logsource, { product: 'windows', category: 'process_creation' });
  const fromFile = await fileEvents('records.json', [lines[0]!, lines[2]!, lines[6]!]);
  assert.deepEqual(
    batch.events.map((e) => e.plainFields()),
    fromFile.events.map((e) => e.plainFields()),
  );
});

test('ecs: Winlogbeat documents under the EVTX names, other documents by their paths, as the file reader reads them', async () => {
  const filebeat = JSON.stringify({ '@timestamp': '2024-04-30T10:00:00Z', message: 'GET /', host: { name: 'web-01' }, url: { path: '/' } });
  const lines = [winlogbeatDocument('100'), 'not json', filebeat, '"a string"', winlogbeatDocument('101')];
  const batch = parseIngestBody('ecs', lines.join('\n'), context);
  assert.deepEqual(
    batch.rejected.map((r) => r.line),
    [2, 4],
  );
  assert.match(batch.rejected[0]!.error, /^not JSON: Unexpected token/);
  assert.equal(batch.rejected[1]!.error, 'not a JSON object but a string');
  assert.deepEqual(
    batch.events.map((e) => [e.origin, e.eventId, e.host, e.fields.get('url.path')]),
    [
      ['http:sensor:1', 4688, 'dc-01.corp.example', undefined],
      ['http:sensor:3', undefined, 'web-01', '/'],
      ['http:sensor:5', 4688, 'dc-01.corp.example', undefined],
    ],
  );
  assert.equal(batch.events[0]!.fields.get('CommandLine'), 'cmd.exe /c whoami', 'trimmed as the EVTX view trims');
  const fromFile = await fileEvents('winlogbeat.ndjson', [lines[0]!, lines[2]!, lines[4]!]);
  assert.deepEqual(
    batch.events.map((e) => e.plainFields()),
    fromFile.events.map((e) => e.plainFields()),
  );
});

test('flat: objects by their own keys; the time from @timestamp, timestamp or time, else when the body arrived', () => {
  const lines = [
    '{"EventID": 1, "Image": "C:\\\\Windows\\\\System32\\\\cmd.exe", "Computer": "ws-07", "@timestamp": "2024-04-30T11:00:00Z"}',
    '{"EventID": 1, "Image": "C:\\\\a.exe", "timestamp": 1714474800}',
    '{"EventID": 1, "Image": "C:\\\\b.exe", "time": "2024-04-30 11:30:00"}',
    '{"EventID": 1, "Image": "C:\\\\c.exe"',
    '{"EventID": 1, "Image": "C:\\\\d.exe"}',
  ];
  const batch = parseIngestBody('flat', lines.join('\n'), context);
  assert.deepEqual(
    batch.rejected.map((r) => r.line),
    [4],
  );
  assert.deepEqual(
    batch.events.map((e) => [e.origin, e.fields.get('Image'), e.timestamp]),
    [
      ['http:sensor:1', 'C:\\Windows\\System32\\cmd.exe', Date.UTC(2024, 3, 30, 11)],
      ['http:sensor:2', 'C:\\a.exe', 1714474800000],
      ['http:sensor:3', 'C:\\b.exe', Date.UTC(2024, 3, 30, 11, 30)],
      ['http:sensor:5', 'C:\\d.exe', RECEIVED],
    ],
  );
  const first = batch.events[0]!;
  assert.equal(first.host, 'ws-07');
  assert.equal(first.source.format, 'flat');
  assert.equal(first.eventId, 1);
  assert.deepEqual(first.raw(), JSON.parse(lines[0]!));
});

test('a line longer than the limit is rejected by number; a byte-order mark before the body is no part of it', () => {
  const long = `{"message": "${'x'.repeat(MAX_JSON_VALUE)}"}`;
  const body = '\ufeff' + ['{"n": 1}', long, '{"n": 3}'].join('\n');
  const batch = parseIngestBody('flat', body, context);
  assert.deepEqual(batch.rejected, [{ line: 2, error: `line longer than ${MAX_JSON_VALUE} characters` }]);
  assert.deepEqual(
    batch.events.map((e) => [e.origin, e.fields.get('n')]),
    [
      ['http:sensor:1', 1],
      ['http:sensor:3', 3],
    ],
  );
});

test('evtx-json: content nested too deep is left out of a kept event, with a warning naming its line', () => {
  let deep: unknown = 'bottom';
  for (let i = 0; i < 200; i++) deep = { Nested: deep };
  const record = JSON.parse(sysmonRecord(9, 'C:\\x.exe')) as { Event: Record<string, unknown> };
  record.Event.UserData = deep;
  const batch = parseIngestBody('evtx-json', ['', JSON.stringify(record)].join('\n'), context);
  assert.deepEqual(batch.rejected, []);
  assert.equal(batch.events.length, 1);
  assert.equal(batch.warnings.length, 1);
  assert.equal(batch.warnings[0]!.line, 2);
  assert.match(batch.warnings[0]!.warning, /nests elements more than \d+ deep/);
});

const PAIRS = 'evtx-json-pairs';

test('real evtx_dump records sent as JSON lines read as readEventFile reads their file', { skip: sharedSkip(PAIRS) }, async () => {
  const files = findFiles(sharedPath(PAIRS), '.json');
  assert.ok(files.length > 0);
  for (const file of files) {
    const lines: string[] = [];
    for await (const value of jsonValues([readFileSync(file, 'utf8')])) lines.push(JSON.stringify(JSON.parse(value.text)));
    const batch = parseIngestBody('evtx-json', lines.join('\n'), { origin: file, receivedAt: RECEIVED });
    const fromFile: FirebreakEvent[] = [];
    for await (const event of readEventFile(file, () => {})) fromFile.push(event);
    assert.deepEqual(batch.rejected, [], file);
    assert.ok(batch.events.length > 0, file);
    assert.deepEqual(
      batch.events.map((e) => e.plainFields()),
      fromFile.map((e) => e.plainFields()),
      file,
    );
    assert.deepEqual(
      batch.events.map((e) => [e.timestamp, e.host, e.logsource]),
      fromFile.map((e) => [e.timestamp, e.host, e.logsource]),
      file,
    );
  }
});
