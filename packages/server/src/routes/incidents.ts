/** Incidents: list, details with alerts, the status workflow and notes, storyline graph and timeline. */
import { INCIDENT_STATUSES, type IncidentStatus } from '@firebreak/store';
import type { ServerParts } from '../context.js';
import { parseJson } from '../http/body.js';
import { badRequest } from '../http/errors.js';
import { idParam, intParam, MAX_PAGE, objectBody, oneOf, optionalString } from '../http/params.js';
import type { Route } from '../http/router.js';
import { incidentView } from '../incidents.js';
import { alertSchema, alertView } from './alerts.js';

const MAX_NOTE = 10_000;

const incidentSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    title: { type: 'string' },
    status: { enum: [...INCIDENT_STATUSES] },
    severity: { type: 'string' },
    score: { type: 'integer', maximum: 100 },
    hosts: { type: 'array', items: { type: 'string' } },
    first: { type: 'string', format: 'date-time' },
    last: { type: 'string', format: 'date-time' },
    alert_count: { type: 'integer' },
    notes: {
      type: 'array',
      items: { type: 'object', properties: { time: { type: 'string' }, author: { type: 'string' }, text: { type: 'string' } } },
    },
  },
};

/** `LASTMS.ID`: the last alert time (ms) and id of the incident a page ended with. */
const PAGE_KEY = /^(-?\d{1,16})\.(\d{1,16})$/;

/** The `before` of an incident listing: the `next_before` (`LASTMS.ID`) of the page before. */
function pageKey(raw: string | null): { last: number; id: number } | undefined {
  if (raw === null || raw === '') return undefined;
  const match = PAGE_KEY.exec(raw);
  const [last, id] = match ? [Number(match[1]), Number(match[2])] : [NaN, NaN];
  if (!Number.isSafeInteger(last) || !Number.isSafeInteger(id) || id < 1)
    throw badRequest('"before" must be the next_before of a previous page (LASTMS.ID, e.g. 1764504000000.42)');
  return { last, id };
}

export function incidentRoutes(parts: ServerParts): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/v1/incidents',
      permission: 'viewer',
      doc: {
        summary: 'Incidents, most recently active first',
        tags: ['incidents'],
        query: {
          status: { schema: { enum: [...INCIDENT_STATUSES] }, description: 'only this status' },
          host: { schema: { type: 'string' }, description: 'only incidents on this host' },
          limit: { schema: { type: 'integer', maximum: MAX_PAGE }, description: 'at most this many (default 100)' },
          before: { schema: { type: 'string' }, description: 'the next page: next_before of the previous answer' },
        },
        response: {
          schema: {
            type: 'object',
            properties: {
              incidents: { type: 'array', items: incidentSchema },
              next_before: { type: ['string', 'null'], description: 'where the next page starts (null: this page was the last)' },
            },
          },
        },
      },
      handler: async ({ query }) => {
        const limit = intParam(query, 'limit', { min: 1, max: MAX_PAGE, fallback: 100 })!;
        const incidents = await parts.store.listIncidents({
          status: oneOf(query.get('status'), 'status', INCIDENT_STATUSES),
          host: query.get('host') ?? undefined,
          before: pageKey(query.get('before')),
          limit,
        });
        const last = incidents.length === limit ? incidents.at(-1)! : undefined;
        return { json: { incidents: incidents.map(incidentView), next_before: last ? `${last.last}.${last.id}` : null } };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/incidents/:id',
      permission: 'viewer',
      doc: {
        summary: 'One incident with its alerts',
        tags: ['incidents'],
        response: {
          schema: { ...incidentSchema, properties: { ...incidentSchema.properties, alerts: { type: 'array', items: alertSchema } } },
        },
      },
      handler: async ({ params }) => {
        const id = idParam(params.id);
        const incident = await parts.incidents.get(id);
        return { json: { ...incidentView(incident), alerts: (await parts.incidents.alerts(id)).map(alertView) } };
      },
    },
    {
      method: 'PATCH',
      path: '/api/v1/incidents/:id',
      permission: 'analyst',
      doc: {
        summary: 'Change the status (new, investigating, contained, resolved, false_positive) and/or add a note',
        tags: ['incidents'],
        body: {
          contentType: 'application/json',
          schema: {
            type: 'object',
            properties: { status: { enum: [...INCIDENT_STATUSES] }, note: { type: 'string', maxLength: MAX_NOTE } },
          },
        },
        response: { schema: incidentSchema },
      },
      handler: async (ctx) => {
        const body = objectBody(parseJson(await ctx.body()));
        const status = body.status === undefined ? undefined : oneOf(String(body.status), 'status', INCIDENT_STATUSES);
        const note = optionalString(body, 'note', MAX_NOTE);
        if (!status && !note) throw badRequest('give "status", "note" or both');
        return {
          json: incidentView(
            await parts.incidents.change(idParam(ctx.params.id), ctx.principal!, { status: status as IncidentStatus | undefined, note }),
          ),
        };
      },
    },
    {
      method: 'POST',
      path: '/api/v1/incidents/:id/notes',
      permission: 'analyst',
      doc: {
        summary: 'Add an analyst note',
        tags: ['incidents'],
        body: {
          contentType: 'application/json',
          schema: { type: 'object', properties: { text: { type: 'string', maxLength: MAX_NOTE } }, required: ['text'] },
        },
        response: { schema: incidentSchema },
      },
      handler: async (ctx) => {
        const text = optionalString(objectBody(parseJson(await ctx.body())), 'text', MAX_NOTE);
        if (!text?.trim()) throw badRequest('"text" is required');
        return { status: 201, json: incidentView(await parts.incidents.change(idParam(ctx.params.id), ctx.principal!, { note: text })) };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/incidents/:id/graph',
      permission: 'viewer',
      doc: {
        summary:
          'Storyline graph: host, user, process, file, module, domain and IP nodes; spawned, loaded, wrote, connected, resolved edges',
        tags: ['incidents'],
      },
      handler: async ({ params }) => ({ json: await parts.incidents.storyline(idParam(params.id)) }),
    },
    {
      method: 'GET',
      path: '/api/v1/incidents/:id/timeline',
      permission: 'viewer',
      doc: { summary: 'Events around the incident and its alerts, in time order', tags: ['incidents'] },
      handler: async ({ params }) => ({ json: { entries: await parts.incidents.timeline(idParam(params.id)) } }),
    },
  ];
}
