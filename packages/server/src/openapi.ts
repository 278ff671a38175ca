/** The OpenAPI 3.1 document, generated from the route table so it cannot drift from what is served. */
import type { Route } from './http/router.js';

const errorSchema = { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] };

export function openapiDocument(routes: readonly Route[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    if (!route.doc) continue;
    const path = route.path.replace(/:(\w+)/g, '{$1}');
    (paths[path] ??= {})[route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Firebreak API',
      version,
      description:
        'Every route except GET /api/v1/health needs `Authorization: Bearer <token>`. Roles: viewer < analyst < responder < admin; `ingest` tokens may only send events.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: errorSchema },
    },
    security: [{ bearer: [] }],
    paths,
  };
}

function operation(route: Route): Record<string, unknown> {
  const doc = route.doc!;
  const parameters = [
    ...[...route.path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } })),
    ...Object.entries(doc.query ?? {}).map(([name, q]) => ({
      name,
      in: 'query',
      required: q.required ?? false,
      description: q.description,
      schema: q.schema,
    })),
  ];
  const responses: Record<string, unknown> = {
    '200': {
      description: doc.response?.description ?? 'OK',
      ...(doc.response ? { content: { [doc.response.contentType ?? 'application/json']: { schema: doc.response.schema } } } : {}),
    },
    '400': { description: 'Bad request', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
  };
  if (route.permission !== 'public') {
    responses['401'] = { description: 'Missing or unknown token' };
    // Any valid token may call a 'token' route: no role is too low for it.
    if (route.permission !== 'token') responses['403'] = { description: `Needs the ${route.permission} role` };
    responses['429'] = { description: 'Rate limit or ingest queue full; see Retry-After' };
  }
  return {
    summary: doc.summary,
    tags: doc.tags,
    'x-firebreak-permission': route.permission,
    ...(route.permission === 'public' ? { security: [] } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(doc.body ? { requestBody: { required: true, content: { [doc.body.contentType]: { schema: doc.body.schema } } } } : {}),
    responses,
  };
}
