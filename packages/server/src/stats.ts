/** Counters the stats route and the live log show; problems keep the latest few for the API. */
const KEPT_PROBLEMS = 100;

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

  constructor(private readonly log: (message: string) => void) {}

  problem(message: string): void {
    this.problems++;
    this.recentProblems.push({ time: Date.now(), message });
    if (this.recentProblems.length > KEPT_PROBLEMS) this.recentProblems.shift();
    this.log(message);
  }
}
