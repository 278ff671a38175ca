/**
 * "Accepted" means stored: the server is killed with SIGKILL while batches are being ingested;
 * after a restart every acknowledged event is there, and so is an alert for each of them.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '@firebreak/testkit';
import { ADMIN_SECRET, eventually, ndjson, processEvent, send, TEST_RULE } from './support/server.js';

const CLI = join(REPO_ROOT, 'packages/cli/bin/firebreak.js');
const BATCH = 200;

interface ServerProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<unknown>;
}

function startServerProcess(dataDir: string, rulesDir: string): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--data', dataDir, '--listen', '127.0.0.1:0', '--rules', rulesDir, '--threads', '1'],
    {
      env: { ...process.env, FIREBREAK_ADMIN_TOKEN: ADMIN_SECRET },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const url = /serving on (http:\/\/\S+)/.exec(output)?.[1];
      if (url) resolve({ child, url, exited });
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code}) before serving:\n${output}`)));
  });
}

test('kill -9 during ingest loses no acknowledged event and no alert', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'firebreak-kill-'));
  const rulesDir = join(dir, 'rules');
  await mkdir(rulesDir);
  await writeFile(join(rulesDir, 'evil.yml'), TEST_RULE);
  const dataDir = join(dir, 'data');
  try {
    const first = await startServerProcess(dataDir, rulesDir);
    const acknowledged: number[] = [];
    let sending = true;
    const senders = [0, 1, 2].map(async (lane) => {
      for (let batch = lane; sending; batch += 3) {
        const body = ndjson(
          Array.from({ length: BATCH }, (_, i) => processEvent(i, 'C:\\Users\\Public\\evil.exe', { Marker: `b${batch}` })),
        );
        try {
          const res = await send(first.url, 'POST', '/api/v1/ingest?format=flat', ADMIN_SECRET, body, {});
          if (res.status === 200) {
            assert.equal(res.json.accepted, BATCH);
            acknowledged.push(batch);
          }
        } catch {
          return; // the server is gone
        }
      }
    });
    await eventually(async () => (acknowledged.length >= 10 ? true : undefined), 30_000);
    first.child.kill('SIGKILL');
    sending = false;
    await Promise.all(senders);
    await first.exited;

    const second = await startServerProcess(dataDir, rulesDir);
    try {
      const get = async (path: string): Promise<any> => (await send(second.url, 'GET', path, ADMIN_SECRET, undefined, {})).json; // eslint-disable-line @typescript-eslint/no-explicit-any
      for (const batch of acknowledged) {
        const { events } = await get(`/api/v1/events?field.Marker=b${batch}&limit=1000`);
        assert.equal(events.length, BATCH, `acknowledged batch b${batch} is stored whole`);
      }
      // Detection of what was stored but not yet detected resumes at start; wait for it to finish.
      const stats = await eventually(async () => {
        const s = await get('/api/v1/stats');
        return s.detection.queued === 0 ? s : undefined;
      }, 30_000);
      assert.ok(stats.store.events >= acknowledged.length * BATCH);
      const alerted = new Set<number>();
      for (let before: number | null = null; ;) {
        const page = await get(`/api/v1/alerts?limit=1000${before ? `&before=${before}` : ''}`);
        for (const alert of page.alerts) for (const id of alert.event_ids) alerted.add(id);
        const unplaced = page.alerts.filter((alert: { incident_id: number | null }) => alert.incident_id === null);
        assert.equal(unplaced.length, 0, 'every alert is in an incident');
        if (!page.next_before) break;
        before = page.next_before;
      }
      for (const batch of acknowledged) {
        const { events } = await get(`/api/v1/events?field.Marker=b${batch}&limit=1000`);
        const missing = events.filter((e: { id: number }) => !alerted.has(e.id));
        assert.equal(missing.length, 0, `every event of b${batch} has its alert`);
      }
      assert.equal(stats.store.alerts, alerted.size, 'no alert twice');
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
