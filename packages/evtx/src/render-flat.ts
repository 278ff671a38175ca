/**
 * The flat field view used by detection: System fields (`EventID`, `Provider_Name`,
 * `TimeCreated_SystemTime`…) and every EventData/UserData field by name, read straight
 * from the template and its values, with no XML or JSON built on the way.
 */
import { Kind, type AttributeNode, type ContentNode, type ElementNode, type Values } from './binxml.js';
import { ENTITIES, isEmptySubst, nestedFragment, substValue, valueText } from './tree.js';
import { Style, type DecodedValue } from './values.js';

export type FlatValue = DecodedValue;
export type FlatEvent = Record<string, FlatValue>;

/** Sections whose fields are named by their own element (or `Data Name=`) rather than by a path. */
const PREFIXED_SECTIONS: Record<string, string> = { RenderingInfo: 'RenderingInfo_' };

export function renderFlat(nodes: ContentNode[], values?: Values): FlatEvent {
  const out: FlatEvent = {};
  const root = firstElement(nodes, values);
  if (root) forEachChildElement(root.node, root.values, (section, sectionValues) => flattenSection(out, section, sectionValues));
  return out;
}

interface Bound {
  node: ElementNode;
  values: Values | undefined;
}

function firstElement(nodes: ContentNode[], values: Values | undefined): Bound | undefined {
  for (const node of nodes) {
    if (node.kind === Kind.Element) return { node, values };
    if (node.kind === Kind.Template) return firstElement(node.template.nodes, node.values);
    const nested = nestedFragment(node, values);
    if (nested) return firstElement(nested, undefined);
  }
  return undefined;
}

/** Calls `visit` for each child element, looking through template instances and BinXML values. */
function forEachChildElement(
  el: ElementNode,
  values: Values | undefined,
  visit: (child: ElementNode, values: Values | undefined) => void,
): void {
  forEachElement(el.children, values, visit);
}

function forEachElement(
  nodes: ContentNode[],
  values: Values | undefined,
  visit: (child: ElementNode, values: Values | undefined) => void,
): void {
  for (const node of nodes) {
    if (node.kind === Kind.Element) visit(node, values);
    else if (node.kind === Kind.Template) forEachElement(node.template.nodes, node.values, visit);
    else {
      const nested = nestedFragment(node, values);
      if (nested) forEachElement(nested, undefined, visit);
    }
  }
}

function flattenSection(out: FlatEvent, section: ElementNode, values: Values | undefined): void {
  if (section.name === 'System') {
    forEachChildElement(section, values, (el, v) => flattenSystemField(out, el, v));
  } else {
    flattenData(out, section, values, PREFIXED_SECTIONS[section.name] ?? '');
  }
}

function flattenSystemField(out: FlatEvent, el: ElementNode, values: Values | undefined): void {
  if (el.children.length > 0) {
    const value = contentValue(el.children, values);
    if (value !== null) add(out, el.name, value);
  }
  for (const attr of el.attrs) {
    const value = attributeValue(attr, values);
    if (value !== undefined) add(out, `${el.name}_${attr.name}`, value);
  }
}

function flattenData(out: FlatEvent, parent: ElementNode, values: Values | undefined, prefix: string): void {
  forEachChildElement(parent, values, (el, v) => {
    const nameAttr = el.attrs.find((a) => a.name === 'Name');
    if (nameAttr) {
      const key = attributeValue(nameAttr, v);
      add(out, prefix + valueText(key ?? null), contentValue(el.children, v));
    } else if (hasChildElements(el, v)) {
      flattenData(out, el, v, prefix);
    } else {
      add(out, prefix + el.name, contentValue(el.children, v));
    }
  });
}

function hasChildElements(el: ElementNode, values: Values | undefined): boolean {
  let found = false;
  forEachChildElement(el, values, () => (found = true));
  return found;
}

/** Repeated names (e.g. several unnamed `Data` elements) collect into an array. */
function add(out: FlatEvent, key: string, value: FlatValue): void {
  if (!(key in out)) {
    out[key] = value;
    return;
  }
  const existing = out[key];
  const list = Array.isArray(existing) ? existing : [existing];
  if (Array.isArray(value)) list.push(...value);
  else list.push(value);
  out[key] = list;
}

/** An attribute's value; undefined when it is an optional substitution without a value. */
function attributeValue(attr: AttributeNode, values: Values | undefined): FlatValue | undefined {
  const parts = attr.value;
  if (parts.length === 1 && parts[0].kind === Kind.Subst && parts[0].optional && isEmptySubst(values, parts[0].index)) return undefined;
  return contentValue(parts, values);
}

/**
 * The value of element or attribute content: a lone substitution keeps its type (numbers stay
 * numbers), mixed content becomes one string, empty content is null.
 */
export function contentValue(parts: ContentNode[], values: Values | undefined): FlatValue {
  if (parts.length === 1) {
    const p = parts[0];
    if (p.kind === Kind.Subst) return substValue(values, p.index, Style.Json);
    if (p.kind === Kind.Text) return p.text;
  }
  if (parts.length === 0) return null;
  let s = '';
  for (const p of parts) {
    if (p.kind === Kind.Text || p.kind === Kind.CData) s += p.text;
    else if (p.kind === Kind.Subst) s += valueText(substValue(values, p.index, Style.Json));
    else if (p.kind === Kind.CharRef) s += String.fromCharCode(p.code);
    else if (p.kind === Kind.EntityRef) s += ENTITIES[p.name] ?? `&${p.name};`;
  }
  return s;
}
