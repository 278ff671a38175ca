/** Small helpers to build rules from detection snippets and run them on plain objects. */
import { loadMapping, loadRuleSources, objectEvent, type FileReport, type LoadOptions, type RuleSet } from '../../src/index.js';

const RAW = loadMapping({ raw: true });

/** A rule document around a detection written as YAML lines (indented by 2 under `detection:`). */
export function ruleYaml(detection: string, extra = ''): string {
  const body = detection
    .trim()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
  return `title: test rule\nid: 5f3b1a2e-0c4d-4e8f-9a1b-2c3d4e5f6a7b\nlogsource:\n  product: test\ndetection:\n${body}\n${extra}`;
}

/** Loads one rule (raw mode unless options say otherwise); throws with the reason when it does not load. */
export function compileRule(detection: string, options: LoadOptions = {}): RuleSet {
  const { ruleSet, files } = loadRuleSources([{ file: 'test.yml', text: ruleYaml(detection) }], { mapping: RAW, ...options });
  const report = files[0]!;
  if (report.status !== 'loaded') throw new Error(`${report.status}: ${report.reason}`);
  return ruleSet;
}

/** Whether the rule fires on the event. */
export function fires(ruleSet: RuleSet, event: Record<string, unknown>): boolean {
  return ruleSet.match(objectEvent(event)).length > 0;
}

/** The report for a rule that should not load. */
export function reportFor(text: string, options: LoadOptions = {}): FileReport {
  return loadRuleSources([{ file: 'test.yml', text }], { mapping: RAW, ...options }).files[0]!;
}
