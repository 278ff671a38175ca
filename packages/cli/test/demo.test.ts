/** `firebreak demo` (what `npm start` runs): the real binary serves the scenario, answers with a token it printed, and stops on SIGTERM. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BIN, firebreak } from './support/cli.js';

test('demo: alerts and an incident within seconds, the first-start token works, SIGTERM stops it cleanly', async () => {
  const data = mkdtempSync(join(tmpdir(), 'firebreak-demo-'));
  const env = { ...process.env };
  delete env.FIREBREAK_ADMIN_TOKEN;
  const child = spawn(process.execPath, [BIN, 'demo', '--data', data, '--listen', '127.0.0.1:0'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (/Ctrl-C stops the server/.test(output)) resolve();
      });
      void exited.then(() => reject(new Error(`demo exited early:\n${output}`)));
    });
    assert.match(
      output,
      /demo loaded: 416 events in \d+ ms → 22 alerts, 1 incident\n {2}incident 1 · critical · score \d+ · WS-ACCT-07, WS-SALES-02: /,
    );
    const token = /first start: admin token[^\n]*\n\s+(fbk_\S+)/.exec(output)?.[1];
    const url = /serving on (http:\/\/\S+)/.exec(output)?.[1];
    assert.ok(token && url, output);
    const incidents = (await (await fetch(`${url}/api/v1/incidents`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
      incidents: { hosts: string[]; severity: string }[];
    };
    assert.deepEqual(incidents.incidents[0]!.hosts, ['WS-ACCT-07', 'WS-SALES-02']);
    assert.equal((await fetch(`${url}/api/v1/incidents`)).status, 401);
    // The web console is served at / to browsers: a page that loads its bundle and names the product.
    const page = await fetch(`${url}/`, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>Firebreak<\/title>[\s\S]*<script type="module"[^>]* src="\/assets\/index-[\w-]+\.js"/);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
    rmSync(data, { recursive: true, force: true });
  }
});

test('serve and demo refuse what they do not know, with the usage', () => {
  const result = firebreak('serve', '--listen', 'localhost');
  assert.equal(result.status, 2);
  assert.match(result.stderr, /--listen: "localhost" is not HOST:PORT/);
  assert.match(firebreak('demo', 'extra').stderr, /unexpected argument "extra"\nUsage: firebreak demo/);
});
