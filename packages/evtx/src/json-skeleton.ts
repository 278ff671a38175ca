/**
 * evtx_dump JSON through compiled skeletons. A template's JSON has the same shape for every
 * record whose values are NULL (or BinXML) at the same places; for each such pattern the tree
 * is built once with markers for values, turned into text, and cut at the markers. A record is
 * then its skeleton's fixed text with its values' JSON in between: no tree, no JSON.stringify
 * of the whole. Records whose shape depends on more (names that are values, text mixed with
 * values, repeated names across BinXML values) use the tree renderer, which handles all cases;
 * both give the same text.
 */
import { Kind, formatGuid, type ContentNode, type Template, type Values } from './binxml.js';
import { buildMarkedTree, nestedMarker, quote, renderJsonText, serialize, substTree, type Tree } from './render-json.js';
import { ValueType, formatFiletime, hex64, substitutionString } from './values.js';

/** Thrown (preallocated, so cheaply) when a record needs the tree renderer. */
const NEEDS_TREE = new Error('record needs the tree renderer');

/** Shapes compiled per template at most; a template with more variants uses the tree. */
const MAX_SKELETONS = 64;
/** Value patterns are bit masks: instances with more values use the tree. */
const MAX_VALUES = 31;

interface ValueHole {
  nested: false;
  index: number;
}
/** Members of a BinXML value, spliced into the object that holds the marker member. */
interface NestedHole {
  nested: true;
  index: number;
  /** Where the comma goes when the value adds members: before them, after them, or none. */
  comma: 'before' | 'after' | 'none';
  /** The other keys of that object: a BinXML value adding one of them needs the tree. */
  siblings: Set<string>;
}
interface Skeleton {
  /** Fixed text; holes go between consecutive segments. */
  segments: string[];
  /** The same without the root object's braces, for splicing members into another object. */
  memberSegments: string[];
  holes: (ValueHole | NestedHole)[];
  /** Keys of the root object: what this skeleton adds when spliced into another. */
  rootKeys: string[];
  /** False when BinXML values add further root keys, known only per record. */
  rootKeysKnown: boolean;
}

export function writeJsonText(nodes: ContentNode[]): string {
  const only = nodes.length === 1 ? nodes[0] : undefined;
  if (only?.kind === Kind.Template) {
    try {
      return renderInstance(only.template, only.values);
    } catch (error) {
      if (error !== NEEDS_TREE) throw error;
    }
  }
  return renderJsonText(nodes);
}

/** The instance's JSON object, or with `asMembers` only its members (no braces). */
function renderInstance(template: Template, values: Values, asMembers = false): string {
  const skeleton = skeletonFor(template, values);
  const { holes } = skeleton;
  const segments = asMembers ? skeleton.memberSegments : skeleton.segments;
  let out = segments[0];
  for (let h = 0; h < holes.length; h++) {
    const hole = holes[h];
    out += hole.nested ? nestedMembers(hole, values) : valueJson(values, hole.index);
    out += segments[h + 1];
  }
  return out;
}

/**
 * A value's JSON text. The common types are written directly (their text never needs escaping
 * beyond strings'); the rest go through the general decoder. Both give what the tree gives.
 */
function valueJson(values: Values, index: number): string {
  values.charge(index);
  const type = values.type(index);
  const size = values.size(index);
  const buf = values.chunk.buf;
  const off = values.offsets[index];
  switch (type) {
    case ValueType.String:
      return quote(substitutionString(buf, off, size));
    case ValueType.UInt8:
      if (size === 1) return String(buf[off]);
      break;
    case ValueType.UInt16:
      if (size === 2) return String(buf.readUInt16LE(off));
      break;
    case ValueType.UInt32:
      if (size === 4) return String(buf.readUInt32LE(off));
      break;
    case ValueType.HexInt64:
      if (size === 8) return '"' + hex64(buf, off) + '"';
      break;
    case ValueType.Guid:
      if (size === 16) return '"' + formatGuid(buf, off) + '"';
      break;
    case ValueType.FileTime:
      if (size === 8) return '"' + formatFiletime(buf.readUInt32LE(off), buf.readUInt32LE(off + 4), 6) + '"';
      break;
  }
  return serialize(substTree(values, index) as Tree);
}

function nestedMembers(hole: NestedHole, values: Values): string {
  if (values.type(hole.index) !== ValueType.BinXml) throw NEEDS_TREE;
  const nodes = values.nestedNodes(hole.index);
  const only = nodes.length === 1 ? nodes[0] : undefined;
  if (only?.kind !== Kind.Template) throw NEEDS_TREE;
  const inner = skeletonFor(only.template, only.values);
  // Keys the inner value adds must not meet the holder's: the tree would rename them.
  if (hole.siblings.size > 0 && !inner.rootKeysKnown) throw NEEDS_TREE;
  for (const key of inner.rootKeys) if (hole.siblings.has(key)) throw NEEDS_TREE;
  const members = renderInstance(only.template, only.values, true);
  if (members === '' || hole.comma === 'none') return members;
  return hole.comma === 'before' ? ',' + members : members + ',';
}

// ---- Compiling ------------------------------------------------------------------------------

const CACHE_KEY = 'json-skeletons';

/** Skeletons of one template by NULL mask, then BinXML mask; null where the pattern needs the tree. */
interface SkeletonCache {
  count: number;
  byMasks: Map<number, Map<number, Skeleton | null>>;
}

function skeletonFor(template: Template, values: Values): Skeleton {
  const count = values.count;
  if (count > MAX_VALUES) throw NEEDS_TREE;
  let nullMask = 0;
  let nestedMask = 0;
  for (let i = 0; i < MAX_VALUES; i++) {
    // A missing value (index past the instance's count) reads as NULL.
    const type = i < count ? values.type(i) : ValueType.Null;
    if (type === ValueType.Null) nullMask |= 1 << i;
    else if (type === ValueType.BinXml) nestedMask |= 1 << i;
  }
  let cache = template.cache.get(CACHE_KEY) as SkeletonCache | undefined;
  if (cache === undefined) template.cache.set(CACHE_KEY, (cache = { count: 0, byMasks: new Map() }));
  let skeleton = cache.byMasks.get(nullMask)?.get(nestedMask);
  if (skeleton === undefined) {
    // Past the cap, patterns are neither compiled nor remembered: the cache stays bounded.
    if (cache.count >= MAX_SKELETONS) throw NEEDS_TREE;
    cache.count++;
    skeleton = compile(template, values);
    let byNested = cache.byMasks.get(nullMask);
    if (byNested === undefined) cache.byMasks.set(nullMask, (byNested = new Map()));
    byNested.set(nestedMask, skeleton);
  }
  if (skeleton === null) throw NEEDS_TREE;
  return skeleton;
}

const HOLE = /(,?)"\\u0002(\d+)\\u0002":null|"\\u0001(\d+)\\u0001"(:?)/g;

function compile(template: Template, values: Values): Skeleton | null {
  if (usesMarkerCharacters(template.nodes)) return null;
  const tree = buildMarkedTree(template.nodes, values);
  if (tree === undefined) return null;
  const text = JSON.stringify(tree);
  const segments: string[] = [];
  const holes: (ValueHole | NestedHole)[] = [];
  let from = 0;
  for (const match of text.matchAll(HOLE)) {
    const [whole, commaBefore, nestedIndex, valueIndex, colon] = match;
    const start = match.index; // a comma before a BinXML member is part of the match
    let end = start + whole.length;
    if (valueIndex !== undefined) {
      if (colon !== '') return null; // a value used as a key
      holes.push({ nested: false, index: Number(valueIndex) });
    } else {
      const index = Number(nestedIndex);
      // One BinXML value spliced in two places would need two holders' keys checked.
      if (holes.some((h) => h.nested && h.index === index)) return null;
      const siblings = siblingKeys(tree, nestedMarker(index));
      if (siblings === undefined) return null;
      let comma: NestedHole['comma'] = 'none';
      if (commaBefore === ',') comma = 'before';
      else if (text[end] === ',') {
        comma = 'after';
        end++;
      }
      holes.push({ nested: true, index, comma, siblings });
    }
    segments.push(text.slice(from, start));
    from = end;
  }
  segments.push(text.slice(from));
  // Every marker must have become a hole: one inside a longer string means text mixed with values.
  const markerCount = (text.match(/\\u000[12]/g) ?? []).length;
  if (markerCount !== holes.length * 2) return null;
  const memberSegments = [...segments];
  memberSegments[0] = memberSegments[0].slice(1);
  memberSegments[memberSegments.length - 1] = memberSegments[memberSegments.length - 1].slice(0, -1);
  const rootKeys = Object.keys(tree);
  return { segments, memberSegments, holes, rootKeys, rootKeysKnown: !rootKeys.some((k) => k.startsWith('\u0002')) };
}

/** The other keys of the object holding `key`; undefined if that object holds another BinXML value. */
function siblingKeys(tree: Tree, key: string): Set<string> | undefined {
  const holder = findHolder(tree, key);
  if (holder === undefined) return undefined;
  const keys = Object.keys(holder).filter((k) => k !== key);
  if (keys.some((k) => k.startsWith('\u0002'))) return undefined;
  return new Set(keys);
}

function findHolder(tree: Tree, key: string): Record<string, Tree> | undefined {
  if (tree === null || typeof tree !== 'object') return undefined;
  if (Array.isArray(tree)) {
    for (const item of tree) {
      const found = findHolder(item, key);
      if (found) return found;
    }
    return undefined;
  }
  const obj = tree as Record<string, Tree>;
  if (Object.hasOwn(obj, key)) return obj;
  for (const k in obj) {
    const found = findHolder(obj[k], key);
    if (found) return found;
  }
  return undefined;
}

/** Markers are control characters no real template contains; a crafted one could fake a hole. */
function usesMarkerCharacters(nodes: ContentNode[]): boolean {
  const bad = (s: string): boolean => s.includes('\u0001') || s.includes('\u0002');
  for (const node of nodes) {
    if (node.kind === Kind.Element) {
      if (bad(node.name) || usesMarkerCharacters(node.children)) return true;
      for (const attr of node.attrs) if (bad(attr.name) || usesMarkerCharacters(attr.value)) return true;
    } else if ((node.kind === Kind.Text || node.kind === Kind.CData) && bad(node.text)) return true;
    else if (node.kind === Kind.CharRef && (node.code === 1 || node.code === 2)) return true;
    else if ((node.kind === Kind.EntityRef && bad(node.name)) || (node.kind === Kind.PI && (bad(node.target) || bad(node.data))))
      return true;
  }
  return false;
}
