/** An incident's timeline: its events and alerts in one time order. */

export type IncidentTimelineEntry<E, A> = { time: number; event: E } | { time: number; alert: A };

/**
 * Events (by `time`) and alerts (by `timestamp`) merged oldest first. At the same time an event
 * comes before the alerts it raised; ties within each kind keep id order.
 */
export function incidentTimeline<E extends { id: number; time: number }, A extends { id: number; timestamp: number }>(
  events: readonly E[],
  alerts: readonly A[],
): IncidentTimelineEntry<E, A>[] {
  const sortedEvents = [...events].sort((a, b) => a.time - b.time || a.id - b.id);
  const sortedAlerts = [...alerts].sort((a, b) => a.timestamp - b.timestamp || a.id - b.id);
  const entries: IncidentTimelineEntry<E, A>[] = [];
  let e = 0;
  let a = 0;
  while (e < sortedEvents.length || a < sortedAlerts.length) {
    const event = sortedEvents[e];
    const alert = sortedAlerts[a];
    if (event !== undefined && (alert === undefined || event.time <= alert.timestamp)) {
      entries.push({ time: event.time, event });
      e++;
    } else {
      entries.push({ time: alert!.timestamp, alert: alert! });
      a++;
    }
  }
  return entries;
}
