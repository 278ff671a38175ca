/** An incident as the server stores it (@firebreak/store keeps this shape as it is). */

export const INCIDENT_STATUSES = ['new', 'investigating', 'contained', 'resolved', 'false_positive'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** Statuses an analyst closes an incident with: later alerts never join it. */
const CLOSED_STATUSES: ReadonlySet<string> = new Set<IncidentStatus>(['resolved', 'false_positive']);

export function isClosed(status: string): boolean {
  return CLOSED_STATUSES.has(status);
}

export interface IncidentNote {
  time: number;
  author: string;
  text: string;
}

export interface IncidentRecord {
  title: string;
  status: IncidentStatus;
  severity: string;
  score: number;
  hosts: string[];
  /** First and last alert times (ms since the epoch). */
  first: number;
  last: number;
  alertCount: number;
  /** The grouping engine's own state (see GroupingState): what it needs to attach later alerts. */
  grouping: Record<string, unknown>;
  notes: IncidentNote[];
}
