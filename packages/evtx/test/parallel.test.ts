/** Worker-thread reading gives exactly the serial output, in file order. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readChunks, readEvtx, type RenderMode } from '../src/index.js';
import { WorkerPool } from '../src/parallel.js';
import { DYING_CHUNK } from './support/dying-worker.js';
import { sharedPath, sharedSkip } from './support/shared.js';

// 16 chunks with records: enough for two workers to finish out of order.
const MULTI_CHUNK = 'evtx-attack-samples/Command and Control/bits_openvpn.evtx';

async function collect(mode: RenderMode, threads: number): Promise<{ indexes: number[]; text: string; ids: number[] }> {
  const indexes: number[] = [];
  const ids: number[] = [];
  let text = '';
  for await (const chunk of readChunks(sharedPath(MULTI_CHUNK), { mode, threads })) {
    indexes.push(chunk.index);
    text += chunk.text ?? '';
    for (const record of chunk.flat ?? []) ids.push(record.id);
  }
  return { indexes, text, ids };
}

test('two threads produce the same JSON lines as one, in file order', { skip: sharedSkip(MULTI_CHUNK) }, async () => {
  const serial = await collect('jsonl', 1);
  const parallel = await collect('jsonl', 2);
  assert.deepEqual(parallel.indexes, serial.indexes);
  assert.deepEqual(
    serial.indexes,
    serial.indexes.map((_, i) => i),
  );
  assert.equal(parallel.text, serial.text);
  assert.equal(serial.text.split('\n').length - 1, 1537);
});

test('parallel flat records come in record order and equal the streaming API', { skip: sharedSkip(MULTI_CHUNK) }, async () => {
  const parallel = await collect('flat', 2);
  const streamed: number[] = [];
  for await (const record of readEvtx(sharedPath(MULTI_CHUNK))) streamed.push(record.id);
  assert.deepEqual(parallel.ids, streamed);
  assert.equal(streamed.length, 1537);
});

test('parallel XML equals serial XML', { skip: sharedSkip(MULTI_CHUNK) }, async () => {
  assert.equal((await collect('xml', 2)).text, (await collect('xml', 1)).text);
});

test('a worker that dies costs only the chunk it died on', { skip: sharedSkip(MULTI_CHUNK) }, async () => {
  const pool = new WorkerPool(2, new URL('./support/dying-worker.js', import.meta.url));
  const path = sharedPath(MULTI_CHUNK);
  // Batches of three, so the dying chunk shares its batch with chunks that must survive.
  const batches = [0, 3, 6, 9, 12].map((first) => pool.run({ path, first, count: 3, mode: 'flat', utf8: false }));
  const results = (await Promise.all(batches)).flat();
  assert.deepEqual(
    results.map((r) => r.index),
    Array.from({ length: 15 }, (_, i) => i),
  );
  for (const result of results) {
    if (result.index === DYING_CHUNK) {
      assert.equal(result.records, 0);
      assert.match(result.warnings[0].message, /chunk skipped: worker exited with code 7/);
    } else {
      assert.ok(result.records > 0, `chunk ${result.index} was lost with the dying one`);
      assert.deepEqual(result.warnings, []);
    }
  }
});
