/**
 * What a hunt is asked to do. Plain data, so the same options reach every worker thread, which
 * loads the rules itself.
 */
import { loadMapping, loadPlaceholders, loadRuleSources, readRuleFiles, type DocumentMeta, type LoadResult } from '@firebreak/sigma';
import type { FirebreakEvent } from '../event.js';
import { LEVELS, levelRank, type DetectionLevel } from './detection.js';

export interface RuleOptions {
  /** Rule files and folders. */
  rules: string[];
  /** Log source mapping files extending the shipped ones; `raw`: no mapping at all. */
  mappingFiles?: string[];
  raw?: boolean;
  placeholdersFile?: string;
  /** Rules below this level are left out. */
  minLevel?: DetectionLevel;
  /** Only rules with one of these statuses (stable, test, experimental, deprecated, unsupported). */
  statuses?: string[];
  /** Only rules with one of these tags (a tag also selects its sub-tags: `attack.t1059` selects `attack.t1059.001`). */
  tags?: string[];
}

export interface EventFilterOptions {
  /** Events before `from` or after `to` (ms since the epoch, inclusive bounds) are left out; so are events without a time. */
  from?: number;
  to?: number;
  /** Only events of these computers (case-insensitive). */
  computers?: string[];
  /** Only events with these EventIDs. */
  eventIds?: number[];
}

/** Loads the rules the options select. Throws for a mapping or placeholder file that cannot be used. */
export function loadHuntRules(options: RuleOptions, extraSources: readonly { file: string; text: string }[] = []): LoadResult {
  const mapping = loadMapping({ files: options.mappingFiles, raw: options.raw });
  const placeholders = options.placeholdersFile ? loadPlaceholders(options.placeholdersFile) : undefined;
  // One set: a correlation may count rules of the extra sources (the server's custom rules) like any other.
  return loadRuleSources([...readRuleFiles(options.rules), ...extraSources], { mapping, placeholders, select: ruleSelector(options) });
}

/** Why a rule is left out by --min-level, --status and --tags, or undefined to keep it. */
export function ruleSelector(options: RuleOptions): ((rule: DocumentMeta) => string | undefined) | undefined {
  const { minLevel, statuses, tags } = options;
  if (minLevel === undefined && !statuses?.length && !tags?.length) return undefined;
  const wantedStatuses = new Set(statuses?.map((s) => s.toLowerCase()));
  const wantedTags = tags?.flatMap((t) => withSuccessors(normalTag(t)));
  return (rule) => {
    if (minLevel !== undefined && levelRank(rule.level) < levelRank(minLevel)) return `level below ${minLevel}`;
    if (wantedStatuses.size > 0 && !wantedStatuses.has((rule.status ?? '').toLowerCase())) return 'status not selected';
    if (wantedTags && !rule.tags.some((tag) => hasTag(normalTag(tag), wantedTags))) return 'no selected tag';
    return undefined;
  };
}

/** Tags compare lowercased, `_` and `-` alike (`attack.defense_evasion` is `attack.defense-evasion`). */
function normalTag(tag: string): string {
  return tag.toLowerCase().replaceAll('_', '-');
}

/** ATT&CK v18 split Defense Evasion into Stealth and Defense Impairment: asking for the old tactic finds rules tagged with either. */
function withSuccessors(tag: string): string[] {
  return tag === 'attack.defense-evasion' ? [tag, 'attack.stealth', 'attack.defense-impairment'] : [tag];
}

function hasTag(tag: string, wanted: readonly string[]): boolean {
  return wanted.some((w) => tag === w || tag.startsWith(`${w}.`));
}

/** A test for the events to hunt in, or undefined when every event is wanted. */
export function eventFilter(options: EventFilterOptions): ((event: FirebreakEvent) => boolean) | undefined {
  const { from, to, computers, eventIds } = options;
  const hosts = computers?.length ? new Set(computers.map((c) => c.toLowerCase())) : undefined;
  const ids = eventIds?.length ? new Set(eventIds) : undefined;
  if (from === undefined && to === undefined && !hosts && !ids) return undefined;
  return (event) => {
    if (ids && !ids.has(event.eventId ?? NaN)) return false;
    if (hosts && !hosts.has(event.host?.toLowerCase() ?? '')) return false;
    if (from !== undefined || to !== undefined) {
      const time = event.timestamp;
      if (time === undefined || (from !== undefined && time < from) || (to !== undefined && time > to)) return false;
    }
    return true;
  };
}

export function isLevel(value: string): value is DetectionLevel {
  return (LEVELS as readonly string[]).includes(value);
}
