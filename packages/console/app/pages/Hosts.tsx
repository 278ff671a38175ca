/**
 * Hosts: the fleet's agents (online, offline, revoked, isolated), and one host's page — its agent,
 * the actions aimed at it with isolate and release, its software inventory and its behaviour drift
 * against the fleet's baselines. A host without an agent (`#/hosts?host=NAME`) still shows what the
 * events told about it. Shapes are the server's agentView, softwareView and baselines (routes/response.ts, software.ts).
 */
import { useMemo, useState } from 'preact/hooks';
import { api, query, type Agent, type Alert } from '../api';
import { VirtualTable, type Column } from '../components/VirtualTable';
import { ActionButton, Card, ErrorBox, KeyValues, LevelBadge, Loading, PageHeader, StatusBadge } from '../components/ui';
import { ago, plural, time } from '../format';
import { useGet, useLive, useLoad, type Loaded } from '../hooks';
import { navigate, route } from '../router';
import { can } from '../session';
import { ActionDecision, actionPage, CANCELLABLE, MAX_PAGE, needsRole } from './fleet-common';
import { agentFor, type ActionView } from './IncidentResponse';
import './fleet.css';

interface AgentView extends Agent {
  os?: string;
  version?: string;
  address?: string | null;
  enrolled_at?: string;
  inventory_at?: string | null;
}

interface Inventory {
  collectedAt: number;
  packages: { name: string; version: string; manager: string }[];
  executables: { path: string; sha256: string; pids: number[] }[];
  listening: { protocol: string; address: string; port: number; pid: number | null; image: string | null }[];
  persistence: { kind: string; path: string; sha256: string; mtime: number }[];
}

interface Software {
  vendor: string;
  product: string;
  version: string;
  signers: string[];
  hashes: string[];
  source: string;
  host_count: number;
  hosts: { host: string; first_seen: string; last_seen: string }[];
}

interface Baseline {
  vendor: string;
  product: string;
  hosts: number;
  since: string;
  learning_until: string;
  signers: string[];
  versions: { version: string; first_seen: string; hosts: number }[];
  behaviors: { kind: string; what: string; first_seen: string; hosts: number; share: number }[];
}

interface DriftSignal {
  kind: string;
  what: string;
  text: string;
  weight: number;
  firstSeenFleet: boolean;
}

interface App {
  vendor: string;
  product: string;
}

type AgentList = Loaded<{ agents: AgentView[] }>;

export function Hosts({ selected }: { selected?: string }) {
  const byName = route.value.params.get('host') ?? undefined;
  const agents: AgentList = useGet<{ agents: AgentView[] }>('/api/v1/agents');
  useLive(['agent'], agents.reload);
  if (selected || byName) return <HostPage agentId={selected} hostname={byName} agents={agents} />;
  return <HostList agents={agents} />;
}

// ---------------------------------------------------------------------------------------------
// The list

const HOST_COLUMNS: Column<AgentView>[] = [
  {
    key: 'host',
    title: 'Host',
    width: 'minmax(160px, 2fr)',
    render: (a) => <a href={`#/hosts/${encodeURIComponent(a.id)}`}>{a.hostname}</a>,
    sort: (a) => a.hostname.toLowerCase(),
  },
  { key: 'status', title: 'Status', width: '96px', render: (a) => <StatusBadge status={a.status} />, sort: (a) => a.status },
  {
    key: 'network',
    title: 'Network',
    width: '96px',
    render: (a) => (a.isolated ? <StatusBadge status="isolated" /> : <span class="muted">connected</span>),
    sort: (a) => (a.isolated ? 1 : 0),
  },
  {
    key: 'seen',
    title: 'Last seen',
    width: '120px',
    render: (a) => <span title={`${time(a.last_seen)} UTC`}>{a.status === 'online' ? 'now' : ago(a.last_seen)}</span>,
    sort: (a) => (a.status === 'online' ? '9' : a.last_seen),
  },
  { key: 'os', title: 'OS', width: 'minmax(90px, 1fr)', render: (a) => a.os ?? '', sort: (a) => a.os ?? '' },
  { key: 'version', title: 'Agent', width: '90px', render: (a) => a.version ?? '', sort: (a) => a.version ?? '' },
  { key: 'tags', title: 'Tags', width: 'minmax(140px, 2fr)', render: (a) => a.tags.join(', '), sort: (a) => a.tags.join(',') },
  { key: 'address', title: 'Address', width: '130px', render: (a) => <span class="mono">{a.address ?? ''}</span> },
];

const STATUS_FILTERS = ['online', 'offline', 'revoked', 'isolated'];

function HostList({ agents }: { agents: AgentList }) {
  const [filter, setFilter] = useState('');
  const [status, setStatus] = useState('');
  const [lookup, setLookup] = useState('');
  const all = agents.data?.agents ?? [];
  const rows = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    return all.filter(
      (a) =>
        (status === '' || (status === 'isolated' ? a.isolated : a.status === status)) &&
        (needle === '' || `${a.hostname} ${a.tags.join(' ')} ${a.os ?? ''} ${a.address ?? ''} ${a.id}`.toLowerCase().includes(needle)),
    );
  }, [all, filter, status]);
  const online = all.filter((a) => a.status === 'online').length;
  const isolated = all.filter((a) => a.isolated).length;

  return (
    <div class="list-page">
      <PageHeader title="Hosts">
        <input
          data-filter
          type="search"
          placeholder="Filter: host, tag, OS, address  ( / )"
          aria-label="Filter hosts"
          value={filter}
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
        />
        <select aria-label="Status" value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
          <option value="">any status</option>
          {STATUS_FILTERS.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <span class="muted">
          {plural(all.length, 'agent')} · {online} online · {isolated} isolated
        </span>
      </PageHeader>
      <ErrorBox error={agents.error} />
      <VirtualTable
        label="Agents"
        rows={rows}
        columns={HOST_COLUMNS}
        rowKey={(a) => a.id}
        onOpen={(a) => navigate(`/hosts/${encodeURIComponent(a.id)}`)}
        initialSort={{ key: 'host', descending: false }}
        empty={agents.loading && !agents.data ? 'Loading…' : all.length === 0 ? <NoAgents /> : 'No agent matches the filter.'}
      />
      <form
        class="filters"
        aria-label="Open a host by name"
        onSubmit={(e) => {
          e.preventDefault();
          if (lookup.trim()) navigate('/hosts', { host: lookup.trim() });
        }}
      >
        <span class="muted">A host without an agent (its events only):</span>
        <input
          type="search"
          placeholder="host name, e.g. WS-ACCT-07"
          aria-label="Host name"
          value={lookup}
          onInput={(e) => setLookup((e.target as HTMLInputElement).value)}
        />
        <button type="submit" disabled={lookup.trim() === ''}>
          Open host
        </button>
      </form>
    </div>
  );
}

function NoAgents() {
  return (
    <span>
      No agents enrolled yet.{' '}
      {can('admin') ? <a href="#/settings">Mint an enrollment token under Settings</a> : 'An admin mints enrollment tokens under Settings'}{' '}
      and run <code>firebreak agent --server URL --enroll-token TOKEN</code> on the host.
    </span>
  );
}

// ---------------------------------------------------------------------------------------------
// One host

function HostPage({ agentId, hostname, agents }: { agentId?: string; hostname?: string; agents: AgentList }) {
  const list = agents.data?.agents;
  if (!list) return agents.error ? <ErrorBox error={agents.error} /> : <Loading />;
  const agent = agentId ? list.find((a) => a.id === agentId) : agentFor(list, hostname!);
  if (agentId && !agent)
    return (
      <div class="fleet-page">
        <a href="#/hosts">← Hosts</a>
        <ErrorBox error={`No agent with id ${agentId}.`} />
      </div>
    );
  // key: a different host is a fresh page (its own selections, filters and requests).
  return (
    <HostDetail
      key={agent?.id ?? hostname}
      host={agent?.hostname ?? hostname!}
      agent={agent as AgentView | undefined}
      reloadAgents={agents.reload}
    />
  );
}

function HostDetail({ host, agent, reloadAgents }: { host: string; agent: AgentView | undefined; reloadAgents(): void }) {
  const detail = useGet<AgentView & { inventory: Inventory | null }>(agent ? `/api/v1/agents/${encodeURIComponent(agent.id)}` : undefined);
  const actions = useLoad(['host-actions', agent?.id, host], () => actionPage(undefined));
  useLive(['agent'], (_, data) => (data as { id?: string } | null)?.id === agent?.id && detail.reload());
  useLive(['action'], actions.reload);
  const mine = useMemo(
    () =>
      (actions.data?.rows ?? []).filter((a) =>
        agent ? a.agent_id === agent.id : a.agent_id !== null && a.hostname?.toLowerCase() === host.toLowerCase(),
      ),
    [actions.data, agent?.id, host],
  );
  const drift = useGet<{ alerts: Alert[] }>(`/api/v1/alerts${query({ computer: host, kind: 'behavior', limit: 100 })}`);
  useLive(['alert'], drift.reload, 5000);
  const driftApp = drift.data?.alerts[0] ? appOfAlert(drift.data.alerts[0]) : undefined;
  const [pickedApp, setApp] = useState<App>();
  const app = pickedApp ?? driftApp;
  const reloadAll = (): void => {
    reloadAgents();
    actions.reload();
  };

  return (
    <div class="fleet-page">
      <div class="page-header">
        <a href="#/hosts">← Hosts</a>
        <h1>{host}</h1>
        {agent ? (
          <>
            <StatusBadge status={agent.status} />
            {agent.isolated && <StatusBadge status="isolated" />}
          </>
        ) : (
          <span class="badge">no agent</span>
        )}
        <div class="page-tools">{agent && <Containment agent={agent} actions={actions.data && mine} reload={reloadAll} />}</div>
      </div>
      <div class="grid-2">
        <AgentCard host={host} agent={agent} reload={reloadAgents} />
        <Card title={`Actions on ${host}`} actions={<a href="#/response?tab=log">Action log</a>}>
          <ErrorBox error={actions.error} />
          <HostActions actions={mine} loading={actions.loading && !actions.data} reload={actions.reload} />
        </Card>
      </div>
      <SoftwareCard host={host} onApp={setApp} />
      <Card title="Behaviour drift" actions={<a href={`#/alerts${query({ host, kind: 'behavior' })}`}>Drift alerts in Alerts</a>}>
        <div class="grid-2">
          <DriftAlerts alerts={drift.data?.alerts} error={drift.error} onApp={setApp} />
          <BaselinePanel app={app} driftAlerts={drift.data?.alerts ?? []} />
        </div>
      </Card>
      {detail.data?.inventory && <AgentInventory inventory={detail.data.inventory} />}
    </div>
  );
}

/** Isolate or release, collect evidence, revoke: disabled with the reason when the role or the agent's state does not allow it. */
function Containment({ agent, actions, reload }: { agent: AgentView; actions: ActionView[] | undefined; reload(): void }) {
  const start = (type: string) => async (): Promise<void> => {
    await api('POST', '/api/v1/actions', { type, agent_id: agent.id });
    reload();
  };
  const underway = actions?.find(
    (a) => (a.type === 'isolate' || a.type === 'release') && (CANCELLABLE.has(a.status) || a.status === 'sent'),
  );
  const refusal = !can('responder')
    ? needsRole('responder')
    : agent.status === 'revoked'
      ? 'This agent is revoked: it takes no more commands'
      : !actions
        ? 'Loading the actions on this host…'
        : underway
          ? `${underway.type} #${underway.id} is already ${underway.status.replace('_', ' ')}`
          : undefined;
  const host = agent.hostname;
  return (
    <>
      {agent.isolated ? (
        <ActionButton
          label={`Release ${host}`}
          run={start('release')}
          disabled={refusal !== undefined}
          title={refusal ?? 'End the network isolation'}
          confirm={`Give ${host} its network back?`}
        />
      ) : (
        <ActionButton
          kind="danger"
          label={`Isolate ${host}`}
          run={start('isolate')}
          disabled={refusal !== undefined}
          title={refusal ?? 'Cut the host off the network, except the Firebreak server'}
          confirm={`Cut ${host} off the network (except the Firebreak server)?`}
        />
      )}
      <ActionButton
        label="Collect evidence"
        run={start('collect_evidence')}
        disabled={!can('responder') || agent.status === 'revoked'}
        title={!can('responder') ? needsRole('responder') : 'Process tree, sockets, persistence and auth log from the host'}
      />
    </>
  );
}

function AgentCard({ host, agent, reload }: { host: string; agent: AgentView | undefined; reload(): void }) {
  if (!agent)
    return (
      <Card title="Agent">
        <p class="muted">
          No agent on {host}: Firebreak knows it from its events only and cannot contain it. Enroll an agent with a token from{' '}
          <a href="#/settings">Settings</a>.
        </p>
      </Card>
    );
  const revoke = async (): Promise<void> => {
    await api('PATCH', `/api/v1/agents/${encodeURIComponent(agent.id)}`, { revoked: true });
    reload();
  };
  return (
    <Card
      title="Agent"
      actions={
        can('admin') &&
        agent.status !== 'revoked' && (
          <ActionButton
            kind="danger"
            label="Revoke agent"
            run={revoke}
            confirm={`Revoke the agent of ${host}? Its credential stops working now; the host needs a new enrollment.`}
          />
        )
      }
    >
      <KeyValues
        entries={[
          ['Status', <StatusBadge status={agent.status} />],
          ['Network', agent.isolated ? <StatusBadge status="isolated" /> : 'connected'],
          ['Last seen', `${time(agent.last_seen)} UTC (${ago(agent.last_seen)})`],
          ['Agent id', <span class="mono">{agent.id}</span>],
          ['OS / agent', `${agent.os ?? '?'} / ${agent.version || '?'}`],
          ['Address', <span class="mono">{agent.address ?? ''}</span>],
          ['Enrolled', time(agent.enrolled_at)],
          ['Inventory', agent.inventory_at ? `${time(agent.inventory_at)} UTC` : 'none yet'],
          ['Tags', <TagEditor agent={agent} reload={reload} />],
        ]}
      />
    </Card>
  );
}

function TagEditor({ agent, reload }: { agent: AgentView; reload(): void }) {
  const [value, setValue] = useState(agent.tags.join(', '));
  if (!can('admin')) return <span>{agent.tags.length ? agent.tags.join(', ') : <span class="muted">none</span>}</span>;
  const tags = value
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const save = async (): Promise<void> => {
    await api('PATCH', `/api/v1/agents/${encodeURIComponent(agent.id)}`, { tags });
    reload();
  };
  return (
    <span class="fleet-tags">
      <input
        aria-label={`Tags of ${agent.hostname}`}
        placeholder="comma-separated, e.g. pbx, business-critical"
        value={value}
        onInput={(e) => setValue((e.target as HTMLInputElement).value)}
      />
      <ActionButton
        label="Save tags"
        run={save}
        disabled={tags.join(',') === agent.tags.join(',')}
        title="Protected tags (playbook guardrails) get surgical containment instead of isolation"
      />
    </span>
  );
}

function HostActions({ actions, loading, reload }: { actions: ActionView[]; loading: boolean; reload(): void }) {
  if (loading) return <Loading />;
  if (actions.length === 0) return <p class="muted">No response actions on this host among the newest {MAX_PAGE.toLocaleString('en')}.</p>;
  return (
    <ul class="fleet-actions fleet-scroll" aria-label="Actions on this host">
      {actions.map((a) => (
        <li key={a.id} aria-label={`Action ${a.id}: ${a.type}, ${a.status.replace('_', ' ')}`}>
          <div>
            <StatusBadge status={a.status} /> <strong>{a.type}</strong> <span class="muted">({a.mode})</span>
            {a.forensic && (
              <>
                {' '}
                <StatusBadge status={a.forensic.verdict} />
              </>
            )}
          </div>
          <div class="muted" title={a.reason}>
            #{a.id} · {time(a.created)} UTC · by {a.triggered_by}
            {a.incident_id && (
              <>
                {' · '}
                <a href={`#/incidents/${a.incident_id}`}>incident #{a.incident_id}</a>
              </>
            )}
          </div>
          {CANCELLABLE.has(a.status) && can('responder') && <ActionDecision action={a} reload={reload} />}
        </li>
      ))}
    </ul>
  );
}

// ---------------------------------------------------------------------------------------------
// Software inventory

const SOFTWARE_COLUMNS = (host: string, onApp: (app: App) => void): Column<Software>[] => [
  { key: 'vendor', title: 'Vendor', width: 'minmax(120px, 1fr)', render: (s) => s.vendor, sort: (s) => s.vendor.toLowerCase() },
  {
    key: 'product',
    title: 'Product',
    width: 'minmax(160px, 1.6fr)',
    render: (s) => (
      <button
        class="link"
        title="Show the fleet baseline of this application"
        onClick={() => onApp({ vendor: s.vendor, product: s.product })}
      >
        {s.product}
      </button>
    ),
    sort: (s) => s.product.toLowerCase(),
  },
  {
    key: 'version',
    title: 'Version',
    width: 'minmax(110px, 1.2fr)',
    render: (s) => <span class="mono">{s.version}</span>,
    sort: (s) => s.version,
  },
  { key: 'source', title: 'Source', width: '72px', render: (s) => s.source, sort: (s) => s.source },
  { key: 'signers', title: 'Signers', width: 'minmax(100px, 1fr)', render: (s) => s.signers.join(', ') },
  { key: 'hashes', title: 'Hashes', width: '72px', render: (s) => s.hashes.length, sort: (s) => s.hashes.length, align: 'right' },
  { key: 'fleet', title: 'Hosts', width: '60px', render: (s) => s.host_count, sort: (s) => s.host_count, align: 'right' },
  {
    key: 'seen',
    title: 'Last seen here',
    width: '160px',
    render: (s) => time(seenOn(s, host)?.last_seen),
    sort: (s) => seenOn(s, host)?.last_seen ?? '',
  },
];

function seenOn(software: Software, host: string): Software['hosts'][number] | undefined {
  return software.hosts.find((h) => h.host.toLowerCase() === host.toLowerCase());
}

function SoftwareCard({ host, onApp }: { host: string; onApp: (app: App) => void }) {
  const software = useGet<{ total: number; software: Software[] }>(`/api/v1/software${query({ host, limit: MAX_PAGE })}`);
  const [filter, setFilter] = useState('');
  const columns = useMemo(() => SOFTWARE_COLUMNS(host, onApp), [host]);
  const all = software.data?.software ?? [];
  const rows = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    return needle ? all.filter((s) => `${s.vendor} ${s.product} ${s.version} ${s.signers.join(' ')}`.toLowerCase().includes(needle)) : all;
  }, [all, filter]);
  const total = software.data?.total ?? 0;
  return (
    <Card
      title="Software inventory"
      actions={
        <span class="fleet-card-tools">
          <span class="muted">
            {total > all.length ? `first ${all.length.toLocaleString('en')} of ` : ''}
            {plural(total, 'application version')}
          </span>
          <input
            data-filter
            type="search"
            placeholder="Filter software  ( / )"
            aria-label="Filter software"
            value={filter}
            onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
          />
        </span>
      }
    >
      <ErrorBox error={software.error} />
      <div class="fleet-table-box">
        <VirtualTable
          label={`Software on ${host}`}
          rows={rows}
          columns={columns}
          rowKey={(s) => `${s.vendor}|${s.product}|${s.version}|${s.source}`}
          onOpen={(s) => onApp({ vendor: s.vendor, product: s.product })}
          initialSort={{ key: 'vendor', descending: false }}
          empty={
            software.loading
              ? 'Loading…'
              : 'No software seen on this host (Sysmon process and image-load events, agent package inventories).'
          }
        />
      </div>
    </Card>
  );
}

// ---------------------------------------------------------------------------------------------
// Behaviour drift

function appOfAlert(alert: Alert): App | undefined {
  const { vendor, product } = alert.details as { vendor?: string; product?: string };
  return typeof vendor === 'string' && typeof product === 'string' ? { vendor, product } : undefined;
}

/** `3CX Desktop App 18.12.416.0 (was 18.12.407.0)`: the signals below tell the rest of the alert's title. */
function driftHeading(alert: Alert): string {
  const {
    product,
    version,
    previous_version: previous,
  } = alert.details as { product?: string; version?: string; previous_version?: string | null };
  if (typeof product !== 'string') return alert.rule_title;
  return `${product} ${version ?? ''}${previous ? ` (was ${previous})` : ''}`;
}

function signalsOf(alert: Alert): DriftSignal[] {
  const signals = (alert.details as { signals?: DriftSignal[] }).signals;
  return Array.isArray(signals) ? signals : [];
}

function DriftAlerts({ alerts, error, onApp }: { alerts: Alert[] | undefined; error: string | undefined; onApp: (app: App) => void }) {
  if (error) return <ErrorBox error={error} />;
  if (!alerts) return <Loading />;
  if (alerts.length === 0)
    return (
      <div>
        <h3>Drift alerts</h3>
        <p class="muted">No behaviour drift on this host: its applications do what they did while the baselines learned.</p>
      </div>
    );
  return (
    <div>
      <h3>Drift alerts ({alerts.length})</h3>
      <ul class="fleet-drift" aria-label="Drift alerts">
        {alerts.map((alert) => {
          const app = appOfAlert(alert);
          return (
            <li key={alert.id}>
              <div title={alert.rule_title}>
                <LevelBadge level={alert.level} /> <strong>{driftHeading(alert)}</strong>
              </div>
              <div class="muted">
                {time(alert.timestamp)} UTC · score {String((alert.details as { score?: number }).score ?? '')}
                {alert.incident_id && (
                  <>
                    {' · '}
                    <a href={`#/incidents/${alert.incident_id}`}>incident #{alert.incident_id}</a>
                  </>
                )}
                {app && (
                  <>
                    {' · '}
                    <button class="link" onClick={() => onApp(app)}>
                      baseline of {app.product}
                    </button>
                  </>
                )}
              </div>
              <ul>
                {signalsOf(alert).map((s) => (
                  <li key={`${s.kind}|${s.what}`}>
                    <span class="badge">{s.kind}</span> {s.text || s.what}
                    {s.firstSeenFleet && <span class="fleet-new"> new to the fleet</span>}
                  </li>
                ))}
              </ul>
            </li>
          );
        })}
      </ul>
    </div>
  );
}

function BaselinePanel({ app, driftAlerts }: { app: App | undefined; driftAlerts: Alert[] }) {
  const loaded = useGet<{ baselines: Baseline[] }>(app ? `/api/v1/baselines${query({ app: app.product, limit: 50 })}` : undefined);
  if (!app)
    return (
      <div>
        <h3>Fleet baseline</h3>
        <p class="muted">Pick an application in the software inventory to see what it does across the fleet.</p>
      </div>
    );
  const baseline = loaded.data?.baselines.find((b) => b.vendor === app.vendor && b.product === app.product);
  // Behaviours this host's drift alerts name: the baseline row shows where the host stepped out.
  const drifted = new Set(driftAlerts.flatMap((a) => signalsOf(a).map((s) => `${s.kind}|${s.what}`)));
  return (
    <div aria-label="Fleet baseline">
      <h3>
        Fleet baseline: {app.vendor} {app.product}
      </h3>
      <ErrorBox error={loaded.error} />
      {!loaded.data ? (
        !loaded.error && <Loading />
      ) : !baseline ? (
        <p class="muted">No baseline for this application: drift covers applications seen in Sysmon or agent process events.</p>
      ) : (
        <>
          <p class="muted">
            Learned from {plural(baseline.hosts, 'host')} since {time(baseline.since)} UTC ·{' '}
            {Date.parse(baseline.learning_until) > Date.now()
              ? `still learning until ${time(baseline.learning_until)} UTC`
              : 'learning done: new behaviour scores'}
            {' · versions '}
            {baseline.versions.map((v) => v.version).join(', ')}
            {baseline.signers.length > 0 && ` · signed by ${baseline.signers.join(', ')}`}
          </p>
          <div class="fleet-scroll">
            <table class="plain" aria-label="Baseline behaviours">
              <thead>
                <tr>
                  <th>Kind</th>
                  <th>What</th>
                  <th class="right">Hosts</th>
                  <th class="nowrap">First seen (UTC)</th>
                </tr>
              </thead>
              <tbody>
                {baseline.behaviors.map((b) => (
                  <tr key={`${b.kind}|${b.what}`} class={drifted.has(`${b.kind}|${b.what}`) ? 'fleet-drifted' : undefined}>
                    <td>{b.kind}</td>
                    <td class="mono" title={b.what}>
                      {behaviourText(b.what)}
                      {drifted.has(`${b.kind}|${b.what}`) && <span class="fleet-new"> drift on this host</span>}
                    </td>
                    <td class="right nowrap">
                      {b.hosts} <span class="muted">({Math.round(b.share * 100)}%)</span>
                    </td>
                    <td class="nowrap">{time(b.first_seen)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
}

/** A module behaviour is `name|sha256`: the name and the hash's start read better. */
function behaviourText(what: string): string {
  const [name, hash] = what.split('|', 2);
  return hash ? `${name}  ${hash.slice(0, 12)}…` : what;
}

// ---------------------------------------------------------------------------------------------
// What the agent reported

function AgentInventory({ inventory }: { inventory: Inventory }) {
  return (
    <Card
      title="Agent inventory"
      actions={
        <span class="muted">
          {time(inventory.collectedAt)} UTC · {plural(inventory.packages.length, 'package')} ·{' '}
          {plural(inventory.executables.length, 'running executable')}
        </span>
      }
    >
      <div class="grid-2">
        <div>
          <h3>Listening ({inventory.listening.length})</h3>
          <div class="fleet-scroll">
            <table class="plain" aria-label="Listening sockets">
              <thead>
                <tr>
                  <th>Proto</th>
                  <th>Address</th>
                  <th>Process</th>
                </tr>
              </thead>
              <tbody>
                {inventory.listening.map((l) => (
                  <tr key={`${l.protocol}|${l.address}|${l.port}`}>
                    <td>{l.protocol}</td>
                    <td class="mono">
                      {l.address}:{l.port}
                    </td>
                    <td class="mono">
                      {l.image ?? ''} {l.pid === null ? '' : `(${l.pid})`}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
        <div>
          <h3>Persistence ({inventory.persistence.length})</h3>
          <div class="fleet-scroll">
            <table class="plain" aria-label="Persistence points">
              <thead>
                <tr>
                  <th>Kind</th>
                  <th>Path</th>
                  <th>Modified (UTC)</th>
                </tr>
              </thead>
              <tbody>
                {inventory.persistence.map((p) => (
                  <tr key={`${p.kind}|${p.path}`}>
                    <td>{p.kind}</td>
                    <td class="mono" title={`SHA-256 ${p.sha256}`}>
                      {p.path}
                    </td>
                    <td class="nowrap">{time(p.mtime)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      </div>
    </Card>
  );
}
