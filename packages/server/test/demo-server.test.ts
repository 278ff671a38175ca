/** `firebreak demo`'s loader on a real server: the scenario raises its alerts and one cross-host incident, once per store. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEMO_DIR, loadDemo, shiftTimes } from '@firebreak/server';
import { startTestServer } from './support/server.js';

const scenario = JSON.parse(readFileSync(join(DEMO_DIR, 'scenario.json'), 'utf8')) as {
  end: string;
  expect: { rules: string[]; minAlerts: number };
};

test('times are shifted in every spelling the demo uses', () => {
  const hour = 3_600_000;
  assert.equal(shiftTimes('"SystemTime":"2023-03-29T09:00:13.623506Z"', hour), '"SystemTime":"2023-03-29T10:00:13.623506Z"');
  assert.equal(shiftTimes('"UtcTime":"2023-03-29 23:30:00.123"', hour), '"UtcTime":"2023-03-30 00:30:00.123"');
  assert.equal(shiftTimes('<86>1 2023-03-29T09:05:01.201+02:00 host', hour), '<86>1 2023-03-29T10:05:01.201+02:00 host');
  assert.equal(shiftTimes('msg=audit(1680080701.200:18842):', hour), 'msg=audit(1680084301.200:18842):');
});

test('the demo loads once and ends in alerts of every expected rule and one incident across both workstations', async () => {
  const t = await startTestServer({ rules: undefined });
  try {
    const now = Date.now();
    const result = await loadDemo(t.server.parts, now);
    assert.equal(result.loaded, true);
    assert.equal(result.rejected, 0);
    const { alerts } = (await t.request('GET', '/api/v1/alerts?limit=1000', { token: t.tokens.viewer })).json;
    assert.ok(alerts.length >= scenario.expect.minAlerts, `${alerts.length} alerts`);
    const fired = new Set(alerts.map((a: { rule_id: string }) => a.rule_id));
    for (const rule of scenario.expect.rules) assert.ok(fired.has(rule), `rule ${rule} fired`);
    const latest = Math.max(...alerts.map((a: { timestamp: string }) => Date.parse(a.timestamp)));
    // The scenario's last alert comes a few minutes before its last event, which is now.
    assert.ok(now - latest >= 0 && now - latest < 15 * 60_000, 'the scenario ends now');
    const { incidents } = (await t.request('GET', '/api/v1/incidents', { token: t.tokens.viewer })).json;
    const spread = incidents.find((i: { hosts: string[] }) => i.hosts.includes('WS-ACCT-07') && i.hosts.includes('WS-SALES-02'));
    assert.ok(spread, 'one incident spans both workstations');
    assert.equal((await loadDemo(t.server.parts)).loaded, false, 'a second load is refused');
    assert.equal((await t.request('GET', '/api/v1/stats', { token: t.tokens.viewer })).json.store.alerts, alerts.length);
  } finally {
    await t.close();
  }
});
