/** Elasticsearch _bulk bodies: items in order, documents read as ECS, refused and broken items costing only themselves. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBulk, parseIngestBody, type BulkOperation } from '../src/index.js';

const RECEIVED = Date.UTC(2024, 4, 1, 12);
const context = { origin: 'http:winlogbeat', receivedAt: RECEIVED };

const winlogbeat = (recordId: number): string =>
  JSON.stringify({
    '@timestamp': '2024-05-01T10:00:00.000Z',
    host: { name: 'dc-01' },
    winlog: {
      channel: 'Security',
      computer_name: 'dc-01.corp.example',
      event_id: '4624',
      record_id: String(recordId),
      event_data: { TargetUserName: 'alice', LogonType: '3' },
    },
  });

/** An item as the test compares it: the document by its origin and record. */
const item = (op: BulkOperation): unknown[] => [
  op.line,
  op.action,
  op.index,
  op.id,
  op.document && [op.document.origin, op.document.recordId],
  op.error,
];

test('index and create pairs: documents read as the ecs format reads them, items in body order', () => {
  const lines = [
    '{"index":{"_index":"winlogbeat-8.13.0","_id":"a1"}}',
    winlogbeat(1),
    '{"create":{}}',
    winlogbeat(2),
    '{"index":{"_id":42}}',
    '{"message":"Accepted password for bob","host":{"name":"web-01"}}',
  ];
  const body = lines.join('\n') + '\n';
  const { operations, rejected } = parseBulk(body, context, 'logs-default');
  assert.deepEqual(rejected, []);
  assert.deepEqual(operations.map(item), [
    [1, 'index', 'winlogbeat-8.13.0', 'a1', ['http:winlogbeat:2', 1], undefined],
    [3, 'create', 'logs-default', undefined, ['http:winlogbeat:4', 2], undefined],
    [5, 'index', 'logs-default', '42', ['http:winlogbeat:6', undefined], undefined],
  ]);
  const asEcs = parseIngestBody('ecs', [lines[1], lines[3], lines[5]].join('\n'), context).events;
  assert.deepEqual(
    operations.map((op) => op.document!.plainFields()),
    asEcs.map((e) => e.plainFields()),
  );
  const first = operations[0]!.document!;
  assert.equal(first.eventId, 4624);
  assert.equal(first.fields.get('TargetUserName'), 'alice');
  assert.equal(first.timestamp, Date.UTC(2024, 4, 1, 10));
  assert.equal(operations[2]!.document!.timestamp, RECEIVED, 'a document without a time is timed when it arrived');
});

test('a broken action line in the middle is rejected with the line after it; the pairs after stay aligned', () => {
  const lines = [
    '{"index":{"_index":"a"}}',
    winlogbeat(1),
    '{"index":{"_index":"a"}',
    winlogbeat(2),
    '{"index":{"_index":"a"}}',
    winlogbeat(3),
    '{"upsert":{"_index":"a"}}',
    '{"index":{"_index":"a"}}',
    winlogbeat(4),
  ];
  const { operations, rejected } = parseBulk(lines.join('\n'), context);
  assert.deepEqual(
    rejected.map((r) => r.line),
    [3, 4, 7],
  );
  assert.match(rejected[0]!.error, /^action line is not JSON: /);
  assert.match(rejected[1]!.error, /^taken as the document of the broken action line before it \(.*\); skipped$/);
  assert.equal(rejected[2]!.error, '"upsert" is no bulk action (index, create, update, delete)');
  assert.deepEqual(operations.map(item), [
    [1, 'index', 'a', undefined, ['http:winlogbeat:2', 1], undefined],
    [5, 'index', 'a', undefined, ['http:winlogbeat:6', 3], undefined],
    [8, 'index', 'a', undefined, ['http:winlogbeat:9', 4], undefined],
  ]);
});

test('update and delete are refused per item: delete has no document line, update consumes its payload line', () => {
  const lines = [
    '{"delete":{"_index":"a","_id":"1"}}',
    '{"update":{"_index":"a","_id":"2"}}',
    '{"doc":{"message":"changed"}}',
    '{"index":{"_index":"a","_id":"3"}}',
    winlogbeat(3),
  ];
  const { operations, rejected } = parseBulk(lines.join('\n'), context);
  assert.deepEqual(rejected, []);
  assert.deepEqual(operations.map(item), [
    [1, 'delete', 'a', '1', undefined, 'delete is not supported: events are kept as they were received'],
    [2, 'update', 'a', '2', undefined, 'update is not supported: events are kept as they were received'],
    [4, 'index', 'a', '3', ['http:winlogbeat:5', 3], undefined],
  ]);
});

test('item errors: no index, bad metadata, a bad or empty document, a body ending before its document', () => {
  const lines = [
    '{"index":{}}',
    winlogbeat(1),
    '{"index":{"_index":"a","_id":{"x":1}}}',
    winlogbeat(2),
    '{"index":{"_index":"a"}}',
    '[1, 2]',
    '{"create":{"_index":"a"}}',
    '',
    '{"index":{"_index":"a"}}',
    winlogbeat(5),
    '',
    '{"index":{"_index":"a"}}',
  ];
  const { operations, rejected } = parseBulk(lines.join('\n'), context);
  assert.deepEqual(rejected, []);
  assert.deepEqual(operations.map(item), [
    [1, 'index', '', undefined, undefined, 'no index: the action names no _index and the URL none'],
    [3, 'index', 'a', undefined, undefined, '_id must be a string'],
    [5, 'index', 'a', undefined, undefined, 'document line 6: not a JSON object but an array'],
    [7, 'create', 'a', undefined, undefined, 'the document line is empty'],
    [9, 'index', 'a', undefined, ['http:winlogbeat:10', 5], undefined],
    [12, 'index', 'a', undefined, undefined, 'the body ends before the document line'],
  ]);
});

test('an action line holding two actions, or metadata that is no object, is no action line', () => {
  const lines = ['{"index":{},"delete":{}}', '{"index":"a"}', '{"index":{"_index":"a"}}', winlogbeat(1)];
  const { operations, rejected } = parseBulk(lines.join('\n'), context);
  assert.deepEqual(rejected, [
    { line: 1, error: 'an action line holds one of index, create, update, delete; this one holds 2 keys' },
    { line: 2, error: 'taken as the document of the broken action line before it ("index" must hold an object of metadata); skipped' },
  ]);
  assert.deepEqual(operations.map(item), [[3, 'index', 'a', undefined, ['http:winlogbeat:4', 1], undefined]]);
});
