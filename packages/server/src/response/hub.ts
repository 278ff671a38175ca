/**
 * Where agents connect: one WebSocket per agent (`AGENT_SOCKET_PATH`, `Bearer AGENT_ID.SECRET`).
 * Events an agent sends go through the same pipeline as every other source, stamped with the
 * identity the server knows (an agent cannot speak for another host), and are acknowledged once
 * stored, so the agent drops them from its disk queue only then. Messages of one agent are handled
 * in order.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  AGENT_EVENT_SOURCE,
  AGENT_SOCKET_PATH,
  type AgentMessage,
  type CommandResult,
  type Inventory,
  type ServerMessage,
} from '@firebreak/core';
import { WebSocketServer, type WebSocket } from 'ws';
import { HttpError } from '../http/errors.js';
import type { Pipeline } from '../pipeline.js';
import type { Stats } from '../stats.js';
import type { AgentBody, AgentRegistry } from './agents.js';

/** One agent message at most (an evidence bundle with an executable is the largest). */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_HEARTBEAT_MS = 10_000;

export type Hello = Extract<AgentMessage, { type: 'hello' }>;
export type EvidenceMessage = Extract<AgentMessage, { type: 'evidence' }>;

/** What the response side does with what agents say. */
export interface HubHandlers {
  connected(agent: AgentBody, hello: Hello): Promise<void>;
  disconnected(agentId: string): void;
  stored(agent: AgentBody, events: Record<string, unknown>[], ids: number[]): void;
  inventory(agent: AgentBody, inventory: Inventory): Promise<void>;
  result(agent: AgentBody, result: CommandResult): Promise<void>;
  evidence(agent: AgentBody, message: EvidenceMessage): Promise<void>;
  heartbeat(agent: AgentBody, isolated: boolean): Promise<void>;
}

interface Session {
  agent: AgentBody;
  socket: WebSocket;
  /** Messages are handled one after another. */
  chain: Promise<void>;
  lastHeard: number;
  /** A batch refused with "retry": later batches are refused too until it comes again. */
  retryFrom: number | null;
}

export class AgentHub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  private readonly sessions = new Map<string, Session>();
  /** Per agent, the highest batch seq stored (kept in the agent record with last_seen, and at disconnect). */
  private readonly storedThrough = new Map<string, number>();
  private readonly watchdog: NodeJS.Timeout;
  private handlers: HubHandlers | undefined;

  constructor(
    private readonly registry: AgentRegistry,
    private readonly pipeline: Pipeline,
    private readonly stats: Stats,
    readonly heartbeatMs = DEFAULT_HEARTBEAT_MS,
  ) {
    // An agent that says nothing for three heartbeats is gone (a half-open TCP connection says nothing either).
    this.watchdog = setInterval(() => this.dropSilent(), heartbeatMs).unref();
  }

  /** The response side, set once it exists (it needs the hub to send). */
  handle(handlers: HubHandlers): void {
    this.handlers = handlers;
  }

  /** For the HTTP server's `upgrade` event: takes agent connections, refuses anything else. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '').split('?')[0];
    if (path !== AGENT_SOCKET_PATH) return refuse(socket, 404, 'Not Found');
    void this.registry.authenticate(req.headers.authorization).then(
      (agent) => {
        if (!agent) return refuse(socket, 401, 'Unauthorized');
        this.wss.handleUpgrade(req, socket, head, (ws) => this.open(agent, ws, req.socket.remoteAddress ?? null));
      },
      () => refuse(socket, 503, 'Service Unavailable'),
    );
  }

  isOnline(agentId: string): boolean {
    return this.sessions.has(agentId);
  }

  onlineIds(): string[] {
    return [...this.sessions.keys()];
  }

  /** Sends to a connected agent; false when it is not connected. */
  send(agentId: string, message: ServerMessage): boolean {
    const session = this.sessions.get(agentId);
    if (!session || session.socket.readyState !== session.socket.OPEN) return false;
    session.socket.send(JSON.stringify(message));
    return true;
  }

  async close(): Promise<void> {
    clearInterval(this.watchdog);
    for (const session of this.sessions.values()) session.socket.close(1001, 'server stopping');
    await Promise.all([...this.sessions.values()].map((session) => session.chain));
    for (const session of this.sessions.values()) session.socket.terminate();
    this.sessions.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private open(agent: AgentBody, socket: WebSocket, address: string | null): void {
    // A reconnecting agent replaces its old connection (which may not have noticed it is dead yet).
    this.sessions.get(agent.agentId)?.socket.terminate();
    const session: Session = { agent, socket, chain: Promise.resolve(), lastHeard: Date.now(), retryFrom: null };
    this.sessions.set(agent.agentId, session);
    void this.registry.update(agent.agentId, (body) => ({ ...body, address, lastSeen: Date.now() }));
    socket.on('message', (data, isBinary) => {
      session.lastHeard = Date.now();
      if (isBinary) return this.problem(session, 'binary message ignored');
      const text = data.toString();
      session.chain = session.chain.then(() => this.message(session, text)).catch((error: Error) => this.problem(session, error.message));
    });
    socket.on('close', () => {
      if (this.sessions.get(agent.agentId) !== session) return;
      this.sessions.delete(agent.agentId);
      this.handlers?.disconnected(agent.agentId);
      void this.registry.seen(agent.agentId, this.storedThrough.get(agent.agentId), true).catch(() => undefined);
    });
    socket.on('error', (error) => this.problem(session, error.message));
    this.send(agent.agentId, { type: 'welcome', agentId: agent.agentId, heartbeatMs: this.heartbeatMs });
  }

  private async message(session: Session, text: string): Promise<void> {
    let message: AgentMessage;
    try {
      message = JSON.parse(text) as AgentMessage;
    } catch {
      return this.problem(session, 'a message that is not JSON');
    }
    const handlers = this.handlers;
    const agent = session.agent;
    switch (message?.type) {
      case 'hello':
        // The host name stays the one enrolled: an agent cannot take another host's name (its events are stamped with it).
        session.agent =
          (await this.registry.update(agent.agentId, (body) => ({ ...body, os: String(message.os), version: String(message.version) }))) ??
          agent;
        return handlers?.connected(session.agent, message);
      case 'heartbeat':
        this.send(agent.agentId, { type: 'heartbeat', time: Date.now() });
        await this.registry.seen(agent.agentId, this.storedThrough.get(agent.agentId));
        return handlers?.heartbeat(agent, message.isolated === true);
      case 'events':
        return this.events(session, message.seq, message.events);
      case 'inventory':
        return handlers?.inventory(agent, message.inventory);
      case 'result':
        return handlers?.result(agent, message.result);
      case 'evidence':
        return handlers?.evidence(agent, message);
      default:
        return this.problem(session, `unknown message type ${JSON.stringify((message as { type?: unknown })?.type)}`);
    }
  }

  /** Stored through the pipeline, then acknowledged; a full pipeline asks the agent to send again later. */
  private async events(session: Session, seq: number, events: unknown): Promise<void> {
    const { agent } = session;
    if (!Number.isSafeInteger(seq)) return this.problem(session, 'an events message without a seq');
    // A batch sent again because its ack was lost is acknowledged again, not stored twice.
    if (seq <= (this.storedThrough.get(agent.agentId) ?? agent.storedThrough ?? 0))
      return void this.send(agent.agentId, { type: 'ack', seq });
    if (session.retryFrom !== null && seq > session.retryFrom)
      return void this.send(agent.agentId, { type: 'nack', seq, error: `waiting for batch ${session.retryFrom} again`, retry: true });
    session.retryFrom = null;
    if (!Array.isArray(events))
      return void this.send(agent.agentId, { type: 'nack', seq, error: '"events" must be an array', retry: false });
    const stamped = events.filter(isObject).map((event) => stamp(event, agent));
    const body = stamped.map((event) => JSON.stringify(event)).join('\n');
    try {
      const { ids, rejected } = await this.pipeline.ingestBody({
        format: 'flat',
        body,
        context: { origin: `agent:${agent.hostname}`, receivedAt: Date.now() },
      });
      for (const { line, error } of rejected)
        this.stats.problem(`agent ${agent.hostname}: event ${line} of batch ${seq} rejected: ${error}`);
      this.storedThrough.set(agent.agentId, seq);
      this.send(agent.agentId, { type: 'ack', seq });
      const kept = rejected.length === 0 ? stamped : stamped.filter((_, i) => !rejected.some((r) => r.line === i + 1));
      this.handlers?.stored(agent, kept, ids);
    } catch (error) {
      // A full pipeline: this batch and every later one come again (an ack would cover them all).
      const retry = error instanceof HttpError && error.status === 429;
      if (retry) session.retryFrom = seq;
      this.send(agent.agentId, { type: 'nack', seq, error: (error as Error).message, retry });
    }
  }

  private dropSilent(): void {
    const deadline = Date.now() - 3 * this.heartbeatMs;
    for (const session of this.sessions.values()) if (session.lastHeard < deadline) session.socket.terminate();
  }

  private problem(session: Session, message: string): void {
    this.stats.problem(`agent ${session.agent.hostname} (${session.agent.agentId}): ${message}`);
  }
}

/** The server's identity of the agent wins over whatever the event claims. */
function stamp(event: Record<string, unknown>, agent: AgentBody): Record<string, unknown> {
  return { ...event, _source: AGENT_EVENT_SOURCE, Computer: agent.hostname, AgentId: agent.agentId };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
