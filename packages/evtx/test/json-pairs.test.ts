/** Exact evtx_dump JSON for the 20 EVTX/JSON pairs in ../shared/data/evtx-json-pairs. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { readEvtx } from '../src/index.js';
import { findFiles, sharedPath, sharedSkip } from './support/shared.js';

const PAIRS = 'evtx-json-pairs';

test('every EVTX/JSON pair renders to exactly the JSON evtx_dump wrote', { skip: sharedSkip(PAIRS) }, async () => {
  const files = findFiles(sharedPath(PAIRS), '.evtx');
  assert.equal(files.length, 20);
  for (const file of files) {
    const expected = readFileSync(file.replace(/\.evtx$/, '.json'), 'utf8');
    let pretty = '';
    for await (const record of readEvtx(file, { onWarning: (w) => assert.fail(`${file}: ${w.message}`) })) {
      // The pairs are evtx_dump's pretty form: 2-space indent, one object per record.
      pretty += JSON.stringify(JSON.parse(record.jsonText()), null, 2) + '\n';
      assert.deepEqual(JSON.parse(record.jsonText()), record.json(), `${file}: json() and jsonText() agree`);
    }
    assert.equal(pretty, expected, file);
  }
});
