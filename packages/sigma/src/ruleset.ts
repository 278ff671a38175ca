/**
 * A loaded collection of Sigma rules, filters and correlations, compiled and indexed:
 * `match(event)` gives every rule that fires, with the fields that made it fire.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CorrelationEngine } from './correlation.js';
import { compileDetection, contributingSearches, detectionFields, type CompiledDetection } from './detection.js';
import { parseDocuments } from './document.js';
import { EventContext, objectEvent, stringForms } from './event.js';
import { ANY_VALUE, Bucket, PRIMARY_KEYS, SECONDARY_KEYS, type Entry } from './index-bucket.js';
import type { Test } from './leaf.js';
import { conditionsTest, loadMapping, type LogSourceMapping, type LogSourceVariant } from './logsource.js';
import type { Placeholders } from './modifiers.js';
import {
  InvalidRuleError,
  UnsupportedError,
  type CorrelationDocument,
  type DocumentMeta,
  type FilterDocument,
  type Level,
  type LogSource,
  type RuleDocument,
  type SigmaDocument,
  type SigmaEvent,
  type SourceLocation,
} from './types.js';

export interface LoadOptions {
  /** Log source mapping; default: the shipped mapping files. */
  mapping?: LogSourceMapping;
  /** Values for `%placeholder%` in rules using `expand`. */
  placeholders?: Placeholders;
  /**
   * Which rules and correlations to use: returns why one is left out (e.g. "level below high"), or
   * undefined to keep it. The rules a kept correlation counts are kept whatever it says.
   */
  select?: (doc: RuleDocument | CorrelationDocument) => string | undefined;
}

/** What became of one file (or string) of rules. */
export interface FileReport {
  file: string;
  status: 'loaded' | 'unsupported' | 'invalid';
  /** Why it did not load (the first problem), with its line. */
  reason?: string;
  line?: number;
  /** Rules, filters and correlations it holds. */
  documents: number;
  /** Remarks on loaded files, e.g. a log source no mapping knows. */
  notes: string[];
}

export interface RuleInfo {
  id?: string;
  name?: string;
  title: string;
  level?: Level;
  status?: string;
  tags: string[];
  description?: string;
  logsource: LogSource;
  location: SourceLocation;
}

export interface RuleMatch {
  rule: RuleInfo;
  /** The log source variant that matched (e.g. `sysmon`, `security-4688`). */
  variant: string;
  /** Rule field → the event's value, for the fields of the searches that made the match. */
  fields: Record<string, unknown>;
}

/** Why a rule did or did not fire on an event. */
export interface Explanation {
  rule: RuleInfo;
  matched: boolean;
  /** One per variant of the rule's log source: whether the event is of that kind, and each search's result. */
  variants: {
    variant: string;
    applies: boolean;
    matched: boolean;
    searches: { name: string; matched: boolean; fields: Record<string, unknown> }[];
  }[];
}

interface CompiledVariant {
  variant: LogSourceVariant;
  detection: CompiledDetection;
  rename: (field: string) => string;
  applies: Test;
  test: Test;
}

/** A rule's variant, compiled on first use: the first at load (which validates the rule), the others when an event of their kind arrives. */
class VariantSlot {
  private compiled: CompiledVariant | undefined;

  constructor(
    readonly variant: LogSourceVariant,
    private readonly build: () => CompiledVariant,
  ) {}

  get(): CompiledVariant {
    return (this.compiled ??= this.build());
  }
}

interface CompiledRule {
  info: RuleInfo;
  variants: VariantSlot[];
}

/** The fields an event is routed by, one level of the route cache each. */
const ROUTING_KEYS = [...PRIMARY_KEYS, ...SECONDARY_KEYS];
/** Entries of the route cache at most. */
const MAX_ROUTE_CACHE = 4096;
type RouteNode = Map<unknown, RouteNode | Bucket>;

/** Routing key values of an event are compared lowercased, numbers as their decimal text. */
const routeValue = (v: unknown): string | undefined => stringForms(v)[0]?.toLowerCase();

export class RuleSet {
  private readonly rules: CompiledRule[] = [];
  private readonly entriesByKey = new Map<string, Entry[]>();
  private readonly owners: { rule: number; variant: number }[] = [];
  private readonly buckets = new Map<string, Bucket>();
  /** Buckets by the routing fields' raw values, one map level per field: most events find theirs without building a key. */
  private readonly routeCache: RouteNode = new Map();
  private routeCacheSize = 0;
  /** Every `key=value` some entry is filed under. */
  private readonly routeValues = new Set<string>();
  private readonly context = new EventContext(objectEvent({}));
  readonly correlations: CorrelationDocument[] = [];
  /** Rules whose log source no mapping knows: loaded, but only evaluated in raw mode. */
  readonly unmapped: RuleInfo[] = [];

  private constructor(private readonly mapping: LogSourceMapping) {}

  get size(): number {
    return this.rules.length;
  }

  get ruleInfos(): RuleInfo[] {
    return this.rules.map((r) => r.info);
  }

  /** Every rule that fires on `event`, in load order. */
  match(event: SigmaEvent): RuleMatch[] {
    const ctx = this.context.reset(event);
    const bucket = this.bucketFor(ctx);
    const out: RuleMatch[] = [];
    let lastRule = -1;
    const { indexes, count } = bucket.candidates(ctx);
    for (let c = 0; c < count; c++) {
      const entry = bucket.entries[indexes[c]!]!;
      if ((entry.guard && !entry.guard(ctx)) || !entry.test(ctx)) continue;
      const owner = this.owners[entry.order]!;
      if (owner.rule === lastRule) continue;
      lastRule = owner.rule;
      const rule = this.rules[owner.rule]!;
      const compiled = rule.variants[owner.variant]!.get();
      out.push({ rule: rule.info, variant: compiled.variant.name, fields: matchedFields(compiled, ctx) });
    }
    return out;
  }

  /**
   * The same matches as `match`, found the slow way: every rule, every variant, no index and no
   * prefilter. For verifying the fast path (tests) and for debugging a rule that did not fire.
   */
  matchExhaustive(event: SigmaEvent): RuleMatch[] {
    const ctx = new EventContext(event);
    const out: RuleMatch[] = [];
    for (const rule of this.rules) {
      for (const slot of rule.variants) {
        const compiled = slot.get();
        if (!compiled.applies(ctx) || !compiled.test(ctx)) continue;
        out.push({ rule: rule.info, variant: compiled.variant.name, fields: matchedFields(compiled, ctx) });
        break;
      }
    }
    return out;
  }

  /** Searches and variants of one rule (by id, name or title) evaluated on `event`. */
  explain(ruleRef: string, event: SigmaEvent): Explanation | undefined {
    const rule = this.rules.find((r) => r.info.id === ruleRef || r.info.name === ruleRef || r.info.title === ruleRef);
    if (!rule) return undefined;
    const ctx = new EventContext(event);
    const variants = rule.variants
      .map((slot) => slot.get())
      .map((v) => ({
        variant: v.variant.name,
        applies: v.applies(ctx),
        matched: v.applies(ctx) && v.test(ctx),
        searches: [...v.detection.searches.values()].map((s) => ({
          name: s.name,
          matched: s.test(ctx),
          fields: fieldValues(s.fields, v.rename, ctx),
        })),
      }));
    return { rule: rule.info, matched: variants.some((v) => v.matched), variants };
  }

  /** The bucket of an event's log source (see `route`), looked up by its routing fields' raw values. */
  private bucketFor(ctx: EventContext): Bucket {
    let node = this.routeCache;
    for (let k = 0; k < ROUTING_KEYS.length; k++) {
      const raw = ctx.raw(ROUTING_KEYS[k]!);
      if (raw !== undefined && typeof raw !== 'string' && typeof raw !== 'number') return this.route(ctx);
      let next = node.get(raw);
      if (next === undefined) {
        // Crafted events with endless distinct values stop filling the cache, not matching.
        if (this.routeCacheSize >= MAX_ROUTE_CACHE) return this.route(ctx);
        this.routeCacheSize++;
        node.set(raw, (next = k === ROUTING_KEYS.length - 1 ? this.route(ctx) : new Map()));
      }
      if (next instanceof Bucket) return next;
      node = next;
    }
    return this.route(ctx);
  }

  /**
   * The bucket of an event's log source: the entries filed under each routing field the event has
   * (by name, so an extra field cannot hide the one a rule is routed by) and under "any". Values no
   * rule is filed under count as "any", so crafted values cannot multiply buckets.
   */
  private route(ctx: EventContext): Bucket {
    const primaries = this.routes(ctx, PRIMARY_KEYS);
    const secondaries = this.routes(ctx, SECONDARY_KEYS);
    const key = `${primaries.join('\u0001')}\u0000${secondaries.join('\u0001')}`;
    const cached = this.buckets.get(key);
    if (cached) return cached;
    const entries = new Set<Entry>();
    for (const p of primaries)
      for (const s of secondaries) for (const entry of this.entriesByKey.get(`${p}\u0000${s}`) ?? []) entries.add(entry);
    const bucket = new Bucket([...entries].sort((a, b) => a.order - b.order));
    this.buckets.set(key, bucket);
    return bucket;
  }

  /** `key=value` for each routing field of the event some rule is filed under, then "any". */
  private routes(ctx: EventContext, keys: readonly string[]): string[] {
    const routes: string[] = [];
    for (const key of keys) {
      const value = routeValue(ctx.raw(key));
      if (value !== undefined && this.routeValues.has(`${key}=${value}`)) routes.push(`${key}=${value}`);
    }
    routes.push(ANY_VALUE);
    return routes;
  }

  private addRule(doc: RuleDocument, filters: FilterDocument[], options: LoadOptions): string[] {
    const fields = detectionFields(doc.searches);
    const variants = this.mapping.resolve(doc.logsource, fields);
    const info = ruleInfo(doc);
    if (variants === undefined) {
      // Compiled anyway, so a broken rule is still reported; evaluated once a mapping knows it.
      compileDetection(doc.searches, doc.conditions, { rename: (f) => f, placeholders: options.placeholders });
      this.unmapped.push(info);
      return [`no log source mapping for ${describeLogSource(doc.logsource)}: evaluated only in raw mode`];
    }
    const slots = variants.map((variant) => new VariantSlot(variant, () => compileVariant(doc, variant, filters, options)));
    slots[0]?.get();
    const ruleIndex = this.rules.push({ info, variants: slots }) - 1;
    slots.forEach((slot, variantIndex) => this.index(slot, ruleIndex, variantIndex));
    return variants.length === 0 ? [`no variant of ${describeLogSource(doc.logsource)} carries every field the rule uses`] : [];
  }

  private index(slot: VariantSlot, rule: number, variant: number): void {
    const { conditions } = slot.variant;
    const primaryKey = PRIMARY_KEYS.find((k) => conditions[k]);
    const secondaryKey = SECONDARY_KEYS.find((k) => conditions[k]);
    const routed = new Set([primaryKey, secondaryKey]);
    const order = this.owners.push({ rule, variant }) - 1;
    const guard = conditionsTest(Object.fromEntries(Object.entries(conditions).filter(([k]) => !routed.has(k))));
    const entry: Entry = {
      order,
      guard,
      get test() {
        return slot.get().test;
      },
      get requirement() {
        return slot.get().detection.requirement;
      },
    };
    const routesOf = (key: string | undefined): string[] =>
      key ? conditions[key]!.map((v) => `${key}=${String(v).toLowerCase()}`) : [ANY_VALUE];
    const primaries = routesOf(primaryKey);
    const secondaries = routesOf(secondaryKey);
    for (const route of [...primaries, ...secondaries]) this.routeValues.add(route);
    for (const p of primaries) {
      for (const s of secondaries) {
        const key = `${p}\u0000${s}`;
        const list = this.entriesByKey.get(key) ?? [];
        list.push(entry);
        this.entriesByKey.set(key, list);
      }
    }
  }

  /**
   * Builds a rule set from parsed documents. Filters are applied to the rules they name;
   * a document that cannot be compiled is left out and reported through `onProblem`.
   */
  static fromDocuments(
    documents: readonly SigmaDocument[],
    options: LoadOptions = {},
    onProblem: (doc: SigmaDocument, status: 'invalid' | 'unsupported', reason: string, line?: number) => void = () => {},
    onNote: (doc: SigmaDocument, note: string) => void = () => {},
  ): RuleSet {
    const set = new RuleSet(options.mapping ?? loadMapping());
    const filters = documents.filter((d): d is FilterDocument => d.kind === 'filter');
    for (const doc of documents) {
      if (doc.kind !== 'rule') continue;
      try {
        const own = filters.filter((f) => f.rules.some((r) => r === doc.id || r === doc.name));
        for (const note of set.addRule(doc, own, options)) onNote(doc, note);
      } catch (e) {
        // A detection nested deeper than the stack allows is a broken rule, not a broken load.
        if (e instanceof RangeError) onProblem(doc, 'invalid', `the detection is nested too deeply (${e.message})`, doc.location.line);
        else if (e instanceof InvalidRuleError || e instanceof UnsupportedError) {
          onProblem(doc, e instanceof UnsupportedError ? 'unsupported' : 'invalid', e.message, searchLine(doc, e.message));
        } else throw e;
      }
    }
    set.addCorrelations(
      documents.filter((d): d is CorrelationDocument => d.kind === 'correlation'),
      (doc, reason) => onProblem(doc, 'invalid', reason, doc.location.line),
    );
    return set;
  }

  /** Correlations whose every reference is a loaded rule or correlation, and that form no cycle. */
  private addCorrelations(correlations: CorrelationDocument[], reject: (doc: CorrelationDocument, reason: string) => void): void {
    const known = new Set(
      [...this.ruleInfos, ...this.unmapped, ...correlations].flatMap((d) => [d.id, d.name]).filter((r) => r !== undefined),
    );
    for (const doc of correlations) {
      const missing = doc.rules.filter((ref) => !known.has(ref));
      if (missing.length > 0)
        reject(doc, `correlation.rules: ${missing.map((m) => `"${m}"`).join(', ')} is not the id or name of a loaded rule`);
      else this.correlations.push(doc);
    }
    try {
      new CorrelationEngine(this.correlations);
    } catch (e) {
      if (!(e instanceof InvalidRuleError)) throw e;
      for (const doc of this.correlations.splice(0)) reject(doc, e.message);
    }
  }
}

function compileVariant(doc: RuleDocument, variant: LogSourceVariant, filters: FilterDocument[], options: LoadOptions): CompiledVariant {
  const rename = (field: string): string => (Object.hasOwn(variant.fields, field) ? variant.fields[field]! : field);
  const detection = compileDetection(doc.searches, doc.conditions, { rename, placeholders: options.placeholders });
  const filterTests = filters.map((f) => compileDetection(f.searches, f.conditions, { rename, placeholders: options.placeholders }).test);
  const test: Test = filterTests.length === 0 ? detection.test : (ctx) => detection.test(ctx) && filterTests.every((t) => t(ctx));
  return { variant, detection, rename, applies: conditionsTest(variant.conditions) ?? (() => true), test };
}

function matchedFields(compiled: CompiledVariant, ctx: EventContext): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const search of contributingSearches(compiled.detection.tree, compiled.detection.searches, ctx)) {
    Object.assign(fields, fieldValues(search.fields, compiled.rename, ctx));
  }
  return fields;
}

function fieldValues(fields: readonly string[], rename: (f: string) => string, ctx: EventContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const value = ctx.raw(rename(field));
    if (value !== undefined) out[field] = value;
  }
  return out;
}

function ruleInfo(doc: DocumentMeta & { logsource: LogSource }): RuleInfo {
  const { id, name, title, level, status, tags, description, logsource, location } = doc;
  return { id, name, title, level, status, tags, description, logsource, location };
}

export function describeLogSource(ls: LogSource): string {
  return Object.entries(ls)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(', ');
}

function searchLine(doc: RuleDocument, message: string): number | undefined {
  const name = /^search "([^"[]+)/.exec(message)?.[1];
  return (name && doc.searchLine(name)) || doc.location.line;
}

/** A YAML map of placeholder → values (a lone value is a list of one), for `expand`. */
export function loadPlaceholders(path: string): Placeholders {
  const map: unknown = parseYaml(readFileSync(path, 'utf8'));
  if (map === null || typeof map !== 'object' || Array.isArray(map))
    throw new InvalidRuleError(`${path}: placeholders must be a YAML map of name → values`);
  return Object.fromEntries(Object.entries(map).map(([name, values]) => [name, (Array.isArray(values) ? values : [values]).map(String)]));
}

/** Rule files under a folder: `.yml` and `.yaml`, sorted, recursively. */
export function ruleFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  const out: string[] = [];
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) out.push(...ruleFiles(full));
    else if (/\.ya?ml$/i.test(entry.name)) out.push(full);
  }
  return out.sort();
}

export interface LoadResult {
  ruleSet: RuleSet;
  files: FileReport[];
  /** Rules and correlations that loaded but `select` left out, with its reason. */
  excluded: { rule: RuleInfo; reason: string }[];
}

/** Loads rule files and folders (recursively). Every file gets a report; broken ones are left out. */
export function loadRules(paths: readonly string[], options: LoadOptions = {}): LoadResult {
  return loadRuleSources(readRuleFiles(paths), options);
}

/** The rule files under `paths` (files and folders), read as sources for loadRuleSources. */
export function readRuleFiles(paths: readonly string[]): { file: string; text: string }[] {
  return paths.flatMap(ruleFiles).map((file) => ({ file, text: readFileSync(file, 'utf8') }));
}

/** Loads rules from strings (e.g. `{ file: 'inline', text }`). */
export function loadRuleSources(sources: readonly { file: string; text: string }[], options: LoadOptions = {}): LoadResult {
  const files: FileReport[] = [];
  const documents: SigmaDocument[] = [];
  const excluded: LoadResult['excluded'] = [];
  const reportOf = new Map<SigmaDocument, FileReport>();
  for (const { file, text } of sources) {
    const report: FileReport = { file, status: 'loaded', documents: 0, notes: [] };
    files.push(report);
    for (const result of parseDocuments(text, file)) {
      report.documents++;
      if (!result.ok) {
        downgrade(report, result.status, result.reason, result.location.line);
        continue;
      }
      documents.push(result.document);
      reportOf.set(result.document, report);
    }
    if (report.documents === 0) downgrade(report, 'invalid', 'holds no Sigma document');
  }
  const selected = options.select ? selectDocuments(documents, options.select, excluded) : documents;
  const ruleSet = RuleSet.fromDocuments(
    selected,
    options,
    (doc, status, reason, line) => downgrade(reportOf.get(doc)!, status, reason, line),
    (doc, note) => reportOf.get(doc)!.notes.push(note),
  );
  return { ruleSet, files, excluded };
}

/**
 * The documents `select` keeps. A correlation is judged on its own level, status and tags; the
 * rules (and chained correlations) a kept one counts stay, so that it can fire, whatever
 * `select` says of them. Filters always stay: they only narrow the rules they name.
 */
function selectDocuments(
  documents: SigmaDocument[],
  select: NonNullable<LoadOptions['select']>,
  excluded: LoadResult['excluded'],
): SigmaDocument[] {
  const correlations = documents.filter((d): d is CorrelationDocument => d.kind === 'correlation');
  const byRef = new Map(correlations.flatMap((c) => [c.id, c.name].filter((r) => r !== undefined).map((r) => [r, c] as const)));
  const needed = new Set<string>();
  const pending = correlations.filter((c) => select(c) === undefined);
  for (let c = pending.pop(); c; c = pending.pop())
    for (const ref of c.rules) {
      if (needed.has(ref)) continue;
      needed.add(ref);
      const chained = byRef.get(ref);
      if (chained) pending.push(chained);
    }
  return documents.filter((doc) => {
    if (doc.kind === 'filter' || (doc.id && needed.has(doc.id)) || (doc.name && needed.has(doc.name))) return true;
    const reason = select(doc);
    if (reason !== undefined) excluded.push({ rule: ruleInfo(doc.kind === 'rule' ? doc : { ...doc, logsource: {} }), reason });
    return reason === undefined;
  });
}

/** The first problem decides; invalid outranks unsupported. */
function downgrade(report: FileReport, status: 'invalid' | 'unsupported', reason: string, line?: number): void {
  if (report.status === 'invalid' || (report.status === 'unsupported' && status === 'unsupported')) return;
  Object.assign(report, { status, reason, line });
}
