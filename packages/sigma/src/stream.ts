/**
 * Detection on a live stream: each event goes through the rules, and their matches through the
 * correlations. Correlation state lives only as long as the timespans need it.
 */
import { CorrelationEngine, type CorrelationAlert, type CorrelationEngineOptions } from './correlation.js';
import type { RuleMatch, RuleSet } from './ruleset.js';
import type { SigmaEvent } from './types.js';

export interface Detections {
  /** Rule matches to report: those of rules a correlation consumes with `generate: false` are left out. */
  matches: RuleMatch[];
  /** Correlations this event completed, chained ones included (unless consumed with `generate: false`). */
  correlations: CorrelationAlert[];
}

export class DetectionStream {
  private readonly engine: CorrelationEngine;

  constructor(
    private readonly ruleSet: RuleSet,
    options: CorrelationEngineOptions = {},
  ) {
    this.engine = new CorrelationEngine(ruleSet.correlations, options);
  }

  /** `time`: the event's time in ms since the epoch (what correlation timespans are measured in). */
  push(event: SigmaEvent, time: number): Detections {
    const matches = this.ruleSet.match(event);
    if (this.ruleSet.correlations.length === 0) return { matches, correlations: [] };
    const correlations: CorrelationAlert[] = [];
    const reported: RuleMatch[] = [];
    for (const match of matches) {
      const refs = refsOf(match.rule);
      for (const alert of this.engine.push(refs, event, time))
        if (!this.engine.isSuppressed(refsOf(alert.correlation))) correlations.push(alert);
      if (!this.engine.isSuppressed(refs)) reported.push(match);
    }
    return { matches: reported, correlations };
  }

  /** Items held for open correlation windows (for monitoring memory). */
  stateSize(): number {
    return this.engine.stateSize();
  }
}

function refsOf(doc: { id?: string; name?: string }): string[] {
  return [doc.id, doc.name].filter((r): r is string => r !== undefined);
}
