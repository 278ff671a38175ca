/**
 * The server's API as the console uses it: one fetch wrapper that carries the session's token and
 * turns error replies into ApiError with the server's message, and the shapes the pages read.
 */
import { session, signOut } from './session';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const token = session.value?.token;
  const response = await fetch(path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const json = text ? parseJson(text) : undefined;
  if (!response.ok) {
    const message = (json as { error?: string } | undefined)?.error ?? `HTTP ${response.status}`;
    // A token revoked or expired while the console is open: back to the login page.
    if (response.status === 401 && token) signOut(message);
    throw new ApiError(response.status, message);
  }
  return json as T;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { error: text.slice(0, 200) };
  }
}

export const get = <T>(path: string): Promise<T> => api<T>('GET', path);

/** Query string from the defined, non-empty values. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

export type Level = 'informational' | 'low' | 'medium' | 'high' | 'critical';
export type Role = 'viewer' | 'analyst' | 'responder' | 'admin' | 'ingest';

export interface Alert {
  id: number;
  rule_id: string;
  rule_title: string;
  level: Level;
  kind: 'sigma' | 'correlation' | 'ioc' | 'behavior';
  timestamp: string;
  computer: string | null;
  incident_id: number | null;
  event_ids: number[];
  matched: Record<string, unknown>;
  tags: string[];
  details: Record<string, unknown>;
  created: string;
}

export interface Incident {
  id: number;
  title: string;
  status: IncidentStatus;
  severity: Level;
  score: number;
  hosts: string[];
  first: string;
  last: string;
  alert_count: number;
  notes: { time: string; author: string; text: string }[];
}

export const INCIDENT_STATUSES = ['new', 'investigating', 'contained', 'resolved', 'false_positive'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

export interface StoredEvent {
  id: number;
  time: number;
  received: number;
  host: string | null;
  format: string;
  channel: string | null;
  eventId: number | null;
  origin: string | null;
  fields: Record<string, unknown>;
}

export interface Agent {
  id: string;
  hostname: string;
  status: 'online' | 'offline' | 'revoked';
  last_seen: string;
  isolated: boolean;
  tags: string[];
  [key: string]: unknown;
}
