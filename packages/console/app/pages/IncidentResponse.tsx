/**
 * What the incident's response did and can do: actions waiting for a decision (one click to approve),
 * each host's containment, every action with its verification and forensic verdict, and the evidence
 * bundles with their SHA-256. Shapes are the server's actionView and agentView (routes/response.ts).
 */
import { useState } from 'preact/hooks';
import { api, get, type Agent } from '../api';
import { ActionButton, KeyValues, StatusBadge } from '../components/ui';
import { ago, bytes, plural, text, time } from '../format';
import { can, session } from '../session';

export interface ForensicRecord {
  verdict: 'confirmed' | 'inconclusive' | 'refuted';
  score: number;
  reasons: { code: string; text: string; weight: number }[];
  indicators: { type: string; value: string }[];
  evidenceId: number | null;
  at: number;
}

export interface ActionView {
  id: number;
  type: string;
  agent_id: string | null;
  hostname: string | null;
  fleet: boolean;
  params: Record<string, unknown>;
  status: string;
  mode: 'automatic' | 'approval' | 'manual';
  triggered_by: string;
  playbook_id: string | null;
  incident_id: number | null;
  reason: string;
  require_verdict: boolean;
  approved_by: string | null;
  cancelled_by: string | null;
  created: string;
  enforced_at: string | null;
  completed_at: string | null;
  error: string | null;
  verification: { name: string; ok: boolean; detail?: string }[];
  output: Record<string, unknown> | null;
  forensic: ForensicRecord | null;
}

/** Statuses an action can still be stopped in, and those a responder's approval moves on. */
const CANCELLABLE = new Set(['pending_approval', 'waiting_verdict', 'queued']);
const APPROVABLE = new Set(['pending_approval', 'waiting_verdict']);

function target(action: ActionView): string {
  return action.hostname ?? (action.fleet ? 'every agent' : (action.agent_id ?? 'an unknown agent'));
}

function params(action: ActionView): string {
  return Object.entries(action.params)
    .map(([key, value]) => `${key}=${text(value)}`)
    .join(' ');
}

/** The agent that speaks for a host: the live one first, a revoked one last. */
export function agentFor(agents: Agent[], host: string): Agent | undefined {
  const rank = (agent: Agent): number => (agent.status === 'online' ? 0 : agent.status === 'offline' ? 1 : 2);
  return agents
    .filter((agent) => agent.hostname.toLowerCase() === host.toLowerCase())
    .sort((a, b) => rank(a) - rank(b) || b.last_seen.localeCompare(a.last_seen))[0];
}

/** Actions waiting for a responder, above the storyline: the decision is one click. */
export function PendingActions({ actions, reload }: { actions: ActionView[]; reload(): void }) {
  const waiting = actions.filter((action) => APPROVABLE.has(action.status));
  if (waiting.length === 0) return null;
  const mayDecide = can('responder');
  return (
    <section class="inc-pending" aria-label="Actions waiting for a decision">
      <h2>
        {plural(waiting.length, 'action')} waiting for {mayDecide ? 'your' : 'a responder’s'} decision
      </h2>
      <ul>
        {waiting.map((action) => (
          <li key={action.id} aria-label={`${action.type} on ${target(action)}, ${action.status.replace('_', ' ')}`}>
            <StatusBadge status={action.status} />
            <strong>
              {action.type} on {target(action)}
            </strong>
            <span class="muted inc-why" title={action.reason}>
              {action.reason} · by {action.triggered_by}, {ago(action.created)}
              {action.status === 'waiting_verdict' && ' · waits for the forensic verdict; approving goes ahead without it'}
            </span>
            {mayDecide && (
              <span class="inc-decide">
                <ActionButton
                  kind="primary"
                  label={`Approve ${action.type} on ${target(action)}`}
                  run={async () => {
                    await api('POST', `/api/v1/actions/${action.id}/approve`);
                    reload();
                  }}
                />
                <ActionButton
                  label="Cancel"
                  title={`Cancel ${action.type} on ${target(action)}`}
                  run={async () => {
                    await api('POST', `/api/v1/actions/${action.id}/cancel`);
                    reload();
                  }}
                />
              </span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The Response tab: containment per host, then every action of the incident, newest first. */
export function ResponsePanel(props: { incidentId: number; hosts: string[]; agents: Agent[]; actions: ActionView[]; reload(): void }) {
  return (
    <div class="inc-response">
      <Containment {...props} />
      <h3>Actions</h3>
      {props.actions.length === 0 ? (
        <p class="empty">
          No response actions for this incident yet. Playbooks start them when its alerts match; a responder can isolate a host or collect
          evidence above.
        </p>
      ) : (
        <ul class="inc-actions">
          {props.actions.map((action) => (
            <ActionItem key={action.id} action={action} reload={props.reload} />
          ))}
        </ul>
      )}
    </div>
  );
}

function Containment({ incidentId, hosts, agents, reload }: { incidentId: number; hosts: string[]; agents: Agent[]; reload(): void }) {
  const responder = can('responder');
  return (
    <table class="plain inc-containment" aria-label="Containment">
      <thead>
        <tr>
          <th>Host</th>
          <th>Agent</th>
          <th>Network</th>
          {responder && <th />}
        </tr>
      </thead>
      <tbody>
        {hosts.map((host) => {
          const agent = agentFor(agents, host);
          return (
            <tr key={host}>
              <td>{host}</td>
              <td>
                {agent ? (
                  <a href={`#/hosts/${encodeURIComponent(agent.id)}`}>
                    <StatusBadge status={agent.status} />
                  </a>
                ) : (
                  <span class="muted">no agent: Firebreak cannot contain this host (enroll one under Settings)</span>
                )}
              </td>
              <td>{agent && (agent.isolated ? <StatusBadge status="isolated" /> : <span class="muted">not isolated</span>)}</td>
              {responder && (
                <td>
                  {agent && agent.status !== 'revoked' && <HostActions incidentId={incidentId} host={host} agent={agent} reload={reload} />}
                </td>
              )}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Isolate or release (whichever the host's state calls for) and collect evidence, tied to the incident. */
function HostActions({ incidentId, host, agent, reload }: { incidentId: number; host: string; agent: Agent; reload(): void }) {
  const start = (type: string) => async (): Promise<void> => {
    await api('POST', '/api/v1/actions', { type, agent_id: agent.id, incident_id: incidentId, reason: `from incident #${incidentId}` });
    reload();
  };
  return (
    <div class="inc-buttons">
      {agent.isolated ? (
        <ActionButton label={`Release ${host}`} run={start('release')} title="End the network isolation" />
      ) : (
        <ActionButton
          kind="danger"
          label={`Isolate ${host}`}
          run={start('isolate')}
          confirm={`Cut ${host} off the network (except the Firebreak server)?`}
        />
      )}
      <ActionButton label={`Collect evidence on ${host}`} run={start('collect_evidence')} />
    </div>
  );
}

function ActionItem({ action, reload }: { action: ActionView; reload(): void }) {
  const cancellable = CANCELLABLE.has(action.status) && !APPROVABLE.has(action.status) && can('responder');
  return (
    <li class="inc-action" aria-label={`Action ${action.id}: ${action.type} on ${target(action)}`}>
      <div class="inc-action-head">
        <StatusBadge status={action.status} />
        <strong>
          {action.type} on {target(action)}
        </strong>
        <span class="muted">
          #{action.id} · {action.mode} · by {action.triggered_by}
          {action.approved_by && `, approved by ${action.approved_by}`}
          {action.cancelled_by && `, cancelled by ${action.cancelled_by}`} · {time(action.created)}
        </span>
        {APPROVABLE.has(action.status) && <span class="muted">(decide above the storyline)</span>}
        {cancellable && (
          <ActionButton
            label="Cancel"
            title={`Cancel ${action.type} on ${target(action)}`}
            run={async () => {
              await api('POST', `/api/v1/actions/${action.id}/cancel`);
              reload();
            }}
          />
        )}
      </div>
      <div class="inc-action-body">
        <div class="muted">{action.reason}</div>
        {params(action) && <div class="mono">{params(action)}</div>}
        {action.error && <div class="inline-error">{action.error}</div>}
        {action.verification.length > 0 && (
          <ul class="inc-checks" aria-label="Verification">
            {action.verification.map((check, index) => (
              <li key={index} class={check.ok ? 'ok' : 'bad'}>
                {check.ok ? '✓' : '✗'} {check.name}
                {check.detail && <span class="muted mono"> {check.detail}</span>}
              </li>
            ))}
          </ul>
        )}
        {action.forensic && <Verdict forensic={action.forensic} />}
      </div>
    </li>
  );
}

export function Verdict({ forensic }: { forensic: ForensicRecord }) {
  return (
    <div class={`inc-verdict verdict-${forensic.verdict}`} aria-label="Forensic verdict">
      <div>
        Forensic verdict <StatusBadge status={forensic.verdict} /> <span class="muted">score {forensic.score}</span>
      </div>
      <ul>
        {forensic.reasons.map((reason) => (
          <li key={reason.code}>
            <span class="mono inc-weight">
              {reason.weight > 0 ? '+' : ''}
              {reason.weight}
            </span>{' '}
            {reason.text}
          </li>
        ))}
      </ul>
      {forensic.indicators.length > 0 && (
        <div class="muted">
          Indicators: <span class="mono">{forensic.indicators.map((i) => `${i.type}:${i.value}`).join('  ')}</span>
        </div>
      )}
    </div>
  );
}

/** The Evidence tab: every collect_evidence action of the incident and the bundle it brought back. */
export function EvidencePanel({ actions }: { actions: ActionView[] }) {
  const collections = actions.filter((action) => action.type === 'collect_evidence');
  if (collections.length === 0)
    return (
      <p class="empty">
        No evidence collected for this incident. Bundles come from collect_evidence actions: a playbook's forensic verification, or a
        responder's "Collect evidence" under Response.
      </p>
    );
  return (
    <ul class="inc-actions">
      {collections.map((action) => (
        <EvidenceItem key={action.id} action={action} />
      ))}
    </ul>
  );
}

function EvidenceItem({ action }: { action: ActionView }) {
  const sha256 = typeof action.output?.sha256 === 'string' ? action.output.sha256 : undefined;
  const size = typeof action.output?.size === 'number' ? action.output.size : undefined;
  const evidenceId = action.forensic?.evidenceId ?? null;
  return (
    <li class="inc-action" aria-label={`Evidence from ${target(action)}`}>
      <div class="inc-action-head">
        <StatusBadge status={action.status} />
        <strong>evidence from {target(action)}</strong>
        <span class="muted">
          action #{action.id} · {time(action.completed_at ?? action.created)}
          {size !== undefined && ` · ${bytes(size)}`}
        </span>
      </div>
      <div class="inc-action-body">
        <KeyValues
          entries={[
            ['SHA-256', sha256 ? <code class="inc-hash">{sha256}</code> : <span class="muted">not yet: the bundle has not come back</span>],
            ['Asked for', params(action) || 'the host’s state'],
          ]}
        />
        {action.forensic && <Verdict forensic={action.forensic} />}
        {evidenceId !== null && can('analyst') ? (
          <Bundle evidenceId={evidenceId} expected={sha256} />
        ) : (
          sha256 && <p class="hint">The bundle is stored on the server; the API names its evidence id only for a forensic verification.</p>
        )}
      </div>
    </li>
  );
}

interface EvidenceView {
  id: number;
  hostname: string;
  sha256: string;
  size: number;
  collected_at: string;
  bundle: unknown;
}

/** Download and view: the raw bytes need the token, so they are fetched here and saved through a Blob URL. */
function Bundle({ evidenceId, expected }: { evidenceId: number; expected: string | undefined }) {
  const [shown, setShown] = useState<EvidenceView>();
  const [check, setCheck] = useState<string>();
  const download = async (): Promise<void> => {
    const response = await fetch(`/api/v1/evidence/${evidenceId}/raw`, {
      headers: { authorization: `Bearer ${session.value?.token ?? ''}` },
    });
    if (!response.ok) throw new Error(`the bundle did not download (HTTP ${response.status})`);
    const blob = await response.blob();
    const claimed = response.headers.get('x-firebreak-sha256') ?? expected;
    setCheck(await digestCheck(blob, claimed));
    const url = URL.createObjectURL(blob);
    const link = document.createElement('a');
    link.href = url;
    link.download = `evidence-${evidenceId}-${(claimed ?? 'bundle').slice(0, 12)}.json`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
  return (
    <div class="inc-bundle">
      <ActionButton label="Download bundle" run={download} />
      <ActionButton
        label={shown ? 'Hide bundle' : 'Show bundle'}
        run={async () => setShown(shown ? undefined : await get(`/api/v1/evidence/${evidenceId}`))}
      />
      {check && <span class={check.startsWith('✓') ? 'inc-ok' : 'inline-error'}>{check}</span>}
      {shown && <pre>{JSON.stringify(shown.bundle, null, 2)}</pre>}
    </div>
  );
}

/** The downloaded bytes' SHA-256 against the recorded one (browsers give the digest only on https or localhost). */
async function digestCheck(blob: Blob, claimed: string | undefined): Promise<string> {
  if (!globalThis.crypto?.subtle) return 'downloaded (this page cannot compute SHA-256 over plain http: check it with sha256sum)';
  const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
  const hex = [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  if (!claimed) return `downloaded, SHA-256 ${hex}`;
  return hex === claimed
    ? '✓ downloaded; its SHA-256 matches the recorded digest'
    : `downloaded, but its SHA-256 ${hex} is not the recorded ${claimed}`;
}
