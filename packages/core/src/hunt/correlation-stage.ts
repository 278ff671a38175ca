/**
 * Correlations over a hunt's rule matches, in input order. Rule matching runs in parallel; this
 * stage runs once, on the thread that puts the results back in order, so a correlation sees the
 * matches of every file.
 */
import { CorrelationEngine, objectEvent, type CorrelationDocument } from '@firebreak/sigma';
import { correlationDetection, type Detection } from './detection.js';
import type { HuntItem } from './rule-matcher.js';

export class CorrelationStage {
  private readonly engine: CorrelationEngine;
  /** Matches of correlated rules that had no readable time, so could not be correlated. */
  untimed = 0;

  constructor(correlations: CorrelationDocument[]) {
    this.engine = new CorrelationEngine(correlations);
  }

  /** The detections to report for these matches: correlation alerts they complete, and the matches a correlation does not consume. */
  process(items: readonly HuntItem[]): Detection[] {
    const out: Detection[] = [];
    for (const { detection, correlate } of items) {
      if (!correlate) {
        out.push(detection);
        continue;
      }
      if (correlate.time === undefined || correlate.fields === undefined) this.untimed++;
      else
        for (const alert of this.engine.push(correlate.refs, objectEvent(correlate.fields), correlate.time))
          if (!this.engine.isSuppressed(refsOf(alert.correlation))) out.push(correlationDetection(alert, detection));
      if (!this.engine.isSuppressed(correlate.refs)) out.push(detection);
    }
    return out;
  }
}

function refsOf(doc: { id?: string; name?: string }): string[] {
  return [doc.id, doc.name].filter((r): r is string => r !== undefined);
}
