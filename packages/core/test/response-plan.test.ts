/** planResponse: conditions, parameters from the event, guardrails, and merging several playbooks. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  matchPlaybook,
  parsePlaybook,
  planResponse,
  type PlannedAction,
  type Playbook,
  type ResponseGuard,
  type ResponseTrigger,
} from '../src/index.js';

const SHA = 'ab12cd34ef56'.padEnd(64, '0');
const SERVER = '10.9.0.1';
const GUARD: ResponseGuard = { isolationsInLastHour: 0, serverAddresses: [SERVER, 'fb.example.org'] };

interface TriggerChanges {
  alert?: Partial<ResponseTrigger['alert']>;
  incident?: Partial<NonNullable<ResponseTrigger['incident']>> | null;
  agent?: Partial<NonNullable<ResponseTrigger['agent']>> | null;
  indicatorHit?: boolean;
}

/** A beacon from a trojanized helper in /tmp on web-1: the process event of a C2 connection. */
function trigger(changes: TriggerChanges = {}): ResponseTrigger {
  const incident = { id: 7, score: 80 };
  const agent = { id: 'agent-1', hostname: 'web-1', tags: ['linux-server'], isolated: false };
  return {
    alert: {
      id: 41,
      ruleId: 'c2-beacon',
      level: 'high',
      kind: 'sigma',
      tags: ['attack.command-and-control', 'attack.t1071.001'],
      computer: 'web-1',
      matched: {},
      ...changes.alert,
    },
    fields: {
      ProcessId: 4242,
      ProcessStartTicks: 918273,
      Image: '/tmp/.x/upd',
      Hashes: `MD5=0123456789abcdef0123456789abcdef,SHA256=${SHA.toUpperCase()}`,
      DestinationIp: '198.51.100.23',
      DestinationPort: 443,
      DestinationHostname: 'Update.Vendor-CDN.example.',
    },
    incident: changes.incident === null ? null : { ...incident, ...changes.incident },
    agent: changes.agent === null ? null : { ...agent, ...changes.agent },
    indicatorHit: changes.indicatorHit ?? false,
  };
}

function playbook(lines: string[], id = 'p'): Playbook {
  return parsePlaybook([`id: ${id}`, `title: ${id}`, ...lines].join('\n'), `${id}.yml`);
}

/** A playbook answering every high alert with `actions`, then `extra` keys. */
function answering(actions: string[], extra: string[] = [], id = 'p'): Playbook {
  return playbook(['when: { min_level: high }', 'mode: automatic', 'actions:', ...actions.map((a) => `  - ${a}`), ...extra], id);
}

const summary = (actions: PlannedAction[]) => actions.map((a) => `${a.type}${a.fleet ? ' (fleet)' : ''}`);

test('every condition must hold, and each can fail', () => {
  const cases: { when: string; holds: ResponseTrigger; fails: ResponseTrigger; text: RegExp }[] = [
    { when: 'rule_ids: [other, c2-beacon]', holds: trigger(), fails: trigger({ alert: { ruleId: 'x' } }), text: /^rule c2-beacon$/ },
    {
      when: 'tags: [attack.command-and-control]',
      holds: trigger(),
      fails: trigger({ alert: { tags: ['attack.execution'] } }),
      text: /^tag attack\.command-and-control$/,
    },
    {
      when: 'tags: [attack.t1071*]',
      holds: trigger({ alert: { tags: ['ATTACK.T1071.004'] } }),
      fails: trigger({ alert: { tags: ['attack.t1059.004', 'xattack.t1071'] } }),
      text: /^tag ATTACK\.T1071\.004 \(attack\.t1071\*\)$/,
    },
    {
      when: 'tags: [Attack.Command-And-Control]',
      holds: trigger(),
      fails: trigger({ alert: { tags: [] } }),
      text: /^tag attack\.command-and-control$/,
    },
    {
      when: 'min_level: high',
      holds: trigger({ alert: { level: 'critical' } }),
      fails: trigger({ alert: { level: 'medium' } }),
      text: /^level critical ≥ high$/,
    },
    { when: 'kinds: [ioc, correlation]', holds: trigger({ alert: { kind: 'ioc' } }), fails: trigger(), text: /^kind ioc$/ },
    { when: 'min_incident_score: 80', holds: trigger(), fails: trigger({ incident: { score: 79 } }), text: /^incident 7 score 80 ≥ 80$/ },
    { when: 'min_incident_score: 10', holds: trigger(), fails: trigger({ incident: null }), text: /score/ },
    { when: 'indicator_hit: true', holds: trigger({ indicatorHit: true }), fails: trigger(), text: /^indicator hit$/ },
    { when: 'indicator_hit: false', holds: trigger(), fails: trigger({ indicatorHit: true }), text: /^no indicator hit$/ },
    {
      when: 'asset_tags: [Linux-Server, db]',
      holds: trigger(),
      fails: trigger({ agent: { tags: ['workstation'] } }),
      text: /^host tagged linux-server$/,
    },
    { when: 'asset_tags: [linux-server]', holds: trigger(), fails: trigger({ agent: null }), text: /^host tagged/ },
  ];
  for (const { when, holds, fails, text } of cases) {
    const p = playbook(['when:', `  ${when}`, 'actions: [collect_evidence]']);
    const met = matchPlaybook(p, holds);
    assert.ok(met, `${when} should hold`);
    assert.match(met[0]!, text, when);
    assert.equal(matchPlaybook(p, fails), null, `${when} should fail`);
  }
});

test('conditions combine with and; a disabled playbook never matches', () => {
  const both = playbook(['when:', '  min_level: high', '  kinds: [ioc]', 'actions: [collect_evidence]']);
  assert.equal(matchPlaybook(both, trigger()), null);
  assert.deepEqual(matchPlaybook(both, trigger({ alert: { kind: 'ioc' } })), ['level high ≥ high', 'kind ioc']);
  const disabled = playbook(['enabled: false', 'when: { min_level: low }', 'actions: [isolate]']);
  assert.equal(matchPlaybook(disabled, trigger()), null);
  assert.deepEqual(planResponse([disabled], trigger(), GUARD), { actions: [], skipped: [] });
});

test('parameters come from the event, and the reason names the playbook and its conditions', () => {
  const p = answering(
    ['isolate', 'kill_process: { tree: true }', 'quarantine_file', 'collect_evidence', 'block_ip', 'block_domain', 'block_hash'],
    ['fleet_block: false'],
  );
  const { actions, skipped } = planResponse([p], trigger(), GUARD);
  assert.deepEqual(skipped, []);
  assert.deepEqual(
    actions.map(({ type, params, mode, fleet, requireVerdict }) => ({ type, params, mode, fleet, requireVerdict })),
    [
      { type: 'isolate', params: { allowDns: false }, mode: 'automatic', fleet: false, requireVerdict: false },
      {
        type: 'kill_process',
        params: { pid: 4242, tree: true, startTime: 918273, image: '/tmp/.x/upd' },
        mode: 'automatic',
        fleet: false,
        requireVerdict: false,
      },
      { type: 'quarantine_file', params: { path: '/tmp/.x/upd', sha256: SHA }, mode: 'automatic', fleet: false, requireVerdict: false },
      { type: 'collect_evidence', params: { pid: 4242, path: '/tmp/.x/upd' }, mode: 'automatic', fleet: false, requireVerdict: false },
      { type: 'block_ip', params: { addresses: ['198.51.100.23'] }, mode: 'automatic', fleet: false, requireVerdict: false },
      { type: 'block_domain', params: { domains: ['update.vendor-cdn.example'] }, mode: 'automatic', fleet: false, requireVerdict: false },
      { type: 'block_hash', params: { sha256: [SHA] }, mode: 'automatic', fleet: false, requireVerdict: false },
    ],
  );
  assert.equal(actions[0]!.reason, 'playbook p (level high ≥ high): isolate web-1');
  assert.equal(actions[1]!.reason, 'playbook p (level high ≥ high): kill process 4242 (/tmp/.x/upd) and its descendants on web-1');
  assert.equal(actions[6]!.reason, `playbook p (level high ≥ high): block hash ${SHA.slice(0, 12)}… (/tmp/.x/upd) on web-1`);
});

test('a file event quarantines the written file; numbers written as text are read', () => {
  const p = answering(['quarantine_file', 'kill_process', 'block_domain'], ['fleet_block: false']);
  const fields = { ProcessId: '977', Image: '/usr/bin/curl', TargetFilename: '/var/tmp/.cache/payload.sh', QueryName: 'Drop.Example.net' };
  const { actions } = planResponse([p], { ...trigger(), fields }, GUARD);
  assert.deepEqual(
    actions.map((a) => a.params),
    [{ path: '/var/tmp/.cache/payload.sh' }, { pid: 977, tree: false, image: '/usr/bin/curl' }, { domains: ['drop.example.net'] }],
  );
});

test('an action whose parameter is missing or unsafe is skipped with the reason', () => {
  const p = answering(['kill_process', 'quarantine_file', 'block_ip', 'block_domain', 'block_hash'], ['fleet_block: false']);
  const cases: { fields: Record<string, unknown>; skipped: [string, RegExp][] }[] = [
    {
      fields: {},
      skipped: [
        ['kill_process', /kill_process skipped: no ProcessId in the event$/],
        ['quarantine_file', /no TargetFilename or Image in the event$/],
        ['block_ip', /no DestinationIp in the event$/],
        ['block_domain', /no DestinationHostname or QueryName in the event$/],
        ['block_hash', /no SHA256 in the event \(Hashes\)$/],
      ],
    },
    {
      fields: {
        ProcessId: 1,
        Image: 'upd',
        DestinationIp: '127.0.0.53',
        QueryName: 'localhost',
        Hashes: 'MD5=0123456789abcdef0123456789abcdef',
      },
      skipped: [
        ['kill_process', /the process is init \(pid 1\)$/],
        ['quarantine_file', /upd is not an absolute path$/],
        ['block_ip', /127\.0\.0\.53 is a loopback address$/],
        ['block_domain', /"localhost" is not a domain name that can be blocked$/],
        ['block_hash', /no SHA256/],
      ],
    },
    {
      fields: {
        ProcessId: 'abc',
        Image: '/usr/bin/python3',
        DestinationIp: '0.0.0.0',
        DestinationHostname: 'FB.example.org.',
        Hashes: `SHA256=${SHA}`,
      },
      skipped: [
        ['kill_process', /no ProcessId/],
        ['quarantine_file', /\/usr\/bin\/python3 is a system program: quarantining it would break the host$/],
        ['block_ip', /0\.0\.0\.0 is the unspecified address$/],
        ['block_domain', /fb\.example\.org is the Firebreak server's name$/],
        ['block_hash', /\/usr\/bin\/python3 is a system program: blocking its hash would stop every use of it$/],
      ],
    },
    {
      fields: { DestinationIp: '::ffff:10.9.0.1' },
      skipped: [['block_ip', /10\.9\.0\.1 is the Firebreak server's own address$/]],
    },
    {
      fields: { DestinationIp: '::' },
      skipped: [['block_ip', /:: is the unspecified address$/]],
    },
    {
      fields: { DestinationIp: 'not-an-ip' },
      skipped: [['block_ip', /"not-an-ip" is not an IP address$/]],
    },
  ];
  for (const { fields, skipped } of cases) {
    const plan = planResponse([p], { ...trigger(), fields }, GUARD);
    for (const [type, reason] of skipped) {
      const entry = plan.skipped.find((s) => s.type === type);
      assert.ok(entry, `${type} should be skipped for ${JSON.stringify(fields)}`);
      assert.equal(entry.playbookId, 'p');
      assert.match(entry.reason, /^playbook p \(level high ≥ high\): /);
      assert.match(entry.reason, reason);
      assert.ok(!plan.actions.some((a) => a.type === type), `${type} should not be planned`);
    }
  }
});

test('private and IPv6 destinations are blocked, in canonical form', () => {
  const p = answering(['block_ip'], ['fleet_block: false']);
  for (const [address, expected] of [
    ['10.20.30.40', '10.20.30.40'],
    ['2001:DB8:0:0:0:0:0:7', '2001:db8::7'],
    ['::ffff:198.51.100.23', '198.51.100.23'],
  ]) {
    const { actions } = planResponse([p], { ...trigger(), fields: { DestinationIp: address } }, GUARD);
    assert.deepEqual(
      actions.map((a) => a.params),
      [{ addresses: [expected] }],
    );
  }
});

test('with no agent there are no host actions; blocks still reach the fleet, on approval', () => {
  const p = answering(['collect_evidence', 'isolate', 'kill_process', 'block_ip']);
  const { actions, skipped } = planResponse([p], trigger({ agent: null }), GUARD);
  assert.deepEqual(summary(actions), ['block_ip (fleet)']);
  assert.equal(actions[0]!.mode, 'approval');
  assert.match(actions[0]!.reason, /block 198\.51\.100\.23 on every agent; no agent to verify on: needs approval$/);
  assert.deepEqual(
    skipped.map((s) => [s.type, s.reason.replace(/^.*skipped: /, '')]),
    [
      ['collect_evidence', 'no agent on web-1'],
      ['isolate', 'no agent on web-1'],
      ['kill_process', 'no agent on web-1'],
    ],
  );
  const hostOnly = answering(['block_ip'], ['fleet_block: false']);
  const noFleet = planResponse([hostOnly], trigger({ agent: null }), GUARD);
  assert.deepEqual(noFleet.actions, []);
  assert.match(noFleet.skipped[0]!.reason, /block_ip skipped: no agent on web-1, and fleet_block is off$/);
});

test('blocks go to the host at once and to the fleet once the verdict confirms; an indicator hit goes fleet-wide at once', () => {
  const p = answering(['block_ip', 'block_hash']);
  const normal = planResponse([p], trigger(), GUARD).actions;
  assert.deepEqual(summary(normal), ['block_ip', 'block_ip (fleet)', 'block_hash', 'block_hash (fleet)']);
  assert.deepEqual(
    normal.map((a) => a.requireVerdict),
    [false, true, false, true],
  );
  assert.match(normal[1]!.reason, /on every agent; once the forensic verdict confirms it$/);
  const hit = planResponse([p], trigger({ indicatorHit: true }), GUARD).actions;
  assert.deepEqual(
    hit.map((a) => [a.fleet, a.requireVerdict, a.mode]),
    [
      [false, false, 'automatic'],
      [true, false, 'automatic'],
      [false, false, 'automatic'],
      [true, false, 'automatic'],
    ],
  );
  assert.match(hit[1]!.reason, /on every agent; indicator hit$/);
});

test('an already isolated host gets no second isolation', () => {
  const p = answering(['isolate', 'kill_process']);
  const { actions, skipped } = planResponse([p], trigger({ agent: { isolated: true } }), GUARD);
  assert.deepEqual(summary(actions), ['kill_process']);
  assert.deepEqual(
    skipped.map((s) => [s.type, s.reason]),
    [['isolate', 'playbook p (level high ≥ high): isolate skipped: web-1 is already isolated']],
  );
});

test('a protected host gets surgical containment instead of isolation', () => {
  const p = answering(['isolate'], ['guardrails:', '  protected_tags: [business-critical, PBX]']);
  const { actions, skipped } = planResponse([p], trigger({ agent: { tags: ['linux-server', 'pbx'], isolated: false } }), GUARD);
  assert.deepEqual(skipped, []);
  assert.deepEqual(
    actions.map((a) => [a.type, a.params]),
    [
      ['block_ip', { addresses: ['198.51.100.23'] }],
      ['kill_process', { pid: 4242, tree: true, startTime: 918273, image: '/tmp/.x/upd' }],
      ['quarantine_file', { path: '/tmp/.x/upd', sha256: SHA }],
    ],
  );
  for (const action of actions) {
    assert.equal(action.fleet, false);
    assert.match(action.reason, /; instead of isolating web-1, tagged pbx \(protected\): surgical containment$/);
  }
  // Without a pid, the kill is skipped with both reasons; the rest of the containment stands.
  const partial = planResponse(
    [p],
    { ...trigger({ agent: { tags: ['pbx'] } }), fields: { Image: '/opt/pbx/.x/upd', DestinationIp: '198.51.100.23' } },
    GUARD,
  );
  assert.deepEqual(summary(partial.actions), ['block_ip', 'quarantine_file']);
  assert.match(partial.skipped[0]!.reason, /kill_process skipped: no ProcessId in the event; instead of isolating web-1/);
});

test("a host protected by another playbook's guardrail is not isolated by this one", () => {
  const isolating = answering(['isolate'], [], 'isolating');
  const guarding = playbook(
    ['when: { rule_ids: [unrelated] }', 'actions: [collect_evidence]', 'guardrails:', '  protected_tags: [pbx]'],
    'guarding',
  );
  const { actions } = planResponse([isolating, guarding], trigger({ agent: { tags: ['pbx'] } }), GUARD);
  assert.deepEqual(summary(actions), ['block_ip', 'kill_process', 'quarantine_file']);
  assert.ok(actions.every((a) => a.playbookId === 'isolating'));
});

test('past the hourly cap an automatic isolation needs approval; other actions stay automatic', () => {
  const p = answering(['isolate', 'kill_process'], ['guardrails:', '  max_isolations_per_hour: 5']);
  const below = planResponse([p], trigger(), { ...GUARD, isolationsInLastHour: 4 }).actions;
  assert.deepEqual(
    below.map((a) => a.mode),
    ['automatic', 'automatic'],
  );
  const at = planResponse([p], trigger(), { ...GUARD, isolationsInLastHour: 5 }).actions;
  assert.deepEqual(
    at.map((a) => [a.type, a.mode]),
    [
      ['isolate', 'approval'],
      ['kill_process', 'automatic'],
    ],
  );
  assert.match(at[0]!.reason, /; 5 automatic isolations in the last hour reach the cap of 5: needs approval$/);
  const never = answering(['isolate'], ['guardrails:', '  max_isolations_per_hour: 0']);
  assert.equal(planResponse([never], trigger(), GUARD).actions[0]!.mode, 'approval');
  const approval = playbook(['when: { min_level: high }', 'actions: [isolate]', 'guardrails:', '  max_isolations_per_hour: 1']);
  const manual = planResponse([approval], trigger(), { ...GUARD, isolationsInLastHour: 3 }).actions[0]!;
  assert.equal(manual.mode, 'approval');
  assert.doesNotMatch(manual.reason, /cap/);
});

test('release_after applies to an isolation made before verification', () => {
  const p = answering(['isolate: { allow_dns: true, allow: [10.0.0.53] }'], ['guardrails:', '  release_after: 30m']);
  const [isolation] = planResponse([p], trigger(), GUARD).actions;
  assert.equal(isolation!.releaseAfterMs, 30 * 60_000);
  assert.deepEqual(isolation!.params, { allowDns: true, allow: [{ address: '10.0.0.53' }] });
  assert.match(isolation!.reason, /isolate web-1; released after 30m unless the verdict confirms$/);
  const gated = answering(['isolate'], ['require_verdict: confirmed', 'guardrails:', '  release_after: 30m']);
  const [waiting] = planResponse([gated], trigger(), GUARD).actions;
  assert.equal(waiting!.releaseAfterMs, undefined);
});

test('require_verdict holds back the disruptive actions only', () => {
  const p = answering(
    ['collect_evidence', 'isolate', 'kill_process', 'quarantine_file', 'block_ip'],
    ['require_verdict: confirmed', 'fleet_block: false'],
  );
  const { actions } = planResponse([p], trigger(), GUARD);
  assert.deepEqual(
    actions.map((a) => [a.type, a.requireVerdict]),
    [
      ['collect_evidence', false],
      ['isolate', true],
      ['kill_process', true],
      ['quarantine_file', true],
      ['block_ip', false],
    ],
  );
  assert.match(actions[1]!.reason, /; waits for a confirmed forensic verdict$/);
});

test('several matching playbooks: actions merged without duplicates, the most immediate form kept', () => {
  const manual = playbook(['when: { tags: [attack.command-and-control] }', 'actions: [collect_evidence, isolate, kill_process]'], 'manual');
  const automatic = answering(['isolate', 'kill_process: { tree: true }', 'block_ip'], ['fleet_block: false'], 'automatic');
  const { actions, skipped } = planResponse([manual, automatic], trigger(), GUARD);
  assert.deepEqual(skipped, []);
  assert.deepEqual(
    actions.map((a) => [a.type, a.playbookId, a.mode]),
    [
      ['collect_evidence', 'manual', 'approval'],
      ['isolate', 'automatic', 'automatic'],
      ['kill_process', 'automatic', 'automatic'],
      ['block_ip', 'automatic', 'automatic'],
    ],
  );
  assert.equal(actions[1]!.reason, 'playbook automatic (level high ≥ high): isolate web-1; also asked for by playbook manual');
  assert.equal((actions[2]!.params as { tree: boolean }).tree, true);
  // The same playbook twice (as from two sources) plans each action once, with no "also".
  const twice = planResponse([automatic, automatic], trigger(), GUARD).actions;
  assert.equal(twice.length, 3);
  assert.ok(twice.every((a) => !a.reason.includes('also')));
  // A block on the host and the same block for the fleet are two actions.
  const scopes = planResponse([answering(['block_ip'], [], 'a'), answering(['block_ip'], [], 'b')], trigger(), GUARD).actions;
  assert.deepEqual(summary(scopes), ['block_ip', 'block_ip (fleet)']);
  assert.match(scopes[1]!.reason, /^playbook a .*; also asked for by playbook b$/);
});
