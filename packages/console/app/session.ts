/**
 * Who is signed in. The token lives in sessionStorage (this tab only, gone when it closes) and is
 * sent as a bearer token; the role the server reports decides what the console offers.
 */
import { signal } from '@preact/signals';
import type { Role } from './api';

export interface Session {
  token: string;
  name: string;
  role: Role;
}

const KEY = 'firebreak.session';

export const session = signal<Session | undefined>(restore());
/** Why the last session ended (shown on the login page). */
export const signedOutReason = signal<string | undefined>(undefined);

function restore(): Session | undefined {
  try {
    const saved = sessionStorage.getItem(KEY);
    return saved ? (JSON.parse(saved) as Session) : undefined;
  } catch {
    return undefined;
  }
}

export function signIn(value: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(value));
  signedOutReason.value = undefined;
  session.value = value;
}

export function signOut(reason?: string): void {
  sessionStorage.removeItem(KEY);
  signedOutReason.value = reason;
  session.value = undefined;
}

const RANK: Record<Exclude<Role, 'ingest'>, number> = { viewer: 1, analyst: 2, responder: 3, admin: 4 };

/** Whether the signed-in role may do what needs `needed` (the server checks again; this only hides what would fail). */
export function can(needed: Exclude<Role, 'ingest'>): boolean {
  const role = session.value?.role;
  return role !== undefined && role !== 'ingest' && RANK[role] >= RANK[needed];
}
