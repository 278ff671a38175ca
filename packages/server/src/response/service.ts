/**
 * Automatic response: alerts go through the playbooks; the actions they plan are created, sent
 * and verified. Every automatic response on a host is checked by forensics: the server collects
 * evidence from the host, records a verdict (confirmed, inconclusive, refuted) with its reasons on
 * the actions and the incident, releases actions that waited for a confirmed verdict, pushes
 * confirmed indicators to every agent, and releases an isolation the verdict did not confirm once
 * its playbook's `release_after` has passed.
 */
import { createHash } from 'node:crypto';
import {
  forensicVerdict,
  planResponse,
  unblockableIpReason,
  type ActionParams,
  type ActionType,
  type CommandResult,
  type EvidenceBundle,
  type Inventory,
  type PlannedAction,
  type Playbook,
  type ResponseTrigger,
} from '@firebreak/core';
import type { StoredAlert, Store } from '@firebreak/store';
import type { AuditLog } from '../audit.js';
import type { IncidentService } from '../incidents.js';
import type { LiveFeed } from '../live-feed.js';
import type { Stats } from '../stats.js';
import { actionView, type Action, type ActionService, type ForensicRecord } from './actions.js';
import type { AgentBody, AgentRegistry } from './agents.js';
import type { Blocklist, IndicatorType } from './blocklist.js';
import type { SoftwareInventory } from '../supply-chain/inventory.js';
import type { FleetKnowledge } from './fleet.js';
import type { AgentHub, EvidenceMessage, Hello, HubHandlers } from './hub.js';
import type { PlaybookLibrary } from './playbooks.js';

const EVIDENCE = 'evidence';
/** A playbook answers a host once in this long: a beacon raising an alert per connection gets one response. */
const RESPONSE_COOLDOWN_MS = 10 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** Connections the agent reported for the alert's process this long before the alert count as its evidence too. */
const RECORDED_CONNECTIONS_MS = 5 * 60 * 1000;

export interface ResponseOptions {
  /** Addresses of this server as agents reach it: never blocked. */
  serverAddresses: string[];
  /** Destinations an isolated host may still reach (business-critical services), and DNS. */
  isolation: { allow: { address: string; port?: number; protocol?: 'tcp' | 'udp' }[]; allowDns: boolean };
}

/**
 * The order actions go out in (the agent carries them out in order): cut the network first, then
 * take the evidence while the process still runs, then kill and quarantine.
 */
const PHASE: Record<ActionType, number> = {
  isolate: 0,
  block_ip: 0,
  block_domain: 0,
  block_hash: 1,
  sync_blocks: 1,
  unblock: 1,
  release: 1,
  collect_evidence: 2,
  kill_process: 3,
  quarantine_file: 4,
  restore_file: 4,
};

interface Group {
  agentId: string;
  hostname: string;
  playbookIds: string[];
  fleetBlock: boolean;
  trigger: ResponseTrigger;
  alertTime: number;
  /** When the server made the group (the alert's own time is the event's, which an agent writes). */
  createdAt: number;
  actionIds: number[];
  verdict: ForensicRecord | null;
}

export interface EvidenceBody {
  actionId: number | null;
  agentId: string;
  hostname: string;
  sha256: string;
  size: number;
  collectedAt: number;
  /** The bundle's JSON text exactly as the agent sent it: its SHA-256 is `sha256` (a parsed copy could reorder keys). */
  bundleText: string;
}

export class ResponseService implements HubHandlers {
  private readonly groups = new Map<string, Group>();
  /** `playbook|agent` → when it last answered that host. */
  private readonly answered = new Map<string, number>();
  /** Times of automatic isolations (the hourly cap). */
  private isolations: number[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly registry: AgentRegistry,
    private readonly hub: AgentHub,
    private readonly actions: ActionService,
    private readonly blocklist: Blocklist,
    private readonly fleet: FleetKnowledge,
    private readonly incidents: IncidentService,
    private readonly playbooks: PlaybookLibrary,
    private readonly audit: AuditLog,
    private readonly feed: LiveFeed,
    private readonly stats: Stats,
    private readonly options: ResponseOptions,
    /** Told of agents' inventories too (installed packages, running executables). */
    private readonly software: Pick<SoftwareInventory, 'observeInventory' | 'whereIs'>,
  ) {
    actions.listen((action) => this.feed.publish('action', actionView(action)));
  }

  /** Re-arms release timers of isolations still unconfirmed, and counts the last hour's automatic isolations. */
  async start(): Promise<void> {
    const now = Date.now();
    for (const action of await this.actions.list({ limit: 1000 })) {
      const b = action.body;
      if (b.type === 'isolate' && b.mode === 'automatic' && now - b.created < HOUR_MS) this.isolations.push(b.created);
      if (b.type === 'isolate' && b.status === 'succeeded' && b.releaseAfterMs !== null && b.forensic?.verdict !== 'confirmed')
        this.armRelease(action, Math.max(0, b.created + b.releaseAfterMs - now));
    }
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** Pipeline listener: the fields are read now (the pipeline keeps them only during the call). */
  alerts(alerts: readonly StoredAlert[], fields: (eventId: number) => Record<string, unknown> | undefined): void {
    for (const alert of alerts) {
      const eventFields = fields(alert.eventIds[0]!) ?? {};
      this.serially(() => this.respond(alert, eventFields));
    }
  }

  // ---- agents (HubHandlers) ----

  async connected(agent: AgentBody, hello: Hello): Promise<void> {
    if (agent.isolated !== hello.isolated) await this.registry.update(agent.agentId, (a) => ({ ...a, isolated: hello.isolated }));
    this.actions.sendUnrecorded(agent.agentId, 'sync_blocks', this.blocklist.agentBlocks());
    for (const id of this.actions.queuedFor(agent.agentId)) await this.actions.dispatch(id);
    await this.actions.resendUnanswered(agent.agentId);
    this.feed.publish('agent', { id: agent.agentId, hostname: agent.hostname, status: 'online' });
  }

  disconnected(agentId: string): void {
    this.feed.publish('agent', { id: agentId, status: 'offline' });
  }

  stored(events: Record<string, unknown>[]): void {
    this.fleet.observeEvents(events);
  }

  async inventory(agent: AgentBody, inventory: Inventory): Promise<void> {
    this.software.observeInventory(agent.hostname, inventory);
    await this.registry.update(agent.agentId, (a) => ({ ...a, inventory }));
  }

  async heartbeat(agent: AgentBody, isolated: boolean): Promise<void> {
    const known = await this.registry.get(agent.agentId);
    if (known && known.isolated !== isolated) await this.registry.update(agent.agentId, (a) => ({ ...a, isolated }));
  }

  async result(agent: AgentBody, result: CommandResult): Promise<void> {
    const recorded = await this.actions.result(agent.agentId, result);
    if (!recorded || result.status !== 'succeeded') return;
    const action = await this.actions.get(result.actionId!);
    if (!action) return;
    if (action.body.type === 'isolate' || action.body.type === 'release') {
      const isolated = action.body.type === 'isolate';
      await this.registry.update(agent.agentId, (a) => ({ ...a, isolated }));
      this.feed.publish('agent', { id: agent.agentId, hostname: agent.hostname, isolated });
    }
    if (action.body.type === 'isolate' && action.body.incidentId !== null) await this.markContained(action);
    if (action.body.type === 'isolate' && action.body.releaseAfterMs !== null) this.armRelease(action, action.body.releaseAfterMs);
  }

  /**
   * An evidence bundle: checked against its digest, stored, and — for a verification — judged. Only
   * the bundle the command asked this agent for is taken, once: an agent cannot speak for another
   * host's verification, nor store bundles nobody asked for.
   */
  async evidence(agent: AgentBody, message: EvidenceMessage): Promise<void> {
    const refuse = (why: string): void =>
      this.stats.problem(`agent ${agent.hostname}: evidence bundle for action ${message.actionId} ${why}; dropped`);
    const action = await this.actions.current(message.actionId!);
    const b = action?.body;
    if (!b || b.type !== 'collect_evidence' || b.agentId !== agent.agentId || b.commandId !== message.commandId)
      return refuse('answers no collect_evidence command sent to this agent');
    const digest = createHash('sha256').update(message.bundle).digest('hex');
    if (digest !== message.sha256) return refuse('does not match its SHA-256');
    if ((await this.store.listRecords(EVIDENCE, { tag: `action:${action.id}`, limit: 1 })).length > 0) return refuse('came again');
    const bundle = JSON.parse(message.bundle) as EvidenceBundle;
    if (!Number.isFinite(bundle?.collectedAt)) return refuse('has no collection time');
    const body: EvidenceBody = {
      actionId: message.actionId,
      agentId: agent.agentId,
      hostname: agent.hostname,
      sha256: digest,
      size: Buffer.byteLength(message.bundle),
      collectedAt: bundle.collectedAt,
      bundleText: message.bundle,
    };
    const stored = await this.store
      .putRecord(EVIDENCE, { key: digest, tag: `action:${action.id}`, body })
      .catch(async () => (await this.store.findRecord<EvidenceBody>(EVIDENCE, digest))!);
    await this.audit.record({ name: `agent:${agent.hostname}` }, 'evidence.store', `evidence:${stored.id}`, {
      sha256: digest,
      action: message.actionId,
      size: body.size,
    });
    const group = b.group ? this.groups.get(b.group) : undefined;
    if (group && !group.verdict) await this.judge(action, group, bundle, stored.id);
  }

  // ---- playbooks ----

  private async respond(alert: StoredAlert, fields: Record<string, unknown>): Promise<void> {
    const agent = await this.agentOf(alert, fields);
    const incident = alert.incidentId === null ? null : await this.incidents.get(alert.incidentId).catch(() => undefined);
    const trigger: ResponseTrigger = {
      alert: {
        id: alert.id,
        ruleId: alert.ruleId,
        level: alert.level,
        kind: alert.kind,
        tags: alert.tags,
        computer: alert.computer,
        matched: alert.matched,
      },
      fields,
      incident: incident ? { id: incident.id, score: incident.score } : null,
      agent: agent ? { id: agent.agentId, hostname: agent.hostname, tags: agent.tags, isolated: agent.isolated } : null,
      indicatorHit: alert.kind === 'ioc',
    };
    const now = Date.now();
    this.isolations = this.isolations.filter((time) => now - time < HOUR_MS);
    for (const [key, time] of this.answered) if (now - time >= RESPONSE_COOLDOWN_MS) this.answered.delete(key);
    const target = agent?.agentId ?? alert.computer ?? '';
    // A playbook answers a host once per cooldown; the others are planned together (protected tags and merging span them all).
    const ready = this.playbooks.enabled().filter((p) => now - (this.answered.get(`${p.id}|${target}`) ?? 0) >= RESPONSE_COOLDOWN_MS);
    if (ready.length === 0) return;
    const plan = planResponse(ready, trigger, {
      isolationsInLastHour: this.isolations.length,
      serverAddresses: this.options.serverAddresses,
    });
    if (plan.actions.length === 0) return;
    const answering = new Set(plan.actions.map((a) => a.playbookId));
    for (const id of answering) this.answered.set(`${id}|${target}`, now);
    await this.audit.record({ name: 'system' }, 'response.plan', `alert:${alert.id}`, {
      playbooks: [...answering],
      host: agent?.hostname ?? alert.computer,
      actions: plan.actions.map((a) => ({ type: a.type, mode: a.mode, reason: a.reason })),
      skipped: plan.skipped.map((s) => s.reason),
    });
    await this.carryOut(
      ready.filter((p) => answering.has(p.id)),
      plan.actions,
      trigger,
      agent,
      alert,
    );
  }

  private async carryOut(
    playbooks: Playbook[],
    planned: PlannedAction[],
    trigger: ResponseTrigger,
    agent: AgentBody | undefined,
    alert: StoredAlert,
  ): Promise<void> {
    const groupId = `alert:${alert.id}`;
    const group: Group | undefined = agent
      ? {
          agentId: agent.agentId,
          hostname: agent.hostname,
          playbookIds: playbooks.map((p) => p.id),
          fleetBlock: playbooks.some((p) => p.fleetBlock),
          trigger,
          alertTime: alert.timestamp,
          createdAt: Date.now(),
          actionIds: [],
          verdict: null,
        }
      : undefined;
    if (group) this.remember(groupId, group);
    const common = { alertId: alert.id, incidentId: alert.incidentId, group: groupId };
    // With a host to verify on, fleet blocks come from the verdict's confirmed indicators (see judge), not from the plan.
    const actions = planned.filter((plan) => !(group && plan.fleet && plan.requireVerdict)).sort((a, b) => PHASE[a.type] - PHASE[b.type]);
    if (group && !actions.some((plan) => plan.type === 'collect_evidence' && plan.mode === 'automatic' && !plan.fleet)) {
      const verifies = actions.some((plan) => !plan.fleet && (plan.mode === 'automatic' || plan.requireVerdict));
      const before = actions.findIndex((plan) => PHASE[plan.type] > PHASE.collect_evidence);
      if (verifies) actions.splice(before < 0 ? actions.length : before, 0, this.verificationPlan(group, alert));
    }
    for (const plan of actions) {
      const params = plan.type === 'isolate' ? this.isolationParams(plan.params) : plan.params;
      const action = await this.actions.create(
        {
          ...common,
          type: plan.type,
          triggeredBy: `playbook:${plan.playbookId}`,
          playbookId: plan.playbookId,
          agentId: plan.fleet ? null : (agent?.agentId ?? null),
          hostname: plan.fleet ? null : (agent?.hostname ?? null),
          params,
          mode: plan.mode,
          reason: plan.reason,
          requireVerdict: plan.requireVerdict,
          releaseAfterMs: plan.releaseAfterMs ?? null,
        },
        plan.fleet ? this.hub.onlineIds() : [],
      );
      group?.actionIds.push(action.id);
      if (plan.type === 'isolate' && plan.mode === 'automatic') this.isolations.push(Date.now());
    }
  }

  /** Groups wait for their verdict a day at most: evidence that never comes does not keep them for ever. */
  private remember(id: string, group: Group): void {
    for (const [key, old] of this.groups) if (group.createdAt - old.createdAt > DAY_MS) this.groups.delete(key);
    this.groups.set(id, group);
  }

  /** Evidence for the forensic verification of an automatic response (when the playbooks did not ask for it themselves). */
  private verificationPlan(group: Group, alert: StoredAlert): PlannedAction {
    const { fields } = group.trigger;
    const pid = Number(fields.ProcessId);
    return {
      playbookId: group.playbookIds[0]!,
      type: 'collect_evidence',
      params: {
        pid: Number.isInteger(pid) && pid > 0 ? pid : undefined,
        path: typeof fields.Image === 'string' ? fields.Image : undefined,
        since: alert.timestamp - HOUR_MS,
      },
      mode: 'automatic',
      requireVerdict: false,
      reason: `forensic verification of the automatic response to alert ${alert.id}`,
      fleet: false,
    };
  }

  /** What the server's configuration leaves open during any isolation, plus what the playbook adds. */
  private isolationParams(params: ActionParams['isolate']): ActionParams['isolate'] {
    const configured = this.options.isolation;
    return { ...params, allow: [...configured.allow, ...(params.allow ?? [])], allowDns: configured.allowDns || params.allowDns === true };
  }

  private async judge(evidenceAction: Action, group: Group, bundle: EvidenceBundle, evidenceId: number): Promise<void> {
    const agents = await this.registry.list();
    const verdict = forensicVerdict(await this.withRecordedConnections(bundle, group), {
      fields: group.trigger.fields,
      hostsWithHash: (sha256) => Object.keys(this.software.whereIs(sha256)).filter((host) => host !== group.hostname).length,
      destinationSeenBefore: (address) => this.fleet.destinationSeenBefore(address, group.alertTime),
      fleetSize: agents.length,
      protectedAddresses: this.options.serverAddresses,
    });
    const forensic: ForensicRecord = { ...verdict, evidenceId, at: Date.now() };
    group.verdict = forensic;
    for (const id of group.actionIds) await this.actions.verdictReached(id, forensic);
    await this.audit.record({ name: 'system' }, 'verdict.record', `action:${evidenceAction.id}`, {
      verdict: verdict.verdict,
      score: verdict.score,
      reasons: verdict.reasons.map((r) => r.text),
      group: evidenceAction.body.group,
    });
    const incidentId = evidenceAction.body.incidentId;
    if (incidentId !== null) {
      const reasons = verdict.reasons.map((r) => `${r.weight > 0 ? '+' : ''}${r.weight} ${r.text}`).join('; ');
      const note = `Forensic verdict on ${group.hostname}: ${verdict.verdict} (score ${verdict.score}) — ${reasons}`;
      await this.incidents.change(incidentId, { name: 'forensic verification' }, { note }).catch(() => undefined);
    }
    if (verdict.verdict === 'confirmed' && group.fleetBlock) await this.blockFleetWide(verdict.indicators, evidenceAction, group);
  }

  /**
   * The bundle as the verdict reads it: a snapshot of the host now, plus the connections the agent
   * reported for the process since the alert (an isolation may already have cut the live ones).
   */
  private async withRecordedConnections(bundle: EvidenceBundle, group: Group): Promise<EvidenceBundle> {
    const pid = group.trigger.fields.ProcessId;
    if (pid === undefined || pid === null) return bundle;
    const events = await this.store.searchEvents({
      host: group.hostname,
      from: group.alertTime - RECORDED_CONNECTIONS_MS,
      // The agent's own events: another source naming the host cannot add connections to its verdict.
      fields: { ProcessId: String(pid), _kind: 'network_connection', AgentId: group.agentId },
      limit: 1000,
    });
    const recorded = events.map((event) => ({
      protocol: (String(event.fields.Protocol ?? 'tcp') === 'udp' ? 'udp' : 'tcp') as 'tcp' | 'udp',
      localAddress: String(event.fields.SourceIp ?? ''),
      localPort: Number(event.fields.SourcePort ?? 0),
      remoteAddress: String(event.fields.DestinationIp ?? ''),
      remotePort: Number(event.fields.DestinationPort ?? 0),
      state: 'recorded',
      pid: Number(pid),
    }));
    return { ...bundle, sockets: [...bundle.sockets, ...recorded.filter((socket) => socket.remoteAddress)] };
  }

  /** Confirmed indicators go on the fleet blocklist and out to every connected agent. */
  private async blockFleetWide(indicators: { type: string; value: string }[], cause: Action, group: Group): Promise<void> {
    const added = await this.blocklist.add(
      indicators.map((i) => ({
        type: (i.type === 'ip' ? 'ip' : i.type) as IndicatorType,
        value: i.value,
        source: `verdict:${cause.id}`,
        incidentId: cause.body.incidentId,
        actionId: cause.id,
        note: `confirmed on ${group.hostname}`,
      })),
    );
    if (added.length === 0) return;
    await this.audit.record({ name: 'system' }, 'indicator.add', null, {
      indicators: added.map((i) => `${i.body.type}:${i.body.value}`),
      source: `verdict:${cause.id}`,
    });
    const values = (type: IndicatorType): string[] => added.filter((i) => i.body.type === type).map((i) => i.body.value);
    const blocks = [
      ['block_ip', { addresses: values('ip') }],
      ['block_domain', { domains: values('domain') }],
      ['block_hash', { sha256: values('sha256') }],
    ] as const;
    for (const [type, params] of blocks) {
      if (Object.values(params)[0]!.length === 0) continue;
      await this.actions.create(
        {
          type,
          agentId: null,
          params,
          mode: 'automatic',
          triggeredBy: `playbook:${group.playbookIds[0]}`,
          playbookId: group.playbookIds[0]!,
          alertId: cause.body.alertId,
          incidentId: cause.body.incidentId,
          reason: `fleet-wide block of indicators confirmed by the forensic verdict on ${group.hostname}`,
          parentId: cause.id,
        },
        this.hub.onlineIds(),
      );
    }
  }

  /** Why an address must not go on the blocklist (loopback, multicast, this server's own…), or null. */
  unblockableReason(address: string): string | null {
    return unblockableIpReason(address, this.options.serverAddresses);
  }

  /** Pushes new blocklist entries (added by a responder) to every connected agent as one fleet action. */
  async pushBlocks(by: string, added: { type: IndicatorType; value: string }[]): Promise<Action[]> {
    const out: Action[] = [];
    const pick = (type: IndicatorType): string[] => added.filter((i) => i.type === type).map((i) => i.value);
    const blocks = [
      ['block_ip', { addresses: pick('ip') }],
      ['block_domain', { domains: pick('domain') }],
      ['block_hash', { sha256: pick('sha256') }],
    ] as const;
    for (const [type, params] of blocks)
      if (Object.values(params)[0]!.length > 0)
        out.push(
          await this.actions.create(
            { type, agentId: null, params, mode: 'manual', triggeredBy: by, reason: 'fleet-wide block added by a responder' },
            this.hub.onlineIds(),
          ),
        );
    return out;
  }

  /** Every connected agent gets the blocklist as it is now (after an indicator was taken off it). */
  syncAll(): void {
    for (const agentId of this.hub.onlineIds()) this.actions.sendUnrecorded(agentId, 'sync_blocks', this.blocklist.agentBlocks());
  }

  private armRelease(isolation: Action, delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.serially(() => this.releaseIfUnconfirmed(isolation.id));
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  private async releaseIfUnconfirmed(isolationId: number): Promise<void> {
    const isolation = await this.actions.get(isolationId);
    if (!isolation || isolation.body.forensic?.verdict === 'confirmed' || !isolation.body.agentId) return;
    const agent = await this.registry.get(isolation.body.agentId);
    if (!agent?.isolated) return;
    await this.actions.create({
      type: 'release',
      agentId: agent.agentId,
      hostname: agent.hostname,
      params: {},
      mode: 'automatic',
      triggeredBy: `playbook:${isolation.body.playbookId}`,
      playbookId: isolation.body.playbookId,
      alertId: isolation.body.alertId,
      incidentId: isolation.body.incidentId,
      reason: `release_after: the forensic verdict was ${isolation.body.forensic?.verdict ?? 'not reached'} within ${isolation.body.releaseAfterMs} ms`,
      parentId: isolation.id,
    });
  }

  private async markContained(action: Action): Promise<void> {
    const incident = await this.incidents.get(action.body.incidentId!).catch(() => undefined);
    if (!incident || (incident.status !== 'new' && incident.status !== 'investigating')) return;
    await this.incidents.change(
      incident.id,
      { name: action.body.triggeredBy },
      { status: 'contained', note: `${action.body.hostname} isolated (action ${action.id})` },
    );
  }

  private async agentOf(alert: StoredAlert, fields: Record<string, unknown>): Promise<AgentBody | undefined> {
    if (typeof fields.AgentId === 'string') return this.registry.get(fields.AgentId);
    if (!alert.computer) return undefined;
    const host = alert.computer.toLowerCase();
    return (await this.registry.list()).find((agent) => agent.hostname.toLowerCase() === host);
  }

  /** Responses are worked out one alert at a time: the cooldown and the isolation cap see every earlier decision. */
  private serially(work: () => Promise<void>): void {
    this.queue = this.queue.then(work).catch((error: Error) => this.stats.problem(`response: ${error.message}`));
  }

  /** Resolves once every response started so far is worked out. */
  settled(): Promise<void> {
    return this.queue;
  }
}
