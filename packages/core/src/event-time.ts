/** When an event happened, from the fields the usual sources put it in. */
import type { SigmaEvent } from '@firebreak/sigma';

/** Windows (EVTX and evtx_dump JSON), ECS/Winlogbeat, Zeek and generic JSON time fields, in that order. */
const TIME_FIELDS = ['TimeCreated_SystemTime', '@timestamp', 'timestamp', 'ts', 'time'];

/** Milliseconds since the epoch, or undefined when no known field holds a readable time. */
export function eventTime(event: SigmaEvent): number | undefined {
  for (const field of TIME_FIELDS) {
    const value = event.get(field);
    // Zeek's `ts` is seconds since the epoch.
    if (typeof value === 'number') return field === 'ts' ? value * 1000 : value;
    if (typeof value === 'string') {
      const ms = Date.parse(value);
      if (!Number.isNaN(ms)) return ms;
    }
  }
  return undefined;
}
