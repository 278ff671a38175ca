/**
 * Sigma string values: `*` and `?` wildcards with the specification's backslash escaping, turned
 * into matchers that never backtrack exponentially, plus the literal a prefilter can look for.
 */

/** A piece of a Sigma string: literal text, or a wildcard (`*` any run, `?` one character). */
export type Piece = string | typeof ANY | typeof ONE;
export const ANY = Symbol('*');
export const ONE = Symbol('?');

/**
 * Parses a rule value: `\*`, `\?` and `\\` are the literal characters; any other backslash is
 * itself (so `C:\Windows\` needs no doubling), as pySigma reads it.
 */
export function parsePattern(value: string): Piece[] {
  const pieces: Piece[] = [];
  let text = '';
  const flush = (): void => {
    if (text) pieces.push(text);
    text = '';
  };
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && i + 1 < value.length && '*?\\'.includes(value[i + 1]!)) {
      text += value[++i];
    } else if (c === '*' || c === '?') {
      flush();
      pieces.push(c === '*' ? ANY : ONE);
    } else {
      text += c;
    }
  }
  flush();
  return pieces;
}

export function isLiteral(pieces: readonly Piece[]): boolean {
  return pieces.every((p) => typeof p === 'string');
}

export function literalText(pieces: readonly Piece[]): string {
  return pieces.filter((p): p is string => typeof p === 'string').join('');
}

/** How a literal must sit in a value for a pattern to match: what the prefilter checks. */
export type Placement = 'exact' | 'prefix' | 'suffix' | 'anywhere';

export interface Needle {
  text: string;
  placement: Placement;
}

/**
 * The longest literal every matching value must contain, and where: enough for a prefilter to skip
 * a rule soundly. `undefined` when the pattern has no literal (e.g. `*`).
 */
export function patternNeedle(pieces: readonly Piece[]): Needle | undefined {
  if (pieces.length === 1 && typeof pieces[0] === 'string') return { text: pieces[0], placement: 'exact' };
  let best: Needle | undefined;
  pieces.forEach((piece, i) => {
    if (typeof piece !== 'string' || (best && best.text.length >= piece.length)) return;
    const atStart = i === 0;
    const atEnd = i === pieces.length - 1;
    best = { text: piece, placement: atStart ? 'prefix' : atEnd ? 'suffix' : 'anywhere' };
  });
  return best;
}

/** A compiled string test. `text` is already lowercased when the match is case-insensitive. */
export type StringTest = (text: string) => boolean;

export function compilePattern(pieces: readonly Piece[]): StringTest {
  const first = pieces[0];
  const last = pieces[pieces.length - 1];
  if (pieces.length === 0) return (t) => t.length === 0;
  if (pieces.length === 1 && typeof first === 'string') return (t) => t === first;
  if (pieces.length === 1 && first === ANY) return () => true;
  if (pieces.length === 2 && first === ANY && typeof last === 'string') return (t) => t.endsWith(last);
  if (pieces.length === 2 && typeof first === 'string' && last === ANY) return (t) => t.startsWith(first);
  if (pieces.length === 3 && first === ANY && last === ANY && typeof pieces[1] === 'string') {
    const middle = pieces[1];
    return (t) => t.includes(middle);
  }
  return globTest(pieces);
}

/**
 * General glob: literal segments separated by `*` are found left to right (the first fit is always
 * the best fit, so no backtracking), with `?` matching one character inside a segment.
 */
function globTest(pieces: readonly Piece[]): StringTest {
  const segments = splitOnAny(pieces);
  const anchoredStart = pieces[0] !== ANY;
  const anchoredEnd = pieces[pieces.length - 1] !== ANY;
  return (text) => {
    let pos = 0;
    for (let s = 0; s < segments.length; s++) {
      const seg = segments[s]!;
      const isFirst = s === 0;
      const isLast = s === segments.length - 1;
      if (isLast && anchoredEnd) {
        const start = text.length - seg.length;
        if (start < pos || (isFirst && anchoredStart && start !== 0)) return false;
        return seg.matchAt(text, start);
      }
      if (isFirst && anchoredStart) {
        if (!seg.matchAt(text, 0)) return false;
        pos = seg.length;
        continue;
      }
      const at = seg.find(text, pos);
      if (at < 0) return false;
      pos = at + seg.length;
    }
    return true;
  };
}

/** A run of literal text and `?` between two `*`. */
class Segment {
  readonly length: number;
  /** Each position: the character to match, or null for `?`. */
  private readonly chars: (string | null)[] = [];
  private readonly anchor: string;
  private readonly anchorOffset: number;

  constructor(pieces: readonly Piece[]) {
    for (const p of pieces) {
      if (p === ONE) this.chars.push(null);
      else if (typeof p === 'string') this.chars.push(...p.split(''));
    }
    this.length = this.chars.length;
    // The longest literal run inside the segment lets `find` jump with indexOf.
    let best = '';
    let bestAt = 0;
    let run = '';
    this.chars.forEach((c, i) => {
      if (c === null) run = '';
      else {
        run += c;
        if (run.length > best.length) [best, bestAt] = [run, i - run.length + 1];
      }
    });
    this.anchor = best;
    this.anchorOffset = bestAt;
  }

  matchAt(text: string, start: number): boolean {
    if (start < 0 || start + this.length > text.length) return false;
    for (let i = 0; i < this.length; i++) {
      const c = this.chars[i];
      if (c !== null && text[start + i] !== c) return false;
    }
    return true;
  }

  find(text: string, from: number): number {
    if (this.anchor.length === 0) return from + this.length <= text.length ? from : -1;
    for (let at = text.indexOf(this.anchor, from + this.anchorOffset); at >= 0; at = text.indexOf(this.anchor, at + 1)) {
      const start = at - this.anchorOffset;
      if (this.matchAt(text, start)) return start;
    }
    return -1;
  }
}

function splitOnAny(pieces: readonly Piece[]): Segment[] {
  const segments: Segment[] = [];
  let current: Piece[] = [];
  for (const p of pieces) {
    if (p === ANY) {
      if (current.length) segments.push(new Segment(current));
      current = [];
    } else current.push(p);
  }
  if (current.length) segments.push(new Segment(current));
  return segments;
}

export function lowerPieces(pieces: readonly Piece[]): Piece[] {
  return pieces.map((p) => (typeof p === 'string' ? p.toLowerCase() : p));
}
