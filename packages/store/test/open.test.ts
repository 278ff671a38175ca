/** openStore: which store each URL names, and the errors for the ones it cannot open. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore, PostgresStore, SqliteStore } from '../src/index.js';

test('no URL: a SQLite file in a new data directory, both private to their owner', async (t) => {
  const parent = mkdtempSync(join(tmpdir(), 'firebreak-open-'));
  t.after(() => rmSync(parent, { recursive: true, force: true }));
  const dataDir = join(parent, 'data', 'nested');
  for (const url of [undefined, 'sqlite:']) {
    const store = await openStore({ url, dataDir });
    assert.ok(store instanceof SqliteStore);
    assert.equal(store.path, join(dataDir, 'firebreak.db'));
    await store.close();
  }
  assert.equal(statSync(dataDir).mode & 0o777, 0o700);
  assert.equal(statSync(join(dataDir, 'firebreak.db')).mode & 0o777, 0o600);
});

test('sqlite: URLs name a file or memory', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'firebreak-open-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cases: [string, string][] = [
    [`sqlite:${join(dir, 'a.db')}`, join(dir, 'a.db')],
    [`sqlite://${join(dir, 'b.db')}`, join(dir, 'b.db')],
    ['sqlite::memory:', ':memory:'],
  ];
  for (const [url, path] of cases) {
    const store = await openStore({ url, dataDir: dir });
    assert.equal((store as SqliteStore).path, path, url);
    assert.deepEqual(
      await store.appendEvents([{ time: 1, host: null, format: 'json', channel: null, eventId: null, origin: null, fields: {} }]),
      [1],
    );
    await store.close();
  }
});

test('an unknown scheme is refused naming the scheme, never the rest of the URL', async () => {
  await assert.rejects(openStore({ url: 'mysql://admin:s3cret@db/firebreak', dataDir: tmpdir() }), (error: Error) => {
    assert.match(error.message, /unsupported scheme "mysql:"/);
    assert.doesNotMatch(error.message, /s3cret/);
    return true;
  });
  await assert.rejects(openStore({ url: '/var/lib/firebreak.db', dataDir: tmpdir() }), /store URL: no scheme/);
});

test('a PostgreSQL schema name that would need quoting is refused before connecting', () => {
  for (const schema of ['Upper', 'a;DROP TABLE x', '1st', 'x'.repeat(64)]) {
    assert.throws(
      () => new PostgresStore(`postgres://localhost/db?schema=${encodeURIComponent(schema)}`),
      /lower-case letters, digits and underscores/,
      schema,
    );
  }
  assert.equal(new PostgresStore('postgresql://localhost/db').schema, 'firebreak');
  assert.equal(new PostgresStore('postgres://firebreak@/db?host=/run/postgresql&schema=fb_live').schema, 'fb_live', 'a socket URL');
});
