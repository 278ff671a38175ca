/**
 * Incidents: each new alert is placed by the grouper (core/incidents) and the incident stored;
 * analysts move incidents through the status workflow and write notes. Every change goes through
 * one queue, so the grouper's memory and the store never disagree, and is published on the live feed.
 */
import { buildStoryline, IncidentGrouper, incidentTimeline, type IncidentDecision, type Storyline } from '@firebreak/core';
import type { IncidentRecord, IncidentStatus, StoredAlert, StoredEvent, StoredIncident, Store } from '@firebreak/store';
import type { AuditLog } from './audit.js';
import type { Principal } from './auth.js';
import { notFound } from './http/errors.js';
import type { LiveFeed } from './live-feed.js';

/** Open incidents taken up again at start, at most (the grouper's own cap). */
const RESTORED = 10_000;
/** Events around an incident that its storyline and timeline read, at most. */
const CONTEXT_EVENTS = 5000;
/** Context before the first and after the last alert. */
const CONTEXT_MS = 10 * 60 * 1000;
const ALERTS_SHOWN = 1000;
const UNPLACED_PAGE = 1000;

export class IncidentService {
  private readonly grouper: IncidentGrouper;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly feed: LiveFeed,
    private readonly audit: AuditLog,
    windowMs: number,
  ) {
    this.grouper = new IncidentGrouper({ windowMs });
  }

  /** Takes up the open incidents of the previous run. Returns what could not be restored. */
  async restore(): Promise<string[]> {
    const open = (await this.store.listIncidents({ limit: RESTORED })).filter(
      (i) => i.status !== 'resolved' && i.status !== 'false_positive',
    );
    return this.grouper.restore(open.map((incident) => ({ id: incident.id, record: recordOf(incident) })));
  }

  /**
   * Places alerts that were stored but never placed (the server stopped between the two) in
   * incidents; resolves with how many.
   */
  async assignUnplaced(): Promise<number> {
    let placed = 0;
    for (;;) {
      const alerts = await this.store.listAlerts({ unassigned: true, limit: UNPLACED_PAGE, order: 'asc' });
      if (alerts.length === 0) return placed;
      const ids = [...new Set(alerts.flatMap((a) => a.eventIds))];
      const events = new Map((await this.store.searchEvents({ ids, limit: ids.length })).map((e) => [e.id, e.fields]));
      const assigned = (await this.assign(alerts, (id) => events.get(id))).filter((a) => a.incidentId !== null);
      // An alert the grouper could not place would come back on every page.
      if (assigned.length === 0) return placed;
      placed += assigned.length;
    }
  }

  /** Places new alerts (with their evidence events' fields) in incidents; resolves with the alerts' incident ids set. */
  assign(alerts: StoredAlert[], fieldsOf: (eventId: number) => Record<string, unknown> | undefined): Promise<StoredAlert[]> {
    return this.serially(async () => {
      const decisions = alerts.map((alert) => this.grouper.assign({ ...alert, fields: fieldsOf(alert.eventIds[0]!) ?? alert.matched }));
      const ids = await this.storeDecisions(decisions);
      const byIncident = new Map<number, number[]>();
      alerts.forEach((alert, i) => {
        const id = ids.get(decisions[i]!.key);
        if (id === undefined) return;
        alert.incidentId = id;
        const placed = byIncident.get(id);
        if (placed) placed.push(alert.id);
        else byIncident.set(id, [alert.id]);
      });
      for (const [id, alertIds] of byIncident) await this.store.setAlertIncident(alertIds, id);
      return alerts;
    });
  }

  /** Stores the last record decided for each incident; returns grouper key → incident id. */
  private async storeDecisions(decisions: IncidentDecision[]): Promise<Map<string, number>> {
    const last = new Map<string, IncidentDecision>();
    for (const decision of decisions) last.set(decision.key, decision);
    const ids = new Map<string, number>();
    for (const [key, decision] of last) {
      const stored =
        decision.incidentId === 'new'
          ? await this.store.createIncident(decision.record)
          : await this.store.updateIncident(decision.incidentId, decision.record);
      if (!stored) continue;
      if (decision.incidentId === 'new') this.grouper.bind(key, stored.id);
      ids.set(key, stored.id);
      this.feed.publish('incident', incidentView(stored));
    }
    return ids;
  }

  /** The status workflow and notes: new → investigating → contained → resolved (or false positive), any order. */
  change(id: number, principal: Pick<Principal, 'name'>, change: { status?: IncidentStatus; note?: string }): Promise<StoredIncident> {
    return this.serially(async () => {
      const incident = await this.store.getIncident(id);
      if (!incident) throw notFound(`incident ${id}`);
      const record = recordOf(incident);
      if (change.status) record.status = change.status;
      if (change.note) record.notes = [...record.notes, { time: Date.now(), author: principal.name, text: change.note }];
      const stored = (await this.store.updateIncident(id, record))!;
      this.grouper.update(id, record);
      await this.audit.record(principal, change.status ? 'incident.status' : 'incident.note', `incident:${id}`, {
        ...(change.status ? { from: incident.status, to: change.status } : {}),
        ...(change.note ? { note: change.note } : {}),
      });
      this.feed.publish('incident', incidentView(stored));
      return stored;
    });
  }

  async get(id: number): Promise<StoredIncident> {
    const incident = await this.store.getIncident(id);
    if (!incident) throw notFound(`incident ${id}`);
    return incident;
  }

  async alerts(id: number): Promise<StoredAlert[]> {
    return this.store.listAlerts({ incidentId: id, limit: ALERTS_SHOWN, order: 'asc' });
  }

  /** The storyline: the incident's evidence and what its hosts did around it. */
  async storyline(id: number): Promise<Storyline> {
    const { events } = await this.context(id);
    return buildStoryline(events);
  }

  async timeline(id: number): Promise<ReturnType<typeof incidentTimeline<StoredEvent, StoredAlert>>> {
    const { events, alerts } = await this.context(id);
    return incidentTimeline(events, alerts);
  }

  private async context(id: number): Promise<{ events: StoredEvent[]; alerts: StoredAlert[] }> {
    const incident = await this.get(id);
    const alerts = await this.alerts(id);
    const evidenceIds = [...new Set(alerts.flatMap((a) => a.eventIds))];
    const evidence = evidenceIds.length ? await this.store.searchEvents({ ids: evidenceIds, limit: evidenceIds.length }) : [];
    const around = await Promise.all(
      incident.hosts.map((host) =>
        this.store.searchEvents({
          host,
          from: incident.first - CONTEXT_MS,
          to: incident.last + CONTEXT_MS,
          limit: Math.ceil(CONTEXT_EVENTS / incident.hosts.length),
          order: 'asc',
        }),
      ),
    );
    const byId = new Map<number, StoredEvent>();
    for (const event of [...evidence, ...around.flat()]) byId.set(event.id, event);
    return { events: [...byId.values()], alerts };
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

function recordOf(incident: StoredIncident): IncidentRecord {
  const { title, status, severity, score, hosts, first, last, alertCount, grouping, notes } = incident;
  return { title, status, severity, score, hosts, first, last, alertCount, grouping, notes };
}

/** The API's view of an incident; the grouping state is internal. */
export function incidentView(incident: StoredIncident): Record<string, unknown> {
  return {
    id: incident.id,
    title: incident.title,
    status: incident.status,
    severity: incident.severity,
    score: incident.score,
    hosts: incident.hosts,
    first: new Date(incident.first).toISOString(),
    last: new Date(incident.last).toISOString(),
    alert_count: incident.alertCount,
    notes: incident.notes.map((n) => ({ ...n, time: new Date(n.time).toISOString() })),
    created: new Date(incident.created).toISOString(),
    updated: new Date(incident.updated).toISOString(),
  };
}
