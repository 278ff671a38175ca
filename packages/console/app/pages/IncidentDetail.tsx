/**
 * One incident: what it is (severity, hosts, times, status), what waits for a decision, the
 * storyline graph, and below it the alerts, timeline, response, evidence and notes. Live events
 * for this incident reload the parts they change.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, get, INCIDENT_STATUSES, type Agent, type Alert, type Incident, type IncidentStatus } from '../api';
import { VirtualTable, type Column } from '../components/VirtualTable';
import { ActionButton, ErrorBox, KeyValues, LevelBadge, Loading, StatusBadge } from '../components/ui';
import { plural, text, time } from '../format';
import { useGet, useLive, useLoad } from '../hooks';
import { replaceParams, route } from '../router';
import { can } from '../session';
import { ALERT_COLUMNS } from './Alerts';
import { agentFor, EvidencePanel, PendingActions, ResponsePanel, type ActionView } from './IncidentResponse';
import { IncidentTimeline, type EventFilter, type TimelineEntry } from './IncidentTimeline';
import { loadCytoscape, Storyline } from './Storyline';
import type { StorylineGraph } from './storyline-model';
import './incident.css';

type IncidentDetailView = Incident & { alerts: Alert[] };

const TABS = ['alerts', 'timeline', 'response', 'evidence', 'notes'] as const;
type Tab = (typeof TABS)[number];
/** Actions of one incident the page shows (newest first). */
const ACTIONS_SHOWN = 500;

export function IncidentDetail({ id }: { id: number }) {
  // Another incident is another page: no filter, replay or selection carries over.
  return <IncidentPage key={id} id={id} />;
}

function IncidentPage({ id }: { id: number }) {
  const base = `/api/v1/incidents/${id}`;
  const incident = useGet<IncidentDetailView>(base);
  const graph = useGet<StorylineGraph>(`${base}/graph`);
  const actions = useLoad(['actions', id], () => get<{ actions: ActionView[] }>(`/api/v1/actions?incident=${id}&limit=${ACTIONS_SHOWN}`));
  const agents = useGet<{ agents: Agent[] }>('/api/v1/agents');
  const tabParam = route.value.params.get('tab');
  const tab: Tab = (TABS as readonly string[]).includes(tabParam ?? '') ? (tabParam as Tab) : 'alerts';
  // The timeline is the heaviest answer: loaded when first asked for.
  const [timelineWanted, setTimelineWanted] = useState(tab === 'timeline');
  const timeline = useLoad(['timeline', id], () => get<{ entries: TimelineEntry[] }>(`${base}/timeline`), timelineWanted);
  const [eventFilter, setEventFilter] = useState<EventFilter>();
  useEffect(() => void loadCytoscape().catch(() => undefined), []);

  useLive(['incident', 'alert', 'action', 'agent'], (kind, data) => {
    const item = data as { id?: number | string; incident_id?: number | null };
    if (kind === 'incident' && item.id === id) incident.reload();
    if (kind === 'action' && item.incident_id === id) actions.reload();
    if (kind === 'agent' || (kind === 'action' && item.incident_id === id)) agents.reload();
  });
  // New alerts change the evidence and the events around it: the heavier answers, at most every 5 s.
  useLive(
    ['alert'],
    (_, data) => {
      if ((data as { incident_id?: number | null }).incident_id !== id) return;
      graph.reload();
      if (timelineWanted) timeline.reload();
    },
    5000,
  );

  const openTab = (next: Tab): void => {
    if (next === 'timeline') setTimelineWanted(true);
    replaceParams({ tab: next === 'alerts' ? undefined : next });
  };
  const showEvents = (ids: number[], label: string): void => {
    setEventFilter({ ids, label });
    openTab('timeline');
    document.getElementById('incident-tabs')?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  };

  if (incident.error && !incident.data) return <ErrorBox error={`Incident ${id}: ${incident.error}`} />;
  if (!incident.data) return <Loading />;
  const view = incident.data;
  const actionList = actions.data?.actions ?? [];
  const agentList = agents.data?.agents ?? [];

  return (
    <div class="incident">
      <Header incident={view} agents={agentList} actions={actionList} reload={incident.reload} />
      <ErrorBox error={actions.error} />
      <PendingActions actions={actionList} reload={actions.reload} />
      {graph.error && <ErrorBox error={`Storyline: ${graph.error}`} />}
      {graph.data ? <Storyline graph={graph.data} alerts={view.alerts} onShowEvents={showEvents} /> : !graph.error && <Loading />}
      <Tabs
        tab={tab}
        open={openTab}
        counts={{
          alerts: view.alert_count,
          timeline: timeline.data?.entries.length,
          response: actionList.length,
          evidence: actionList.filter((a) => a.type === 'collect_evidence').length,
          notes: view.notes.length,
        }}
      />
      <div class="inc-tab-body" role="tabpanel" id={`incident-panel-${tab}`} aria-labelledby={`incident-tab-${tab}`}>
        {tab === 'alerts' && <AlertsSection alerts={view.alerts} onShowEvents={showEvents} />}
        {tab === 'timeline' &&
          (timeline.data ? (
            <IncidentTimeline entries={timeline.data.entries} filter={eventFilter} clearFilter={() => setEventFilter(undefined)} />
          ) : timeline.error ? (
            <ErrorBox error={timeline.error} />
          ) : (
            <Loading />
          ))}
        {tab === 'response' && (
          <ResponsePanel incidentId={id} hosts={view.hosts} agents={agentList} actions={actionList} reload={actions.reload} />
        )}
        {tab === 'evidence' && <EvidencePanel actions={actionList} />}
        {tab === 'notes' && <Notes incident={view} reload={incident.reload} />}
      </div>
    </div>
  );
}

function Header(props: { incident: IncidentDetailView; agents: Agent[]; actions: ActionView[]; reload(): void }) {
  const { incident } = props;
  const verdict = props.actions.find((action) => action.forensic)?.forensic;
  return (
    <header class="inc-header">
      <div class="inc-title">
        <a href="#/incidents" class="muted">
          Incidents
        </a>
        <span class="muted">/</span>
        <h1>
          <span class="muted">#{incident.id}</span> {incident.title}
        </h1>
      </div>
      <div class="inc-facts">
        <LevelBadge level={incident.severity} />
        <span title="Score (0–100): severity, spread and kinds of evidence">
          score <strong>{incident.score}</strong>
        </span>
        <StatusControl incident={incident} reload={props.reload} />
        <span class="inc-hosts" aria-label="Hosts">
          {incident.hosts.map((host) => {
            const agent = agentFor(props.agents, host);
            return (
              <span key={host} class="inc-host">
                <a href={agent ? `#/hosts/${encodeURIComponent(agent.id)}` : `#/hosts?host=${encodeURIComponent(host)}`}>{host}</a>
                {agent?.isolated && <StatusBadge status="isolated" />}
              </span>
            );
          })}
        </span>
        <span class="mono" title="First and last alert (UTC)">
          {time(incident.first)} → {sameDay(incident.first, incident.last) ? time(incident.last).slice(11) : time(incident.last)}
        </span>
        <span>{plural(incident.alert_count, 'alert')}</span>
        {verdict && (
          <span title={verdict.reasons.map((r) => r.text).join('\n')}>
            verdict <StatusBadge status={verdict.verdict} />
          </span>
        )}
      </div>
    </header>
  );
}

function sameDay(a: string, b: string): boolean {
  return time(a).slice(0, 10) === time(b).slice(0, 10);
}

function StatusControl({ incident, reload }: { incident: Incident; reload(): void }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  if (!can('analyst')) return <StatusBadge status={incident.status} />;
  const change = async (status: IncidentStatus): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      await api('PATCH', `/api/v1/incidents/${incident.id}`, { status });
      reload();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span>
      <select
        class={`inc-status status-${incident.status}`}
        aria-label="Incident status"
        value={incident.status}
        disabled={busy}
        onChange={(event) => void change((event.target as HTMLSelectElement).value as IncidentStatus)}
      >
        {INCIDENT_STATUSES.map((status) => (
          <option key={status} value={status}>
            {status.replace('_', ' ')}
          </option>
        ))}
      </select>
      {error && <span class="inline-error">{error}</span>}
    </span>
  );
}

function Tabs({ tab, open, counts }: { tab: Tab; open(tab: Tab): void; counts: Record<Tab, number | undefined> }) {
  const refs = useRef<(HTMLButtonElement | null)[]>([]);
  const names: Record<Tab, string> = { alerts: 'Alerts', timeline: 'Timeline', response: 'Response', evidence: 'Evidence', notes: 'Notes' };
  const onKey = (event: KeyboardEvent): void => {
    const moves: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1 };
    if (!(event.key in moves)) return;
    const next = TABS[(TABS.indexOf(tab) + moves[event.key]! + TABS.length) % TABS.length]!;
    open(next);
    refs.current[TABS.indexOf(next)]?.focus();
    event.preventDefault();
  };
  return (
    <div class="tabs" role="tablist" aria-label="Incident sections" id="incident-tabs" onKeyDown={onKey}>
      {TABS.map((name, index) => (
        <button
          key={name}
          ref={(element) => {
            refs.current[index] = element;
          }}
          role="tab"
          id={`incident-tab-${name}`}
          aria-selected={tab === name}
          aria-controls={`incident-panel-${name}`}
          tabIndex={tab === name ? 0 : -1}
          onClick={() => open(name)}
        >
          {names[name]}
          {counts[name] !== undefined && <span class="inc-count">{counts[name]}</span>}
        </button>
      ))}
    </div>
  );
}

const INCIDENT_ALERT_COLUMNS: Column<Alert>[] = [
  ...ALERT_COLUMNS,
  { key: 'attack', title: 'ATT&CK', width: 'minmax(120px, 1fr)', render: (a) => attackIds(a).join(' ') },
];

function attackIds(alert: Alert): string[] {
  return alert.tags.filter((tag) => /^attack\.t\d{4}/i.test(tag)).map((tag) => tag.slice(7).toUpperCase());
}

function AlertsSection({ alerts, onShowEvents }: { alerts: Alert[]; onShowEvents(ids: number[], label: string): void }) {
  const [open, setOpen] = useState<Alert>();
  const height = Math.min(320, 40 + alerts.length * 32);
  return (
    <div class="inc-alerts">
      <VirtualTable
        label="Alerts of the incident"
        rows={alerts}
        columns={INCIDENT_ALERT_COLUMNS}
        rowKey={(a) => a.id}
        onOpen={(row) => setOpen(row)}
        height={height}
        initialSort={{ key: 'time', descending: false }}
        empty="No alerts."
      />
      <p class="hint">Enter or a double click opens an alert.</p>
      {open && <AlertDetail alert={open} close={() => setOpen(undefined)} onShowEvents={onShowEvents} />}
    </div>
  );
}

function AlertDetail({ alert, close, onShowEvents }: { alert: Alert; close(): void; onShowEvents(ids: number[], label: string): void }) {
  return (
    <section class="card" aria-label="Alert detail">
      <header>
        <h2>
          <LevelBadge level={alert.level} /> {alert.rule_title}
        </h2>
        <span>
          {alert.event_ids.length > 0 && (
            <button class="small" onClick={() => onShowEvents(alert.event_ids, alert.rule_title)}>
              Show its evidence in the timeline
            </button>
          )}{' '}
          <button class="small" onClick={close}>
            Close
          </button>
        </span>
      </header>
      <div class="card-body">
        <KeyValues
          entries={[
            ['Time (UTC)', time(alert.timestamp)],
            ['Host', alert.computer ?? ''],
            ['Kind', alert.kind],
            ['Rule id', <code>{alert.rule_id}</code>],
            ['Tags', alert.tags.join(', ')],
            ['Evidence events', alert.event_ids.join(', ')],
            ...Object.entries(alert.matched).map(([key, value]): [string, string] => [key, text(value)]),
          ]}
        />
      </div>
    </section>
  );
}

function Notes({ incident, reload }: { incident: Incident; reload(): void }) {
  const [draft, setDraft] = useState('');
  return (
    <div class="inc-notes">
      {incident.notes.length === 0 ? (
        <p class="empty">No notes yet.</p>
      ) : (
        <ol>
          {incident.notes.map((note, index) => (
            <li key={index}>
              <div class="muted">
                <strong class="inc-author">{note.author}</strong> · {time(note.time)}
              </div>
              <div class="inc-note-text">{note.text}</div>
            </li>
          ))}
        </ol>
      )}
      {can('analyst') && (
        <div class="inc-note-form">
          <textarea
            rows={3}
            aria-label="New note"
            placeholder="What you found, what you did, what comes next"
            value={draft}
            onInput={(event) => setDraft((event.target as HTMLTextAreaElement).value)}
          />
          <ActionButton
            kind="primary"
            label="Add note"
            disabled={!draft.trim()}
            run={async () => {
              await api('POST', `/api/v1/incidents/${incident.id}/notes`, { text: draft });
              setDraft('');
              reload();
            }}
          />
        </div>
      )}
    </div>
  );
}
