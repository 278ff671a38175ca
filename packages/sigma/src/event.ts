/**
 * Events as rules see them, and the per-event cache the compiled rules read through, so a field is
 * fetched, stringified and lowercased once per event however many rules test it.
 */
import type { SigmaEvent } from './types.js';

/**
 * Wraps a plain object: `get('a.b')` reads the key `a.b` when it exists, else the nested path
 * a → b (so ECS-style and flat names both work).
 */
export function objectEvent(object: Record<string, unknown>): SigmaEvent {
  return {
    get(field: string): unknown {
      if (Object.hasOwn(object, field)) return object[field];
      if (!field.includes('.')) return undefined;
      let node: unknown = object;
      for (const part of field.split('.')) {
        if (node === null || typeof node !== 'object' || !Object.hasOwn(node, part)) return undefined;
        node = (node as Record<string, unknown>)[part];
      }
      return node;
    },
    keys: () => Object.keys(object),
  };
}

/** The string forms of a value as rules compare them; nested objects have none. */
export function stringForms(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(stringForms);
  const text = scalarText(value);
  return text === undefined ? [] : [text];
}

/** A single value as rules compare it: strings as they are, numbers and booleans as text, anything else none. */
export function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return undefined;
}

const NONE: string[] = [];

/** Field names a context caches; names beyond it (crafted events with endless keys) are not cached. */
const MAX_CACHED_FIELDS = 65_536;

/**
 * One event under evaluation; caches what several rules ask of the same field. A rule set reuses
 * one context from event to event (`reset`): field names map to slots once, and a generation
 * number invalidates the slots, so matching an event allocates only the values it reads.
 */
export class EventContext {
  private readonly slots = new Map<string, number>();
  private readonly exact: string[][] = [];
  private readonly exactGeneration: number[] = [];
  private readonly lowered: string[][] = [];
  private readonly loweredGeneration: number[] = [];
  private generation = 1;
  /** Slots holding values of the current event. */
  private readonly filled: number[] = [];
  private allExact: string[] | undefined;
  private allLowered: string[] | undefined;

  constructor(public event: SigmaEvent) {}

  reset(event: SigmaEvent): this {
    this.event = event;
    this.generation++;
    // Let go of the last event's values: a context outlives the events it has seen.
    for (const slot of this.filled) this.exact[slot] = this.lowered[slot] = NONE;
    this.filled.length = 0;
    this.allExact = this.allLowered = undefined;
    return this;
  }

  raw(field: string): unknown {
    return this.event.get(field);
  }

  strings(field: string): string[] {
    const slot = this.slot(field);
    if (slot >= 0 && this.exactGeneration[slot] === this.generation) return this.exact[slot]!;
    const forms = stringForms(this.event.get(field));
    if (slot >= 0) {
      this.filled.push(slot);
      this.exact[slot] = forms;
      this.exactGeneration[slot] = this.generation;
    }
    return forms;
  }

  lower(field: string): string[] {
    const slot = this.slot(field);
    if (slot >= 0 && this.loweredGeneration[slot] === this.generation) return this.lowered[slot]!;
    const exact = this.strings(field);
    const forms = exact.length === 1 ? [exact[0]!.toLowerCase()] : exact.map((s) => s.toLowerCase());
    if (slot >= 0) {
      this.lowered[slot] = forms;
      this.loweredGeneration[slot] = this.generation;
    }
    return forms;
  }

  /** Every field's value as the event holds it (lists and all), for the keyword prefilter. */
  rawValues(): Iterable<unknown> {
    const { event } = this;
    if (event.values) return event.values();
    const values: unknown[] = [];
    for (const key of event.keys()) values.push(event.get(key));
    return values;
  }

  /** Every value of every field (lowercased unless `cased`): what keyword searches look at. */
  everyValue(cased: boolean): string[] {
    if (cased) return (this.allExact ??= this.collect((key) => this.strings(key)));
    return (this.allLowered ??= this.collect((key) => this.lower(key)));
  }

  private collect(forms: (key: string) => string[]): string[] {
    const out: string[] = [];
    for (const key of this.event.keys()) for (const s of forms(key)) out.push(s);
    return out;
  }

  private slot(field: string): number {
    let slot = this.slots.get(field);
    if (slot === undefined) {
      if (this.slots.size >= MAX_CACHED_FIELDS) return -1;
      slot = this.slots.size;
      this.slots.set(field, slot);
      this.exactGeneration.push(0);
      this.loweredGeneration.push(0);
    }
    return slot;
  }
}
