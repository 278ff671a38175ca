/**
 * Routing events to their candidate rules. Rule variants are filed by log source (Channel or
 * `_source`, then EventID, `_path` or `_kind`); within a bucket one Aho–Corasick pass per field
 * over every rule's literals decides which rules are worth evaluating, so the cost per event grows
 * with the literals that occur, not with the number of rules.
 */
import { scalarText, type EventContext } from './event.js';
import type { Test } from './leaf.js';
import { ANYWHERE, EXACT, LiteralHits, LiteralMatcher, PREFIX, SUFFIX } from './literals.js';
import type { Placement } from './pattern.js';
import type { Requirement } from './requirement.js';

/** Fields that route an event, most general first: the bucket key is one value of each. */
export const PRIMARY_KEYS = ['Channel', '_source'];
export const SECONDARY_KEYS = ['EventID', '_path', '_kind'];
export const ANY_VALUE = '*';
/** Needles of keyword (field-less) searches: they may occur in any field. */
const KEYWORDS = '';

/** A rule compiled for one log source variant, ready to evaluate. */
export interface Entry {
  /** Position in the rule set: results come out in this order. */
  order: number;
  /** Conditions of the variant that routing does not already guarantee. */
  guard?: Test;
  /** Compiled on first access (variants other than a rule's first wait for an event of their kind). */
  readonly test: Test;
  /** Literals a match implies: every clause must see one of its literals. */
  readonly requirement: Requirement;
}

const PLACEMENT_FLAG: Record<Placement, number> = { anywhere: ANYWHERE, prefix: PREFIX, suffix: SUFFIX, exact: EXACT };

/** A literal admits an entry's clause (`bit`) when it sits where `flag` says. */
type Admit = { entry: number; flag: number; bit: number };

/** Distinct needle texts of one field, each with the entries it admits and the placement each needs. */
class NeedleTable {
  readonly index = new Map<string, number>();
  readonly admits: Admit[][] = [];

  add(text: string, admit: Admit): void {
    let n = this.index.get(text);
    if (n === undefined) {
      n = this.admits.push([]) - 1;
      this.index.set(text, n);
    }
    this.admits[n]!.push(admit);
  }
}

/** One automaton over a field's needles, or over the keyword needles. */
class Prefilter {
  readonly matcher: LiteralMatcher;
  readonly hits: LiteralHits;
  readonly admits: Admit[][];
  /** For few, short literals: a native check that most values fail fast, before the automaton. */
  readonly gate: RegExp | undefined;
  /** Strings shorter than this cannot hold a literal (0 when a literal is not ASCII: lowercasing may lengthen text). */
  readonly shortest: number;
  /** Whether the text of a number or boolean can hold a literal. */
  readonly scalars: boolean;

  constructor(table: NeedleTable) {
    const literals = [...table.index.keys()];
    this.matcher = new LiteralMatcher(literals);
    this.hits = new LiteralHits(this.matcher.size);
    this.admits = table.admits;
    this.gate = literalGate(literals);
    this.shortest = literals.some((l) => /[^\x00-\x7f]/.test(l)) ? 0 : Math.min(...literals.map((l) => l.length));
    this.scalars = literals.some((l) => SCALAR_TEXT.test(l));
  }
}

/**
 * The candidate rules of one routing key, with their shared prefilter: one automaton pass per
 * field that rules name, and over every value for the keyword literals, which may occur in any
 * field. Where the literals are few and short, a gate goes first: a native regular expression of
 * literal alternatives (no quantifiers, so its time is bounded by the value's length times the
 * literals' total length) that most values fail fast; only on a hit does the automaton say which
 * literals occur.
 */
export class Bucket {
  private readonly always: number[] = [];
  /** Field prefilters as parallel arrays: iterating them allocates nothing. */
  private readonly fields: string[] = [];
  private readonly prefilters: Prefilter[] = [];
  private readonly keywords: Prefilter | undefined;
  /** Per entry: the clauses seen so far (bits) and all of them; reused from event to event. */
  private readonly satisfied: Uint8Array;
  private readonly complete: Uint8Array;
  private readonly touched: Int32Array;
  private touchedCount = 0;
  private readonly chosen: Int32Array;

  constructor(readonly entries: readonly Entry[]) {
    this.satisfied = new Uint8Array(entries.length);
    this.complete = new Uint8Array(entries.length);
    this.touched = new Int32Array(entries.length);
    this.chosen = new Int32Array(entries.length);
    const tables = new Map<string, NeedleTable>();
    entries.forEach((entry, index) => {
      const clauses = entry.requirement;
      if (clauses.length === 0) return void this.always.push(index);
      this.complete[index] = (1 << clauses.length) - 1;
      clauses.forEach((clause, c) => {
        for (const needle of clause) {
          let table = tables.get(needle.field);
          if (!table) tables.set(needle.field, (table = new NeedleTable()));
          table.add(needle.text, { entry: index, flag: PLACEMENT_FLAG[needle.placement], bit: 1 << c });
        }
      });
    });
    const keywordTable = tables.get(KEYWORDS);
    tables.delete(KEYWORDS);
    if (keywordTable) this.keywords = new Prefilter(keywordTable);
    for (const [field, table] of tables) {
      this.fields.push(field);
      this.prefilters.push(new Prefilter(table));
    }
  }

  /**
   * Puts the indexes of the entries this event may match, in rule order, in the returned array's
   * first `count` places (the array is reused by the next call).
   */
  candidates(ctx: EventContext): { indexes: Int32Array; count: number } {
    let count = 0;
    for (const i of this.always) this.chosen[count++] = i;
    // Named fields are read by name: an event's keys() need not list every name its get() knows.
    for (let f = 0; f < this.fields.length; f++) count = this.scan(this.prefilters[f]!, ctx.raw(this.fields[f]!), count);
    if (this.keywords) count = this.scanKeywords(this.keywords, ctx, count);
    for (let i = 0; i < this.touchedCount; i++) this.satisfied[this.touched[i]!] = 0;
    this.touchedCount = 0;
    sortPrefix(this.chosen, count);
    return { indexes: this.chosen, count };
  }

  /**
   * Keyword literals may occur in any value: each value goes through the gate on its own (gating
   * them joined into one text measured slower: building that text costs more than the calls).
   */
  private scanKeywords(pf: Prefilter, ctx: EventContext, count: number): number {
    for (const value of ctx.rawValues()) count = this.scan(pf, value, count);
    return count;
  }

  /** Scans a field's value (every element of a list); an entry whose last clause it satisfies becomes a candidate. */
  private scan(pf: Prefilter, value: unknown, count: number): number {
    if (value === undefined || value === null) return count;
    // Values that cannot hold a literal skip the gate and the automaton (most keyword scans end here).
    if (typeof value === 'string' ? value.length < pf.shortest : !pf.scalars && !Array.isArray(value)) return count;
    if (pf.gate && !gateOpens(pf.gate, value)) return count;
    const { hits, admits } = pf;
    hits.clear();
    scanValue(pf.matcher, value, hits);
    for (const n of hits.touched) {
      const flags = hits.flags[n]!;
      for (const { entry, flag, bit } of admits[n]!) {
        const before = this.satisfied[entry]!;
        if ((flags & flag) === 0 || (before & bit) !== 0) continue;
        if (before === 0) this.touched[this.touchedCount++] = entry;
        this.satisfied[entry] = before | bit;
        if ((before | bit) === this.complete[entry]) this.chosen[count++] = entry;
      }
    }
    return count;
  }
}

/** A value in its string forms (as `stringForms`), lowercased, without allocating for plain ASCII text. */
function scanValue(matcher: LiteralMatcher, value: unknown, hits: LiteralHits): void {
  if (Array.isArray(value)) {
    for (const item of value) scanValue(matcher, item, hits);
    return;
  }
  const text = scalarText(value);
  if (text !== undefined && !matcher.scanAsciiFolded(text, hits)) matcher.scan(prefilterFold(text), hits);
}

/**
 * Text as the prefilter compares it: lowercased, and the long s (ſ) folded to `s`, since a
 * case-insensitive regular expression's `s` matches it (RE2's case folding) where lowercasing
 * leaves it. Folding more than the rules do only admits more candidates; their tests decide.
 */
function prefilterFold(text: string): string {
  const lower = text.toLowerCase();
  return lower.includes('\u017f') ? lower.replace(/\u017f/g, 's') : lower;
}

/**
 * Every character the text of a number or boolean can hold ("-1.5e-7", "Infinity", "NaN", "true",
 * "false", lowercased): a literal with any other character never occurs in one.
 */
const SCALAR_TEXT = /^[0-9.+\-einfityaruls]*$/;

/** Literals a gate may hold: beyond this total length the automaton alone is cheaper and bounded. */
const GATE_MAX_LENGTH = 1024;

/**
 * A regular expression that matches wherever one of the (lowercase, ASCII) literals occurs in the
 * lowercased text, tested on the text as it is: each literal character becomes the class of every
 * character whose `prefilterFold` starts with it (`k` also matches the Kelvin sign, `i` also `İ`, `s` the long s), so the
 * gate never closes on text the automaton would admit. Literals with other characters get no gate:
 * lowercasing them can depend on their neighbours or change their length.
 */
function literalGate(literals: string[]): RegExp | undefined {
  if (literals.some((l) => l.length === 0 || /[^\x00-\x7f]/.test(l)) || literals.reduce((n, l) => n + l.length, 0) > GATE_MAX_LENGTH)
    return undefined;
  return new RegExp(literals.map((l) => [...l].map(charClass).join('')).join('|'));
}

/** For each character, every UTF-16 unit whose `prefilterFold` starts with it (built once). */
let upperForms: Map<string, string[]> | undefined;

function charClass(c: string): string {
  if (!upperForms) {
    upperForms = new Map();
    for (let unit = 0; unit < 0x10000; unit++) {
      if (unit >= 0xd800 && unit <= 0xdfff) continue;
      const original = String.fromCharCode(unit);
      const lower = prefilterFold(original);
      if (lower === original) continue;
      const first = lower[0]!;
      const list = upperForms.get(first) ?? [];
      list.push(original);
      upperForms.set(first, list);
    }
  }
  const forms = [c, ...(upperForms.get(c) ?? [])];
  const escape = (ch: string): string => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
  return forms.length === 1 ? escape(c) : `[${forms.map(escape).join('')}]`;
}

function gateOpens(gate: RegExp, value: unknown): boolean {
  if (Array.isArray(value)) return value.some((item) => gateOpens(gate, item));
  const text = scalarText(value);
  return text !== undefined && gate.test(text);
}

/** Insertion sort of the first `count` values: candidate lists are short and nearly sorted. */
function sortPrefix(values: Int32Array, count: number): void {
  for (let i = 1; i < count; i++) {
    const v = values[i]!;
    let j = i - 1;
    while (j >= 0 && values[j]! > v) {
      values[j + 1] = values[j]!;
      j--;
    }
    values[j + 1] = v;
  }
}
