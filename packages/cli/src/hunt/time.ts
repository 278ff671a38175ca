import { UsageError } from '../output.js';

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const HAS_ZONE = /(Z|[+-]\d{2}:?\d{2})$/i;
const DAY_MS = 86_400_000;

/**
 * A --from/--to bound in ms since the epoch. Times without a zone are UTC (logs are compared in
 * UTC); a date alone starts at midnight, and as an end bound includes its whole day.
 */
export function parseTime(text: string, bound: 'start' | 'end', option: string): number {
  const trimmed = text.trim();
  const dateOnly = DATE_ONLY.test(trimmed);
  const iso = dateOnly || HAS_ZONE.test(trimmed) ? trimmed : `${trimmed.replace(' ', 'T')}Z`;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new UsageError(`${option} must be an ISO 8601 time or date (e.g. 2023-03-29T14:00:00Z), got "${text}"`);
  return dateOnly && bound === 'end' ? ms + DAY_MS - 1 : ms;
}
