/** Every record of every sample renders to well-formed XML. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SaxesParser } from 'saxes';
import { readChunks } from '../src/index.js';
import { findFiles, sharedPath, sharedSkip } from './support/shared.js';

const SAMPLES = 'evtx-attack-samples';

/** Parses one XML document strictly; returns the root element's name. */
function parseXml(xml: string): string {
  const parser = new SaxesParser({ xmlns: true });
  let root = '';
  parser.on('opentag', (tag) => {
    root ||= tag.local ?? tag.name;
  });
  parser.on('error', (error) => {
    throw error;
  });
  parser.write(xml).close();
  return root;
}

test('XML renderings of every sample record parse as XML', { skip: sharedSkip(SAMPLES) }, async () => {
  let documents = 0;
  for (const file of findFiles(sharedPath(SAMPLES), '.evtx')) {
    for await (const chunk of readChunks(file, { mode: 'xml', threads: 1 })) {
      const docs = (chunk.text ?? '').split(/(?=<\?xml )/).filter((d) => d.length > 0);
      assert.equal(docs.length, chunk.records, `${file} chunk ${chunk.index}`);
      for (const doc of docs) {
        assert.equal(parseXml(doc), 'Event', `${file} chunk ${chunk.index}`);
        documents++;
      }
    }
  }
  assert.ok(documents > 7000);
});
