/**
 * Winlogbeat and Elastic Agent events (ECS with `winlog.*`) under the names of the EVTX flat view,
 * so a Sigma rule fires on a Winlogbeat export as it does on the EVTX it came from. Every other ECS
 * field stays readable by its dotted path (`process.command_line`), for rules written for ECS.
 *
 * Winlogbeat writes what Windows rendered as XML: values are text, and Task, Opcode, Keywords and
 * log.level are the names Windows displays (e.g. "Process Creation"), not the numbers an EVTX
 * record holds; they are kept as given.
 */
import type { JsonObject, JsonValue } from '@firebreak/evtx';
import { objectEvent, type SigmaEvent } from '@firebreak/sigma';
import { trimTrailingSpace } from '@firebreak/evtx';

/** EVTX flat name ← path in the ECS document, in the order the EVTX view lists System fields. */
const SYSTEM_FIELDS: readonly (readonly [string, readonly string[], 'number'?])[] = [
  ['Provider_Name', ['winlog', 'provider_name']],
  ['Provider_Guid', ['winlog', 'provider_guid']],
  ['EventID', ['winlog', 'event_id'], 'number'],
  ['Version', ['winlog', 'version'], 'number'],
  ['Level', ['log', 'level']],
  ['Task', ['winlog', 'task']],
  ['Opcode', ['winlog', 'opcode']],
  ['Keywords', ['winlog', 'keywords']],
  ['TimeCreated_SystemTime', ['@timestamp']],
  ['EventRecordID', ['winlog', 'record_id'], 'number'],
  ['Correlation_ActivityID', ['winlog', 'activity_id']],
  ['Correlation_RelatedActivityID', ['winlog', 'related_activity_id']],
  ['Execution_ProcessID', ['winlog', 'process', 'pid'], 'number'],
  ['Execution_ThreadID', ['winlog', 'process', 'thread', 'id'], 'number'],
  ['Channel', ['winlog', 'channel']],
  ['Computer', ['winlog', 'computer_name']],
  ['Security_UserID', ['winlog', 'user', 'identifier']],
];

/** Paths whose content appears under Windows names, so the list of field names does not repeat them. */
const MAPPED_PATHS = new Set([...SYSTEM_FIELDS.map(([, path]) => path.join('.')), 'winlog.event_data', 'winlog.user_data']);

/** Winlogbeat names unnamed `<Data>` elements param1, param2, … (by position). */
const PARAM = /^param[1-9][0-9]{0,3}$/;

/** An ECS document from Winlogbeat or Elastic Agent's Windows integration. */
export function isEcsWindows(object: JsonObject): boolean {
  return isObject(object.winlog);
}

export function ecsFields(object: JsonObject): SigmaEvent {
  const windows = windowsFields(object);
  const byPath = objectEvent(object);
  let keys: string[] | undefined;
  return {
    get: (field) => (Object.hasOwn(windows, field) ? windows[field] : byPath.get(field)),
    keys: () => (keys ??= [...Object.keys(windows), ...leafPaths(object)]),
  };
}

function windowsFields(object: JsonObject): Record<string, unknown> {
  const out = Object.create(null) as Record<string, unknown>;
  for (const [name, path, kind] of SYSTEM_FIELDS) {
    const value = at(object, path) ?? (name === 'Computer' ? at(object, ['host', 'name']) : undefined);
    if (value !== undefined && value !== null) out[name] = kind === 'number' ? integer(value) : value;
  }
  const winlog = object.winlog as JsonObject;
  if (isObject(winlog.event_data)) addEventData(out, winlog.event_data);
  if (isObject(winlog.user_data)) addUserData(out, winlog.user_data);
  return out;
}

function addEventData(out: Record<string, unknown>, data: JsonObject): void {
  const params: [number, JsonValue][] = [];
  for (const [name, value] of Object.entries(data)) {
    add(out, name, value);
    if (PARAM.test(name)) params.push([Number(name.slice(5)), trimmed(value)]);
  }
  // The EVTX view lists unnamed <Data> as one `Data` list, which PowerShell classic rules read.
  if (params.length > 0 && !Object.hasOwn(data, 'Data')) out.Data = params.sort((a, b) => a[0] - b[0]).map(([, value]) => value);
}

/** Winlogbeat keeps UserData's one element's children, and that element's name as `xml_name`. */
function addUserData(out: Record<string, unknown>, data: JsonObject, depth = 0): void {
  for (const [name, value] of Object.entries(data)) {
    if (depth === 0 && name === 'xml_name') continue;
    if (isObject(value) && depth < 16) addUserData(out, value, depth + 1);
    else add(out, name, value);
  }
}

/** Lists made here for repeated names; later repeats append in place, so thousands stay linear. */
const mergedLists = new WeakSet<unknown[]>();

/** Values are trimmed at the end, as the EVTX view trims them; a repeated name collects a list. */
function add(out: Record<string, unknown>, name: string, raw: JsonValue): void {
  const value = trimmed(raw);
  if (!Object.hasOwn(out, name)) {
    out[name] = value;
    return;
  }
  const existing = out[name];
  let list: unknown[];
  if (Array.isArray(existing) && mergedLists.has(existing)) list = existing;
  else {
    list = Array.isArray(existing) ? [...existing] : [existing];
    mergedLists.add(list);
    out[name] = list;
  }
  if (Array.isArray(value)) for (const item of value) list.push(item);
  else list.push(value);
}

function trimmed(value: JsonValue): JsonValue {
  return typeof value === 'string' ? trimTrailingSpace(value) : value;
}

/** Dotted paths to every value of `object` not already under a Windows name (arrays count as values). */
function leafPaths(object: JsonObject): string[] {
  const paths: string[] = [];
  const walk = (node: JsonObject, prefix: string, depth: number): void => {
    for (const [key, value] of Object.entries(node)) {
      const path = prefix + key;
      if (MAPPED_PATHS.has(path)) continue;
      if (isObject(value) && depth < 32) walk(value, path + '.', depth + 1);
      else paths.push(path);
    }
  };
  walk(object, '', 0);
  return paths;
}

function at(object: JsonObject, path: readonly string[]): JsonValue | undefined {
  let node: JsonValue | undefined = object;
  for (const key of path) node = isObject(node) && Object.hasOwn(node, key) ? node[key] : undefined;
  return node;
}

/** Winlogbeat 8 writes event_id and record_id as text; the EVTX view has numbers. */
function integer(value: JsonValue): JsonValue {
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) return value;
  return Number(value);
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
