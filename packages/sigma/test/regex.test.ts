/** Sigma `re` values on RE2: flags, PCRE/Python translations (checked against JavaScript's RegExp), refusals, stall resistance, real rules. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { findFiles, sharedPath, sharedSkip } from '@firebreak/testkit';
import { parseAllDocuments } from 'yaml';
import { RE2JS } from 're2js';
import { minimumLength } from '../src/regex-length.js';
import { compileRegex, requiredLiteral, translateRegex, type RegexFlags } from '../src/regex.js';
import { InvalidRuleError, UnsupportedError } from '../src/types.js';

/** Asserts that `pattern` (our flavour) and `reference` (a JavaScript RegExp) agree on every input. */
function assertSameAsJs(pattern: string, reference: RegExp, inputs: readonly string[], flags: RegexFlags = {}): void {
  const regex = compileRegex(pattern, flags);
  for (const input of inputs) {
    assert.equal(regex.test(input), reference.test(input), `${JSON.stringify(pattern)} on ${JSON.stringify(input)}`);
  }
}

function assertRefused(pattern: string, expectedMessage: RegExp): void {
  assert.throws(
    () => compileRegex(pattern),
    (error: unknown) => {
      assert.ok(error instanceof UnsupportedError, `${pattern}: ${String(error)}`);
      assert.match(error.message, expectedMessage);
      return true;
    },
  );
}

test('matching is an unanchored search, case-sensitive by default', () => {
  const regex = compileRegex('b+c');
  assert.equal(regex.source, 'b+c');
  assert.equal(regex.test('abbbcd'), true);
  assert.equal(regex.test('ABBBCD'), false);
  assert.equal(regex.test('ac'), false);
  assert.equal(compileRegex('').test(''), true);
});

test('flags i, m and s behave as in JavaScript', () => {
  const inputs = ['foo', 'FOO', 'x\nfoo', 'foo\nx', 'a\nb', 'ab', 'A\nB', ''];
  for (const flags of ['', 'i', 'm', 's', 'im', 'is', 'ms', 'ims']) {
    const options: RegexFlags = { i: flags.includes('i'), m: flags.includes('m'), s: flags.includes('s') };
    assertSameAsJs('^foo$', new RegExp('^foo$', flags), inputs, options);
    assertSameAsJs('a.b', new RegExp('a.b', flags), inputs, options);
    assertSameAsJs('^b', new RegExp('^b', flags), inputs, options);
  }
});

test('inline flag groups work anywhere in the pattern', () => {
  const inputs = ['abc', 'ABC', 'aBc', 'Abc', 'abC', 'a\nc', 'a\nC'];
  assertSameAsJs('(?i)abc', /abc/i, inputs);
  assertSameAsJs('a(?i)bc', /a[bB][cC]/, inputs);
  assertSameAsJs('a(?i:b)c', /a[bB]c/, inputs);
  assertSameAsJs('(?i)a(?-i:b)c', /[aA]b[cC]/, inputs);
  assertSameAsJs('(?s)a.c', /a.c/s, inputs);
  assertSameAsJs('(?is)A.C', /a.c/is, inputs);
  assertSameAsJs('(?m)^c', /^c/m, ['a\nc', 'ac', 'c']);
  // Python's (?u) is a no-op on text patterns and is dropped; (?i) in it is kept
  assert.equal(translateRegex('(?u)a(?iu:b)'), 'a(?i:b)');
  assertSameAsJs('(?u)a(?iu:b)', /a[bB]/, ['ab', 'aB', 'Ab']);
});

test('named groups in PCRE, Python and .NET spellings are plain groups', () => {
  const inputs = ['ab', 'b', 'abab', 'ba'];
  assertSameAsJs('(?<x>a)b', /(?<x>a)b/, inputs);
  assertSameAsJs('(?P<x>a)b', /(?<x>a)b/, inputs);
  assertSameAsJs("(?'x'a)b", /(?<x>a)b/, inputs);
  assert.equal(translateRegex("(?'x'a)"), '(?P<x>a)');
});

test('\\A, \\z, \\Z, \\G anchor at the ends of the text', () => {
  const inputs = ['abc', 'xabc', 'abcx', 'abc\n', 'abc\n\n', 'x\nabc'];
  assertSameAsJs('\\Aabc', /^abc/, inputs);
  assertSameAsJs('abc\\z', /abc$/, inputs);
  assertSameAsJs('\\Gabc', /^abc/, inputs);
  // PCRE's \Z: at the end, or before a newline that ends the text; unaffected by m
  assertSameAsJs('abc\\Z', /abc\n?$/, inputs);
  assertSameAsJs('abc\\Z', /abc\n?$/, inputs, { m: true });
});

test('{,n} is {0,n}; other braces that are no quantifier stay literal', () => {
  assert.equal(translateRegex('a{,3}'), 'a{0,3}');
  assertSameAsJs('^a{,3}$', /^a{0,3}$/, ['', 'a', 'aaa', 'aaaa', 'b']);
  assertSameAsJs('a{,}', /a\{,\}/, ['a{,}', 'a', 'aa']);
  assertSameAsJs('\\{\\d\\}', /\{\d\}/, ['{1}', '{12}', '1']);
  assertSameAsJs('x{a}', /x\{a\}/, ['x{a}', 'xa']);
  assertSameAsJs('\\x{41}{2}', /A{2}/, ['AA', 'A']);
  assertSameAsJs('a{2,3}?b', /a{2,3}?b/, ['ab', 'aab', 'aaab']);
});

test('escaped punctuation means the character itself, outside and inside classes', () => {
  const escaped = String.raw`\/\-\"\'\<\>\@\%\=\:\#\ \!\,\&\~`;
  const text = `/-"'<>@%=:# !,&~`;
  assertSameAsJs(escaped, new RegExp(escaped), [text, text.slice(1), 'x' + text]);
  const inClass = String.raw`^[\/\-\"\'\<\>\@\%\=\:\#\ \]\[\\]+$`;
  assertSameAsJs(inClass, new RegExp(inClass), [text, '[]\\', 'a', '-a']);
  // RE2 rejects escaped non-ASCII characters; PCRE reads them as the character
  assertSameAsJs('a\\–b\\é', /a–bé/, ['a–bé', 'a-be']);
  assertSameAsJs('[\\–\\—]', /[–—]/, ['–', '—', '-']);
});

test('\\h, \\H, \\N, \\R, \\e, \\cX, \\u, \\Q…\\E, [\\b] and \\K translate to their meaning', () => {
  const spaces = ['a b', 'a\tb', 'a\u00a0b', 'a\u2003b', 'a\u3000b', 'a\nb', 'ab', 'a\rb'];
  assertSameAsJs('a\\hb', /a[\t \u00a0\u1680\u180e\u2000-\u200a\u202f\u205f\u3000]b/, spaces);
  assertSameAsJs('a[\\h_]b', /a[\t \u00a0\u1680\u180e\u2000-\u200a\u202f\u205f\u3000_]b/, [...spaces, 'a_b']);
  assertSameAsJs('a\\Hb', /a[^\t \u00a0\u1680\u180e\u2000-\u200a\u202f\u205f\u3000]b/, [...spaces, 'axb']);
  assertSameAsJs('a\\Nb', /a[^\n]b/, ['a\nb', 'a\rb', 'axb']);
  assertSameAsJs('^a\\Rb$', /^a(?:\r\n|[\n\v\f\r\u0085\u2028\u2029])b$/, ['a\r\nb', 'a\nb', 'a\rb', 'a\u2028b', 'a\n\nb', 'axb']);
  assertSameAsJs('\\e\\cA\\cz', /\x1b\x01\x1a/, ['\x1b\x01\x1a', '\x1b\x01']);
  assertSameAsJs('\\u00e9\\uD83D\\uDE00', /é\u{1F600}/u, ['é😀', 'é']);
  assertSameAsJs('\\U0001F600|\\u{263A}', /\u{1F600}|\u263A/u, ['😀', '☺', ':)']);
  assertSameAsJs('\\Q(a+)[\\E.', /\(a\+\)\[./, ['(a+)[x', 'aa']);
  assertSameAsJs('[\\Q]\\E-]', /[\]-]/, [']', '-', 'a']);
  assertSameAsJs('a[\\b]c', /a[\b]c/, ['a\bc', 'abc']);
  assertSameAsJs('ab\\Kc', /abc/, ['abc', 'ac']);
  assertSameAsJs('(?#a comment)x(?|a|b)', /x(?:a|b)/, ['xa', 'xb', 'x']);
});

test('constructs no linear-time engine can run are refused, naming the construct and offset', () => {
  assertRefused('foo(?=bar)', /a lookahead "\(\?=" at offset 3, which no linear-time engine supports/);
  assertRefused('foo(?!bar)', /a negative lookahead "\(\?!" at offset 3/);
  assertRefused('(?<=a)b', /a lookbehind "\(\?<=" at offset 0/);
  assertRefused('(?<!a)b', /a negative lookbehind "\(\?<!" at offset 0/);
  assertRefused('(a)\\1', /a backreference "\\\\1" at offset 3/);
  assertRefused('(a)(b)\\12', /a backreference "\\\\12" at offset 6/);
  assertRefused('(?<n>a)\\k<n>', /a backreference "\\\\k<n>" at offset 7/);
  assertRefused('(a)\\g{-1}', /a backreference "\\\\g\{-1\}" at offset 3/);
  assertRefused('(?P<n>a)(?P=n)', /a named backreference "\(\?P=" at offset 8/);
  assertRefused('a++', /a possessive quantifier "\+\+" at offset 1/);
  assertRefused('xa*+', /a possessive quantifier "\*\+" at offset 2/);
  assertRefused('a?+', /a possessive quantifier "\?\+" at offset 1/);
  assertRefused('a{2,}+', /a possessive quantifier "\{2,\}\+" at offset 1/);
  assertRefused('(?>a+)b', /an atomic group "\(\?>" at offset 0/);
  assertRefused('a(?R)?b', /a recursion "\(\?R" at offset 1/);
  assertRefused('(a)(?1)', /a subroutine call "\(\?1\)" at offset 3/);
  assertRefused('(a)(?-1)', /a subroutine call "\(\?-1\)" at offset 3/);
  assertRefused('(?&n)', /a subroutine call "\(\?&" at offset 0/);
  assertRefused('(a)\\g<1>', /a subroutine call "\\\\g<1>" at offset 3/);
  assertRefused('(a)?(?(1)b|c)', /a conditional "\(\?\(" at offset 4/);
  assertRefused('a(*SKIP)b', /a PCRE verb "\(\*SKIP" at offset 1/);
  assertRefused('a{1001}', /a repeat count "\{1001\}" at offset 1, which exceeds 1000/);
  assertRefused('(?x) a b', /extended mode "\(\?x\)" at offset 0/);
  assertRefused('[\\H]', /\\\\H" at offset 1/);
  assertRefused('(a{1000}){1000}', /exceeds the size limits of the linear-time engine/);
});

test('what looks like a refused construct inside a class or after an escape is literal', () => {
  assertSameAsJs('[(?=]a', /[(?=]a/, ['=a', '(a', 'a']);
  assertSameAsJs('\\(\\?=a\\)', /\(\?=a\)/, ['(?=a)', 'a']);
  assertSameAsJs('a\\++', /a\++/, ['a+', 'a++', 'a']);
  assertSameAsJs('\\\\1', /\\1/, ['\\1', '1']);
  assertSameAsJs('\\101', /A/, ['A', 'a']); // three octal digits: a character code, not a backreference
  assertSameAsJs('a+?b', /a+?b/, ['aab', 'b']);
});

test('a malformed pattern is an InvalidRuleError carrying the engine message', () => {
  for (const [pattern, message] of [
    ['(ab', /missing closing \)/],
    ['[ab', /missing closing \]/],
    ['a**', /invalid nested repetition operator/],
    ['ab\\', /trailing backslash/],
    ['\\i', /invalid escape sequence/],
    ['a{3,2}', /min > max/],
    ['(?<n>a)(?<n>b)', /duplicate capture group name/],
  ] as const) {
    assert.throws(
      () => compileRegex(pattern),
      (error: unknown) =>
        error instanceof InvalidRuleError && message.test(error.message) && error.message.includes(JSON.stringify(pattern)),
      pattern,
    );
  }
});

test('patterns that backtrack catastrophically elsewhere finish quickly on 100,000 characters', () => {
  const as = 'a'.repeat(100_000);
  const cases: [string, string, boolean][] = [
    ['(a+)+$', as + 'b', false],
    ['(a+)+$', as, true],
    ['^(a|aa)*$', as + 'b', false],
    ['^(a|aa)*$', as, true],
    ['(a|a?)+c', as, false],
    ['^(\\w+\\s?)*$', 'word '.repeat(20_000) + '!', false],
  ];
  for (const [pattern, text, expected] of cases) {
    const started = performance.now();
    assert.equal(compileRegex(pattern).test(text), expected, pattern);
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 2000, `${pattern} took ${elapsed.toFixed(0)} ms`);
  }
});

/** Every `re` value in a Sigma document's detection: [modifier key, value]. */
function regexValues(node: unknown, found: [string, string][] = []): [string, string][] {
  if (Array.isArray(node)) for (const item of node) regexValues(item, found);
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key.split('|').slice(1).includes('re')) for (const item of [value].flat()) found.push([key, String(item)]);
      else regexValues(value, found);
    }
  }
  return found;
}

test('every regex of the SigmaHQ rules compiles or is refused as unsupported', { skip: sharedSkip('sigma') }, () => {
  const unsupported: string[] = [];
  let compiled = 0;
  for (const file of findFiles(sharedPath('sigma'), '.yml')) {
    const text = readFileSync(file, 'utf8');
    if (!text.includes('|re')) continue;
    for (const document of parseAllDocuments(text)) {
      const detection = (document.toJS() as { detection?: unknown } | null)?.detection;
      for (const [key, pattern] of regexValues(detection)) {
        const modifiers = key.split('|');
        try {
          compileRegex(pattern, { i: modifiers.includes('i'), m: modifiers.includes('m'), s: modifiers.includes('s') });
          compiled++;
        } catch (error) {
          if (!(error instanceof UnsupportedError)) throw new Error(`${file}: ${String(error)}`);
          unsupported.push(pattern);
        }
      }
    }
  }
  // 217 values (149 distinct) at the time of writing; none needs a construct RE2 lacks
  assert.ok(compiled >= 200, `only ${compiled} regexes found`);
  assert.deepEqual(unsupported, []);
});

test('requiredLiteral: the longest literal run every match contains, lowercased, or nothing', () => {
  const cases: [string, string | undefined][] = [
    ['(?i)Rundll32\\.exe.*,#\\d', 'rundll32.exe'],
    ['https?://[0-9]{1,3}\\.0[0-9]{3,4}', 'http'],
    ['\\$env:Public\\[\\s*\\d{1,3}', '$env:public['],
    ['aaab+c', 'aaab'],
    ['foo(bar|baz)quux', 'quux'],
    ['(?i)(?:set).*&&\\s?set', 'set'],
    ['a(?:bc)(d)e', 'abcde'],
    ['x(bc)+', 'x'],
    ['(?i)kerberos::', 'kerberos::'],
    ['\\s-O\\s', '-o'],
    ['abc|def', undefined],
    ['xy?z', 'x'],
    ['.{1000,}', undefined],
    ['[abc]{5}de', 'de'],
    ['[abc]{5}', undefined],
    // A quantifier after inline flags repeats what came before them.
    ['abc(?i)*', undefined],
    // A POSIX class inside a class does not end it; a literal `{` starts no repeat.
    ['[[:alpha:]]abc', 'abc'],
    ['abc{|x}', undefined],
    ['{[a}]x', 'x'],
  ];
  for (const [pattern, literal] of cases) assert.equal(requiredLiteral(pattern), literal, pattern);
  // Whatever it returns must occur (lowercased, the long s folded) in every text the regex matches.
  const texts = [
    'RUNDLL32.EXE x,#1',
    'https://1.2.0123',
    '$env:Public[ 12',
    'aaabbbc',
    'foobazquux',
    'SET a&& \u017fet',
    'abcde',
    'xbcbc',
    'ab',
    'xabc',
    'x}',
    '{ax',
  ];
  for (const [pattern, literal] of cases) {
    if (literal === undefined) continue;
    const regex = compileRegex(pattern);
    for (const text of texts)
      if (regex.test(text))
        assert.ok(
          text
            .toLowerCase()
            .replace(/\u017f/g, 's')
            .includes(literal),
          `${pattern} on ${text}`,
        );
  }
});

test('minimumLength: the fewest code units a match needs, never more', () => {
  const cases: [string, number][] = [
    ['\\s[a-fA-F0-9]{64}\\s[a-fA-F0-9]{16}', 82],
    ['(.){200,}', 200],
    ['(a|bc)+d?', 1],
    ['[[:alpha:]]x', 2],
    ['[]a]b', 2],
    ['\\Qa.b\\E', 3],
    ['a*?b+?c??', 1],
    ['(?P<n>ab)(?i:c)', 3],
    ['\\x{1F600}\\pL\\p{Greek}\\101', 4],
    ['x{', 2],
    ['x{,3}', 0],
    ['^\\b$', 0],
    // A quantifier after inline flags repeats the atom before them; a lone surrogate is one character.
    ['abc(?i)*', 0],
    ['ab(?s)?', 0],
    ['\ud83d?x', 1],
    ['[[:alpha:]]]', 2],
  ];
  for (const [pattern, length] of cases) assert.equal(minimumLength(translateRegex(pattern)), length, pattern);
  // The bound never refuses a text the engine matches: the compiled test agrees with RE2 alone.
  const texts = [
    '',
    'x',
    'x{',
    'ab',
    'abc',
    'bcbcd',
    'a]',
    '\u{1F600}Aα\u0041',
    'a'.repeat(199),
    'a'.repeat(200),
    ` ${'f'.repeat(64)} ${'0'.repeat(16)}`,
  ];
  for (const [pattern] of cases) {
    const engine = RE2JS.compile(translateRegex(pattern));
    for (const text of texts) assert.equal(compileRegex(pattern).test(text), engine.test(text), `${pattern} on ${JSON.stringify(text)}`);
  }
});
