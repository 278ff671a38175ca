/** Detection semantics, modifier by modifier and condition by condition, positive and negative. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadMapping, loadRuleSources, objectEvent, type SigmaEvent } from '../src/index.js';
import { compileRule, fires, reportFor, ruleYaml } from './support/rules.js';

interface Case {
  detection: string;
  yes: Record<string, unknown>[];
  no: Record<string, unknown>[];
  placeholders?: Record<string, string[]>;
}

const CASES: Record<string, Case> = {
  'plain value: whole-value, case-insensitive': {
    detection: `sel:\n  Image: 'C:\\Windows\\System32\\cmd.exe'\ncondition: sel`,
    yes: [{ Image: 'C:\\Windows\\System32\\cmd.exe' }, { Image: 'c:\\windows\\system32\\CMD.EXE' }],
    no: [{ Image: 'C:\\Windows\\System32\\cmd.exe2' }, { Image: 'x C:\\Windows\\System32\\cmd.exe' }, {}],
  },
  'contains / startswith / endswith': {
    detection: `a:\n  CommandLine|contains: whoami\nb:\n  Image|startswith: 'C:\\Users\\'\nc:\n  Image|endswith: '\\evil.exe'\ncondition: a and b and c`,
    yes: [{ CommandLine: 'cmd /c WHOAMI /all', Image: 'c:\\users\\bob\\Evil.exe' }],
    no: [
      { CommandLine: 'cmd /c who ami', Image: 'C:\\Users\\bob\\evil.exe' },
      { CommandLine: 'whoami', Image: 'D:\\Users\\evil.exe' },
    ],
  },
  'wildcards * and ?': {
    detection: `sel:\n  Image: 'C:\\\\*\\cmd.ex?'\ncondition: sel`,
    yes: [{ Image: 'C:\\Windows\\System32\\cmd.exe' }, { Image: 'c:\\x\\CMD.EXE' }],
    no: [{ Image: 'C:\\cmd.exe' }, { Image: 'C:\\x\\cmd.exe.bak' }, { Image: 'C:\\x\\cmd.ex' }],
  },
  'escaped wildcards are literal; a lone backslash is itself': {
    detection: `sel:\n  Value: 'a\\*b\\?c\\\\*'\ncondition: sel`,
    yes: [{ Value: 'a*b?c\\' }, { Value: 'a*b?c\\anything' }],
    no: [{ Value: 'aXb?c\\' }, { Value: 'a*bXc\\' }],
  },
  'value list is OR; |all is AND': {
    detection: `any:\n  CommandLine|contains:\n    - ' -enc '\n    - ' -e '\nevery:\n  CommandLine|contains|all:\n    - 'net'\n    - 'user'\ncondition: any or every`,
    yes: [{ CommandLine: 'powershell -e AAAA' }, { CommandLine: 'net user bob /add' }],
    no: [{ CommandLine: 'net localgroup' }, { CommandLine: 'powershell -nop' }],
  },
  'list of maps is OR of ANDs': {
    detection: `sel:\n  - Image|endswith: '\\a.exe'\n    User: bob\n  - Image|endswith: '\\b.exe'\ncondition: sel`,
    yes: [{ Image: 'x\\a.exe', User: 'BOB' }, { Image: 'x\\b.exe' }],
    no: [{ Image: 'x\\a.exe', User: 'alice' }, { Image: 'x\\c.exe' }],
  },
  'null means absent; empty string means empty': {
    detection: `nothing:\n  ParentImage: null\nempty:\n  CommandLine: ''\ncondition: nothing and empty`,
    yes: [{ CommandLine: '' }, { CommandLine: '', ParentImage: null }],
    no: [{ CommandLine: '', ParentImage: 'x' }, { ParentImage: null }, { CommandLine: ' ' }],
  },
  'numbers match numeric strings and numbers': {
    detection: `sel:\n  EventID: 4688\n  Port: '443'\ncondition: sel`,
    yes: [
      { EventID: 4688, Port: 443 },
      { EventID: '4688', Port: '443' },
    ],
    no: [
      { EventID: 46880, Port: 443 },
      { EventID: 4688, Port: 4430 },
    ],
  },
  cased: {
    detection: `sel:\n  Data|cased|contains: 'MiXeD'\ncondition: sel`,
    yes: [{ Data: 'xx MiXeD yy' }],
    no: [{ Data: 'xx mixed yy' }, { Data: 'MIXED' }],
  },
  exists: {
    detection: `has:\n  Hashes|exists: true\nhasnt:\n  Signature|exists: false\ncondition: has and hasnt`,
    yes: [{ Hashes: 'x' }, { Hashes: '' }, { Hashes: null }],
    no: [{}, { Hashes: 'x', Signature: 'y' }],
  },
  neq: {
    detection: `sel:\n  EventID: 1\nfilter:\n  User|neq:\n    - SYSTEM\n    - 'LOCAL SERVICE'\ncondition: sel and filter`,
    yes: [{ EventID: 1, User: 'bob' }, { EventID: 1 }],
    no: [
      { EventID: 1, User: 'system' },
      { EventID: 1, User: 'Local Service' },
    ],
  },
  windash: {
    detection: `sel:\n  CommandLine|windash|contains: ' -enc '\ncondition: sel`,
    yes: [
      { CommandLine: 'x -enc y' },
      { CommandLine: 'x /enc y' },
      { CommandLine: 'x \u2013enc y' },
      { CommandLine: 'x \u2014enc y' },
      { CommandLine: 'x \u2015enc y' },
    ],
    no: [{ CommandLine: 'x +enc y' }, { CommandLine: 'x enc y' }],
  },
  're with flags': {
    detection: `cs:\n  A|re: '^ab+c$'\nci:\n  B|re|i: 'HELLO\\d'\nml:\n  C|re|m: '^line2$'\nsl:\n  D|re|s: 'a.b'\ncondition: cs and ci and ml and sl`,
    yes: [{ A: 'abbc', B: 'say hello1', C: 'line1\nline2\nline3', D: 'a\nb' }],
    no: [
      { A: 'ABBC', B: 'hello1', C: 'line2', D: 'a\nb' },
      { A: 'abc', B: 'hello', C: 'line2', D: 'a\nb' },
      { A: 'abc', B: 'hello1', C: 'line1 line2', D: 'a\nb' },
    ],
  },
  'base64 and base64offset': {
    detection: `plain:\n  A|base64: 'http://'\noffset:\n  B|base64offset|contains: 'http://'\ncondition: plain and offset`,
    yes: [
      { A: Buffer.from('http://').toString('base64'), B: Buffer.from('GET http://x').toString('base64') },
      { A: 'aHR0cDovLw==', B: Buffer.from('aGET http://x').toString('base64') },
      { A: 'aHR0cDovLw==', B: Buffer.from('aaGET http://x').toString('base64') },
    ],
    no: [
      { A: 'aHR0cDovLw==', B: Buffer.from('GET https://x').toString('base64') },
      { A: 'aHR0cDovL', B: 'x' },
    ],
  },
  'utf16le / wide / utf16be / utf16 then base64': {
    detection: `le:\n  A|utf16le|base64offset|contains: 'cmd'\nwide:\n  B|wide|base64: 'cmd'\nbe:\n  C|utf16be|base64: 'cmd'\nbom:\n  D|utf16|base64: 'cmd'\ncondition: le and wide and be and bom`,
    yes: [
      {
        A: Buffer.from('x cmd /c', 'utf16le').toString('base64'),
        B: Buffer.from('cmd', 'utf16le').toString('base64'),
        C: Buffer.from([0, 0x63, 0, 0x6d, 0, 0x64]).toString('base64'),
        D: Buffer.from([0xff, 0xfe, 0x63, 0, 0x6d, 0, 0x64, 0]).toString('base64'),
      },
    ],
    no: [{ A: Buffer.from('x cmd /c').toString('base64'), B: 'Y21k', C: 'Y21k', D: 'Y21k' }],
  },
  'lt lte gt gte': {
    detection: `sel:\n  Size|gt: 10\n  Size|lte: 20\n  Count|gte: 1\n  Count|lt: 3\ncondition: sel`,
    yes: [
      { Size: 11, Count: 1 },
      { Size: '20', Count: '2' },
    ],
    no: [
      { Size: 10, Count: 1 },
      { Size: 21, Count: 1 },
      { Size: 15, Count: 3 },
      { Size: 'big', Count: 1 },
    ],
  },
  'time parts': {
    detection: `sel:\n  TimeCreated_SystemTime|hour: 3\n  TimeCreated_SystemTime|month|gte: 6\n  TimeCreated_SystemTime|year: 2024\ncondition: sel`,
    yes: [{ TimeCreated_SystemTime: '2024-07-01T03:15:00Z' }],
    no: [
      { TimeCreated_SystemTime: '2024-07-01T04:15:00Z' },
      { TimeCreated_SystemTime: '2024-05-01T03:15:00Z' },
      { TimeCreated_SystemTime: 'yesterday' },
    ],
  },
  'minute day week': {
    detection: `sel:\n  T|minute: 15\n  T|day: 2\n  T|week: 1\ncondition: sel`,
    yes: [{ T: '2024-01-02T10:15:00Z' }],
    no: [{ T: '2024-01-02T10:16:00Z' }, { T: '2024-01-09T10:15:00Z' }],
  },
  'cidr IPv4 and IPv6': {
    detection: `sel:\n  DestinationIp|cidr:\n    - 10.0.0.0/8\n    - 'fe80::/10'\n    - 192.168.1.7\ncondition: sel`,
    yes: [{ DestinationIp: '10.1.2.3' }, { DestinationIp: 'fe80::1' }, { DestinationIp: '192.168.1.7' }],
    no: [{ DestinationIp: '11.0.0.1' }, { DestinationIp: 'fec0::1' }, { DestinationIp: '192.168.1.8' }, { DestinationIp: 'not an ip' }],
  },
  'expand placeholders': {
    detection: `sel:\n  User|expand: '%admins%'\ncondition: sel`,
    placeholders: { admins: ['root', 'admin*'] },
    yes: [{ User: 'root' }, { User: 'Administrator' }],
    no: [{ User: 'bob' }],
  },
  'fieldref, with neq and contains': {
    detection: `same:\n  TargetUserName|fieldref: SubjectUserName\ndiffer:\n  ParentUser|fieldref|neq: User\ninside:\n  CommandLine|fieldref|contains: Image\ncondition: same and differ and inside`,
    yes: [{ TargetUserName: 'BOB', SubjectUserName: 'bob', ParentUser: 'a', User: 'b', CommandLine: 'run x.exe now', Image: 'X.EXE' }],
    no: [
      { TargetUserName: 'bob', SubjectUserName: 'alice', ParentUser: 'a', User: 'b', CommandLine: 'x.exe', Image: 'x.exe' },
      { TargetUserName: 'bob', SubjectUserName: 'bob', ParentUser: 'a', User: 'A', CommandLine: 'x.exe', Image: 'x.exe' },
      { TargetUserName: 'bob', SubjectUserName: 'bob', ParentUser: 'a', User: 'b', CommandLine: 'y', Image: 'x.exe' },
    ],
  },
  'keywords search every value': {
    detection: `keywords:\n  - 'mimikatz'\n  - 'sekurlsa::'\ncondition: keywords`,
    yes: [{ Message: 'Invoke-Mimikatz started' }, { a: 1, b: 'run sekurlsa::logonpasswords' }],
    no: [{ Message: 'mimi katz' }],
  },
  'keywords with |all': {
    detection: `keywords:\n  '|all':\n    - 'net'\n    - 'user'\ncondition: keywords`,
    yes: [{ a: 'net', b: 'user' }, { a: 'net user' }],
    no: [{ a: 'net' }],
  },
  'not, and, or precedence and parentheses': {
    detection: `a:\n  A: 1\nb:\n  B: 1\nc:\n  C: 1\ncondition: a or b and not c`,
    yes: [{ A: 1, C: 1 }, { B: 1 }],
    no: [{ B: 1, C: 1 }, {}],
  },
  'parentheses override precedence': {
    detection: `a:\n  A: 1\nb:\n  B: 1\nc:\n  C: 1\ncondition: (a or b) and not c`,
    yes: [{ A: 1 }, { B: 1 }],
    no: [{ A: 1, C: 1 }],
  },
  '1 of / all of patterns, them excludes _ identifiers': {
    detection: `sel_a:\n  A: 1\nsel_b:\n  B: 1\n_helper:\n  H: 1\ncondition: 1 of sel_* and not all of them`,
    yes: [{ A: 1 }, { B: 1, H: 1 }],
    no: [{ A: 1, B: 1 }, { H: 1 }],
  },
  'any of them; all of them ignores _ identifiers': {
    detection: `x:\n  X: 1\n_y:\n  Y: 1\ncondition: all of them`,
    yes: [{ X: 1 }],
    no: [{ Y: 1 }],
  },
  'condition list is OR': {
    detection: `a:\n  A: 1\nb:\n  B: 1\ncondition:\n  - a\n  - b`,
    yes: [{ A: 1 }, { B: 1 }],
    no: [{ C: 1 }],
  },
  'arrays in events: any element': {
    detection: `sel:\n  Data|contains: secret\ncondition: sel`,
    yes: [{ Data: ['a', 'top secret'] }],
    no: [{ Data: ['a', 'b'] }],
  },
};

for (const [name, c] of Object.entries(CASES)) {
  test(`detection: ${name}`, () => {
    const rules = compileRule(c.detection, { placeholders: c.placeholders });
    for (const event of c.yes) assert.equal(fires(rules, event), true, `should fire on ${JSON.stringify(event)}`);
    for (const event of c.no) assert.equal(fires(rules, event), false, `should not fire on ${JSON.stringify(event)}`);
  });
}

const BROKEN: Record<string, { detection: string; status: 'invalid' | 'unsupported'; reason: RegExp }> = {
  'unknown modifier': { detection: `sel:\n  A|foo: 1\ncondition: sel`, status: 'invalid', reason: /unknown modifier "foo"/ },
  'all with one value': { detection: `sel:\n  A|contains|all: x\ncondition: sel`, status: 'invalid', reason: /all with a single value/ },
  'undefined identifier': {
    detection: `sel:\n  A: 1\ncondition: sel and other`,
    status: 'invalid',
    reason: /"other" is not a search identifier/,
  },
  'pattern matching nothing': {
    detection: `sel:\n  A: 1\ncondition: 1 of filter_*`,
    status: 'invalid',
    reason: /matches no search identifier/,
  },
  'unbalanced parentheses': { detection: `sel:\n  A: 1\ncondition: (sel`, status: 'invalid', reason: /missing "\)"/ },
  'Sigma 1 aggregation': { detection: `sel:\n  A: 1\ncondition: sel | count() > 5`, status: 'unsupported', reason: /Sigma 1 syntax/ },
  'missing placeholder': {
    detection: `sel:\n  A|expand: '%nope%'\ncondition: sel`,
    status: 'unsupported',
    reason: /placeholder %nope% has no value/,
  },
  'regex lookahead': { detection: `sel:\n  A|re: 'a(?=b)'\ncondition: sel`, status: 'unsupported', reason: /lookahead/ },
  'bad cidr': { detection: `sel:\n  A|cidr: 300.1.1.1/8\ncondition: sel`, status: 'invalid', reason: /not a CIDR network/ },
  'base64 of a wildcard': {
    detection: `sel:\n  A|base64: 'a*'\ncondition: sel`,
    status: 'invalid',
    reason: /cannot encode a value with wildcards/,
  },
  'no condition': { detection: `sel:\n  A: 1`, status: 'invalid', reason: /condition is required/ },
};

for (const [name, c] of Object.entries(BROKEN)) {
  test(`rejected: ${name}`, () => {
    const report = reportFor(ruleYaml(c.detection));
    assert.equal(report.status, c.status, report.reason);
    assert.match(report.reason ?? '', c.reason);
  });
}

test('a problem names the line of its search', () => {
  const report = reportFor(ruleYaml(`good:\n  A: 1\nbad:\n  B|nope: 2\ncondition: good or bad`));
  assert.equal(report.status, 'invalid');
  assert.match(report.reason!, /^search "bad": unknown modifier/);
  assert.equal(report.line, 8);
});

test('metadata is validated against the specification', () => {
  const cases: [string, RegExp][] = [
    ['title: x\nid: not-a-uuid\nlogsource: {product: a}\ndetection: {s: {A: 1}, condition: s}', /not a UUID/],
    ['title: x\nlevel: severe\nlogsource: {product: a}\ndetection: {s: {A: 1}, condition: s}', /level "severe"/],
    ['title: x\nstatus: beta\nlogsource: {product: a}\ndetection: {s: {A: 1}, condition: s}', /status "beta"/],
    ['title: x\ntags: [Attack.T1059]\nlogsource: {product: a}\ndetection: {s: {A: 1}, condition: s}', /tag "Attack.T1059"/],
    ['title: x\ndate: 2024/01/01\nlogsource: {product: a}\ndetection: {s: {A: 1}, condition: s}', /date must be a date/],
    ['logsource: {product: a}\ndetection: {s: {A: 1}, condition: s}', /title is required/],
    ['title: x\nlogsource: {}\ndetection: {s: {A: 1}, condition: s}', /logsource needs/],
    ['title: x\nlogsource: {product: a}\ndetection: {s: {A: 1}, s: {B: 2}, condition: s}', /YAML: Map keys must be unique/],
  ];
  for (const [text, reason] of cases) {
    const report = reportFor(text);
    assert.equal(report.status, 'invalid', text);
    assert.match(report.reason ?? '', reason, text);
  }
});

test('filters add their condition to the rules they name', () => {
  const rule = ruleYaml(`sel:\n  Image|endswith: '\\cmd.exe'\ncondition: sel`);
  const filter = `title: not from the updater\nlogsource:\n  product: test\nfilter:\n  rules:\n    - 5f3b1a2e-0c4d-4e8f-9a1b-2c3d4e5f6a7b\n  updater:\n    ParentImage|endswith: '\\updater.exe'\n  condition: not updater\n`;
  const fromUpdater = { Image: 'c:\\cmd.exe', ParentImage: 'c:\\updater.exe' };
  const fromExplorer = { Image: 'c:\\cmd.exe', ParentImage: 'c:\\explorer.exe' };
  const alone = compileRule(`sel:\n  Image|endswith: '\\cmd.exe'\ncondition: sel`);
  assert.equal(fires(alone, fromUpdater), true);
  const { ruleSet, files } = loadRuleSources([{ file: 'rule+filter.yml', text: `${rule}---\n${filter}` }], {
    mapping: loadMapping({ raw: true }),
  });
  assert.equal(files[0]!.status, 'loaded', files[0]!.reason);
  assert.equal(files[0]!.documents, 2);
  assert.equal(fires(ruleSet, fromUpdater), false);
  assert.equal(fires(ruleSet, fromExplorer), true);
});

test('the prefilter never hides a match: case folding beyond ASCII, regex literals', () => {
  const keywords = compileRule(`keywords:\n  - 'kiwi'\n  - 'sekurlsa::'\ncondition: keywords`);
  // U+212A KELVIN SIGN lowercases to k; U+0130 (dotted capital I) to i + combining dot.
  assert.equal(fires(keywords, { Message: 'run \u212aIWI now' }), true);
  assert.equal(fires(keywords, { Message: 'SEKURLSA::logonpasswords' }), true);
  assert.equal(fires(keywords, { Message: 'kiw i' }), false);
  const endsWithI = compileRule(`sel:\n  CommandLine|contains: 'xi'\ncondition: sel`);
  assert.equal(fires(endsWithI, { CommandLine: 'X\u0130' }), true);
  const regex = compileRule(`sel:\n  CommandLine|re: '(?i)rundll32\\.exe.*,#\\d'\ncondition: sel`);
  assert.equal(fires(regex, { CommandLine: 'C:\\RUNDLL32.EXE evil.dll,#1' }), true);
  assert.equal(fires(regex, { CommandLine: 'C:\\rundll32.exe evil.dll,Start' }), false);
});

test('keyword literals are found in any value, lists and numbers included, and never across two values', () => {
  const keywords = compileRule(`keywords:\n  - 'lsadump::'\n  - '4711'\ncondition: keywords`);
  const withValues = (fields: Record<string, unknown>): SigmaEvent => {
    const event = objectEvent(fields);
    return { ...event, values: () => Object.values(fields) };
  };
  for (const make of [objectEvent, withValues]) {
    assert.equal(firesExactly(keywords, make({ A: 'x', B: ['y', 'run LSADUMP::sam'] })), true);
    assert.equal(firesExactly(keywords, make({ A: 'x', N: 47110 })), true);
    assert.equal(firesExactly(keywords, make({ A: 'lsadu', B: 'mp::' })), false);
    assert.equal(firesExactly(keywords, make({ A: '47', B: 11 })), false);
  }
});

/** Fires through the index and prefilter, and agrees with evaluating the rule without them. */
function firesExactly(rules: ReturnType<typeof compileRule>, event: SigmaEvent): boolean {
  const fast = rules.match(event).length > 0;
  assert.equal(fast, rules.matchExhaustive(event).length > 0, `prefilter disagrees on ${JSON.stringify([...event.keys()])}`);
  return fast;
}

test('the prefilter keeps rules whose literals only case folding or escapes reveal', () => {
  const cases: [string, Record<string, unknown>][] = [
    [`sel:\n  F|re: '\\x41BCDEF'\ncondition: sel`, { F: 'ABCDEF' }],
    [`sel:\n  F|re: '\\101bcd'\ncondition: sel`, { F: 'Abcd' }],
    [`sel:\n  F|re|i: 'powershell'\ncondition: sel`, { F: 'power\u017fhell' }],
    [`sel:\n  F|re: '(?i)kerberos'\ncondition: sel`, { F: '\u212aerberos' }],
    [`sel:\n  F|contains: 'a\u{1f600}b'\ncondition: sel`, { F: 'xa\u{1f600}bx' }],
    [`sel:\n  F|contains: '\u0130x'\ncondition: sel`, { F: '\u0130x' }],
    [`sel:\n  F|cased|contains: '\u03a3'\ncondition: sel`, { F: '\u0391\u03a3' }],
    // Lowercasing lengthens İ: a shorter value can still hold the literal.
    [`sel:\n  F|contains: 'i\u0307x'\ncondition: sel`, { F: '\u0130x' }],
    // Numbers and booleans are scanned as their text where a literal could occur in it.
    [`sel:\n  F|contains: '12'\ncondition: sel`, { F: 3412 }],
    [`sel:\n  F: 'TRUE'\ncondition: sel`, { F: true }],
    [`kw:\n  - '-1.5e-7'\ncondition: kw`, { F: -1.5e-7 }],
    // Regex syntax the literal extraction must read as RE2 does: POSIX classes, literal braces, flags then a quantifier.
    [`sel:\n  F|re: '[[:alpha:]]abc'\ncondition: sel`, { F: 'xabc' }],
    [`sel:\n  F|re: 'abc{|x}'\ncondition: sel`, { F: 'x}' }],
    [`sel:\n  F|re: 'abc(?i)*'\ncondition: sel`, { F: 'ab' }],
  ];
  for (const [detection, event] of cases) assert.equal(firesExactly(compileRule(detection), objectEvent(event)), true, detection);
});

test('a field get() knows but keys() does not list is still prefiltered, keyword rules or not', () => {
  const rules = compileRule(`sel:\n  Image|endswith: '\\evil.exe'\nkw:\n  - 'zzz'\ncondition: sel or kw`);
  const event: SigmaEvent = { get: (f) => (f === 'Image' ? 'C:\\evil.exe' : undefined), keys: () => ['image'] };
  assert.equal(firesExactly(rules, event), true);
});

test('an extra routing field cannot hide an event from the rules routed by another', () => {
  const rule = `title: nc\nlogsource: { product: linux, category: process_creation }\ndetection: { s: { Image|endswith: '/nc' }, condition: s }\n`;
  const { ruleSet } = loadRuleSources([{ file: 'nc.yml', text: rule }], { mapping: loadMapping() });
  const event = objectEvent({ _source: 'firebreak-agent', _kind: 'process_creation', EventID: 1, Channel: 'x', Image: '/usr/bin/nc' });
  assert.equal(ruleSet.match(event).length, 1);
});

test('time parts read zone-less timestamps as UTC; raw mode takes any field name', () => {
  assert.equal(fires(compileRule(`sel:\n  UtcTime|hour: 10\ncondition: sel`), { UtcTime: '2024-01-01 10:00:00.123' }), true);
  const odd = compileRule(`sel:\n  constructor: x\n  toString: y\ncondition: sel`);
  assert.equal(fires(odd, { constructor: 'x', toString: 'y' }), true);
  assert.equal(fires(odd, { a: 1 }), false);
});

test('rules that would expand without bound are refused quickly, not loaded', () => {
  const started = performance.now();
  const aliases = ['a0: &a0 [x, y, z, w, v, u, t, s, r, q]'];
  for (let i = 1; i < 8; i++)
    aliases.push(
      `a${i}: &a${i} [*a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}]`,
    );
  const bomb = reportFor(
    `title: bomb\nlogsource: { product: test }\nx:\n${aliases.map((a) => `  ${a}`).join('\n')}\ndetection:\n  sel:\n    F: *a7\n  condition: sel\n`,
  );
  assert.equal(bomb.status, 'invalid');
  assert.match(bomb.reason!, /expands to more than/);
  const dashes = reportFor(
    ruleYaml(`sel:\n  C|windash|contains: '${Array.from({ length: 9 }, (_, i) => `-f${i}`).join(' ')}'\ncondition: sel`),
  );
  assert.equal(dashes.status, 'unsupported');
  assert.match(dashes.reason!, /windash on 9 flags/);
  const deep = reportFor(ruleYaml(`sel:\n  A: 1\ncondition: ${'not '.repeat(5000)}sel`));
  assert.equal(deep.status, 'invalid');
  assert.match(deep.reason!, /nests deeper than/);
  assert.ok(performance.now() - started < 5000, 'refusing took too long');
});

test('routing gives the same rules whatever form the routing values take, and past the route cache', () => {
  const rule = `title: psexec\nlogsource: { product: windows, category: process_creation }\ndetection: { s: { Image|endswith: '\\psexec.exe' }, condition: s }\n`;
  const { ruleSet } = loadRuleSources([{ file: 'psexec.yml', text: rule }], { mapping: loadMapping() });
  const sysmon = (eventId: unknown, channel = 'Microsoft-Windows-Sysmon/Operational'): SigmaEvent =>
    objectEvent({ Channel: channel, EventID: eventId, Image: 'C:\\Tools\\PsExec.exe' });
  assert.equal(ruleSet.match(sysmon(1)).length, 1);
  assert.equal(ruleSet.match(sysmon('1')).length, 1, 'EventID as text');
  assert.equal(ruleSet.match(sysmon(1, 'microsoft-windows-sysmon/operational')).length, 1, 'the channel in another case');
  assert.equal(ruleSet.match(sysmon(3)).length, 0, 'a network connection is not a process creation');
  assert.equal(ruleSet.match(sysmon([1])).length, 1, 'a list value routes as its element');
  // Events with thousands of distinct routing values fill the cache; later ones are still routed.
  for (let i = 0; i < 5000; i++) ruleSet.match(sysmon(1, `crafted-${i}`));
  assert.equal(ruleSet.match(sysmon(1, 'MICROSOFT-WINDOWS-SYSMON/OPERATIONAL')).length, 1);
  assert.equal(ruleSet.match(sysmon('1', 'crafted-99999')).length, 0);
});
