/**
 * Events from every ingest path go through one pipeline: parsed and run through the rules on the
 * ingest threads, stored durably in group commits (the caller's "accepted" waits for that),
 * correlated here in storage order, stored as alerts and grouped into incidents. Events read on
 * this thread (uploads, syslog) are stored first and their rules run after. A "detected through"
 * mark in the store tells a restarted server which stored events still need detection, so neither
 * a crash nor kill -9 loses an alert of an acknowledged event.
 */
import { CorrelationStage, type Detection, type FirebreakEvent, type HuntItem } from '@firebreak/core';
import type { AlertRecord, SerializedEventRecord, StoredAlert, Store } from '@firebreak/store';
import type { Detected, EventForDetection, Parsed } from './detection/protocol.js';
import { eventRecord } from './detection/records.js';
import type { IngestThreads, ParseRequest } from './detection/threads.js';
import { HttpError } from './http/errors.js';
import type { IncidentService } from './incidents.js';
import type { LiveFeed } from './live-feed.js';
import { alertView } from './routes/alerts.js';
import type { Stats } from './stats.js';

const DETECTED_THROUGH = 'detected_through';
/** Stored events per detection request when replaying. */
const REPLAY_BATCH = 1000;
/** Events per transaction at most (one group commit). */
const COMMIT_EVENTS = 20_000;

export interface IngestOptions {
  /** Replaces the origin the reader gave (an upload's spool file by the uploaded name). */
  originOf?: (event: FirebreakEvent) => string;
  /** The events were already taken off the network: the source is paused instead of refused. */
  taken?: boolean;
}

/** Stored events on their way through detection to alerts. */
interface Committed {
  records: SerializedEventRecord[];
  ids: number[];
  detection: Promise<Detected>;
  /** Set once `detection` has settled. */
  outcome?: { detected: Detected } | { error: Error };
}

interface WriteRequest {
  records: SerializedEventRecord[];
  /** The rule matches (by index into records) when the records were parsed and matched in one pass. */
  detected?: Detected;
  resolve(ids: number[]): void;
  reject(error: Error): void;
}

/** Told of alerts once they are stored and in incidents, with the fields of their events. */
export type AlertListener = (alerts: readonly StoredAlert[], fields: (eventId: number) => Record<string, unknown> | undefined) => void;

/**
 * A look at every stored event after its rules, in storage order, that may raise alerts of its
 * own: indicator hits (response/indicator-hits.ts), behaviour drift and the software inventory
 * (supply-chain/).
 */
export interface EventStage {
  /** `fields()` parses the record's fields once for all stages: call it only for events the stage reads. */
  alertsFor(record: SerializedEventRecord, eventId: number, fields: () => Record<string, unknown>): readonly AlertRecord[];
}

export class Pipeline {
  private readonly writes: WriteRequest[] = [];
  private writing = false;
  /** Events accepted into the pipeline and not yet through detection. */
  private pending = 0;
  private readonly correlations: CorrelationStage;
  /** Committed batches in storage order, waiting for their alerts to be recorded. */
  private readonly committed: Committed[] = [];
  private recording = false;
  /** Set when a round's alerts could not be recorded: from then on the mark stays where it was. */
  private markStopped = false;
  private idle: (() => void)[] = [];
  private readonly alertListeners: AlertListener[] = [];
  private readonly stages: EventStage[] = [];
  private roomWaiters: (() => void)[] = [];

  constructor(
    private readonly store: Store,
    private readonly threads: IngestThreads,
    private readonly incidents: IncidentService,
    private readonly feed: LiveFeed,
    private readonly stats: Stats,
    /** Events in the pipeline at most; past it ingest is refused with 429 until detection catches up. */
    readonly maxPending: number,
  ) {
    this.correlations = new CorrelationStage(threads.summary?.correlations ?? []);
  }

  get queued(): number {
    return this.pending;
  }

  get full(): boolean {
    return this.pending >= this.maxPending;
  }

  /** Throws a 429 when `count` more events do not fit (an empty queue takes any batch: a large one is not refused for ever). */
  admit(count: number): void {
    if (this.pending > 0 && this.pending + count > this.maxPending) {
      this.stats.throttled++;
      throw new HttpError(429, `ingest queue full (${this.pending} events waiting for detection); retry shortly`, { 'retry-after': '1' });
    }
  }

  /**
   * A request body (NDJSON, raw lines or an Elasticsearch bulk body) parsed and matched on an
   * ingest thread, then stored; resolves once stored with the events' ids (in record order).
   */
  async ingestBody(request: ParseRequest): Promise<Parsed & { ids: number[] }> {
    const parsed = await this.threads.parse(request);
    this.admit(parsed.records.length);
    for (const problem of parsed.problems) this.stats.problem(problem);
    this.stats.received += parsed.rejected.length;
    this.stats.rejected += parsed.rejected.length;
    const ids = await this.write(parsed.records, parsed);
    return { ...parsed, ids };
  }

  /** Events read on this thread: stored, then matched on an ingest thread; resolves with their ids once stored. */
  async ingest(events: readonly FirebreakEvent[], receivedAt: number, options: IngestOptions = {}): Promise<number[]> {
    if (events.length === 0) return [];
    if (!options.taken) this.admit(events.length);
    const records: SerializedEventRecord[] = [];
    for (const event of events) {
      try {
        records.push(eventRecord(event, receivedAt, options.originOf?.(event)));
      } catch (error) {
        // Fields JSON cannot hold (nested past the stack): that event is lost, not its batch.
        this.stats.rejected++;
        this.stats.problem(`${event.origin}: cannot store this event: ${(error as Error).message}`);
      }
    }
    return this.write(records);
  }

  private async write(records: SerializedEventRecord[], detected?: Detected): Promise<number[]> {
    if (records.length === 0) return [];
    this.stats.received += records.length;
    this.pending += records.length;
    try {
      const ids = await new Promise<number[]>((resolve, reject) => {
        this.writes.push({ records, detected, resolve, reject });
        void this.writeLoop();
      });
      this.stats.accepted += ids.length;
      return ids;
    } catch (error) {
      this.settled(records.length);
      throw error;
    }
  }

  /** Group commit: whatever queued while the previous transaction ran goes in the next one. */
  private async writeLoop(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.writes.length > 0) {
        const group = takeGroup(this.writes);
        let ids: number[];
        try {
          ids = await this.store.appendEvents(group.flatMap((w) => w.records));
        } catch (error) {
          for (const w of group) w.reject(new HttpError(503, `events could not be stored: ${(error as Error).message}`));
          continue;
        }
        let at = 0;
        for (const w of group) {
          const own = ids.slice(at, at + w.records.length);
          at += w.records.length;
          this.afterCommit(w.records, own, w.detected);
          w.resolve(own);
        }
      }
    } finally {
      this.writing = false;
    }
  }

  /** Detection (now, unless it ran with the parsing), then alerts in storage order. */
  private afterCommit(records: SerializedEventRecord[], ids: number[], detected?: Detected): void {
    const entry: Committed = {
      records,
      ids,
      detection: detected ? Promise.resolve(detected) : this.threads.detect(records.map((r, i) => detectionInput(r, ids[i]!))),
    };
    entry.detection.then(
      (result) => (entry.outcome = { detected: result }),
      (error: Error) => (entry.outcome = { error }),
    );
    this.committed.push(entry);
    void this.recordLoop();
  }

  /**
   * Records alerts in storage order. Batches whose detection is done by the time the previous round
   * ends go in one round: one alert insert, one incident pass, one mark, whatever the batch sizes.
   */
  private async recordLoop(): Promise<void> {
    if (this.recording) return;
    this.recording = true;
    try {
      while (this.committed.length > 0) {
        await this.committed[0]!.detection.catch(() => undefined);
        let n = 1;
        while (n < this.committed.length && this.committed[n]!.outcome) n++;
        const round = this.committed.splice(0, n);
        try {
          await this.record(round);
        } catch (error) {
          this.detectionFailed(round, error as Error);
        }
        this.settled(round.reduce((sum, c) => sum + c.records.length, 0));
      }
    } finally {
      this.recording = false;
    }
  }

  /** One round's alerts; the batches whose detection failed are retried once on a fresh request. */
  private async record(round: Committed[]): Promise<void> {
    const alerts: AlertRecord[] = [];
    const evidence = new Map<number, SerializedEventRecord>();
    for (const batch of round) {
      const detected = await this.detectedOrRetried(batch);
      for (const problem of detected.problems) this.stats.problem(problem);
      for (const { index, item } of detected.matches)
        for (const detection of this.correlate(item)) {
          alerts.push(alertOf(detection, batch.ids[index]!));
          evidence.set(batch.ids[index]!, batch.records[index]!);
        }
      if (this.stages.length > 0)
        batch.records.forEach((record, i) => {
          // Stages that need the fields share one parse of them.
          let parsed: Record<string, unknown> | undefined;
          const fields = (): Record<string, unknown> => (parsed ??= JSON.parse(record.fieldsJson) as Record<string, unknown>);
          for (const stage of this.stages)
            for (const alert of this.stageAlerts(stage, record, batch.ids[i]!, fields)) {
              alerts.push(alert);
              evidence.set(batch.ids[i]!, record);
            }
        });
    }
    await this.raiseAlerts(alerts, (id) => fieldsOf(evidence.get(id)));
    for (const { records } of round) this.stats.detected += records.length;
    if (!this.markStopped) await this.store.setMeta(DETECTED_THROUGH, String(round.at(-1)!.ids.at(-1)!));
  }

  /**
   * A stage that fails on one event loses that event's look, not the round: the rules' alerts of
   * the other events are recorded and the mark moves on (a retry would fail the same way).
   */
  private stageAlerts(
    stage: EventStage,
    record: SerializedEventRecord,
    eventId: number,
    fields: () => Record<string, unknown>,
  ): readonly AlertRecord[] {
    try {
      return stage.alertsFor(record, eventId, fields);
    } catch (error) {
      this.stats.problem(`event ${eventId}: ${stage.constructor.name} failed on it: ${(error as Error).message}`);
      return [];
    }
  }

  private async detectedOrRetried(batch: Committed): Promise<Detected> {
    if (batch.outcome && 'detected' in batch.outcome) return batch.outcome.detected;
    return this.threads.detect(batch.records.map((r, i) => detectionInput(r, batch.ids[i]!)));
  }

  /**
   * The "detected through" mark stops here for the rest of this run: the next start runs the rules
   * again from the first event of this round (alerts already recorded are not raised twice).
   */
  private detectionFailed(round: Committed[], error: Error): void {
    this.markStopped = true;
    const [first, last] = [round[0]!.ids[0], round.at(-1)!.ids.at(-1)];
    this.stats.problem(`alerts of events ${first}…${last} not recorded (${error.message}); they are detected again at the next start`);
  }

  private correlate(item: HuntItem): Detection[] {
    return item.correlate ? this.correlations.process([item]) : [item.detection];
  }

  /**
   * Alerts found outside the event flow (an advisory's retro-hunt): stored (de-duplicated), grouped
   * into incidents and handed to the listeners like any other; resolves with those stored.
   */
  async raiseAlerts(
    alerts: readonly AlertRecord[],
    fields: (eventId: number) => Record<string, unknown> | undefined,
  ): Promise<StoredAlert[]> {
    const stored = alerts.length === 0 ? [] : await this.store.insertAlerts(alerts);
    if (stored.length > 0) await this.raise(stored, fields);
    return stored;
  }

  private async raise(alerts: StoredAlert[], fields: (eventId: number) => Record<string, unknown> | undefined): Promise<void> {
    this.stats.alerts += alerts.length;
    const grouped = await this.incidents.assign(alerts, fields);
    for (const alert of grouped) this.feed.publish('alert', alertView(alert));
    for (const listener of this.alertListeners) listener(grouped, fields);
  }

  /** Every stored event goes through this stage too, after its rules. */
  addStage(stage: EventStage): void {
    this.stages.push(stage);
  }

  onAlerts(listener: AlertListener): void {
    this.alertListeners.push(listener);
  }

  private settled(count: number): void {
    this.pending -= count;
    if (this.pending <= this.maxPending / 2) for (const resolve of this.roomWaiters.splice(0)) resolve();
    if (this.pending === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  /** Resolves once the queue is at most half full (paused sources resume then, not at the first free slot). */
  room(): Promise<void> {
    return this.pending <= this.maxPending / 2 ? Promise.resolve() : new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Resolves when every accepted event has been through detection. */
  drained(): Promise<void> {
    return this.pending === 0 ? Promise.resolve() : new Promise((resolve) => this.idle.push(resolve));
  }

  /** Runs detection on stored events a previous run accepted but had not finished detecting. */
  async replay(): Promise<number> {
    let after = Number((await this.store.getMeta(DETECTED_THROUGH)) ?? 0);
    let replayed = 0;
    for (;;) {
      const page = await this.store.searchEvents({ afterId: after, limit: REPLAY_BATCH, order: 'asc' });
      if (page.length === 0) break;
      // A long backlog is read as detection takes it, not all at once.
      if (this.full) await this.room();
      this.pending += page.length;
      const records = page.map(({ time, host, format, channel, eventId, origin, fields }) => ({
        time,
        host,
        format,
        channel,
        eventId,
        origin,
        fieldsJson: JSON.stringify(fields),
      }));
      this.afterCommit(
        records,
        page.map((e) => e.id),
      );
      replayed += page.length;
      after = page.at(-1)!.id;
    }
    await this.drained();
    return replayed;
  }
}

/** Requests in arrival order, up to COMMIT_EVENTS events (at least one request). */
function takeGroup(queue: WriteRequest[]): WriteRequest[] {
  let count = 0;
  let n = 0;
  while (n < queue.length && (n === 0 || count + queue[n]!.records.length <= COMMIT_EVENTS)) count += queue[n++]!.records.length;
  return queue.splice(0, n);
}

function detectionInput(record: SerializedEventRecord, id: number): EventForDetection {
  const { time, host, format, origin, fieldsJson } = record;
  return { id, time, host, format, origin, fieldsJson };
}

function fieldsOf(record: SerializedEventRecord | undefined): Record<string, unknown> | undefined {
  return record && (JSON.parse(record.fieldsJson) as Record<string, unknown>);
}

function alertOf(detection: Detection, eventId: number): AlertRecord {
  const kind = detection.kind === 'rule' ? 'sigma' : 'correlation';
  return {
    dedupKey: `${kind}:${detection.rule_id}:${eventId}`,
    kind,
    ruleId: detection.rule_id,
    ruleTitle: detection.rule_title,
    level: detection.level,
    timestamp: detection.timestamp ? Date.parse(detection.timestamp) : Date.now(),
    computer: detection.computer,
    eventIds: [eventId],
    matched: detection.fields,
    tags: detection.tags,
    details: {
      status: detection.status,
      attack: detection.attack,
      channel: detection.channel,
      event_id: detection.event_id,
      record_id: detection.record_id,
      rule_file: detection.rule_file,
      category: detection.category,
      layer: detection.layer,
      ...(kind === 'correlation' ? { correlation_type: detection.kind } : {}),
    },
  };
}
