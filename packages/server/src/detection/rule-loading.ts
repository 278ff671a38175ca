/** How the ingest threads load their rules, shared with the check of a rule saved through the API. */
import { loadHuntRules } from '@firebreak/core';
import type { LoadResult, RuleInfo } from '@firebreak/sigma';
import type { RuleListing, ThreadOptions } from './protocol.js';

/** The rule files and the custom rules as one set, so that a correlation may count a custom rule like any other. */
export function loadThreadRules({ rules, customRules = [] }: ThreadOptions): LoadResult {
  return loadHuntRules(rules, customRules);
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
