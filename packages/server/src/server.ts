/**
 * `firebreak serve`: the store, the ingest threads, the pipeline, the HTTP API and the
 * syslog listeners, put together and taken apart in order.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '@firebreak/store';
import { RULE_PACK_DIR } from '@firebreak/rules';
import { AuditLog } from './audit.js';
import { allows, Authenticator, RateLimiter } from './auth.js';
import type { ResponseParts, ServerParts } from './context.js';
import { customRuleSources } from './detection/custom-rules.js';
import { IngestThreads } from './detection/threads.js';
import { ConsoleFiles } from './http/console.js';
import { HttpError } from './http/errors.js';
import { Router, sendReply } from './http/router.js';
import { IncidentService } from './incidents.js';
import { LiveFeed } from './live-feed.js';
import { openapiDocument } from './openapi.js';
import { Pipeline } from './pipeline.js';
import { adminRoutes } from './routes/admin.js';
import { alertRoutes } from './routes/alerts.js';
import { elasticRoutes } from './routes/elastic.js';
import { eventRoutes } from './routes/events.js';
import { incidentRoutes } from './routes/incidents.js';
import { ingestRoutes } from './routes/ingest.js';
import { responseRoutes } from './routes/response.js';
import { supplyChainRoutes } from './routes/software.js';
import { systemRoutes } from './routes/system.js';
import { ActionService } from './response/actions.js';
import { AgentRegistry } from './response/agents.js';
import { Blocklist } from './response/blocklist.js';
import { FleetKnowledge } from './response/fleet.js';
import { IndicatorWatch } from './response/indicator-hits.js';
import { AgentHub } from './response/hub.js';
import { loadSigningKeys } from './response/keys.js';
import { PlaybookLibrary } from './response/playbooks.js';
import { ResponseService, type ResponseOptions } from './response/service.js';
import { Advisories } from './supply-chain/advisories.js';
import { DriftStage } from './supply-chain/drift-stage.js';
import { SoftwareInventory } from './supply-chain/inventory.js';
import { Stats } from './stats.js';
import { SyslogIngest, type SyslogOptions } from './syslog-ingest.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface ServerOptions {
  dataDir: string;
  listen: HostPort;
  /** Rule files and folders; default: the bundled rule pack. */
  rules?: string[];
  /** Store URL (`postgres://…`, `sqlite:/path`); default: SQLite under dataDir. */
  store?: string;
  /** FIREBREAK_ADMIN_TOKEN: a token with this value and the admin role exists. */
  adminToken?: string;
  /** Ingest threads (parsing and rules); default: one per core but one, at least one. */
  threads?: number;
  /** Events waiting for detection at most before ingest answers 429. */
  maxQueued?: number;
  /** Request bodies (ingest batches, bulk requests) in bytes at most. */
  bodyLimit?: number;
  uploadLimit?: number;
  /** Requests per second per token, and the burst allowed. */
  rateLimit?: { perSecond: number; burst: number };
  retention?: { maxAgeDays?: number; maxBytes?: number };
  syslog?: SyslogOptions;
  /** Alerts this far apart can still be one incident. */
  incidentWindowMs?: number;
  /** Serve HTTPS (and wss:// to agents) with this certificate and key (PEM files). */
  tls?: { certFile: string; keyFile: string };
  /** Playbook folders (YAML): automatic response to alerts. */
  playbooks?: string[];
  /** What isolation leaves open, and addresses of this server that must never be blocked (besides the listen address). */
  response?: Partial<ResponseOptions>;
  /** Behaviour baselines learn this many days of an application's events (event time) before drift raises alerts. */
  driftLearningDays?: number;
  /** How often agents send heartbeats (the server drops one silent for three). */
  agentHeartbeatMs?: number;
  /** The built web console (@firebreak/console's CONSOLE_DIR), served at `/`; without it, the API alone. */
  consoleDir?: string;
  log?: (line: string) => void;
}

export const DEFAULTS = {
  maxQueued: 200_000,
  bodyLimit: 32 * 1024 * 1024,
  uploadLimit: 2 * 1024 * 1024 * 1024,
  rateLimit: { perSecond: 200, burst: 400 },
  incidentWindowMs: 2 * 60 * 60 * 1000,
};
const RETENTION_EVERY_MS = 10 * 60 * 1000;
/** A connection that sends and receives nothing for this long is closed. */
const IDLE_SOCKET_MS = 5 * 60 * 1000;

export interface RunningServer {
  /** http://host:port */
  url: string;
  syslog: { udp?: AddressInfo; tcp?: AddressInfo; tls?: AddressInfo };
  parts: ServerParts;
  /** Events a previous run stored but had not run detection on, detected at start. */
  replayed: number;
  /** The secret of the admin token made at the first start (no token existed and none was given): shown once. */
  firstAdminToken: string | undefined;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  // First: an unbuilt console is a mistake to report before anything starts.
  const consoleFiles = options.consoleDir ? new ConsoleFiles(options.consoleDir) : undefined;
  await mkdir(options.dataDir, { recursive: true });
  await clearUploads(options.dataDir);
  const store = await openStore({ url: options.store, dataDir: options.dataDir });
  const closers: (() => Promise<void> | void)[] = [() => store.close()];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) await close();
  };
  try {
    const stats = new Stats(log);
    closers.push(() => stats.close());
    const threads = await IngestThreads.start(
      options.threads ?? Math.max(1, availableParallelism() - 1),
      { rules: { rules: options.rules ?? [RULE_PACK_DIR] }, customRules: await customRuleSources(store) },
      (error) => stats.problem(`an ingest thread stopped: ${error.message}`),
    );
    closers.push(() => threads.close());
    const feed = new LiveFeed();
    closers.push(() => feed.close());
    const audit = new AuditLog(store);
    const incidents = new IncidentService(store, feed, audit, options.incidentWindowMs ?? DEFAULTS.incidentWindowMs);
    for (const problem of await incidents.restore()) stats.problem(`incident not taken up again: ${problem}`);
    const pipeline = new Pipeline(store, threads, incidents, feed, stats, options.maxQueued ?? DEFAULTS.maxQueued);
    const auth = new Authenticator(store);
    const firstAdminToken = await auth.bootstrapAdmin(options.adminToken);
    const unplaced = await incidents.assignUnplaced();
    if (unplaced > 0) log(`${unplaced} alerts stored before the last stop were placed in incidents`);
    const software = new SoftwareInventory(store);
    await software.load();
    pipeline.addStage(software);
    closers.push(() => software.close());
    const drift = await DriftStage.start(options.dataDir, { learningMs: (options.driftLearningDays ?? 7) * 24 * 60 * 60 * 1000 }, log);
    pipeline.addStage(drift);
    closers.push(() => drift.close());
    const response = await startResponse(store, pipeline, incidents, feed, audit, stats, options, software);
    closers.push(() => response.close());
    const replayed = await pipeline.replay();
    if (replayed > 0) log(`detection caught up on ${replayed} events stored before the last stop`);

    const syslog = new SyslogIngest(pipeline, stats);
    const parts: ServerParts = {
      store,
      pipeline,
      threads,
      incidents,
      feed,
      audit,
      auth,
      stats,
      uploadDir: join(options.dataDir, 'uploads'),
      extraStats: () => ({ ...syslog.counters(), agents_online: response.hub.onlineIds().length }),
      response,
      software,
      advisories: new Advisories(store, software, pipeline),
      drift,
      version: packageVersion(),
    };
    const router = buildRouter(parts, options, await clusterUuid(store));
    const rate = options.rateLimit ?? DEFAULTS.rateLimit;
    const limiter = new RateLimiter(rate.perSecond, rate.burst);
    const serve = (req: IncomingMessage, res: ServerResponse): void => void handle(router, parts, limiter, consoleFiles, req, res);
    // HTTPS when given a certificate: agents then connect over wss://, shippers over https://.
    const http: Server = options.tls
      ? createHttpsServer({ cert: readFileSync(options.tls.certFile), key: readFileSync(options.tls.keyFile) }, serve)
      : createServer(serve);
    http.on('upgrade', (req, socket, head) => response.hub.upgrade(req, socket, head));
    http.keepAliveTimeout = 65_000;
    // Uploads of gigabytes take longer than Node's 5-minute request limit; a silent connection is closed instead.
    http.requestTimeout = 0;
    http.timeout = IDLE_SOCKET_MS;
    const address = await listen(http, options.listen);
    let syslogAddresses: RunningServer['syslog'];
    try {
      syslogAddresses = options.syslog ? await syslog.start(options.syslog) : {};
    } catch (error) {
      // A syslog port that cannot be had stops the start: nothing may stay open behind the error.
      await syslog.close().catch(() => undefined);
      await closeHttp(http);
      throw error;
    }
    // Stopping: no new input first, then what was accepted goes through detection, then the rest.
    const closeInputs = async (): Promise<void> => {
      await response.hub.close();
      await closeHttp(http);
      await syslog.close();
    };
    const retention = retentionTimer(store, options.retention, stats, log);
    if (retention) closers.push(() => clearInterval(retention));
    await audit.record('system', 'server.start', null, { store: store.kind, rules: threads.summary?.loaded ?? 0 });
    let closing: Promise<void> | undefined;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return {
      url: `${options.tls ? 'https' : 'http'}://${host}:${address.port}`,
      syslog: syslogAddresses,
      parts,
      replayed,
      firstAdminToken,
      close: () =>
        (closing ??= (async () => {
          await closeInputs();
          await pipeline.drained();
          await closeAll();
        })()),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** Agents, actions, the blocklist and the playbooks, wired to the pipeline's alerts. */
async function startResponse(
  store: Store,
  pipeline: Pipeline,
  incidents: IncidentService,
  feed: LiveFeed,
  audit: AuditLog,
  stats: Stats,
  options: ServerOptions,
  software: SoftwareInventory,
): Promise<ResponseParts> {
  const keys = await loadSigningKeys(options.dataDir);
  const registry = new AgentRegistry(store);
  const hub = new AgentHub(registry, pipeline, stats, options.agentHeartbeatMs);
  const actions = new ActionService(store, hub, audit, keys.privateKeyPem);
  await actions.restore();
  const blocklist = new Blocklist(store);
  await blocklist.load();
  const playbooks = new PlaybookLibrary(store);
  await playbooks.load(options.playbooks ?? []);
  for (const problem of playbooks.problems) stats.problem(`playbook not loaded: ${problem}`);
  const responseOptions: ResponseOptions = {
    serverAddresses: [options.listen.host, ...(options.response?.serverAddresses ?? [])],
    isolation: options.response?.isolation ?? { allow: [], allowDns: false },
  };
  const service = new ResponseService(
    store,
    registry,
    hub,
    actions,
    blocklist,
    new FleetKnowledge(),
    incidents,
    playbooks,
    audit,
    feed,
    stats,
    responseOptions,
    software,
  );
  await service.start();
  hub.handle(service);
  pipeline.onAlerts((alerts, fields) => service.alerts(alerts, fields));
  pipeline.addStage(new IndicatorWatch(blocklist));
  return {
    registry,
    hub,
    actions,
    blocklist,
    playbooks,
    service,
    publicKeyPem: keys.publicKeyPem,
    isolationDefaults: { allow: responseOptions.isolation.allow, allowDns: responseOptions.isolation.allowDns },
    close: async () => {
      await hub.close();
      service.close();
      await service.settled();
      await actions.close();
    },
  };
}

/** Leftovers of uploads a previous run was reading when it stopped. */
async function clearUploads(dataDir: string): Promise<void> {
  await rm(join(dataDir, 'uploads'), { recursive: true, force: true });
}

function buildRouter(parts: ServerParts, options: ServerOptions, uuid: string): Router {
  const router = new Router(options.bodyLimit ?? DEFAULTS.bodyLimit);
  const openapi = (): unknown => openapiDocument(router.routes, parts.version);
  router.add(
    ...systemRoutes(parts, openapi),
    ...ingestRoutes(parts, options.uploadLimit ?? DEFAULTS.uploadLimit),
    ...eventRoutes(parts),
    ...alertRoutes(parts),
    ...incidentRoutes(parts),
    ...adminRoutes(parts),
    ...responseRoutes(parts),
    ...supplyChainRoutes(parts),
    // Last: its catch-all takes the Elasticsearch setup paths nothing above serves.
    ...elasticRoutes(parts, uuid),
  );
  return router;
}

async function handle(
  router: Router,
  parts: ServerParts,
  limiter: RateLimiter,
  consoleFiles: ConsoleFiles | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'http://firebreak');
    // The console's files are public (they hold no data); everything they show comes through the API with a token.
    if (consoleFiles?.serve(req, res, url.pathname)) return;
    const match = router.match(req.method ?? 'GET', url.pathname);
    if (!match) throw new HttpError(404, `no such route: ${req.method} ${url.pathname}`);
    let principal;
    if (match.route.permission !== 'public') {
      principal = await parts.auth.authenticate(req.headers.authorization);
      if (!principal)
        throw new HttpError(401, 'a valid API token is required (Authorization: Bearer <token>)', {
          'www-authenticate': 'Bearer realm="firebreak"',
        });
      if (!allows(principal.role, match.route.permission))
        throw new HttpError(403, `the ${principal.role} role may not do this (needs ${match.route.permission})`);
      const wait = limiter.take(principal.tokenId);
      if (wait > 0) throw new HttpError(429, 'rate limit exceeded for this token', { 'retry-after': String(wait) });
    }
    const reply = await match.route.handler(router.context(match, req, res, url, principal));
    if (reply) sendReply(res, reply, req.method === 'HEAD');
  } catch (error) {
    sendError(parts, req, res, error);
  }
}

function sendError(parts: ServerParts, req: IncomingMessage, res: ServerResponse, error: unknown): void {
  const known = error instanceof HttpError;
  if (!known) parts.stats.problem(`${req.method} ${req.url}: ${(error as Error).stack ?? String(error)}`);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = known ? error.status : 500;
  // Close connections whose request body was not read, so its rest is not taken for the next request.
  const headers = { ...(known ? error.headers : {}), ...(req.complete ? {} : { connection: 'close' }) };
  sendReply(
    res,
    { status, headers, json: { error: known ? error.message : 'internal error (see the server log)' } },
    req.method === 'HEAD',
  );
}

function listen(http: Server, { host, port }: HostPort): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => resolve(http.address() as AddressInfo));
  });
}

function closeHttp(http: Server): Promise<void> {
  return new Promise((resolve) => {
    http.close(() => resolve());
    http.closeAllConnections();
  });
}

/** A stable identity for the Elasticsearch handshake, kept in the store. */
async function clusterUuid(store: ServerParts['store']): Promise<string> {
  const existing = await store.getMeta('cluster_uuid');
  if (existing) return existing;
  const uuid = randomUUID();
  await store.setMeta('cluster_uuid', uuid);
  return uuid;
}

function retentionTimer(
  store: ServerParts['store'],
  retention: ServerOptions['retention'],
  stats: Stats,
  log: (line: string) => void,
): NodeJS.Timeout | undefined {
  if (!retention?.maxAgeDays && !retention?.maxBytes) return undefined;
  const prune = async (): Promise<void> => {
    const before = retention.maxAgeDays ? Date.now() - retention.maxAgeDays * 86_400_000 : undefined;
    try {
      const deleted = await store.prune({ before, maxBytes: retention.maxBytes });
      if (deleted > 0) log(`retention: ${deleted} events deleted`);
    } catch (error) {
      stats.problem(`retention failed: ${(error as Error).message}`);
    }
  };
  void prune();
  return setInterval(() => void prune(), RETENTION_EVERY_MS).unref();
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
