/** Who is calling (any token), tokens and the audit log (admin only). */
import type { StoredToken } from '@firebreak/store';
import { hashSecret, isTokenRole, newSecret, TOKEN_ROLES } from '../auth.js';
import { verifyAudit } from '../audit.js';
import type { ServerParts } from '../context.js';
import { parseJson } from '../http/body.js';
import { badRequest, notFound } from '../http/errors.js';
import { idParam, intParam, MAX_PAGE, objectBody, optionalString } from '../http/params.js';
import type { Route } from '../http/router.js';

const tokenSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    role: { enum: [...TOKEN_ROLES] },
    created: { type: 'string', format: 'date-time' },
    revoked: { type: ['string', 'null'], format: 'date-time' },
  },
};

function tokenView(token: StoredToken): Record<string, unknown> {
  return {
    id: token.id,
    name: token.name,
    role: token.role,
    created: new Date(token.created).toISOString(),
    revoked: token.revoked === null ? null : new Date(token.revoked).toISOString(),
  };
}

export function adminRoutes(parts: ServerParts): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/v1/me',
      permission: 'token',
      doc: {
        summary: 'The token the request carries: its id, name and role (any token may ask)',
        tags: ['admin'],
        response: {
          schema: {
            type: 'object',
            properties: { token_id: { type: 'integer' }, name: { type: 'string' }, role: { enum: [...TOKEN_ROLES] } },
          },
        },
      },
      handler: async ({ principal }) => ({ json: { token_id: principal!.tokenId, name: principal!.name, role: principal!.role } }),
    },
    {
      method: 'GET',
      path: '/api/v1/tokens',
      permission: 'admin',
      doc: {
        summary: 'API tokens (never their secrets)',
        tags: ['admin'],
        response: { schema: { type: 'object', properties: { tokens: { type: 'array', items: tokenSchema } } } },
      },
      handler: async () => ({ json: { tokens: (await parts.store.listTokens()).map(tokenView) } }),
    },
    {
      method: 'POST',
      path: '/api/v1/tokens',
      permission: 'admin',
      doc: {
        summary: 'Create a token; its secret is in this answer only (the server keeps its SHA-256)',
        tags: ['admin'],
        body: {
          contentType: 'application/json',
          schema: {
            type: 'object',
            properties: { name: { type: 'string' }, role: { enum: [...TOKEN_ROLES] } },
            required: ['name', 'role'],
          },
        },
        response: { schema: { ...tokenSchema, properties: { ...tokenSchema.properties, secret: { type: 'string' } } } },
      },
      handler: async (ctx) => {
        const body = objectBody(parseJson(await ctx.body()));
        const name = optionalString(body, 'name', 200);
        if (!name) throw badRequest('"name" is required');
        if (!isTokenRole(body.role)) throw badRequest(`"role" must be one of ${TOKEN_ROLES.join(', ')}`);
        const secret = newSecret();
        const token = await parts.store.createToken({ name, role: body.role, hash: hashSecret(secret) });
        await parts.audit.record(ctx.principal!, 'token.create', `token:${token.id}`, { name, role: body.role });
        return { status: 201, json: { ...tokenView(token), secret } };
      },
    },
    {
      method: 'DELETE',
      path: '/api/v1/tokens/:id',
      permission: 'admin',
      doc: { summary: 'Revoke a token', tags: ['admin'] },
      handler: async (ctx) => {
        const id = idParam(ctx.params.id);
        if (!(await parts.store.revokeToken(id))) throw notFound(`token ${id}`);
        parts.auth.forget();
        await parts.audit.record(ctx.principal!, 'token.revoke', `token:${id}`);
        return { json: { revoked: id } };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/audit',
      permission: 'admin',
      doc: {
        summary: 'The audit log, oldest first; each entry carries its hash and the previous one',
        tags: ['admin'],
        query: {
          after: { schema: { type: 'integer' }, description: 'entries after this sequence number' },
          limit: { schema: { type: 'integer', maximum: MAX_PAGE }, description: 'at most this many (default 100)' },
        },
      },
      handler: async ({ query }) => ({
        json: {
          entries: await parts.store.listAudit({
            afterSeq: intParam(query, 'after', { min: 0, max: Number.MAX_SAFE_INTEGER }),
            limit: intParam(query, 'limit', { min: 1, max: MAX_PAGE, fallback: 100 })!,
          }),
        },
      }),
    },
    {
      method: 'GET',
      path: '/api/v1/audit/verify',
      permission: 'admin',
      doc: { summary: 'Recompute the audit hash chain: ok, or the first entry that breaks it', tags: ['admin'] },
      handler: async () => ({ json: await verifyAudit(parts.store) }),
    },
  ];
}
