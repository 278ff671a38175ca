/**
 * Behaviour drift on a fleet's generated Sysmon telemetry (@firebreak/testkit's supply-chain-telemetry.ts): weeks
 * of ordinary work, a legitimate 3CX update on every host, then the trojanized 18.12.416 on a subset.
 * Events go to the detector in event-time order, as the server would replay them; the generator's
 * ground truth (which hosts got the trojan, which events are malicious) is never shown to it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appKey, DriftDetector, moduleWhat, type DriftAlert, type DriftOptions } from '../src/index.js';
import {
  GITHUB_RAW,
  PRODUCT,
  supplyChainScenario,
  TROJAN_SHA256,
  VENDOR,
  VERSIONS,
  type TelemetryEvent,
  type TelemetryOptions,
} from '@firebreak/testkit';

const APP = appKey(VENDOR, PRODUCT);
const DAY = 86_400_000;

interface Run {
  detector: DriftDetector;
  /** Every alert with the position (1-based) of the event that raised it. */
  alerts: { at: number; alert: DriftAlert }[];
  /** Per trojan host: the position of its first malicious event and of its next event after that. */
  firstMalicious: Map<string, number>;
  nextAfterMalicious: Map<string, number>;
  /** Event time of the first event of 3CX. */
  firstAppEvent: number;
}

function run(events: Iterable<TelemetryEvent>, detector = new DriftDetector()): Run {
  const result: Run = { detector, alerts: [], firstMalicious: new Map(), nextAfterMalicious: new Map(), firstAppEvent: Infinity };
  let at = 0;
  for (const event of events) {
    at++;
    if (result.firstMalicious.has(event.host) && !result.nextAfterMalicious.has(event.host)) result.nextAfterMalicious.set(event.host, at);
    if (event.malicious && !result.firstMalicious.has(event.host)) result.firstMalicious.set(event.host, at);
    if (event.fields.Product === PRODUCT) result.firstAppEvent = Math.min(result.firstAppEvent, event.time);
    for (const alert of detector.observe(event)) result.alerts.push({ at, alert });
  }
  return result;
}

const raised = (r: Run): DriftAlert[] => r.alerts.filter(({ alert }) => alert.revision === 0).map(({ alert }) => alert);
const hostsOf = (alerts: DriftAlert[]): string[] => [...new Set(alerts.map((a) => a.host))].sort();

const fleet = supplyChainScenario();
const fleetRun = run(fleet.events());

test('the trojanized update raises behaviour alerts on exactly the hosts that got it', () => {
  assert.equal(fleet.hosts.length, 200);
  assert.equal(fleet.trojanHosts.length, 12);
  assert.deepEqual(hostsOf(raised(fleetRun)), fleet.trojanHosts);
  for (const { alert } of fleetRun.alerts) {
    assert.equal(alert.kind, 'behavior');
    assert.equal(alert.appKey, APP);
    assert.equal(alert.version, VERSIONS.trojan);
    assert.equal(alert.previousVersion, VERSIONS.legit);
    assert.ok(alert.eventTime >= fleet.trojanAt.get(alert.host)!, `${alert.host} alerted before the trojan reached it`);
  }
});

test('each trojan host alerts at its first drifting event or the next one', () => {
  for (const host of fleet.trojanHosts) {
    const first = fleetRun.alerts.find(({ alert }) => alert.host === host)!;
    const drift = fleetRun.firstMalicious.get(host)!;
    const next = fleetRun.nextAfterMalicious.get(host)!;
    assert.ok(first.at >= drift && first.at <= next, `${host}: alert at event ${first.at}, first drift at ${drift}, next event at ${next}`);
  }
});

test('one alert per host and episode; revisions carry its dedup key and a growing score', () => {
  const byKey = new Map<string, DriftAlert[]>();
  for (const { alert } of fleetRun.alerts) byKey.set(alert.dedupKey, [...(byKey.get(alert.dedupKey) ?? []), alert]);
  for (const [key, alerts] of byKey) {
    assert.deepEqual(
      alerts.map((a) => a.revision),
      alerts.map((_, i) => i),
      key,
    );
    assert.equal(new Set(alerts.map((a) => a.host)).size, 1, key);
    for (let i = 1; i < alerts.length; i++) assert.ok(alerts[i]!.score > alerts[i - 1]!.score, key);
  }
  // The first episode of every trojan host: its first alert and everything that joined it that day.
  for (const host of fleet.trojanHosts)
    assert.ok([...byKey.keys()].some((key) => key.startsWith(`behavior|${host.toLowerCase()}|${APP}|`)));
});

test('the alert says what is new, the baseline it was compared with and the version change', () => {
  const first = raised(fleetRun)[0]!;
  const ffmpeg = moduleWhat('ffmpeg.dll', TROJAN_SHA256.ffmpeg.toLowerCase());
  const module = first.signals.find((s) => s.kind === 'module' && s.what === ffmpeg);
  assert.ok(module, JSON.stringify(first.signals));
  assert.equal(module.firstSeenFleet, true);
  assert.match(module.text, /^loaded ffmpeg\.dll with a hash no host had before .*unsigned.*where it was signed by 3CX Ltd before$/);
  const version = first.signals.find((s) => s.kind === 'version');
  assert.equal(version?.what, VERSIONS.trojan);
  assert.equal(version?.text, `updated from ${VERSIONS.legit} to ${VERSIONS.trojan}, a version no other host runs`);
  assert.equal(
    first.title.split(' with a hash')[0],
    `${PRODUCT} ${VERSIONS.trojan} (after ${VERSIONS.legit}) loaded ffmpeg.dll`,
    first.title,
  );
  assert.deepEqual(first.baseline, {
    learnedFrom: 200,
    since: fleetRun.firstAppEvent,
    versions: [VERSIONS.baseline, VERSIONS.legit, VERSIONS.trojan],
  });
  assert.ok(first.score >= 7, `score ${first.score}`);

  // Later revisions add the fetch from GitHub: the first host to do it is told it is a first across the fleet.
  const github = fleetRun.alerts
    .map(({ alert }) => alert.signals.find((s) => s.kind === 'destination' && s.what === GITHUB_RAW.name && s.firstSeenFleet))
    .find((signal) => signal !== undefined);
  assert.equal(github?.text, `resolved ${GITHUB_RAW.name}, a first for this app across 200 hosts`);
  const revised = fleetRun.alerts.find(({ alert }) => alert.signals.includes(github!))!.alert;
  assert.match(
    revised.title,
    /loaded ffmpeg\.dll with a hash .*, then resolved raw\.githubusercontent\.com, a first for this app across 200 hosts/,
  );
});

test('rarity: the first host to load the hash hears it is a first, each later one how many hosts had it', () => {
  const ffmpeg = moduleWhat('ffmpeg.dll', TROJAN_SHA256.ffmpeg.toLowerCase());
  // Each trojan host's first alert, in the order they were raised.
  const firsts = fleet.trojanHosts
    .map((host) => fleetRun.alerts.find(({ alert }) => alert.host === host)!)
    .sort((a, b) => a.at - b.at)
    .map(({ alert }) => alert);
  const signals = firsts.map((alert) => alert.signals.find((s) => s.what === ffmpeg)!);
  assert.deepEqual(
    signals.map((s) => s.hostsBefore),
    signals.map((_, i) => i),
  );
  assert.deepEqual(
    signals.map((s) => s.firstSeenFleet),
    signals.map((_, i) => i === 0),
  );
  // The more hosts had the hash, the less its novelty weighs (to 2 decimals); its lost signature weighs the same on all.
  for (let i = 1; i < signals.length; i++) assert.ok(signals[i]!.weight <= signals[i - 1]!.weight, `signal ${i} weighs more than ${i - 1}`);
  assert.ok(signals.at(-1)!.weight < signals[1]!.weight && signals[1]!.weight < signals[0]!.weight);

  const baselines = fleetRun.detector.baselines;
  const hash = baselines.lookup(APP, 'module', ffmpeg)!;
  assert.equal(hash.hosts, fleet.trojanHosts.length);
  assert.equal(hash.appHosts, 200);
  assert.equal(hash.learned, false);
  assert.deepEqual(hash.versions, [VERSIONS.trojan]);
  const pbx = baselines.lookup(APP, 'destination', 'acme.3cx.eu')!;
  assert.equal(pbx.hosts, 200);
  assert.equal(pbx.learned, true);
  assert.deepEqual([...pbx.versions].sort(), [VERSIONS.baseline, VERSIONS.legit, VERSIONS.trojan]);
});

test('a legitimate update alone raises nothing on any host, nor does the rest of the fleet', () => {
  const legit = supplyChainScenario({ trojanHosts: 0 });
  const legitRun = run(legit.events());
  assert.deepEqual(legitRun.alerts, []);
  // The update was seen: every host moved to it, with new hashes of the same signed modules.
  const app = legitRun.detector.baselines.get(APP)!;
  assert.equal(app.versions.find((v) => v.name === VERSIONS.legit)?.hosts.size, 200);
  const libEgl = [...app.behaviors.values()].filter((b) => b.kind === 'module' && b.what.startsWith('libegl.dll|'));
  assert.deepEqual(
    libEgl.map((b) => [b.hosts.size, app.learned(b)]),
    [
      [200, true],
      [200, false],
    ],
  );
  // And the harmless novelties after learning (Outlook printing, reaching Teams) were seen, and stayed quiet.
  const outlook = legitRun.detector.baselines.get(appKey('Microsoft Corporation', 'Microsoft Outlook'))!;
  assert.equal(outlook.behavior('child', 'splwow64.exe')?.hosts.size, 3);
  assert.equal(outlook.behavior('destination', 'teams.microsoft.com')?.hosts.size, 2);
});

test('nothing is raised while the application learns, even the trojan', () => {
  const early: TelemetryOptions = { hosts: 40, trojanHosts: 4, baselineDays: 2, updateDays: 1, trojanDay: 4, trojanDays: 1, days: 7 };
  const scenario = supplyChainScenario(early);
  const learning = run(scenario.events());
  assert.deepEqual(learning.alerts, []);
  const hash = learning.detector.baselines.lookup(APP, 'module', moduleWhat('ffmpeg.dll', TROJAN_SHA256.ffmpeg.toLowerCase()))!;
  assert.equal(hash.hosts, 4);
  assert.equal(hash.learned, true);
  // The same week with a two-day learning window: the trojan is drift, on exactly its hosts.
  const short = run(scenario.events(), new DriftDetector({ learningMs: 2 * DAY }));
  assert.deepEqual(hostsOf(raised(short)), scenario.trojanHosts);
});

/** Every application's behaviours with their hosts by name (host ids depend on the order hosts were first seen). */
function namedBaselines(detector: DriftDetector): unknown {
  const names = (ids: Iterable<number>): string[] => [...ids].map((id) => detector.hosts.name(id)).sort();
  return [...detector.baselines.apps()]
    .map((app) => ({
      key: app.key,
      firstSeen: app.firstSeen,
      hosts: names(app.hosts),
      lateLearned: app.lateLearned(),
      versions: app.versions.map((v) => ({ name: v.name, firstSeen: v.firstSeen, hosts: names(v.hosts) })),
      behaviors: [...app.behaviors.values()]
        .map((b) => ({ ...b, hosts: names(b.hosts) }))
        .sort((a, b) => (a.kind + a.what < b.kind + b.what ? -1 : 1)),
    }))
    .sort((a, b) => (a.key < b.key ? -1 : 1));
}

const small: TelemetryOptions = { hosts: 50, trojanHosts: 5 };

test('history fed host by host, out of time order, builds the same baselines and raises the same alerts', () => {
  const scenario = supplyChainScenario(small);
  const inOrder = run(scenario.events());
  // The learning week arrives as per-host uploads, one host after the other; the rest live.
  const learningEnd = scenario.start + 7 * DAY;
  const all = [...scenario.events()];
  const byHost = new Map<string, TelemetryEvent[]>();
  for (const event of all.filter((e) => e.time < learningEnd)) byHost.set(event.host, [...(byHost.get(event.host) ?? []), event]);
  const uploaded = [...[...byHost.values()].reverse().flat(), ...all.filter((e) => e.time >= learningEnd)];
  assert.notDeepEqual(
    uploaded.map((e) => e.time),
    all.map((e) => e.time),
  );
  const replayed = run(uploaded);
  assert.equal(hostsOf(raised(replayed)).length, 5);
  assert.deepEqual(
    replayed.alerts.map(({ alert }) => alert),
    inOrder.alerts.map(({ alert }) => alert),
  );
  assert.deepEqual(namedBaselines(replayed.detector), namedBaselines(inOrder.detector));
});

test('a restarted detector restores its snapshot and goes on as if it had never stopped', () => {
  const scenario = supplyChainScenario(small);
  const uninterrupted = run(scenario.events());
  const options: DriftOptions = {};
  let detector = new DriftDetector(options);
  const alerts: DriftAlert[] = [];
  const restartAt = [...scenario.trojanAt.values()].sort((a, b) => a - b)[0]! - DAY;
  let restarted = false;
  for (const event of scenario.events()) {
    if (!restarted && event.time >= restartAt) {
      const saved = JSON.stringify(detector.snapshot());
      detector = DriftDetector.restore(JSON.parse(saved), options);
      restarted = true;
    }
    alerts.push(...detector.observe(event));
  }
  assert.ok(restarted);
  assert.ok(alerts.length > 0);
  assert.deepEqual(
    alerts,
    uninterrupted.alerts.map(({ alert }) => alert),
  );
});
