/**
 * What the HTML report needs, gathered one detection at a time in bounded memory: counts for
 * every detection (by level, by time, by rule, by computer, by tactic and technique) and, for the
 * report's table, at most `maxRows` detections: the highest levels, then the earliest.
 */
import { TACTICS, type Attack } from '../../attack.js';
import { LEVELS, levelRank, type Detection, type DetectionLevel } from '../../detection.js';
import { BoundedBest } from './bounded-best.js';
import { TimeBuckets } from './time-buckets.js';

/** A rule (or correlation) that fired, with how often. */
export interface RuleTally {
  id: string;
  title: string;
  level: DetectionLevel;
  status: string;
  tags: string[];
  attack: Attack;
  kind: string;
  rule_file: string | null;
  count: number;
}

/** A detection kept for the report's table, its rule as an index into the rules. */
export interface KeptRow {
  rule: number;
  rank: number;
  /** Milliseconds since the epoch; Infinity when the event has no time (sorts last). */
  time: number;
  sequence: number;
  detection: Pick<Detection, 'timestamp' | 'computer' | 'channel' | 'event_id' | 'record_id' | 'file' | 'fields' | 'layer' | 'category'>;
}

export interface TacticTally {
  /** ATT&CK's name, or "" for techniques of rules without a tactic tag. */
  tactic: string;
  count: number;
  techniques: Map<string, number>;
}

export const DEFAULT_MAX_ROWS = 20_000;
/** Distinct computers counted one by one; past that they add up as "other computers". */
export const MAX_COMPUTERS = 10_000;
/** Longer values are cut in the report's table (JSON lines carry them whole). */
export const MAX_VALUE_LENGTH = 1_024;

export class ReportAggregate {
  detections = 0;
  readonly byLevel: number[] = LEVELS.map(() => 0);
  readonly timeline = new TimeBuckets(LEVELS.length);
  untimed = 0;
  readonly rules: RuleTally[] = [];
  private readonly ruleIndex = new Map<string, number>();
  readonly computers = new Map<string, number>();
  otherComputers = 0;
  noComputer = 0;
  readonly tactics = new Map<string, TacticTally>(TACTICS.map(([, name]) => [name, { tactic: name, count: 0, techniques: new Map() }]));
  noAttack = 0;
  private readonly kept: BoundedBest<KeptRow>;

  constructor(readonly maxRows = DEFAULT_MAX_ROWS) {
    this.kept = new BoundedBest(maxRows, betterRow);
  }

  add(d: Detection): void {
    const rank = levelRank(d.level);
    const time = d.timestamp === null ? NaN : Date.parse(d.timestamp);
    this.byLevel[rank]!++;
    if (Number.isNaN(time)) this.untimed++;
    else this.timeline.add(time, rank);
    this.countComputer(d.computer);
    this.countAttack(d.attack);
    const rule = this.countRule(d);
    const row = { rule, rank, time: Number.isNaN(time) ? Infinity : time, sequence: this.detections++ };
    // The row's fields are copied only when it is kept: most detections of a large hunt are not.
    if (this.kept.wouldKeep(row as KeptRow)) this.kept.add({ ...row, detection: compactDetection(d) });
  }

  /** Kept rows, best first. */
  rows(): KeptRow[] {
    return this.kept.sorted();
  }

  private countRule(d: Detection): number {
    let index = this.ruleIndex.get(d.rule_id);
    if (index === undefined) {
      index = this.rules.length;
      this.ruleIndex.set(d.rule_id, index);
      const { rule_id: id, rule_title: title, level, status, tags, attack, kind, rule_file } = d;
      this.rules.push({ id, title, level, status, tags, attack, kind, rule_file, count: 0 });
    }
    this.rules[index]!.count++;
    return index;
  }

  private countComputer(computer: string | null): void {
    if (computer === null) this.noComputer++;
    else if (this.computers.has(computer)) this.computers.set(computer, this.computers.get(computer)! + 1);
    else if (this.computers.size < MAX_COMPUTERS) this.computers.set(computer, 1);
    else this.otherComputers++;
  }

  private countAttack({ tactics, techniques }: Attack): void {
    if (tactics.length === 0 && techniques.length === 0) {
      this.noAttack++;
      return;
    }
    const columns: string[] = tactics.length > 0 ? tactics : [''];
    for (const tactic of columns) {
      let tally = this.tactics.get(tactic);
      if (!tally) this.tactics.set(tactic, (tally = { tactic, count: 0, techniques: new Map() }));
      tally.count++;
      for (const technique of techniques) tally.techniques.set(technique, (tally.techniques.get(technique) ?? 0) + 1);
    }
  }
}

/** Higher level first, then earlier time, then input order. */
function betterRow(a: Pick<KeptRow, 'rank' | 'time' | 'sequence'>, b: Pick<KeptRow, 'rank' | 'time' | 'sequence'>): boolean {
  if (a.rank !== b.rank) return a.rank > b.rank;
  if (a.time !== b.time) return a.time < b.time;
  return a.sequence < b.sequence;
}

function compactDetection(d: Detection): KeptRow['detection'] {
  const fields: Record<string, unknown> = {};
  for (const name of Object.keys(d.fields)) fields[name] = compactValue(d.fields[name]);
  const { timestamp, computer, channel, event_id, record_id, file, layer, category } = d;
  return { timestamp, computer, channel, event_id, record_id, file, fields, layer, category };
}

/** A value the report can embed as JSON: long text cut (saying by how much), 64-bit integers as digits. */
function compactValue(value: unknown): unknown {
  if (typeof value === 'string') return value.length <= MAX_VALUE_LENGTH ? value : cut(value);
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(compactValue);
  if (value !== null && typeof value === 'object') {
    const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    return text.length <= MAX_VALUE_LENGTH ? JSON.parse(text) : cut(text);
  }
  return value;
}

function cut(text: string): string {
  return `${text.slice(0, MAX_VALUE_LENGTH)}… (${text.length - MAX_VALUE_LENGTH} more characters)`;
}
