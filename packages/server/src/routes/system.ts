/** Health, stats, loaded rules, the live feed and the OpenAPI document. */
import type { ServerParts } from '../context.js';
import type { Route } from '../http/router.js';

export function systemRoutes(parts: ServerParts, openapi: () => unknown): Route[] {
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
      path: '/api/v1/rules',
      permission: 'viewer',
      doc: { summary: 'Rules in use, and rule files that did not load with the reason', tags: ['rules'] },
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
