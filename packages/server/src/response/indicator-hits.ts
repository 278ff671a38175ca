/**
 * Indicator hits: every stored event whose destination, queried name or executable hash is on the
 * fleet blocklist raises an `ioc` alert (a host reaching a confirmed C2, a blocked program run
 * where no agent stopped it). Playbooks can answer those (`when: indicator_hit`).
 *
 * Events reach here as the JSON text they are stored as. The few fields indicators live in are
 * picked out of that text by one regular expression (no nested quantifiers: linear in the text)
 * instead of parsing every event again; nothing runs while the blocklist is empty.
 */
import { normalizeDomain, normalizeIp, sha256FromHashes } from '@firebreak/core';
import type { AlertRecord, SerializedEventRecord } from '@firebreak/store';
import type { EventStage } from '../pipeline.js';
import type { Blocklist, IndicatorType } from './blocklist.js';

/** Fields that name a destination, a queried name or an executable hash (Sysmon names, then ECS). */
const FIELD_TYPES: Record<string, 'ip' | 'domain' | 'hashes' | 'sha256'> = {
  DestinationIp: 'ip',
  'destination.ip': 'ip',
  DestinationHostname: 'domain',
  QueryName: 'domain',
  'dns.question.name': 'domain',
  'url.domain': 'domain',
  Hashes: 'hashes',
  'process.hash.sha256': 'sha256',
  'file.hash.sha256': 'sha256',
};
const FIELD_VALUE = new RegExp(
  `"(${Object.keys(FIELD_TYPES)
    .map((k) => k.replaceAll('.', '\\.'))
    .join('|')})":"((?:[^"\\\\]|\\\\.)*)"`,
  'g',
);

export interface IndicatorHit {
  field: string;
  type: IndicatorType;
  value: string;
}

/** The blocklisted values an event's fields hold. */
export function indicatorHits(fieldsJson: string, blocklist: Blocklist): IndicatorHit[] {
  const hits: IndicatorHit[] = [];
  for (const [, field, raw] of fieldsJson.matchAll(FIELD_VALUE)) {
    const value = JSON.parse(`"${raw}"`) as string;
    const hit = lookup(FIELD_TYPES[field!]!, value, blocklist);
    if (hit) hits.push({ field: field!, ...hit });
  }
  return hits;
}

function lookup(kind: 'ip' | 'domain' | 'hashes' | 'sha256', value: string, blocklist: Blocklist): Omit<IndicatorHit, 'field'> | undefined {
  if (kind === 'ip') {
    const ip = normalizeIp(value);
    return ip && blocklist.has('ip', ip) ? { type: 'ip', value: ip } : undefined;
  }
  if (kind === 'domain') {
    const domain = normalizeDomain(value);
    return domain && blocklist.has('domain', domain) ? { type: 'domain', value: domain } : undefined;
  }
  const sha256 = kind === 'hashes' ? sha256FromHashes(value) : value.toLowerCase();
  return sha256 && blocklist.has('sha256', sha256) ? { type: 'sha256', value: sha256 } : undefined;
}

/** What the pipeline asks of each stored event. */
export class IndicatorWatch implements EventStage {
  constructor(private readonly blocklist: Blocklist) {}

  alertsFor(record: SerializedEventRecord, eventId: number): AlertRecord[] {
    if (this.blocklist.size === 0) return [];
    const hits = indicatorHits(record.fieldsJson, this.blocklist);
    return hits.length === 0 ? [] : [indicatorAlert(record, eventId, hits)];
  }
}

/** The alert of an event's hits (one per event: its matched fields name every hit). */
export function indicatorAlert(record: SerializedEventRecord, eventId: number, hits: IndicatorHit[]): AlertRecord {
  const first = hits[0]!;
  const title =
    hits.length === 1
      ? `Indicator hit: ${first.type} ${first.value}`
      : `Indicator hits: ${hits.map((h) => `${h.type} ${h.value}`).join(', ')}`;
  return {
    dedupKey: `ioc:${eventId}`,
    kind: 'ioc',
    ruleId: `indicator:${first.type}:${first.value}`,
    ruleTitle: title,
    level: 'high',
    timestamp: record.time,
    computer: record.host,
    eventIds: [eventId],
    matched: Object.fromEntries(hits.map((h) => [h.field, h.value])),
    tags: hits.some((h) => h.type === 'sha256') ? ['attack.execution'] : ['attack.command-and-control'],
    details: { indicators: hits.map(({ type, value }) => ({ type, value })) },
  };
}
