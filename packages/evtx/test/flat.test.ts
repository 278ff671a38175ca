/** The flat view carries the same fields and values as the evtx_dump JSON, without building it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { flattenEvtxJson, readEvtx, type JsonObject, type JsonValue } from '../src/index.js';
import { findFiles, sharedPath, sharedSkip } from './support/shared.js';

const PAIRS = 'evtx-json-pairs';

function attribute(element: JsonValue, name: string): JsonValue | undefined {
  return (element as JsonObject | null)?.['#attributes'] !== undefined
    ? ((element as JsonObject)['#attributes'] as JsonObject)[name]
    : undefined;
}

/** Named fields of EventData, or of the element inside UserData. */
function dataFields(event: JsonObject): JsonObject {
  if (event.EventData) return event.EventData as JsonObject;
  const userData = event.UserData as JsonObject;
  const inner = userData[Object.keys(userData)[0]] as JsonObject;
  return Object.fromEntries(Object.entries(inner).filter(([key]) => key !== '#attributes'));
}

test('flat fields equal the JSON rendering for every pair', { skip: sharedSkip(PAIRS) }, async () => {
  for (const file of findFiles(sharedPath(PAIRS), '.evtx')) {
    for await (const record of readEvtx(file)) {
      const event = record.json().Event as JsonObject;
      const system = event.System as JsonObject;
      const flat = record.flat();
      assert.equal(flat.EventID, system.EventID, file);
      assert.equal(flat.Channel, system.Channel, file);
      assert.equal(flat.Computer, system.Computer, file);
      assert.equal(flat.EventRecordID, system.EventRecordID, file);
      assert.equal(flat.Provider_Name, attribute(system.Provider, 'Name'), file);
      assert.equal(flat.TimeCreated_SystemTime, attribute(system.TimeCreated, 'SystemTime'), file);
      assert.equal(flat.Execution_ProcessID, attribute(system.Execution, 'ProcessID'), file);
      assert.equal(flat.Security_UserID, attribute(system.Security, 'UserID'), file);
      for (const [key, value] of Object.entries(dataFields(event))) assert.deepEqual(flat[key], value, `${file}: ${key}`);
    }
  }
});

test('record header id and time are known without rendering', { skip: sharedSkip(PAIRS) }, async () => {
  const [file] = findFiles(sharedPath(`${PAIRS}/rules/windows/process_creation/proc_creation_win_dism_remove`), '.evtx');
  for await (const record of readEvtx(file)) {
    // Exported logs renumber the record header (1…) while System/EventRecordID keeps the original.
    assert.equal(record.id, 1);
    assert.equal(record.timestamp, '2025-10-25T13:47:34.903176Z');
  }
});

test('the lazy view reads the same fields as the materialised one', { skip: sharedSkip('evtx-attack-samples') }, async () => {
  let records = 0;
  for (const file of findFiles(sharedPath('evtx-attack-samples'), '.evtx').slice(0, 60)) {
    for await (const record of readEvtx(file)) {
      const all = record.flat();
      const lazy = record.fields();
      assert.deepEqual(lazy.keys(), Object.keys(all), file);
      for (const [key, value] of Object.entries(all)) assert.deepEqual(lazy.get(key), value, `${file}: ${key}`);
      // values(): the same values, a repeated name's parts one by one rather than as one list.
      const scalars = (values: unknown[]): string[] =>
        values
          .flat()
          .map((v) => `${typeof v}:${String(v)}`)
          .sort();
      assert.deepEqual(scalars(lazy.values()), scalars(Object.values(all)), file);
      assert.equal(lazy.get('NoSuchField'), undefined);
      records++;
    }
  }
  assert.ok(records > 1000);
});

test('evtx_dump JSON flattens to the same view as the record', { skip: sharedSkip('evtx-attack-samples') }, async () => {
  let records = 0;
  for (const file of findFiles(sharedPath('evtx-attack-samples'), '.evtx')) {
    for await (const record of readEvtx(file)) {
      assert.deepEqual(flattenEvtxJson(record.json()), record.flat(), `${file} record ${record.id}`);
      records++;
    }
  }
  assert.ok(records > 7000);
});

test('the pairs’ JSON files flatten to the view of their EVTX records', { skip: sharedSkip(PAIRS) }, async () => {
  for (const file of findFiles(sharedPath(PAIRS), '.evtx')) {
    const json = readFileSync(file.replace(/\.evtx$/, '.json'), 'utf8');
    const objects = json.split(/\n(?=\{)/).map((text) => JSON.parse(text) as JsonObject);
    let i = 0;
    for await (const record of readEvtx(file)) assert.deepEqual(flattenEvtxJson(objects[i++]!), record.flat(), file);
    assert.equal(i, objects.length, file);
  }
});
