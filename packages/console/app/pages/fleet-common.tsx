/**
 * Pieces the Hosts, Response, Audit and Settings pages share: requests the JSON helper cannot make
 * (a YAML body, a file download with the token), a copy button for one-time secrets, and the
 * approve / cancel decision on an action.
 */
import { useRef, useState } from 'preact/hooks';
import { api, ApiError, get, query } from '../api';
import { ActionButton } from '../components/ui';
import { session } from '../session';
import type { ActionView } from './IncidentResponse';

/** Statuses a responder's approval moves on (waiting_verdict: approving goes ahead without the verdict), and those that can still be stopped. */
export const APPROVABLE = new Set(['pending_approval', 'waiting_verdict']);
export const CANCELLABLE = new Set(['pending_approval', 'waiting_verdict', 'queued']);

/** The API gives at most this many rows a request. */
export const MAX_PAGE = 1000;

export function actionTarget(action: ActionView): string {
  return action.hostname ?? (action.fleet ? 'every agent' : (action.agent_id ?? 'an unknown agent'));
}

/** One page of the action log, newest first; the next cursor is the smallest id while pages come full. */
export async function actionPage(before: number | undefined, limit = MAX_PAGE): Promise<{ rows: ActionView[]; next: number | undefined }> {
  const { actions } = await get<{ actions: ActionView[] }>(`/api/v1/actions${query({ before, limit })}`);
  return { rows: actions, next: actions.length === limit ? actions.at(-1)!.id : undefined };
}

async function withToken(path: string, init: RequestInit = {}): Promise<Response> {
  const token = session.value?.token;
  const response = await fetch(path, {
    ...init,
    headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` },
  });
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { error?: string };
    throw new ApiError(response.status, body.error ?? `HTTP ${response.status}`);
  }
  return response;
}

/** POSTs a text body (a playbook's YAML) and returns the JSON answer. */
export async function postText<T>(path: string, contentType: string, body: string): Promise<T> {
  const response = await withToken(path, { method: 'POST', headers: { 'content-type': contentType }, body });
  return (await response.json()) as T;
}

/** Saves what `path` answers as a file: a plain link cannot carry the bearer token. */
export async function downloadWithToken(path: string, filename: string): Promise<void> {
  const blob = await (await withToken(path)).blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  // The browser has read the blob once the click is handled.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * A value shown once (a new token's secret, a command to run) with a button copying it. The
 * clipboard API needs a secure context; elsewhere the text is selected for Ctrl+C.
 */
export function SecretValue({ value, label }: { value: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'selected'>('idle');
  const field = useRef<HTMLInputElement>(null);
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(value);
      setState('copied');
    } catch {
      field.current?.focus();
      field.current?.select();
      setState('selected');
    }
  };
  return (
    <div class="fleet-secret">
      <input ref={field} class="mono" readOnly value={value} aria-label={label} onFocus={(e) => e.currentTarget.select()} />
      <button type="button" class="small" onClick={() => void copy()} aria-label={`Copy ${label}`}>
        {state === 'copied' ? 'Copied' : state === 'selected' ? 'Press Ctrl+C' : 'Copy'}
      </button>
    </div>
  );
}

/** Approve and Cancel for an action waiting for a responder (the caller checks the role). */
export function ActionDecision({ action, reload }: { action: ActionView; reload(): void }) {
  const what = `${action.type} on ${actionTarget(action)}`;
  const decide = (verb: 'approve' | 'cancel') => async (): Promise<void> => {
    await api('POST', `/api/v1/actions/${action.id}/${verb}`);
    reload();
  };
  return (
    <span class="fleet-decide">
      {APPROVABLE.has(action.status) && (
        <ActionButton
          kind="primary"
          label={`Approve ${what}`}
          run={decide('approve')}
          title={action.status === 'waiting_verdict' ? 'Goes ahead without waiting for the forensic verdict' : undefined}
        />
      )}
      {CANCELLABLE.has(action.status) && <ActionButton label={`Cancel ${what}`} run={decide('cancel')} confirm={`Cancel ${what}?`} />}
    </span>
  );
}

/** Why a button is disabled for the signed-in role. */
export function needsRole(role: string): string {
  return `Needs the ${role} role (you are ${session.value?.role ?? 'signed out'})`;
}
