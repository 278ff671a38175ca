/**
 * Enough of Elasticsearch's API that Winlogbeat, Filebeat, Elastic Agent, Logstash's elasticsearch
 * output and the official clients ship to Firebreak unchanged: the handshake they send first
 * (cluster info, licence, templates and policies, answered as a cluster that has them) and the
 * bulk API, whose documents go through the ECS reader into the pipeline.
 */
import type { ServerParts } from '../context.js';
import type { BulkItem } from '../detection/protocol.js';
import type { Reply, Route, RouteContext } from '../http/router.js';

/** The version announced to clients: shippers compare it with their own before sending. */
export const ELASTIC_COMPAT_VERSION = '8.19.0';
const PRODUCT_HEADER = { 'x-elastic-product': 'Elasticsearch' };
/** What Beats, Elastic Agent and Logstash check or install before they ship. */
const SETUP_APIS = [
  '_index_template',
  '_template',
  '_component_template',
  '_ilm',
  '_ingest',
  '_data_stream',
  '_nodes',
  '_cluster',
  '_cat',
  '_security',
  '_alias',
  '_aliases',
];

export function elasticRoutes(parts: ServerParts, clusterUuid: string): Route[] {
  const info = (): Reply =>
    elastic({
      name: 'firebreak',
      cluster_name: 'firebreak',
      cluster_uuid: clusterUuid,
      version: {
        number: ELASTIC_COMPAT_VERSION,
        build_flavor: 'default',
        build_type: 'firebreak',
        build_snapshot: false,
        lucene_version: '9.12.0',
        minimum_wire_compatibility_version: '7.17.0',
        minimum_index_compatibility_version: '7.0.0',
      },
      tagline: 'You Know, for Search',
    });
  const bulk = (ctx: RouteContext): Promise<Reply> => bulkRequest(parts, ctx);
  const doc = (summary: string): Route['doc'] => ({ summary, tags: ['elasticsearch-compatible'] });
  return [
    {
      method: 'GET',
      path: '/',
      permission: 'ingest',
      doc: doc('Cluster information (the Beats/Logstash handshake)'),
      handler: async () => info(),
    },
    { method: 'POST', path: '/_bulk', permission: 'ingest', doc: doc('Elasticsearch bulk API'), handler: bulk },
    { method: 'PUT', path: '/_bulk', permission: 'ingest', handler: bulk },
    { method: 'POST', path: '/:index/_bulk', permission: 'ingest', doc: doc('Elasticsearch bulk API with a default index'), handler: bulk },
    { method: 'PUT', path: '/:index/_bulk', permission: 'ingest', handler: bulk },
    {
      method: 'GET',
      path: '/_license',
      permission: 'ingest',
      handler: async () => elastic({ license: { status: 'active', uid: clusterUuid, type: 'basic', issue_date_in_millis: 0 } }),
    },
    {
      method: 'GET',
      path: '/_xpack',
      permission: 'ingest',
      handler: async () => elastic({ build: {}, license: { status: 'active', type: 'basic', mode: 'basic' }, features: {} }),
    },
    // Templates, ILM policies, ingest pipelines, data streams: shippers check for them or install them before
    // sending; here they exist and are acknowledged, and nothing else is needed.
    ...SETUP_APIS.flatMap((api) =>
      (['GET', 'PUT', 'POST'] as const).map((method): Route => ({
        method,
        path: `/${api}/*rest`,
        permission: 'ingest',
        handler: async () => setupRequest(method),
      })),
    ),
  ];
}

function setupRequest(method: string): Reply {
  return elastic(method === 'GET' ? {} : { acknowledged: true });
}

function elastic(json: unknown, status = 200): Reply {
  return { status, json, headers: PRODUCT_HEADER };
}

async function bulkRequest(parts: ServerParts, ctx: RouteContext): Promise<Reply> {
  const started = Date.now();
  parts.pipeline.admit(1);
  const body = (await ctx.body()).toString('utf8');
  const context = { origin: `bulk:${ctx.principal!.name}`, receivedAt: started };
  const { items, ids } = await parts.pipeline.ingestBody({ format: 'bulk', body, context, index: ctx.params.index });
  const answers = items!.map((item) => bulkItem(item, item.record === undefined ? undefined : ids[item.record]));
  return elastic({ took: Date.now() - started, errors: answers.some((a) => Object.values(a)[0]!.status >= 300), items: answers });
}

function bulkItem(item: BulkItem, id: number | undefined): Record<string, { status: number; [key: string]: unknown }> {
  const base = { _index: item.index || 'firebreak' };
  if (id === undefined)
    return {
      [item.action]: {
        ...base,
        _id: item.id ?? null,
        status: 400,
        error: { type: 'document_parsing_exception', reason: item.error ?? 'not stored' },
      },
    };
  return {
    [item.action]: {
      ...base,
      _id: item.id ?? String(id),
      _version: 1,
      result: 'created',
      _shards: { total: 1, successful: 1, failed: 0 },
      _seq_no: id,
      _primary_term: 1,
      status: 201,
    },
  };
}
