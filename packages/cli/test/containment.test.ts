/**
 * Issue 6's end-to-end test: a trojanized vendor update on host1 beacons to a C2 and tries host2;
 * Firebreak detects it from the agent's telemetry, contains it per the bundled contain-c2 playbook,
 * verifies the containment by forensics, blocks the confirmed indicators on every host, and a
 * release restores host1. Runs alone with `npm run test:containment`.
 */
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { netnsSkip } from '@firebreak/testkit';
import { C2_PORT, LAB_HOSTS, SERVICE_PORT, startLab, type Lab } from './support/containment-lab.js';

const skip = netnsSkip();
let lab: Lab;

before(async () => {
  if (!skip) lab = await startLab();
});
after(async () => {
  if (!skip) await lab.close();
});

test(
  'a beaconing trojanized update is detected, contained, verified, blocked fleet-wide and released',
  { skip, timeout: 120_000 },
  async () => {
    const { api, reach, until, lan } = lab;
    const host2 = lan.hosts.host2!.address;
    for (const host of LAB_HOSTS) assert.ok(lab.before.c2[host], `${host} reaches the C2 before anything happens`);
    assert.ok(lab.before.host1ToHost2, 'host1 reaches host2 before');

    const trojan = await lab.startTrojan();
    const isolation = await until('host1 isolated', async () => {
      const { actions } = await api('GET', '/api/v1/actions?limit=100');
      return actions.find((a: Action) => a.type === 'isolate' && a.hostname === 'host1' && ['succeeded', 'failed'].includes(a.status));
    }).catch((error: Error) => assert.fail(`${error.message}\n${lab.agentLog.join('\n')}`));
    const timeToContain = Date.parse(isolation.enforced_at) - trojan.startedAt;
    process.stdout.write(`time-to-contain: ${timeToContain} ms\n`);

    // Detection, and containment per playbook.
    const { alerts } = await api('GET', '/api/v1/alerts?computer=host1&limit=100');
    assert.ok(alerts.length > 0, 'the agent telemetry raised alerts on host1');
    assert.equal(isolation.status, 'succeeded', JSON.stringify(isolation));
    assert.equal(isolation.mode, 'automatic');
    assert.equal(isolation.triggered_by, 'playbook:contain-c2');
    const checks = isolation.verification.map((c: { name: string }) => c.name);
    assert.deepEqual(checks, ['isolation table present', 'server reachable', 'probe unreachable']);
    assert.ok(
      isolation.verification.every((c: { ok: boolean }) => c.ok),
      'the agent verified its isolation',
    );

    // The forensic verdict, recorded on the actions and the incident.
    const evidence = await until(
      'the forensic verdict',
      async () => {
        const { actions } = await api('GET', '/api/v1/actions?limit=100');
        return actions.find((a: Action) => a.type === 'collect_evidence' && a.hostname === 'host1' && a.forensic);
      },
      20_000,
    );
    assert.equal(evidence.forensic.verdict, 'confirmed', JSON.stringify(evidence.forensic.reasons));
    const incident = await api('GET', `/api/v1/incidents/${isolation.incident_id}`);
    assert.ok(
      incident.notes.some((n: { text: string }) => n.text.startsWith('Forensic verdict on host1: confirmed')),
      'the verdict is on the incident',
    );
    assert.equal(incident.status, 'contained');
    const onIncident = (await api('GET', `/api/v1/actions?incident=${isolation.incident_id}`)).actions as Action[];
    assert.ok(
      [isolation.id, evidence.id].every((id) => onIncident.some((a) => a.id === id)),
      'the response’s actions are listed on the incident',
    );
    assert.ok(
      onIncident.every((a) => a.triggered_by === 'playbook:contain-c2'),
      'each says what triggered it',
    );

    // The confirmed indicators reach every agent; the C2 is unreachable from every host.
    const fleetBlock = await until(
      'the fleet-wide block',
      async () => {
        const { actions } = await api('GET', '/api/v1/actions?limit=100');
        return actions.find((a: Action) => a.type === 'block_ip' && a.fleet && a.status === 'succeeded');
      },
      20_000,
    ).catch(async (error: Error) => {
      const { actions } = await api('GET', '/api/v1/actions?limit=100');
      const fleet = actions.filter((a: Action) => a.fleet).map((a: Action) => JSON.stringify(a));
      assert.fail([error.message, ...fleet, ...lab.agentLog].join('\n'));
    });
    assert.deepEqual(Object.keys(fleetBlock.deliveries).sort(), Object.values(lab.agentIds).sort(), 'every agent got the block');
    assert.ok(fleetBlock.params.addresses.includes(lab.c2));
    for (const host of LAB_HOSTS) assert.equal(await reach(host, lab.c2, C2_PORT), false, `${host} cannot reach the C2`);
    assert.equal(await reach('host1', host2, SERVICE_PORT), false, 'host1 cannot reach host2');
    assert.ok(await reach('host3', host2, SERVICE_PORT), 'the other hosts still talk to each other');
    const kill = await until('the trojan killed', async () => {
      const { actions } = await api('GET', '/api/v1/actions?limit=100');
      return actions.find((a: Action) => a.type === 'kill_process' && a.status === 'succeeded');
    });
    assert.ok(kill.output.killed.length >= 1);
    const { indicators } = await api('GET', '/api/v1/indicators');
    assert.ok(indicators.some((i: { type: string; value: string }) => i.type === 'ip' && i.value === lab.c2));
    assert.ok(
      indicators.some((i: { type: string }) => i.type === 'sha256'),
      'the helper’s hash is blocked too',
    );

    // Agents stay connected, host1 through its isolation.
    const { agents } = await api('GET', '/api/v1/agents');
    assert.deepEqual(
      agents.map((a: { status: string }) => a.status),
      ['online', 'online', 'online'],
    );
    assert.equal(agents.find((a: { hostname: string }) => a.hostname === 'host1').isolated, true);

    // Isolation survives the agent: killed and started again, it comes back isolated and connected.
    await lab.restartAgent('host1');
    await until('host1’s agent back', async () => {
      const { agents } = await api('GET', '/api/v1/agents');
      const host1 = agents.find((a: { hostname: string }) => a.hostname === 'host1');
      return host1.status === 'online' && Date.parse(host1.last_seen) > Date.parse(isolation.enforced_at) ? host1 : undefined;
    });
    assert.equal(
      (await lan.exec('host1', 'nft', ['list', 'table', 'inet', 'firebreak_isolation'])).code,
      0,
      'the isolation table is still in force',
    );
    assert.equal(await reach('host1', host2, SERVICE_PORT), false, 'host1 still cannot reach host2');

    // No action without an audit record.
    const { entries } = await api('GET', '/api/v1/audit?limit=1000');
    const { actions } = await api('GET', '/api/v1/actions?limit=1000');
    for (const action of actions)
      assert.ok(
        entries.some((e: { action: string; target: string }) => e.action === 'action.create' && e.target === `action:${action.id}`),
        `audit of action ${action.id}`,
      );

    // Release restores host1 (the C2 stays blocked: that block is fleet-wide).
    const release = await api('POST', '/api/v1/actions', { type: 'release', agent_id: lab.agentIds.host1, reason: 'verified clean' });
    const released = await until('host1 released', async () => {
      const action = await api('GET', `/api/v1/actions/${release.id}`);
      return action.status === 'succeeded' ? action : undefined;
    });
    assert.ok(released.verification.every((c: { ok: boolean }) => c.ok));
    assert.ok(await reach('host1', host2, SERVICE_PORT), 'host1 reaches host2 again');
    assert.equal(await reach('host1', lab.c2, C2_PORT), false, 'the C2 stays blocked');
  },
);

test('a protected host (a phone system) gets surgical containment and keeps serving', { skip, timeout: 120_000 }, async () => {
  const { api, reach, until, lan } = lab;
  await api('PATCH', `/api/v1/agents/${lab.agentIds.host3}`, { tags: ['pbx'] });
  const SIP_PORT = 5060;
  await lab.startService('host3', SIP_PORT);
  const trojan = await lab.startTrojan('host3');
  const onHost3 = async (type: string): Promise<Action | undefined> => {
    const { actions } = await api('GET', '/api/v1/actions?limit=200');
    return actions.find((a: Action) => a.type === type && a.hostname === 'host3' && ['succeeded', 'failed'].includes(a.status));
  };
  const kill = await until('the helper killed on host3', () => onHost3('kill_process'));
  const quarantine = await until('the helper quarantined on host3', () => onHost3('quarantine_file'));
  assert.equal(kill.status, 'succeeded', JSON.stringify(kill));
  assert.equal(quarantine.status, 'succeeded', JSON.stringify(quarantine));
  assert.match(String(kill.reason), /surgical/i);
  assert.equal(await onHost3('isolate'), undefined, 'a protected host is never isolated');
  await assert.rejects(access(trojan.helper), 'the helper is in the vault, not on disk');
  const { agents } = await api('GET', '/api/v1/agents');
  assert.equal(agents.find((a: { hostname: string }) => a.hostname === 'host3').isolated, false);
  assert.ok(await reach('host2', lan.hosts.host3!.address, SIP_PORT), 'the phone system keeps serving');
  await until('a verdict on host3', async () => {
    const { actions } = await api('GET', '/api/v1/actions?limit=200');
    return actions.some((a: Action) => a.hostname === 'host3' && a.forensic);
  });
});

interface Action {
  reason?: string;
  triggered_by?: string;
  id: number;
  type: string;
  hostname: string | null;
  status: string;
  fleet: boolean;
  forensic: unknown;
}
