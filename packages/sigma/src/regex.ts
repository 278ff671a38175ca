/**
 * Regular expressions for Sigma's `re` modifier. Rules run them on attacker-controlled text, so
 * they execute on RE2 (re2js), whose matching time is linear in the input: no pattern can stall
 * the engine. Sigma declares PCRE as its flavour; the PCRE and Python spellings found in public
 * rules are translated to RE2 syntax where the meaning is kept, and the constructs no linear-time
 * engine can run (lookaround, backreferences, possessive quantifiers, atomic groups, recursion,
 * conditionals) are refused with an `UnsupportedError` that names the construct and its offset.
 *
 * Known differences from PCRE that remain: without `m`, `$` matches only at the very end of the
 * text (as in JavaScript and RE2), not also before a final newline; `\v` is the vertical tab
 * character (as in JavaScript and Python), not PCRE's vertical-whitespace class.
 */
import { RE2JS, RE2JSSyntaxException } from 're2js';
import { classEnd, COUNTED_REPEAT, FLAGS_GROUP, minimumLength } from './regex-length.js';
import { InvalidRuleError, UnsupportedError } from './types.js';

export interface SafeRegex {
  /** Whether the pattern matches anywhere in `text` (like `RegExp.prototype.test`). */
  test(text: string): boolean;
  /** The pattern as the rule wrote it. */
  readonly source: string;
}

/** Sigma's `re` sub-modifiers: `i` case-insensitive, `m` multi-line anchors, `s` dot matches newline. */
export interface RegexFlags {
  i?: boolean;
  m?: boolean;
  s?: boolean;
}

/**
 * Compiles a Sigma regex for unanchored, linear-time matching.
 * @throws UnsupportedError for constructs RE2 cannot run (the message names the construct and offset)
 * @throws InvalidRuleError for a malformed pattern (the message is the engine's)
 */
export function compileRegex(pattern: string, flags: RegexFlags = {}): SafeRegex {
  const translated = translateRegex(pattern);
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(translated, engineFlags(flags));
  } catch (error) {
    throw error instanceof RE2JSSyntaxException ? classifySyntaxError(pattern, error) : error;
  }
  // RE2JS.test runs the DFA without capture tracking: about 1.5–5× faster than matcher().find().
  // A text shorter than any match is refused without running it.
  const shortest = minimumLength(translated);
  const test = shortest === 0 ? (text: string) => compiled.test(text) : (text: string) => text.length >= shortest && compiled.test(text);
  return { source: pattern, test };
}

/**
 * The RE2 spelling of a PCRE/Python pattern. Exported so callers can show what actually runs.
 * @throws UnsupportedError / InvalidRuleError as `compileRegex`
 */
export function translateRegex(pattern: string): string {
  return new Re2Translator(pattern).translate();
}

function engineFlags(flags: RegexFlags): number {
  return (flags.i ? RE2JS.CASE_INSENSITIVE : 0) | (flags.m ? RE2JS.MULTILINE : 0) | (flags.s ? RE2JS.DOTALL : 0);
}

/** Size limits of the engine are a limitation of ours, not a fault of the rule. */
const ENGINE_LIMITS = new Set(['expression too large', 'expression nests too deeply', 'invalid repeat count']);

function classifySyntaxError(pattern: string, error: RE2JSSyntaxException): Error {
  if (ENGINE_LIMITS.has(error.getDescription())) {
    return new UnsupportedError(`regex ${JSON.stringify(pattern)} exceeds the size limits of the linear-time engine (${error.message})`);
  }
  return new InvalidRuleError(`invalid regex ${JSON.stringify(pattern)}: ${error.message}`);
}

/** RE2 accepts at most 1000 repetitions in a counted quantifier. */
const MAX_REPEAT = 1000;

/** PCRE's `\h`: tab, space and the Unicode horizontal spaces, as the inside of a character class. */
const HORIZONTAL_SPACE = '\\t \\x{A0}\\x{1680}\\x{180E}\\x{2000}-\\x{200A}\\x{202F}\\x{205F}\\x{3000}';
/** PCRE's `\R`: any newline sequence, CRLF first so it is taken whole. */
const NEWLINE_SEQUENCE = '(?:\\r\\n|[\\n\\x0B\\f\\r\\x{85}\\x{2028}\\x{2029}])';

const QUANTIFIER_BRACES = /\{(\d*)(,?)(\d*)\}/y;
const INLINE_FLAGS = /\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([):])/y;
const NAMED_GROUP = /\(\?(?:P?<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)')/y;
/** `\p{Greek}`, `\x{263A}`: copied whole so their braces are not read as a quantifier. */
const BRACED_ESCAPE = /\\[pPx]\{[^}]*\}/y;
const UNICODE_ESCAPE = /\\(?:u([0-9A-Fa-f]{4})|u\{([0-9A-Fa-f]+)\}|U([0-9A-Fa-f]{8}))/y;

const NO_LINEAR_ENGINE = 'which no linear-time engine supports';
/**
 * Group openings `(?…` RE2 cannot run. Lookbehinds are possible in linear time (re2js has an
 * opt-in `LOOKBEHINDS` mode), but RE2 itself rejects them; none of the SigmaHQ rules uses one.
 */
const REFUSED_GROUPS: readonly (readonly [opening: string, what: string, why?: string])[] = [
  ['(?<=', 'a lookbehind', 'which RE2 does not support'],
  ['(?<!', 'a negative lookbehind', 'which RE2 does not support'],
  ['(?=', 'a lookahead'],
  ['(?!', 'a negative lookahead'],
  ['(?>', 'an atomic group'],
  ['(?(', 'a conditional'],
  ['(?P=', 'a named backreference'],
  ['(?P>', 'a subroutine call'],
  ['(?&', 'a subroutine call'],
  ['(?R', 'a recursion'],
  ['(?C', 'a callout'],
];
const RECURSION_BY_NUMBER = /\(\?[+-]?\d+\)?/y;
const BACKREFERENCE_BY_NAME = /\\[gk](?:\{[^}]*\}?|<[^>]*>?|'[^']*'?|-?\d*)/y;

/**
 * One pass over the pattern that copies it to RE2 syntax. It tracks escapes and character classes
 * so each construct is read in its real context (`\(` is no group, `[(?=]` no lookahead).
 */
class Re2Translator {
  private pos = 0;
  private out = '';

  constructor(private readonly pattern: string) {}

  translate(): string {
    while (this.pos < this.pattern.length) {
      const c = this.pattern[this.pos];
      if (c === '\\') this.escape();
      else if (c === '[') this.characterClass();
      else if (c === '(') this.group();
      else if (c === '*' || c === '+' || c === '?') this.quantifier(c);
      else if (c === '{') this.braces();
      else this.copy(1);
    }
    return this.out;
  }

  private copy(length: number): void {
    this.out += this.pattern.slice(this.pos, this.pos + length);
    this.pos += length;
  }

  private emit(text: string, consumed: number): void {
    this.out += text;
    this.pos += consumed;
  }

  private startsWith(text: string): boolean {
    return this.pattern.startsWith(text, this.pos);
  }

  private sticky(re: RegExp, at = this.pos): RegExpExecArray | null {
    re.lastIndex = at;
    return re.exec(this.pattern);
  }

  private refuse(what: string, token: string, why = NO_LINEAR_ENGINE, at = this.pos): never {
    throw new UnsupportedError(`regex uses ${what} ${JSON.stringify(token)} at offset ${at}, ${why}`);
  }

  private quantifier(c: string): void {
    this.copy(1);
    this.afterQuantifier(c);
  }

  /** A quantifier may be made lazy (`?`, fine) or possessive (`+`, which needs backtracking control). */
  private afterQuantifier(quantifier: string): void {
    const start = this.pos - quantifier.length;
    if (this.startsWith('+')) this.refuse('a possessive quantifier', `${quantifier}+`, NO_LINEAR_ENGINE, start);
    if (this.startsWith('?')) this.copy(1);
  }

  /** `{n}`, `{n,}`, `{n,m}` and PCRE2/Python's `{,m}`; any other brace is a literal, as in RE2. */
  private braces(): void {
    const match = this.sticky(QUANTIFIER_BRACES);
    const [text, min, comma, max] = match ?? [];
    if (text === undefined || (min === '' && max === '')) {
      this.copy(1);
      return;
    }
    const low = Number(min); // '' reads as 0
    this.checkRepeat(text, low, !comma ? low : max === '' ? Infinity : Number(max));
    const spelled = min === '' ? `{0,${max}}` : text;
    this.emit(spelled, text.length);
    this.afterQuantifier(spelled);
  }

  private checkRepeat(text: string, low: number, high: number): void {
    if (low > MAX_REPEAT || (high !== Infinity && high > MAX_REPEAT)) {
      this.refuse('a repeat count', text, `which exceeds ${MAX_REPEAT}, the linear-time engine's limit`);
    }
    if (low > high) {
      throw new InvalidRuleError(`invalid regex ${JSON.stringify(this.pattern)}: repeat count ${text} at offset ${this.pos} has min > max`);
    }
  }

  private group(): void {
    if (this.startsWith('(*') && /[A-Za-z]/.test(this.pattern[this.pos + 2] ?? '')) {
      this.refuse('a PCRE verb', /\(\*\w*/.exec(this.pattern.slice(this.pos))![0]);
    }
    if (!this.startsWith('(?')) {
      this.copy(1);
      return;
    }
    for (const [opening, what, why] of REFUSED_GROUPS) if (this.startsWith(opening)) this.refuse(what, opening, why);
    const recursion = this.sticky(RECURSION_BY_NUMBER);
    if (recursion) this.refuse('a subroutine call', recursion[0]);
    // a branch reset `(?|` only renumbers groups, and test() reads none; anything unknown is left to the engine
    if (this.startsWith('(?#')) this.comment();
    else if (this.startsWith('(?|')) this.emit('(?:', 3);
    else if (!this.namedGroup() && !this.inlineFlags()) this.copy(2);
  }

  /** `(?<name>`, `(?P<name>` and PCRE's `(?'name'`, all spelled `(?P<name>` for RE2. */
  private namedGroup(): boolean {
    const match = this.sticky(NAMED_GROUP);
    if (!match) return false;
    this.emit(`(?P<${match[1] ?? match[2]}>`, match[0].length);
    return true;
  }

  /** `(?flags)` / `(?flags:` with `-off` flags; drops Python's no-op `u`, refuses extended mode `x`. */
  private inlineFlags(): boolean {
    const match = this.sticky(INLINE_FLAGS);
    if (!match) return false;
    const [text, on, off = '', end] = match;
    if ((on + off).includes('x')) this.refuse('extended mode', text, 'which this engine does not translate');
    const keptOn = on.replaceAll('u', '');
    const keptOff = off.replaceAll('u', '');
    const flags = keptOn + (keptOff || text.includes('-') ? `-${keptOff}` : '');
    this.emit(flags === '' && end === ')' ? '' : `(?${flags}${end}`, text.length);
    return true;
  }

  private comment(): void {
    const close = this.pattern.indexOf(')', this.pos);
    if (close < 0) throw new InvalidRuleError(`invalid regex ${JSON.stringify(this.pattern)}: unterminated comment at offset ${this.pos}`);
    this.pos = close + 1;
  }

  private characterClass(): void {
    this.copy(1);
    if (this.startsWith('^')) this.copy(1);
    if (this.startsWith(']')) this.copy(1); // a leading ']' is a member, in PCRE as in RE2
    while (this.pos < this.pattern.length && !this.startsWith(']')) {
      if (this.startsWith('\\')) this.classEscape();
      else if (this.startsWith('[:')) this.posixClass();
      else this.copy(1);
    }
    this.copy(1);
  }

  /** `[:alpha:]` is one member; copying it whole keeps its `]` from closing the class. */
  private posixClass(): void {
    const close = this.pattern.indexOf(':]', this.pos + 2);
    this.copy(close < 0 ? 1 : close + 2 - this.pos);
  }

  private escape(): void {
    const next = this.pattern[this.pos + 1];
    switch (next) {
      case 'Z': // end of text or before a final newline (PCRE/Perl)
        return this.emit('(?:\\n?\\z)', 2);
      case 'h':
        return this.emit(`[${HORIZONTAL_SPACE}]`, 2);
      case 'H':
        return this.emit(`[^${HORIZONTAL_SPACE}]`, 2);
      case 'N':
        return this.startsWith('\\N{') ? this.copy(2) : this.emit('[^\\n]', 2);
      case 'R':
        return this.emit(NEWLINE_SEQUENCE, 2);
      case 'G': // the start of the only match attempt is the start of the text
        return this.emit('\\A', 2);
      case 'K': // resets the reported match start; whether there is a match does not change
        return this.emit('', 2);
      case 'g':
      case 'k':
        return this.backreferenceByName(next);
      case 'X':
        return this.refuse('an extended grapheme cluster', '\\X', 'which RE2 does not support');
      case 'C':
        return this.refuse('a single code unit escape', '\\C', 'which RE2 does not support');
      default:
        if (next >= '1' && next <= '9') return this.numberedEscape();
        return this.commonEscape();
    }
  }

  /** Inside a class `\h` merges in, `\H` cannot, and `\b` is a backspace (PCRE, Python, JavaScript). */
  private classEscape(): void {
    const next = this.pattern[this.pos + 1];
    if (next === 'h') this.emit(HORIZONTAL_SPACE, 2);
    else if (next === 'H') this.refuse('a negated class escape', '\\H', 'which cannot be merged into a character class');
    else if (next === 'b') this.emit('\\x08', 2);
    else this.commonEscape();
  }

  /** `\g{-1}`, `\g1`, `\k<name>`: backreferences; `\g<name>` / `\g'name'`: PCRE subroutine calls. */
  private backreferenceByName(letter: string): never {
    const opener = this.pattern[this.pos + 2] ?? '';
    const what = letter === 'g' && (opener === '<' || opener === "'") ? 'a subroutine call' : 'a backreference';
    return this.refuse(what, this.sticky(BACKREFERENCE_BY_NAME)![0]);
  }

  /** Three octal digits are a character code; shorter digit runs are backreferences (as Python reads them). */
  private numberedEscape(): void {
    const octal = /[0-7]{3}/y;
    octal.lastIndex = this.pos + 1;
    if (octal.test(this.pattern)) this.copy(4);
    else this.refuse('a backreference', /\\\d{1,2}/.exec(this.pattern.slice(this.pos))![0]);
  }

  /**
   * Escapes that mean the same inside and outside a character class. A trailing backslash is left
   * for the engine to report; an escaped non-ASCII character, which RE2 rejects, is the character.
   */
  private commonEscape(): void {
    const next = this.pattern[this.pos + 1];
    if (next === undefined) this.copy(1);
    else if (next === 'Q') this.quoted();
    else if (next === 'e') this.emit('\\x{1B}', 2);
    else if (next === 'c' && /[@-_a-z?]/.test(this.pattern[this.pos + 2] ?? '')) this.controlEscape();
    else if (next === 'u' || next === 'U') this.unicodeEscape();
    else if (next === 'p' || next === 'P' || next === 'x') this.copy(this.sticky(BRACED_ESCAPE)?.[0].length ?? 2);
    else if (next.charCodeAt(0) >= 0x80) this.pos++;
    else this.copy(2); // RE2 reads \d, \w, \b, \A, \z… and any escaped ASCII punctuation as PCRE does
  }

  /** `\Q…\E`: literal text, escaped member by member so it works inside a class too. */
  private quoted(): void {
    const end = this.pattern.indexOf('\\E', this.pos + 2);
    const stop = end < 0 ? this.pattern.length : end;
    this.out += [...this.pattern.slice(this.pos + 2, stop)].map(literal).join('');
    this.pos = end < 0 ? stop : end + 2;
  }

  /** `\cX`: the control character of X (PCRE, JavaScript). */
  private controlEscape(): void {
    const code = this.pattern[this.pos + 2].toUpperCase().charCodeAt(0) ^ 0x40;
    this.emit(`\\x{${code.toString(16)}}`, 3);
  }

  /** `\uHHHH` (a surrogate pair of them combined), `\u{H…}`, `\UHHHHHHHH` (Python, JavaScript). */
  private unicodeEscape(): void {
    const first = this.sticky(UNICODE_ESCAPE);
    if (!first) return this.copy(2); // the engine reports the malformed escape
    let code = parseInt(first[1] ?? first[2] ?? first[3], 16);
    let consumed = first[0].length;
    const second = code >= 0xd800 && code < 0xdc00 ? this.sticky(UNICODE_ESCAPE, this.pos + consumed) : null;
    const low = second?.[1] === undefined ? NaN : parseInt(second[1], 16);
    if (low >= 0xdc00 && low < 0xe000) {
      code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
      consumed += second![0].length;
    }
    this.emit(`\\x{${code.toString(16)}}`, consumed);
  }
}

/** A character as an RE2 literal, valid inside and outside a class (RE2 reads any escaped ASCII non-word character as itself). */
function literal(char: string): string {
  return /^[\x00-\x7F]$/.test(char) && !/\w/.test(char) ? `\\${char}` : char;
}

/** Escapes that stand for one literal character. */
const LITERAL_ESCAPES: Record<string, string> = { t: '\t', n: '\n', r: '\r', f: '\f' };

/**
 * The longest run of literal characters every match must contain, lowercased (for the prefilter,
 * which compares lowercased text), or undefined when the pattern guarantees none. Conservative:
 * only top-level text counts, and a group whose content is plain text and which no quantifier
 * follows (`(?:set)`, `(set)`); other groups, classes, escapes other than escaped punctuation and
 * `\t\n\r\f` (with the letters and digits they take, as in `\x41`), anything optional and every
 * non-ASCII character break a run, and a top-level `|` means no guarantee. Even one character is
 * worth returning: without a literal the rule is evaluated on every event of its log source, with
 * one only on those holding it. Case-insensitive `k` and `s` match the Kelvin sign and the long s
 * too: the first lowercases to `k`, and the prefilter folds the second to `s` (see index-bucket).
 */
export function requiredLiteral(pattern: string): string | undefined {
  const source = translateRegex(pattern);
  const runs: string[] = [];
  let run = '';
  let depth = 0;
  const breakRun = (): void => {
    if (run) runs.push(run);
    run = '';
  };
  const usable = (char: string): boolean => char.charCodeAt(0) < 128;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      i++;
      const char = /[^A-Za-z0-9]/.test(next) ? next : LITERAL_ESCAPES[next];
      if (char === undefined) {
        if (next === 'Q') return undefined;
        // `\x41`, `\101`, `\pL`: the escape's operand is not literal text either.
        while (/[A-Za-z0-9]/.test(source[i + 1] ?? '')) i++;
        breakRun();
      } else if (depth === 0 && usable(char) && !isOptional(source, i + 1)) {
        run += char;
        if (isRepeated(source, i + 1)) breakRun();
      } else breakRun();
    } else if (c === '[') {
      i = classEnd(source, i);
      breakRun();
    } else if (c === '(') {
      // `a(?i)*` repeats the `a` before the flags: nothing before can be counted on.
      FLAGS_GROUP.lastIndex = i;
      if (FLAGS_GROUP.test(source) && '*+?{'.includes(source[FLAGS_GROUP.lastIndex] ?? '')) return undefined;
      LITERAL_GROUP.lastIndex = i;
      const group = depth === 0 ? LITERAL_GROUP.exec(source) : null;
      if (group) {
        for (const char of group[1]!)
          if (usable(char)) run += char;
          else breakRun();
        i = LITERAL_GROUP.lastIndex - 1;
      } else {
        depth++;
        breakRun();
      }
    } else if (c === ')') {
      depth--;
      breakRun();
    } else if (c === '|') {
      if (depth === 0) return undefined;
    } else if ('.^$*+?{}'.includes(c)) {
      breakRun();
      // A counted repeat is skipped; any other `{` is a literal brace, and what follows it is read on.
      COUNTED_REPEAT.lastIndex = i;
      if (c === '{' && COUNTED_REPEAT.test(source)) i = COUNTED_REPEAT.lastIndex - 1;
    } else if (depth === 0 && usable(c) && !isOptional(source, i + 1)) {
      run += c;
      if (isRepeated(source, i + 1)) breakRun();
    } else breakRun();
  }
  breakRun();
  const best = runs.reduce((a, b) => (b.length > a.length ? b : a), '');
  return best.length > 0 ? best.toLowerCase() : undefined;
}

/** A group holding plain text only, no quantifier after it: its text is as required as the text around it. */
const LITERAL_GROUP = /\((?:\?:)?([^\\()[\]{}|.^$*+?]+)\)(?![?*+{])/y;

/** The character before `at` may be absent: `?`, `*`, `{0,…}` follows it. */
function isOptional(source: string, at: number): boolean {
  return source[at] === '?' || source[at] === '*' || source.startsWith('{0', at);
}

/** The character before `at` repeats (`+`, `{n,…}`): it is required, but what follows is not adjacent. */
function isRepeated(source: string, at: number): boolean {
  return source[at] === '+' || source[at] === '{';
}
