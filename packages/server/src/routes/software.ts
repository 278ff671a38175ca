/** Supply chain: the software inventory (who runs product X version Y, where hash H was seen) and vendor advisories. */
import { isoTime, normalizeSha256 } from '@firebreak/core';
import type { ServerParts } from '../context.js';
import { badRequest } from '../http/errors.js';
import { intParam, MAX_PAGE } from '../http/params.js';
import type { Route } from '../http/router.js';
import { parseJson } from '../http/body.js';
import { parseAdvisory } from '../supply-chain/advisories.js';
import { softwareView } from '../supply-chain/inventory.js';

export function supplyChainRoutes(parts: ServerParts): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/v1/baselines',
      permission: 'viewer',
      doc: {
        summary:
          'Behaviour baselines, the fleet view: what an application does across its hosts (children, destinations, modules, folders written) with the share of hosts showing each, its versions and usual signers',
        tags: ['software'],
        query: {
          app: { schema: { type: 'string' }, description: 'vendor or product containing this text (case-insensitive)', required: true },
          limit: { schema: { type: 'integer' }, description: 'at most this many applications (default 20)' },
        },
      },
      handler: async (ctx) => {
        const app = ctx.query.get('app');
        if (!app) throw badRequest('"app" (vendor or product text) is required');
        return { json: { baselines: parts.drift.baselines(app, intParam(ctx.query, 'limit', { min: 1, max: MAX_PAGE, fallback: 20 })!) } };
      },
    },
    {
      method: 'POST',
      path: '/api/v1/advisories',
      permission: 'responder',
      // 10,000 hashes take under 1 MB; the server's default limit is sized for event batches.
      bodyLimit: 4 * 1024 * 1024,
      doc: {
        summary:
          'A vendor compromise (vendor, product, versions, hashes, domains, ips): the blast radius at once — hosts with an affected version or hash, hosts that contacted the domains or IPs in the last 30 days — and an alert per affected host',
        tags: ['software'],
        body: {
          contentType: 'application/json',
          schema: {
            type: 'object',
            properties: {
              title: { type: 'string' },
              vendor: { type: 'string' },
              product: { type: 'string' },
              versions: { type: 'array', items: { type: 'string' } },
              hashes: { type: 'array', items: { type: 'string' } },
              domains: { type: 'array', items: { type: 'string' } },
              ips: { type: 'array', items: { type: 'string' } },
              references: { type: 'array', items: { type: 'string' } },
            },
            required: ['vendor', 'product'],
          },
        },
      },
      handler: async (ctx) => {
        const advisory = parseAdvisory(parseJson(await ctx.body()));
        const started = Date.now();
        const { id, affected, alerts } = await parts.advisories.add(advisory, ctx.principal!.name);
        await parts.audit.record(ctx.principal!, 'advisory.add', `advisory:${id}`, {
          ...advisory,
          affected_hosts: affected.map((h) => h.host),
        });
        const affectedHosts = affected.map((h) => ({
          host: h.host,
          evidence: h.evidence.map((e) => ({
            kind: e.kind,
            value: e.value,
            detail: e.detail,
            event_ids: e.eventIds,
            first_seen: isoTime(e.first),
          })),
        }));
        return { status: 201, json: { id, affected_hosts: affectedHosts, alerts, took_ms: Date.now() - started } };
      },
    },
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
