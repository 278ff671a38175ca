/** What the end-of-hunt summary adds to the counts: the busiest rules and computers, and when detections start and end. */
import type { Detection } from '@firebreak/core';

/** Computers counted one by one; names beyond (crafted logs can hold any number) are not listed. */
const MAX_COMPUTERS = 10_000;

export class DetectionTally {
  readonly rules = new Map<string, { title: string; level: string; count: number }>();
  readonly computers = new Map<string, number>();
  first: string | undefined;
  last: string | undefined;

  add(d: Detection): void {
    const rule = this.rules.get(d.rule_id);
    if (rule) rule.count++;
    else this.rules.set(d.rule_id, { title: d.rule_title, level: d.level, count: 1 });
    if (d.computer !== null && (this.computers.has(d.computer) || this.computers.size < MAX_COMPUTERS))
      this.computers.set(d.computer, (this.computers.get(d.computer) ?? 0) + 1);
    // ISO 8601 UTC strings of one length order as the times they name.
    if (d.timestamp !== null) {
      if (this.first === undefined || d.timestamp < this.first) this.first = d.timestamp;
      if (this.last === undefined || d.timestamp > this.last) this.last = d.timestamp;
    }
  }

  topRules(n: number): { title: string; level: string; count: number }[] {
    return [...this.rules.values()].sort((a, b) => b.count - a.count).slice(0, n);
  }

  topComputers(n: number): [string, number][] {
    return [...this.computers].sort((a, b) => b[1] - a[1]).slice(0, n);
  }
}
