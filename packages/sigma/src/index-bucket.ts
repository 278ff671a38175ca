/**
 * Routing events to their candidate rules. Rule variants are filed by log source (Channel or
 * `_source`, then EventID, `_path` or `_kind`); within a bucket one Aho–Corasick pass per field
 * over every rule's literals decides which rules are worth evaluating, so the cost per event grows
 * with the literals that occur, not with the number of rules.
 */
import type { EventContext } from './event.js';
import type { FieldNeedle, Test } from './leaf.js';
import { ANYWHERE, EXACT, LiteralHits, LiteralMatcher, PREFIX, SUFFIX } from './literals.js';
import type { Placement } from './pattern.js';

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
  readonly needles?: FieldNeedle[];
}

const PLACEMENT_FLAG: Record<Placement, number> = { anywhere: ANYWHERE, prefix: PREFIX, suffix: SUFFIX, exact: EXACT };

type Admit = { entry: number; flag: number };

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

/** One automaton over a field's needles (plus the keyword needles, which every field must carry). */
class Prefilter {
  readonly matcher: LiteralMatcher;
  readonly hits: LiteralHits;
  readonly admits: Admit[][];

  constructor(...tables: NeedleTable[]) {
    this.matcher = new LiteralMatcher(tables.flatMap((t) => [...t.index.keys()]));
    this.hits = new LiteralHits(this.matcher.size);
    this.admits = tables.flatMap((t) => t.admits);
  }
}

/**
 * The candidate rules of one routing key, with their shared prefilter. Each field value is scanned
 * once: with its field's automaton when rules name the field, with the keyword automaton when
 * keyword searches apply and no rule names it.
 */
export class Bucket {
  private readonly always: number[] = [];
  private readonly byField = new Map<string, Prefilter>();
  /** The same, as parallel arrays: iterating them allocates nothing. */
  private readonly fields: string[] = [];
  private readonly prefilters: Prefilter[] = [];
  private readonly keywords: Prefilter | undefined;
  /** Candidate flags and list, reused from event to event. */
  private readonly marks: Uint8Array;
  private readonly chosen: Int32Array;
  /** For the keyword pass: which named fields the event's keys already covered (by generation). */
  private readonly covered = new Map<Prefilter, number>();
  private generation = 0;

  constructor(readonly entries: readonly Entry[]) {
    this.marks = new Uint8Array(entries.length);
    this.chosen = new Int32Array(entries.length);
    const tables = new Map<string, NeedleTable>();
    entries.forEach((entry, index) => {
      if (!entry.needles) return void this.always.push(index);
      for (const needle of entry.needles) {
        let table = tables.get(needle.field);
        if (!table) tables.set(needle.field, (table = new NeedleTable()));
        table.add(needle.text, { entry: index, flag: PLACEMENT_FLAG[needle.placement] });
      }
    });
    const keywordTable = tables.get(KEYWORDS);
    tables.delete(KEYWORDS);
    this.keywords = keywordTable && new Prefilter(keywordTable);
    for (const [field, table] of tables) {
      const pf = keywordTable ? new Prefilter(table, keywordTable) : new Prefilter(table);
      this.byField.set(field, pf);
      this.fields.push(field);
      this.prefilters.push(pf);
    }
  }

  /**
   * Puts the indexes of the entries this event may match, in rule order, in the returned array's
   * first `count` places (the array is reused by the next call).
   */
  candidates(ctx: EventContext): { indexes: Int32Array; count: number } {
    let count = 0;
    for (const i of this.always) this.chosen[count++] = i;
    if (this.keywords) {
      const generation = ++this.generation;
      for (const field of ctx.event.keys()) {
        const pf = this.byField.get(field);
        if (pf) this.covered.set(pf, generation);
        count = this.scan(pf ?? this.keywords, ctx.raw(field), count);
      }
      for (let f = 0; f < this.fields.length; f++) {
        const pf = this.prefilters[f]!;
        if (this.covered.get(pf) !== generation) count = this.scan(pf, ctx.raw(this.fields[f]!), count);
      }
    } else {
      for (let f = 0; f < this.fields.length; f++) count = this.scan(this.prefilters[f]!, ctx.raw(this.fields[f]!), count);
    }
    for (let i = 0; i < count; i++) this.marks[this.chosen[i]!] = 0;
    sortPrefix(this.chosen, count);
    return { indexes: this.chosen, count };
  }

  /** Scans a field's value (every element of a list) and admits the entries its needles call for. */
  private scan(pf: Prefilter, value: unknown, count: number): number {
    if (value === undefined || value === null) return count;
    const { hits, admits } = pf;
    hits.clear();
    scanValue(pf.matcher, value, hits);
    for (const n of hits.touched) {
      const flags = hits.flags[n]!;
      for (const { entry, flag } of admits[n]!) {
        if ((flags & flag) === 0 || this.marks[entry]) continue;
        this.marks[entry] = 1;
        this.chosen[count++] = entry;
      }
    }
    return count;
  }
}

/** A value in its string forms (as `stringForms`), lowercased, without allocating for plain ASCII text. */
function scanValue(matcher: LiteralMatcher, value: unknown, hits: LiteralHits): void {
  if (typeof value === 'string') {
    if (!matcher.scanAsciiFolded(value, hits)) matcher.scan(value.toLowerCase(), hits);
  } else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    matcher.scan(String(value).toLowerCase(), hits);
  } else if (Array.isArray(value)) {
    for (const item of value) scanValue(matcher, item, hits);
  }
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
