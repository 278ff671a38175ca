/**
 * The incident's timeline: the events of its hosts around it and its alerts, oldest first
 * (GET /api/v1/incidents/ID/timeline, core's incidentTimeline). Alerts there are the store's records
 * (ruleTitle, timestamp in ms), not the API's alert view. Enter or a double click opens an entry.
 */
import { useMemo, useState } from 'preact/hooks';
import type { StoredEvent } from '../api';
import { VirtualTable, type Column } from '../components/VirtualTable';
import { KeyValues, LevelBadge } from '../components/ui';
import { text, time } from '../format';

export interface TimelineAlert {
  id: number;
  ruleId: string;
  ruleTitle: string;
  level: string;
  kind: string;
  timestamp: number;
  computer: string | null;
  eventIds: number[];
  matched: Record<string, unknown>;
  tags: string[];
}

export type TimelineEntry =
  { time: number; event: StoredEvent; alert?: undefined } | { time: number; alert: TimelineAlert; event?: undefined };

/** Events narrowed to a set (a storyline node's, an alert's evidence), with what they are. */
export interface EventFilter {
  ids: number[];
  label: string;
}

const EVENT_NAMES: Record<string, Record<number, string>> = {
  'microsoft-windows-sysmon/operational': {
    1: 'process start',
    3: 'network connection',
    5: 'process end',
    7: 'image load',
    8: 'remote thread',
    10: 'process access',
    11: 'file create',
    12: 'registry',
    13: 'registry value',
    22: 'DNS query',
    23: 'file delete',
  },
  security: {
    4624: 'logon',
    4625: 'failed logon',
    4648: 'explicit logon',
    4672: 'special privileges',
    4688: 'process start',
    4697: 'service install',
    4698: 'scheduled task',
    4720: 'user created',
    4732: 'group member added',
  },
  system: { 7045: 'service install' },
};

/** What an event acted on, in the order a responder reads it. */
const OBJECT_FIELDS = [
  'QueryName',
  'DestinationHostname',
  'DestinationIp',
  'DestinationPort',
  'TargetFilename',
  'ImageLoaded',
  'CommandLine',
  'proctitle',
  'TargetUserName',
  'IpAddress',
  'ServiceName',
  'ImagePath',
  'TaskName',
  'TargetObject',
  'ScriptBlockText',
  'msg',
  'message',
  'Message',
];
const ACTOR_FIELDS = ['Image', 'NewProcessName', 'exe'];
const OBJECT_PARTS = 2;

/** `process start · Sysmon`: the source without its `Microsoft-Windows-` prefix and `/Operational` suffix. */
export function eventName(event: StoredEvent): string {
  const named = EVENT_NAMES[(event.channel ?? '').toLowerCase()]?.[event.eventId ?? -1];
  const source = (event.channel ?? event.format).replace(/^Microsoft-Windows-/i, '').replace(/\/Operational$/i, '');
  return `${named ?? (event.eventId !== null ? `event ${event.eventId}` : 'event')} · ${source}`;
}

/** `OneDrive.exe  QueryName: g.live.com`: the program, then what it did (a command line says both). */
export function eventSummary(event: StoredEvent): string {
  // Sysmon writes `-` for a value it does not have.
  const value = (name: string): string => {
    const shown = text(event.fields[name]);
    return shown === '-' ? '' : shown;
  };
  const objects = OBJECT_FIELDS.filter((name) => value(name) !== '')
    .slice(0, OBJECT_PARTS)
    .map((name) => `${name}: ${value(name)}`);
  const actor = ACTOR_FIELDS.map(value).find((v) => v !== '');
  const showActor = actor !== undefined && !objects.some((part) => part.startsWith('CommandLine') || part.startsWith('proctitle'));
  return [...(showActor ? [actor.split(/[\\/]/).pop()!] : []), ...objects].join('  ·  ');
}

function entryKey(entry: TimelineEntry): string {
  return entry.alert ? `a${entry.alert.id}` : `e${entry.event!.id}`;
}

const COLUMNS: Column<TimelineEntry>[] = [
  { key: 'time', title: 'Time (UTC)', width: '168px', render: (e) => <span class="mono">{time(e.time)}</span> },
  {
    key: 'what',
    title: 'What',
    width: 'minmax(150px, 1fr)',
    render: (e) =>
      e.alert ? (
        <span>
          <LevelBadge level={e.alert.level} /> alert
        </span>
      ) : (
        <span class="muted">{eventName(e.event!)}</span>
      ),
  },
  { key: 'host', title: 'Host', width: '120px', render: (e) => (e.alert ? e.alert.computer : e.event!.host) ?? '' },
  {
    key: 'summary',
    title: 'Details',
    width: 'minmax(260px, 3fr)',
    render: (e) => (e.alert ? <strong>{e.alert.ruleTitle}</strong> : <span class="mono">{eventSummary(e.event!)}</span>),
  },
];

export function IncidentTimeline(props: { entries: TimelineEntry[]; filter: EventFilter | undefined; clearFilter(): void }) {
  const [search, setSearch] = useState('');
  const [alertsOnly, setAlertsOnly] = useState(false);
  const [open, setOpen] = useState<TimelineEntry>();
  const evidence = useMemo(() => new Set(props.entries.flatMap((e) => e.alert?.eventIds ?? [])), [props.entries]);
  const rows = useMemo(() => {
    const only = props.filter && new Set(props.filter.ids);
    const needle = search.trim().toLowerCase();
    return props.entries.filter((entry) => {
      if (only && !(entry.event ? only.has(entry.event.id) : entry.alert!.eventIds.some((id) => only.has(id)))) return false;
      if (alertsOnly && !(entry.alert || evidence.has(entry.event!.id))) return false;
      return !needle || haystack(entry).includes(needle);
    });
  }, [props.entries, props.filter, search, alertsOnly, evidence]);

  return (
    <div class="inc-timeline">
      <div class="filters">
        <input
          type="search"
          placeholder="Filter the timeline"
          aria-label="Filter the timeline"
          value={search}
          onInput={(event) => setSearch((event.target as HTMLInputElement).value)}
        />
        <label>
          <input type="checkbox" checked={alertsOnly} onChange={() => setAlertsOnly(!alertsOnly)} /> alerts and their evidence only
        </label>
        {props.filter && (
          <span class="inc-chip">
            <span class="inc-chip-text" title={props.filter.label}>
              events of {props.filter.label}
            </span>
            <button class="small" onClick={props.clearFilter} aria-label="Show every event">
              ✕
            </button>
          </span>
        )}
        <span class="muted">
          {rows.length === 1 ? '1 entry' : `${rows.length.toLocaleString('en')} entries`} · Enter or a double click opens one
        </span>
      </div>
      <VirtualTable
        label="Incident timeline"
        rows={rows}
        columns={COLUMNS}
        rowKey={entryKey}
        onOpen={(row) => setOpen(row)}
        height={300}
        empty="No events or alerts match."
      />
      {open && <EntryDetail entry={open} evidence={evidence} close={() => setOpen(undefined)} />}
    </div>
  );
}

function haystack(entry: TimelineEntry): string {
  if (entry.alert) return `${entry.alert.ruleTitle} ${entry.alert.computer ?? ''} ${entry.alert.tags.join(' ')}`.toLowerCase();
  return `${eventName(entry.event!)} ${entry.event!.host ?? ''} ${eventSummary(entry.event!)}`.toLowerCase();
}

function EntryDetail({ entry, evidence, close }: { entry: TimelineEntry; evidence: Set<number>; close(): void }) {
  const title = entry.alert ? entry.alert.ruleTitle : eventName(entry.event!);
  const entries: [string, string][] = entry.alert
    ? [
        ['Time (UTC)', time(entry.alert.timestamp)],
        ['Host', entry.alert.computer ?? ''],
        ['Rule', entry.alert.ruleId],
        ['Tags', entry.alert.tags.join(', ')],
        ['Evidence events', entry.alert.eventIds.join(', ')],
        ...Object.entries(entry.alert.matched).map(([key, value]): [string, string] => [key, text(value)]),
      ]
    : [
        ['Time (UTC)', time(entry.event!.time)],
        ['Host', entry.event!.host ?? ''],
        ['Event', `#${entry.event!.id}${evidence.has(entry.event!.id) ? ' (an alert’s evidence)' : ''}`],
        ['Origin', entry.event!.origin ?? ''],
        ...Object.entries(entry.event!.fields).map(([key, value]): [string, string] => [key, text(value)]),
      ];
  return (
    <section class="card inc-entry" aria-label="Timeline entry">
      <header>
        <h2>
          {entry.alert && <LevelBadge level={entry.alert.level} />} {title}
        </h2>
        <button class="small" onClick={close}>
          Close
        </button>
      </header>
      <div class="card-body">
        <KeyValues entries={entries} />
      </div>
    </section>
  );
}
