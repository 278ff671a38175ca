/** What a hunt did, for the end-of-run summary and the report's header. */
import type { DetectionLevel } from './detection.js';

export interface HuntSummary {
  /** Input files read (at least partly) and files skipped as unreadable or of no known format. */
  files: number;
  filesSkipped: number;
  events: number;
  /** Events left out by --from/--to/--computer/--eid before detection. */
  eventsFiltered: number;
  detections: number;
  byLevel: Record<DetectionLevel, number>;
  /** Rules (and correlations) that loaded and were used, and those left out. */
  rulesLoaded: number;
  rulesSkipped: number;
  /** Why rules were left out → how many: "unsupported", "invalid", "filtered by --min-level"... */
  skipReasons: Record<string, number>;
  /** Warnings reported while reading (damaged records, bad lines). */
  warnings: number;
  /** Inputs as given on the command line. */
  inputs: string[];
  startedAt: string;
  elapsedMs: number;
  eventsPerSecond: number;
  peakRssBytes: number;
}
