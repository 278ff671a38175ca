/**
 * A small router: routes are data (method, path pattern, who may call it, what it takes and
 * returns), so the OpenAPI document is generated from the same table that serves requests.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal, Permission } from '../auth.js';
import { readBody } from './body.js';
import { HttpError } from './errors.js';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** JSON Schema (the subset OpenAPI 3.1 shares), for the document only: handlers validate themselves. */
export type Schema = Record<string, unknown>;

export interface RouteDoc {
  summary: string;
  tags: string[];
  query?: Record<string, { schema: Schema; description: string; required?: boolean }>;
  body?: { contentType: string; schema: Schema; description?: string };
  response?: { contentType?: string; schema: Schema; description?: string };
}

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Who called (undefined on public routes). */
  principal: Principal | undefined;
  /** The body, at most the route's limit. */
  body(): Promise<Buffer>;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is (with headers' content type). */
  text?: string;
}

export interface Route {
  method: Method;
  /** `/api/v1/alerts/:id`; a trailing `*name` takes the rest of the path. */
  path: string;
  permission: Permission;
  doc?: RouteDoc;
  bodyLimit?: number;
  /** Returns the reply, or nothing when it wrote the response itself (streams). */
  handler(ctx: RouteContext): Promise<Reply | undefined>;
}

interface CompiledRoute {
  route: Route;
  segments: string[];
  rest: string | undefined;
}

export interface Match {
  route: Route;
  params: Record<string, string>;
}

/** Request bodies of the default limit's size that may be in memory at once. */
const BODY_BUDGET_BODIES = 8;

export class Router {
  private readonly compiled: CompiledRoute[] = [];
  /** Bytes of request bodies being read or handled now. */
  private bodyBytes = 0;

  constructor(readonly defaultBodyLimit: number) {}

  add(...routes: Route[]): void {
    for (const route of routes) {
      const segments = route.path.split('/').filter(Boolean);
      const last = segments.at(-1);
      const rest = last?.startsWith('*') ? last.slice(1) : undefined;
      this.compiled.push({ route, segments: rest === undefined ? segments : segments.slice(0, -1), rest });
    }
  }

  get routes(): Route[] {
    return this.compiled.map((c) => c.route);
  }

  /** The route for this request; a path that exists with other methods is a 405. */
  match(method: string, pathname: string): Match | undefined {
    const parts = pathname.split('/').filter(Boolean).map(decodeSegment);
    let pathMatched = false;
    for (const candidate of this.compiled) {
      const params = matchSegments(candidate, parts);
      if (!params) continue;
      if (candidate.route.method === method || (method === 'HEAD' && candidate.route.method === 'GET'))
        return { route: candidate.route, params };
      pathMatched = true;
    }
    if (pathMatched) throw new HttpError(405, `${method} is not allowed on ${pathname}`);
    return undefined;
  }

  context(match: Match, req: IncomingMessage, res: ServerResponse, url: URL, principal: Principal | undefined): RouteContext {
    const limit = match.route.bodyLimit ?? this.defaultBodyLimit;
    let body: Promise<Buffer> | undefined;
    return {
      req,
      res,
      params: match.params,
      query: url.searchParams,
      principal,
      body: () => (body ??= this.readWithinBudget(req, res, limit)),
    };
  }

  /**
   * Bodies held in memory at once are capped (BODY_BUDGET_BODIES × the default limit): a body is
   * counted from its reading until its response is sent, and past the budget the request gets a 429.
   */
  private readWithinBudget(req: IncomingMessage, res: ServerResponse, limit: number): Promise<Buffer> {
    const declared = Number(req.headers['content-length']);
    const size = Math.min(Number.isFinite(declared) ? declared : limit, limit);
    if (this.bodyBytes + size > this.defaultBodyLimit * BODY_BUDGET_BODIES)
      return Promise.reject(
        new HttpError(429, 'the server is reading as many request bodies as it holds at once; retry shortly', { 'retry-after': '1' }),
      );
    this.bodyBytes += size;
    res.once('close', () => (this.bodyBytes -= size));
    return readBody(req, limit);
  }
}

function matchSegments(candidate: CompiledRoute, parts: string[]): Record<string, string> | undefined {
  const { segments, rest } = candidate;
  if (rest === undefined ? parts.length !== segments.length : parts.length < segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment.startsWith(':')) params[segment.slice(1)] = parts[i]!;
    else if (segment !== parts[i]) return undefined;
  }
  if (rest !== undefined) params[rest] = parts.slice(segments.length).join('/');
  return params;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `malformed path segment "${segment}"`);
  }
}

export function sendReply(res: ServerResponse, reply: Reply, head: boolean): void {
  const headers: Record<string, string> = { ...reply.headers };
  let payload: string | undefined;
  if (reply.json !== undefined) {
    payload = JSON.stringify(reply.json);
    headers['content-type'] ??= 'application/json; charset=utf-8';
  } else if (reply.text !== undefined) {
    payload = reply.text;
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  }
  headers['content-length'] = String(payload === undefined ? 0 : Buffer.byteLength(payload));
  res.writeHead(reply.status ?? 200, headers);
  res.end(head ? undefined : payload);
}
