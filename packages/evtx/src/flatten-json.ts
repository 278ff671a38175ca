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

/** One event being flattened. Its sets are made on first need: most events have no repeats and no deep nesting. */
interface Flattening {
  out: FlatEvent;
  /** Lists made here for repeated names: later repeats append in place, so thousands stay linear. */
  lists: Set<unknown[]> | undefined;
  /** Sections with content nested deeper than MAX_JSON_DEPTH. */
  tooDeep: Set<string> | undefined;
}

/**
 * `{"Event": {"System": …, "EventData": …}}` → `{EventID, Channel, Provider_Name, Image, …}`.
 * `onProblem` hears of content left out (nested deeper than MAX_JSON_DEPTH).
 */
export function flattenEvtxJson(json: JsonObject, onProblem: (message: string) => void = () => {}): FlatEvent {
  // An ordinary object (fast to build and read); `add` keeps names like __proto__ own properties.
  const state: Flattening = { out: {} as FlatEvent, lists: undefined, tooDeep: undefined };
  const event = isObject(json.Event) ? json.Event : json;
  // for…in over parsed JSON sees own keys only (JSON.parse makes plain objects), without Object.entries' arrays.
  for (const section in event) {
    if (section === ATTRIBUTES) continue;
    const content = event[section]!;
    if (section === 'System') flattenSystem(state, content);
    else flattenData(state, section, content, SECTION_PREFIXES.get(section) ?? '', 0);
  }
  for (const section of state.tooDeep ?? []) {
    onProblem(`${excerpt(section)} nests elements more than ${MAX_JSON_DEPTH} deep; the deeper content is left out`);
  }
  return state.out;
}

function flattenSystem(state: Flattening, system: JsonValue): void {
  if (!isObject(system)) return;
  for (const name in system) {
    const value = system[name]!;
    // An empty System element (`<Correlation/>`) is null in the JSON and absent from the view.
    if (value === null) continue;
    if (!isObject(value)) {
      add(state, name, value as FlatValue);
      continue;
    }
    if (Object.hasOwn(value, TEXT)) add(state, name, value[TEXT] as FlatValue);
    const attributes = value[ATTRIBUTES];
    if (isObject(attributes)) for (const attr in attributes) add(state, `${name}_${attr}`, attributes[attr] as FlatValue);
  }
}

/** EventData, UserData and other sections: leaf elements by name, nested elements walked. */
function flattenData(state: Flattening, section: string, content: JsonValue, prefix: string, depth: number): void {
  if (!isObject(content)) return;
  for (const name in content) {
    if (name === ATTRIBUTES) continue;
    const value = content[name]!;
    if (Array.isArray(value) && value.some(isObject))
      for (const item of value) flattenItem(state, section, prefix + name, item, prefix, depth);
    else flattenItem(state, section, prefix + name, value, prefix, depth);
  }
}

function flattenItem(state: Flattening, section: string, key: string, item: JsonValue, prefix: string, depth: number): void {
  if (!isObject(item)) add(state, key, item as FlatValue);
  else if (Object.hasOwn(item, TEXT)) add(state, key, item[TEXT] as FlatValue);
  else if (!hasElements(item)) add(state, key, null);
  else if (depth < MAX_JSON_DEPTH) flattenData(state, section, item, prefix, depth + 1);
  else (state.tooDeep ??= new Set()).add(section);
}

/** Any key but the attributes. */
function hasElements(item: JsonObject): boolean {
  for (const key in item) if (key !== ATTRIBUTES) return true;
  return false;
}

function add(state: Flattening, key: string, value: FlatValue): void {
  const out = state.out;
  if (!Object.hasOwn(out, key)) {
    if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    else out[key] = value;
    return;
  }
  const existing = out[key];
  let list: unknown[];
  if (Array.isArray(existing) && state.lists?.has(existing)) list = existing;
  else {
    // The first repeat copies: a list that came from the JSON itself is never changed.
    list = Array.isArray(existing) ? [...existing] : [existing];
    (state.lists ??= new Set()).add(list);
    if (key === '__proto__') Object.defineProperty(out, key, { value: list, enumerable: true, writable: true, configurable: true });
    else out[key] = list as FlatValue;
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
