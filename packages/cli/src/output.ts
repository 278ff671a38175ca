import type { Writable } from 'node:stream';

/** Writes with backpressure, so a slow reader (a pipe into `head`, a disk) never makes memory grow. */
export async function write(stream: Writable, data: string | Uint8Array): Promise<void> {
  if (data.length === 0) return;
  if (!stream.write(data)) {
    await new Promise<void>((resolve, reject) => {
      const onDrain = (): void => {
        stream.off('error', onError);
        resolve();
      };
      const onError = (error: Error): void => {
        stream.off('drain', onDrain);
        reject(error);
      };
      stream.once('drain', onDrain);
      stream.once('error', onError);
    });
  }
}

/** A usage error: the message is printed with a hint to run --help, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function parsePositiveInt(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${option} must be a positive integer, got "${value}"`);
  return n;
}
