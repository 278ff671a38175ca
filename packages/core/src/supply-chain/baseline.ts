/**
 * Behaviour baselines per application (vendor and product, across its versions): the versions seen,
 * and each behaviour — child process, network destination, loaded module, file folder — with when
 * it was first seen (event time), the hosts that showed it and the versions that did.
 *
 * Everything runs on event time: an application learns for `learningMs` from its first event, and a
 * behaviour whose first sighting falls in that window is part of its baseline. Uploaded or replayed
 * history builds the same baselines as live traffic, in any order within the learning window (first
 * sightings are minima, not arrival times).
 *
 * Memory: hosts are small integers, each behaviour's hosts a HostSet (a sorted list while few, a
 * bitset past that), and each application's current version per host three typed arrays indexed by
 * host id. 10,000 hosts × 200 applications × 35 behaviours fit in about 100 MB (bench/baseline.mjs).
 */
import { base64ToBuffer, HostSet, typedToBase64, type HostSetJson } from './compact.js';
import { BEHAVIOR_KINDS, type BehaviorKind } from './behaviors.js';

export const DAY_MS = 86_400_000;
export const DEFAULT_LEARNING_MS = 7 * DAY_MS;
/** Applications tracked at most; events of applications past it are not learned (nor alerted on). */
export const DEFAULT_MAX_APPS = 20_000;
/** Behaviours kept per application at most; past it, new behaviours still signal but are not remembered. */
export const DEFAULT_MAX_BEHAVIORS_PER_APP = 5_000;
/** Versions per application at most (ids fit 16 bits); past it the last id stands for every newer version. */
const MAX_VERSIONS_PER_APP = 65_000;
/** Versions, ports and signers kept per behaviour or module: enough to describe, bounded. */
const MAX_VERSIONS_PER_BEHAVIOR = 8;
const MAX_PORTS = 8;
const MAX_SIGNERS = 16;

export interface BaselineOptions {
  /** How long an application learns from its first event, in event time (default 7 days). */
  learningMs?: number;
  maxApps?: number;
  maxBehaviorsPerApp?: number;
}

export interface VersionRecord {
  name: string;
  /** Event time it was first seen. */
  firstSeen: number;
  hosts: HostSet;
}

export interface BehaviorRecord {
  kind: BehaviorKind;
  /** What it is: a child's file name, a DNS name or IP, `module|sha256`, a folder pattern. */
  what: string;
  /** Event time of its earliest sighting. */
  firstSeen: number;
  hosts: HostSet;
  /** Ids of the versions that showed it, most recent last (at most 8). */
  versions: number[];
  /** Destinations: ports connected to (at most 8), and whether it is a private or loopback destination. */
  ports?: number[];
  local?: boolean;
  /** Modules: the signer of this hash and whether its signature was valid. */
  signer?: string | null;
  valid?: boolean;
}

/** What is known of a module file name for an application, whatever its hash. */
export interface ModuleName {
  firstSeen: number;
  /** Valid signers its hashes had (at most 16). */
  signers: string[];
  everValid: boolean;
  everUnsigned: boolean;
}

/** One sighting of a behaviour on a host, as it compares with what was known before it. */
export interface Sighting {
  /** The behaviour (null when the application is at its behaviour cap and this one is new). */
  record: BehaviorRecord | null;
  /** No host of the application showed it before. */
  isNew: boolean;
  /** This host had not shown it before. */
  hostNew: boolean;
  /** How many of the application's hosts showed it before this sighting. */
  hostsBefore: number;
}

/** A host's move from one version of an application to another it never ran. */
export interface VersionChange {
  from: number;
  to: number;
}

/** The fleet view of one behaviour of one application. */
export interface BehaviorLookup {
  /** Some host of the application showed it. */
  known: boolean;
  /** First seen within the application's learning window: part of its baseline. */
  learned: boolean;
  firstSeen: number | null;
  /** On how many of the application's hosts it was seen. */
  hosts: number;
  /** How many hosts run the application. */
  appHosts: number;
  versions: string[];
}

export function behaviorKey(kind: BehaviorKind, what: string): string {
  return `${kind}\u0000${what}`;
}

/** The `what` of a module behaviour: its file name (lower-case) and SHA-256. */
export function moduleWhat(name: string, sha256: string | null): string {
  return `${name.toLowerCase()}|${sha256 ?? ''}`;
}

/** The version each host runs, the one before it and when it changed, indexed by host id. */
class HostVersions {
  /** Version id + 1 (0: none). */
  current = new Uint16Array(0);
  previous = new Uint16Array(0);
  changedAt = new Float64Array(0);

  currentOf(host: number): number | null {
    return host < this.current.length && this.current[host] !== 0 ? this.current[host]! - 1 : null;
  }

  previousOf(host: number): number | null {
    return host < this.previous.length && this.previous[host] !== 0 ? this.previous[host]! - 1 : null;
  }

  changedAtOf(host: number): number {
    return host < this.changedAt.length ? this.changedAt[host]! : 0;
  }

  set(host: number, version: number, time: number): void {
    this.ensure(host);
    const current = this.current[host]!;
    if (current !== 0) {
      this.previous[host] = current;
      this.changedAt[host] = time;
    }
    this.current[host] = version + 1;
  }

  private ensure(host: number): void {
    if (host < this.current.length) return;
    const length = Math.max(host + 1, Math.ceil(this.current.length * 1.5), 16);
    const grow = <T extends Uint16Array | Float64Array>(array: T, make: (n: number) => T): T => {
      const grown = make(length);
      grown.set(array);
      return grown;
    };
    this.current = grow(this.current, (n) => new Uint16Array(n));
    this.previous = grow(this.previous, (n) => new Uint16Array(n));
    this.changedAt = grow(this.changedAt, (n) => new Float64Array(n));
  }

  toJSON(): HostVersionsJson {
    return { current: typedToBase64(this.current), previous: typedToBase64(this.previous), changedAt: typedToBase64(this.changedAt) };
  }

  static fromJSON(json: HostVersionsJson): HostVersions {
    const versions = new HostVersions();
    versions.current = new Uint16Array(base64ToBuffer(json.current, 2, 'current versions'));
    versions.previous = new Uint16Array(base64ToBuffer(json.previous, 2, 'previous versions'));
    versions.changedAt = new Float64Array(base64ToBuffer(json.changedAt, 8, 'version change times'));
    if (versions.previous.length !== versions.current.length || versions.changedAt.length !== versions.current.length)
      throw new Error('host version arrays of different lengths');
    return versions;
  }
}

interface HostVersionsJson {
  current: string;
  previous: string;
  changedAt: string;
}

/** One application's baseline. */
export class AppBaseline {
  /** Event time of its earliest event. */
  firstSeen: number;
  /** Hosts that ran it. */
  readonly hosts = new HostSet();
  readonly versions: VersionRecord[] = [];
  readonly behaviors = new Map<string, BehaviorRecord>();
  readonly modules = new Map<string, ModuleName>();
  /** Valid signers of its modules (at most 16): its usual signers. */
  readonly signers: string[] = [];
  private lateCounts: Record<BehaviorKind, number> | null = null;
  private readonly versionIds = new Map<string, number>();
  private hostVersions = new HostVersions();

  constructor(
    readonly index: number,
    readonly key: string,
    readonly vendor: string,
    readonly product: string,
    firstSeen: number,
    private readonly owner: BehaviorBaselines,
  ) {
    this.firstSeen = firstSeen;
  }

  /**
   * Behaviours of each kind first seen in the second half of the learning window (for modules, new
   * module names: a new hash is an update): an application that still found new destinations after
   * days of learning (a browser) finds new ones all the time. Computed from first sightings, so the
   * order history arrived in does not matter; cached until a sighting inside the window changes it.
   */
  lateLearned(): Readonly<Record<BehaviorKind, number>> {
    if (this.lateCounts) return this.lateCounts;
    const counts = { child: 0, destination: 0, module: 0, file: 0 };
    const from = this.firstSeen + this.owner.learningMs / 2;
    const to = this.firstSeen + this.owner.learningMs;
    for (const record of this.behaviors.values())
      if (record.kind !== 'module' && record.firstSeen >= from && record.firstSeen < to) counts[record.kind]++;
    for (const module of this.modules.values()) if (module.firstSeen >= from && module.firstSeen < to) counts.module++;
    this.lateCounts = counts;
    return counts;
  }

  /** Whether the application is still learning at event time `time`. */
  learning(time: number): boolean {
    return time < this.firstSeen + this.owner.learningMs;
  }

  /** Whether a behaviour is part of the baseline: first seen within the learning window. */
  learned(record: BehaviorRecord): boolean {
    return record.firstSeen < this.firstSeen + this.owner.learningMs;
  }

  versionName(id: number): string {
    return this.versions[id]?.name ?? 'unknown';
  }

  currentVersion(host: number): number | null {
    return this.hostVersions.currentOf(host);
  }

  /** The version the host ran before its current one, and when it changed; null when it never changed. */
  lastChange(host: number): { previous: number; current: number; at: number } | null {
    const previous = this.hostVersions.previousOf(host);
    const current = this.hostVersions.currentOf(host);
    return previous === null || current === null ? null : { previous, current, at: this.hostVersions.changedAtOf(host) };
  }

  /**
   * A process of version `name` started on `host`: the host runs the application, the version is
   * seen there. Returns the version's id, and the change when the host moved to a version it never ran.
   */
  noteProcess(host: number, name: string, time: number): { version: number; change: VersionChange | null } {
    this.seenAt(time);
    this.hosts.add(host);
    const version = this.versionId(name, time);
    const record = this.versions[version]!;
    const newToHost = record.hosts.add(host);
    const current = this.hostVersions.currentOf(host);
    if (current === version || !newToHost) return { version, change: null };
    this.hostVersions.set(host, version, time);
    return { version, change: current === null ? null : { from: current, to: version } };
  }

  /** The id of a version (created on first sight; the earliest sighting is its first seen). */
  versionId(name: string, time: number): number {
    let id = this.versionIds.get(name);
    if (id === undefined) {
      if (this.versions.length >= MAX_VERSIONS_PER_APP) return this.versions.length - 1;
      id = this.versions.length;
      this.versions.push({ name, firstSeen: time, hosts: new HostSet() });
      this.versionIds.set(name, id);
    } else if (time < this.versions[id]!.firstSeen) this.versions[id]!.firstSeen = time;
    return id;
  }

  behavior(kind: BehaviorKind, what: string): BehaviorRecord | undefined {
    return this.behaviors.get(behaviorKey(kind, what));
  }

  /** Records a sighting of a behaviour on a host by a version. */
  record(kind: BehaviorKind, what: string, host: number, version: number, time: number): Sighting {
    this.seenAt(time);
    const key = behaviorKey(kind, what);
    let record = this.behaviors.get(key);
    const isNew = record === undefined;
    if (record === undefined) {
      if (this.behaviors.size >= this.owner.maxBehaviorsPerApp) return { record: null, isNew: true, hostNew: true, hostsBefore: 0 };
      record = { kind, what, firstSeen: time, hosts: new HostSet(), versions: [] };
      this.behaviors.set(key, record);
      this.firstSightingAt(time);
    } else if (time < record.firstSeen) {
      record.firstSeen = time;
      this.firstSightingAt(time);
    }
    const hostsBefore = record.hosts.size;
    const hostNew = record.hosts.add(host);
    addBounded(record.versions, version, MAX_VERSIONS_PER_BEHAVIOR);
    return { record, isNew, hostNew, hostsBefore };
  }

  /** Records a destination: its port (when connected to) and whether it is local. */
  recordDestination(what: string, local: boolean, port: number | null, host: number, version: number, time: number): Sighting {
    const sighting = this.record('destination', what, host, version, time);
    if (sighting.record) {
      sighting.record.local = sighting.record.local ?? local;
      if (port !== null) addBounded((sighting.record.ports ??= []), port, MAX_PORTS);
    }
    return sighting;
  }

  /** Records a module load: the hash as a behaviour, the name's signers, the application's signers. */
  recordModule(
    name: string,
    load: { sha256: string | null; signer: string | null; valid: boolean },
    host: number,
    version: number,
    time: number,
  ): Sighting {
    const fileName = name.toLowerCase();
    const sighting = this.record('module', moduleWhat(fileName, load.sha256), host, version, time);
    if (sighting.record && sighting.isNew) {
      sighting.record.signer = load.signer;
      sighting.record.valid = load.valid;
    }
    let known = this.modules.get(fileName);
    if (known === undefined && this.modules.size < this.owner.maxBehaviorsPerApp) {
      known = { firstSeen: time, signers: [], everValid: false, everUnsigned: false };
      this.modules.set(fileName, known);
      this.firstSightingAt(time);
    }
    if (known) {
      if (time < known.firstSeen) {
        known.firstSeen = time;
        this.firstSightingAt(time);
      }
      if (load.valid && load.signer !== null) {
        known.everValid = true;
        addBounded(known.signers, load.signer, MAX_SIGNERS);
      } else known.everUnsigned = true;
    }
    if (load.valid && load.signer !== null && !this.signers.includes(load.signer) && this.signers.length < MAX_SIGNERS)
      this.signers.push(load.signer);
    return sighting;
  }

  /** The fleet view of a behaviour. */
  lookup(kind: BehaviorKind, what: string): BehaviorLookup {
    const record = this.behaviors.get(behaviorKey(kind, what));
    if (record === undefined) return { known: false, learned: false, firstSeen: null, hosts: 0, appHosts: this.hosts.size, versions: [] };
    return {
      known: true,
      learned: this.learned(record),
      firstSeen: record.firstSeen,
      hosts: record.hosts.size,
      appHosts: this.hosts.size,
      versions: record.versions.map((id) => this.versionName(id)),
    };
  }

  /** A first sighting inside the learning window may change the late counts. */
  private firstSightingAt(time: number): void {
    if (this.learning(time)) this.lateCounts = null;
  }

  private seenAt(time: number): void {
    if (time >= this.firstSeen) return;
    this.firstSeen = time;
    this.lateCounts = null;
  }

  toJSON(): AppBaselineJson {
    return {
      key: this.key,
      vendor: this.vendor,
      product: this.product,
      firstSeen: this.firstSeen,
      hosts: this.hosts.toJSON(),
      versions: this.versions.map((v) => ({ name: v.name, firstSeen: v.firstSeen, hosts: v.hosts.toJSON() })),
      behaviors: [...this.behaviors.values()].map((b) => ({ ...b, hosts: b.hosts.toJSON() })),
      modules: [...this.modules],
      signers: [...this.signers],
      hostVersions: this.hostVersions.toJSON(),
    };
  }

  static fromJSON(json: AppBaselineJson, index: number, owner: BehaviorBaselines): AppBaseline {
    const app = new AppBaseline(index, json.key, json.vendor, json.product, json.firstSeen, owner);
    for (const id of HostSet.fromJSON(json.hosts)) app.hosts.add(id);
    for (const v of json.versions) {
      app.versionIds.set(v.name, app.versions.length);
      app.versions.push({ name: v.name, firstSeen: v.firstSeen, hosts: HostSet.fromJSON(v.hosts) });
    }
    for (const b of json.behaviors) {
      if (!BEHAVIOR_KINDS.includes(b.kind)) throw new Error(`application ${json.key}: unknown behaviour kind "${b.kind}"`);
      app.behaviors.set(behaviorKey(b.kind, b.what), { ...b, hosts: HostSet.fromJSON(b.hosts) });
    }
    for (const [name, module] of json.modules) app.modules.set(name, module);
    app.signers.push(...json.signers);
    app.hostVersions = HostVersions.fromJSON(json.hostVersions);
    return app;
  }
}

export interface AppBaselineJson {
  key: string;
  vendor: string;
  product: string;
  firstSeen: number;
  hosts: HostSetJson;
  versions: { name: string; firstSeen: number; hosts: HostSetJson }[];
  behaviors: (Omit<BehaviorRecord, 'hosts'> & { hosts: HostSetJson })[];
  modules: [string, ModuleName][];
  signers: string[];
  hostVersions: HostVersionsJson;
}

export interface BaselinesJson {
  apps: AppBaselineJson[];
}

/** Every application's baseline, by app key (see appKey). */
export class BehaviorBaselines {
  readonly learningMs: number;
  readonly maxApps: number;
  readonly maxBehaviorsPerApp: number;
  private readonly byKey = new Map<string, AppBaseline>();
  private readonly list: AppBaseline[] = [];

  constructor(options: BaselineOptions = {}) {
    this.learningMs = positive(options.learningMs ?? DEFAULT_LEARNING_MS, 'learningMs');
    this.maxApps = positive(options.maxApps ?? DEFAULT_MAX_APPS, 'maxApps');
    this.maxBehaviorsPerApp = positive(options.maxBehaviorsPerApp ?? DEFAULT_MAX_BEHAVIORS_PER_APP, 'maxBehaviorsPerApp');
  }

  get size(): number {
    return this.list.length;
  }

  /** The application's baseline, created at its first event; null past maxApps. */
  app(identity: { key: string; vendor: string; product: string }, time: number): AppBaseline | null {
    const existing = this.byKey.get(identity.key);
    if (existing) return existing;
    if (this.list.length >= this.maxApps) return null;
    const app = new AppBaseline(this.list.length, identity.key, identity.vendor, identity.product, time, this);
    this.byKey.set(identity.key, app);
    this.list.push(app);
    return app;
  }

  get(key: string): AppBaseline | undefined {
    return this.byKey.get(key);
  }

  at(index: number): AppBaseline {
    const app = this.list[index];
    if (app === undefined) throw new RangeError(`no application has index ${index}`);
    return app;
  }

  apps(): IterableIterator<AppBaseline> {
    return this.list.values();
  }

  /** Is this behaviour known for this application, and on how many of its hosts? Null for an unknown application. */
  lookup(key: string, kind: BehaviorKind, what: string): BehaviorLookup | null {
    return this.byKey.get(key)?.lookup(kind, what) ?? null;
  }

  toJSON(): BaselinesJson {
    return { apps: this.list.map((app) => app.toJSON()) };
  }

  static fromJSON(json: BaselinesJson, options: BaselineOptions = {}): BehaviorBaselines {
    const baselines = new BehaviorBaselines(options);
    for (const appJson of json.apps) {
      const app = AppBaseline.fromJSON(appJson, baselines.list.length, baselines);
      baselines.byKey.set(app.key, app);
      baselines.list.push(app);
    }
    return baselines;
  }
}

function addBounded<T>(list: T[], value: T, max: number): void {
  const at = list.indexOf(value);
  if (at === list.length - 1 && at >= 0) return;
  if (at >= 0) list.splice(at, 1);
  list.push(value);
  if (list.length > max) list.shift();
}

function positive(value: number, name: string): number {
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be a positive number, not ${value}`);
  return value;
}
