/**
 * A stand-in for the server's agent endpoint, for the runtime tests while the real one is being
 * written: a real `ws` WebSocketServer on loopback that speaks protocol.ts — checks the bearer
 * credential on the upgrade (401 otherwise), wants `hello` first and answers `welcome`, answers each
 * heartbeat, stores event batches once per seq and acknowledges them in order, and sends commands.
 * What it saw, and anything said out of protocol, is recorded for the tests to check.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { AGENT_SOCKET_PATH, type AgentMessage, type ServerMessage, type SignedCommand } from '@firebreak/core';
import { WebSocketServer, type WebSocket } from 'ws';

type Message<T extends AgentMessage['type']> = Extract<AgentMessage, { type: T }>;

/** What outlives one server process: the stored batches (as the real server's database would). */
export class EventStore {
  readonly batches = new Map<number, Record<string, unknown>[]>();
  lastSeq = 0;
}

export interface FakeServerOptions {
  agentId: string;
  secret: string;
  heartbeatMs?: number;
  store?: EventStore;
  tls?: { key: string; cert: string };
}

export class FakeAgentServer {
  readonly store: EventStore;
  /** Every upgrade request's Authorization header and whether it was let in. */
  readonly upgrades: { authorization: string | undefined; accepted: boolean }[] = [];
  readonly hellos: Message<'hello'>[] = [];
  readonly heartbeats: Message<'heartbeat'>[] = [];
  /** Every event batch as it arrived, duplicates included. */
  readonly received: Message<'events'>[] = [];
  readonly results: Message<'result'>['result'][] = [];
  readonly inventories: Message<'inventory'>['inventory'][] = [];
  readonly evidence: Omit<Message<'evidence'>, 'type'>[] = [];
  /** Anything the agent did out of protocol. */
  readonly violations: string[] = [];
  /** Whether batches are acknowledged (off: they are stored but the agent never hears so). */
  acknowledge = true;
  /** Answers to give the next batches instead of storing them, in order. */
  readonly nacks: { error: string; retry: boolean }[] = [];
  /** A silent server says nothing at all any more (a hung process). */
  silent = false;
  private readonly http: Server;
  private readonly sockets = new Set<WebSocket>();
  private readonly wss = new WebSocketServer({ noServer: true });
  private port = 0;

  constructor(private readonly options: FakeServerOptions) {
    this.store = options.store ?? new EventStore();
    this.http = options.tls ? createHttpsServer(options.tls) : createHttpServer();
    this.http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.onUpgrade(req, socket, head));
  }

  get url(): string {
    return `${this.options.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  get connections(): number {
    return this.upgrades.filter((upgrade) => upgrade.accepted).length;
  }

  async start(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, '127.0.0.1', resolve);
    });
    this.port = (this.http.address() as AddressInfo).port;
    return this;
  }

  /** Sends a command to every connected agent. */
  sendCommand(command: SignedCommand): void {
    for (const socket of this.sockets) this.send(socket, { type: 'command', command });
  }

  /** Drops every connection without a closing handshake and stops listening, as a killed process would. */
  async kill(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    this.http.closeAllConnections();
    await new Promise((resolve) => this.http.close(resolve));
  }

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const authorization = req.headers.authorization;
    const accepted = req.url === AGENT_SOCKET_PATH && authorization === `Bearer ${this.options.agentId}.${this.options.secret}`;
    this.upgrades.push({ authorization, accepted });
    if (!accepted) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
  }

  private onConnection(socket: WebSocket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    let greeted = false;
    socket.on('message', (data) => {
      if (this.silent) return;
      const message = JSON.parse(data.toString()) as AgentMessage;
      if (!greeted && message.type !== 'hello') this.violations.push(`${message.type} before hello`);
      switch (message.type) {
        case 'hello':
          greeted = true;
          this.hellos.push(message);
          return this.send(socket, { type: 'welcome', agentId: this.options.agentId, heartbeatMs: this.options.heartbeatMs ?? 10_000 });
        case 'heartbeat':
          this.heartbeats.push(message);
          return this.send(socket, { type: 'heartbeat', time: Date.now() });
        case 'events':
          return this.onEvents(socket, message);
        case 'result':
          this.results.push(message.result);
          return;
        case 'inventory':
          this.inventories.push(message.inventory);
          return;
        case 'evidence':
          this.evidence.push({ commandId: message.commandId, actionId: message.actionId, sha256: message.sha256, bundle: message.bundle });
          return;
        default:
          this.violations.push(`unknown message ${JSON.stringify(message)}`);
      }
    });
  }

  /** Stores a batch once: one already stored is acknowledged again; the next one in order is stored. */
  private onEvents(socket: WebSocket, message: Message<'events'>): void {
    this.received.push(message);
    const { store } = this;
    if (message.seq > store.lastSeq) {
      const nack = this.nacks.shift();
      if (nack) {
        // Refused for good: the batch counts as handled, so the next one follows it.
        if (!nack.retry) store.lastSeq = message.seq;
        return this.send(socket, { type: 'nack', seq: message.seq, ...nack });
      }
      if (store.lastSeq !== 0 && message.seq !== store.lastSeq + 1) this.violations.push(`batch ${message.seq} after ${store.lastSeq}`);
      store.batches.set(message.seq, message.events);
      store.lastSeq = message.seq;
    }
    if (this.acknowledge) this.send(socket, { type: 'ack', seq: message.seq });
  }

  private send(socket: WebSocket, message: ServerMessage): void {
    socket.send(JSON.stringify(message));
  }
}
