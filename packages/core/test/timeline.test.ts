/** Timeline building blocks: time order over many files, one-line summaries, reading inputs with bad files among them. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readEvtx } from '@firebreak/evtx';
import { objectEvent } from '@firebreak/sigma';
import { findFiles, sharedPath, sharedSkip } from '@firebreak/testkit';
import { FirebreakEvent, InputReader, TimedLines, eventSummary, jsonText, oneLine, timeOrder, type ReadProblem } from '../src/index.js';

const work = mkdtempSync(join(tmpdir(), 'firebreak-timeline-'));
after(() => rmSync(work, { recursive: true, force: true }));

const FOLDER = 'evtx-attack-samples/Lateral Movement';

test('timeOrder is stable: equal times keep their order, events without a time go last', () => {
  const items = [
    { t: 5, n: 'a' },
    { t: undefined, n: 'b' },
    { t: 1, n: 'c' },
    { t: 5, n: 'd' },
    { t: undefined, n: 'e' },
    { t: 1, n: 'f' },
  ];
  assert.deepEqual(
    timeOrder(items, (i) => i.t).map((i) => i.n),
    ['c', 'f', 'a', 'd', 'b', 'e'],
  );
});

test('TimedLines gives the lines back in time order, stable, untimed last, bytes intact across blocks', () => {
  const lines = new TimedLines();
  const long = 'é→'.repeat(400_000) + '\n'; // more than a block: a block of its own
  const added: [number | undefined, string][] = [
    [5, 'a →\n'],
    [undefined, 'b\n'],
    [1, 'c ünïcode\n'],
    [5, long],
    [undefined, 'e\n'],
    [1, 'f\n'],
    [3, 'g\n'],
  ];
  for (const [time, line] of added) lines.add(time, line);
  for (let i = 0; i < 3000; i++) lines.add(10 + (i % 7), `${i}\n`);
  assert.equal(lines.size, added.length + 3000);
  const text = [...lines.ordered()].map((b) => b.toString('utf8'));
  assert.deepEqual(text.slice(0, 5), ['c ünïcode\n', 'f\n', 'g\n', 'a →\n', long]);
  assert.deepEqual(text.slice(-2), ['b\n', 'e\n']);
  const tail = text.slice(5, -2).map(Number);
  assert.deepEqual(
    tail,
    [...tail].sort((x, y) => (x % 7) - (y % 7) || x - y),
    'by time, then added order',
  );
  assert.deepEqual(
    [...lines.ordered((i) => i % 2 === 0)].slice(0, 3).map((b) => b.toString()),
    ['c ünïcode\n', 'g\n', 'a →\n'],
  );
});

test('every event of a folder of logs, in time order, ties in file then record order', { skip: sharedSkip(FOLDER) }, async () => {
  const files = findFiles(sharedPath(FOLDER), '.evtx');
  assert.ok(files.length > 20, `${files.length} EVTX files`);
  // Counted independently, with the EVTX reader alone.
  const expected = new Set<string>();
  for (const file of files) for await (const record of readEvtx(file)) expected.add(`${file}#${record.id}`);

  const reader = new InputReader([sharedPath(FOLDER)], { onProblem: () => {}, onFileError: (f, m) => assert.fail(`${f}: ${m}`) });
  const rows: { time: number | undefined; file: number; record: number; origin: string }[] = [];
  const fileIndex = new Map<string, number>();
  for await (const event of reader.events()) {
    if (!fileIndex.has(event.file)) fileIndex.set(event.file, fileIndex.size);
    rows.push({ time: event.timestamp, file: fileIndex.get(event.file)!, record: rows.length, origin: event.origin });
  }
  assert.equal(reader.files, files.length);
  const ordered = timeOrder([...rows], (r) => r.time);
  assert.equal(ordered.length, expected.size);
  assert.deepEqual(new Set(ordered.map((r) => r.origin)), expected, 'every record once');
  for (let i = 1; i < ordered.length; i++) {
    const [a, b] = [ordered[i - 1]!, ordered[i]!];
    assert.ok(a.time! <= b.time!, `times go forward at ${i}`);
    if (a.time === b.time) assert.ok(a.file < b.file || (a.file === b.file && a.record < b.record), `ties in input order at ${i}`);
  }
  assert.ok(
    ordered.some((r, i) => i > 0 && r.record < ordered[i - 1]!.record),
    'the files interleave: the order is not simply input order',
  );
});

const SYSMON_FILE = 'evtx-attack-samples/Command and Control/DE_sysmon-3-rdp-tun.evtx';
const LOGON_FILE = 'evtx-attack-samples/Credential Access/CA_4624_4625_LogonType2_LogonProc_chrome.evtx';

async function summaries(relative: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const reader = new InputReader([sharedPath(relative)], { onProblem: () => {}, onFileError: (f, m) => assert.fail(`${f}: ${m}`) });
  for await (const event of reader.events()) out.set(`${event.eventId}#${event.recordId}`, eventSummary(event));
  return out;
}

test('summaries of process creations, terminations, network connections and logons', { skip: sharedSkip(SYSMON_FILE) }, async () => {
  const sysmon = await summaries(SYSMON_FILE);
  const [creation] = [...sysmon.entries()].filter(([k]) => k.startsWith('1#'));
  assert.equal(
    creation![1],
    'C:\\Users\\IEUser\\Desktop\\plink.exe  plink.exe  10.0.2.18 -P 80 -C -R 127.0.0.3:4444:127.0.0.2:3389 -l test -pw test (pid 2312, parent 3904 cmd.exe)',
  );
  assert.ok([...sysmon.values()].includes('C:\\Users\\IEUser\\Desktop\\plink.exe → 10.0.2.18:80 (PC02)'));
  assert.ok([...sysmon.values()].includes('exited: C:\\Users\\IEUser\\Desktop\\plink.exe (pid 3520)'));
  assert.ok(
    [...sysmon.values()].some((s) => s.includes(' → [fe80:0:0:0:80ac:4126:fa58:1b81]:')),
    'IPv6 addresses in brackets',
  );

  const logons = [...(await summaries(LOGON_FILE)).values()];
  assert.deepEqual(logons, [
    'failed logon MSEDGEWIN10\\IEUser type 2 (Interactive)',
    'logon NT AUTHORITY\\SYSTEM type 5 (Service)',
    'logon MSEDGEWIN10\\IEUser type 2 (Interactive)',
    'logon MSEDGEWIN10\\IEUser type 2 (Interactive)',
  ]);
});

test('a summary is one line: control characters and line breaks in values become spaces; long values are cut', () => {
  const fields = { Channel: 'Application', EventID: 1000, Data: 'evil\u001b[2J\r\nnext\u2028line', Long: 'x'.repeat(1000) };
  const event = new FirebreakEvent(objectEvent(fields), { file: 'f', format: 'json', origin: 'f:1' }, () => fields);
  const summary = eventSummary(event);
  assert.equal(summary.split('Long=')[0], 'Data=evil [2J  next line ');
  assert.equal(summary.length, 'Data=evil [2J  next line Long='.length + 240 + 1);
  assert.equal(oneLine('a\tb\u0085c'), 'a b c');
});

/** `depth` lists, one inside the other, around `inner`: what a JSON log may hold, deeper than the stack goes. */
function nested(depth: number, inner: unknown): unknown {
  let value = inner;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

test('a summary of a field nested deeper than the stack goes: the lists as JSON, the depth cut', () => {
  const fields = { Channel: 'Application', EventID: 1000, Data: ['a', nested(100_000, 'x')], Other: [1, { b: 2 }] };
  const event = new FirebreakEvent(objectEvent(fields), { file: 'f', format: 'json', origin: 'f:1' }, () => fields);
  const summary = eventSummary(event);
  assert.equal(summary, `Data=a,${'['.repeat(64)}"[nested deeper than 64 levels]"${']'.repeat(64)} Other=1,{"b":2}`);
});

test('jsonText: the text of JSON.stringify, and for what it refuses BigInt digits, a note for depth and loops', () => {
  const plain = { a: [1, 'two', null, { b: true }], c: 'é\u0000' };
  assert.equal(jsonText(plain), JSON.stringify(plain));
  assert.equal(
    jsonText({ big: 2n ** 64n, list: [1n, undefined, () => 1], skipped: undefined }),
    '{"big":18446744073709551616,"list":[1,null,null]}',
  );
  const deep = JSON.parse(jsonText({ deep: nested(100_000, 'x'), big: 1n })) as { deep: unknown; big: number };
  let level = 0;
  let value = deep.deep;
  for (; Array.isArray(value); level++) value = value[0];
  assert.deepEqual([level, value], [63, '[nested deeper than 64 levels]']);
  const loop: Record<string, unknown> = { name: 'loop', n: 1n };
  loop.self = loop;
  assert.equal(jsonText(loop), '{"name":"loop","n":1,"self":"[circular]"}');
});

test('an unreadable file among readable ones is reported once and the others are read', { skip: sharedSkip(LOGON_FILE) }, async () => {
  const broken = join(work, 'broken.evtx');
  writeFileSync(broken, Buffer.from('ElfFile\0 this is not an event log at all'));
  const problems: ReadProblem[] = [];
  const failed: string[] = [];
  const reader = new InputReader([broken, sharedPath(LOGON_FILE), join(work, 'missing.evtx')], {
    onProblem: (p) => problems.push(p),
    onFileError: (file) => failed.push(file),
  });
  let events = 0;
  for await (const event of reader.events()) events += event.file === sharedPath(LOGON_FILE) ? 1 : 0;
  assert.equal(events, 4);
  assert.deepEqual(failed, [broken]);
  assert.deepEqual(
    problems.map((p) => p.origin),
    [join(work, 'missing.evtx')],
  );
  assert.deepEqual([reader.files, reader.unreadable, reader.readable], [2, 1, 1]);
});
