/**
 * The grouping document an incident carries in its stored record (`IncidentRecord.grouping`):
 * what the grouper needs to attach later alerts and to score the incident again after a restart.
 * Every list is capped so that one noisy incident cannot grow its record (or the index) without bound.
 */

export const GROUPING_VERSION = 1;
/** Relation keys kept per incident; later ones still join alerts by the keys already kept, and by host. */
export const MAX_INCIDENT_KEYS = 256;
/** Distinct rules kept per incident; beyond it, further rules no longer add to the score (it is at 100 long before). */
export const MAX_INCIDENT_RULES = 200;
export const MAX_INCIDENT_HOSTS = 1000;

/** One distinct rule of an incident. */
export interface RuleTally {
  kind: string;
  id: string;
  title: string;
  level: string;
  alerts: number;
}

export interface GroupingState {
  version: typeof GROUPING_VERSION;
  /** The highest alert level seen. */
  level: string;
  /** Relation keys (see relations.ts), oldest first. */
  keys: string[];
  /** Distinct rules, in the order they first fired. */
  rules: RuleTally[];
  /** ATT&CK tactic names seen in the alerts' tags. */
  tactics: string[];
}

export function emptyGrouping(): GroupingState {
  return { version: GROUPING_VERSION, level: 'informational', keys: [], rules: [], tactics: [] };
}

/**
 * A stored grouping document, checked part by part: a damaged part is reported (to `problems`,
 * prefixed with `where`) and left out, and the rest is kept.
 */
export function parseGrouping(doc: unknown, where: string, problems: string[]): GroupingState {
  const state = emptyGrouping();
  if (!isObject(doc) || doc.version !== GROUPING_VERSION) {
    problems.push(`${where}: grouping is not a version ${GROUPING_VERSION} grouping document; the incident joins alerts by host only`);
    return state;
  }
  if (typeof doc.level === 'string') state.level = doc.level;
  else problems.push(`${where}: grouping.level is not text`);
  state.keys = stringList(doc.keys, `${where}: grouping.keys`, problems).slice(0, MAX_INCIDENT_KEYS);
  state.tactics = stringList(doc.tactics, `${where}: grouping.tactics`, problems);
  if (Array.isArray(doc.rules)) {
    for (const [i, rule] of doc.rules.slice(0, MAX_INCIDENT_RULES).entries()) {
      if (isRuleTally(rule)) state.rules.push({ kind: rule.kind, id: rule.id, title: rule.title, level: rule.level, alerts: rule.alerts });
      else problems.push(`${where}: grouping.rules[${i}] is not a rule tally (kind, id, title, level, alerts)`);
    }
  } else problems.push(`${where}: grouping.rules is not a list`);
  return state;
}

/** A copy fit for a record: the caller's record must not change when the grouper's state does. */
export function groupingDocument(state: GroupingState): Record<string, unknown> {
  return {
    version: state.version,
    level: state.level,
    keys: [...state.keys],
    rules: state.rules.map((rule) => ({ ...rule })),
    tactics: [...state.tactics],
  };
}

function stringList(value: unknown, what: string, problems: string[]): string[] {
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return [...(value as string[])];
  problems.push(`${what} is not a list of text`);
  return [];
}

function isRuleTally(value: unknown): value is RuleTally {
  return (
    isObject(value) &&
    typeof value.kind === 'string' &&
    typeof value.id === 'string' &&
    typeof value.title === 'string' &&
    typeof value.level === 'string' &&
    typeof value.alerts === 'number'
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
