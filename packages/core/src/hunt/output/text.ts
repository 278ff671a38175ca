/** Text helpers shared by the sinks: JSON that survives 64-bit integers, safe terminal text, display widths. */

/** Containers nested deeper than this are written as a note: a log may nest values beyond what the stack holds. */
const MAX_JSON_DEPTH = 64;
const TOO_DEEP = JSON.stringify(`[nested deeper than ${MAX_JSON_DEPTH} levels]`);
const CIRCULAR = JSON.stringify('[circular]');

/**
 * JSON text of any value. JSON.stringify first, as it is fast; when it refuses (event values may
 * hold BigInts, 64-bit integers; a record may nest deeper than the stack allows) a walk that writes
 * BigInts as their digits and what is nested too deep as a note.
 */
export function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return boundedJson(value, 0, new Set()) ?? 'null';
  }
}

/** What JSON.stringify writes, within MAX_JSON_DEPTH; undefined for what JSON leaves out (undefined, functions, symbols). */
function boundedJson(value: unknown, depth: number, path: Set<object>): string | undefined {
  const json = value as { toJSON?: () => unknown } | null | undefined;
  if (typeof json?.toJSON === 'function') value = json.toJSON();
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      return undefined;
  }
  if (value === null) return 'null';
  if (depth >= MAX_JSON_DEPTH) return TOO_DEEP;
  if (path.has(value)) return CIRCULAR;
  path.add(value);
  let text: string;
  if (Array.isArray(value)) {
    const items: string[] = [];
    // A loop rather than map(): map() passes over the holes of a sparse array, JSON writes them as null.
    for (let i = 0; i < value.length; i++) items.push(boundedJson(value[i], depth + 1, path) ?? 'null');
    text = '[' + items.join(',') + ']';
  } else {
    const members: string[] = [];
    for (const [key, item] of Object.entries(value)) {
      const itemText = boundedJson(item, depth + 1, path);
      if (itemText !== undefined) members.push(JSON.stringify(key) + ':' + itemText);
    }
    text = '{' + members.join(',') + '}';
  }
  path.delete(value);
  return text;
}

/** A field value as one line of text: lists joined with ", ", objects as JSON. */
export function valueText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(valueText).join(', ');
  if (value !== null && typeof value === 'object') return jsonText(value);
  return String(value);
}

/** `Image: C:\x.exe ¦ CommandLine: x -y`: the fields that made a match, compact, in the rule's order. */
export function fieldsText(fields: Record<string, unknown>): string {
  return Object.keys(fields)
    .map((name) => `${name}: ${valueText(fields[name])}`)
    .join(' ¦ ');
}

/** "2023-03-29 14:02:11" from an ISO 8601 UTC time; "-" when there is none. */
export function utcTime(iso: string | null): string {
  if (iso === null) return '-';
  const t = iso.indexOf('T');
  return t < 0 ? iso : `${iso.slice(0, t)} ${iso.slice(t + 1, t + 9)}`;
}

/** "Microsoft-Windows-Sysmon/Operational" → "Sysmon"; other channels as they are. */
export function channelShortName(channel: string | null): string {
  if (channel === null) return '-';
  let name = channel;
  if (name.startsWith('Microsoft-Windows-')) name = name.slice('Microsoft-Windows-'.length);
  if (name.endsWith('/Operational')) name = name.slice(0, -'/Operational'.length);
  return name;
}

/**
 * Characters that must not reach a terminal as they are, in attacker-controlled text: controls
 * (an ESC starts a sequence that can rewrite the screen) and invisible or direction-changing
 * characters (U+202E makes "exe.txt" read "txt.exe"). Tabs and line breaks become spaces so a
 * row stays one line; the rest are shown as `\u202e` so the responder sees they are there.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g;

export function printable(text: string): string {
  return text.replace(UNSAFE, (c) =>
    c === '\t' || c === '\n' || c === '\r' ? ' ' : '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
  );
}

/** Characters that take no column (combining marks, format characters) and those that take two (East Asian wide, emoji). */
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]$/u;
const WIDE = /^\p{Emoji_Presentation}$/u;

/** Columns a code point takes on a terminal. */
export function charWidth(codePoint: number): number {
  if (codePoint >= 0x20 && codePoint < 0x7f) return 1;
  if (codePoint < 0x20 || (codePoint >= 0x7f && codePoint < 0xa0)) return 0;
  if (isEastAsianWide(codePoint)) return 2;
  const c = String.fromCodePoint(codePoint);
  if (ZERO_WIDTH.test(c)) return 0;
  return WIDE.test(c) ? 2 : 1;
}

/** The wide and fullwidth blocks of Unicode's East Asian Width property. */
function isEastAsianWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xa960 && cp <= 0xa97f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/** Columns `text` takes on a terminal. */
export function displayWidth(text: string): number {
  if (isAscii(text)) return text.length;
  let width = 0;
  for (const c of text) width += charWidth(c.codePointAt(0)!);
  return width;
}

/** `text` cut to at most `width` columns, ending in "…" when cut; code points are never split. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  if (isAscii(text)) return text.length <= width ? text : text.slice(0, width - 1) + '…';
  if (displayWidth(text) <= width) return text;
  let out = '';
  let used = 0;
  for (const c of text) {
    const w = charWidth(c.codePointAt(0)!);
    if (used + w > width - 1) break;
    out += c;
    used += w;
  }
  return out + '…';
}

/** `text` followed by spaces up to `width` columns (nothing added when it is already wider). */
export function pad(text: string, width: number): string {
  const missing = width - displayWidth(text);
  return missing > 0 ? text + ' '.repeat(missing) : text;
}
