/**
 * The flat field view of an event given as evtx_dump JSON (what other tools export), by the same
 * rules as `record.fields()` on the binary record, so detection sees one event model whatever
 * the event came from.
 */
import type { FlatEvent, FlatValue } from './render-flat.js';
import type { JsonObject, JsonValue } from './render-json.js';

const ATTRIBUTES = '#attributes';
const TEXT = '#text';
/** A Map, not an object: section names come from the log, and `constructor` must not find Object's. */
const SECTION_PREFIXES = new Map([['RenderingInfo', 'RenderingInfo_']]);
/**
 * Nested elements walked below a section; deeper content is left out (and reported). The walk
 * recurses, and a crafted event nested fifty thousand deep would overflow the stack.
 */
export const MAX_JSON_DEPTH = 64;

/** One event being flattened. */
interface Flattening {
  out: FlatEvent;
  /** Lists made here for repeated names: later repeats append in place, so thousands stay linear. */
  lists: Set<unknown[]>;
  /** Sections with content nested deeper than MAX_JSON_DEPTH. */
  tooDeep: Set<string>;
}

/**
 * `{"Event": {"System": …, "EventData": …}}` → `{EventID, Channel, Provider_Name, Image, …}`.
 * `onProblem` hears of content left out (nested deeper than MAX_JSON_DEPTH).
 */
export function flattenEvtxJson(json: JsonObject, onProblem: (message: string) => void = () => {}): FlatEvent {
  const state: Flattening = { out: Object.create(null) as FlatEvent, lists: new Set(), tooDeep: new Set() };
  const event = isObject(json.Event) ? json.Event : json;
  for (const [section, content] of Object.entries(event)) {
    if (section === ATTRIBUTES) continue;
    if (section === 'System') flattenSystem(state, content);
    else flattenData(state, section, content, SECTION_PREFIXES.get(section) ?? '', 0);
  }
  for (const section of state.tooDeep) {
    onProblem(`${excerpt(section)} nests elements more than ${MAX_JSON_DEPTH} deep; the deeper content is left out`);
  }
  return { ...state.out };
}

function flattenSystem(state: Flattening, system: JsonValue): void {
  if (!isObject(system)) return;
  for (const [name, value] of Object.entries(system)) {
    // An empty System element (`<Correlation/>`) is null in the JSON and absent from the view.
    if (value === null) continue;
    if (!isObject(value)) {
      add(state, name, value as FlatValue);
      continue;
    }
    if (Object.hasOwn(value, TEXT)) add(state, name, value[TEXT] as FlatValue);
    const attributes = value[ATTRIBUTES];
    if (isObject(attributes)) for (const [attr, v] of Object.entries(attributes)) add(state, `${name}_${attr}`, v as FlatValue);
  }
}

/** EventData, UserData and other sections: leaf elements by name, nested elements walked. */
function flattenData(state: Flattening, section: string, content: JsonValue, prefix: string, depth: number): void {
  if (!isObject(content)) return;
  for (const [name, value] of Object.entries(content)) {
    if (name === ATTRIBUTES) continue;
    for (const item of Array.isArray(value) && value.some(isObject) ? value : [value]) {
      if (!isObject(item)) add(state, prefix + name, item as FlatValue);
      else if (Object.hasOwn(item, TEXT)) add(state, prefix + name, item[TEXT] as FlatValue);
      else if (!Object.keys(item).some((k) => k !== ATTRIBUTES)) add(state, prefix + name, null);
      else if (depth < MAX_JSON_DEPTH) flattenData(state, section, item, prefix, depth + 1);
      else state.tooDeep.add(section);
    }
  }
}

function add(state: Flattening, key: string, value: FlatValue): void {
  const out = state.out;
  if (!Object.hasOwn(out, key)) {
    out[key] = value;
    return;
  }
  const existing = out[key];
  let list: unknown[];
  if (Array.isArray(existing) && state.lists.has(existing)) list = existing;
  else {
    // The first repeat copies: a list that came from the JSON itself is never changed.
    list = Array.isArray(existing) ? [...existing] : [existing];
    state.lists.add(list);
    out[key] = list as FlatValue;
  }
  if (Array.isArray(value)) for (const item of value) list.push(item);
  else list.push(value);
}

/** A name from the log, short enough to quote in a message. */
function excerpt(text: string): string {
  return text.length <= 80 ? text : `${text.slice(0, 77)}...`;
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
