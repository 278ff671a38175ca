/** Record counts equal python-evtx's (Debian python3-evtx) for every sample file. */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { readChunks } from '../src/index.js';
import { findFiles, sharedPath, sharedSkip } from './support/shared.js';

const SAMPLES = 'evtx-attack-samples';
const PYTHON = '/usr/bin/python3';

const COUNT_SCRIPT = `
import sys, Evtx.Evtx as evtx
for path in sys.argv[1:]:
    with evtx.Evtx(path) as log:
        print(sum(1 for _ in log.records()))
`;

function pythonEvtxSkip(): string | false {
  const probe = spawnSync(PYTHON, ['-c', 'import Evtx'], { stdio: 'ignore' });
  return probe.status === 0 ? false : 'needs python3-evtx (apt-get install python3-evtx; .ci/run installs it)';
}

async function countRecords(path: string): Promise<number> {
  let records = 0;
  for await (const chunk of readChunks(path, { mode: 'flat', threads: 1 })) records += chunk.records;
  return records;
}

test('record counts match python-evtx for every attack sample', { skip: sharedSkip(SAMPLES) || pythonEvtxSkip() }, async () => {
  const files = findFiles(sharedPath(SAMPLES), '.evtx');
  assert.ok(files.length > 200, `expected the ~270 sample files, found ${files.length}`);
  const output = execFileSync(PYTHON, ['-c', COUNT_SCRIPT, ...files], { encoding: 'utf8', maxBuffer: 16 << 20 });
  const expected = output.trim().split('\n').map(Number);
  assert.equal(expected.length, files.length);
  let total = 0;
  for (const [i, file] of files.entries()) {
    assert.equal(await countRecords(file), expected[i], file);
    total += expected[i];
  }
  assert.ok(total > 7000, `only ${total} records in the samples`);
});
