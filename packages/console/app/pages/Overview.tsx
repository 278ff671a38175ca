/** Overview: alerts over time, open incidents by severity, hosts online and isolated, ingest rate, what needs a decision. */
import { useState } from 'preact/hooks';
import type { Incident } from '../api';
import type { ActionView as Action } from './IncidentResponse';
import { Card, ErrorBox, LevelBadge, StatusBadge } from '../components/ui';
import { ago, plural, time } from '../format';
import { useGet, useInterval, useLive } from '../hooks';

interface OverviewData {
  alerts: { from: string; to: string; bucket_ms: number; buckets: { time: string; counts: Record<string, number> }[] };
  incidents: { open_by_severity: Record<string, number>; by_status: Record<string, number> };
  hosts: { agents: number; online: number; isolated: number };
  ingest: { accepted_total: number; events_per_second: number };
}

const STACK = ['informational', 'low', 'medium', 'high', 'critical'];
const SEVERITIES = ['critical', 'high', 'medium', 'low', 'informational'];
const WINDOWS = [
  { hours: 1, label: '1 h' },
  { hours: 24, label: '24 h' },
  { hours: 24 * 7, label: '7 d' },
  { hours: 24 * 30, label: '30 d' },
];

export function Overview() {
  const [hours, setHours] = useState(24);
  const overview = useGet<OverviewData>(`/api/v1/overview?hours=${hours}`);
  const incidents = useGet<{ incidents: Incident[] }>('/api/v1/incidents?limit=8');
  const pending = useGet<{ actions: Action[] }>('/api/v1/actions?status=pending_approval&limit=50');
  useLive(
    ['alert', 'incident', 'action', 'agent'],
    () => {
      overview.reload();
      incidents.reload();
      pending.reload();
    },
    3000,
  );
  // The ingest rate moves without alerts: refresh it now and then.
  useInterval(() => overview.reload(), 10_000);
  const data = overview.data;
  const openIncidents = data ? Object.values(data.incidents.open_by_severity).reduce((a, b) => a + b, 0) : 0;

  return (
    <>
      <div class="page-header">
        <h1>Overview</h1>
        <div class="page-tools" role="group" aria-label="Time window">
          {WINDOWS.map((w) => (
            <button key={w.hours} class={w.hours === hours ? 'primary small' : 'plain small'} onClick={() => setHours(w.hours)}>
              {w.label}
            </button>
          ))}
        </div>
      </div>
      <ErrorBox error={overview.error} />
      <div class="grid-4">
        <Card title="Open incidents">
          <div class="stat">{data ? openIncidents : '–'}</div>
          <div class="stat-label">
            {SEVERITIES.filter((s) => data?.incidents.open_by_severity[s]).map((s) => (
              <span key={s} style={{ marginRight: '8px' }}>
                <LevelBadge level={s} /> {data!.incidents.open_by_severity[s]}
              </span>
            ))}
          </div>
        </Card>
        <Card title="Hosts">
          <div class="stat">{data ? `${data.hosts.online} / ${data.hosts.agents}` : '–'}</div>
          <div class="stat-label">online / enrolled agents</div>
        </Card>
        <Card title="Isolated">
          <div class="stat" style={{ color: data?.hosts.isolated ? 'var(--critical)' : undefined }}>
            {data ? data.hosts.isolated : '–'}
          </div>
          <div class="stat-label">hosts cut off by containment</div>
        </Card>
        <Card title="Ingest">
          <div class="stat">{data ? `${formatRate(data.ingest.events_per_second)}/s` : '–'}</div>
          <div class="stat-label">{data ? `${plural(data.ingest.accepted_total, 'event')} accepted since start` : ''}</div>
        </Card>
      </div>
      <Card title={`Alerts over the last ${WINDOWS.find((w) => w.hours === hours)?.label ?? `${hours} h`}`}>
        {data ? <AlertChart data={data.alerts} /> : null}
      </Card>
      <div class="grid-2">
        <Card title="Latest incidents" actions={<a href="#/incidents">all incidents →</a>}>
          <ErrorBox error={incidents.error} />
          <table class="plain">
            <tbody>
              {(incidents.data?.incidents ?? []).map((i) => (
                <tr key={i.id}>
                  <td>
                    <LevelBadge level={i.severity} />
                  </td>
                  <td>
                    <a href={`#/incidents/${i.id}`}>{i.title}</a>
                    <div class="muted">{i.hosts.join(', ')}</div>
                  </td>
                  <td>
                    <StatusBadge status={i.status} />
                  </td>
                  <td class="muted" title={time(i.last)}>
                    {ago(i.last)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {incidents.data?.incidents.length === 0 && <div class="empty">No incidents.</div>}
        </Card>
        <Card title="Waiting for approval" actions={<a href="#/response">response →</a>}>
          <ErrorBox error={pending.error} />
          {(pending.data?.actions ?? []).length === 0 ? (
            <div class="empty">No action waits for a decision.</div>
          ) : (
            <table class="plain">
              <tbody>
                {pending.data!.actions.map((a) => (
                  <tr key={a.id}>
                    <td>
                      <strong>{a.type}</strong> {a.hostname ?? (a.fleet ? 'fleet' : '')}
                    </td>
                    <td class="muted">{a.reason}</td>
                    <td>{a.incident_id ? <a href={`#/incidents/${a.incident_id}`}>incident #{a.incident_id}</a> : null}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
      </div>
    </>
  );
}

function formatRate(perSecond: number): string {
  return perSecond >= 1000 ? `${(perSecond / 1000).toFixed(1)}k` : perSecond.toFixed(perSecond < 10 ? 1 : 0);
}

/** Stacked bars per time bucket, one colour per level (SVG: crisp at any width, no chart library to load). */
function AlertChart({ data }: { data: OverviewData['alerts'] }) {
  const width = 1000;
  const height = 150;
  const buckets = data.buckets;
  const totals = buckets.map((b) => STACK.reduce((sum, level) => sum + (b.counts[level] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const barWidth = width / Math.max(1, buckets.length);
  const total = totals.reduce((a, b) => a + b, 0);
  return (
    <>
      <svg class="chart" viewBox={`0 0 ${width} ${height + 18}`} preserveAspectRatio="none" role="img" aria-label={`${total} alerts`}>
        {buckets.map((bucket, index) => {
          let y = height;
          return (
            <g key={bucket.time}>
              <title>
                {time(bucket.time)}: {totals[index]} alerts
              </title>
              {STACK.map((level) => {
                const count = bucket.counts[level] ?? 0;
                if (count === 0) return null;
                const h = (count / max) * (height - 4);
                y -= h;
                return (
                  <rect
                    key={level}
                    x={index * barWidth + 1}
                    y={y}
                    width={Math.max(1, barWidth - 2)}
                    height={h}
                    fill={`var(--${level === 'informational' ? 'info' : level})`}
                  />
                );
              })}
            </g>
          );
        })}
        <line x1="0" x2={width} y1={height} y2={height} stroke="var(--line)" />
      </svg>
      <div class="legend">
        <span>{time(data.from)}</span>
        {SEVERITIES.map((level) => (
          <span key={level}>
            <span class="swatch" style={{ background: `var(--${level === 'informational' ? 'info' : level})` }} />
            {level}
          </span>
        ))}
        <span style={{ marginLeft: 'auto' }}>
          {plural(total, 'alert')} · max {max} per {Math.round(data.bucket_ms / 60_000)} min · to {time(data.to)}
        </span>
      </div>
    </>
  );
}
