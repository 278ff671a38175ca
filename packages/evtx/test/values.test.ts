/**
 * Every substitution value type, scalar and array, as `<Data Name="V">%0</Data>`: the evtx_dump
 * JSON form (exact text and object), the Windows XML text and the flat value.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatRustFloat, type FlatValue, type JsonValue } from '../src/index.js';
import {
  Type,
  ansiStringArray,
  ansiStringValue,
  arrayOf,
  binary,
  bool,
  defineTemplate,
  el,
  evtHandle,
  evtXml,
  filetime,
  filetimeTicks,
  fragment,
  guid,
  hexInt32,
  hexInt64,
  instance,
  int16,
  int32,
  int64,
  int8,
  nullValue,
  rawValue,
  real32,
  real64,
  sid,
  sizeT,
  stringArray,
  stringValue,
  sub,
  systemtime,
  text,
  uint16,
  uint32,
  uint64,
  uint8,
  type SubstitutionValue,
  type SystemTime,
} from './support/builder.js';
import { assertRenders, singleRecord, xmlDocument } from './support/records.js';

interface Expected {
  /** The value's JSON text inside `{"Event":{"EventData":{"V":…}}}`. */
  json: string;
  /** The value in `json()`, when `JSON.parse` cannot give it (64-bit integers). */
  jsonValue?: JsonValue;
  /** The element text in XML (escaped); empty means `<Data Name="V"/>`. */
  xml: string;
  flat: FlatValue;
}

/** A record whose one Data element is substitution 0, declared in the template with `declaredType`. */
function dataRecord(value: SubstitutionValue, declaredType = value.type) {
  const template = defineTemplate(
    '99999999-8888-7777-6666-555555555555',
    el('Event', {}, el('EventData', {}, el('Data', { Name: text('V') }, sub(0, declaredType)))),
  );
  return singleRecord(fragment(instance(template, [value])));
}

function assertValue(value: SubstitutionValue, expected: Expected, declaredType?: number): void {
  assertRenders(dataRecord(value, declaredType), {
    json: `{"Event":{"EventData":{"V":${expected.json}}}}`,
    jsonObject: expected.jsonValue === undefined ? undefined : { Event: { EventData: { V: expected.jsonValue } } },
    xml: xmlDocument(
      '<Event>',
      '  <EventData>',
      expected.xml === '' ? '    <Data Name="V"/>' : `    <Data Name="V">${expected.xml}</Data>`,
      '  </EventData>',
      '</Event>',
    ),
    flat: { V: expected.flat },
  });
}

const GUID_A = '8E521E2B-5D1C-4A4F-9C3B-0A1B2C3D4E5F';
const GUID_B = '00000000-0000-0000-C000-000000000046';
const TIME_A = filetimeTicks('2024-01-02T03:04:05.123Z', 4567n);
const TIME_B = filetimeTicks('1999-12-31T23:59:59.999Z', 9999n);
const LEAP_DAY: SystemTime = { year: 2024, month: 2, dayOfWeek: 4, day: 29, hour: 13, minute: 14, second: 15, milliseconds: 678 };
const NEW_YEAR: SystemTime = { year: 2000, month: 1, dayOfWeek: 6, day: 1, hour: 0, minute: 0, second: 0, milliseconds: 0 };
const DOMAIN_ADMINS = 'S-1-5-21-1004336348-1177238915-682003330-512';

const SCALARS: [string, SubstitutionValue, Expected][] = [
  ['NULL', nullValue(), { json: 'null', xml: '', flat: null }],
  ['UTF-16 string', stringValue('hello wörld'), { json: '"hello wörld"', xml: 'hello wörld', flat: 'hello wörld' }],
  [
    'UTF-16 string: NUL terminator cut; trailing whitespace trimmed in JSON and flat, kept in XML',
    stringValue('Advapi  \0'),
    { json: '"Advapi"', xml: 'Advapi  ', flat: 'Advapi' },
  ],
  [
    'UTF-16 string needing escapes',
    stringValue('a "quoted" <tag> & \\ path'),
    { json: '"a \\"quoted\\" <tag> & \\\\ path"', xml: 'a "quoted" &lt;tag&gt; &amp; \\ path', flat: 'a "quoted" <tag> & \\ path' },
  ],
  ['empty UTF-16 string', stringValue(''), { json: '""', xml: '', flat: '' }],
  [
    'ANSI string: code page 1252, NULs dropped',
    ansiStringValue('price \x80 5\0'),
    { json: '"price € 5"', xml: 'price € 5', flat: 'price € 5' },
  ],
  ['Int8', int8(-128), { json: '-128', xml: '-128', flat: -128 }],
  ['UInt8', uint8(255), { json: '255', xml: '255', flat: 255 }],
  ['Int16', int16(-32768), { json: '-32768', xml: '-32768', flat: -32768 }],
  ['UInt16', uint16(65535), { json: '65535', xml: '65535', flat: 65535 }],
  ['Int32', int32(-2147483648), { json: '-2147483648', xml: '-2147483648', flat: -2147483648 }],
  ['UInt32', uint32(4294967295), { json: '4294967295', xml: '4294967295', flat: 4294967295 }],
  ['Int64 within 2^53', int64(-5000000000n), { json: '-5000000000', xml: '-5000000000', flat: -5000000000 }],
  [
    'Int64 minimum',
    int64(-(2n ** 63n)),
    { json: '-9223372036854775808', jsonValue: -(2n ** 63n), xml: '-9223372036854775808', flat: -(2n ** 63n) },
  ],
  [
    'UInt64 just past 2^53',
    uint64(2n ** 53n + 1n),
    { json: '9007199254740993', jsonValue: 2n ** 53n + 1n, xml: '9007199254740993', flat: 2n ** 53n + 1n },
  ],
  [
    'UInt64 maximum',
    uint64(2n ** 64n - 1n),
    { json: '18446744073709551615', jsonValue: 2n ** 64n - 1n, xml: '18446744073709551615', flat: 2n ** 64n - 1n },
  ],
  ['Real32 1.0', real32(1), { json: '1.0', xml: '1', flat: 1 }],
  [
    'Real32 0.1: widened to f64 in JSON, shortest f32 text in XML',
    real32(0.1),
    { json: '0.10000000149011612', xml: '0.1', flat: Math.fround(0.1) },
  ],
  ['Real64 0.1', real64(0.1), { json: '0.1', xml: '0.1', flat: 0.1 }],
  ['Real64 1e16', real64(1e16), { json: '1e16', xml: '10000000000000000', flat: 1e16 }],
  ['Real64 1e15', real64(1e15), { json: '1000000000000000.0', xml: '1000000000000000', flat: 1e15 }],
  ['Real64 -2.5e-7', real64(-2.5e-7), { json: '-2.5e-7', xml: '-2.5e-7', flat: -2.5e-7 }],
  ['Bool true', bool(true), { json: 'true', xml: 'true', flat: true }],
  ['Bool false', bool(false), { json: 'false', xml: 'false', flat: false }],
  ['Bool is 32 bits: 0x100 is true', rawValue(Type.Bool, Buffer.from([0, 1, 0, 0])), { json: 'true', xml: 'true', flat: true }],
  ['Binary', binary([0x0a, 0x1b, 0xff]), { json: '"0A1BFF"', xml: '0A1BFF', flat: '0A1BFF' }],
  ['empty Binary', binary([]), { json: '""', xml: '', flat: '' }],
  [
    'GUID: uppercase without braces, lowercase in braces in XML',
    guid(GUID_A),
    { json: `"${GUID_A}"`, xml: '{8e521e2b-5d1c-4a4f-9c3b-0a1b2c3d4e5f}', flat: GUID_A },
  ],
  ['SizeT of 4 bytes', sizeT(0x1234n, 4), { json: '"0x1234"', xml: '0x1234', flat: '0x1234' }],
  ['SizeT of 8 bytes', sizeT(0x123456789abcn, 8), { json: '"0x123456789abc"', xml: '0x123456789abc', flat: '0x123456789abc' }],
  [
    'FILETIME: µs truncated in JSON, 100 ns in XML',
    filetime(TIME_A),
    { json: '"2024-01-02T03:04:05.123456Z"', xml: '2024-01-02T03:04:05.1234567Z', flat: '2024-01-02T03:04:05.123456Z' },
  ],
  [
    'FILETIME zero',
    filetime(0n),
    { json: '"1601-01-01T00:00:00.000000Z"', xml: '1601-01-01T00:00:00.0000000Z', flat: '1601-01-01T00:00:00.000000Z' },
  ],
  [
    'SYSTEMTIME',
    systemtime(LEAP_DAY),
    { json: '"2024-02-29T13:14:15.678000Z"', xml: '2024-02-29T13:14:15.6780000Z', flat: '2024-02-29T13:14:15.678000Z' },
  ],
  ['SID', sid(DOMAIN_ADMINS), { json: `"${DOMAIN_ADMINS}"`, xml: DOMAIN_ADMINS, flat: DOMAIN_ADMINS }],
  [
    'SID with a 48-bit authority',
    sid('S-1-281474976710655-7'),
    { json: '"S-1-281474976710655-7"', xml: 'S-1-281474976710655-7', flat: 'S-1-281474976710655-7' },
  ],
  ['HexInt32: lowercase, unpadded', hexInt32(0xdeadbeef), { json: '"0xdeadbeef"', xml: '0xdeadbeef', flat: '0xdeadbeef' }],
  ['HexInt32 zero', hexInt32(0), { json: '"0x0"', xml: '0x0', flat: '0x0' }],
  [
    'HexInt64 high bit',
    hexInt64(0x8000000000000000n),
    { json: '"0x8000000000000000"', xml: '0x8000000000000000', flat: '0x8000000000000000' },
  ],
  ['HexInt64 small', hexInt64(0x3e7n), { json: '"0x3e7"', xml: '0x3e7', flat: '0x3e7' }],
  ['EvtHandle of 4 bytes', evtHandle(7n, 4), { json: '7', xml: '7', flat: 7 }],
  ['EvtHandle of 8 bytes', evtHandle(2n ** 40n, 8), { json: '1099511627776', xml: '1099511627776', flat: 1099511627776 }],
  ['EvtXml', evtXml('<Item a="1"/>'), { json: '"<Item a=\\"1\\"/>"', xml: '&lt;Item a="1"/&gt;', flat: '<Item a="1"/>' }],
];

const ARRAYS: [string, SubstitutionValue, Expected][] = [
  ['UTF-16 strings', stringArray(['a', 'b c', '']), { json: '["a","b c",""]', xml: 'a,b c,', flat: ['a', 'b c', ''] }],
  ['no UTF-16 strings', stringArray([]), { json: '[]', xml: '', flat: [] }],
  ['ANSI strings', ansiStringArray(['one', 'tw\x80']), { json: '["one","tw€"]', xml: 'one,tw€', flat: ['one', 'tw€'] }],
  ['Int8', arrayOf(Type.Int8, [int8(-1), int8(127)]), { json: '[-1,127]', xml: '-1,127', flat: [-1, 127] }],
  ['UInt8 (numbers, not hex)', arrayOf(Type.UInt8, [uint8(0), uint8(255)]), { json: '[0,255]', xml: '0,255', flat: [0, 255] }],
  ['Int16', arrayOf(Type.Int16, [int16(-2), int16(300)]), { json: '[-2,300]', xml: '-2,300', flat: [-2, 300] }],
  ['UInt16', arrayOf(Type.UInt16, [uint16(1), uint16(65535)]), { json: '[1,65535]', xml: '1,65535', flat: [1, 65535] }],
  ['Int32', arrayOf(Type.Int32, [int32(-7), int32(8)]), { json: '[-7,8]', xml: '-7,8', flat: [-7, 8] }],
  ['UInt32', arrayOf(Type.UInt32, [uint32(4294967295), uint32(0)]), { json: '[4294967295,0]', xml: '4294967295,0', flat: [4294967295, 0] }],
  [
    'Int64',
    arrayOf(Type.Int64, [int64(-1n), int64(2n ** 63n - 1n)]),
    { json: '[-1,9223372036854775807]', jsonValue: [-1, 2n ** 63n - 1n], xml: '-1,9223372036854775807', flat: [-1, 2n ** 63n - 1n] },
  ],
  [
    'UInt64',
    arrayOf(Type.UInt64, [uint64(1n), uint64(2n ** 64n - 1n)]),
    { json: '[1,18446744073709551615]', jsonValue: [1, 2n ** 64n - 1n], xml: '1,18446744073709551615', flat: [1, 2n ** 64n - 1n] },
  ],
  [
    'Real32',
    arrayOf(Type.Real32, [real32(1), real32(0.5), real32(0.1)]),
    { json: '[1.0,0.5,0.10000000149011612]', xml: '1,0.5,0.1', flat: [1, 0.5, Math.fround(0.1)] },
  ],
  [
    'Real64',
    arrayOf(Type.Real64, [real64(0.1), real64(1e16), real64(-3)]),
    { json: '[0.1,1e16,-3.0]', xml: '0.1,10000000000000000,-3', flat: [0.1, 1e16, -3] },
  ],
  ['Bool (32 bits each)', arrayOf(Type.Bool, [bool(true), bool(false)]), { json: '[true,false]', xml: 'true,false', flat: [true, false] }],
  [
    'GUID',
    arrayOf(Type.Guid, [guid(GUID_A), guid(GUID_B)]),
    {
      json: `["${GUID_A}","${GUID_B}"]`,
      xml: '{8e521e2b-5d1c-4a4f-9c3b-0a1b2c3d4e5f},{00000000-0000-0000-c000-000000000046}',
      flat: [GUID_A, GUID_B],
    },
  ],
  [
    'SizeT (8 bytes each)',
    arrayOf(Type.SizeT, [sizeT(0x10n, 8), sizeT(0xffffffffffn, 8)]),
    { json: '["0x10","0xffffffffff"]', xml: '0x10,0xffffffffff', flat: ['0x10', '0xffffffffff'] },
  ],
  [
    'FILETIME',
    arrayOf(Type.FileTime, [filetime(TIME_A), filetime(TIME_B)]),
    {
      json: '["2024-01-02T03:04:05.123456Z","1999-12-31T23:59:59.999999Z"]',
      xml: '2024-01-02T03:04:05.1234567Z,1999-12-31T23:59:59.9999999Z',
      flat: ['2024-01-02T03:04:05.123456Z', '1999-12-31T23:59:59.999999Z'],
    },
  ],
  [
    'SYSTEMTIME',
    arrayOf(Type.SysTime, [systemtime(LEAP_DAY), systemtime(NEW_YEAR)]),
    {
      json: '["2024-02-29T13:14:15.678000Z","2000-01-01T00:00:00.000000Z"]',
      xml: '2024-02-29T13:14:15.6780000Z,2000-01-01T00:00:00.0000000Z',
      flat: ['2024-02-29T13:14:15.678000Z', '2000-01-01T00:00:00.000000Z'],
    },
  ],
  [
    'SID',
    arrayOf(Type.Sid, [sid('S-1-5-18'), sid(DOMAIN_ADMINS), sid('S-1-5-32-544')]),
    {
      json: `["S-1-5-18","${DOMAIN_ADMINS}","S-1-5-32-544"]`,
      xml: `S-1-5-18,${DOMAIN_ADMINS},S-1-5-32-544`,
      flat: ['S-1-5-18', DOMAIN_ADMINS, 'S-1-5-32-544'],
    },
  ],
  [
    'HexInt32',
    arrayOf(Type.HexInt32, [hexInt32(1), hexInt32(0xabc)]),
    { json: '["0x1","0xabc"]', xml: '0x1,0xabc', flat: ['0x1', '0xabc'] },
  ],
  [
    'HexInt64',
    arrayOf(Type.HexInt64, [hexInt64(0n), hexInt64(0xfedcba9876543210n)]),
    { json: '["0x0","0xfedcba9876543210"]', xml: '0x0,0xfedcba9876543210', flat: ['0x0', '0xfedcba9876543210'] },
  ],
];

for (const [name, value, expected] of SCALARS) {
  test(`value ${name}`, () => assertValue(value, expected));
}

for (const [name, value, expected] of ARRAYS) {
  test(`array of ${name}`, () => assertValue(value, expected));
}

test('a UTF-16 string is cut at its first NUL in JSON and flat', () => {
  const record = dataRecord(stringValue('abc\0def'));
  assert.equal(record.jsonText(), '{"Event":{"EventData":{"V":"abc"}}}');
  assert.deepEqual(record.flat(), { V: 'abc' });
});

test("the instance's value type wins over the type the template declares", () => {
  assertValue(uint32(5), { json: '5', xml: '5', flat: 5 }, Type.String);
});

test('floats are formatted as Rust prints them', () => {
  const cases: [number, string][] = [
    [1, '1.0'],
    [0.1, '0.1'],
    [-3, '-3.0'],
    [0, '0.0'],
    [-0, '-0.0'],
    [12.34, '12.34'],
    [1e15, '1000000000000000.0'],
    [1e16, '1e16'],
    [1.5e16, '1.5e16'],
    [1e-5, '0.00001'],
    [1.5e-5, '0.000015'],
    [1e-7, '1e-7'],
    [1.25e-7, '1.25e-7'],
    [Number.NaN, 'null'],
    [Number.POSITIVE_INFINITY, 'null'],
  ];
  for (const [value, expected] of cases) assert.equal(formatRustFloat(value), expected, String(value));
});

test('trailing white space is trimmed as Rust trims it, and long runs of spaces cost one pass', async () => {
  const { trimTrailingSpace } = await import('../src/trim.js');
  assert.equal(trimTrailingSpace('seclogo \t\r\n\u00a0\u3000'), 'seclogo');
  assert.equal(trimTrailingSpace('  inner  kept'), '  inner  kept');
  assert.equal(trimTrailingSpace('zero\u200bwidth\u200b'), 'zero\u200bwidth\u200b'); // U+200B is not White_Space
  assert.equal(trimTrailingSpace('   '), '');
  const crafted = ' '.repeat(200_000) + 'x ';
  assert.equal(trimTrailingSpace(crafted), crafted.slice(0, -1));
});
