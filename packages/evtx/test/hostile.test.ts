/**
 * Crafted records found in review: names and references that try to change structure, values
 * of another kind than their template declares, impossible times. Every rendering must stay
 * faithful and the JSON skeleton must agree with the tree renderer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderJsonText } from '../src/render-json.js';
import {
  Type,
  charRef,
  defineTemplate,
  el,
  filetime,
  instance,
  stringValue,
  sub,
  systemtime,
  text,
  binXmlValue,
  type Node,
  type TemplateDefinition,
} from './support/builder.js';
import { singleRecord } from './support/records.js';

/** `<Event><EventData>…</EventData></Event>` as template number `id`. */
function eventDataTemplate(id: number, ...children: Node[]): TemplateDefinition {
  return defineTemplate(`ffffffff-0000-0000-0000-${String(id).padStart(12, '0')}`, el('Event', {}, el('EventData', {}, ...children)));
}

/** `<Data Name="name">…</Data>`. */
function data(name: string, ...content: Node[]): Node {
  return el('Data', { Name: text(name) }, ...content);
}

test('field names such as __proto__ and toString are ordinary fields', () => {
  const template = eventDataTemplate(1, data('__proto__', sub(0, Type.String)), data('toString', sub(1, Type.String)));
  const record = singleRecord(instance(template, [stringValue('hidden'), stringValue('v')]));
  assert.equal(record.jsonText(), '{"Event":{"EventData":{"__proto__":"hidden","toString":"v"}}}');
  assert.equal(renderJsonText(record.tree()), record.jsonText());
  const flat = record.flat();
  assert.deepEqual(Object.keys(flat), ['__proto__', 'toString']);
  assert.equal(flat.toString, 'v');
  assert.equal(Object.getOwnPropertyDescriptor(flat, '__proto__')?.value, 'hidden');
  assert.equal(record.fields().get('__proto__'), 'hidden');
});

test('character references cannot forge the JSON skeleton markers', () => {
  const template = eventDataTemplate(2, data('Image', sub(0, Type.String)), data('A', charRef(1), text('0'), charRef(1)));
  const record = singleRecord(instance(template, [stringValue('C:\\evil.exe')]));
  assert.equal(record.jsonText(), renderJsonText(record.tree()));
  assert.equal(JSON.parse(record.jsonText()).Event.EventData.A, '\u00010\u0001');
});

test('a value of another kind than declared is rendered as what it is, in every view', () => {
  const template = defineTemplate(
    'ffffffff-0000-0000-0000-000000000003',
    el('Event', {}, el('System', {}, el('Computer', {}, sub(0, Type.BinXml))), el('EventData', {}, el('Binary', {}, sub(1, Type.BinXml)))),
  );
  const record = singleRecord(instance(template, [stringValue('DC01'), stringValue('payload')]));
  assert.equal(record.jsonText(), '{"Event":{"System":{"Computer":"DC01"},"EventData":{"Binary":"payload"}}}');
  assert.deepEqual({ ...record.flat() }, { Computer: 'DC01', Binary: 'payload' });
  assert.match(record.xml(), /<Computer>DC01<\/Computer>/);
});

test('element and attribute names cannot inject XML', () => {
  const template = defineTemplate(
    'ffffffff-0000-0000-0000-000000000004',
    el('Event', {}, el('EventData', {}, el('Data Name="Image"', { 'x="1" y': text('v') }, text('t')))),
  );
  const xml = singleRecord(instance(template, [])).xml();
  assert.match(xml, /<Data_Name__Image_ x__1__y="v">t<\/Data_Name__Image_>/);
});

test('impossible SYSTEMTIMEs are shown raw, real ones exactly, trailing spaces trimmed as evtx_dump does', () => {
  const template = eventDataTemplate(
    5,
    data('Bad', sub(0, Type.SysTime)),
    data('Year', sub(1, Type.SysTime)),
    data('Far', sub(2, Type.FileTime)),
    data('NEL', sub(3, Type.String)),
    data('BOM', sub(4, Type.String)),
  );
  const record = singleRecord(
    instance(template, [
      systemtime({ year: 2024, month: 2, dayOfWeek: 0, day: 31, hour: 25, minute: 0, second: 0, milliseconds: 0 }),
      systemtime({ year: 42, month: 3, dayOfWeek: 0, day: 4, hour: 5, minute: 6, second: 7, milliseconds: 8 }),
      filetime(0xffffffffffffffffn),
      stringValue('abc\u0085'),
      stringValue('abc\ufeff'),
    ]),
  );
  const eventData = JSON.parse(record.jsonText()).Event.EventData;
  assert.equal(eventData.Bad, 'E807020000001F001900000000000000');
  assert.equal(eventData.Year, '0042-03-04T05:06:07.008000Z');
  assert.equal(eventData.Far, '+060056-05-28T05:36:10.955161Z');
  assert.equal(eventData.NEL, 'abc');
  assert.equal(eventData.BOM, 'abc\ufeff');
});

test('a value repeated through nested BinXML hits the record budget instead of memory', () => {
  const inner = defineTemplate(
    'ffffffff-0000-0000-0000-000000000006',
    el('V', {}, ...Array.from({ length: 300 }, () => sub(0, Type.String))),
  );
  const outer = defineTemplate(
    'ffffffff-0000-0000-0000-000000000007',
    el('Event', {}, ...Array.from({ length: 300 }, () => sub(0, Type.BinXml))),
  );
  const record = singleRecord(instance(outer, [binXmlValue(instance(inner, [stringValue('x'.repeat(4000))]))]));
  for (const render of [() => record.jsonText(), () => record.xml(), () => record.flat()]) {
    assert.throws(render, /record (renders more than|expands BinXML values more than)/);
  }
});
