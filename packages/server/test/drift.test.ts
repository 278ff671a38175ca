/**
 * Issue 7 end to end on the server: weeks of a fleet's Sysmon telemetry (generated, realistic in
 * shape) through the ingest API; the trojanized vendor update raises behaviour alerts on exactly
 * the hosts that got it (the legitimate update on none), and its advisory returns exactly them.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { C2_DOMAINS, PRODUCT, VENDOR, VERSIONS, supplyChainScenario } from '@firebreak/testkit';
import { startTestServer, type TestServer } from './support/server.js';

const DAY = 24 * 60 * 60 * 1000;
let t: TestServer;
after(() => t?.close());

test(
  'a trojanized update drifts from its baseline on exactly its hosts; its advisory names exactly them',
  { timeout: 300_000 },
  async () => {
    t = await startTestServer({ rules: [] });
    // Recent event times, so the advisory's 30-day retro-hunt covers the C2 contacts.
    const scenario = supplyChainScenario({ hosts: 30, trojanHosts: 3, start: Date.now() - 34 * DAY, seed: 11 });
    let batch: string[] = [];
    let sent = 0;
    const flush = async (): Promise<void> => {
      const answer = await t.request('POST', '/api/v1/ingest?format=flat', { token: t.tokens.ingest, body: batch.join('\n') });
      assert.equal(answer.json.accepted, batch.length, answer.text);
      sent += batch.length;
      batch = [];
    };
    for (const event of scenario.events()) {
      batch.push(JSON.stringify(event.fields));
      if (batch.length === 5000) await flush();
    }
    await flush();
    await t.server.parts.pipeline.drained();

    const { alerts } = (await t.request('GET', '/api/v1/alerts?kind=behavior&limit=1000')).json;
    const alerted = [...new Set(alerts.map((a: { computer: string }) => a.computer))].sort();
    assert.deepEqual(alerted, [...scenario.trojanHosts].sort(), `behaviour alerts over ${sent} events`);
    const first = alerts.find((a: { computer: string }) => a.computer === scenario.trojanHosts[0]);
    assert.match(first.rule_title, /3CX Desktop App 18\.12\.416/);
    assert.match(first.rule_title, /ffmpeg\.dll/i);
    assert.equal(first.details.previous_version, VERSIONS.legit, 'the version change that preceded it');
    assert.ok(first.incident_id !== null, 'the alert is in an incident');

    // The fleet view: the app on its 30 hosts, the trojanized version on 3, the trojan's module on those 3 only.
    const { baselines } = (await t.request('GET', '/api/v1/baselines?app=3cx%20desktop', { token: t.tokens.viewer })).json;
    assert.equal(baselines.length, 1);
    assert.equal(baselines[0].hosts, 30);
    assert.equal(baselines[0].versions.find((v: { version: string }) => v.version === VERSIONS.trojan)?.hosts, 3);
    const ffmpeg = baselines[0].behaviors.filter(
      (b: { kind: string; what: string }) => b.kind === 'module' && b.what.startsWith('ffmpeg.dll|'),
    );
    assert.ok(
      ffmpeg.some((b: { hosts: number }) => b.hosts === 3),
      JSON.stringify(ffmpeg),
    );

    const advisory = { vendor: VENDOR, product: PRODUCT, versions: [VERSIONS.trojan], domains: C2_DOMAINS.map((d) => d.name) };
    const answer = await t.request('POST', '/api/v1/advisories', { token: t.tokens.responder, body: advisory });
    assert.equal(answer.status, 201, answer.text);
    assert.deepEqual(
      answer.json.affected_hosts.map((h: { host: string }) => h.host),
      [...scenario.trojanHosts].sort(),
    );
    for (const host of answer.json.affected_hosts)
      assert.deepEqual([...new Set(host.evidence.map((e: { kind: string }) => e.kind))].sort(), ['domain', 'version'], host.host);
  },
);
