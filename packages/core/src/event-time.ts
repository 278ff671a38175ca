/** When an event happened, from the fields the usual sources put it in. */
import type { SigmaEvent } from '@firebreak/sigma';

/** Windows (EVTX and evtx_dump JSON), ECS/Winlogbeat, Zeek and generic JSON time fields, then Sysmon's own UtcTime (flat Sysmon fields without their System part), in that order. */
const TIME_FIELDS = ['TimeCreated_SystemTime', '@timestamp', 'timestamp', 'ts', 'time', 'UtcTime'];

/** The range a JavaScript Date can hold: a time outside it cannot be printed, so it is no time. */
const MAX_MS = 8.64e15;
/** Numbers below this are seconds since the epoch (Zeek's `ts`, Unix timestamps); above, milliseconds. */
const SECONDS_BELOW = 1e11;
/** ISO 8601 as logs write it: a date, then optionally a time (with `T` or a space) and a zone. */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;
const NUMBER = /^\d{1,16}(?:\.\d+)?$/;
/** Longer text is no time a log writes (and regexes never see unbounded log text). */
const MAX_TIME_TEXT = 40;

/** Milliseconds since the epoch, or undefined when no known field holds a readable time. */
export function eventTime(event: SigmaEvent): number | undefined {
  for (const field of TIME_FIELDS) {
    const ms = timeOf(event.get(field));
    if (ms !== undefined) return ms;
  }
  return undefined;
}

/**
 * A time value as logs write it: ISO 8601 text (UTC when it names no zone, whatever the machine's
 * zone), or a number of seconds or milliseconds since the epoch (as a number or as digits).
 */
export function timeOf(value: unknown): number | undefined {
  if (typeof value === 'number') return epochMs(value);
  if (typeof value !== 'string' || value.length > MAX_TIME_TEXT) return undefined;
  const text = value.trim();
  return NUMBER.test(text) ? epochMs(Number(text)) : isoTimeMs(text);
}

/** ISO 8601 text (a date, or a date and time with `T` or a space) in ms since the epoch, UTC when it names no zone. */
export function isoTimeMs(text: string): number | undefined {
  const iso = text.length <= MAX_TIME_TEXT ? ISO_DATE.exec(text) : null;
  if (!iso) return undefined;
  const utc = iso[1] === undefined && text.length > 10 ? `${text.replace(' ', 'T')}Z` : text.replace(' ', 'T');
  return inRange(Date.parse(utc));
}

function epochMs(n: number): number | undefined {
  return inRange(Math.abs(n) < SECONDS_BELOW ? n * 1000 : n);
}

function inRange(ms: number): number | undefined {
  return Number.isFinite(ms) && Math.abs(ms) <= MAX_MS ? ms : undefined;
}

/** ISO 8601 UTC text of a time; null for none, and for a number no date can be made of (Date throws on those). */
export function isoTime(time: number | null | undefined): string | null {
  if (time === null || time === undefined) return null;
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
