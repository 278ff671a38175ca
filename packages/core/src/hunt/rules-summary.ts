/** What loading a hunt's rules gave: counts for the summary, and the correlations for the correlation stage. */
import type { CorrelationDocument, LoadResult } from '@firebreak/sigma';

export interface RuleSummary {
  /** Detection rules and correlations in use. */
  loaded: number;
  /** Rules not in use: files that did not load, rules the selection left out, rules no mapping knows. */
  skipped: number;
  /** Why → how many. */
  reasons: Record<string, number>;
  /** Files that did not load, with the first problem (for warnings). */
  failures: { file: string; status: string; reason: string; line?: number }[];
  correlations: CorrelationDocument[];
}

export function summarizeRules({ ruleSet, files, excluded }: LoadResult): RuleSummary {
  const reasons: Record<string, number> = {};
  const count = (reason: string, n = 1): void => void (reasons[reason] = (reasons[reason] ?? 0) + n);
  const failures = files.filter((f) => f.status !== 'loaded');
  // A file that did not load counts once: its other documents may have loaded, or be counted below.
  for (const f of failures) count(f.status);
  for (const { reason } of excluded) count(reason);
  if (ruleSet.unmapped.length > 0) count('no log source mapping', ruleSet.unmapped.length);
  return {
    loaded: ruleSet.size + ruleSet.correlations.length,
    skipped: Object.values(reasons).reduce((a, b) => a + b, 0),
    reasons,
    failures: failures.map(({ file, status, reason, line }) => ({ file, status, reason: reason ?? '', line })),
    correlations: ruleSet.correlations,
  };
}
