/**
 * Detections over time in bounded memory. Counts are kept per hour; when the times spread over
 * more than MAX_BUCKETS hours (a clock set to 1970 in one log), buckets grow to days, weeks,
 * 4-week spans and so on, each a whole multiple of the one before, so nothing is lost but detail.
 */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
export const MAX_BUCKETS = 10_000;
/** Kept bucket sizes; each divides the next. */
const KEPT_SIZES = [HOUR, DAY, 7 * DAY, 28 * DAY, 364 * DAY, 3_640 * DAY, 36_400 * DAY, 364_000 * DAY];
/** Sizes of a chart's bars, smallest first; the chart uses the smallest that the kept size divides and that gives few enough bars. */
const BAR_SIZES = [
  HOUR,
  2 * HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  7 * DAY,
  14 * DAY,
  28 * DAY,
  91 * DAY,
  182 * DAY,
  364 * DAY,
  728 * DAY,
  1_820 * DAY,
  3_640 * DAY,
  36_400 * DAY,
  364_000 * DAY,
];

export interface Histogram {
  /** Width of a bar in milliseconds. */
  barSize: number;
  /** Start of the first bar (ms since the epoch). */
  start: number;
  /** Per bar, the count of each series (level). */
  bars: number[][];
}

export class TimeBuckets {
  size = HOUR;
  private buckets = new Map<number, number[]>();

  constructor(private readonly series: number) {}

  add(time: number, series: number): void {
    const key = Math.floor(time / this.size) * this.size;
    let counts = this.buckets.get(key);
    if (!counts) this.buckets.set(key, (counts = new Array<number>(this.series).fill(0)));
    counts[series]!++;
    if (this.buckets.size > MAX_BUCKETS) this.coarsen();
  }

  /** Bars to draw: at most `maxBars`, every span from the first detection to the last included (empty ones too). */
  histogram(maxBars: number): Histogram | undefined {
    if (this.buckets.size === 0) return undefined;
    const keys = [...this.buckets.keys()];
    const first = Math.min(...keys);
    const last = Math.max(...keys);
    const fits = (size: number): boolean => Math.floor(last / size) - Math.floor(first / size) + 1 <= maxBars;
    let barSize = BAR_SIZES.find((size) => size % this.size === 0 && fits(size)) ?? KEPT_SIZES.at(-1)!;
    while (!fits(barSize)) barSize *= 10;
    const start = Math.floor(first / barSize) * barSize;
    const bars = Array.from({ length: Math.floor(last / barSize) - start / barSize + 1 }, () => new Array<number>(this.series).fill(0));
    for (const [key, counts] of this.buckets) {
      const bar = bars[Math.floor(key / barSize) - start / barSize]!;
      counts.forEach((n, series) => (bar[series]! += n));
    }
    return { barSize, start, bars };
  }

  private coarsen(): void {
    while (this.buckets.size > MAX_BUCKETS) {
      const next = KEPT_SIZES.find((size) => size > this.size) ?? this.size * 10;
      const coarser = new Map<number, number[]>();
      for (const [key, counts] of this.buckets) {
        const k = Math.floor(key / next) * next;
        const into = coarser.get(k);
        if (into) counts.forEach((n, series) => (into[series]! += n));
        else coarser.set(k, counts);
      }
      this.size = next;
      this.buckets = coarser;
    }
  }
}
