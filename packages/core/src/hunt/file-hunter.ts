/**
 * Hunting one file: read its events, keep those the filter wants, run the rules, and hand on the
 * detections in batches (a worker thread posts them; in-process hunts take them directly).
 */
import type { RuleSet } from '@firebreak/sigma';
import { readEventFile, type ReadProblem } from '../event-files.js';
import type { FirebreakEvent } from '../event.js';
import { RuleMatcher, type HuntItem } from './rule-matcher.js';

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
  private readonly matcher: RuleMatcher;

  constructor(
    ruleSet: RuleSet,
    private readonly keep: ((event: FirebreakEvent) => boolean) | undefined,
  ) {
    this.matcher = new RuleMatcher(ruleSet);
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
      else this.matcher.match(event, batch.items);
    } catch (error) {
      batch.problems.push({ origin: event.origin, message: `event skipped: ${(error as Error).message}` });
    }
  }
}

function emptyBatch(): FileBatch {
  return { items: [], events: 0, filtered: 0, problems: [], done: false };
}
