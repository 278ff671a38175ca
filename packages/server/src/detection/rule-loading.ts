/** How the ingest threads load their rules, shared with the check of a rule saved through the API. */
import { readFileSync } from 'node:fs';
import { ruleSelector } from '@firebreak/core';
import { loadMapping, loadPlaceholders, loadRuleSources, ruleFiles, type LoadResult, type RuleInfo } from '@firebreak/sigma';
import type { RuleListing, ThreadOptions } from './protocol.js';

/**
 * The rule files and the custom rules as one set (what core's loadHuntRules does for files, plus
 * the sources), so that a correlation may count a custom rule like any other.
 */
export function loadThreadRules({ rules, customRules = [] }: ThreadOptions): LoadResult {
  const mapping = loadMapping({ files: rules.mappingFiles, raw: rules.raw });
  const placeholders = rules.placeholdersFile ? loadPlaceholders(rules.placeholdersFile) : undefined;
  const files = rules.rules.flatMap(ruleFiles).map((file) => ({ file, text: readFileSync(file, 'utf8') }));
  return loadRuleSources([...files, ...customRules], { mapping, placeholders, select: ruleSelector(rules) });
}

export function ruleListing(info: RuleInfo, custom: boolean): RuleListing {
  return {
    id: info.id ?? info.name ?? info.title,
    title: info.title,
    level: info.level ?? 'informational',
    status: info.status ?? 'unknown',
    tags: info.tags,
    file: info.location.file ?? null,
    logsource: { ...info.logsource } as Record<string, string>,
    custom,
  };
}
