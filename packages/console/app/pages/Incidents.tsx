/** Incidents: every one the store holds (paged in behind the scenes), filtered and sorted in place. */
import { useState } from 'preact/hooks';
import { get, INCIDENT_STATUSES, query, type Incident } from '../api';
import { VirtualTable, type Column } from '../components/VirtualTable';
import { ErrorBox, LevelBadge, PageHeader, StatusBadge } from '../components/ui';
import { ago, levelRank, plural, time } from '../format';
import { useLive, usePaged, useTextFilter } from '../hooks';
import { navigate, replaceParams, route } from '../router';

/** A small first page draws the first screen at once; the rest come in pages of the API's maximum. */
const FIRST_PAGE = 200;
const PAGE = 1000;
/** Incidents loaded at most (the newest). */
const MAX_ROWS = 50_000;

async function incidentPage(
  status: string | undefined,
  before: string | undefined,
): Promise<{ rows: Incident[]; next: string | undefined }> {
  const page = await get<{ incidents: Incident[]; next_before: string | null }>(
    `/api/v1/incidents${query({ status, limit: before === undefined ? FIRST_PAGE : PAGE, before })}`,
  );
  return { rows: page.incidents, next: page.next_before ?? undefined };
}

/** What the filter box searches. */
function haystack(incident: Incident): string {
  return `${incident.id} ${incident.title} ${incident.hosts.join(' ')} ${incident.severity} ${incident.status}`;
}

const COLUMNS: Column<Incident>[] = [
  { key: 'id', title: '#', width: '64px', render: (i) => i.id, sort: (i) => i.id, align: 'right' },
  {
    key: 'severity',
    title: 'Severity',
    width: '96px',
    render: (i) => <LevelBadge level={i.severity} />,
    sort: (i) => levelRank(i.severity),
  },
  { key: 'score', title: 'Score', width: '64px', render: (i) => i.score, sort: (i) => i.score, align: 'right' },
  {
    key: 'title',
    title: 'Title',
    width: 'minmax(240px, 3fr)',
    render: (i) => <a href={`#/incidents/${i.id}`}>{i.title}</a>,
    sort: (i) => i.title,
  },
  { key: 'hosts', title: 'Hosts', width: 'minmax(120px, 1.4fr)', render: (i) => i.hosts.join(', '), sort: (i) => i.hosts.join(',') },
  { key: 'alerts', title: 'Alerts', width: '70px', render: (i) => i.alert_count, sort: (i) => i.alert_count, align: 'right' },
  { key: 'status', title: 'Status', width: '116px', render: (i) => <StatusBadge status={i.status} />, sort: (i) => i.status },
  {
    key: 'last',
    title: 'Last activity',
    width: '170px',
    render: (i) => <span title={time(i.last)}>{ago(i.last)}</span>,
    sort: (i) => i.last,
  },
];

export function Incidents() {
  const params = route.value.params;
  const status = params.get('status') ?? undefined;
  const [filter, setFilter] = useState(params.get('q') ?? '');
  const loaded = usePaged(['incidents', status], (before: string | undefined) => incidentPage(status, before), MAX_ROWS);
  useLive(['incident'], () => loaded.reload(), 2000);
  const rows = useTextFilter(loaded.rows, haystack, filter);

  return (
    <div class="list-page">
      <PageHeader title="Incidents">
        <input
          data-filter
          type="search"
          placeholder="Filter: title, host, severity  ( / )"
          value={filter}
          aria-label="Filter incidents"
          onInput={(event) => {
            const value = (event.target as HTMLInputElement).value;
            setFilter(value);
            replaceParams({ q: value });
          }}
        />
        <select
          aria-label="Status"
          value={status ?? ''}
          onChange={(event) => replaceParams({ status: (event.target as HTMLSelectElement).value })}
        >
          <option value="">any status</option>
          {INCIDENT_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s.replace('_', ' ')}
            </option>
          ))}
        </select>
        <span class="muted">
          {plural(rows.length, 'incident')}
          {loaded.complete ? '' : ' (loading…)'}
        </span>
      </PageHeader>
      <ErrorBox error={loaded.error} />
      <VirtualTable
        label="Incidents"
        rows={rows}
        columns={COLUMNS}
        rowKey={(i) => i.id}
        onOpen={(i) => navigate(`/incidents/${i.id}`)}
        initialSort={{ key: 'last', descending: true }}
        empty={loaded.complete ? 'No incidents.' : 'Loading…'}
      />
    </div>
  );
}
