/**
 * Output lines held until every event is read, then given back in time order. A timeline cannot
 * be written before its last file is read, so what it keeps per event is what decides its memory:
 * here the line's UTF-8 bytes, packed into large blocks, and 20 bytes of bookkeeping. (JavaScript
 * strings would cost an object each, and twice the bytes once a line holds a non-Latin-1
 * character such as "→".)
 */

/** Bytes per block; a longer line gets a block of its own. */
const BLOCK_BYTES = 1 << 20;
/** The most bytes one UTF-16 code unit takes in UTF-8. */
const MAX_BYTES_PER_UNIT = 3;

export class TimedLines {
  private readonly blocks: Buffer[] = [];
  private block = Buffer.allocUnsafe(0);
  private used = 0;
  /** Per line: its time (NaN when it has none), its block, where it starts and how long it is. */
  private times = new Float64Array(1024);
  private blockIndexes = new Uint32Array(1024);
  private starts = new Uint32Array(1024);
  private lengths = new Uint32Array(1024);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Keeps `line` (with its line break, if it should have one); returns its index. */
  add(time: number | undefined, line: string): number {
    if (this.count === this.times.length) this.grow();
    if (this.block.length - this.used < line.length * MAX_BYTES_PER_UNIT) this.newBlock(line);
    const length = this.block.write(line, this.used);
    const i = this.count++;
    this.times[i] = time ?? NaN;
    this.blockIndexes[i] = this.blocks.length - 1;
    this.starts[i] = this.used;
    this.lengths[i] = length;
    this.used += length;
    return i;
  }

  /**
   * The lines in time order, oldest first; equal times in the order they were added; lines
   * without a time last. `keep` (given a line's index) leaves lines out.
   */
  *ordered(keep: (index: number) => boolean = () => true): Generator<Buffer> {
    const order = new Uint32Array(this.count);
    let n = 0;
    for (let i = 0; i < this.count; i++) if (keep(i)) order[n++] = i;
    const times = this.times;
    const kept = order.subarray(0, n).sort((a, b) => {
      const ta = times[a]!;
      const tb = times[b]!;
      const untimedA = Number.isNaN(ta);
      if (untimedA !== Number.isNaN(tb)) return untimedA ? 1 : -1;
      return ta < tb ? -1 : ta > tb ? 1 : a - b;
    });
    for (const i of kept) yield this.blocks[this.blockIndexes[i]!]!.subarray(this.starts[i]!, this.starts[i]! + this.lengths[i]!);
  }

  private newBlock(line: string): void {
    this.block = Buffer.allocUnsafe(Math.max(BLOCK_BYTES, Buffer.byteLength(line)));
    this.blocks.push(this.block);
    this.used = 0;
  }

  private grow(): void {
    const capacity = this.times.length * 2;
    const grown = <T extends Float64Array | Uint32Array>(array: T, make: (n: number) => T): T => {
      const next = make(capacity);
      next.set(array);
      return next;
    };
    this.times = grown(this.times, (n) => new Float64Array(n));
    this.blockIndexes = grown(this.blockIndexes, (n) => new Uint32Array(n));
    this.starts = grown(this.starts, (n) => new Uint32Array(n));
    this.lengths = grown(this.lengths, (n) => new Uint32Array(n));
  }
}
