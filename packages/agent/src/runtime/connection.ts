/**
 * The agent's one connection to its server: an outbound WebSocket to AGENT_SOCKET_PATH, authenticated
 * with `Authorization: Bearer AGENT_ID.SECRET`, kept up for as long as the agent runs.
 *
 * Message flow:
 * - on open the agent says `hello`; the server answers `welcome` (with its heartbeat period);
 * - after the welcome the agent sends what waited for a connection (results, evidence, the latest
 *   inventory), then every unacknowledged event batch from the disk queue in seq order, then new
 *   batches as they are queued, with at most `maxInFlight` batches unacknowledged;
 * - `ack` N acknowledges every batch up to N (the queue forgets them); `nack` N with retry:false drops
 *   batch N (logged), with retry:true the agent sends N and everything after it again after a pause;
 * - a heartbeat every period; a server silent for three periods is taken for dead and the connection
 *   is dropped and made again, with exponential backoff and jitter between attempts;
 * - a `command` is verified (signature by the pinned key, this agent, not expired, not replayed); a
 *   refused one is answered with a `refused` result and never acted on; an accepted one is remembered
 *   durably, then handed to `onCommand`, and its result sent back (kept until a connection is up).
 *
 * An upgrade refused with 401 means the credential was revoked: the agent stops connecting.
 */
import { EventEmitter } from 'node:events';
import {
  AGENT_SOCKET_PATH,
  verifyCommand,
  type AgentMessage,
  type CommandPayload,
  type CommandResult,
  type Inventory,
  type ServerMessage,
  type SignedCommand,
} from '@firebreak/core';
import WebSocket from 'ws';
import { stderrLog, type Log } from './log.js';
import type { DiskQueue, QueuedEvent } from './queue.js';
import { COMMAND_SKEW_MS, type AgentState, type Identity } from './state.js';

export type HelloFields = Omit<Extract<AgentMessage, { type: 'hello' }>, 'type'>;
export type EvidenceMessage = Omit<Extract<AgentMessage, { type: 'evidence' }>, 'type'>;

export interface AgentConnectionOptions {
  /** Must hold an identity (the agent is enrolled); its replay memory vets commands. */
  state: AgentState;
  queue: DiskQueue;
  /** The hello's fields, asked at each connection. */
  hello: () => HelloFields;
  /** Carries out a verified command; a rejection is reported as a failed result. */
  onCommand: (command: CommandPayload) => Promise<CommandResult>;
  /** Whether the host is isolated, for heartbeats (default: the state has an isolation policy). */
  isolated?: () => boolean;
  /** PEM of a CA to trust for a wss server. */
  ca?: string;
  /** The heartbeat period until the server's welcome names one (default 10 s). */
  heartbeatMs?: number;
  /** Delay before the first reconnection attempt, doubled up to `maxBackoffMs` (defaults 500 ms, 30 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Most batches sent and not acknowledged yet (default 32). */
  maxInFlight?: number;
  /** Clock skew tolerated on command times (default COMMAND_SKEW_MS, as the replay memory). */
  commandSkewMs?: number;
  log?: Log;
  now?: () => number;
}

export interface AgentConnectionEvents {
  /** The server welcomed the agent. */
  connected: [welcome: { agentId: string; heartbeatMs: number }];
  /** A welcomed connection ended; the agent reconnects unless closed or revoked. */
  disconnected: [reason: string];
  /** The server refused the credential (HTTP 401): the agent no longer tries to connect. */
  revoked: [message: string];
}

const DEFAULT_HEARTBEAT_MS = 10_000;
const SILENT_HEARTBEATS = 3;
const HANDSHAKE_TIMEOUT_MS = 15_000;
const CLOSE_TIMEOUT_MS = 2_000;

/** `ws(s)://…/api/v1/agents/connect` for an `http(s)://…` server URL. */
export function agentSocketUrl(serverUrl: string): string {
  const url = new URL(serverUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`server URL must be http:// or https://: ${serverUrl}`);
  return `${url.protocol === 'https:' ? 'wss:' : 'ws:'}//${url.host}${url.pathname.replace(/\/+$/, '')}${AGENT_SOCKET_PATH}`;
}

export class AgentConnection extends EventEmitter<AgentConnectionEvents> {
  private readonly identity: Identity;
  private readonly log: Log;
  private readonly now: () => number;
  private socket: WebSocket | null = null;
  private welcomed = false;
  private heartbeatMs: number;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private lastHeard = 0;
  private attempts = 0;
  private started = false;
  private stopped = false;
  /** Highest seq sent on the current connection. */
  private sentThrough = 0;
  /** A retry nack paused sending until the server has had a moment. */
  private paused = false;
  private pumping = false;
  private pumpAgain = false;
  /** Results and evidence waiting for a connection, in the order they were made. */
  private readonly outbox: AgentMessage[] = [];
  private pendingInventory: AgentMessage | null = null;

  constructor(private readonly options: AgentConnectionOptions) {
    super();
    const identity = options.state.identity;
    if (!identity) throw new Error(`agent state ${options.state.dir} has no identity: enroll first`);
    this.identity = identity;
    this.log = options.log ?? stderrLog;
    this.now = options.now ?? Date.now;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  }

  /** Starts connecting (and reconnecting) until close() or a revoked credential. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.connect();
  }

  /** Whether the server has welcomed the agent on a connection that is still open. */
  get connected(): boolean {
    return this.welcomed && this.socket?.readyState === WebSocket.OPEN;
  }

  /** Queues a batch on disk (resolving to its seq once durable), then sends it when the connection allows. */
  async sendEvents(events: QueuedEvent[]): Promise<number> {
    const seq = await this.options.queue.push(events);
    this.kickPump();
    return seq;
  }

  /** Sends the inventory now, or the latest one given once connected. */
  sendInventory(inventory: Inventory): void {
    const message: AgentMessage = { type: 'inventory', inventory };
    if (this.connected) this.transmit(message);
    else this.pendingInventory = message;
  }

  /** Sends an evidence bundle now, or once connected. */
  sendEvidence(evidence: EvidenceMessage): void {
    this.sendOrKeep({ type: 'evidence', ...evidence });
  }

  /** Closes the connection and stops reconnecting; results and evidence not sent yet are lost. */
  async close(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    if (socket.readyState === WebSocket.OPEN) {
      socket.close(1000, 'agent stopping');
      const timeout = setTimeout(() => socket.terminate(), CLOSE_TIMEOUT_MS);
      await closed;
      clearTimeout(timeout);
    } else {
      socket.terminate();
      await closed;
    }
  }

  private connect(): void {
    const url = agentSocketUrl(this.identity.serverUrl);
    const socket = new WebSocket(url, {
      headers: { authorization: `Bearer ${this.identity.agentId}.${this.identity.secret}` },
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      ...(this.options.ca ? { ca: this.options.ca } : {}),
    });
    this.socket = socket;
    this.welcomed = false;
    let refusedStatus: number | undefined;
    let failure = '';
    socket.on('unexpected-response', (_request, response) => {
      refusedStatus = response.statusCode;
      failure = `server answered the upgrade with HTTP ${response.statusCode}`;
      response.resume();
      socket.terminate();
    });
    socket.on('error', (error) => {
      failure ||= error.message;
    });
    socket.on('open', () => this.onOpen(socket));
    socket.on('message', (data) => this.onMessage(socket, data.toString()));
    socket.on('close', (code, reason) => {
      const why = failure || `closed by the server (${code}${reason.length ? ` ${reason.toString()}` : ''})`;
      this.onClose(socket, refusedStatus === 401, `${url}: ${why}`);
    });
  }

  private onOpen(socket: WebSocket): void {
    this.lastHeard = this.now();
    this.startHeartbeats(socket);
    let hello: HelloFields;
    try {
      hello = this.options.hello();
    } catch (error) {
      this.log(`cannot say hello: ${(error as Error).message}; dropping the connection`);
      socket.terminate();
      return;
    }
    this.transmit({ type: 'hello', ...hello }, socket);
  }

  private onClose(socket: WebSocket, revoked: boolean, reason: string): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.clearTimers();
    if (this.welcomed) {
      this.welcomed = false;
      this.emit('disconnected', reason);
    }
    if (this.stopped) return;
    if (revoked) {
      this.stopped = true;
      const message = `${reason}: the server refused this agent's credential (revoked or unknown); enroll again with a new token`;
      this.log(message);
      this.emit('revoked', message);
      return;
    }
    const delay = this.backoff();
    this.log(`${reason}; connecting again in ${delay} ms`);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  /** Exponential backoff with jitter: between half and all of initial × 2^attempts, capped. */
  private backoff(): number {
    const initial = this.options.initialBackoffMs ?? 500;
    const ceiling = Math.min(this.options.maxBackoffMs ?? 30_000, initial * 2 ** this.attempts);
    this.attempts++;
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  private startHeartbeats(socket: WebSocket): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => this.heartbeat(socket), this.heartbeatMs);
  }

  private heartbeat(socket: WebSocket): void {
    const silence = this.now() - this.lastHeard;
    if (silence > SILENT_HEARTBEATS * this.heartbeatMs) {
      this.log(`no word from the server for ${silence} ms; dropping the connection`);
      socket.terminate();
      return;
    }
    const { queue } = this.options;
    const isolated = this.options.isolated ? this.options.isolated() : this.options.state.isolation !== null;
    // `dropped` rides along for the server's view of the agent (events lost while the queue was full).
    const heartbeat: Extract<AgentMessage, { type: 'heartbeat' }> & { dropped: number } = {
      type: 'heartbeat',
      time: this.now(),
      isolated,
      queued: queue.queued,
      dropped: queue.dropped,
    };
    this.transmit(heartbeat, socket);
  }

  private onMessage(socket: WebSocket, text: string): void {
    if (socket !== this.socket) return;
    this.lastHeard = this.now();
    let message: ServerMessage;
    try {
      message = JSON.parse(text) as ServerMessage;
    } catch {
      this.log(`server sent a message that is not JSON: ${text.slice(0, 100)}`);
      return;
    }
    switch (message?.type) {
      case 'welcome':
        return this.onWelcome(socket, message);
      case 'heartbeat':
        return;
      case 'ack':
        return this.onAck(message.seq);
      case 'nack':
        return this.onNack(socket, message);
      case 'command':
        void this.onCommand(message.command).catch((error: Error) => this.log(`command handling failed: ${error.message}`));
        return;
      default:
        this.log(`server sent a message of unknown type ${JSON.stringify((message as { type?: unknown })?.type)}; ignored`);
    }
  }

  private onWelcome(socket: WebSocket, welcome: Extract<ServerMessage, { type: 'welcome' }>): void {
    if (welcome.agentId !== this.identity.agentId) this.log(`server welcomed agent ${welcome.agentId}, this is ${this.identity.agentId}`);
    if (Number.isFinite(welcome.heartbeatMs) && welcome.heartbeatMs > 0) this.heartbeatMs = welcome.heartbeatMs;
    this.startHeartbeats(socket);
    this.welcomed = true;
    this.attempts = 0;
    this.paused = false;
    this.sentThrough = this.options.queue.ackedSeq;
    this.emit('connected', { agentId: welcome.agentId, heartbeatMs: this.heartbeatMs });
    for (const message of this.outbox.splice(0)) this.transmit(message, socket);
    if (this.pendingInventory) this.transmit(this.pendingInventory, socket);
    this.pendingInventory = null;
    this.kickPump();
  }

  private onAck(seq: number): void {
    if (!Number.isSafeInteger(seq)) return this.log(`server acknowledged a non-integer seq ${JSON.stringify(seq)}; ignored`);
    this.options.queue.ack(seq).catch((error: Error) => this.log(`recording the acknowledgement of batch ${seq} failed: ${error.message}`));
    this.kickPump();
  }

  private onNack(socket: WebSocket, nack: Extract<ServerMessage, { type: 'nack' }>): void {
    if (!nack.retry) {
      this.log(`server refused event batch ${nack.seq} (${nack.error}); dropped`);
      return this.onAck(nack.seq);
    }
    const delay = this.options.initialBackoffMs ?? 500;
    this.log(`server could not take event batch ${nack.seq} (${nack.error}); sending it and those after it again in ${delay} ms`);
    this.paused = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (socket !== this.socket) return;
      this.paused = false;
      this.sentThrough = Math.min(this.sentThrough, nack.seq - 1);
      this.kickPump();
    }, delay);
  }

  /** Verifies a command and, accepted and remembered, carries it out; the result goes back either way. */
  private async onCommand(signed: SignedCommand): Promise<void> {
    const check = verifyCommand(signed, {
      publicKeyPem: this.identity.serverPublicKeyPem,
      agentId: this.identity.agentId,
      now: this.now(),
      seen: (id) => this.options.state.seenCommand(id),
      skewMs: this.options.commandSkewMs ?? COMMAND_SKEW_MS,
    });
    if (!check.ok) return this.refuse(signed, check.reason);
    const { command } = check;
    try {
      // Durable before acting: a command carried out is never carried out again after a restart.
      await this.options.state.rememberCommand(command.id, command.expiresAt);
    } catch (error) {
      return this.refuse(signed, (error as Error).message);
    }
    let result: CommandResult;
    try {
      result = await this.options.onCommand(command);
    } catch (error) {
      result = { commandId: command.id, actionId: command.actionId, status: 'failed', error: (error as Error).message, verification: [] };
    }
    this.sendOrKeep({ type: 'result', result: { ...result, commandId: command.id, actionId: command.actionId } });
  }

  private refuse(signed: SignedCommand, reason: string): void {
    const claimed = claimedIds(signed);
    this.log(`refused command ${claimed.commandId || '(no id)'}: ${reason}`);
    this.sendOrKeep({
      type: 'result',
      result: { commandId: claimed.commandId, actionId: claimed.actionId, status: 'refused', error: reason, verification: [] },
    });
  }

  private sendOrKeep(message: AgentMessage): void {
    if (this.connected) this.transmit(message);
    else this.outbox.push(message);
  }

  /** Sends on `socket`; a result or evidence that could not be written waits for the next connection. */
  private transmit(message: AgentMessage, socket: WebSocket | null = this.socket): void {
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      if (message.type === 'result' || message.type === 'evidence') this.outbox.push(message);
      return;
    }
    socket.send(JSON.stringify(message), (error) => {
      if (error && (message.type === 'result' || message.type === 'evidence')) this.outbox.push(message);
    });
  }

  private kickPump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.pump()
      .catch((error: Error) => {
        this.log(`sending queued events failed: ${error.message}; dropping the connection`);
        this.socket?.terminate();
      })
      .finally(() => {
        this.pumping = false;
      });
  }

  private async pump(): Promise<void> {
    do {
      this.pumpAgain = false;
      await this.sendQueued();
    } while (this.pumpAgain);
  }

  /** Sends queued batches after `sentThrough`, in order, while the connection is up and the window open. */
  private async sendQueued(): Promise<void> {
    const socket = this.socket;
    const { queue } = this.options;
    const maxInFlight = this.options.maxInFlight ?? 32;
    if (!socket || !this.connected || this.paused || queue.lastSeq <= this.sentThrough) return;
    for await (const batch of queue.unacked(this.sentThrough)) {
      if (socket !== this.socket || !this.connected || this.paused) return;
      if (this.sentThrough - queue.ackedSeq >= maxInFlight) return; // the next ack kicks the pump again
      if (batch.seq <= this.sentThrough) continue;
      socket.send(JSON.stringify({ type: 'events', seq: batch.seq, events: batch.events } satisfies AgentMessage));
      this.sentThrough = batch.seq;
    }
  }

  private clearTimers(): void {
    for (const timer of [this.heartbeatTimer, this.reconnectTimer, this.retryTimer]) if (timer) clearTimeout(timer);
    this.heartbeatTimer = this.reconnectTimer = this.retryTimer = null;
  }
}

/** The id and action a refused command claims (unverified, only so the server can match the refusal). */
function claimedIds(signed: SignedCommand): { commandId: string; actionId: number | null } {
  try {
    const payload = JSON.parse(Buffer.from(String(signed?.payload), 'base64').toString('utf8')) as Partial<CommandPayload>;
    return {
      commandId: typeof payload.id === 'string' ? payload.id : '',
      actionId: typeof payload.actionId === 'number' ? payload.actionId : null,
    };
  } catch {
    return { commandId: '', actionId: null };
  }
}
