/**
 * The test side of enforce-host.js: starts it inside a LAN host and calls its operations. Each
 * answer carries the time the operation took inside the host (`lastMs`).
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Lan } from '@firebreak/testkit';

export class EnforceHost {
  /** How long the last operation took inside the host, in ms. */
  lastMs = 0;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const reply = JSON.parse(line) as { id: number; ok: boolean; value?: unknown; error?: string; ms: number };
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      this.lastMs = reply.ms;
      if (reply.ok) waiter?.resolve(reply.value);
      else waiter?.reject(new Error(reply.error));
    });
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    void this.exited.then(() => {
      for (const waiter of this.pending.values()) waiter.reject(new Error('the enforce host exited'));
      this.pending.clear();
    });
  }

  static start(lan: Lan, host: string): EnforceHost {
    const script = new URL('./enforce-host.js', import.meta.url).pathname;
    const child = lan.spawn(host, process.execPath, [script], {
      env: { ...process.env, FIREBREAK_ENFORCE_HOST: '1' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    return new EnforceHost(child);
  }

  call<T>(op: string, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  /** Ends the host process (as an agent that exits): what it put in the kernel stays. */
  async stop(): Promise<void> {
    this.child.stdin!.end();
    await this.exited;
  }
}
