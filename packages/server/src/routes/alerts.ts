/** Alerts, newest first, in the public shape (`rule_id`, `rule_title`, `level`, `kind`, `timestamp`, `computer`, `incident_id`). */
import type { AlertKind, StoredAlert } from '@firebreak/store';
import type { ServerParts } from '../context.js';
import { notFound } from '../http/errors.js';
import { idParam, intParam, MAX_PAGE, oneOf, timeParam } from '../http/params.js';
import type { Route } from '../http/router.js';

const KINDS: readonly AlertKind[] = ['sigma', 'correlation', 'ioc', 'behavior'];

export const alertSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    rule_id: { type: 'string' },
    rule_title: { type: 'string' },
    level: { type: 'string' },
    kind: { enum: KINDS },
    timestamp: { type: 'string', format: 'date-time' },
    computer: { type: ['string', 'null'] },
    incident_id: { type: ['integer', 'null'] },
    event_ids: { type: 'array', items: { type: 'integer' } },
    matched: { type: 'object', description: 'the fields that made the rule match' },
    tags: { type: 'array', items: { type: 'string' } },
    details: { type: 'object' },
    created: { type: 'string', format: 'date-time' },
  },
  required: ['id', 'rule_id', 'rule_title', 'level', 'kind', 'timestamp', 'computer', 'incident_id'],
};

/** The API's view of an alert (snake_case, ISO times), the same in lists, details and the live feed. */
export function alertView(alert: StoredAlert): Record<string, unknown> {
  return {
    id: alert.id,
    rule_id: alert.ruleId,
    rule_title: alert.ruleTitle,
    level: alert.level,
    kind: alert.kind,
    timestamp: new Date(alert.timestamp).toISOString(),
    computer: alert.computer,
    incident_id: alert.incidentId,
    event_ids: alert.eventIds,
    matched: alert.matched,
    tags: alert.tags,
    details: alert.details,
    created: new Date(alert.created).toISOString(),
  };
}

export function alertRoutes(parts: ServerParts): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/v1/alerts',
      permission: 'viewer',
      doc: {
        summary: 'Alerts, newest first',
        tags: ['alerts'],
        query: {
          from: {
            schema: { type: 'string' },
            description: 'alert time from: ISO 8601 (UTC unless a zone is named), or seconds or ms since the epoch',
          },
          to: { schema: { type: 'string' }, description: 'alert time to, as from' },
          computer: { schema: { type: 'string' }, description: 'exact computer name' },
          rule_id: { schema: { type: 'string' }, description: 'rule id' },
          level: { schema: { type: 'string' }, description: 'informational, low, medium, high or critical' },
          kind: { schema: { enum: KINDS }, description: 'alert kind' },
          incident_id: { schema: { type: 'integer' }, description: 'alerts of one incident' },
          before: { schema: { type: 'integer' }, description: 'alerts with a smaller id (paging)' },
          limit: { schema: { type: 'integer', maximum: MAX_PAGE }, description: 'at most this many (default 100)' },
        },
        response: {
          schema: {
            type: 'object',
            properties: { alerts: { type: 'array', items: alertSchema }, next_before: { type: ['integer', 'null'] } },
          },
        },
      },
      handler: async ({ query }) => {
        const limit = intParam(query, 'limit', { min: 1, max: MAX_PAGE, fallback: 100 })!;
        const alerts = await parts.store.listAlerts({
          from: timeParam(query, 'from'),
          to: timeParam(query, 'to'),
          computer: query.get('computer') ?? undefined,
          ruleId: query.get('rule_id') ?? undefined,
          level: query.get('level') ?? undefined,
          kind: oneOf(query.get('kind'), 'kind', KINDS),
          incidentId: intParam(query, 'incident_id', { min: 1, max: Number.MAX_SAFE_INTEGER }),
          beforeId: intParam(query, 'before', { min: 1, max: Number.MAX_SAFE_INTEGER }),
          limit,
          order: 'desc',
        });
        return { json: { alerts: alerts.map(alertView), next_before: alerts.length === limit ? alerts.at(-1)!.id : null } };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/alerts/:id',
      permission: 'viewer',
      doc: { summary: 'One alert with its evidence events', tags: ['alerts'], response: { schema: alertSchema } },
      handler: async ({ params }) => {
        const id = idParam(params.id);
        const [alert] = await parts.store.listAlerts({ ids: [id], limit: 1 });
        if (!alert) throw notFound(`alert ${id}`);
        const evidence = await parts.store.searchEvents({ ids: alert.eventIds, limit: alert.eventIds.length });
        return { json: { ...alertView(alert), evidence } };
      },
    },
  ];
}
