/**
 * Rules: what detection runs (rule files and rules saved from a hunt), the correlations, and every
 * rule file that did not load or rule left out, with the reason, so nobody wonders why a rule is silent.
 */
import { useMemo, useState } from 'preact/hooks';
import { api } from '../api';
import { VirtualTable, type Column } from '../components/VirtualTable';
import { ActionButton, ErrorBox, KeyValues, LevelBadge, PageHeader } from '../components/ui';
import { levelRank, plural } from '../format';
import { useGet } from '../hooks';
import { replaceParams, route } from '../router';
import { can } from '../session';
import './hunt.css';

/** A rule in use, as GET /api/v1/rules lists it (and POST /api/v1/rules answers). */
export interface RuleListing {
  id: string;
  title: string;
  level: string;
  status: string;
  tags: string[];
  /** The rule file, or `custom:ID` for a rule saved through the API. */
  file: string | null;
  logsource: Record<string, string>;
  custom: boolean;
}

interface Correlation {
  id: string;
  title: string;
  type: string;
  level: string | null;
}

interface FailedFile {
  file: string;
  status: string;
  reason: string;
  line?: number;
}

interface RulesReply {
  loaded: number;
  skipped: number;
  reasons: Record<string, number>;
  rules: RuleListing[];
  correlations: Correlation[];
  failed: FailedFile[];
}

type Tab = 'rules' | 'correlations' | 'problems';

const logsourceText = (r: RuleListing): string =>
  ['product', 'category', 'service']
    .map((key) => r.logsource[key])
    .filter(Boolean)
    .join(' / ');
const fileName = (path: string | null): string => (path ?? '').split(/[\\/]/).pop() ?? '';

function ruleColumns(remove: ((rule: RuleListing) => void) | undefined): Column<RuleListing>[] {
  return [
    {
      key: 'title',
      title: 'Title',
      width: 'minmax(280px, 3fr)',
      render: (r) => (
        <span title={r.title}>
          {r.custom && <span class="badge rule-custom">custom</span>} {r.title}
        </span>
      ),
      sort: (r) => r.title.toLowerCase(),
    },
    { key: 'level', title: 'Level', width: '104px', render: (r) => <LevelBadge level={r.level} />, sort: (r) => levelRank(r.level) },
    { key: 'status', title: 'Status', width: '118px', render: (r) => r.status, sort: (r) => r.status },
    {
      key: 'tags',
      title: 'Tags',
      width: 'minmax(120px, 1.2fr)',
      render: (r) => <span title={r.tags.join('\n')}>{r.tags.join(', ')}</span>,
    },
    {
      key: 'logsource',
      title: 'Log source',
      width: 'minmax(120px, 1fr)',
      render: (r) => <span title={logsourceText(r)}>{logsourceText(r)}</span>,
      sort: logsourceText,
    },
    {
      key: 'file',
      title: 'File',
      width: 'minmax(120px, 1fr)',
      render: (r) => <span title={r.file ?? ''}>{r.custom ? r.file : fileName(r.file)}</span>,
      sort: (r) => r.file ?? '',
    },
    ...(remove
      ? [
          {
            key: 'delete',
            title: '',
            width: '76px',
            render: (r: RuleListing) =>
              r.custom ? (
                <button class="danger small" aria-label={`Delete ${r.title}`} onClick={() => remove(r)}>
                  Delete
                </button>
              ) : null,
          },
        ]
      : []),
  ];
}

const CORRELATION_COLUMNS: Column<Correlation>[] = [
  { key: 'title', title: 'Title', width: 'minmax(260px, 3fr)', render: (c) => c.title, sort: (c) => c.title.toLowerCase() },
  { key: 'type', title: 'Type', width: '140px', render: (c) => c.type, sort: (c) => c.type },
  {
    key: 'level',
    title: 'Level',
    width: '104px',
    render: (c) => (c.level ? <LevelBadge level={c.level} /> : <span class="muted">of its rules</span>),
    sort: (c) => levelRank(c.level ?? ''),
  },
  { key: 'id', title: 'Id', width: '300px', render: (c) => <code>{c.id}</code>, sort: (c) => c.id },
];

function matches(needle: string, ...texts: (string | null | undefined)[]): boolean {
  return texts.some((t) => t?.toLowerCase().includes(needle));
}

export function Rules() {
  const params = route.value.params;
  const tab = (['rules', 'correlations', 'problems'] as const).find((t) => t === params.get('tab')) ?? 'rules';
  const [filter, setFilter] = useState(params.get('q') ?? '');
  const [open, setOpen] = useState<RuleListing>();
  const [deleteError, setDeleteError] = useState<string>();
  const loaded = useGet<RulesReply>('/api/v1/rules');
  const data = loaded.data;
  const needle = filter.trim().toLowerCase();

  const deleteRule = async (rule: RuleListing): Promise<void> => {
    await api('DELETE', `/api/v1/rules/${encodeURIComponent(rule.id)}`);
    if (open?.id === rule.id) setOpen(undefined);
    loaded.reload();
  };
  const removeFromRow = (rule: RuleListing): void => {
    if (!window.confirm(`Delete the custom rule "${rule.title}"? Detection stops running it.`)) return;
    setDeleteError(undefined);
    deleteRule(rule).catch((e: Error) => setDeleteError(`Could not delete "${rule.title}": ${e.message}`));
  };
  // The Delete column only when there is a custom rule to delete.
  const deletable = can('analyst') && (data?.rules.some((r) => r.custom) ?? false);
  const columns = useMemo(() => ruleColumns(deletable ? removeFromRow : undefined), [deletable, open]);

  const rules = useMemo(
    () =>
      (data?.rules ?? []).filter(
        (r) =>
          !needle ||
          matches(needle, r.title, r.id, r.level, r.status, r.file, logsourceText(r), r.tags.join(' '), r.custom ? 'custom' : ''),
      ),
    [data, needle],
  );
  const correlations = useMemo(
    () => (data?.correlations ?? []).filter((c) => !needle || matches(needle, c.title, c.id, c.type, c.level)),
    [data, needle],
  );
  const problems = (data ? Object.keys(data.reasons).length : 0) + (data?.failed.length ?? 0);

  return (
    <div class="list-page rules">
      <PageHeader title="Rules">
        <input
          data-filter
          type="search"
          placeholder="Filter: title, tag, level, log source, file  ( / )"
          aria-label="Filter rules"
          value={filter}
          onInput={(event) => {
            const value = (event.target as HTMLInputElement).value;
            setFilter(value);
            replaceParams({ q: value });
          }}
        />
        <button class="plain" onClick={loaded.reload} disabled={loaded.loading}>
          Reload
        </button>
      </PageHeader>
      <ErrorBox error={loaded.error} />
      <ErrorBox error={deleteError} />
      {data && <RuleCounts data={data} />}
      <div class="tabs" role="tablist" aria-label="Rule lists">
        <TabButton tab="rules" current={tab} label={`In use (${data?.rules.length ?? 0})`} />
        <TabButton tab="correlations" current={tab} label={`Correlations (${data?.correlations.length ?? 0})`} />
        <TabButton tab="problems" current={tab} label={`Not loaded (${data ? data.skipped : 0})`} warn={problems > 0} />
      </div>
      {tab === 'rules' && (
        <>
          <VirtualTable
            label="Rules in use"
            rows={rules}
            columns={columns}
            rowKey={(r) => r.id}
            onOpen={(rule) => setOpen(rule)}
            initialSort={{ key: 'level', descending: true }}
            empty={loaded.loading ? 'Loading…' : needle ? 'No rule matches the filter.' : 'No rules in use.'}
          />
          {open && <RuleDetail rule={open} close={() => setOpen(undefined)} remove={can('analyst') ? deleteRule : undefined} />}
        </>
      )}
      {tab === 'correlations' && (
        <VirtualTable
          label="Correlations"
          rows={correlations}
          columns={CORRELATION_COLUMNS}
          rowKey={(c) => c.id}
          empty={loaded.loading ? 'Loading…' : 'No correlation rules in use.'}
        />
      )}
      {tab === 'problems' && data && <NotLoaded data={data} needle={needle} />}
    </div>
  );
}

function TabButton({ tab, current, label, warn }: { tab: Tab; current: Tab; label: string; warn?: boolean }) {
  return (
    <button role="tab" aria-selected={tab === current} class={warn ? 'rules-tab-warn' : undefined} onClick={() => replaceParams({ tab })}>
      {label}
    </button>
  );
}

function RuleCounts({ data }: { data: RulesReply }) {
  const custom = data.rules.filter((r) => r.custom).length;
  return (
    <div class="rules-counts" aria-label="Rule counts">
      <span>
        <strong>{data.loaded.toLocaleString('en')}</strong> loaded
        <span class="muted">
          {' '}
          ({plural(data.rules.length, 'rule')}, {plural(data.correlations.length, 'correlation')}
          {custom > 0 ? `; ${custom} custom` : ''})
        </span>
      </span>
      <span class={data.skipped > 0 ? 'rules-warn' : undefined}>
        <strong>{data.skipped.toLocaleString('en')}</strong> skipped
      </span>
      <span class={data.failed.length > 0 ? 'rules-warn' : undefined}>
        <strong>{data.failed.length.toLocaleString('en')}</strong> {data.failed.length === 1 ? 'file' : 'files'} failed to load
      </span>
    </div>
  );
}

function RuleDetail(props: { rule: RuleListing; close(): void; remove?: (rule: RuleListing) => Promise<void> }) {
  const { rule } = props;
  return (
    <section class="card" aria-label="Rule detail">
      <header>
        <h2>
          <LevelBadge level={rule.level} /> {rule.title}
        </h2>
        <span class="page-tools">
          {rule.custom && props.remove && (
            <ActionButton
              label="Delete rule"
              kind="danger"
              confirm={`Delete the custom rule "${rule.title}"? Detection stops running it.`}
              run={() => props.remove!(rule)}
            />
          )}
          <button class="plain small" onClick={props.close}>
            Close
          </button>
        </span>
      </header>
      <div class="card-body">
        <KeyValues
          entries={[
            ['Id', <code>{rule.id}</code>],
            ['Status', rule.status],
            [
              'Log source',
              Object.entries(rule.logsource)
                .map(([k, v]) => `${k}: ${v}`)
                .join(', '),
            ],
            ['Tags', rule.tags.join(', ')],
            ['File', <code>{rule.file ?? ''}</code>],
            ['Kind', rule.custom ? 'custom (saved through the console or the API)' : 'from the rule files'],
          ]}
        />
      </div>
    </section>
  );
}

function NotLoaded({ data, needle }: { data: RulesReply; needle: string }) {
  const reasons = Object.entries(data.reasons)
    .filter(([reason]) => !needle || reason.toLowerCase().includes(needle))
    .sort((a, b) => b[1] - a[1]);
  const failed = data.failed.filter((f) => !needle || matches(needle, f.file, f.status, f.reason));
  if (data.skipped === 0 && data.failed.length === 0) return <div class="empty">Every rule file loaded and every rule is in use.</div>;
  return (
    <div class="rules-problems">
      <section class="card" aria-label="Why rules were skipped">
        <header>
          <h2>Why rules were skipped ({plural(data.skipped, 'rule')})</h2>
        </header>
        <div class="card-body">
          <p class="hint rules-hint">
            A file that did not load counts once, under its status. Rules the server's rule selection leaves out and rules whose log source
            no mapping knows are counted here by reason; only the files that did not load are listed by name below.
          </p>
          <table class="plain rules-reasons">
            <thead>
              <tr>
                <th>Reason</th>
                <th class="right">Rules</th>
              </tr>
            </thead>
            <tbody>
              {reasons.map(([reason, count]) => (
                <tr key={reason}>
                  <td>{reason}</td>
                  <td class="right">{count.toLocaleString('en')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section class="card" aria-label="Files that did not load">
        <header>
          <h2>Files that did not load ({data.failed.length.toLocaleString('en')})</h2>
        </header>
        <div class="card-body">
          {failed.length === 0 ? (
            <div class="muted">{data.failed.length === 0 ? 'Every rule file loaded.' : 'No file matches the filter.'}</div>
          ) : (
            <table class="plain rules-failed">
              <thead>
                <tr>
                  <th>File</th>
                  <th>Status</th>
                  <th>Reason</th>
                </tr>
              </thead>
              <tbody>
                {failed.map((f, index) => (
                  <tr key={`${f.file}-${index}`}>
                    <td class="mono">
                      {fileName(f.file)}
                      {f.line !== undefined && <span class="muted">:{f.line}</span>}
                      <div class="muted rules-path">{f.file}</div>
                    </td>
                    <td>
                      <span class="badge">{f.status}</span>
                    </td>
                    <td>{f.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </section>
    </div>
  );
}
