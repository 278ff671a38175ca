/**
 * The audit log is a hash chain: each entry's hash covers the previous entry's hash and the entry's
 * own content, so changing, removing or reordering an entry breaks every hash after it.
 */
import { createHash } from 'node:crypto';
import type { AuditEntry, AuditRecord } from './types.js';

/** The previous hash of the first entry. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/** sha256 hex of the previous hash followed by the canonical JSON of the entry's content. */
export function auditHash(prevHash: string, record: AuditRecord & { seq: number }): string {
  const { seq, time, actor, action, target, details } = record;
  return createHash('sha256').update(prevHash).update(canonicalJson({ seq, time, actor, action, target, details })).digest('hex');
}

export type AuditVerification = { ok: true; count: number } | { ok: false; seq: number; reason: string };

/**
 * Checks consecutive entries (in seq order) link and hash correctly. `startPrevHash` is the hash of
 * the entry before the first one given (the genesis hash when the list starts the chain), so a long
 * chain can be verified page by page.
 */
export function verifyAuditChain(entries: readonly AuditEntry[], startPrevHash: string = AUDIT_GENESIS_HASH): AuditVerification {
  let prevHash = startPrevHash;
  let prevSeq: number | undefined;
  for (const entry of entries) {
    if (prevSeq !== undefined && entry.seq !== prevSeq + 1) {
      return { ok: false, seq: entry.seq, reason: `follows seq ${prevSeq}: entries are missing or out of order` };
    }
    if (entry.prevHash !== prevHash) return { ok: false, seq: entry.seq, reason: 'its previous hash is not the previous entry’s hash' };
    if (entry.hash !== auditHash(prevHash, entry)) return { ok: false, seq: entry.seq, reason: 'its content does not match its hash' };
    prevHash = entry.hash;
    prevSeq = entry.seq;
  }
  return { ok: true, count: entries.length };
}

/**
 * JSON with object keys sorted at every depth, so equal content always hashes the same. (JavaScript
 * lists integer-like keys first whatever their insertion order: still one order for equal content.)
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner) ? sortedCopy(inner) : inner,
  );
}

function sortedCopy(object: object): Record<string, unknown> {
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(object).sort()) sorted[key] = (object as Record<string, unknown>)[key];
  return sorted;
}
