/** A real server on a loopback port for a test, with tokens of every role and a small HTTP client. */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer, type ServerOptions } from '@firebreak/server';

export const ADMIN_SECRET = 'fbk_test-admin-secret-0123456789';

/** A rule each test event can trip: process creation of an image ending in \evil.exe. */
export const TEST_RULE = `title: Evil Process
id: 7f1c2d3e-0000-4000-8000-000000000001
status: test
level: high
tags: [attack.execution, attack.t1059]
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\\evil.exe'
  condition: selection
`;

export interface TestServer {
  server: RunningServer;
  url: string;
  dir: string;
  tokens: Record<'ingest' | 'viewer' | 'analyst' | 'responder' | 'admin', string>;
  request(
    method: string,
    path: string,
    options?: { token?: string | null; body?: unknown; headers?: Record<string, string> },
  ): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read whatever the API answers
}

export async function startTestServer(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'firebreak-server-'));
  const rulesDir = join(dir, 'rules');
  await mkdir(rulesDir);
  await writeFile(join(rulesDir, 'evil.yml'), TEST_RULE);
  const server = await startServer({
    dataDir: join(dir, 'data'),
    listen: { host: '127.0.0.1', port: 0 },
    rules: 'rules' in options ? options.rules : [rulesDir],
    adminToken: ADMIN_SECRET,
    threads: 1,
    log: () => {},
    ...options,
  });
  const request: TestServer['request'] = (method, path, { token = ADMIN_SECRET, body, headers = {} } = {}) =>
    send(server.url, method, path, token, body, headers);
  const tokens = { admin: ADMIN_SECRET } as TestServer['tokens'];
  for (const role of ['ingest', 'viewer', 'analyst', 'responder'] as const) {
    const created = await request('POST', '/api/v1/tokens', { body: { name: `${role} token`, role } });
    tokens[role] = created.json.secret;
  }
  return {
    server,
    url: server.url,
    dir,
    tokens,
    request,
    close: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function send(
  base: string,
  method: string,
  path: string,
  token: string | null,
  body: unknown,
  headers: Record<string, string>,
): Promise<TestResponse> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (token) (init.headers as Record<string, string>).authorization = `Bearer ${token}`;
  if (body !== undefined) init.body = typeof body === 'string' || body instanceof Uint8Array ? (body as string) : JSON.stringify(body);
  const res = await fetch(base + path, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** A Sysmon process-creation event as flat fields. */
export function processEvent(n: number, image: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    EventID: 1,
    Channel: 'Microsoft-Windows-Sysmon/Operational',
    Provider_Name: 'Microsoft-Windows-Sysmon',
    Computer: 'WS-TEST-01',
    UtcTime: new Date(Date.UTC(2026, 10, 30, 12, 0, 0) + n * 1000).toISOString().replace('T', ' ').replace('Z', ''),
    Image: image,
    CommandLine: `${image} --n ${n}`,
    ProcessId: 1000 + n,
    ProcessGuid: `{00000000-0000-0000-0000-${String(n).padStart(12, '0')}}`,
    ParentImage: 'C:\\Windows\\explorer.exe',
    ParentProcessId: 900,
    ParentProcessGuid: '{00000000-0000-0000-0000-000000000900}',
    User: 'ACME\\jdoe',
    ...extra,
  };
}

export const ndjson = (objects: unknown[]): string => objects.map((o) => JSON.stringify(o)).join('\n') + '\n';

/** Polls until `check` gives a value (or the time is up). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
