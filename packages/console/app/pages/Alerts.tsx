/** Alerts: newest first, up to 10,000 at once, filtered by level, kind and host on the server and by text here. */
import { useState } from 'preact/hooks';
import { get, query, type Alert } from '../api';
import { VirtualTable, type Column } from '../components/VirtualTable';
import { ErrorBox, KeyValues, LevelBadge, PageHeader } from '../components/ui';
import { levelRank, plural, text, time } from '../format';
import { useLive, usePaged, useTextFilter } from '../hooks';
import { replaceParams, route } from '../router';

/** A small first page draws the first screen at once; the rest come in pages of the API's maximum. */
const FIRST_PAGE = 200;
const PAGE = 1000;
const MAX_ROWS = 10_000;
const LEVELS = ['critical', 'high', 'medium', 'low', 'informational'];
const KINDS = ['sigma', 'correlation', 'ioc', 'behavior'];

async function alertPage(
  filters: Record<string, string | undefined>,
  before: number | undefined,
): Promise<{ rows: Alert[]; next: number | undefined }> {
  const page = await get<{ alerts: Alert[]; next_before: number | null }>(
    `/api/v1/alerts${query({ ...filters, limit: before === undefined ? FIRST_PAGE : PAGE, before })}`,
  );
  return { rows: page.alerts, next: page.next_before ?? undefined };
}

/** What the filter box searches. */
function haystack(alert: Alert): string {
  return `${alert.rule_title} ${alert.computer ?? ''} ${alert.tags.join(' ')} ${Object.values(alert.matched).join(' ')}`;
}

/** The columns every alert list has (the incident page's list adds ATT&CK, this page the incident). */
export const ALERT_COLUMNS: Column<Alert>[] = [
  {
    key: 'time',
    title: 'Time (UTC)',
    width: '164px',
    render: (a) => <span class="mono">{time(a.timestamp)}</span>,
    sort: (a) => a.timestamp,
  },
  { key: 'level', title: 'Level', width: '104px', render: (a) => <LevelBadge level={a.level} />, sort: (a) => levelRank(a.level) },
  { key: 'rule', title: 'Rule', width: 'minmax(240px, 3fr)', render: (a) => a.rule_title, sort: (a) => a.rule_title },
  { key: 'kind', title: 'Kind', width: '96px', render: (a) => a.kind, sort: (a) => a.kind },
  { key: 'host', title: 'Host', width: 'minmax(110px, 1fr)', render: (a) => a.computer ?? '', sort: (a) => a.computer ?? '' },
];

const COLUMNS: Column<Alert>[] = [
  ...ALERT_COLUMNS,
  {
    key: 'incident',
    title: 'Incident',
    width: '84px',
    render: (a) => (a.incident_id ? <a href={`#/incidents/${a.incident_id}`}>#{a.incident_id}</a> : ''),
    sort: (a) => a.incident_id ?? 0,
    align: 'right',
  },
];

export function Alerts() {
  const params = route.value.params;
  const filters = {
    level: params.get('level') ?? undefined,
    kind: params.get('kind') ?? undefined,
    computer: params.get('host') ?? undefined,
  };
  const [filter, setFilter] = useState('');
  const [open, setOpen] = useState<Alert>();
  const loaded = usePaged(['alerts', filters], (before: number | undefined) => alertPage(filters, before), MAX_ROWS);
  useLive(['alert'], () => loaded.reload(), 2000);
  const rows = useTextFilter(loaded.rows, haystack, filter);

  return (
    <div class="list-page">
      <PageHeader title="Alerts">
        <input
          data-filter
          type="search"
          placeholder="Filter: rule, host, tag, matched value  ( / )"
          aria-label="Filter alerts"
          value={filter}
          onInput={(event) => setFilter((event.target as HTMLInputElement).value)}
        />
        <select
          aria-label="Level"
          value={filters.level ?? ''}
          onChange={(e) => replaceParams({ level: (e.target as HTMLSelectElement).value })}
        >
          <option value="">any level</option>
          {LEVELS.map((l) => (
            <option key={l}>{l}</option>
          ))}
        </select>
        <select
          aria-label="Kind"
          value={filters.kind ?? ''}
          onChange={(e) => replaceParams({ kind: (e.target as HTMLSelectElement).value })}
        >
          <option value="">any kind</option>
          {KINDS.map((k) => (
            <option key={k}>{k}</option>
          ))}
        </select>
        <input
          type="search"
          placeholder="host"
          aria-label="Host"
          value={filters.computer ?? ''}
          onChange={(e) => replaceParams({ host: (e.target as HTMLInputElement).value })}
        />
        <span class="muted">
          {plural(rows.length, 'alert')}
          {loaded.complete ? '' : ' (loading…)'}
        </span>
      </PageHeader>
      <ErrorBox error={loaded.error} />
      <VirtualTable
        label="Alerts"
        rows={rows}
        columns={COLUMNS}
        rowKey={(a) => a.id}
        onOpen={(alert) => setOpen(alert)}
        initialSort={{ key: 'time', descending: true }}
        empty={loaded.complete ? 'No alerts.' : 'Loading…'}
      />
      {open && <AlertDetail alert={open} close={() => setOpen(undefined)} />}
    </div>
  );
}

function AlertDetail({ alert, close }: { alert: Alert; close: () => void }) {
  return (
    <section class="card" aria-label="Alert detail">
      <header>
        <h2>
          <LevelBadge level={alert.level} /> {alert.rule_title}
        </h2>
        <button class="plain small" onClick={close}>
          Close
        </button>
      </header>
      <div class="card-body">
        <KeyValues
          entries={[
            ['Time (UTC)', time(alert.timestamp)],
            ['Host', alert.computer ?? ''],
            ['Rule id', <code>{alert.rule_id}</code>],
            ['Tags', alert.tags.join(', ')],
            ['Incident', alert.incident_id ? <a href={`#/incidents/${alert.incident_id}`}>#{alert.incident_id}</a> : 'none'],
            ...Object.entries(alert.matched).map(([key, value]): [string, string] => [key, text(value)]),
          ]}
        />
      </div>
    </section>
  );
}
