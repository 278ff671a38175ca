/** Event files: the format told by content, gzip, JSON in its usual shapes, damage kept local, EVTX with its warnings. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { readEvtx } from '@firebreak/evtx';
import { objectEvent } from '@firebreak/sigma';
import { findFiles, sharedPath, sharedSkip } from '@firebreak/testkit';
import { EventFileError, eventTime, jsonValues, readEventFile, type FirebreakEvent, type ReadProblem } from '../src/index.js';
import { MAX_LEADING_SPACE } from '../src/readers/content.js';
import { MAX_JSON_VALUE } from '../src/readers/json.js';

const work = mkdtempSync(join(tmpdir(), 'firebreak-core-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface ReadBack {
  events: { origin: string; format: string; get: (f: string) => unknown; all: string }[];
  problems: ReadProblem[];
}

/** Writes `content` as `name` in the work folder and reads it back; origins are relative to the folder. */
async function read(name: string, content: string | Buffer): Promise<ReadBack> {
  const path = join(work, name);
  writeFileSync(path, content);
  const problems: ReadProblem[] = [];
  const events = [];
  for await (const e of readEventFile(path, (p) => problems.push(p)))
    events.push({
      origin: e.origin.slice(work.length + 1),
      format: e.source.format,
      get: (f: string) => e.fields.get(f),
      all: allFields(e),
    });
  return { events, problems: problems.map((p) => ({ ...p, origin: p.origin.slice(work.length + 1) })) };
}

/** Every field of an event as text, to compare events read from different files. */
function allFields(event: FirebreakEvent): string {
  return JSON.stringify(
    [...event.fields.keys()].map((k) => [k, event.fields.get(k)]),
    (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v),
  );
}

const pretty = (o: object): string => JSON.stringify(o, null, 2);

test('JSON lines and pretty-printed objects one after another, with their lines', async () => {
  const lines = await read('a.jsonl', `{"a":1}\n\n{"a":2}{"a":3}\n`);
  assert.deepEqual(
    lines.events.map((e) => [e.origin, e.get('a')]),
    [
      ['a.jsonl:1', 1],
      ['a.jsonl:3', 2],
      ['a.jsonl:3', 3],
    ],
  );
  const concatenated = await read('b.json', `Record 1\n${pretty({ a: { b: [1, { c: 2 }] } })}\nRecord 2\n${pretty({ a: 'x' })}\n`);
  assert.deepEqual(concatenated.problems, []);
  assert.deepEqual(
    concatenated.events.map((e) => [e.origin, e.get('a.b')]),
    [
      ['b.json:2', [1, { c: 2 }]],
      ['b.json:13', undefined],
    ],
  );
});

test('an array of objects is read element by element, on one line or pretty-printed', async () => {
  const objects = [{ n: 1 }, { n: 2, s: 'a, ] }' }, { n: 3 }];
  for (const [name, text] of [
    ['one-line.json', JSON.stringify(objects)],
    ['pretty.json', pretty(objects)],
  ] as const) {
    const { events, problems } = await read(name, text);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      events.map((e) => [e.get('n'), e.get('s')]),
      [
        [1, undefined],
        [2, 'a, ] }'],
        [3, undefined],
      ],
    );
  }
});

test('a broken value is reported where it starts and the values after it are read', async () => {
  const truncatedPretty = pretty({ a: 1, b: { c: 2 } })
    .split('\n')
    .slice(0, 3)
    .join('\n');
  const { events, problems } = await read(
    'c.json',
    [pretty({ n: 1 }), truncatedPretty, pretty({ n: 2 }), '{"n": "cut in a str', '{"n": 3}', 'not json', '[1,2]', '{"n": 4}'].join('\n'),
  );
  assert.deepEqual(
    events.map((e) => e.get('n')),
    [1, 2, 3, 4],
  );
  // The array's elements are values of their own: two numbers, neither an object.
  assert.deepEqual(
    problems.map((p) => p.origin),
    ['c.json:4', 'c.json:10', 'c.json:12', 'c.json:13', 'c.json:13'],
  );
  assert.match(problems[3]!.message, /not a JSON object/);
});

test('a JSON value longer than the limit is reported and skipped, and the values after it are read', async () => {
  const long = `{"n": 1, "s": "${'x'.repeat(MAX_JSON_VALUE)}"}`;
  const { events, problems } = await read('long.jsonl', `{"n": 0}\n${long}\n{"n": 2}\n`);
  assert.deepEqual(
    events.map((e) => e.get('n')),
    [0, 2],
  );
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.origin, 'long.jsonl:2');
  assert.match(problems[0]!.message, /longer than/);
});

test('a byte-order mark does not cost the first event; CRLF lines are read', async () => {
  const { events, problems } = await read(
    'd.jsonl',
    Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"n":1}\r\n{"n":2}\r\n')]),
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(
    events.map((e) => e.get('n')),
    [1, 2],
  );
});

test('jsonValues gives the same values however the text is cut into pieces', async () => {
  const text = [
    'Record 1',
    pretty({ a: 1, b: ['x', { y: '}' }] }),
    '{"c": "\\"{"}',
    pretty([{ d: 1 }, { e: 2 }]),
    'junk',
    '{"f": "cut',
  ].join('\n');
  const values = async (pieces: string[]): Promise<unknown[]> => {
    const out = [];
    for await (const v of jsonValues(pieces)) out.push(v);
    return out;
  };
  const whole = await values([text]);
  assert.deepEqual(
    whole.map((v) => (v as { line: number }).line),
    [2, 11, 13, 16, 20, 21],
  );
  for (let cut = 1; cut < text.length; cut++) assert.deepEqual(await values([text.slice(0, cut), text.slice(cut)]), whole, `cut at ${cut}`);
  assert.deepEqual(await values([...text]), whole, 'one character at a time');
});

const PAIR = 'evtx-json-pairs/rules/windows/process_creation/proc_creation_win_dism_remove';

test('evtx_dump JSON is flattened to the same fields as the EVTX record', { skip: sharedSkip(PAIR) }, async () => {
  const [evtx] = findFiles(sharedPath(PAIR), '.evtx');
  const fromEvtx = [];
  for await (const e of readEventFile(evtx!)) fromEvtx.push(e.fields);
  const fromJson = await read('pair.json', readFileSync(evtx!.replace(/\.evtx$/, '.json')));
  assert.equal(fromJson.events.length, 1);
  assert.equal(fromJson.events[0]!.format, 'evtx-json');
  for (const field of ['EventID', 'Channel', 'Image', 'CommandLine', 'TimeCreated_SystemTime', 'Provider_Name']) {
    assert.deepEqual(fromJson.events[0]!.get(field), fromEvtx[0]!.get(field), field);
  }
});

const SAMPLE = 'evtx-attack-samples/Defense Evasion/DE_1102_security_log_cleared.evtx';

test('a gzipped EVTX reads as the plain one, whatever the file is called', { skip: sharedSkip(SAMPLE) }, async () => {
  const plain = await read('plain.evtx', readFileSync(sharedPath(SAMPLE)));
  assert.equal(plain.events.length, 112);
  const gzipped = await read('security.log', gzipSync(readFileSync(sharedPath(SAMPLE))));
  assert.deepEqual(gzipped.problems, []);
  assert.deepEqual(
    gzipped.events.map((e) => [e.format, e.all, e.origin.split('#')[1]]),
    plain.events.map((e) => [e.format, e.all, e.origin.split('#')[1]]),
  );
});

test('gzipped JSON lines read as the plain ones', { skip: sharedSkip(PAIR) }, async () => {
  const jsonl = [];
  for await (const record of readEvtx(sharedPath(SAMPLE))) jsonl.push(JSON.stringify(record.json()));
  const text = jsonl.join('\n') + '\n';
  const plain = await read('plain.jsonl', text);
  const gzipped = await read('events.jsonl.gz', gzipSync(text));
  assert.equal(plain.events.length, 112);
  assert.deepEqual(gzipped.problems, []);
  assert.deepEqual(
    gzipped.events.map((e) => [e.format, e.all, e.origin.replace('events.jsonl.gz', '')]),
    plain.events.map((e) => [e.format, e.all, e.origin.replace('plain.jsonl', '')]),
  );
});

test('a truncated gzip file is a warning, and the events before the damage are read', { skip: sharedSkip(SAMPLE) }, async () => {
  const bytes = readFileSync(sharedPath(SAMPLE));
  const plain = await read('whole.evtx', bytes);
  const gzipped = gzipSync(bytes);
  const { events, problems } = await read('cut.evtx.gz', gzipped.subarray(0, Math.floor(gzipped.length * 0.6)));
  assert.ok(events.length > 0 && events.length < plain.events.length, `${events.length} of ${plain.events.length} events`);
  assert.deepEqual(
    events.map((e) => e.all),
    plain.events.slice(0, events.length).map((e) => e.all),
  );
  assert.ok(
    problems.some((p) => p.origin === 'cut.evtx.gz' && /gzip data damaged .*unexpected end of file/.test(p.message)),
    JSON.stringify(problems),
  );
});

test('the format is told by the content, not the name', { skip: sharedSkip(SAMPLE) }, async () => {
  const record = (await readEvtx(sharedPath(SAMPLE)).next()).value!;
  const files: [string, string | Buffer, string][] = [
    ['evtx.json', readFileSync(sharedPath(SAMPLE)), 'evtx'],
    ['evtx-json.evtx', JSON.stringify(record.json()), 'evtx-json'],
    ['ecs.xml', JSON.stringify({ '@timestamp': '2024-05-01T10:00:00Z', winlog: { channel: 'Security', event_id: '1102' } }), 'ecs'],
    ['xml.json', record.xml(), 'windows-xml'],
    ['auditd.json', 'type=USER_LOGIN msg=audit(1714557600.000:7): pid=1 uid=0 res=success\n', 'auditd'],
    ['other.log', '{"message": "hello"}\n', 'json'],
  ];
  for (const [name, content, format] of files) {
    const { events, problems } = await read(name, content);
    assert.deepEqual(problems, [], name);
    assert.deepEqual(new Set(events.map((e) => e.format)), new Set([format]), name);
  }
});

test('ECS: Windows names for winlog fields, every other field by its dotted path', async () => {
  const document = {
    '@timestamp': '2024-05-01T10:00:00.123Z',
    event: { code: '4688', category: ['process'] },
    host: { name: 'ws1' },
    log: { level: 'information' },
    process: { command_line: 'cmd /c whoami', pid: 4242 },
    winlog: {
      channel: 'Security',
      event_id: '4688',
      record_id: '99',
      task: 'Process Creation',
      keywords: ['Audit Success'],
      process: { pid: 4, thread: { id: 80 } },
      event_data: { NewProcessName: 'C:\\Windows\\System32\\cmd.exe', LogonProcessName: 'User32 ' },
    },
  };
  const { events, problems } = await read('ecs.ndjson', JSON.stringify(document) + '\n');
  assert.deepEqual(problems, []);
  const [event] = events;
  assert.equal(event!.format, 'ecs');
  const expected: Record<string, unknown> = {
    EventID: 4688,
    EventRecordID: 99,
    Channel: 'Security',
    Computer: 'ws1',
    Level: 'information',
    Task: 'Process Creation',
    Keywords: ['Audit Success'],
    Execution_ProcessID: 4,
    Execution_ThreadID: 80,
    TimeCreated_SystemTime: '2024-05-01T10:00:00.123Z',
    NewProcessName: 'C:\\Windows\\System32\\cmd.exe',
    LogonProcessName: 'User32',
    'process.command_line': 'cmd /c whoami',
    'process.pid': 4242,
    'event.category': ['process'],
    'winlog.event_id': '4688',
  };
  for (const [name, value] of Object.entries(expected)) assert.deepEqual(event!.get(name), value, name);
  const names = JSON.parse(event!.all).map(([name]: [string]) => name);
  assert.ok(names.includes('process.command_line') && names.includes('EventID'));
  assert.ok(!names.includes('winlog.event_id'), 'mapped winlog fields are listed once, under their Windows name');
});

test('a file that is no event log is a clear error naming it and what it starts with', async () => {
  const cases: [string, string | Buffer, RegExp][] = [
    ['notes.evtx', 'Dear diary,\nnothing happened.\n', /notes\.evtx: not a recognised event log \(starts with "Dear diary,"\)/],
    ['image.json', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]), /starts with bytes 89 50 4e 47 0d 0a 1a 0a/],
    ['archive.gz', gzipSync('PK this is not a log'), /archive\.gz: not a recognised event log \(gzip data that starts with "PK this/],
    ['page.xml', '<html><body>hi</body></html>', /page\.xml: not a recognised event log \(starts with "<html>/],
  ];
  for (const [name, content, message] of cases) {
    await assert.rejects(read(name, content), (error: Error) => error instanceof EventFileError && message.test(error.message), name);
  }
  await assert.rejects(
    async () => {
      for await (const e of readEventFile(join(work, 'does-not-exist.jsonl'))) assert.fail(`no event expected: ${e.origin}`);
    },
    (error: EventFileError) => error.code === 'ENOENT' && /^cannot open .*does-not-exist\.jsonl: ENOENT/.test(error.message),
  );
});

test('an empty file holds no events and is no error', async () => {
  assert.deepEqual(await read('empty.jsonl', ''), { events: [], problems: [] });
  assert.deepEqual(await read('blank.gz', gzipSync('\n\n')), { events: [], problems: [] });
});

test('leading white space past the first piece does not hide the events; past 1 MiB it is a clear error', async () => {
  const event = '{"EventID":1}\n';
  // More than the 64 KiB the first read returns: this file used to count as empty, its events dropped silently.
  for (const [name, content] of [
    ['padded.jsonl', '\n'.repeat(70 * 1024) + event],
    ['padded.jsonl.gz', gzipSync(' \r\n\t'.repeat(100 * 1024) + event)],
    ['padded-utf16.json', Buffer.from(' '.repeat(70 * 1024) + event, 'utf16le')],
  ] as const) {
    const { events, problems } = await read(name, content);
    assert.deepEqual([events.map((e) => e.get('EventID')), problems], [[1], []], name);
  }
  await assert.rejects(
    read('blank-megabyte.jsonl', ' '.repeat(MAX_LEADING_SPACE) + event),
    (error: Error) =>
      error instanceof EventFileError &&
      /blank-megabyte\.jsonl: not a recognised event log \(has only white space in its first 1 MiB\)$/.test(error.message),
  );
});

test('evtx_dump JSON nested 50,000 deep costs only its deep part: the events after it are read', async () => {
  // The flattening recursed without a limit: a stack overflow ended the file at that event.
  const deep = `${'{"x":'.repeat(50_000)}"leaf"${'}'.repeat(50_000)}`;
  const lines = [
    '{"Event":{"System":{"EventID":1},"EventData":{"Image":"before.exe"}}}',
    `{"Event":{"System":{"EventID":2},"EventData":{"Image":"deep.exe","Deep":${deep}}}}`,
    '{"Event":{"System":{"EventID":3},"EventData":{"Image":"after.exe"}}}',
  ];
  const { events, problems } = await read('deep.jsonl', lines.join('\n'));
  assert.deepEqual(
    events.map((e) => [e.origin, e.get('EventID'), e.get('Image')]),
    [
      ['deep.jsonl:1', 1, 'before.exe'],
      ['deep.jsonl:2', 2, 'deep.exe'],
      ['deep.jsonl:3', 3, 'after.exe'],
    ],
  );
  assert.deepEqual(problems, [
    { origin: 'deep.jsonl:2', message: 'EventData nests elements more than 64 deep; the deeper content is left out' },
  ]);
});

test(
  'a damaged EVTX record is reported with chunk and offset, and the other records are read',
  { skip: sharedSkip('evtx-attack-samples') },
  async () => {
    const original = readFileSync(sharedPath('evtx-attack-samples/Command and Control/bits_openvpn.evtx'));
    let intact = 0;
    for await (const e of readEventFile(sharedPath('evtx-attack-samples/Command and Control/bits_openvpn.evtx'))) intact += e ? 1 : 0;
    const damaged = Buffer.from(original);
    // The first record of chunk 1: break its signature.
    const chunkStart = 4096 + 65536;
    damaged.write('XXXX', chunkStart + 512, 'latin1');
    for (const [name, content] of [
      ['damaged.evtx', damaged],
      ['damaged.evtx.gz', gzipSync(damaged)],
    ] as const) {
      const { events, problems } = await read(name, content);
      assert.ok(
        problems.some((p) => /chunk 1 offset \d+/.test(p.origin)),
        JSON.stringify(problems),
      );
      assert.ok(events.length > 0 && events.length < intact, `${name}: ${events.length} of ${intact}`);
    }
  },
);

test('eventTime reads Windows, ECS and Zeek times', () => {
  assert.equal(eventTime(objectEvent({ TimeCreated_SystemTime: '2024-05-01T10:00:00.5Z' })), Date.parse('2024-05-01T10:00:00.5Z'));
  assert.equal(eventTime(objectEvent({ '@timestamp': '2024-05-01T10:00:00Z' })), Date.parse('2024-05-01T10:00:00Z'));
  assert.equal(eventTime(objectEvent({ ts: 1714557600.25 })), 1714557600250);
  assert.equal(eventTime(objectEvent({ time: 'not a time' })), undefined);
});
