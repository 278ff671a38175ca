/** Compiled JSON skeletons give exactly the text of the tree renderer, record for record. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readEvtx } from '../src/index.js';
import { renderJsonText } from '../src/render-json.js';
import { findFiles, sharedPath, sharedSkip } from './support/shared.js';

const SAMPLES = 'evtx-attack-samples';

test('skeleton JSON equals tree JSON for every sample record', { skip: sharedSkip(SAMPLES) }, async () => {
  let records = 0;
  for (const file of findFiles(sharedPath(SAMPLES), '.evtx')) {
    for await (const record of readEvtx(file)) {
      // Twice: the first call compiles the skeleton, the second uses the cached one.
      const first = record.jsonText();
      assert.equal(first, renderJsonText(record.tree()), `${file} record ${record.id}`);
      assert.equal(record.jsonText(), first);
      records++;
    }
  }
  assert.ok(records > 7000);
});
