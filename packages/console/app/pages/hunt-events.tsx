/** How the Hunt page shows stored events: a one-line summary per row, and every field of the one opened. */
import { Fragment } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type { StoredEvent } from '../api';
import type { Column } from '../components/VirtualTable';
import { text, time } from '../format';

/** Fields that say what an event is about, most telling first; a row shows the first few present. */
const SUMMARY_FIELDS = [
  'QueryName',
  'DestinationIp',
  'DestinationPort',
  'DestinationHostname',
  'TargetFilename',
  'TargetObject',
  'Details',
  'ImageLoaded',
  'CommandLine',
  'Image',
  'ParentImage',
  'TargetUserName',
  'LogonType',
  'IpAddress',
  'ServiceName',
  'TaskName',
  'ScriptBlockText',
  'type',
  'exe',
  'comm',
  'acct',
  'addr',
  'res',
  'app_name',
  'message',
  'url',
  'query',
];
const SUMMARY_PAIRS = 4;
/** A summary value longer than this is cut (the row shows one line; the detail shows all). */
const SUMMARY_VALUE = 200;

export function summaryPairs(event: StoredEvent): [string, string][] {
  const pairs: [string, string][] = [];
  for (const name of SUMMARY_FIELDS) {
    const value = text(event.fields[name]);
    // Sysmon writes "-" for a value it does not have.
    if (value === '' || value === '-') continue;
    pairs.push([name, value.length > SUMMARY_VALUE ? `${value.slice(0, SUMMARY_VALUE)}…` : value]);
    if (pairs.length === SUMMARY_PAIRS) break;
  }
  return pairs;
}

/** `Sysmon/Operational` for `Microsoft-Windows-Sysmon/Operational`: the prefix is on most channels and says nothing. */
function shortChannel(event: StoredEvent): string {
  return (event.channel ?? event.format).replace(/^Microsoft-Windows-/, '');
}

function Summary({ event }: { event: StoredEvent }) {
  const pairs = summaryPairs(event);
  if (pairs.length === 0) return <span class="muted">{Object.keys(event.fields).length} fields</span>;
  return (
    <span title={pairs.map(([k, v]) => `${k}: ${v}`).join('\n')}>
      {pairs.map(([key, value]) => (
        <span key={key} class="hunt-pair">
          <span class="hunt-key">{key}</span> {value}
        </span>
      ))}
    </span>
  );
}

export const EVENT_COLUMNS: Column<StoredEvent>[] = [
  { key: 'time', title: 'Time (UTC)', width: '172px', render: (e) => time(e.time), sort: (e) => e.time },
  { key: 'host', title: 'Host', width: 'minmax(100px, 130px)', render: (e) => e.host ?? '', sort: (e) => e.host ?? '' },
  {
    key: 'channel',
    title: 'Channel / format',
    width: 'minmax(120px, 170px)',
    render: (e) => <span title={`${e.channel ?? ''} (${e.format})`}>{shortChannel(e)}</span>,
    sort: (e) => shortChannel(e),
  },
  { key: 'eventId', title: 'Event', width: '64px', render: (e) => e.eventId ?? '', sort: (e) => e.eventId ?? -1, align: 'right' },
  { key: 'summary', title: 'Summary', width: 'minmax(240px, 1fr)', render: (e) => <Summary event={e} /> },
];

/** Every field of one event, as text; Escape closes it. */
export function EventDrawer({ event, close }: { event: StoredEvent; close: () => void }) {
  const closeButton = useRef<HTMLButtonElement>(null);
  useEffect(() => closeButton.current?.focus(), [event.id]);
  const meta: [string, string][] = [
    ['Time (UTC)', time(event.time)],
    ['Received (UTC)', time(event.received)],
    ['Host', event.host ?? ''],
    ['Format', event.format],
    ['Channel', event.channel ?? ''],
    ['Event id', event.eventId === null ? '' : String(event.eventId)],
    ['Origin', event.origin ?? ''],
    ['Stored id', String(event.id)],
  ];
  const fields = Object.entries(event.fields).map(([key, value]): [string, string] => [key, text(value)]);
  return (
    <div
      class="hunt-drawer"
      role="dialog"
      aria-label={`Event ${event.id}`}
      onKeyDown={(e) => {
        if (e.key !== 'Escape') return;
        e.stopPropagation();
        close();
      }}
    >
      <header>
        <h2>
          {event.host ?? 'event'} · {shortChannel(event)}
          {event.eventId !== null ? ` · ${event.eventId}` : ''}
        </h2>
        <button ref={closeButton} class="plain small" onClick={close}>
          Close
        </button>
      </header>
      <div class="hunt-drawer-body">
        <FieldList entries={meta} />
        <h3>Fields ({fields.length})</h3>
        <FieldList entries={fields} />
      </div>
    </div>
  );
}

function FieldList({ entries }: { entries: [string, string][] }) {
  return (
    <dl class="kv hunt-fields">
      {entries.map(([key, value]) => (
        <Fragment key={key}>
          <dt>{key}</dt>
          <dd class="mono">{value}</dd>
        </Fragment>
      ))}
    </dl>
  );
}
