/** BinXML tokens, templates and nested fragments, checked through all three renderings of synthetic records. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ChunkBuilder,
  Type,
  ansiText,
  binXmlValue,
  cdata,
  charRef,
  defineTemplate,
  el,
  entityRef,
  filetime,
  filetimeTicks,
  fragment,
  guid,
  guidBytes,
  hexInt64,
  instance,
  nullValue,
  optionalSub,
  pi,
  sid,
  stringArray,
  stringValue,
  sub,
  text,
  uint16,
  uint32,
  uint64,
  uint8,
  type Node,
} from './support/builder.js';
import { assertRenders, readChunk, singleRecord, xmlDocument } from './support/records.js';

const EVENT_NS = 'http://schemas.microsoft.com/win/2004/08/events/event';

/** How many times a name structure (character count, then UTF-16 text) is stored in a chunk. */
function storedNameCount(chunk: Buffer, name: string): number {
  const stored = Buffer.concat([Buffer.from([name.length, 0]), Buffer.from(name, 'utf16le')]);
  let count = 0;
  for (let at = chunk.indexOf(stored); at >= 0; at = chunk.indexOf(stored, at + 1)) count++;
  return count;
}

function occurrences(chunk: Buffer, bytes: Buffer): number {
  let count = 0;
  for (let at = chunk.indexOf(bytes); at >= 0; at = chunk.indexOf(bytes, at + 1)) count++;
  return count;
}

/** `<Event><EventData>…</EventData></Event>`, written without a template. */
function eventData(...children: Node[]): Node {
  return fragment(el('Event', {}, el('EventData', {}, ...children)));
}

function eventDataXml(...lines: string[]): string {
  return xmlDocument('<Event>', '  <EventData>', ...lines.map((line) => '    ' + line), '  </EventData>', '</Event>');
}

test('elements, attributes and value text, with names stored inline on first use and referenced after', () => {
  const chunk = new ChunkBuilder();
  chunk.addRecord(
    1,
    fragment(
      el(
        'Event',
        { xmlns: text(EVENT_NS) },
        el(
          'System',
          {},
          el('Provider', { Name: text('Test-Provider') }),
          el('EventID', {}, text('4624')),
          el('Channel', {}, text('Security')),
        ),
        el('EventData', {}, el('Data', { Name: text('A') }, text('x')), el('Data', { Name: text('B') }, text('y'))),
      ),
    ),
  );
  const bytes = chunk.bytes();
  // The second Data and its Name attribute refer back to the names the first one stored.
  assert.equal(storedNameCount(bytes, 'Data'), 1);
  assert.equal(storedNameCount(bytes, 'Name'), 1);
  const { records, warnings } = readChunk(bytes);
  assert.deepEqual(warnings, []);
  assertRenders(records[0], {
    json:
      `{"Event":{"#attributes":{"xmlns":"${EVENT_NS}"},` +
      '"System":{"Provider":{"#attributes":{"Name":"Test-Provider"}},"EventID":"4624","Channel":"Security"},' +
      '"EventData":{"A":"x","B":"y"}}}',
    xml: xmlDocument(
      `<Event xmlns="${EVENT_NS}">`,
      '  <System>',
      '    <Provider Name="Test-Provider"/>',
      '    <EventID>4624</EventID>',
      '    <Channel>Security</Channel>',
      '  </System>',
      '  <EventData>',
      '    <Data Name="A">x</Data>',
      '    <Data Name="B">y</Data>',
      '  </EventData>',
      '</Event>',
    ),
    flat: { Provider_Name: 'Test-Provider', EventID: '4624', Channel: 'Security', A: 'x', B: 'y' },
  });
});

test('a later record refers to names an earlier record of the chunk stored', () => {
  const chunk = new ChunkBuilder();
  const body = eventData(el('Data', { Name: text('Path') }, text('C:\\x')));
  chunk.addRecord(1, body);
  chunk.addRecord(2, body);
  const bytes = chunk.bytes();
  assert.equal(storedNameCount(bytes, 'EventData'), 1);
  const { records, warnings } = readChunk(bytes);
  assert.deepEqual(warnings, []);
  assert.equal(records.length, 2);
  for (const record of records) {
    assertRenders(record, {
      json: '{"Event":{"EventData":{"Path":"C:\\\\x"}}}',
      xml: eventDataXml('<Data Name="Path">C:\\x</Data>'),
      flat: { Path: 'C:\\x' },
    });
  }
});

test('ANSI value text', () => {
  assertRenders(singleRecord(eventData(el('Data', { Name: text('A') }, ansiText('caf\xe9')))), {
    json: '{"Event":{"EventData":{"A":"café"}}}',
    xml: eventDataXml('<Data Name="A">café</Data>'),
    flat: { A: 'café' },
  });
});

test('CDATA is text in JSON and flat, and stays a CDATA section in XML', () => {
  assertRenders(singleRecord(eventData(el('Script', {}, cdata('if (a < b && c) {}')))), {
    json: '{"Event":{"EventData":{"Script":"if (a < b && c) {}"}}}',
    xml: eventDataXml('<Script><![CDATA[if (a < b && c) {}]]></Script>'),
    flat: { Script: 'if (a < b && c) {}' },
  });
});

test('character references read as their character, in content and in attributes', () => {
  const record = singleRecord(
    fragment(
      el(
        'Event',
        {},
        el('System', {}, el('Provider', { Name: [text('a'), charRef(0x22), text('b')] })),
        el('EventData', {}, el('Data', { Name: text('A') }, text('1'), charRef(0x3c), text('2'))),
      ),
    ),
  );
  assertRenders(record, {
    json: '{"Event":{"System":{"Provider":{"#attributes":{"Name":"a\\"b"}}},"EventData":{"A":"1<2"}}}',
    xml: xmlDocument(
      '<Event>',
      '  <System>',
      '    <Provider Name="a&quot;b"/>',
      '  </System>',
      '  <EventData>',
      '    <Data Name="A">1&lt;2</Data>',
      '  </EventData>',
      '</Event>',
    ),
    flat: { Provider_Name: 'a"b', A: '1<2' },
  });
});

test('entity references read as the character they name, in content and in attributes', () => {
  const record = singleRecord(
    fragment(
      el(
        'Event',
        {},
        el('System', {}, el('Provider', { Name: [text('a'), entityRef('lt'), text('b')] })),
        el('EventData', {}, el('Data', { Name: text('A') }, text('R'), entityRef('amp'), text('D'), entityRef('lt'))),
      ),
    ),
  );
  assertRenders(record, {
    json: '{"Event":{"System":{"Provider":{"#attributes":{"Name":"a<b"}}},"EventData":{"A":"R&D<"}}}',
    xml: xmlDocument(
      '<Event>',
      '  <System>',
      '    <Provider Name="a&lt;b"/>',
      '  </System>',
      '  <EventData>',
      '    <Data Name="A">R&amp;D&lt;</Data>',
      '  </EventData>',
      '</Event>',
    ),
    flat: { Provider_Name: 'a<b', A: 'R&D<' },
  });
});

test('a processing instruction shows in XML only', () => {
  const record = singleRecord(
    fragment(pi('xml-stylesheet', 'type="text/xsl" href="e.xsl"'), el('Event', {}, el('System', {}, el('EventID', {}, text('1'))))),
  );
  assertRenders(record, {
    json: '{"Event":{"System":{"EventID":"1"}}}',
    xml: xmlDocument(
      '<?xml-stylesheet type="text/xsl" href="e.xsl"?>',
      '<Event>',
      '  <System>',
      '    <EventID>1</EventID>',
      '  </System>',
      '</Event>',
    ),
    flat: { EventID: '1' },
  });
});

test('tokens after EOF are not part of the record', () => {
  const body: Node = (x) =>
    x
      .fragmentHeader()
      .write(el('Event', {}, el('System', {}, el('EventID', {}, text('1')))))
      .eof()
      .write(el('Stray', {}, text('after EOF')));
  assertRenders(singleRecord(body), {
    json: '{"Event":{"System":{"EventID":"1"}}}',
    xml: xmlDocument('<Event>', '  <System>', '    <EventID>1</EventID>', '  </System>', '</Event>'),
    flat: { EventID: '1' },
  });
});

const SIMPLE_TEMPLATE = defineTemplate(
  '0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9',
  el(
    'Event',
    { xmlns: text(EVENT_NS) },
    el('System', {}, el('EventID', {}, sub(0, Type.UInt16)), el('Computer', {}, sub(1, Type.String))),
    el('EventData', {}, el('Data', { Name: text('Count') }, sub(2, Type.UInt32))),
  ),
);

test('a template instance defines its template inline; a later instance in the chunk refers to it', () => {
  const chunk = new ChunkBuilder();
  const first = chunk.addRecord(1, fragment(instance(SIMPLE_TEMPLATE, [uint16(4624), stringValue('HOST-1'), uint32(7)])));
  const second = chunk.addRecord(2, fragment(instance(SIMPLE_TEMPLATE, [uint16(4625), stringValue('HOST-2'), uint32(8)])));
  const bytes = chunk.bytes();
  assert.equal(occurrences(bytes, guidBytes(SIMPLE_TEMPLATE.guid)), 1);
  assert.ok(bytes.readUInt32LE(second + 4) < bytes.readUInt32LE(first + 4), 'the second record carries no definition');
  const { records, warnings } = readChunk(bytes);
  assert.deepEqual(warnings, []);
  const expected = (eventId: number, computer: string, count: number) => ({
    json:
      `{"Event":{"#attributes":{"xmlns":"${EVENT_NS}"},"System":{"EventID":${eventId},"Computer":"${computer}"},` +
      `"EventData":{"Count":${count}}}}`,
    xml: xmlDocument(
      `<Event xmlns="${EVENT_NS}">`,
      '  <System>',
      `    <EventID>${eventId}</EventID>`,
      `    <Computer>${computer}</Computer>`,
      '  </System>',
      '  <EventData>',
      `    <Data Name="Count">${count}</Data>`,
      '  </EventData>',
      '</Event>',
    ),
    flat: { EventID: eventId, Computer: computer, Count: count },
  });
  assertRenders(records[1], expected(4625, 'HOST-2', 8)); // the referring record first: it must not rely on the other being read
  assertRenders(records[0], expected(4624, 'HOST-1', 7));
});

const ACTIVITY_ID = '8E521E2B-5D1C-4A4F-9C3B-0A1B2C3D4E5F';

test('optional substitutions without a value: the attribute disappears, the element is null', () => {
  const template = defineTemplate(
    '11111111-2222-3333-4444-555555555555',
    el(
      'Event',
      {},
      el(
        'System',
        {},
        el('EventID', { Qualifiers: optionalSub(0, Type.UInt16) }, sub(1, Type.UInt16)),
        el('Correlation', { ActivityID: optionalSub(2, Type.Guid), RelatedActivityID: optionalSub(3, Type.Guid) }),
        el('Security', { UserID: optionalSub(4, Type.Sid) }),
      ),
      el('EventData', {}, el('Data', { Name: text('Optional') }, optionalSub(5, Type.String))),
    ),
  );
  const record = singleRecord(
    fragment(instance(template, [nullValue(), uint16(4111), guid(ACTIVITY_ID), nullValue(), nullValue(), nullValue()])),
  );
  assertRenders(record, {
    json:
      '{"Event":{"System":{"EventID":4111,"Correlation":{"#attributes":{"ActivityID":"8E521E2B-5D1C-4A4F-9C3B-0A1B2C3D4E5F"}},"Security":null},' +
      '"EventData":{"Optional":null}}}',
    xml: xmlDocument(
      '<Event>',
      '  <System>',
      '    <EventID>4111</EventID>',
      '    <Correlation ActivityID="{8e521e2b-5d1c-4a4f-9c3b-0a1b2c3d4e5f}"/>',
      '    <Security/>',
      '  </System>',
      '  <EventData>',
      '    <Data Name="Optional"/>',
      '  </EventData>',
      '</Event>',
    ),
    flat: { EventID: 4111, Correlation_ActivityID: ACTIVITY_ID, Optional: null },
  });
});

test('normal substitutions with a NULL value: the attribute is dropped from JSON and flat, the element is null', () => {
  const template = defineTemplate(
    '21111111-2222-3333-4444-555555555555',
    el(
      'Event',
      {},
      el(
        'System',
        {},
        el('EventID', { Qualifiers: sub(0, Type.UInt16) }, sub(1, Type.UInt16)),
        el('Security', { UserID: sub(2, Type.Sid) }),
      ),
      el('EventData', {}, el('Data', { Name: text('Plain') }, sub(3, Type.String))),
    ),
  );
  const record = singleRecord(fragment(instance(template, [uint16(16384), uint16(4111), nullValue(), nullValue()])));
  assertRenders(record, {
    json: '{"Event":{"System":{"EventID":{"#attributes":{"Qualifiers":16384},"#text":4111},"Security":null},"EventData":{"Plain":null}}}',
    xml: xmlDocument(
      '<Event>',
      '  <System>',
      '    <EventID Qualifiers="16384">4111</EventID>',
      '    <Security UserID=""/>',
      '  </System>',
      '  <EventData>',
      '    <Data Name="Plain"/>',
      '  </EventData>',
      '</Event>',
    ),
    flat: { EventID: 4111, EventID_Qualifiers: 16384, Plain: null },
  });
});

test('an optional attribute holding an empty string: kept as "" in JSON and flat, left out of XML', () => {
  const template = defineTemplate(
    '31111111-2222-3333-4444-555555555555',
    el('Event', {}, el('System', {}, el('Provider', { Name: sub(0, Type.String), EventSourceName: optionalSub(1, Type.String) }))),
  );
  assertRenders(singleRecord(fragment(instance(template, [stringValue('P'), stringValue('')]))), {
    json: '{"Event":{"System":{"Provider":{"#attributes":{"Name":"P","EventSourceName":""}}}}}',
    xml: xmlDocument('<Event>', '  <System>', '    <Provider Name="P"/>', '  </System>', '</Event>'),
    flat: { Provider_Name: 'P', Provider_EventSourceName: '' },
  });
});

const OUTER_TEMPLATE = defineTemplate(
  'AAAAAAAA-0000-0000-0000-000000000001',
  el('Event', { xmlns: text(EVENT_NS) }, el('System', {}, el('EventID', {}, sub(0, Type.UInt16))), sub(1, Type.BinXml)),
);
const EVENT_DATA_TEMPLATE = defineTemplate(
  'BBBBBBBB-0000-0000-0000-000000000002',
  el(
    'EventData',
    {},
    el('Data', { Name: text('User') }, sub(0, Type.String)),
    el('Data', { Name: text('LogonId') }, sub(1, Type.HexInt64)),
  ),
);

/** A Security-style record: EventData arrives as a BinXML value holding its own template instance. */
function nestedRecord(eventId: number, user: string, logonId: bigint): Node {
  return fragment(
    instance(OUTER_TEMPLATE, [uint16(eventId), binXmlValue(instance(EVENT_DATA_TEMPLATE, [stringValue(user), hexInt64(logonId)]))]),
  );
}

function nestedExpected(eventId: number, user: string, logonId: string) {
  return {
    json: `{"Event":{"#attributes":{"xmlns":"${EVENT_NS}"},"System":{"EventID":${eventId}},"EventData":{"User":"${user}","LogonId":"${logonId}"}}}`,
    xml: xmlDocument(
      `<Event xmlns="${EVENT_NS}">`,
      '  <System>',
      `    <EventID>${eventId}</EventID>`,
      '  </System>',
      '  <EventData>',
      `    <Data Name="User">${user}</Data>`,
      `    <Data Name="LogonId">${logonId}</Data>`,
      '  </EventData>',
      '</Event>',
    ),
    flat: { EventID: eventId, User: user, LogonId: logonId },
  };
}

test('BinXML inside a substitution, itself instantiating a template, expands in place', () => {
  assertRenders(singleRecord(nestedRecord(4624, 'alice', 0x3e7n)), nestedExpected(4624, 'alice', '0x3e7'));
});

test('a nested fragment refers to a template defined inside an earlier record of the chunk', () => {
  const chunk = new ChunkBuilder();
  chunk.addRecord(1, nestedRecord(4624, 'alice', 0x3e7n));
  chunk.addRecord(2, nestedRecord(4634, 'bob', 0x1_0000_0000n));
  const bytes = chunk.bytes();
  assert.equal(occurrences(bytes, guidBytes(EVENT_DATA_TEMPLATE.guid)), 1);
  const { records, warnings } = readChunk(bytes);
  assert.deepEqual(warnings, []);
  assertRenders(records[1], nestedExpected(4634, 'bob', '0x100000000'));
  assertRenders(records[0], nestedExpected(4624, 'alice', '0x3e7'));
});

test('BinXML inside a substitution holding plain elements', () => {
  const template = defineTemplate('CCCCCCCC-0000-0000-0000-000000000003', el('Event', {}, sub(0, Type.BinXml)));
  const value = binXmlValue(el('UserData', {}, el('Note', { Kind: text('plain') }, text('hello'))));
  assertRenders(singleRecord(fragment(instance(template, [value]))), {
    json: '{"Event":{"UserData":{"Note":{"#attributes":{"Kind":"plain"},"#text":"hello"}}}}',
    xml: xmlDocument('<Event>', '  <UserData>', '    <Note Kind="plain">hello</Note>', '  </UserData>', '</Event>'),
    flat: { Note: 'hello' },
  });
});

test('repeated sibling names: the newest value takes the bare name in JSON; flat collects them in order', () => {
  const record = singleRecord(eventData(el('Header', {}, text('a')), el('Header', {}, text('b')), el('Header', {}, text('c'))));
  assertRenders(record, {
    json: '{"Event":{"EventData":{"Header":"c","Header_1":"a","Header_2":"b"}}}',
    xml: eventDataXml('<Header>a</Header>', '<Header>b</Header>', '<Header>c</Header>'),
    flat: { Header: ['a', 'b', 'c'] },
  });
});

test('repeated named Data take suffixes the same way', () => {
  const record = singleRecord(eventData(el('Data', { Name: text('X') }, text('1')), el('Data', { Name: text('X') }, text('2'))));
  assertRenders(record, {
    json: '{"Event":{"EventData":{"X":"2","X_1":"1"}}}',
    xml: eventDataXml('<Data Name="X">1</Data>', '<Data Name="X">2</Data>'),
    flat: { X: ['1', '2'] },
  });
});

test('unnamed Data values collect under Data.#text', () => {
  const record = singleRecord(eventData(el('Data', {}, text('a')), el('Data', {}, text('b')), el('Data', {}, text('c'))));
  assertRenders(record, {
    json: '{"Event":{"EventData":{"Data":{"#text":["a","b","c"]}}}}',
    xml: eventDataXml('<Data>a</Data>', '<Data>b</Data>', '<Data>c</Data>'),
    flat: { Data: ['a', 'b', 'c'] },
  });
});

test('a single unnamed Data is Data.#text as a scalar', () => {
  assertRenders(singleRecord(eventData(el('Data', {}, text('only')))), {
    json: '{"Event":{"EventData":{"Data":{"#text":"only"}}}}',
    xml: eventDataXml('<Data>only</Data>'),
    flat: { Data: 'only' },
  });
});

test('an unnamed Data holding an array value is Data.#text as that array', () => {
  const template = defineTemplate(
    'D0D0D0D0-0000-0000-0000-000000000007',
    el('Event', {}, el('EventData', {}, el('Data', {}, sub(0, Type.String | Type.Array)))),
  );
  assertRenders(singleRecord(fragment(instance(template, [stringArray(['a', 'b'])]))), {
    json: '{"Event":{"EventData":{"Data":{"#text":["a","b"]}}}}',
    xml: eventDataXml('<Data>a,b</Data>'),
    flat: { Data: ['a', 'b'] },
  });
});

test('Data whose Name is a substitution is keyed by the substituted text', () => {
  const template = defineTemplate(
    'DDDDDDDD-0000-0000-0000-000000000004',
    el('Event', {}, el('EventData', {}, el('Data', { Name: sub(0, Type.String) }, sub(1, Type.UInt32)))),
  );
  assertRenders(singleRecord(fragment(instance(template, [stringValue('ProcessId'), uint32(4)]))), {
    json: '{"Event":{"EventData":{"ProcessId":4}}}',
    xml: eventDataXml('<Data Name="ProcessId">4</Data>'),
    flat: { ProcessId: 4 },
  });
});

const SECURITY_TEMPLATE = defineTemplate(
  'EEEEEEEE-0000-0000-0000-000000000005',
  el(
    'Event',
    { xmlns: text(EVENT_NS) },
    el(
      'System',
      {},
      el('Provider', { Name: sub(0, Type.String), Guid: sub(1, Type.String) }),
      el('EventID', { Qualifiers: optionalSub(2, Type.UInt16) }, sub(3, Type.UInt16)),
      el('Version', {}, sub(4, Type.UInt8)),
      el('Level', {}, sub(5, Type.UInt8)),
      el('Task', {}, sub(6, Type.UInt16)),
      el('Opcode', {}, sub(7, Type.UInt8)),
      el('Keywords', {}, sub(8, Type.HexInt64)),
      el('TimeCreated', { SystemTime: sub(9, Type.FileTime) }),
      el('EventRecordID', {}, sub(10, Type.UInt64)),
      el('Correlation', { ActivityID: optionalSub(11, Type.Guid), RelatedActivityID: optionalSub(12, Type.Guid) }),
      el('Execution', { ProcessID: sub(13, Type.UInt32), ThreadID: sub(14, Type.UInt32) }),
      el('Channel', {}, sub(15, Type.String)),
      el('Computer', {}, sub(16, Type.String)),
      el('Security', { UserID: optionalSub(17, Type.Sid) }),
    ),
    el(
      'EventData',
      {},
      el('Data', { Name: text('SubjectUserSid') }, sub(18, Type.Sid)),
      el('Data', { Name: text('TargetUserName') }, sub(19, Type.String)),
      el('Data', { Name: text('LogonType') }, sub(20, Type.UInt32)),
      el('Data', { Name: text('LogonProcessName') }, sub(21, Type.String)),
    ),
  ),
);

test('a Security-style record: System fields in all three renderings', () => {
  const values = [
    stringValue('Microsoft-Windows-Security-Auditing'),
    stringValue('{54849625-5478-4994-a5ba-3e3b0328c30d}'),
    nullValue(),
    uint16(4624),
    uint8(2),
    uint8(0),
    uint16(12544),
    uint8(0),
    hexInt64(0x8020000000000000n),
    filetime(filetimeTicks('2024-05-06T07:08:09.123Z', 4567n)),
    uint64(1234n),
    guid(ACTIVITY_ID),
    nullValue(),
    uint32(628),
    uint32(4321),
    stringValue('Security'),
    stringValue('WS01.corp.example'),
    nullValue(),
    sid('S-1-5-18'),
    stringValue('alice'),
    uint32(2),
    stringValue('Advapi  '),
  ];
  assertRenders(singleRecord(fragment(instance(SECURITY_TEMPLATE, values))), {
    json:
      `{"Event":{"#attributes":{"xmlns":"${EVENT_NS}"},"System":{` +
      '"Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing","Guid":"{54849625-5478-4994-a5ba-3e3b0328c30d}"}},' +
      '"EventID":4624,"Version":2,"Level":0,"Task":12544,"Opcode":0,"Keywords":"0x8020000000000000",' +
      '"TimeCreated":{"#attributes":{"SystemTime":"2024-05-06T07:08:09.123456Z"}},"EventRecordID":1234,' +
      `"Correlation":{"#attributes":{"ActivityID":"${ACTIVITY_ID}"}},"Execution":{"#attributes":{"ProcessID":628,"ThreadID":4321}},` +
      '"Channel":"Security","Computer":"WS01.corp.example","Security":null},' +
      '"EventData":{"SubjectUserSid":"S-1-5-18","TargetUserName":"alice","LogonType":2,"LogonProcessName":"Advapi"}}}',
    xml: xmlDocument(
      `<Event xmlns="${EVENT_NS}">`,
      '  <System>',
      '    <Provider Name="Microsoft-Windows-Security-Auditing" Guid="{54849625-5478-4994-a5ba-3e3b0328c30d}"/>',
      '    <EventID>4624</EventID>',
      '    <Version>2</Version>',
      '    <Level>0</Level>',
      '    <Task>12544</Task>',
      '    <Opcode>0</Opcode>',
      '    <Keywords>0x8020000000000000</Keywords>',
      '    <TimeCreated SystemTime="2024-05-06T07:08:09.1234567Z"/>',
      '    <EventRecordID>1234</EventRecordID>',
      '    <Correlation ActivityID="{8e521e2b-5d1c-4a4f-9c3b-0a1b2c3d4e5f}"/>',
      '    <Execution ProcessID="628" ThreadID="4321"/>',
      '    <Channel>Security</Channel>',
      '    <Computer>WS01.corp.example</Computer>',
      '    <Security/>',
      '  </System>',
      '  <EventData>',
      '    <Data Name="SubjectUserSid">S-1-5-18</Data>',
      '    <Data Name="TargetUserName">alice</Data>',
      '    <Data Name="LogonType">2</Data>',
      '    <Data Name="LogonProcessName">Advapi  </Data>',
      '  </EventData>',
      '</Event>',
    ),
    flat: {
      Provider_Name: 'Microsoft-Windows-Security-Auditing',
      Provider_Guid: '{54849625-5478-4994-a5ba-3e3b0328c30d}',
      EventID: 4624,
      Version: 2,
      Level: 0,
      Task: 12544,
      Opcode: 0,
      Keywords: '0x8020000000000000',
      TimeCreated_SystemTime: '2024-05-06T07:08:09.123456Z',
      EventRecordID: 1234,
      Correlation_ActivityID: ACTIVITY_ID,
      Execution_ProcessID: 628,
      Execution_ThreadID: 4321,
      Channel: 'Security',
      Computer: 'WS01.corp.example',
      SubjectUserSid: 'S-1-5-18',
      TargetUserName: 'alice',
      LogonType: 2,
      LogonProcessName: 'Advapi',
    },
  });
});

test('UserData fields by name in the flat view', () => {
  const logNs = 'http://manifests.microsoft.com/win/2004/08/windows/eventlog';
  const template = defineTemplate(
    'FFFFFFFF-0000-0000-0000-000000000006',
    el(
      'Event',
      { xmlns: text(EVENT_NS) },
      el('System', {}, el('EventID', {}, sub(0, Type.UInt16))),
      el(
        'UserData',
        {},
        el(
          'LogFileCleared',
          { xmlns: text(logNs) },
          el('SubjectUserSid', {}, sub(1, Type.Sid)),
          el('SubjectUserName', {}, sub(2, Type.String)),
          el('SubjectDomainName', {}, sub(3, Type.String)),
        ),
      ),
    ),
  );
  const userSid = 'S-1-5-21-1004336348-1177238915-682003330-500';
  const record = singleRecord(fragment(instance(template, [uint16(1102), sid(userSid), stringValue('admin'), stringValue('CORP')])));
  assertRenders(record, {
    json:
      `{"Event":{"#attributes":{"xmlns":"${EVENT_NS}"},"System":{"EventID":1102},"UserData":{"LogFileCleared":{` +
      `"#attributes":{"xmlns":"${logNs}"},"SubjectUserSid":"${userSid}","SubjectUserName":"admin","SubjectDomainName":"CORP"}}}}`,
    xml: xmlDocument(
      `<Event xmlns="${EVENT_NS}">`,
      '  <System>',
      '    <EventID>1102</EventID>',
      '  </System>',
      '  <UserData>',
      `    <LogFileCleared xmlns="${logNs}">`,
      `      <SubjectUserSid>${userSid}</SubjectUserSid>`,
      '      <SubjectUserName>admin</SubjectUserName>',
      '      <SubjectDomainName>CORP</SubjectDomainName>',
      '    </LogFileCleared>',
      '  </UserData>',
      '</Event>',
    ),
    flat: { EventID: 1102, SubjectUserSid: userSid, SubjectUserName: 'admin', SubjectDomainName: 'CORP' },
  });
});
