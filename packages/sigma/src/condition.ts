/**
 * The `condition` language: identifiers, `and`, `or`, `not`, parentheses and
 * `1 of` / `any of` / `all of` over wildcard patterns or `them`, with the specified precedence
 * (not > and > or). Parsed into a tree whose leaves name search identifiers.
 */
import { InvalidRuleError, UnsupportedError } from './types.js';

export type Condition = { op: 'search'; name: string } | { op: 'not'; arg: Condition } | { op: 'and' | 'or'; args: Condition[] };

type Token = { kind: 'word'; text: string; at: number } | { kind: '(' | ')' | '|'; at: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:([()|])|([^\s()|]+))/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < text.length && (m = re.exec(text))) {
    const at = m.index + m[0].length - (m[1] ?? m[2] ?? '').length;
    if (m[1]) tokens.push({ kind: m[1] as '(' | ')' | '|', at });
    else if (m[2]) tokens.push({ kind: 'word', text: m[2], at });
  }
  if (text.slice(re.lastIndex).trim() !== '') throw new InvalidRuleError(`condition "${text}": cannot read from offset ${re.lastIndex}`);
  return tokens;
}

/** Nesting (`not`, parentheses) a condition may have; real rules use a handful. */
const MAX_DEPTH = 100;
const KEYWORDS = new Set(['and', 'or', 'not', 'of', 'them', '1', 'any', 'all']);

/** Parses `text`; `names` are the rule's search identifiers (for `them` and patterns). */
export function parseCondition(text: string, names: readonly string[]): Condition {
  const tokens = tokenize(text);
  if (tokens.some((t) => t.kind === '|'))
    throw new UnsupportedError(`condition "${text}": aggregations after "|" are Sigma 1 syntax, replaced by correlation rules`);
  let pos = 0;
  const fail = (why: string): never => {
    throw new InvalidRuleError(`condition "${text}": ${why}`);
  };
  const peekWord = (): string | undefined => {
    const t = tokens[pos];
    return t?.kind === 'word' ? t.text.toLowerCase() : undefined;
  };

  /** `next (op next)*`: the operands of one precedence level. */
  const chain = (op: 'and' | 'or', next: () => Condition): Condition => {
    const args = [next()];
    while (peekWord() === op) {
      pos++;
      args.push(next());
    }
    return args.length === 1 ? args[0]! : { op, args };
  };
  const parseOr = (): Condition => chain('or', parseAnd);
  const parseAnd = (): Condition => chain('and', parseNot);
  let depth = 0;
  const parseNot = (): Condition => {
    if (++depth > MAX_DEPTH) fail(`nests deeper than ${MAX_DEPTH} levels`);
    try {
      if (peekWord() === 'not') {
        pos++;
        return { op: 'not', arg: parseNot() };
      }
      return parsePrimary();
    } finally {
      depth--;
    }
  };
  const parsePrimary = (): Condition => {
    const token = tokens[pos++];
    if (!token) return fail('ends where a search identifier was expected');
    if (token.kind === '(') {
      const inner = parseOr();
      if (tokens[pos++]?.kind !== ')') fail(`missing ")" for "(" at offset ${token.at}`);
      return inner;
    }
    if (token.kind !== 'word') return fail(`unexpected "${token.kind}" at offset ${token.at}`);
    const word = token.text.toLowerCase();
    if ((word === '1' || word === 'any' || word === 'all') && tokens[pos]?.kind === 'word' && peekWord() === 'of') {
      pos++;
      const target = tokens[pos++];
      if (target?.kind !== 'word') return fail(`"${token.text} of" needs a pattern or "them"`);
      return quantifier(word === 'all' ? 'and' : 'or', target.text);
    }
    if (KEYWORDS.has(word) && !names.includes(token.text)) return fail(`unexpected "${token.text}" at offset ${token.at}`);
    if (!names.includes(token.text)) return fail(`"${token.text}" is not a search identifier of the rule`);
    return { op: 'search', name: token.text };
  };
  const quantifier = (op: 'and' | 'or', target: string): Condition => {
    const matched = target === 'them' ? names.filter((n) => !n.startsWith('_')) : names.filter(globMatcher(target));
    if (matched.length === 0) fail(`"${target}" matches no search identifier`);
    const args = matched.map((name): Condition => ({ op: 'search', name }));
    return args.length === 1 ? args[0]! : { op, args };
  };

  const tree = parseOr();
  if (pos < tokens.length) fail(`unexpected "${describe(tokens[pos]!)}" at offset ${tokens[pos]!.at}`);
  return tree;
}

function describe(token: Token): string {
  return token.kind === 'word' ? token.text : token.kind;
}

/** Identifier patterns use `*` (any run) and `?` (one character); everything else is literal. */
function globMatcher(pattern: string): (name: string) => boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  const re = new RegExp(`^${source}$`);
  return (name) => re.test(name);
}
