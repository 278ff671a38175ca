/** evtx_dump JSON flattened: crafted events cost time and stack in proportion to their size, and log names stay names. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flattenEvtxJson, type JsonObject, type JsonValue } from '../src/index.js';
import { MAX_JSON_DEPTH } from '../src/flatten-json.js';

test('a name repeated 200,000 times collects one list, in linear time', () => {
  // Copying the list on every repeat made this 2·10^10 element copies: minutes (80,000 repeats took
  // 45 s). Appending in place takes milliseconds; a hang here is the failure.
  const data: JsonValue[] = Array.from({ length: 200_000 }, (_, i) => ({ '#text': `v${i}` }));
  const flat = flattenEvtxJson({ Event: { System: { EventID: 1 }, EventData: { Data: data } } });
  const list = flat.Data as string[];
  assert.equal(list.length, 200_000);
  assert.deepEqual([list[0], list[199_999]], ['v0', 'v199999']);
});

test('a list that came from the JSON is copied before a repeat is added, never changed', () => {
  const fromJson = ['p', 'q'];
  const json: JsonObject = { Event: { System: { EventID: 1 }, EventData: { X: fromJson }, UserData: { X: 'r', Y: { X: 's' } } } };
  assert.deepEqual(flattenEvtxJson(json).X, ['p', 'q', 'r', 's']);
  assert.deepEqual(fromJson, ['p', 'q']);
  // Flattened twice, the same input gives the same view.
  assert.deepEqual(flattenEvtxJson(json).X, ['p', 'q', 'r', 's']);
});

/** `{x: {x: … {Leaf: 'deep'}}}`, `depth` objects deep, built without recursion. */
function nested(depth: number): JsonObject {
  let inner: JsonObject = { Leaf: 'deep' };
  for (let i = 0; i < depth; i++) inner = { x: inner };
  return inner;
}

test('data nested 50,000 deep is cut at the depth limit and reported, not a stack overflow', () => {
  const problems: string[] = [];
  const json: JsonObject = { Event: { System: { EventID: 1 }, EventData: { Image: 'C:\\a.exe', Deep: nested(50_000), After: 'x' } } };
  const flat = flattenEvtxJson(json, (message) => problems.push(message));
  assert.deepEqual(flat, { EventID: 1, Image: 'C:\\a.exe', After: 'x' });
  assert.deepEqual(problems, [`EventData nests elements more than ${MAX_JSON_DEPTH} deep; the deeper content is left out`]);
});

test('data nested as deep as the limit is read whole', () => {
  const problems: string[] = [];
  const flat = flattenEvtxJson({ Event: { EventData: nested(MAX_JSON_DEPTH) } }, (message) => problems.push(message));
  assert.deepEqual([flat, problems], [{ Leaf: 'deep' }, []]);
});

test('section names are names: `constructor` and `__proto__` find no prefix on the object prototype', () => {
  const json = JSON.parse(
    '{"Event":{"System":{"EventID":1},"constructor":{"Data":"x"},"__proto__":{"Image":"evil"},"RenderingInfo":{"Level":"Information"}}}',
  ) as JsonObject;
  const flat = flattenEvtxJson(json);
  assert.deepEqual(Object.keys(flat), ['EventID', 'Data', 'Image', 'RenderingInfo_Level']);
  assert.deepEqual([flat.Data, flat.Image], ['x', 'evil']);
});

test('field names are names: `__proto__` becomes a field, repeated or not, and never the prototype', () => {
  const json = JSON.parse(
    '{"Event":{"System":{"EventID":1},"EventData":{"__proto__":"a","toString":"b","Data":[{"__proto__":"c"},{"__proto__":"d"}]}}}',
  ) as JsonObject;
  const flat = flattenEvtxJson(json);
  assert.equal(Object.getPrototypeOf(flat), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(flat, '__proto__')?.value, ['a', 'c', 'd']);
  assert.equal(flat.toString, 'b');
});
