/**
 * The audit log (admin): every state change, hash-chained, newest first here, and a check of the
 * chain. The API pages oldest first (`after`), so new entries are fetched after the last one held
 * rather than the whole log again. Shapes: routes/admin.ts (AuditEntry, verifyAudit).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { get, query } from '../api';
import { VirtualTable, type Column } from '../components/VirtualTable';
import { ActionButton, Card, ErrorBox, KeyValues, PageHeader } from '../components/ui';
import { time } from '../format';
import { useLive } from '../hooks';
import { can, session } from '../session';
import { MAX_PAGE } from './fleet-common';
import './fleet.css';

interface AuditEntry {
  seq: number;
  time: number;
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

type Verdict = { ok: true; count: number } | { ok: false; seq: number; reason: string };

/** Entries held at once (about 300 bytes each). */
const MAX_ENTRIES = 50_000;

export function Audit() {
  if (!can('admin'))
    return (
      <div class="fleet-page">
        <PageHeader title="Audit log" />
        <Card title="Needs the admin role">
          <p>
            The audit log needs the admin role. You are signed in as {session.value?.name} with the {session.value?.role} role; ask an admin
            for a check of the log.
          </p>
        </Card>
      </div>
    );
  return <AuditLog />;
}

const COLUMNS: Column<AuditEntry>[] = [
  { key: 'seq', title: '#', width: '64px', render: (e) => e.seq, sort: (e) => e.seq, align: 'right' },
  { key: 'time', title: 'Time (UTC)', width: '172px', render: (e) => time(e.time), sort: (e) => e.time },
  { key: 'actor', title: 'Actor', width: 'minmax(100px, 1fr)', render: (e) => e.actor, sort: (e) => e.actor },
  { key: 'action', title: 'Action', width: 'minmax(120px, 1fr)', render: (e) => e.action, sort: (e) => e.action },
  {
    key: 'target',
    title: 'Target',
    width: 'minmax(120px, 1fr)',
    render: (e) => <span class="mono">{e.target ?? ''}</span>,
    sort: (e) => e.target ?? '',
  },
  { key: 'details', title: 'Details', width: 'minmax(200px, 3fr)', render: (e) => <span class="mono">{detailsText(e)}</span> },
];

function entries(count: number): string {
  return `${count.toLocaleString('en')} ${count === 1 ? 'entry' : 'entries'}`;
}

function detailsText(entry: AuditEntry): string {
  return Object.keys(entry.details).length ? JSON.stringify(entry.details) : '';
}

/** The log, oldest page first; `more` fetches what came after the last entry held (at most one run at a time). */
function useAuditEntries(): { rows: AuditEntry[]; complete: boolean; error: string | undefined; more(): void } {
  const [rows, setRows] = useState<AuditEntry[]>([]);
  const [complete, setComplete] = useState(false);
  const [error, setError] = useState<string>();
  const held = useRef({ rows: [] as AuditEntry[], running: false, again: false });
  const more = useCallback(async (): Promise<void> => {
    const state = held.current;
    if (state.running) {
      state.again = true;
      return;
    }
    state.running = true;
    try {
      do {
        state.again = false;
        while (state.rows.length < MAX_ENTRIES) {
          const { entries } = await get<{ entries: AuditEntry[] }>(
            `/api/v1/audit${query({ after: state.rows.at(-1)?.seq ?? 0, limit: MAX_PAGE })}`,
          );
          if (entries.length > 0) setRows((state.rows = state.rows.concat(entries)));
          if (entries.length < MAX_PAGE) break;
        }
      } while (state.again);
      setError(undefined);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      state.running = false;
      setComplete(true);
    }
  }, []);
  useEffect(() => void more(), []);
  return { rows, complete, error, more: () => void more() };
}

function AuditLog() {
  const log = useAuditEntries();
  // Response actions, incident changes and enrollments are audited: they are the moments to look for new entries.
  useLive(['action', 'incident', 'agent'], log.more, 3000);
  const [filter, setFilter] = useState('');
  const [openSeq, setOpenSeq] = useState<number>();
  const [verdict, setVerdict] = useState<Verdict & { at: number }>();
  const searchable = useMemo(
    () => log.rows.map((row) => ({ row, text: `${row.actor} ${row.action} ${row.target ?? ''} ${detailsText(row)}`.toLowerCase() })),
    [log.rows],
  );
  const rows = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    return needle ? searchable.filter((s) => s.text.includes(needle)).map((s) => s.row) : log.rows;
  }, [searchable, filter]);
  const open = openSeq === undefined ? undefined : log.rows.find((e) => e.seq === openSeq);
  const verify = async (): Promise<void> => {
    setVerdict(undefined);
    setVerdict({ ...(await get<Verdict>('/api/v1/audit/verify')), at: Date.now() });
  };

  return (
    <div class="list-page">
      <PageHeader title="Audit log">
        <input
          data-filter
          type="search"
          placeholder="Filter: actor, action, target, details  ( / )"
          aria-label="Filter audit log"
          value={filter}
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
        />
        <span class="muted">
          {entries(rows.length)}
          {log.complete ? '' : ' (loading…)'}
          {log.rows.length >= MAX_ENTRIES && ` (the first ${MAX_ENTRIES.toLocaleString('en')}: the API pages oldest first)`}
        </span>
        <ActionButton kind="primary" label="Verify chain" run={verify} title="Recompute every entry's hash from the first one" />
      </PageHeader>
      {verdict && <VerdictBox verdict={verdict} show={setOpenSeq} />}
      <ErrorBox error={log.error} />
      <VirtualTable
        label="Audit log"
        rows={rows}
        columns={COLUMNS}
        rowKey={(e) => e.seq}
        onOpen={(e) => setOpenSeq(e.seq)}
        initialSort={{ key: 'seq', descending: true }}
        empty={log.complete ? 'No audit entries.' : 'Loading…'}
      />
      {open && <EntryDetail entry={open} close={() => setOpenSeq(undefined)} />}
    </div>
  );
}

function VerdictBox({ verdict, show }: { verdict: Verdict & { at: number }; show(seq: number): void }) {
  if (verdict.ok)
    return (
      <div class="fleet-ok" role="status">
        ✓ Chain intact: {entries(verdict.count)} verified, each hash recomputed from the previous one ({time(verdict.at)} UTC).
      </div>
    );
  return (
    <div class="error" role="alert">
      ✗ Chain broken at entry #{verdict.seq}: {verdict.reason}. Entries from there on cannot be trusted.{' '}
      <button class="small" onClick={() => show(verdict.seq)}>
        Show entry #{verdict.seq}
      </button>
    </div>
  );
}

function EntryDetail({ entry, close }: { entry: AuditEntry; close(): void }) {
  return (
    <Card
      title={`Entry #${entry.seq}: ${entry.action}`}
      actions={
        <button class="plain small" onClick={close}>
          Close
        </button>
      }
    >
      <div class="fleet-detail-grid">
        <KeyValues
          entries={[
            ['Time', `${time(entry.time)} UTC`],
            ['Actor', entry.actor],
            ['Target', <span class="mono">{entry.target ?? ''}</span>],
            ['Hash', <span class="mono">{entry.hash}</span>],
            ['Previous', <span class="mono">{entry.prevHash}</span>],
          ]}
        />
        <pre aria-label="Details">{JSON.stringify(entry.details, null, 2)}</pre>
      </div>
    </Card>
  );
}
