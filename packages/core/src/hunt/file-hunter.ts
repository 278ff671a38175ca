/**
 * Hunting one file: read its events, keep those the filter wants, run the rules, and hand on the
 * detections in batches (a worker thread posts them; in-process hunts take them directly).
 */
import type { RuleSet } from '@firebreak/sigma';
import { readEventFile, type ReadProblem } from '../event-files.js';
import type { FirebreakEvent } from '../event.js';
import { ruleDetection, type Detection } from './detection.js';

/** A rule match; `correlate` carries what the correlation stage needs when a correlation uses the rule. */
export interface HuntItem {
  detection: Detection;
  correlate?: { refs: string[]; time?: number; fields?: Record<string, unknown> };
}

/** Part of a file's results. `done` marks the last part; `failed` says why a file could not be read at all. */
export interface FileBatch {
  items: HuntItem[];
  /** Events read since the previous batch, and how many of them the event filter left out. */
  events: number;
  filtered: number;
  problems: ReadProblem[];
  done: boolean;
  failed?: string;
  /** Made up by the pool for a worker that died: no worker waits for it to be taken. */
  lost?: boolean;
}

/** Events per batch: small enough for steady progress, large enough that messages cost nothing. */
const BATCH_EVENTS = 4096;
const BATCH_ITEMS = 512;

export class FileHunter {
  /** rule_id → the rule's id and name, for the rules some correlation uses. */
  private readonly correlatedRefs = new Map<string, string[]>();
  /** The fields correlations read (group-by, aggregated, aliased): all a correlated match needs to carry. */
  private readonly correlationFields: string[];

  constructor(
    private readonly ruleSet: RuleSet,
    private readonly keep: ((event: FirebreakEvent) => boolean) | undefined,
  ) {
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

  /**
   * The file's results in batches; the last one is marked `done`. A file counts as failed only
   * when nothing of it could be read; an error after some events is a problem, and an error on
   * one event skips that event.
   */
  async *hunt(path: string): AsyncGenerator<FileBatch> {
    let batch = emptyBatch();
    let read = 0;
    try {
      for await (const event of readEventFile(path, (p) => batch.problems.push(p))) {
        read++;
        batch.events++;
        this.huntEvent(event, batch);
        if (batch.events >= BATCH_EVENTS || batch.items.length >= BATCH_ITEMS) {
          yield batch;
          batch = emptyBatch();
        }
      }
    } catch (error) {
      if (read === 0) batch.failed = (error as Error).message;
      else batch.problems.push({ origin: path, message: `reading stopped after ${read} events: ${(error as Error).message}` });
    }
    batch.done = true;
    yield batch;
  }

  private huntEvent(event: FirebreakEvent, batch: FileBatch): void {
    try {
      if (this.keep && !this.keep(event)) batch.filtered++;
      else for (const match of this.ruleSet.match(event.fields)) batch.items.push(this.item(ruleDetection(match, event), event));
    } catch (error) {
      batch.problems.push({ origin: event.origin, message: `event skipped: ${(error as Error).message}` });
    }
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

function emptyBatch(): FileBatch {
  return { items: [], events: 0, filtered: 0, problems: [], done: false };
}
