import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';

/**
 * Output goes through core's `write` (backpressure: a slow reader never makes memory grow), by its
 * own entry point: every command imports this module, and all of core takes a quarter second to load.
 */
export { write } from '@firebreak/core/write';

/** A usage error: the message is printed with a hint to run --help, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failure the user can act on (an unreachable server, a refused token): printed as its message, exit status 1. */
export class CommandError extends Error {
  override name = 'CommandError';
}

export function parsePositiveInt(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${option} must be a positive integer, got "${value}"`);
  return n;
}

/** Standard output, or FILE opened for writing; a file that cannot be created throws with its system code (ENOENT, EACCES…). */
export async function openOutput(file: string | undefined): Promise<Writable> {
  if (file === undefined) return process.stdout;
  const stream = createWriteStream(file);
  await once(stream, 'open');
  return stream;
}

/** Runs a command so that its usage errors (parseArgs' ones included) show the command's usage line. */
export async function withUsage<T>(usageText: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (error instanceof UsageError || code?.startsWith('ERR_PARSE_ARGS'))
      throw new UsageError(`${(error as Error).message}\n${usageText}`);
    throw error;
  }
}
