/** Event times: the usual fields, UTC whatever the machine's zone, and nothing out of range. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { objectEvent } from '@firebreak/sigma';
import { eventTime, timeOf } from '../src/index.js';

const at = (fields: Record<string, unknown>): number | undefined => eventTime(objectEvent(fields));
const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

test('ISO 8601 text: with a zone as written, without one as UTC', () => {
  assert.equal(iso(timeOf('2019-02-13T18:01:41.5930000Z')), '2019-02-13T18:01:41.593Z');
  assert.equal(iso(timeOf('2023-03-29 14:02:11')), '2023-03-29T14:02:11.000Z');
  assert.equal(iso(timeOf('2023-03-29T14:02:11+02:00')), '2023-03-29T12:02:11.000Z');
  assert.equal(iso(timeOf('2023-03-29')), '2023-03-29T00:00:00.000Z');
});

test('numbers: seconds or milliseconds since the epoch, as numbers or digits', () => {
  assert.equal(iso(timeOf(1700000000)), '2023-11-14T22:13:20.000Z');
  assert.equal(iso(timeOf(1700000000.5)), '2023-11-14T22:13:20.500Z');
  assert.equal(iso(timeOf(1700000000123)), '2023-11-14T22:13:20.123Z');
  assert.equal(iso(timeOf('1700000000')), '2023-11-14T22:13:20.000Z');
});

test('what is no time gives undefined, never an unprintable date', () => {
  for (const value of [1e300, -1e300, Infinity, NaN, '1e300', 'yesterday', '2023-13-45', '12:00', true, null, {}, 'x'.repeat(100_000)])
    assert.equal(timeOf(value), undefined, String(value).slice(0, 20));
});

test('the first field holding a readable time wins', () => {
  assert.equal(iso(at({ TimeCreated_SystemTime: 'garbage', '@timestamp': '2020-01-01T00:00:00Z' })), '2020-01-01T00:00:00.000Z');
  assert.equal(iso(at({ ts: 1600000000.25 })), '2020-09-13T12:26:40.250Z');
  assert.equal(at({ time: 1e300 }), undefined);
  assert.equal(at({ Image: 'x' }), undefined);
});

test('times without a zone do not depend on the machine zone', async () => {
  const { spawnSync } = await import('node:child_process');
  const script = `import('${new URL('../src/index.js', import.meta.url).href}').then((m) => console.log(m.timeOf('2023-03-29 14:02:11')))`;
  const run = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, TZ: 'America/New_York' }, encoding: 'utf8' });
  assert.equal(Number(run.stdout.trim()), Date.UTC(2023, 2, 29, 14, 2, 11));
});
