/** Messages between the server and its ingest threads (parsing and detection). */
import type { HuntItem, IngestContext, IngestFormat, LineRejection, LineWarning, RuleOptions, RuleSummary } from '@firebreak/core';
import type { SerializedEventRecord } from '@firebreak/store';

/** A stored event, as a thread needs it for detection: the fields travel as their JSON text. */
export interface EventForDetection {
  id: number;
  time: number;
  host: string | null;
  format: string;
  origin: string | null;
  fieldsJson: string;
}

export interface RuleListing {
  id: string;
  title: string;
  level: string;
  status: string;
  tags: string[];
  file: string | null;
  logsource: Record<string, string>;
  /** Saved through the API (stored in the store) rather than read from a rule file. */
  custom: boolean;
}

/** A rule match on the event at `index` of the batch it came with. */
export interface EventMatch {
  index: number;
  item: HuntItem;
}

/** One item of an Elasticsearch bulk request: the event it became (`record`, an index into the records) or why not. */
export interface BulkItem {
  action: string;
  index: string;
  id?: string;
  record?: number;
  error?: string;
}

export type ParseFormat = IngestFormat | 'bulk';

export type ToThread =
  | { kind: 'parse'; seq: number; format: ParseFormat; body: string; context: IngestContext; index?: string }
  | { kind: 'detect'; seq: number; events: EventForDetection[] };

export interface Parsed {
  records: SerializedEventRecord[];
  rejected: LineRejection[];
  /** Lines kept with something left out. */
  warnings: LineWarning[];
  /** Bulk requests only: every item, in request order. */
  items?: BulkItem[];
  matches: EventMatch[];
  problems: string[];
}

export interface Detected {
  matches: EventMatch[];
  problems: string[];
}

export type FromThread =
  | { kind: 'ready'; summary: RuleSummary; rules: RuleListing[] }
  | { kind: 'failed'; message: string }
  | ({ kind: 'parsed'; seq: number } & Parsed)
  | ({ kind: 'detected'; seq: number } & Detected)
  | { kind: 'error'; seq: number; message: string };

/** Rule YAML from elsewhere than a file: `file` names it in listings, reports and alerts. */
export interface RuleSource {
  file: string;
  text: string;
}

export interface ThreadOptions {
  rules: RuleOptions;
  /** Rules saved through the API, loaded with the files as one set. */
  customRules?: RuleSource[];
}
