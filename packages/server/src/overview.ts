/**
 * What a SOC overview page shows, in one answer: alerts per level over time, open incidents by
 * severity and all by status, the agents, and the ingest rate. Alerts and incidents are counted by
 * the store; nothing here reads them one by one.
 */
import { LEVELS } from '@firebreak/core';
import { INCIDENT_STATUSES, type AlertBucket, type IncidentCount } from '@firebreak/store';
import type { ServerParts } from './context.js';

/** The alert chart's window is cut into this many buckets (plus one: see overview). */
export const OVERVIEW_BUCKETS = 48;
/** Incidents in these statuses are closed; every other status is open. */
const CLOSED = new Set(['resolved', 'false_positive']);
/** Levels, highest first: every count object has each (0 when none), then any other level the data holds. */
const LEVELS_HIGH_FIRST = [...LEVELS].reverse();

export async function overview(parts: ServerParts, hours: number, now = Date.now()): Promise<Record<string, unknown>> {
  const bucketMs = (hours * 3_600_000) / OVERVIEW_BUCKETS;
  // Buckets are aligned on multiples of their size, so the axis does not shift between refreshes: the
  // first holds the window's start, the last holds now (49 buckets, the first and last partly in it).
  const from = Math.floor((now - hours * 3_600_000) / bucketMs) * bucketMs;
  const to = (Math.floor(now / bucketMs) + 1) * bucketMs;
  const [histogram, incidents, agents] = await Promise.all([
    parts.store.alertHistogram({ from, to, bucketMs }),
    parts.store.incidentCounts(),
    parts.response.registry.list(),
  ]);
  const enrolled = agents.filter((agent) => !agent.revoked);
  return {
    alerts: {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      bucket_ms: bucketMs,
      buckets: alertBuckets(histogram, from, to, bucketMs),
    },
    incidents: incidentFigures(incidents),
    hosts: {
      agents: enrolled.length,
      online: enrolled.filter((agent) => parts.response.hub.isOnline(agent.agentId)).length,
      isolated: enrolled.filter((agent) => agent.isolated).length,
    },
    ingest: {
      accepted_total: parts.stats.accepted,
      events_per_second: Math.round(parts.stats.eventsPerSecond(now) * 10) / 10,
    },
  };
}

/** Every bucket of the window, empty ones included, each with a count per level. */
function alertBuckets(
  rows: readonly AlertBucket[],
  from: number,
  to: number,
  bucketMs: number,
): { time: string; counts: Record<string, number> }[] {
  const levels = withAll(
    LEVELS_HIGH_FIRST,
    rows.map((row) => row.level),
  );
  const buckets = Array.from({ length: (to - from) / bucketMs }, (_, i) => ({
    time: new Date(from + i * bucketMs).toISOString(),
    counts: zeroes(levels),
  }));
  for (const row of rows) buckets[Math.round((row.bucket - from) / bucketMs)]!.counts[row.level]! += row.count;
  return buckets;
}

function incidentFigures(rows: readonly IncidentCount[]): Record<string, unknown> {
  const open = rows.filter((row) => !CLOSED.has(row.status));
  const openBySeverity = zeroes(
    withAll(
      LEVELS_HIGH_FIRST,
      open.map((row) => row.severity),
    ),
  );
  for (const row of open) openBySeverity[row.severity]! += row.count;
  const byStatus = zeroes(INCIDENT_STATUSES);
  for (const row of rows) byStatus[row.status] += row.count;
  return { open: open.reduce((sum, row) => sum + row.count, 0), open_by_severity: openBySeverity, by_status: byStatus };
}

/** `known`, then the other names of `seen` in their first order. */
function withAll(known: readonly string[], seen: readonly string[]): string[] {
  return [...new Set([...known, ...seen])];
}

function zeroes(keys: readonly string[]): Record<string, number> {
  return Object.fromEntries(keys.map((key) => [key, 0]));
}
