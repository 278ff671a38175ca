/** Correlation rules: parsing and validation of the `correlation:` section, and the streaming engine for all seven types. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { findFiles, sharedPath, sharedSkip } from '@firebreak/testkit';
import { parse, parseAllDocuments } from 'yaml';
import { CorrelationEngine, correlateAll, parseCorrelation, percentileOf, type CorrelationAlert } from '../src/correlation.js';
import { objectEvent } from '../src/event.js';
import { InvalidRuleError, UnsupportedError, type CorrelationDocument, type DocumentMeta } from '../src/types.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;

function meta(doc: Record<string, unknown>): DocumentMeta {
  return {
    title: typeof doc.title === 'string' ? doc.title : 'untitled',
    id: typeof doc.id === 'string' ? doc.id : undefined,
    name: typeof doc.name === 'string' ? doc.name : undefined,
    tags: [],
    references: [],
    falsepositives: [],
    location: { file: 'test.yml', line: 1 },
  };
}

/** A correlation document from YAML holding title/id/name and the `correlation:` map. */
function correlation(source: string): CorrelationDocument {
  const doc = parse(source) as Record<string, unknown>;
  return parseCorrelation(doc.correlation as Record<string, unknown>, meta(doc));
}

/** Parses a bare `correlation:` body, for the error cases. */
function body(source: string): CorrelationDocument {
  return parseCorrelation(parse(source) as Record<string, unknown>, meta({ title: 'bad' }));
}

/** [rule ref, event fields, time] */
type Step = [string | string[], Record<string, unknown>, number];

function stream(engine: CorrelationEngine, steps: readonly Step[]): CorrelationAlert[] {
  return steps.flatMap(([refs, fields, time]) => engine.push(typeof refs === 'string' ? [refs] : refs, objectEvent(fields), time));
}

function run(correlations: CorrelationDocument[], steps: readonly Step[]): CorrelationAlert[] {
  return stream(new CorrelationEngine(correlations), steps);
}

const failedLogins = correlation(`
title: Many failed logins
id: 0e95725d-7320-415d-80f7-004da920fc11
correlation:
    type: event_count
    rules:
        - 5638f7c0-ac70-491d-8465-2a65075e0d86
    group-by:
        - ComputerName
    timespan: 1h
    condition:
        gte: 100
`);

// ─── Parsing ─────────────────────────────────────────────────────────────────────────────────────────

test('the specification event_count example parses to its document', () => {
  assert.deepEqual(failedLogins, {
    title: 'Many failed logins',
    id: '0e95725d-7320-415d-80f7-004da920fc11',
    name: undefined,
    tags: [],
    references: [],
    falsepositives: [],
    location: { file: 'test.yml', line: 1 },
    kind: 'correlation',
    type: 'event_count',
    rules: ['5638f7c0-ac70-491d-8465-2a65075e0d86'],
    groupBy: ['ComputerName'],
    timespanMs: 3_600_000,
    condition: { gte: 100 },
    field: undefined,
    percentile: undefined,
    aliases: {},
    generate: false,
  });
});

test('value types lift condition.field out of the condition', () => {
  const doc = body(`
type: value_count
rules: [5638f7c0-ac70-491d-8465-2a65075e0d86]
group-by: [ComputerName, WorkstationName]
timespan: 1d
condition: { field: User, gte: 100 }
`);
  assert.equal(doc.field, 'User');
  assert.deepEqual(doc.condition, { gte: 100 });
  assert.equal(doc.timespanMs, 86_400_000);
});

test('temporal types need no condition; a given one is kept', () => {
  assert.equal(body('{type: temporal, rules: [a, b, c], group-by: [User], timespan: 5m}').condition, undefined);
  assert.deepEqual(body('{type: temporal_ordered, rules: [a, b], timespan: 5m, condition: {gte: 2}}').condition, { gte: 2 });
});

test('timespans in every unit become milliseconds', () => {
  const spans: Record<string, number> = {
    '30s': 30_000,
    '5m': 300_000,
    '90m': 5_400_000,
    '1h': 3_600_000,
    '2d': 172_800_000,
    '1w': 604_800_000,
    '1M': 2_629_746_000,
    '1y': 31_556_952_000,
  };
  for (const [span, ms] of Object.entries(spans))
    assert.equal(body(`{type: event_count, rules: [a], timespan: ${span}, condition: {gte: 1}}`).timespanMs, ms, span);
});

test('a single rule and a single group-by field may be plain strings', () => {
  const doc = body('{type: event_count, rules: failed_login, group-by: User, timespan: 1m, condition: {gt: 3}}');
  assert.deepEqual(doc.rules, ['failed_login']);
  assert.deepEqual(doc.groupBy, ['User']);
  assert.deepEqual(body('{type: event_count, rules: [a], timespan: 1m, condition: {gte: 1}}').groupBy, []);
});

test('ranges, neq, aliases, generate and percentiles are read', () => {
  assert.deepEqual(body('{type: event_count, rules: [a], timespan: 1m, condition: {gt: 100, lte: 200}}').condition, { gt: 100, lte: 200 });
  assert.deepEqual(body('{type: event_count, rules: [a], timespan: 1m, condition: {neq: 0}}').condition, { neq: 0 });
  const aliased = body(`
type: temporal
rules: [internal_error, new_network_connection]
group-by: [internal_ip]
timespan: 10s
aliases: { internal_ip: { internal_error: destination.ip, new_network_connection: source.ip } }
generate: true
`);
  assert.deepEqual(aliased.aliases, { internal_ip: { internal_error: 'destination.ip', new_network_connection: 'source.ip' } });
  assert.equal(aliased.generate, true);
  const p95 = body('{type: value_percentile, rules: [a], timespan: 1h, condition: {field: Latency, percentile: 95, gte: 500}}');
  assert.equal(p95.percentile, 95);
  assert.deepEqual(p95.condition, { gte: 500 });
  // The specification's own example names no percentile: the median.
  assert.equal(
    body('{type: value_percentile, rules: [process_creation], group-by: [ComputerName], timespan: 24h, condition: {field: image, lte: 1}}')
      .percentile,
    50,
  );
});

test('every violation is an InvalidRuleError naming the key and the problem', () => {
  const cases: [string, RegExp][] = [
    ['{rules: [a], timespan: 1m, condition: {gte: 1}}', /^correlation\.type is required$/],
    ['{type: value_median, rules: [a], timespan: 1m, condition: {gte: 1}}', /correlation\.type "value_median" is not one of event_count, /],
    ['{type: event_count, timespan: 1m, condition: {gte: 1}}', /correlation\.rules must list at least one/],
    ['{type: event_count, rules: [], timespan: 1m, condition: {gte: 1}}', /correlation\.rules must list at least one/],
    ['{type: event_count, rules: [a, 7], timespan: 1m, condition: {gte: 1}}', /correlation\.rules\[1\] must be a rule id or name, not 7/],
    ['{type: event_count, rules: [a], group-by: 3, timespan: 1m, condition: {gte: 1}}', /correlation\.group-by must be a list/],
    ['{type: event_count, rules: [a], condition: {gte: 1}}', /correlation\.timespan is required/],
    [
      '{type: event_count, rules: [a], timespan: 5 minutes, condition: {gte: 1}}',
      /^correlation\.timespan "5 minutes" is not a duration like 5m, 1h or 2d$/,
    ],
    ['{type: event_count, rules: [a], timespan: 300, condition: {gte: 1}}', /correlation\.timespan 300 is not a duration/],
    ['{type: event_count, rules: [a], timespan: 5H, condition: {gte: 1}}', /correlation\.timespan "5H" is not a duration/],
    ['{type: event_count, rules: [a], timespan: 0s, condition: {gte: 1}}', /correlation\.timespan "0s" must be longer than zero/],
    ['{type: event_count, rules: [a], timespan: 1m}', /correlation\.condition is required for event_count/],
    ['{type: value_sum, rules: [a], timespan: 1m}', /correlation\.condition is required for value_sum/],
    ['{type: event_count, rules: [a], timespan: 1m, condition: "gte 3"}', /correlation\.condition must be a map/],
    ['{type: event_count, rules: [a], timespan: 1m, condition: {}}', /correlation\.condition needs a comparison/],
    ['{type: event_count, rules: [a], timespan: 1m, condition: {above: 3}}', /correlation\.condition\.above is not one of gt, gte/],
    ['{type: event_count, rules: [a], timespan: 1m, condition: {gte: ten}}', /correlation\.condition\.gte must be a number, not "ten"/],
    ['{type: value_count, rules: [a], timespan: 1m, condition: {gte: 3}}', /correlation\.condition\.field is required for value_count/],
    ['{type: value_avg, rules: [a], timespan: 1m, condition: {gte: 3, field: []}}', /correlation\.condition\.field must be a field name/],
    [
      '{type: event_count, rules: [a], timespan: 1m, condition: {gte: 3, field: User}}',
      /correlation\.condition\.field applies to value_count, .* not event_count/,
    ],
    [
      '{type: temporal, rules: [a, b], timespan: 1m, condition: {gte: 2, field: User}}',
      /correlation\.condition\.field applies to .* not temporal/,
    ],
    [
      '{type: value_avg, rules: [a], timespan: 1m, condition: {gte: 3, field: n, percentile: 90}}',
      /correlation\.condition\.percentile applies to value_percentile, not value_avg/,
    ],
    [
      '{type: value_percentile, rules: [a], timespan: 1m, condition: {gte: 3, field: n, percentile: 150}}',
      /correlation\.condition\.percentile must be a number from 0 to 100, not 150/,
    ],
    ['{type: temporal, rules: [a], timespan: 1m, aliases: [ip]}', /correlation\.aliases must map each alias/],
    ['{type: temporal, rules: [a], timespan: 1m, aliases: {ip: {}}}', /correlation\.aliases\.ip must map rule names to field names/],
    ['{type: temporal, rules: [a], timespan: 1m, aliases: {ip: {a: 5}}}', /correlation\.aliases\.ip\.a must be a field name, not 5/],
    ['{type: temporal, rules: [a], timespan: 1m, generate: yes}', /correlation\.generate must be true or false, not "yes"/],
    ['{type: temporal, rules: [a], timespan: 1m, group_by: [User]}', /correlation\.group_by is not a correlation key/],
  ];
  for (const [source, message] of cases) {
    assert.throws(
      () => body(source),
      (error: unknown) => error instanceof InvalidRuleError && message.test(error.message) && error.location.file === 'test.yml',
      source,
    );
  }
});

test('pySigma extensions the engine cannot evaluate are UnsupportedError', () => {
  assert.throws(() => body('{type: temporal, rules: [a, b], timespan: 1m, condition: "a and not b"}'), UnsupportedError);
  assert.throws(() => body('{type: value_count, rules: [a], timespan: 1m, condition: {gte: 2, field: [User, Host]}}'), UnsupportedError);
});

// ─── event_count ─────────────────────────────────────────────────────────────────────────────────────

const threeFailures = correlation(`
title: three failures
correlation: { type: event_count, rules: [failed], group-by: [User], timespan: 1m, condition: { gte: 3 } }
`);

test('event_count fires when the count reaches the threshold inside the timespan', () => {
  const alerts = run(
    [threeFailures],
    [
      ['failed', { User: 'alice', n: 1 }, 0],
      ['failed', { User: 'alice', n: 2 }, 20 * SECOND],
      ['failed', { User: 'alice', n: 3 }, 50 * SECOND],
    ],
  );
  assert.equal(alerts.length, 1);
  assert.deepEqual(alerts[0].group, { User: 'alice' });
  assert.equal(alerts[0].value, 3);
  assert.equal(alerts[0].time, 50 * SECOND);
  assert.deepEqual(alerts[0].rules, ['failed']);
  assert.deepEqual(
    alerts[0].events.map((event) => event.get('n')),
    [1, 2, 3],
  );
});

test('event_count stays silent just below the threshold and when the matches are spread wider than the timespan', () => {
  assert.deepEqual(
    run(
      [threeFailures],
      [
        ['failed', { User: 'alice' }, 0],
        ['failed', { User: 'alice' }, 10 * SECOND],
      ],
    ),
    [],
  );
  assert.deepEqual(
    run(
      [threeFailures],
      [
        ['failed', { User: 'alice' }, 0],
        ['failed', { User: 'alice' }, 40 * SECOND],
        ['failed', { User: 'alice' }, 61 * SECOND],
      ],
    ),
    [],
  );
});

test('the window includes both ends: matches exactly one timespan apart correlate', () => {
  const alerts = run(
    [threeFailures],
    [
      ['failed', { User: 'alice' }, 0],
      ['failed', { User: 'alice' }, 30 * SECOND],
      ['failed', { User: 'alice' }, 60 * SECOND],
    ],
  );
  assert.equal(alerts.length, 1);
});

test('a group that fired starts afresh: the same matches never fire twice', () => {
  const steps: Step[] = Array.from({ length: 7 }, (_, i) => ['failed', { User: 'alice' }, i * SECOND]);
  assert.deepEqual(
    run([threeFailures], steps).map((alert) => alert.time),
    [2 * SECOND, 5 * SECOND],
  );
});

test('groups are counted apart, and matches lacking a group-by field count for none', () => {
  const alerts = run(
    [threeFailures],
    [
      ['failed', { User: 'alice' }, 0],
      ['failed', { User: 'bob' }, 1],
      ['failed', { User: 'alice' }, 2],
      ['failed', { User: 'bob' }, 3],
      ['failed', { Host: 'pc1' }, 4],
      ['failed', { User: null }, 5],
      ['failed', { User: 'alice' }, 6],
    ],
  );
  assert.deepEqual(
    alerts.map((alert) => alert.group),
    [{ User: 'alice' }],
  );
});

test('matches of rules a correlation does not reference are ignored', () => {
  assert.deepEqual(
    run(
      [threeFailures],
      [
        ['other', { User: 'alice' }, 0],
        ['other', { User: 'alice' }, 1],
        ['other', { User: 'alice' }, 2],
      ],
    ),
    [],
  );
});

test('a range condition needs every comparison to hold', () => {
  const range = body('{type: event_count, rules: [a], timespan: 1m, condition: {gt: 2, lte: 3}}');
  const alerts = run(
    [range],
    [
      ['a', {}, 0],
      ['a', {}, 1],
      ['a', {}, 2],
    ],
  );
  assert.deepEqual(
    alerts.map((alert) => alert.value),
    [3],
  );
  const never = body('{type: event_count, rules: [a], timespan: 1m, condition: {gt: 2, lt: 3}}');
  assert.deepEqual(
    run(
      [never],
      Array.from({ length: 5 }, (_, i): Step => ['a', {}, i]),
    ),
    [],
  );
});

test('alerts keep at most maxEvents events, the latest, while the count stays exact', () => {
  const hundred = body('{type: event_count, rules: [a], timespan: 1h, condition: {gte: 100}}');
  const engine = new CorrelationEngine([hundred], { maxEvents: 5 });
  const alerts = stream(
    engine,
    Array.from({ length: 100 }, (_, i): Step => ['a', { n: i }, i]),
  );
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0].value, 100);
  assert.deepEqual(
    alerts[0].events.map((event) => event.get('n')),
    [95, 96, 97, 98, 99],
  );
});

test('a burst of matches at the same millisecond counts each one', () => {
  const alerts = run(
    [threeFailures],
    [
      ['failed', { User: 'alice' }, 1000],
      ['failed', { User: 'alice' }, 1000],
      ['failed', { User: 'alice' }, 1000],
    ],
  );
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0].events.length, 3);
});

// ─── value_count ─────────────────────────────────────────────────────────────────────────────────────

const sprayedUsers = correlation(`
title: many users from one host
correlation: { type: value_count, rules: [failed], group-by: [Host], timespan: 1m, condition: { field: User, gte: 3 } }
`);

test('value_count counts distinct values of the field', () => {
  const alerts = run(
    [sprayedUsers],
    [
      ['failed', { Host: 'pc1', User: 'alice' }, 0],
      ['failed', { Host: 'pc1', User: 'alice' }, 1],
      ['failed', { Host: 'pc1', User: 'bob' }, 2],
      ['failed', { Host: 'pc1' }, 3],
      ['failed', { Host: 'pc2', User: 'carol' }, 4],
      ['failed', { Host: 'pc1', User: 'carol' }, 5],
    ],
  );
  assert.equal(alerts.length, 1);
  assert.deepEqual(alerts[0].group, { Host: 'pc1' });
  assert.equal(alerts[0].value, 3);
});

test('value_count forgets values that left the window', () => {
  const alerts = run(
    [sprayedUsers],
    [
      ['failed', { Host: 'pc1', User: 'alice' }, 0],
      ['failed', { Host: 'pc1', User: 'bob' }, 30 * SECOND],
      ['failed', { Host: 'pc1', User: 'carol' }, 90 * SECOND],
      ['failed', { Host: 'pc1', User: 'bob' }, 95 * SECOND],
    ],
  );
  assert.deepEqual(alerts, []);
});

// ─── value_sum, value_avg, value_percentile ──────────────────────────────────────────────────────────

test('value_sum fires once the sum passes the threshold; non-numbers are skipped, numeric strings count', () => {
  const exfiltration = correlation(`
title: exfiltration
correlation: { type: value_sum, rules: [web], group-by: [SourceIP], timespan: 1h, condition: { field: bytes_sent, gt: 1000 } }
`);
  const alerts = run(
    [exfiltration],
    [
      ['web', { SourceIP: '10.0.0.1', bytes_sent: 400 }, 0],
      ['web', { SourceIP: '10.0.0.1', bytes_sent: 'lots' }, 1],
      ['web', { SourceIP: '10.0.0.1', bytes_sent: '500' }, 2],
      ['web', { SourceIP: '10.0.0.1', bytes_sent: 100 }, 3],
    ],
  );
  assert.deepEqual(alerts, []);
  const more = run(
    [exfiltration],
    [
      ['web', { SourceIP: '10.0.0.1', bytes_sent: 400 }, 0],
      ['web', { SourceIP: '10.0.0.1', bytes_sent: '500' }, 2],
      ['web', { SourceIP: '10.0.0.1', bytes_sent: 101 }, 3],
    ],
  );
  assert.deepEqual(
    more.map((alert) => alert.value),
    [1001],
  );
});

test('value_sum subtracts what leaves the window', () => {
  const sum = body('{type: value_sum, rules: [a], timespan: 1m, condition: {field: n, gte: 100}}');
  const alerts = run(
    [sum],
    [
      ['a', { n: 60 }, 0],
      ['a', { n: 30 }, 61 * SECOND],
      ['a', { n: 30 }, 62 * SECOND],
      ['a', { n: 40 }, 63 * SECOND],
    ],
  );
  assert.deepEqual(
    alerts.map((alert) => alert.value),
    [100],
  );
});

test('value_avg compares the mean: just below the threshold is silent, at it fires', () => {
  const steps: Step[] = [
    ['net', { User: 'u', BytesOut: 400 }, 0],
    ['net', { User: 'u', BytesOut: 700 }, 1],
  ];
  assert.deepEqual(
    run([body('{type: value_avg, rules: [net], group-by: [User], timespan: 24h, condition: {field: BytesOut, gt: 550}}')], steps),
    [],
  );
  const alerts = run(
    [body('{type: value_avg, rules: [net], group-by: [User], timespan: 24h, condition: {field: BytesOut, gte: 550}}')],
    steps,
  );
  assert.deepEqual(
    alerts.map((alert) => alert.value),
    [550],
  );
});

test('percentiles interpolate linearly between the closest ranks', () => {
  const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(percentileOf(ten, 0), 1);
  assert.equal(percentileOf(ten, 100), 10);
  assert.equal(percentileOf(ten, 50), 5.5);
  assert.ok(Math.abs(percentileOf(ten, 90) - 9.1) < 1e-9);
  assert.equal(percentileOf([42], 95), 42);
});

test('value_percentile compares the chosen percentile of the values in the window', () => {
  const median = body('{type: value_percentile, rules: [a], timespan: 1h, condition: {field: Latency, gte: 30}}');
  const alerts = run(
    [median],
    [10, 40, 20, 30, 50].map((latency, i): Step => ['a', { Latency: latency }, i]),
  );
  // 10,20,30,40 has median 25; adding 50 makes it 30.
  assert.deepEqual(
    alerts.map((alert) => [alert.value, alert.time]),
    [[30, 4]],
  );
  const p90 = body('{type: value_percentile, rules: [a], timespan: 1h, condition: {field: Latency, percentile: 90, gte: 18}}');
  const tail = run(
    [p90],
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 100].map((latency, i): Step => ['a', { Latency: latency }, i]),
  );
  assert.equal(tail.length, 1);
  assert.ok(Math.abs(tail[0].value - 18.1) < 1e-9); // 9 + 0.1 × (100 − 9)
});

test('value_percentile drops evicted values from its ordering', () => {
  const low = body('{type: value_percentile, rules: [a], timespan: 1m, condition: {field: n, percentile: 0, lte: 5}}');
  const alerts = run(
    [low],
    [
      ['a', { n: 9 }, 0],
      ['a', { n: 7 }, 1],
      ['a', { n: 5 }, 2 * MINUTE],
    ],
  );
  assert.deepEqual(
    alerts.map((alert) => alert.value),
    [5],
  );
});

// ─── temporal, temporal_ordered ──────────────────────────────────────────────────────────────────────

const recon = correlation(`
title: recon
correlation:
    type: temporal
    rules: [recon_cmd_a, recon_cmd_b, recon_cmd_c]
    group-by: [ComputerName, User]
    timespan: 5m
`);

test('temporal fires when every rule matched within the timespan, in any order (the specification example)', () => {
  const alerts = run(
    [recon],
    [
      ['recon_cmd_c', { ComputerName: 'pc1', User: 'eve', cmd: 'c' }, 0],
      ['recon_cmd_a', { ComputerName: 'pc1', User: 'eve', cmd: 'a' }, MINUTE],
      ['recon_cmd_a', { ComputerName: 'pc1', User: 'bob', cmd: 'a' }, MINUTE],
      ['recon_cmd_b', { ComputerName: 'pc1', User: 'eve', cmd: 'b' }, 2 * MINUTE],
    ],
  );
  assert.equal(alerts.length, 1);
  assert.deepEqual(alerts[0].group, { ComputerName: 'pc1', User: 'eve' });
  assert.equal(alerts[0].value, 3);
  assert.deepEqual(alerts[0].rules, ['recon_cmd_a', 'recon_cmd_b', 'recon_cmd_c']);
  assert.deepEqual(
    alerts[0].events.map((event) => event.get('cmd')),
    ['c', 'a', 'b'],
  );
});

test('temporal stays silent with a rule missing or outside the timespan', () => {
  const who = { ComputerName: 'pc1', User: 'eve' };
  assert.deepEqual(
    run(
      [recon],
      [
        ['recon_cmd_a', who, 0],
        ['recon_cmd_a', who, 1],
        ['recon_cmd_b', who, 2],
      ],
    ),
    [],
  );
  assert.deepEqual(
    run(
      [recon],
      [
        ['recon_cmd_a', who, 0],
        ['recon_cmd_b', who, MINUTE],
        ['recon_cmd_c', who, 6 * MINUTE],
      ],
    ),
    [],
  );
});

test('a temporal condition counts how many of the rules matched', () => {
  const twoOfThree = body('{type: temporal, rules: [a, b, c], timespan: 5m, condition: {gte: 2}}');
  const alerts = run(
    [twoOfThree],
    [
      ['a', {}, 0],
      ['a', {}, 1],
      ['c', {}, 2],
    ],
  );
  assert.deepEqual(
    alerts.map((alert) => [alert.value, alert.rules]),
    [[2, ['a', 'c']]],
  );
});

const failThenSucceed = body('{type: temporal_ordered, rules: [failure, success], group-by: [User], timespan: 10m}');

test('temporal_ordered fires only for the listed order', () => {
  const alice = { User: 'alice' };
  assert.equal(
    run(
      [failThenSucceed],
      [
        ['failure', alice, 0],
        ['success', alice, MINUTE],
      ],
    ).length,
    1,
  );
  assert.deepEqual(
    run(
      [failThenSucceed],
      [
        ['success', alice, 0],
        ['failure', alice, MINUTE],
      ],
    ),
    [],
  );
  const late = run(
    [failThenSucceed],
    [
      ['success', alice, 0],
      ['failure', alice, MINUTE],
      ['success', alice, 2 * MINUTE],
    ],
  );
  assert.deepEqual(
    late.map((alert) => alert.time),
    [2 * MINUTE],
  );
  assert.deepEqual(
    run(
      [failThenSucceed],
      [
        ['failure', alice, 0],
        ['success', alice, 11 * MINUTE],
      ],
    ),
    [],
  );
});

test('temporal_ordered over three rules reports the chain in order', () => {
  const chain = body('{type: temporal_ordered, rules: [a, b, c], timespan: 5m}');
  const alerts = run(
    [chain],
    [
      ['a', { step: 'a1' }, 0],
      ['c', { step: 'c-early' }, 1],
      ['a', { step: 'a2' }, 2],
      ['b', { step: 'b' }, 3],
      ['c', { step: 'c' }, 4],
    ],
  );
  assert.equal(alerts.length, 1);
  assert.deepEqual(
    alerts[0].events.map((event) => event.get('step')),
    ['a2', 'b', 'c'],
  );
  assert.equal(alerts[0].value, 3);
});

test('temporal_ordered keeps the latest start so a chain survives as long as possible', () => {
  const chain = body('{type: temporal_ordered, rules: [a, b], timespan: 1m}');
  const alerts = run(
    [chain],
    [
      ['a', {}, 0],
      ['a', {}, 50 * SECOND],
      ['b', {}, 100 * SECOND],
    ],
  );
  assert.equal(alerts.length, 1);
});

// ─── aliases ─────────────────────────────────────────────────────────────────────────────────────────

const errorThenConnection = correlation(`
title: error then connection
correlation:
    type: temporal
    rules:
        - internal_error
        - new_network_connection
    group-by:
        - internal_ip
        - remote_ip
    timespan: 10s
    aliases:
        internal_ip:
            internal_error: destination.ip
            new_network_connection: source.ip
        remote_ip:
            internal_error: source.ip
            new_network_connection: destination.ip
`);

test('aliases read each rule its own field (the specification example)', () => {
  const alerts = run(
    [errorThenConnection],
    [
      [['c0ffee00-0000-4000-8000-000000000001', 'internal_error'], { 'destination.ip': '10.0.0.5', 'source.ip': '203.0.113.9' }, 0],
      ['new_network_connection', { source: { ip: '10.0.0.5' }, destination: { ip: '203.0.113.9' } }, 3 * SECOND],
    ],
  );
  assert.equal(alerts.length, 1);
  assert.deepEqual(alerts[0].group, { internal_ip: '10.0.0.5', remote_ip: '203.0.113.9' });
});

test('aliased fields that do not line up do not correlate', () => {
  const alerts = run(
    [errorThenConnection],
    [
      ['internal_error', { 'destination.ip': '10.0.0.5', 'source.ip': '203.0.113.9' }, 0],
      ['new_network_connection', { 'source.ip': '203.0.113.9', 'destination.ip': '10.0.0.5' }, SECOND],
      ['new_network_connection', { 'source.ip': '10.0.0.5', 'destination.ip': '203.0.113.9' }, 20 * SECOND],
    ],
  );
  assert.deepEqual(alerts, []);
});

// ─── chaining and generate ───────────────────────────────────────────────────────────────────────────

/** The specification's "Failed Logins Followed by Successful Login" example. */
const SPEC_CHAIN = `
title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_login
        - successful_login
    group-by:
        - User
    timespan: 10m
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
name: multiple_failed_login
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - User
    timespan: 10m
    condition:
        gte: 10
`;
const FAILED_LOGIN = ['53ba33fd-3a50-4468-a5ef-c583635cfa92', 'failed_login'];
const SUCCESSFUL_LOGIN = ['4d0a2c83-c62c-4ed4-b475-c7e23a9269b8', 'successful_login'];

function specChain(): CorrelationDocument[] {
  return parseAllDocuments(SPEC_CHAIN).map((document) => {
    const doc = document.toJS() as Record<string, unknown>;
    return parseCorrelation(doc.correlation as Record<string, unknown>, meta(doc));
  });
}

test('a correlation over another correlation: ten failed logins, then a success (the specification example)', () => {
  const steps: Step[] = [
    ...Array.from({ length: 10 }, (_, i): Step => [FAILED_LOGIN, { User: 'alice', EventID: 4625 }, i * SECOND]),
    ...Array.from({ length: 9 }, (_, i): Step => [FAILED_LOGIN, { User: 'bob', EventID: 4625 }, i * SECOND]),
    [SUCCESSFUL_LOGIN, { User: 'bob', EventID: 4624 }, MINUTE],
    [SUCCESSFUL_LOGIN, { User: 'alice', EventID: 4624 }, 2 * MINUTE],
  ];
  const alerts = run(specChain(), steps);
  assert.deepEqual(
    alerts.map((alert) => [alert.correlation.title, alert.group, alert.time]),
    [
      ['Multiple failed logons', { User: 'alice' }, 9 * SECOND],
      ['Correlation - Multiple Failed Logins Followed by Successful Login', { User: 'alice' }, 2 * MINUTE],
    ],
  );
  assert.deepEqual(alerts[1].rules, ['multiple_failed_login', 'successful_login']);
  assert.deepEqual(
    alerts[1].events.map((event) => event.get('User')),
    ['alice', 'alice'],
  );
});

test('a success before the failures completes nothing', () => {
  const steps: Step[] = [
    [SUCCESSFUL_LOGIN, { User: 'alice' }, 0],
    ...Array.from({ length: 10 }, (_, i): Step => [FAILED_LOGIN, { User: 'alice' }, (i + 1) * SECOND]),
  ];
  assert.deepEqual(
    run(specChain(), steps).map((alert) => alert.correlation.title),
    ['Multiple failed logons'],
  );
});

test('a temporal correlation over an event_count correlation fires in the same push that completes both', () => {
  const [outer, inner] = [
    body('{type: temporal, rules: [burst, marker], group-by: [Host], timespan: 1m}'),
    { ...body('{type: event_count, rules: [noise], group-by: [Host], timespan: 1m, condition: {gte: 2}}'), name: 'burst' },
  ];
  const alerts = run(
    [outer, inner],
    [
      ['marker', { Host: 'h' }, 0],
      ['noise', { Host: 'h' }, 1],
      ['noise', { Host: 'h' }, 2],
    ],
  );
  assert.deepEqual(
    alerts.map((alert) => [alert.correlation.name, alert.time]),
    [
      ['burst', 2],
      [undefined, 2],
    ],
  );
});

test('rules referenced only by generate: false correlations are suppressed', () => {
  const engine = new CorrelationEngine(specChain());
  assert.deepEqual([...engine.suppressed].sort(), ['failed_login', 'multiple_failed_login', 'successful_login']);
  assert.equal(engine.isSuppressed(FAILED_LOGIN), true);
  assert.equal(engine.isSuppressed(['unrelated-rule']), false);
  const generating = {
    ...body('{type: event_count, rules: [53ba33fd-3a50-4468-a5ef-c583635cfa92], timespan: 1m, condition: {gte: 5}, generate: true}'),
    title: 'g',
  };
  const mixed = new CorrelationEngine([...specChain(), generating]);
  assert.equal(mixed.suppressed.has('53ba33fd-3a50-4468-a5ef-c583635cfa92'), false);
  // Referenced by name without generate and by id with it: the id wins for the whole rule.
  assert.equal(mixed.isSuppressed(FAILED_LOGIN), false);
  assert.equal(mixed.isSuppressed(SUCCESSFUL_LOGIN), true);
});

test('correlations that reference each other in a cycle are rejected', () => {
  const a = { ...body('{type: event_count, rules: [b], timespan: 1m, condition: {gte: 1}}'), name: 'a', title: 'A' };
  const b = { ...body('{type: event_count, rules: [a], timespan: 1m, condition: {gte: 1}}'), name: 'b', title: 'B' };
  assert.throws(() => new CorrelationEngine([a, b]), /correlation\.rules form a cycle: "A" → "B" → "A"/);
  const self = { ...body('{type: event_count, rules: [me], timespan: 1m, condition: {gte: 1}}'), name: 'me', title: 'Me' };
  assert.throws(() => new CorrelationEngine([self]), InvalidRuleError);
});

// ─── time ────────────────────────────────────────────────────────────────────────────────────────────

test('an out-of-order match inside the window counts; one older than the window is dropped', () => {
  const engine = new CorrelationEngine([threeFailures]);
  const alerts = stream(engine, [
    ['failed', { User: 'alice' }, 10 * MINUTE],
    ['failed', { User: 'alice' }, 2 * MINUTE],
    ['failed', { User: 'alice' }, 3 * MINUTE],
    ['failed', { User: 'alice' }, 10 * MINUTE - 30 * SECOND],
  ]);
  assert.equal(alerts.length, 0);
  const inside = stream(engine, [['failed', { User: 'alice' }, 10 * MINUTE - 10 * SECOND]]);
  assert.deepEqual(
    inside.map((alert) => alert.value),
    [3],
  );
});

test('a match time that is not a number is refused', () => {
  assert.throws(() => new CorrelationEngine([threeFailures]).push(['failed'], objectEvent({ User: 'a' }), NaN), RangeError);
});

test('correlateAll sorts matches by time, keeping the input order of equal times', () => {
  const chain = body('{type: temporal_ordered, rules: [a, b], timespan: 1m}');
  const event = objectEvent({});
  const backwards = correlateAll(
    [chain],
    [
      { refs: ['b'], event, time: 5 },
      { refs: ['a'], event, time: 1 },
    ],
  );
  assert.equal(backwards.length, 1);
  assert.equal(backwards[0].time, 5);
  const sameTime = (first: string, second: string): number =>
    correlateAll(
      [chain],
      [
        { refs: [first], event, time: 3 },
        { refs: [second], event, time: 3 },
      ],
    ).length;
  assert.equal(sameTime('a', 'b'), 1);
  assert.equal(sameTime('b', 'a'), 0);
});

test('memory stays bounded by the timespan over a million matches across many groups', () => {
  const correlations = [
    // One of each kind of group state (value_count and the other value types share event_count's).
    body('{type: event_count, rules: [r], group-by: [Host], timespan: 1s, condition: {gte: 100000}}'),
    body('{type: value_percentile, rules: [r], group-by: [Host], timespan: 1s, condition: {field: n, gte: 100000}}'),
    body('{type: temporal, rules: [r, never], group-by: [Host], timespan: 1s}'),
    body('{type: temporal_ordered, rules: [never, r], group-by: [Host], timespan: 1s}'),
  ];
  const engine = new CorrelationEngine(correlations);
  const hosts = Array.from({ length: 50_000 }, (_, i) => `host${i}`);
  let largest = 0;
  let alerts = 0;
  // 100 matches per second of event time, ten per host in a row; the hosts rotate through 50,000 names, so
  // 100,000 groups come and go, each idle for over an hour before its host comes round again.
  for (let i = 0; i < 1_000_000; i++) {
    const fields = { Host: hosts[Math.floor(i / 10) % hosts.length], n: i % 1000 };
    alerts += engine.push(['r'], objectEvent(fields), i * 10).length;
    if (i % 1000 === 0) largest = Math.max(largest, engine.stateSize());
  }
  assert.equal(alerts, 0);
  // Per correlation, at most the ~200 matches of the last two seconds (plus their groups and samples).
  assert.ok(largest > 0 && largest < 3_000, `state size reached ${largest}`);
  engine.push(['unrelated'], objectEvent({}), 1_000_000 * 10 + 5_000);
  assert.equal(engine.stateSize(), 0);
});

// ─── SigmaHQ ─────────────────────────────────────────────────────────────────────────────────────────

test('every correlation document in the SigmaHQ rules parses', { skip: sharedSkip('sigma') }, (t) => {
  let parsed = 0;
  for (const file of findFiles(sharedPath('sigma'), '.yml')) {
    const text = readFileSync(file, 'utf8');
    if (!text.includes('correlation:')) continue;
    for (const document of parseAllDocuments(text)) {
      const doc = document.toJS() as Record<string, unknown> | null;
      if (doc === null || typeof doc !== 'object' || !('correlation' in doc)) continue;
      const parsedDoc = parseCorrelation(doc.correlation as Record<string, unknown>, { ...meta(doc), location: { file } });
      assert.ok(parsedDoc.rules.length > 0 && parsedDoc.timespanMs > 0, file);
      parsed++;
    }
  }
  if (parsed === 0) t.skip('this SigmaHQ snapshot holds no correlation documents');
});
