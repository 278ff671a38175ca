/**
 * Response: what waits for a responder's decision, the log of every action with its forensic
 * verdict, the playbooks in force (admins add and remove them) and the fleet blocklist with its
 * exports. Shapes: actionView, playbooks and indicatorView in the server's routes/response.ts.
 */
import { useMemo, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { api, query } from '../api';
import { VirtualTable, type Column } from '../components/VirtualTable';
import { ActionButton, Card, ErrorBox, KeyValues, Loading, PageHeader, StatusBadge } from '../components/ui';
import { ago, plural, text, time } from '../format';
import { useGet, useLive, usePaged, type Paged } from '../hooks';
import { replaceParams, route } from '../router';
import { can } from '../session';
import { ActionDecision, actionPage, actionTarget, APPROVABLE, CANCELLABLE, downloadWithToken, needsRole, postText } from './fleet-common';
import { Verdict, type ActionView } from './IncidentResponse';
import './incident.css';
import './fleet.css';

const TABS = [
  ['pending', 'Pending approvals'],
  ['log', 'Action log'],
  ['playbooks', 'Playbooks'],
  ['blocklist', 'Blocklist'],
] as const;
type Tab = (typeof TABS)[number][0];

/** The newest actions the log holds at once; the first page is small so the first screen is quick. */
const MAX_ACTIONS = 10_000;
const FIRST_PAGE = 200;

export function ResponsePage() {
  const wanted = route.value.params.get('tab');
  const tab: Tab = TABS.some(([id]) => id === wanted) ? (wanted as Tab) : 'pending';
  const log = usePaged(
    ['actions'],
    (before: number | undefined) => actionPage(before, before === undefined ? FIRST_PAGE : undefined),
    MAX_ACTIONS,
  );
  useLive(['action'], log.reload);
  const pending = useMemo(() => log.rows.filter((a) => APPROVABLE.has(a.status)), [log.rows]);

  return (
    <div class={`fleet-page ${tab === 'log' ? 'list-page' : ''}`}>
      <PageHeader title="Response" />
      <div class="tabs" role="tablist" aria-label="Response sections">
        {TABS.map(([id, title]) => (
          <button key={id} role="tab" aria-selected={tab === id} onClick={() => replaceParams({ tab: id })}>
            {title}
            {id === 'pending' && pending.length > 0 && <span class="fleet-tab-count">{pending.length}</span>}
          </button>
        ))}
      </div>
      <ErrorBox error={log.error} />
      {tab === 'pending' && <Pending actions={pending} complete={log.complete} reload={log.reload} />}
      {tab === 'log' && <ActionLog log={log} />}
      {tab === 'playbooks' && <Playbooks />}
      {tab === 'blocklist' && <Blocklist />}
    </div>
  );
}

// ---------------------------------------------------------------------------------------------
// Pending approvals

function Pending({ actions, complete, reload }: { actions: ActionView[]; complete: boolean; reload(): void }) {
  if (actions.length === 0) return complete ? <p class="empty">Nothing waits for approval.</p> : <Loading />;
  const mayDecide = can('responder');
  return (
    <section aria-label="Pending approvals" class="fleet-page">
      {!mayDecide && <p class="muted">A responder or admin decides these; you see them as they wait.</p>}
      <ul class="fleet-pending">
        {actions.map((action) => (
          <li key={action.id} aria-label={`${action.type} on ${actionTarget(action)}, ${action.status.replace('_', ' ')}`}>
            <div class="fleet-pending-main">
              <div>
                <StatusBadge status={action.status} /> <strong>{action.type}</strong> on <HostLink action={action} />{' '}
                <span class="muted">#{action.id}</span>
              </div>
              <div>{action.reason}</div>
              <div class="muted">
                {time(action.created)} UTC ({ago(action.created)}) · by {action.triggered_by}
                {action.incident_id && (
                  <>
                    {' · '}
                    <a href={`#/incidents/${action.incident_id}`}>incident #{action.incident_id}</a>
                  </>
                )}
                {parameters(action) && <span class="mono"> · {parameters(action)}</span>}
                {action.status === 'waiting_verdict' && ' · waits for a confirmed forensic verdict; approving goes ahead without it'}
              </div>
              {action.forensic && <Verdict forensic={action.forensic} />}
            </div>
            {mayDecide && <ActionDecision action={action} reload={reload} />}
          </li>
        ))}
      </ul>
    </section>
  );
}

function HostLink({ action }: { action: ActionView }) {
  return action.hostname ? <a href={`#/hosts${query({ host: action.hostname })}`}>{action.hostname}</a> : <>{actionTarget(action)}</>;
}

function parameters(action: ActionView): string {
  return Object.entries(action.params)
    .map(([key, value]) => `${key}=${text(value)}`)
    .join(' ');
}

function ActionFacts({ action }: { action: ActionView }) {
  const decided = action.approved_by
    ? `approved by ${action.approved_by}`
    : action.cancelled_by
      ? `cancelled by ${action.cancelled_by}`
      : '';
  const entries: [string, ComponentChildren][] = [
    ['Why', action.reason],
    ['Started', `${time(action.created)} UTC (${ago(action.created)}) by ${action.triggered_by}, ${action.mode}`],
    ['Host', <HostLink action={action} />],
    ['Incident', action.incident_id ? <a href={`#/incidents/${action.incident_id}`}>#{action.incident_id}</a> : 'none'],
  ];
  if (parameters(action)) entries.push(['Parameters', <span class="mono">{parameters(action)}</span>]);
  if (decided) entries.push(['Decision', decided]);
  if (action.completed_at) entries.push(['Completed', `${time(action.completed_at)} UTC`]);
  if (action.status === 'waiting_verdict')
    entries.push(['Gate', 'waits for a confirmed forensic verdict; approving goes ahead without it']);
  return (
    <div class="fleet-detail-grid">
      <KeyValues entries={entries} />
      <div>{action.forensic ? <Verdict forensic={action.forensic} /> : <span class="muted">No forensic verdict.</span>}</div>
    </div>
  );
}

// ---------------------------------------------------------------------------------------------
// Action log

const ACTION_STATUSES = ['pending_approval', 'waiting_verdict', 'queued', 'sent', 'succeeded', 'failed', 'refused', 'cancelled'];

const LOG_COLUMNS: Column<ActionView>[] = [
  { key: 'id', title: '#', width: '44px', render: (a) => a.id, sort: (a) => a.id, align: 'right' },
  { key: 'created', title: 'Created (UTC)', width: '172px', render: (a) => time(a.created), sort: (a) => a.created },
  {
    key: 'action',
    title: 'Action',
    width: 'minmax(200px, 2fr)',
    render: (a) => `${a.type} on ${actionTarget(a)}`,
    sort: (a) => `${a.type} ${actionTarget(a).toLowerCase()}`,
  },
  { key: 'status', title: 'Status', width: '148px', render: (a) => <StatusBadge status={a.status} />, sort: (a) => a.status },
  { key: 'mode', title: 'Mode', width: '84px', render: (a) => a.mode, sort: (a) => a.mode },
  {
    key: 'by',
    title: 'Triggered by',
    width: 'minmax(90px, 0.8fr)',
    render: (a) => <span title={a.triggered_by}>{a.triggered_by}</span>,
    sort: (a) => a.triggered_by,
  },
  { key: 'reason', title: 'Reason', width: 'minmax(100px, 1fr)', render: (a) => <span title={a.reason}>{a.reason}</span> },
  {
    key: 'verdict',
    title: 'Verdict',
    width: '96px',
    render: (a) => (a.forensic ? <StatusBadge status={a.forensic.verdict} /> : ''),
    sort: (a) => a.forensic?.verdict ?? '',
  },
  {
    key: 'incident',
    title: 'Incident',
    width: '76px',
    render: (a) => (a.incident_id ? <a href={`#/incidents/${a.incident_id}`}>#{a.incident_id}</a> : ''),
    sort: (a) => a.incident_id ?? 0,
    align: 'right',
  },
];

function ActionLog({ log }: { log: Paged<ActionView> }) {
  const [filter, setFilter] = useState('');
  const [status, setStatus] = useState('');
  const [openId, setOpenId] = useState<number>();
  const rows = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    return log.rows.filter(
      (a) =>
        (status === '' || a.status === status) &&
        (needle === '' ||
          `${a.type} ${actionTarget(a)} ${a.triggered_by} ${a.reason} ${a.playbook_id ?? ''}`.toLowerCase().includes(needle)),
    );
  }, [log.rows, filter, status]);
  // The open action is looked up again after a reload: it shows its newest status.
  const open = openId === undefined ? undefined : log.rows.find((a) => a.id === openId);
  return (
    <>
      <div class="filters">
        <input
          data-filter
          type="search"
          placeholder="Filter: action, host, who, reason  ( / )"
          aria-label="Filter actions"
          value={filter}
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
        />
        <select aria-label="Action status" value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
          <option value="">any status</option>
          {ACTION_STATUSES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <span class="muted">
          {plural(rows.length, 'action')}
          {log.complete ? '' : ' (loading…)'}
        </span>
      </div>
      <VirtualTable
        label="Action log"
        rows={rows}
        columns={LOG_COLUMNS}
        rowKey={(a) => a.id}
        onOpen={(a) => setOpenId(a.id)}
        initialSort={{ key: 'id', descending: true }}
        empty={log.complete ? 'No response actions yet.' : 'Loading…'}
      />
      {open && (
        <Card
          title={
            <>
              Action #{open.id}: {open.type} on {actionTarget(open)} <StatusBadge status={open.status} />
            </>
          }
          actions={
            <span class="fleet-card-tools">
              {can('responder') && CANCELLABLE.has(open.status) && <ActionDecision action={open} reload={log.reload} />}
              <button class="plain small" onClick={() => setOpenId(undefined)}>
                Close
              </button>
            </span>
          }
        >
          <ActionFacts action={open} />
          {open.error && <div class="inline-error">{open.error}</div>}
          {open.verification.length > 0 && (
            <ul aria-label="Verification">
              {open.verification.map((check, index) => (
                <li key={index}>
                  {check.ok ? '✓' : '✗'} {check.name} {check.detail && <span class="muted mono">{check.detail}</span>}
                </li>
              ))}
            </ul>
          )}
        </Card>
      )}
    </>
  );
}

// ---------------------------------------------------------------------------------------------
// Playbooks

interface Playbook {
  id: string;
  title: string;
  description: string | null;
  enabled: boolean;
  when: {
    ruleIds?: string[];
    tags?: string[];
    minLevel?: string;
    kinds?: string[];
    minIncidentScore?: number;
    indicatorHit?: boolean;
    assetTags?: string[];
  };
  mode: 'automatic' | 'approval';
  actions: ({ type: string } & Record<string, unknown>)[];
  requireVerdict: boolean;
  fleetBlock: boolean;
  guardrails: { maxIsolationsPerHour: number; protectedTags: string[]; releaseAfterMs: number | null };
  source: string;
  origin: 'file' | 'api';
}

const EXAMPLE_PLAYBOOK = `id: evidence-on-critical
title: Collect evidence and propose isolation for critical incidents
when:
  min_level: critical
  min_incident_score: 80
mode: approval
actions:
  - collect_evidence
  - isolate
guardrails:
  protected_tags: [business-critical, pbx]`;

function conditions(when: Playbook['when']): string[] {
  const out: string[] = [];
  if (when.ruleIds?.length) out.push(`rule id is ${when.ruleIds.join(' or ')}`);
  if (when.tags?.length) out.push(`tagged ${when.tags.join(' or ')}`);
  if (when.minLevel) out.push(`level ≥ ${when.minLevel}`);
  if (when.kinds?.length) out.push(`kind is ${when.kinds.join(' or ')}`);
  if (when.minIncidentScore !== undefined) out.push(`incident score ≥ ${when.minIncidentScore}`);
  if (when.indicatorHit !== undefined) out.push(when.indicatorHit ? 'an indicator hit' : 'not an indicator hit');
  if (when.assetTags?.length) out.push(`host tagged ${when.assetTags.join(' or ')}`);
  return out;
}

function actionText(action: Playbook['actions'][number]): string {
  const options = Object.entries(action)
    .filter(([key, value]) => key !== 'type' && !(Array.isArray(value) && value.length === 0))
    .map(([key, value]) => `${key}: ${text(value)}`);
  return options.length ? `${action.type} (${options.join(', ')})` : action.type;
}

function guardrails(playbook: Playbook): string[] {
  const g = playbook.guardrails;
  return [
    `at most ${g.maxIsolationsPerHour} automatic isolations an hour`,
    ...(g.protectedTags.length ? [`never isolates hosts tagged ${g.protectedTags.join(', ')}`] : []),
    ...(g.releaseAfterMs !== null ? [`releases an unconfirmed isolation after ${Math.round(g.releaseAfterMs / 60_000)} min`] : []),
    ...(playbook.requireVerdict ? ['disruptive actions wait for a confirmed verdict'] : []),
    playbook.fleetBlock ? 'blocks go to every agent' : 'blocks stay on the host',
  ];
}

function Playbooks() {
  const loaded = useGet<{ playbooks: Playbook[]; problems: string[] }>('/api/v1/playbooks');
  if (!loaded.data) return loaded.error ? <ErrorBox error={loaded.error} /> : <Loading />;
  const { playbooks, problems } = loaded.data;
  return (
    <section aria-label="Playbooks" class="fleet-page">
      {problems.length > 0 && (
        <div class="error" role="alert">
          {plural(problems.length, 'playbook problem')}:
          <ul>
            {problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        </div>
      )}
      {playbooks.length === 0 ? (
        <p class="empty">No playbooks: alerts raise incidents, and responses are started by hand.</p>
      ) : (
        <div class="fleet-playbooks">
          {playbooks.map((p) => (
            <PlaybookCard key={p.id} playbook={p} reload={loaded.reload} />
          ))}
        </div>
      )}
      {can('admin') ? <AddPlaybook reload={loaded.reload} /> : <p class="muted">Admins add and remove playbooks.</p>}
    </section>
  );
}

function PlaybookCard({ playbook, reload }: { playbook: Playbook; reload(): void }) {
  const remove = async (): Promise<void> => {
    await api('DELETE', `/api/v1/playbooks/${encodeURIComponent(playbook.id)}`);
    reload();
  };
  return (
    <div class="fleet-playbook" aria-label={`Playbook ${playbook.id}`}>
      <Card
        title={
          <>
            {playbook.title} <span class="badge">{playbook.mode}</span> {!playbook.enabled && <span class="badge">disabled</span>}
          </>
        }
        actions={
          can('admin') &&
          (playbook.origin === 'api' ? (
            <ActionButton label={`Delete playbook ${playbook.id}`} kind="danger" run={remove} confirm={`Delete playbook ${playbook.id}?`} />
          ) : (
            <button class="small" disabled title={`Loaded from ${playbook.source}: remove the file on the server`}>
              From a file
            </button>
          ))
        }
      >
        <KeyValues
          entries={[
            ['Id', <span class="mono">{playbook.id}</span>],
            ...(playbook.description ? [['About', playbook.description] as [string, string]] : []),
            ['When', conditions(playbook.when).join('; ') || 'always'],
            ['Actions', playbook.actions.map(actionText).join(' → ')],
            ['Guardrails', guardrails(playbook).join('; ')],
            ['Source', playbook.origin === 'api' ? 'added through the API' : playbook.source],
          ]}
        />
      </Card>
    </div>
  );
}

function AddPlaybook({ reload }: { reload(): void }) {
  const [yaml, setYaml] = useState('');
  const [error, setError] = useState<string>();
  const [saved, setSaved] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setSaved(undefined);
    try {
      const playbook = await postText<Playbook>('/api/v1/playbooks', 'application/yaml', yaml);
      setSaved(`Playbook ${playbook.id} saved: it applies to the next alerts.`);
      setYaml('');
      reload();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title="Add or replace a playbook">
      <form onSubmit={(e) => void submit(e)} class="fleet-page">
        <p class="muted">
          Paste the playbook's YAML (the format is in docs/response.md); a playbook with the id of one added here before replaces it.
        </p>
        <textarea
          aria-label="Playbook YAML"
          rows={10}
          placeholder={EXAMPLE_PLAYBOOK}
          value={yaml}
          onInput={(e) => setYaml((e.target as HTMLTextAreaElement).value)}
        />
        <div>
          <button type="submit" class="primary" disabled={busy || yaml.trim() === ''}>
            {busy ? 'Adding…' : 'Add playbook'}
          </button>
        </div>
        <ErrorBox error={error} />
        {saved && (
          <div class="fleet-ok" role="status">
            {saved}
          </div>
        )}
      </form>
    </Card>
  );
}

// ---------------------------------------------------------------------------------------------
// Blocklist

interface Indicator {
  id: number;
  type: 'ip' | 'domain' | 'sha256' | 'url';
  value: string;
  source: string;
  incident_id: number | null;
  action_id: number | null;
  note: string | null;
  added: string;
}

const INDICATOR_TYPES = ['ip', 'domain', 'sha256', 'url'] as const;
const EXPORTS = [
  ['/api/v1/export/rpz', 'firebreak-blocklist.rpz', 'RPZ zone (domains)'],
  ['/api/v1/export/ips.txt', 'firebreak-ips.txt', 'ips.txt'],
  ['/api/v1/export/domains.txt', 'firebreak-domains.txt', 'domains.txt'],
  ['/api/v1/export/urls.txt', 'firebreak-urls.txt', 'urls.txt'],
] as const;

function indicatorColumns(reload: () => void): Column<Indicator>[] {
  return [
    { key: 'type', title: 'Type', width: '72px', render: (i) => i.type, sort: (i) => i.type },
    { key: 'value', title: 'Value', width: 'minmax(220px, 3fr)', render: (i) => <span class="mono">{i.value}</span>, sort: (i) => i.value },
    { key: 'source', title: 'Source', width: 'minmax(100px, 1fr)', render: (i) => i.source, sort: (i) => i.source },
    { key: 'note', title: 'Note', width: 'minmax(120px, 2fr)', render: (i) => <span title={i.note ?? ''}>{i.note ?? ''}</span> },
    {
      key: 'incident',
      title: 'Incident',
      width: '72px',
      render: (i) => (i.incident_id ? <a href={`#/incidents/${i.incident_id}`}>#{i.incident_id}</a> : ''),
      sort: (i) => i.incident_id ?? 0,
    },
    { key: 'added', title: 'Added (UTC)', width: '150px', render: (i) => time(i.added), sort: (i) => i.added },
    ...(can('responder')
      ? [{ key: 'remove', title: '', width: '84px', render: (i: Indicator) => <RemoveIndicator indicator={i} reload={reload} /> }]
      : []),
  ];
}

function RemoveIndicator({ indicator, reload }: { indicator: Indicator; reload(): void }) {
  const [error, setError] = useState<string>();
  const remove = async (): Promise<void> => {
    if (!window.confirm(`Take ${indicator.type} ${indicator.value} off the blocklist on every agent?`)) return;
    try {
      await api('DELETE', `/api/v1/indicators/${indicator.id}`);
      reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <button
      class="small"
      aria-label={`Remove ${indicator.type} ${indicator.value}`}
      title={error ?? 'Take it off the blocklist'}
      onClick={() => void remove()}
    >
      {error ? 'Failed' : 'Remove'}
    </button>
  );
}

function Blocklist() {
  const loaded = useGet<{ indicators: Indicator[] }>('/api/v1/indicators');
  useLive(['action'], loaded.reload, 2000);
  const [filter, setFilter] = useState('');
  const all = loaded.data?.indicators ?? [];
  const rows = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    return needle ? all.filter((i) => `${i.type} ${i.value} ${i.source} ${i.note ?? ''}`.toLowerCase().includes(needle)) : all;
  }, [all, filter]);
  const columns = useMemo(() => indicatorColumns(loaded.reload), [loaded.reload]);
  return (
    <section aria-label="Blocklist" class="fleet-page">
      <div class="filters">
        <input
          data-filter
          type="search"
          placeholder="Filter indicators  ( / )"
          aria-label="Filter indicators"
          value={filter}
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
        />
        <span class="muted">{plural(all.length, 'indicator')}</span>
        <span class="page-tools">
          <span class="muted">Exports:</span>
          {EXPORTS.map(([path, file, label]) => (
            <ActionButton key={path} label={label} title={`Download ${file}`} run={() => downloadWithToken(path, file)} />
          ))}
        </span>
      </div>
      <ErrorBox error={loaded.error} />
      <div class="fleet-table-box">
        <VirtualTable
          label="Blocklist"
          rows={rows}
          columns={columns}
          rowKey={(i) => i.id}
          initialSort={{ key: 'added', descending: true }}
          empty={loaded.data ? 'The blocklist is empty.' : 'Loading…'}
        />
      </div>
      {can('responder') ? <AddIndicator reload={loaded.reload} /> : <p class="muted">{needsRole('responder')} to change the blocklist.</p>}
    </section>
  );
}

function AddIndicator({ reload }: { reload(): void }) {
  const [type, setType] = useState<Indicator['type']>('domain');
  const [value, setValue] = useState('');
  const [note, setNote] = useState('');
  const [result, setResult] = useState<string>();
  const add = async (): Promise<void> => {
    setResult(undefined);
    const answer = await api<{ added: Indicator[]; actions: unknown[] }>('POST', '/api/v1/indicators', {
      indicators: [{ type, value: value.trim() }],
      ...(note.trim() ? { note: note.trim() } : {}),
    });
    setResult(
      `Blocked ${answer.added.map((i) => i.value).join(', ')}; ${plural(answer.actions.length, 'blocklist update')} started for the agents.`,
    );
    setValue('');
    setNote('');
    reload();
  };
  return (
    <Card title="Block an indicator on every agent">
      <form class="fleet-form" aria-label="Block an indicator" onSubmit={(e) => e.preventDefault()}>
        <label>
          Type
          <select
            aria-label="Indicator type"
            value={type}
            onChange={(e) => setType((e.target as HTMLSelectElement).value as Indicator['type'])}
          >
            {INDICATOR_TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Value
          <input
            aria-label="Indicator value"
            class="mono"
            size={44}
            value={value}
            onInput={(e) => setValue((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Note
          <input aria-label="Indicator note" size={30} value={note} onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
        </label>
        <ActionButton
          kind="primary"
          label="Block"
          run={add}
          disabled={value.trim() === ''}
          title={type === 'url' ? 'URLs are exported only (proxies): agents do not enforce them' : undefined}
        />
      </form>
      {result && (
        <div class="fleet-ok" role="status">
          {result}
        </div>
      )}
    </Card>
  );
}
