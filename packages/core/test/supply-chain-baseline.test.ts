/**
 * Behaviour baselines: the learning window on event time, the fleet view of a behaviour, and the
 * structures that keep 10,000 hosts × 200 applications in bounded memory.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appKey, BehaviorBaselines, DriftDetector, HostIds, HostSet, LruMap, type DriftAlert } from '../src/index.js';

const SYSMON = 'Microsoft-Windows-Sysmon/Operational';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Years before any wall clock this runs on: learning must go by event time. */
const T0 = Date.UTC(2019, 0, 7, 9);
const IMAGE = 'C:\\Program Files\\Acme\\Softphone\\softphone.exe';
const APP = appKey('Acme', 'Softphone');

/** A small fleet's softphone: process starts, and children started by them. */
class Fleet {
  readonly alerts: DriftAlert[] = [];
  private next = 1;
  constructor(readonly detector: DriftDetector) {}

  start(host: string, time: number, version = '1.0'): string {
    const guid = `{00000000-0000-0000-0000-${String(this.next++).padStart(12, '0')}}`;
    this.observe(host, time, { EventID: 1, ProcessGuid: guid, Image: IMAGE, Company: 'Acme', Product: 'Softphone', FileVersion: version });
    return guid;
  }

  child(host: string, time: number, parent: string, image: string): void {
    const guid = `{00000000-0000-0000-0000-${String(this.next++).padStart(12, '0')}}`;
    this.observe(host, time, { EventID: 1, ProcessGuid: guid, Image: image, ParentProcessGuid: parent, ParentImage: IMAGE });
  }

  private observe(host: string, time: number, fields: Record<string, unknown>): void {
    this.alerts.push(...this.detector.observe({ host, time, fields: { Channel: SYSMON, ...fields } }));
  }
}

test('no drift while an application learns; its window runs on event time from its first event', () => {
  // A threshold of 1: every drift signal on its own raises an alert, so silence means no signal.
  const fleet = new Fleet(new DriftDetector({ threshold: 1 }));
  const a = fleet.start('ws-a', T0);
  fleet.child('ws-a', T0 + HOUR, a, 'C:\\Windows\\System32\\cmd.exe');
  fleet.child('ws-a', T0 + 7 * DAY - HOUR, a, 'C:\\Windows\\System32\\notepad.exe');
  assert.equal(fleet.alerts.length, 0);
  fleet.child('ws-a', T0 + 7 * DAY + HOUR, a, 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe');
  // A shell (5) and a first across the fleet (1), times 0.75: one new child (notepad) came in the last half of learning.
  assert.deepEqual(
    fleet.alerts.map((alert) => [alert.host, alert.signals.map((s) => `${s.kind} ${s.what} ${s.weight}`)]),
    [['ws-a', ['child powershell.exe 4.5']]],
  );
  assert.match(
    fleet.alerts[0]!.title,
    /^Softphone 1\.0 started powershell\.exe, a shell or LOLBin it never started before, a first for this app across 1 host$/,
  );
  // What it learned is known on every host, however late the host joins.
  const b = fleet.start('ws-b', T0 + 9 * DAY);
  fleet.child('ws-b', T0 + 9 * DAY + HOUR, b, 'C:\\Windows\\System32\\cmd.exe');
  fleet.child('ws-b', T0 + 9 * DAY + 2 * HOUR, b, 'C:\\Windows\\System32\\notepad.exe');
  assert.equal(fleet.alerts.length, 1);
  // An application first seen later learns from its own first event.
  const other = fleet.detector.observe({
    host: 'ws-a',
    time: T0 + 10 * DAY,
    fields: {
      Channel: SYSMON,
      EventID: 1,
      ProcessGuid: '{00000000-0000-0000-0000-0000000000aa}',
      Image: 'C:\\Apps\\viewer.exe',
      Company: 'Other',
      Product: 'Viewer',
    },
  });
  assert.deepEqual(other, []);
  const viewer = fleet.detector.baselines.get(appKey('Other', 'Viewer'))!;
  assert.equal(viewer.learning(T0 + 16 * DAY), true);
  assert.equal(viewer.learning(T0 + 17 * DAY), false);
});

test('history that arrives late moves the start of learning back to its event time', () => {
  const fleet = new Fleet(new DriftDetector({ threshold: 1 }));
  // Live events from day 5 first; then a host's upload from day 0 arrives.
  const live = fleet.start('ws-a', T0 + 5 * DAY);
  const app = fleet.detector.baselines.get(APP)!;
  assert.equal(app.learning(T0 + 11 * DAY), true);
  fleet.start('ws-b', T0);
  assert.equal(app.firstSeen, T0);
  assert.equal(app.learning(T0 + 7 * DAY), false);
  fleet.child('ws-a', T0 + 7 * DAY + HOUR, live, 'C:\\Windows\\System32\\cmd.exe');
  assert.deepEqual(
    fleet.alerts.map((alert) => alert.host),
    ['ws-a'],
  );
});

test('the fleet view: on how many of the application’s hosts a behaviour was seen, and whether it is baseline', () => {
  const fleet = new Fleet(new DriftDetector());
  for (const host of ['ws-a', 'ws-b', 'ws-c']) fleet.start(host, T0);
  fleet.child('ws-a', T0 + HOUR, fleet.start('ws-a', T0 + HOUR), 'C:\\Windows\\System32\\cmd.exe');
  fleet.child('ws-b', T0 + 8 * DAY, fleet.start('ws-b', T0 + 8 * DAY, '1.1'), 'C:\\Windows\\System32\\cmd.exe');
  const baselines = fleet.detector.baselines;
  assert.deepEqual(baselines.lookup(APP, 'child', 'cmd.exe'), {
    known: true,
    learned: true,
    firstSeen: T0 + HOUR,
    hosts: 2,
    appHosts: 3,
    versions: ['1.0', '1.1'],
  });
  assert.deepEqual(baselines.lookup(APP, 'child', 'calc.exe'), {
    known: false,
    learned: false,
    firstSeen: null,
    hosts: 0,
    appHosts: 3,
    versions: [],
  });
  assert.equal(baselines.lookup('nobody|nothing', 'child', 'cmd.exe'), null);
});

test('a host set stays a set, in the smaller of a list and a bitset', () => {
  let state = 7;
  const random = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % n;
  };
  for (const [range, adds] of [
    [50, 20],
    [20_000, 300],
    [5_000, 20_000],
  ] as const) {
    const set = new HostSet();
    const reference = new Set<number>();
    for (let i = 0; i < adds; i++) {
      const id = random(range);
      assert.equal(set.add(id), !reference.has(id));
      reference.add(id);
    }
    assert.equal(set.size, reference.size);
    assert.deepEqual(
      [...set],
      [...reference].sort((a, b) => a - b),
    );
    for (let id = 0; id < range; id += 7) assert.equal(set.has(id), reference.has(id));
    const copy = HostSet.fromJSON(JSON.parse(JSON.stringify(set)));
    assert.deepEqual([...copy], [...set]);
    assert.equal(copy.size, set.size);
  }
  const few = new HostSet();
  for (const id of [9_000, 3, 42]) few.add(id);
  assert.equal(few.bytes, 24);
  const all = new HostSet();
  for (let id = 0; id < 10_000; id++) all.add(id);
  assert.ok(all.bytes <= 1_400, `${all.bytes} bytes for 10,000 hosts`);
  assert.throws(() => all.add(-1), /host id -1/);
});

test('host ids: interned case-insensitively, named as first seen', () => {
  const hosts = new HostIds();
  assert.equal(hosts.id('WS-01.acme.local'), 0);
  assert.equal(hosts.id('ws-01.ACME.local'), 0);
  assert.equal(hosts.id('ws-02'), 1);
  assert.equal(hosts.name(0), 'WS-01.acme.local');
  assert.equal(HostIds.fromJSON(hosts.toJSON()).find('WS-02'), 1);
  assert.throws(() => hosts.name(5), /no host has id 5/);
});

test('an LRU map holds its capacity, dropping the least recently used', () => {
  const map = new LruMap<string, number>(2);
  map.set('a', 1);
  map.set('b', 2);
  map.get('a');
  map.set('c', 3);
  assert.deepEqual(
    [...map.entries()],
    [
      ['a', 1],
      ['c', 3],
    ],
  );
  assert.throws(() => new LruMap(0), /capacity 0/);
});

test('behaviours per application and applications are capped; new ones past the cap still count as new', () => {
  const baselines = new BehaviorBaselines({ maxApps: 2, maxBehaviorsPerApp: 3 });
  const app = baselines.app({ key: 'a|one', vendor: 'a', product: 'one' }, T0)!;
  baselines.app({ key: 'a|two', vendor: 'a', product: 'two' }, T0);
  assert.equal(baselines.app({ key: 'a|three', vendor: 'a', product: 'three' }, T0), null);
  for (const what of ['x.example', 'y.example', 'z.example']) assert.ok(app.record('destination', what, 0, 0, T0).record);
  const past = app.record('destination', 'w.example', 0, 0, T0 + 8 * DAY);
  assert.deepEqual(past, { record: null, isNew: true, hostNew: true, hostsBefore: 0 });
  assert.equal(app.behaviors.size, 3);
  assert.throws(() => new BehaviorBaselines({ learningMs: 0 }), /learningMs must be a positive number/);
});

test('open episodes are capped: the oldest go first', () => {
  const fleet = new Fleet(new DriftDetector({ maxEpisodes: 3 }));
  const parents = ['a', 'b', 'c', 'd', 'e'].map((host) => [host, fleet.start(host, T0)] as const);
  for (const [n, [host, parent]] of parents.entries()) fleet.child(host, T0 + 8 * DAY + n * HOUR, parent, 'C:\\Windows\\System32\\cmd.exe');
  const episodes = fleet.detector.snapshot().episodes;
  assert.deepEqual(
    episodes.map(([key]) => fleet.detector.hosts.name(Number(key.split(':')[0]))),
    ['c', 'd', 'e'],
  );
});

test('hosts are capped: events of hosts past the cap are left alone, known hosts go on', () => {
  const fleet = new Fleet(new DriftDetector({ maxHosts: 2, threshold: 1 }));
  const a = fleet.start('ws-a', T0);
  fleet.start('ws-b', T0);
  const c = fleet.start('ws-c', T0);
  assert.deepEqual(fleet.detector.hosts.toJSON(), ['ws-a', 'ws-b']);
  assert.equal(fleet.detector.baselines.get(APP)!.hosts.size, 2);
  fleet.child('ws-c', T0 + 8 * DAY, c, 'C:\\Windows\\System32\\cmd.exe');
  fleet.child('WS-A', T0 + 8 * DAY, a, 'C:\\Windows\\System32\\cmd.exe');
  assert.deepEqual(
    fleet.alerts.map((alert) => alert.host),
    ['ws-a'],
  );
});
