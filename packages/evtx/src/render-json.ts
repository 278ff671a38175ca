/**
 * JSON in the evtx_dump convention (the Rust `evtx` crate): elements become keys, attributes
 * go under `#attributes`, `<Data Name="X">v</Data>` becomes `"X": v`, typed values keep their
 * JSON type, empty elements are null.
 */
import { Kind, type AttributeNode, type ContentNode, type ElementNode, type Values } from './binxml.js';
import { contentValue } from './render-flat.js';
import { isEmptySubst, nestedFragment } from './tree.js';

export type JsonValue = string | number | bigint | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export function renderJson(nodes: ContentNode[], values?: Values): JsonObject {
  const root: JsonObject = {};
  addNodes(root, nodes, values);
  return root;
}

/** Compact JSON text; 64-bit integers beyond 2^53 are written with all their digits. */
export function renderJsonText(nodes: ContentNode[], values?: Values): string {
  return stringify(renderJson(nodes, values));
}

export function stringify(value: JsonValue): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? BIGINT_MARK + v.toString() + BIGINT_MARK : v)).replace(
    BIGINT_PATTERN,
    '$1',
  );
}
const BIGINT_MARK = '\u0000bigint\u0000';
const BIGINT_PATTERN = /"\\u0000bigint\\u0000(-?\d+)\\u0000bigint\\u0000"/g;

function addNodes(parent: JsonObject, nodes: ContentNode[], values: Values | undefined): void {
  for (const node of nodes) {
    if (node.kind === Kind.Element) addElement(parent, node, values);
    else if (node.kind === Kind.Template) addNodes(parent, node.template.nodes, node.values);
    else {
      const nested = nestedFragment(node, values);
      if (nested) addNodes(parent, nested, undefined);
    }
  }
}

function addElement(parent: JsonObject, el: ElementNode, values: Values | undefined): void {
  const dataName = el.name === 'Data' ? el.attrs.find((a) => a.name === 'Name') : undefined;
  if (dataName) {
    const key = String(contentValue(dataName.value, values) ?? '');
    insert(parent, key, elementText(el, values));
    return;
  }
  const attributes = renderAttributes(el.attrs, values);
  const hasElements = el.children.some((c) => c.kind === Kind.Element || c.kind === Kind.Template || nestedFragment(c, values) !== undefined);
  if (!hasElements) {
    const text = elementText(el, values);
    if (attributes === undefined) insert(parent, el.name, text);
    else {
      const obj: JsonObject = { '#attributes': attributes };
      if (text !== null) obj['#text'] = text;
      insert(parent, el.name, obj);
    }
    return;
  }
  const obj: JsonObject = attributes === undefined ? {} : { '#attributes': attributes };
  for (const child of el.children) {
    if (child.kind === Kind.Element) addElement(obj, child, values);
    else if (child.kind === Kind.Template) addNodes(obj, child.template.nodes, child.values);
    else {
      const nested = nestedFragment(child, values);
      if (nested) addNodes(obj, nested, undefined);
    }
  }
  insert(parent, el.name, obj);
}

function renderAttributes(attrs: AttributeNode[], values: Values | undefined): JsonObject | undefined {
  let out: JsonObject | undefined;
  for (const attr of attrs) {
    const v = attr.value;
    if (v.length === 1 && v[0].kind === Kind.Subst && v[0].optional && isEmptySubst(values, v[0].index)) continue;
    out ??= {};
    out[attr.name] = contentValue(v, values) as JsonValue;
  }
  return out;
}

function elementText(el: ElementNode, values: Values | undefined): JsonValue {
  const parts = el.children;
  if (parts.length === 1 && parts[0].kind === Kind.Subst && isEmptySubst(values, parts[0].index)) return null;
  return contentValue(parts, values) as JsonValue;
}

/** Repeated keys get a numeric suffix, as the crate does. */
function insert(obj: JsonObject, key: string, value: JsonValue): void {
  if (!(key in obj)) {
    obj[key] = value;
    return;
  }
  let i = 1;
  while (`${key}_${i}` in obj) i++;
  obj[`${key}_${i}`] = value;
}
