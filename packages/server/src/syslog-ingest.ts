/**
 * Syslog from the network into the pipeline: the listener frames messages, they are parsed here
 * (RFC 5424 or RFC 3164) and stored like any other ingest. When the pipeline is full the listener
 * pauses TCP senders and counts UDP drops, and resumes once the queue is half empty.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { parseSyslog, syslogEvent, type FirebreakEvent } from '@firebreak/core';
import type { Pipeline } from './pipeline.js';
import type { Stats } from './stats.js';
import { SyslogListener, type SyslogMessage } from './syslog/listener.js';

export interface SyslogOptions {
  udp?: { host: string; port: number };
  tcp?: { host: string; port: number };
  /** TCP with TLS; certificate and key are PEM files. */
  tls?: { host: string; port: number; certFile: string; keyFile: string };
}

export class SyslogIngest {
  private listener: SyslogListener | undefined;
  private unparsable = 0;

  constructor(
    private readonly pipeline: Pipeline,
    private readonly stats: Stats,
  ) {}

  async start(options: SyslogOptions): Promise<{ udp?: AddressInfo; tcp?: AddressInfo; tls?: AddressInfo }> {
    const { tls } = options;
    this.listener = new SyslogListener({
      udp: options.udp,
      tcp: options.tcp,
      tls: tls && { host: tls.host, port: tls.port, cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) },
      deliver: (messages) => this.deliver(messages),
    });
    return this.listener.start();
  }

  private deliver(messages: SyslogMessage[]): boolean {
    const events: FirebreakEvent[] = [];
    for (const message of messages) {
      const parsed = parseSyslog(message.text, { receivedAt: message.receivedAt, peer: message.peer });
      if ('error' in parsed) this.unparsable++;
      else {
        const origin = `syslog:${message.transport}:${message.peer}`;
        events.push(syslogEvent(parsed, { file: origin, origin }, message.text));
      }
    }
    // The pipeline counts what it is given; the messages that were no syslog are counted here.
    this.stats.received += messages.length - events.length;
    this.stats.rejected += messages.length - events.length;
    this.pipeline
      .ingest(events, Date.now(), { taken: true })
      .catch((error: unknown) => this.stats.problem(`${events.length} syslog messages not stored: ${(error as Error).message}`));
    if (!this.pipeline.full) return true;
    void this.pipeline.room().then(() => this.listener?.resume());
    return false;
  }

  counters(): Record<string, unknown> {
    return this.listener ? { syslog: { ...this.listener.stats(), unparsable: this.unparsable } } : {};
  }

  async close(): Promise<void> {
    await this.listener?.close();
  }
}
