/**
 * Behaviour drift on the live stream: every stored Sysmon process, network, image-load, file and
 * DNS event (and the Linux agent's) goes through core's DriftDetector in storage order; a trusted
 * application doing what none of its baseline did raises a `behavior` alert with the evidence —
 * what is new, the baseline it was compared with, the version change before it.
 *
 * The detector runs on event time, so uploaded history builds baselines as live traffic does. Its
 * state is written to the data directory every few minutes and at stop, and read back at start.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_LEARNING_MS, DriftDetector, isoTime, type DriftAlert, type DriftOptions, type DriftSnapshot } from '@firebreak/core';
import type { AlertRecord, SerializedEventRecord } from '@firebreak/store';
import type { EventStage } from '../pipeline.js';

const SNAPSHOT_FILE = 'drift-baselines.json';
const SNAPSHOT_EVERY_MS = 5 * 60 * 1000;
const SYSMON = 'Microsoft-Windows-Sysmon/Operational';
const SYSMON_EVENTS = new Set([1, 3, 7, 11, 22]);
const AGENT_KINDS = ['"_kind":"process_creation"', '"_kind":"network_connection"', '"_kind":"file_event"'];

export class DriftStage implements EventStage {
  private readonly timer: NodeJS.Timeout;
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    private readonly detector: DriftDetector,
    private readonly dataDir: string,
    private readonly learningMs: number,
    private readonly log: (line: string) => void,
  ) {
    this.timer = setInterval(() => void this.save(), SNAPSHOT_EVERY_MS).unref();
  }

  /** The stage with the baselines of the last run (or new ones: a missing or unreadable snapshot is said and started over). */
  static async start(dataDir: string, options: DriftOptions, log: (line: string) => void): Promise<DriftStage> {
    const path = join(dataDir, SNAPSHOT_FILE);
    let detector: DriftDetector;
    try {
      detector = DriftDetector.restore(JSON.parse(await readFile(path, 'utf8')) as DriftSnapshot, options);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        log(`behaviour baselines in ${path} not read (${(error as Error).message}); learning again`);
      detector = new DriftDetector(options);
    }
    return new DriftStage(detector, dataDir, options.learningMs ?? DEFAULT_LEARNING_MS, log);
  }

  alertsFor(record: SerializedEventRecord, eventId: number, parsed: () => Record<string, unknown>): readonly AlertRecord[] {
    if (!record.host || !isDriftEvent(record)) return [];
    const fields = parsed();
    const alerts = this.detector.observe({
      fields,
      host: record.host,
      time: record.time,
      channel: record.channel,
      eventId: record.eventId,
    });
    // The first alert of an episode is raised; its later revisions (more signals) are the same alert and stay with it.
    return alerts.filter((alert) => alert.revision === 0).map((alert) => behaviorAlert(alert, eventId));
  }

  /**
   * The fleet view of applications whose vendor or product contains `query`: what each does across
   * its hosts (behaviours with the share of hosts showing them), its versions, its usual signers.
   */
  baselines(query: string, limit: number): Record<string, unknown>[] {
    const wanted = query.toLowerCase();
    const out: Record<string, unknown>[] = [];
    for (const app of this.detector.baselines.apps()) {
      if (!app.key.includes(wanted)) continue;
      const hosts = app.hosts.size;
      out.push({
        vendor: app.vendor,
        product: app.product,
        hosts,
        since: isoTime(app.firstSeen),
        learning_until: isoTime(app.firstSeen + this.learningMs),
        signers: app.signers,
        versions: app.versions.map((v) => ({ version: v.name, first_seen: isoTime(v.firstSeen), hosts: v.hosts.size })),
        behaviors: [...app.behaviors.values()]
          .map((b) => ({
            kind: b.kind,
            what: b.what,
            first_seen: isoTime(b.firstSeen),
            hosts: b.hosts.size,
            share: hosts ? b.hosts.size / hosts : 0,
          }))
          .sort((a, b) => b.hosts - a.hosts),
      });
      if (out.length >= limit) break;
    }
    return out;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.save();
  }

  /** Written to a temporary file, then renamed: a crash mid-write leaves the previous snapshot. */
  private save(): Promise<void> {
    this.saving = this.saving.then(async () => {
      const path = join(this.dataDir, SNAPSHOT_FILE);
      try {
        await writeFile(`${path}.tmp`, JSON.stringify(this.detector.snapshot()), { mode: 0o600 });
        await rename(`${path}.tmp`, path);
      } catch (error) {
        this.log(`behaviour baselines not saved: ${(error as Error).message}`);
      }
    });
    return this.saving;
  }
}

function isDriftEvent(record: SerializedEventRecord): boolean {
  if (record.channel === SYSMON) return record.eventId !== null && SYSMON_EVENTS.has(record.eventId);
  return record.format === 'flat' && AGENT_KINDS.some((kind) => record.fieldsJson.includes(kind));
}

function behaviorAlert(alert: DriftAlert, eventId: number): AlertRecord {
  return {
    dedupKey: `behavior:${alert.dedupKey}`,
    kind: 'behavior',
    ruleId: `drift:${alert.appKey}`,
    ruleTitle: alert.title,
    level: alert.signals.some((s) => s.firstSeenFleet && (s.kind === 'destination' || s.kind === 'module')) ? 'critical' : 'high',
    timestamp: alert.eventTime,
    computer: alert.host,
    eventIds: [eventId],
    matched: Object.fromEntries(alert.signals.map((s) => [s.kind, s.what])),
    tags: ['attack.initial-access', 'attack.t1195.002'],
    details: {
      vendor: alert.vendor,
      product: alert.product,
      version: alert.version,
      previous_version: alert.previousVersion,
      score: alert.score,
      signals: alert.signals,
      baseline: alert.baseline,
    },
  };
}
