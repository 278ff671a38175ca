/** Counters the stats route and the live log show; problems keep the latest few for the API. */
const KEPT_PROBLEMS = 100;
/** The ingest rate is measured over about this long, from samples of the accepted count taken this often. */
const RATE_WINDOW_MS = 60_000;
const SAMPLE_EVERY_MS = 5_000;

export class Stats {
  readonly started = Date.now();
  received = 0;
  accepted = 0;
  rejected = 0;
  detected = 0;
  alerts = 0;
  throttled = 0;
  problems = 0;
  readonly recentProblems: { time: number; message: string }[] = [];
  /** (time, accepted) every SAMPLE_EVERY_MS, the oldest about RATE_WINDOW_MS ago. */
  private readonly samples: { time: number; accepted: number }[] = [{ time: this.started, accepted: 0 }];
  private readonly sampler = setInterval(() => this.sample(), SAMPLE_EVERY_MS).unref();

  constructor(private readonly log: (message: string) => void) {}

  problem(message: string): void {
    this.problems++;
    this.recentProblems.push({ time: Date.now(), message });
    if (this.recentProblems.length > KEPT_PROBLEMS) this.recentProblems.shift();
    this.log(message);
  }

  /** Events accepted per second over about the last minute (since the start, in the first minute). */
  eventsPerSecond(now = Date.now()): number {
    const oldest = this.samples[0]!;
    const seconds = (now - oldest.time) / 1000;
    return seconds > 0 ? (this.accepted - oldest.accepted) / seconds : 0;
  }

  close(): void {
    clearInterval(this.sampler);
  }

  private sample(): void {
    const now = Date.now();
    this.samples.push({ time: now, accepted: this.accepted });
    while (this.samples.length > 1 && now - this.samples[1]!.time >= RATE_WINDOW_MS) this.samples.shift();
  }
}
