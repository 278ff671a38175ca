/** Firebreak's storage: the Store interface, its SQLite and PostgreSQL backends, and the audit chain. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PostgresStore } from './postgres.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './types.js';

export * from './types.js';
export { AUDIT_GENESIS_HASH, auditHash, canonicalJson, verifyAuditChain, type AuditVerification } from './audit.js';
export { INDEXED_FIELDS } from './records.js';
export { SqliteStore } from './sqlite.js';
export { DEFAULT_POSTGRES_SCHEMA, PostgresStore } from './postgres.js';

/** The SQLite file in the data directory when no URL names a store. */
export const DEFAULT_SQLITE_FILE = 'firebreak.db';

export interface OpenStoreOptions {
  /**
   * Where the store is: none or `sqlite:` for `<dataDir>/firebreak.db`; `sqlite:/path/file.db` or
   * `sqlite::memory:`; `postgres://…` or `postgresql://…` (with `?schema=NAME`, default firebreak).
   */
  url?: string;
  /** The server's data directory (created, private to its owner, when absent). */
  dataDir: string;
}

/** Opens the store the URL names and brings its schema up to date. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const store = storeFor(options);
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

function storeFor({ url, dataDir }: OpenStoreOptions): Store {
  if (url === undefined || url === '' || url === 'sqlite:') {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    return new SqliteStore(join(dataDir, DEFAULT_SQLITE_FILE));
  }
  if (url.startsWith('sqlite:')) return new SqliteStore(sqlitePath(url.slice('sqlite:'.length)));
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return new PostgresStore(url);
  // Only the scheme is named: the rest of a URL may hold a password.
  const scheme = /^[a-z][a-z0-9+.-]{0,30}:/i.exec(url)?.[0];
  throw new Error(
    `store URL: ${scheme ? `unsupported scheme "${scheme}"` : 'no scheme'}; use sqlite:/path/file.db, sqlite::memory: or postgres://user@host/database`,
  );
}

/** `sqlite:/abs/file.db`, `sqlite:///abs/file.db`, `sqlite:relative/file.db` and `sqlite::memory:`. */
function sqlitePath(rest: string): string {
  return rest.startsWith('//') ? rest.slice(2) : rest;
}
