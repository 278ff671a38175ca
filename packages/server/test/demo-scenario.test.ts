/**
 * The demo scenario (demo/): every line of its files reads, the bundled rule pack fires what
 * scenario.json promises, and the committed files are exactly what demo/generate.mjs writes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isIngestFormat, parseIngestBody, readEventFile, type FirebreakEvent, type IngestFormat, type ReadProblem } from '@firebreak/core';
import { RULE_PACK_DIR } from '@firebreak/rules';
import { DetectionStream, loadRules } from '@firebreak/sigma';

/** This file runs as dist/test/demo-scenario.test.js; the demo is packages/server/demo. */
const DEMO_DIR = fileURLToPath(new URL('../../demo/', import.meta.url));

interface Scenario {
  base: string;
  end: string;
  files: { path: string; format: IngestFormat }[];
  expect: { rules: string[]; minAlerts: number };
}

async function loadScenario(): Promise<Scenario> {
  const scenario = JSON.parse(await readFile(join(DEMO_DIR, 'scenario.json'), 'utf8')) as Scenario;
  for (const file of scenario.files)
    assert.ok(isIngestFormat(file.format), `scenario.json: ${file.path} has unknown format ${file.format}`);
  return scenario;
}

/** The events of one demo file through the server's ingest parser; a rejected line or a warning fails the test. */
async function ingestFile(file: Scenario['files'][number]): Promise<FirebreakEvent[]> {
  const body = await readFile(join(DEMO_DIR, file.path), 'utf8');
  const batch = parseIngestBody(file.format, body, { origin: `demo:${file.path}`, receivedAt: 0 });
  assert.deepEqual(batch.rejected, [], `${file.path}: rejected lines`);
  assert.deepEqual(batch.warnings, [], `${file.path}: warnings`);
  return batch.events;
}

test('the ingest parsers read every line of every demo file, each event timed between base and end', async () => {
  const scenario = await loadScenario();
  const base = Date.parse(scenario.base);
  const end = Date.parse(scenario.end);
  let latest = -Infinity;
  for (const file of scenario.files) {
    const events = await ingestFile(file);
    const lines = (await readFile(join(DEMO_DIR, file.path), 'utf8')).split('\n').filter((line) => line !== '');
    // An audit event is the records sharing one msg=audit(time:serial); every other format is a line per event.
    const expected =
      file.format === 'auditd'
        ? new Set(lines.map((line) => line.slice(line.indexOf('msg=audit('), line.indexOf('):')))).size
        : lines.length;
    assert.equal(events.length, expected, `${file.path}: events read`);
    for (const event of events) {
      // receivedAt is 0: an event without a time of its own would fall before base.
      assert.ok(event.timestamp! >= base && event.timestamp! <= end, `${event.origin}: time ${event.timestamp} outside the scenario`);
      assert.ok(event.host, `${event.origin}: no host`);
      latest = Math.max(latest, event.timestamp!);
    }
  }
  assert.equal(latest, end, 'scenario.json end is the time of the last event (what the server shifts to "now")');
});

test('the file readers read the Windows and audit files without a problem', async () => {
  const scenario = await loadScenario();
  // The file readers know no syslog; the ingest test above reads that file.
  for (const file of scenario.files.filter((f) => f.format !== 'syslog')) {
    const problems: ReadProblem[] = [];
    let events = 0;
    for await (const event of readEventFile(join(DEMO_DIR, file.path), (p) => problems.push(p))) {
      assert.equal(event.source.format, file.format, event.origin);
      events++;
    }
    assert.deepEqual(problems, [], file.path);
    assert.equal(events, (await ingestFile(file)).length, `${file.path}: the reader and the ingest parser see the same events`);
  }
});

test('the bundled rule pack, streaming, fires every rule scenario.json expects', async () => {
  const scenario = await loadScenario();
  const events = (await Promise.all(scenario.files.map(ingestFile))).flat().sort((a, b) => a.timestamp! - b.timestamp!);
  const stream = new DetectionStream(loadRules([RULE_PACK_DIR]).ruleSet);
  const fired = new Map<string, number>();
  const tally = (ruleId = '(no id)'): void => {
    fired.set(ruleId, (fired.get(ruleId) ?? 0) + 1);
  };
  for (const event of events) {
    const { matches, correlations } = stream.push(event.fields, event.timestamp!);
    for (const match of matches) tally(match.rule.id);
    for (const alert of correlations) tally(alert.correlation.id);
  }
  for (const rule of scenario.expect.rules) assert.ok(fired.has(rule), `rule ${rule} did not fire; fired: ${[...fired.keys()].join(', ')}`);
  const alerts = [...fired.values()].reduce((a, b) => a + b, 0);
  assert.ok(alerts >= scenario.expect.minAlerts, `${alerts} alerts, scenario.json expects at least ${scenario.expect.minAlerts}`);
});

test('generate.mjs writes exactly the committed files', async () => {
  const out = await mkdtemp(join(tmpdir(), 'firebreak-demo-'));
  try {
    await promisify(execFile)(process.execPath, [join(DEMO_DIR, 'generate.mjs'), out]);
    const scenario = await loadScenario();
    const written = (await readdir(out)).sort();
    assert.deepEqual(written, [...scenario.files.map((f) => f.path), 'scenario.json'].sort());
    for (const name of written) {
      const [fresh, committed] = await Promise.all([readFile(join(out, name)), readFile(join(DEMO_DIR, name))]);
      assert.ok(fresh.equals(committed), `${name} differs from a fresh run of generate.mjs: re-run it and commit the result`);
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
