/**
 * A detection as hunts report it. The snake_case names are a public contract (JSON, JSONL, CSV
 * columns, the HTML report, the server's API): add fields, never rename or drop one.
 */
import type { CorrelationAlert, RuleInfo, RuleMatch } from '@firebreak/sigma';
import type { FirebreakEvent } from '../event.js';
import { isoTime } from '../event-time.js';
import { attackOf, type Attack } from './attack.js';

export const LEVELS = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export type DetectionLevel = (typeof LEVELS)[number];

export interface Detection {
  rule_id: string;
  rule_title: string;
  level: DetectionLevel;
  status: string;
  tags: string[];
  attack: Attack;
  /** ISO 8601 UTC, or null when the event has no readable time. */
  timestamp: string | null;
  computer: string | null;
  channel: string | null;
  event_id: number | null;
  record_id: number | null;
  /** The input file's path. */
  file: string;
  /** Rule field → the event's value, for the fields that made the match (a correlation: its group-by values). */
  fields: Record<string, unknown>;
  /** `rule` for a rule match, the correlation type (`event_count`, `temporal`...) for a correlation alert. */
  kind: string;
  /** The rule's file (and line) on disk. */
  rule_file: string | null;
  /** What the event is: its layer and Sigma category or service. */
  layer: string;
  category: string | null;
}

/** Rank of a level, 0 = informational … 4 = critical; rules without a level count as informational. */
export function levelRank(level: string | undefined): number {
  const rank = LEVELS.indexOf(level as DetectionLevel);
  return rank < 0 ? 0 : rank;
}

/** The rule's part of its detections, worked out once per rule (detections share it: treat it as read-only). */
const ruleParts = new WeakMap<RuleInfo, ReturnType<typeof ruleFields>>();

function rulePart(info: RuleInfo): ReturnType<typeof ruleFields> {
  let rule = ruleParts.get(info);
  if (!rule) ruleParts.set(info, (rule = ruleFields(info)));
  return rule;
}

/** How a detection names its rule: id (else name, else title), title and level. */
export function ruleIdentity(info: RuleInfo): Pick<Detection, 'rule_id' | 'rule_title' | 'level'> {
  const { rule_id, rule_title, level } = rulePart(info);
  return { rule_id, rule_title, level };
}

export function ruleDetection(match: RuleMatch, event: FirebreakEvent): Detection {
  const rule = rulePart(match.rule);
  // Spelled out (one spread at most): detections are built by the hundred thousand, and spreads of spreads measured 15 % of a hunt.
  const logsource = event.logsource;
  return {
    rule_id: rule.rule_id,
    rule_title: rule.rule_title,
    level: rule.level,
    status: rule.status,
    tags: rule.tags,
    attack: rule.attack,
    ...eventHeader(event),
    fields: match.fields,
    kind: 'rule',
    rule_file: rule.rule_file,
    layer: event.layer,
    category: logsource?.category ?? logsource?.service ?? null,
  };
}

/** A correlation alert, told at the rule match that completed it (`trigger`: that match's detection). */
export function correlationDetection(alert: CorrelationAlert, trigger: Detection): Detection {
  const c = alert.correlation;
  return {
    ...trigger,
    ...ruleFields({ ...c, logsource: {} }),
    fields: { ...alert.group, [c.type]: alert.value },
    kind: c.type,
  };
}

function ruleFields(rule: RuleInfo): Pick<Detection, 'rule_id' | 'rule_title' | 'level' | 'status' | 'tags' | 'attack' | 'rule_file'> {
  const where = rule.location;
  return {
    rule_id: rule.id ?? rule.name ?? rule.title,
    rule_title: rule.title,
    level: LEVELS[levelRank(rule.level)]!,
    status: rule.status ?? 'unknown',
    tags: rule.tags,
    attack: attackOf(rule.tags),
    rule_file: where.file ? (where.line ? `${where.file}:${where.line}` : where.file) : null,
  };
}

/** Where and when an event was recorded, under the contract's names (detections and timelines share them). */
export function eventHeader(
  event: FirebreakEvent,
): Pick<Detection, 'timestamp' | 'computer' | 'channel' | 'event_id' | 'record_id' | 'file'> {
  return {
    timestamp: isoTime(event.timestamp),
    computer: event.host ?? null,
    channel: event.channel ?? null,
    event_id: event.eventId ?? null,
    record_id: event.recordId ?? null,
    file: event.file,
  };
}
