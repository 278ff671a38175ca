import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { verifyAudit } from '@firebreak/server';
import { DEFAULT_SQLITE_FILE, openStore } from '@firebreak/store';
import { UsageError, withUsage } from '../output.js';

const AUDIT_VERIFY_USAGE = 'Usage: firebreak audit verify [--data DIR] [--store URL]';

export const AUDIT_VERIFY_HELP = `${AUDIT_VERIFY_USAGE}

Recomputes the server's audit log hash chain, from the first entry to the last, straight
from the store (the server may be running or not). Each entry's hash covers the previous
entry's hash and the entry itself, so an entry edited, removed or moved breaks the chain
there.

Options:
  --data DIR    the server's data folder (default ./firebreak-data; its SQLite store)
  --store URL   the server's PostgreSQL store instead (postgres://…)
  -h, --help    show this help

Exit status: 0 when the chain is intact, 1 when it is broken (the first bad entry is
named) or empty, 2 when there is no store there or for a usage error.`;

const OPTIONS = {
  data: { type: 'string' },
  store: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function auditVerify(args: string[]): Promise<number> {
  const options = await withUsage(AUDIT_VERIFY_USAGE, async () => {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: OPTIONS });
    if (values.help) return undefined;
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    return { dataDir: resolve(values.data ?? 'firebreak-data'), url: values.store };
  });
  if (!options) {
    process.stdout.write(AUDIT_VERIFY_HELP + '\n');
    return 0;
  }
  // Opening makes a store where there is none: a mistyped --data must not verify an empty new one.
  const file = join(options.dataDir, DEFAULT_SQLITE_FILE);
  if (options.url === undefined && !existsSync(file)) {
    process.stderr.write(`firebreak: no Firebreak store at ${file}\n`);
    return 2;
  }
  const store = await openStore(options);
  try {
    const verdict = await verifyAudit(store);
    if (verdict.ok && verdict.count === 0) {
      // Every server start writes an entry: an empty log is no Firebreak server's, or was emptied.
      process.stdout.write('audit log empty: no server has run on this store, or its entries were removed\n');
      return 1;
    }
    if (verdict.ok) {
      process.stdout.write(`audit log intact: ${verdict.count} entries\n`);
      return 0;
    }
    process.stdout.write(`audit log broken at entry ${verdict.seq}: ${verdict.reason}\n`);
    return 1;
  } finally {
    await store.close();
  }
}
