/**
 * Sigma correlation rules (specification v2.1): the `correlation:` section parsed and validated, and a
 * streaming engine that turns base-rule matches into correlation alerts over a sliding window of event time.
 *
 * Engine choices where the specification leaves room (each is also noted where it is implemented):
 * - The window is sliding, not bucketed: a group holds what happened in [clock − timespan, clock], both ends
 *   included, where the clock is the latest match time seen so far. A match later than the clock moves it;
 *   a match behind it (out of order) still counts if it is inside the window and is dropped if it is older.
 * - A condition is tested whenever a match reaches its group, against the window ending at that moment, so an
 *   upper bound (lt, lte) is checked at each match rather than over a finished window: alone, it holds from
 *   the first match on.
 * - When a group fires, its state is dropped: the same matches never fire twice, and the group fires again
 *   only when later matches meet the condition anew (one alert per window, like pySigma's backends).
 * - A match lacking a group-by field (or, for value_* types, lacking the aggregated field or a number in it)
 *   contributes nothing, as in the backends' `stats … by` / terms aggregations, which leave null keys out.
 */
import { objectEvent } from './event.js';
import { InvalidRuleError, UnsupportedError } from './types.js';
import type { ComparisonOperator, CorrelationCondition, CorrelationDocument, CorrelationType, DocumentMeta, SigmaEvent } from './types.js';

type Fail = (message: string) => never;

const CORRELATION_TYPES: readonly CorrelationType[] = [
  'event_count',
  'value_count',
  'temporal',
  'temporal_ordered',
  'value_sum',
  'value_avg',
  'value_percentile',
];
const VALUE_TYPES: readonly CorrelationType[] = ['value_count', 'value_sum', 'value_avg', 'value_percentile'];
const OPERATORS: readonly ComparisonOperator[] = ['gt', 'gte', 'lt', 'lte', 'eq', 'neq'];
const CORRELATION_KEYS = ['type', 'rules', 'group-by', 'timespan', 'condition', 'aliases', 'generate'];

/**
 * Milliseconds per timespan unit. The specification lists s, m, h and d; w, M and y are pySigma's, with
 * its month of 1/12 Gregorian year.
 */
const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  M: 2_629_746_000,
  y: 31_556_952_000,
};
const TIMESPAN = /^(\d+)([smhdwMy])$/;

/** The specification's own value_percentile example names no percentile; it explains percentiles by "median is percentile 50". */
const DEFAULT_PERCENTILE = 50;

/** Parses the value of a document's `correlation:` key; `meta` is the document's common fields. */
export function parseCorrelation(body: Record<string, unknown>, meta: DocumentMeta): CorrelationDocument {
  const fail: Fail = (message) => {
    throw new InvalidRuleError(message, meta.location);
  };
  if (!isMap(body)) fail('correlation must be a map with type, rules, timespan and condition');
  // An unknown key is most often a misspelling (group_by, groupby) that would silently change the meaning.
  for (const key of Object.keys(body)) {
    if (!CORRELATION_KEYS.includes(key)) fail(`correlation.${key} is not a correlation key (${CORRELATION_KEYS.join(', ')})`);
  }
  const type = parseType(body.type, fail);
  return {
    ...meta,
    kind: 'correlation',
    type,
    rules: parseRules(body.rules, fail),
    groupBy: parseGroupBy(body['group-by'], fail),
    timespanMs: parseTimespan(body.timespan, fail),
    ...parseCondition(body.condition, type, fail),
    aliases: parseAliases(body.aliases, fail),
    generate: parseGenerate(body.generate, fail),
  };
}

function parseType(value: unknown, fail: Fail): CorrelationType {
  if (value === undefined) fail('correlation.type is required');
  const type = CORRELATION_TYPES.find((known) => known === value);
  if (type === undefined) fail(`correlation.type ${describe(value)} is not one of ${CORRELATION_TYPES.join(', ')}`);
  return type;
}

/** A single reference may be written as a plain string, as pySigma accepts. */
function parseRules(value: unknown, fail: Fail): string[] {
  const rules: unknown = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(rules) || rules.length === 0) fail('correlation.rules must list at least one rule id or name');
  return rules.map((rule: unknown, index) => {
    if (typeof rule !== 'string' || rule.trim() === '')
      fail(`correlation.rules[${index}] must be a rule id or name, not ${describe(rule)}`);
    return rule;
  });
}

/** The specification marks group-by mandatory yet calls it optional; like pySigma, absent means one group. */
function parseGroupBy(value: unknown, fail: Fail): string[] {
  if (value === undefined || value === null) return [];
  const fields: unknown = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(fields)) fail(`correlation.group-by must be a list of field names, not ${describe(value)}`);
  return fields.map((field: unknown, index) => {
    if (typeof field !== 'string' || field === '') fail(`correlation.group-by[${index}] must be a field name, not ${describe(field)}`);
    return field;
  });
}

function parseTimespan(value: unknown, fail: Fail): number {
  if (value === undefined) fail('correlation.timespan is required');
  const match = typeof value === 'string' ? TIMESPAN.exec(value) : null;
  if (match === null) fail(`correlation.timespan ${describe(value)} is not a duration like 5m, 1h or 2d`);
  const ms = Number(match[1]) * UNIT_MS[match[2]];
  if (ms === 0) fail(`correlation.timespan "${match[0]}" must be longer than zero`);
  if (!Number.isSafeInteger(ms)) fail(`correlation.timespan "${match[0]}" is too long`);
  return ms;
}

/** `condition` with the `field` and `percentile` it may carry, which the document keeps beside it. */
function parseCondition(
  value: unknown,
  type: CorrelationType,
  fail: Fail,
): Pick<CorrelationDocument, 'condition' | 'field' | 'percentile'> {
  const temporal = type === 'temporal' || type === 'temporal_ordered';
  if (value === undefined || value === null) {
    // Temporal types need every referenced rule when no condition says how many.
    if (temporal) return {};
    fail(`correlation.condition is required for ${type}`);
  }
  if (typeof value === 'string' && temporal) {
    throw new UnsupportedError(
      `correlation.condition "${value}": boolean rule expressions are a pySigma extension; Sigma has a map like gte: 2`,
    );
  }
  if (!isMap(value)) fail(`correlation.condition must be a map of comparisons such as gte: 10, not ${describe(value)}`);
  const condition: CorrelationCondition = {};
  for (const [key, threshold] of Object.entries(value)) {
    if (key === 'field' || key === 'percentile') continue;
    const operator = OPERATORS.find((known) => known === key);
    if (operator === undefined) fail(`correlation.condition.${key} is not one of ${OPERATORS.join(', ')}, field or percentile`);
    if (typeof threshold !== 'number' || !Number.isFinite(threshold))
      fail(`correlation.condition.${key} must be a number, not ${describe(threshold)}`);
    condition[operator] = threshold;
  }
  if (Object.keys(condition).length === 0) fail(`correlation.condition needs a comparison (${OPERATORS.join(', ')})`);
  return { condition, field: parseField(value.field, type, fail), percentile: parsePercentile(value.percentile, type, fail) };
}

function parseField(value: unknown, type: CorrelationType, fail: Fail): string | undefined {
  if (!VALUE_TYPES.includes(type)) {
    if (value !== undefined) fail(`correlation.condition.field applies to ${VALUE_TYPES.join(', ')}, not ${type}`);
    return undefined;
  }
  if (value === undefined) fail(`correlation.condition.field is required for ${type}`);
  // The schema allows a list; one field is all an aggregation over a single value can take.
  const fields: unknown = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(fields) || fields.length === 0 || fields.some((field) => typeof field !== 'string' || field === '')) {
    fail(`correlation.condition.field must be a field name, not ${describe(value)}`);
  }
  if (fields.length > 1)
    throw new UnsupportedError(`correlation.condition.field lists ${fields.length} fields; only one field can be aggregated`);
  return fields[0] as string;
}

function parsePercentile(value: unknown, type: CorrelationType, fail: Fail): number | undefined {
  if (type !== 'value_percentile') {
    if (value !== undefined) fail(`correlation.condition.percentile applies to value_percentile, not ${type}`);
    return undefined;
  }
  if (value === undefined) return DEFAULT_PERCENTILE;
  if (typeof value !== 'number' || !(value >= 0 && value <= 100))
    fail(`correlation.condition.percentile must be a number from 0 to 100, not ${describe(value)}`);
  return value;
}

/**
 * alias → (rule → field). The rules are not checked against `rules`: an alias may name a rule that `rules`
 * lists by id, and only the caller knows both.
 */
function parseAliases(value: unknown, fail: Fail): Record<string, Record<string, string>> {
  if (value === undefined || value === null) return {};
  if (!isMap(value)) fail(`correlation.aliases must map each alias to a map of rule name → field, not ${describe(value)}`);
  const aliases: Record<string, Record<string, string>> = {};
  for (const [alias, mapping] of Object.entries(value)) {
    if (!isMap(mapping) || Object.keys(mapping).length === 0) fail(`correlation.aliases.${alias} must map rule names to field names`);
    for (const [rule, field] of Object.entries(mapping)) {
      if (typeof field !== 'string' || field === '')
        fail(`correlation.aliases.${alias}.${rule} must be a field name, not ${describe(field)}`);
    }
    aliases[alias] = { ...(mapping as Record<string, string>) };
  }
  return aliases;
}

function parseGenerate(value: unknown, fail: Fail): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') fail(`correlation.generate must be true or false, not ${describe(value)}`);
  return value;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return 'nothing';
  return Array.isArray(value) ? 'a list' : `a ${typeof value}`;
}

// ─── Engine ──────────────────────────────────────────────────────────────────────────────────────────

/** A base-rule (or correlation) match as the engine takes it. */
export interface CorrelationMatch {
  /** Id and name (if any) of the rule that matched. */
  refs: readonly string[];
  event: SigmaEvent;
  /** Event time, ms. */
  time: number;
}

export interface CorrelationAlert {
  correlation: CorrelationDocument;
  /** group-by field (or alias) → the group's value. */
  group: Record<string, unknown>;
  /** Time of the match that completed the correlation, ms. */
  time: number;
  /** The event count, distinct-value count, sum, average or percentile reached; for temporal types, how many of the rules were seen. */
  value: number;
  /** Contributing events still in the window: at most `maxEvents`, the latest ones. */
  events: SigmaEvent[];
  /** The referenced rules (as `rules` writes them) that contributed. */
  rules: string[];
}

export interface CorrelationEngineOptions {
  /** Events kept per group to show in an alert (counts stay exact beyond it). Default 20. */
  maxEvents?: number;
}

/** How far ahead of the wall clock an event time may move the correlation clock. */
const MAX_CLOCK_LEAD_MS = 24 * 3600 * 1000;

/**
 * Streams matches through correlations. Memory is bounded by the timespans: everything older than
 * clock − timespan is evicted as the clock advances, idle groups included.
 */
export class CorrelationEngine {
  /** Ids and names of rules referenced only by correlations with generate: false, whose own matches are not reported. */
  readonly suppressed: ReadonlySet<string>;
  private readonly generated: ReadonlySet<string>;
  private readonly windows: CorrelationWindow[];
  private readonly windowsByRef = new Map<string, CorrelationWindow[]>();
  private clock = -Infinity;
  /** Clock time at which some correlation is next due to drop its idle groups. */
  private nextSweep = -Infinity;

  constructor(correlations: readonly CorrelationDocument[], options: CorrelationEngineOptions = {}) {
    rejectCycles(correlations);
    const maxEvents = options.maxEvents ?? 20;
    this.windows = correlations.map((correlation) => new CorrelationWindow(correlation, maxEvents));
    for (const window of this.windows) {
      for (const ref of new Set(window.correlation.rules)) {
        const list = this.windowsByRef.get(ref) ?? [];
        list.push(window);
        this.windowsByRef.set(ref, list);
      }
    }
    const generated = new Set(correlations.filter((c) => c.generate).flatMap((c) => c.rules));
    this.generated = generated;
    this.suppressed = new Set(correlations.flatMap((c) => c.rules).filter((ref) => !generated.has(ref)));
  }

  /**
   * One base-rule (or correlation) match: `refs` are the id and name (if any) of the rule that matched,
   * `time` the event time in ms. Returns the correlation alerts it completes, chained ones after the
   * alert that fed them.
   */
  push(refs: readonly string[], event: SigmaEvent, time: number): CorrelationAlert[] {
    if (!Number.isFinite(time)) throw new RangeError(`correlation match time ${time} is not a number of milliseconds`);
    // A time far in the future (a wrong clock, a crafted event) must not age every other match out.
    if (time > this.clock && time <= Date.now() + MAX_CLOCK_LEAD_MS) this.clock = time;
    this.sweepIfDue();
    const alerts: CorrelationAlert[] = [];
    this.feed(refs, event, time, alerts);
    return alerts;
  }

  /**
   * Whether a rule's own matches go unreported: some of its refs are referenced, none by a correlation
   * with generate: true. Asking with id and name together is exact even when correlations use different ones.
   */
  isSuppressed(refs: readonly string[]): boolean {
    return refs.some((ref) => this.suppressed.has(ref)) && !refs.some((ref) => this.generated.has(ref));
  }

  /** Groups plus items held in them: what memory grows with. */
  stateSize(): number {
    return this.windows.reduce((total, window) => total + window.stateSize(), 0);
  }

  private feed(refs: readonly string[], event: SigmaEvent, time: number, alerts: CorrelationAlert[]): void {
    for (const window of this.windowsFor(refs)) {
      const alert = window.push(refs, event, time, this.clock);
      if (alert === undefined) continue;
      alerts.push(alert);
      // Cycles were rejected in the constructor, so the chain ends.
      this.feed(refsOf(alert.correlation), objectEvent(alert.group), alert.time, alerts);
    }
  }

  /** Each correlation referencing one of the refs, once. */
  private windowsFor(refs: readonly string[]): Iterable<CorrelationWindow> {
    if (refs.length === 1) return this.windowsByRef.get(refs[0]) ?? [];
    return new Set(refs.flatMap((ref) => this.windowsByRef.get(ref) ?? []));
  }

  /** Idle groups go in sweeps; a group still in use sheds its old matches whenever a match reaches it. */
  private sweepIfDue(): void {
    if (this.clock < this.nextSweep) return;
    this.nextSweep = Math.min(...this.windows.map((window) => window.sweep(this.clock)));
  }
}

/** Every alert of the correlations over matches from a file: sorted by time (stable), then streamed. */
export function correlateAll(
  correlations: readonly CorrelationDocument[],
  matches: readonly CorrelationMatch[],
  options: CorrelationEngineOptions = {},
): CorrelationAlert[] {
  const engine = new CorrelationEngine(correlations, options);
  const sorted = [...matches].sort((a, b) => a.time - b.time);
  return sorted.flatMap((match) => engine.push(match.refs, match.event, match.time));
}

function refsOf(correlation: CorrelationDocument): string[] {
  return [correlation.id, correlation.name].filter((ref): ref is string => ref !== undefined);
}

/** A correlation referencing itself, directly or through others, would feed its own alerts forever. */
function rejectCycles(correlations: readonly CorrelationDocument[]): void {
  const byRef = new Map<string, CorrelationDocument>();
  for (const correlation of correlations) for (const ref of refsOf(correlation)) byRef.set(ref, correlation);
  const done = new Set<CorrelationDocument>();
  const visit = (correlation: CorrelationDocument, path: CorrelationDocument[]): void => {
    if (path.includes(correlation)) {
      const cycle = [...path.slice(path.indexOf(correlation)), correlation].map((c) => `"${c.title}"`).join(' → ');
      throw new InvalidRuleError(`correlation.rules form a cycle: ${cycle}`, correlation.location);
    }
    if (done.has(correlation)) return;
    for (const ref of correlation.rules) {
      const referenced = byRef.get(ref);
      if (referenced !== undefined) visit(referenced, [...path, correlation]);
    }
    done.add(correlation);
  };
  for (const correlation of correlations) visit(correlation, []);
}

/** One correlation's groups of matches. */
class CorrelationWindow {
  private readonly groups = new Map<string, GroupState>();
  /** ref → its positions in `rules` (a list may name one rule twice). */
  private readonly positionsByRef = new Map<string, number[]>();
  private nextSweep = -Infinity;

  constructor(
    readonly correlation: CorrelationDocument,
    private readonly maxEvents: number,
  ) {
    correlation.rules.forEach((ref, position) => this.positionsByRef.set(ref, [...(this.positionsByRef.get(ref) ?? []), position]));
  }

  push(refs: readonly string[], event: SigmaEvent, time: number, clock: number): CorrelationAlert | undefined {
    const cutoff = clock - this.correlation.timespanMs;
    // Behind the clock by more than the timespan: outside every window the engine still holds.
    if (time < cutoff) return undefined;
    const group = this.groupOf(refs, event);
    if (group === undefined) return undefined;
    const key = group.length === 1 ? valueKey(group[0]) : JSON.stringify(group.map(valueKey));
    let state = this.groups.get(key);
    if (state === undefined) {
      state = this.newState();
      this.groups.set(key, state);
    }
    state.evict(cutoff);
    const positions = refs.length === 1 ? (this.positionsByRef.get(refs[0]) ?? []) : this.positionsOf(refs);
    if (!state.add(positions, this.valueOf(refs, event), event, time)) {
      if (state.isEmpty()) this.groups.delete(key);
      return undefined;
    }
    state.lastTime = Math.max(state.lastTime, time);
    const value = state.value();
    if (!this.fires(value)) return undefined;
    this.groups.delete(key);
    return {
      correlation: this.correlation,
      group: Object.fromEntries(this.correlation.groupBy.map((name, index) => [name, group[index]])),
      time,
      value,
      events: state.events(),
      rules: state.positions().map((position) => this.correlation.rules[position]),
    };
  }

  /**
   * Drops the groups no match reached within the timespan, at most once per timespan of clock advance;
   * returns when it is due next. A group thus outlives its last match by two timespans at most, and as
   * a pass visits only groups that had a match in that span, its cost spreads to O(1) per match.
   */
  sweep(clock: number): number {
    if (clock >= this.nextSweep) {
      const cutoff = clock - this.correlation.timespanMs;
      for (const [key, state] of this.groups) if (state.lastTime < cutoff) this.groups.delete(key);
      this.nextSweep = clock + this.correlation.timespanMs;
    }
    return this.nextSweep;
  }

  stateSize(): number {
    let size = this.groups.size;
    for (const state of this.groups.values()) size += state.size();
    return size;
  }

  private positionsOf(refs: readonly string[]): number[] {
    return [...new Set(refs.flatMap((ref) => this.positionsByRef.get(ref) ?? []))].sort((a, b) => a - b);
  }

  /** The group-by values, or undefined when the event lacks one of them. */
  private groupOf(refs: readonly string[], event: SigmaEvent): unknown[] | undefined {
    const values: unknown[] = [];
    for (const name of this.correlation.groupBy) {
      const value = event.get(this.fieldFor(name, refs));
      if (value === undefined || value === null) return undefined;
      values.push(value);
    }
    return values;
  }

  /** What the event contributes to a value_* aggregation (a distinct-value key or a number), or undefined for nothing. */
  private valueOf(refs: readonly string[], event: SigmaEvent): string | number | undefined {
    const { type, field } = this.correlation;
    if (field === undefined) return undefined;
    const value = event.get(this.fieldFor(field, refs));
    if (value === undefined || value === null) return undefined;
    return type === 'value_count' ? valueKey(value) : toNumber(value);
  }

  /** An alias resolves to the field the matching rule's events use; a plain name, or an alias silent on that rule, is read as is. */
  private fieldFor(name: string, refs: readonly string[]): string {
    const mapping = this.correlation.aliases[name];
    if (mapping === undefined) return name;
    const ref = refs.find((candidate) => Object.hasOwn(mapping, candidate));
    return ref === undefined ? name : mapping[ref];
  }

  private fires(value: number): boolean {
    const { condition, rules } = this.correlation;
    if (condition === undefined) return value >= rules.length;
    return satisfies(condition, value);
  }

  private newState(): GroupState {
    const { type, rules, percentile } = this.correlation;
    if (type === 'temporal') return new AnyOrderGroup(rules.length);
    if (type === 'temporal_ordered') return new SequenceGroup(rules.length);
    return new AggregateGroup(type, rules.length, percentile ?? DEFAULT_PERCENTILE, this.maxEvents);
  }
}

/** Every comparison of the condition holds (several make a range). */
function satisfies(condition: CorrelationCondition, value: number): boolean {
  const { gt, gte, lt, lte, eq, neq } = condition;
  return (
    (gt === undefined || value > gt) &&
    (gte === undefined || value >= gte) &&
    (lt === undefined || value < lt) &&
    (lte === undefined || value <= lte) &&
    (eq === undefined || value === eq) &&
    (neq === undefined || value !== neq)
  );
}

/** One key per value: 5 and "5" are the same group (log sources disagree on types), structures compare by content. */
function valueKey(value: unknown): string {
  if (typeof value === 'object' && value !== null)
    return JSON.stringify(value, (_key, nested: unknown) => (typeof nested === 'bigint' ? String(nested) : nested));
  return String(value);
}

function toNumber(value: unknown): number | undefined {
  const number =
    typeof value === 'number'
      ? value
      : typeof value === 'bigint'
        ? Number(value)
        : typeof value === 'string' && value.trim() !== ''
          ? Number(value)
          : NaN;
  return Number.isFinite(number) ? number : undefined;
}

/** The state one group keeps, per correlation type. */
interface GroupState {
  /** Time of the latest match that contributed. */
  lastTime: number;
  evict(cutoff: number): void;
  /** Adds a match at these rule positions; false when it contributes nothing. */
  add(positions: number[], datum: string | number | undefined, event: SigmaEvent, time: number): boolean;
  value(): number;
  events(): SigmaEvent[];
  /** Rule positions that contributed. */
  positions(): number[];
  isEmpty(): boolean;
  size(): number;
}

interface Seen {
  time: number;
  event: SigmaEvent;
}

/**
 * temporal: for each rule only its latest match matters, since it stays in the window at least as long
 * as any earlier one.
 */
class AnyOrderGroup implements GroupState {
  lastTime = -Infinity;
  private readonly latest: (Seen | undefined)[];
  /** How many positions hold a match. */
  private seen = 0;

  constructor(rules: number) {
    this.latest = new Array<Seen | undefined>(rules).fill(undefined);
  }

  evict(cutoff: number): void {
    this.latest.forEach((seen, position) => {
      if (seen === undefined || seen.time >= cutoff) return;
      this.latest[position] = undefined;
      this.seen--;
    });
  }

  add(positions: number[], _datum: unknown, event: SigmaEvent, time: number): boolean {
    for (const position of positions) {
      const seen = this.latest[position];
      if (seen === undefined) this.seen++;
      if (seen === undefined || time >= seen.time) this.latest[position] = { time, event };
    }
    return positions.length > 0;
  }

  value(): number {
    return this.seen;
  }

  events(): SigmaEvent[] {
    const seen = this.latest.filter((entry): entry is Seen => entry !== undefined);
    return [...new Set(seen.sort((a, b) => a.time - b.time).map((entry) => entry.event))];
  }

  positions(): number[] {
    return this.latest.flatMap((seen, position) => (seen === undefined ? [] : [position]));
  }

  isEmpty(): boolean {
    return this.seen === 0;
  }

  size(): number {
    return this.seen;
  }
}

/** Matches of rules 0..k in the listed order, earliest first. */
interface Chain {
  start: number;
  steps: Seen[];
}

/**
 * temporal_ordered, by dynamic programming over arrival order: chains[k] is the chain through rules
 * 0..k that starts latest, the one that stays in the window longest. Arrival order is time order when
 * matches come sorted (correlateAll sorts); a match that arrives out of order counts as arriving last.
 */
class SequenceGroup implements GroupState {
  lastTime = -Infinity;
  private readonly chains: (Chain | undefined)[];

  constructor(rules: number) {
    this.chains = new Array<Chain | undefined>(rules).fill(undefined);
  }

  evict(cutoff: number): void {
    this.chains.forEach((chain, k) => {
      if (chain !== undefined && chain.start < cutoff) this.chains[k] = undefined;
    });
  }

  add(positions: number[], _datum: unknown, event: SigmaEvent, time: number): boolean {
    // Latest position first, so one match cannot extend a chain it has just started.
    for (const position of [...positions].reverse()) {
      const before = position === 0 ? { start: time, steps: [] } : this.chains[position - 1];
      if (before === undefined) continue;
      const current = this.chains[position];
      if (current === undefined || before.start >= current.start)
        this.chains[position] = { start: before.start, steps: [...before.steps, { time, event }] };
    }
    return positions.length > 0;
  }

  /** How many of the rules have been seen in order. */
  value(): number {
    return this.longest()?.steps.length ?? 0;
  }

  events(): SigmaEvent[] {
    return this.longest()?.steps.map((step) => step.event) ?? [];
  }

  positions(): number[] {
    return Array.from({ length: this.value() }, (_, position) => position);
  }

  isEmpty(): boolean {
    return this.chains.every((chain) => chain === undefined);
  }

  size(): number {
    return this.chains.reduce((total, chain) => total + (chain?.steps.length ?? 0), 0);
  }

  private longest(): Chain | undefined {
    for (let k = this.chains.length - 1; k >= 0; k--) if (this.chains[k] !== undefined) return this.chains[k];
    return undefined;
  }
}

/** Matches with the same time, rule and datum, stored once with a count so a burst costs one entry. */
interface Entry {
  time: number;
  position: number;
  datum: string | number | undefined;
  count: number;
}

/**
 * event_count and the value_* types: every match in the window as a time-sorted entry, with running
 * aggregates updated as entries come and go, so each test is exact without rescanning the window.
 */
class AggregateGroup implements GroupState {
  lastTime = -Infinity;
  private entries: Entry[] = [];
  /** Entries before this index are evicted (the array is compacted now and then, not shifted each time). */
  private head = 0;
  private total = 0;
  private sum = 0;
  private readonly perRule: number[];
  /** value_count: distinct value → matches carrying it. */
  private readonly distinct: Map<string, number> | undefined;
  /** value_percentile: every number in the window, ascending. */
  private readonly sorted: number[] | undefined;
  private samples: Seen[] = [];

  constructor(
    private readonly type: CorrelationType,
    rules: number,
    private readonly percentile: number,
    private readonly maxEvents: number,
  ) {
    this.perRule = new Array<number>(rules).fill(0);
    if (type === 'value_count') this.distinct = new Map();
    if (type === 'value_percentile') this.sorted = [];
  }

  evict(cutoff: number): void {
    while (this.head < this.entries.length && this.entries[this.head].time < cutoff) {
      const { position, datum, count } = this.entries[this.head++];
      this.account(position, datum, -count);
    }
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
      this.sum = 0; // no float residue left behind by additions and subtractions
    } else if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    if (this.samples.length > 0 && this.samples[0].time < cutoff) {
      this.samples = this.samples.slice(bisect(this.samples, 0, (sample) => sample.time < cutoff));
    }
  }

  add(positions: number[], datum: string | number | undefined, event: SigmaEvent, time: number): boolean {
    if (positions.length === 0 || (this.type !== 'event_count' && datum === undefined)) return false;
    const position = positions[0];
    const last = this.entries[this.entries.length - 1];
    if (this.entries.length > this.head && last.time === time && last.position === position && last.datum === datum) {
      last.count++;
    } else if (this.entries.length === this.head || last.time <= time) {
      this.entries.push({ time, position, datum, count: 1 });
    } else {
      this.entries.splice(
        insertionIndex(this.entries, this.head, time, (e) => e.time),
        0,
        { time, position, datum, count: 1 },
      );
    }
    this.account(position, datum, 1);
    const sample = { time, event };
    if (this.samples.length === 0 || this.samples[this.samples.length - 1].time <= time) this.samples.push(sample);
    else
      this.samples.splice(
        insertionIndex(this.samples, 0, time, (s) => s.time),
        0,
        sample,
      );
    if (this.samples.length > this.maxEvents) this.samples.shift();
    return true;
  }

  value(): number {
    switch (this.type) {
      case 'value_count':
        return this.distinct!.size;
      case 'value_sum':
        return this.sum;
      case 'value_avg':
        return this.sum / this.total;
      case 'value_percentile':
        return percentileOf(this.sorted!, this.percentile);
      default:
        return this.total;
    }
  }

  events(): SigmaEvent[] {
    return this.samples.map((sample) => sample.event);
  }

  positions(): number[] {
    return this.perRule.flatMap((count, position) => (count > 0 ? [position] : []));
  }

  isEmpty(): boolean {
    return this.total === 0;
  }

  size(): number {
    return this.entries.length - this.head + this.samples.length + (this.distinct?.size ?? 0) + (this.sorted?.length ?? 0);
  }

  /** Adds (count > 0) or removes (count < 0) matches from the running aggregates. */
  private account(position: number, datum: string | number | undefined, count: number): void {
    this.total += count;
    this.perRule[position] += count;
    if (typeof datum === 'string') {
      const left = (this.distinct!.get(datum) ?? 0) + count;
      if (left > 0) this.distinct!.set(datum, left);
      else this.distinct!.delete(datum);
    } else if (typeof datum === 'number') {
      this.sum += datum * count;
      if (this.sorted !== undefined) {
        const index = insertionIndex(this.sorted, 0, datum, (n) => n);
        // Matches are added one at a time and removed an entry (of equal values) at a time.
        if (count > 0) this.sorted.splice(index, 0, datum);
        else removeRange(this.sorted, index + count, index);
      }
    }
  }
}

/** Removes items[from..to) in place (splice would allocate an array of the removed items). */
function removeRange(items: unknown[], from: number, to: number): void {
  items.copyWithin(from, to);
  items.length -= to - from;
}

/** Where `key` goes among items sorted by keyOf (from `from` on): after every equal key, so arrival order holds among equals. */
function insertionIndex<T>(items: readonly T[], from: number, key: number, keyOf: (item: T) => number): number {
  return bisect(items, from, (item) => keyOf(item) <= key);
}

/** The first index (from `from` on) whose item is not `before`, by binary search; `before` must hold for a prefix. */
function bisect<T>(items: readonly T[], from: number, before: (item: T) => boolean): number {
  let low = from;
  let high = items.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (before(items[middle])) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * The p-th percentile of ascending numbers by linear interpolation between the closest ranks: the
 * specification gives no formula, and this is PostgreSQL's percentile_cont, numpy's default and Excel's
 * PERCENTILE.INC, which query backends compute or approximate (p 50 is the median, 0 the minimum, 100 the maximum).
 */
export function percentileOf(sorted: readonly number[], p: number): number {
  const rank = ((sorted.length - 1) * p) / 100;
  const below = Math.floor(rank);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (rank - below) * (sorted[above] - sorted[below]);
}
