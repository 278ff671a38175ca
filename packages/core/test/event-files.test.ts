/** Event files: JSON in its usual shapes, damage kept local, EVTX with its warnings. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { findFiles, sharedPath, sharedSkip } from '@firebreak/testkit';
import { objectEvent } from '@firebreak/sigma';
import { eventTime, jsonValues, readEventFile, type ReadProblem } from '../src/index.js';

const work = mkdtempSync(join(tmpdir(), 'firebreak-core-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function read(
  name: string,
  text: string | Buffer,
): Promise<{ events: { origin: string; get: (f: string) => unknown }[]; problems: ReadProblem[] }> {
  const path = join(work, name);
  writeFileSync(path, text);
  const problems: ReadProblem[] = [];
  const events = [];
  for await (const e of readEventFile(path, (p) => problems.push(p)))
    events.push({ origin: e.origin.slice(work.length + 1), get: (f: string) => e.fields.get(f) });
  return { events, problems: problems.map((p) => ({ ...p, origin: p.origin.slice(work.length + 1) })) };
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

test('a broken value is reported where it starts and the values after it are read', async () => {
  const truncatedPretty = pretty({ a: 1, b: { c: 2 } })
    .split('\n')
    .slice(0, 3)
    .join('\n');
  const { events, problems } = await read(
    'c.json',
    [pretty({ n: 1 }), truncatedPretty, pretty({ n: 2 }), '{"n": "cut in a str', '{"n": 3}', 'not json', '[1,2]'].join('\n'),
  );
  assert.deepEqual(
    events.map((e) => e.get('n')),
    [1, 2, 3],
  );
  assert.deepEqual(
    problems.map((p) => p.origin),
    ['c.json:4', 'c.json:10', 'c.json:12', 'c.json:13'],
  );
  assert.match(problems[3]!.message, /not a JSON object/);
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

test('jsonValues works on any iterable of lines', async () => {
  const out = [];
  for await (const v of jsonValues(['{', '  "a": 1', '}', '{"b": 2}'])) out.push(v);
  assert.deepEqual(out, [
    { text: '{\n  "a": 1\n}', line: 1 },
    { text: '{"b": 2}', line: 4 },
  ]);
});

const PAIR = 'evtx-json-pairs/rules/windows/process_creation/proc_creation_win_dism_remove';

test('evtx_dump JSON is flattened to the same fields as the EVTX record', { skip: sharedSkip(PAIR) }, async () => {
  const [evtx] = findFiles(sharedPath(PAIR), '.evtx');
  const fromEvtx = [];
  for await (const e of readEventFile(evtx!)) fromEvtx.push(e.fields);
  const fromJson = await read('pair.json', readFileSync(evtx!.replace(/\.evtx$/, '.json')));
  assert.equal(fromJson.events.length, 1);
  for (const field of ['EventID', 'Channel', 'Image', 'CommandLine', 'TimeCreated_SystemTime', 'Provider_Name']) {
    assert.deepEqual(fromJson.events[0]!.get(field), fromEvtx[0]!.get(field), field);
  }
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
    const { events, problems } = await read('damaged.evtx', damaged);
    assert.ok(
      problems.some((p) => /chunk 1 offset \d+/.test(p.origin)),
      JSON.stringify(problems),
    );
    assert.ok(events.length > 0 && events.length < intact, `${events.length} of ${intact}`);
  },
);

test('eventTime reads Windows, ECS and Zeek times', () => {
  assert.equal(eventTime(objectEvent({ TimeCreated_SystemTime: '2024-05-01T10:00:00.5Z' })), Date.parse('2024-05-01T10:00:00.5Z'));
  assert.equal(eventTime(objectEvent({ '@timestamp': '2024-05-01T10:00:00Z' })), Date.parse('2024-05-01T10:00:00Z'));
  assert.equal(eventTime(objectEvent({ ts: 1714557600.25 })), 1714557600250);
  assert.equal(eventTime(objectEvent({ time: 'not a time' })), undefined);
});
