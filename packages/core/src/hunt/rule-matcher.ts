/**
 * Running the rules on one event and describing what matched, with what the correlation stage
 * needs for the rules a correlation uses. Hunts and the server's live detection share it.
 */
import type { RuleSet } from '@firebreak/sigma';
import type { FirebreakEvent } from '../event.js';
import { ruleDetection, type Detection } from './detection.js';

/** A rule match; `correlate` carries what the correlation stage needs when a correlation uses the rule. */
export interface HuntItem {
  detection: Detection;
  correlate?: { refs: string[]; time?: number; fields?: Record<string, unknown> };
}

export class RuleMatcher {
  /** rule_id → the rule's id and name, for the rules some correlation uses. */
  private readonly correlatedRefs = new Map<string, string[]>();
  /** The fields correlations read (group-by, aggregated, aliased): all a correlated match needs to carry. */
  private readonly correlationFields: string[];

  constructor(private readonly ruleSet: RuleSet) {
    const correlations = ruleSet.correlations;
    const used = new Set(correlations.flatMap((c) => c.rules));
    for (const rule of ruleSet.ruleInfos) {
      const refs = [rule.id, rule.name].filter((r): r is string => r !== undefined);
      if (refs.some((r) => used.has(r))) this.correlatedRefs.set(rule.id ?? rule.name ?? rule.title, refs);
    }
    const fields = correlations.flatMap((c) => [
      ...c.groupBy,
      ...(c.field === undefined ? [] : [c.field]),
      ...Object.values(c.aliases).flatMap((byRule) => Object.values(byRule)),
    ]);
    this.correlationFields = [...new Set(fields)];
  }

  /** Appends the event's matches to `out` (no array per event: most events match nothing). */
  match(event: FirebreakEvent, out: HuntItem[]): void {
    for (const match of this.ruleSet.match(event.fields)) out.push(this.item(ruleDetection(match, event), event));
  }

  private item(detection: Detection, event: FirebreakEvent): HuntItem {
    const refs = this.correlatedRefs.get(detection.rule_id);
    if (!refs) return { detection };
    const time = event.timestamp;
    return { detection, correlate: time === undefined ? { refs } : { refs, time, fields: this.fieldsForCorrelation(event) } };
  }

  /** Only what correlations read crosses to the correlation stage (possibly another thread). */
  private fieldsForCorrelation(event: FirebreakEvent): Record<string, unknown> {
    const out = Object.create(null) as Record<string, unknown>;
    for (const field of this.correlationFields) {
      const value = event.fields.get(field);
      if (value !== undefined) out[field] = value;
    }
    return out;
  }
}
