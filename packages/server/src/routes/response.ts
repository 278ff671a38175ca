/**
 * Agents, response actions, the fleet blocklist and its exports, playbooks and evidence.
 * Enrollment is the one public route: its one-time token is the credential.
 */
import { AGENT_ENROLL_PATH, domainBlocklist, ipBlocklist, isActionType, rpzZone, urlBlocklist, type ActionType } from '@firebreak/core';
import type { ServerParts } from '../context.js';
import { parseJson } from '../http/body.js';
import { badRequest, notFound } from '../http/errors.js';
import { checkedInt, idParam, intParam, MAX_PAGE, objectBody, optionalString } from '../http/params.js';
import type { Route } from '../http/router.js';
import { actionView, ACTION_STATUSES, type ActionStatus } from '../response/actions.js';
import { agentView } from '../response/agents.js';
import { canonicalIndicator, indicatorView, INDICATOR_TYPES, type IndicatorType } from '../response/blocklist.js';
import type { EvidenceBody } from '../response/service.js';
import type { StoredRecord } from '@firebreak/store';

/** Actions a responder may start by hand (sync_blocks is the server's own housekeeping). */
const MANUAL_ACTIONS = ['isolate', 'release', 'kill_process', 'quarantine_file', 'restore_file', 'collect_evidence', 'unblock'] as const;
const MAX_TAGS = 32;

const actionSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    type: { type: 'string' },
    agent_id: { type: ['string', 'null'] },
    hostname: { type: ['string', 'null'] },
    fleet: { type: 'boolean' },
    params: { type: 'object' },
    status: { enum: [...ACTION_STATUSES] },
    mode: { enum: ['automatic', 'approval', 'manual'] },
    triggered_by: { type: 'string' },
    reason: { type: 'string' },
    verification: { type: 'array' },
    forensic: { type: ['object', 'null'], description: 'the forensic verdict (confirmed, inconclusive, refuted) with its reasons' },
  },
};
const agentSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    hostname: { type: 'string' },
    status: { enum: ['online', 'offline', 'revoked'] },
    last_seen: { type: 'string', format: 'date-time' },
    isolated: { type: 'boolean' },
    tags: { type: 'array', items: { type: 'string' } },
  },
};

export function responseRoutes(parts: ServerParts): Route[] {
  return [...agentRoutes(parts), ...actionRoutes(parts), ...blocklistRoutes(parts), ...playbookRoutes(parts)];
}

function agentRoutes(parts: ServerParts): Route[] {
  const { registry, hub } = parts.response;
  return [
    {
      method: 'POST',
      path: AGENT_ENROLL_PATH,
      permission: 'public',
      doc: {
        summary: 'Enroll an agent: a one-time enrollment token for the agent credential and the server key that signs commands',
        tags: ['agents'],
        body: {
          contentType: 'application/json',
          schema: { type: 'object', properties: { token: { type: 'string' }, hostname: { type: 'string' } } },
        },
      },
      handler: async (ctx) => {
        const body = objectBody(parseJson(await ctx.body()));
        const token = optionalString(body, 'token', 200);
        const hostname = optionalString(body, 'hostname', 255);
        if (!token || !hostname) throw badRequest('"token" and "hostname" are required');
        const request = {
          token,
          hostname,
          os: optionalString(body, 'os', 200) ?? 'linux',
          version: optionalString(body, 'version', 50) ?? '',
        };
        const { agent, secret } = await registry.enroll(request, ctx.req.socket.remoteAddress ?? null);
        await parts.audit.record({ name: `agent:${hostname}` }, 'agent.enroll', `agent:${agent.agentId}`, { hostname, tags: agent.tags });
        return { status: 201, json: { agent_id: agent.agentId, secret, server_public_key: parts.response.publicKeyPem } };
      },
    },
    {
      method: 'POST',
      path: '/api/v1/agents/enroll-tokens',
      permission: 'admin',
      doc: {
        summary: 'Mint a one-time enrollment token (its secret is in this answer only); tags given here become the agent’s asset tags',
        tags: ['agents'],
        body: {
          contentType: 'application/json',
          schema: { type: 'object', properties: { tags: { type: 'array', items: { type: 'string' } }, ttl_hours: { type: 'number' } } },
        },
      },
      handler: async (ctx) => {
        const raw = await ctx.body();
        const body = raw.length === 0 ? {} : objectBody(parseJson(raw));
        const tags = stringList(body.tags, 'tags');
        const ttlHours = body.ttl_hours === undefined ? 24 : checkedInt(body.ttl_hours, 'ttl_hours', { min: 1, max: 24 * 365 });
        const minted = await registry.mintEnrollToken(ctx.principal!.name, { tags, ttlMs: ttlHours * 3600_000 });
        await parts.audit.record(ctx.principal!, 'agent.enroll_token', `enroll_token:${minted.id}`, { tags, ttl_hours: ttlHours });
        return { status: 201, json: { id: minted.id, token: minted.secret, tags, expires_at: new Date(minted.expiresAt).toISOString() } };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/agents',
      permission: 'viewer',
      doc: {
        summary: 'Agents: id, hostname, status, last_seen, isolated',
        tags: ['agents'],
        response: { schema: { type: 'object', properties: { agents: { type: 'array', items: agentSchema } } } },
      },
      handler: async () => ({ json: { agents: (await registry.list()).map((agent) => agentView(agent, hub.isOnline(agent.agentId))) } }),
    },
    {
      method: 'GET',
      path: '/api/v1/agents/:id',
      permission: 'viewer',
      doc: { summary: 'One agent, with its latest inventory', tags: ['agents'] },
      handler: async (ctx) => {
        const agent = await registry.get(ctx.params.id!);
        if (!agent) throw notFound(`agent ${ctx.params.id}`);
        return { json: { ...agentView(agent, hub.isOnline(agent.agentId)), inventory: agent.inventory } };
      },
    },
    {
      method: 'PATCH',
      path: '/api/v1/agents/:id',
      permission: 'admin',
      doc: { summary: 'Set an agent’s asset tags (protected tags get surgical containment) or revoke it', tags: ['agents'] },
      handler: async (ctx) => {
        const body = objectBody(parseJson(await ctx.body()));
        const tags = body.tags === undefined ? undefined : stringList(body.tags, 'tags');
        const revoke = body.revoked === true;
        const agent = await registry.update(ctx.params.id!, (a) => ({ ...a, tags: tags ?? a.tags, revoked: a.revoked || revoke }));
        if (!agent) throw notFound(`agent ${ctx.params.id}`);
        // A revoked credential stops working now, on the connection already open too.
        if (agent.revoked) hub.disconnect(agent.agentId);
        await parts.audit.record(ctx.principal!, 'agent.update', `agent:${agent.agentId}`, { tags, revoked: revoke || undefined });
        return { json: agentView(agent, hub.isOnline(agent.agentId)) };
      },
    },
  ];
}

function actionRoutes(parts: ServerParts): Route[] {
  const { actions, registry } = parts.response;
  return [
    {
      method: 'GET',
      path: '/api/v1/actions',
      permission: 'viewer',
      doc: {
        summary: 'Response actions, newest first (who or what triggered each, parameters, result, verification)',
        tags: ['response'],
        query: {
          incident: { schema: { type: 'integer' }, description: 'only this incident’s actions' },
          status: { schema: { enum: [...ACTION_STATUSES] }, description: 'only actions in this status' },
          before: { schema: { type: 'integer' }, description: 'actions with a smaller id (paging)' },
          limit: { schema: { type: 'integer' }, description: `at most this many (default 100, at most ${MAX_PAGE})` },
        },
        response: { schema: { type: 'object', properties: { actions: { type: 'array', items: actionSchema } } } },
      },
      handler: async (ctx) => {
        const incident = ctx.query.get('incident');
        const status = ctx.query.get('status') ?? undefined;
        if (status !== undefined && !(ACTION_STATUSES as readonly string[]).includes(status))
          throw badRequest(`status must be one of ${ACTION_STATUSES.join(', ')}`);
        const list = await actions.list({
          incidentId: incident ? idParam(incident, 'incident') : undefined,
          beforeId: ctx.query.get('before') ? idParam(ctx.query.get('before')!, 'before') : undefined,
          limit: intParam(ctx.query, 'limit', { min: 1, max: MAX_PAGE, fallback: 100 })!,
          status: status as ActionStatus | undefined,
        });
        return { json: { actions: list.map(actionView) } };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/actions/:id',
      permission: 'viewer',
      doc: { summary: 'One action', tags: ['response'], response: { schema: actionSchema } },
      handler: async (ctx) => {
        const action = await actions.get(idParam(ctx.params.id));
        if (!action) throw notFound(`action ${ctx.params.id}`);
        return { json: actionView(action) };
      },
    },
    {
      method: 'POST',
      path: '/api/v1/actions',
      permission: 'responder',
      doc: {
        summary: 'Start an action on an agent (isolate, release, kill_process, quarantine_file, restore_file, collect_evidence, unblock)',
        tags: ['response'],
        body: {
          contentType: 'application/json',
          schema: {
            type: 'object',
            properties: {
              type: { enum: [...MANUAL_ACTIONS] },
              agent_id: { type: 'string' },
              params: { type: 'object' },
              reason: { type: 'string' },
              incident_id: { type: 'integer' },
            },
            required: ['type', 'agent_id'],
          },
        },
        response: { schema: actionSchema },
      },
      handler: async (ctx) => {
        const body = objectBody(parseJson(await ctx.body()));
        const type = String(body.type);
        if (!isActionType(type) || !(MANUAL_ACTIONS as readonly string[]).includes(type))
          throw badRequest(`"type" must be one of ${MANUAL_ACTIONS.join(', ')}`);
        const agent = await registry.get(String(body.agent_id));
        if (!agent) throw badRequest(`no agent "${String(body.agent_id)}"`);
        const params = body.params === undefined ? {} : objectBody(body.params);
        const action = await actions.create({
          type: type as ActionType,
          agentId: agent.agentId,
          hostname: agent.hostname,
          params: (type === 'isolate' ? { ...parts.response.isolationDefaults, ...params } : params) as never,
          mode: 'manual',
          triggeredBy: ctx.principal!.name,
          reason: optionalString(body, 'reason', 2000) ?? `started by ${ctx.principal!.name}`,
          incidentId:
            body.incident_id === undefined ? null : checkedInt(body.incident_id, 'incident_id', { min: 1, max: Number.MAX_SAFE_INTEGER }),
        });
        return { status: 201, json: actionView(action) };
      },
    },
    {
      method: 'POST',
      path: '/api/v1/actions/:id/approve',
      permission: 'responder',
      doc: {
        summary: 'Approve an action waiting for approval: it is sent (or waits for its forensic verdict)',
        tags: ['response'],
        response: { schema: actionSchema },
      },
      handler: async (ctx) => ({ json: actionView(await actions.approve(idParam(ctx.params.id), ctx.principal!.name)) }),
    },
    {
      method: 'POST',
      path: '/api/v1/actions/:id/cancel',
      permission: 'responder',
      doc: { summary: 'Cancel an action not yet sent', tags: ['response'], response: { schema: actionSchema } },
      handler: async (ctx) => ({ json: actionView(await actions.cancel(idParam(ctx.params.id), ctx.principal!.name)) }),
    },
    {
      method: 'GET',
      path: '/api/v1/evidence/:id',
      permission: 'analyst',
      doc: {
        summary: 'An evidence bundle: what was collected, from where, its SHA-256 (checked on arrival against the agent’s digest)',
        tags: ['response'],
      },
      handler: async (ctx) => {
        const b = (await evidence(parts, ctx.params.id)).body;
        return {
          json: {
            id: Number(ctx.params.id),
            action_id: b.actionId,
            agent_id: b.agentId,
            hostname: b.hostname,
            sha256: b.sha256,
            size: b.size,
            collected_at: new Date(b.collectedAt).toISOString(),
            bundle: JSON.parse(b.bundleText),
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/evidence/:id/raw',
      permission: 'analyst',
      doc: {
        summary: 'The bundle’s exact bytes as the agent sent them: their SHA-256 is the evidence digest (chain of custody)',
        tags: ['response'],
        response: { contentType: 'application/json', schema: { type: 'object' } },
      },
      handler: async (ctx) => {
        const b = (await evidence(parts, ctx.params.id)).body;
        return { text: b.bundleText, headers: { 'content-type': 'application/json', 'x-firebreak-sha256': b.sha256 } };
      },
    },
  ];
}

async function evidence(parts: ServerParts, id: string | undefined): Promise<StoredRecord<EvidenceBody>> {
  const record = await parts.store.getRecord<EvidenceBody>('evidence', idParam(id));
  if (!record) throw notFound(`evidence ${id}`);
  return record;
}

function blocklistRoutes(parts: ServerParts): Route[] {
  const { blocklist, service } = parts.response;
  const text = (body: string, contentType = 'text/plain; charset=utf-8'): { text: string; headers: Record<string, string> } => ({
    text: body,
    headers: { 'content-type': contentType },
  });
  return [
    {
      method: 'GET',
      path: '/api/v1/indicators',
      permission: 'viewer',
      doc: { summary: 'The fleet blocklist: confirmed indicators, each with its source', tags: ['blocklist'] },
      handler: async () => ({ json: { indicators: blocklist.list().map(indicatorView) } }),
    },
    {
      method: 'POST',
      path: '/api/v1/indicators',
      permission: 'responder',
      doc: {
        summary: 'Block indicators on every agent at once (ip, domain, sha256; url is exported only)',
        tags: ['blocklist'],
        body: {
          contentType: 'application/json',
          schema: {
            type: 'object',
            properties: {
              indicators: {
                type: 'array',
                items: { type: 'object', properties: { type: { enum: [...INDICATOR_TYPES] }, value: { type: 'string' } } },
              },
              note: { type: 'string' },
            },
          },
        },
      },
      handler: async (ctx) => {
        const body = objectBody(parseJson(await ctx.body()));
        if (!Array.isArray(body.indicators) || body.indicators.length === 0) throw badRequest('"indicators" must be a non-empty array');
        const entries = body.indicators.map((raw, i) => {
          const item = objectBody(raw);
          const type = String(item.type) as IndicatorType;
          if (!INDICATOR_TYPES.includes(type)) throw badRequest(`indicators[${i}].type must be one of ${INDICATOR_TYPES.join(', ')}`);
          const value = canonicalIndicator(type, String(item.value ?? ''));
          if (!value) throw badRequest(`indicators[${i}].value is not a valid ${type}`);
          const unblockable = type === 'ip' ? service.unblockableReason(value) : null;
          if (unblockable) throw badRequest(`indicators[${i}].value cannot be blocked: ${unblockable}`);
          return {
            type,
            value,
            source: ctx.principal!.name,
            incidentId: null,
            actionId: null,
            note: optionalString(body, 'note', 2000) ?? null,
          };
        });
        const added = await blocklist.add(entries);
        await parts.audit.record(ctx.principal!, 'indicator.add', null, { indicators: added.map((i) => `${i.body.type}:${i.body.value}`) });
        const pushed = await service.pushBlocks(
          ctx.principal!.name,
          added.map((i) => i.body),
        );
        return { status: 201, json: { added: added.map(indicatorView), actions: pushed.map(actionView) } };
      },
    },
    {
      method: 'DELETE',
      path: '/api/v1/indicators/:id',
      permission: 'responder',
      doc: { summary: 'Take an indicator off the blocklist (agents get the new list)', tags: ['blocklist'] },
      handler: async (ctx) => {
        const removed = await blocklist.remove(idParam(ctx.params.id));
        if (!removed) throw notFound(`indicator ${ctx.params.id}`);
        await parts.audit.record(ctx.principal!, 'indicator.remove', `indicator:${removed.id}`, {
          type: removed.body.type,
          value: removed.body.value,
        });
        service.syncAll();
        return { json: indicatorView(removed) };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/export/rpz',
      permission: 'viewer',
      doc: {
        summary: 'The blocked domains as a DNS RPZ zone (BIND, Unbound, PowerDNS…)',
        tags: ['blocklist'],
        response: { contentType: 'text/dns', schema: { type: 'string' } },
      },
      handler: async () => {
        const latest = Math.max(0, ...blocklist.list().map((i) => i.body.added));
        return text(rpzZone(blocklist.values('domain'), { serial: Math.floor(latest / 1000) }), 'text/dns; charset=utf-8');
      },
    },
    ...(
      [
        ['ips', 'ip', ipBlocklist],
        ['domains', 'domain', domainBlocklist],
        ['urls', 'url', urlBlocklist],
      ] as const
    ).map(([name, type, render]): Route => ({
      method: 'GET',
      path: `/api/v1/export/${name}.txt`,
      permission: 'viewer',
      doc: {
        summary: `Blocked ${name}, one per line (for firewalls and proxies)`,
        tags: ['blocklist'],
        response: { contentType: 'text/plain', schema: { type: 'string' } },
      },
      handler: async () => text(render(blocklist.values(type), new Date())),
    })),
  ];
}

function playbookRoutes(parts: ServerParts): Route[] {
  const { playbooks } = parts.response;
  return [
    {
      method: 'GET',
      path: '/api/v1/playbooks',
      permission: 'viewer',
      doc: { summary: 'Playbooks in force (from --playbooks and the API) and those that failed to load', tags: ['response'] },
      handler: async () => ({
        json: { playbooks: playbooks.entries().map((e) => ({ ...e.playbook, origin: e.origin })), problems: playbooks.problems },
      }),
    },
    {
      method: 'POST',
      path: '/api/v1/playbooks',
      permission: 'admin',
      doc: {
        summary: 'Add or replace a playbook (YAML body)',
        tags: ['response'],
        body: { contentType: 'application/yaml', schema: { type: 'string' } },
      },
      handler: async (ctx) => {
        const yaml = (await ctx.body()).toString('utf8');
        let playbook;
        try {
          playbook = await playbooks.put(yaml, ctx.principal!.name);
        } catch (error) {
          throw badRequest((error as Error).message);
        }
        await parts.audit.record(ctx.principal!, 'playbook.put', `playbook:${playbook.id}`, { yaml });
        return { status: 201, json: playbook };
      },
    },
    {
      method: 'DELETE',
      path: '/api/v1/playbooks/:id',
      permission: 'admin',
      doc: { summary: 'Remove a playbook added through the API', tags: ['response'] },
      handler: async (ctx) => {
        if (!(await playbooks.remove(ctx.params.id!))) throw notFound(`API playbook ${ctx.params.id}`);
        await parts.audit.record(ctx.principal!, 'playbook.remove', `playbook:${ctx.params.id}`);
        return { json: { removed: ctx.params.id } };
      },
    },
  ];
}

function stringList(value: unknown, name: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_TAGS || !value.every((v) => typeof v === 'string' && v.length > 0 && v.length <= 100))
    throw badRequest(`"${name}" must be a list of at most ${MAX_TAGS} strings`);
  return value as string[];
}
