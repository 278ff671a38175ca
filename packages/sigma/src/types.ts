/**
 * The shapes every module of the engine shares: events as rules see them, parsed Sigma documents,
 * and what a match reports.
 */

/**
 * An event as a rule reads it: a field's value by name (`undefined` when absent). The EVTX reader's
 * flat view (`EventFields`) fits as is; `objectEvent()` adapts a plain object.
 */
export interface SigmaEvent {
  get(field: string): unknown;
  keys(): Iterable<string>;
  /**
   * Optional, for speed: every field's value, as `keys()` and `get()` give them, without the
   * lookups by name (keyword searches read every value of every event). A name that occurs in
   * several parts of a record may give its parts one by one instead of as one list.
   */
  values?(): Iterable<unknown>;
}

/** Where a document or a problem is: file, 1-based line where known. */
export interface SourceLocation {
  file?: string;
  line?: number;
}

export type Level = 'informational' | 'low' | 'medium' | 'high' | 'critical';

export interface LogSource {
  product?: string;
  category?: string;
  service?: string;
}

/** Fields every Sigma document (rule, filter, correlation) has in common. */
export interface DocumentMeta {
  /** UUID, when the document has one. */
  id?: string;
  /** The `name` a correlation or filter may reference instead of the id. */
  name?: string;
  title: string;
  status?: string;
  level?: Level;
  description?: string;
  tags: string[];
  author?: string;
  references: string[];
  falsepositives: string[];
  location: SourceLocation;
}

/** A detection rule as parsed, before compilation. */
export interface RuleDocument extends DocumentMeta {
  kind: 'rule';
  logsource: LogSource;
  /** The `detection` map without `condition`: search identifier → definition. */
  searches: Record<string, unknown>;
  /** One or more conditions (a condition list is OR of its entries). */
  conditions: string[];
  /** Line of a search identifier, for problems found when compiling (worked out on demand). */
  searchLine: (name: string) => number | undefined;
  /** Fields the rule says are interesting to show, if any. */
  fields: string[];
}

/** A filter document: extra `and not` conditions for the rules it names. */
export interface FilterDocument extends DocumentMeta {
  kind: 'filter';
  /** Ids or names of the rules it applies to. */
  rules: string[];
  logsource: LogSource;
  searches: Record<string, unknown>;
  conditions: string[];
  searchLine: (name: string) => number | undefined;
}

export type CorrelationType =
  'event_count' | 'value_count' | 'temporal' | 'temporal_ordered' | 'value_sum' | 'value_avg' | 'value_percentile';

export type ComparisonOperator = 'gt' | 'gte' | 'lt' | 'lte' | 'eq' | 'neq';

/** A correlation's threshold: every comparison must hold (`gte: 10, lt: 20` is a range). */
export type CorrelationCondition = Partial<Record<ComparisonOperator, number>>;

export interface CorrelationDocument extends DocumentMeta {
  kind: 'correlation';
  type: CorrelationType;
  /** Ids or names of the rules (or other correlations) it correlates, in order for `temporal_ordered`. */
  rules: string[];
  /** Fields (or alias names) events are grouped by; empty = one group. */
  groupBy: string[];
  timespanMs: number;
  /** Threshold; absent for temporal types, which need every referenced rule. */
  condition?: CorrelationCondition;
  /** The field aggregated by value_count, value_sum, value_avg and value_percentile. */
  field?: string;
  /** value_percentile: which percentile (0–100) is compared against the condition. */
  percentile?: number;
  /** alias → (rule id or name → field name in that rule's events). */
  aliases: Record<string, Record<string, string>>;
  /** Whether the referenced rules still report their own matches (default false). */
  generate: boolean;
}

export type SigmaDocument = RuleDocument | FilterDocument | CorrelationDocument;

/** Thrown for a rule the engine understands but cannot evaluate (e.g. a regex construct RE2 lacks). */
export class UnsupportedError extends Error {
  override name = 'UnsupportedError';
}

/** Thrown for a document that breaks the specification; the message is the reason. */
export class InvalidRuleError extends Error {
  override name = 'InvalidRuleError';
  constructor(
    message: string,
    readonly location: SourceLocation = {},
  ) {
    super(message);
  }
}
