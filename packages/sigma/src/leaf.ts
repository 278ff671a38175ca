/**
 * One `Field|modifiers: values` entry compiled to a closure over the event, with the literals a
 * prefilter can require before the closure is worth running.
 */
import type { EventContext } from './event.js';
import { cidrTest } from './cidr.js';
import { expandValue, parseFieldKey, type Comparison, type FieldSpec, type Placeholders, type TimePart } from './modifiers.js';
import { compilePattern, lowerPieces, patternNeedle, type Piece } from './pattern.js';
import { requireAll, type Clause, type Requirement } from './requirement.js';
import { compileRegex, requiredLiteral, type RegexFlags, type SafeRegex } from './regex.js';
import { InvalidRuleError } from './types.js';

export type Test = (ctx: EventContext) => boolean;

export interface Leaf {
  test: Test;
  /** Rule-side field name ('' for keywords). */
  field: string;
  /** Literals a match implies, for the prefilter. */
  requirement: Requirement;
}

export interface LeafOptions {
  /** Rule field → event field. */
  rename: (field: string) => string;
  placeholders?: Placeholders;
}

type Scalar = string | number | boolean | null;

export function compileLeaf(key: string, value: unknown, options: LeafOptions): Leaf {
  const spec = parseFieldKey(key);
  const values = scalarList(key, value);
  if (spec.all && values.length < 2) throw new InvalidRuleError(`"${key}" uses all with a single value, which the specification forbids`);
  const field = options.rename(spec.field);
  const { test, requirement = [] } = buildLeaf(spec, field, values, options);
  if (!spec.neq) return { test, requirement, field: spec.field };
  return { test: (ctx) => !test(ctx), requirement: [], field: spec.field };
}

function scalarList(key: string, value: unknown): Scalar[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new InvalidRuleError(`"${key}" has an empty value list`);
  for (const v of list) {
    if (v !== null && !['string', 'number', 'boolean'].includes(typeof v))
      throw new InvalidRuleError(`"${key}" has a value that is not a string, number, boolean or null`);
  }
  return list as Scalar[];
}

function buildLeaf(spec: FieldSpec, field: string, values: Scalar[], options: LeafOptions): { test: Test; requirement?: Requirement } {
  if (spec.exists) return { test: existsTest(field, values) };
  if (spec.fieldref)
    return {
      test: combine(
        spec.all,
        values.map((v) => fieldrefTest(spec, field, options.rename(String(v)))),
      ),
    };
  if (spec.timePart)
    return {
      test: combine(
        spec.all,
        values.map((v) => timePartTest(field, spec.timePart!, spec.comparison, v)),
      ),
    };
  if (spec.comparison)
    return {
      test: combine(
        spec.all,
        values.map((v) => comparisonTest(field, spec.comparison!, v)),
      ),
    };
  if (spec.cidr)
    return {
      test: combine(
        spec.all,
        values.map((v) => cidrLeaf(field, v)),
      ),
    };
  if (spec.regex) {
    const flags = { i: spec.regex.has('i'), m: spec.regex.has('m'), s: spec.regex.has('s') };
    const test = combine(
      spec.all,
      values.map((v) => regexTest(field, cachedRegex(String(v), flags))),
    );
    return {
      test,
      requirement: valuesRequirement(
        spec.all,
        values.map((v) => regexNeedles(field, String(v))),
      ),
    };
  }
  return stringLeaf(spec, field, values, options.placeholders);
}

/** Plain values: wildcards, transformations, case-insensitive unless `cased`; null = absent. */
function stringLeaf(
  spec: FieldSpec,
  field: string,
  values: Scalar[],
  placeholders: Placeholders | undefined,
): { test: Test; requirement: Requirement } {
  const tests: Test[] = [];
  const needleSets: (Clause | undefined)[] = [];
  for (const value of values) {
    if (value === null) {
      tests.push(spec.field === '' ? () => false : (ctx) => ctx.raw(field) == null);
      needleSets.push(undefined);
      continue;
    }
    // Keywords are free-text searches: a keyword matches anywhere in a value.
    const keywordSpec =
      spec.field === '' && !spec.transforms.includes('contains') ? { ...spec, transforms: [...spec.transforms, 'contains'] } : spec;
    const variants = expandValue(String(value), keywordSpec, placeholders).map((p) => (spec.cased ? p : lowerPieces(p)));
    tests.push(variantsTest(field, variants, spec));
    needleSets.push(variantNeedles(field, variants, spec.cased));
  }
  return { test: combine(spec.all, tests), requirement: valuesRequirement(spec.all, needleSets) };
}

function variantsTest(field: string, variants: Piece[][], spec: FieldSpec): Test {
  const matchers = variants.map(compilePattern);
  const anyMatch = (forms: string[]): boolean => {
    for (const form of forms) for (const m of matchers) if (m(form)) return true;
    return false;
  };
  if (spec.field === '') return spec.cased ? (ctx) => anyMatch(ctx.everyValue(true)) : (ctx) => anyMatch(ctx.everyValue(false));
  return spec.cased ? (ctx) => anyMatch(ctx.strings(field)) : (ctx) => anyMatch(ctx.lower(field));
}

/**
 * One literal per variant. A `cased` value keeps its case in the leaf, so lowercasing it here must
 * agree with lowercasing the event's value: true for ASCII, not for every script (Σ lowercases to
 * σ or ς depending on what follows), so such values give no literal.
 */
function variantNeedles(field: string, variants: Piece[][], cased: boolean): Clause | undefined {
  const needles: Clause = [];
  for (const pieces of variants) {
    const needle = patternNeedle(pieces);
    if (!needle || needle.text.length === 0 || (cased && /[^\x00-\x7f]/.test(needle.text))) return undefined;
    needles.push({ field, text: needle.text.toLowerCase(), placement: needle.placement });
  }
  return needles;
}

/** OR of values: one clause of every value's literals; AND (`all`): each value's own clause. */
function valuesRequirement(all: boolean, clauses: (Clause | undefined)[]): Requirement {
  if (all) return requireAll(clauses.filter((c) => c !== undefined).map((c) => [c]));
  return clauses.some((c) => c === undefined) ? [] : [clauses.flat() as Clause];
}

function combine(all: boolean, tests: Test[]): Test {
  if (tests.length === 1) return tests[0]!;
  return all ? (ctx) => tests.every((t) => t(ctx)) : (ctx) => tests.some((t) => t(ctx));
}

function existsTest(field: string, values: Scalar[]): Test {
  const [wanted] = values;
  if (values.length !== 1 || typeof wanted !== 'boolean') throw new InvalidRuleError(`exists takes true or false`);
  return (ctx) => (ctx.raw(field) !== undefined) === wanted;
}

/** Compares with another field of the same event. */
function fieldrefTest(spec: FieldSpec, field: string, other: string): Test {
  const placement = spec.transforms.at(-1);
  const fold = (s: string): string => (spec.cased ? s : s.toLowerCase());
  return (ctx) => {
    const refs = ctx.strings(other).map(fold);
    return ctx.strings(field).some((own) => {
      const v = fold(own);
      return refs.some((r) =>
        placement === 'contains'
          ? v.includes(r)
          : placement === 'startswith'
            ? v.startsWith(r)
            : placement === 'endswith'
              ? v.endsWith(r)
              : v === r,
      );
    });
  };
}

function numberOf(field: string, value: Scalar): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n)) throw new InvalidRuleError(`${field}: "${String(value)}" is not a number`);
  return n;
}

function compare(op: Comparison, a: number, b: number): boolean {
  return op === 'lt' ? a < b : op === 'lte' ? a <= b : op === 'gt' ? a > b : a >= b;
}

function comparisonTest(field: string, op: Comparison, value: Scalar): Test {
  const limit = numberOf(field, value);
  return (ctx) => ctx.strings(field).some((s) => s.trim() !== '' && compare(op, Number(s), limit));
}

/** `|hour: 3`, `|month|gte: 6`: a part of the field's timestamp, in UTC. */
function timePartTest(field: string, part: TimePart, op: Comparison | undefined, value: Scalar): Test {
  const wanted = numberOf(field, value);
  return (ctx) =>
    ctx.strings(field).some((s) => {
      const got = timePart(s, part);
      return got !== undefined && (op ? compare(op, got, wanted) : got === wanted);
    });
}

/** A timestamp without a zone (Sysmon's `UtcTime`, `2024-01-01 10:00:00.123`) is UTC, whatever the host's zone. */
function parseTimestamp(text: string): number {
  const s = text.trim();
  if (/(?:[zZ]|[+-]\d\d:?\d\d)$/.test(s) || !/^\d{4}-\d\d-\d\d[T ]\d/.test(s)) return Date.parse(s);
  return Date.parse(`${s.replace(' ', 'T')}Z`);
}

function timePart(text: string, part: TimePart): number | undefined {
  const ms = parseTimestamp(text);
  if (Number.isNaN(ms)) return undefined;
  const d = new Date(ms);
  switch (part) {
    case 'minute':
      return d.getUTCMinutes();
    case 'hour':
      return d.getUTCHours();
    case 'day':
      return d.getUTCDate();
    case 'month':
      return d.getUTCMonth() + 1;
    case 'year':
      return d.getUTCFullYear();
    case 'week':
      return isoWeek(d);
  }
}

function isoWeek(d: Date): number {
  const day = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  day.setUTCDate(day.getUTCDate() + 4 - (day.getUTCDay() || 7));
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  return Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7);
}

function cidrLeaf(field: string, value: Scalar): Test {
  const inNetwork = cidrTest(String(value));
  return (ctx) => ctx.strings(field).some(inNetwork);
}

/** A regex's required literal as a prefilter needle (anywhere in the value). */
function regexNeedles(field: string, pattern: string): Clause | undefined {
  const text = requiredLiteral(pattern);
  return text === undefined ? undefined : [{ field, text, placement: 'anywhere' }];
}

/** Compiled regexes by pattern and flags: public rules repeat the same ones, and compiling is the slow part. */
const regexCache = new Map<string, SafeRegex>();

function cachedRegex(pattern: string, flags: RegexFlags): SafeRegex {
  const key = `${flags.i ? 'i' : ''}${flags.m ? 'm' : ''}${flags.s ? 's' : ''}/${pattern}`;
  let regex = regexCache.get(key);
  if (!regex) regexCache.set(key, (regex = compileRegex(pattern, flags)));
  return regex;
}

function regexTest(field: string, regex: { test(text: string): boolean }): Test {
  if (field === '') return (ctx) => ctx.everyValue(true).some((s) => regex.test(s));
  return (ctx) => ctx.strings(field).some((s) => regex.test(s));
}
