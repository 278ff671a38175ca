/**
 * Helpers shared by the renderers: resolving the text of attribute and element content
 * against the substitution values of the template instance it belongs to.
 */
import { Kind, type ContentNode, type Values } from './binxml.js';
import { Style, ValueType, decodeValue, type DecodedValue } from './values.js';

/** Predefined XML entities; other entity names are kept as references. */
export const ENTITIES: Record<string, string> = Object.assign(Object.create(null) as Record<string, string>, {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
});

/**
 * Stores an own property. Names come from the log: `__proto__` must become a key like any
 * other, not replace the object's prototype.
 */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** The type a substitution really has in this instance (the descriptor wins over the template). */
export function valueType(values: Values | undefined, index: number): number {
  return values !== undefined && index < values.count ? values.type(index) : ValueType.Null;
}

/** Decodes substitution `index`; absent indexes read as null. */
export function substValue(values: Values | undefined, index: number, style: Style): DecodedValue {
  if (values === undefined || index >= values.count) return null;
  values.charge(index);
  return decodeValue(values.chunk.buf, values.type(index), values.offsets[index], values.size(index), style);
}

/**
 * Text content made of several parts, as one string: NULL values add nothing; undefined when
 * no part added anything. `substText` gives a substitution's text.
 */
export function mixedText(
  parts: ContentNode[],
  values: Values | undefined,
  substText: (values: Values | undefined, index: number) => string,
): string | undefined {
  let s = '';
  let any = false;
  for (const p of parts) {
    if (p.kind === Kind.Subst) {
      if (isNullSubst(values, p.index)) continue;
      s += substText(values, p.index);
    } else if (p.kind === Kind.Text || p.kind === Kind.CData) s += p.text;
    else if (p.kind === Kind.CharRef) s += String.fromCharCode(p.code);
    else if (p.kind === Kind.EntityRef) s += ENTITIES[p.name] ?? `&${p.name};`;
    else continue;
    any = true;
  }
  return any ? s : undefined;
}

/** The JSON-convention text of a substitution, for text that mixes values. */
export function jsonSubstText(values: Values | undefined, index: number): string {
  return valueText(substValue(values, index, Style.Json));
}

/** True when an optional substitution has nothing to show, so its attribute or element text disappears. */
export function isEmptySubst(values: Values | undefined, index: number): boolean {
  return values === undefined || index >= values.count || values.type(index) === ValueType.Null || values.size(index) === 0;
}

/** Content that is a single substitution of BinXML type: it holds elements, not text. */
export function nestedFragment(node: ContentNode, values: Values | undefined): ContentNode[] | undefined {
  if (node.kind !== Kind.Subst || values === undefined || valueType(values, node.index) !== ValueType.BinXml) return undefined;
  return values.nestedNodes(node.index);
}

/** Text of a scalar or array value as one string (arrays joined with commas, as evtx_dump's XML does). */
export function valueText(value: DecodedValue): string {
  if (value === null) return '';
  if (Array.isArray(value)) return value.map((v) => (v === null ? '' : String(v))).join(',');
  return String(value);
}

/** A substitution whose value is NULL (or missing): evtx_dump drops such attributes and shows such elements as null. */
export function isNullSubst(values: Values | undefined, index: number): boolean {
  return values === undefined || index >= values.count || values.type(index) === ValueType.Null;
}
