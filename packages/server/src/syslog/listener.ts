/**
 * The syslog network listener: UDP, TCP and TCP+TLS sockets whose bytes are framed into message texts and handed
 * to the receiver in batches (one batch per socket read; UDP datagrams are gathered per turn of the event loop).
 * Parsing the texts into events is the receiver's job.
 *
 * Flow control: when deliver() answers false every TCP/TLS connection stops reading, so the senders' own buffers fill
 * and they slow down; UDP has no way to push back, so datagrams that arrive until resume() are dropped and counted.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer as createTcpServer, isIPv6, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { StreamFramer, utf8Boundary, withoutTrailingNewline, type FramingCounters } from './framing.js';

export interface SyslogMessage {
  text: string;
  /** The sender's address as ip:port ([ip]:port for IPv6). */
  peer: string;
  transport: 'udp' | 'tcp' | 'tls';
  /** Milliseconds since the epoch when the bytes were read. */
  receivedAt: number;
}

export interface SyslogListenerOptions {
  /** Port 0 = any free port (start() says which). */
  udp?: { host: string; port: number };
  tcp?: { host: string; port: number };
  /** A TCP listener that speaks TLS (RFC 5425 framing is octet counting, which the TCP framing accepts). */
  tls?: { host: string; port: number; cert: string | Buffer; key: string | Buffer };
  /**
   * The longest message in bytes; 64 KiB by default. Longer messages are truncated to it (on a character boundary)
   * and counted as oversized: the start of a syslog message says who sent what, so it is worth keeping.
   */
  maxMessageBytes?: number;
  /** Open TCP connections allowed per stream listener (TCP, TLS); 1,000 by default. Further ones are closed and counted. */
  maxConnections?: number;
  /** A connection that sends nothing for this long is closed; 15 minutes by default. Not counted while paused. */
  idleTimeoutMs?: number;
  /**
   * Delivers framed messages in batches; the batch is always taken. Returns false when the receiver's queue is full:
   * TCP/TLS connections pause reading (real backpressure to the sender) until resume() is called; UDP datagrams that
   * arrive while paused are dropped and counted (never silently).
   */
  deliver(messages: SyslogMessage[]): boolean;
}

export interface SyslogListenerStats {
  /** Messages framed from the network, including the UDP ones dropped while paused. */
  received: number;
  /** UDP messages dropped because the receiver was full. */
  udpDropped: number;
  /** Octet-counted frames cut short by the end of their connection (what arrived was delivered); empty datagrams. */
  framingErrors: number;
  /** TCP and TLS connections open now. */
  connections: number;
  /** Messages truncated to maxMessageBytes. */
  oversized: number;
  /** Connections closed on arrival because maxConnections were open. */
  connectionsRefused: number;
  /** Socket failures: connections reset, failed TLS handshakes, accept or receive errors. Each affects only its socket. */
  socketErrors: number;
}

const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;
const DEFAULT_MAX_CONNECTIONS = 1000;
const DEFAULT_IDLE_TIMEOUT_MS = 15 * 60 * 1000;
/** Dead peers are noticed by TCP keepalive long before the idle timeout. */
const KEEPALIVE_DELAY_MS = 60 * 1000;
/** A UDP batch is delivered at the end of the event-loop turn, or sooner when it grows this large. */
const UDP_BATCH_LIMIT = 1024;
/** Room for bursts while the event loop is busy; the kernel caps it at net.core.rmem_max. */
const UDP_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

/** One TCP or TLS connection and the bytes it is in the middle of. */
interface Connection {
  readonly socket: Socket;
  readonly peer: string;
  readonly transport: 'tcp' | 'tls';
  readonly framer: StreamFramer;
}

type Counters = Omit<SyslogListenerStats, 'connections'> & FramingCounters;

export class SyslogListener {
  private readonly maxMessageBytes: number;
  private readonly maxConnections: number;
  private readonly idleTimeoutMs: number;
  private readonly counters: Counters = {
    received: 0,
    udpDropped: 0,
    framingErrors: 0,
    oversized: 0,
    connectionsRefused: 0,
    socketErrors: 0,
  };
  private readonly connections = new Set<Connection>();
  private readonly servers: Server[] = [];
  private udpSocket: UdpSocket | null = null;
  private udpBatch: SyslogMessage[] = [];
  private udpFlush: NodeJS.Immediate | null = null;
  private paused = false;
  private started = false;

  constructor(private readonly options: SyslogListenerOptions) {
    if (!options.udp && !options.tcp && !options.tls) throw new Error('SyslogListener: give at least one of udp, tcp or tls');
    this.maxMessageBytes = positiveInteger(options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, 'maxMessageBytes');
    this.maxConnections = positiveInteger(options.maxConnections ?? DEFAULT_MAX_CONNECTIONS, 'maxConnections');
    this.idleTimeoutMs = positiveInteger(options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, 'idleTimeoutMs');
  }

  /** Binds every configured socket; if one fails, the others are closed again and the error names the transport. */
  async start(): Promise<{ udp?: AddressInfo; tcp?: AddressInfo; tls?: AddressInfo }> {
    if (this.started) throw new Error('SyslogListener: start() was already called');
    this.started = true;
    const { udp, tcp, tls } = this.options;
    try {
      const [udpAddress, tcpAddress, tlsAddress] = await Promise.all([
        udp && this.startUdp(udp.host, udp.port),
        tcp && this.listen(this.createStreamServer('tcp'), 'tcp', tcp.host, tcp.port),
        tls && this.listen(this.createStreamServer('tls'), 'tls', tls.host, tls.port),
      ]);
      return { udp: udpAddress, tcp: tcpAddress, tls: tlsAddress };
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /** The receiver has room again: connections read on, UDP datagrams are delivered again. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const { socket } of this.connections) {
      socket.setTimeout(this.idleTimeoutMs);
      socket.resume();
    }
  }

  stats(): SyslogListenerStats {
    return { ...this.counters, connections: this.connections.size };
  }

  /**
   * Stops listening and closes the UDP socket and every connection. What they were in the middle of is delivered,
   * even while paused: it is the last batch there will be.
   */
  async close(): Promise<void> {
    this.flushUdp();
    const closing = this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    for (const { socket } of this.connections) {
      closing.push(new Promise<void>((resolve) => socket.once('close', () => resolve())));
      socket.destroy();
    }
    if (this.udpSocket !== null) {
      const socket = this.udpSocket;
      this.udpSocket = null;
      closing.push(new Promise<void>((resolve) => socket.close(() => resolve())));
    }
    this.servers.length = 0;
    await Promise.all(closing);
  }

  private startUdp(host: string, port: number): Promise<AddressInfo> {
    const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', recvBufferSize: UDP_RECEIVE_BUFFER_BYTES });
    this.udpSocket = socket;
    socket.on('message', (datagram, sender) => this.onDatagram(datagram, sender));
    return new Promise((resolve, reject) => {
      socket.once('error', (error) => reject(new Error(`syslog udp listener on ${host}:${port}: ${error.message}`, { cause: error })));
      socket.bind(port, host, () => {
        socket.removeAllListeners('error');
        socket.on('error', () => this.counters.socketErrors++);
        resolve(socket.address());
      });
    });
  }

  private createStreamServer(transport: 'tcp' | 'tls'): Server {
    const onConnection = (socket: Socket) => this.onConnection(socket, transport);
    let server: Server;
    if (transport === 'tcp') {
      server = createTcpServer(onConnection);
    } else {
      const { cert, key } = this.options.tls!;
      server = createTlsServer({ cert, key, handshakeTimeout: Math.min(this.idleTimeoutMs, 120_000) }, onConnection);
      server.on('tlsClientError', () => this.counters.socketErrors++);
    }
    server.maxConnections = this.maxConnections; // counts connections still in their TLS handshake too
    server.on('drop', () => this.counters.connectionsRefused++);
    this.servers.push(server);
    return server;
  }

  private listen(server: Server, transport: string, host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      server.once('error', (error) =>
        reject(new Error(`syslog ${transport} listener on ${host}:${port}: ${error.message}`, { cause: error })),
      );
      server.listen(port, host, () => {
        server.removeAllListeners('error');
        server.on('error', () => this.counters.socketErrors++); // accept failures (e.g. out of file descriptors)
        resolve(server.address() as AddressInfo);
      });
    });
  }

  private onConnection(socket: Socket, transport: 'tcp' | 'tls'): void {
    const connection: Connection = {
      socket,
      peer: peerName(socket.remoteAddress, socket.remotePort),
      transport,
      framer: new StreamFramer(this.maxMessageBytes, this.counters),
    };
    this.connections.add(connection);
    socket.setKeepAlive(true, KEEPALIVE_DELAY_MS);
    socket.on('data', (chunk: Buffer) => this.onData(connection, chunk));
    socket.on('timeout', () => socket.destroy());
    socket.on('error', () => this.counters.socketErrors++);
    socket.on('close', () => this.finish(connection));
    if (this.paused) {
      socket.pause();
    } else {
      socket.setTimeout(this.idleTimeoutMs);
    }
  }

  /** Never called while paused: a paused socket emits no data, and pause() pauses every socket at once. */
  private onData(connection: Connection, chunk: Buffer): void {
    const texts: string[] = [];
    connection.framer.write(chunk, texts);
    this.deliverTexts(connection, texts);
  }

  /** Delivers what a closed connection was in the middle of, and forgets it. */
  private finish(connection: Connection): void {
    this.connections.delete(connection);
    const texts: string[] = [];
    connection.framer.end(texts);
    this.deliverTexts(connection, texts);
  }

  private deliverTexts(connection: Connection, texts: string[]): void {
    if (texts.length === 0) return;
    const receivedAt = Date.now();
    const { peer, transport } = connection;
    this.deliver(texts.map((text) => ({ text, peer, transport, receivedAt })));
  }

  private onDatagram(datagram: Buffer, sender: RemoteInfo): void {
    if (this.paused) {
      this.counters.received++;
      this.counters.udpDropped++;
      return;
    }
    let end = withoutTrailingNewline(datagram, datagram.length);
    if (end === 0) {
      this.counters.framingErrors++;
      return;
    }
    if (end > this.maxMessageBytes) {
      this.counters.oversized++;
      end = utf8Boundary(datagram, this.maxMessageBytes);
    }
    const text = datagram.toString('utf8', 0, end);
    this.udpBatch.push({ text, peer: peerName(sender.address, sender.port), transport: 'udp', receivedAt: Date.now() });
    if (this.udpBatch.length >= UDP_BATCH_LIMIT) {
      this.flushUdp();
    } else {
      this.udpFlush ??= setImmediate(() => this.flushUdp());
    }
  }

  private flushUdp(): void {
    if (this.udpFlush !== null) clearImmediate(this.udpFlush);
    this.udpFlush = null;
    const batch = this.udpBatch;
    if (batch.length === 0) return;
    this.udpBatch = [];
    if (this.paused) {
      // A stream connection filled the receiver after these datagrams arrived but before they were delivered.
      this.counters.received += batch.length;
      this.counters.udpDropped += batch.length;
      return;
    }
    this.deliver(batch);
  }

  private deliver(messages: SyslogMessage[]): void {
    this.counters.received += messages.length;
    if (!this.options.deliver(messages)) this.pause();
  }

  /** Stops reading every connection; the idle timeout stops too, since the silence is ours. */
  private pause(): void {
    this.paused = true;
    for (const { socket } of this.connections) {
      socket.pause();
      socket.setTimeout(0);
    }
  }
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`SyslogListener: ${name} must be a positive integer, got ${value}`);
  return value;
}

function peerName(address: string | undefined, port: number | undefined): string {
  const host = address ?? 'unknown';
  return `${isIPv6(host) ? `[${host}]` : host}:${port ?? 0}`;
}
