/** XML rendering of a record, as Windows shows it (Event Viewer's XML view). */
import { Kind, type ContentNode, type ElementNode, type Values } from './binxml.js';
import { isEmptySubst, mixedText, nestedFragment, substValue, valueText } from './tree.js';
import { Style } from './values.js';

export function renderXml(nodes: ContentNode[], values?: Values): string {
  const out: string[] = ['<?xml version="1.0" encoding="utf-8"?>\n'];
  writeNodes(out, nodes, values, 0);
  return out.join('');
}

function writeNodes(out: string[], nodes: ContentNode[], values: Values | undefined, depth: number): void {
  for (const node of nodes) {
    if (node.kind === Kind.Element) writeElement(out, node, values, depth);
    else if (node.kind === Kind.Template) writeNodes(out, node.template.nodes, node.values, depth);
    else if (node.kind === Kind.PI)
      out.push(`${indent(depth)}<?${xmlName(node.target)} ${node.data.replaceAll('?>', '? >').replace(XML_INVALID, '\ufffd')}?>\n`);
    else {
      const nested = nestedFragment(node, values);
      if (nested) writeNodes(out, nested, undefined, depth);
    }
  }
}

function writeElement(out: string[], el: ElementNode, values: Values | undefined, depth: number): void {
  const name = xmlName(el.name);
  let open = indent(depth) + '<' + name;
  for (const attr of el.attrs) {
    if (attr.value.length === 1 && attr.value[0].kind === Kind.Subst && attr.value[0].optional && isEmptySubst(values, attr.value[0].index))
      continue;
    open += ` ${xmlName(attr.name)}="${escape(textOf(attr.value, values), true)}"`;
  }
  const hasElements = el.children.some(
    (c) => c.kind === Kind.Element || c.kind === Kind.Template || nestedFragment(c, values) !== undefined,
  );
  if (!hasElements) {
    const content = escapeContent(el.children, values);
    out.push(content === '' ? open + '/>\n' : `${open}>${content}</${name}>\n`);
    return;
  }
  out.push(open + '>\n');
  for (const child of el.children) {
    if (child.kind === Kind.Element) writeElement(out, child, values, depth + 1);
    else if (child.kind === Kind.Template) writeNodes(out, child.template.nodes, child.values, depth + 1);
    else {
      const nested = nestedFragment(child, values);
      if (nested) writeNodes(out, nested, undefined, depth + 1);
      else {
        const text = escapeContent([child], values);
        if (text.trim() !== '') out.push(indent(depth + 1) + text + '\n');
      }
    }
  }
  out.push(`${indent(depth)}</${name}>\n`);
}

/** Unescaped text of content parts, values as Windows shows them. */
function textOf(parts: ContentNode[], values: Values | undefined): string {
  return mixedText(parts, values, xmlSubstText) ?? '';
}

function xmlSubstText(values: Values | undefined, index: number): string {
  return valueText(substValue(values, index, Style.Xml));
}

/** Escaped element content; CDATA sections stay CDATA. */
function escapeContent(parts: ContentNode[], values: Values | undefined): string {
  let s = '';
  for (const p of parts) {
    if (p.kind === Kind.CData) s += `<![CDATA[${p.text.replaceAll(']]>', ']]]]><![CDATA[>').replace(XML_INVALID, '\ufffd')}]]>`;
    else s += escape(textOf([p], values), false);
  }
  return s;
}

const XML_INVALID = /[\0-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const NEEDS_ESCAPE = /[&<>"\0-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]/;

/** Escapes markup; characters XML 1.0 cannot carry at all become U+FFFD. Most text needs nothing. */
function escape(text: string, attribute: boolean): string {
  if (!NEEDS_ESCAPE.test(text)) return text;
  let s = text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  if (attribute) s = s.replaceAll('"', '&quot;');
  return s.replace(XML_INVALID, '\ufffd');
}

const NAME_INVALID = /[^\p{L}\p{N}_.:-]/gu;
const names = new Map<string, string>();

/**
 * A name that is a well-formed XML name. Windows' names always are; a crafted log's could carry
 * spaces, quotes or markup and forge attributes or elements, so anything else becomes `_`.
 */
function xmlName(name: string): string {
  let safe = names.get(name);
  if (safe === undefined) {
    safe = name.replace(NAME_INVALID, '_');
    if (safe === '' || /^[\p{N}.-]/u.test(safe)) safe = '_' + safe;
    if (names.size < 4096) names.set(name, safe);
  }
  return safe;
}

function indent(depth: number): string {
  return '  '.repeat(depth);
}
