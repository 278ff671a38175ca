/**
 * Log source mapping: which events a rule's `logsource` stands for, and how the rule's field names
 * map to those events' fields. The mapping ships as YAML files (packages/sigma/mappings/*.yml, format
 * documented at the top of each); users extend or override it with files in the same format.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import { stringForms } from './event.js';
import type { LogSource, SigmaEvent } from './types.js';

export interface LogSourceVariant {
  /** Short name for explanations, e.g. 'sysmon', 'security-4688'. */
  name: string;
  /** The event must have, for every key, one of the listed values (numbers compared as numbers or numeric strings; strings case-insensitively). */
  conditions: Record<string, readonly (string | number)[]>;
  /** Rule field name → event field name (fields not listed keep their name). */
  fields: Record<string, string>;
  /** When set, a rule using any field outside this set gets no such variant (e.g. 4688 has no OriginalFileName); rule-side names. */
  onlyFields?: ReadonlySet<string>;
}

export interface LogSourceMapping {
  /**
   * The variants a logsource maps to, or undefined when no mapping knows it (the caller decides; `rules check`
   * reports it). `ruleFields` are the field names the rule uses, without modifiers; variants that cannot serve
   * them are left out, so a known logsource may give an empty list.
   */
  resolve(logsource: LogSource, ruleFields: ReadonlySet<string>): LogSourceVariant[] | undefined;
  /** The first mapped logsource (categories come before services in the shipped files) whose variant `event` is; undefined in raw mode. */
  logSourceOf(event: SigmaEvent): LogSource | undefined;
}

/** A mapping file that is not valid; the message names the file, the entry and the problem. */
export class MappingError extends Error {
  override name = 'MappingError';
}

/** The shipped files, next to dist/ (this module is dist/src/logsource.js once built). */
const SHIPPED_DIR = fileURLToPath(new URL('../../mappings/', import.meta.url));

interface MappingEntry {
  logsource: LogSource;
  variants: LogSourceVariant[];
  file: string;
}

/**
 * The shipped mapping, extended by `files` in order: an entry for the same product/category/service as an
 * earlier one replaces it. `raw` maps every logsource to all events with the rule's own field names (files
 * are then not read).
 */
export function loadMapping(options: { files?: string[]; raw?: boolean } = {}): LogSourceMapping {
  if (options.raw) return RAW_MAPPING;
  const entries = new Map<string, MappingEntry>();
  for (const file of shippedFiles()) {
    for (const entry of readMappingFile(file)) {
      const previous = entries.get(tableKey(entry.logsource));
      if (previous) throw new MappingError(`${file}: ${describe(entry.logsource)} is already mapped in ${previous.file}`);
      entries.set(tableKey(entry.logsource), entry);
    }
  }
  for (const file of options.files ?? []) {
    for (const entry of readMappingFile(file)) entries.set(tableKey(entry.logsource), entry);
  }
  return new TableMapping([...entries.values()]);
}

const RAW_VARIANT: LogSourceVariant = { name: 'raw', conditions: {}, fields: {} };
const RAW_MAPPING: LogSourceMapping = { resolve: () => [RAW_VARIANT], logSourceOf: () => undefined };

function shippedFiles(): string[] {
  return readdirSync(SHIPPED_DIR)
    .filter((name) => name.endsWith('.yml'))
    .sort()
    .map((name) => join(SHIPPED_DIR, name));
}

const MAX_REMEMBERED_KINDS = 4096;

class TableMapping implements LogSourceMapping {
  private readonly byKey: Map<string, MappingEntry>;
  /** Every field some variant's conditions test. */
  private readonly conditionFields: string[];
  /** The values of those fields → the event's logsource (null: none). */
  private readonly kinds = new Map<string, LogSource | null>();

  /** Per entry, in order, its variants' condition tests (a catch-all variant says nothing about what an event is). */
  private readonly kindTests: { logsource: LogSource; tests: ((fields: LowercaseFields) => boolean)[] }[];

  constructor(private readonly entries: MappingEntry[]) {
    this.byKey = new Map(entries.map((entry) => [tableKey(entry.logsource), entry]));
    this.conditionFields = [...new Set(entries.flatMap((e) => e.variants.flatMap((v) => Object.keys(v.conditions))))].sort();
    this.kindTests = entries.map(({ logsource, variants }) => ({
      logsource,
      tests: variants.flatMap((variant) => conditionsTest(variant.conditions) ?? []),
    }));
  }

  resolve(logsource: LogSource, ruleFields: ReadonlySet<string>): LogSourceVariant[] | undefined {
    const entries = this.entriesFor(logsource);
    if (entries.length === 0) return undefined;
    return entries.flatMap((entry) => entry.variants).filter((variant) => servesFields(variant, ruleFields));
  }

  logSourceOf(event: SigmaEvent): LogSource | undefined {
    // Events of one kind share the values of the few fields variants test, so the answer is remembered by them.
    const key = this.conditionFields.map((field) => stringForms(event.get(field)).join('\u0001').toLowerCase()).join('\u0000');
    if (this.kinds.has(key)) return this.kinds.get(key) ?? undefined;
    const fields: LowercaseFields = { lower: (field) => stringForms(event.get(field)).map((form) => form.toLowerCase()) };
    const found = this.kindTests.find(({ tests }) => tests.some((test) => test(fields)))?.logsource;
    // Bounded: crafted values must not grow it without end.
    if (this.kinds.size >= MAX_REMEMBERED_KINDS) this.kinds.clear();
    this.kinds.set(key, found ?? null);
    return found;
  }

  /** The most specific entries for a logsource: exact, else product-less, else (no product in the rule) every product's. */
  private entriesFor(logsource: LogSource): MappingEntry[] {
    const exact = this.byKey.get(tableKey(logsource));
    if (exact) return [exact];
    if (normalized(logsource.product) !== '') {
      const anyProduct = this.byKey.get(tableKey({ ...logsource, product: undefined }));
      return anyProduct ? [anyProduct] : [];
    }
    // A rule naming no product is about that category/service in whatever product logs it.
    return this.entries.filter(
      (entry) =>
        normalized(entry.logsource.category) === normalized(logsource.category) &&
        normalized(entry.logsource.service) === normalized(logsource.service),
    );
  }
}

/** What a variant's conditions read: a field's values as lowercase text (the rule engine's EventContext is one). */
export interface LowercaseFields {
  lower(field: string): readonly string[];
}

/** Event-side conditions of a variant: each field holds one of the listed values. Undefined when there are none. */
export function conditionsTest(
  conditions: Record<string, readonly (string | number)[]>,
): ((fields: LowercaseFields) => boolean) | undefined {
  const checks = Object.entries(conditions).map(([field, values]) => {
    const wanted = new Set(values.map((v) => String(v).toLowerCase()));
    return (fields: LowercaseFields): boolean => {
      for (const v of fields.lower(field)) if (wanted.has(v)) return true;
      return false;
    };
  });
  if (checks.length === 0) return undefined;
  if (checks.length === 1) return checks[0];
  return (fields) => {
    for (const check of checks) if (!check(fields)) return false;
    return true;
  };
}

function servesFields(variant: LogSourceVariant, ruleFields: ReadonlySet<string>): boolean {
  const only = variant.onlyFields;
  if (!only) return true;
  for (const field of ruleFields) if (!only.has(field)) return false;
  return true;
}

function normalized(value: string | undefined): string {
  return value?.trim().toLowerCase() ?? '';
}

function tableKey(logsource: LogSource): string {
  return [logsource.product, logsource.category, logsource.service].map(normalized).join('|');
}

function describe(logsource: LogSource): string {
  const parts = (['product', 'category', 'service'] as const).flatMap((key) => (logsource[key] ? [`${key}: ${logsource[key]}`] : []));
  return `(${parts.join(', ')})`;
}

// ---- Reading and validating a file --------------------------------------------------------------------

const FILE_KEYS = ['logsources'];
const ENTRY_KEYS = ['logsource', 'variants'];
const LOGSOURCE_KEYS = ['product', 'category', 'service'] as const;
const VARIANT_KEYS = ['name', 'when', 'fields', 'only-fields'];

function readMappingFile(file: string): MappingEntry[] {
  let document: unknown;
  try {
    document = load(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new MappingError(`${file}: ${(error as Error).message}`);
  }
  const root = expectMap(document, file, 'a map with a `logsources` list');
  rejectUnknownKeys(root, FILE_KEYS, file);
  const list = root.logsources;
  if (!Array.isArray(list)) throw new MappingError(`${file}: logsources: expected a list of entries`);
  const seen = new Set<string>();
  return list.map((raw, index) => {
    const entry = parseEntry(raw, file, `${file}: logsources[${index}]`);
    const key = tableKey(entry.logsource);
    if (seen.has(key)) throw new MappingError(`${file}: logsources[${index}] ${describe(entry.logsource)}: mapped twice in this file`);
    seen.add(key);
    return entry;
  });
}

function parseEntry(raw: unknown, file: string, where: string): MappingEntry {
  const map = expectMap(raw, where, 'a map with `logsource` and `variants`');
  rejectUnknownKeys(map, ENTRY_KEYS, where);
  const logsource = parseLogSource(map.logsource, `${where}.logsource`);
  const entryWhere = `${where} ${describe(logsource)}`;
  const list = map.variants;
  if (!Array.isArray(list) || list.length === 0) throw new MappingError(`${entryWhere}: variants: expected a non-empty list`);
  const variants = list.map((variant, index) => parseVariant(variant, `${entryWhere}: variants[${index}]`));
  const names = new Set<string>();
  for (const variant of variants) {
    if (names.has(variant.name)) throw new MappingError(`${entryWhere}: variant name '${variant.name}' is used twice`);
    names.add(variant.name);
  }
  return { logsource, variants, file };
}

function parseLogSource(raw: unknown, where: string): LogSource {
  const map = expectMap(raw, where, 'a map of product, category and/or service');
  rejectUnknownKeys(map, LOGSOURCE_KEYS, where);
  const logsource: LogSource = {};
  for (const key of LOGSOURCE_KEYS) {
    if (map[key] !== undefined) logsource[key] = expectName(map[key], `${where}.${key}`);
  }
  if (Object.keys(logsource).length === 0) throw new MappingError(`${where}: expected at least one of product, category, service`);
  return logsource;
}

function parseVariant(raw: unknown, where: string): LogSourceVariant {
  const map = expectMap(raw, where, 'a map with `name` and `when`');
  rejectUnknownKeys(map, VARIANT_KEYS, where);
  const name = expectName(map.name, `${where}.name`);
  const at = `${where} (${name})`;
  const variant: LogSourceVariant = {
    name,
    conditions: parseConditions(map.when ?? {}, `${at}.when`),
    fields: parseRenames(map.fields ?? {}, `${at}.fields`),
  };
  if (map['only-fields'] !== undefined) {
    // Renamed fields are served by definition: only-fields lists the rest.
    variant.onlyFields = new Set([...expectNameList(map['only-fields'], `${at}.only-fields`), ...Object.keys(variant.fields)]);
  }
  return variant;
}

function parseConditions(raw: unknown, where: string): Record<string, readonly (string | number)[]> {
  const map = expectMap(raw, where, 'a map of field → value or list of values');
  // No prototype: a field named like an Object method must not find one.
  const conditions: Record<string, (string | number)[]> = Object.create(null);
  for (const [field, value] of Object.entries(map)) {
    const values = Array.isArray(value) ? value : [value];
    if (values.length === 0) throw new MappingError(`${where}.${field}: expected at least one value`);
    conditions[field] = values.map((item) => {
      if (typeof item === 'string' || (typeof item === 'number' && Number.isFinite(item))) return item;
      throw new MappingError(`${where}.${field}: expected a string or a number, got ${typeName(item)}`);
    });
  }
  return conditions;
}

function parseRenames(raw: unknown, where: string): Record<string, string> {
  const map = expectMap(raw, where, 'a map of rule field → event field');
  const renames: Record<string, string> = Object.create(null);
  for (const [ruleField, eventField] of Object.entries(map)) renames[ruleField] = expectName(eventField, `${where}.${ruleField}`);
  return renames;
}

function expectMap(value: unknown, where: string, expected: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MappingError(`${where}: expected ${expected}, got ${typeName(value)}`);
  }
  return value as Record<string, unknown>;
}

function expectName(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new MappingError(`${where}: expected a non-empty string, got ${typeName(value)}`);
  return value;
}

function expectNameList(value: unknown, where: string): string[] {
  if (!Array.isArray(value)) throw new MappingError(`${where}: expected a list of field names, got ${typeName(value)}`);
  // Nested lists are flattened, so a list anchored once in a file can be reused by alias.
  return value.flatMap((item, index) =>
    Array.isArray(item) ? expectNameList(item, `${where}[${index}]`) : [expectName(item, `${where}[${index}]`)],
  );
}

function rejectUnknownKeys(map: Record<string, unknown>, known: readonly string[], where: string): void {
  for (const key of Object.keys(map)) {
    if (!known.includes(key)) throw new MappingError(`${where}: unknown key '${key}' (expected ${known.join(', ')})`);
  }
}

function typeName(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value)}`;
}
