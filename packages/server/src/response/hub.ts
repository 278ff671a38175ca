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
/** Messages received and not handled yet, per agent: past this the socket is paused (an agent cannot fill the server's memory). */
const MAX_PENDING_BYTES = 2 * MAX_MESSAGE_BYTES;
/** What the server keeps of the version and OS an agent reports. */
const MAX_LABEL_LENGTH = 200;
export const DEFAULT_HEARTBEAT_MS = 10_000;

export type Hello = Extract<AgentMessage, { type: 'hello' }>;
export type EvidenceMessage = Extract<AgentMessage, { type: 'evidence' }>;

/** What the response side does with what agents say. */
export interface HubHandlers {
  connected(agent: AgentBody, hello: Hello): Promise<void>;
  disconnected(agentId: string): void;
  /** An agent's events, once stored. */
  stored(events: Record<string, unknown>[]): void;
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
  /** Bytes of the messages received and not handled yet. */
  pendingBytes: number;
  /** The hello was handled (a second one on the same connection is ignored: each one rescans the open actions). */
  greeted: boolean;
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

  /** Drops an agent's connection (a revoked agent): it cannot connect again with its credential. */
  disconnect(agentId: string): void {
    this.sessions.get(agentId)?.socket.terminate();
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
    const session: Session = {
      agent,
      socket,
      chain: Promise.resolve(),
      lastHeard: Date.now(),
      retryFrom: null,
      pendingBytes: 0,
      greeted: false,
    };
    this.sessions.set(agent.agentId, session);
    void this.registry.update(agent.agentId, (body) => ({ ...body, address, lastSeen: Date.now() }));
    socket.on('message', (data, isBinary) => {
      session.lastHeard = Date.now();
      if (isBinary) return this.problem(session, 'binary message ignored');
      const text = data.toString();
      this.hold(session, text.length);
      session.chain = session.chain
        .then(() => this.message(session, text))
        .catch((error: Error) => this.problem(session, error.message))
        .finally(() => this.hold(session, -text.length));
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
      case 'hello': {
        if (session.greeted) return this.problem(session, 'a second hello on one connection ignored');
        session.greeted = true;
        // The host name stays the one enrolled: an agent cannot take another host's name (its events are stamped with it).
        const os = String(message.os).slice(0, MAX_LABEL_LENGTH);
        const version = String(message.version).slice(0, MAX_LABEL_LENGTH);
        session.agent = (await this.registry.update(agent.agentId, (body) => ({ ...body, os, version }))) ?? agent;
        return handlers?.connected(session.agent, { ...message, os, version, isolated: message.isolated === true });
      }
      case 'heartbeat':
        this.send(agent.agentId, { type: 'heartbeat', time: Date.now() });
        await this.registry.seen(agent.agentId, this.storedThrough.get(agent.agentId));
        return handlers?.heartbeat(agent, message.isolated === true);
      case 'events':
        return this.events(session, message.seq, message.events);
      case 'inventory': {
        const problem = inventoryProblem(message.inventory);
        return problem ? this.problem(session, `inventory ignored: ${problem}`) : handlers?.inventory(agent, message.inventory);
      }
      case 'result': {
        const problem = resultProblem(message.result);
        return problem ? this.problem(session, `result ignored: ${problem}`) : handlers?.result(agent, message.result);
      }
      case 'evidence': {
        const problem = evidenceProblem(message);
        return problem ? this.problem(session, `evidence ignored: ${problem}`) : handlers?.evidence(agent, message);
      }
      default:
        return this.problem(session, `unknown message type ${String(JSON.stringify((message as { type?: unknown })?.type)).slice(0, 50)}`);
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
      const { rejected } = await this.pipeline.ingestBody({
        format: 'flat',
        body,
        context: { origin: `agent:${agent.hostname}`, receivedAt: Date.now() },
      });
      for (const { line, error } of rejected)
        this.stats.problem(`agent ${agent.hostname}: event ${line} of batch ${seq} rejected: ${error}`);
      this.storedThrough.set(agent.agentId, seq);
      this.send(agent.agentId, { type: 'ack', seq });
      const kept = rejected.length === 0 ? stamped : stamped.filter((_, i) => !rejected.some((r) => r.line === i + 1));
      this.handlers?.stored(kept);
    } catch (error) {
      // A full pipeline: this batch and every later one come again (an ack would cover them all).
      const retry = error instanceof HttpError && error.status === 429;
      if (retry) session.retryFrom = seq;
      this.send(agent.agentId, { type: 'nack', seq, error: (error as Error).message, retry });
    }
  }

  /** Counts bytes waiting to be handled; the socket stops reading while too many wait, and reads again once they are handled. */
  private hold(session: Session, bytes: number): void {
    session.pendingBytes += bytes;
    if (session.pendingBytes > MAX_PENDING_BYTES && !session.socket.isPaused) session.socket.pause();
    else if (session.pendingBytes <= MAX_PENDING_BYTES && session.socket.isPaused) session.socket.resume();
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

/** What is wrong with an inventory the server would keep on the agent record and read back (null when nothing). */
function inventoryProblem(inventory: unknown): string | null {
  if (!isObject(inventory)) return 'not an object';
  if (!Number.isFinite(inventory.collectedAt)) return '"collectedAt" is not a time';
  for (const key of ['packages', 'executables', 'listening', 'persistence'])
    if (!Array.isArray(inventory[key])) return `"${key}" is not a list`;
  const executables = inventory.executables as unknown[];
  if (!executables.every((e) => isObject(e) && typeof e.sha256 === 'string')) return 'an executable without its sha256';
  return null;
}

/** What is wrong with a command result (null when nothing): only results an agent can give are recorded. */
function resultProblem(result: unknown): string | null {
  if (!isObject(result)) return 'not an object';
  if (typeof result.commandId !== 'string') return '"commandId" is not text';
  if (result.actionId !== null && !Number.isSafeInteger(result.actionId)) return '"actionId" is not an action id';
  if (!['succeeded', 'failed', 'refused'].includes(result.status as string))
    return `status ${String(JSON.stringify(result.status)).slice(0, 50)} is not succeeded, failed or refused`;
  if (result.enforcedAt !== undefined && !Number.isFinite(result.enforcedAt)) return '"enforcedAt" is not a time';
  if (result.error !== undefined && typeof result.error !== 'string') return '"error" is not text';
  if (!Array.isArray(result.verification) || !result.verification.every(isObject)) return '"verification" is not a list of checks';
  if (result.output !== undefined && !isObject(result.output)) return '"output" is not an object';
  return null;
}

function evidenceProblem(message: EvidenceMessage): string | null {
  if (typeof message.commandId !== 'string' || !Number.isSafeInteger(message.actionId)) return 'it names no command and action';
  if (typeof message.bundle !== 'string' || typeof message.sha256 !== 'string') return 'no bundle text and digest';
  return null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
