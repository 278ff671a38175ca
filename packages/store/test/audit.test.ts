/** The audit chain helpers on their own: canonical hashing and what verification catches. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AUDIT_GENESIS_HASH, auditHash, canonicalJson, verifyAuditChain, type AuditEntry } from '../src/index.js';

function chain(length: number): AuditEntry[] {
  const entries: AuditEntry[] = [];
  for (let seq = 1; seq <= length; seq++) {
    const prevHash = entries[seq - 2]?.hash ?? AUDIT_GENESIS_HASH;
    const content = { seq, time: 1000 + seq, actor: 'admin', action: 'rule.disable', target: `rule/${seq}`, details: { reason: 'noisy' } };
    entries.push({ ...content, prevHash, hash: auditHash(prevHash, content) });
  }
  return entries;
}

test('canonical JSON does not depend on key order, at any depth', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [{ y: 1, x: 2 }], c: null } }), '{"a":{"c":null,"d":[{"x":2,"y":1}]},"b":1}');
  assert.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }));
  const content = { seq: 1, time: 5, actor: 'a', action: 'b', target: null, details: { x: 1, y: 2 } };
  assert.equal(auditHash(AUDIT_GENESIS_HASH, content), auditHash(AUDIT_GENESIS_HASH, { ...content, details: { y: 2, x: 1 } }));
  assert.notEqual(auditHash(AUDIT_GENESIS_HASH, content), auditHash('1'.repeat(64), content));
});

test('a sound chain verifies, whole or from the middle', () => {
  const entries = chain(10);
  assert.deepEqual(verifyAuditChain(entries), { ok: true, count: 10 });
  assert.deepEqual(verifyAuditChain(entries.slice(4), entries[3].hash), { ok: true, count: 6 });
  assert.deepEqual(verifyAuditChain([]), { ok: true, count: 0 });
});

test('changed, removed, reordered or re-hashed entries are caught at the first bad one', () => {
  const entries = chain(6);
  const changed = entries.map((e) => (e.seq === 3 ? { ...e, details: { reason: 'quiet' } } : e));
  assert.deepEqual(verifyAuditChain(changed), { ok: false, seq: 3, reason: 'its content does not match its hash' });
  // Re-hashing the changed entry does not help: the next one still names the old hash.
  const rehashed = changed.map((e) => (e.seq === 3 ? { ...e, hash: auditHash(e.prevHash, e) } : e));
  assert.deepEqual(verifyAuditChain(rehashed), { ok: false, seq: 4, reason: 'its previous hash is not the previous entry’s hash' });
  const removed = entries.filter((e) => e.seq !== 2);
  assert.deepEqual(verifyAuditChain(removed), { ok: false, seq: 3, reason: 'follows seq 1: entries are missing or out of order' });
  const headless = entries.slice(1);
  assert.equal(verifyAuditChain(headless).ok, false, 'a chain missing its start does not verify from genesis');
});
