/**
 * JSON in the evtx_dump convention (the Rust `evtx` crate, 0.8.5 and later, default
 * `#attributes` mode): elements become keys, attributes go under `#attributes`,
 * `<Data Name="X">v</Data>` becomes `"X": v`, unnamed `Data` collect under
 * `"Data": {"#text": …}`, integers and booleans are JSON numbers and booleans, empty elements
 * are null, a repeated sibling name gets a `_N` suffix. Where that crate fails a record
 * (character references, CDATA, numbers mixed with text) we render the text instead.
 */
import { Kind, type AttributeNode, type ContentNode, type ElementNode, type Values } from './binxml.js';
import { isNullSubst, jsonSubstText, mixedText, nestedFragment, setOwn, substValue, valueText, valueType } from './tree.js';
import { Style, ValueType, type DecodedValue } from './values.js';

export type JsonValue = string | number | bigint | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/**
 * A value decoded from a float type. evtx_dump prints floats the Rust way (`1.0`, `1e16`), so
 * the text serializer needs to know a number was a float; `json()` unwraps these to numbers.
 */
export class JsonFloat {
  constructor(readonly value: number) {}
}
export type Tree = string | number | bigint | boolean | null | JsonFloat | Tree[] | TreeObject;
interface TreeObject {
  [key: string]: Tree;
}

export function renderJson(nodes: ContentNode[], values?: Values): JsonObject {
  const tree = buildTree(nodes, values);
  return exoticValues > 0 ? (unwrapFloats(tree) as JsonObject) : (tree as JsonObject);
}

/** Compact JSON text, exact for 64-bit integers and floats. */
export function renderJsonText(nodes: ContentNode[], values?: Values): string {
  const tree = buildTree(nodes, values);
  // Native JSON.stringify is several times faster; it only lacks BigInt and Rust float text.
  return exoticValues > 0 ? serialize(tree) : JSON.stringify(tree);
}

/** Floats and BigInts met while building the current tree (they need the slower serializer). */
let exoticValues = 0;

function buildTree(nodes: ContentNode[], values: Values | undefined): TreeObject {
  exoticValues = 0;
  const root: TreeObject = {};
  forEachElement(nodes, values, (el, v) => addElement(root, el, v));
  return root;
}

/**
 * Marker mode, for compiling a template's JSON skeleton (json-skeleton.ts): each substitution
 * becomes the string `\u0001N\u0001` and each BinXML value a member `\u0002N\u0002: null`, so the
 * tree's text shows where values go. NULL values stay NULL: they change the structure.
 */
let markers = false;
const valueMarker = (index: number): string => `\u0001${index}\u0001`;
export const nestedMarker = (index: number): string => `\u0002${index}\u0002`;

/** The marked tree, or undefined when its shape depends on the values themselves. */
export function buildMarkedTree(nodes: ContentNode[], values: Values): TreeObject | undefined {
  markers = true;
  valueShaped = false;
  try {
    const tree = buildTree(nodes, values);
    return valueShaped ? undefined : tree;
  } finally {
    markers = false;
  }
}

/** Set in marker mode on content whose JSON shape depends on values (unnamed Data merge arrays). */
let valueShaped = false;

/** A BinXML value's nodes; in marker mode a placeholder element that names it. */
function nested(node: ContentNode, values: Values | undefined): ContentNode[] | undefined {
  if (markers && node.kind === Kind.Subst && valueType(values, node.index) === ValueType.BinXml) {
    return [{ kind: Kind.Element, name: nestedMarker(node.index), attrs: [], children: [] }];
  }
  return nestedFragment(node, values);
}

/** Calls `visit` for each element among `nodes`, looking through template instances and BinXML values. */
function forEachElement(
  nodes: ContentNode[],
  values: Values | undefined,
  visit: (el: ElementNode, values: Values | undefined) => void,
): void {
  for (const node of nodes) {
    if (node.kind === Kind.Element) visit(node, values);
    else if (node.kind === Kind.Template) forEachElement(node.template.nodes, node.values, visit);
    else {
      const inner = nested(node, values);
      if (inner) forEachElement(inner, undefined, visit);
    }
  }
}

/** What an element's children are, worked out once per template node. */
interface ChildShape {
  /** Element or template children: the element is an object whatever the values. */
  elements: boolean;
  /** Substitutions among the children: BinXML in one makes the element an object. */
  substs: ContentNode[];
  /** Children that are text content (substitutions included). */
  text: ContentNode[];
  /** Every child is an element with a fixed, distinct key: no repeated-name handling needed. */
  uniqueKeys: boolean;
}
const childShapes = new WeakMap<ElementNode, ChildShape>();

function childShape(el: ElementNode): ChildShape {
  let shape = childShapes.get(el);
  if (shape === undefined) {
    const elements = el.children.some((c) => c.kind === Kind.Element || c.kind === Kind.Template);
    const text = el.children.filter((c) => c.kind !== Kind.Element && c.kind !== Kind.Template);
    shape = { elements, substs: text.filter((c) => c.kind === Kind.Subst), text, uniqueKeys: hasUniqueKeys(el.children) };
    childShapes.set(el, shape);
  }
  return shape;
}

function hasUniqueKeys(children: ContentNode[]): boolean {
  const keys = new Set<string>();
  for (const child of children) {
    if (child.kind !== Kind.Element) return false;
    const name = child.name === 'Data' ? child.attrs.find((a) => a.name === 'Name') : undefined;
    if (child.name === 'Data' && (name === undefined || name.value.length !== 1 || name.value[0].kind !== Kind.Text)) return false;
    const key = name ? (name.value[0] as { text: string }).text : child.name;
    if (keys.has(key)) return false;
    keys.add(key);
  }
  return true;
}

function hasElementChildren(el: ElementNode, values: Values | undefined): boolean {
  const shape = childShape(el);
  if (shape.elements) return true;
  for (const s of shape.substs) if (nested(s, values) !== undefined) return true;
  return false;
}

/** `unique`: the parent's keys are known to be distinct, so values are stored directly. */
function addElement(parent: TreeObject, el: ElementNode, values: Values | undefined, unique = false): void {
  if (el.name === 'Data') {
    addDataElement(parent, el, values, unique);
    return;
  }
  const put = unique ? store : insert;
  const attributes = el.attrs.length > 0 ? renderAttributes(el.attrs, values) : undefined;
  if (!hasElementChildren(el, values)) {
    const text = textValue(el.children, values);
    if (attributes === undefined) put(parent, el.name, text ?? null);
    else put(parent, el.name, text === undefined ? { '#attributes': attributes } : { '#attributes': attributes, '#text': text });
    return;
  }
  const obj: TreeObject = attributes === undefined ? {} : { '#attributes': attributes };
  const shape = childShape(el);
  if (shape.text.length > 0) {
    const text = textValue(
      shape.text.filter((c) => nested(c, values) === undefined),
      values,
    );
    if (text !== undefined) obj['#text'] = text;
  }
  if (shape.uniqueKeys) for (const child of el.children) addElement(obj, child as ElementNode, values, true);
  else forEachElement(el.children, values, (child, v) => addElement(obj, child, v));
  put(parent, el.name, obj);
}

function store(obj: TreeObject, key: string, value: Tree): void {
  setOwn(obj, key, value);
}

/** `<Data Name="X">v</Data>` → `"X": v`; unnamed Data values collect under `"Data": {"#text": …}`. */
function addDataElement(parent: TreeObject, el: ElementNode, values: Values | undefined, unique: boolean): void {
  const name = el.attrs.find((a) => a.name === 'Name');
  const value = hasElementChildren(el, values) ? elementObject(el, values) : textValue(el.children, values);
  if (name) {
    (unique ? store : insert)(parent, treeText(textValue(name.value, values) ?? ''), value ?? null);
    return;
  }
  if (value === undefined) return;
  if (markers) valueShaped = true;
  const existing = Object.hasOwn(parent, 'Data') ? parent.Data : undefined;
  if (
    existing !== null &&
    typeof existing === 'object' &&
    !Array.isArray(existing) &&
    !(existing instanceof JsonFloat) &&
    '#text' in existing
  ) {
    const previous = existing['#text'];
    existing['#text'] = Array.isArray(previous) ? [...previous, value] : [previous, value];
  } else {
    insert(parent, 'Data', { '#text': value });
  }
}

function elementObject(el: ElementNode, values: Values | undefined): TreeObject {
  const holder: TreeObject = {};
  addElement(holder, { ...el, name: 'value' }, values);
  return holder.value as TreeObject;
}

function renderAttributes(attrs: AttributeNode[], values: Values | undefined): TreeObject | undefined {
  let out: TreeObject | undefined;
  for (const attr of attrs) {
    const text = textValue(attr.value, values);
    if (text === undefined) continue;
    out ??= {};
    setOwn(out, attr.name, text);
  }
  return out;
}

/**
 * The value of text content: a lone typed substitution keeps its JSON type; several parts are
 * concatenated into a string; undefined when there is no content or only a NULL value.
 */
function textValue(parts: ContentNode[], values: Values | undefined): Tree | undefined {
  if (parts.length === 0) return undefined;
  if (parts.length === 1) {
    const p = parts[0];
    if (p.kind === Kind.Subst) return isNullSubst(values, p.index) ? undefined : substTree(values, p.index);
    if (p.kind === Kind.Text) return p.text;
  }
  return mixedText(parts, values, markers ? (_values, index) => valueMarker(index) : jsonSubstText);
}

export function substTree(values: Values | undefined, index: number): Tree {
  if (markers) return valueMarker(index);
  const value = substValue(values, index, Style.Json);
  const type = valueType(values, index) & 0x7f;
  if (typeof value === 'bigint' || (Array.isArray(value) && value.some((v) => typeof v === 'bigint'))) exoticValues++;
  if (type !== ValueType.Real32 && type !== ValueType.Real64) return value as Tree;
  exoticValues++;
  return Array.isArray(value) ? value.map((v) => new JsonFloat(v as number)) : new JsonFloat(value as number);
}

function treeText(value: Tree): string {
  if (value instanceof JsonFloat) return String(value.value);
  return valueText(value as DecodedValue);
}

/**
 * A repeated sibling name: as evtx_dump does, the newest value takes the bare name and the
 * value it displaces moves to the next free `name_N` key.
 */
function insert(obj: TreeObject, key: string, value: Tree): void {
  if (Object.hasOwn(obj, key)) {
    const suffix = nextSuffix(obj, key);
    setOwn(obj, `${key}_${suffix}`, obj[key]);
  }
  setOwn(obj, key, value);
}

/** Next free `_N` per object and name, remembered so thousands of repeats stay linear. */
const suffixes = new WeakMap<TreeObject, Map<string, number>>();

function nextSuffix(obj: TreeObject, key: string): number {
  let counters = suffixes.get(obj);
  if (counters === undefined) suffixes.set(obj, (counters = new Map()));
  let i = counters.get(key) ?? 1;
  while (Object.hasOwn(obj, `${key}_${i}`)) i++;
  counters.set(key, i + 1);
  return i;
}

function unwrapFloats(value: Tree): JsonValue {
  if (value instanceof JsonFloat) return value.value;
  if (Array.isArray(value)) return value.map(unwrapFloats);
  if (value !== null && typeof value === 'object') {
    const out: JsonObject = {};
    for (const key of Object.keys(value)) setOwn(out, key, unwrapFloats(value[key]));
    return out;
  }
  return value;
}

/** JSON text of a tree: BigInts with all digits, floats formatted as Rust's serde_json does. */
export function serialize(value: Tree | JsonValue): string {
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
  }
  if (value === null) return 'null';
  if (value instanceof JsonFloat) return formatRustFloat(value.value);
  if (Array.isArray(value)) return '[' + value.map(serialize).join(',') + ']';
  let s = '{';
  let first = true;
  for (const key in value) {
    s += (first ? '' : ',') + JSON.stringify(key) + ':' + serialize(value[key]);
    first = false;
  }
  return s + '}';
}

/** Characters JSON.stringify would escape: quote, backslash, controls, surrogates (lone ones). */
const JSON_ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A JSON string literal; most values need no escaping, and a test is cheaper than the call. */
export function quote(text: string): string {
  return JSON_ESCAPED.test(text) ? JSON.stringify(text) : '"' + text + '"';
}

/** A float as serde_json (ryu) prints it: shortest digits, `.0` on integers, `e` notation outside 1e-5…1e16. */
export function formatRustFloat(x: number): string {
  if (!Number.isFinite(x)) return 'null';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const [mantissa, exponent] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const n = digits.length;
  const kk = Number(exponent) + 1; // value = 0.digits × 10^kk
  let body: string;
  if (kk >= n && kk <= 16) body = digits + '0'.repeat(kk - n) + '.0';
  else if (kk > 0 && kk <= 16) body = digits.slice(0, kk) + '.' + digits.slice(kk);
  else if (kk > -5 && kk <= 0) body = '0.' + '0'.repeat(-kk) + digits;
  else if (n === 1) body = digits + 'e' + (kk - 1);
  else body = digits[0] + '.' + digits.slice(1) + 'e' + (kk - 1);
  return sign + body;
}
