/** Incident score, severity and title, case by case. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { incidentScore, incidentSeverity, incidentTitle, type ScoredRule } from '../src/index.js';

const sigma = (level: string): ScoredRule => ({ kind: 'sigma', level });
const times = (n: number, rule: ScoredRule): ScoredRule[] => Array.from({ length: n }, () => rule);

const CASES: { name: string; rules: ScoredRule[]; tactics: number; hosts: number; score: number; severity: string }[] = [
  { name: 'one critical rule', rules: [sigma('critical')], tactics: 1, hosts: 1, score: 40, severity: 'critical' },
  { name: 'one high rule', rules: [sigma('high')], tactics: 1, hosts: 1, score: 20, severity: 'high' },
  { name: 'one medium rule', rules: [sigma('medium')], tactics: 0, hosts: 1, score: 8, severity: 'medium' },
  { name: 'one low rule', rules: [sigma('low')], tactics: 0, hosts: 1, score: 2, severity: 'low' },
  {
    name: 'informational rules add nothing',
    rules: times(5, sigma('informational')),
    tactics: 0,
    hosts: 1,
    score: 0,
    severity: 'informational',
  },
  { name: 'an unknown level counts as informational', rules: [sigma('severe')], tactics: 0, hosts: 1, score: 0, severity: 'informational' },
  {
    name: 'a correlation weighs 1.5×',
    rules: [{ kind: 'correlation', level: 'medium' }],
    tactics: 0,
    hosts: 1,
    score: 12,
    severity: 'medium',
  },
  { name: 'an IOC weighs 1.5×', rules: [{ kind: 'ioc', level: 'high' }], tactics: 0, hosts: 1, score: 30, severity: 'high' },
  {
    name: 'a behaviour weighs 1.5× (low rounds up)',
    rules: [{ kind: 'behavior', level: 'low' }],
    tactics: 0,
    hosts: 1,
    score: 3,
    severity: 'low',
  },
  { name: 'three highs, one tactic', rules: times(3, sigma('high')), tactics: 1, hosts: 1, score: 60, severity: 'high' },
  {
    name: 'three highs across three tactics reach 70: a step up',
    rules: times(3, sigma('high')),
    tactics: 3,
    hosts: 1,
    score: 70,
    severity: 'critical',
  },
  { name: 'many lows stay low', rules: times(10, sigma('low')), tactics: 1, hosts: 1, score: 20, severity: 'low' },
  {
    name: 'a second host multiplies by 1.5 and raises a step',
    rules: [sigma('high')],
    tactics: 1,
    hosts: 2,
    score: 30,
    severity: 'critical',
  },
  { name: 'spread raises informational to low', rules: [sigma('informational')], tactics: 0, hosts: 2, score: 0, severity: 'low' },
  { name: 'spread stops at ×3', rules: [sigma('high')], tactics: 1, hosts: 40, score: 60, severity: 'critical' },
  { name: 'capped at 100', rules: times(4, sigma('high')), tactics: 2, hosts: 5, score: 100, severity: 'critical' },
  { name: 'no rules, no score', rules: [], tactics: 0, hosts: 0, score: 0, severity: 'informational' },
];

for (const c of CASES)
  test(`score and severity: ${c.name}`, () => {
    const score = incidentScore({ rules: c.rules, tactics: c.tactics, hosts: c.hosts });
    assert.equal(score, c.score);
    // Each case's rules share one level.
    const highest = c.rules[0]?.level ?? 'informational';
    assert.equal(incidentSeverity(highest, score, c.hosts), c.severity);
  });

test('titles: top rule, where, and how many more rules', () => {
  assert.equal(incidentTitle('Mimikatz Use', ['DC01'], 1), 'Mimikatz Use on DC01');
  assert.equal(incidentTitle('Mimikatz Use', ['DC01'], 2), 'Mimikatz Use on DC01 (+1 more rule)');
  assert.equal(incidentTitle('Mimikatz Use', ['DC01', 'WS1', 'WS2'], 5), 'Mimikatz Use across 3 hosts (+4 more rules)');
  assert.equal(incidentTitle('Mimikatz Use', [], 1), 'Mimikatz Use');
  const long = incidentTitle('x'.repeat(500), ['DC01'], 1);
  assert.equal(long.length, 300);
  assert.ok(long.endsWith('…'));
});
