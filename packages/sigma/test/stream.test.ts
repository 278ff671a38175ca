/** Rules and correlations loaded together from YAML, evaluated on a stream of events. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DetectionStream, loadMapping, loadRuleSources, objectEvent } from '../src/index.js';

const RULES = `title: Failed logon
id: 0e95725d-7320-415d-80f7-004da920fc11
name: failed_logon
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4625
  condition: selection
---
title: Successful logon
name: successful_logon
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4624
  condition: selection
---
title: Many failed logons from one source
name: many_failed
correlation:
  type: event_count
  rules:
    - failed_logon
  group-by:
    - IpAddress
  timespan: 1m
  condition:
    gte: 3
level: high
---
title: Brute force that succeeded
correlation:
  type: temporal_ordered
  rules:
    - many_failed
    - successful_logon
  group-by:
    - IpAddress
  timespan: 5m
  generate: true
level: critical
`;

const logon = (id: number, ip: string) => objectEvent({ Channel: 'Security', EventID: id, IpAddress: ip });

test('a stream reports rule matches, their correlations and chained correlations', () => {
  const { ruleSet, files } = loadRuleSources([{ file: 'brute.yml', text: RULES }], { mapping: loadMapping() });
  assert.equal(files[0]!.status, 'loaded', files[0]!.reason);
  assert.equal(ruleSet.correlations.length, 2);
  const stream = new DetectionStream(ruleSet);
  const t0 = Date.parse('2024-05-01T10:00:00Z');
  // Two failures from each address: no alert yet; failed_logon is consumed (generate: false).
  // The chained correlation has generate: true, so many_failed and successful_logon still report.
  for (const [i, ip] of ['10.0.0.1', '10.0.0.2', '10.0.0.1', '10.0.0.2'].entries()) {
    const { matches, correlations } = stream.push(logon(4625, ip), t0 + i * 1000);
    assert.deepEqual(matches, []);
    assert.deepEqual(correlations, []);
  }
  const third = stream.push(logon(4625, '10.0.0.1'), t0 + 10_000);
  assert.deepEqual(
    third.correlations.map((c) => [c.correlation.title, c.group, c.value]),
    [['Many failed logons from one source', { IpAddress: '10.0.0.1' }, 3]],
  );
  const success = stream.push(logon(4624, '10.0.0.1'), t0 + 20_000);
  assert.deepEqual(
    success.matches.map((m) => m.rule.title),
    ['Successful logon'],
  );
  assert.deepEqual(
    success.correlations.map((c) => c.correlation.title),
    ['Brute force that succeeded'],
  );
  // The other address never reached the threshold: its success is only a rule match.
  assert.deepEqual(stream.push(logon(4624, '10.0.0.2'), t0 + 21_000).correlations, []);
});

test('failures spread beyond the timespan do not correlate', () => {
  const { ruleSet } = loadRuleSources([{ file: 'brute.yml', text: RULES }], { mapping: loadMapping() });
  const stream = new DetectionStream(ruleSet);
  const t0 = Date.parse('2024-05-01T10:00:00Z');
  for (let i = 0; i < 10; i++) assert.deepEqual(stream.push(logon(4625, '10.0.0.9'), t0 + i * 40_000).correlations, []);
});

test('a correlation naming an unknown rule is reported, and the rules still load', () => {
  const text = RULES.replace('    - failed_logon\n', '    - no_such_rule\n');
  const { ruleSet, files } = loadRuleSources([{ file: 'broken.yml', text }], { mapping: loadMapping() });
  assert.equal(files[0]!.status, 'invalid');
  assert.match(files[0]!.reason!, /"no_such_rule" is not the id or name of a loaded rule/);
  assert.equal(ruleSet.size, 2);
});
