/**
 * The fleet's software inventory: every application identity seen — vendor, product, version,
 * signers, executable hashes, the hosts that run it with first and last seen — and where each
 * executable or module hash was seen. Fed by Sysmon process creations (EventID 1) and image loads
 * (EventID 7), the Linux agent's process events, and agents' inventories (installed packages,
 * running executables). Answers "who runs product X version Y" and "where is hash H".
 *
 * Kept in memory for the look-ups and written to the store (records `software` and `hash`) at
 * most every few seconds, so a restarted server starts with what it knew.
 */
import { isoTime, sha256FromHashes, type Inventory } from '@firebreak/core';
import { DuplicateKeyError, type AlertRecord, type SerializedEventRecord, type Store } from '@firebreak/store';
import type { EventStage } from '../pipeline.js';

const SOFTWARE = 'software';
const HASH = 'hash';
const SYSMON = 'Microsoft-Windows-Sysmon/Operational';
const FLUSH_MS = 5000;
/** Identities and hashes remembered at most (the first remembered go first past it, from the store too). */
const MAX_ENTRIES = 200_000;
const MAX_HASHES = 1_000_000;
/** Executable hashes and signers kept per identity: a rebuilt-per-host binary must not grow one without end. */
const MAX_HASHES_PER_ENTRY = 1_000;
const MAX_SIGNERS_PER_ENTRY = 16;

type Seen = [first: number, last: number];

export interface SoftwareEntry {
  vendor: string;
  product: string;
  version: string;
  signers: string[];
  /** SHA-256 of the application's executable (as each host ran it). */
  hashes: string[];
  hosts: Record<string, Seen>;
  /** Where it came from: `process` (events) or `dpkg`/`rpm` (agent inventories). */
  source: string;
}

export interface HashEntry {
  hosts: Record<string, { path: string; first: number; last: number }>;
}

interface Stored<T> {
  id: number | null;
  body: T;
  dirty: boolean;
}

export class SoftwareInventory implements EventStage {
  private readonly entries = new Map<string, Stored<SoftwareEntry>>();
  private readonly hashes = new Map<string, Stored<HashEntry>>();
  /** host → image → signer, from image loads of the executable itself (Sysmon logs the main image's load too). */
  private readonly signers = new Map<string, string>();
  /** Records of evicted entries, deleted from the store at the next flush. */
  private readonly evicted: [kind: string, id: number][] = [];
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly store: Store) {
    // A failed flush leaves its entries dirty: the next tick writes them again.
    this.timer = setInterval(() => void this.flush().catch(() => undefined), FLUSH_MS).unref();
  }

  async load(): Promise<void> {
    for (const [kind, map] of [
      [SOFTWARE, this.entries],
      [HASH, this.hashes],
    ] as const)
      for (let afterId = 0; ;) {
        const page = await this.store.listRecords<SoftwareEntry & HashEntry>(kind, { afterId, limit: 1000 });
        for (const record of page)
          (map as Map<string, Stored<unknown>>).set(record.key!, { id: record.id, body: record.body, dirty: false });
        if (page.length < 1000) break;
        afterId = page.at(-1)!.id;
      }
  }

  /** Pipeline stage: takes in process creations and image loads; raises nothing. */
  alertsFor(record: SerializedEventRecord, _eventId: number, parsed: () => Record<string, unknown>): readonly AlertRecord[] {
    const host = record.host;
    if (!host) return [];
    const sysmon = record.channel === SYSMON && (record.eventId === 1 || record.eventId === 7);
    const agent = record.format === 'flat' && record.fieldsJson.includes('"_kind":"process_creation"');
    if (!sysmon && !agent) return [];
    const fields = parsed();
    if (record.eventId === 7 && sysmon) this.imageLoaded(host, fields, record.time);
    else this.processCreated(host, fields, record.time);
    return [];
  }

  /** An agent's inventory: installed packages are software, running executables are hashes seen. */
  observeInventory(host: string, inventory: Inventory): void {
    const time = inventory.collectedAt;
    for (const pkg of inventory.packages)
      this.addEntry(host, { vendor: pkg.manager, product: pkg.name, version: pkg.version, source: pkg.manager }, time);
    for (const executable of inventory.executables) this.addHash(executable.sha256, host, executable.path, time);
  }

  /** Who runs it: identities whose vendor, product and version contain the given text (case-insensitive). */
  find(query: { vendor?: string; product?: string; version?: string; host?: string }): SoftwareEntry[] {
    const matches = (value: string, wanted: string | undefined): boolean =>
      wanted === undefined || value.toLowerCase().includes(wanted.toLowerCase());
    const out: SoftwareEntry[] = [];
    for (const { body } of this.entries.values())
      if (matches(body.vendor, query.vendor) && matches(body.product, query.product) && matches(body.version, query.version))
        if (query.host === undefined || Object.keys(body.hosts).some((h) => h.toLowerCase() === query.host!.toLowerCase())) out.push(body);
    return out;
  }

  /** Where the hash was seen: hosts with the path and first and last time. */
  whereIs(sha256: string): HashEntry['hosts'] {
    return this.hashes.get(sha256.toLowerCase())?.body.hosts ?? {};
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /**
   * Writes what changed since the last flush (one flush at a time); rejects when the store failed,
   * with what was not written still to write (a failed flush does not stop the later ones).
   */
  flush(): Promise<void> {
    const run = this.flushing.then(async () => {
      for (const [kind, id] of this.evicted.splice(0)) await this.store.deleteRecord(kind, id);
      await this.write(SOFTWARE, this.entries);
      await this.write(HASH, this.hashes);
    });
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private async write<T>(kind: string, map: Map<string, Stored<T>>): Promise<void> {
    for (const [key, entry] of map) {
      if (!entry.dirty) continue;
      entry.dirty = false;
      try {
        entry.id = await this.put(kind, key, entry);
      } catch (error) {
        entry.dirty = true;
        throw error;
      }
    }
  }

  /** Updates the entry's record, else inserts it; a key already stored (an entry evicted and seen again) is updated. */
  private async put<T>(kind: string, key: string, entry: Stored<T>): Promise<number> {
    const updated = entry.id === null ? undefined : await this.store.updateRecord(kind, entry.id, entry.body);
    if (updated) return updated.id;
    try {
      return (await this.store.putRecord(kind, { key, body: entry.body })).id;
    } catch (error) {
      const existing = error instanceof DuplicateKeyError ? await this.store.findRecord<T>(kind, key) : undefined;
      const replaced = existing && (await this.store.updateRecord(kind, existing.id, entry.body));
      if (!replaced) throw error;
      return replaced.id;
    }
  }

  private processCreated(host: string, fields: Record<string, unknown>, time: number): void {
    const image = text(fields.Image);
    if (!image) return;
    const sha256 = sha256FromHashes(fields.Hashes);
    if (sha256) this.addHash(sha256, host, image, time);
    const product = text(fields.Product) ?? baseName(image);
    const identity = {
      vendor: text(fields.Company) ?? 'unknown',
      product,
      version: text(fields.FileVersion) ?? 'unknown',
      source: 'process',
    };
    const entry = this.addEntry(host, identity, time);
    if (sha256 && entry.body.hashes.length < MAX_HASHES_PER_ENTRY && !entry.body.hashes.includes(sha256))
      this.change(entry, (b) => b.hashes.push(sha256));
    const signer = this.signers.get(`${host}\u0000${image.toLowerCase()}`);
    if (signer && entry.body.signers.length < MAX_SIGNERS_PER_ENTRY && !entry.body.signers.includes(signer))
      this.change(entry, (b) => b.signers.push(signer));
  }

  private imageLoaded(host: string, fields: Record<string, unknown>, time: number): void {
    const module = text(fields.ImageLoaded);
    const image = text(fields.Image);
    if (!module) return;
    const sha256 = sha256FromHashes(fields.Hashes);
    if (sha256) this.addHash(sha256, host, module, time);
    const signed = String(fields.Signed).toLowerCase() === 'true';
    const signature = text(fields.Signature);
    if (image && signed && signature && module.toLowerCase() === image.toLowerCase()) {
      if (this.signers.size >= MAX_ENTRIES) this.signers.clear();
      this.signers.set(`${host}\u0000${image.toLowerCase()}`, signature);
    }
  }

  private addEntry(
    host: string,
    identity: Pick<SoftwareEntry, 'vendor' | 'product' | 'version' | 'source'>,
    time: number,
  ): Stored<SoftwareEntry> {
    const key = `${identity.vendor}|${identity.product}|${identity.version}`.toLowerCase();
    let entry = this.entries.get(key);
    if (!entry) {
      this.evictFirst(SOFTWARE, this.entries, MAX_ENTRIES);
      entry = { id: null, body: { ...identity, signers: [], hashes: [], hosts: {} }, dirty: true };
      this.entries.set(key, entry);
    }
    seen(entry, entry.body.hosts, host, time);
    return entry;
  }

  private addHash(sha256: string, host: string, path: string, time: number): void {
    let entry = this.hashes.get(sha256);
    if (!entry) {
      this.evictFirst(HASH, this.hashes, MAX_HASHES);
      entry = { id: null, body: { hosts: {} }, dirty: true };
      this.hashes.set(sha256, entry);
    }
    const known = entry.body.hosts[host];
    if (!known) {
      entry.body.hosts[host] = { path, first: time, last: time };
      entry.dirty = true;
    } else if (time > known.last + FLUSH_MS) {
      known.last = time;
      entry.dirty = true;
    } else if (time < known.first) {
      known.first = time;
      entry.dirty = true;
    }
  }

  /** Makes room for one more entry: the first remembered goes, and its record with it at the next flush. */
  private evictFirst<T>(kind: string, map: Map<string, Stored<T>>, max: number): void {
    if (map.size < max) return;
    const [key, entry] = map.entries().next().value!;
    map.delete(key);
    if (entry.id !== null) this.evicted.push([kind, entry.id]);
  }

  private change(entry: Stored<SoftwareEntry>, edit: (body: SoftwareEntry) => void): void {
    edit(entry.body);
    entry.dirty = true;
  }
}

/** Host first/last seen; last seen is written when it moved by more than a flush period (not at every event). */
function seen(entry: Stored<unknown>, hosts: Record<string, Seen>, host: string, time: number): void {
  const known = hosts[host];
  if (!known) {
    hosts[host] = [time, time];
    entry.dirty = true;
  } else if (time > known[1] + FLUSH_MS) {
    known[1] = time;
    entry.dirty = true;
  } else if (time < known[0]) {
    known[0] = time;
    entry.dirty = true;
  }
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' && value !== '-' ? value.trim() : undefined;
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/** The API's view of an identity. */
export function softwareView(entry: SoftwareEntry): Record<string, unknown> {
  const hosts = Object.entries(entry.hosts)
    .map(([host, [first, last]]) => ({ host, first_seen: isoTime(first), last_seen: isoTime(last) }))
    .sort((a, b) => a.host.localeCompare(b.host));
  // A loop, not Math.min(...): spreading a large fleet's hosts would overflow the call stack.
  let first = Infinity;
  let last = -Infinity;
  for (const [from, to] of Object.values(entry.hosts)) {
    first = Math.min(first, from);
    last = Math.max(last, to);
  }
  return {
    vendor: entry.vendor,
    product: entry.product,
    version: entry.version,
    signers: entry.signers,
    hashes: entry.hashes,
    source: entry.source,
    host_count: hosts.length,
    first_seen: isoTime(first),
    last_seen: isoTime(last),
    hosts,
  };
}
