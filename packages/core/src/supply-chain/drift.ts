/**
 * Behaviour drift: the trusted application that turns. Events are attributed to applications (see
 * identity.ts) and learned into their baselines (baseline.ts); once an application has learned, a
 * behaviour no host of it showed in its learning window, shown by a host for the first time, is a
 * drift signal. Signals of one host and application add up over an episode (24 h of event time from
 * its first signal; a version change of the last 7 days joins it) into a score; past the threshold
 * a `behavior` alert is raised, once per episode, then revised as signals join it.
 *
 * The weights (DRIFT_WEIGHTS) and the threshold (7) are set so that:
 * - a legitimate update — a new version, new hashes of its modules signed by the signer they always
 *   had, the same destinations — scores at most version + the trusted-module cap = 2, on every host;
 * - one new thing on its own stays quiet, however new: a destination no host reached (4 + 1), a
 *   shell it never started (5 + 1), an unsigned module never loaded (4 + 1); so does one new thing
 *   in the days of a Windows patch (≤ 1 of trusted module hashes + 5);
 * - the 3CX pattern is loud at the module load: version 1, then a known module (validly signed
 *   until now) with a new hash and no valid signature: 1 × rarity + 1 fleet-first + 6 that never
 *   fades — a signature that disappears stays odd however many hosts it happens on. That is 9 on
 *   the first host and at least 7 on every host that got the new version, whatever its share of
 *   the fleet; the new destinations that follow (raw.githubusercontent.com, fresh domains) revise
 *   the alert. The same module swapped without a version change (a planted DLL) reaches 8 on the
 *   first host. A new destination or shell right after an update (version 1 + trusted ≤ 1 + 5)
 *   reaches the threshold too: that update changed what the application does.
 *
 * Two factors temper a signal's weight:
 * - rarity: a behaviour other hosts of the application already showed since learning weighs
 *   (1 - their share of the application's hosts); a first across the fleet gets `fleetFirst` on top;
 * - novelty: an application that still found new behaviours of a kind in the second half of its
 *   learning window (a browser and its destinations) weighs new ones of that kind by
 *   1 / (1 + late / noveltyHalfAt).
 *
 * Everything runs on event time; the wall clock is never read. A restarted server restores a
 * snapshot() (JSON), or replays its stored events in time order into a fresh detector.
 */
import { sha256FromHashes, normalizeIp } from '../response/indicators.js';
import { AGENT_EVENT_SOURCE } from '../response/protocol.js';
import { baseName, parsePid } from '../timeline/process-events.js';
import { BehaviorBaselines, DAY_MS, type AppBaseline, type BaselineOptions, type BaselinesJson, type Sighting } from './baseline.js';
import {
  destinationName,
  dnsAnswers,
  folderPattern,
  isInsideFolder,
  isLocalAddress,
  isLocalName,
  isShellOrLolbin,
  type BehaviorKind,
} from './behaviors.js';
import { HostIds, LruMap } from './compact.js';
import {
  appIdentity,
  DEFAULT_MAX_PROCESSES,
  meaningful,
  ownFolder,
  parentRef,
  processRef,
  ProcessTable,
  type ProcessTableJson,
} from './identity.js';

export interface DriftWeights {
  /** The host moved to a version of the application it never ran. */
  version: number;
  /** A known module with a new hash, validly signed by a signer it had before. */
  moduleTrustedHash: number;
  /** A new module, validly signed by one of the application's signers. */
  moduleTrustedNew: number;
  /** All trusted-module signals of an episode together at most (an update replaces many files). */
  moduleTrustedCap: number;
  /** A module validly signed by a signer the module (or, for a new module, the application) never had. */
  moduleOtherSigner: number;
  /** A new module without a valid signature. */
  moduleUnsignedNew: number;
  /** A known module that was never validly signed, with a new hash, still unsigned. */
  moduleUnsignedHash: number;
  /** A known module that was validly signed, with a new hash that is not. */
  moduleSignatureLost: number;
  /** Added to moduleSignatureLost whatever the rarity: a signature that disappears stays odd however common. */
  signatureLostIntrinsic: number;
  /** A new destination on the internet. */
  destination: number;
  /** A new private or loopback destination. */
  destinationLocal: number;
  child: number;
  /** A new child process that is a shell, script host or LOLBin. */
  childShell: number;
  /** A new folder written to outside the application's own. */
  file: number;
  /** Added when no host of the application showed the behaviour before. */
  fleetFirst: number;
}

export const DRIFT_WEIGHTS: Readonly<DriftWeights> = Object.freeze({
  version: 1,
  moduleTrustedHash: 0.25,
  moduleTrustedNew: 0.5,
  moduleTrustedCap: 1,
  moduleOtherSigner: 3,
  moduleUnsignedNew: 4,
  moduleUnsignedHash: 2,
  moduleSignatureLost: 1,
  signatureLostIntrinsic: 6,
  destination: 4,
  destinationLocal: 1,
  child: 3,
  childShell: 5,
  file: 2,
  fleetFirst: 1,
});

export const DEFAULT_DRIFT_THRESHOLD = 7;
export const DEFAULT_EPISODE_MS = DAY_MS;
export const DEFAULT_VERSION_WINDOW_MS = 7 * DAY_MS;
/** Signals an episode keeps (and scores) at most. */
export const DEFAULT_MAX_SIGNALS = 20;
export const DEFAULT_NOVELTY_HALF_AT = 3;
/** Open episodes (host × application) at most; past it, expired ones go, then the oldest. */
export const DEFAULT_MAX_EPISODES = 100_000;
/** Answers of DNS lookups remembered (host × address → name), to name the destinations of connections. */
export const DEFAULT_MAX_DNS_ANSWERS = 100_000;
/**
 * Hosts tracked at most; events of hosts past it are not learned (nor alerted on). Host names come
 * from events, and each application's per-host version arrays are as long as the largest host id.
 */
export const DEFAULT_MAX_HOSTS = 200_000;

export interface DriftOptions extends BaselineOptions {
  /** Score at which an episode raises an alert (default 7). */
  threshold?: number;
  /** How long an episode gathers signals from its first, in event time (default 24 h). */
  episodeMs?: number;
  /** How far back a version change joins a new episode (default 7 days). */
  versionWindowMs?: number;
  maxSignals?: number;
  maxProcesses?: number;
  maxEpisodes?: number;
  maxDnsAnswers?: number;
  maxHosts?: number;
  noveltyHalfAt?: number;
  weights?: Partial<DriftWeights>;
}

/** An event as the server stores it: flat fields under Sysmon's names, its host and event time (ms). */
export interface DriftEvent {
  fields: Record<string, unknown>;
  host: string;
  time: number;
  /** The store's header, when the fields do not carry Channel/EventID themselves. */
  channel?: string | null;
  eventId?: number | null;
}

export type DriftSignalKind = 'version' | BehaviorKind;

export interface DriftSignal {
  kind: DriftSignalKind;
  /** What is new: the version, child file name, destination, `module|sha256`, folder pattern. */
  what: string;
  text: string;
  weight: number;
  /** No host of the application showed it before. */
  firstSeenFleet: boolean;
  /** How many of the application's hosts showed it before. */
  hostsBefore: number;
  eventTime: number;
}

export interface DriftAlert {
  kind: 'behavior';
  host: string;
  appKey: string;
  vendor: string;
  product: string;
  version: string;
  /** The version the host ran before, when it changed. */
  previousVersion: string | null;
  score: number;
  signals: DriftSignal[];
  baseline: {
    /** Hosts the application's baseline comes from. */
    learnedFrom: number;
    /** Event time of the application's first event. */
    since: number;
    /** Versions seen, first seen first (the last 10). */
    versions: string[];
  };
  title: string;
  /** Time of the event that raised (or revised) the alert. */
  eventTime: number;
  /** One per host, application and episode: a revision carries the same key. */
  dedupKey: string;
  /** 0 when raised; 1, 2… each time a signal of weight 1 or more joins it afterwards. */
  revision: number;
}

/** A process as events are attributed: application index, version id, own folder. */
export type DriftProcess = [app: number, version: number, folder: string];

/** A host's drift episode for one application (part of snapshots). */
export interface DriftEpisode {
  start: number;
  score: number;
  trustedWeight: number;
  signals: DriftSignal[];
  alerted: boolean;
  revision: number;
}

export interface DriftSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  /** The latest event time seen. */
  latest: number | null;
  hosts: string[];
  baselines: BaselinesJson;
  processes: ProcessTableJson<DriftProcess>;
  dnsAnswers: [string, string][];
  episodes: [string, DriftEpisode][];
}

const SNAPSHOT_FORMAT = 'firebreak-drift/1';
const SYSMON_CHANNEL = 'microsoft-windows-sysmon/operational';
const SYSMON_PROVIDER = 'microsoft-windows-sysmon';
const TITLE_SIGNALS = 3;
const BASELINE_VERSIONS = 10;

type EventType = 'process' | 'module' | 'dns' | 'connection' | 'file';
const SYSMON_TYPES: Record<number, EventType> = { 1: 'process', 3: 'connection', 7: 'module', 11: 'file', 22: 'dns' };
const AGENT_TYPES: Record<string, EventType> = { process_creation: 'process', network_connection: 'connection', file_event: 'file' };

/** The stateful drift engine: feed it events in (roughly) event-time order; it returns the alerts they raise. */
export class DriftDetector {
  readonly baselines: BehaviorBaselines;
  readonly hosts: HostIds;
  readonly weights: Readonly<DriftWeights>;
  private readonly threshold: number;
  private readonly episodeMs: number;
  private readonly versionWindowMs: number;
  private readonly maxSignals: number;
  private readonly maxEpisodes: number;
  private readonly maxHosts: number;
  private readonly noveltyHalfAt: number;
  private readonly processes: ProcessTable<DriftProcess>;
  private readonly dns: LruMap<string, string>;
  private readonly episodes = new Map<string, DriftEpisode>();
  private latest = -Infinity;

  /** `state` is for restore(): baselines, hosts and processes read from a snapshot. */
  constructor(options: DriftOptions = {}, state?: { baselines: BehaviorBaselines; hosts: HostIds; processes: ProcessTable<DriftProcess> }) {
    this.baselines = state?.baselines ?? new BehaviorBaselines(options);
    this.hosts = state?.hosts ?? new HostIds();
    this.processes = state?.processes ?? new ProcessTable(options.maxProcesses ?? DEFAULT_MAX_PROCESSES);
    this.dns = new LruMap(options.maxDnsAnswers ?? DEFAULT_MAX_DNS_ANSWERS);
    this.weights = Object.freeze({ ...DRIFT_WEIGHTS, ...options.weights });
    this.threshold = options.threshold ?? DEFAULT_DRIFT_THRESHOLD;
    this.episodeMs = options.episodeMs ?? DEFAULT_EPISODE_MS;
    this.versionWindowMs = options.versionWindowMs ?? DEFAULT_VERSION_WINDOW_MS;
    this.maxSignals = options.maxSignals ?? DEFAULT_MAX_SIGNALS;
    this.maxEpisodes = options.maxEpisodes ?? DEFAULT_MAX_EPISODES;
    this.maxHosts = options.maxHosts ?? DEFAULT_MAX_HOSTS;
    this.noveltyHalfAt = options.noveltyHalfAt ?? DEFAULT_NOVELTY_HALF_AT;
  }

  /** Learns from one event and returns the alerts it raises or revises (usually none). */
  observe(event: DriftEvent): DriftAlert[] {
    const type = eventType(event);
    if (type === null || typeof event.host !== 'string' || event.host === '' || !Number.isFinite(event.time)) return [];
    const known = this.hosts.find(event.host);
    if (known === undefined && this.hosts.size >= this.maxHosts) return [];
    const host = known ?? this.hosts.id(event.host);
    const { fields, time } = event;
    if (time > this.latest) this.latest = time;
    const alerts: DriftAlert[] = [];
    if (type === 'process') this.processStarted(host, fields, time, alerts);
    else if (type === 'module') this.moduleLoaded(host, fields, time, alerts);
    else if (type === 'dns') this.nameResolved(host, fields, time, alerts);
    else if (type === 'connection') this.connected(host, fields, time, alerts);
    else this.fileWritten(host, fields, time, alerts);
    return alerts;
  }

  /** The whole state as JSON-serialisable data; restore() makes an equivalent detector of it. */
  snapshot(): DriftSnapshot {
    return {
      format: SNAPSHOT_FORMAT,
      latest: Number.isFinite(this.latest) ? this.latest : null,
      hosts: this.hosts.toJSON(),
      baselines: this.baselines.toJSON(),
      processes: this.processes.toJSON(),
      dnsAnswers: [...this.dns.entries()],
      episodes: [...this.episodes].map(([key, episode]) => [key, { ...episode, signals: [...episode.signals] }]),
    };
  }

  /** A detector from a snapshot, with the given options (give the same learning window as before). */
  static restore(snapshot: DriftSnapshot, options: DriftOptions = {}): DriftDetector {
    if (snapshot?.format !== SNAPSHOT_FORMAT) throw new Error(`drift snapshot: format is not ${SNAPSHOT_FORMAT}`);
    const detector = new DriftDetector(options, {
      baselines: BehaviorBaselines.fromJSON(snapshot.baselines, options),
      hosts: HostIds.fromJSON(snapshot.hosts),
      processes: ProcessTable.fromJSON(snapshot.processes, options.maxProcesses ?? DEFAULT_MAX_PROCESSES),
    });
    for (const [key, name] of snapshot.dnsAnswers) detector.dns.set(key, name);
    for (const [key, episode] of snapshot.episodes) detector.episodes.set(key, { ...episode, signals: [...episode.signals] });
    detector.latest = snapshot.latest ?? -Infinity;
    return detector;
  }

  // ---- Events ----------------------------------------------------------------------------------

  /** A process creation: a process of its application (maybe of a new version), and a child of its parent's. */
  private processStarted(host: number, fields: Record<string, unknown>, time: number, alerts: DriftAlert[]): void {
    const ref = processRef(fields);
    const identity = appIdentity(ref.image ?? null, fields);
    const app = identity && this.baselines.app(identity, time);
    if (identity && app) {
      const { version, change } = app.noteProcess(host, identity.version, time);
      this.processes.remember(host, ref, [app.index, version, ownFolder(identity.image)]);
      if (change && !app.learning(time)) {
        const signal = this.versionSignal(app, app.versionName(change.from), app.versionName(change.to), time);
        this.add(host, app, app.versionName(version), signal, false, alerts);
      }
    }
    const parent = this.processes.find(host, parentRef(fields));
    if (parent !== undefined && ref.image !== undefined) this.childStarted(host, parent, baseName(ref.image).toLowerCase(), time, alerts);
  }

  private childStarted(host: number, parent: DriftProcess, child: string, time: number, alerts: DriftAlert[]): void {
    const [app, version] = this.appOf(parent);
    const sighting = app.record('child', child, host, parent[1], time);
    if (!this.isDrift(app, sighting, time)) return;
    const shell = isShellOrLolbin(child);
    const { weight, firstSeenFleet } = this.weigh(app, 'child', sighting, shell ? this.weights.childShell : this.weights.child);
    const what = shell ? 'a shell or LOLBin it never started before' : 'a program it never started before';
    const text = `started ${child}, ${what}${fleetText(app, sighting)}`;
    this.add(host, app, version, this.signal('child', child, text, weight, firstSeenFleet, sighting, time), false, alerts);
  }

  private moduleLoaded(host: number, fields: Record<string, unknown>, time: number, alerts: DriftAlert[]): void {
    const loaded = meaningful(fields.ImageLoaded);
    const process = loaded === null ? undefined : this.loadingProcess(host, fields, loaded, time, alerts);
    if (loaded === null || process === undefined) return;
    const [app, version] = this.appOf(process);
    const name = baseName(loaded).toLowerCase();
    const load = moduleLoad(fields);
    // What was known of the module before this load: its signers, or the application's for a new module.
    const before = app.modules.get(name);
    const known = before === undefined ? null : { everValid: before.everValid };
    const usualSigners = before && before.signers.length > 0 ? [...before.signers] : [...app.signers];
    const sighting = app.recordModule(name, load, host, process[1], time);
    if (!this.isDrift(app, sighting, time)) return;
    const verdict = judgeModule(load, known, usualSigners, this.weights);
    const { weight, firstSeenFleet } = this.weigh(app, 'module', sighting, verdict.base, verdict.intrinsic, !verdict.trusted);
    const hash = load.sha256 === null ? 'no hash' : `hash ${load.sha256.slice(0, 12)}…`;
    const fleet = firstSeenFleet ? 'no host had before' : `${sighting.hostsBefore} of ${hosts(app.hosts.size)} had before`;
    const text = known
      ? `loaded ${name} with a hash ${fleet} (${hash}), ${verdict.signature}`
      : `loaded ${name}, a module it never loaded before${fleetText(app, sighting)} (${hash}), ${verdict.signature}`;
    const signal = this.signal('module', sighting.record?.what ?? name, text, weight, firstSeenFleet, sighting, time);
    this.add(host, app, version, signal, verdict.trusted, alerts);
  }

  /** The process of an image load; the load of its own executable identifies a process whose start was not seen. */
  private loadingProcess(
    host: number,
    fields: Record<string, unknown>,
    loaded: string,
    time: number,
    alerts: DriftAlert[],
  ): DriftProcess | undefined {
    const ref = processRef(fields);
    const process = this.processes.find(host, ref);
    if (process !== undefined || ref.image === undefined || ref.image.toLowerCase() !== loaded.toLowerCase()) return process;
    // Its version resources are the application's, as on a process start; it names no parent.
    const noParent = { ParentProcessGuid: undefined, ParentProcessId: undefined, ParentImage: undefined };
    this.processStarted(host, { ...fields, ...noParent }, time, alerts);
    return this.processes.find(host, ref);
  }

  private nameResolved(host: number, fields: Record<string, unknown>, time: number, alerts: DriftAlert[]): void {
    const process = this.processes.find(host, processRef(fields));
    const name = destinationName(fields.QueryName);
    if (process === undefined || name === null) return;
    const answers = dnsAnswers(fields.QueryResults);
    for (const ip of answers) this.dns.set(`${host}|${ip}`, name);
    this.destination(host, process, name, isLocalName(name, answers), null, `resolved ${name}`, time, alerts);
  }

  private connected(host: number, fields: Record<string, unknown>, time: number, alerts: DriftAlert[]): void {
    if (fields.Initiated === false || String(fields.Initiated).toLowerCase() === 'false') return;
    const process = this.processes.find(host, processRef(fields));
    const ip = typeof fields.DestinationIp === 'string' ? normalizeIp(fields.DestinationIp) : null;
    if (process === undefined || ip === null) return;
    const port = parsePid(fields.DestinationPort) ?? null;
    const name = destinationName(meaningful(fields.DestinationHostname)) ?? this.dns.get(`${host}|${ip}`) ?? null;
    const local = isLocalAddress(ip) || (name !== null && isLocalName(name, []));
    const shown = `${name ?? ip}${port === null ? '' : `:${port}`}${name === null ? '' : ` (${ip})`}`;
    this.destination(host, process, name ?? ip, local, port, `connected to ${shown}`, time, alerts);
  }

  private destination(
    host: number,
    process: DriftProcess,
    what: string,
    local: boolean,
    port: number | null,
    action: string,
    time: number,
    alerts: DriftAlert[],
  ): void {
    const [app, version] = this.appOf(process);
    const sighting = app.recordDestination(what, local, port, host, process[1], time);
    if (!this.isDrift(app, sighting, time)) return;
    const base = local ? this.weights.destinationLocal : this.weights.destination;
    const { weight, firstSeenFleet } = this.weigh(app, 'destination', sighting, base);
    const text = `${action}${local ? ' (a local destination)' : ''}${fleetText(app, sighting)}`;
    this.add(host, app, version, this.signal('destination', what, text, weight, firstSeenFleet, sighting, time), false, alerts);
  }

  private fileWritten(host: number, fields: Record<string, unknown>, time: number, alerts: DriftAlert[]): void {
    const target = meaningful(fields.TargetFilename);
    const process = this.processes.find(host, processRef(fields));
    if (target === null || process === undefined || isInsideFolder(target, process[2])) return;
    const pattern = folderPattern(target);
    if (pattern === null) return;
    const [app, version] = this.appOf(process);
    const sighting = app.record('file', pattern, host, process[1], time);
    if (!this.isDrift(app, sighting, time)) return;
    const { weight, firstSeenFleet } = this.weigh(app, 'file', sighting, this.weights.file);
    const text = `wrote ${baseName(target)} to ${pattern}, a folder it never wrote to before${fleetText(app, sighting)}`;
    this.add(host, app, version, this.signal('file', pattern, text, weight, firstSeenFleet, sighting, time), false, alerts);
  }

  // ---- Signals and episodes --------------------------------------------------------------------

  private appOf(process: DriftProcess): [AppBaseline, string] {
    const app = this.baselines.at(process[0]);
    return [app, app.versionName(process[1])];
  }

  /** A sighting drifts when the application has learned, the host shows it for the first time and it is not in the baseline. */
  private isDrift(app: AppBaseline, sighting: Sighting, time: number): boolean {
    if (app.learning(time) || !sighting.hostNew) return false;
    // A behaviour past the application's cap has no record: it cannot be known, so it stays new.
    return sighting.record === null || !app.learned(sighting.record);
  }

  /** A signal's weight: base × rarity × novelty, plus fleetFirst × novelty for a first across the fleet, plus what never fades. */
  private weigh(
    app: AppBaseline,
    kind: BehaviorKind,
    sighting: Sighting,
    base: number,
    intrinsic = 0,
    fleetBonus = true,
  ): { weight: number; firstSeenFleet: boolean } {
    const firstSeenFleet = sighting.hostsBefore === 0;
    const rarity = firstSeenFleet ? 1 : Math.max(0, 1 - sighting.hostsBefore / Math.max(app.hosts.size, 1));
    const novelty = 1 / (1 + app.lateLearned()[kind] / this.noveltyHalfAt);
    const bonus = firstSeenFleet && fleetBonus ? this.weights.fleetFirst : 0;
    return { weight: round((base * rarity + bonus) * novelty + intrinsic), firstSeenFleet };
  }

  private signal(
    kind: DriftSignalKind,
    what: string,
    text: string,
    weight: number,
    firstSeenFleet: boolean,
    sighting: Sighting,
    time: number,
  ): DriftSignal {
    return { kind, what, text, weight, firstSeenFleet, hostsBefore: sighting.hostsBefore, eventTime: time };
  }

  private versionSignal(app: AppBaseline, from: string, to: string, time: number): DriftSignal {
    const record = app.versions[app.versionId(to, time)]!;
    const firstSeenFleet = record.hosts.size <= 1;
    return {
      kind: 'version',
      what: to,
      text: `updated from ${from} to ${to}${firstSeenFleet ? ', a version no other host runs' : ''}`,
      weight: this.weights.version,
      firstSeenFleet,
      hostsBefore: record.hosts.size - 1,
      eventTime: time,
    };
  }

  /** Adds a signal to the host's episode for the application; raises or revises its alert past the threshold. */
  private add(host: number, app: AppBaseline, version: string, signal: DriftSignal, trusted: boolean, alerts: DriftAlert[]): void {
    const key = `${host}:${app.index}`;
    let episode = this.episodes.get(key);
    if (episode === undefined || Math.abs(signal.eventTime - episode.start) > this.episodeMs) {
      episode = { start: signal.eventTime, score: 0, trustedWeight: 0, signals: [], alerted: false, revision: 0 };
      this.episodes.delete(key);
      this.episodes.set(key, episode);
      this.prune();
      if (signal.kind !== 'version') this.addRecentVersionChange(host, app, signal.eventTime, episode);
    }
    if (episode.signals.length >= this.maxSignals) return;
    if (episode.signals.some((s) => s.kind === signal.kind && s.what === signal.what)) return;
    if (trusted) {
      signal.weight = round(Math.min(signal.weight, Math.max(0, this.weights.moduleTrustedCap - episode.trustedWeight)));
      episode.trustedWeight += signal.weight;
    }
    episode.signals.push(signal);
    episode.score = round(episode.score + signal.weight);
    // Once raised, an alert is revised for what adds to the story (weight 1 and up), not for every routine module hash.
    if (episode.score < this.threshold || (episode.alerted && signal.weight < 1)) return;
    if (episode.alerted) episode.revision++;
    episode.alerted = true;
    alerts.push(this.alert(host, app, version, episode, signal.eventTime));
  }

  /** A version change of the last versionWindowMs is part of what a new episode tells. */
  private addRecentVersionChange(host: number, app: AppBaseline, time: number, episode: DriftEpisode): void {
    const change = app.lastChange(host);
    if (change === null || change.at > time || time - change.at > this.versionWindowMs || app.learning(change.at)) return;
    const signal = this.versionSignal(app, app.versionName(change.previous), app.versionName(change.current), change.at);
    episode.signals.push(signal);
    episode.score = round(episode.score + signal.weight);
  }

  private alert(host: number, app: AppBaseline, version: string, episode: DriftEpisode, eventTime: number): DriftAlert {
    const hostName = this.hosts.name(host);
    const change = app.lastChange(host);
    const previousVersion = change === null ? null : app.versionName(change.previous);
    return {
      kind: 'behavior',
      host: hostName,
      appKey: app.key,
      vendor: app.vendor,
      product: app.product,
      version,
      previousVersion,
      score: episode.score,
      signals: episode.signals.map((s) => ({ ...s })),
      baseline: {
        learnedFrom: app.hosts.size,
        since: app.firstSeen,
        versions: app.versions.slice(-BASELINE_VERSIONS).map((v) => v.name),
      },
      title: titleOf(app.product, version, previousVersion, episode.signals),
      eventTime,
      dedupKey: `behavior|${hostName.toLowerCase()}|${app.key}|${episode.start}`,
      revision: episode.revision,
    };
  }

  /** Keeps the episode map bounded: expired episodes go first, then the least recently opened. */
  private prune(): void {
    if (this.episodes.size <= this.maxEpisodes) return;
    for (const [key, episode] of this.episodes) if (episode.start + this.episodeMs < this.latest) this.episodes.delete(key);
    for (const key of this.episodes.keys()) {
      if (this.episodes.size <= this.maxEpisodes) break;
      this.episodes.delete(key);
    }
  }
}

/** Which kind of event this is for drift, or null when it tells nothing drift reads. */
function eventType(event: DriftEvent): EventType | null {
  const fields = event.fields;
  if (fields === null || typeof fields !== 'object') return null;
  if (fields._source === AGENT_EVENT_SOURCE) return AGENT_TYPES[String(fields._kind)] ?? null;
  const channel = (event.channel ?? meaningful(fields.Channel))?.toLowerCase();
  const provider = meaningful(fields.Provider_Name)?.toLowerCase();
  if (channel !== SYSMON_CHANNEL && provider !== SYSMON_PROVIDER) return null;
  const id = event.eventId ?? parsePid(fields.EventID);
  return id === undefined || id === null ? null : (SYSMON_TYPES[id] ?? null);
}

/**
 * How much a module load that is new to the host weighs, before rarity: signed by a signer the
 * module (or, new, the application) always had — trusted, an update; by another signer; or without a
 * valid signature, the worst when the module was validly signed before.
 */
function judgeModule(
  load: ModuleLoad,
  known: { everValid: boolean } | null,
  usualSigners: readonly string[],
  w: Readonly<DriftWeights>,
): { base: number; intrinsic: number; trusted: boolean; signature: string } {
  if (load.valid && load.signer !== null && usualSigners.includes(load.signer))
    return { base: known ? w.moduleTrustedHash : w.moduleTrustedNew, intrinsic: 0, trusted: true, signature: `signed by ${load.signer}` };
  if (load.valid) {
    const usual = usualSigners.length > 0 ? `, not by ${usualSigners.join(' or ')}` : '';
    return { base: w.moduleOtherSigner, intrinsic: 0, trusted: false, signature: `signed by ${load.signer}${usual}` };
  }
  if (known?.everValid)
    return {
      base: w.moduleSignatureLost,
      intrinsic: w.signatureLostIntrinsic,
      trusted: false,
      signature: `${unsignedText(load)}, where it was signed by ${usualSigners.join(' or ')} before`,
    };
  return { base: known ? w.moduleUnsignedHash : w.moduleUnsignedNew, intrinsic: 0, trusted: false, signature: unsignedText(load) };
}

interface ModuleLoad {
  sha256: string | null;
  signer: string | null;
  valid: boolean;
  signed: boolean;
  status: string | null;
}

/** Sysmon 7's signature: valid when Signed and SignatureStatus is Valid (or absent) and a signer is named. */
function moduleLoad(fields: Record<string, unknown>): ModuleLoad {
  const signed = fields.Signed === true || String(fields.Signed).toLowerCase() === 'true';
  const status = meaningful(fields.SignatureStatus);
  const signer = meaningful(fields.Signature);
  const valid = signed && signer !== null && (status === null || status.toLowerCase() === 'valid');
  return { sha256: sha256FromHashes(fields.Hashes), signer, valid, signed, status };
}

function unsignedText(load: { signed: boolean; signer: string | null; status: string | null }): string {
  if (!load.signed) return `unsigned${load.status === null ? '' : ` (signature status ${load.status})`}`;
  return `signature ${load.status ?? 'invalid'}${load.signer === null ? '' : ` by ${load.signer}`}`;
}

/** How the fleet saw it: a first for the application, or how many of its hosts showed it before. */
function fleetText(app: AppBaseline, sighting: Sighting): string {
  return sighting.hostsBefore === 0
    ? `, a first for this app across ${hosts(app.hosts.size)}`
    : `, seen on ${sighting.hostsBefore} of ${hosts(app.hosts.size)} before`;
}

function hosts(count: number): string {
  return `${count} host${count === 1 ? '' : 's'}`;
}

/** "3CX Desktop App 18.12.416 (after 18.12.410) loaded ffmpeg.dll …, then resolved raw.githubusercontent.com, …". */
function titleOf(product: string, version: string, previousVersion: string | null, signals: readonly DriftSignal[]): string {
  const changes = signals.filter((s) => s.kind !== 'version');
  // Module hashes of a routine update (weight below 1) are context, not what the title is about.
  const strong = changes.filter((s) => s.weight >= 1);
  const evidence = strong.length > 0 ? strong : changes;
  const head = `${product} ${version}${previousVersion === null ? '' : ` (after ${previousVersion})`}`;
  if (evidence.length === 0) return `${head} drifted from its baseline`;
  const shown = evidence
    .map((signal, order) => ({ signal, order }))
    .sort((a, b) => b.signal.weight - a.signal.weight || a.order - b.order)
    .slice(0, TITLE_SIGNALS)
    .sort((a, b) => a.signal.eventTime - b.signal.eventTime || a.order - b.order)
    .map(({ signal }) => signal.text);
  const more = evidence.length - shown.length;
  return `${head} ${shown.join(', then ')}${more > 0 ? `, and ${more} more` : ''}`;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
