/** Event search: time range, host, field filters, and a Sigma rule as the query. */
import { loadRuleSources, type RuleSet } from '@firebreak/sigma';
import { objectEvent } from '@firebreak/sigma';
import type { EventQuery, StoredEvent } from '@firebreak/store';
import type { ServerParts } from '../context.js';
import { parseJson } from '../http/body.js';
import { badRequest, notFound } from '../http/errors.js';
import { checkedInt, fieldFilters, idParam, intParam, MAX_PAGE, objectBody, optionalString, parseTime, timeParam } from '../http/params.js';
import type { Route } from '../http/router.js';

/** Stored events a rule query looks at, at most, per request (it pages on with `before`). */
const RULE_SCAN = 50_000;
const SCAN_PAGE = 2000;

const eventSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    time: { type: 'integer', description: 'ms since the epoch' },
    received: { type: 'integer' },
    host: { type: ['string', 'null'] },
    format: { type: 'string' },
    channel: { type: ['string', 'null'] },
    eventId: { type: ['integer', 'null'] },
    origin: { type: ['string', 'null'] },
    fields: { type: 'object' },
  },
};
const pageSchema = {
  type: 'object',
  properties: { events: { type: 'array', items: eventSchema }, next_before: { type: ['integer', 'null'] }, scanned: { type: 'integer' } },
};
const searchQuery = {
  from: { schema: { type: 'string' }, description: 'ISO 8601 (UTC unless a zone is named), or seconds or ms since the epoch; inclusive' },
  to: { schema: { type: 'string' }, description: 'as from; inclusive' },
  host: { schema: { type: 'string' }, description: 'exact host name' },
  'field.NAME': { schema: { type: 'string' }, description: 'exact value of field NAME (repeat for several fields)' },
  before: { schema: { type: 'integer' }, description: 'only events stored before this id (paging, newest first)' },
  limit: { schema: { type: 'integer', maximum: MAX_PAGE }, description: 'at most this many (default 100)' },
};

export function eventRoutes(parts: ServerParts): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/v1/events',
      permission: 'viewer',
      doc: { summary: 'Search events, newest first', tags: ['events'], query: searchQuery, response: { schema: pageSchema } },
      handler: async ({ query }) => {
        const q: EventQuery = {
          from: timeParam(query, 'from'),
          to: timeParam(query, 'to'),
          host: query.get('host') ?? undefined,
          fields: fieldFilters(query),
          beforeId: intParam(query, 'before', { min: 1, max: Number.MAX_SAFE_INTEGER }),
          limit: intParam(query, 'limit', { min: 1, max: MAX_PAGE, fallback: 100 })!,
          order: 'desc',
        };
        const events = await parts.store.searchEvents(q);
        return { json: { events, next_before: events.length === q.limit ? events.at(-1)!.id : null } };
      },
    },
    {
      method: 'POST',
      path: '/api/v1/events/search',
      permission: 'viewer',
      doc: {
        summary: 'Search events with a Sigma rule as the query (plus time, host and field filters), newest first',
        tags: ['events'],
        body: {
          contentType: 'application/json',
          schema: {
            type: 'object',
            properties: {
              rule: { type: 'string', description: 'Sigma rule YAML' },
              from: { type: ['string', 'integer'] },
              to: { type: ['string', 'integer'] },
              host: { type: 'string' },
              fields: { type: 'object', additionalProperties: { type: 'string' } },
              before: { type: 'integer' },
              limit: { type: 'integer', maximum: MAX_PAGE },
            },
          },
        },
        response: { schema: pageSchema },
      },
      handler: async (ctx) => ({ json: await ruleSearch(parts, objectBody(parseJson(await ctx.body()))) }),
    },
    {
      method: 'GET',
      path: '/api/v1/events/:id',
      permission: 'viewer',
      doc: { summary: 'One event', tags: ['events'], response: { schema: eventSchema } },
      handler: async ({ params }) => {
        const id = idParam(params.id);
        const [event] = await parts.store.searchEvents({ ids: [id], limit: 1 });
        if (!event) throw notFound(`event ${id}`);
        return { json: event };
      },
    },
  ];
}

async function ruleSearch(parts: ServerParts, body: Record<string, unknown>): Promise<unknown> {
  const limit = body.limit === undefined ? 100 : checkedInt(body.limit, 'limit', { min: 1, max: MAX_PAGE });
  const base: EventQuery = {
    from: body.from === undefined ? undefined : parseTime(body.from, 'from'),
    to: body.to === undefined ? undefined : parseTime(body.to, 'to'),
    host: optionalString(body, 'host', 1000),
    fields: stringMap(body.fields),
    limit: SCAN_PAGE,
    order: 'desc',
  };
  let before = body.before === undefined ? undefined : checkedInt(body.before, 'before', { min: 1, max: Number.MAX_SAFE_INTEGER });
  const rule = optionalString(body, 'rule', 1_000_000);
  if (rule === undefined) {
    const events = await parts.store.searchEvents({ ...base, beforeId: before, limit });
    return { events, next_before: events.length === limit ? events.at(-1)!.id : null, scanned: events.length };
  }
  const ruleSet = queryRule(rule);
  const events: StoredEvent[] = [];
  let scanned = 0;
  while (events.length < limit && scanned < RULE_SCAN) {
    const page = await parts.store.searchEvents({ ...base, beforeId: before });
    for (const event of page) {
      if (events.length === limit) break;
      before = event.id;
      scanned++;
      if (ruleSet.match(objectEvent(event.fields)).length > 0) events.push(event);
    }
    if (page.length < SCAN_PAGE) return { events, next_before: events.length === limit ? before : null, scanned };
  }
  return { events, next_before: before ?? null, scanned };
}

/** The query rule, loaded like any other: Sigma requires a log source (product, category or service), which limits the events it is matched on. */
function queryRule(text: string): RuleSet {
  const { ruleSet, files } = loadRuleSources([{ file: 'query', text }]);
  const report = files[0]!;
  if (report.status !== 'loaded' || ruleSet.size === 0)
    throw badRequest(
      `the query rule did not load: ${report.reason ?? (ruleSet.unmapped.length > 0 ? 'no log source mapping for it' : 'no detection rule in it')}${report.line ? ` (line ${report.line})` : ''}`,
    );
  return ruleSet;
}

function stringMap(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string'))
    throw badRequest('"fields" must be an object of field name → string value');
  return value as Record<string, string>;
}
