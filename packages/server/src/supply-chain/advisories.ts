/**
 * The vendor-compromise workflow: an advisory names a vendor's product, the bad versions, and the
 * hashes, domains and IPs of the compromise. At once: the blast radius — hosts running an affected
 * version or hash (the software inventory), and hosts that contacted the domains or IPs (a
 * retro-hunt over the stored events of the last 30 days) — each with its evidence; and an `ioc`
 * alert per affected host, so incidents open and playbooks (`indicator_hit`) answer as for any
 * indicator hit.
 */
import { normalizeDomain, normalizeIp, normalizeSha256 } from '@firebreak/core';
import type { AlertRecord, Store, StoredEvent } from '@firebreak/store';
import { badRequest } from '../http/errors.js';
import type { Pipeline } from '../pipeline.js';
import type { SoftwareInventory } from './inventory.js';

const ADVISORY = 'advisory';
export const RETRO_HUNT_DAYS = 30;
/** Events the retro-hunt takes per indicator and field at most (the evidence shown, not a count). */
const EVIDENCE_PER_QUERY = 200;
/** Items per list at most; domains and IPs are each a store query (two for a domain), so fewer of them. */
const MAX_LIST_ITEMS = 10_000;
const MAX_HUNTED_ITEMS = 1_000;

export interface Advisory {
  title: string;
  vendor: string;
  product: string;
  versions: string[];
  hashes: string[];
  domains: string[];
  ips: string[];
  references: string[];
}

export interface AffectedHost {
  host: string;
  /** Why: each a kind (version, hash, domain, ip), the value, and where it was seen. */
  evidence: { kind: 'version' | 'hash' | 'domain' | 'ip'; value: string; detail: string; eventIds: number[]; first: number | null }[];
}

/** Checks an advisory document (JSON or YAML already parsed): every list of the right kind of value. */
export function parseAdvisory(value: unknown): Advisory {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw badRequest('an advisory is an object');
  const doc = value as Record<string, unknown>;
  const text = (name: string, required: boolean): string => {
    const v = doc[name];
    if (v === undefined && !required) return '';
    if (typeof v !== 'string' || v.trim() === '' || v.length > 500) throw badRequest(`advisory "${name}" must be text`);
    return v.trim();
  };
  const list = (name: string, check: (v: string) => string | null, max = MAX_LIST_ITEMS): string[] => {
    const v = doc[name] ?? [];
    if (!Array.isArray(v)) throw badRequest(`advisory "${name}" must be a list`);
    if (v.length > max) throw badRequest(`advisory "${name}" has ${v.length} items; at most ${max}`);
    return v.map((item, i) => {
      const checked = typeof item === 'string' ? check(item) : null;
      if (checked === null) throw badRequest(`advisory ${name}[${i}]: ${JSON.stringify(item)?.slice(0, 100)} is not valid`);
      return checked;
    });
  };
  const advisory: Advisory = {
    title: text('title', false) || `${text('vendor', true)} ${text('product', true)} compromise`,
    vendor: text('vendor', true),
    product: text('product', true),
    versions: list('versions', (v) => (v.trim() ? v.trim() : null)),
    hashes: list('hashes', normalizeSha256),
    domains: list('domains', normalizeDomain, MAX_HUNTED_ITEMS),
    ips: list('ips', normalizeIp, MAX_HUNTED_ITEMS),
    references: list('references', (v) => (/^https?:\/\/\S+$/.test(v) ? v : null)),
  };
  if (advisory.versions.length + advisory.hashes.length + advisory.domains.length + advisory.ips.length === 0)
    throw badRequest('an advisory names at least one version, hash, domain or IP');
  return advisory;
}

export class Advisories {
  constructor(
    private readonly store: Store,
    private readonly software: SoftwareInventory,
    private readonly pipeline: Pipeline,
  ) {}

  /** Stores the advisory, works out its blast radius and raises an alert per affected host. */
  async add(advisory: Advisory, by: string, now = Date.now()): Promise<{ id: number; affected: AffectedHost[]; alerts: number }> {
    const record = await this.store.putRecord(ADVISORY, { body: { ...advisory, by, added: now } });
    const affected = await this.blastRadius(advisory, now);
    const alerts = await this.pipeline.raiseAlerts(
      affected.map((host) => advisoryAlert(record.id, advisory, host, now)),
      () => undefined,
    );
    return { id: record.id, affected, alerts: alerts.length };
  }

  async blastRadius(advisory: Advisory, now: number): Promise<AffectedHost[]> {
    const hosts = new Map<string, AffectedHost>();
    const add = (host: string, evidence: AffectedHost['evidence'][number]): void => {
      const entry = hosts.get(host) ?? { host, evidence: [] };
      entry.evidence.push(evidence);
      hosts.set(host, entry);
    };
    const versions = new Set(advisory.versions.map((v) => v.toLowerCase()));
    for (const entry of this.software.find({ vendor: advisory.vendor, product: advisory.product }))
      if (versions.has(entry.version.toLowerCase()))
        for (const [host, [first]] of Object.entries(entry.hosts))
          add(host, {
            kind: 'version',
            value: entry.version,
            detail: `${entry.vendor} ${entry.product} ${entry.version}`,
            eventIds: [],
            first,
          });
    for (const sha256 of advisory.hashes)
      for (const [host, seen] of Object.entries(this.software.whereIs(sha256)))
        add(host, { kind: 'hash', value: sha256, detail: seen.path, eventIds: [], first: seen.first });
    const from = now - RETRO_HUNT_DAYS * 24 * 60 * 60 * 1000;
    const hunts: [AffectedHost['evidence'][number]['kind'], string, string[]][] = [
      ...advisory.domains.flatMap((d) => [
        ['domain', d, ['QueryName', 'DestinationHostname']] as [AffectedHost['evidence'][number]['kind'], string, string[]],
      ]),
      ...advisory.ips.map((ip) => ['ip', ip, ['DestinationIp']] as [AffectedHost['evidence'][number]['kind'], string, string[]]),
    ];
    for (const [kind, value, fields] of hunts)
      for (const field of fields)
        for (const [host, events] of byHost(await this.store.searchEvents({ from, fields: { [field]: value }, limit: EVIDENCE_PER_QUERY })))
          add(host, {
            kind,
            value,
            detail: `${field} ${value}`,
            eventIds: events.map((e) => e.id),
            first: Math.min(...events.map((e) => e.time)),
          });
    return [...hosts.values()].sort((a, b) => a.host.localeCompare(b.host));
  }
}

function byHost(events: StoredEvent[]): Map<string, StoredEvent[]> {
  const out = new Map<string, StoredEvent[]>();
  for (const event of events) if (event.host) out.set(event.host, [...(out.get(event.host) ?? []), event]);
  return out;
}

function advisoryAlert(id: number, advisory: Advisory, host: AffectedHost, now: number): AlertRecord {
  const kinds = [...new Set(host.evidence.map((e) => e.kind))];
  return {
    dedupKey: `advisory:${id}:${host.host}`,
    kind: 'ioc',
    ruleId: `advisory:${id}`,
    ruleTitle: `Advisory: ${advisory.title} (${kinds.join(', ')})`,
    level: kinds.some((k) => k === 'domain' || k === 'ip') ? 'critical' : 'high',
    timestamp: Math.min(now, ...host.evidence.map((e) => e.first ?? now)),
    computer: host.host,
    eventIds: [...new Set(host.evidence.flatMap((e) => e.eventIds))].slice(0, 100),
    matched: Object.fromEntries(host.evidence.map((e) => [e.kind, e.value])),
    tags: ['attack.initial-access', 'attack.t1195.002'],
    details: { advisory: id, vendor: advisory.vendor, product: advisory.product, evidence: host.evidence },
  };
}
