import { isoTimeMs } from '@firebreak/core';
import { UsageError } from '../output.js';

const DAY_MS = 86_400_000;

/**
 * A --from/--to bound in ms since the epoch, read as event times are (UTC unless the text names a
 * zone); a date alone starts at midnight, and as an end bound includes its whole day.
 */
export function parseTime(text: string, bound: 'start' | 'end', option: string): number {
  const trimmed = text.trim();
  const ms = isoTimeMs(trimmed);
  if (ms === undefined) throw new UsageError(`${option} must be an ISO 8601 time or date (e.g. 2023-03-29T14:00:00Z), got "${text}"`);
  const dateOnly = trimmed.length === 10;
  return dateOnly && bound === 'end' ? ms + DAY_MS - 1 : ms;
}

/** The --from/--to bounds of a command line, checked to be in order. */
export function parseTimeRange(values: { from?: string; to?: string }): { from?: number; to?: number } {
  const from = values.from === undefined ? undefined : parseTime(values.from, 'start', '--from');
  const to = values.to === undefined ? undefined : parseTime(values.to, 'end', '--to');
  if (from !== undefined && to !== undefined && from > to) throw new UsageError('--from is later than --to');
  return { from, to };
}
