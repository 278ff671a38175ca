/** The fleet's software inventory: who runs product X version Y, and where hash H was seen. */
import { isoTime, normalizeSha256 } from '@firebreak/core';
import type { ServerParts } from '../context.js';
import { badRequest } from '../http/errors.js';
import { intParam, MAX_PAGE } from '../http/params.js';
import type { Route } from '../http/router.js';
import { softwareView } from '../supply-chain/inventory.js';

export function softwareRoutes(parts: ServerParts): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/v1/software',
      permission: 'viewer',
      doc: {
        summary: 'Application identities seen across the fleet (vendor, product, version, signers, hashes, hosts with first and last seen)',
        tags: ['software'],
        query: {
          vendor: { schema: { type: 'string' }, description: 'vendor (Company) containing this text, case-insensitive' },
          product: { schema: { type: 'string' }, description: 'product containing this text' },
          version: { schema: { type: 'string' }, description: 'version containing this text' },
          host: { schema: { type: 'string' }, description: 'only identities seen on this host' },
          limit: { schema: { type: 'integer' }, description: `at most this many identities (default 100, at most ${MAX_PAGE})` },
        },
      },
      handler: async (ctx) => {
        const q = (name: string): string | undefined => ctx.query.get(name) || undefined;
        const limit = intParam(ctx.query, 'limit', { min: 1, max: MAX_PAGE, fallback: 100 })!;
        const found = parts.software.find({ vendor: q('vendor'), product: q('product'), version: q('version'), host: q('host') });
        return { json: { total: found.length, software: found.slice(0, limit).map(softwareView) } };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/software/hashes/:sha256',
      permission: 'viewer',
      doc: { summary: 'Where an executable or module hash was seen: hosts, path, first and last seen', tags: ['software'] },
      handler: async (ctx) => {
        const sha256 = normalizeSha256(ctx.params.sha256 ?? '');
        if (!sha256) throw badRequest('the path must end with a SHA-256 (64 hex digits)');
        const hosts = Object.entries(parts.software.whereIs(sha256))
          .map(([host, seen]) => ({ host, path: seen.path, first_seen: isoTime(seen.first), last_seen: isoTime(seen.last) }))
          .sort((a, b) => a.host.localeCompare(b.host));
        return { json: { sha256, host_count: hosts.length, hosts } };
      },
    },
  ];
}
