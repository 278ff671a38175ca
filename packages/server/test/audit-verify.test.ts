/** `firebreak audit verify` on a real server's store: intact after real state changes, broken where an entry was edited. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { REPO_ROOT } from '@firebreak/testkit';
import { startTestServer } from './support/server.js';

const CLI = join(REPO_ROOT, 'packages/cli/bin/firebreak.js');

test('audit verify: intact, then broken at the entry edited behind the server', async () => {
  const t = await startTestServer();
  const data = join(t.dir, 'data');
  try {
    await t.request('POST', '/api/v1/tokens', { body: { name: 'one more', role: 'viewer' } });
    await t.server.close();
    const intact = spawnSync(process.execPath, [CLI, 'audit', 'verify', '--data', data], { encoding: 'utf8' });
    assert.equal(intact.status, 0, intact.stderr);
    assert.match(intact.stdout, /audit log intact: [1-9]\d* entries/);

    const db = new Database(join(data, 'firebreak.db'));
    db.prepare("UPDATE audit SET action = 'token.delete' WHERE seq = 2").run();
    db.close();
    const broken = spawnSync(process.execPath, [CLI, 'audit', 'verify', '--data', data], { encoding: 'utf8' });
    assert.equal(broken.status, 1);
    assert.match(broken.stdout, /audit log broken at entry 2: /);
  } finally {
    await t.close().catch(() => {});
  }
});
