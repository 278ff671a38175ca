/**
 * What a rule's match implies about literals, for the prefilter: a conjunction of clauses, each
 * clause a set of literals one of which must occur. Derived soundly from the detection: a map
 * requires all its entries' clauses, OR keeps one clause per branch (united), NOT implies nothing.
 */
import type { Needle } from './pattern.js';

/** A literal the prefilter looks for in one event field, or in every field when `field` is '' (keywords); lowercased. */
export interface FieldNeedle extends Needle {
  field: string;
}

/** One of these occurs. */
export type Clause = FieldNeedle[];
/** Every clause holds; an empty list implies nothing (the rule is always evaluated). */
export type Requirement = Clause[];

/** Clauses kept per rule: each clause may add a field to scan, so only the most selective few. */
export const MAX_CLAUSES = 4;

/** A clause whose shortest literal is longer is more selective; fewer literals break ties. */
function score(clause: Clause): number {
  return Math.min(...clause.map((n) => n.text.length)) * 1000 - clause.length;
}

export function requireAll(requirements: readonly Requirement[]): Requirement {
  const clauses = requirements.flat();
  if (clauses.length <= MAX_CLAUSES) return clauses;
  return [...clauses].sort((a, b) => score(b) - score(a)).slice(0, MAX_CLAUSES);
}

export function requireAny(requirements: readonly Requirement[]): Requirement {
  if (requirements.some((r) => r.length === 0)) return [];
  return [requirements.flatMap((r) => bestClause(r))];
}

function bestClause(requirement: Requirement): Clause {
  return requirement.reduce((best, clause) => (score(clause) > score(best) ? clause : best));
}
