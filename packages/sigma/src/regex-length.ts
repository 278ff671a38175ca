/**
 * The fewest UTF-16 code units a text must have for an RE2 pattern to match somewhere in it. A
 * text shorter than that cannot match, so the regex need not run: rules such as "a 64-digit hex
 * argument then a 16-digit one" or "a command line of 1,000 characters" have no literal for the
 * prefilter, and without this bound the engine scans every event of their log source.
 *
 * Conservative by construction: every matched character counts as one unit (astral ones take
 * two), anchors and word boundaries as none, an alternation as its shortest branch, `?` and `*`
 * as nothing and `{n,m}` as n times the atom. Input is RE2 syntax as `translateRegex` writes it,
 * already accepted by the engine; anything unexpected gives 0 (no bound) rather than a guess.
 */

/** Bounds above this are as good as infinite (and keep products of counted repeats finite). */
const CAP = 1 << 30;
/** A counted repeat, `{n}`, `{n,}` or `{n,m}`; any other `{` is a literal brace in RE2. */
export const COUNTED_REPEAT = /\{(\d+)(?:,(\d*))?\}/y;
const POSIX_CLASS = /\[:\^?[a-z]+:\]/y;
/** Inline flags alone, `(?i)`, `(?-s)`: they match nothing, and a quantifier after them repeats the atom before. */
export const FLAGS_GROUP = /\(\?[a-zA-Z-]*\)/y;
/** The opening of a group with flags or a name: `(?i:`, `(?:`, `(?P<name>`, `(?<name>`. */
const GROUP_OPENING = /\(\?(?:[a-zA-Z-]*:|P?<[A-Za-z_]\w*>)/y;
/** The operands of `\x` (`\x41`, `\x{263a}`) and of `\p`/`\P` (`\pL`, `\p{Greek}`). */
const HEX_OPERAND = /\{[^}]*\}|[0-9A-Fa-f]{0,2}/y;
const CLASS_OPERAND = /\{[^}]*\}|[A-Za-z]/y;

/**
 * Index of the `]` closing the class that opens at `start` (or the text's length when none does):
 * a `]` first in the class, escapes and `[:name:]` are part of it.
 */
export function classEnd(source: string, start: number): number {
  let i = start + 1;
  if (source[i] === '^') i++;
  if (source[i] === ']') i++;
  while (i < source.length) {
    const c = source[i];
    if (c === ']') return i;
    POSIX_CLASS.lastIndex = i;
    if (c === '[' && POSIX_CLASS.exec(source)) i = POSIX_CLASS.lastIndex;
    else i += c === '\\' ? 2 : 1;
  }
  return source.length;
}

class Unexpected extends Error {}

export function minimumLength(source: string): number {
  try {
    const parser = new LengthParser(source);
    const length = parser.alternation();
    return parser.done() ? length : 0;
  } catch (error) {
    if (error instanceof Unexpected) return 0;
    throw error;
  }
}

class LengthParser {
  private at = 0;

  constructor(private readonly source: string) {}

  done(): boolean {
    return this.at === this.source.length;
  }

  /** Branches separated by `|`: the shortest. */
  alternation(): number {
    let shortest = this.sequence();
    while (this.source[this.at] === '|') {
      this.at++;
      shortest = Math.min(shortest, this.sequence());
    }
    return shortest;
  }

  /** Atoms with their quantifiers, up to `|`, `)` or the end: the sum. */
  private sequence(): number {
    let total = 0;
    while (this.at < this.source.length && this.source[this.at] !== '|' && this.source[this.at] !== ')') {
      total = Math.min(CAP, total + this.quantified(this.atom()));
    }
    return total;
  }

  /** The atom's length under the quantifier that follows it, if any (a lazy one matches as much at least). */
  private quantified(atom: number): number {
    const c = this.source[this.at];
    let length: number;
    if (c === '*' || c === '?') length = 0;
    else if (c === '+') length = atom;
    else if (c === '{') {
      COUNTED_REPEAT.lastIndex = this.at;
      const repeat = COUNTED_REPEAT.exec(this.source);
      if (!repeat) return atom; // a literal `{`, read as the next atom
      this.at = COUNTED_REPEAT.lastIndex - 1;
      length = Math.min(CAP, atom * Number(repeat[1]));
    } else return atom;
    this.at++;
    if (this.source[this.at] === '?') this.at++;
    return length;
  }

  private atom(): number {
    const c = this.source[this.at++]!;
    switch (c) {
      case '(':
        return this.group();
      case '[':
        this.skipClass();
        return 1;
      case '\\':
        return this.escape();
      case '^':
      case '$':
        return 0;
      case '*':
      case '+':
      case '?':
        throw new Unexpected(); // a quantifier of a quantifier: RE2 refuses it, so this is no syntax we know
      default: {
        // A literal `{` that starts no repeat, a `.`, any other character: one code point.
        COUNTED_REPEAT.lastIndex = this.at - 1;
        if (c === '{' && COUNTED_REPEAT.test(this.source)) throw new Unexpected();
        // A surrogate pair is one character; a lone surrogate is one too, and what follows it is not part of it.
        const next = this.source.charCodeAt(this.at);
        if (c.charCodeAt(0) >= 0xd800 && c.charCodeAt(0) < 0xdc00 && next >= 0xdc00 && next < 0xe000) this.at++;
        return 1;
      }
    }
  }

  /** After `(`: flags alone match nothing; any other group is its alternation. */
  private group(): number {
    if (this.source[this.at] === '?') {
      FLAGS_GROUP.lastIndex = this.at - 1;
      if (FLAGS_GROUP.test(this.source)) {
        this.at = FLAGS_GROUP.lastIndex;
        // `a(?i)*` repeats the `a`: a quantifier here belongs to the atom before, which is already counted.
        if ('*+?{'.includes(this.source[this.at] ?? '')) throw new Unexpected();
        return 0;
      }
      GROUP_OPENING.lastIndex = this.at - 1;
      if (!GROUP_OPENING.test(this.source)) throw new Unexpected();
      this.at = GROUP_OPENING.lastIndex;
    }
    const length = this.alternation();
    if (this.source[this.at++] !== ')') throw new Unexpected();
    return length;
  }

  /** After `[`: past the `]` that closes the class. */
  private skipClass(): void {
    const end = classEnd(this.source, this.at - 1);
    if (end === this.source.length) throw new Unexpected();
    this.at = end + 1;
  }

  /** After `\`: anchors and boundaries match nothing, `\Q…\E` its text, other escapes one character. */
  private escape(): number {
    const c = this.source[this.at++];
    if (c === undefined) throw new Unexpected();
    if ('bBAz'.includes(c)) return 0;
    if (c === 'Q') {
      const end = this.source.indexOf('\\E', this.at);
      const text = this.source.slice(this.at, end < 0 ? undefined : end);
      this.at = end < 0 ? this.source.length : end + 2;
      return [...text].length;
    }
    // Operands: `\x{263a}`, `\x41`, `\pL`, `\p{Greek}`, octal `\123`.
    if (c === 'x' || c === 'p' || c === 'P') {
      const operand = c === 'x' ? HEX_OPERAND : CLASS_OPERAND;
      operand.lastIndex = this.at;
      if (!operand.exec(this.source)) throw new Unexpected();
      this.at = operand.lastIndex;
    } else if (/[0-7]/.test(c)) while (/[0-7]/.test(this.source[this.at] ?? '')) this.at++;
    return 1;
  }
}
