/** Writing to a stream with backpressure: a slow reader (a pipe into `head`, a disk) never makes memory grow. */
import type { Writable } from 'node:stream';

/** Writes `data`, and when the stream's buffer is full waits until it drains (or fails, or closes). */
export async function write(stream: Writable, data: string | Uint8Array): Promise<void> {
  if (data.length === 0) return;
  // Writing to an ended or destroyed stream would never drain: fail now instead of hanging.
  if (stream.destroyed || stream.writableEnded) throw stream.errored ?? new Error('the output stream is closed');
  if (stream.write(data)) return;
  await new Promise<void>((resolve, reject) => {
    const settle = (error?: Error | null): void => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = (): void => settle();
    const onError = (error: Error): void => settle(error);
    const onClose = (): void => settle(stream.errored ?? new Error('the output stream closed before the data was written'));
    stream.once('drain', onDrain);
    stream.once('error', onError);
    stream.once('close', onClose);
  });
}

/**
 * Gathers small pieces of text (one per detection) into writes of about `limit` characters:
 * one `stream.write` per detection costs more than formatting it. `add` returns a promise only
 * when it wrote; the caller must await it, which is what keeps memory bounded.
 */
export class BufferedWriter {
  private pending: string[] = [];
  private size = 0;

  /** `limit` 1 writes every piece at once (a terminal, where rows should appear as found). */
  constructor(
    readonly stream: Writable,
    private readonly limit = 64 * 1024,
  ) {}

  add(text: string): Promise<void> | undefined {
    this.pending.push(text);
    this.size += text.length;
    return this.size >= this.limit ? this.flush() : undefined;
  }

  async flush(): Promise<void> {
    if (this.size === 0) return;
    const data = this.pending.join('');
    this.pending = [];
    this.size = 0;
    await write(this.stream, data);
  }
}
