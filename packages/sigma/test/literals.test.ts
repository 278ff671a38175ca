/** The Aho–Corasick literal matcher, against a naive indexOf reference and on its flag semantics. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANYWHERE, EXACT, LiteralHits, LiteralMatcher, PREFIX, SUFFIX } from '../src/literals.js';

/** What the matcher must report, computed the obvious way: every occurrence found with indexOf. */
function referenceFlags(needles: readonly string[], text: string): number[] {
  return needles.map((needle) => {
    let flags = 0;
    // indexOf('', n) answers text.length for any n beyond it, so stop after the last position
    for (let at = text.indexOf(needle); at >= 0; at = at < text.length ? text.indexOf(needle, at + 1) : -1) {
      const starts = at === 0;
      const ends = at + needle.length === text.length;
      flags |= ANYWHERE | (starts ? PREFIX : 0) | (ends ? SUFFIX : 0) | (starts && ends ? EXACT : 0);
    }
    return flags;
  });
}

function scanFlags(matcher: LiteralMatcher, text: string, hits = new LiteralHits(matcher.size)): number[] {
  hits.clear();
  matcher.scan(text, hits);
  return Array.from(hits.flags);
}

/** mulberry32: a small seeded PRNG, so failures reproduce. */
function seededRandom(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('flags tell where an occurrence is: anywhere, at the start, at the end, or the whole text', () => {
  const needles = ['cmd', 'exe', 'cmd.exe', 'd.e', 'x', 'powershell'];
  const matcher = new LiteralMatcher(needles);
  assert.equal(matcher.size, 6);
  assert.deepEqual(scanFlags(matcher, 'cmd.exe'), [
    ANYWHERE | PREFIX,
    ANYWHERE | SUFFIX,
    ANYWHERE | PREFIX | SUFFIX | EXACT,
    ANYWHERE,
    ANYWHERE,
    0,
  ]);
  // PREFIX and SUFFIX from two different occurrences do not make EXACT
  assert.deepEqual(scanFlags(new LiteralMatcher(['ab']), 'abxab'), [ANYWHERE | PREFIX | SUFFIX]);
  assert.deepEqual(scanFlags(new LiteralMatcher(['aa']), 'aaa'), [ANYWHERE | PREFIX | SUFFIX]);
  assert.deepEqual(scanFlags(new LiteralMatcher(['aa']), 'aa'), [ANYWHERE | PREFIX | SUFFIX | EXACT]);
});

test('the empty needle occurs in every text and is the whole text only when that is empty', () => {
  const matcher = new LiteralMatcher(['', 'a', '']);
  assert.deepEqual(scanFlags(matcher, 'ba'), [ANYWHERE | PREFIX | SUFFIX, ANYWHERE | SUFFIX, ANYWHERE | PREFIX | SUFFIX]);
  assert.deepEqual(scanFlags(matcher, ''), [ANYWHERE | PREFIX | SUFFIX | EXACT, 0, ANYWHERE | PREFIX | SUFFIX | EXACT]);
  assert.deepEqual(scanFlags(new LiteralMatcher([]), 'abc'), []);
});

test('duplicate needles are each reported', () => {
  const matcher = new LiteralMatcher(['ab', 'b', 'ab', 'ab']);
  assert.deepEqual(scanFlags(matcher, 'xab'), [ANYWHERE | SUFFIX, ANYWHERE | SUFFIX, ANYWHERE | SUFFIX, ANYWHERE | SUFFIX]);
});

test('touched lists each hit needle once; clear() resets exactly those; scans without clear accumulate', () => {
  const matcher = new LiteralMatcher(['a', 'b', 'c', 'ab']);
  const hits = new LiteralHits(matcher.size);
  matcher.scan('abab', hits);
  assert.deepEqual([...hits.touched].sort(), [0, 1, 3]);
  matcher.scan('c', hits);
  assert.deepEqual([...hits.touched].sort(), [0, 1, 2, 3]);
  assert.deepEqual(Array.from(hits.flags), [
    ANYWHERE | PREFIX,
    ANYWHERE | SUFFIX,
    ANYWHERE | PREFIX | SUFFIX | EXACT,
    ANYWHERE | PREFIX | SUFFIX,
  ]);
  hits.clear();
  assert.deepEqual(hits.touched, []);
  assert.deepEqual(Array.from(hits.flags), [0, 0, 0, 0]);
  matcher.scan('xb', hits);
  assert.deepEqual(hits.touched, [1]);
  assert.deepEqual(Array.from(hits.flags), [0, ANYWHERE | SUFFIX, 0, 0]);
});

test('needles that overlap, nest and are suffixes of one another are all found', () => {
  const needles = ['he', 'she', 'his', 'hers', 'e', 's', 'ushers', 'sh', 'h'];
  const matcher = new LiteralMatcher(needles);
  for (const text of ['ushers', 'shis', 'hershe', 'she', 'xyz', 'hhhh']) {
    assert.deepEqual(scanFlags(matcher, text), referenceFlags(needles, text), text);
  }
});

test('non-ASCII needles and surrogate pairs match by UTF-16 code unit', () => {
  const needles = ['é', 'café', '😀', '\ud83d', '\ude00', 'a😀b', '€', 'ü€', 'Ω'];
  const matcher = new LiteralMatcher(needles);
  for (const text of ['café', 'a😀b', '😀', '€ü€', 'cafe', '\ud83d', 'x😀😀Ω']) {
    assert.deepEqual(scanFlags(matcher, text), referenceFlags(needles, text), text);
  }
});

test('agrees with the indexOf reference on thousands of random needle sets and texts', () => {
  const random = seededRandom(20240611);
  const alphabets = ['ab', 'abc', 'abcdefgh', 'aé€😀b', 'xyz\\-. ', 'abcdefghijklmnopqrstuvwxyzéü€Ω😀'];
  const pick = (alphabet: readonly string[], length: number): string =>
    Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
  let cases = 0;
  for (let round = 0; round < 400; round++) {
    const alphabet = [...alphabets[round % alphabets.length]];
    const texts = Array.from({ length: 8 }, () => pick(alphabet, Math.floor(random() * 40)));
    const needles: string[] = [];
    const needleCount = 1 + Math.floor(random() * 60);
    while (needles.length < needleCount) {
      const kind = random();
      if (kind < 0.4) needles.push(pick(alphabet, Math.floor(random() * 6)));
      else if (kind < 0.7) {
        // a piece of a text, so that occurrences (and whole-text matches) are frequent
        const text = texts[Math.floor(random() * texts.length)];
        const start = Math.floor(random() * (text.length + 1));
        needles.push(text.slice(start, start + Math.floor(random() * 8)));
      } else if (needles.length > 0) {
        // a suffix, a prefix or a copy of an earlier needle
        const other = needles[Math.floor(random() * needles.length)];
        const cut = Math.floor(random() * (other.length + 1));
        needles.push(kind < 0.8 ? other.slice(cut) : kind < 0.9 ? other.slice(0, cut) : other);
      }
    }
    const matcher = new LiteralMatcher(needles);
    const hits = new LiteralHits(matcher.size);
    for (const text of texts) {
      assert.deepEqual(scanFlags(matcher, text, hits), referenceFlags(needles, text), JSON.stringify({ needles, text }));
      assert.deepEqual(
        [...hits.touched].sort((a, b) => a - b),
        hits.flags.reduce<number[]>((hit, flags, needle) => (flags ? [...hit, needle] : hit), []),
      );
      cases++;
    }
  }
  assert.equal(cases, 3200);
});

test('scanAsciiFolded reports what scan reports on the lowercased text, and gives up at the first non-ASCII unit', () => {
  const random = seededRandom(99);
  const alphabet = [...'abcABC-.\\ Zz@[`{'];
  for (let round = 0; round < 300; round++) {
    const text = Array.from({ length: Math.floor(random() * 30) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    const lower = text.toLowerCase();
    const needles = Array.from({ length: 1 + Math.floor(random() * 20) }, () => {
      const start = Math.floor(random() * (lower.length + 1));
      return random() < 0.8 ? lower.slice(start, start + 1 + Math.floor(random() * 5)) : 'b@';
    });
    const matcher = new LiteralMatcher(needles);
    const hits = new LiteralHits(matcher.size);
    assert.equal(matcher.scanAsciiFolded(text, hits), true);
    assert.deepEqual(Array.from(hits.flags), referenceFlags(needles, lower), JSON.stringify({ needles, text }));
  }
  const matcher = new LiteralMatcher(['abc', 'é']);
  assert.equal(matcher.scanAsciiFolded('ABCÉ', new LiteralHits(matcher.size)), false);
  assert.equal(matcher.scanAsciiFolded('x😀', new LiteralHits(matcher.size)), false);
});

test('a state with many children (dense ASCII row) still finds non-ASCII children', () => {
  const needles = [...'abcdefgh'].map((c) => `x${c}`).concat(['xé', 'x😀', 'x\u00ff', 'x\u0080', 'x\u007f']);
  const matcher = new LiteralMatcher(needles);
  for (const text of ['xa', 'xh', 'xé', 'x😀', 'x\u00ff', 'x\u0080', 'x\u007f', 'xx', 'xaxé']) {
    assert.deepEqual(scanFlags(matcher, text), referenceFlags(needles, text), text);
  }
});

test('20,000 needles build quickly and scan correctly', () => {
  const random = seededRandom(7);
  const words = ['\\windows\\', 'system32', '.exe', ' -enc ', 'powershell', 'cmd', '/c ', 'http://', 'temp', '%appdata%'];
  const needles = Array.from({ length: 20_000 }, (_, i) => {
    const word = words[Math.floor(random() * words.length)];
    return `${word}${i.toString(36)}${word.slice(0, Math.floor(random() * word.length))}`;
  });
  new LiteralMatcher(needles); // the first build also pays for compiling the code
  const started = performance.now();
  const matcher = new LiteralMatcher(needles);
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 1000, `built in ${elapsed.toFixed(0)} ms`);
  const text = `c:\\windows\\system32\\cmd.exe /c powershell -enc ${needles[12345]} ${needles[42]}`;
  assert.deepEqual(scanFlags(matcher, text), referenceFlags(needles, text));
  assert.notEqual(scanFlags(matcher, text)[12345], 0);
});
