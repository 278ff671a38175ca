/**
 * Which incident an alert belongs to, decided in memory, deterministically, as an analyst would group
 * alerts by hand.
 *
 * Grouping rules, in order:
 * 1. Related alerts join. An alert is related to an open incident when its time is within the
 *    window of the incident's alerts (between first − window and last + window) and it shares
 *    - process lineage on the same host: a ProcessGuid/ParentProcessGuid of one of the incident's
 *      processes, or a ProcessId/ParentProcessId (the window keeps PID reuse out); or
 *    - an indicator: a file's content hash, a domain or a destination address (on any host: that
 *      is how spread shows, and the incident records every host), a personal account on the same
 *      host, or a file the incident wrote that the alert runs or loads.
 *    When several incidents are related, the one sharing lineage wins, then the one sharing the
 *    most keys, then the most recently active.
 * 2. Otherwise an alert joins the only open incident of its host within the window: one machine
 *    seldom has two unrelated attacks at once, and an analyst looking at it wants everything it
 *    did in that time. When the host has several, the alert cannot be placed and opens its own
 *    rather than be guessed into one. Alerts naming no host relate by hash, domain and address only.
 * 3. Otherwise the alert opens a new incident.
 * Resolved and false-positive incidents are never joined. Incidents are never merged: an alert
 * related to two joins one, and its keys point to that one from then on.
 *
 * Memory: relation keys, rules and hosts per incident are capped (grouping-state.ts); an incident
 * leaves the index once every host it is on has an alert later than its last one + the window
 * (per-host clocks, so an uploaded old log groups as well as live events), and beyond `maxIncidents`
 * the least recently active incidents leave first.
 *
 * New incidents: `assign` answers `incidentId: 'new'` with a `key`; the server stores the record and
 * calls `bind(key, id)`. Alerts assigned before that carry the same key (and 'new'), so a server that
 * stores decisions in batches creates one incident per key, with the last record for that key.
 */
import { TACTICS, attackOf } from '../hunt/attack.js';
import { LEVELS, levelRank } from '../hunt/detection.js';
import {
  MAX_INCIDENT_HOSTS,
  MAX_INCIDENT_KEYS,
  MAX_INCIDENT_RULES,
  emptyGrouping,
  groupingDocument,
  parseGrouping,
  type GroupingState,
  type RuleTally,
} from './grouping-state.js';
import { INCIDENT_STATUSES, isClosed, type IncidentRecord } from './record.js';
import { relationsOf, type AlertFacts, type Relations } from './relations.js';
import { incidentScore, incidentSeverity, incidentTitle, rulePoints } from './score.js';
import { textOf } from './values.js';

export const DEFAULT_INCIDENT_WINDOW_MS = 2 * 60 * 60 * 1000;
export const DEFAULT_MAX_INCIDENTS = 10_000;

export interface IncidentGrouperOptions {
  /** How far apart (ms) alerts of one incident may be; default 2 hours. */
  windowMs?: number;
  /** Open incidents kept in memory; default 10,000. */
  maxIncidents?: number;
}

export interface IncidentDecision {
  /** The stored incident to update, or 'new': store the record, then `bind(key, id)`. */
  incidentId: number | 'new';
  /** The grouper's name for the incident: the same for all its alerts, before and after bind. */
  key: string;
  /** The incident's record with this alert in it: what to store. */
  record: IncidentRecord;
}

/** A stored incident to take up again (after a restart). */
export interface RestoredIncident {
  id: number;
  record: IncidentRecord;
}

interface TrackedIncident {
  key: string;
  id: number | undefined;
  /** The record as last decided; its `grouping` is written from `state` when handed out. */
  record: IncidentRecord;
  state: GroupingState;
  keys: Set<string>;
  rules: Map<string, RuleTally>;
  /** Lower-case hosts of record.hosts, plus '' once an alert without a host joined: the clocks that age it. */
  clockHosts: Set<string>;
}

/** How many relation keys an alert shares with an incident, and how many of them are process lineage. */
interface SharedKeys {
  lineage: number;
  keys: number;
}

interface Candidate {
  incident: TrackedIncident;
  tally: SharedKeys;
}

export class IncidentGrouper {
  private readonly windowMs: number;
  private readonly maxIncidents: number;
  /** By key, least recently active first (re-inserted on every alert). */
  private readonly incidents = new Map<string, TrackedIncident>();
  private readonly byId = new Map<number, TrackedIncident>();
  private readonly byRelation = new Map<string, TrackedIncident>();
  private readonly byHost = new Map<string, Set<TrackedIncident>>();
  /** Per host (lower case; '' for alerts without one): the latest alert time seen. */
  private readonly clocks = new Map<string, number>();
  private sequence = 0;

  constructor(options: IncidentGrouperOptions = {}) {
    this.windowMs = positive(options.windowMs ?? DEFAULT_INCIDENT_WINDOW_MS, 'windowMs');
    this.maxIncidents = positive(options.maxIncidents ?? DEFAULT_MAX_INCIDENTS, 'maxIncidents');
  }

  /** Open incidents in memory. */
  get size(): number {
    return this.incidents.size;
  }

  /** The incident `alert` belongs to, updated with it. Throws RangeError when its timestamp is not a number of ms. */
  assign(alert: AlertFacts): IncidentDecision {
    if (!Number.isFinite(alert.timestamp))
      throw new RangeError(`alert ${alert.id}: timestamp ${String(alert.timestamp)} is not a time in ms`);
    const relations = relationsOf(alert);
    const clockHost = relations.host ?? '';
    this.advanceClock(clockHost, alert.timestamp);
    const incident =
      this.relatedIncident(relations, alert.timestamp) ??
      this.onlyIncidentOfHost(relations.host, alert.timestamp) ??
      this.open(alert.timestamp);
    this.add(incident, alert, relations);
    this.touch(incident);
    // A host the incident could not list (its host cap) has no incident to age: forget its clock.
    if (!this.byHost.has(clockHost)) this.clocks.delete(clockHost);
    return decisionOf(incident);
  }

  /**
   * Names a new incident by the id the server stored it under. False when the key is no longer in
   * memory (the incident aged out before it was stored). Throws when the key or the id is already bound.
   */
  bind(key: string, id: number): boolean {
    const incident = this.incidents.get(key);
    if (!incident) return false;
    if (incident.id === id) return true;
    if (incident.id !== undefined) throw new Error(`incident ${key} is already bound to id ${incident.id}, not ${id}`);
    const holder = this.byId.get(id);
    if (holder) throw new Error(`incident id ${id} is already bound to ${holder.key}`);
    incident.id = id;
    this.byId.set(id, incident);
    return true;
  }

  /**
   * Takes up stored incidents again (after a restart): the open ones within the window join later
   * alerts as before. Returns what could not be read (`incident ID: …`); the rest of each record is kept.
   */
  restore(incidents: readonly RestoredIncident[]): string[] {
    const problems: string[] = [];
    const restored: TrackedIncident[] = [];
    for (const { id, record } of incidents) {
      const incident = this.restoreOne(id, record, problems);
      if (incident) restored.push(incident);
    }
    // Clocks are known only once all are in: an incident older than a later one on its hosts ages out.
    for (const incident of restored) if (this.isStale(incident)) this.drop(incident);
    return problems;
  }

  /**
   * The server changed a stored incident (an analyst set its status or wrote a note): the grouper
   * takes the status and notes, forgets a closed incident, and takes up a reopened one. Returns problems as restore does.
   */
  update(id: number, record: IncidentRecord): string[] {
    const incident = this.byId.get(id);
    if (!incident) return this.restore([{ id, record }]);
    if (isClosed(record.status)) this.drop(incident);
    else {
      incident.record.status = record.status;
      incident.record.notes = [...record.notes];
    }
    return [];
  }

  private restoreOne(id: number, record: IncidentRecord, problems: string[]): TrackedIncident | undefined {
    const where = `incident ${id}`;
    const invalid = invalidRecordPart(record);
    if (invalid !== undefined) {
      problems.push(`${where}: ${invalid}; not restored`);
      return undefined;
    }
    const existing = this.byId.get(id);
    if (existing) this.drop(existing);
    if (isClosed(record.status)) return undefined;
    const state = parseGrouping(record.grouping, where, problems);
    const incident = this.track({ ...record, hosts: [...record.hosts], notes: [...record.notes] }, state);
    incident.id = id;
    this.byId.set(id, incident);
    for (const host of record.hosts) this.addHostKey(incident, host.toLowerCase());
    if (incident.clockHosts.size === 0) this.addHostKey(incident, '');
    for (const clockHost of incident.clockHosts)
      this.clocks.set(clockHost, Math.max(this.clocks.get(clockHost) ?? record.last, record.last));
    for (const key of state.keys) {
      incident.keys.add(key);
      const holder = this.byRelation.get(key);
      if (!holder || holder.record.last <= record.last) this.byRelation.set(key, incident);
    }
    this.touch(incident);
    return incident;
  }

  private track(record: IncidentRecord, state: GroupingState): TrackedIncident {
    const incident: TrackedIncident = {
      key: `incident-${++this.sequence}`,
      id: undefined,
      record,
      state,
      keys: new Set(),
      rules: new Map(state.rules.map((rule) => [ruleKey(rule.kind, rule.id), rule])),
      clockHosts: new Set(),
    };
    this.incidents.set(incident.key, incident);
    return incident;
  }

  private open(time: number): TrackedIncident {
    const record: IncidentRecord = {
      title: '',
      status: 'new',
      severity: 'informational',
      score: 0,
      hosts: [],
      first: time,
      last: time,
      alertCount: 0,
      grouping: {},
      notes: [],
    };
    return this.track(record, emptyGrouping());
  }

  private advanceClock(clockHost: string, time: number): void {
    const clock = this.clocks.get(clockHost);
    if (clock !== undefined && clock >= time) return;
    this.clocks.set(clockHost, time);
    for (const incident of this.byHost.get(clockHost) ?? []) if (this.isStale(incident)) this.drop(incident);
  }

  /** Every host the incident is on has moved on past its window. */
  private isStale(incident: TrackedIncident): boolean {
    const horizon = incident.record.last + this.windowMs;
    for (const clockHost of incident.clockHosts) if ((this.clocks.get(clockHost) ?? -Infinity) <= horizon) return false;
    return true;
  }

  private joinable(incident: TrackedIncident, time: number): boolean {
    const { status, first, last } = incident.record;
    return !isClosed(status) && time >= first - this.windowMs && time <= last + this.windowMs;
  }

  private relatedIncident(relations: Relations, time: number): TrackedIncident | undefined {
    const shared = new Map<TrackedIncident, SharedKeys>();
    const count = (keys: readonly string[], lineage: boolean): void => {
      for (const key of keys) {
        const incident = this.byRelation.get(key);
        if (!incident || !this.joinable(incident, time)) continue;
        const tally = shared.get(incident) ?? { lineage: 0, keys: 0 };
        if (lineage) tally.lineage++;
        tally.keys++;
        shared.set(incident, tally);
      }
    };
    count(relations.lineage, true);
    count(relations.indicators, false);
    count(relations.written, false);
    let best: Candidate | undefined;
    for (const [incident, tally] of shared) if (!best || isCloser({ incident, tally }, best)) best = { incident, tally };
    return best?.incident;
  }

  private onlyIncidentOfHost(host: string | undefined, time: number): TrackedIncident | undefined {
    if (host === undefined) return undefined;
    let only: TrackedIncident | undefined;
    for (const incident of this.byHost.get(host) ?? []) {
      if (!this.joinable(incident, time)) continue;
      if (only) return undefined;
      only = incident;
    }
    return only;
  }

  private add(incident: TrackedIncident, alert: AlertFacts, relations: Relations): void {
    const { record, state } = incident;
    record.first = Math.min(record.first, alert.timestamp);
    record.last = Math.max(record.last, alert.timestamp);
    record.alertCount++;
    this.addHost(incident, alert.computer, relations.host);
    for (const key of relations.lineage) this.addRelation(incident, key);
    for (const key of relations.indicators) this.addRelation(incident, key);
    if (levelRank(alert.level) > levelRank(state.level)) state.level = LEVELS[levelRank(alert.level)];
    this.addRule(incident, alert);
    const tactics = attackOf(alert.tags).tactics;
    if (tactics.some((tactic) => !state.tactics.includes(tactic)))
      state.tactics = attackOf([...state.tactics, ...tactics].map(tacticTag)).tactics;
    rescore(incident);
  }

  private addHost(incident: TrackedIncident, computer: string | null, host: string | undefined): void {
    if (host === undefined) {
      this.addHostKey(incident, '');
      return;
    }
    if (incident.clockHosts.has(host) || incident.record.hosts.length >= MAX_INCIDENT_HOSTS) return;
    incident.record.hosts.push(textOf(computer)!);
    this.addHostKey(incident, host);
  }

  private addHostKey(incident: TrackedIncident, clockHost: string): void {
    if (incident.clockHosts.has(clockHost)) return;
    incident.clockHosts.add(clockHost);
    let onHost = this.byHost.get(clockHost);
    if (!onHost) this.byHost.set(clockHost, (onHost = new Set()));
    onHost.add(incident);
  }

  private addRelation(incident: TrackedIncident, key: string): void {
    if (!incident.keys.has(key)) {
      if (incident.keys.size >= MAX_INCIDENT_KEYS) return;
      incident.keys.add(key);
      incident.state.keys.push(key);
    }
    this.byRelation.set(key, incident);
  }

  private addRule(incident: TrackedIncident, alert: AlertFacts): void {
    const key = ruleKey(alert.kind, alert.ruleId);
    const tally = incident.rules.get(key);
    if (tally) {
      tally.alerts++;
      if (levelRank(alert.level) > levelRank(tally.level)) tally.level = alert.level;
      return;
    }
    if (incident.rules.size >= MAX_INCIDENT_RULES) return;
    const added = { kind: alert.kind, id: alert.ruleId, title: alert.ruleTitle, level: alert.level, alerts: 1 };
    incident.rules.set(key, added);
    incident.state.rules.push(added);
  }

  /** Marks the incident most recently active, and keeps memory within maxIncidents. */
  private touch(incident: TrackedIncident): void {
    this.incidents.delete(incident.key);
    this.incidents.set(incident.key, incident);
    for (const oldest of this.incidents.values()) {
      if (this.incidents.size <= this.maxIncidents) break;
      this.drop(oldest);
    }
  }

  private drop(incident: TrackedIncident): void {
    // Restoring may evict an incident (maxIncidents) before the stale sweep comes to it.
    if (this.incidents.get(incident.key) !== incident) return;
    this.incidents.delete(incident.key);
    if (incident.id !== undefined) this.byId.delete(incident.id);
    for (const key of incident.keys) if (this.byRelation.get(key) === incident) this.byRelation.delete(key);
    for (const clockHost of incident.clockHosts) {
      const onHost = this.byHost.get(clockHost);
      onHost?.delete(incident);
      if (onHost?.size === 0) {
        this.byHost.delete(clockHost);
        this.clocks.delete(clockHost);
      }
    }
  }
}

function rescore(incident: TrackedIncident): void {
  const { record, state } = incident;
  record.score = incidentScore({ rules: state.rules, tactics: state.tactics.length, hosts: record.hosts.length });
  record.severity = incidentSeverity(state.level, record.score, record.hosts.length);
  record.title = incidentTitle(topRule(state.rules)?.title ?? 'Incident', record.hosts, state.rules.length);
}

/** The rule that weighs most (then the highest level, then the first to fire): what the incident is named after. */
function topRule(rules: readonly RuleTally[]): RuleTally | undefined {
  let top: RuleTally | undefined;
  for (const rule of rules) {
    const gain = top === undefined ? 1 : rulePoints(rule) - rulePoints(top) || levelRank(rule.level) - levelRank(top.level);
    if (gain > 0) top = rule;
  }
  return top;
}

/** Whether `a` is more closely related to an alert than `b`: shared lineage, then more shared keys, then more recently active. */
function isCloser(a: Candidate, b: Candidate): boolean {
  const order =
    Math.sign(a.tally.lineage) - Math.sign(b.tally.lineage) ||
    a.tally.keys - b.tally.keys ||
    a.incident.record.last - b.incident.record.last;
  return order > 0;
}

function decisionOf(incident: TrackedIncident): IncidentDecision {
  const record = incident.record;
  return {
    incidentId: incident.id ?? 'new',
    key: incident.key,
    record: { ...record, hosts: [...record.hosts], notes: [...record.notes], grouping: groupingDocument(incident.state) },
  };
}

const TAG_BY_TACTIC = new Map<string, string>(TACTICS.map(([tag, name]) => [name, `attack.${tag}`]));

/** The tag of a tactic name, so that attackOf puts a merged list in kill-chain order. */
function tacticTag(name: string): string {
  return TAG_BY_TACTIC.get(name) ?? name;
}

function ruleKey(kind: string, id: string): string {
  return `${kind}|${id}`;
}

/** What is wrong with a stored record's parts the grouper reads, or undefined when nothing is. */
function invalidRecordPart(record: IncidentRecord): string | undefined {
  if (!(INCIDENT_STATUSES as readonly string[]).includes(record.status))
    return `status ${JSON.stringify(record.status)} is not an incident status`;
  if (!Array.isArray(record.hosts) || !record.hosts.every((host) => typeof host === 'string')) return 'hosts is not a list of text';
  if (!Number.isFinite(record.first) || !Number.isFinite(record.last)) return 'first/last are not times';
  if (!Number.isSafeInteger(record.alertCount)) return 'alertCount is not a count';
  if (!Array.isArray(record.notes)) return 'notes is not a list';
  return undefined;
}

function positive(value: number, name: string): number {
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`IncidentGrouper: ${name} must be a positive number, not ${value}`);
  return value;
}
