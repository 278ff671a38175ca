/**
 * Small, bounded structures the behaviour baselines are built from. A fleet of 10,000 hosts running
 * 200 applications with dozens of behaviours each means millions of "host H showed behaviour B"
 * facts: hosts are interned as small integers and each behaviour's hosts kept as a sorted list while
 * few, as a bitset once that is smaller. Process and DNS look-ups go through LRU maps with a fixed
 * capacity, so a host that starts millions of processes costs no more than one that starts a few.
 */

/** Host names as small integers, in the order first seen; names compare case-insensitively. */
export class HostIds {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];

  /** The host's id, interning it on first sight. */
  id(name: string): number {
    const key = name.toLowerCase();
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.ids.set(key, id);
    }
    return id;
  }

  /** The host's id, or undefined when it was never seen. */
  find(name: string): number | undefined {
    return this.ids.get(name.toLowerCase());
  }

  /** The name the host was first seen under. */
  name(id: number): string {
    const name = this.names[id];
    if (name === undefined) throw new RangeError(`no host has id ${id}`);
    return name;
  }

  get size(): number {
    return this.names.length;
  }

  toJSON(): string[] {
    return [...this.names];
  }

  static fromJSON(names: readonly string[]): HostIds {
    const hosts = new HostIds();
    for (const name of names) hosts.id(name);
    return hosts;
  }
}

/** What a sorted id list costs per entry (V8 packs small integers as 8-byte words) and a bitset's fixed overhead. */
const LIST_BYTES_PER_ID = 8;
const BITSET_OVERHEAD_BYTES = 128;

/** A HostSet as JSON: the ids while few, else the bitset's words in base64. */
export type HostSetJson = number[] | { bits: string };

/**
 * A set of host ids that costs what the smaller of its two forms costs: a sorted list (8 bytes an
 * id) or a bitset (one bit per host id up to the largest). 10,000 hosts in one set take 1.3 kB.
 */
export class HostSet {
  private list: number[] | null = [];
  private bits: Uint32Array | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(id: number): boolean {
    if (this.bits) {
      const word = id >>> 5;
      return word < this.bits.length && (this.bits[word]! & (1 << (id & 31))) !== 0;
    }
    return sortedIndex(this.list!, id) >= 0;
  }

  /** Adds the id; true when it was not in the set. */
  add(id: number): boolean {
    if (!Number.isInteger(id) || id < 0) throw new RangeError(`host id ${id} is not a non-negative integer`);
    if (this.bits) return this.setBit(id);
    const list = this.list!;
    const at = sortedIndex(list, id);
    if (at >= 0) return false;
    list.splice(-at - 1, 0, id);
    this.count++;
    const largest = list[list.length - 1]!;
    if (this.count * LIST_BYTES_PER_ID > bitsetBytes(largest)) this.toBitset(largest);
    return true;
  }

  /** An estimate of the bytes the ids take (the object itself aside). */
  get bytes(): number {
    return this.bits ? this.bits.byteLength + BITSET_OVERHEAD_BYTES : this.count * LIST_BYTES_PER_ID;
  }

  *[Symbol.iterator](): IterableIterator<number> {
    if (!this.bits) {
      yield* this.list!;
      return;
    }
    for (let word = 0; word < this.bits.length; word++) {
      let value = this.bits[word]!;
      while (value !== 0) {
        const bit = 31 - Math.clz32(value & -value);
        yield word * 32 + bit;
        value &= value - 1;
      }
    }
  }

  toJSON(): HostSetJson {
    if (!this.bits) return [...this.list!];
    return { bits: typedToBase64(this.bits) };
  }

  static fromJSON(json: HostSetJson): HostSet {
    const set = new HostSet();
    if (Array.isArray(json)) {
      for (const id of json) set.add(id);
      return set;
    }
    set.list = null;
    set.bits = new Uint32Array(base64ToBuffer(json.bits, 4, 'host bitset'));
    for (const word of set.bits) set.count += popCount(word);
    return set;
  }

  private setBit(id: number): boolean {
    const word = id >>> 5;
    if (word >= this.bits!.length) {
      const grown = new Uint32Array(Math.max(word + 1, Math.ceil(this.bits!.length * 1.5)));
      grown.set(this.bits!);
      this.bits = grown;
    }
    const mask = 1 << (id & 31);
    if ((this.bits![word]! & mask) !== 0) return false;
    this.bits![word]! |= mask;
    this.count++;
    return true;
  }

  private toBitset(largest: number): void {
    const bits = new Uint32Array((largest >>> 5) + 1);
    for (const id of this.list!) bits[id >>> 5]! |= 1 << (id & 31);
    this.bits = bits;
    this.list = null;
  }
}

function popCount(word: number): number {
  let count = 0;
  for (let value = word; value !== 0; value &= value - 1) count++;
  return count;
}

function bitsetBytes(largest: number): number {
  return ((largest >>> 5) + 1) * 4 + BITSET_OVERHEAD_BYTES;
}

/** The index of `id` in the sorted list, or -(insertion point) - 1 when absent. */
function sortedIndex(list: readonly number[], id: number): number {
  let low = 0;
  let high = list.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const value = list[middle]!;
    if (value < id) low = middle + 1;
    else if (value > id) high = middle - 1;
    else return middle;
  }
  return -low - 1;
}

/** A map that keeps at most `capacity` entries, dropping the least recently used first. */
export class LruMap<K, V> {
  private readonly map = new Map<K, V>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`LRU capacity ${capacity} is not a positive integer`);
  }

  get size(): number {
    return this.map.size;
  }

  /** The value, now the most recently used. */
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as K);
  }

  /** Least recently used first. */
  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }
}

/** A typed array's bytes as base64 (for snapshots). */
export function typedToBase64(array: Uint16Array | Uint32Array | Float64Array): string {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString('base64');
}

/** Bytes from base64 as a fresh, aligned buffer. */
export function base64ToBuffer(text: string, elementBytes: number, what: string): ArrayBuffer {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % elementBytes !== 0) throw new Error(`${what}: ${bytes.length} bytes is not whole ${elementBytes}-byte elements`);
  const buffer = new ArrayBuffer(bytes.length);
  new Uint8Array(buffer).set(bytes);
  return buffer;
}
