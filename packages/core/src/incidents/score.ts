/**
 * How bad an incident is: a 0–100 score, a severity and a title an analyst can triage by.
 *
 * Score = (Σ over distinct rules of level points × kind weight + tactic points) × spread, capped at 100:
 * - level points: critical 40, high 20, medium 8, low 2, informational 0 — three highs outweigh a
 *   critical, a pile of lows never adds up to one high;
 * - each rule counts once: a rule firing a thousand times is one finding, not a thousand;
 * - kind weight: a Sigma rule looks at one event (×1); a correlation, an IOC match or a behaviour
 *   (several steps, or a known-bad artifact) is a stronger finding (×1.5);
 * - tactic points: 5 for each ATT&CK tactic beyond the first, because an attack moving through
 *   execution, persistence and command-and-control is further along than one that did not;
 * - spread: ×(1 + 0.5 per host beyond the first), at most ×3 — the same activity on several
 *   machines is the thing to stop first.
 * Severity is the highest alert level, raised one step when the score reaches 70 or the incident
 * spans more than one host.
 */
import { LEVELS, levelRank, type DetectionLevel } from '../hunt/detection.js';

export const LEVEL_POINTS: Readonly<Record<DetectionLevel, number>> = { informational: 0, low: 2, medium: 8, high: 20, critical: 40 };
const STRONG_KIND_WEIGHT = 1.5;
const STRONG_KINDS: ReadonlySet<string> = new Set(['correlation', 'ioc', 'behavior']);
const TACTIC_POINTS = 5;
const SPREAD_PER_HOST = 0.5;
const MAX_SPREAD = 3;
export const MAX_SCORE = 100;
/** A score from which an incident's severity is raised a step. */
export const RAISING_SCORE = 70;
/** Title length kept: rule titles and host names are long enough already. */
const MAX_TITLE = 300;

export interface ScoredRule {
  kind: string;
  level: string;
}

/** What one distinct rule adds to an incident's score before spread. */
export function rulePoints(rule: ScoredRule): number {
  const points = LEVEL_POINTS[LEVELS[levelRank(rule.level)]];
  return STRONG_KINDS.has(rule.kind) ? points * STRONG_KIND_WEIGHT : points;
}

export interface ScoreInput {
  /** Each distinct rule once, at its level. */
  rules: readonly ScoredRule[];
  /** Distinct ATT&CK tactics among the alerts' tags. */
  tactics: number;
  hosts: number;
}

export function incidentScore(input: ScoreInput): number {
  let points = TACTIC_POINTS * Math.max(0, input.tactics - 1);
  for (const rule of input.rules) points += rulePoints(rule);
  const spread = Math.min(MAX_SPREAD, 1 + SPREAD_PER_HOST * Math.max(0, input.hosts - 1));
  return Math.min(MAX_SCORE, Math.round(points * spread));
}

/** The highest alert level, a step higher (critical stays critical) when the score or the spread says so. */
export function incidentSeverity(highestLevel: string, score: number, hosts: number): DetectionLevel {
  const rank = levelRank(highestLevel);
  const raised = score >= RAISING_SCORE || hosts > 1 ? rank + 1 : rank;
  return LEVELS[Math.min(raised, LEVELS.length - 1)];
}

/** `<top rule> on <host> (+N more rules)`, or `… across N hosts`; the top rule alone when no host is known. */
export function incidentTitle(topRuleTitle: string, hosts: readonly string[], ruleCount: number): string {
  const where = hosts.length === 1 ? ` on ${hosts[0]}` : hosts.length > 1 ? ` across ${hosts.length} hosts` : '';
  const others = ruleCount - 1;
  const more = others > 0 ? ` (+${others} more rule${others === 1 ? '' : 's'})` : '';
  const title = `${topRuleTitle}${where}${more}`;
  return title.length > MAX_TITLE ? `${title.slice(0, MAX_TITLE - 1)}…` : title;
}
