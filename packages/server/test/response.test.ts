/**
 * Agents and response over real HTTP and WebSockets on loopback, on both stores: enrollment,
 * the agent socket, events stamped with the enrolled identity, signed commands, the action
 * lifecycle (manual, playbook with approval, cancel), evidence with its digest, the fleet
 * blocklist and its exports, the playbook API and the audit trail. The agent here speaks the
 * protocol as the real one does (the real agent on real hosts is the containment test's).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { verifyCommand, type CommandPayload, type ServerMessage } from '@firebreak/core';
import WebSocket from 'ws';
import { backends } from './support/backends.js';
import { eventually, ndjson, processEvent, startTestServer, type TestServer } from './support/server.js';

/** One enrolled agent's socket, speaking the protocol: it verifies every command with the pinned key. */
class ProtocolAgent {
  readonly messages: ServerMessage[] = [];
  readonly commands: CommandPayload[] = [];
  private readonly seen = new Set<string>();
  private constructor(
    readonly socket: WebSocket,
    readonly id: string,
    publicKeyPem: string,
  ) {
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as ServerMessage;
      this.messages.push(message);
      if (message.type !== 'command') return;
      const check = verifyCommand(message.command, { publicKeyPem, agentId: id, now: Date.now(), seen: (c) => this.seen.has(c) });
      assert.ok(check.ok, check.ok ? '' : check.reason);
      this.seen.add(check.command.id);
      this.commands.push(check.command);
    });
  }

  static async connect(url: string, enrolled: { agent_id: string; secret: string; server_public_key: string }): Promise<ProtocolAgent> {
    const socket = new WebSocket(`${url.replace('http', 'ws')}/api/v1/agents/connect`, {
      headers: { authorization: `Bearer ${enrolled.agent_id}.${enrolled.secret}` },
    });
    // Listening before the socket opens: the server's welcome can arrive with the upgrade's answer.
    const agent = new ProtocolAgent(socket, enrolled.agent_id, enrolled.server_public_key);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    agent.send({
      type: 'hello',
      version: 'test',
      hostname: 'ignored',
      os: 'linux',
      isolated: false,
      blocks: { sha256: 0, addresses: 0, domains: 0 },
    });
    return agent;
  }

  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  /** Resolves once the server has handled everything this agent sent before (it answers a heartbeat in turn). */
  async handled(): Promise<void> {
    const before = this.messages.filter((m) => m.type === 'heartbeat').length;
    this.send({ type: 'heartbeat', time: Date.now(), isolated: false, queued: 0 });
    await eventually(async () => this.messages.filter((m) => m.type === 'heartbeat').length > before || undefined);
  }

  command(type: string): Promise<CommandPayload> {
    return eventually(async () => this.commands.find((c) => c.type === type));
  }

  /** An evidence bundle for a collect_evidence command, with its SHA-256. */
  sendEvidence(command: CommandPayload, bundle: string): void {
    this.send({
      type: 'evidence',
      commandId: command.id,
      actionId: command.actionId,
      sha256: createHash('sha256').update(bundle).digest('hex'),
      bundle,
    });
  }

  succeed(command: CommandPayload, output: Record<string, unknown> = {}): void {
    const verification = [{ name: 'checked', ok: true }];
    this.send({
      type: 'result',
      result: { commandId: command.id, actionId: command.actionId, status: 'succeeded', enforcedAt: Date.now(), verification, output },
    });
  }
}

/** The bundle of a host where nothing is found: no process, no executable, no persistence. */
function emptyBundle(agentId: string): string {
  return JSON.stringify({
    agentId,
    hostname: 'web-01',
    collectedAt: Date.now(),
    process: null,
    ancestors: [],
    descendants: [],
    openFiles: [],
    sockets: [],
    executable: null,
    persistence: [],
    recentPersistence: [],
    authLog: [],
    processes: [],
  });
}

type Action = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- whatever the API answers

/** The action of this playbook and type, if there is one yet. */
async function actionOf(t: TestServer, playbookId: string, type: string): Promise<Action | undefined> {
  const { actions } = (await t.request('GET', '/api/v1/actions?limit=100')).json;
  return actions.find((a: Action) => a.type === type && a.playbook_id === playbookId);
}

const IOC_PLAYBOOKS = [
  `id: contain-ioc
title: Isolate a host that reaches a blocked indicator, for a second unless the verdict confirms
when:
  indicator_hit: true
mode: automatic
actions: [isolate]
guardrails:
  release_after: 1s
`,
  `id: kill-when-confirmed
title: Kill the process behind an indicator hit once forensics confirms
when:
  indicator_hit: true
mode: automatic
actions:
  - kill_process
require_verdict: confirmed
`,
];

const APPROVAL_PLAYBOOK = `id: approve-evil
title: Isolate hosts running evil.exe, after approval
when:
  rule_ids: [7f1c2d3e-0000-4000-8000-000000000001]
mode: approval
actions:
  - isolate
  - collect_evidence
`;

for (const backend of backends) {
  const skip = await backend.skip();
  describe(`response on ${backend.name}`, { skip }, () => {
    let t: TestServer;
    let storeUrl: string | undefined;
    let enrolled: { agent_id: string; secret: string; server_public_key: string };
    let agent: ProtocolAgent;
    before(async () => {
      storeUrl = backend.store();
      t = await startTestServer({ store: storeUrl });
    });
    after(async () => {
      agent?.socket.close();
      await t?.close();
      await backend.cleanup(storeUrl);
    });

    test('enrollment: admins mint one-time tokens; the agent gets its own credential, kept hashed', async () => {
      assert.equal((await t.request('POST', '/api/v1/agents/enroll-tokens', { token: t.tokens.responder, body: {} })).status, 403);
      const minted = await t.request('POST', '/api/v1/agents/enroll-tokens', { body: { tags: ['linux-server'] } });
      assert.equal(minted.status, 201);
      const enroll = (token: string): ReturnType<TestServer['request']> =>
        t.request('POST', '/api/v1/agents/enroll', { token: null, body: { token, hostname: 'web-01', os: 'linux' } });
      const first = await enroll(minted.json.token);
      assert.equal(first.status, 201, first.text);
      enrolled = first.json;
      assert.match(enrolled.server_public_key, /BEGIN PUBLIC KEY/);
      assert.equal((await enroll(minted.json.token)).status, 401, 'the token is used up');
      assert.equal((await enroll('fbe_unknown')).status, 401);
      const stored = await t.server.parts.store.findRecord<{ credentialHash: string }>('agent', enrolled.agent_id);
      assert.equal(stored?.body.credentialHash, createHash('sha256').update(enrolled.secret).digest('hex'));
      assert.ok(!JSON.stringify(stored).includes(enrolled.secret), 'the secret itself is not stored');
      const { agents } = (await t.request('GET', '/api/v1/agents', { token: t.tokens.viewer })).json;
      assert.deepEqual(
        agents.map((a: Record<string, unknown>) => [a.id, a.hostname, a.status, a.isolated, a.tags]),
        [[enrolled.agent_id, 'web-01', 'offline', false, ['linux-server']]],
      );
    });

    test('the agent socket takes only the agent credential; a connected agent is online and welcomed', async () => {
      const wrong = new WebSocket(`${t.url.replace('http', 'ws')}/api/v1/agents/connect`, {
        headers: { authorization: `Bearer ${enrolled.agent_id}.wrong-secret` },
      });
      const refused = await new Promise<number>((resolve) =>
        wrong.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
      );
      assert.equal(refused, 401);
      agent = await ProtocolAgent.connect(t.url, enrolled);
      await eventually(async () => agent.messages.some((m) => m.type === 'welcome') || undefined);
      await eventually(async () => agent.commands.some((c) => c.type === 'sync_blocks') || undefined);
      await eventually(async () => ((await t.request('GET', '/api/v1/agents')).json.agents[0].status === 'online' ? true : undefined));
    });

    test('events are stored under the enrolled identity and acknowledged once stored', async () => {
      agent.send({
        type: 'events',
        seq: 1,
        events: [{ _kind: 'process_creation', Computer: 'someone-else', Image: '/usr/bin/id', '@timestamp': new Date().toISOString() }],
      });
      await eventually(async () => agent.messages.some((m) => m.type === 'ack' && m.seq === 1) || undefined);
      const { events } = (await t.request('GET', '/api/v1/events?host=web-01&limit=10')).json;
      assert.equal(events.length, 1);
      assert.equal(events[0].fields.Computer, 'web-01', 'the event cannot claim another host');
      assert.equal(events[0].fields.AgentId, enrolled.agent_id);
      assert.equal(events[0].fields._source, 'firebreak-agent');
    });

    test('a manual action goes out signed, and the agent’s verified result is recorded with its audit trail', async () => {
      const body = { type: 'isolate', agent_id: enrolled.agent_id, reason: 'suspicious beacon' };
      assert.equal((await t.request('POST', '/api/v1/actions', { token: t.tokens.analyst, body })).status, 403);
      assert.equal(
        (await t.request('POST', '/api/v1/actions', { token: t.tokens.responder, body: { ...body, type: 'sync_blocks' } })).status,
        400,
      );
      const created = await t.request('POST', '/api/v1/actions', { token: t.tokens.responder, body });
      assert.equal(created.status, 201, created.text);
      const command = await agent.command('isolate');
      assert.equal(command.actionId, created.json.id);
      agent.succeed(command);
      const done = await eventually(async () => {
        const action = (await t.request('GET', `/api/v1/actions/${created.json.id}`)).json;
        return action.status === 'succeeded' ? action : undefined;
      });
      assert.equal(done.triggered_by, 'responder token');
      assert.deepEqual(done.verification, [{ name: 'checked', ok: true }]);
      await eventually(async () => ((await t.request('GET', '/api/v1/agents')).json.agents[0].isolated ? true : undefined));
      const { entries } = (await t.request('GET', '/api/v1/audit?limit=1000')).json;
      const trail = entries
        .filter((e: { target: string }) => e.target === `action:${created.json.id}`)
        .map((e: { action: string }) => e.action);
      assert.deepEqual(trail, ['action.create', 'action.result']);
    });

    test('a playbook in approval mode waits for a responder; approve sends, cancel stops', async () => {
      // The last test isolated the host, and an isolated host is not isolated twice: release it first.
      const release = await t.request('POST', '/api/v1/actions', {
        token: t.tokens.responder,
        body: { type: 'release', agent_id: enrolled.agent_id },
      });
      agent.succeed(await eventually(async () => agent.commands.find((c) => c.actionId === release.json.id)));
      await eventually(async () => ((await t.request('GET', '/api/v1/agents')).json.agents[0].isolated ? undefined : true));
      const put = await t.request('POST', '/api/v1/playbooks', {
        body: APPROVAL_PLAYBOOK,
        headers: { 'content-type': 'application/yaml' },
      });
      assert.equal(put.status, 201, put.text);
      const bad = await t.request('POST', '/api/v1/playbooks', { body: 'id: x\ntitle: X\nwhen:\n  min_level: high\nactions: [explode]\n' });
      assert.equal(bad.status, 400);
      assert.match(bad.json.error, /^request body:5: actions\[0\]: unknown action "explode"/);
      await t.request('POST', '/api/v1/ingest?format=flat', {
        token: t.tokens.ingest,
        body: ndjson([processEvent(1, 'C:\\evil.exe', { Computer: 'web-01' })]),
      });
      const pending = await eventually(async () => {
        const { actions } = (await t.request('GET', '/api/v1/actions?status=pending_approval')).json;
        return actions.length === 2 ? actions : undefined;
      });
      const isolate = pending.find((a: { type: string }) => a.type === 'isolate');
      const evidence = pending.find((a: { type: string }) => a.type === 'collect_evidence');
      assert.equal(isolate.playbook_id, 'approve-evil');
      assert.equal((await t.request('POST', `/api/v1/actions/${isolate.id}/approve`, { token: t.tokens.analyst })).status, 403);
      const approved = await t.request('POST', `/api/v1/actions/${isolate.id}/approve`, { token: t.tokens.responder });
      assert.equal(approved.json.approved_by, 'responder token');
      const command = await eventually(async () => agent.commands.find((c) => c.actionId === isolate.id));
      assert.equal(command.type, 'isolate');
      const cancelled = await t.request('POST', `/api/v1/actions/${evidence.id}/cancel`, { token: t.tokens.responder });
      assert.equal(cancelled.json.status, 'cancelled');
      assert.equal(
        (await t.request('POST', `/api/v1/actions/${isolate.id}/cancel`, { token: t.tokens.responder })).status,
        409,
        'a sent action cannot be cancelled',
      );
      assert.equal((await t.request('POST', `/api/v1/actions/${evidence.id}/approve`, { token: t.tokens.responder })).status, 409);
    });

    test('evidence is kept only when it matches its digest, and served with it', async () => {
      const created = await t.request('POST', '/api/v1/actions', {
        token: t.tokens.responder,
        body: { type: 'collect_evidence', agent_id: enrolled.agent_id, params: { pid: 1 } },
      });
      const command = await eventually(async () => agent.commands.find((c) => c.actionId === created.json.id));
      const bundle = JSON.stringify({ agentId: enrolled.agent_id, hostname: 'web-01', collectedAt: Date.now(), processes: [] });
      const sha256 = createHash('sha256').update(bundle).digest('hex');
      agent.send({ type: 'evidence', commandId: command.id, actionId: command.actionId, sha256: '0'.repeat(64), bundle });
      agent.send({ type: 'evidence', commandId: command.id, actionId: command.actionId, sha256, bundle });
      agent.succeed(command, { sha256 });
      const stored = await eventually(
        async () => (await t.server.parts.store.listRecords<{ sha256: string }>('evidence', { limit: 10 }))[0],
      );
      assert.equal(stored.body.sha256, sha256);
      assert.equal(
        (await t.server.parts.store.listRecords('evidence', { limit: 10 })).length,
        1,
        'the bundle with the wrong digest was dropped',
      );
      // Evidence holds executables and auth logs: analysts and above read it.
      assert.equal((await t.request('GET', `/api/v1/evidence/${stored.id}`, { token: t.tokens.viewer })).status, 403);
      const served = (await t.request('GET', `/api/v1/evidence/${stored.id}`, { token: t.tokens.analyst })).json;
      assert.equal(served.sha256, sha256);
      assert.equal(served.bundle.hostname, 'web-01');
      const raw = await t.request('GET', `/api/v1/evidence/${stored.id}/raw`, { token: t.tokens.analyst });
      assert.equal(createHash('sha256').update(raw.text).digest('hex'), sha256, 'the exact bytes are kept');
    });

    test('blocklist: indicators go to every connected agent at once and out as RPZ and plain lists', async () => {
      const invalid = await t.request('POST', '/api/v1/indicators', {
        token: t.tokens.responder,
        body: { indicators: [{ type: 'ip', value: '10.0.0.300' }] },
      });
      assert.equal(invalid.status, 400);
      const indicators = [
        { type: 'ip', value: '203.0.113.66' },
        { type: 'domain', value: 'Update.Evil.Example.' },
        { type: 'url', value: 'https://update.evil.example/icon.ico' },
      ];
      const added = await t.request('POST', '/api/v1/indicators', { token: t.tokens.responder, body: { indicators } });
      assert.equal(added.status, 201, added.text);
      const block = await agent.command('block_ip');
      assert.deepEqual(block.params, { addresses: ['203.0.113.66'] });
      assert.deepEqual((await agent.command('block_domain')).params, { domains: ['update.evil.example'] });
      const rpz = (await t.request('GET', '/api/v1/export/rpz', { token: t.tokens.viewer })).text;
      assert.match(rpz, /^update\.evil\.example\s+CNAME\s+\.$/m);
      assert.match(rpz, /^\*\.update\.evil\.example\s+CNAME\s+\.$/m);
      assert.match((await t.request('GET', '/api/v1/export/ips.txt')).text, /^203\.0\.113\.66$/m);
      assert.match((await t.request('GET', '/api/v1/export/urls.txt')).text, /^https:\/\/update\.evil\.example\/icon\.ico$/m);
      const ipId = added.json.added.find((i: { type: string }) => i.type === 'ip').id;
      const before = agent.commands.filter((c) => c.type === 'sync_blocks').length;
      assert.equal((await t.request('DELETE', `/api/v1/indicators/${ipId}`, { token: t.tokens.responder })).status, 200);
      const sync = await eventually(async () => agent.commands.filter((c) => c.type === 'sync_blocks')[before]);
      assert.deepEqual(sync.params, { sha256: [], addresses: [], domains: ['update.evil.example'] });
    });

    test('a fleet block its agent never answered (the connection dropped) is sent again, under a new id, when the agent reconnects', async () => {
      await t.request('POST', '/api/v1/indicators', {
        token: t.tokens.responder,
        body: { indicators: [{ type: 'ip', value: '198.51.100.9' }] },
      });
      const blocks = (a: ProtocolAgent): CommandPayload[] =>
        a.commands.filter((c) => c.type === 'block_ip' && (c.params as { addresses: string[] }).addresses.includes('198.51.100.9'));
      const lost = await eventually(async () => blocks(agent)[0]);
      const closed = new Promise((resolve) => agent.socket.once('close', resolve));
      agent.socket.close();
      await closed;
      agent = await ProtocolAgent.connect(t.url, enrolled);
      const again = await eventually(async () => blocks(agent)[0]);
      assert.equal(again.actionId, lost.actionId);
      assert.notEqual(again.id, lost.id, 'a fresh command id: the agent may have carried out the first');
      agent.succeed(again);
      const action = await eventually(async () => {
        const { json } = await t.request('GET', `/api/v1/actions/${lost.actionId}`);
        return json.status === 'succeeded' ? json : undefined;
      });
      assert.equal(action.deliveries[enrolled.agent_id].status, 'succeeded');
    });

    test('an action its agent never answered is sent again, under the same id, when the agent reconnects; a replay refusal is no result', async () => {
      const created = await t.request('POST', '/api/v1/actions', {
        token: t.tokens.responder,
        body: { type: 'collect_evidence', agent_id: enrolled.agent_id, params: { pid: 1 } },
      });
      assert.equal(created.status, 201, created.text);
      const lost = await eventually(async () => agent.commands.find((c) => c.actionId === created.json.id));
      const closed = new Promise((resolve) => agent.socket.once('close', resolve));
      agent.socket.close();
      await closed;
      agent = await ProtocolAgent.connect(t.url, enrolled);
      const again = await eventually(async () => agent.commands.find((c) => c.actionId === created.json.id));
      assert.equal(again.id, lost.id, 'the same command: an agent that has it refuses it as a replay');
      agent.send({
        type: 'result',
        result: { commandId: again.id, actionId: again.actionId, status: 'refused', error: 'replayed command', verification: [] },
      });
      await agent.handled();
      assert.equal((await t.request('GET', `/api/v1/actions/${created.json.id}`)).json.status, 'sent', 'a replay refusal is no result');
      agent.succeed(again);
      await eventually(async () =>
        (await t.request('GET', `/api/v1/actions/${created.json.id}`)).json.status === 'succeeded' ? true : undefined,
      );
    });

    test('actions by status: the newest in that status, however many newer ones are in another', async () => {
      const all = (await t.request('GET', '/api/v1/actions?limit=500', { token: t.tokens.viewer })).json.actions as Action[];
      const older = all.find((a) => a.status !== all[0]!.status)!;
      assert.ok(older, 'the earlier tests left actions in two statuses');
      const { json } = await t.request('GET', `/api/v1/actions?status=${older.status}&limit=1`, { token: t.tokens.viewer });
      assert.deepEqual(
        json.actions.map((a: Action) => a.id),
        [older.id],
      );
      const wrong = await t.request('GET', '/api/v1/actions?status=done', { token: t.tokens.viewer });
      assert.equal(wrong.status, 400);
      assert.match(wrong.json.error, /status must be one of pending_approval/);
    });

    test('an indicator hit raises an ioc alert; unconfirmed, the isolation is released after release_after and the verdict-gated kill is cancelled', async () => {
      for (const yaml of IOC_PLAYBOOKS) assert.equal((await t.request('POST', '/api/v1/playbooks', { body: yaml })).status, 201);
      // The fleet has talked to this address before: a hit on it is no proof of compromise by itself.
      const seenBefore = { _kind: 'network_connection', Image: '/usr/bin/curl', DestinationIp: '198.51.100.20', DestinationPort: 443 };
      agent.send({ type: 'events', seq: 2, events: [{ ...seenBefore, '@timestamp': new Date(Date.now() - 60_000).toISOString() }] });
      await eventually(async () => agent.messages.some((m) => m.type === 'ack' && m.seq === 2) || undefined);
      await t.request('POST', '/api/v1/indicators', {
        token: t.tokens.responder,
        body: { indicators: [{ type: 'ip', value: '198.51.100.20' }] },
      });
      const hit = { ...seenBefore, '@timestamp': new Date().toISOString(), ProcessId: 4242, ProcessStartTicks: 99 };
      agent.send({ type: 'events', seq: 3, events: [hit] });
      const alert = await eventually(async () => (await t.request('GET', '/api/v1/alerts?kind=ioc')).json.alerts[0]);
      assert.equal(alert.rule_title, 'Indicator hit: ip 198.51.100.20');
      assert.deepEqual(alert.matched, { DestinationIp: '198.51.100.20' });
      const isolate = await eventually(async () =>
        agent.commands.find((c) => c.type === 'isolate' && c.actionId !== null && c.issuedAt >= Date.parse(alert.created)),
      );
      agent.succeed(isolate);
      const evidence = await eventually(async () =>
        agent.commands.find((c) => c.type === 'collect_evidence' && c.issuedAt >= Date.parse(alert.created)),
      );
      const bundle = emptyBundle(enrolled.agent_id);
      agent.send({
        type: 'evidence',
        commandId: evidence.id,
        actionId: evidence.actionId,
        sha256: createHash('sha256').update(bundle).digest('hex'),
        bundle,
      });
      agent.succeed(evidence);
      const { actions } = (await t.request('GET', '/api/v1/actions?limit=50')).json;
      const kill = actions.find((a: { type: string; alert_id: number }) => a.type === 'kill_process' && a.alert_id === alert.id);
      const cancelled = await eventually(async () => {
        const action = (await t.request('GET', `/api/v1/actions/${kill.id}`)).json;
        return action.status === 'cancelled' ? action : undefined;
      });
      assert.match(cancelled.error, /forensic verdict (inconclusive|refuted)/);
      assert.ok(!agent.commands.some((c) => c.actionId === kill.id), 'the kill never went out');
      const release = await eventually(
        async () => agent.commands.find((c) => c.type === 'release' && c.issuedAt >= Date.parse(alert.created)),
        5000,
      );
      const released = (await t.request('GET', `/api/v1/actions/${release.actionId}`)).json;
      assert.equal(released.mode, 'automatic');
      assert.match(released.reason, /release_after/);
      assert.ok(Date.parse(released.created) - Date.parse(alert.created) >= 1000, 'not before release_after');
    });

    test('an approval given after a verdict that did not confirm sends the action (it does not wait for a verdict again)', async () => {
      const playbook = `id: approve-isolate-confirmed
title: Isolate hosts running evil.exe, after approval and a confirmed verdict
when:
  rule_ids: [7f1c2d3e-0000-4000-8000-000000000001]
mode: approval
actions: [isolate]
require_verdict: confirmed
`;
      assert.equal((await t.request('POST', '/api/v1/playbooks', { body: playbook })).status, 201);
      await agent.handled(); // its heartbeat says the host is not isolated (an isolated host is not isolated again)
      await t.request('POST', '/api/v1/ingest?format=flat', {
        token: t.tokens.ingest,
        body: ndjson([processEvent(3, 'C:\\evil.exe', { Computer: 'web-01' })]),
      });
      const ofPlaybook = (type: string): Promise<Action | undefined> => actionOf(t, 'approve-isolate-confirmed', type);
      const isolate = await eventually(() => ofPlaybook('isolate'));
      assert.equal(isolate.status, 'pending_approval');
      const evidenceAction = await eventually(() => ofPlaybook('collect_evidence'));
      const command = await eventually(async () => agent.commands.find((c) => c.actionId === evidenceAction.id));
      const bundle = emptyBundle(enrolled.agent_id);
      agent.sendEvidence(command, bundle);
      agent.succeed(command);
      const judged = await eventually(async () => {
        const action = (await t.request('GET', `/api/v1/actions/${isolate.id}`)).json;
        return action.forensic ? action : undefined;
      });
      assert.notEqual(judged.forensic.verdict, 'confirmed');
      assert.equal(judged.status, 'pending_approval');
      const approved = await t.request('POST', `/api/v1/actions/${isolate.id}/approve`, { token: t.tokens.responder });
      assert.equal(approved.json.status, 'sent', approved.text);
      await eventually(async () => agent.commands.find((c) => c.actionId === isolate.id && c.type === 'isolate'));
    });

    test('a verdict-gated action goes out once forensics confirms, with the verdict recorded on it', async () => {
      const playbook = `id: kill-evil-when-confirmed
title: Kill evil.exe once forensics confirms
when:
  rule_ids: [7f1c2d3e-0000-4000-8000-000000000001]
mode: automatic
actions: [kill_process]
require_verdict: confirmed
`;
      assert.equal((await t.request('POST', '/api/v1/playbooks', { body: playbook })).status, 201);
      // A second host: "seen on no other host" needs another host to have looked.
      const minted = await t.request('POST', '/api/v1/agents/enroll-tokens', { body: {} });
      const second = await t.request('POST', '/api/v1/agents/enroll', {
        token: null,
        body: { token: minted.json.token, hostname: 'app-02' },
      });
      assert.equal(second.status, 201);
      await t.request('POST', '/api/v1/ingest?format=flat', {
        token: t.tokens.ingest,
        body: ndjson([processEvent(4, 'C:\\evil.exe', { Computer: 'web-01' })]),
      });
      const ofPlaybook = (type: string): Promise<Action | undefined> => actionOf(t, 'kill-evil-when-confirmed', type);
      const kill = await eventually(() => ofPlaybook('kill_process'));
      assert.equal(kill.status, 'waiting_verdict');
      const evidenceAction = await eventually(() => ofPlaybook('collect_evidence'));
      const command = await eventually(async () => agent.commands.find((c) => c.actionId === evidenceAction.id));
      assert.ok(!agent.commands.some((c) => c.actionId === kill.id), 'nothing is killed before the verdict');
      // What the host shows: the process runs from a hidden folder in /tmp, from a file no other host has.
      const sha256 = 'ab'.repeat(32);
      const process = {
        pid: 1004,
        ppid: 1,
        startTime: 5,
        image: '/tmp/.cache/evil',
        commandLine: '/tmp/.cache/evil',
        user: 'root',
        uid: 0,
        sha256,
        cwd: '/',
      };
      const bundle = JSON.stringify({
        ...JSON.parse(emptyBundle(enrolled.agent_id)),
        process,
        processes: [process],
        executable: { path: process.image, sha256, size: 1000, mode: 0o755, uid: 0, contentBase64: null },
      });
      agent.sendEvidence(command, bundle);
      agent.succeed(command);
      const judged = await eventually(async () => {
        const action = (await t.request('GET', `/api/v1/actions/${kill.id}`)).json;
        return action.forensic ? action : undefined;
      });
      assert.equal(judged.forensic.verdict, 'confirmed', JSON.stringify(judged.forensic.reasons));
      const sent = await eventually(async () => agent.commands.find((c) => c.actionId === kill.id));
      assert.equal(sent.type, 'kill_process');
      assert.equal((await t.request('GET', `/api/v1/actions/${kill.id}`)).json.status, 'sent');
    });

    test('an agent cannot take another host’s name, nor answer, give evidence or break records for another agent', async () => {
      const { token } = (await t.request('POST', '/api/v1/agents/enroll-tokens', { body: {} })).json;
      const enroll = (hostname: string): ReturnType<TestServer['request']> =>
        t.request('POST', '/api/v1/agents/enroll', { token: null, body: { token, hostname } });
      const taken = await enroll('WEB-01');
      assert.equal(taken.status, 409, taken.text);
      assert.match(taken.json.error, new RegExp(`held by agent ${enrolled.agent_id}: revoke it first`));
      assert.equal((await enroll('db-01\nweb-01')).status, 400);
      const mallory = await enroll('db-01');
      assert.equal(mallory.status, 201, 'the refusals did not use the token up');

      // A fleet block sent while db-01 was offline: db-01's answer to it is no delivery.
      await t.request('POST', '/api/v1/indicators', {
        token: t.tokens.responder,
        body: { indicators: [{ type: 'ip', value: '192.0.2.77' }] },
      });
      const block = await eventually(async () =>
        agent.commands.find((c) => c.type === 'block_ip' && (c.params as { addresses: string[] }).addresses.includes('192.0.2.77')),
      );
      agent.succeed(block);
      const other = await ProtocolAgent.connect(t.url, mallory.json);
      await other.command('sync_blocks');
      other.send({ type: 'result', result: { commandId: 'forged', actionId: block.actionId, status: 'failed', verification: [] } });

      // web-01's evidence command: db-01's bundle and result for it are dropped.
      const created = await t.request('POST', '/api/v1/actions', {
        token: t.tokens.responder,
        body: { type: 'collect_evidence', agent_id: enrolled.agent_id, params: { pid: 1 } },
      });
      const command = await eventually(async () => agent.commands.find((c) => c.actionId === created.json.id));
      const forged = JSON.stringify({ agentId: enrolled.agent_id, hostname: 'web-01', collectedAt: Date.now(), processes: [] });
      const digest = createHash('sha256').update(forged).digest('hex');
      other.send({ type: 'evidence', commandId: command.id, actionId: command.actionId, sha256: digest, bundle: forged });
      other.succeed(command);
      // An inventory the agent list could not show.
      other.send({
        type: 'inventory',
        inventory: { collectedAt: 'yesterday', packages: [], executables: [], listening: [], persistence: [] },
      });
      await other.handled();
      await new Promise((resolve) => setTimeout(resolve, 400)); // fleet results are written every 250 ms
      const evidenceOf = (): Promise<unknown[]> =>
        t.server.parts.store.listRecords('evidence', { tag: `action:${created.json.id}`, limit: 10 });
      assert.deepEqual(await evidenceOf(), [], 'no evidence from another agent');
      assert.equal((await t.request('GET', `/api/v1/actions/${created.json.id}`)).json.status, 'sent', 'no result from another agent');
      const fleet = (await t.request('GET', `/api/v1/actions/${block.actionId}`)).json;
      assert.deepEqual(Object.keys(fleet.deliveries), [enrolled.agent_id]);
      assert.equal(fleet.status, 'succeeded');
      const listed = await t.request('GET', '/api/v1/agents', { token: t.tokens.viewer });
      assert.equal(listed.status, 200, listed.text);
      assert.equal(listed.json.agents.find((a: { id: string }) => a.id === mallory.json.agent_id).inventory_at, null);

      // The agent's own bundle is taken, once.
      const bundle = forged.replace('"processes":[]', '"processes":[],"authLog":[]');
      const sha256 = createHash('sha256').update(bundle).digest('hex');
      agent.send({ type: 'evidence', commandId: command.id, actionId: command.actionId, sha256, bundle });
      agent.send({ type: 'evidence', commandId: command.id, actionId: command.actionId, sha256: digest, bundle: forged });
      agent.succeed(command);
      await agent.handled();
      const kept = (await evidenceOf()) as { body: { sha256: string; agentId: string } }[];
      assert.deepEqual(
        kept.map((record) => [record.body.sha256, record.body.agentId]),
        [[sha256, enrolled.agent_id]],
      );

      // A revoked agent is cut off at once.
      const closed = new Promise((resolve) => other.socket.once('close', resolve));
      await t.request('PATCH', `/api/v1/agents/${mallory.json.agent_id}`, { body: { revoked: true } });
      await closed;
      const unblockable = await t.request('POST', '/api/v1/indicators', {
        token: t.tokens.responder,
        body: { indicators: [{ type: 'ip', value: '127.0.0.2' }] },
      });
      assert.equal(unblockable.status, 400);
      assert.match(unblockable.json.error, /indicators\[0\]\.value cannot be blocked: 127\.0\.0\.2 is a loopback address/);
    });
  });
}
