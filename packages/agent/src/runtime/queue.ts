/**
 * The agent's outbox: every batch of events is written here (and fsynced) before it is sent, and stays
 * until the server acknowledges its sequence number, so neither a lost connection nor an agent restart
 * loses events.
 *
 * On disk: segment files `<first seq, 16 digits>.jsonl` of `{"seq":N,"events":[…]}` lines, and
 * `meta.json` { acked, dropped, droppedThrough }. Sequence numbers only grow, across restarts too
 * (the server may use them to recognise a batch it already stored). A segment is deleted once every
 * batch in it is acknowledged.
 *
 * Bounded: when a batch would take the queue over `maxBytes`, the oldest segments are dropped and their
 * unacknowledged events counted in `dropped`. After a crash, a torn last line is cut off (with a warning)
 * and the lines before it kept.
 */
import { open, readdir, readFile, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ensurePrivateDir, errorCode, isAtomicTemporary, syncDir, writeFileAtomic } from './files.js';
import { stderrLog, type Log } from './log.js';

export type QueuedEvent = Record<string, unknown>;

export interface QueuedBatch {
  seq: number;
  events: QueuedEvent[];
}

export interface DiskQueueOptions {
  /** Most bytes of segment files on disk (default 256 MiB). */
  maxBytes?: number;
  /** A new segment is started once the current one would grow past this (default maxBytes/16, at most 8 MiB). */
  segmentBytes?: number;
  onWarning?: Log;
}

const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
const MAX_SEGMENT_BYTES = 8 * 1024 * 1024;
const SEGMENT_NAME = /^(\d{16})\.jsonl$/;
const META_FILE = 'meta.json';

/** Where a batch is in its segment. */
interface RecordRef {
  seq: number;
  offset: number;
  length: number;
  count: number;
}

interface Segment {
  path: string;
  records: RecordRef[];
  bytes: number;
}

interface Meta {
  acked: number;
  dropped: number;
  droppedThrough: number;
}

export class DiskQueue {
  private readonly segments: Segment[];
  /** The segment being appended to, open; null until the first push after open, a rotation or its deletion. */
  private active: { segment: Segment; handle: FileHandle } | null = null;
  private meta: Meta;
  private lastSeqValue: number;
  private totalBytes: number;
  private queuedEvents: number;
  /** File changes (appends, deletions, meta writes) run one at a time, in call order. */
  private chain: Promise<unknown> = Promise.resolve();
  /** The flush of acknowledgements not started yet (later acks join it), and the latest flush, started or not. */
  private pendingFlush: Promise<void> | null = null;
  private latestFlush: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;

  private constructor(
    readonly dir: string,
    loaded: { segments: Segment[]; meta: Meta },
    options: DiskQueueOptions,
  ) {
    this.segments = loaded.segments;
    this.meta = loaded.meta;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.segmentBytes = options.segmentBytes ?? Math.max(1, Math.min(MAX_SEGMENT_BYTES, Math.floor(this.maxBytes / 16)));
    const lastInSegments = this.segments.at(-1)?.records.at(-1)?.seq ?? 0;
    this.lastSeqValue = Math.max(lastInSegments, this.meta.acked, this.meta.droppedThrough);
    this.totalBytes = this.segments.reduce((sum, segment) => sum + segment.bytes, 0);
    this.queuedEvents = 0;
    for (const segment of this.segments) for (const ref of segment.records) if (ref.seq > this.meta.acked) this.queuedEvents += ref.count;
  }

  /** Opens the queue in `dir` (created if needed), reading back what an earlier run left unacknowledged. */
  static async open(dir: string, options: DiskQueueOptions = {}): Promise<DiskQueue> {
    const warn = options.onWarning ?? stderrLog;
    await ensurePrivateDir(dir);
    const names = (await readdir(dir)).sort();
    for (const name of names) if (isAtomicTemporary(name)) await rm(join(dir, name), { force: true });
    const meta = await readMeta(join(dir, META_FILE), warn);
    const segments: Segment[] = [];
    let lastSeq = 0;
    for (const name of names.filter((entry) => SEGMENT_NAME.test(entry))) {
      const segment = await loadSegment(join(dir, name), lastSeq, warn);
      const last = segment.records.at(-1)?.seq;
      if (last !== undefined) lastSeq = last;
      if (last === undefined || last <= meta.acked) await rm(segment.path, { force: true });
      else segments.push(segment);
    }
    return new DiskQueue(dir, { segments, meta }, options);
  }

  /** Events written but not acknowledged yet. */
  get queued(): number {
    return this.queuedEvents;
  }

  /** Events dropped unacknowledged because the queue was full (since the queue was created). */
  get dropped(): number {
    return this.meta.dropped;
  }

  /** Every batch up to this sequence number is acknowledged. */
  get ackedSeq(): number {
    return this.meta.acked;
  }

  /** The sequence number of the last batch written. */
  get lastSeq(): number {
    return this.lastSeqValue;
  }

  /** Bytes of segment files on disk. */
  get bytes(): number {
    return this.totalBytes;
  }

  /**
   * Appends a batch and resolves to its sequence number once it is on disk (fsynced). The events are
   * serialized at once, so the caller may reuse the array afterwards.
   */
  push(events: QueuedEvent[]): Promise<number> {
    if (this.closed) return Promise.reject(new Error(`event queue ${this.dir} is closed`));
    const count = events.length;
    const body = JSON.stringify(events);
    return this.exclusive(async () => {
      const seq = this.lastSeqValue + 1;
      const line = Buffer.from(`{"seq":${seq},"events":${body}}\n`);
      if (line.length > this.maxBytes) {
        throw new RangeError(`a batch of ${count} events takes ${line.length} bytes, more than the event queue holds (${this.maxBytes})`);
      }
      await this.makeRoom(line.length);
      const active = await this.segmentFor(seq, line.length);
      try {
        await active.handle.appendFile(line);
        await active.handle.datasync();
      } catch (error) {
        // Cut a partial line off so the next append starts on a line of its own.
        await active.handle.truncate(active.segment.bytes).catch(() => undefined);
        throw error;
      }
      active.segment.records.push({ seq, offset: active.segment.bytes, length: line.length, count });
      active.segment.bytes += line.length;
      this.totalBytes += line.length;
      this.queuedEvents += count;
      this.lastSeqValue = seq;
      return seq;
    });
  }

  /**
   * The unacknowledged batches after `afterSeq`, oldest first, read from disk; batches written while
   * iterating are included, those acknowledged or dropped meanwhile skipped.
   */
  async *unacked(afterSeq: number = this.meta.acked): AsyncGenerator<QueuedBatch> {
    let last = afterSeq;
    for (;;) {
      const segment = this.segments.find((candidate) => (candidate.records.at(-1)?.seq ?? 0) > Math.max(last, this.meta.acked));
      if (!segment) return;
      let handle: FileHandle;
      try {
        handle = await open(segment.path, 'r');
      } catch (error) {
        if (errorCode(error) !== 'ENOENT') throw error;
        // Deleted since it was found: acknowledged or dropped meanwhile.
        last = Math.max(last, segment.records.at(-1)?.seq ?? last);
        continue;
      }
      try {
        for (const ref of segment.records) {
          if (ref.seq <= Math.max(last, this.meta.acked)) continue;
          const batch = await readRecord(handle, segment.path, ref);
          last = ref.seq;
          yield batch;
        }
      } finally {
        await handle.close();
      }
    }
  }

  /** Acknowledges every batch up to `seq`; resolves once fully acknowledged segments are deleted and the mark is on disk. */
  ack(seq: number): Promise<void> {
    const through = Math.min(seq, this.lastSeqValue);
    if (through <= this.meta.acked) return this.latestFlush;
    this.queuedEvents -= this.countEvents(this.meta.acked, through);
    this.meta.acked = through;
    // One flush serves every ack made before it starts.
    if (!this.pendingFlush) {
      this.pendingFlush = this.exclusive(async () => {
        this.pendingFlush = null;
        await this.deleteSegments((segment) => (segment.records.at(-1)?.seq ?? 0) <= this.meta.acked);
        await this.writeMeta();
      });
      this.latestFlush = this.pendingFlush;
    }
    return this.pendingFlush;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.exclusive(async () => {
      await this.active?.handle.close();
      this.active = null;
    });
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.chain.then(work, work);
    this.chain = result.catch(() => undefined);
    return result;
  }

  /** Unacknowledged events in batches after `from` up to `through`. */
  private countEvents(from: number, through: number): number {
    let count = 0;
    for (const segment of this.segments) {
      const { records } = segment;
      if (records.length === 0 || records[records.length - 1].seq <= from) continue;
      if (records[0].seq > through) break;
      for (let index = firstAfter(records, from); index < records.length && records[index].seq <= through; index++) {
        count += records[index].count;
      }
    }
    return count;
  }

  /** Drops the oldest segments until `bytes` more fit under maxBytes. */
  private async makeRoom(bytes: number): Promise<void> {
    let dropping = 0;
    let freed = 0;
    while (dropping < this.segments.length && this.totalBytes - freed + bytes > this.maxBytes) freed += this.segments[dropping++].bytes;
    if (dropping === 0) return;
    const doomed = new Set(this.segments.slice(0, dropping));
    let events = 0;
    for (const segment of doomed) {
      for (const ref of segment.records) {
        if (ref.seq > this.meta.acked) events += ref.count;
        this.meta.droppedThrough = Math.max(this.meta.droppedThrough, ref.seq);
      }
    }
    this.meta.dropped += events;
    this.queuedEvents -= events;
    // The mark goes to disk first: a crash after the deletion must not reuse the dropped numbers.
    await this.writeMeta();
    await this.deleteSegments((segment) => doomed.has(segment));
  }

  /** The open segment to append a `bytes`-long line for `seq` to, starting a new one when the current is full. */
  private async segmentFor(seq: number, bytes: number): Promise<{ segment: Segment; handle: FileHandle }> {
    const active = this.active;
    if (active && (active.segment.bytes === 0 || active.segment.bytes + bytes <= this.segmentBytes)) return active;
    await active?.handle.close();
    this.active = null;
    const segment: Segment = { path: join(this.dir, `${String(seq).padStart(16, '0')}.jsonl`), records: [], bytes: 0 };
    const handle = await open(segment.path, 'a', 0o600);
    await syncDir(this.dir);
    this.segments.push(segment);
    this.active = { segment, handle };
    return this.active;
  }

  private async deleteSegments(doomed: (segment: Segment) => boolean): Promise<void> {
    let deleted = false;
    for (let index = 0; index < this.segments.length;) {
      const segment = this.segments[index];
      if (!doomed(segment)) {
        index++;
        continue;
      }
      if (this.active?.segment === segment) {
        await this.active.handle.close();
        this.active = null;
      }
      this.segments.splice(index, 1);
      this.totalBytes -= segment.bytes;
      await rm(segment.path, { force: true });
      deleted = true;
    }
    if (deleted) await syncDir(this.dir);
  }

  private writeMeta(): Promise<void> {
    return writeFileAtomic(join(this.dir, META_FILE), `${JSON.stringify(this.meta)}\n`);
  }
}

async function readMeta(path: string, warn: Log): Promise<Meta> {
  const fresh: Meta = { acked: 0, dropped: 0, droppedThrough: 0 };
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return fresh;
    throw error;
  }
  try {
    const value = JSON.parse(text) as Partial<Meta>;
    const number = (field: unknown): number => (Number.isSafeInteger(field) && (field as number) >= 0 ? (field as number) : 0);
    return { acked: number(value.acked), dropped: number(value.dropped), droppedThrough: number(value.droppedThrough) };
  } catch (error) {
    // Only the acknowledgement mark is lost: batches are sent again, which the server recognises by seq.
    warn(`${path} is not valid JSON (${(error as Error).message}); every queued batch will be sent again`);
    return fresh;
  }
}

/**
 * Indexes a segment's lines. A line that does not parse, or whose seq does not follow `afterSeq`, is
 * skipped with a warning; an unterminated last line that does not parse (torn by a crash) is also cut
 * off the file, so the lines before it stay readable.
 */
async function loadSegment(path: string, afterSeq: number, warn: Log): Promise<Segment> {
  const content = await readFile(path);
  const records: RecordRef[] = [];
  let previous = afterSeq;
  let offset = 0;
  let lineNumber = 0;
  while (offset < content.length) {
    lineNumber++;
    const newline = content.indexOf(0x0a, offset);
    const end = newline === -1 ? content.length : newline + 1;
    const batch = parseLine(content.subarray(offset, end));
    if (batch === undefined && newline === -1) {
      warn(
        `${path}: line ${lineNumber} was torn by a crash (${end - offset} bytes); cut off, the ${records.length} batches before it kept`,
      );
      const handle = await open(path, 'r+');
      try {
        await handle.truncate(offset);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return { path, records, bytes: offset };
    }
    if (batch === undefined) warn(`${path}: line ${lineNumber} is not a queued batch; skipped`);
    else if (batch.seq <= previous) warn(`${path}: line ${lineNumber} has seq ${batch.seq}, not after ${previous}; skipped`);
    else {
      records.push({ seq: batch.seq, offset, length: end - offset, count: batch.events.length });
      previous = batch.seq;
    }
    offset = end;
  }
  return { path, records, bytes: content.length };
}

/** The index of the first record with a seq after `seq` (records are in seq order). */
function firstAfter(records: RecordRef[], seq: number): number {
  let low = 0;
  let high = records.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (records[middle].seq <= seq) low = middle + 1;
    else high = middle;
  }
  return low;
}

function parseLine(line: Buffer): QueuedBatch | undefined {
  try {
    const value = JSON.parse(line.toString('utf8')) as Partial<QueuedBatch>;
    if (Number.isSafeInteger(value?.seq) && Array.isArray(value.events)) return value as QueuedBatch;
  } catch {
    // Reported by the caller, which knows the file and line.
  }
  return undefined;
}

async function readRecord(handle: FileHandle, path: string, ref: RecordRef): Promise<QueuedBatch> {
  const buffer = Buffer.alloc(ref.length);
  const { bytesRead } = await handle.read(buffer, 0, ref.length, ref.offset);
  const batch = bytesRead === ref.length ? parseLine(buffer) : undefined;
  if (batch?.seq !== ref.seq) throw new Error(`${path}: batch ${ref.seq} at byte ${ref.offset} cannot be read back`);
  return batch;
}
