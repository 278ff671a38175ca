/**
 * The fleet's agents and how they join it: an admin mints a one-time enrollment token, an agent
 * trades it for its own credential (`AGENT_ID.SECRET`). Both secrets are kept only as SHA-256
 * hashes. An agent record also holds what the server knows of the host: isolation, tags, inventory.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { Inventory } from '@firebreak/core';
import type { Store, StoredRecord } from '@firebreak/store';
import { hashSecret, newSecret } from '../auth.js';
import { HttpError } from '../http/errors.js';

const AGENT = 'agent';
const ENROLL_TOKEN = 'enroll_token';
export const DEFAULT_ENROLL_TTL_MS = 24 * 60 * 60 * 1000;
/** A host name as agents may enroll with: DNS-like, no spaces or control characters (it goes into events, notes and logs). */
const HOSTNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$/;
/** last_seen is written at most this often per agent (heartbeats come every few seconds). */
const LAST_SEEN_EVERY_MS = 30_000;

export interface AgentBody {
  agentId: string;
  hostname: string;
  os: string;
  version: string;
  tags: string[];
  credentialHash: string;
  enrolledAt: number;
  lastSeen: number;
  /** The remote address it last connected from. */
  address: string | null;
  isolated: boolean;
  revoked: boolean;
  inventory: Inventory | null;
  /** The highest event batch seq stored (resent batches at or below it are acknowledged, not stored again). */
  storedThrough?: number;
}

export interface EnrollTokenBody {
  tags: string[];
  createdBy: string;
  expiresAt: number;
  usedAt: number | null;
  usedBy: string | null;
}

export interface EnrollRequest {
  token: string;
  hostname: string;
  os: string;
  version: string;
}

export class AgentRegistry {
  /** Serialises updates per agent: read-modify-write of one record never interleaves. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly lastSeenWritten = new Map<string, number>();

  constructor(private readonly store: Store) {}

  async mintEnrollToken(
    createdBy: string,
    options: { tags?: string[]; ttlMs?: number } = {},
  ): Promise<{ id: number; secret: string; expiresAt: number }> {
    const secret = `fbe_${newSecret().slice(4)}`;
    const expiresAt = Date.now() + (options.ttlMs ?? DEFAULT_ENROLL_TTL_MS);
    const body: EnrollTokenBody = { tags: options.tags ?? [], createdBy, expiresAt, usedAt: null, usedBy: null };
    const record = await this.store.putRecord(ENROLL_TOKEN, { key: hashSecret(secret), body });
    return { id: record.id, secret, expiresAt };
  }

  async enrollTokens(): Promise<StoredRecord<EnrollTokenBody>[]> {
    return this.store.listRecords<EnrollTokenBody>(ENROLL_TOKEN, { limit: 10_000 });
  }

  /**
   * Uses up the enrollment token (compare-and-set: two agents racing with one token, one wins) and
   * registers the agent. A host name an agent in service holds is refused: events are stamped with
   * it and responses aimed by it, so a new agent cannot take over another host's (revoke the old
   * agent first to enroll a reinstalled host again).
   */
  async enroll(request: EnrollRequest, address: string | null): Promise<{ agent: AgentBody; secret: string }> {
    const refused = new HttpError(401, 'enrollment token refused (used, expired or unknown)');
    const token = await this.store.findRecord<EnrollTokenBody>(ENROLL_TOKEN, hashSecret(request.token));
    const now = Date.now();
    if (!token || token.body.usedAt !== null || token.body.expiresAt <= now) throw refused;
    if (!HOSTNAME.test(request.hostname))
      throw new HttpError(400, `"hostname": ${JSON.stringify(request.hostname)} is not a host name (letters, digits, ".", "-", "_")`);
    const hostname = request.hostname.toLowerCase();
    const holder = (await this.list()).find((agent) => !agent.revoked && agent.hostname.toLowerCase() === hostname);
    if (holder) throw new HttpError(409, `host name ${request.hostname} is held by agent ${holder.agentId}: revoke it first`);
    const agentId = randomUUID();
    const used = { ...token.body, usedAt: now, usedBy: agentId };
    if (!(await this.store.updateRecord(ENROLL_TOKEN, token.id, used, { expectVersion: token.version }))) throw refused;
    const secret = newSecret();
    const agent: AgentBody = {
      agentId,
      hostname: request.hostname,
      os: request.os,
      version: request.version,
      tags: token.body.tags,
      credentialHash: hashSecret(secret),
      enrolledAt: now,
      lastSeen: now,
      address,
      isolated: false,
      revoked: false,
      inventory: null,
    };
    await this.store.putRecord(AGENT, { key: agentId, body: agent });
    return { agent, secret };
  }

  /** The agent a `Bearer AGENT_ID.SECRET` header names, when the secret is right and the agent not revoked. */
  async authenticate(header: string | undefined): Promise<AgentBody | undefined> {
    const match = /^Bearer ([0-9a-f-]{36})\.(\S+)$/i.exec(header ?? '');
    if (!match) return undefined;
    const record = await this.store.findRecord<AgentBody>(AGENT, match[1]);
    if (!record || record.body.revoked) return undefined;
    const given = Buffer.from(hashSecret(match[2]), 'hex');
    const stored = Buffer.from(record.body.credentialHash, 'hex');
    return given.length === stored.length && timingSafeEqual(given, stored) ? record.body : undefined;
  }

  async get(agentId: string): Promise<AgentBody | undefined> {
    return (await this.store.findRecord<AgentBody>(AGENT, agentId))?.body;
  }

  async list(): Promise<AgentBody[]> {
    const out: AgentBody[] = [];
    for (let afterId = 0; ;) {
      const page = await this.store.listRecords<AgentBody>(AGENT, { afterId, limit: 1000 });
      out.push(...page.map((record) => record.body));
      if (page.length < 1000) return out;
      afterId = page.at(-1)!.id;
    }
  }

  /** Applies `change` to the stored agent, one change at a time per agent; resolves with the new body. */
  update(agentId: string, change: (agent: AgentBody) => AgentBody): Promise<AgentBody | undefined> {
    const previous = this.queues.get(agentId) ?? Promise.resolve();
    const next = previous.then(async () => {
      const record = await this.store.findRecord<AgentBody>(AGENT, agentId);
      if (!record) return undefined;
      const body = change(record.body);
      await this.store.updateRecord(AGENT, record.id, body);
      return body;
    });
    const settled = next.catch(() => undefined);
    this.queues.set(agentId, settled);
    void settled.then(() => {
      if (this.queues.get(agentId) === settled) this.queues.delete(agentId);
    });
    return next;
  }

  /** Records that the agent was heard from, and how far its events are stored; written at most every 30 s unless `force`. */
  async seen(agentId: string, storedThrough: number | undefined, force = false): Promise<void> {
    const now = Date.now();
    if (!force && now - (this.lastSeenWritten.get(agentId) ?? 0) < LAST_SEEN_EVERY_MS) return;
    this.lastSeenWritten.set(agentId, now);
    await this.update(agentId, (agent) => ({ ...agent, lastSeen: now, storedThrough: storedThrough ?? agent.storedThrough }));
  }
}

/** The API's view of an agent (never its credential). */
export function agentView(agent: AgentBody, online: boolean): Record<string, unknown> {
  return {
    id: agent.agentId,
    hostname: agent.hostname,
    os: agent.os,
    version: agent.version,
    tags: agent.tags,
    status: agent.revoked ? 'revoked' : online ? 'online' : 'offline',
    last_seen: new Date(agent.lastSeen).toISOString(),
    isolated: agent.isolated,
    address: agent.address,
    enrolled_at: new Date(agent.enrolledAt).toISOString(),
    inventory_at: agent.inventory ? new Date(agent.inventory.collectedAt).toISOString() : null,
  };
}
