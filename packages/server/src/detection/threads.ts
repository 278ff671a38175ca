/**
 * The ingest threads: each request goes to the thread with the least work waiting. A reload starts
 * a fresh set of threads with other rules and swaps it in once every thread is ready; the old set
 * finishes what it holds, then stops.
 */
import { Worker } from 'node:worker_threads';
import type { RuleSummary } from '@firebreak/core';
import type { Detected, EventForDetection, FromThread, Parsed, RuleListing, ThreadOptions, ToThread } from './protocol.js';

export type ParseRequest = Omit<Extract<ToThread, { kind: 'parse' }>, 'kind' | 'seq'>;

interface Thread {
  worker: Worker;
  /** Events (or body bytes / 1000) sent and not yet answered. */
  load: number;
  /** Requests sent and not yet answered. */
  waiting: number;
  /** Replaced by a reload (or unusable): takes no new work, stops once it has answered what it holds. */
  retired: boolean;
}

interface Pending {
  thread: Thread;
  size: number;
  resolve(result: Parsed | Detected): void;
  reject(error: Error): void;
}

/** A thread that has loaded its rules, with what it loaded. */
interface ReadyThread {
  thread: Thread;
  summary: RuleSummary;
  rules: RuleListing[];
}

export class IngestThreads {
  /** The threads taking new work. */
  private threads: Thread[] = [];
  /** Every thread not yet stopped: current ones, retired ones finishing their work, ones a reload is starting. */
  private readonly alive = new Set<Thread>();
  private readonly pending = new Map<number, Pending>();
  private nextSeq = 0;
  private closing = false;
  rules: RuleListing[] = [];
  summary: RuleSummary | undefined;

  private constructor(
    private current: ThreadOptions,
    private readonly onCrash: (error: Error) => void,
  ) {}

  /** Starts `count` threads and waits until each has loaded the rules (a rule path that cannot load fails here). */
  static async start(count: number, options: ThreadOptions, onCrash: (error: Error) => void): Promise<IngestThreads> {
    const pool = new IngestThreads(options, onCrash);
    pool.swapIn(await pool.startSet(count, options), options);
    return pool;
  }

  get size(): number {
    return this.threads.length;
  }

  /** The options the threads in use were started with. */
  get options(): ThreadOptions {
    return this.current;
  }

  /**
   * Starts as many threads with `options` and, once all have loaded the rules, sends new work to
   * them; requests already sent are answered by the threads they went to (with the rules those
   * had). Rejects, leaving the threads in use as they are, when the new ones cannot start.
   */
  async reload(options: ThreadOptions): Promise<void> {
    const fresh = await this.startSet(this.threads.length, options);
    if (this.closing) return;
    const old = this.threads;
    this.swapIn(fresh, options);
    for (const thread of old) this.retire(thread);
  }

  private swapIn(fresh: ReadyThread[], options: ThreadOptions): void {
    this.threads = fresh.map((ready) => ready.thread);
    this.current = options;
    this.rules = fresh[0]?.rules ?? [];
    this.summary = fresh[0]?.summary;
  }

  /** `count` threads, all ready; none is left running when one fails. */
  private async startSet(count: number, options: ThreadOptions): Promise<ReadyThread[]> {
    const settled = await Promise.allSettled(Array.from({ length: count }, () => this.startThread(options).ready));
    const failure = settled.find((result) => result.status === 'rejected');
    if (!failure) return settled.map((result) => (result as PromiseFulfilledResult<ReadyThread>).value);
    for (const result of settled) if (result.status === 'fulfilled') this.retire(result.value.thread);
    throw failure.reason;
  }

  /** A new thread, and when it has loaded the rules (it may be given work before: it answers once ready). */
  private startThread(options: ThreadOptions): { thread: Thread; ready: Promise<ReadyThread> } {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: options });
    const thread: Thread = { worker, load: 0, waiting: 0, retired: false };
    this.alive.add(thread);
    const ready = new Promise<ReadyThread>((resolve, reject) => {
      worker.on('message', (message: FromThread) => {
        if (message.kind === 'ready') resolve({ thread, summary: message.summary, rules: message.rules });
        else if (message.kind === 'failed') {
          // It ends by itself: no thread to restart.
          thread.retired = true;
          reject(new Error(`cannot load the rules: ${message.message}`));
        } else if (message.kind === 'error') this.settle(message.seq, new Error(message.message));
        else this.settle(message.seq, message);
      });
      worker.on('error', (error) => reject(error));
      worker.on('exit', (code) => {
        this.alive.delete(thread);
        const error = new Error(`ingest thread exited with code ${code}`);
        reject(error);
        if (!this.closing && !thread.retired) this.crashed(thread, error);
      });
    });
    return { thread, ready };
  }

  /** Work waiting in the threads, in events (a body counts as its bytes / 1000). */
  get inFlight(): number {
    let total = 0;
    for (const thread of this.alive) total += thread.load;
    return total;
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
    const thread = this.threads.reduce((least, t) => (t.load < least.load ? t : least));
    thread.load += size;
    thread.waiting++;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { thread, size, resolve, reject });
      thread.worker.postMessage({ ...message, seq });
    });
  }

  private settle(seq: number, result: Parsed | Detected | Error): void {
    const entry = this.pending.get(seq);
    if (!entry) return;
    this.pending.delete(seq);
    entry.thread.load -= entry.size;
    entry.thread.waiting--;
    if (result instanceof Error) entry.reject(result);
    else entry.resolve(result);
    if (entry.thread.retired && entry.thread.waiting === 0) void entry.thread.worker.terminate();
  }

  /** No new work for it; it stops once it has answered what it holds. */
  private retire(thread: Thread): void {
    thread.retired = true;
    if (thread.waiting === 0) void thread.worker.terminate();
  }

  /** A thread that died fails what it held, and is replaced (its requests are not sent again: the callers decide). */
  private crashed(thread: Thread, error: Error): void {
    for (const [seq, entry] of this.pending) if (entry.thread === thread) this.settle(seq, error);
    this.onCrash(error);
    const index = this.threads.indexOf(thread);
    // A retired thread (its set replaced by a reload) needs no successor.
    if (index < 0) return;
    const replacement = this.startThread(this.current);
    this.threads[index] = replacement.thread;
    replacement.ready.catch((restartError: Error) =>
      this.onCrash(new Error(`an ingest thread could not be restarted: ${restartError.message}`)),
    );
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.alive].map((thread) => thread.worker.terminate()));
  }
}
