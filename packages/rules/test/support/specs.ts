/**
 * The pack's test specifications: tests/<path of the rule file>.yml, kept out of sigma/ so the rule
 * loader never reads them. Each holds `fires` and `quiet` items (flat Windows events, or a
 * `sequence` of one event repeated in time for correlations) and optional `samples`: records of
 * ../shared/data/evtx-attack-samples the file's rule must fire on, and on no other record of that file.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { ruleFiles, type RuleSet } from '@firebreak/sigma';
import { RULE_PACK_DIR } from '../../src/index.js';

/** This file is dist/test/support/specs.js once built. */
export const TESTS_DIR = fileURLToPath(new URL('../../../tests', import.meta.url));

export type FlatEvent = Record<string, unknown>;

/** One event pushed `count` times, `every` seconds apart from `start` (its TimeCreated_SystemTime is set). */
export interface Sequence {
  start: string;
  count: number;
  every: number;
  event: FlatEvent;
}

export interface Sample {
  /** Relative to evtx-attack-samples. */
  file: string;
  records: number[];
}

export interface RuleSpec {
  fires: FlatEvent[];
  quiet: FlatEvent[];
  firingSequences: Sequence[];
  quietSequences: Sequence[];
  samples: Sample[];
}

/** Rule files of the pack, relative to its folder, sorted. */
export function packRuleFiles(): string[] {
  return ruleFiles(RULE_PACK_DIR).map((f) => relative(RULE_PACK_DIR, f));
}

/** Test files, relative to the tests folder, sorted. */
export function specFiles(): string[] {
  return ruleFiles(TESTS_DIR).map((f) => relative(TESTS_DIR, f));
}

/** The ids of the detection rules and of the correlations a rule file of the pack holds. */
export function documentsOf(ruleSet: RuleSet, ruleFile: string): { rules: string[]; correlations: string[] } {
  const path = join(RULE_PACK_DIR, ruleFile);
  const idsIn = (docs: readonly { id?: string; location: { file?: string } }[]): string[] =>
    docs.filter((d) => d.location.file === path).map((d) => d.id ?? '');
  return { rules: idsIn(ruleSet.ruleInfos), correlations: idsIn(ruleSet.correlations) };
}

/** Reads and checks tests/<ruleFile>; a malformed spec throws naming the file and the item. */
export function loadSpec(ruleFile: string): RuleSpec {
  const path = join(TESTS_DIR, ruleFile);
  const doc: unknown = parse(readFileSync(path, 'utf8'));
  const where = (what: string): string => `${path}: ${what}`;
  if (!isObject(doc)) throw new Error(where('must be a YAML map with fires and quiet'));
  const spec: RuleSpec = { fires: [], quiet: [], firingSequences: [], quietSequences: [], samples: [] };
  for (const key of ['fires', 'quiet'] as const) {
    const items = doc[key];
    if (!Array.isArray(items)) throw new Error(where(`${key} must be a list`));
    items.forEach((item: unknown, index) => {
      if (!isObject(item)) throw new Error(where(`${key}[${index}] must be a map of event fields or a sequence`));
      if (!('sequence' in item)) spec[key].push(item);
      else
        (key === 'fires' ? spec.firingSequences : spec.quietSequences).push(sequenceOf(item.sequence, where(`${key}[${index}].sequence`)));
    });
  }
  const samples = doc.samples ?? [];
  if (!Array.isArray(samples)) throw new Error(where('samples must be a list'));
  spec.samples = samples.map((s: unknown, index) => sampleOf(s, where(`samples[${index}]`)));
  return spec;
}

/** The events of a sequence with their times, in order. */
export function timedEvents(sequence: Sequence): { event: FlatEvent; time: number }[] {
  const start = Date.parse(sequence.start);
  return Array.from({ length: sequence.count }, (_, i) => {
    const time = start + i * sequence.every * 1000;
    return { event: { ...sequence.event, TimeCreated_SystemTime: new Date(time).toISOString() }, time };
  });
}

function sequenceOf(value: unknown, where: string): Sequence {
  if (!isObject(value)) throw new Error(`${where} must be a map`);
  const { start, count, every, event } = value;
  if (typeof start !== 'string' || Number.isNaN(Date.parse(start))) throw new Error(`${where}.start must be an ISO 8601 time`);
  if (!Number.isInteger(count) || (count as number) < 1) throw new Error(`${where}.count must be a positive integer`);
  if (typeof every !== 'number' || every <= 0) throw new Error(`${where}.every must be a positive number of seconds`);
  if (!isObject(event)) throw new Error(`${where}.event must be a map of event fields`);
  return { start, count: count as number, every, event };
}

function sampleOf(value: unknown, where: string): Sample {
  if (!isObject(value) || typeof value.file !== 'string') throw new Error(`${where} needs a file`);
  const { records } = value;
  if (!Array.isArray(records) || !records.every((r) => Number.isInteger(r)))
    throw new Error(`${where}.records must be a list of record ids`);
  return { file: value.file, records: records as number[] };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
