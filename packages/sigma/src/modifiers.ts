/**
 * Value modifiers: the transformations (`windash`, `base64`, `utf16`, `expand`...) that turn one
 * rule value into the strings to look for, and the parsing of a `Field|mod|mod` key.
 */
import { ANY, isLiteral, literalText, parsePattern, type Piece } from './pattern.js';
import { InvalidRuleError, UnsupportedError } from './types.js';

/** Placeholder name → values, for the `expand` modifier (`%Admins%` → a list). */
export type Placeholders = Readonly<Record<string, readonly string[]>>;

const TRANSFORMS = [
  'contains',
  'startswith',
  'endswith',
  'windash',
  'base64',
  'base64offset',
  'wide',
  'utf16le',
  'utf16be',
  'utf16',
  'expand',
];
const COMPARISONS = ['lt', 'lte', 'gt', 'gte'] as const;
const TIME_PARTS = ['minute', 'hour', 'day', 'week', 'month', 'year'] as const;
const REGEX_FLAGS = ['i', 'm', 's'] as const;
const FLAGS = ['all', 'cased', 'neq'];
const TERMINALS = ['re', 'cidr', 'exists', 'fieldref', ...COMPARISONS, ...TIME_PARTS];

export type Comparison = (typeof COMPARISONS)[number];
export type TimePart = (typeof TIME_PARTS)[number];
export type RegexFlag = (typeof REGEX_FLAGS)[number];

/** A parsed `Field|mod|mod` key. */
export interface FieldSpec {
  /** '' for a keyword (field-less) search. */
  field: string;
  /** Value transformations, in the order written. */
  transforms: string[];
  all: boolean;
  cased: boolean;
  neq: boolean;
  regex?: Set<RegexFlag>;
  cidr: boolean;
  exists: boolean;
  fieldref: boolean;
  comparison?: Comparison;
  timePart?: TimePart;
}

/** Parsed keys: rules repeat the same few hundred keys (`Image|endswith`...) thousands of times. */
const parsedKeys = new Map<string, FieldSpec>();

/** Parses `Field|mod|mod` (the result is shared: callers must not change it). */
export function parseFieldKey(key: string): FieldSpec {
  let spec = parsedKeys.get(key);
  if (!spec) parsedKeys.set(key, (spec = parseKey(key)));
  return spec;
}

function parseKey(key: string): FieldSpec {
  const [field = '', ...mods] = key.split('|');
  const spec: FieldSpec = { field, transforms: [], all: false, cased: false, neq: false, cidr: false, exists: false, fieldref: false };
  for (const mod of mods) {
    if (spec.regex && (REGEX_FLAGS as readonly string[]).includes(mod)) spec.regex.add(mod as RegexFlag);
    else if (TRANSFORMS.includes(mod)) spec.transforms.push(mod);
    else if (mod === 'all') spec.all = true;
    else if (mod === 'cased') spec.cased = true;
    else if (mod === 'neq') spec.neq = true;
    else if (mod === 're') spec.regex = new Set();
    else if (mod === 'cidr') spec.cidr = true;
    else if (mod === 'exists') spec.exists = true;
    else if (mod === 'fieldref') spec.fieldref = true;
    else if ((COMPARISONS as readonly string[]).includes(mod)) spec.comparison = mod as Comparison;
    else if ((TIME_PARTS as readonly string[]).includes(mod)) spec.timePart = mod as TimePart;
    else throw new InvalidRuleError(`unknown modifier "${mod}" in "${key}"`);
  }
  checkCombination(key, spec, mods);
  return spec;
}

function checkCombination(key: string, spec: FieldSpec, mods: string[]): void {
  const terminals = mods.filter((m) => TERMINALS.includes(m));
  const timed = spec.timePart !== undefined;
  // A time part may be compared (`|hour|gte`); otherwise one terminal modifier at most.
  if (terminals.length > (timed && spec.comparison ? 2 : 1))
    throw new InvalidRuleError(`modifiers ${terminals.join(', ')} cannot be combined in "${key}"`);
  if (terminals.length > 0 && spec.transforms.length > 0 && !spec.fieldref) {
    throw new InvalidRuleError(`"${terminals[0]}" cannot follow value transformations (${spec.transforms.join(', ')}) in "${key}"`);
  }
  if (spec.fieldref && spec.transforms.some((t) => !['contains', 'startswith', 'endswith'].includes(t))) {
    throw new InvalidRuleError(`fieldref combines only with contains, startswith, endswith, neq and cased in "${key}"`);
  }
  const keywordless = terminals.filter((t) => t !== 're');
  if (spec.field === '' && (keywordless.length > 0 || spec.neq))
    throw new InvalidRuleError(`a keyword search cannot use ${keywordless[0] ?? 'neq'}`);
  for (const flag of FLAGS)
    if (mods.filter((m) => m === flag).length > 1) throw new InvalidRuleError(`modifier "${flag}" repeated in "${key}"`);
}

/** Values one rule value may expand to: beyond it a rule costs too much to load and to run. */
const MAX_VARIANTS = 4096;

/** A string being transformed; `bytes` once it holds encoded bytes (one char per byte). */
interface Value {
  pieces: Piece[];
  bytes: boolean;
}

/** Applies the key's transformations to one rule value: every string to look for (OR). */
export function expandValue(raw: string, spec: FieldSpec, placeholders: Placeholders | undefined): Piece[][] {
  let values: Value[] = [{ pieces: parsePattern(raw), bytes: false }];
  for (const transform of spec.transforms) {
    values = values.flatMap((v) => applyTransform(transform, v, placeholders));
    // windash and expand multiply: five spellings per flag, every placeholder combination.
    if (values.length > MAX_VARIANTS) throw new UnsupportedError(`"${raw}" expands to more than ${MAX_VARIANTS} values`);
  }
  return values.map((v) => v.pieces);
}

function applyTransform(transform: string, value: Value, placeholders: Placeholders | undefined): Value[] {
  switch (transform) {
    case 'contains':
      return [{ ...value, pieces: wrap(true, value.pieces, true) }];
    case 'startswith':
      return [{ ...value, pieces: wrap(false, value.pieces, true) }];
    case 'endswith':
      return [{ ...value, pieces: wrap(true, value.pieces, false) }];
    case 'windash':
      return windash(value.pieces).map((pieces) => ({ ...value, pieces }));
    case 'expand':
      return expandPlaceholders(value.pieces, placeholders).map((pieces) => ({ ...value, pieces }));
    case 'base64':
      return [{ pieces: [base64(bytesOf(value, transform))], bytes: false }];
    case 'base64offset':
      return base64Offsets(bytesOf(value, transform)).map((text) => ({ pieces: [text], bytes: false }));
    default:
      return [{ pieces: [encodeUtf16(literalOf(value, transform), transform)], bytes: true }];
  }
}

function wrap(before: boolean, pieces: Piece[], after: boolean): Piece[] {
  const out = [...pieces];
  if (before && out[0] !== ANY) out.unshift(ANY);
  if (after && out[out.length - 1] !== ANY) out.push(ANY);
  return out;
}

function literalOf(value: Value, transform: string): string {
  if (!isLiteral(value.pieces)) throw new InvalidRuleError(`${transform} cannot encode a value with wildcards`);
  return literalText(value.pieces);
}

/** Bytes as a binary string: UTF-8 of text, or the bytes an earlier utf16 modifier made. */
function bytesOf(value: Value, transform: string): string {
  const text = literalOf(value, transform);
  return value.bytes ? text : Buffer.from(text, 'utf8').toString('latin1');
}

function base64(bytes: string): string {
  return Buffer.from(bytes, 'latin1').toString('base64');
}

/** The three encodings of a value at byte offsets 0, 1 and 2, trimmed to their stable middle (as pySigma). */
function base64Offsets(bytes: string): string[] {
  const startOffsets = [0, 2, 3];
  const endTrim = [0, 3, 2];
  return [0, 1, 2].map((shift) => {
    const encoded = base64(' '.repeat(shift) + bytes);
    const trim = endTrim[(bytes.length + shift) % 3]!;
    return encoded.slice(startOffsets[shift], trim ? encoded.length - trim : encoded.length);
  });
}

function encodeUtf16(text: string, transform: string): string {
  const le = Buffer.from(text, 'utf16le');
  if (transform === 'utf16be') le.swap16();
  const bom = transform === 'utf16' ? '\xff\xfe' : '';
  return bom + le.toString('latin1');
}

const DASHES = ['-', '/', '\u2013', '\u2014', '\u2015'];

/**
 * Every spelling of the command-line flags in a value: a `-` or `/` that starts a word (after a
 * non-word character, before a word character) may be any of the five dash characters.
 */
function windash(pieces: Piece[]): Piece[][] {
  const flat = flatten(pieces);
  const spots: number[] = [];
  flat.forEach((c, i) => {
    if ((c === '-' || c === '/') && !isWordChar(flat[i - 1]) && isWordChar(flat[i + 1])) spots.push(i);
  });
  if (DASHES.length ** spots.length > MAX_VARIANTS)
    throw new UnsupportedError(`windash on ${spots.length} flags makes more than ${MAX_VARIANTS} values`);
  let variants: Piece[][] = [flat];
  for (const spot of spots) variants = variants.flatMap((v) => DASHES.map((d) => v.map((c, i) => (i === spot ? d : c))));
  return variants.map(merge);
}

function isWordChar(c: Piece | undefined): boolean {
  return typeof c === 'string' && /^\w$/u.test(c);
}

/** Pieces with text split into single characters, and back. */
function flatten(pieces: Piece[]): Piece[] {
  return pieces.flatMap((p): Piece[] => (typeof p === 'string' ? p.split('') : [p]));
}

function merge(chars: Piece[]): Piece[] {
  const out: Piece[] = [];
  for (const c of chars) {
    const last = out[out.length - 1];
    if (typeof c === 'string' && typeof last === 'string') out[out.length - 1] = last + c;
    else out.push(c);
  }
  return out;
}

/** `%name%` → each value of the placeholder (every combination when there are several). */
function expandPlaceholders(pieces: Piece[], placeholders: Placeholders | undefined): Piece[][] {
  let variants: Piece[][] = [[]];
  for (const piece of pieces) {
    const options: Piece[][] = typeof piece === 'string' ? expandText(piece, placeholders) : [[piece]];
    variants = variants.flatMap((v) => options.map((o) => [...v, ...o]));
  }
  return variants.map((v) => merge(flatten(v)));
}

function expandText(text: string, placeholders: Placeholders | undefined): Piece[][] {
  const parts = text.split(/(%[^%\s]+%)/);
  let variants: Piece[][] = [[]];
  for (const part of parts) {
    if (!/^%[^%\s]+%$/.test(part)) {
      variants = variants.map((v) => [...v, part]);
      continue;
    }
    const name = part.slice(1, -1);
    const values = placeholders && Object.hasOwn(placeholders, name) ? placeholders[name]! : undefined;
    if (!values) throw new UnsupportedError(`placeholder %${name}% has no value (give a placeholder map with ${name})`);
    variants = variants.flatMap((v) => values.map((value) => [...v, ...parsePattern(value)]));
  }
  return variants;
}
