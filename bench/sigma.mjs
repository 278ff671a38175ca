/**
 * Sigma engine benchmark: how many SigmaHQ rule files load, how long loading and compiling takes,
 * and events/s on already-parsed events from ../shared/data/evtx-attack-samples with 100, 1,000
 * and all rules loaded (one thread, so the figure is per core).
 *
 *   node bench/sigma.mjs        (after `npx tsc -b`; or `npm run bench:sigma`)
 *
 * Loading is measured in a fresh child process (cold: nothing cached, JIT cold), as a user's
 * `firebreak rules check` pays it. Events are plain objects (`record.flat()` behind `objectEvent`). Matching runs every event through `RuleSet.match` for PASSES passes after
 * a warm-up pass (which also builds the per-log-source prefilters); the fastest pass is kept.
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DATA = process.env.FIREBREAK_SHARED_DATA ?? resolve(ROOT, '..', 'shared', 'data');
const COLLECTIONS = ['rules', 'rules-emerging-threats', 'rules-threat-hunting'].map((c) => join(DATA, 'sigma', c));
const SAMPLES = join(DATA, 'evtx-attack-samples');
const PASSES = 5;
const SUBSETS = [100, 1000];

const sigma = await import(pathToFileURL(join(ROOT, 'packages/sigma/dist/src/index.js')).href);
const evtx = await import(pathToFileURL(join(ROOT, 'packages/evtx/dist/src/index.js')).href);
const testkit = await import(pathToFileURL(join(ROOT, 'packages/testkit/dist/src/index.js')).href);

if (process.argv[2] === '--load-child') {
  const started = performance.now();
  const { files, ruleSet } = sigma.loadRules(COLLECTIONS);
  const loadMs = performance.now() - started;
  console.log(
    JSON.stringify({
      loadMs,
      files: files.length,
      loaded: files.filter((f) => f.status === 'loaded').length,
      rules: ruleSet.size,
      unmapped: ruleSet.unmapped.length,
      rssMb: process.memoryUsage().rss / 2 ** 20,
    }),
  );
  process.exit(0);
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');

/** The sample records as plain objects (`flat`) and as the reader's lazy views (`fields`). */
async function parsedEvents() {
  const flat = [];
  const lazy = [];
  for (const file of testkit.findFiles(SAMPLES, '.evtx')) {
    try {
      for await (const record of evtx.readEvtx(file)) {
        flat.push(sigma.objectEvent(record.flat()));
        lazy.push(record.fields());
      }
    } catch (error) {
      console.warn(`skipped ${file}: ${error.message}`);
    }
  }
  return { flat, lazy };
}

/** Time per event by log source (Channel/EventID), over PASSES passes: where the time goes. */
function byLogSource(ruleSet, events) {
  const costs = new Map();
  for (let pass = 0; pass < PASSES; pass++) {
    for (const e of events) {
      const started = performance.now();
      ruleSet.match(e);
      const key = `${e.get('Channel')} ${e.get('EventID')}`;
      const cost = costs.get(key) ?? { events: 0, ms: 0 };
      cost.events++;
      cost.ms += performance.now() - started;
      costs.set(key, cost);
    }
  }
  const total = [...costs.values()].reduce((n, c) => n + c.ms, 0);
  return [...costs]
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(([key, c]) => ({ key, events: c.events / PASSES, usPerEvent: (c.ms / c.events) * 1000, share: c.ms / total }));
}

/** A fixed pseudo-random order, so subsets are the same from run to run. */
function shuffled(list) {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function measure(ruleSet, events) {
  let matches = 0;
  const warmStart = performance.now();
  for (const e of events) matches += ruleSet.match(e).length;
  const warmMs = performance.now() - warmStart;
  let best = Infinity;
  for (let pass = 0; pass < PASSES; pass++) {
    const started = performance.now();
    for (const e of events) ruleSet.match(e);
    best = Math.min(best, performance.now() - started);
  }
  return { matches, warmMs, eventsPerSecond: (events.length / best) * 1000 };
}

console.log(`# Sigma benchmark: Node ${process.version}, ${cpus()[0]?.model.trim()}, 1 thread`);
const load = JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--load-child'], { encoding: 'utf8' }));
console.log(`rule files: ${fmt(load.files)}, loaded ${fmt(load.loaded)} (${((load.loaded / load.files) * 100).toFixed(2)} %)`);
console.log(
  `load + compile, cold process: ${(load.loadMs / 1000).toFixed(2)} s (${fmt(load.rules)} mapped rules, ${fmt(load.unmapped)} with a log source no mapping knows), RSS ${fmt(load.rssMb)} MB`,
);

const { flat: events, lazy } = await parsedEvents();
console.log(`events: ${fmt(events.length)} parsed records from ${SAMPLES}`);
const allFiles = shuffled(COLLECTIONS.flatMap((c) => sigma.ruleFiles(c)));
console.log('\n| rule files | mapped rules | prefilter build + first pass (s) | events/s | matches |');
console.log('| ---------: | -----------: | -------------------------------: | -------: | ------: |');
let all;
for (const count of [...SUBSETS, allFiles.length]) {
  const { ruleSet } = sigma.loadRules(allFiles.slice(0, count));
  const r = measure(ruleSet, events);
  console.log(`| ${fmt(count)} | ${fmt(ruleSet.size)} | ${(r.warmMs / 1000).toFixed(2)} | ${fmt(r.eventsPerSecond)} | ${fmt(r.matches)} |`);
  all = ruleSet;
}

const lazyRun = measure(all, lazy);
console.log(`\nall rules on the reader's lazy views (record.fields()), not plain objects: ${fmt(lazyRun.eventsPerSecond)} events/s`);
console.log('\nall rules, time by log source (top 5):');
for (const row of byLogSource(all, events).slice(0, 5)) {
  console.log(
    `  ${row.key}: ${fmt(row.events)} events, ${row.usPerEvent.toFixed(1)} µs an event, ${(row.share * 100).toFixed(0)} % of the time`,
  );
}
