/** Windows XML exports: damage kept to its event, references expanded safely, encodings. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readEventFile, type ReadProblem } from '../src/index.js';
import { MAX_EVENT_XML, windowsXmlEvents } from '../src/readers/windows-xml.js';

const work = mkdtempSync(join(tmpdir(), 'firebreak-xml-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function read(
  name: string,
  content: string | Buffer,
): Promise<{ events: Record<string, unknown>[]; problems: string[]; raws: unknown[] }> {
  const path = join(work, name);
  writeFileSync(path, content);
  const problems: ReadProblem[] = [];
  const events = [];
  const raws = [];
  for await (const e of readEventFile(path, (p) => problems.push(p))) {
    events.push(Object.fromEntries([...e.fields.keys()].map((k) => [k, e.fields.get(k)])));
    raws.push(e.raw());
  }
  return { events, problems: problems.map((p) => `${p.origin.slice(work.length + 1)}: ${p.message}`), raws };
}

/** A Security 4688 as Windows renders it, with `commandLine` as the CommandLine value (already escaped). */
function event4688(record: number, commandLine: string): string {
  return (
    `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>` +
    `<Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-a5ba-3e3b0328c30d}'/>` +
    `<EventID>4688</EventID><Version>2</Version><Level>0</Level><Task>13312</Task><Opcode>0</Opcode>` +
    `<Keywords>0x8020000000000000</Keywords><TimeCreated SystemTime='2024-05-01T10:00:00.1234567Z'/>` +
    `<EventRecordID>${record}</EventRecordID><Correlation/><Execution ProcessID='4' ThreadID='80'/>` +
    `<Channel>Security</Channel><Computer>ws1.example.org</Computer><Security/></System>` +
    `<EventData><Data Name='NewProcessName'>C:\\Windows\\System32\\cmd.exe</Data><Data Name='CommandLine'>${commandLine}</Data>` +
    `<Data Name='ParentProcessName'></Data></EventData></Event>`
  );
}

test('System, EventData by name, references expanded, the raw record is its XML', async () => {
  const xml = event4688(7, 'cmd /c "a &amp; b" &lt;x&gt; &#x41;&#66;&apos;');
  const { events, problems, raws } = await read('one.xml', xml);
  assert.deepEqual(problems, []);
  assert.deepEqual(events, [
    {
      Provider_Name: 'Microsoft-Windows-Security-Auditing',
      Provider_Guid: '{54849625-5478-4994-a5ba-3e3b0328c30d}',
      EventID: 4688,
      Version: 2,
      Level: 0,
      Task: 13312,
      Opcode: 0,
      Keywords: '0x8020000000000000',
      TimeCreated_SystemTime: '2024-05-01T10:00:00.1234567Z',
      EventRecordID: 7,
      Execution_ProcessID: 4,
      Execution_ThreadID: 80,
      Channel: 'Security',
      Computer: 'ws1.example.org',
      NewProcessName: 'C:\\Windows\\System32\\cmd.exe',
      CommandLine: `cmd /c "a & b" <x> AB'`,
      ParentProcessName: '',
    },
  ]);
  assert.deepEqual(raws, [xml]);
});

test('unnamed Data make one list, UserData and RenderingInfo are flattened as the EVTX view does', async () => {
  const xml =
    `<Events><Event><System><EventID Qualifiers='16384'>800</EventID><Channel>Windows PowerShell</Channel></System>` +
    `<EventData><Data>first</Data><Data>second\r\nline  </Data><Binary>00AA</Binary></EventData>` +
    `<RenderingInfo Culture='en-US'><Message>m</Message><Keywords><Keyword>Classic</Keyword></Keywords></RenderingInfo></Event>` +
    `<Event><System><EventID>1102</EventID></System><UserData><LogFileCleared xmlns='x'><SubjectUserName>u</SubjectUserName>` +
    `<Nested><Inner><![CDATA[<raw & text>]]></Inner></Nested></LogFileCleared></UserData></Event></Events>`;
  const { events, problems } = await read('lists.xml', xml);
  assert.deepEqual(problems, []);
  assert.deepEqual(events, [
    {
      EventID: 800,
      EventID_Qualifiers: 16384,
      Channel: 'Windows PowerShell',
      // Trailing white space trimmed, CRLF inside kept, as in the EVTX view.
      Data: ['first', 'second\r\nline'],
      Binary: '00AA',
      RenderingInfo_Message: 'm',
      RenderingInfo_Keyword: 'Classic',
    },
    { EventID: 1102, SubjectUserName: 'u', Inner: '<raw & text>' },
  ]);
});

test('a malformed event is reported with its line, and the events around it are read', async () => {
  const xml = [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<!-- exported -->',
    '<Events>',
    event4688(1, 'one'),
    event4688(2, 'two &unknown; entity'),
    event4688(3, 'three'),
    event4688(4, '<b>unclosed'),
    event4688(5, 'five'),
    '<Event><System><EventID>6</EventID>',
    event4688(7, 'seven'),
    'stray text',
    event4688(8, 'eight'),
    '</Events>',
  ].join('\n');
  const { events, problems } = await read('damaged.xml', xml);
  assert.deepEqual(
    events.map((e) => e.EventRecordID),
    [1, 3, 5, 7, 8],
  );
  assert.deepEqual(problems, [
    'damaged.xml:5: malformed event XML: reference &unknown; is not one XML predefines; skipped',
    'damaged.xml:7: malformed event XML: </Data> does not close <b>; skipped',
    'damaged.xml:9: this <Event> element is not closed before the next one; skipped',
    'damaged.xml:11: text outside <Event> elements; ignored',
  ]);
  const cut = await read('cut.xml', xml.slice(0, xml.indexOf('<Data', xml.indexOf('<EventRecordID>8'))));
  assert.equal(cut.events.length, 4);
  assert.match(cut.problems.at(-1)!, /^cut\.xml:12: the file ends inside this <Event> element; skipped$/);
});

test('a DTD is skipped, never read: no entity can be defined or fetched', async () => {
  const secret = join(work, 'secret.txt');
  writeFileSync(secret, 'TOP SECRET');
  const xml =
    `<?xml version="1.0"?>\n<!DOCTYPE Events [<!ENTITY xxe SYSTEM "file://${secret}"> <!ENTITY big "${'x'.repeat(100)}">]>\n` +
    `<Events>${event4688(1, 'a &xxe; b')}${event4688(2, '&big;&big;')}${event4688(3, 'plain')}</Events>`;
  const { events, problems } = await read('dtd.xml', xml);
  assert.deepEqual(
    events.map((e) => e.CommandLine),
    ['plain'],
  );
  assert.equal(problems.length, 2);
  for (const p of problems) assert.match(p, /reference &(xxe|big); is not one XML predefines/);
  assert.ok(!JSON.stringify(events).includes('TOP SECRET'));
});

test('UTF-16 with or without a byte-order mark, little or big endian', async () => {
  const xml = `<?xml version="1.0" encoding="UTF-16"?>\r\n<Events>${event4688(1, 'naïve ✓ 𝄞')}</Events>`;
  const le = Buffer.from(xml, 'utf16le');
  const be = Buffer.from(le).swap16();
  for (const [name, bytes] of [
    ['le-bom.xml', Buffer.concat([Buffer.from([0xff, 0xfe]), le])],
    ['be-bom.xml', Buffer.concat([Buffer.from([0xfe, 0xff]), be])],
    ['le.xml', le],
    ['be.xml', be],
  ] as const) {
    const { events, problems } = await read(name, bytes);
    assert.deepEqual(problems, [], name);
    assert.deepEqual(
      events.map((e) => e.CommandLine),
      ['naïve ✓ 𝄞'],
      name,
    );
  }
});

test('an event longer than the limit is reported and skipped, and the next one is read', async () => {
  const long = event4688(1, 'x'.repeat(MAX_EVENT_XML));
  const { events, problems } = await read('long.xml', `${event4688(0, 'before')}\n${long}\n${event4688(2, 'after')}`);
  assert.deepEqual(
    events.map((e) => e.EventRecordID),
    [0, 2],
  );
  assert.deepEqual(problems, [`long.xml:2: <Event> element longer than ${MAX_EVENT_XML} characters; skipped`]);
});

/** The events (as field objects) and problems of XML text arriving in `pieces`. */
async function readPieces(pieces: Iterable<string>): Promise<{ events: Record<string, unknown>[]; problems: string[] }> {
  const problems: string[] = [];
  const events = [];
  const text = (async function* () {
    yield* pieces;
  })();
  for await (const e of windowsXmlEvents('t.xml', text, (p) => problems.push(`${p.origin}: ${p.message}`))) {
    events.push(Object.fromEntries([...e.fields.keys()].map((k) => [k, e.fields.get(k)])));
  }
  return { events, problems };
}

test('300,000 comments and CDATA sections in one event are passed over in linear time', async () => {
  // One piece of 2.4 MB: searching for </Event> again from each comment to the end of the text was
  // ~3·10^11 character comparisons (minutes; 550,000 comments in a file took 11 s). Remembering how
  // far the search got reads it in well under a second; a hang here is the failure.
  const body = '<!---->'.repeat(200_000) + '<![CDATA[]]>'.repeat(100_000);
  const xml = `<Events><Event><System><EventID>1</EventID></System><EventData><Data Name='A'>a${body}b</Data></EventData></Event>${event4688(2, 'next')}</Events>`;
  const { events, problems } = await readPieces([xml]);
  assert.deepEqual(problems, []);
  assert.deepEqual(
    events.map((e) => [e.EventID, e.A ?? e.EventRecordID]),
    [
      [1, 'ab'],
      [4688, 2],
    ],
  );
});

test('events read the same whatever the pieces the text arrives in', async () => {
  // Tokens split between pieces, end tags hidden in comments and CDATA, </EventData> before </Event>.
  const xml = [
    '<?xml version="1.0"?><!DOCTYPE Events [<!ENTITY e "x">]><!-- a </Event> in a comment -->',
    `<Events>${event4688(1, 'one')}`,
    `<Event><System><EventID>2</EventID></System><EventData><Data Name='C'><![CDATA[</Event>]]></Data><!-- </Event> --></EventData></Event>`,
    `stray ${event4688(3, 'three<!-- a comment in a value -->')}<?pi </Event> ?>`,
    `<Event><System><EventID>4</EventID>`,
    `${event4688(5, 'five')}</Events>`,
  ].join('\n');
  const whole = await readPieces([xml]);
  assert.deepEqual(
    whole.events.map((e) => [e.EventRecordID ?? e.EventID, e.CommandLine ?? e.C]),
    [
      [1, 'one'],
      [2, '</Event>'],
      [3, 'three'],
      [5, 'five'],
    ],
  );
  assert.deepEqual(whole.problems, [
    't.xml:4: text outside <Event> elements; ignored',
    't.xml:5: this <Event> element is not closed before the next one; skipped',
  ]);
  for (const size of [1, 2, 3, 5, 7, 8, 9, 10, 13, 64, 100]) {
    const pieces = Array.from({ length: Math.ceil(xml.length / size) }, (_, i) => xml.slice(i * size, (i + 1) * size));
    assert.deepEqual(await readPieces(pieces), whole, `pieces of ${size}`);
  }
});

test('20,000 empty <Event/> elements before the end tag are each reported, and the events after them read', async () => {
  // They were retried by recursion, one generator inside the next, and overflowed the stack: the whole file was lost.
  const xml = `<Events>${'<Event/>'.repeat(20_000)}${event4688(1, 'kept')}${event4688(2, 'also kept')}</Events>`;
  const { events, problems } = await read('empty-events.xml', xml);
  assert.deepEqual(
    events.map((e) => e.EventRecordID),
    [1, 2],
  );
  assert.equal(problems.length, 20_000);
  assert.equal(problems[0], 'empty-events.xml:1: this <Event> element is not closed before the next one; skipped');
});

test('section names are names: <constructor> and <__proto__> find no prefix on the object prototype', async () => {
  const xml =
    `<Event><System><EventID>1</EventID></System><EventData><Data Name='__proto__'>p</Data><Data Name='constructor'>c</Data></EventData>` +
    `<constructor><Data Name='Q'>q</Data></constructor><__proto__><Data Name='R'>r</Data></__proto__>` +
    `<RenderingInfo><Level>Information</Level></RenderingInfo></Event>`;
  const { events, problems } = await read('proto.xml', xml);
  assert.deepEqual(problems, []);
  assert.deepEqual(Object.entries(events[0]!), [
    ['EventID', 1],
    ['__proto__', 'p'],
    ['constructor', 'c'],
    ['Q', 'q'],
    ['R', 'r'],
    ['RenderingInfo_Level', 'Information'],
  ]);
});

test('a problem quotes at most a short excerpt of a crafted name', async () => {
  const long = 'N'.repeat(100_000);
  const { events, problems } = await read('long-name.xml', `<Event><System><${long}>x</${long}x></System></Event>${event4688(1, 'next')}`);
  assert.equal(events.length, 1);
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^long-name\.xml:1: malformed event XML: <\/N+…> does not close <N+…>; skipped$/);
  assert.ok(problems[0]!.length < 200, `${problems[0]!.length} characters`);
});
