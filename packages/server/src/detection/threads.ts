/** The ingest threads: each request goes to the thread with the least work waiting. */
import { Worker } from 'node:worker_threads';
import type { RuleSummary } from '@firebreak/core';
import type { Detected, EventForDetection, FromThread, Parsed, RuleListing, ThreadOptions, ToThread } from './protocol.js';

export type ParseRequest = Omit<Extract<ToThread, { kind: 'parse' }>, 'kind' | 'seq'>;

interface Pending {
  thread: number;
  size: number;
  resolve(result: Parsed | Detected): void;
  reject(error: Error): void;
}

export class IngestThreads {
  private readonly threads: Worker[] = [];
  /** Per thread: events (or body bytes / 1000) sent and not yet answered. */
  private readonly load: number[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextSeq = 0;
  private closing = false;
  rules: RuleListing[] = [];
  summary: RuleSummary | undefined;

  private constructor(
    private readonly options: ThreadOptions,
    private readonly onCrash: (error: Error) => void,
  ) {}

  /** Starts `count` threads and waits until each has loaded the rules (a rule path that cannot load fails here). */
  static async start(count: number, options: ThreadOptions, onCrash: (error: Error) => void): Promise<IngestThreads> {
    const pool = new IngestThreads(options, onCrash);
    await Promise.all(Array.from({ length: count }, (_, i) => pool.startThread(i)));
    return pool;
  }

  get size(): number {
    return this.threads.length;
  }

  private startThread(index: number): Promise<void> {
    const thread = new Worker(new URL('./worker.js', import.meta.url), { workerData: this.options });
    this.threads[index] = thread;
    this.load[index] = 0;
    return new Promise((resolve, reject) => {
      thread.on('message', (message: FromThread) => {
        if (message.kind === 'ready') {
          this.rules = message.rules;
          this.summary = message.summary;
          resolve();
        } else if (message.kind === 'failed') reject(new Error(`cannot load the rules: ${message.message}`));
        else if (message.kind === 'error') this.settle(message.seq, new Error(message.message));
        else this.settle(message.seq, message);
      });
      thread.on('error', (error) => reject(error));
      thread.on('exit', (code) => {
        if (!this.closing) this.crashed(index, new Error(`ingest thread ${index} exited with code ${code}`));
      });
    });
  }

  /** Work waiting in the threads, in events (a body counts as its bytes / 1000). */
  get inFlight(): number {
    return this.load.reduce((a, b) => a + b, 0);
  }

  /** Parses a request body into events and runs the rules on them. */
  parse(request: ParseRequest): Promise<Parsed> {
    return this.send({ kind: 'parse', seq: 0, ...request }, Math.ceil(request.body.length / 1000)) as Promise<Parsed>;
  }

  /** Runs the rules on stored events. */
  detect(events: EventForDetection[]): Promise<Detected> {
    return this.send({ kind: 'detect', seq: 0, events }, events.length) as Promise<Detected>;
  }

  private send(message: ToThread, size: number): Promise<Parsed | Detected> {
    const seq = this.nextSeq++;
    const thread = this.load.indexOf(Math.min(...this.load));
    this.load[thread]! += size;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { thread, size, resolve, reject });
      this.threads[thread]!.postMessage({ ...message, seq });
    });
  }

  private settle(seq: number, result: Parsed | Detected | Error): void {
    const entry = this.pending.get(seq);
    if (!entry) return;
    this.pending.delete(seq);
    this.load[entry.thread]! -= entry.size;
    if (result instanceof Error) entry.reject(result);
    else entry.resolve(result);
  }

  /** A thread that died fails what it held, and is replaced (its requests are not sent again: the callers decide). */
  private crashed(index: number, error: Error): void {
    for (const [seq, entry] of this.pending) if (entry.thread === index) this.settle(seq, error);
    this.onCrash(error);
    this.startThread(index).catch((restartError: Error) =>
      this.onCrash(new Error(`ingest thread ${index} could not be restarted: ${restartError.message}`)),
    );
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}
