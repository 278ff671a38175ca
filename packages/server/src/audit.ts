/** Every state change, written to the store's append-only, hash-chained audit log. */
import { verifyAuditChain, type AuditEntry, type Store } from '@firebreak/store';
import type { Principal } from './auth.js';

const PAGE = 1000;

export type AuditVerdict = { ok: true; count: number } | { ok: false; seq: number; reason: string };

export class AuditLog {
  constructor(private readonly store: Store) {}

  record(
    actor: Pick<Principal, 'name'> | 'system',
    action: string,
    target: string | null,
    details: Record<string, unknown> = {},
  ): Promise<AuditEntry> {
    return this.store.appendAudit({ time: Date.now(), actor: actor === 'system' ? 'system' : actor.name, action, target, details });
  }
}

/** Recomputes the whole chain, page by page: an edited, removed or reordered entry breaks it at that entry. */
export async function verifyAudit(store: Store): Promise<AuditVerdict> {
  let count = 0;
  let after = 0;
  let prevHash: string | undefined;
  for (;;) {
    const page = await store.listAudit({ afterSeq: after, limit: PAGE });
    if (page.length === 0) return { ok: true, count };
    const verdict = verifyAuditChain(page, prevHash);
    if (!verdict.ok) return verdict;
    count += page.length;
    after = page.at(-1)!.seq;
    prevHash = page.at(-1)!.hash;
  }
}
