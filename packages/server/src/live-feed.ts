/**
 * The live feed: alerts and incident changes pushed to subscribers (Server-Sent Events). A
 * subscriber that cannot keep up is dropped rather than buffered without end.
 */
import type { ServerResponse } from 'node:http';
import { HttpError } from './http/errors.js';

/** Bytes a subscriber may leave unread before it is dropped. */
const MAX_UNREAD = 4 * 1024 * 1024;
const HEARTBEAT_MS = 15_000;
/** Subscribers at once: each may hold MAX_UNREAD bytes. */
const MAX_SUBSCRIBERS = 64;

export type FeedKind = 'alert' | 'incident' | 'action' | 'agent';

export class LiveFeed {
  private readonly subscribers = new Set<ServerResponse>();
  private sequence = 0;
  private readonly heartbeat: NodeJS.Timeout;

  constructor() {
    this.heartbeat = setInterval(() => this.send(': keep-alive\n\n'), HEARTBEAT_MS).unref();
  }

  get size(): number {
    return this.subscribers.size;
  }

  /** Throws a 429 when MAX_SUBSCRIBERS are listening. */
  subscribe(res: ServerResponse): void {
    if (this.subscribers.size >= MAX_SUBSCRIBERS)
      throw new HttpError(429, `the live feed has ${MAX_SUBSCRIBERS} subscribers already; retry later`, { 'retry-after': '10' });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': firebreak live feed\n\n');
    this.subscribers.add(res);
    res.on('close', () => this.subscribers.delete(res));
  }

  publish(kind: FeedKind, data: unknown): void {
    if (this.subscribers.size === 0) return;
    this.send(`id: ${++this.sequence}\nevent: ${kind}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private send(text: string): void {
    for (const res of this.subscribers) {
      if (res.writableLength > MAX_UNREAD) res.destroy();
      else res.write(text);
    }
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const res of this.subscribers) res.end();
    this.subscribers.clear();
  }
}
