/**
 * The demo scenario (demo/: the 3CX supply-chain compromise on a small company, recorded by
 * demo/generate.mjs) loaded into a running server through the ingest parsers and the pipeline, as
 * if it had just happened: every time in it is shifted by one offset so the last event is now,
 * which keeps the correlation windows intact.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseIngestBody, type IngestFormat } from '@firebreak/core';
import type { ServerParts } from './context.js';

export const DEMO_DIR = fileURLToPath(new URL('../../demo/', import.meta.url));
const LOADED = 'demo_loaded';

interface Scenario {
  end: string;
  files: { path: string; format: IngestFormat }[];
}

export interface DemoResult {
  /** False when this store already holds the demo (it is loaded once per store). */
  loaded: boolean;
  events: number;
  rejected: number;
}

export async function loadDemo(parts: ServerParts, now = Date.now()): Promise<DemoResult> {
  if (await parts.store.getMeta(LOADED)) return { loaded: false, events: 0, rejected: 0 };
  const scenario = JSON.parse(readFileSync(join(DEMO_DIR, 'scenario.json'), 'utf8')) as Scenario;
  // Whole seconds, so that times written without fractions stay exact.
  const offset = Math.floor((now - Date.parse(scenario.end)) / 1000) * 1000;
  let events = 0;
  let rejected = 0;
  for (const { path, format } of scenario.files) {
    const text = shiftTimes(readFileSync(join(DEMO_DIR, path), 'utf8'), offset);
    const parsed = parseIngestBody(format, text, { origin: `demo:${path}`, receivedAt: now });
    rejected += parsed.rejected.length;
    events += (await parts.pipeline.ingest(parsed.events, now)).length;
  }
  await parts.pipeline.drained();
  await parts.store.setMeta(LOADED, new Date(now).toISOString());
  await parts.audit.record('system', 'demo.load', null, { events, offset_ms: offset });
  return { loaded: true, events, rejected };
}

/** ISO 8601 times (with T or a space, any fraction, Z or an offset) and auditd's `audit(SECONDS.MILLIS:`. */
const ISO_TIME = /\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?/g;
const AUDIT_TIME = /audit\((\d{1,12})\.(\d{3}):/g;

/** Moves every time in `text` by `offsetMs` (whole seconds), keeping each one's spelling. */
export function shiftTimes(text: string, offsetMs: number): string {
  const seconds = offsetMs / 1000;
  return text
    .replace(ISO_TIME, (time, fraction: string | undefined, zone: string | undefined) =>
      shiftIso(time, fraction ?? '', zone ?? '', offsetMs),
    )
    .replace(AUDIT_TIME, (_, whole: string, millis: string) => `audit(${Number(whole) + seconds}.${millis}:`);
}

function shiftIso(time: string, fraction: string, zone: string, offsetMs: number): string {
  const separator = time[10]!;
  const wholeSeconds = `${time.slice(0, 10)}T${time.slice(11, 19)}${zone === '' ? 'Z' : zone}`;
  const shifted = new Date(Date.parse(wholeSeconds) + offsetMs).toISOString();
  // toISOString is UTC; a time written with an offset keeps its offset.
  const local = zone === '' || zone === 'Z' ? shifted : new Date(Date.parse(shifted) + zoneMs(zone)).toISOString();
  return `${local.slice(0, 10)}${separator}${local.slice(11, 19)}${fraction}${zone}`;
}

function zoneMs(zone: string): number {
  const sign = zone[0] === '-' ? -1 : 1;
  return sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
}
