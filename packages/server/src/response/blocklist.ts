/**
 * The fleet blocklist: indicators (IP addresses, domains, executable hashes, URLs) that every agent
 * enforces and that network devices can import (RPZ zone, plain lists). An indicator gets here when
 * a forensic verdict confirms it or a responder adds it; each one says where it came from.
 */
import { normalizeDomain, normalizeIp, normalizeSha256, type ActionParams } from '@firebreak/core';
import { DuplicateKeyError, type Store, type StoredRecord } from '@firebreak/store';

const INDICATOR = 'indicator';
export const INDICATOR_TYPES = ['ip', 'domain', 'sha256', 'url'] as const;
export type IndicatorType = (typeof INDICATOR_TYPES)[number];

export interface IndicatorBody {
  type: IndicatorType;
  value: string;
  /** `verdict:ACTION_ID`, or the token name of who added it. */
  source: string;
  incidentId: number | null;
  actionId: number | null;
  added: number;
  note: string | null;
}

export type Indicator = StoredRecord<IndicatorBody>;

/** The value in its one canonical spelling, or null when it is not a valid value of its type. */
export function canonicalIndicator(type: IndicatorType, value: string): string | null {
  switch (type) {
    case 'ip':
      return normalizeIp(value);
    case 'domain':
      return normalizeDomain(value);
    case 'sha256':
      return normalizeSha256(value);
    case 'url':
      return /^https?:\/\/[^\s]{1,2000}$/i.test(value.trim()) ? value.trim() : null;
  }
}

export class Blocklist {
  private indicators: Indicator[] = [];
  /** `type:value` of every indicator, for the per-event lookups. */
  private keys = new Set<string>();

  constructor(private readonly store: Store) {}

  async load(): Promise<void> {
    const all: Indicator[] = [];
    for (let afterId = 0; ;) {
      const page = await this.store.listRecords<IndicatorBody>(INDICATOR, { afterId, limit: 1000 });
      all.push(...page);
      if (page.length < 1000) break;
      afterId = page.at(-1)!.id;
    }
    this.indicators = all;
    this.keys = new Set(all.map((i) => `${i.body.type}:${i.body.value}`));
  }

  get size(): number {
    return this.keys.size;
  }

  list(): Indicator[] {
    return [...this.indicators];
  }

  has(type: IndicatorType, value: string): boolean {
    return this.keys.has(`${type}:${value}`);
  }

  /** Adds the indicators not listed yet; resolves with the new ones (values must be canonical). */
  async add(entries: Omit<IndicatorBody, 'added'>[]): Promise<Indicator[]> {
    const added: Indicator[] = [];
    for (const entry of entries) {
      try {
        const record = await this.store.putRecord(INDICATOR, {
          key: `${entry.type}:${entry.value}`,
          body: { ...entry, added: Date.now() },
        });
        this.indicators.push(record);
        this.keys.add(`${entry.type}:${entry.value}`);
        added.push(record);
      } catch (error) {
        if (!(error instanceof DuplicateKeyError)) throw error;
      }
    }
    return added;
  }

  async remove(id: number): Promise<Indicator | undefined> {
    const indicator = this.indicators.find((i) => i.id === id);
    if (!indicator || !(await this.store.deleteRecord(INDICATOR, id))) return undefined;
    this.indicators = this.indicators.filter((i) => i.id !== id);
    this.keys.delete(`${indicator.body.type}:${indicator.body.value}`);
    return indicator;
  }

  /** What agents enforce: every agent gets exactly this at connect. */
  agentBlocks(): ActionParams['sync_blocks'] {
    return { sha256: this.values('sha256'), addresses: this.values('ip'), domains: this.values('domain') };
  }

  values(type: IndicatorType): string[] {
    return this.indicators.filter((i) => i.body.type === type).map((i) => i.body.value);
  }
}

export function indicatorView(indicator: Indicator): Record<string, unknown> {
  const b = indicator.body;
  return {
    id: indicator.id,
    type: b.type,
    value: b.value,
    source: b.source,
    incident_id: b.incidentId,
    action_id: b.actionId,
    note: b.note,
    added: new Date(b.added).toISOString(),
  };
}
