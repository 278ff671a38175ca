/**
 * The web console's files (built by Vite into @firebreak/console's dist/web), held in memory with
 * their gzip forms: the whole bundle is a few hundred kilobytes, and a first load must take well
 * under a second. `/` answers with the page only to browsers (Accept: text/html): Beats and
 * Logstash ask `GET /` for the Elasticsearch handshake, which the router still answers.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json']);

/**
 * The console talks only to this server; inline scripts and framing are refused, so event data shown
 * on a page (attacker-controlled text) cannot run as code or be clickjacked.
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

interface ConsoleFile {
  type: string;
  body: Buffer;
  gzip: Buffer | undefined;
  /** Vite names assets by content hash: they never change under their name. */
  immutable: boolean;
}

export class ConsoleFiles {
  private readonly files = new Map<string, ConsoleFile>();

  /** Reads the built console; throws naming the folder when it is not built. */
  constructor(readonly dir: string) {
    let index: string;
    try {
      index = join(dir, 'index.html');
      statSync(index);
    } catch {
      throw new Error(`the web console is not built (no ${join(dir, 'index.html')}): run "npm run build"`);
    }
    for (const path of walk(dir)) {
      const url = `/${relative(dir, path).split(sep).join('/')}`;
      const extension = extname(path);
      const body = readFileSync(path);
      this.files.set(url, {
        type: TYPES[extension] ?? 'application/octet-stream',
        body,
        gzip: COMPRESSIBLE.has(extension) ? gzipSync(body) : undefined,
        immutable: url.startsWith('/assets/'),
      });
    }
  }

  /** Serves the request when it is for the console; false leaves it to the API router. */
  serve(req: IncomingMessage, res: ServerResponse, pathname: string): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const file = pathname === '/' || pathname === '/index.html' ? this.page(req) : this.files.get(pathname);
    if (!file) return false;
    const gzip = file.gzip && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '') ? file.gzip : undefined;
    const body = gzip ?? file.body;
    res.writeHead(200, {
      'content-type': file.type,
      'content-length': String(body.length),
      'cache-control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      vary: 'accept-encoding',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      ...SECURITY_HEADERS,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }

  private page(req: IncomingMessage): ConsoleFile | undefined {
    return (req.headers.accept ?? '').includes('text/html') ? this.files.get('/index.html') : undefined;
  }
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}
