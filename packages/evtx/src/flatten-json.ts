/**
 * The flat field view of an event given as evtx_dump JSON (what other tools export), by the same
 * rules as `record.fields()` on the binary record, so detection sees one event model whatever
 * the event came from.
 */
import type { FlatEvent, FlatValue } from './render-flat.js';
import type { JsonObject, JsonValue } from './render-json.js';

const ATTRIBUTES = '#attributes';
const TEXT = '#text';
const SECTION_PREFIXES: Record<string, string> = { RenderingInfo: 'RenderingInfo_' };

/** `{"Event": {"System": …, "EventData": …}}` → `{EventID, Channel, Provider_Name, Image, …}`. */
export function flattenEvtxJson(json: JsonObject): FlatEvent {
  const out: FlatEvent = Object.create(null) as FlatEvent;
  const event = isObject(json.Event) ? json.Event : json;
  for (const [section, content] of Object.entries(event)) {
    if (section === ATTRIBUTES) continue;
    if (section === 'System') flattenSystem(out, content);
    else flattenData(out, content, SECTION_PREFIXES[section] ?? '');
  }
  return { ...out };
}

function flattenSystem(out: FlatEvent, system: JsonValue): void {
  if (!isObject(system)) return;
  for (const [name, value] of Object.entries(system)) {
    // An empty System element (`<Correlation/>`) is null in the JSON and absent from the view.
    if (value === null) continue;
    if (!isObject(value)) {
      add(out, name, value as FlatValue);
      continue;
    }
    if (Object.hasOwn(value, TEXT)) add(out, name, value[TEXT] as FlatValue);
    const attributes = value[ATTRIBUTES];
    if (isObject(attributes)) for (const [attr, v] of Object.entries(attributes)) add(out, `${name}_${attr}`, v as FlatValue);
  }
}

/** EventData, UserData and other sections: leaf elements by name, nested elements walked. */
function flattenData(out: FlatEvent, content: JsonValue, prefix: string): void {
  if (!isObject(content)) return;
  for (const [name, value] of Object.entries(content)) {
    if (name === ATTRIBUTES) continue;
    for (const item of Array.isArray(value) && value.some(isObject) ? value : [value]) {
      if (!isObject(item)) add(out, prefix + name, item as FlatValue);
      else if (Object.hasOwn(item, TEXT)) add(out, prefix + name, item[TEXT] as FlatValue);
      else if (Object.keys(item).some((k) => k !== ATTRIBUTES)) flattenData(out, item, prefix);
      else add(out, prefix + name, null);
    }
  }
}

function add(out: FlatEvent, key: string, value: FlatValue): void {
  if (!Object.hasOwn(out, key)) out[key] = value;
  else {
    const existing = out[key];
    out[key] = [...(Array.isArray(existing) ? existing : [existing]), ...(Array.isArray(value) ? value : [value])] as FlatValue;
  }
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
