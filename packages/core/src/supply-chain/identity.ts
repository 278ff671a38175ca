/**
 * Application identity: which application (vendor and product, so versions compare) made an event.
 *
 * A process creation (Sysmon 1, the agent's `process_creation`) names the executable with its
 * version resources: Company, Product, FileVersion, Hashes, Description. Sysmon 1 carries no signer;
 * the signer of an application is learned from its image loads (Sysmon 7), where the executable's
 * own load carries Signed/Signature too. Every later event of the process — network (3), image load
 * (7), file creation (11), DNS (22), and process creations naming it as parent — is attributed
 * through a per-host process table: by ProcessGuid (Sysmon), else by ProcessId (the Linux agent),
 * else by the executable path last started on that host.
 *
 * Decisions:
 * - Without Company or Product (Linux executables, unversioned Windows programs) the vendor is
 *   `unknown` and the product the executable's file name, as the fleet inventory names them.
 * - The operating system ships hundreds of programs under one Product ("Microsoft® Windows®
 *   Operating System"); one baseline for all of them would call anything any of them does normal,
 *   so each of those programs is its own application, named by its file name.
 * - Without FileVersion the version is `sha256:` and the executable's hash cut to 12 digits (a new
 *   build is a new version), else `unknown`.
 */
import { sha256FromHashes } from '../response/indicators.js';
import { baseName, normalizeGuid, parsePid } from '../timeline/process-events.js';
import { LruMap } from './compact.js';

export const UNKNOWN_VENDOR = 'unknown';
export const UNKNOWN_VERSION = 'unknown';
/** Processes (and executable paths) remembered per engine; the least recently active go first. */
export const DEFAULT_MAX_PROCESSES = 100_000;

export interface AppIdentity {
  /** `vendor|product`, lower-case: see appKey. */
  key: string;
  vendor: string;
  product: string;
  version: string;
  image: string;
  sha256: string | null;
  description: string | null;
}

/** The key baselines are kept under: `vendor|product`, lower-case. */
export function appKey(vendor: string, product: string): string {
  return `${vendor.trim().toLowerCase()}|${product.trim().toLowerCase()}`;
}

/** Products that are a whole operating system rather than one application. */
const OPERATING_SYSTEM = /operating system/i;

/**
 * The identity of the executable `image` from the version resources in `fields` (a process creation,
 * or the image load of the executable itself); null without an image.
 */
export function appIdentity(image: string | null, fields: Record<string, unknown>): AppIdentity | null {
  if (image === null) return null;
  const file = baseName(image);
  if (file === '') return null;
  const company = meaningful(fields.Company);
  const declaredProduct = meaningful(fields.Product);
  const vendor = company ?? UNKNOWN_VENDOR;
  const product = declaredProduct === null || OPERATING_SYSTEM.test(declaredProduct) ? file : declaredProduct;
  const sha256 = sha256FromHashes(fields.Hashes);
  return {
    key: appKey(vendor, product),
    vendor,
    product,
    version: versionOf(fields.FileVersion, sha256),
    image,
    sha256,
    description: meaningful(fields.Description),
  };
}

/** FileVersion without the build lab Windows appends (`10.0.19041.1 (WinBuild.160101.0800)`). */
function versionOf(fileVersion: unknown, sha256: string | null): string {
  const declared = meaningful(fileVersion);
  if (declared !== null) return declared.split(' (')[0]!.trim();
  return sha256 === null ? UNKNOWN_VERSION : `sha256:${sha256.slice(0, 12)}`;
}

/** A field's text; Sysmon writes `-` and `?` (no version resource) for "none". */
export function meaningful(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return null;
  const text = value.trim();
  return text === '' || text === '-' || text === '?' ? null : text;
}

/** The folder an executable lives in, lower-case with its trailing separator: the application's own folder. */
export function ownFolder(image: string): string {
  const cut = Math.max(image.lastIndexOf('\\'), image.lastIndexOf('/'));
  return image.slice(0, cut + 1).toLowerCase();
}

/** How an event names a process. */
export interface ProcessRef {
  guid?: string;
  pid?: number;
  image?: string;
}

/** The process that produced an event (ProcessGuid, ProcessId, Image). */
export function processRef(fields: Record<string, unknown>): ProcessRef {
  return refOf(fields.ProcessGuid, fields.ProcessId, fields.Image);
}

/** The parent a process creation names (ParentProcessGuid, ParentProcessId, ParentImage). */
export function parentRef(fields: Record<string, unknown>): ProcessRef {
  return refOf(fields.ParentProcessGuid, fields.ParentProcessId, fields.ParentImage);
}

function refOf(guid: unknown, pid: unknown, image: unknown): ProcessRef {
  const ref: ProcessRef = {};
  const normalizedGuid = normalizeGuid(guid);
  if (normalizedGuid !== undefined) ref.guid = normalizedGuid;
  const parsedPid = parsePid(pid);
  if (parsedPid !== undefined) ref.pid = parsedPid;
  const path = meaningful(image);
  if (path !== null) ref.image = path;
  return ref;
}

/** A ProcessTable's content, for snapshots: [key, entry] pairs, least recently used first. */
export interface ProcessTableJson<T> {
  processes: [string, T][];
  images: [string, T][];
}

/**
 * What each running process is, per host, bounded: `capacity` processes by ProcessGuid or ProcessId,
 * and as many executable paths (the fallback for a process whose start was not seen: its image
 * path's last start on that host). Entries are whatever the caller attributes events to.
 */
export class ProcessTable<T> {
  private readonly processes: LruMap<string, T>;
  private readonly images: LruMap<string, T>;

  constructor(readonly capacity: number = DEFAULT_MAX_PROCESSES) {
    this.processes = new LruMap(capacity);
    this.images = new LruMap(capacity);
  }

  get size(): number {
    return this.processes.size;
  }

  /** Remembers a started process (by GUID, else PID) and its executable path on the host. */
  remember(host: number, ref: ProcessRef, entry: T): void {
    const key = processKey(host, ref);
    if (key !== null) this.processes.set(key, entry);
    if (ref.image !== undefined) this.images.set(imageKey(host, ref.image), entry);
  }

  /** The process an event names: by GUID, else PID, else the last start of its image on the host. */
  find(host: number, ref: ProcessRef): T | undefined {
    const key = processKey(host, ref);
    const process = key === null ? undefined : this.processes.get(key);
    if (process !== undefined) return process;
    return ref.image === undefined ? undefined : this.images.get(imageKey(host, ref.image));
  }

  toJSON(): ProcessTableJson<T> {
    return { processes: [...this.processes.entries()], images: [...this.images.entries()] };
  }

  static fromJSON<T>(json: ProcessTableJson<T>, capacity: number = DEFAULT_MAX_PROCESSES): ProcessTable<T> {
    const table = new ProcessTable<T>(capacity);
    for (const [key, entry] of json.processes) table.processes.set(key, entry);
    for (const [key, entry] of json.images) table.images.set(key, entry);
    return table;
  }
}

/** Sysmon's GUID names one process for ever; a PID only until it is reused, when the new start replaces it. */
function processKey(host: number, ref: ProcessRef): string | null {
  if (ref.guid !== undefined) return `${host}|g|${ref.guid}`;
  if (ref.pid !== undefined) return `${host}|p|${ref.pid}`;
  return null;
}

function imageKey(host: number, image: string): string {
  return `${host}|i|${image.toLowerCase()}`;
}
