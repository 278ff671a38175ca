/** Output goes through core's `write` (backpressure: a slow reader never makes memory grow). */
export { write } from '@firebreak/core';

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
