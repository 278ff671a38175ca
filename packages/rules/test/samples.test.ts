/** The pack on real attack recordings: each rule fires on exactly the records its test file names. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readEvtx } from '@firebreak/evtx';
import { loadRules } from '@firebreak/sigma';
import { sharedPath, sharedSkip } from '@firebreak/testkit';
import { RULE_PACK_DIR } from '../src/index.js';
import { documentsOf, loadSpec, packRuleFiles } from './support/specs.js';

const SAMPLES = 'evtx-attack-samples';

test(
  'rules fire on the named records of ../shared/data/evtx-attack-samples and on no other record of those files',
  { skip: sharedSkip(SAMPLES) },
  async () => {
    const { ruleSet } = loadRules([RULE_PACK_DIR]);
    let checked = 0;
    for (const ruleFile of packRuleFiles()) {
      const [rule] = documentsOf(ruleSet, ruleFile).rules;
      for (const sample of loadSpec(ruleFile).samples) {
        const fired: number[] = [];
        for await (const record of readEvtx(sharedPath(`${SAMPLES}/${sample.file}`)))
          if (ruleSet.match(record.fields()).some((m) => m.rule.id === rule)) fired.push(record.id);
        assert.deepEqual(fired, sample.records, `${ruleFile} on ${sample.file}`);
        checked++;
      }
    }
    assert.ok(checked >= 20, `only ${checked} sample files named`);
  },
);
