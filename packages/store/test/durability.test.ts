/**
 * An acknowledged write survives the writer being killed: a child process appends batches and
 * prints each batch's ids once appendEvents resolves; we `kill -9` it mid-stream, reopen the file
 * and look for every id it acknowledged. (This shows nothing is left buffered in the process; the
 * fsync that carries a commit through power loss is SQLite's synchronous=FULL.)
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { openStore } from '../src/index.js';

/** Appends 100-event batches forever, printing `first-last` after each one resolves. */
const WRITER = `
const { openStore } = await import(${JSON.stringify(new URL('../src/index.js', import.meta.url).href)});
const store = await openStore({ url: 'sqlite:' + process.argv[1], dataDir: '.' });
const fields = { CommandLine: 'x'.repeat(300) };
for (let batch = 0; ; batch++) {
  const events = Array.from({ length: 100 }, (_, i) => ({ time: batch * 100 + i, host: 'h', format: 'json', channel: null, eventId: null, origin: null, fields }));
  const ids = await store.appendEvents(events);
  process.stdout.write(ids[0] + '-' + ids[ids.length - 1] + '\\n');
}
`;

test('every batch acknowledged before kill -9 is in the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'firebreak-durability-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'store.db');
  const writer = spawn(process.execPath, ['--input-type=module', '-e', WRITER, '--', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acknowledged: number[] = [];
  for await (const line of createInterface({ input: writer.stdout! })) {
    const [first, last] = line.split('-').map(Number);
    for (let id = first; id <= last; id++) acknowledged.push(id);
    // Killed while it is writing the next batch, well into the stream.
    if (acknowledged.length >= 3000) writer.kill('SIGKILL');
  }
  assert.equal(writer.signalCode ?? (await new Promise((resolve) => writer.once('exit', (_code, signal) => resolve(signal)))), 'SIGKILL');

  const store = await openStore({ url: `sqlite:${file}`, dataDir: dir });
  t.after(() => store.close());
  const found = await store.searchEvents({ ids: acknowledged, limit: acknowledged.length });
  assert.equal(found.length, acknowledged.length, 'acknowledged events lost');
  assert.ok((await store.stats()).events >= acknowledged.length);
});
