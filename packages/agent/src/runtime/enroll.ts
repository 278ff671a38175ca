/**
 * Enrollment: the agent trades a one-time enrollment token for its own credential and pins the
 * server's command-signing key.
 *
 *   POST {serverUrl}/api/v1/agents/enroll  { token, hostname, os, version, tags? }
 *   → 201 { agent_id, secret, server_public_key }
 *
 * The request goes through node:http/https rather than fetch: one code path, and https can trust a
 * private CA (`ca`, PEM) for a server whose certificate no public CA signed.
 */
import { createPublicKey } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AGENT_ENROLL_PATH } from '@firebreak/core';
import type { Identity } from './state.js';
import { agentVersion } from './version.js';

const MAX_RESPONSE_BYTES = 1 << 20;
const DEFAULT_TIMEOUT_MS = 30_000;
/** What can go in an `Authorization: Bearer AGENT_ID.SECRET` header unambiguously. */
const TOKEN_CHARACTERS = /^[\x21-\x7e]+$/;

export interface EnrollOptions {
  serverUrl: string;
  enrollToken: string;
  hostname: string;
  os: string;
  tags?: string[];
  /** Defaults to this package's version. */
  version?: string;
  /** PEM of a CA to trust for an https server (instead of the system's CAs). */
  ca?: string;
  timeoutMs?: number;
}

/** `http(s)://host[:port][/prefix]` without a trailing slash; anything else is an error naming the URL. */
export function normalizeServerUrl(serverUrl: string): string {
  let url: URL;
  try {
    url = new URL(serverUrl);
  } catch {
    throw new Error(`server URL is not a URL: ${serverUrl}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`server URL must be http:// or https://: ${serverUrl}`);
  if (url.search || url.hash) throw new Error(`server URL must not have a query or fragment: ${serverUrl}`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** Enrolls with the server; resolves to the identity to keep in the agent's state (not stored here). */
export async function enroll(options: EnrollOptions): Promise<Identity> {
  const serverUrl = normalizeServerUrl(options.serverUrl);
  const url = `${serverUrl}${AGENT_ENROLL_PATH}`;
  const body = {
    token: options.enrollToken,
    hostname: options.hostname,
    os: options.os,
    version: options.version ?? agentVersion(),
    ...(options.tags ? { tags: options.tags } : {}),
  };
  const response = await postJson(url, body, options.ca, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  if (response.status === 401) throw new Error(`enrollment token refused (used, expired or unknown) by ${url}`);
  if (response.status !== 201) throw new Error(`enrollment at ${url} failed: HTTP ${response.status} ${excerpt(response.text)}`);
  const credential = parseCredential(response.text, url);
  return {
    agentId: credential.agent_id,
    secret: credential.secret,
    serverUrl,
    serverPublicKeyPem: credential.server_public_key,
    hostname: options.hostname,
    enrolledAt: Date.now(),
  };
}

interface Credential {
  agent_id: string;
  secret: string;
  server_public_key: string;
}

function parseCredential(text: string, url: string): Credential {
  let value: Partial<Record<keyof Credential, unknown>>;
  try {
    value = JSON.parse(text) as typeof value;
  } catch {
    throw new Error(`enrollment at ${url} answered 201 with a body that is not JSON: ${excerpt(text)}`);
  }
  const { agent_id: agentId, secret, server_public_key: publicKey } = value ?? {};
  if (typeof agentId !== 'string' || !TOKEN_CHARACTERS.test(agentId) || agentId.includes('.')) {
    throw new Error(`enrollment at ${url} answered an unusable agent_id: ${JSON.stringify(agentId)}`);
  }
  if (typeof secret !== 'string' || !TOKEN_CHARACTERS.test(secret)) throw new Error(`enrollment at ${url} answered no usable secret`);
  if (typeof publicKey !== 'string') throw new Error(`enrollment at ${url} answered no server_public_key`);
  let keyType: string | undefined;
  try {
    keyType = createPublicKey(publicKey).asymmetricKeyType;
  } catch (error) {
    throw new Error(`enrollment at ${url} answered a server_public_key that is not a PEM public key: ${(error as Error).message}`);
  }
  if (keyType !== 'ed25519') throw new Error(`enrollment at ${url} answered a ${keyType} server_public_key, not Ed25519`);
  return { agent_id: agentId, secret, server_public_key: publicKey };
}

function postJson(url: string, body: unknown, ca: string | undefined, timeoutMs: number): Promise<{ status: number; text: string }> {
  const payload = Buffer.from(JSON.stringify(body));
  const request = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const fail = (error: Error): void => reject(new Error(`cannot reach ${url} to enroll: ${error.message}`));
    const req = request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
        timeout: timeoutMs,
        ...(ca ? { ca } : {}),
      },
      (res) => readBody(res).then((text) => resolve({ status: res.statusCode ?? 0, text }), fail),
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', fail);
    req.end(payload);
  });
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) res.destroy(new Error(`answer larger than ${MAX_RESPONSE_BYTES} bytes`));
      else chunks.push(chunk);
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}
