/** The bundled rule pack: it loads whole, every rule has its test events, and each fires where it should and only there. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DetectionStream, loadRules, objectEvent, type RuleSet } from '@firebreak/sigma';
import { RULE_PACK_DIR } from '../src/index.js';
import { documentsOf, loadSpec, packRuleFiles, specFiles, timedEvents, type Sequence } from './support/specs.js';

const { ruleSet, files } = loadRules([RULE_PACK_DIR]);

test('every file of the pack loads, with a log source the shipped mappings know', () => {
  assert.ok(files.length >= 15, `only ${files.length} rule files under ${RULE_PACK_DIR}`);
  for (const file of files) {
    assert.equal(file.status, 'loaded', `${file.file}: ${file.reason}`);
    assert.deepEqual(file.notes, [], file.file);
  }
  assert.deepEqual(ruleSet.unmapped, []);
});

test('every rule file has a test file, and every test file a rule file', () => {
  assert.deepEqual(specFiles(), packRuleFiles());
});

test('rule ids are unique', () => {
  const ids = [...ruleSet.ruleInfos, ...ruleSet.correlations].map((d) => d.id);
  assert.equal(new Set(ids).size, ids.length);
});

describe('each rule fires on its test events and stays quiet on the near misses', () => {
  for (const ruleFile of packRuleFiles()) {
    test(ruleFile, () => {
      const { rules, correlations } = documentsOf(ruleSet, ruleFile);
      assert.equal(rules.length, 1, 'a rule file holds one detection rule');
      assert.ok(correlations.length <= 1, 'and at most one correlation over it');
      const [rule] = rules as [string];
      const spec = loadSpec(ruleFile);
      assert.ok(spec.fires.length > 0 && spec.quiet.length > 0, 'needs at least one fires and one quiet event');
      spec.fires.forEach((event, i) => assert.ok(firedRules(ruleSet, event).includes(rule), `fires[${i}] did not fire ${rule}`));
      spec.quiet.forEach((event, i) => assert.ok(!firedRules(ruleSet, event).includes(rule), `quiet[${i}] fired ${rule}`));
      const [correlation] = correlations;
      if (correlation === undefined) {
        assert.equal(spec.firingSequences.length + spec.quietSequences.length, 0, 'sequences need a correlation');
        return;
      }
      assert.ok(spec.firingSequences.length > 0 && spec.quietSequences.length > 0, 'a correlation needs a firing and a quiet sequence');
      const threshold = ruleSet.correlations.find((c) => c.id === correlation)!.condition?.gte;
      for (const sequence of spec.firingSequences) {
        assert.equal(sequence.count, threshold, 'a firing sequence reaches exactly the threshold');
        assert.deepEqual(streamFirings(ruleSet, sequence, rule, correlation), [sequence.count - 1], 'fires on the last event, not before');
      }
      for (const sequence of spec.quietSequences) assert.deepEqual(streamFirings(ruleSet, sequence, rule, correlation), []);
    });
  }
});

function firedRules(set: RuleSet, event: Record<string, unknown>): (string | undefined)[] {
  return set.match(objectEvent(event)).map((m) => m.rule.id);
}

/** Indexes of the sequence's events on which the correlation fired; the building-block rule must stay unreported (generate: false). */
function streamFirings(set: RuleSet, sequence: Sequence, rule: string, correlation: string): number[] {
  const stream = new DetectionStream(set);
  const firings: number[] = [];
  timedEvents(sequence).forEach(({ event, time }, index) => {
    assert.ok(firedRules(set, event).includes(rule), `the sequence's event does not fire ${rule}`);
    const { matches, correlations } = stream.push(objectEvent(event), time);
    assert.ok(!matches.some((m) => m.rule.id === rule), 'the building-block rule is reported only through its correlation');
    if (correlations.some((c) => c.correlation.id === correlation)) firings.push(index);
  });
  return firings;
}
