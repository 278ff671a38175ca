/** Health, stats, the overview, rules (and saving custom ones), the live feed and the OpenAPI document. */
import type { ServerParts } from '../context.js';
import { CustomRules } from '../detection/custom-rules.js';
import { parseJson } from '../http/body.js';
import { badRequest } from '../http/errors.js';
import { intParam, objectBody, optionalString } from '../http/params.js';
import type { Route } from '../http/router.js';
import { OVERVIEW_BUCKETS, overview } from '../overview.js';

/** A custom rule's YAML, in characters at most. */
const MAX_RULE_YAML = 100_000;

const countsSchema = { type: 'object', additionalProperties: { type: 'integer' } };
const overviewSchema = {
  type: 'object',
  properties: {
    alerts: {
      type: 'object',
      properties: {
        from: { type: 'string', format: 'date-time' },
        to: { type: 'string', format: 'date-time' },
        bucket_ms: { type: 'integer' },
        buckets: {
          type: 'array',
          items: { type: 'object', properties: { time: { type: 'string', format: 'date-time' }, counts: countsSchema } },
        },
      },
    },
    incidents: {
      type: 'object',
      properties: { open: { type: 'integer' }, open_by_severity: countsSchema, by_status: countsSchema },
    },
    hosts: {
      type: 'object',
      properties: { agents: { type: 'integer' }, online: { type: 'integer' }, isolated: { type: 'integer' } },
    },
    ingest: {
      type: 'object',
      properties: { accepted_total: { type: 'integer' }, events_per_second: { type: 'number' } },
    },
  },
};
const ruleSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    title: { type: 'string' },
    level: { type: 'string' },
    status: { type: 'string' },
    tags: { type: 'array', items: { type: 'string' } },
    file: { type: ['string', 'null'], description: 'custom:ID for a custom rule' },
    logsource: { type: 'object', additionalProperties: { type: 'string' } },
    custom: { type: 'boolean', description: 'saved through POST /api/v1/rules' },
  },
};

export function systemRoutes(parts: ServerParts, openapi: () => unknown): Route[] {
  const customRules = new CustomRules(parts.store, parts.threads, parts.audit);
  return [
    {
      method: 'GET',
      path: '/api/v1/health',
      permission: 'public',
      doc: {
        summary: 'Liveness (no token needed)',
        tags: ['system'],
        response: { schema: { type: 'object', properties: { status: { const: 'ok' } } } },
      },
      handler: async () => ({ json: { status: 'ok', version: parts.version } }),
    },
    {
      method: 'GET',
      path: '/api/v1/openapi.json',
      permission: 'viewer',
      doc: { summary: 'This document', tags: ['system'] },
      handler: async () => ({ json: openapi() }),
    },
    {
      method: 'GET',
      path: '/api/v1/stats',
      permission: 'viewer',
      doc: { summary: 'Ingest, detection and storage figures', tags: ['system'] },
      handler: async () => {
        const { stats, pipeline, threads, feed } = parts;
        const memory = process.memoryUsage();
        return {
          json: {
            uptime_s: Math.round((Date.now() - stats.started) / 1000),
            ingest: {
              received: stats.received,
              accepted: stats.accepted,
              rejected: stats.rejected,
              throttled: stats.throttled,
              ...parts.extraStats(),
            },
            detection: {
              detected: stats.detected,
              alerts: stats.alerts,
              queued: pipeline.queued,
              max_queued: pipeline.maxPending,
              in_flight: threads.inFlight,
            },
            store: { kind: parts.store.kind, ...(await parts.store.stats()) },
            live_subscribers: feed.size,
            problems: { count: stats.problems, recent: stats.recentProblems },
            memory: { rss: memory.rss, heap_used: memory.heapUsed },
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/overview',
      permission: 'viewer',
      doc: {
        summary: `What a SOC overview shows: alerts per level in ${OVERVIEW_BUCKETS + 1} time buckets, open incidents by severity and all by status, agents, ingest rate`,
        tags: ['system'],
        query: {
          hours: {
            schema: { type: 'integer', minimum: 1, maximum: 720 },
            description: 'the alert chart spans this many hours (default 24)',
          },
        },
        response: { schema: overviewSchema },
      },
      handler: async ({ query }) => ({ json: await overview(parts, intParam(query, 'hours', { min: 1, max: 720, fallback: 24 })!) }),
    },
    {
      method: 'GET',
      path: '/api/v1/rules',
      permission: 'viewer',
      doc: {
        summary: 'Rules in use (custom ones marked), and rule files that did not load with the reason',
        tags: ['rules'],
        response: { schema: { type: 'object', properties: { rules: { type: 'array', items: ruleSchema } } } },
      },
      handler: async () => {
        const summary = parts.threads.summary!;
        return {
          json: {
            loaded: summary.loaded,
            skipped: summary.skipped,
            reasons: summary.reasons,
            rules: parts.threads.rules,
            correlations: summary.correlations.map((c) => ({
              id: c.id ?? c.name ?? c.title,
              title: c.title,
              type: c.type,
              level: c.level ?? null,
            })),
            failed: summary.failures,
          },
        };
      },
    },
    {
      method: 'POST',
      path: '/api/v1/rules',
      permission: 'analyst',
      bodyLimit: 1024 * 1024,
      doc: {
        summary: 'Save a Sigma detection rule (with an id): detection runs it on every event from now on, and after restarts',
        tags: ['rules'],
        body: {
          contentType: 'application/json',
          schema: { type: 'object', properties: { yaml: { type: 'string', maxLength: MAX_RULE_YAML } }, required: ['yaml'] },
        },
        response: { schema: ruleSchema },
      },
      handler: async (ctx) => {
        const yaml = optionalString(objectBody(parseJson(await ctx.body())), 'yaml', MAX_RULE_YAML);
        if (!yaml?.trim()) throw badRequest('"yaml" is required: the Sigma rule');
        return { status: 201, json: await customRules.add(yaml, ctx.principal!) };
      },
    },
    {
      method: 'DELETE',
      path: '/api/v1/rules/:id',
      permission: 'analyst',
      doc: { summary: 'Delete a custom rule (rules from the rule files cannot be deleted)', tags: ['rules'] },
      handler: async (ctx) => {
        await customRules.remove(ctx.params.id!, ctx.principal!);
        return { json: { deleted: ctx.params.id } };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/live',
      permission: 'viewer',
      doc: {
        summary:
          'Live feed of alerts, incident changes, response actions and agent status (Server-Sent Events: event "alert", "incident", "action" or "agent", data JSON)',
        tags: ['alerts'],
        response: { contentType: 'text/event-stream', schema: { type: 'string' } },
      },
      handler: async ({ res }) => {
        parts.feed.subscribe(res);
        return undefined;
      },
    },
  ];
}
