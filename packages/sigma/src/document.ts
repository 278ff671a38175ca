/**
 * Reading Sigma YAML: one file or string may hold several documents (rules, filters, correlations),
 * each validated against the specification (v2.1). Problems carry the file, the line and the reason.
 */
import { CORE_SCHEMA, loadAll } from 'js-yaml';
import { LineCounter, parseAllDocuments, isMap, isNode, isScalar, type Document } from 'yaml';
import { parseCorrelation } from './correlation.js';
import {
  InvalidRuleError,
  UnsupportedError,
  type DocumentMeta,
  type FilterDocument,
  type Level,
  type LogSource,
  type RuleDocument,
  type SigmaDocument,
  type SourceLocation,
} from './types.js';

/** One document of a file: parsed, or why not. */
export type DocumentResult =
  { ok: true; document: SigmaDocument } | { ok: false; status: 'invalid' | 'unsupported'; reason: string; location: SourceLocation };

const LEVELS = new Set(['informational', 'low', 'medium', 'high', 'critical']);
const STATUSES = new Set(['stable', 'test', 'experimental', 'deprecated', 'unsupported']);
const RELATION_TYPES = new Set(['derived', 'obsolete', 'merged', 'renamed', 'similar']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TAG = /^[a-z0-9_-]+\.[a-z0-9._-]+$/;
const NAME = /^[a-zA-Z0-9_.-]+$/;

/**
 * Parses every document in `text` (the content of `file`, when it came from one). The fast
 * parser reads the documents; the slower one, which keeps positions, only runs to locate a
 * problem or when the fast one refuses the text.
 */
export function parseDocuments(text: string, file?: string): DocumentResult[] {
  let raws: unknown[];
  try {
    raws = loadAll(text, null, { schema: CORE_SCHEMA }).filter((raw) => raw !== null && raw !== undefined);
  } catch {
    return parseLocated(text, file);
  }
  const locator = lazyLocator(text, file);
  return raws.map((raw, index) => readRaw(raw, { file, line: locator.documentLine(index) }, (path) => locator.line(index, path)));
}

/** Lines of keys in the documents of `text`, parsed with positions on first use. */
function lazyLocator(text: string, file: string | undefined) {
  let located: { doc: Document; at: (offset: number | undefined) => SourceLocation }[] | undefined;
  const documents = () => (located ??= locatedDocuments(text, file).filter(({ doc }) => !isEmptyDocument(doc)));
  let starts: number[] | undefined;
  return {
    documentLine: (index: number) => (starts ??= documentStartLines(text))[index],
    line: (index: number, path: string[]) => {
      const entry = documents()[index];
      return entry ? keyLine(entry.doc, entry.at, path) : undefined;
    },
  };
}

/** First line of each document: after each `---` separator (the first may have none). */
function documentStartLines(text: string): number[] {
  const lines = text.split('\n');
  const starts: number[] = [];
  let open = -1;
  lines.forEach((line, i) => {
    if (/^---(\s|$)/.test(line)) open = i + 2;
    else if (line.trim() !== '' && !line.startsWith('#') && open !== 0) {
      if (starts.length === 0 || open > 0) starts.push(open > 0 ? open : i + 1);
      open = 0;
    }
  });
  return starts;
}

function locatedDocuments(text: string, file: string | undefined) {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const at = (offset: number | undefined): SourceLocation => ({
    file,
    line: offset === undefined ? undefined : lineCounter.linePos(offset).line,
  });
  return (Array.isArray(docs) ? docs : []).map((doc) => ({ doc, at }));
}

/** The precise path: every document parsed with positions (used when the fast parser refuses the text). */
function parseLocated(text: string, file: string | undefined): DocumentResult[] {
  return locatedDocuments(text, file)
    .filter(({ doc }) => !isEmptyDocument(doc))
    .map(({ doc, at }) => {
      const [error] = doc.errors;
      if (error) return { ok: false, status: 'invalid', reason: `YAML: ${error.message.split('\n')[0]}`, location: at(error.pos[0]) };
      const start = isNode(doc.contents) ? doc.contents.range?.[0] : undefined;
      let raw: unknown;
      try {
        raw = doc.toJS({ maxAliasCount: 100 });
      } catch (e) {
        return { ok: false, status: 'invalid', reason: `YAML: ${(e as Error).message}`, location: at(start) };
      }
      return readRaw(raw, at(start), (path) => keyLine(doc, at, path));
    });
}

function isEmptyDocument(doc: Document): boolean {
  // Looked at without converting the document: a hostile one (aliases) must not be expanded here.
  return doc.errors.length === 0 && (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null));
}

/** The line of the key at `path` (`selection:`), not of its value, which may start a line later. */
function keyLine(doc: Document, at: (offset: number | undefined) => SourceLocation, path: string[]): number | undefined {
  const parent = path.length > 1 ? doc.getIn(path.slice(0, -1), true) : doc.contents;
  const pair = isMap(parent) ? parent.items.find((p) => isScalar(p.key) && p.key.value === path.at(-1)) : undefined;
  const node = isNode(pair?.key) ? pair.key : doc.getIn(path, true);
  return at(isNode(node) ? node.range?.[0] : isNode(doc.contents) ? doc.contents.range?.[0] : undefined).line;
}

function readRaw(raw: unknown, location: SourceLocation, lineOf: LineOf): DocumentResult {
  try {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidRuleError('a Sigma document must be a map');
    return { ok: true, document: toDocument(raw as Record<string, unknown>, location, lineOf) };
  } catch (e) {
    if (e instanceof InvalidRuleError || e instanceof UnsupportedError) {
      const line = e instanceof InvalidRuleError && e.location.line ? e.location.line : location.line;
      return {
        ok: false,
        status: e instanceof UnsupportedError ? 'unsupported' : 'invalid',
        reason: e.message,
        location: { ...location, line },
      };
    }
    throw e;
  }
}

type LineOf = (path: string[]) => number | undefined;

function toDocument(raw: Record<string, unknown>, location: SourceLocation, lineOf: LineOf): SigmaDocument {
  if ('action' in raw) throw new UnsupportedError(`"action: ${String(raw.action)}" is Sigma 1 collection syntax, removed in Sigma 2`);
  const meta = readMeta(raw, location, lineOf);
  if ('correlation' in raw) return parseCorrelation(expectMap(raw.correlation, 'correlation', lineOf), meta);
  if ('filter' in raw) return readFilter(raw, meta, lineOf);
  if ('detection' in raw) return readRule(raw, meta, lineOf);
  throw new InvalidRuleError('a Sigma document needs detection (rule), correlation or filter');
}

function fail(message: string, lineOf: LineOf, path: string[]): never {
  throw new InvalidRuleError(message, { line: lineOf(path) });
}

function readMeta(raw: Record<string, unknown>, location: SourceLocation, lineOf: LineOf): DocumentMeta {
  const title = raw.title;
  if (typeof title !== 'string' || title.trim() === '') fail('title is required and must be a string', lineOf, ['title']);
  if (title.length > 256) fail('title is longer than 256 characters', lineOf, ['title']);
  const id = optionalString(raw, 'id', lineOf);
  if (id !== undefined && !UUID.test(id)) fail(`id "${id}" is not a UUID`, lineOf, ['id']);
  const name = optionalString(raw, 'name', lineOf);
  if (name !== undefined && !NAME.test(name)) fail(`name "${name}" may only hold letters, digits, "_", "." and "-"`, lineOf, ['name']);
  const status = optionalString(raw, 'status', lineOf);
  if (status !== undefined && !STATUSES.has(status))
    fail(`status "${status}" is not one of ${[...STATUSES].join(', ')}`, lineOf, ['status']);
  const level = optionalString(raw, 'level', lineOf);
  if (level !== undefined && !LEVELS.has(level)) fail(`level "${level}" is not one of ${[...LEVELS].join(', ')}`, lineOf, ['level']);
  for (const key of ['date', 'modified']) checkDate(raw, key, lineOf);
  checkRelated(raw.related, lineOf);
  const tags = stringList(raw, 'tags', lineOf);
  for (const tag of tags) if (!TAG.test(tag)) fail(`tag "${tag}" is not namespace.name in lowercase`, lineOf, ['tags']);
  return {
    id,
    name,
    title,
    status,
    level: level as Level | undefined,
    description: optionalString(raw, 'description', lineOf),
    author: optionalString(raw, 'author', lineOf),
    tags,
    references: stringList(raw, 'references', lineOf),
    falsepositives: stringList(raw, 'falsepositives', lineOf),
    location,
  };
}

function optionalString(raw: Record<string, unknown>, key: string, lineOf: LineOf): string | undefined {
  const value = raw[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') fail(`${key} must be a string`, lineOf, [key]);
  return value;
}

/** A list of strings; a lone string is accepted as a list of one (as pySigma does for falsepositives). */
function stringList(raw: Record<string, unknown>, key: string, lineOf: LineOf): string[] {
  const value = raw[key];
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  if (!list.every((v) => typeof v === 'string')) fail(`${key} must be a list of strings`, lineOf, [key]);
  return list as string[];
}

function checkDate(raw: Record<string, unknown>, key: string, lineOf: LineOf): void {
  const value = raw[key];
  if (value === undefined) return;
  const text = value instanceof Date ? value.toISOString().slice(0, 10) : value;
  if (typeof text !== 'string' || !DATE.test(text)) fail(`${key} must be a date YYYY-MM-DD`, lineOf, [key]);
}

function checkRelated(related: unknown, lineOf: LineOf): void {
  if (related === undefined) return;
  if (!Array.isArray(related)) fail('related must be a list', lineOf, ['related']);
  related.forEach((entry: unknown, i) => {
    const e = entry as Record<string, unknown> | null;
    if (!e || typeof e.id !== 'string' || !UUID.test(e.id)) fail(`related[${i}].id must be a UUID`, lineOf, ['related']);
    if (typeof e.type !== 'string' || !RELATION_TYPES.has(e.type))
      fail(`related[${i}].type must be one of ${[...RELATION_TYPES].join(', ')}`, lineOf, ['related']);
  });
}

function expectMap(value: unknown, key: string, lineOf: LineOf): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(`${key} must be a map`, lineOf, [key]);
  return value as Record<string, unknown>;
}

function readLogSource(raw: Record<string, unknown>, lineOf: LineOf): LogSource {
  const map = expectMap(raw.logsource, 'logsource', lineOf);
  const logsource: LogSource = {};
  for (const key of ['product', 'category', 'service'] as const) {
    const value = map[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') fail(`logsource.${key} must be a string`, lineOf, ['logsource', key]);
    logsource[key] = value;
  }
  if (Object.keys(logsource).length === 0) fail('logsource needs product, category or service', lineOf, ['logsource']);
  return logsource;
}

/** The `detection` (or `filter`) map: search identifiers plus a condition or condition list. */
function readDetection(map: Record<string, unknown>, key: string, lineOf: LineOf, skip: string[] = []) {
  checkSize(map, key, lineOf);
  const condition = map.condition;
  const conditions = Array.isArray(condition) ? condition : [condition];
  if (condition === undefined || conditions.length === 0 || !conditions.every((c) => typeof c === 'string' && c.trim() !== '')) {
    fail(`${key}.condition is required: a string or a list of strings`, lineOf, [key, 'condition']);
  }
  const searches: Record<string, unknown> = {};
  for (const [name, definition] of Object.entries(map)) {
    if (name === 'condition' || name === 'timeframe' || skip.includes(name)) continue;
    searches[name] = definition;
  }
  const searchLine = (name: string): number | undefined => lineOf([key, name]);
  if ('timeframe' in map) throw new UnsupportedError(`${key}.timeframe is Sigma 1 aggregation syntax, replaced by correlation rules`);
  if (Object.keys(searches).length === 0) fail(`${key} has no search identifier`, lineOf, [key]);
  return { searches, searchLine, conditions: conditions as string[] };
}

/** Values and maps a detection may hold: YAML aliases can make a small file expand without bound. */
const MAX_DETECTION_NODES = 100_000;

/** Refuses a detection that expands (through YAML aliases) beyond what any rule needs, before anything walks it again. */
function checkSize(map: Record<string, unknown>, key: string, lineOf: LineOf): void {
  let nodes = 0;
  const visit = (node: unknown): void => {
    if (++nodes > MAX_DETECTION_NODES) fail(`${key} expands to more than ${MAX_DETECTION_NODES} values (YAML aliases?)`, lineOf, [key]);
    if (Array.isArray(node)) node.forEach(visit);
    else if (node !== null && typeof node === 'object') Object.values(node).forEach(visit);
  };
  visit(map);
}

function readRule(raw: Record<string, unknown>, meta: DocumentMeta, lineOf: LineOf): RuleDocument {
  const logsource = readLogSource(raw, lineOf);
  const detection = readDetection(expectMap(raw.detection, 'detection', lineOf), 'detection', lineOf);
  return { ...meta, kind: 'rule', logsource, ...detection, fields: stringList(raw, 'fields', lineOf) };
}

function readFilter(raw: Record<string, unknown>, meta: DocumentMeta, lineOf: LineOf): FilterDocument {
  const logsource = readLogSource(raw, lineOf);
  const map = expectMap(raw.filter, 'filter', lineOf);
  const rules = Array.isArray(map.rules) ? map.rules : typeof map.rules === 'string' ? [map.rules] : undefined;
  if (!rules || rules.length === 0 || !rules.every((r) => typeof r === 'string'))
    fail('filter.rules must list rule ids or names', lineOf, ['filter', 'rules']);
  const detection = readDetection(map, 'filter', lineOf, ['rules']);
  return { ...meta, kind: 'filter', logsource, rules: rules as string[], ...detection };
}
