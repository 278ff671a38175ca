/**
 * Response actions: each one a stored record with its audit trail, from creation (by a person or a
 * playbook) through approval, a signed command to the agent, and the agent's verified result. A
 * fleet action (a block for every agent) keeps one delivery per agent it reached.
 */
import { randomUUID } from 'node:crypto';
import {
  CommandSigner,
  REPLAYED_COMMAND,
  type ActionParams,
  type ActionType,
  type CommandPayload,
  type CommandResult,
  type VerificationCheck,
} from '@firebreak/core';
import type { Store, StoredRecord } from '@firebreak/store';
import type { AuditLog } from '../audit.js';
import { HttpError } from '../http/errors.js';
import type { AgentHub } from './hub.js';

const ACTION = 'action';
/** A command not carried out within this long is refused by the agent. */
const COMMAND_TTL_MS = 10 * 60 * 1000;
/** Actions a status filter reads at most per request (a fleet's whole history is far fewer). */
const MAX_STATUS_SCAN = 100_000;
/** Fleet deliveries are written together at most this often (500 agents answer within a second). */
const DELIVERY_FLUSH_MS = 250;

export const ACTION_STATUSES = [
  'pending_approval',
  'waiting_verdict',
  'queued',
  'sent',
  'succeeded',
  'failed',
  'refused',
  'cancelled',
] as const;
export type ActionStatus = (typeof ACTION_STATUSES)[number];
const FINAL: ReadonlySet<ActionStatus> = new Set(['succeeded', 'failed', 'refused', 'cancelled']);

export interface Delivery {
  status: 'sent' | 'succeeded' | 'failed' | 'refused';
  at: number;
  enforcedAt?: number;
  error?: string;
}

export interface ForensicRecord {
  verdict: 'confirmed' | 'inconclusive' | 'refuted';
  score: number;
  reasons: { code: string; text: string; weight: number }[];
  indicators: { type: string; value: string }[];
  evidenceId: number | null;
  at: number;
}

export interface ActionBody {
  type: ActionType;
  /** The agent it runs on; null for a fleet action. */
  agentId: string | null;
  hostname: string | null;
  fleet: boolean;
  params: ActionParams[ActionType];
  status: ActionStatus;
  mode: 'automatic' | 'approval' | 'manual';
  /** Who or what asked for it: a token's name, or `playbook:ID`. */
  triggeredBy: string;
  playbookId: string | null;
  alertId: number | null;
  incidentId: number | null;
  reason: string;
  /** Actions answering one alert share a group: its verification verdict applies to all of them. */
  group: string | null;
  requireVerdict: boolean;
  releaseAfterMs: number | null;
  /** The action this one follows up (evidence for a verification, the release of an isolation). */
  parentId: number | null;
  approvedBy: string | null;
  cancelledBy: string | null;
  commandId: string | null;
  created: number;
  sentAt: number | null;
  enforcedAt: number | null;
  completedAt: number | null;
  error: string | null;
  verification: VerificationCheck[];
  output: Record<string, unknown> | null;
  deliveries: Record<string, Delivery> | null;
  forensic: ForensicRecord | null;
}

export type ActionSpec = Pick<ActionBody, 'type' | 'agentId' | 'params' | 'mode' | 'triggeredBy' | 'reason'> &
  Partial<
    Pick<ActionBody, 'hostname' | 'playbookId' | 'alertId' | 'incidentId' | 'group' | 'requireVerdict' | 'releaseAfterMs' | 'parentId'>
  >;

export type Action = StoredRecord<ActionBody>;

/** Listening for what happens to actions (the response service follows its own). */
export type ActionListener = (action: Action, change: 'created' | 'result' | 'status') => void;

export class ActionService {
  private readonly signer: CommandSigner;
  /** Per action: updates never interleave. */
  private readonly queues = new Map<number, Promise<unknown>>();
  private readonly pendingDeliveries = new Map<number, Map<string, Delivery>>();
  private deliveryTimer: NodeJS.Timeout | undefined;
  private readonly listeners: ActionListener[] = [];
  /** Agent id → its actions waiting in `queued` (the agent is offline): a connecting agent gets them without a scan. */
  private readonly queued = new Map<string, Set<number>>();
  /** Agent id → its actions sent and not answered: an agent reconnecting gets their commands again. */
  private readonly unansweredByAgent = new Map<string, Set<number>>();
  /** Fleet action id → the agents it was sent to that have not answered: one reconnecting gets its command again. */
  private readonly unansweredFleet = new Map<number, Set<string>>();

  constructor(
    private readonly store: Store,
    private readonly hub: AgentHub,
    private readonly audit: AuditLog,
    privateKeyPem: string,
  ) {
    this.signer = new CommandSigner(privateKeyPem);
  }

  listen(listener: ActionListener): void {
    this.listeners.push(listener);
  }

  /** Stores the action with its audit record, then sends it when nothing (approval, a verdict) holds it back. */
  async create(spec: ActionSpec, fleetTargets: string[] = []): Promise<Action> {
    const status: ActionStatus = spec.mode === 'approval' ? 'pending_approval' : spec.requireVerdict ? 'waiting_verdict' : 'queued';
    const body: ActionBody = {
      hostname: null,
      playbookId: null,
      alertId: null,
      incidentId: null,
      group: null,
      requireVerdict: false,
      releaseAfterMs: null,
      parentId: null,
      ...spec,
      fleet: spec.agentId === null,
      status,
      approvedBy: null,
      cancelledBy: null,
      commandId: null,
      created: Date.now(),
      sentAt: null,
      enforcedAt: null,
      completedAt: null,
      error: null,
      verification: [],
      output: null,
      deliveries: null,
      forensic: null,
    };
    const action = await this.store.putRecord(ACTION, { tag: body.incidentId === null ? null : incidentTag(body.incidentId), body });
    await this.audit.record({ name: body.triggeredBy }, 'action.create', `action:${action.id}`, {
      type: body.type,
      agent: body.agentId,
      hostname: body.hostname,
      params: body.params,
      mode: body.mode,
      status: body.status,
      reason: body.reason,
      playbook: body.playbookId,
      alert: body.alertId,
      incident: body.incidentId,
    });
    this.emit(action, 'created');
    return status === 'queued' ? this.dispatch(action.id, fleetTargets) : action;
  }

  async get(id: number): Promise<Action | undefined> {
    return this.store.getRecord<ActionBody>(ACTION, id);
  }

  /** The action once the changes already queued for it are written (a reply racing its dispatch sees the command id). */
  async current(id: number): Promise<Action | undefined> {
    await this.queues.get(id);
    return this.get(id);
  }

  /** Newest first; with a status, the newest `limit` in that status (older pages are read until they are found). */
  async list(options: { incidentId?: number; limit: number; beforeId?: number; status?: ActionStatus }): Promise<Action[]> {
    const tag = options.incidentId === undefined ? undefined : incidentTag(options.incidentId);
    const { status, limit } = options;
    if (status === undefined) return this.store.listRecords<ActionBody>(ACTION, { tag, limit, beforeId: options.beforeId, order: 'desc' });
    const out: Action[] = [];
    for (let beforeId = options.beforeId, scanned = 0; out.length < limit && scanned < MAX_STATUS_SCAN;) {
      const page = await this.store.listRecords<ActionBody>(ACTION, { tag, limit: 1000, beforeId, order: 'desc' });
      out.push(...page.filter((action) => action.body.status === status));
      scanned += page.length;
      if (page.length < 1000) break;
      beforeId = page.at(-1)!.id;
    }
    return out.slice(0, limit);
  }

  /** Takes up the actions a previous run left queued for agents that were offline. */
  async restore(): Promise<void> {
    for (const action of await this.open()) this.track(action);
  }

  /**
   * Sends a connecting agent the commands it was sent but never answered: a command written to a
   * connection that was dying (an agent dropped as silent) is lost, and without this its action —
   * or its delivery, and so its fleet action — would wait forever.
   */
  async resendUnanswered(agentId: string): Promise<void> {
    await this.resendSent(agentId);
    await this.resendFleet(agentId);
  }

  /**
   * Fleet commands go under a fresh command id, because the first may have been carried out (its
   * result still on the way, the agent would refuse it as a replay); fleet commands are blocks, so
   * carrying one out twice changes nothing.
   */
  private async resendFleet(agentId: string): Promise<void> {
    for (const [id, agents] of this.unansweredFleet) {
      if (!agents.has(agentId)) continue;
      const action = await this.current(id);
      if (action?.body.deliveries?.[agentId]?.status !== 'sent') continue;
      this.hub.send(agentId, { type: 'command', command: this.signer.sign(this.command(id, action.body, agentId)) });
    }
  }

  /** Actions waiting for their agent to connect (sent to it when it does). */
  queuedFor(agentId: string): number[] {
    return [...(this.queued.get(agentId) ?? [])];
  }

  /** Actions not yet final. */
  async open(): Promise<Action[]> {
    const out: Action[] = [];
    for (let beforeId: number | undefined; ;) {
      const page = await this.store.listRecords<ActionBody>(ACTION, { beforeId, limit: 1000, order: 'desc' });
      out.push(...page.filter((action) => !FINAL.has(action.body.status)));
      if (page.length < 1000) return out;
      beforeId = page.at(-1)!.id;
    }
  }

  async approve(id: number, by: string): Promise<Action> {
    const action = await this.transition(id, by, 'action.approve', (body) => {
      if (body.status === 'waiting_verdict') return { ...body, status: 'queued', approvedBy: by }; // a responder overrides the verdict gate
      if (body.status !== 'pending_approval') throw new HttpError(409, `action ${id} is ${body.status}, not pending approval or a verdict`);
      // Only a verdict still to come is waited for: one already reached would never release it (the approval overrides it, as above).
      const waits = body.requireVerdict && body.forensic === null;
      return { ...body, status: waits ? 'waiting_verdict' : 'queued', approvedBy: by };
    });
    return action.body.status === 'queued' ? this.dispatch(id) : action;
  }

  async cancel(id: number, by: string, reason = 'cancelled'): Promise<Action> {
    const action = await this.transition(id, by, 'action.cancel', (body) => {
      if (!['pending_approval', 'waiting_verdict', 'queued'].includes(body.status))
        throw new HttpError(409, `action ${id} is ${body.status}: only actions not yet sent can be cancelled`);
      return { ...body, status: 'cancelled', cancelledBy: by, error: reason, completedAt: Date.now() };
    });
    this.track(action);
    return action;
  }

  /** A verdict came: actions waiting for it go ahead (confirmed) or are cancelled. */
  async verdictReached(id: number, forensic: ForensicRecord): Promise<Action> {
    const action = await this.mutate(id, (body) => {
      if (body.status !== 'waiting_verdict') return { ...body, forensic };
      if (forensic.verdict === 'confirmed') return { ...body, forensic, status: 'queued' };
      return { ...body, forensic, status: 'cancelled', error: `forensic verdict ${forensic.verdict}`, completedAt: Date.now() };
    });
    return action.body.status === 'queued' ? this.dispatch(id) : action;
  }

  /**
   * Signs and sends a queued action. An agent action waits in `queued` while its agent is offline
   * and goes out when it connects; a fleet action goes to every agent in `targets` now (agents
   * offline now get the whole blocklist when they connect).
   */
  async dispatch(id: number, targets: string[] = []): Promise<Action> {
    // Sent from inside the action's update queue: two dispatches at once (an agent connecting as its action is approved) send it once.
    let sent = false;
    const action = await this.mutate(id, (body) => {
      if (body.status !== 'queued') return body;
      if (body.fleet) {
        sent = true;
        return this.sendFleet(id, body, targets);
      }
      const command = this.command(id, body, body.agentId!);
      sent = this.hub.send(body.agentId!, { type: 'command', command: this.signer.sign(command) });
      return sent ? { ...body, status: 'sent', commandId: command.id, sentAt: Date.now() } : body;
    });
    if (sent) this.emit(action, 'status');
    this.track(action);
    return action;
  }

  /**
   * Keeps the indexes a connecting agent is served from: its actions waiting in `queued`, its
   * actions sent and not answered, and the fleet actions it was sent and has not answered.
   */
  private track(action: Action): void {
    const { agentId, status, fleet, deliveries } = action.body;
    if (fleet) {
      const waiting = Object.keys(deliveries ?? {}).filter((agent) => deliveries![agent]!.status === 'sent');
      if (waiting.length > 0) this.unansweredFleet.set(action.id, new Set(waiting));
      else this.unansweredFleet.delete(action.id);
      return;
    }
    if (agentId === null) return;
    indexByAgent(this.queued, agentId, action.id, status === 'queued');
    indexByAgent(this.unansweredByAgent, agentId, action.id, status === 'sent');
  }

  /** Sends a housekeeping command that belongs to no action (the blocklist at connect). */
  sendUnrecorded<T extends ActionType>(agentId: string, type: T, params: ActionParams[T]): boolean {
    const now = Date.now();
    const command: CommandPayload = {
      id: randomUUID(),
      actionId: null,
      agentId,
      type,
      params,
      issuedAt: now,
      expiresAt: now + COMMAND_TTL_MS,
    };
    return this.hub.send(agentId, { type: 'command', command: this.signer.sign(command) });
  }

  /** A command result from an agent; true when it was the one awaited for an agent action (and recorded). */
  async result(agentId: string, result: CommandResult): Promise<boolean> {
    if (result.actionId === null) return false;
    const action = await this.get(result.actionId);
    if (!action) return false;
    if (action.body.fleet) {
      this.delivered(action.id, agentId, result);
      return false;
    }
    let taken = false;
    const updated = await this.mutate(
      action.id,
      (body) => {
        // Only the answer to the command sent, once: an agent refusing a replay of it (the command sent
        // again at a reconnection, or replayed by anyone) says it has it, which is no result.
        if (body.agentId !== agentId || body.commandId !== result.commandId || FINAL.has(body.status)) return body;
        if (result.status === 'refused' && result.error === REPLAYED_COMMAND) return body;
        taken = true;
        return {
          ...body,
          status: result.status,
          enforcedAt: result.enforcedAt ?? null,
          completedAt: Date.now(),
          error: result.error ?? null,
          verification: result.verification ?? [],
          output: result.output ?? null,
        };
      },
      'result',
    );
    if (!taken) return false;
    this.track(updated);
    await this.audit.record({ name: `agent:${updated.body.hostname ?? agentId}` }, 'action.result', `action:${action.id}`, {
      status: result.status,
      error: result.error,
      verification: result.verification,
      enforced_at: result.enforcedAt,
    });
    return true;
  }

  /** Applies a change to an action's body, one at a time per action (a change returning the body it was given writes nothing). */
  mutate(id: number, change: (body: ActionBody) => ActionBody, event?: 'result' | 'status'): Promise<Action> {
    const previous = this.queues.get(id) ?? Promise.resolve();
    const next = previous.then(async () => {
      const current = await this.get(id);
      if (!current) throw new HttpError(404, `no action ${id}`);
      const body = change(current.body);
      // The same body back means no change: nothing is written.
      return body === current.body ? current : (await this.store.updateRecord<ActionBody>(ACTION, id, body))!;
    });
    const settled = next.catch(() => undefined);
    this.queues.set(id, settled);
    void settled.then(() => {
      if (this.queues.get(id) === settled) this.queues.delete(id);
    });
    return next.then((action) => {
      if (event) this.emit(action, event);
      return action;
    });
  }

  async close(): Promise<void> {
    if (this.deliveryTimer) clearTimeout(this.deliveryTimer);
    await this.flushDeliveries();
    await Promise.all(this.queues.values());
  }

  private async transition(id: number, by: string, auditAction: string, change: (body: ActionBody) => ActionBody): Promise<Action> {
    const action = await this.mutate(id, change, 'status');
    await this.audit.record({ name: by }, auditAction, `action:${id}`, { status: action.body.status, reason: action.body.error });
    return action;
  }

  /** Sends a fleet action to every target connected now; its body with one delivery per agent reached. */
  private sendFleet(id: number, body: ActionBody, targets: string[]): ActionBody {
    const now = Date.now();
    const deliveries: Record<string, Delivery> = {};
    for (const agentId of targets) {
      const command = this.command(id, body, agentId);
      if (this.hub.send(agentId, { type: 'command', command: this.signer.sign(command) }))
        deliveries[agentId] = { status: 'sent', at: now };
    }
    const status: ActionStatus = Object.keys(deliveries).length === 0 ? 'succeeded' : 'sent';
    return { ...body, status, sentAt: now, deliveries, completedAt: status === 'succeeded' ? now : null };
  }

  /**
   * An agent's own actions go under the same command id: the agent carries out a command once, so
   * one it received already is refused as a replay (which `result` ignores), and its result comes
   * from the agent's outbox, sent before it reads the command again.
   */
  private async resendSent(agentId: string): Promise<void> {
    for (const id of [...(this.unansweredByAgent.get(agentId) ?? [])]) {
      const action = await this.current(id);
      const body = action?.body;
      if (!body || body.status !== 'sent' || body.agentId !== agentId || body.commandId === null || body.sentAt === null) continue;
      const command = {
        ...this.command(id, body, agentId),
        id: body.commandId,
        issuedAt: body.sentAt,
        expiresAt: body.sentAt + COMMAND_TTL_MS,
      };
      this.hub.send(agentId, { type: 'command', command: this.signer.sign(command) });
    }
  }

  /** Fleet results are gathered and written together: one write per quarter second, not one per agent. */
  private delivered(id: number, agentId: string, result: CommandResult): void {
    const status = result.status === 'succeeded' ? 'succeeded' : result.status;
    let pending = this.pendingDeliveries.get(id);
    if (!pending) this.pendingDeliveries.set(id, (pending = new Map()));
    pending.set(agentId, { status, at: Date.now(), enforcedAt: result.enforcedAt, error: result.error });
    this.deliveryTimer ??= setTimeout(() => void this.flushDeliveries(), DELIVERY_FLUSH_MS);
  }

  private async flushDeliveries(): Promise<void> {
    this.deliveryTimer = undefined;
    const batches = [...this.pendingDeliveries];
    this.pendingDeliveries.clear();
    for (const [id, arrived] of batches) {
      let completed = false;
      const action = await this.mutate(
        id,
        (body) => {
          // Only an agent the action was sent to, and once: another agent's result cannot add to or change the deliveries.
          const awaited = [...arrived].filter(([agentId]) => body.deliveries?.[agentId]?.status === 'sent');
          if (awaited.length === 0) return body;
          const deliveries = { ...body.deliveries, ...Object.fromEntries(awaited) };
          const answered = Object.values(deliveries).filter((d) => d.status !== 'sent');
          const done = answered.length === Object.keys(deliveries).length;
          const failed = answered.filter((d) => d.status !== 'succeeded').length;
          const status: ActionStatus = !done ? 'sent' : failed > 0 ? 'failed' : 'succeeded';
          completed = done;
          return {
            ...body,
            deliveries,
            status,
            completedAt: done ? Date.now() : null,
            error: failed > 0 ? `${failed} agents failed` : null,
          };
        },
        'result',
      ).catch(() => {
        // Not written (the store failed): the results wait for the next flush rather than being lost.
        const pending = this.pendingDeliveries.get(id) ?? new Map<string, Delivery>();
        this.pendingDeliveries.set(id, new Map([...arrived, ...pending]));
        this.deliveryTimer ??= setTimeout(() => void this.flushDeliveries(), DELIVERY_FLUSH_MS);
        return undefined;
      });
      if (action) this.track(action);
      if (action && completed) {
        const deliveries = Object.values(action.body.deliveries ?? {});
        await this.audit.record({ name: 'system' }, 'action.result', `action:${id}`, {
          status: action.body.status,
          agents: deliveries.length,
          succeeded: deliveries.filter((d) => d.status === 'succeeded').length,
        });
      }
    }
  }

  private command(actionId: number, body: ActionBody, agentId: string): CommandPayload {
    const now = Date.now();
    return {
      id: randomUUID(),
      actionId,
      agentId,
      type: body.type,
      params: body.params,
      issuedAt: now,
      expiresAt: now + COMMAND_TTL_MS,
    };
  }

  private emit(action: Action, change: 'created' | 'result' | 'status'): void {
    for (const listener of this.listeners) listener(action, change);
  }
}

/** Adds the action to or removes it from an agent's set in `index` (an emptied set goes). */
function indexByAgent(index: Map<string, Set<number>>, agentId: string, id: number, member: boolean): void {
  let ids = index.get(agentId);
  if (member) {
    if (!ids) index.set(agentId, (ids = new Set()));
    ids.add(id);
  } else if (ids?.delete(id) && ids.size === 0) index.delete(agentId);
}

function incidentTag(incidentId: number): string {
  return `incident:${incidentId}`;
}

/** The API's view of an action. */
export function actionView(action: Action): Record<string, unknown> {
  const b = action.body;
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: action.id,
    type: b.type,
    agent_id: b.agentId,
    hostname: b.hostname,
    fleet: b.fleet,
    params: b.params,
    status: b.status,
    mode: b.mode,
    triggered_by: b.triggeredBy,
    playbook_id: b.playbookId,
    alert_id: b.alertId,
    incident_id: b.incidentId,
    reason: b.reason,
    require_verdict: b.requireVerdict,
    parent_id: b.parentId,
    approved_by: b.approvedBy,
    cancelled_by: b.cancelledBy,
    created: iso(b.created),
    sent_at: iso(b.sentAt),
    enforced_at: iso(b.enforcedAt),
    completed_at: iso(b.completedAt),
    error: b.error,
    verification: b.verification,
    output: b.output,
    deliveries: b.deliveries,
    forensic: b.forensic,
  };
}
